"""Registers the executors: ``local`` (a pool of worker processes, ``local.py``), ``ray``
(``ray_executor.py``) and ``slurm`` (submitit, ``slurm_executor.py``). The modules import
neither torch nor Ray nor submitit at import time (their options are read when ``harness``
builds its parser); Ray and submitit are optional extras, checked when a run uses them."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Executor


@hookimpl
def harness_register_executors(register: Register[Executor]) -> None:
    from harness.plugins.executors.local import LocalExecutor
    from harness.plugins.executors.ray_executor import RayExecutor
    from harness.plugins.executors.slurm_executor import SlurmExecutor

    register(LocalExecutor())
    register(RayExecutor())
    register(SlurmExecutor())
