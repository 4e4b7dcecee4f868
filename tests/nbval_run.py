"""nbval over copies of the committed notebooks, their default params file swapped for a tiny one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

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
