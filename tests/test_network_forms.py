"""Network forms: a scorer names the form of network its paper scored, each space builds it, and
only the trial's own space's network options enter its key (adding or dropping a space from a
selection leaves the other spaces' trials where they are). Stores written before this keep
their trials: the store migration re-keys them to what the planner computes now."""

import json
import sqlite3

import pytest
from nds_fixtures import real_records, write_sweep
from store_history import TABLES_BEFORE_CPU_SECONDS

from harness import store
from harness.cli import main
from harness.config import RunConfig
from harness.hashing import canonical_hash
from harness.plan import plan_run
from harness.plugins.spaces.nds.prepare import prepare
from harness.store import TrialStore

NDS_FILES = {"DARTS_in.json": "nds-darts", "ResNeXt-A_in.json": "nds-resnext-a"}


@pytest.fixture
def nds_data(shared_data, tmp_path):
    """A data dir with the first records of a cell sweep and an AnyNet sweep prepared."""
    source = tmp_path / "source"
    for name in NDS_FILES:
        write_sweep(source, name, real_records(shared_data, name, 4))
    data_dir = tmp_path / "data"
    for space in NDS_FILES.values():
        prepare(source, data_dir, space)
    return data_dir


def _plan(tmp_path, data_dir, spaces, scorers, options=None, samples=2):
    config = RunConfig(spaces=spaces, scorers=scorers, samples=samples, workers=0,
                       data_dir=str(data_dir), out=str(tmp_path / "run"), options=options or {})
    return plan_run(config)


def _built_with(plan):
    """Each (space, scorer)'s builder options, as the workers get them."""
    return {(job.trial.space, job.trial.scorer): job.model_options for job in plan.jobs}


def test_each_scorer_gets_its_papers_network_in_each_space_without_options(nds_data, tmp_path):
    plan = _plan(tmp_path, nds_data, ["nds-darts", "nds-resnext-a", "nb201"],
                 ["gennas-search-n", "naswot", "synflow"])
    built = _built_with(plan)
    # GenNAS's AnyNet rewrite with pycls's own weight draw; its cell networks keep torch's
    assert built["nds-resnext-a", "gennas-search-n"] == {"variant": "gennas", "init": "pycls"}
    assert built["nds-darts", "gennas-search-n"] == {"variant": "gennas"}
    # NASWOT's AnyNet stem, reading ImageNet records at NASWOT's 224x224
    assert built["nds-resnext-a", "naswot"] == {"variant": "naswot", "imagenet_input_side": 224}
    assert built["nds-darts", "naswot"] == {}  # NASWOT's cell networks are the trained ones
    assert built["nds-resnext-a", "synflow"] == {}
    assert built["nb201", "synflow"] == {"variant": "zerocost"}
    assert built["nb201", "gennas-search-n"] == {"variant": "gennas"}
    assert built["nb201", "naswot"] == {}


def test_dropping_a_space_leaves_the_other_spaces_trial_keys_unchanged(nds_data, tmp_path):
    options = {"naswot": {"model_options": {"nds-darts": {"variant": "nds"}}}}
    both = _plan(tmp_path, nds_data, ["nds-darts", "nds-resnext-a"], ["naswot"], options)
    alone = _plan(tmp_path, nds_data, ["nds-resnext-a"], ["naswot"], {})
    kept = {trial for trial in both.trials if trial.space == "nds-resnext-a"}
    assert kept == set(alone.trials)
    darts = {trial.scorer_config_hash for trial in both.trials if trial.space == "nds-darts"}
    assert darts.isdisjoint({trial.scorer_config_hash for trial in alone.trials})


def test_nds_compare_runs_each_method_on_its_form_with_no_option(nds_data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["compare", "--spaces", "nds-resnext-a", "--datasets", "imagenet", "--scorers",
                 "naswot,synflow", "--samples", "2", "--data-dir", str(nds_data), "--option",
                 "naswot.batch_size=8", "--option", "synflow.batch_size=2", "--workers", "0",
                 "--quiet", "--out", str(run)]) == 0
    with sqlite3.connect(run / "trials.sqlite") as db:
        statuses = dict(db.execute("SELECT scorer, group_concat(DISTINCT status) FROM trials "
                                   "GROUP BY scorer"))
        configs = {scorer: json.loads(text) for scorer, text in
                   db.execute("SELECT scorer, config_json FROM scorer_configs")}
    assert statuses == {"naswot": "ok", "synflow": "ok"}
    assert configs["naswot"]["builder_options"] == {"variant": "naswot",
                                                    "imagenet_input_side": 224}
    assert "builder_options" not in configs["synflow"]  # the trained network: nothing to record


def test_a_form_a_space_does_not_build_gets_its_benchmark_network_and_a_note(tmp_path):
    plan = _plan(tmp_path, tmp_path / "empty", ["nb201"], ["synflow"],
                 {"synflow": {"network": "made-up"}})
    assert _built_with(plan) == {("nb201", "synflow"): {}}
    assert any("'made-up' network form, which nb201 does not build" in note
               for note in plan.notes)


def test_model_options_must_name_spaces(tmp_path):
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="give builder options per space"):
        _plan(tmp_path, tmp_path / "empty", ["nb201"], ["synflow"],
              {"synflow": {"model_options": {"variant": "zerocost"}}})


def _version_1_store(run_dir, config, rows):
    """A store as version 1 wrote it: one config hash for every space of the run."""
    run_dir.mkdir(parents=True)
    connection = sqlite3.connect(run_dir / store.STORE_FILE)
    connection.executescript(TABLES_BEFORE_CPU_SECONDS)
    old_hash = canonical_hash(config)
    connection.execute("INSERT INTO scorer_configs VALUES (?, ?, ?)",
                       (old_hash, "synflow", json.dumps(config, sort_keys=True)))
    for space, arch, score in rows:
        connection.execute(
            "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (space, "cifar10", arch, "synflow", old_hash, 0, "default", "default", 64, score,
             "ok", "", 1.0, None, "cpu", "0.1.0", "2.13.0", "t"))
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()
    return old_hash


def test_a_version_1_store_is_rekeyed_per_space_to_what_the_planner_computes(tmp_path):
    config = RunConfig(spaces=["nb201"], scorers=["synflow"], workers=0, samples=1,
                       out=str(tmp_path / "plan"), data_dir=str(tmp_path / "empty"))
    plan = plan_run(config)
    ((_, planned), key_config), = plan.scorer_configs.items()
    # What version 1 stored for the same run: the network options of every space in one hash.
    legacy = {**{k: v for k, v in key_config.items() if k != "builder_options"},
              "model_options": {"nb201": key_config["builder_options"], "other": {"w": 2}}}
    run_dir = tmp_path / "run"
    old_hash = _version_1_store(run_dir, legacy, [("nb201", plan.jobs[0].trial.arch_id, 2.5),
                                                  ("nb101", "x", 1.5)])
    with TrialStore.for_run(run_dir) as opened:
        assert opened.schema_version == store.SCHEMA_VERSION
        frame = opened.trials_frame().set_index("space")
        configs = opened.scorer_configs()
    assert frame.at["nb201", "scorer_config_hash"] == planned != old_hash
    assert configs[planned] == key_config
    assert configs[frame.at["nb101", "scorer_config_hash"]] == {
        k: v for k, v in key_config.items() if k != "builder_options"}
    assert frame.score.to_dict() == {"nb201": 2.5, "nb101": 1.5}  # no trial lost
    assert old_hash not in configs
