"""The ``images`` plugin on the 20 real CIFAR images of shared/data and on files tests write."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from harness.errors import DatasetError, UnknownPluginError
from harness.plugins.datasets.base import DatasetWarning
from harness.plugins.datasets.folder import IMAGES, label_from_name, load_images
from harness.plugins.datasets.normalization import CIFAR10_PRESETS, CIFAR100_PRESETS


@pytest.fixture
def cifar10_images(shared_data):
    return shared_data / "images" / "cifar10"


def test_png_folder_and_npz_hold_the_same_pixels(cifar10_images):
    folder_images, folder_labels = load_images(str(cifar10_images), 32, 32, (0, 0))
    npz_images, npz_labels = load_images(str(cifar10_images / "cifar10_foolbox20.npz"), 32, 32,
                                         (0, 0))
    assert folder_images.shape == (20, 32, 32, 3) and folder_images.dtype == np.uint8
    np.testing.assert_array_equal(folder_images, npz_images)
    # The first 20 CIFAR-10 test labels (foolbox's sample images: harness/plugins/datasets/data/
    # DATA_NOTICE.md), parsed from the file names.
    expected = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
    assert folder_labels.tolist() == expected and npz_labels.tolist() == expected


def test_batch_is_seeded_and_normalized_like_cifar10(cifar10_images):
    npz = cifar10_images / "cifar10_foolbox20.npz"
    batch = IMAGES.batch(8, 1, data_dir=None, path=npz, like="cifar10")
    again = IMAGES.batch(8, 1, data_dir=None, path=str(npz), like="cifar10")
    from_pngs = IMAGES.batch(8, 1, data_dir=None, path=cifar10_images, like="cifar10")
    assert batch.inputs.shape == (8, 3, 32, 32)
    assert torch.equal(batch.inputs, again.inputs) and torch.equal(batch.inputs, from_pngs.inputs)
    with np.load(npz) as content:
        x, y = content["x"], content["y"]
    drawn = np.random.default_rng(1).choice(20, size=8, replace=False)
    mean = torch.tensor(CIFAR10_PRESETS["default"].mean)[:, None, None]
    std = torch.tensor(CIFAR10_PRESETS["default"].std)[:, None, None]
    expected = (torch.from_numpy(x[drawn]).permute(0, 3, 1, 2).float() / 255 - mean) / std
    torch.testing.assert_close(batch.inputs, expected, rtol=0, atol=1e-6)
    assert batch.labels.tolist() == y[drawn].tolist()
    naswot = IMAGES.batch(8, 1, data_dir=None, path=npz, normalization="naswot",
                          split="trainval", augment=True)
    assert naswot.inputs.shape == (8, 3, 32, 32) and torch.equal(naswot.labels, batch.labels)


def test_batch_larger_than_the_set_returns_each_image_once(cifar10_images):
    npz = cifar10_images / "cifar10_foolbox20.npz"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = IMAGES.batch(64, 7, data_dir=None, path=npz)
    messages = [str(w.message) for w in caught if issubclass(w.category, DatasetWarning)]
    assert len(messages) == 1, messages
    assert str(npz) in messages[0] and "64" in messages[0] and "only 20" in messages[0]
    assert batch.inputs.shape == (20, 3, 32, 32)
    distinct = {tuple(image.flatten().tolist()) for image in batch.inputs}
    assert len(distinct) == 20, "no image may appear twice (NASWOT's kernel would be singular)"
    order = np.random.default_rng(7).permutation(20)
    with np.load(npz) as content:
        assert batch.labels.tolist() == content["y"][order].tolist()


def test_like_sets_size_constants_and_class_count(shared_data, cifar10_images):
    npz = cifar10_images / "cifar10_foolbox20.npz"
    small = IMAGES.batch(4, 0, data_dir=None, path=npz, like="imagenet16-120")
    assert small.inputs.shape == (4, 3, 16, 16), "resized to ImageNet16-120's 16x16"
    cifar100 = shared_data / "images" / "cifar100" / "cifar100_foolbox20.npz"
    raw = IMAGES.batch(4, 0, data_dir=None, path=cifar100, like="cifar100", normalization="none")
    naswot = IMAGES.batch(4, 0, data_dir=None, path=cifar100, like="cifar100",
                          normalization="naswot")
    mean = torch.tensor(CIFAR100_PRESETS["naswot"].mean)[:, None, None]
    std = torch.tensor(CIFAR100_PRESETS["naswot"].std)[:, None, None]
    torch.testing.assert_close(naswot.inputs, (raw.inputs - mean) / std, rtol=0, atol=1e-6)
    with pytest.raises(DatasetError, match="labels range over .*'cifar10' has 10 classes"):
        IMAGES.batch(4, 0, data_dir=None, path=cifar100, like="cifar10")
    with pytest.raises(UnknownPluginError, match="unknown dataset 'cifar1000'"):
        IMAGES.batch(4, 0, data_dir=None, path=npz, like="cifar1000")


def test_written_png_and_jpeg_files(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 40, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels[0]).save(tmp_path / "a_cat_2.png")
    Image.fromarray(pixels[1][..., 0]).save(tmp_path / "b_gray.png")  # no label: 0
    Image.fromarray(pixels[2]).save(tmp_path / "c_7.JPG", quality=95)
    (tmp_path / "notes.txt").write_text("ignored")
    assert label_from_name(tmp_path / "x_12.png") == 12
    assert label_from_name(tmp_path / "x12.png") == 0
    batch = IMAGES.batch(3, 0, data_dir=None, path=tmp_path, normalization="none")
    assert batch.inputs.shape == (3, 3, 32, 32), "40x40 files are resized to CIFAR's 32x32"
    assert sorted(batch.labels.tolist()) == [0, 2, 7]
    images, labels = load_images(str(tmp_path), 40, 40, (1, 1))
    np.testing.assert_array_equal(images[0], pixels[0])
    assert (images[1] == pixels[1][..., :1]).all(), "gray PNGs are replicated to 3 channels"
    assert labels.tolist() == [2, 0, 7]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="needs path=PATH"):
        IMAGES.batch(2, 0, data_dir=None)
    with pytest.raises(DatasetError, match="image set not found: .*missing.npz"):
        IMAGES.batch(2, 0, data_dir=None, path=tmp_path / "missing.npz")
    np.savez(tmp_path / "no_x.npz", images=np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(DatasetError, match="no_x.npz has no array 'x'.*images"):
        IMAGES.batch(2, 0, data_dir=None, path=tmp_path / "no_x.npz")
    np.savez(tmp_path / "floats.npz", x=np.zeros((2, 32, 32, 3), np.float32), y=[0, 1])
    with pytest.raises(DatasetError, match=r"floats.npz: 'x' must be \(N, H, W, 3\) uint8"):
        IMAGES.batch(2, 0, data_dir=None, path=tmp_path / "floats.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="broken.npz is not a readable .npz"):
        IMAGES.batch(2, 0, data_dir=None, path=tmp_path / "broken.npz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="holds no .png/.jpg/.jpeg image files"):
        IMAGES.batch(2, 0, data_dir=None, path=empty)
    (empty / "bad_1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DatasetError, match="bad_1.png is not a readable PNG/JPEG"):
        IMAGES.batch(2, 0, data_dir=None, path=empty)
