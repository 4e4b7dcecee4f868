"""The ingest notebook under papermill, for the tests that execute it (its output, its refusals, its secrets)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "10_ingest.ipynb"
KERNEL = "gnp"


def execute(params_file: Path, output: Path, **parameters) -> nbformat.NotebookNode:
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(output),
        parameters={"params_file": str(params_file), **parameters},
        kernel_name=KERNEL,
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
    )
    return nbformat.read(output, as_version=4)


def output_text(nb: nbformat.NotebookNode) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


def output_text(nb: nbformat.NotebookNode) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])
