"""CIFAR-10/100 plugins on tiny folders written in the official python-pickle layout."""

import pickle

import numpy as np
import pytest
import torch
from datasets_files import (
    cifar10_train_rows,
    write_cifar10,
    write_cifar100,
    write_pickle,
    write_split_file,
)

from harness.errors import ConfigError, DatasetError
from harness.plugins.datasets.cifar import CIFAR10, CIFAR100


@pytest.fixture
def data_dir(tmp_path):
    write_cifar10(tmp_path)
    write_cifar100(tmp_path)
    return tmp_path


def unnormalized(batch_inputs: torch.Tensor) -> np.ndarray:
    """Pixels (N, H, W, 3) uint8 back from a batch drawn with normalization="none"."""
    return (batch_inputs * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("bytes_keys", [False, True])
def test_cifar10_rows_become_hwc_images_in_file_order(tmp_path, bytes_keys):
    write_cifar10(tmp_path, bytes_keys=bytes_keys)
    images, labels = CIFAR10.arrays(tmp_path, "train")
    data, expected_labels = cifar10_train_rows()
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
    # Official rows are channel-major: 1024 red, then 1024 green, then 1024 blue values.
    assert images[7, 3, 5, 0] == data[7, 0 * 1024 + 3 * 32 + 5]
    assert images[7, 3, 5, 2] == data[7, 2 * 1024 + 3 * 32 + 5]
    np.testing.assert_array_equal(images, data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(labels, expected_labels)
    test_images, test_labels = CIFAR10.arrays(tmp_path, "test")
    assert test_images.shape == (6, 32, 32, 3) and test_labels.tolist() == [9, 8, 7, 6, 5, 4]


def test_trainval_and_valid_follow_the_split_file(data_dir):
    write_split_file(data_dir / "cifar10" / "cifar-split.txt", [0, 5, 7, 11], [1, 2, 3])
    train, _ = CIFAR10.arrays(data_dir, "train")
    trainval, trainval_labels = CIFAR10.arrays(data_dir, "trainval")
    valid, _ = CIFAR10.arrays(data_dir, "valid")
    np.testing.assert_array_equal(trainval, train[[0, 5, 7, 11]])
    assert trainval_labels.tolist() == [0, 5, 7, 1]
    np.testing.assert_array_equal(valid, train[[1, 2, 3]])
    # CIFAR-100 "trainval" reuses the CIFAR-10 file, as the NASWOT reference does.
    c100_train, _ = CIFAR100.arrays(data_dir, "train")
    c100_trainval, _ = CIFAR100.arrays(data_dir, "trainval")
    np.testing.assert_array_equal(c100_trainval, c100_train[[0, 5, 7, 11]])


def test_split_file_option_and_bad_indices(data_dir, tmp_path):
    custom = write_split_file(tmp_path / "elsewhere.txt", [3], [4])
    images, _ = CIFAR10.arrays(data_dir, "trainval", split_file=custom)
    np.testing.assert_array_equal(images, CIFAR10.arrays(data_dir, "train")[0][[3]])
    too_far = write_split_file(tmp_path / "far.txt", [25000], [1])
    with pytest.raises(DatasetError, match="indexes up to 25000.*only 20 training images"):
        CIFAR10.arrays(data_dir, "trainval", split_file=too_far)


def test_missing_split_file_says_where_to_get_it(data_dir):
    with pytest.raises(DatasetError) as error:
        CIFAR10.batch(2, 0, data_dir=data_dir, split="trainval")
    message = str(error.value)
    assert str(data_dir / "cifar10" / "cifar-split.txt") in message
    assert "AutoDL-Projects" in message and "split_file=" in message


def test_same_seed_same_batch_and_labels_match_images(data_dir):
    first = CIFAR10.batch(8, seed=3, data_dir=data_dir, normalization="none")
    again = CIFAR10.batch(8, seed=3, data_dir=data_dir, normalization="none")
    other = CIFAR10.batch(8, seed=4, data_dir=data_dir, normalization="none")
    assert torch.equal(first.inputs, again.inputs) and torch.equal(first.labels, again.labels)
    assert not torch.equal(first.inputs, other.inputs), "another seed should draw other images"
    assert first.inputs.shape == (8, 3, 32, 32) and first.inputs.dtype == torch.float32
    assert first.labels.dtype == torch.int64
    images, labels = CIFAR10.arrays(data_dir, "train")
    drawn = np.random.default_rng(3).choice(20, size=8, replace=False)
    np.testing.assert_array_equal(unnormalized(first.inputs), images[drawn])
    assert first.labels.tolist() == labels[drawn].tolist()
    assert len(set(drawn.tolist())) == 8, "images are drawn without replacement"


def test_normalization_presets_apply_the_spec_constants(data_dir):
    raw = CIFAR10.batch(4, 0, data_dir=data_dir, normalization="none").inputs
    constants = {
        (CIFAR10, "default"): ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
        (CIFAR10, "zerocost"): ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
        (CIFAR10, "naswot"): ((125.3 / 255, 123.0 / 255, 113.9 / 255),
                              (63.0 / 255, 62.1 / 255, 66.7 / 255)),
        (CIFAR10, "gennas"): ((125.3 / 255, 123.0 / 255, 113.9 / 255),
                              (63.0 / 255, 62.1 / 255, 66.7 / 255)),
        (CIFAR100, "default"): ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
        (CIFAR100, "naswot"): ((129.3 / 255, 124.1 / 255, 112.4 / 255),
                               (68.2 / 255, 65.4 / 255, 70.4 / 255)),
        (CIFAR100, "gennas"): ((125.3 / 255, 123.0 / 255, 113.9 / 255),
                               (63.0 / 255, 62.1 / 255, 66.7 / 255)),
    }
    for (dataset, name), (mean, std) in constants.items():
        preset = dataset.normalizations[name]
        assert preset.mean == pytest.approx(mean, abs=1e-12), (dataset.name, name)
        assert preset.std == pytest.approx(std, abs=1e-12), (dataset.name, name)
    assert CIFAR10.mean == (0.4914, 0.4822, 0.4465) and CIFAR10.std == (0.2023, 0.1994, 0.2010)
    naswot = CIFAR10.batch(4, 0, data_dir=data_dir, normalization="naswot").inputs
    mean = torch.tensor([125.3, 123.0, 113.9]).div(255)[:, None, None]
    std = torch.tensor([63.0, 62.1, 66.7]).div(255)[:, None, None]
    torch.testing.assert_close(naswot, (raw - mean) / std, rtol=0, atol=1e-6)


def test_augmentation_is_a_seeded_padded_crop_and_flip(data_dir):
    plain = CIFAR10.batch(6, 11, data_dir=data_dir, normalization="none")
    augmented = CIFAR10.batch(6, 11, data_dir=data_dir, normalization="none", augment=True)
    again = CIFAR10.batch(6, 11, data_dir=data_dir, normalization="none", augment=True)
    assert augmented.inputs.shape == (6, 3, 32, 32)
    assert torch.equal(augmented.inputs, again.inputs), "augmentation must be seeded"
    assert torch.equal(augmented.labels, plain.labels), "augmentation keeps the drawn images"
    originals, results = unnormalized(plain.inputs), unnormalized(augmented.inputs)
    for original, result in zip(originals, results, strict=True):
        padded = np.pad(original, ((4, 4), (4, 4), (0, 0)))
        candidates = [window[:, ::-1] if flipped else window
                      for dy in range(9) for dx in range(9)
                      for window in [padded[dy:dy + 32, dx:dx + 32]] for flipped in (False, True)]
        assert any(np.array_equal(result, c) for c in candidates), \
            "each augmented image is a 4-pixel-padded 32x32 crop of its original, maybe flipped"
    flip_only = CIFAR10.batch(6, 11, data_dir=data_dir, normalization="none", augment="flip")
    for original, result in zip(originals, unnormalized(flip_only.inputs), strict=True):
        assert np.array_equal(result, original) or np.array_equal(result, original[:, ::-1])


def test_size_option_resizes_with_nearest(data_dir):
    batch = CIFAR10.batch(2, 0, data_dir=data_dir, normalization="none", size=64)
    native = CIFAR10.batch(2, 0, data_dir=data_dir, normalization="none")
    assert batch.inputs.shape == (2, 3, 64, 64)
    assert torch.equal(batch.inputs[:, :, ::2, ::2], native.inputs)


def test_cifar100_uses_fine_labels(data_dir):
    images, labels = CIFAR100.arrays(data_dir, "train")
    assert images.shape == (12, 32, 32, 3) and labels[:4].tolist() == [0, 99, 50, 7]
    assert CIFAR100.num_classes == 100 and CIFAR100.input_shape == (3, 32, 32)
    assert CIFAR100.arrays(data_dir, "test")[1].tolist() == [3, 1, 4, 1, 5]


def test_missing_folder_names_the_path_and_the_download(tmp_path):
    with pytest.raises(DatasetError) as error:
        CIFAR10.batch(4, 0, data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "cifar10" / "cifar-10-batches-py") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert "harness data fetch cifar10" in message
    with pytest.raises(DatasetError, match="cifar-100-python"):
        CIFAR100.arrays(tmp_path, "test")


def test_malformed_files_are_named(data_dir):
    folder = data_dir / "cifar10" / "cifar-10-batches-py"
    (folder / "data_batch_3").write_bytes(b"\x80\x02this is not a pickle")
    with pytest.raises(DatasetError, match="data_batch_3.*not a readable"):
        CIFAR10.arrays(data_dir, "train")
    write_pickle(folder / "data_batch_3", {"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4})
    with pytest.raises(DatasetError, match=r"data_batch_3.*\(N, 3072\).*\(4, 100\)"):
        CIFAR10.arrays(data_dir, "train")
    write_pickle(folder / "data_batch_3", {"data": np.zeros((4, 3072), np.uint8), "labels": [0]})
    with pytest.raises(DatasetError, match="expected 4 'labels', found 1"):
        CIFAR10.arrays(data_dir, "train")
    write_cifar10(data_dir)
    (folder / "data_batch_5").unlink()
    with pytest.raises(DatasetError, match="CIFAR-10 batch file not found.*data_batch_5"):
        CIFAR10.arrays(data_dir, "train")


def test_pickles_naming_other_callables_are_refused(data_dir):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran",))

    path = data_dir / "cifar10" / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({"data": Payload(), "labels": []}))
    with pytest.raises(DatasetError, match="refusing to load builtins.print"):
        CIFAR10.arrays(data_dir, "test")


def test_bad_options_are_config_errors(data_dir):
    with pytest.raises(ConfigError, match="colour.*split, augment, normalization, size"):
        CIFAR10.batch(2, 0, data_dir=data_dir, colour=True)
    with pytest.raises(ConfigError, match="no normalization 'imagenet'"):
        CIFAR10.batch(2, 0, data_dir=data_dir, normalization="imagenet")
    with pytest.raises(ConfigError, match="augment='mixup'"):
        CIFAR10.batch(2, 0, data_dir=data_dir, augment="mixup")
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        CIFAR10.batch(0, 0, data_dir=data_dir)
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        CIFAR10.batch(2, -1, data_dir=data_dir)
    assert torch.equal(CIFAR10.batch(2, 0, data_dir=data_dir, augment="true").inputs,
                       CIFAR10.batch(2, 0, data_dir=data_dir, augment=True).inputs)
    with pytest.raises(DatasetError, match="no split 'validation'"):
        CIFAR10.batch(2, 0, data_dir=data_dir, split="validation")
    with pytest.raises(DatasetError, match="batch of 21 was requested but only 20"):
        CIFAR10.batch(21, 0, data_dir=data_dir)
