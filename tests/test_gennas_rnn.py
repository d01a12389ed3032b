"""GenNAS for recurrent cells: the three named NLP tasks, the synthetic sequences, the wrapper
and the scorer's determinism under the trial seed."""

import json

import pytest
import torch

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.gennas.rnn_scorer import (
    RNN_DEFAULTS,
    RNN_TASK_NAMES,
    GenNASRNNScorer,
    SequenceWrapper,
    named_rnn_task,
)
from harness.plugins.scorers.gennas.rnn_task import parse_rnn_task, task_sequences
from harness.plugins.spaces.nbnlp.space import NBNLPSpace
from harness.protocols import ScoringContext

SMALL = {"emsize": 6, "nhid": 10}
RECIPE = {"a": {"op": "linear", "input": ["x", "h_prev_0"]},
          "h_new_0": {"op": "activation_tanh", "input": ["a"]}}


def test_named_tasks_are_the_papers_configurations():
    tasks = {name: named_rnn_task(name) for name in RNN_TASK_NAMES}
    search = tasks["gennas-rnn-search"]
    assert (search.dimension, search.noise.noise_level) == (48, 0.6)
    assert search.inputs.sin2d.level == pytest.approx(2.6) and search.inputs.dot is None
    assert search.targets.dot_gaussian.partial == pytest.approx(0.8625968590962992)
    assert tasks["gennas-rnn-combo"].dimension == 64
    assert tasks["gennas-rnn-single"].inputs.dot.partial == 1.0
    assert len({task.hash for task in tasks.values()}) == 3


def test_sequences_shapes_values_and_seed():
    single = named_rnn_task("gennas-rnn-single")
    inputs, targets = task_sequences(single, batch=5, length=8, seed=0)
    assert inputs.shape == targets.shape == (8, 5, 64)
    assert set(inputs.unique().tolist()) == {-1.0, 1.0}, "partial 1.0: a dot in every cell"
    combo_in, _ = task_sequences(named_rnn_task("gennas-rnn-combo"), 5, 8, seed=0)
    assert combo_in.abs().max() <= 2.0 + 1e-6, "two unit-level waves"
    assert not torch.equal(combo_in[:, 0], combo_in[:, 1]), "local: one map per sample"
    again, _ = task_sequences(named_rnn_task("gennas-rnn-combo"), 5, 8, seed=0)
    assert torch.equal(combo_in, again)
    half = parse_rnn_task({"noise": {"type": "uniform", "noise_level": 0.0}, "dimension": 10,
                           "feature": {"0": {"dot": {"level": 1.0, "partial": 0.5,
                                                     "local": True}}, "1": {}}})
    dots, zeros = task_sequences(half, 3, 8, seed=1)
    assert (dots[:, 0] != 0).sum() == int(0.5 * 8 * 10) and not zeros.any()


def test_bad_tasks_name_the_field():
    with pytest.raises(ConfigError, match="resize is not a sequence basis"):
        parse_rnn_task({"noise": {"type": "uniform", "noise_level": 0.0}, "dimension": 4,
                        "feature": {"0": {"resize": {"level": 1.0}}, "1": {}}})
    with pytest.raises(ConfigError, match="dimension"):
        parse_rnn_task({"noise": {"type": "uniform", "noise_level": 0.0}, "dimension": 0,
                        "feature": {"0": {}, "1": {}}})


def rnn_context(name, trial_seed=0, space=None, iterations=4):
    space = space or NBNLPSpace()
    arch_id = space.parse_arch(json.dumps(RECIPE)) if isinstance(space, NBNLPSpace) else "a"

    def build_model(**options):
        torch.manual_seed(trial_seed)
        return space.build_model(arch_id, **{**SMALL, **options}).train()

    scorer = GenNASRNNScorer(name, named_rnn_task(name))
    config = {**scorer.defaults, "iterations": iterations, "eval_interval": 2}
    ctx = ScoringContext(space=space, arch_id=arch_id, dataset="ptb", num_classes=1,
                         input_shape=(1, 1, 35), batch=None, config=config,
                         device=torch.device("cpu"), trial_seed=trial_seed,
                         generator=torch.Generator().manual_seed(trial_seed),
                         build_model=build_model, run_seed=0)
    return scorer, ctx


def test_scorer_is_deterministic_under_the_trial_seed():
    scorer, ctx = rnn_context("gennas-rnn-search")
    first = scorer.score(ctx)
    assert first < 0 and first == scorer.score(rnn_context("gennas-rnn-search")[1])
    assert first != scorer.score(rnn_context("gennas-rnn-search", trial_seed=1)[1])
    assert RNN_DEFAULTS["lr"] == 1e-3 and RNN_DEFAULTS["batch_size"] == 16


def test_wrapper_shapes_and_init():
    space = NBNLPSpace()
    arch_id = space.parse_arch(json.dumps(RECIPE))
    wrapper = SequenceWrapper(space, space.build_model(arch_id, num_classes=1, **SMALL), 48)
    assert wrapper(torch.zeros(8, 3, 48)).shape == (8, 3, 48)
    assert wrapper.encoder.weight.abs().max() <= 0.1 and not wrapper.decoder.bias.any()


def test_space_without_sequences_is_skipped():
    class Plain:
        name = "plain"

        def build_model(self, arch_id, **options):
            return torch.nn.Linear(2, 2)

    scorer, ctx = rnn_context("gennas-rnn-single", space=Plain())
    with pytest.raises(ScorerSkipped, match="SequenceSpace"):
        scorer.score(ctx)
