"""BigQuery side of the dashboard's Gold source: typed named parameters and the bytes cap on every job (fast).

That the queries return DuckDB's numbers from BigQuery is checked against an
emulator in tests/e2e/test_gcp_pipeline.py.
"""

import contextlib
import datetime as dt

from google.cloud import bigquery

from gnp.dashboard import source
from gnp.serving import bigquery_tables
from gnp.dashboard.queries import Filters
from gnp.dashboard.selection import filter_options, has_data
from gnp.dashboard.source import query_parameters, used_params


def test_filter_values_become_typed_named_parameters_and_none_a_typed_null():
    params = {"date_from": dt.date(2025, 10, 25), "isp": None, "periphery_id": "9", "k": 5, "share": 0.5,
              "flag": True, "at": dt.datetime(2025, 10, 26, 1, 0, tzinfo=dt.timezone.utc)}

    found = query_parameters(params)

    expected = [
        bigquery.ScalarQueryParameter("date_from", "DATE", dt.date(2025, 10, 25)),
        bigquery.ScalarQueryParameter("isp", "STRING", None),
        bigquery.ScalarQueryParameter("periphery_id", "STRING", "9"),
        bigquery.ScalarQueryParameter("k", "INT64", 5),
        bigquery.ScalarQueryParameter("share", "FLOAT64", 0.5),
        bigquery.ScalarQueryParameter("flag", "BOOL", True),
        bigquery.ScalarQueryParameter("at", "TIMESTAMP", dt.datetime(2025, 10, 26, 1, 0, tzinfo=dt.timezone.utc)),
    ]
    assert found == expected, f"expected {expected}, found {found}"


def test_every_filter_parameter_has_a_bigquery_type():
    f = Filters(dt.date(2025, 10, 1), dt.date(2025, 10, 28), periphery_id=None, regional_unit_id="44", isp="ISP A")
    sql = " ".join(f"@{name}" for name in f.sql_params())

    types = {p.name: p.type_ for p in query_parameters(used_params(sql, f.sql_params()))}

    expected = {"date_from": "DATE", "date_to": "DATE", "previous_from": "DATE", "week_from": "DATE",
                "month_from": "DATE", "area_level": "STRING", "area_id": "STRING", "isp": "STRING",
                "periphery_id": "STRING", "country_level": "STRING", "periphery_level": "STRING",
                "regional_unit_level": "STRING", "all_isps": "STRING"}
    assert types == expected, f"expected {expected}, found {types}"


class _RecordingClient:
    """Stands in for bigquery.Client: records the job config of every query, then fails it (no network)."""

    def __init__(self):
        self.configs: list[bigquery.QueryJobConfig] = []

    def query(self, sql, job_config=None):
        self.configs.append(job_config)
        raise RuntimeError("no BigQuery here")

    def close(self):
        pass


def test_every_dashboard_query_job_caps_the_bytes_it_may_bill(gold_params, monkeypatch):
    client = _RecordingClient()
    monkeypatch.setattr(bigquery_tables, "bigquery_client", lambda params: client)  # open_gold imports it on use
    on_bigquery = gold_params.model_copy(update={"warehouse": gold_params.warehouse.model_copy(
        update={"kind": "bigquery", "project": "p", "maximum_bytes_billed": 123_456_789})})

    for query in (filter_options, lambda gold: has_data(gold, Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))):
        with source.open_gold(on_bigquery) as gold, contextlib.suppress(RuntimeError):
            query(gold)

    caps = [config.maximum_bytes_billed for config in client.configs]
    assert len(caps) == 2 and caps == [123_456_789] * 2, f"expected every query job capped at 123456789, found {caps}"
    assert client.configs[1].query_parameters, "expected the named parameters still sent with the cap"
