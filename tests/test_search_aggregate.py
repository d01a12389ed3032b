"""An aggregate of scorers as the fitness of ``harness search``: ranks within the archs the
search has seen, its parts' trials in the store, its cost the sum of its parts'."""

import math

import pytest
import toy_plugins

from harness import load_trials
from harness.cli import main
from harness.config import RunConfig
from harness.reports.aggregates import AggregateSpec
from harness.search.arch_search import SearchSpec, read_runs, run_search
from harness.search.rank_fitness import rank_fitness

PART_SCORES = {("p", "a"): 1.0, ("q", "a"): 3.0, ("p", "b"): 2.0, ("q", "b"): 1.0,
               ("p", "c"): 3.0, ("q", "c"): 2.0}


def test_ranks_are_taken_within_the_archs_seen_so_far():
    spec = AggregateSpec("pq", ("p", "q"), "log_rank")
    fitness = rank_fitness(spec, lambda part, arch: PART_SCORES[(part, arch)])
    # Round 1 sees a and b: a ranks (1, 2) of 2, b ranks (2, 1) of 2.
    assert fitness.values(["a", "b"]) == [math.log(1 / 2), math.log(1 / 2)]
    # Round 2 adds c: among a, b, c it ranks (3, 2) of 3.
    assert fitness.values(["c"]) == [math.log(2 / 3)]
    assert fitness.seen == ["a", "b", "c"]
    assert fitness.value("a") == pytest.approx(math.log(1 / 3)), "a re-asked: ranked among all"
    assert fitness.trial_keys(["a"]) == [("p", "a"), ("q", "a")]


@pytest.fixture
def toy(tmp_path, monkeypatch):
    plugins = f"{toy_plugins.CORE_PLUGINS},searchers"
    with toy_plugins.toy_environment(tmp_path, monkeypatch, plugins) as environment:
        yield environment


def test_search_with_an_aggregate_fitness_scores_its_parts(toy, tmp_path):
    config = RunConfig(spaces=["toy"], workers=0, out=str(tmp_path / "run"))
    spec = SearchSpec(config, ["both"], ["random"], budget=8, runs=2,
                      aggregates=[AggregateSpec("both", ("width", "weightsum"), "mean_rank")])
    outcome = run_search(spec)
    trials = load_trials(tmp_path / "run")
    assert set(trials.scorer) == {"width", "weightsum"}
    assert len(trials) == 16, "each of the 8 archs scored once by each part"
    assert [r.fitness for r in outcome.runs] == ["both", "both"]
    wall = trials.groupby("scorer").wall_s.sum().sum()
    assert outcome.runs[0].scoring_s == pytest.approx(wall), "a run pays both parts' seconds"


def test_cli_aggregate_fitness(toy, tmp_path, capsys):
    code = main(["search", "--space", "toy", "--searcher", "random", "--fitness", "oracle",
                 "--aggregate", "both=width,weightsum:log_rank", "--budget", "4", "--runs",
                 "1", "--workers", "0", "--quiet", "--option", "weightsum.scale=2",
                 "--out", str(tmp_path / "cli")])
    assert code == 0
    outcome = read_runs(tmp_path / "cli")
    assert {r.fitness for r in outcome.runs} == {"oracle", "both"}
    assert outcome.settings["aggregates"] == [
        {"name": "both", "parts": ["width", "weightsum"], "method": "log_rank"}]
