"""First-party plugins; each module registers through the `harness` entry-point group."""
