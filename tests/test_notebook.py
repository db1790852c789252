"""examples/chapter6.ipynb runs from top to bottom on real MNIST and shows what it says it shows."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "chapter6.ipynb"


def texts(cell) -> str:
    """Everything a code cell printed or returned, as text."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_the_notebook_is_committed_without_outputs():
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.mnist
def test_the_chapter6_notebook_runs_and_adam_learns(mnist_dir, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # the kernel is this interpreter (jupyter_client puts sys.executable for `python`), importing this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [texts(cell) for cell in code]
    assert any(re.match(r"completed \S+", text) for text in outputs), "the single run did not complete"
    assert sum("image/png" in o.get("data", {}) for cell in code for o in cell.outputs) == 2  # the two figures
    summary = re.fullmatch(r"(\d+) runs; best: (\w+) with val acc ([0-9.]+)\n", outputs[-1])
    assert summary, outputs[-1]
    runs, best, val_acc = int(summary[1]), summary[2], float(summary[3])
    assert runs == 2 and best == "adam" and val_acc > 0.5
