"""Built-in weight and bias initialization schemes, registered like any plugin's."""

from harness import seeding
from harness.hookspecs import hookimpl


@hookimpl
def harness_register_initializers(register):
    for name, function in seeding.WEIGHT_INITS.items():
        register("weight", name, function)
    for name, function in seeding.BIAS_INITS.items():
        register("bias", name, function)
