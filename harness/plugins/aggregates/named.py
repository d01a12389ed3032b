"""The published rank combinations, each a ``harness.protocols.Aggregate``: naming one in
``--scorers`` runs its parts as trials, and the report adds the combination (methods:
``harness.reports.aggregates``). Every score is oriented higher = predicted better, so each
part scorer already orients its own (``ntk_cond``: a lower condition number is better).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NamedAggregate:
    """A rank combination by name: its part scorers and how their ranks combine."""

    name: str
    parts: tuple[str, ...]
    method: str


# AZ-NAS (Lee and Ham, CVPR 2024; official code cvlab-yonsei/AZ-NAS): the sum over its
# four proxies of log(rank / N), the complexity proxy being the network's FLOPs. Trainability
# first: its pass gives the other two network parts' scores as well (scorers/az_nas.py).
AZ_NAS = NamedAggregate("az_nas", ("az_trainability", "az_expressivity", "az_progressivity",
                                   "az_complexity"), "log_rank")
# TE-NAS (Chen et al., ICLR 2021; official code VITA-Group/TENAS): the sum of the ranks of the
# NTK condition number and of the number of linear regions.
TE_NAS = NamedAggregate("te_nas", ("ntk_cond", "linear_regions"), "mean_rank")
# VKDNW (Týbl and Neumann, CVPR 2025; official code ondratybl/VKDNW, NB201/tss_utils.py,
# ``get_scores``): VKDNW_single orders archs by their count of trainable layers (the code's
# ``vkdnw_dim``: the model's parameter tensors), ties broken by VKDNW (the dense rank of the
# pair). VKDNW_agg (the same function's ``vkdnw_comb_rank``, the paper's VKDNW_agg row per its
# paper_preparation notebook) sums the log ranks of FLOPs, AZ-NAS's expressivity and
# trainability, jacob_cov and VKDNW_single's rank (docs/aggregates.md).
VKDNW_SINGLE = NamedAggregate("vkdnw_single", ("trainable_layers", "vkdnw"), "lexicographic")
VKDNW_AGG = NamedAggregate("vkdnw_agg", ("flops", "az_trainability", "az_expressivity",
                                         "jacob_cov", "vkdnw_single"), "log_rank")

AGGREGATES = (AZ_NAS, TE_NAS, VKDNW_SINGLE, VKDNW_AGG)
