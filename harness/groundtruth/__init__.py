"""Readers of official benchmark files and the prepared ground-truth tables they produce."""
