"""Rank combinations of scorers: the methods against hand computations, the ``--aggregate``
grammar, aggregates in a real run's report (CLI and Python API), and named aggregates that a
plugin registers and ``--scorers`` names."""

import json
import math
import subprocess
import sys

import pytest
from synthetic_run import make_run
from toy_plugins import run_toy, toy_config

import harness
from harness import metrics
from harness.errors import ConfigError
from harness.hookspecs import hookimpl
from harness.reports import build_report
from harness.reports.aggregates import AggregateSpec, combine, parse_aggregate

NAN = float("nan")


def test_mean_rank_by_hand_with_a_tie():
    # Part 1 ranks [1, 2.5, 2.5]: two tied scores share ranks 2 and 3; part 2 ranks [3, 1, 2].
    scores = [[1, 3], [2, 1], [2, 2]]
    assert combine(scores, "mean_rank").tolist() == [2.0, 1.75, 2.25]


def test_log_rank_is_az_nas_sum_of_log_rank_over_n():
    scores = [[1, 3], [2, 1], [2, 2]]
    expected = [math.log(1 / 3) + math.log(3 / 3), math.log(2.5 / 3) + math.log(1 / 3),
                math.log(2.5 / 3) + math.log(2 / 3)]
    assert combine(scores, "log_rank") == pytest.approx(expected, abs=1e-15)


def test_log_rank_punishes_one_low_rank_more_than_the_mean():
    # a: ranks (1, 3); b: ranks (2, 2): equal mean rank, but log(1/3) + 0 < 2 log(2/3).
    scores = [[1, 3], [2, 2], [3, 1]]
    assert combine(scores, "mean_rank")[0] == combine(scores, "mean_rank")[1]
    assert combine(scores, "log_rank")[0] < combine(scores, "log_rank")[1]


def test_lexicographic_orders_by_the_first_part_then_the_next():
    scores = [[2, 0.1], [1, 9.0], [2, 0.5], [2, 0.1]]
    assert combine(scores, "lexicographic").tolist() == [2.0, 1.0, 3.0, 2.0], "dense ranks"


def test_non_finite_scores_rank_below_every_finite_one():
    # Part 1: the NaN and the inf rank last, tied (ranks 1.5, 1.5), then 3, 4.
    scores = [[NAN, 1], [5, 2], [math.inf, 3], [7, 4]]
    assert combine(scores, "mean_rank").tolist() == [1.25, 2.5, 2.25, 4.0]
    assert math.isnan(combine([[NAN, NAN], [1, 2]], "mean_rank")[0]), "no finite part: NaN"


def test_unknown_method_is_refused():
    with pytest.raises(ConfigError, match="mean_rank, log_rank, lexicographic"):
        combine([[1, 2]], "median")


@pytest.mark.parametrize("text, spec", [
    ("a,b", AggregateSpec("rank(a,b)", ("a", "b"), "mean_rank")),
    ("a+b+c:log_rank", AggregateSpec("logrank(a,b,c)", ("a", "b", "c"), "log_rank")),
    ("mine=a,b:lexicographic", AggregateSpec("mine", ("a", "b"), "lexicographic")),
])
def test_aggregate_grammar(text, spec):
    assert parse_aggregate(text) == spec


@pytest.mark.parametrize("text", ["a", "a,a", "x=a,b:median"])
def test_aggregate_grammar_refusals(text):
    with pytest.raises(ConfigError, match="--aggregate"):
        parse_aggregate(text)


def _row(report, scorer, seed=0, init="default/default"):
    return next(row for row in report.rows if row.scorer_label == scorer
                and row.key.seed == seed and row.key.init == init)


def test_an_aggregate_of_a_real_run_in_its_report(tmp_path):
    """synthetic_run: ``perfect`` scores i, ``noisy`` (seed 0) i with a8/a9 swapped and a3 NaN,
    a7 OOM; their mean rank is computed here by hand from those ranks."""
    report = build_report(make_run(tmp_path / "run"), aggregates=["perfect,noisy"])
    row = _row(report, "rank(perfect,noisy)")
    noisy_ranks = [3, 4, 5, 1.5, 6, 7, 8, 1.5, 10, 9]  # NaN and OOM tied below the rest
    mean_ranks = [(i + 1 + r) / 2 for i, r in enumerate(noisy_ranks)]
    assert row.n == 10 and row.quality.n_excluded == 0, "a failed part ranks last, not dropped"
    assert row.quality.kendall == metrics.kendall_tau(mean_ranks, range(10))
    assert row.wall_s_mean == 1.5, "an aggregate costs its parts' seconds (1.0 + 0.5)"
    seeds = {r.key.seed for r in report.rows if r.scorer_label == "rank(perfect,noisy)"}
    assert seeds == {0, 1}, "ranks are taken within each seed's sample"
    assert ["rank(perfect,noisy)"] in [labels for labels, _ in
                                       report.table("answer_kendall").rows]


def test_an_aggregate_missing_a_part_in_a_sample_is_noted(tmp_path):
    report = build_report(make_run(tmp_path / "run"), aggregates=["x=perfect,reversed"])
    assert any("has no trials of reversed" in note for note in report.notes), report.notes
    assert {r.key.seed for r in report.rows if r.scorer_label == "x"} == {0}


def test_an_aggregate_of_scorers_the_run_lacks_is_noted(tmp_path):
    report = build_report(make_run(tmp_path / "run"), aggregates=["prefect,nosy"])
    assert not [row for row in report.rows if row.scorer_label == "rank(prefect,nosy)"]
    assert any("no trial of prefect, nosy" in note and "perfect" in note
               for note in report.notes), report.notes


def test_an_aggregate_may_not_take_a_scorers_name(tmp_path):
    with pytest.raises(ConfigError, match="named like a scorer"):
        build_report(make_run(tmp_path / "run"), aggregates=["perfect=noisy,reversed"])


def test_report_command_takes_aggregates(tmp_path):
    run_dir = make_run(tmp_path / "run")
    subprocess.run([sys.executable, "-m", "harness.cli", "report", str(run_dir), "--format", "json",
                    "--aggregate", "both=perfect,noisy:log_rank", "--top-k", "3"],
                   check=True, capture_output=True, text=True)
    rows = json.loads((run_dir / "report.json").read_text())["rows"]
    both = [row for row in rows if row["scorer"] == "both"]
    assert both and all("ndcg@3" in row for row in both)


def test_python_api_report_takes_aggregates(tmp_path):
    report = harness.report(make_run(tmp_path / "run"), aggregates=["perfect,noisy"])
    assert any(row.scorer_label == "rank(perfect,noisy)" for row in report.rows)


class _AggregatesPlugin:
    """A plugin that registers ``specs`` as named aggregates."""

    def __init__(self, *specs: AggregateSpec) -> None:
        self.specs = specs

    @hookimpl
    def harness_register_aggregates(self, register):
        for spec in self.specs:
            register(spec)


def test_naming_an_aggregate_in_scorers_runs_its_parts_and_reports_it(toy, tmp_path):
    registry, _ = toy
    # toy_agg: a named aggregate of the toy scorers width and weightsum.
    registry.register_plugin(_AggregatesPlugin(
        AggregateSpec("toy_agg", ("width", "weightsum"), "log_rank")), "toy-aggregate")
    config = toy_config(tmp_path, scorers=["toy_agg"])
    run_toy(config)
    report = build_report(config.run_dir())
    scorers = {row.scorer_label for row in report.rows}
    assert scorers == {"width", "weightsum", "toy_agg"}, scorers
    width = _row(report, "width")
    aggregate = _row(report, "toy_agg")
    assert aggregate.n == width.n == 8


def test_an_aggregate_whose_parts_are_missing_is_refused(toy, tmp_path):
    from harness.plan import plan_run

    registry, _ = toy
    registry.register_plugin(_AggregatesPlugin(
        AggregateSpec("needs_more", ("width", "not_installed"), "mean_rank")), "missing-part")
    with pytest.raises(ConfigError, match="not_installed"):
        plan_run(toy_config(tmp_path, scorers=["needs_more"]), registry)


def test_an_inner_aggregate_is_combined_first_over_the_same_archs():
    """outer = log_rank(a, inner), inner = lexicographic(b, c): inner's dense ranks by hand,
    then the sum of log(rank / N) of a's and inner's ranks."""
    inner = AggregateSpec("inner", ("b", "c"), "lexicographic")
    outer = AggregateSpec("outer", ("a", "inner"), "log_rank", (inner,))
    a, b, c = [4.0, 1.0, 3.0, 2.0], [1.0, 1.0, 2.0, 2.0], [5.0, 9.0, 0.0, 1.0]
    inner_ranks = [1, 2, 3, 4]  # (1, 5) < (1, 9) < (2, 0) < (2, 1)
    a_ranks = [4, 1, 3, 2]
    expected = [math.log(x / 4) + math.log(y / 4)
                for x, y in zip(a_ranks, inner_ranks, strict=True)]
    assert outer.leaves() == ("a", "b", "c")
    assert outer.evaluate({"a": a, "b": b, "c": c}).tolist() == pytest.approx(expected)
    assert [spec.name for spec in outer.with_inner_first()] == ["inner", "outer"]
    assert outer.config_hash != AggregateSpec("outer", ("a", "inner"), "log_rank").config_hash


def test_naming_a_nested_aggregate_runs_its_scorers_once_and_reports_both(toy, tmp_path):
    registry, _ = toy
    registry.register_plugin(_AggregatesPlugin(
        AggregateSpec("toy_inner", ("width", "weightsum"), "lexicographic"),
        AggregateSpec("toy_outer", ("weightsum", "toy_inner"), "log_rank")), "toy-nested")
    config = toy_config(tmp_path, scorers=["toy_outer"])
    run_toy(config)
    trials = harness.load_trials(config.run_dir())
    assert sorted(trials.scorer.unique()) == ["weightsum", "width"]
    report = build_report(config.run_dir())
    assert {row.scorer_label for row in report.rows} == {"width", "weightsum", "toy_inner",
                                                         "toy_outer"}
    scores = trials.set_index("arch_id").groupby("scorer").score
    width, weightsum = (scores.get_group(name).sort_index() for name in ("width", "weightsum"))
    inner = combine(list(zip(width, weightsum, strict=True)), "lexicographic")
    by_hand = combine(list(zip(weightsum, inner, strict=True)), "log_rank")
    truth = harness.ground_truth("toy").reindex(width.index).iloc[:, 0]
    assert _row(report, "toy_outer").quality.kendall == pytest.approx(
        metrics.kendall_tau(by_hand, truth.to_numpy()))


def test_an_aggregate_that_contains_itself_is_refused(toy, tmp_path):
    from harness.plan import plan_run

    registry, _ = toy
    registry.register_plugin(_AggregatesPlugin(
        AggregateSpec("loop_a", ("width", "loop_b"), "mean_rank"),
        AggregateSpec("loop_b", ("weightsum", "loop_a"), "mean_rank")), "toy-cycle")
    with pytest.raises(ConfigError, match="contains itself .loop_a -> loop_b -> loop_a"):
        plan_run(toy_config(tmp_path, scorers=["loop_a"]), registry)


BUILT_IN = {"az_nas": ("log_rank", 4), "te_nas": ("mean_rank", 2),
            "vkdnw_single": ("lexicographic", 2), "vkdnw_agg": ("log_rank", 5)}
# The scorers each reads, inner aggregates' included.
BUILT_IN_SCORERS = {"vkdnw_agg": ["flops", "az_trainability", "az_expressivity", "jacob_cov",
                                  "trainable_layers", "vkdnw"]}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_named_aggregates_resolve_to_installed_scorers(name, fresh_registry):
    from harness.plugins.aggregates import plugin

    if name not in fresh_registry.names("aggregate"):  # until its entry point is installed
        fresh_registry.register_plugin(plugin, "aggregates")
    aggregate = fresh_registry.get("aggregate", name)
    assert (aggregate.method, len(aggregate.parts)) == BUILT_IN[name]
    scorers = BUILT_IN_SCORERS.get(name, list(aggregate.parts))
    missing = [part for part in scorers if part not in fresh_registry.names("scorer")]
    if missing:
        pytest.skip(f"{name}'s part scorer(s) {', '.join(missing)} are not installed yet")
    from harness.plan import expand_aggregates

    assert expand_aggregates([name], fresh_registry) == scorers


def test_report_aggregate_on_a_real_nb201_run(tmp_path, monkeypatch, one_torch_thread, capsys):
    """The bundled NB-201 default with two cheap scorers, then ``harness report --aggregate``;
    the aggregate's scores are recomputed here from the stored ones."""
    import pandas as pd

    from harness.cli import main

    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty"))
    run_dir = tmp_path / "run"
    assert main(["compare", "--spaces", "nb201", "--scorers", "params,flops", "--samples",
                 "20", "--datasets", "cifar10-valid", "--workers", "0", "--no-report",
                 "--quiet", "--out", str(run_dir)]) == 0
    assert main(["report", str(run_dir), "--format", "csv",
                 "--aggregate", "size=params,flops:log_rank"]) == 0
    rows = pd.read_csv(run_dir / "correlations.csv").set_index("scorer")
    trials = harness.load_trials(run_dir, with_truth=True)
    wide = trials.pivot(index="arch_id", columns="scorer", values="score")
    expected = combine(wide[["params", "flops"]].to_numpy(), "log_rank")
    truth = trials.drop_duplicates("arch_id").set_index("arch_id").truth.reindex(wide.index)
    assert rows.loc["size", "n"] == 20
    assert rows.loc["size", "kendall"] == pytest.approx(
        metrics.kendall_tau(expected, truth.to_numpy()), abs=1e-12)
