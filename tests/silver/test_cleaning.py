import datetime as dt
import hashlib
import hmac

from chispa import assert_df_equality
from pyspark.sql import functions as F

from gnp.silver import cleaning as C
from gnp.silver import pseudonym
from gnp.silver.measurements import INNER_KEY_COLUMN, OUTER_KEY_COLUMN

UTC = dt.timezone.utc


def _apply(spark, values, fn, out_type):
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")
    return df.select("i", fn(F.col("v")).cast(out_type).alias("out"))


def _expected(spark, outs, out_type):
    return spark.createDataFrame(list(enumerate(outs)), f"i int, out {out_type}")


def test_text_sentinels_become_null(spark):
    values = [None, "", "  ", "NaN", "nan", "null", "ΑΤΤΙΚΗΣ ", "Cosmote", "0"]
    found = _apply(spark, values, C.null_if_missing, "string")
    expected = _expected(spark, [None, None, None, None, None, None, "ΑΤΤΙΚΗΣ", "Cosmote", "0"], "string")
    assert_df_equality(found, expected, ignore_nullable=True)


def test_codes_lose_the_float_suffix_and_junk_becomes_null(spark):
    values = ["44.0", "44", "9.00", "044", "0.0", None, "NaN", "", "44.5", "4.4e1", "-3.0", "abc"]
    found = _apply(spark, values, C.clean_code, "string")
    expected = _expected(spark, ["44", "44", "9", "44", "0", None, None, None, None, None, None, None], "string")
    assert_df_equality(found, expected, ignore_nullable=True)


def test_postal_codes_are_exactly_five_digits(spark):
    values = ["19016.0", "19016", "1901.0", "190160.0", None, "NaN", "19016.5"]
    found = _apply(spark, values, C.clean_postal_code, "string")
    expected = _expected(spark, ["19016", "19016", None, None, None, None, None], "string")
    assert_df_equality(found, expected, ignore_nullable=True)


def test_ids_parse_to_bigint_only_when_whole(spark):
    values = ["123.0", "123", "12.5", None, "NaN", "99999999999999999999999"]
    found = _apply(spark, values, C.parse_id, "bigint")
    expected = _expected(spark, [123, 123, None, None, None, None], "bigint")
    assert_df_equality(found, expected, ignore_nullable=True)


def test_numbers_parse_with_nan_as_null_and_infinity_kept(spark):
    values = ["48.5", "-3", "1e3", "NaN", "", None, "fast", "Infinity"]
    found = _apply(spark, values, C.parse_number, "double")
    expected = _expected(spark, [48.5, -3.0, 1000.0, None, None, None, None, float("inf")], "double")
    assert_df_equality(found, expected, ignore_nullable=True)


def test_contract_speeds_of_zero_or_less_mean_unknown(spark):
    df = spark.createDataFrame([(0, 50.0), (1, 0.0), (2, -1.0), (3, None)], "i int, v double")
    found = df.select("i", C.positive_or_null(F.col("v")).alias("out"))
    assert_df_equality(found, _expected(spark, [50.0, None, None, None], "double"), ignore_nullable=True)


def test_local_time_becomes_utc_with_the_repeated_autumn_hour_read_as_its_first_occurrence(spark):
    rows = [
        # text, UTC, local date, local hour, ambiguous
        ("2025-10-26 02:59:59", dt.datetime(2025, 10, 25, 23, 59, 59), dt.date(2025, 10, 26), 2, False),
        ("2025-10-26 03:00:00", dt.datetime(2025, 10, 26, 0, 0, 0), dt.date(2025, 10, 26), 3, True),
        ("2025-10-26 03:59:59", dt.datetime(2025, 10, 26, 0, 59, 59), dt.date(2025, 10, 26), 3, True),
        ("2025-10-26 04:00:00", dt.datetime(2025, 10, 26, 2, 0, 0), dt.date(2025, 10, 26), 4, False),
        ("2025-10-27 00:30:00", dt.datetime(2025, 10, 26, 22, 30, 0), dt.date(2025, 10, 27), 0, False),
        ("2025-07-01 12:00:00", dt.datetime(2025, 7, 1, 9, 0, 0), dt.date(2025, 7, 1), 12, False),
        # the hour skipped in spring moves forward, its date and hour stay as published
        ("2025-03-30 03:30:00", dt.datetime(2025, 3, 30, 1, 30, 0), dt.date(2025, 3, 30), 3, False),
        ("2025-10-26 25:10:00", None, None, None, False),
        ("26/10/2025 10:00", None, None, None, False),
        ("2025-02-30 10:00:00", None, None, None, False),
        ("NaN", None, None, None, False),
        (None, None, None, None, False),
    ]
    df = spark.createDataFrame([(r[0],) for r in rows], "t string")
    utc = C.local_time_to_utc(F.col("t"))
    found = df.select(
        "t",
        utc.alias("measured_at"),
        F.when(utc.isNotNull(), C.local_date(F.col("t"))).alias("local_date"),
        F.when(utc.isNotNull(), C.local_hour(F.col("t"))).alias("local_hour"),
        C.is_dst_ambiguous(utc, F.col("t")).alias("ambiguous"),
    )
    expected = spark.createDataFrame(
        [(t, u.replace(tzinfo=UTC) if u else None, d, h, a) for t, u, d, h, a in rows],
        "t string, measured_at timestamp, local_date date, local_hour int, ambiguous boolean",
    )
    assert_df_equality(found, expected, ignore_nullable=True)


def test_local_time_does_not_depend_on_the_session_time_zone(spark):
    df = spark.createDataFrame([("2025-10-26 03:30:00",)], "t string")
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        found = df.select(F.unix_seconds(C.local_time_to_utc(F.col("t"))).alias("s")).first()["s"]
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert found == int(dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC).timestamp())


def test_pseudonym_is_the_lowercase_hex_hmac_sha256_of_the_trimmed_ip(spark):
    for key in (b"k" * 32, b"a longer key than SHA-256's 64-byte block, hashed first as HMAC says" * 2):
        keys = pseudonym.key_frame(spark, key)
        df = spark.createDataFrame([("80.191.12",), (" 80.191.12 ",), ("NaN",), (None,)], "ip string").crossJoin(keys)
        pseudonym_of = C.pseudonymise(F.col("ip"), F.col(INNER_KEY_COLUMN), F.col(OUTER_KEY_COLUMN))
        found = [r.u for r in df.select(pseudonym_of.alias("u")).collect()]
        digest = hmac.new(key, b"80.191.12", hashlib.sha256).hexdigest()
        assert found == [digest, digest, None, None], f"expected the HMAC {digest} twice then nulls, found {found}"
