"""The token datasets ``wikitext2`` and ``ptb``: what the zero-cost scorers read on NB-NLP.

NAS-Bench-NLP trained its cells on Penn Treebank (vocabulary 10,000) and WikiText-2 (33,278
words, the AWD-LSTM corpus with ``<eos>``); the models' decoders have that many outputs. A batch
is real text: ``batch_size`` windows of ``SEQUENCE_LENGTH`` + 1 consecutive words, at offsets
drawn with the run's seed, as token ids; the labels are each position's next word. The words
come from ``DATA_DIR/<dataset>/valid.txt`` when it is there (the WikiText-2 validation split
in its usual tokenized form, one paragraph a line; the training split the benchmark used is not
public here), else from ``data/wikitext2_sample.txt``, a 6,000-word excerpt of that split
shipped with the package (CC BY-SA 3.0, ``data/DATA_NOTICE.md``). ``ptb`` reads WikiText-2
text too unless ``DATA_DIR/ptb/valid.txt`` is given: the Penn Treebank is not redistributable.

Token ids are given in order of first appearance (as AWD-LSTM's corpus builds its dictionary)
with ``<eos>`` ending each line, modulo the vocabulary size: a vocabulary built from this text is
not the benchmark's, but an untrained model's embedding rows are random, so what the proxies see
of real text is its word frequencies and repetitions. ``num_classes`` is the vocabulary size, so
``params`` on a model built for the dataset counts what the benchmark logged as ``num_params``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import DatasetError
from harness.protocols import Batch

SEQUENCE_LENGTH = 35
SAMPLE = Path(__file__).resolve().parent / "data" / "wikitext2_sample.txt"
CORPUS_FILE = "valid.txt"


@cache
def _word_ids(path: Path) -> tuple[int, ...]:
    """The file's words as ids in order of first appearance, ``<eos>`` after each line."""
    ids: dict[str, int] = {}
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            words += [ids.setdefault(word, len(ids)) for word in [*line.split(), "<eos>"]]
    return tuple(words)


@dataclass(frozen=True)
class TokenDataset:
    """Next-token batches of real text over one benchmark corpus' vocabulary."""

    name: str
    num_classes: int
    input_shape: tuple[int, int, int] = (1, 1, SEQUENCE_LENGTH)

    def corpus(self, data_dir: Path | None) -> Path:
        """The text a batch is cut from: the data dir's split, else the bundled excerpt."""
        given = Path(data_dir) / self.name / CORPUS_FILE if data_dir is not None else None
        return given if given is not None and given.is_file() else SAMPLE

    def batch(self, batch_size: int, seed: int, *, data_dir: Path | None,
              **options: Any) -> Batch:
        """(B, L) token ids and (B, L) next-token labels; image options (split, augment,
        normalization) do not apply to tokens and are ignored."""
        import torch

        if batch_size < 1:
            raise DatasetError(f"dataset {self.name}: batch size must be >= 1, got {batch_size}")
        words = torch.tensor(_word_ids(self.corpus(data_dir)), dtype=torch.long)
        generator = torch.Generator().manual_seed(seed)
        starts = torch.randint(0, len(words) - SEQUENCE_LENGTH - 1, (batch_size,),
                               generator=generator)
        windows = torch.stack([words[start:start + SEQUENCE_LENGTH + 1] for start in starts])
        tokens = windows % self.num_classes
        return Batch(tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous())


WIKITEXT2 = TokenDataset("wikitext2", 33278)
PTB = TokenDataset("ptb", 10000)
