"""The token datasets ``wikitext2`` and ``ptb``: what the zero-cost scorers read on NB-NLP.

NAS-Bench-NLP trained its cells on Penn Treebank (vocabulary 10,000) and WikiText-2 (33,278
words, the AWD-LSTM corpus with ``<eos>``); the models' decoders have that many outputs. The
zero-cost code of the GenNAS appendix for NB-NLP is not public and the corpora are not part of
the benchmark's release, so the batch here is **synthetic**: ``batch_size`` sequences of
``SEQUENCE_LENGTH`` token ids drawn uniformly from the vocabulary with the run's seed, and as
labels the next token of each position (a language-model batch of the right shape and
vocabulary, not real text). ``num_classes`` is the vocabulary size, so ``params`` on a model
built for the dataset counts what the benchmark logged as ``num_params``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DatasetError
from harness.protocols import Batch

SEQUENCE_LENGTH = 35


@dataclass(frozen=True)
class TokenDataset:
    """Uniform random next-token batches over one benchmark corpus' vocabulary."""

    name: str
    num_classes: int
    input_shape: tuple[int, int, int] = (1, 1, SEQUENCE_LENGTH)

    def batch(self, batch_size: int, seed: int, *, data_dir: Path, **options: Any) -> Batch:
        """(B, L) token ids and (B, L) next-token labels; image options (split, augment,
        normalization) do not apply to tokens and are ignored."""
        import torch

        if batch_size < 1:
            raise DatasetError(f"dataset {self.name}: batch size must be >= 1, got {batch_size}")
        generator = torch.Generator().manual_seed(seed)
        tokens = torch.randint(0, self.num_classes, (batch_size, SEQUENCE_LENGTH + 1),
                               generator=generator)
        return Batch(tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous())


WIKITEXT2 = TokenDataset("wikitext2", 33278)
PTB = TokenDataset("ptb", 10000)
