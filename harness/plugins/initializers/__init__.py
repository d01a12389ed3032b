"""The built-in weight and bias initialization schemes (``harness.seeding``) as a plugin."""
