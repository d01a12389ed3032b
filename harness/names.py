"""Comma-separated names, as the command line and the Python API take them.

``--spaces nb201,nb101`` and ``harness.compare(spaces="nb201,nb101")`` split the same way, so
the splitter sits below both, in a leaf module that imports nothing (``harness --help`` uses it
while building its parsers).
"""


def split_names(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]
