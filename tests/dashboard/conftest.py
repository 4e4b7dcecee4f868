"""Fixtures: a small synthetic Gold warehouse (see synthetic_gold.py), its params, and a GoldSource on it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard.synthetic_gold import synthetic_gold, write_gold_duckdb, write_params
from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.dashboard.source import GoldSource, duckdb_executor


@pytest.fixture(scope="session")
def gold_frames() -> dict[str, pd.DataFrame]:
    return synthetic_gold()


@pytest.fixture(scope="session")
def gold_duckdb(tmp_path_factory, gold_frames) -> Path:
    path = tmp_path_factory.mktemp("gold") / "warehouse.duckdb"
    write_gold_duckdb(path, gold_frames)
    return path


@pytest.fixture(scope="session")
def gold_params_file(gold_duckdb) -> Path:
    return write_params(gold_duckdb.parent, gold_duckdb)


@pytest.fixture(scope="session")
def gold_params(gold_params_file):
    return load_params(gold_params_file)


@pytest.fixture
def gold(gold_params, gold_duckdb):
    """A GoldSource on the synthetic warehouse; ``gold.log`` lists the SQL it ran."""
    con = duckdb.connect(str(gold_duckdb), read_only=True)
    yield GoldSource(Registry.from_params(gold_params), duckdb_executor(con))
    con.close()
