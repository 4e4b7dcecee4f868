"""The committed notebooks: thin, clean, and runnable top to bottom with their defaults (nbval)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbval_run import nbval

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STAGE_NOTEBOOKS = [p for p in NOTEBOOKS if not p.name.startswith("9")]


def code_cells(path: Path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(code_cells(path)) if c.outputs or c.execution_count]
    assert not dirty, f"{path.name}: expected no outputs, found some in code cells {dirty}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_thin_no_functions_or_classes(path):
    for cell in code_cells(path):
        tree = ast.parse(cell.source)
        defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defined, f"{path.name} defines {defined}: logic belongs in lib/gnp with a test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_typed_commented_parameters(path):
    first = code_cells(path)[0]
    assert "parameters" in first.metadata.get("tags", []), f"{path.name}: first code cell is not tagged parameters"
    for node in ast.parse(first.source).body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), (
            f"{path.name}: parameters must be typed literals, found {ast.unparse(node)}"
        )
    lines = [line for line in first.source.splitlines() if line.strip()]
    uncommented = [line for line in lines if "#" not in line]
    assert not uncommented, f"{path.name}: every parameter needs a comment, found {uncommented}"


@pytest.mark.slow
@pytest.mark.heavy
def test_stage_notebooks_run_top_to_bottom_with_their_defaults_under_nbval(tmp_path):
    """Every stage notebook alone, Silver and Gold each on a local Spark session of its own (`make test-heavy`)."""
    nbval(tmp_path, [p.name for p in STAGE_NOTEBOOKS])
    assert (tmp_path / "run" / "warehouse.duckdb").exists(), "the gold notebook did not refresh the warehouse"
