from gnp.display import publish as publish_views


def test_nothing_is_shown_with_a_local_warehouse():
    assert publish_views.plan_text("duckdb", "measurements: nothing", "r1", False) is None
    assert publish_views.loaded([]) is None


def test_the_bigquery_plan_is_a_list_of_tables():
    found = publish_views.plan_text("bigquery", "measurements: every partition\nsessions: x", "r1", False).data

    assert found == "BigQuery, run r1. Partitions to replace:\n\n- measurements: every partition\n- sessions: x"


def test_loaded_formats_rows_and_partitions():
    rows = [{"name": "measurements", "table_id": "p.d.measurements", "rows": 1234567, "files": 3,
             "partitions": ["2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04"], "skipped": None},
            {"name": "sessions", "table_id": "p.d.sessions", "rows": 0, "files": 0, "partitions": None,
             "skipped": "no snapshot"}]

    html = publish_views.loaded(rows).to_html()

    assert "1,234,567" in html and "4: 2025-10-01..2025-10-04" in html and "every partition" in html
    assert "p.d.measurements" not in html and "None" not in html
