"""GenNAS for CNN search spaces (Li et al., "Generic Neural Architecture Search via Regression",
NeurIPS 2021; official code github.com/leeyeehoo/GenNAS; the method in docs/gennas.md).

``task`` (JSON schema), ``signals`` (synthetic targets), ``wrapper`` (stage taps + heads),
``train`` (the SGD loop), ``scorer`` (the Scorer objects), ``plugin`` (registration), and the
named tasks under ``tasks/``.
"""
