"""What the zero-cost scorers share: layer discovery, model copies, the loss on the batch.

Abdelfattah et al. ("Zero-Cost Proxies for Lightweight NAS", ICLR 2021; official code
github.com/SamsungLabs/zero-cost-nas) compute every measure on a fresh copy of the network, from the
**weights** of its ``nn.Conv2d`` and ``nn.Linear`` modules (in module-traversal order; biases
and BatchNorm parameters never count), with a cross-entropy loss on one batch that may be
split into ``split_data`` contiguous chunks whose gradients accumulate (docs/zero-cost.md).
These helpers implement exactly that, once. A space whose models are not image classifiers
(NAS-Bench-NLP's language models) supplies its own loss and synflow input and names the proxies
that are undefined for it (``harness.protocols.ExampleLossSpace``); the scorers use them through
``loss_function``, ``skip_if_undefined`` and ``synflow.ones_input`` without knowing the model.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import ConfigError, ScorerSkipped
from harness.protocols import Batch, ExampleLossSpace, OptionRanges, ScoringContext

WEIGHT_LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)

# The inputs of the zero-cost reference code: a training batch with random crop and
# horizontal flip, normalized with the zero-cost constants. Option names: Dataset.batch.
ZEROCOST_INPUTS: dict[str, Any] = {"split": "train", "augment": True, "normalization": "zerocost"}


# Bounds checked before a run starts (``harness.options.RangedScorer``); ``batch_size >= 1``
# holds for every scorer.
ZEROCOST_RANGES: OptionRanges = {"split_data": (1, None)}


def zerocost_defaults(**extra: Any) -> dict[str, Any]:
    """Defaults shared by the zero-cost family (as in the reference code): batch 64 (the NB-201
    value), one unsplit batch, reference inputs, and the ``zerocost`` network form, which each
    space maps to the reference's builder (docs/protocol.md, "Networks")."""
    return {"batch_size": 64, "inputs": dict(ZEROCOST_INPUTS), "split_data": 1,
            "network": "zerocost", **extra}


def fresh_model(ctx: ScoringContext, **options: Any) -> nn.Module:
    """A new copy of the trial's network (same weights every call), in train mode."""
    model = ctx.build_model(**options)
    model.train()
    return model


def _identity(inputs: torch.Tensor) -> torch.Tensor:
    return inputs


def batchnorm_free_model(ctx: ScoringContext) -> nn.Module:
    """A fresh copy without BatchNorm, as synflow's ``bn = false`` copy in the reference.

    When the space's builder takes ``batchnorm`` it builds its own BN-free variant (NB-201
    keeps BN in its reduction blocks there, as the reference does); otherwise every BatchNorm
    module's forward is replaced by the identity.
    """
    if "batchnorm" in inspect.signature(ctx.space.build_model).parameters:
        return fresh_model(ctx, batchnorm=False)
    model = fresh_model(ctx)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.forward = _identity
    return model


def skip_if_undefined(ctx: ScoringContext, scorer: str) -> None:
    """``ScorerSkipped`` with the space's reason where it declares ``scorer`` undefined for its
    models (``ExampleLossSpace.undefined_proxies``)."""
    if isinstance(ctx.space, ExampleLossSpace):
        reason = ctx.space.undefined_proxies.get(scorer)
        if reason:
            raise ScorerSkipped(reason)


def weight_layers(model: nn.Module, scorer: str) -> list[nn.Module]:
    """Every Conv2d / Linear module in traversal order; ``ScorerSkipped`` when there is none."""
    layers = [module for module in model.modules() if isinstance(module, WEIGHT_LAYER_TYPES)]
    if not layers:
        raise ScorerSkipped(f"{scorer} needs nn.Conv2d or nn.Linear layers; this model has none")
    return layers


def weight_grad(layer: nn.Module) -> torch.Tensor:
    """The layer weight's gradient, zeros when the weight took no part in the loss."""
    grad = layer.weight.grad
    return torch.zeros_like(layer.weight) if grad is None else grad


def total(per_layer: Iterable[torch.Tensor]) -> float:
    """Σ_layers Σ_elements, accumulated in float64 (the reference's plain sum)."""
    sums = [tensor.detach().double().sum() for tensor in per_layer]
    return float(torch.stack(sums).sum()) if sums else 0.0


def logits_of(output: Any) -> torch.Tensor:
    """The logits of a forward pass; builders such as NB-201's TinyNetwork return a tuple."""
    return output[0] if isinstance(output, tuple | list) else output


def batch_on_device(ctx: ScoringContext, model: nn.Module) -> Batch:
    """The trial's batch on the model's device, inputs in the model's floating dtype."""
    if ctx.batch is None:
        raise ConfigError(f"scorer needs an input batch, but none was given for {ctx.arch_id}")
    parameter = next(model.parameters(), None)
    dtype = ctx.batch.inputs.dtype
    if parameter is not None and dtype.is_floating_point:  # token ids stay integers
        dtype = parameter.dtype
    return Batch(ctx.batch.inputs.to(ctx.device, dtype), ctx.batch.labels.to(ctx.device))


def split_data(batch: Batch, parts: int) -> list[Batch]:
    """``parts`` equal contiguous chunks of the batch (the reference's ``split_data``)."""
    count = len(batch.labels)
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1 or count % parts:
        raise ConfigError(f"split_data must be a positive divisor of the batch size {count}, "
                          f"got {parts!r}")
    size = count // parts
    return [Batch(batch.inputs[start:start + size], batch.labels[start:start + size])
            for start in range(0, count, size)]


def chunk_loss(model: nn.Module, chunk: Batch) -> torch.Tensor:
    """Cross-entropy (mean over the chunk) of the model's logits against the true labels."""
    return F.cross_entropy(logits_of(model(chunk.inputs)), chunk.labels)


def loss_function(ctx: ScoringContext) -> Callable[[nn.Module, Batch], torch.Tensor]:
    """The loss of one chunk: the space's own (``ExampleLossSpace.example_loss``) where it
    supplies one, else ``chunk_loss``."""
    return ctx.space.example_loss if isinstance(ctx.space, ExampleLossSpace) else chunk_loss


def accumulate_loss_gradients(model: nn.Module, ctx: ScoringContext) -> None:
    """Forward and backward every chunk; weight gradients accumulate in ``.grad``.

    Each chunk's loss is its own mean, so with ``split_data = ds`` the gradients are the sum of
    ds chunk-mean gradients, as in the reference.
    """
    batch = batch_on_device(ctx, model)
    loss = loss_function(ctx)
    for chunk in split_data(batch, ctx.config.get("split_data", 1)):
        loss(model, chunk).backward()


def layers_after_loss_backward(ctx: ScoringContext, scorer: str) -> list[nn.Module]:
    """A fresh model's Conv2d / Linear layers after the batch's cross-entropy was back-propagated:
    the shared first step of the gradient saliencies (snip, grad_norm, plain)."""
    skip_if_undefined(ctx, scorer)
    model = fresh_model(ctx)
    layers = weight_layers(model, scorer)
    accumulate_loss_gradients(model, ctx)
    return layers


def skip_unless_image_classifier(ctx: ScoringContext, scorer: str) -> None:
    """``ScorerSkipped`` in a space whose models are not image classifiers
    (``ExampleLossSpace``): scorers that feed Gaussian images or read logits per class."""
    if isinstance(ctx.space, ExampleLossSpace):
        raise ScorerSkipped(f"{scorer} scores image classifiers; the models of space "
                            f"{ctx.space.name!r} take other inputs")


def forward_with_hooks(model: nn.Module, inputs: torch.Tensor, modules: Iterable[nn.Module],
                       hook: Callable[..., Any], *, pre: bool = False) -> None:
    """One forward pass of ``model`` on ``inputs`` without gradients, with ``hook`` on each of
    ``modules`` (a forward hook; a forward pre-hook with ``pre``), removed however it ends."""
    handles = [module.register_forward_pre_hook(hook) if pre else module.register_forward_hook(hook)
               for module in modules]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()


def relu_map_activations(model: nn.Module, inputs: torch.Tensor, scorer: str) -> torch.Tensor:
    """(N, units): the outputs of every ``nn.ReLU`` call on a 4-D feature map, concatenated per
    input (SWAP's and TE-NAS's activation patterns); ``ScorerSkipped`` naming ``scorer`` when the
    model runs none."""
    outputs: list[torch.Tensor] = []

    def record(_module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if args and args[0].dim() == 4:
            outputs.append(output.detach().reshape(len(inputs), -1))

    forward_with_hooks(model, inputs, (m for m in model.modules() if isinstance(m, nn.ReLU)),
                       record)
    if not outputs:
        raise ScorerSkipped(f"{scorer} counts the patterns of nn.ReLU units on feature maps; "
                            f"this model runs none")
    return torch.cat(outputs, dim=1)
