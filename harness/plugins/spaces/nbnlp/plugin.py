"""Registers the ``nbnlp`` space. Hooks are added with the space."""
