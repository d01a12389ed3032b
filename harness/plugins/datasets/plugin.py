"""Registers the built-in dataset plugins: cifar10, cifar100, imagenet16-120, images, digits."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Dataset


@hookimpl
def harness_register_datasets(register: Register[Dataset]) -> None:
    from harness.plugins.datasets.cifar import CIFAR10, CIFAR100
    from harness.plugins.datasets.digits import DIGITS
    from harness.plugins.datasets.folder import IMAGES
    from harness.plugins.datasets.imagenet16 import IMAGENET16

    for dataset in (CIFAR10, CIFAR100, IMAGENET16, IMAGES, DIGITS):
        register(dataset)
