"""Zero-cost proxies on NAS-Bench-NLP language models through ``ExampleLossSpace``: the space's
next-token loss and all-ones token input are used, undefined proxies are skipped with reasons."""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import ScorerSkipped
from harness.plugins.scorers.epe_nas import EpeNas
from harness.plugins.scorers.fisher import Fisher
from harness.plugins.scorers.grad_norm import GradNorm
from harness.plugins.scorers.grasp import Grasp
from harness.plugins.scorers.jacob_cov import JacobCov
from harness.plugins.scorers.model_size import Flops
from harness.plugins.scorers.naswot import Naswot, NaswotV1
from harness.plugins.scorers.snip import Snip
from harness.plugins.scorers.synflow import Synflow
from harness.plugins.spaces.nbnlp.space import NBNLPSpace
from harness.plugins.spaces.nbnlp.tokens import TokenDataset
from harness.protocols import ExampleLossSpace, ScoringContext

VOCAB = 40
SMALL = {"emsize": 6, "nhid": 10, "dropout": 0.0, "dropouth": 0.0, "dropouti": 0.0,
         "wdrop": 0.0}
RECIPE = {"a": {"op": "linear", "input": ["x", "h_prev_0"]},
          "b": {"op": "activation_sigm", "input": ["a"]},
          "h_new_1": {"op": "elementwise_sum", "input": ["b", "h_prev_1"]},
          "h_new_0": {"op": "blend", "input": ["b", "h_new_1", "h_prev_0"]}}


def nlp_context(config=None, sizes=SMALL):
    space = NBNLPSpace()
    arch_id = space.parse_arch(json.dumps(RECIPE))
    batch = TokenDataset("tiny", VOCAB).batch(4, seed=3, data_dir=None)

    def build_model(**options):
        torch.manual_seed(0)
        options.setdefault("num_classes", VOCAB)
        return space.build_model(arch_id, **{**sizes, **options}).train()

    return ScoringContext(space=space, arch_id=arch_id, dataset="tiny", num_classes=VOCAB,
                          input_shape=(1, 1, 35), batch=batch, config={"split_data": 1,
                                                                      **(config or {})},
                          device=torch.device("cpu"), trial_seed=0,
                          generator=torch.Generator().manual_seed(0), build_model=build_model)


def linear_grads(ctx):
    """Independent: next-token cross-entropy written out, gradients by autograd.grad."""
    model = ctx.build_model()
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    logits = model(ctx.batch.inputs)
    loss = F.cross_entropy(logits.reshape(-1, VOCAB), ctx.batch.labels.reshape(-1))
    return layers, torch.autograd.grad(loss, [layer.weight for layer in layers],
                                       allow_unused=True)


def test_space_supplies_loss_and_token_input():
    ctx = nlp_context()
    assert isinstance(ctx.space, ExampleLossSpace)
    assert ctx.batch.inputs.dtype == torch.long and ctx.batch.inputs.shape == (4, 35)
    assert torch.equal(ctx.batch.inputs[:, 1:], ctx.batch.labels[:, :-1]), "next-token labels"


def test_grad_norm_and_snip_use_the_next_token_loss():
    ctx = nlp_context()
    layers, grads = linear_grads(ctx)
    assert len(layers) == 3 * 2 + 1, "two input weights per layer's linear node + decoder"
    expected_norm = sum(float(g.double().norm()) for g in grads if g is not None)
    expected_snip = sum(float((layer.weight.detach() * g).abs().double().sum())
                        for layer, g in zip(layers, grads, strict=True) if g is not None)
    assert GradNorm().score(ctx) == pytest.approx(expected_norm, rel=1e-6)
    assert Snip().score(ctx) == pytest.approx(expected_snip, rel=1e-6)


def test_undefined_proxies_are_skipped_with_the_reason():
    ctx = nlp_context()
    with pytest.raises(ScorerSkipped, match="recurrent cells"):
        Fisher().score(ctx)
    with pytest.raises(ScorerSkipped, match="token ids"):
        JacobCov().score(ctx)


@pytest.mark.parametrize(("scorer", "reason"), [
    (Naswot(), "nn.ReLU"), (NaswotV1(), "token ids"), (EpeNas(), "token ids"),
    (Flops(), "token sequences")])
def test_image_input_proxies_are_skipped_not_errors(scorer, reason):
    """These read float images (input gradients, ReLU codes, an image-shaped forward): on a
    language model they would raise a dtype or shape error, so the space declares them
    undefined and each trial is ``skipped`` with its reason."""
    ctx = nlp_context()
    assert scorer.name in ctx.space.undefined_proxies
    with pytest.raises(ScorerSkipped, match=reason):
        scorer.score(ctx)


def test_synflow_and_grasp_are_finite_and_deterministic():
    ctx = nlp_context(sizes={**SMALL, "dropouth": 0.25, "wdrop": 0.5})
    flow = Synflow().score(ctx)
    assert flow > 0 and flow == Synflow().score(ctx)
    grasp = Grasp().score(ctx)
    assert torch.isfinite(torch.tensor(grasp)) and grasp == Grasp().score(ctx)
    assert GradNorm().score(nlp_context({"split_data": 2})) > 0, "chunks split the batch"
