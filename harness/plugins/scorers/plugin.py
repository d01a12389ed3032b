"""Registers the single-module scorers of this folder (GenNAS registers from ``gennas/``).

- ``naswot``, ``naswot_v1``: NASWOT (``naswot.py``);
- the zero-cost proxies (``zerocost_scorers``);
- ``epe_nas`` (``epe_nas.py``) and ``zen`` (``zen.py``), two later training-free proxies;
- ``params``, ``flops``: model size (``model_size.py``);
- ``econas``, ``econas-plus``: the reduced-training baseline (``econas.py``);
- the proxies of 2022-2025 (``recent_scorers``): ``zico``, ``meco``, ``meco_opt``, ``swap``,
  ``swap_reg``, ``gradsign``, ``trainable_layers``.
- the per-arch parts of the 2021-2025 proxies (``recent_proxy_parts``): AZ-NAS's four scores
  (``az_nas.py``), TE-NAS's ``ntk_cond`` and ``linear_regions`` (``te_nas.py``), ``vkdnw``
  (``vkdnw.py``).
"""

from __future__ import annotations

from harness.hookspecs import Register, hookimpl
from harness.protocols import Scorer


def zerocost_scorers() -> list[Scorer]:
    """The zero-cost proxies of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS"
    (ICLR 2021), one module each: synflow, synflow_bn, snip, grasp, fisher, grad_norm,
    jacob_cov, plain, l2_norm.

    Shared defaults (``zerocost_common.zerocost_defaults``): ``batch_size`` 64 (the NB-201
    reference; the NB-101 reference used 256: ``--option SCORER.batch_size=256``), ``inputs`` =
    training split with random crop + flip and the zero-cost normalization, ``split_data`` 1,
    ``network`` ``zerocost`` (the reference's builder as each space maps it: NB-201's
    all-candidate-ops cell; the other spaces' benchmark networks). One batch is shared by every
    arch of a run (the worker's batch cache, ``harness.trial``); the reference drew a new batch
    per arch.
    """
    from harness.plugins.scorers.fisher import Fisher
    from harness.plugins.scorers.grad_norm import GradNorm
    from harness.plugins.scorers.grasp import Grasp
    from harness.plugins.scorers.jacob_cov import JacobCov
    from harness.plugins.scorers.l2_norm import L2Norm
    from harness.plugins.scorers.plain import Plain
    from harness.plugins.scorers.snip import Snip
    from harness.plugins.scorers.synflow import Synflow

    return [Synflow(), Synflow(name="synflow_bn", batchnorm=True), Snip(), Grasp(), Fisher(),
            GradNorm(), JacobCov(), Plain(), L2Norm()]


def recent_scorers() -> list[Scorer]:
    """ZiCo (``zico.py``), MeCo and its sampled variant (``meco.py``), SWAP and its size-regularised
    form (``swap.py``), GradSign (``gradsign.py``) and VKDNW's trainable-layer count
    (``trainable_layers.py``); docs/zico.md, meco.md, swap.md, gradsign.md, trainable-layers.md."""
    from harness.plugins.scorers.gradsign import GradSign
    from harness.plugins.scorers.meco import Meco
    from harness.plugins.scorers.swap import Swap
    from harness.plugins.scorers.trainable_layers import TrainableLayers
    from harness.plugins.scorers.zico import Zico

    return [Zico(), Meco(), Meco(name="meco_opt", sampled=True), Swap(),
            Swap(name="swap_reg", regularised=True), GradSign(), TrainableLayers()]


def recent_proxy_parts() -> list[Scorer]:
    """AZ-NAS's ``az_expressivity``, ``az_progressivity``, ``az_trainability``,
    ``az_complexity`` (Lee and Ham, CVPR 2024), TE-NAS's ``ntk_cond`` and ``linear_regions``
    (Chen et al., ICLR 2021) and ``vkdnw`` (Týbl and Neumann, CVPR 2025): the scores whose rank
    combinations give ``az_nas``, ``te_nas`` and ``vkdnw_single`` (docs/az-nas.md, te-nas.md,
    vkdnw.md)."""
    from harness.plugins.scorers.az_nas import az_nas_parts
    from harness.plugins.scorers.te_nas import LinearRegions, NtkCondition
    from harness.plugins.scorers.vkdnw import Vkdnw

    return [*az_nas_parts(), NtkCondition(), LinearRegions(), Vkdnw()]


@hookimpl
def harness_register_scorers(register: Register[Scorer]) -> None:
    from harness.plugins.scorers.econas import EcoNAS
    from harness.plugins.scorers.epe_nas import EpeNas
    from harness.plugins.scorers.model_size import Flops, Params
    from harness.plugins.scorers.naswot import Naswot, NaswotV1
    from harness.plugins.scorers.zen import Zen

    for scorer in (Naswot(), NaswotV1(), *zerocost_scorers(), Params(), Flops(), EpeNas(), Zen(),
                   EcoNAS(), EcoNAS("econas-plus", init_channels=8, resolution=16,
                                    read_epoch=15), *recent_scorers(), *recent_proxy_parts()):
        register(scorer)
