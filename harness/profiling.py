"""``harness profile``: times scorers (appendix Table 6), seconds and peak memory per trial.

A timer, not a report of a run: it plans and runs its own trials (``harness.plan``,
``harness.trial``) and shows them as one ``Table`` (``profile_table``); a run's report has its
own cost tables, from the trials it stored (``harness.reports.tables.cost_tables``).

``profile`` plans the same trials ``harness compare`` would (``harness.plan.plan_run``: the
registry's spaces and scorers, the same inputs and models) for a fixed, seeded set of archs,
once per batch size, and runs each trial in this process: ``warmup`` untimed runs (they also
load the input batch and warm caches and cuDNN autotuning), then ``repeats`` timed ones. The
worker's trial timing (``harness.trial``) ends with a device synchronization, so GPU work is inside
the time. An entry is the median over repeats, then the mean over archs; peak memory is the maximum.
A batch size whose trials run out of memory gives an ``OOM`` entry. Each trial's CPU seconds
(the trial's own ``cpu_s``, median over repeats) are kept beside its wall seconds:
on a shared machine wall time swings with the load and CPU time does not, so ``cpu_table``
(median and max over the archs) is the number to compare scorers by on CPU.

``throughput`` measures how many archs per second the run's executor path scores with K
trials sharing each GPU (``--workers-per-gpu K``: K x GPUs worker processes of the ``local``
executor; on CPU, K worker processes sharing the cores): a seeded sample of archs, timed from
the moment every worker has returned its first trial (so worker start-up and first-trial
warm-up are left out) to the last result.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.reports.records import Cell, Table


@dataclass(frozen=True)
class ProfileCell:
    """One (space, dataset, scorer, batch size, arch) measurement."""

    space: str
    dataset: str
    scorer: str
    batch_size: int
    arch_id: str
    status: str
    median_s: float | None
    peak_mem_mb: float | None
    repeats: int
    message: str
    cpu_s: float | None = None


def _time_job(job: Any, *, warmup: int, repeats: int) -> ProfileCell:
    from harness.trial import execute_trial

    trial = job.trial
    results = [execute_trial(job) for _ in range(warmup + repeats)]
    failed = [r for r in results if r.status != "ok"]
    timed = results[warmup:]
    ok = not failed
    peaks = [r.peak_mem_mb for r in results if r.peak_mem_mb is not None]
    status = ("oom" if any(r.status == "oom" for r in failed)
              else failed[0].status if failed else "ok")
    return ProfileCell(
        space=trial.space, dataset=trial.dataset, scorer=trial.scorer,
        batch_size=trial.batch_size, arch_id=trial.arch_id, status=status,
        median_s=statistics.median(r.wall_s for r in timed) if ok else None,
        peak_mem_mb=max(peaks) if peaks else None, repeats=len(timed),
        message=failed[0].message if failed else "",
        cpu_s=statistics.median(r.cpu_s for r in timed) if ok else None)


def profile(spaces: list[str], batch_sizes: list[int], *, scorers: list[str] | None = None,
            archs: int = 3, warmup: int = 1, repeats: int = 5, device: str = "cpu",
            seed: int = 0, data_dir: str | None = None, images: str | None = None,
            progress: bool = False) -> list[ProfileCell]:
    """Time every (space, scorer, batch size) on ``archs`` seeded archs; see the module doc.
    ``images``: a file or folder of images that replace the datasets' inputs, as in
    ``harness compare --images``. ``progress``: a bar of trials timed on stderr (every batch
    size is planned first, so the bar knows its total)."""
    from tqdm import tqdm

    from harness.config import RunConfig
    from harness.plan import plan_run

    if repeats < 1 or warmup < 0 or archs < 1:
        raise ValueError("profile needs archs >= 1, warmup >= 0 and repeats >= 1")
    with tempfile.TemporaryDirectory(prefix="harness-profile-") as scratch:
        base = dict(spaces=spaces, scorers=scorers or ["all"], samples=archs, sample_seed=seed,
                    seeds=[seed], device=device, workers=0, data_dir=data_dir, images=images)
        names = sorted({name for name, _ in plan_run(
            RunConfig(**base, out=f"{scratch}/plan")).scorer_configs})
        jobs = [job for batch_size in batch_sizes for job in plan_run(RunConfig(
            **base, options={name: {"batch_size": batch_size} for name in names},
            out=f"{scratch}/bs{batch_size}")).jobs]
        cells = []
        with tqdm(total=len(jobs), desc="profiling", unit="trial", file=sys.stderr,
                  disable=not progress, dynamic_ncols=True) as bar:
            for job in jobs:
                bar.set_postfix_str(f"{job.trial.scorer} bs {job.trial.batch_size}")
                cells.append(_time_job(job, warmup=warmup, repeats=repeats))
                bar.update()
    return cells


def profile_table(cells: list[ProfileCell]) -> Table:
    """Rows = space/dataset/scorer, columns = batch sizes, entries = seconds (``OOM`` cells)."""
    batch_sizes = sorted({c.batch_size for c in cells})
    table = Table(name="profile", title="Cost per trial (profiled)",
                  caption="median seconds over repeats (after warm-up), mean over archs; "
                          "[peak memory MB]; OOM = out of memory.",
                  labels=["space", "dataset", "scorer"],
                  columns=[f"bs {b}" for b in batch_sizes], digits=4)
    groups: dict[tuple[str, str, str], dict[int, list[ProfileCell]]] = {}
    for cell in cells:
        groups.setdefault((cell.space, cell.dataset, cell.scorer), {}).setdefault(
            cell.batch_size, []).append(cell)
    for labels, by_size in sorted(groups.items()):
        entries = []
        for batch_size in batch_sizes:
            measured = by_size.get(batch_size, [])
            ok = [c for c in measured if c.status == "ok"]
            if measured and any(c.status == "oom" for c in measured):
                entries.append(Cell(text="OOM"))
            elif ok:
                seconds = statistics.fmean(c.median_s for c in ok)
                peaks = [c.peak_mem_mb for c in ok if c.peak_mem_mb is not None]
                memory = f" [{max(peaks):.0f} MB]" if peaks else ""
                entries.append(Cell(value=seconds, text=f"{seconds:.4f}{memory}", count=len(ok)))
            elif measured:
                entries.append(Cell(text=measured[0].status))
            else:
                entries.append(Cell())
        table.rows.append((list(labels), entries))
    return table


def cpu_table(cells: list[ProfileCell]) -> Table:
    """Rows = space/dataset/scorer; per batch size, the median and the maximum over the archs of
    a trial's CPU seconds (each arch's own value the median over repeats)."""
    batch_sizes = sorted({c.batch_size for c in cells})
    table = Table(name="profile_cpu", title="CPU seconds per arch (profiled)",
                  caption="CPU seconds of one trial (this process, median over repeats); "
                          "median and maximum over the archs that ran ok.",
                  labels=["space", "dataset", "scorer"],
                  columns=[f"bs {b} {stat}" for b in batch_sizes for stat in ("median", "max")],
                  digits=3)
    groups: dict[tuple[str, str, str], dict[int, list[float]]] = {}
    for cell in cells:
        seconds = groups.setdefault((cell.space, cell.dataset, cell.scorer), {}).setdefault(
            cell.batch_size, [])
        if cell.cpu_s is not None:
            seconds.append(cell.cpu_s)
    for labels, by_size in sorted(groups.items()):
        entries = []
        for batch_size in batch_sizes:
            seconds = by_size.get(batch_size, [])
            entries += ([Cell(value=statistics.median(seconds), count=len(seconds)),
                         Cell(value=max(seconds), count=len(seconds))] if seconds
                        else [Cell(), Cell()])
        table.rows.append((list(labels), entries))
    return table


def write_profile(cells: list[ProfileCell], out: Path, settings: dict[str, Any],
                  rates: list[ThroughputCell] | None = None) -> list[Path]:
    """``profile.json`` (settings + every measurement; ``throughput``: the ``rates`` cells)
    and ``profile.md`` (the cost table, the CPU-seconds table, then the throughput table when
    ``rates`` is given)."""
    from harness.reports.render import markdown

    out.mkdir(parents=True, exist_ok=True)
    document = {"format": "harness-profile/1", "settings": settings,
                "cells": [asdict(c) for c in cells],
                "throughput": [asdict(c) for c in rates or []]}
    json_path, md_path = out / "profile.json", out / "profile.md"
    json_path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    text = markdown(profile_table(cells)) + "\n" + markdown(cpu_table(cells))
    if rates:
        text += "\n" + markdown(throughput_table(rates))
    md_path.write_text(text)
    return [json_path, md_path]


@dataclass(frozen=True)
class ThroughputCell:
    """Archs per second of one (space, dataset, scorer) with ``workers_per_gpu`` = K."""

    space: str
    dataset: str
    scorer: str
    workers_per_gpu: int
    workers: int
    trials: int
    archs_per_s: float | None
    failed: int


def _archs_per_second(executor: Any, jobs: list[Any], workers: int, device: str
                      ) -> tuple[float | None, int]:
    """(rate after every worker's first result, failed trials) of running ``jobs``."""
    stamps, failed = [], 0
    for result in executor.run(jobs, workers=workers, device=device, trial_timeout_s=None):
        stamps.append(time.perf_counter())
        failed += result.status != "ok"
    warm = min(workers, len(stamps) - 1)
    if warm < 1 or stamps[-1] <= stamps[warm - 1]:
        return None, failed
    return (len(stamps) - warm) / (stamps[-1] - stamps[warm - 1]), failed


def throughput(spaces: list[str], workers_per_gpu: list[int], *,
               scorers: list[str] | None = None, archs: int = 32, device: str = "cpu",
               seed: int = 0, data_dir: str | None = None) -> list[ThroughputCell]:
    """Archs per second for each K of ``workers_per_gpu`` (see the module docstring); at least
    4 trials per worker are run so the warm part of the run dominates."""
    from harness.config import RunConfig
    from harness.execute import configured_executor
    from harness.plan import plan_run
    from harness.registry import get_registry

    gpus = _gpu_count() if device == "cuda" else 1
    cells: list[ThroughputCell] = []
    with tempfile.TemporaryDirectory(prefix="harness-throughput-") as scratch:
        base = dict(spaces=spaces, sample_seed=seed, seeds=[seed], device=device,
                    data_dir=data_dir)
        names = scorers or sorted({name for name, _ in plan_run(RunConfig(
            **base, scorers=["all"], samples=1, out=f"{scratch}/plan")).scorer_configs})
        for k in workers_per_gpu:
            workers = k * gpus
            for name in names:
                config = RunConfig(**base, scorers=[name], samples=max(archs, 4 * workers),
                                   workers=workers, workers_per_gpu=k,
                                   out=f"{scratch}/{name}-k{k}")
                plan = plan_run(config)
                executor = configured_executor(get_registry(), config, plan.run_dir)
                for (space, dataset), jobs in _by_space(plan.jobs).items():
                    rate, failed = _archs_per_second(executor, jobs, workers, device)
                    cells.append(ThroughputCell(space, dataset, name, k, workers, len(jobs),
                                                rate, failed))
    return cells


def _gpu_count() -> int:
    import torch

    return max(torch.cuda.device_count(), 1)


def _by_space(jobs: list[Any]) -> dict[tuple[str, str], list[Any]]:
    grouped: dict[tuple[str, str], list[Any]] = {}
    for job in jobs:
        grouped.setdefault((job.trial.space, job.trial.dataset), []).append(job)
    return grouped


def throughput_table(cells: list[ThroughputCell]) -> Table:
    """Rows = space/dataset/scorer, columns = K workers per GPU, entries = archs per second."""
    ks = sorted({c.workers_per_gpu for c in cells})
    table = Table(name="throughput", title="Throughput (archs per second)",
                  caption="archs scored per second with K trials sharing each GPU (K worker "
                          "processes on CPU), after every worker's first trial; "
                          "[failed trials].",
                  labels=["space", "dataset", "scorer"], columns=[f"K={k}" for k in ks],
                  digits=2)
    by_row: dict[tuple[str, str, str], dict[int, ThroughputCell]] = {}
    for cell in cells:
        by_row.setdefault((cell.space, cell.dataset, cell.scorer), {})[cell.workers_per_gpu] = cell
    for labels, by_k in sorted(by_row.items()):
        entries = []
        for k in ks:
            cell = by_k.get(k)
            if cell is None or cell.archs_per_s is None:
                entries.append(Cell(text="n/a" if cell else None))
                continue
            failed = f" [{cell.failed} failed]" if cell.failed else ""
            entries.append(Cell(value=cell.archs_per_s, text=f"{cell.archs_per_s:.2f}{failed}"))
        table.rows.append((list(labels), entries))
    return table
