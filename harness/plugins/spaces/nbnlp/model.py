"""The NAS-Bench-NLP language model: an AWD-LSTM-style stack of recipe cells.

As trained by the benchmark (Klyuchnikov et al. 2020, after Merity et al., "Regularizing and
Optimizing LSTM Language Models", ICLR 2018; docs/nbnlp.md):

- embedding (vocab x emsize) -> ``nlayers`` recurrent layers -> linear decoder whose weight is
  the embedding's when ``tied``; layer input sizes emsize, nhid, nhid..., hidden sizes nhid
  except the last layer's, which is emsize when tied (so the decoder can share the weight);
- each layer unrolls the recipe cell over time from a zero hidden tuple. A ``linear`` node is
  Σ_i W_i·input_i plus one bias, W_i of shape (hidden, input dim for ``x`` else hidden); here one
  ``nn.Linear`` per input, the first carrying the node's bias, so parameter counts are the
  benchmark's and layer-wise proxies see the cell's weights;
- initialization: embedding and decoder weight U(-0.1, 0.1), decoder bias 0; every cell
  parameter U(-1/√hidden, 1/√hidden);
- training mode: embedding dropout ``dropoute`` (whole words), locked dropout (one mask per
  sequence and feature, shared over time) ``dropouti`` on the embeddings, ``dropouth`` between
  layers and ``dropout`` on the output, and weight-drop ``wdrop`` (DropConnect, one mask per
  forward) on the recurrent weights: the ``W_i`` of every linear node whose input is not ``x``.

``forward`` takes batch-first token ids (B, L) and returns logits (B, L, vocab).
``forward_sequence`` runs only the recurrent stack on time-major features (L, B, emsize), with
locked dropout between layers and on the output but none on the input (GenNAS-RNN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from harness.plugins.spaces.nbnlp.recipe import INPUT, Node, Recipe


@dataclass(frozen=True)
class ModelSizes:
    """The AWD hyper-parameters every benchmark log records (its values are the defaults)."""

    emsize: int = 400
    nhid: int = 600
    nlayers: int = 3
    tied: bool = True
    dropout: float = 0.1
    dropouth: float = 0.25
    dropouti: float = 0.4
    dropoute: float = 0.0
    wdrop: float = 0.1

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(input size, hidden size) per layer."""
        sizes = []
        for layer in range(self.nlayers):
            last = layer == self.nlayers - 1
            hidden = self.emsize if last and self.tied else self.nhid
            sizes.append((self.emsize if layer == 0 else self.nhid, hidden))
        return sizes


_ACTIVATIONS = {"activation_tanh": torch.tanh, "activation_sigm": torch.sigmoid,
                "activation_leaky_relu": F.leaky_relu}


def locked_dropout(values: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """One Bernoulli mask per (batch, feature) shared over time (dim 0), scaled by 1/(1-p)."""
    if not training or p == 0:
        return values
    mask = values.new_empty(1, *values.shape[1:]).bernoulli_(1 - p) / (1 - p)
    return values * mask


class RecipeLayer(nn.Module):
    """One recurrent layer: the recipe cell unrolled over time."""

    def __init__(self, recipe: Recipe, input_size: int, hidden_size: int, wdrop: float) -> None:
        super().__init__()
        self.recipe = recipe
        self.hidden_size = hidden_size
        self.wdrop = wdrop
        self.linears = nn.ModuleDict({
            node.name: nn.ModuleList(
                nn.Linear(input_size if source == INPUT else hidden_size, hidden_size,
                          bias=index == 0)
                for index, source in enumerate(node.inputs))
            for node in recipe.linear_nodes})
        bound = 1 / math.sqrt(hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def _step_weights(self) -> dict[str, list[torch.Tensor]]:
        """Each linear node's input weights for this forward; recurrent ones weight-dropped."""
        weights = {}
        for node in self.recipe.linear_nodes:
            weights[node.name] = [
                F.dropout(linear.weight, self.wdrop, self.training) if source != INPUT
                else linear.weight
                for source, linear in zip(node.inputs, self.linears[node.name], strict=True)]
        return weights

    def _node_value(self, node: Node, values: dict[str, torch.Tensor],
                    weights: dict[str, list[torch.Tensor]]) -> torch.Tensor:
        inputs = [values[source] for source in node.inputs]
        if node.op == "linear":
            linears = self.linears[node.name]
            return sum(F.linear(value, weight, linear.bias) for value, weight, linear
                       in zip(inputs, weights[node.name], linears, strict=True))
        if node.op == "elementwise_sum":
            return torch.stack(inputs).sum(0)
        if node.op == "elementwise_prod":
            return torch.stack(inputs).prod(0)
        if node.op == "blend":
            gate, first, second = inputs
            return gate * first + (1 - gate) * second
        return _ACTIVATIONS[node.op](inputs[0])

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        """(L, B, input) -> (L, B, hidden), from a zero hidden tuple."""
        batch = sequence.shape[1]
        hidden = [sequence.new_zeros(batch, self.hidden_size)
                  for _ in range(self.recipe.hidden_count)]
        weights = self._step_weights()
        outputs = []
        for step_input in sequence:
            values = {INPUT: step_input,
                      **{f"h_prev_{k}": state for k, state in enumerate(hidden)}}
            for node in self.recipe.nodes:
                values[node.name] = self._node_value(node, values, weights)
            hidden = [values[f"h_new_{k}"] for k in range(self.recipe.hidden_count)]
            outputs.append(hidden[0])
        return torch.stack(outputs)


class NBNLPModel(nn.Module):
    """The benchmark's language model (module docstring)."""

    def __init__(self, recipe: Recipe, vocab_size: int, sizes: ModelSizes | None = None) -> None:
        super().__init__()
        self.sizes = sizes = sizes or ModelSizes()
        self.encoder = nn.Embedding(vocab_size, sizes.emsize)
        self.rnns = nn.ModuleList(RecipeLayer(recipe, inputs, hidden, sizes.wdrop)
                                  for inputs, hidden in sizes.layer_sizes())
        self.decoder = nn.Linear(sizes.layer_sizes()[-1][1], vocab_size)
        if sizes.tied:
            if sizes.emsize != self.decoder.in_features:
                raise ValueError("tied weights need the last hidden size to equal emsize")
            self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if not sizes.tied:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    @property
    def output_size(self) -> int:
        """The width of the last recurrent layer's output."""
        return self.decoder.in_features

    def forward_sequence(self, features: torch.Tensor) -> torch.Tensor:
        """Recurrent stack on (L, B, emsize) -> (L, B, output_size), dropouts as in training."""
        for index, rnn in enumerate(self.rnns):
            last = index == len(self.rnns) - 1
            features = locked_dropout(rnn(features),
                                      self.sizes.dropout if last else self.sizes.dropouth,
                                      self.training)
        return features

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        weight = self.encoder.weight
        if self.training and self.sizes.dropoute > 0:
            keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - self.sizes.dropoute)
            weight = weight * keep / (1 - self.sizes.dropoute)
        return F.embedding(tokens, weight)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Batch-first token ids (B, L) -> logits (B, L, vocab)."""
        features = locked_dropout(self._embed(tokens.t()), self.sizes.dropouti, self.training)
        return self.decoder(self.forward_sequence(features)).transpose(0, 1)
