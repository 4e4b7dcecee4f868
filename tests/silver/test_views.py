import datetime as dt

import pandas as pd

from gnp.silver.accounting import Accounting
from gnp.display import silver as views
from gnp.display.common import show

D1, D2, D3 = dt.date(2025, 10, 26), dt.date(2025, 10, 27), dt.date(2025, 10, 28)


def test_day_counts_splits_each_partition_as_the_accounting_does(spark):
    flagged = spark.createDataFrame(
        [(D1, False, []), (D1, False, ["bad_speed"]), (D1, True, []), (D1, True, ["bad_speed"]),
         (D2, False, []), (D2, False, []), (D3, False, []), (None, False, ["no_time"])],
        "partition_date date, is_duplicate boolean, reasons array<string>",
    )

    found = views.day_counts(flagged, [D1, D2])

    expected = pd.DataFrame({"day": [D1, D1, D1, D2, D2, D2],
                             "fate": ["kept", "quarantined", "duplicate"] * 2,
                             "records": [1, 1, 2, 2, 0, 0]})
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)
    assert set(views.day_counts(flagged, None)["day"].dropna()) == {D1, D2, D3}


def test_accounting_frame_reads_in_order_with_plain_names():
    found = views.accounting_frame(Accounting(100, 80, 10, 10, 2, 0, 3))

    assert found["count"].tolist() == [100, 80, 10, 10, 0, 2, 3]
    assert found["records"].iloc[0] == "Bronze records read"


def test_day_chart_stacks_fates_in_a_fixed_order():
    counts = views.to_long(pd.DataFrame({"day": [D1], "kept": [5], "quarantined": [1], "duplicate": [2]}))

    spec = views.day_chart(counts).to_dict()

    assert spec["encoding"]["color"]["scale"]["domain"] == ["kept", "quarantined", "duplicate"]
    assert spec["encoding"]["y"]["stack"] is True
    assert "<svg" in show(views.day_chart(counts)).data, "the chart must draw offline"


def test_reasons_sentence_names_the_commonest_reason_or_says_none():
    reasons = pd.DataFrame({"reason": ["no_time", "bad_speed"], "count": [3, 7]})

    accounting = Accounting(bronze_records=1500, silver_rows=1000, quarantine_rows=9, duplicates=191,
                            rows_without_place=0, other_partitions=300)

    assert views.reasons_sentence(reasons, accounting) == (
        "9 of 1,200 records of the days rewritten (0.8%) were quarantined; the commonest reason is bad_speed "
        "(7 records).")
    assert views.reasons_sentence(reasons.assign(count=[3, 1]), accounting).endswith("no_time (3 records).")
    assert views.reasons_sentence(reasons.iloc[0:0], Accounting(1200, 1200, 0, 0, 0)) == (
        "No record was quarantined (of 1,200 records of the days rewritten).")
    assert views.reasons_chart(reasons).to_dict()["encoding"]["y"]["sort"] == ["bad_speed", "no_time"]
    assert "<svg" in show(views.reasons_chart(reasons)).data


def test_bucket_counts_orders_buckets_and_names_new_and_returning(spark):
    sessions = spark.createDataFrame(
        [("4+", True), ("1", False), ("1", False), ("2-3", True), ("1", True)],
        "behaviour_bucket string, is_returning boolean",
    )

    found = views.bucket_counts(sessions)

    expected = pd.DataFrame({"bucket": ["1", "1", "2-3", "4+"], "who": ["new", "returning", "returning", "returning"],
                             "sessions": [2, 1, 1, 1]})
    pd.testing.assert_frame_equal(found, expected)
    assert views.bucket_chart(found).to_dict()["encoding"]["x"]["sort"] == ["1", "2-3", "4+"]
    assert "<svg" in show(views.bucket_chart(found)).data
