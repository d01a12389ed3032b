"""The GenNAS training loop (docs/gennas.md): a few SGD steps regressing the fixed targets.

Per iteration (in ``train()`` mode): a fresh noise draw on the input batch, weighted per-level
MSE, one SGD step. Every ``eval_interval`` iterations (and after the last one) the loss is measured
in ``eval()`` mode, without gradients, on another fresh noise draw, with the evaluation weights.

Speed (docs/performance.md): the loop never waits for the device. Noise is drawn on the trial's
device from the trial's generator, the batch and targets already live there, and losses stay
device tensors until the loop ends, when they are read in one transfer. On a CPU, where there is
no device to wait for, the time goes to the network's own kernels: the loop swaps in a faster,
bit-identical 3x3 average pool (``kernels.use_fast_kernels``), steps the optimizer with the
multi-tensor (``foreach``) SGD and evaluates under ``torch.inference_mode``; all three leave
every loss bit-identical. ``memory_format="channels_last"`` (the default since its Kendall tau
was checked on 1,000 NB-201 cells) runs the convolutions in NHWC order, which is faster again but
sums in another order, so the losses differ from ``contiguous`` in the last bits and the ranking
moves by a few thousandths (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parameter import is_lazy

from harness.plugins.scorers.gennas.kernels import use_fast_kernels
from harness.plugins.scorers.gennas.task import Noise


@dataclass(frozen=True)
class TrainSettings:
    """Optimizer and schedule; defaults are the reference code's (weight decay 4e-5; paper 1e-5)."""

    iterations: int = 100
    eval_interval: int = 10
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 4e-5
    # "channels_last" runs every convolution in NHWC: faster on CPUs (1.3x a trial), but its
    # kernels sum in another order than "contiguous", so losses differ in the last bits and
    # Kendall tau by a few thousandths (docs/performance.md).
    memory_format: str = "channels_last"


@dataclass(frozen=True)
class TrainResult:
    """Evaluation losses in order (iterations in ``eval_iterations``) and the last training loss."""

    eval_losses: list[float]
    eval_iterations: list[int]
    last_train_loss: float


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay only on parameters named ``*weight*`` with >= 2 dims (kernels): not on BN
    affine parameters or biases."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (decay if "weight" in name and parameter.ndim >= 2 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def to_channels_last(model: nn.Module) -> None:
    """Store ``model``'s 4-d weights in channels-last order (as ``Module.to(memory_format=)``
    does, but leaving a lazy module's uninitialized parameters alone)."""
    for parameter in model.parameters():
        if not is_lazy(parameter) and parameter.ndim == 4:
            parameter.data = parameter.data.contiguous(memory_format=torch.channels_last)


def add_noise(inputs: torch.Tensor, noise: Noise, generator: torch.Generator) -> torch.Tensor:
    """``inputs`` plus a fresh U(-l, l) or N(0, 1) * l draw; ``inputs`` itself when l = 0."""
    if noise.noise_level == 0:
        return inputs
    if noise.type == "uniform":
        draw = torch.rand(inputs.shape, generator=generator, device=inputs.device,
                          dtype=inputs.dtype)
        return inputs + (draw * 2 - 1) * noise.noise_level
    draw = torch.randn(inputs.shape, generator=generator, device=inputs.device,
                       dtype=inputs.dtype)
    return inputs + draw * noise.noise_level


def weighted_mse(outputs: list[torch.Tensor], targets: list[torch.Tensor],
                 weights: tuple[float, ...]) -> torch.Tensor:
    """sum_l w_l * MSE(out_l, t_l), mean over elements; levels with w_l = 0 are skipped."""
    terms = [weight * F.mse_loss(output, target)
             for output, target, weight in zip(outputs, targets, weights, strict=True)
             if weight != 0]
    return torch.stack(terms).sum()


def train(model: nn.Module, inputs: torch.Tensor, targets: list[torch.Tensor], noise: Noise,
          settings: TrainSettings, train_weights: tuple[float, ...],
          eval_weights: tuple[float, ...], generator: torch.Generator) -> TrainResult:
    """Train ``model`` (returning one output per target) and record its evaluation losses.

    ``model``'s slow pooling modules are replaced in place by bit-identical fast ones first."""
    use_fast_kernels(model)
    if settings.memory_format == "channels_last":
        to_channels_last(model)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(parameter_groups(model, settings.weight_decay), lr=settings.lr,
                                momentum=settings.momentum, foreach=True)
    eval_losses: list[torch.Tensor] = []
    eval_iterations: list[int] = []
    train_loss = torch.zeros((), device=inputs.device)
    # Modes are set only where they change: ``Module.train()`` walks every module (1,157 in
    # NB-201's GenNAS network), ~6 % of a light cell's iteration when done every iteration.
    model.train()
    for iteration in range(1, settings.iterations + 1):
        outputs = model(add_noise(inputs, noise, generator))
        train_loss = weighted_mse(outputs, targets, train_weights)
        optimizer.zero_grad(set_to_none=True)
        train_loss.backward()
        optimizer.step()
        if iteration % settings.eval_interval == 0 or iteration == settings.iterations:
            model.eval()
            with torch.inference_mode():
                outputs = model(add_noise(inputs, noise, generator))
                eval_losses.append(weighted_mse(outputs, targets, eval_weights))
            eval_iterations.append(iteration)
            model.train()
    losses = torch.stack([*eval_losses, train_loss.detach()]).tolist()  # the one host sync
    return TrainResult(eval_losses=losses[:-1], eval_iterations=eval_iterations,
                       last_train_loss=losses[-1])
