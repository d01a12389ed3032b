"""``harness regress``: compare a run's ranking quality with a committed baseline (CI gate).

A baseline is JSON (``harness regress RUN_DIR --write-baseline FILE``): the harness and torch
versions, devices and command of the run it was made from, and one entry per report cell with
its statistics. ``compare`` matches cells by their key; a cell whose scorer config hash changed
but is otherwise the same is still compared, with a warning.

Exit codes (``RegressionResult.exit_code``):

- 0: every compared statistic is within its threshold and no baseline entry is missing;
- 1: a statistic fell below its threshold (a regression);
- 2: usage error: unreadable baseline, bad ``--fail-if`` (raised as ``HarnessError``);
- 3: no regression, but baseline entries are missing from the run (``--allow-missing`` -> 0).

Entries only in the run are reported and never fail. Differing device or versions only warn.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.reports.assemble import build_report
from harness.reports.records import RETRIEVAL_PERCENTS, CorrelationRow, Report
from harness.reports.render import json_value

BASELINE_FORMAT = "harness-baseline/1"
DEFAULT_FAIL_IF = "kendall:-0.02,spearman:-0.02,retrieval@10:-0.05"
STATISTICS = ("kendall", "spearman", "pearson", "abs_kendall", "abs_spearman", "n",
              *(f"retrieval@{p}" for p in RETRIEVAL_PERCENTS))
EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_MISSING = 0, 1, 2, 3


def _statistic(row: CorrelationRow, name: str) -> float:
    return float(row.n) if name == "n" else row.value(name)


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


def _joined(values: list[str]) -> str:
    return ", ".join(str(v) for v in values) or "unknown"


def baseline_document(report: Report) -> dict[str, Any]:
    """The baseline JSON of ``report``: environment, command, and every cell's statistics."""
    prov = report.provenance
    entries = {}
    for row in report.rows:
        entries[row.key.id()] = {
            "key": vars(row.key).copy(), "scorer_label": row.scorer_label,
            **{name: json_value(_statistic(row, name)) for name in STATISTICS}, "n": row.n}
    return {
        "format": BASELINE_FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_dir": str(report.run_dir), "command": prov.command,
        "harness_version": _joined(prov.harness_versions),
        "torch_version": _joined(prov.torch_versions), "device": _joined(prov.devices),
        "metrics": {f"{use.space}/{use.dataset}": use.metric for use in prov.ground_truth},
        "entries": entries,
    }


def write_baseline(report: Report, path: Path | str) -> Path:
    """Write ``report``'s baseline to ``path`` (sorted keys, so diffs in review are small)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline_document(report), indent=1, sort_keys=True) + "\n")
    return path


def load_baseline(path: Path | str) -> dict[str, Any]:
    """Read a baseline file; a missing or malformed one is a ``HarnessError`` naming the fix."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"baseline {path} does not exist; write one with `harness regress "
                           f"RUN_DIR --write-baseline {path}`") from None
    except ValueError as exc:
        raise HarnessError(f"baseline {path} is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
        raise HarnessError(f"{path} is not a harness baseline (format {BASELINE_FORMAT!r}); "
                           f"write one with `harness regress RUN_DIR --write-baseline {path}`")
    return document


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

    def markdown(self) -> str:
        """A markdown summary (suitable for ``$GITHUB_STEP_SUMMARY``)."""
        from tabulate import tabulate

        verdict = {EXIT_OK: "PASS", EXIT_REGRESSION: "FAIL: ranking quality regressed",
                   EXIT_MISSING: "FAIL: baseline entries missing from the run"}[self.exit_code]
        lines = [f"## harness regress: {verdict}", ""]
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


def compare(report: Report, baseline: dict[str, Any], thresholds: dict[str, float], *,
            allow_missing: bool = False) -> RegressionResult:
    """Compare every cell of ``report`` with ``baseline`` under ``thresholds``."""
    current = {row.key.id(): row for row in report.rows}
    entries: dict[str, dict[str, Any]] = baseline["entries"]
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


def _environment_warnings(report: Report, baseline: dict[str, Any]) -> list[str]:
    prov = report.provenance
    found = []
    for name, now in (("device", _joined(prov.devices)),
                      ("harness_version", _joined(prov.harness_versions)),
                      ("torch_version", _joined(prov.torch_versions))):
        then = baseline.get(name, "unknown")
        if then != now:
            found.append(f"{name} differs: baseline {then}, run {now}; differences may come "
                         f"from the environment, not the code")
    return found


def regress(run_dir: Path | str, baseline_path: Path | str, *,
            fail_if: str = DEFAULT_FAIL_IF, allow_missing: bool = False) -> RegressionResult:
    """Build the run's report with the baseline's ground-truth metrics and compare."""
    thresholds = parse_thresholds(fail_if)
    baseline = load_baseline(baseline_path)
    metrics = baseline.get("metrics") or None
    try:
        report = build_report(run_dir, metric=metrics)
    except ConfigError:
        report = build_report(run_dir)  # a metric the run lacks: its entries show as missing
    return compare(report, baseline, thresholds, allow_missing=allow_missing)
