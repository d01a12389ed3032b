"""The core names no plugin: outside ``harness/plugins/`` no string the code acts on holds the
name of an installed space, scorer or dataset. Docstrings, comments and the command line's help
texts and examples may name them (they are examples, not behaviour). Imports of plugins are
import-linter's contract (``.importlinter``)."""

import ast
import re
from pathlib import Path

from harness.registry import get_registry

CORE = Path(__file__).resolve().parents[1] / "harness"
# Plugin names that are also ordinary English words in messages ("a plain module", "params"),
# and ``images``: the dataset behind ``--images``, the one plugin the core asks for by name (the
# flag's contract: a dataset plugin of that name reads the user's files).
ALLOWED = {"plain", "params", "flops", "images"}


def _plugin_names() -> set[str]:
    registry = get_registry()
    names = {name for kind in ("space", "scorer", "dataset") for name in registry.names(kind)}
    return names - ALLOWED


def _exempt_strings(tree: ast.AST) -> set[int]:
    """Ids of docstrings, ``help=`` texts and the values of ``*EXAMPLE*`` assignments."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)):
            exempt.add(id(body[0].value))
        if isinstance(node, ast.keyword) and node.arg in ("help", "epilog"):
            exempt |= {id(n) for n in ast.walk(node.value)}
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "EXAMPLE" in t.id for t in node.targets):
            exempt |= {id(n) for n in ast.walk(node.value)}
    return exempt


def _named_plugins(path: Path, names: set[str], label: str) -> list[str]:
    """``label:line: [names]`` for each string of ``path``'s code that holds one of ``names``."""
    tree = ast.parse(path.read_text())
    exempt = _exempt_strings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in exempt):
            words = set(re.findall(r"\w[\w.-]*\w|\w", node.value)) & names
            if words:
                found.append(f"{label}:{node.lineno}: {sorted(words)}")
    return found


def test_no_core_module_names_a_space_scorer_or_dataset():
    names = _plugin_names()
    assert {"nb201", "synflow", "cifar10"} <= names  # the check sees the built-in plugins
    core = [path for path in sorted(CORE.rglob("*.py")) if "plugins" not in path.parts]
    found = [hit for path in core
             for hit in _named_plugins(path, names, str(path.relative_to(CORE.parent)))]
    assert not found, "the core names plugins (let the plugin declare it):\n" + "\n".join(found)


def test_the_check_finds_a_name_in_code_and_not_in_docs_or_help(tmp_path):
    module = tmp_path / "module.py"
    module.write_text('"""nb201 in a docstring is fine."""\nDEFAULT_SPACE = "nb201"\n'
                      'parser.add_argument("--space", help="e.g. nb201")\n')
    assert _named_plugins(module, _plugin_names(), "module.py") == ["module.py:2: ['nb201']"]
