"""Scorers that declare ``needs_weights = False`` get a structure-only build: no trial seed,
init schemes or device move, so a ``params`` / ``flops`` trial costs little more than the build,
while every other scorer still gets seeded, initialized weights."""

from harness import trial as trial_module
from harness.plugins.scorers.model_size import Flops, Params
from harness.store import Trial
from harness.trial import TrialJob, execute_trial, needs_weights

ARCH = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
# ARCH's parameter count in NAS-Bench-201 (benchmark index 11722, 0.587386 M in `params_m/cifar10`
# of the bundled table): the official network with 10 classes.
ARCH_PARAMS = 587386.0


def _job(scorer: str, tmp_path) -> TrialJob:
    trial = Trial("nb201", "cifar10-valid", ARCH, scorer, "test", 0, "kaiming", "zero", 1)
    return TrialJob(trial, 1, 0, {"batch_size": 1}, "cifar10", 10, (3, 32, 32), None, {},
                    str(tmp_path), "cpu")


def test_size_scorers_declare_they_need_no_weights_and_others_default_to_needing_them():
    assert not needs_weights(Params()) and not needs_weights(Flops())
    assert needs_weights(object())


def test_weight_free_trials_skip_init_schemes(monkeypatch, tmp_path):
    counted = execute_trial(_job("params", tmp_path))

    def no_init(*args, **kwargs):
        raise AssertionError("init scheme applied to a weight-free build")

    monkeypatch.setattr(trial_module, "apply_init", no_init)
    assert execute_trial(_job("params", tmp_path)).score == counted.score == ARCH_PARAMS
    assert execute_trial(_job("flops", tmp_path)).status == "ok"
    needs_them = execute_trial(_job("synflow", tmp_path))
    assert needs_them.status == "error" and "init scheme" in needs_them.message


def test_every_trial_records_the_cpu_seconds_it_spent(monkeypatch, tmp_path):
    scored = execute_trial(_job("synflow", tmp_path))
    assert scored.status == "ok" and 0 < scored.cpu_s < 60, "a forward and backward pass"

    def failing_init(*args, **kwargs):
        raise RuntimeError("init failed")

    monkeypatch.setattr(trial_module, "apply_init", failing_init)
    failed = execute_trial(_job("synflow", tmp_path))
    assert failed.status == "error" and failed.cpu_s is not None and failed.cpu_s >= 0
