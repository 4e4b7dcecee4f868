"""Opening Gold: read-only, patient with a pipeline holding the write lock, and through gnp.serving.warehouse's views."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import duckdb
import pytest
from pandas.testing import assert_frame_equal

from dashboard.synthetic_gold import write_params
from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.dashboard.figures import dashboard_figures
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.selection import filter_options
from gnp.dashboard.source import open_gold
from gnp.serving import warehouse

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
            gold.frame(f"DELETE FROM {gold.table('area_isp_metrics')}")


def test_opening_waits_while_another_process_holds_the_write_lock(own_copy, gold_frames):
    params, path = own_copy
    writer = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with open_gold(params) as gold:
            rows = gold.frame(f"SELECT COUNT(*) AS n FROM {gold.table('area_isp_metrics')}")
        waited = time.perf_counter() - started
    finally:
        writer.wait(timeout=30)
    expected = len(gold_frames["area_isp_metrics"])
    found = int(rows["n"].iloc[0])
    assert found == expected and waited > 0.5, f"expected a wait then {expected} rows, found {found} after {waited:.2f} s"


def test_the_dashboard_reads_the_views_gnp_warehouse_builds_over_parquet(tmp_path, gold_frames, gold_params):
    """Same figures, for the whole country and for one slice, from the real warehouse layer (views over Parquet)
    as from plain typed tables."""
    params = load_params(write_params(tmp_path, tmp_path / "warehouse.duckdb"))
    files = {}
    for name, frame in gold_frames.items():
        folder = tmp_path / "gold" / name
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "part-0.parquet", index=False)
        files[name] = [str(folder)]
    warehouse.refresh_duckdb(Registry.from_params(params), files)
    results = []
    for source_params in (params, gold_params):
        with open_gold(source_params) as gold:
            default = filter_options(gold).default_filters()
            results.append([])
            for f in (default, Filters(default.date_from, default.date_to, "9", "0903", "Nova")):
                results[-1].append((f"headline for {f}", headline(gold, f)))
                results[-1] += [(f"{fig.key} for {f}", fig.query(gold, f)) for fig in dashboard_figures(params)]
    for (what, from_views), (_, from_tables) in zip(*results):
        assert len(from_tables), f"expected rows for {what}"
        assert_frame_equal(from_views, from_tables, check_dtype=False, obj=what)
