"""Spark's cleaning and the DuckDB reference read missing-value markers alike: in any case, after trimming spaces.

Each side states the rule itself (``silver/cleaning.py``, ``reference_sql/rules.py``);
these tests run the same texts through both, real Spark and real DuckDB.
"""

from __future__ import annotations

import duckdb
import pytest
from pyspark.sql import functions as F

from gnp.devtools.reference_sql import rules
from gnp.silver import cleaning

MARKERS = ["", "nan", "NaN", "NAN", "null", "NULL", "None", "NONE", "nOnE", " NaN ", "  ", "nUlL", "Null", "none"]
NOT_MARKERS = [
    "Cosmote", " ΑΤΤΙΚΗΣ ", "0", "NaNa", "nullable", "N/A", "-", "ΝΑΝ",  # Greek capitals, not N-A-N
    "\u00a0NaN",  # a no-break space is not trimmed (trim removes spaces only)
    "\tnull",  # nor is a tab
]
VALUES = [None, *MARKERS, *NOT_MARKERS]


@pytest.fixture(scope="module")
def spark_read(spark) -> dict:
    """Every value through Spark's ``null_if_missing``, in one job."""
    df = spark.createDataFrame([(i, v) for i, v in enumerate(VALUES)], "i int, v string")
    rows = df.select("i", cleaning.null_if_missing(F.col("v")).alias("out")).collect()
    return {VALUES[row.i]: row.out for row in rows}


@pytest.fixture(scope="module")
def sql_read() -> dict:
    """Every value through the reference's ``present``, in one query."""
    con = duckdb.connect()
    con.execute("CREATE TABLE texts (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO texts VALUES (?, ?)", list(enumerate(VALUES)))
    rows = con.execute(f"SELECT i, {rules.present('v')} FROM texts").fetchall()
    return {VALUES[i]: out for i, out in rows}


@pytest.mark.parametrize("marker", MARKERS, ids=repr)
def test_a_marker_in_any_case_is_missing_in_spark_and_in_the_reference(marker, spark_read, sql_read):
    found = {"spark": spark_read[marker], "reference": sql_read[marker]}

    assert found == {"spark": None, "reference": None}, f"{marker!r} is a missing-value marker: found {found}"


@pytest.mark.parametrize("text", NOT_MARKERS, ids=repr)
def test_other_text_is_kept_trimmed_of_spaces_alike(text, spark_read, sql_read):
    expected = text.strip(" ")
    found = {"spark": spark_read[text], "reference": sql_read[text]}

    assert found == {"spark": expected, "reference": expected}, f"{text!r}: expected {expected!r}, found {found}"


def test_null_stays_null(spark_read, sql_read):
    assert (spark_read[None], sql_read[None]) == (None, None)


@pytest.mark.parametrize("marker", ["NONE", " nUlL ", "NAN"], ids=repr)
def test_a_measure_sent_as_a_marker_is_not_measured_in_both(marker, spark):
    """Through the number parsers: missing (null), not unreadable (which would quarantine the test)."""
    spark_value = spark.createDataFrame([(marker,)], "v string").select(cleaning.parse_number(F.col("v"))).first()[0]
    sql_value = duckdb.connect().execute(f"SELECT {rules.number('v')} FROM (SELECT ? AS v)", [marker]).fetchone()[0]

    assert (spark_value, sql_value) == (None, None), f"{marker!r}: Spark {spark_value!r}, reference {sql_value!r}"
