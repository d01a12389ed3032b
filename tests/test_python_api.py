"""harness.score on plain modules: the zero-cost formulas recomputed here by hand, every
zero-cost scorer and NASWOT, the model left as it was; ground_truth; load_trials."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import harness
from harness.errors import ConfigError, ScorerSkipped

ZERO_COST_AND_NASWOT = ["synflow", "synflow_bn", "snip", "grasp", "fisher", "grad_norm", "plain",
                        "jacob_cov", "l2_norm", "naswot", "naswot_v1", "params", "flops"]


def _model_and_batch():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.Flatten(), nn.Linear(6 * 8 * 8, 5))
    images = torch.randn(12, 3, 8, 8)
    labels = torch.randint(0, 5, (12,))
    return model, images, labels


def _weight_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _loss_gradients(model, images, labels):
    model = copy.deepcopy(model).train()
    F.cross_entropy(model(images), labels).backward()
    return [(layer.weight.detach(), layer.weight.grad) for layer in _weight_layers(model)]


def test_snip_and_grad_norm_are_the_zero_cost_formulas(one_torch_thread):
    model, images, labels = _model_and_batch()
    pairs = _loss_gradients(model, images, labels)
    snip = sum(float((w * g).abs().double().sum()) for w, g in pairs)
    grad_norm = sum(float(g.norm()) for _, g in pairs)
    scores = harness.score(model, ["snip", "grad_norm"], inputs=images, targets=labels)
    assert scores["snip"] == pytest.approx(snip, rel=1e-5), "Σ|W ⊙ ∂L/∂W|"
    assert scores["grad_norm"] == pytest.approx(grad_norm, rel=1e-5), "Σ_layers ‖∂L/∂W‖"


def test_synflow_is_the_bn_free_absolute_flow_of_one_ones_image(one_torch_thread):
    model, images, _ = _model_and_batch()
    copy_ = copy.deepcopy(model).double()
    copy_[1] = nn.Identity()  # synflow's copy has no BatchNorm
    with torch.no_grad():
        for parameter in copy_.parameters():
            parameter.abs_()
    copy_(torch.ones(1, 3, 8, 8, dtype=torch.float64)).sum().backward()
    expected = sum(float((layer.weight * layer.weight.grad).detach().abs().sum())
                   for layer in _weight_layers(copy_))
    assert harness.score(model, "synflow", inputs=images) == pytest.approx(expected, rel=1e-9)
    assert harness.score(model, "synflow", input_shape=(3, 8, 8)) == pytest.approx(
        expected, rel=1e-9), "synflow needs only the image shape"


def test_every_zero_cost_scorer_and_naswot_scores_a_plain_module_and_leaves_it_unchanged(
        one_torch_thread):
    model, images, labels = _model_and_batch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scores = harness.score(model, ZERO_COST_AND_NASWOT, inputs=images, targets=labels, seed=1)
    assert all(math.isfinite(value) for value in scores.values()), scores
    assert scores["params"] == sum(p.numel() for p in model.parameters())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the model must not change"
    again = harness.score(model, ZERO_COST_AND_NASWOT, inputs=images, targets=labels, seed=1)
    assert again == scores, "the same seed gives the same numbers"


def test_missing_inputs_and_modules_without_taps_are_clear_errors():
    model, images, labels = _model_and_batch()
    with pytest.raises(ConfigError, match="'snip' reads a batch of images: pass inputs="):
        harness.score(model, "snip")
    with pytest.raises(ConfigError, match="needs targets="):
        harness.score(model, "naswot", inputs=images)
    with pytest.raises(ConfigError, match="give inputs=, or input_shape="):
        harness.score(model, "synflow")
    with pytest.raises(ScorerSkipped, match="forward_taps"):
        harness.score(model, "gennas-search-n", inputs=images, targets=labels)


def test_ground_truth_of_one_dataset_from_the_bundled_table(tmp_path):
    truth = harness.ground_truth("nb201", dataset="cifar100", data_dir=tmp_path)
    metrics = [c for c in truth.columns if "/" in c and not c.startswith("params")]
    assert metrics == ["cifar100/x-valid", "cifar100/x-test"], truth.columns
    assert len(truth) == 15625 and truth.attrs["bundled"] is True
    assert truth.attrs["default_metric"]["cifar100"] == "cifar100/x-valid"
    with pytest.raises(ConfigError, match="no ground truth for dataset 'cifar-10'"):
        harness.ground_truth("nb201", dataset="cifar-10", data_dir=tmp_path)


def test_load_trials_without_truth_is_the_store_and_accepts_a_path(toy, tmp_path):
    _, data_dir = toy
    run = harness.compare(spaces="toy", scorers="width", samples=4, workers=0,
                          out=tmp_path / "run", data_dir=str(data_dir))
    plain = harness.load_trials(tmp_path / "run")
    joined = harness.load_trials(run, with_truth=True)
    assert len(plain) == len(joined) == 4 and "truth" not in plain.columns
    assert joined["truth_metric"].eq("acc").all()
    assert run.summary.status_counts == {"ok": 4}


def test_import_harness_and_the_api_names_do_not_load_torch():
    import subprocess
    import sys

    probe = ("import sys, harness; harness.score, harness.compare, harness.load_trials, "
             "harness.ground_truth, harness.Run; print(sorted(m for m in ('torch', 'pandas') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
