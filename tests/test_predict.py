"""``harness predict``: few-label combination on a run's store, the synthetic run (held-out
draws recomputed here) and a real run of the bundled NB-201 table with cheap scorers."""

import json

import numpy as np
import pytest
from synthetic_run import make_run

import harness
from harness import metrics
from harness.cli import main

NOISY_SEED0 = [0, 1, 2, np.nan, 4, 5, 6, np.nan, 9, 8]  # a3 NaN, a7 OOM: no score


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("predict") / "run")


def _rows(frame, predictor, k, seed=0, init=("default", "default")):
    return frame[(frame.predictor == predictor) & (frame.k == k) & (frame.seed == seed)
                 & (frame.weight_init == init[0]) & (frame.bias_init == init[1])]


def test_single_scorers_are_scored_on_the_same_held_out_archs(synthetic):
    frame = harness.predict(synthetic, train=[3, 6], splits=4, seed=5)
    truth = np.arange(10.0)
    for k in (3, 6):
        expected = []
        for split in range(4):
            test = np.random.default_rng((5, split)).permutation(10)[k:]
            expected.append(metrics.kendall_tau(np.asarray(NOISY_SEED0)[test], truth[test]))
        row = _rows(frame, "noisy", k).iloc[0]
        assert row.kendall == pytest.approx(np.mean(expected), abs=1e-12)
        assert row.kendall_std == pytest.approx(np.std(expected, ddof=1), abs=1e-12)
        assert row.n_test == 10 - k and row.splits == 4
        assert _rows(frame, "reversed", k).kendall.iloc[0] == -1.0
        assert bool(_rows(frame, "perfect", k).best_single.iloc[0]) or bool(
            _rows(frame, "mem[h16]", k).best_single.iloc[0]), "a perfect scorer is the best"
        assert np.isfinite(_rows(frame, "boosting", k).kendall.iloc[0])


def test_predict_is_deterministic_and_notes_what_it_leaves_out(synthetic):
    first = harness.predict(synthetic, train=[4, 9], splits=2)
    second = harness.predict(synthetic, train=[4, 9], splits=2)
    assert first.equals(second)
    assert set(first.k) == {4}, "k = 9 would leave one arch: no Kendall"
    assert any("k=9" in note for note in first.attrs["notes"])
    assert any("no arch encoding" in note or "not installed" in note
               for note in first.attrs["notes"])


def test_predict_on_a_real_nb201_run(tmp_path, monkeypatch, one_torch_thread, capsys):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty"))
    run = harness.compare(spaces="nb201", scorers="params,flops", samples=40,
                          datasets=["cifar10-valid"], out=tmp_path / "run", workers=0)
    frame = harness.predict(run, train=[10, 20], splits=3)
    assert not [note for note in frame.attrs["notes"] if "encoding" in note], \
        "NB-201 offers its one-hot arch encoding"
    boosting = frame[frame.predictor == "boosting"]
    assert list(boosting.k) == [10, 20] and list(boosting.n_test) == [30, 20]
    assert boosting.kendall.between(-1, 1).all()
    assert set(frame.predictor) == {"boosting", "params", "flops"}
    assert main(["predict", str(run.run_dir), "--train", "10", "--splits", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows"] == json.loads(json.dumps(
        frame[frame.k == 10].to_dict(orient="records")))


def test_nb201_arch_encoding_is_one_hot_per_edge():
    from harness.registry import get_registry

    space = get_registry().get("space", "nb201")
    code = space.encode_arch("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
                             "nor_conv_1x1~1|nor_conv_3x3~2|")
    assert len(code) == 30 and sum(code) == 6
    assert code[:5] == [0, 0, 0, 1, 0], "edge 1<-0 is nor_conv_3x3, the 4th op"


def test_predict_refuses_an_unknown_metric(synthetic):
    with pytest.raises(harness.errors.ConfigError, match="known: acc, err"):
        harness.predict(synthetic, train=[3], metric="accuracy")


def test_predict_against_a_lower_is_better_metric(synthetic):
    frame = harness.predict(synthetic, train=[3], splits=2, metric="err")
    assert _rows(frame, "perfect", 3).kendall.iloc[0] == 1.0, "err is negated: higher = better"


def test_scores_beyond_float32_are_fitted(tmp_path):
    """scikit-learn's trees compute in float32: synflow's 1e40-sized scores enter as ranks."""
    run_dir = make_run(tmp_path / "run", noisy_scores=[1e40 * i for i in range(10)])
    frame = harness.predict(run_dir, train=[5], splits=2)
    assert np.isfinite(_rows(frame, "boosting", 5).kendall.iloc[0])
    assert _rows(frame, "noisy", 5).kendall.iloc[0] == pytest.approx(1.0, abs=1e-12)


def test_predict_fits_on_the_scorers_named_only(synthetic):
    everything = harness.predict(synthetic, train=[4], splits=3)
    chosen = harness.predict(synthetic, train=[4], splits=3, scorers=["noisy", "reversed"])
    assert set(chosen.predictor) == {"boosting", "noisy", "reversed"}
    assert set(everything.predictor) > set(chosen.predictor)
    for name in ("noisy", "reversed"):  # the single scorers' rows do not depend on the others
        assert (_rows(chosen, name, 4).kendall.tolist()
                == _rows(everything, name, 4).kendall.tolist())
    with pytest.raises(harness.errors.ConfigError, match="--scorers nope: not in"):
        harness.predict(synthetic, train=[4], scorers=["nope"])
