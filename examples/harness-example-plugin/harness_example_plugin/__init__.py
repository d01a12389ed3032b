"""An example third-party plugin for nas-harness: a seeded random-score baseline.

``plugin.py`` is the registration module the entry point names; ``random_baseline.py`` holds the
scorer itself.
"""
