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


SPARK_NOTEBOOKS = ("20_silver.ipynb", "30_gold.ipynb")  # each starts a local Spark JVM when run alone


def nbval(tmp_path: Path, names: list[str], lake_from: Path | None = None, dates=("2025-10-26", "2025-10-27")):
    """nbval executes the committed notebooks unchanged; their default params file is swapped for a tiny one,
    over a copy of ``lake_from``'s lake and warehouse when given (a whole run's, so the readers have Gold)."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("9*"))
    params = yaml.safe_load((ROOT / "params" / "ci.yaml").read_text())
    params["storage"] = {"lake": "../run/lake", "artifacts": "../run/artifacts"}
    params["warehouse"]["duckdb_path"] = "../run/warehouse.duckdb"
    params["privacy"] = {"pseudonym_key_file": "../run/secrets/pseudonym.key"}
    params["dates"].update({"date_from": dates[0], "date_to": dates[1]})
    if lake_from is not None:
        for name in ("lake", "secrets"):
            shutil.copytree(lake_from / name, tmp_path / "run" / name)
        shutil.copy(lake_from / "warehouse.duckdb", tmp_path / "run" / "warehouse.duckdb")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "local.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("GNP_SPARK_REMOTE", None)
    books = [str(tmp_path / "notebooks" / name) for name in names]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
         "--rootdir", str(tmp_path), *books],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"nbval failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]  # nbval counts cells


@pytest.mark.slow
def test_the_notebooks_without_spark_run_top_to_bottom_with_their_defaults_under_nbval(tmp_path, ci_run):
    """Ingest, publish, the report and the chapters, alone, over a copy of the session's whole run."""
    names = [p.name for p in STAGE_NOTEBOOKS if p.name not in SPARK_NOTEBOOKS]
    nbval(tmp_path, names, lake_from=Path(ci_run.registry.lake).parent, dates=("2025-10-28", "2025-10-28"))


@pytest.mark.slow
@pytest.mark.heavy
def test_stage_notebooks_run_top_to_bottom_with_their_defaults_under_nbval(tmp_path):
    """Every stage notebook alone, Silver and Gold each on a local Spark session of its own (`make test-heavy`)."""
    nbval(tmp_path, [p.name for p in STAGE_NOTEBOOKS])
    assert (tmp_path / "run" / "warehouse.duckdb").exists(), "the gold notebook did not refresh the warehouse"
