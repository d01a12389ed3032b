"""Registers the ``random`` scorer: the module the ``harness`` entry point names.

It imports the scorer (and so torch) inside the hook, so ``harness --help`` and every command
that needs no scorer never pay for it.
"""

import harness


@harness.hookimpl
def harness_register_scorers(register):
    from harness_example_plugin.random_baseline import RandomBaseline

    register(RandomBaseline())
