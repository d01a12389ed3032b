"""GenNAS model wrapper (docs/gennas.md): the space's three stage taps -> 8x8 -> BN + 1x1 heads.

The backbone is whatever the space built; the wrapper only calls ``space.forward_taps(model, x)``
(never the model's internals), so the backbone's classifier is unused. Taps that are not 8x8
(taps 0 and 1 on every CIFAR space) are resized with nearest interpolation (``F.interpolate``
default, not pooling: the reference numbers depend on it). Each head is ``BatchNorm2d(C_in)``
then a biased ``1x1 Conv2d(C_in -> C_l)``, no activation, framework-default initialization.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.protocols import Space

OUTPUT_SIZE = 8


class GenNASWrapper(nn.Module):
    """Backbone + one regression head per tapped stage; ``forward`` returns [out0, out1, out2]."""

    def __init__(self, space: Space, backbone: nn.Module, tap_channels: list[int],
                 target_channels: tuple[int, ...]) -> None:
        super().__init__()
        if len(tap_channels) != len(target_channels):
            raise ValueError(f"space {space.name!r} gave {len(tap_channels)} taps; the GenNAS task "
                             f"has {len(target_channels)} levels")
        self.space = space
        self.backbone = backbone
        self.heads = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(c_in), nn.Conv2d(c_in, c_out, kernel_size=1, bias=True))
            for c_in, c_out in zip(tap_channels, target_channels, strict=True))

    def forward(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        taps = self.space.forward_taps(self.backbone, inputs)
        outputs = []
        for tap, head in zip(taps, self.heads, strict=True):
            if tap.shape[-2:] != (OUTPUT_SIZE, OUTPUT_SIZE):
                tap = F.interpolate(tap, size=(OUTPUT_SIZE, OUTPUT_SIZE), mode="nearest")
            outputs.append(head(tap))
        return outputs


def tap_channels(space: Space, backbone: nn.Module, sample: torch.Tensor) -> list[int]:
    """Channels of each tap, from one eval-mode, gradient-free forward on ``sample``.

    Eval mode so the probe leaves no trace: BN running statistics are not updated.
    """
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        channels = [int(tap.shape[1]) for tap in space.forward_taps(backbone, sample)]
    backbone.train(was_training)
    return channels


def wrap(space: Space, backbone: nn.Module, target_channels: tuple[int, ...],
         sample: torch.Tensor) -> GenNASWrapper:
    """Build the wrapper on ``sample``'s device, heads sized by probing the taps on ``sample``."""
    channels = tap_channels(space, backbone, sample)
    return GenNASWrapper(space, backbone, channels, target_channels).to(sample.device)
