"""Studies: a paper's tables as a file, run as trials of one run folder and reported beside the
published values (``harness study run|report|list|show``, docs/studies.md).

``spec`` reads and checks a study file (TOML); ``published`` finds each row's published values
(``reports/reference_values.json`` or the file's own); ``run`` runs the rows through the planner
and driver ``harness compare`` uses; ``report`` writes the measured-beside-published table.
The built-in studies are package data under ``builtin/``.
"""
