"""ImageNet16-120 plugin on tiny downsampled-ImageNet pickles written in the official layout."""

import numpy as np
import pytest
import torch
from datasets_files import IMAGENET16_TRAIN_LABELS, rows, write_imagenet16, write_pickle

from harness.errors import DatasetError
from harness.plugins.datasets.imagenet16 import IMAGENET16


@pytest.mark.parametrize("subfolder", ["ImageNet16", ""])
def test_keeps_labels_1_to_120_minus_one(tmp_path, subfolder):
    write_imagenet16(tmp_path / "imagenet16-120" / subfolder)
    images, labels = IMAGENET16.arrays(tmp_path, "train")
    kept = [i for i, label in enumerate(IMAGENET16_TRAIN_LABELS) if 1 <= label <= 120]
    assert images.shape == (10 * len(kept), 16, 16, 3) and images.dtype == np.uint8
    assert labels.tolist() == [IMAGENET16_TRAIN_LABELS[i] - 1 for i in kept] * 10
    first_file = rows(5, 16, seed=101).reshape(-1, 3, 16, 16).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(images[:len(kept)], first_file[kept])
    test_images, test_labels = IMAGENET16.arrays(tmp_path, "test")
    assert test_images.shape == (2, 16, 16, 3) and test_labels.tolist() == [1, 119]
    np.testing.assert_array_equal(IMAGENET16.arrays(tmp_path, "trainval")[0], images)


def test_batch_normalization_and_gennas_upsampling(tmp_path):
    write_imagenet16(tmp_path / "imagenet16-120" / "ImageNet16")
    assert IMAGENET16.num_classes == 120 and IMAGENET16.input_shape == (3, 16, 16)
    assert IMAGENET16.mean == pytest.approx((122.68 / 255, 116.66 / 255, 104.01 / 255))
    assert IMAGENET16.std == pytest.approx((63.22 / 255, 61.26 / 255, 65.09 / 255))
    default = IMAGENET16.batch(8, 5, data_dir=tmp_path)
    again = IMAGENET16.batch(8, 5, data_dir=tmp_path)
    assert torch.equal(default.inputs, again.inputs) and default.inputs.shape == (8, 3, 16, 16)
    naswot = IMAGENET16.batch(8, 5, data_dir=tmp_path, normalization="naswot")
    assert torch.equal(naswot.inputs, default.inputs), "NASWOT keeps 16x16, same constants"
    gennas = IMAGENET16.batch(8, 5, data_dir=tmp_path, normalization="gennas")
    assert gennas.inputs.shape == (8, 3, 32, 32)
    assert torch.equal(gennas.inputs[:, :, ::2, ::2], default.inputs), "nearest 2x upsampling"
    assert torch.equal(gennas.inputs[:, :, 1::2, 1::2], default.inputs)
    augmented = IMAGENET16.batch(8, 5, data_dir=tmp_path, augment=True)
    assert augmented.inputs.shape == (8, 3, 16, 16)
    assert torch.equal(augmented.labels, default.labels)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(DatasetError) as error:
        IMAGENET16.batch(2, 0, data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "imagenet16-120" / "ImageNet16") in message
    assert "train_data_batch_1..train_data_batch_10" in message and "image-net.org" in message
    folder = write_imagenet16(tmp_path / "imagenet16-120" / "ImageNet16")
    write_pickle(folder / "val_data", {"data": np.zeros((2, 3072), np.uint8), "labels": [1, 2]})
    with pytest.raises(DatasetError, match=r"val_data.*\(N, 768\)"):
        IMAGENET16.arrays(tmp_path, "test")
    write_pickle(folder / "val_data", {"data": rows(2, 16, 0), "labels": [500, 121]})
    with pytest.raises(DatasetError, match="no image of split 'test' has a label in 1..120"):
        IMAGENET16.arrays(tmp_path, "test")
    (folder / "train_data_batch_7").unlink()
    with pytest.raises(DatasetError, match="not found.*train_data_batch_7"):
        IMAGENET16.arrays(tmp_path, "train")
