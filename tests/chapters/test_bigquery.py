"""The chapters and the dashboard's headline read the same Gold from BigQuery as from DuckDB.

BigQuery here is bqemulator (tests/bigquery_emulator.py) loaded with the
synthetic Gold from Parquet files written by DuckDB with the specs' types.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from bigquery_emulator import running_emulator
from dashboard.synthetic_gold import synthetic_gold, write_gold_duckdb, write_params
from google.cloud import bigquery
from pandas.testing import assert_frame_equal

from gnp.chapters import data, frustration, providers, regions
from gnp.core import context
from gnp.core.config import load_params
from gnp.core.schemas import GOLD_TABLES
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.source import open_gold
from gnp.serving.bigquery_tables import EMULATOR_HOST_ENV, bigquery_client, bigquery_schema

pytestmark = pytest.mark.slow
CHAPTERS = {"regions": regions, "providers": providers, "frustration": frustration}


def _load(client: bigquery.Client, project: str, warehouse, gcs_root) -> None:
    """Every Gold table of the DuckDB file, through a Parquet file in the emulator's bucket folder."""
    (gcs_root / "gold").mkdir(exist_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for spec in GOLD_TABLES:
            con.execute(f"COPY gold.{spec.name} TO '{gcs_root}/gold/{spec.name}.parquet' (FORMAT parquet)")
            table = client.create_table(bigquery.Table(f"{project}.gold.{spec.name}", schema=bigquery_schema(spec)))
            client.load_table_from_uri(f"gs://gold/{spec.name}.parquet", table,
                                       job_config=bigquery.LoadJobConfig(source_format="PARQUET")).result()
    finally:
        con.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chapters-bq")
    write_gold_duckdb(folder / "warehouse.duckdb", synthetic_gold())
    # eight whole ISO weeks of the synthetic days, so the period queries read rows too
    on_duckdb = load_params(write_params(folder, folder / "warehouse.duckdb"),
                            {"dates.date_from": "2024-12-09", "dates.date_to": "2025-02-02"})
    with running_emulator(folder) as emulator, pytest.MonkeyPatch.context() as env:
        env.setenv(EMULATOR_HOST_ENV, emulator.endpoint)
        on_bigquery = on_duckdb.model_copy(update={"warehouse": on_duckdb.warehouse.model_copy(
            update={"kind": "bigquery", "project": emulator.project})})
        client = bigquery_client(on_bigquery)
        client.create_dataset("gold")
        _load(client, emulator.project, folder / "warehouse.duckdb", emulator.gcs_root)
        client.close()
        frames = {name: (data.load(context.of_params(on_bigquery), chapter.QUERIES),
                         data.load(context.of_params(on_duckdb), chapter.QUERIES))
                  for name, chapter in CHAPTERS.items()}
        yield {**frames, "params": (on_bigquery, on_duckdb)}


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_chapter_query_returns_the_same_frame_from_bigquery_as_from_duckdb(both, chapter):
    on_bigquery, on_duckdb = both[chapter]
    for name, expected in on_duckdb.items():
        assert len(expected), f"{chapter}.{name}: expected rows from the synthetic Gold"
        found = on_bigquery[name]
        assert_frame_equal(found.sort_values(list(found.columns[:3]), ignore_index=True),
                           expected.sort_values(list(expected.columns[:3]), ignore_index=True),
                           check_dtype=False, obj=f"{chapter}.{name}")


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_chapter_says_the_same_on_bigquery(both, chapter):
    module = CHAPTERS[chapter]
    args = (5, 0.8) if chapter == "providers" else (5,)
    on_bigquery, on_duckdb = both[chapter]
    assert module.findings(on_bigquery, *args) == module.findings(on_duckdb, *args)


@pytest.mark.parametrize("first, last", [("2025-01-01", "2025-01-31"), ("2025-01-06", "2025-01-12"),
                                         ("2025-01-02", "2025-01-20")])
def test_the_headline_reads_the_same_from_bigquery_as_from_duckdb(both, first, last):
    # a whole month and a whole ISO week (exact period medians, compared with the period before) and a range
    # that is neither (approximated): the period queries' SQL runs on both engines
    on_bigquery, on_duckdb = both["params"]
    f = Filters(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    with open_gold(on_bigquery) as bq, open_gold(on_duckdb) as duck:
        expected = headline(duck, f)
        assert len(expected), f"expected a headline for {f}"
        assert_frame_equal(headline(bq, f), expected, check_dtype=False, obj=f"headline for {f}")
