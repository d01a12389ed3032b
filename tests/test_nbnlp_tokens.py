"""The NB-NLP token datasets cut real text: windows of consecutive words of the data dir's
corpus, else of the bundled WikiText-2 excerpt, with the next word as label."""

import torch

from harness.plugins.spaces.nbnlp.tokens import PTB, SAMPLE, SEQUENCE_LENGTH, WIKITEXT2


def test_a_batch_is_consecutive_words_of_the_bundled_excerpt(tmp_path):
    batch = WIKITEXT2.batch(8, seed=1, data_dir=tmp_path)
    assert batch.inputs.shape == batch.labels.shape == (8, SEQUENCE_LENGTH)
    assert torch.equal(batch.inputs[:, 1:], batch.labels[:, :-1]), "labels: the next word"
    assert WIKITEXT2.corpus(tmp_path) == SAMPLE and SAMPLE.stat().st_size < 64_000
    counts = torch.bincount(batch.inputs.flatten())
    assert counts.max() >= 8, "real text repeats its frequent words (',', 'the'); " \
        "8 x 35 uniform draws from 33,278 ids would almost never"
    assert torch.equal(batch.inputs, WIKITEXT2.batch(8, seed=1, data_dir=tmp_path).inputs)
    assert not torch.equal(batch.inputs, WIKITEXT2.batch(8, seed=2, data_dir=tmp_path).inputs)


def test_the_data_dirs_corpus_is_read_when_there(tmp_path):
    folder = tmp_path / "ptb"
    folder.mkdir()
    (folder / "valid.txt").write_text(" a b a\n\n c a b\n" * 30)
    batch = PTB.batch(4, seed=0, data_dir=tmp_path)
    assert set(batch.inputs.flatten().tolist()) <= {0, 1, 2, 3}, "a=0 b=1 <eos>=2 c=3"
    assert (batch.inputs < PTB.num_classes).all()
