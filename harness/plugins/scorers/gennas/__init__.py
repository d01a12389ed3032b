"""GenNAS for CNN search spaces (Li et al., NeurIPS 2021; spec scorers.md §1).

``task`` (JSON schema), ``signals`` (synthetic targets), ``wrapper`` (stage taps + heads),
``train`` (the SGD loop), ``scorer`` (the Scorer objects), ``plugin`` (registration), and the
named tasks under ``tasks/``.
"""
