"""The built-in named aggregates: published rank combinations of scorers (docs/aggregates.md)."""
