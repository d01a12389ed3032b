"""GenNAS for recurrent cells (Li et al., NeurIPS 2021, appendix; github.com/leeyeehoo/GenNAS;
docs/gennas.md): ``gennas-rnn-search``, ``gennas-rnn-combo``, ``gennas-rnn-single``.

The space's recurrent stack (``harness.protocols.SequenceSpace``; NAS-Bench-NLP's three recipe
layers, built with vocabulary 1 since the embedding and its decoder are unused) is wrapped as

    encoder Linear(D -> input width, weight U(-0.1, 0.1)) -> stack (locked dropout between
    layers and on the output, weight-drop in training) -> decoder Linear(output width -> D,
    weight U(-0.1, 0.1), bias 0)

and trained from a zero hidden state at every call to map the task's (noisy) input sequence to
its target sequence: Adam (lr 1e-3 as the paper; the reference CLI default was 0.1, weight decay
1.2e-6 as the benchmark's logs, all parameters in one group), ``iterations`` steps in
``train()`` mode, MSE over all elements. Every ``eval_interval`` steps the loss is measured in
``eval()`` mode without gradients on a fresh noise draw. score = -(last evaluation loss);
a non-finite loss passes through (the worker, ``harness.trial``, records nan / inf; the reference
used 1000 + U).

The sequences depend on the run seed (or the ``task_seed`` option), so every arch of a run
regresses the same task; the model, dropout masks and noise depend on the trial seed.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.gennas.rnn_task import RNNTask, parse_rnn_task, task_sequences
from harness.plugins.scorers.gennas.train import add_noise
from harness.protocols import OptionRanges, ScoringContext, SequenceSpace

RNN_TASK_NAMES = ("gennas-rnn-search", "gennas-rnn-combo", "gennas-rnn-single")
RNN_DEFAULTS: dict[str, Any] = {
    "batch_size": 16,  # the reference CLI's, overriding each config's batchsize
    "length": 8,
    "iterations": 100,
    "eval_interval": 10,
    "lr": 1e-3,
    "weight_decay": 1.2e-6,
    "task_seed": None,  # None: the run seed
}
RNN_RANGES: OptionRanges = {"length": (1, None), "iterations": (1, None),
                            "eval_interval": (1, None), "lr": (0, None), "weight_decay": (0, None)}


def named_rnn_task(name: str) -> RNNTask:
    """The shipped task ``name`` (one of ``RNN_TASK_NAMES``)."""
    text = files(__package__).joinpath("tasks", f"{name}.json").read_text()
    return parse_rnn_task(json.loads(text))


class SequenceWrapper(nn.Module):
    """encoder -> the space's recurrent stack -> decoder, time-major (L, B, D) in and out."""

    def __init__(self, space: SequenceSpace, backbone: nn.Module, dimension: int) -> None:
        super().__init__()
        self.space = space
        self.backbone = backbone
        width_in, width_out = space.sequence_sizes(backbone)
        self.encoder = nn.Linear(dimension, width_in)
        self.decoder = nn.Linear(width_out, dimension)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.space.forward_sequence(self.backbone, self.encoder(sequence)))


def train_sequences(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                    task: RNNTask, config: dict[str, Any],
                    generator: torch.Generator) -> list[float]:
    """Adam on the MSE; the evaluation losses in order."""
    optimizer = torch.optim.Adam(model.parameters(), lr=float(config["lr"]),
                                 weight_decay=float(config["weight_decay"]))
    iterations, interval = int(config["iterations"]), int(config["eval_interval"])
    eval_losses = []
    for iteration in range(1, iterations + 1):
        model.train()
        loss = F.mse_loss(model(add_noise(inputs, task.noise, generator)), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if iteration % interval == 0 or iteration == iterations:
            model.eval()
            with torch.no_grad():
                eval_losses.append(F.mse_loss(model(add_noise(inputs, task.noise, generator)),
                                              targets))
    return torch.stack(eval_losses).tolist()


class GenNASRNNScorer:
    """GenNAS-RNN with one named task (module docstring)."""

    needs_inputs = False
    option_ranges: ClassVar[OptionRanges] = RNN_RANGES

    def __init__(self, name: str, task: RNNTask) -> None:
        self.name = name
        self.task = task
        self.defaults = {**RNN_DEFAULTS, "task": name, "task_hash": task.hash}

    def score(self, ctx: ScoringContext) -> float:
        if not isinstance(ctx.space, SequenceSpace):
            raise ScorerSkipped(f"space {ctx.space.name!r} has no recurrent stack to run on "
                                f"sequences (harness.protocols.SequenceSpace), which "
                                f"{self.name} needs")
        if ctx.config.get("task_hash") != self.task.hash:
            raise ConfigError(f"{self.name}: task_hash {ctx.config.get('task_hash')!r} is not "
                              f"this task's ({self.task.hash})")
        seed = ctx.config.get("task_seed")
        seed = ctx.run_seed if seed is None else int(seed)
        if seed is None:
            raise ConfigError(f"{self.name} needs the run seed or a task_seed option")
        inputs, targets = task_sequences(self.task, int(ctx.config["batch_size"]),
                                         int(ctx.config["length"]), seed)
        model = SequenceWrapper(ctx.space, ctx.build_model(num_classes=1),
                                self.task.dimension).to(ctx.device)
        generator = torch.Generator(device=ctx.device).manual_seed(ctx.trial_seed)
        losses = train_sequences(model, inputs.to(ctx.device), targets.to(ctx.device),
                                 self.task, ctx.config, generator)
        return -losses[-1]
