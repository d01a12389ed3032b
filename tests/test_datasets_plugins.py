"""The built-in dataset plugins register through the entry point and satisfy the protocol."""

from harness.protocols import Dataset


def test_builtin_datasets_are_registered(fresh_registry):
    names = {"cifar10", "cifar100", "imagenet16-120", "images", "digits"}
    assert names <= set(fresh_registry.names("dataset"))
    entries = {entry.name: entry for entry in fresh_registry.entries("dataset")}
    for name in names:
        dataset = fresh_registry.get("dataset", name)
        assert isinstance(dataset, Dataset), name
        assert entries[name].plugin == "datasets", "registered by the `datasets` entry point"
    shapes = {name: fresh_registry.get("dataset", name).input_shape for name in names}
    assert shapes["imagenet16-120"] == (3, 16, 16) and shapes["cifar100"] == (3, 32, 32)
    for name in names - {"images"}:  # images normalizes like the dataset it stands in for
        dataset = fresh_registry.get("dataset", name)
        assert len(dataset.mean) == 3 and len(dataset.std) == 3, name
        assert {"default", "zerocost", "naswot", "gennas", "none"} <= set(dataset.normalizations)
