"""Registers the NDS spaces (``nds-darts``, ``nds-resnet``, ...). Hooks are added with the spaces."""
