"""The committed notebooks: thin, clean, and runnable top to bottom with their defaults (nbval)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
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
def test_stage_notebooks_run_top_to_bottom_with_their_defaults_under_nbval(tmp_path):
    """nbval executes the committed notebooks unchanged; their default params file is swapped for a tiny one."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("9*"))
    params = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    params["storage"] = {"lake": "../run/lake", "artifacts": "../run/artifacts"}
    params["warehouse"]["duckdb_path"] = "../run/warehouse.duckdb"
    params["privacy"] = {"pseudonym_key_file": "../run/secrets/pseudonym.key"}
    params["dates"].update({"date_from": "2025-10-26", "date_to": "2025-10-27"})
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "local.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("GNP_SPARK_REMOTE", None)

    books = [str(tmp_path / "notebooks" / p.name) for p in STAGE_NOTEBOOKS]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
         "--rootdir", str(tmp_path), *books],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"nbval failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert (tmp_path / "run" / "warehouse.duckdb").exists(), "the gold notebook did not refresh the warehouse"
