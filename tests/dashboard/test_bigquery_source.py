"""BigQuery side of the dashboard's Gold source: named parameters typed from the filter values (fast).

That the queries return DuckDB's numbers from BigQuery is checked against an
emulator in tests/test_gcp_pipeline.py.
"""

import datetime as dt

from google.cloud import bigquery

from gnp.dashboard.queries import Filters
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
