"""A run whose --images set holds fewer images than a scorer's batch size keys and reports the
batch actually used: the plan caps it, with a one-line note, and no Python warning appears."""

import numpy as np

import harness
from harness.config import RunConfig
from harness.execute import execute_plan
from harness.plan import plan_run


def _six_images(path):
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
             y=np.arange(6) % 10)
    return path


def test_batch_sizes_are_capped_to_the_images_there_are(tmp_path, capfd, one_torch_thread):
    images = _six_images(tmp_path / "six.npz")
    config = RunConfig(spaces=["nb201"], scorers=["naswot", "synflow"], samples=2,
                       images=str(images), workers=0, data_dir=str(tmp_path / "empty"),
                       out=str(tmp_path / "run"))
    plan = plan_run(config)
    assert "naswot: batch size 128 -> 6, all the images there are (six.npz)" in plan.notes
    assert not any(note.startswith("synflow") for note in plan.notes), "synflow reads none"
    assert {t.batch_size for t in plan.trials if t.scorer == "naswot"} == {6}
    summary = execute_plan(plan, progress=False)
    assert summary.status_counts == {"ok": 4}, summary
    trials = harness.load_trials(tmp_path / "run")
    assert set(trials[trials.scorer == "naswot"].batch_size) == {6}
    assert "Warning" not in capfd.readouterr().err, "no Python warning with a source line"
