"""Search drivers: ``harness search`` (end-to-end NAS on a tabular benchmark, ``arch_search``)
and ``harness task-search`` (GenNAS proxy-task search, ``task_search``), both scoring through
trials of the run folder's store (``scoring``) and running many searches in lockstep
(``lockstep``)."""
