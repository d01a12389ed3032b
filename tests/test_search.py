"""``harness search``: searches on the toy space (8 archs, accuracy = 50 + 5 * width) and on the
bundled NB-201 table; every fitness evaluation a trial keyed as ``harness compare`` keys it."""

import json
import random
import signal
import sqlite3
import subprocess
import time

import pytest
import toy_plugins
from toy_plugins import run_toy, toy_config

from harness import load_trials
from harness.cli import main
from harness.config import RunConfig
from harness.errors import ConfigError
from harness.groundtruth.table import GroundTruthTable, MetricInfo, prepared_table_path
from harness.hookspecs import hookimpl
from harness.plugins.searchers.algorithms import RandomSearch, RegularizedEvolution
from harness.reports.search import search_table, write_search_report
from harness.search.arch_search import SearchSpec, read_runs, run_search
from harness.search.lockstep import Fitness, SteppedSearch, run_lockstep


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy plugins, the core built-ins and the built-in searchers."""
    plugins = f"{toy_plugins.CORE_PLUGINS},searchers"
    with toy_plugins.toy_environment(tmp_path, monkeypatch, plugins) as environment:
        yield environment


def _spec(tmp_path, fitnesses, searchers=("evolution", "random"), folder="run", **settings):
    options = {"evolution": {"population_size": 3, "sample_size": 2}}
    values = {"budget": 6, "runs": 3, "seed": 0, **settings}
    config = RunConfig(spaces=["toy"], workers=0, out=str(tmp_path / folder))
    return SearchSpec(config, list(fitnesses), list(searchers),
                      {k: v for k, v in options.items() if k in searchers}, **values)


def _chosen(outcome):
    return [(r.fitness, r.searcher, r.run, r.chosen_arch) for r in outcome.runs]


def test_stepped_searchers_choose_as_their_search_method():
    line = [str(i) for i in range(100)]

    class Line:
        name = "line"

        def mutate(self, arch, rng):
            return str(min(99, max(0, int(arch) + rng.choice([-2, -1, 1, 2]))))

    def fitness(arch):
        return -abs(int(arch) - 60)

    for searcher in (RandomSearch(), RegularizedEvolution(population_size=8, sample_size=3)):
        alone = searcher.search(Line(), line[:30], fitness, 40, random.Random(3))
        stepped = SteppedSearch(searcher.steps(Line(), line[:30], 40, random.Random(3)),
                                Fitness("f", fitness))
        run_lockstep([stepped], lambda keys: None)
        assert stepped.result == alone, f"{searcher.name}: lockstep changed the search"


def test_lockstep_batches_the_initial_population_and_then_one_child_per_search():
    batches = []
    searches = [SteppedSearch(RegularizedEvolution(population_size=4, sample_size=2).steps(
        toy_plugins.ToySpace(), toy_plugins.ARCHS, 7, random.Random(run)),
        Fitness("width", lambda arch: int(arch[1:]), ("width",))) for run in range(3)]
    run_lockstep(searches, batches.append)
    assert [len(batch) for batch in batches] == [12, 3, 3, 3], \
        "3 searches x 4 initial members, then 3 rounds of one child each"


def test_search_scores_each_arch_once_and_is_deterministic(toy, tmp_path):
    first = run_search(_spec(tmp_path, ["width", "oracle", "random"]))
    again = run_search(_spec(tmp_path, ["width", "oracle", "random"], folder="again"))
    assert _chosen(first) == _chosen(again), "same command, same chosen archs"
    trials = load_trials(tmp_path / "run")
    evaluated = {arch for run in first.runs if run.fitness == "width"
                 for arch in _history_archs(run)}
    assert sorted(trials.arch_id) == sorted(evaluated), "one trial per distinct arch, no repeat"
    assert first.trial_counts == {"ok": len(evaluated)}
    oracle = [r for r in first.runs if r.fitness == "oracle"]
    assert all(r.chosen_fitness == r.truth["acc"] for r in oracle)
    assert all(r.curve == sorted(r.curve) for r in oracle), "oracle curves never go down"


def _history_archs(run):
    """The archs a run evaluated: its curve only keeps the best so far, so re-run the search."""
    searcher = (RegularizedEvolution(population_size=3, sample_size=2)
                if run.searcher == "evolution" else RandomSearch())
    rng = random.Random(f"search:0:{run.run}")
    result = searcher.search(toy_plugins.ToySpace(), toy_plugins.ARCHS, lambda a: 0.0, 6, rng)
    return [arch for arch, _ in result.history]


def test_search_reuses_a_compare_and_resumes(toy, tmp_path):
    run_toy(toy_config(tmp_path, out=str(tmp_path / "run")))  # width on every toy arch
    before = load_trials(tmp_path / "run")
    with pytest.raises(ConfigError, match="another selection"):
        run_search(_spec(tmp_path, ["width"]))
    outcome = run_search(_spec(tmp_path, ["width"]), extend=True)
    assert outcome.trial_counts == {}, "every score came from the compare's trials"
    after = load_trials(tmp_path / "run")
    assert after.equals(before)
    again = run_search(_spec(tmp_path, ["width"]))
    assert again.trial_counts == {} and _chosen(again) == _chosen(outcome)


def test_width_fitness_finds_the_widest_arch(toy, tmp_path):
    outcome = run_search(_spec(tmp_path, ["width", "oracle"], searchers=["random"], budget=8))
    assert {r.chosen_arch for r in outcome.runs} == {"w8"}
    rows = search_table(outcome)
    assert [(r["fitness"], r["truth"]["acc"]) for r in rows] == \
        [("width", (90.0, 0.0)), ("oracle", (90.0, 0.0))]


class FlatSpace:
    """The toy archs under another name, without ``mutate``."""

    name = "flat"
    datasets = {"toyset": "toyset"}
    parse_arch = toy_plugins.ToySpace.parse_arch
    build_model = toy_plugins.ToySpace.build_model
    prepare = toy_plugins.ToySpace.prepare

    def ground_truth(self, data_dir):
        table = toy_plugins.toy_table()
        return GroundTruthTable("flat", table.frame, [MetricInfo("acc", "toyset", True, "acc")],
                                {"toyset": "acc"}, table.source)


class FlatPlugin:
    @hookimpl
    def harness_register_spaces(self, register):
        register(FlatSpace())


def test_evolution_needs_mutate_and_random_search_does_not(toy, tmp_path):
    registry, _ = toy
    registry.register_plugin(FlatPlugin(), "flat")
    spec = _spec(tmp_path, ["oracle"], searchers=["evolution"])
    spec.config.spaces = ["flat"]
    with pytest.raises(ConfigError, match="no mutate method.*random search works"):
        run_search(spec)
    spec = _spec(tmp_path, ["oracle"], searchers=["random"], folder="random")
    spec.config.spaces = ["flat"]
    assert len(run_search(spec).runs) == 3


@pytest.mark.parametrize(("option", "message"), [
    ("evolution.populationsize=5", "has no option 'populationsize'"),
    ("evolution.population_size=2.5", "whole number"),
    ("evolution.sample_size=60", "sample_size"),
    ("random.population_size=5", "not in --searcher"),
    ("naswot.batch_size=5", "neither a --searcher nor a --fitness"),
])
def test_bad_options_exit_2(toy, tmp_path, capsys, option, message):
    status = main(["search", "--space", "toy", "--fitness", "width", "--searcher", "evolution",
                   "--option", option, "--out", str(tmp_path / "run"), "--workers", "0"])
    assert status == 2 and message in capsys.readouterr().err


def test_cli_writes_the_report(toy, tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["search", "--space", "toy", "--fitness", "width,oracle,random", "--searcher",
                   "evolution,random", "--budget", "5", "--runs", "2", "--option",
                   "evolution.population_size=3", "--option", "evolution.sample_size=2",
                   "--workers", "0", "--out", str(out)])
    assert status == 0
    assert "| width | evolution | 2 |" in capsys.readouterr().out
    summary = json.loads((out / "search" / "summary.json").read_text())
    assert {row["fitness"] for row in summary["rows"]} == {"width", "oracle", "random"}
    assert (out / "search" / "curves.png").stat().st_size > 0
    assert len(read_runs(out).runs) == 12


def test_paper_row_only_beside_nb201(toy, tmp_path):
    outcome = run_search(_spec(tmp_path, ["oracle"], searchers=["random"]))
    assert all(r["source"] == "measured" for r in search_table(outcome, paper=True))
    outcome.space = "nb201"
    outcome.metrics = ["cifar10-valid/x-valid", "cifar10/ori-test"]
    paper = search_table(outcome, paper=True)[-1]
    assert paper["truth"] == {"cifar10-valid/x-valid": (88.43, 1.67),
                              "cifar10/ori-test": (91.24, 1.70)}
    assert "NASWOT, published" in (write_search_report(tmp_path / "report", outcome, True)[0]
                                   .read_text())


def test_mutation_stays_on_the_table(toy, tmp_path):
    _, data_dir = toy
    half = {arch: 50.0 + 5 * int(arch[1:]) for arch in toy_plugins.ARCHS[:4]}
    toy_plugins.toy_table(half).save(prepared_table_path(data_dir, "toy"))
    outcome = run_search(_spec(tmp_path, ["oracle"], searchers=["evolution"], budget=12))
    assert {r.chosen_arch for r in outcome.runs} <= set(half)


def test_nb201_bundled_search_with_params(tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty"))
    config = RunConfig(spaces=["nb201"], datasets=["cifar10-valid"], workers=0,
                       out=str(tmp_path / "run"))
    spec = SearchSpec(config, ["params", "oracle"], ["evolution"],
                      {"evolution": {"population_size": 3, "sample_size": 2}}, budget=5, runs=2)
    outcome = run_search(spec)
    assert outcome.search_metric == "cifar10-valid/x-valid"
    assert "cifar100/x-test" in outcome.runs[0].truth
    stored = sqlite3.connect(tmp_path / "run" / "trials.sqlite").execute(
        "SELECT COUNT(*), COUNT(DISTINCT arch_id) FROM trials").fetchone()
    assert stored[0] == stored[1] == outcome.trial_counts["ok"]


@pytest.mark.slow  # a real process, killed: ~30 s on a busy 2-core machine
def test_search_resumes_after_sigkill_without_scoring_again(toy, tmp_path):
    _, data_dir = toy
    run_dir = tmp_path / "killed"
    command = [toy_plugins.harness_executable(), "search", "--space", "toy", "--fitness",
               "weightsum", "--searcher", "random", "--budget", "8", "--runs", "1",
               "--option", "weightsum.delay_s=0.4", "--workers", "0", "--out", str(run_dir)]
    process = subprocess.Popen(command, env=toy_plugins.subprocess_env(tmp_path, data_dir,
                                                                       "searchers"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _stored_rows(run_dir / "trials.sqlite") < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the search never stored a trial"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    before = load_trials(run_dir).set_index("arch_id")
    assert 2 <= len(before) < 8, "killed in the middle of the search"
    status = main(command[1:])
    assert status == 0
    after = load_trials(run_dir).set_index("arch_id")
    assert len(after) == 8 and read_runs(run_dir).trial_counts == {"ok": 8 - len(before)}
    assert after.loc[before.index, "created_at"].equals(before.created_at), \
        "the trials stored before the kill were not scored again"


def _stored_rows(path):
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.Error:
        return 0


class PlainRandom:
    """A third-party searcher with ``search`` only (no ask/tell ``steps``)."""

    name = "plain"

    def search(self, space, candidates, fitness, budget, rng):
        return RandomSearch().search(space, candidates, fitness, budget, rng)


class PlainPlugin:
    @hookimpl
    def harness_register_searchers(self, register):
        register(PlainRandom())


def test_a_searcher_without_steps_runs_alone_with_the_same_trials(toy, tmp_path):
    registry, _ = toy
    registry.register_plugin(PlainPlugin(), "plain")
    plain = run_search(_spec(tmp_path, ["width"], searchers=["plain"]))
    stepped = run_search(_spec(tmp_path, ["width"], searchers=["random"], folder="stepped"))
    assert [r.chosen_arch for r in plain.runs] == [r.chosen_arch for r in stepped.runs]
    assert plain.trial_counts == stepped.trial_counts
