"""The installed distribution's version, in a leaf module.

``trial.py`` stamps it on every result and ``runfolder.py`` on every ``run.json``; reading it
here rather than from the package root keeps those layers from importing ``harness`` itself
(whose facade reaches up to the Python API). ``harness.__version__`` re-exports it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nas-harness")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
