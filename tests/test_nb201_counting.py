"""NB-201 counts its networks without building them (``CountingSpace``), so ``params`` and
``flops`` trials skip the build: every count equals what ``params`` / ``flops`` measure on the
built network, for every builder option."""

import random

import pytest
import torch
from scorer_helpers import make_context

from harness.plugins.scorers.model_size import Flops, Params, multiply_accumulates, parameter_count
from harness.plugins.spaces.nb201.space import NB201Space
from harness.protocols import CountingSpace

SPACE = NB201Space()
# Seeded draw of distinct cells, plus the all-none, all-skip, all-3x3 and all-pool cells (the
# archs list is in op-code product order: index 3906 * code is the cell of that op only).
ARCHS = sorted(set(random.Random(201).sample(SPACE.archs(), 300))
               | {SPACE.archs()[3906 * code] for code in range(5)})
VARIANTS = ("official", "zerocost", "gennas")
# (C, N, num_classes, in_channels): the benchmark's sizes and others.
SIZES = ((16, 5, 10, 3), (16, 5, 120, 3), (8, 2, 100, 1), (5, 1, 3, 4))


def _built_params(arch_id: str, **options) -> int:
    return parameter_count(SPACE.build_model(arch_id, **options))


def test_nb201_is_a_counting_space_and_the_sample_has_none_and_skip_edges():
    assert isinstance(SPACE, CountingSpace)
    assert any("none" in arch for arch in ARCHS) and any("skip" in arch for arch in ARCHS)


def test_parameter_count_equals_the_built_official_network_for_every_sampled_arch():
    for arch_id in ARCHS:
        assert SPACE.count_parameters(arch_id, num_classes=10) == _built_params(
            arch_id, num_classes=10), arch_id


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("batchnorm", [True, False])
@pytest.mark.parametrize(("C", "N", "num_classes", "in_channels"), SIZES)
def test_parameter_count_equals_the_built_network_for_every_builder_option(
        variant, batchnorm, C, N, num_classes, in_channels):
    options = {"num_classes": num_classes, "C": C, "N": N, "batchnorm": batchnorm,
               "variant": variant, "in_channels": in_channels}
    for arch_id in ARCHS[::25]:
        assert SPACE.count_parameters(arch_id, **options) == _built_params(arch_id, **options)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("batchnorm", [True, False])
def test_parameter_count_for_every_sampled_arch_and_variant(variant, batchnorm):
    for arch_id in ARCHS:
        options = {"num_classes": 100, "variant": variant, "batchnorm": batchnorm}
        assert SPACE.count_parameters(arch_id, **options) == _built_params(arch_id, **options)


@pytest.mark.parametrize(("variant", "C", "N", "num_classes", "shape"), [
    ("official", 16, 5, 10, (3, 32, 32)), ("gennas", 16, 5, 10, (3, 32, 32)),
    ("official", 16, 5, 120, (3, 16, 16)), ("zerocost", 8, 2, 7, (1, 12, 20)),
    ("official", 5, 1, 3, (4, 8, 4))])
def test_mac_count_equals_the_flops_hooks_on_the_built_network(variant, C, N, num_classes,
                                                               shape):
    options = {"num_classes": num_classes, "C": C, "N": N, "variant": variant,
               "in_channels": shape[0]}
    torch.set_num_threads(1)
    for arch_id in ARCHS[::30]:
        built = multiply_accumulates(SPACE.build_model(arch_id, **options), shape)
        assert SPACE.count_macs(arch_id, shape, **options) == built, arch_id


@pytest.mark.parametrize(("shape", "options"), [
    ((3, 30, 30), {}), ((3, 2, 2), {}), ((1, 32, 32), {}), ((3, 32, 32), {"variant": "x"}),
    ((3, 32, 32), {"C": 0}), ((3, 32, 32), {"depth": 3})])
def test_counts_are_none_where_the_builder_or_the_forward_pass_would_fail(shape, options):
    arch_id = ARCHS[0]
    assert SPACE.count_macs(arch_id, shape, num_classes=10, **options) is None
    if shape == (3, 32, 32):
        assert SPACE.count_parameters(arch_id, num_classes=10, **options) is None


class _BuildOnly:
    """The nb201 space without its counting ability."""

    name = "nb201"


def _context(config=None, builder_options=None):
    built = []

    def build_model(**options):
        built.append(options)
        return SPACE.build_model(ARCHS[1], num_classes=options.pop("num_classes", 10),
                                 **{**(builder_options or {}), **options})

    ctx = make_context(SPACE, input_shape=(3, 32, 32), num_classes=10, config=config,
                       arch_id=ARCHS[1])
    ctx.build_model, ctx.builder_options = build_model, dict(builder_options or {})
    return ctx, built


@pytest.mark.parametrize(("config", "builder_options"), [
    ({}, {}), ({}, {"variant": "zerocost", "C": 8}), ({}, {"N": 2, "batchnorm": False})])
def test_params_and_flops_take_the_space_count_for_the_trials_options(config, builder_options):
    for scorer in (Params(), Flops()):
        ctx, built = _context(config, builder_options)
        counted = scorer.score(ctx)
        assert built == []
        ctx.space = _BuildOnly()  # no counting ability: the scorer builds the same network
        assert scorer.score(ctx) == counted and built


def test_params_builds_the_model_where_the_space_cannot_count_the_options():
    ctx, built = _context({}, {"unknown": 1})
    with pytest.raises(TypeError, match="unknown"):
        Params().score(ctx)
    assert built
