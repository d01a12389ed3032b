"""examples/quickstart.ipynb runs top to bottom in a fresh kernel (nbclient, a test extra), on
the data bundled with the package, and is committed without outputs."""

import json
from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"
# Measured at about 40 s on one busy CPU core (kernel start included); the limit leaves room
# for a slower machine without letting a hung cell hold the suite.
CELL_TIMEOUT_S = 300


def test_the_committed_notebook_has_no_outputs():
    notebook = json.loads(NOTEBOOK.read_text())
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"cell {number} of {NOTEBOOK.name} holds outputs: clear them before committing "
                f"(jupyter nbconvert --clear-output --inplace {NOTEBOOK.name})")


def test_the_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The kernel inherits this environment: the bundled ground truth and images whatever the
    # machine has prepared, and one torch thread (tiny networks; shared cores).
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty-data-dir"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # a cell that raises fails here with CellExecutionError, naming the cell

    def text_of(cell) -> str:
        parts = []
        for output in cell.outputs:
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
            parts.append(output.get("data", {}).get("text/markdown", ""))
        return "".join(parts)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    everything = "\n".join(text_of(cell) for cell in code)
    assert "synflow:" in everything and "naswot:" in everything, "the own model was scored"
    assert "15625 archs; bundled: True" in everything, "the bundled NB-201 ground truth"
    assert "{'ok': 75}" in everything, "25 archs x 3 scorers, every trial ok"
    assert "Ranking quality: Kendall tau-b per scorer" in everything, "the report's answer"
    figures = [output for cell in code for output in cell.outputs
               if "image/png" in output.get("data", {})]
    assert len(figures) == 1, "the scatter of scores against accuracy"
    run_dir = tmp_path / "runs" / "quickstart"
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()
