from chispa import assert_df_equality

from gnp.gold.suppression import suppressed_cells, with_suppression


def test_cells_below_k_users_are_suppressed_and_k_users_are_not(spark):
    cells = spark.createDataFrame(
        [("k-1", 10, 4, 1.5), ("k", 12, 5, 2.5), ("none", 1, None, 3.5)],
        "cell string, tests int, users int, stat double",
    )

    found = with_suppression(cells, "users", 5, ["users", "stat"])

    expected = spark.createDataFrame(
        [("k-1", 10, None, None, True), ("k", 12, 5, 2.5, False), ("none", 1, None, None, True)],
        "cell string, tests int, users int, stat double, is_suppressed boolean",
    )
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)


def test_suppressed_cells_counts_per_table_and_skips_tables_without_the_flag(spark):
    a = spark.createDataFrame([(True,), (False,), (True,)], "is_suppressed boolean")
    b = spark.createDataFrame([], "is_suppressed boolean")
    c = spark.createDataFrame([(1,)], "x int")

    found = suppressed_cells({"a": a, "b": b, "c": c})

    expected = spark.createDataFrame([("a", 3, 2), ("b", 0, 0)], "table_name string, cells bigint, suppressed_cells bigint")
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
