"""``harness regress``: compare a run's ranking quality with a committed baseline (CI gate).

The baseline file (``harness.reports.baseline``) holds one entry per report cell with its
statistics. ``compare`` matches cells by their key; a cell whose scorer config hash changed
but is otherwise the same is still compared, with a warning. Before comparing, ``regress``
checks that the run covers the same archs per (space, dataset) as the baseline and scores them
against the same ground truth: a correlation over another arch sample is another number, not a
regression, so a mismatch is refused (``MismatchError``) unless ``allow_different_archs``.

Exit codes (``RegressionResult.exit_code``):

- 0: every compared statistic is within its threshold and no baseline entry is missing;
- 1: a statistic fell below its threshold (a regression);
- 2: usage error: unreadable or malformed baseline, bad ``--fail-if``, other arch sets or
  ground truth than the baseline's (raised as ``HarnessError``);
- 3: no regression, but baseline entries are missing from the run (``--allow-missing`` -> 0).

Entries only in the run are reported and never fail. Differing device or versions only warn.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.reports.assemble import build_report
from harness.reports.baseline import (
    BASELINE_FORMAT,
    STATISTICS,
    Baseline,
    arch_sets,
    baseline_document,
    ground_truth_sources,
    load_baseline,
    write_baseline,
)
from harness.reports.records import CorrelationRow, Report

__all__ = ["BASELINE_FORMAT", "baseline_document", "load_baseline", "write_baseline",
           "regress", "compare", "RegressionResult", "Delta", "MismatchError"]

DEFAULT_FAIL_IF = "kendall:-0.02,spearman:-0.02,retrieval@10:-0.05"
EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_MISSING = 0, 1, 2, 3


class MismatchError(HarnessError):
    """The run and the baseline were computed over other archs or other ground truth."""


def _statistic(row: CorrelationRow, name: str) -> float:
    return float(row.n) if name == "n" else row.value(name)


def _joined(values: list[str]) -> str:
    return ", ".join(str(v) for v in values) or "unknown"


def parse_thresholds(text: str) -> dict[str, float]:
    """``"kendall:-0.02,retrieval@10:-0.05"`` -> {statistic: most negative allowed change}."""
    thresholds: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition(":")
        if not sep or name.strip() not in STATISTICS:
            raise ConfigError(f"--fail-if {part!r}: write STATISTIC:CHANGE with STATISTIC one of "
                              f"{', '.join(STATISTICS)} (e.g. {DEFAULT_FAIL_IF})")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--fail-if {part!r}: {value!r} is not a number") from None
    if not thresholds:
        raise ConfigError(f"--fail-if is empty; e.g. {DEFAULT_FAIL_IF}")
    return thresholds


@dataclass
class Delta:
    """One statistic of one cell, baseline vs run."""

    entry: str
    statistic: str
    baseline: float | None
    current: float | None
    threshold: float | None

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def failed(self) -> bool:
        """Below threshold, or a defined baseline value that became undefined (NaN)."""
        if self.threshold is None or self.baseline is None:
            return False
        if self.current is None:
            return True
        return self.current - self.baseline < self.threshold - 1e-12


@dataclass
class RegressionResult:
    """Everything ``harness regress`` prints, and its exit code."""

    deltas: list[Delta]
    missing_in_run: list[str]
    missing_in_baseline: list[str]
    warnings: list[str]
    thresholds: dict[str, float]
    allow_missing: bool = False
    ns: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def failures(self) -> list[Delta]:
        return [d for d in self.deltas if d.failed]

    @property
    def exit_code(self) -> int:
        if self.failures:
            return EXIT_REGRESSION
        if self.missing_in_run and not self.allow_missing:
            return EXIT_MISSING
        return EXIT_OK

    @property
    def verdict(self) -> str:
        return {EXIT_OK: "PASS", EXIT_REGRESSION: "FAIL: ranking quality regressed",
                EXIT_MISSING: "FAIL: baseline entries missing from the run"}[self.exit_code]

    def to_json(self) -> dict[str, Any]:
        """Everything the markdown shows, for scripts (``harness regress --json``)."""
        return {
            "verdict": self.verdict, "exit_code": self.exit_code, "thresholds": self.thresholds,
            "warnings": self.warnings,
            "deltas": [{**asdict(d), "change": d.change, "failed": d.failed}
                       for d in self.deltas],
            "n": {entry: {"baseline": then, "run": now} for entry, (then, now) in self.ns.items()},
            "missing_in_run": self.missing_in_run, "new_in_run": self.missing_in_baseline,
        }

    def markdown(self) -> str:
        """A markdown summary (suitable for ``$GITHUB_STEP_SUMMARY``)."""
        from tabulate import tabulate

        lines = [f"## harness regress: {self.verdict}", ""]
        lines += [f"- warning: {w}" for w in self.warnings]
        thresholds = ", ".join(f"{k} {v:+g}" for k, v in self.thresholds.items())
        lines += [f"- thresholds: {thresholds}", ""]
        by_entry: dict[str, dict[str, Delta]] = {}
        for delta in self.deltas:
            by_entry.setdefault(delta.entry, {})[delta.statistic] = delta
        statistics = list(self.thresholds)
        rows = []
        for entry, deltas in by_entry.items():
            n_before, n_now = self.ns.get(entry, ("", ""))
            row = [entry, f"{n_before} → {n_now}"]
            for name in statistics:
                delta = deltas[name]
                row.append(f"{_fmt(delta.baseline)} → {_fmt(delta.current)} "
                           f"({_fmt(delta.change, signed=True)})")
            failed = [n for n in statistics if deltas[n].failed]
            row.append("FAIL " + ", ".join(failed) if failed else "ok")
            rows.append(row)
        if rows:
            lines.append(tabulate(rows, headers=["entry", "n", *statistics, "status"],
                                  tablefmt="github", disable_numparse=True))
        for title, entries in (("missing from the run", self.missing_in_run),
                               ("new in the run (not in the baseline)", self.missing_in_baseline)):
            if entries:
                lines += ["", f"### {len(entries)} {title}", ""] + [f"- {e}" for e in entries]
        return "\n".join(lines) + "\n"


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "nan"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _label(key: dict[str, Any]) -> str:
    return (f"{key['space']}/{key['dataset']}/{key['metric']} {key['scorer']} seed {key['seed']} "
            f"{key['weight_init']}/{key['bias_init']} bs {key['batch_size']}")


def _without_hash(key: dict[str, Any]) -> tuple:
    return tuple(v for k, v in sorted(key.items()) if k != "scorer_config_hash")


def _finite(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def compare(report: Report, baseline: Baseline, thresholds: dict[str, float], *,
            allow_missing: bool = False) -> RegressionResult:
    """Compare every cell of ``report`` with ``baseline`` under ``thresholds``."""
    current = {row.key.id(): row for row in report.rows}
    entries: dict[str, dict[str, Any]] = baseline.model_dump()["entries"]
    warnings = _environment_warnings(report, baseline)
    pairs: list[tuple[str, dict[str, Any], CorrelationRow]] = []
    unmatched_base = [i for i in entries if i not in current]
    unmatched_run = [i for i in current if i not in entries]
    pairs += [(i, entries[i], current[i]) for i in entries if i in current]
    # Same cell, other scorer config: compare anyway, but say so.
    run_by_loose = {}
    for i in unmatched_run:
        run_by_loose.setdefault(_without_hash(vars(current[i].key)), []).append(i)
    for i in list(unmatched_base):
        candidates = run_by_loose.get(_without_hash(entries[i]["key"]), [])
        if len(candidates) == 1:
            run_id = candidates[0]
            warnings.append(f"{_label(entries[i]['key'])}: scorer config changed "
                            f"({entries[i]['key']['scorer_config_hash']} -> "
                            f"{current[run_id].key.scorer_config_hash}); compared anyway")
            pairs.append((i, entries[i], current[run_id]))
            unmatched_base.remove(i)
            unmatched_run.remove(run_id)
    deltas, ns = [], {}
    for _, entry, row in pairs:
        label = _label(entry["key"])
        ns[label] = (entry.get("n"), row.n)
        for name, threshold in thresholds.items():
            deltas.append(Delta(label, name, _finite(entry.get(name)),
                                _finite(_statistic(row, name)), threshold))
    return RegressionResult(
        deltas=deltas, missing_in_run=[_label(entries[i]["key"]) for i in unmatched_base],
        missing_in_baseline=[_label(vars(current[i].key)) for i in unmatched_run],
        warnings=warnings, thresholds=thresholds, allow_missing=allow_missing, ns=ns)


def _environment_warnings(report: Report, baseline: Baseline) -> list[str]:
    prov = report.provenance
    found = []
    for name, now in (("device", _joined(prov.devices)),
                      ("harness_version", _joined(prov.harness_versions)),
                      ("torch_version", _joined(prov.torch_versions))):
        then = getattr(baseline, name)
        if then != now:
            found.append(f"{name} differs: baseline {then}, run {now}; differences may come "
                         f"from the environment, not the code")
    return found


def regress(run_dir: Path | str, baseline_path: Path | str, *,
            fail_if: str = DEFAULT_FAIL_IF, allow_missing: bool = False,
            allow_different_archs: bool = False) -> RegressionResult:
    """Build the run's report with the baseline's ground-truth metrics and compare.

    ``MismatchError`` when the run covers other archs or other ground truth than the baseline,
    unless ``allow_different_archs`` (then each difference is a warning)."""
    thresholds = parse_thresholds(fail_if)
    baseline = load_baseline(baseline_path)
    try:
        report = build_report(run_dir, metric=baseline.metrics or None, bootstrap=0)
    except ConfigError:
        report = build_report(run_dir, bootstrap=0)  # a metric the run lacks: shown missing
    differences = coverage_differences(report, baseline)
    if differences and not allow_different_archs:
        raise MismatchError(f"the run and the baseline cover different data, so their "
                            f"correlations are not comparable: {'; '.join(differences)}. Run "
                            f"the baseline's selection (its command: {baseline.command}), or "
                            f"pass --allow-different-archs to compare anyway")
    result = compare(report, baseline, thresholds, allow_missing=allow_missing)
    result.warnings[:0] = [f"compared anyway: {d}" for d in differences]
    return result


def coverage_differences(report: Report, baseline: Baseline) -> list[str]:
    """What differs between the run's and the baseline's arch sets and ground-truth sources,
    per ``space/dataset`` both hold. A baseline that predates the arch record is checked by
    each shared cell's arch count."""
    found = []
    if baseline.archs is not None:
        run_archs = arch_sets(report)
        for name in sorted(set(run_archs) & set(baseline.archs)):
            then, now = baseline.archs[name], run_archs[name]
            if then.sha256 != now.sha256:
                same_size = " (same count, other archs)" if then.n == now.n else ""
                found.append(f"{name}: baseline on {then.n} archs, run on {now.n}{same_size}")
    else:
        by_id = {row.key.id(): row.n for row in report.rows}
        for entry_id, entry in sorted(baseline.entries.items()):
            if entry_id in by_id and by_id[entry_id] != entry.n:
                key = entry.key
                found.append(f"{key.space}/{key.dataset} {key.scorer}: baseline ranks "
                             f"{entry.n} archs, run {by_id[entry_id]}")
    if baseline.ground_truth_sources is not None:
        run_sources = ground_truth_sources(report)
        for name in sorted(set(run_sources) & set(baseline.ground_truth_sources)):
            if run_sources[name] != baseline.ground_truth_sources[name]:
                found.append(f"{name}: other ground-truth source (digest "
                             f"{baseline.ground_truth_sources[name]} -> {run_sources[name]})")
    return found
