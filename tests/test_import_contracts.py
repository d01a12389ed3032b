"""The import rules hold everywhere: every core module sits in a layer of ``.importlinter``'s
layers contract (a module left out would be free to import anything, a plugin included), and the
core-never-imports-a-plugin contract names every core module. ``lint-imports`` (CI) checks the
rules themselves."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser


def _modules(text: str) -> set[str]:
    return set(re.findall(r"harness(?:\.\w+)+", text))


def _core_modules() -> set[str]:
    """``harness.X`` for every module and package directly under ``harness/`` but the plugins."""
    found = {f"harness.{path.stem}" for path in (ROOT / "harness").glob("*.py")
             if path.stem != "__init__"}
    found |= {f"harness.{path.name}" for path in (ROOT / "harness").iterdir()
              if (path / "__init__.py").exists() and path.name != "plugins"}
    return found


def test_every_core_module_sits_in_a_layer():
    layered = _modules(_contracts()["importlinter:contract:layers"]["layers"])
    assert _core_modules() - layered == set(), "add these modules to .importlinter's layers"


def test_the_core_may_not_import_a_plugin():
    contract = _contracts()["importlinter:contract:core-imports-no-plugin"]
    assert contract["type"] == "forbidden"
    assert _modules(contract["forbidden_modules"]) == {"harness.plugins"}
    assert _modules(contract["source_modules"]) == _core_modules()
