"""Opening Gold: read-only, and patient with a pipeline that holds DuckDB's write lock for a moment."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from dashboard.synthetic_gold import write_params
from gnp.config import load_params
from gnp.dashboard.source import open_gold

HOLD_LOCK = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(1.5)"


@pytest.fixture
def own_copy(tmp_path, gold_duckdb):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(gold_duckdb, path)
    return load_params(write_params(tmp_path, path)), path


def test_gold_is_opened_read_only(own_copy):
    params, _ = own_copy
    with open_gold(params) as gold:
        with pytest.raises(duckdb.Error, match="read-only"):
            gold.frame(f"DELETE FROM {gold.table('regional_metrics')}")


def test_opening_waits_while_another_process_holds_the_write_lock(own_copy):
    params, path = own_copy
    writer = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with open_gold(params) as gold:
            rows = gold.frame(f"SELECT COUNT(*) AS n FROM {gold.table('regional_metrics')}")
        waited = time.perf_counter() - started
    finally:
        writer.wait(timeout=30)
    assert int(rows["n"].iloc[0]) == 780 and waited > 0.5, f"expected a wait then 780 rows, found {waited:.2f} s"
