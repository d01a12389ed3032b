"""The built-in exchange formats: other tools' per-arch score files (docs/naslib.md)."""
