"""GenNAS wrapper, training loop and scorer on a tiny hand-written space (and on NB201)."""

import json
import math

import pytest
import torch
from torch import nn

from harness.errors import ConfigError
from harness.plugins.scorers.gennas import scorer as gennas_scorer
from harness.plugins.scorers.gennas.plugin import (
    FAST_TASKS,
    TASK_NAMES,
    harness_register_scorers,
    named_task,
)
from harness.plugins.scorers.gennas.rnn_scorer import RNN_TASK_NAMES
from harness.plugins.scorers.gennas.scorer import GenericGenNASScorer, GenNASScorer
from harness.plugins.scorers.gennas.task import Noise
from harness.plugins.scorers.gennas.train import (
    TrainSettings,
    add_noise,
    parameter_groups,
    train,
    weighted_mse,
)
from harness.plugins.scorers.gennas.wrapper import wrap
from harness.plugins.spaces.nb201.space import NB201Space
from harness.protocols import Batch, Scorer, ScoringContext


class TinySpace:
    """Three conv stages (32x32 -> 16x16 -> 8x8); arch id = stage width."""

    name = "tiny"
    datasets: dict[str, str] = {}

    def build_model(self, arch_id, *, num_classes, broken=False, **options):
        width = int(arch_id)
        stages = [nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width),
                                nn.ReLU()),
                  nn.Sequential(nn.Conv2d(width, 2 * width, 3, 2, 1), nn.BatchNorm2d(2 * width),
                                nn.ReLU()),
                  nn.Sequential(nn.Conv2d(2 * width, 4 * width, 3, 2, 1), nn.ReLU())]
        model = nn.Sequential(*stages, nn.Flatten(), nn.LazyLinear(num_classes))
        if broken:
            with torch.no_grad():
                stages[0][0].weight.fill_(math.inf)
        return model

    def forward_taps(self, model, inputs):
        taps, out = [], inputs
        for stage in list(model)[:3]:
            out = stage(out)
            taps.append(out)
        return taps


SPACE = TinySpace()
BATCH = Batch(torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0)),
              torch.zeros(16, dtype=torch.long))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_ctx(scorer, arch_id="4", *, space=SPACE, run_seed=0, trial_seed=1, batch=BATCH,
             build_options=None, **options):
    config = {**scorer.defaults, "iterations": 3, "eval_interval": 2, **options}

    def build_model(**kwargs):
        torch.manual_seed(trial_seed)
        return space.build_model(arch_id, num_classes=10, **{**(build_options or {}), **kwargs})

    return ScoringContext(space=space, arch_id=arch_id, dataset="d", num_classes=10,
                          input_shape=(3, 32, 32), batch=batch, config=config,
                          device=torch.device("cpu"), trial_seed=trial_seed,
                          generator=torch.Generator().manual_seed(trial_seed),
                          build_model=build_model, run_seed=run_seed)


def combo():
    return GenNASScorer("gennas-combo", named_task("gennas-combo"))


def test_registers_one_scorer_per_task_plus_generic():
    registered = []
    harness_register_scorers(registered.append)
    assert [s.name for s in registered] == [*TASK_NAMES, *FAST_TASKS, "gennas", *RNN_TASK_NAMES]
    assert all(isinstance(s, Scorer) and s.defaults["batch_size"] == 16 for s in registered)
    hashes = {s.defaults["task_hash"] for s in registered[:len(TASK_NAMES)]}
    assert len(hashes) == len(TASK_NAMES), "each task's hash is in its config (store key)"
    assert registered[0].defaults["weight_decay"] == 4e-5


def test_wrapper_heads_resize_taps_to_8x8():
    backbone = SPACE.build_model("4", num_classes=10)
    model = wrap(SPACE, backbone, (64, 48, 16), BATCH.inputs[:2])
    outputs = model(BATCH.inputs)
    assert [tuple(o.shape) for o in outputs] == [(16, 64, 8, 8), (16, 48, 8, 8), (16, 16, 8, 8)]
    bn, conv = model.heads[1]
    assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == 8
    assert conv.kernel_size == (1, 1) and conv.bias is not None and conv.in_channels == 8


def test_wrapper_probe_leaves_batchnorm_statistics_untouched():
    backbone = SPACE.build_model("4", num_classes=10)
    before = backbone[0][1].running_mean.clone()
    wrap(SPACE, backbone, (8, 8, 8), BATCH.inputs[:2])
    assert torch.equal(backbone[0][1].running_mean, before) and backbone.training


def test_weight_decay_only_on_multidimensional_weights():
    model = wrap(SPACE, SPACE.build_model("4", num_classes=10), (8, 8, 8), BATCH.inputs[:2])
    decay, no_decay = parameter_groups(model, 4e-5)
    assert decay["weight_decay"] == 4e-5 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"])
    assert all(p.ndim == 1 for p in no_decay["params"])
    assert len(decay["params"]) == 6, "3 backbone + 3 head convs (the lazy classifier is unset)"


def test_weighted_mse_skips_zero_weights():
    outs = [torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8), torch.full((1, 1, 8, 8), 2.0)]
    targets = [torch.full((1, 1, 8, 8), math.nan), torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8)]
    assert weighted_mse(outs, targets, (0.0, 0.5, 1.0)).item() == 0.5 * 1 + 1.0 * 4


def test_noise_is_fresh_per_draw_and_off_at_level_zero():
    x = torch.zeros(2, 3, 4, 4)
    g = torch.Generator().manual_seed(0)
    uniform = Noise("uniform", 0.1)
    a, b = add_noise(x, uniform, g), add_noise(x, uniform, g)
    assert not torch.equal(a, b) and a.abs().max() <= 0.1
    assert add_noise(x, Noise("gaussian", 0.0), g) is x


def test_train_records_eval_losses_at_interval_and_end():
    model = wrap(SPACE, SPACE.build_model("4", num_classes=10), (8, 8, 8), BATCH.inputs[:2])
    targets = [torch.zeros(16, 8, 8, 8)] * 3
    result = train(model, BATCH.inputs, targets, Noise("gaussian", 0.2),
                   TrainSettings(iterations=5, eval_interval=2), (0.25, 0.5, 1.0),
                   (0.25, 0.5, 1.0), torch.Generator().manual_seed(0))
    assert result.eval_iterations == [2, 4, 5]
    assert all(math.isfinite(v) for v in [*result.eval_losses, result.last_train_loss])


def test_short_run_gives_finite_score_and_is_deterministic():
    scorer = combo()
    first = scorer.score(make_ctx(scorer))
    again = scorer.score(make_ctx(scorer))
    assert math.isfinite(first) and first < 0, "score = -loss, and an MSE loss is positive"
    assert first == again, "same trial seed and run seed: bit-identical on CPU"


def test_targets_follow_the_run_seed_not_the_trial_seed():
    scorer = combo()
    gennas_scorer._instances.clear()
    scorer.score(make_ctx(scorer, trial_seed=1))
    scorer.score(make_ctx(scorer, trial_seed=2))
    assert len(gennas_scorer._instances) == 1, "every arch of a run shares one task instance"
    scorer.score(make_ctx(scorer, run_seed=5))
    assert len(gennas_scorer._instances) == 2
    fixed = make_ctx(scorer, run_seed=None, task_seed=5)
    assert gennas_scorer.task_seed(fixed) == 5


def test_missing_run_seed_without_task_seed_is_an_error():
    scorer = combo()
    with pytest.raises(ConfigError, match="run seed"):
        scorer.score(make_ctx(scorer, run_seed=None))


def test_non_finite_loss_is_returned_not_replaced():
    scorer = combo()
    value = scorer.score(make_ctx(scorer, build_options={"broken": True}))
    assert math.isnan(value), "an inf weight makes the loss NaN; harness.trial records status nan"


def test_report_options_pick_from_one_trajectory():
    scorer = combo()
    result = gennas_scorer.train_task(make_ctx(scorer), scorer.task)
    assert len(result.eval_losses) == len(result.eval_iterations) >= 2
    assert scorer.score(make_ctx(scorer)) == -result.eval_losses[-1], "the paper's: last eval"
    mean_eval = scorer.score(make_ctx(scorer, report="mean_eval"))
    assert mean_eval == pytest.approx(-sum(result.eval_losses) / len(result.eval_losses))
    assert scorer.score(make_ctx(scorer, report="last_train")) == -result.last_train_loss


@pytest.mark.parametrize("options, message", [
    ({"iterations": "ten"}, "iterations='ten' must be an integer"),
    ({"eval_interval": 0}, "eval_interval=0 must be at least 1"),
    ({"lr": -1}, "need lr > 0"),
    ({"report": "best"}, "use one of last_eval, mean_eval, last_train"),
    ({"memory_format": "nhwc"}, "use one of contiguous, channels_last"),
    ({"iteration": 5}, "unknown option(s) iteration"),
    ({"task_hash": "0" * 12}, "use the generic 'gennas' scorer"),
])
def test_bad_options_are_named(options, message):
    scorer = combo()
    with pytest.raises(ConfigError) as error:
        scorer.score(make_ctx(scorer, **options))
    assert message in str(error.value)


def test_channels_last_trains_the_same_model_to_nearly_the_same_loss():
    scorer = combo()
    contiguous = scorer.score(make_ctx(scorer, memory_format="contiguous"))
    channels_last = scorer.score(make_ctx(scorer))
    assert channels_last == pytest.approx(contiguous, rel=0.02)
    assert channels_last == scorer.score(make_ctx(scorer, memory_format="channels_last"))


def test_contiguous_keeps_the_store_key_it_had_and_the_channels_last_default_is_keyed():
    """Trials scored in contiguous order before channels-last became the default keep their
    keys; a default trial's key names its format, so the two never share a key."""
    generic = GenericGenNASScorer()
    for scorer, config in ((combo(), combo().defaults),
                           (generic, {**generic.defaults,
                                      "task": named_task("gennas-combo").canonical_json()})):
        assert scorer.resolve_config(config)["memory_format"] == "channels_last"
        assert "memory_format" not in scorer.resolve_config(
            {**config, "memory_format": "contiguous"})


def test_fast_schedule_scores_what_the_full_run_evaluates_at_its_last_iteration():
    (name, (task_name, schedule)), = FAST_TASKS.items()
    fast = GenNASScorer(name, named_task(task_name), schedule)
    full = GenNASScorer(task_name, named_task(task_name))
    assert fast.defaults["iterations"] < full.defaults["iterations"]
    assert fast.defaults["task"] == name != full.defaults["task"], "a store key of its own"
    short = {key: fast.defaults[key] for key in ("iterations", "eval_interval")}
    result = gennas_scorer.train_task(make_ctx(full, iterations=short["iterations"] * 2,
                                               eval_interval=short["eval_interval"]), full.task)
    at = result.eval_iterations.index(short["iterations"])
    assert fast.score(make_ctx(fast, **short)) == -result.eval_losses[at], \
        "constant learning rate: the shorter run is the longer run's first part, bit for bit"


def test_planner_input_source_key_is_accepted():
    scorer = combo()
    source = {"images": "x.npz", "sha256": "0" * 64}
    assert math.isfinite(scorer.score(make_ctx(scorer, input_source=source)))


def test_cli_strings_are_accepted_for_numbers():
    scorer = combo()
    assert math.isfinite(scorer.score(make_ctx(scorer, iterations="2", lr="0.05")))


def test_generic_scorer_resolves_task_file_into_config(tmp_path):
    path = tmp_path / "my_task.json"
    path.write_text(named_task("gennas-search-r").to_json())
    generic = GenericGenNASScorer()
    resolved = generic.resolve_config({**generic.defaults, "task": str(path)})
    assert resolved["task_hash"] == named_task("gennas-search-r").hash
    assert resolved["task"] == json.loads(named_task("gennas-search-r").canonical_json())
    from_content = generic.score(make_ctx(generic, task=resolved["task"],
                                          task_hash=resolved["task_hash"]))
    from_path = generic.score(make_ctx(generic, task=str(path)))
    assert math.isfinite(from_content)
    assert from_path == from_content, "a path or its resolved content: the same task"
    with pytest.raises(ConfigError, match="needs a task"):
        generic.resolve_config(dict(generic.defaults))


def test_generic_scorer_detects_a_changed_task_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(named_task("gennas-search-r").to_json())
    generic = GenericGenNASScorer()
    with pytest.raises(ConfigError, match="task file changed"):
        generic.score(make_ctx(generic, task=str(path), task_hash="abc"))


def test_nb201_gennas_variant_heads_and_short_run():
    space = NB201Space()
    arch = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
            "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    backbone = space.build_model(arch, num_classes=10, variant="gennas", N=1)
    model = wrap(space, backbone, named_task("gennas-search-n").channels, BATCH.inputs[:2])
    assert [head[0].num_features for head in model.heads] == [16, 32, 64], "taps of C=16: C, 2C, 4C"
    assert [head[1].out_channels for head in model.heads] == [64, 48, 16]
    assert [tuple(o.shape) for o in model(BATCH.inputs)] == [(16, 64, 8, 8), (16, 48, 8, 8),
                                                             (16, 16, 8, 8)]
    scorer = GenNASScorer("gennas-search-n", named_task("gennas-search-n"))
    ctx = make_ctx(scorer, arch, space=space, build_options={"N": 1}, iterations=2)
    assert math.isfinite(scorer.score(ctx))
