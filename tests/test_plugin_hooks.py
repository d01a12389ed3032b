"""Every hook has a test here and a mention in docs/plugins.md (as datasette checks its hooks),
and the page's table of installed plugins is the registry's list of the built-in ones.

Each ``test_hook_<name>`` registers a tiny in-process plugin implementing that hook and shows
that the harness uses what it registered.
"""

import ast
import importlib
import inspect
import random
import re
import sys
from pathlib import Path

import pytest
import toy_plugins
from torch import nn
from toy_plugins import run_toy, toy_config

from harness import cli, hookimpl, hookspecs, load_trials, seeding
from harness.plan import plan_run
from harness.plugins.initializers.plugin import InitScheme
from harness.protocols import SearchResult
from harness.registry import KINDS, TABLES
from harness.store import TrialResult
from harness.trial import apply_init, execute_trial

PLUGIN_DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
               if name.startswith("harness_"))


def test_there_are_hooks():
    assert len(HOOKS) == 10, HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert callable(getattr(sys.modules[__name__], f"test_hook_{hook}", None)), (
        f"add test_hook_{hook} to {__file__}")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    assert f"`{hook}" in PLUGIN_DOCS.read_text(), f"document {hook} in docs/plugins.md"
    assert ":param" in getattr(hookspecs, hook).__doc__, f"{hook} needs :param: docs"


# The rows of docs/plugins.md's "What is installed" table -> the registry table each lists.
DOCUMENTED_KINDS = {"spaces": "space", "scorers": "scorer", "aggregates": "aggregate",
                    "datasets": "dataset", "exchange formats": "exchangeformat",
                    "searchers": "searcher", "executors": "executor", "reporters": "reporter",
                    "weight initializers": "weight", "bias initializers": "bias"}


def documented_plugins() -> dict[str, set[str]]:
    """Registry table -> the names in that row's names column of docs/plugins.md."""
    section = PLUGIN_DOCS.read_text().split("## What is installed")[1].split("\n## ")[0]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    rows = [line.split("|")[1:3] for line in table[2:]]  # after the header and its rule
    return {DOCUMENTED_KINDS[kind.strip()]: set(re.findall(r"`([^`]+)`", names))
            for kind, names in rows}


def test_plugins_page_lists_every_built_in_plugin(fresh_registry):
    documented = documented_plugins()
    assert set(documented) == set(TABLES), "docs/plugins.md needs one row per registry table"
    for table in TABLES:
        built_in = {entry.name for entry in fresh_registry.entries(table)
                    if entry.distribution == "nas-harness"}
        assert documented[table] == built_in, (
            f"docs/plugins.md's {table} row: add {sorted(built_in - documented[table])}, "
            f"remove {sorted(documented[table] - built_in)}")


def test_hook_harness_register_spaces(toy):
    registry, data_dir = toy
    space = registry.get("space", "toy")
    assert space.ground_truth(data_dir).frame.loc["w3", "acc"] == 65.0


def test_hook_harness_register_scorers(toy, tmp_path):
    run_toy(toy_config(tmp_path))
    trials = load_trials(tmp_path / "run").set_index("arch_id")
    assert trials.score["w6"] == 6.0, "width scores an arch by its channel count"


class _RankOfWidthAndWeights:
    name = "width_and_weights"
    parts = ("width", "weightsum")
    method = "mean_rank"

    @hookimpl
    def harness_register_aggregates(self, register):
        register(self)


def test_hook_harness_register_aggregates(toy, tmp_path):
    from harness.reports import build_report

    registry, _ = toy
    registry.register_plugin(_RankOfWidthAndWeights(), "aggregate-test")
    run_toy(toy_config(tmp_path, scorers=["width_and_weights"]))
    assert set(load_trials(tmp_path / "run").scorer) == {"width", "weightsum"}, "its parts ran"
    assert "width_and_weights" in {row.scorer_label for row in
                                   build_report(tmp_path / "run").rows}


class _ScoresPerLine:
    """An exchange format of lines ``SPACE DATASET ARCH SCORER SCORE``."""

    name = "lines-test"

    def read(self, path, *, space, datasets=None):
        from harness.protocols import ExchangedScore, ExchangeRead

        rows = [line.split() for line in path.read_text().splitlines()]
        return ExchangeRead([ExchangedScore(s, d, space(s).parse_arch(a), f"lines:{n}", float(v))
                             for s, d, a, n, v in rows])

    def write(self, scores, path, *, space, truth):
        path.write_text("".join(f"{s.space} {s.dataset} {s.arch_id} {s.scorer} {s.score}\n"
                                for s in scores))
        return []

    @hookimpl
    def harness_register_exchange_formats(self, register):
        register(self)


def test_hook_harness_register_exchange_formats(toy, tmp_path):
    from harness.exchange import export_scores, import_scores

    registry, _ = toy
    registry.register_plugin(_ScoresPerLine(), "exchange-test")
    source = tmp_path / "scores.txt"
    source.write_text("toy toyset w3 width 7.5\n")
    summary = import_scores("lines-test", source, tmp_path / "run")
    assert (summary.read, summary.added, summary.scorers) == (1, 1, ["lines:width"])
    trials = load_trials(tmp_path / "run")
    assert trials.score.tolist() == [7.5] and trials.status.tolist() == ["ok"]
    path, _ = export_scores(tmp_path / "run", "lines-test")
    assert path.read_text() == "toy toyset w3 lines:width 7.5\n"


def test_hook_harness_register_datasets(toy):
    registry, _ = toy
    batch = registry.get("dataset", "toyset").batch(5, seed=1, data_dir=Path("."))
    assert tuple(batch.inputs.shape) == (5, 3, 8, 8) and batch.labels.tolist() == [0, 1, 2, 0, 1]


class _GreedySearcher:
    name = "greedy-test"

    def search(self, space, candidates, fitness, budget, rng):
        history = [(arch, fitness(arch)) for arch in list(candidates)[:budget]]
        return SearchResult(max(history, key=lambda item: item[1])[0], history)


class _SerialExecutor:
    name = "serial-test"
    calls = 0

    def run(self, jobs, *, workers, device, trial_timeout_s):
        _SerialExecutor.calls += 1
        for job in jobs:
            yield execute_trial(job)


class _TextReporter:
    name = "txt"

    def write(self, report, run_dir):
        path = Path(run_dir) / "report.txt"
        path.write_text(str(report))
        return [path]


def _ones(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, seeding.INIT_LAYERS):
            nn.init.ones_(module.weight)


def _hello(args) -> int:
    print(f"hello {args.who}")
    return 0


class _Extras:
    @hookimpl
    def harness_register_searchers(self, register):
        register(_GreedySearcher())

    @hookimpl
    def harness_register_executors(self, register):
        register(_SerialExecutor())

    @hookimpl
    def harness_register_reporters(self, register):
        register(_TextReporter())

    @hookimpl
    def harness_register_initializers(self, register):
        register(InitScheme("ones", "weight", _ones))

    @hookimpl
    def harness_register_commands(self, cli):
        parser = cli.add_parser("hello", help="say hello")
        parser.add_argument("who")
        parser.set_defaults(func=_hello)


@pytest.fixture
def extras(toy):
    registry, data_dir = toy
    registry.register_plugin(_Extras(), "extras")
    return registry


def test_hook_harness_register_searchers(extras):
    searcher = extras.get("searcher", "greedy-test")
    result = searcher.search(extras.get("space", "toy"), toy_plugins.ARCHS,
                             lambda arch: int(arch[1:]), 4, random.Random(0))
    assert result.best_arch == "w4" and len(result.history) == 4


def test_hook_harness_register_executors(extras, tmp_path):
    summary = run_toy(toy_config(tmp_path, executor="serial-test"))
    assert _SerialExecutor.calls == 1 and summary.status_counts == {"ok": 8}


def test_hook_harness_register_reporters(extras, tmp_path):
    from harness.reports import write_reports

    assert write_reports("a report", tmp_path, "txt") == [tmp_path / "report.txt"]
    assert (tmp_path / "report.txt").read_text() == "a report"


def test_hook_harness_register_initializers(extras, tmp_path):
    run_toy(toy_config(tmp_path, scorers=["weightsum"], weight_inits=["ones"], bias_inits=["zero"]))
    trials = load_trials(tmp_path / "run")
    assert set(trials.weight_init) == {"ones"} and set(trials.status) == {"ok"}
    model = toy_plugins.ToySpace().build_model("w2", num_classes=3)
    apply_init(model, "ones", "zero")
    assert model[0].weight.detach().min() == 1.0 and model[0].bias.detach().abs().max() == 0.0


def test_hook_harness_register_commands(extras, capsys):
    assert cli.main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"


def test_written_results_are_trial_results(toy, tmp_path):
    plan = plan_run(toy_config(tmp_path))
    assert isinstance(execute_trial(plan.jobs[0]), TrialResult)


def test_the_abilities_table_lists_every_optional_ability_where_it_is_defined():
    """docs/plugins.md's table of optional abilities names each runtime-checkable Protocol of
    the core that is not a plugin kind, with the module that defines it."""
    root = Path(__file__).resolve().parents[1]
    kinds = {kind.protocol.__name__ for kind in KINDS.values()}
    defined = {}
    for path in (root / "harness").rglob("*.py"):
        if "plugins" in path.parts:
            continue
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.ClassDef) and node.name not in kinds
                    and any(ast.unparse(d) == "runtime_checkable" for d in node.decorator_list)):
                module = ".".join(path.relative_to(root).with_suffix("").parts)
                defined[node.name] = module
    text = (root / "docs" / "plugins.md").read_text()
    listed = dict(re.findall(r"^\| `(\w+)` \|.*\| `(harness[\w.]*)` \|$", text, re.M))
    assert listed == defined
    for name, module in listed.items():
        assert hasattr(importlib.import_module(module), name)
