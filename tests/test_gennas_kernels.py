"""GenNAS CPU speed-ups leave every number bit-identical (gennas/kernels.py, NB-201's
dead-path skipping, the foreach SGD step)."""

import pytest
import torch
from torch import nn

from harness.plugins.scorers.gennas import train as train_module
from harness.plugins.scorers.gennas.kernels import ShiftedAvgPool3x3, use_fast_kernels
from harness.plugins.scorers.gennas.plugin import named_task
from harness.plugins.scorers.gennas.signals import build_targets
from harness.plugins.scorers.gennas.train import TrainSettings, parameter_groups, train
from harness.plugins.scorers.gennas.wrapper import wrap
from harness.plugins.spaces.nb201.space import NB201Space

pytestmark = pytest.mark.usefixtures("one_torch_thread")

POOL_ARCH = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|"
             "+|avg_pool_3x3~0|skip_connect~1|avg_pool_3x3~2|")


@pytest.mark.parametrize("shape", [(16, 16, 32, 32), (16, 32, 16, 16), (16, 64, 8, 8),
                                   (2, 3, 5, 7), (1, 1, 1, 1)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shifted_pool_matches_torch_forward_and_backward_bit_for_bit(shape, dtype):
    generator = torch.Generator().manual_seed(sum(shape))
    inputs = torch.randn(shape, generator=generator, dtype=dtype, requires_grad=True)
    grad = torch.randn(shape, generator=generator, dtype=dtype)
    native = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    expected = native(inputs)
    (expected_grad,) = torch.autograd.grad(expected, inputs, grad)
    fast = ShiftedAvgPool3x3()(inputs)
    (fast_grad,) = torch.autograd.grad(fast, inputs, grad)
    assert torch.equal(fast, expected)
    assert torch.equal(fast_grad, expected_grad)
    # The sums run over padded rows; what leaves the op is dense, as torch's own results are.
    assert fast.is_contiguous() and fast_grad.is_contiguous(), "padding columns leaked out"


def test_shifted_pool_falls_back_on_channels_last_input():
    inputs = torch.randn(2, 4, 6, 6).contiguous(memory_format=torch.channels_last)
    native = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    assert torch.equal(ShiftedAvgPool3x3()(inputs), native(inputs))


def test_only_the_exact_pool_is_replaced():
    model = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                          nn.AvgPool2d(3, 1, 1),  # counts padding: another op
                          nn.Sequential(nn.AvgPool2d((3, 3), (1, 1), (1, 1),
                                                     count_include_pad=False)),
                          nn.AvgPool2d(2, 2))
    assert use_fast_kernels(model) == 2
    assert [type(module).__name__ for module in model.modules()][1:] == [
        "ShiftedAvgPool3x3", "AvgPool2d", "Sequential", "ShiftedAvgPool3x3", "AvgPool2d"]


def _nb201_losses(arch, monkeypatch=None, iterations=4, skip_dead_paths=False,
                  memory_format="channels_last", **options):
    task = named_task("gennas-search-n")
    inputs = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    targets = build_targets(task, inputs, seed=0)
    space = NB201Space()
    torch.manual_seed(0)
    backbone = space.build_model(arch, num_classes=10, variant="gennas", **options)
    if skip_dead_paths:
        space.skip_dead_paths(backbone)
    model = wrap(space, backbone, task.channels, inputs[:2])
    result = train(model, inputs, targets, task.noise,
                   TrainSettings(iterations=iterations, eval_interval=2,
                                 memory_format=memory_format), task.loss_weights,
                   task.scored_weights, torch.Generator().manual_seed(0))
    return [*result.eval_losses, result.last_train_loss]


def test_nb201_gennas_losses_are_bit_identical_with_and_without_fast_kernels(monkeypatch):
    fast = _nb201_losses(POOL_ARCH)
    monkeypatch.setattr(train_module, "use_fast_kernels", lambda model: 0)
    assert fast == _nb201_losses(POOL_ARCH)


# Skip edges as the first, a later and the only term of a node; a cell of pools and skips.
NODE_SUM_ARCHS = [
    "|skip_connect~0|+|skip_connect~0|avg_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~1|"
    "skip_connect~2|",
    "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|"
    "avg_pool_3x3~2|",
]


@pytest.mark.parametrize("memory_format", ["channels_last", "contiguous"])
@pytest.mark.parametrize("arch", NODE_SUM_ARCHS)
def test_cell_node_sums_leave_gennas_losses_bit_identical_to_python_sum(arch, memory_format,
                                                                        monkeypatch):
    from harness.plugins.spaces.nb201 import model as nb201_model

    small = {"C": 4, "N": 2, "memory_format": memory_format}
    fast = _nb201_losses(arch, **small)
    monkeypatch.setattr(nb201_model, "_node_sum", lambda terms, nodes: sum(terms))
    assert fast == _nb201_losses(arch, **small)


# Dead paths: node 2 feeds node 3 through `none` (so edges 0->2 and 1->2 are dead), node 1
# reaches node 3 only through a dead node; a live node whose inputs are all `none`; a cell
# whose output node gets only `none`; and a cell without a dead path.
DEAD_PATH_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|",
    "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|none~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "skip_connect~2|",
]


@pytest.mark.parametrize("arch", DEAD_PATH_ARCHS)
def test_skipping_dead_paths_leaves_gennas_losses_bit_identical(arch):
    small = {"C": 4, "N": 2}
    assert (_nb201_losses(arch, skip_dead_paths=True, **small)
            == _nb201_losses(arch, **small))


def test_dead_paths_are_the_edges_that_cannot_reach_the_output():
    from harness.plugins.spaces.nb201.model import Cell

    expected = [(3,), (1, 2, 4, 5), (), (0, 1, 2, 3, 4, 5)]
    for arch, running in zip(DEAD_PATH_ARCHS, expected, strict=True):
        model = NB201Space().build_model(arch, num_classes=10, C=4, N=1)
        NB201Space().skip_dead_paths(model)
        cells = [module for module in model.modules() if isinstance(module, Cell)]
        assert {cell.running_edges for cell in cells} == {running}


def test_foreach_sgd_step_is_bit_identical_to_the_single_tensor_step():
    def trained(foreach):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
        optimizer = torch.optim.SGD(parameter_groups(model, 4e-5), lr=0.1, momentum=0.9,
                                    foreach=foreach)
        inputs = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        for _ in range(3):
            optimizer.zero_grad()
            model(inputs).square().mean().backward()
            optimizer.step()
        return [parameter.detach().clone() for parameter in model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(trained(True), trained(False), strict=True))


class _ModeRecorder(nn.Module):
    """Two-level regression model that records, per forward pass, its mode and whether it ran
    under inference mode, and counts ``train()`` calls."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        self.passes, self.train_calls = [], 0

    def train(self, mode=True):
        self.train_calls += mode
        return super().train(mode)

    def forward(self, inputs):
        self.passes.append((self.training, torch.is_inference_mode_enabled()))
        out = self.conv(inputs)
        return [out, out.mean(dim=1, keepdim=True)]


def test_the_loop_sets_train_mode_once_per_evaluation_and_every_pass_runs_in_its_mode():
    torch.manual_seed(0)
    model = _ModeRecorder()
    inputs = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    targets = [torch.zeros(2, 2, 4, 4), torch.zeros(2, 1, 4, 4)]
    train(model, inputs, targets, named_task("gennas-search-n").noise,
          TrainSettings(iterations=5, eval_interval=2), (1.0, 1.0), (1.0, 1.0),
          torch.Generator().manual_seed(0))
    # Training passes in train mode with autograd; evaluations (after 2, 4 and 5) in eval mode
    # under inference mode: the same modes as setting train() before every iteration.
    train_pass, eval_pass = (True, False), (False, True)
    assert model.passes == [train_pass, train_pass, eval_pass, train_pass, train_pass, eval_pass,
                            train_pass, eval_pass]
    assert model.train_calls == 1 + 3, "train() walks every module: once, then after each eval"
    assert model.training, "the model is left in train mode, as before"
