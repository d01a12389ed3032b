"""docs/python-api.md is executed: its python code blocks run in order in one namespace, on
the data bundled with the package (an empty data dir), in a fresh folder."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_walkthrough_has_code_for_every_api_function():
    code = "\n".join(_code_blocks(DOC.read_text()))
    for call in ("harness.score(", "harness.compare(", "harness.load_trials(",
                 "harness.ground_truth(", "harness.report(", "harness.predict("):
        assert call in code, f"docs/python-api.md shows no {call}...)"


def test_the_walkthrough_runs(tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty-data-dir"))
    namespace: dict = {"__name__": "walkthrough"}
    for number, block in enumerate(_code_blocks(DOC.read_text()), start=1):
        try:
            exec(compile(block, f"docs/python-api.md block {number}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"docs/python-api.md code block {number} failed: "
                        f"{type(exc).__name__}: {exc}")
    assert (tmp_path / "runs" / "api-walkthrough" / "trials.sqlite").is_file()
