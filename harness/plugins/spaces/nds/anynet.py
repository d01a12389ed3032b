"""The NDS AnyNet networks (ResNet, ResNeXt-A/B, Vanilla): a stem, then stages of blocks.

The ``net`` of a record lists, per entry, a depth ``ds``, width ``ws``, stride ``ss``,
bottleneck multiplier ``bot_muls`` and group count ``num_gs`` (empty lists when the block type
has none). As the NDS sweeps built it (the 2019 pycls AnyNet; Radosavovic et al., ICCV 2019),
the **first entry is the stem** and the others are stages; the stem follows from ``ss[0]``:

- 1: ``res_stem_cifar``, Conv3x3/1-BN-ReLU (CIFAR-10 sweeps);
- 4: ``res_stem_in``, Conv7x7/2-BN-ReLU-MaxPool3x3/2 (ResNet/Vanilla ImageNet sweeps);
- 8: three stride-2 Conv3x3 (3 -> w/2 -> w -> w) with BN, laid out as the DARTS ImageNet stem
  (ResNeXt ImageNet sweeps). Inferred from the records: with it the trainable-parameter count
  of every ResNeXt-A/B ImageNet record equals its ``params`` (tests/test_nds_params.py).

Blocks (``block_type``): ``double_plain_block`` (vanilla: two Conv3x3-BN-ReLU),
``res_basic_block`` (Conv3x3-BN-ReLU-Conv3x3-BN + shortcut, ReLU) and ``res_bottleneck_block``
(Conv1x1 to ``w_b = round(w * bot_mul)``-BN-ReLU, Conv3x3 in ``num_gs`` groups-BN-ReLU,
Conv1x1-BN + shortcut, ReLU). The shortcut is Conv1x1(stride)-BN where the shape changes, else
the identity; the first block of a stage carries the stride and the width change.

Other variants (``anynet_config``): ``gennas`` is GenNAS's rewrite (spec §8.3): every entry is a
stage (the first with stride 1 where it was 8), ``num_gs`` read as the group *width*
(groups = w_b // gw), a leading bottleneck multiplier 0 read as 1, stem ``res_stem_cifar`` of
width 12; ``naswot`` is NASWOT's port: the same stage lists without the stride/multiplier
rewrite, stem ``res_stem_in`` of width 12.

``input_side``: the side the network reads its inputs at; an input of another side is resized
(bilinear) first. NASWOT scored the ImageNet sweeps on 224x224 images (its ``scorehook.sh``:
``--dataset imagenette2``, resized to 256 and centre-cropped to 224); at 32x32 its port's
stride-4 stem and stride-8 first stage leave a 1x1 map, and the codes NASWOT reads collapse
(validation/study-gennas-appendix-cpu.md measures both).

``pycls_init``: the weights pycls's AnyNet gives itself on construction (its ``init_weights``,
github.com/facebookresearch/pycls, the code that built and trained the NDS networks, and the
copies GenNAS and NASWOT score): every convolution N(0, 2 / fan_out) with fan_out = k * k *
C_out (groups ignored), BatchNorm scale 1 and shift 0, the classifier N(0, 0.01^2) with bias 0.
The builder applies it with ``init="pycls"``; its default keeps torch's own initialization, the
one every stored AnyNet trial was scored with.

``taps="blocks"`` (AZ-NAS's network form) makes ``forward_taps`` return the stem's output and
every block's (before its final ReLU) instead of the last three stages'; the network and its
outputs are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from harness.errors import ConfigError
from harness.plugins.spaces.nds.netspec import STEM_STRIDES
from harness.protocols import TAPS

STEM_WIDTH_PORTS = 12
# The stem each first-entry stride stands for (module docstring).
STEMS = dict(zip(STEM_STRIDES, ("res_stem_cifar", "res_stem_in", "nas_stem_in"), strict=True))


@dataclass(frozen=True)
class StageSpec:
    depth: int
    width: int
    stride: int
    bot_mul: float
    groups_or_width: int


@dataclass(frozen=True)
class AnyNetConfig:
    """What the builder needs: the stem, the stages, the block and how ``num_gs`` reads."""

    block_type: str
    stem: str
    stem_width: int
    stages: tuple[StageSpec, ...]
    group_width: bool
    input_side: int | None = None


def anynet_config(net: dict[str, Any], variant: str) -> AnyNetConfig:
    """The builder config of a record's ``net`` (one ``netspec.check_net`` passed) for
    ``variant`` (module docstring)."""
    block_type = net["block_type"]
    ds, ws, ss = (list(net[key]) for key in ("ds", "ws", "ss"))
    bms = list(net["bot_muls"]) or [1.0] * len(ds)
    gs = list(net["num_gs"]) or [1] * len(ds)
    if variant == "nds":
        stem = STEMS[ss[0]]
        stages = [StageSpec(*entry) for entry in zip(ds[1:], ws[1:], ss[1:], bms[1:], gs[1:],
                                                      strict=True)]
        return AnyNetConfig(block_type, stem, ws[0], tuple(stages), group_width=False)
    if variant == "gennas":
        ss = [1 if ss[0] == 8 else ss[0], *ss[1:]]
        bms = [1.0 if bms[0] == 0 else bms[0], *bms[1:]]
        stem = "res_stem_cifar"
    elif variant == "naswot":
        stem = "res_stem_in"
    else:
        raise ConfigError(f"unknown NDS builder variant {variant!r}; known: nds, gennas, naswot")
    stages = [StageSpec(*entry) for entry in zip(ds, ws, ss, bms, gs, strict=True)]
    return AnyNetConfig(block_type, stem, STEM_WIDTH_PORTS, tuple(stages), group_width=True)


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> list:
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out)]


def build_stem(kind: str, width: int) -> nn.Sequential:
    if kind == "res_stem_cifar":
        return nn.Sequential(*_conv_bn(3, width, 3), nn.ReLU(inplace=True))
    if kind == "res_stem_in":
        return nn.Sequential(*_conv_bn(3, width, 7, 2), nn.ReLU(inplace=True),
                             nn.MaxPool2d(3, 2, 1))
    if width % 2:
        raise ConfigError(f"the stride-8 NDS stem needs an even width, got {width}")
    return nn.Sequential(*_conv_bn(3, width // 2, 3, 2), nn.ReLU(inplace=True),
                         *_conv_bn(width // 2, width, 3, 2), nn.ReLU(inplace=True),
                         *_conv_bn(width, width, 3, 2))


class Block(nn.Module):
    """One AnyNet block; ``forward`` returns the output before its final ReLU (GenNAS taps)."""

    def __init__(self, block_type: str, w_in: int, w_out: int, stride: int, bot_mul: float,
                 groups: int) -> None:
        super().__init__()
        if block_type == "res_bottleneck_block":
            w_b = int(round(w_out * bot_mul))
            if w_b < 1 or groups < 1 or w_b % groups:
                raise ConfigError(f"bottleneck width {w_b} cannot be split into {groups} groups")
            layers = [*_conv_bn(w_in, w_b, 1), nn.ReLU(inplace=True),
                      *_conv_bn(w_b, w_b, 3, stride, groups), nn.ReLU(inplace=True),
                      *_conv_bn(w_b, w_out, 1)]
        else:
            layers = [*_conv_bn(w_in, w_out, 3, stride), nn.ReLU(inplace=True),
                      *_conv_bn(w_out, w_out, 3)]
        self.body = nn.Sequential(*layers)
        residual = block_type != "double_plain_block"
        self.shortcut: nn.Module | None = None
        if residual:
            self.shortcut = (nn.Sequential(*_conv_bn(w_in, w_out, 1, stride))
                             if (w_in != w_out or stride != 1) else nn.Identity())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.body(inputs)
        return out if self.shortcut is None else out + self.shortcut(inputs)


class AnyNet(nn.Module):
    """Stem, stages, global average pool, linear classifier; ``forward`` returns logits."""

    def __init__(self, config: AnyNetConfig, num_classes: int, taps: str = "stages") -> None:
        super().__init__()
        if taps not in TAPS:
            raise ConfigError(f"unknown NDS taps {taps!r}; known: {', '.join(TAPS)}")
        self.taps = taps
        self.stem = build_stem(config.stem, config.stem_width)
        self.stages = nn.ModuleList()
        w_in = config.stem_width
        for spec in config.stages:
            groups = spec.groups_or_width
            if config.group_width:
                groups = max(1, int(round(spec.width * spec.bot_mul)) // spec.groups_or_width)
            blocks = [Block(config.block_type, w_in if i == 0 else spec.width, spec.width,
                            spec.stride if i == 0 else 1, spec.bot_mul, groups)
                      for i in range(spec.depth)]
            self.stages.append(nn.ModuleList(blocks))
            w_in = spec.width
        if len(self.stages) < 3:
            raise ConfigError("an NDS AnyNet network needs at least 3 stages for its taps")
        self.head = nn.Linear(w_in, num_classes)
        self.input_side = config.input_side

    def forward_taps(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """The outputs of the last three stages before their final ReLU (spec §1.6); with
        ``taps="blocks"`` the stem's output and every block's, shallow first."""
        side = self.input_side
        if side is not None and tuple(inputs.shape[-2:]) != (side, side):
            inputs = functional.interpolate(inputs, size=(side, side), mode="bilinear",
                                            align_corners=False)
        x = self.stem(inputs)
        blocks = self.taps == "blocks"
        outputs: list[torch.Tensor] = [x] if blocks else []
        for stage in self.stages:
            for index, block in enumerate(stage):
                if index:
                    x = functional.relu(x)
                x = block(x)
                if blocks:
                    outputs.append(x)
            if not blocks:
                outputs.append(x)
            x = functional.relu(x)
        return outputs if blocks else outputs[-3:]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = functional.relu(self.forward_taps(inputs)[-1])
        return self.head(features.mean(dim=(2, 3)))


@torch.no_grad()
def pycls_init(model: nn.Module) -> None:
    """Re-draw ``model``'s weights as pycls's AnyNet initializes itself (module docstring)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            module.weight.normal_(0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.fill_(1.0)
            module.bias.zero_()
        elif isinstance(module, nn.Linear):
            module.weight.normal_(0.0, 0.01)
            module.bias.zero_()

