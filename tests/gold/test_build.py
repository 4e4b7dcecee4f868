"""The hand-computed dataset: 20 tests, 3 users, 2 peripheries, 2 days, every Gold value checked.

Users A and B live in Attica (periphery 9, unit 45), C in Central Macedonia
(periphery 2, unit 16); B travels to periphery 2 on day 2. Each user has one
ISP (A Cosmote, B Nova, C Vodafone), so an ISP slice holds one user's rows. k = 1 so nothing is
suppressed (suppression has its own tests); thresholds 0.5 and 0.8; 4 buckets
per decade. The hand computation is in the comments next to each value.
"""

import datetime as dt
import math

import pytest
from silver_factories import measurement, measurements_df, session, sessions_df

from gnp.core.config import SemanticsParams
from gnp.gold import gold_tables, reduce_measurements

D1 = dt.date(2025, 3, 3)  # a Monday
D2 = dt.date(2025, 3, 4)
SEMANTICS = SemanticsParams(k_anonymity=1, attainment_low=0.5, attainment_high=0.8, histogram_buckets_per_decade=4)

# id, user, day, hour, minute, periphery, download, upload, rtt, loss, jitter, contract, isp
TESTS = [
    (1, "A", D1, 9, 0, "9", 10.0, 1.0, 10.0, 0.0, 1.0, 100.0, "Cosmote"),
    (2, "A", D1, 9, 10, "9", 20.0, 2.0, 10.0, 0.0, 2.0, 100.0, "Cosmote"),
    (3, "A", D1, 20, 0, "9", 30.0, 3.0, 20.0, 1.0, 3.0, 100.0, "Cosmote"),
    (4, "A", D1, 20, 5, "9", 40.0, 4.0, 20.0, 0.0, 4.0, 100.0, "Cosmote"),
    (5, "A", D1, 20, 10, "9", 1000.0, 5.0, 30.0, 0.0, 5.0, 100.0, "Cosmote"),  # outlier of a heavy tester
    (6, "B", D1, 20, 0, "9", 50.0, 5.0, 30.0, 1.0, 2.0, 100.0, "Nova"),
    (7, "B", D1, 21, 0, "9", 70.0, 7.0, 50.0, 3.0, 4.0, 100.0, "Nova"),
    (8, "C", D1, 12, 0, "2", 0.0, 1.0, 40.0, 2.0, 5.0, None, "Vodafone"),  # zero speed
    (9, "C", D1, 12, 5, "2", 8.0, 1.0, 60.0, 2.0, 5.0, None, "Vodafone"),
    (10, "C", D1, 12, 10, "2", 12.0, 1.0, 80.0, 4.0, 5.0, None, "Vodafone"),
    (11, "A", D1, 22, 0, None, 5.0, None, None, None, None, None, None),  # no place: out of every place table
    (12, "A", D2, 8, 0, "9", 30.0, 3.0, 15.0, 0.0, 2.0, 100.0, "Cosmote"),
    (13, "A", D2, 8, 5, "9", 50.0, 5.0, 25.0, 0.0, 4.0, 100.0, "Cosmote"),
    (14, "B", D2, 19, 0, "2", 60.0, 6.0, 40.0, 0.0, 3.0, 50.0, "Nova"),
    (15, "B", D2, 19, 5, "2", None, None, None, None, None, 50.0, "Nova"),  # null row
    (16, "C", D2, 18, 0, "2", 9.0, 2.0, 70.0, 1.0, 6.0, 20.0, "Vodafone"),
    (17, "C", D2, 18, 5, "2", 11.0, 2.0, 90.0, 1.0, 8.0, 20.0, "Vodafone"),
    (18, "C", D2, 18, 10, "2", 14.0, 3.0, 50.0, 3.0, 6.0, 20.0, "Vodafone"),
    (19, "C", D2, 18, 15, "2", 16.0, 3.0, 110.0, 1.0, 10.0, 20.0, "Vodafone"),
    (20, "C", D2, 21, 0, "2", 20.0, 4.0, 60.0, 0.0, 4.0, 20.0, "Vodafone"),
]

ISP_OF = {"A": "Cosmote", "B": "Nova", "C": "Vodafone"}
UNIT_OF = {"9": "45", "2": "16"}  # every test of a periphery is in this regional unit

# Sessions as Silver would build them from TESTS (30-minute gap); isp: ISP_OF, except A3 (test 11, none).
# user, day, hour, tests, periphery, returning, median download, loss, jitter, rtt
SESSIONS = [
    ("A", D1, 9, 2, "9", False, 15.0, 0.0, 1.5, 10.0),  # A1: tests 1-2
    ("A", D1, 20, 3, "9", True, 40.0, 0.0, 4.0, 20.0),  # A2: tests 3-5
    ("A", D1, 22, 1, None, True, 5.0, None, None, None),  # A3: test 11
    ("B", D1, 20, 1, "9", False, 50.0, 1.0, 2.0, 30.0),  # B1: test 6
    ("B", D1, 21, 1, "9", True, 70.0, 3.0, 4.0, 50.0),  # B2: test 7 (60 minutes later)
    ("C", D1, 12, 3, "2", False, 8.0, 2.0, 5.0, 60.0),  # C1: tests 8-10
    ("A", D2, 8, 2, "9", True, 40.0, 0.0, 3.0, 20.0),  # A4: tests 12-13
    ("B", D2, 19, 2, "2", True, 60.0, 0.0, 3.0, 40.0),  # B3: tests 14-15
    ("C", D2, 18, 4, "2", True, 12.5, 1.0, 7.0, 80.0),  # C2: tests 16-19
    ("C", D2, 21, 1, "2", True, 20.0, 0.0, 4.0, 60.0),  # C3: test 20
]


@pytest.fixture(scope="module")
def gold(spark):
    tests = [
        measurement(i, u, d, h, p, dl, ul, rtt, loss, jit, contract, isp, minute=mi)
        for i, u, d, h, mi, p, dl, ul, rtt, loss, jit, contract, isp in TESTS
    ]
    sessions = [
        session(u, d, h, n, p, ret, download=dl, loss=loss, jitter=jit, rtt=rtt, isp=ISP_OF[u] if p else None)
        for u, d, h, n, p, ret, dl, loss, jit, rtt in SESSIONS
    ]
    reductions = reduce_measurements(measurements_df(spark, tests))
    tables = gold_tables(reductions, sessions_df(spark, sessions), SEMANTICS)
    return {name: [r.asDict() for r in df.collect()] for name, df in tables.items()}


def _where(rows, **key):
    return [r for r in rows if all(r[k] == v for k, v in key.items())]


def _slice(level, area_id, isp="all"):
    return dict(area_level=level, area_id=area_id, isp=isp)


def _only(rows, **key):
    found = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(found) == 1, f"expected one row for {key}, found {len(found)}"
    return found[0]


def _check(row, expected):
    for column, value in expected.items():
        assert row[column] == pytest.approx(value, rel=1e-12, abs=1e-12), (
            f"{column}: expected {value}, found {row[column]}"
        )


REGIONAL = {
    # D1, Attica: tests 1-7; users A (5 tests) and B (2 tests); sessions A1, A2, B1, B2.
    # per-user medians: download A 30 (of 10,20,30,40,1000), B 60 (of 50,70)
    #   quartiles over [30, 60]: 30 + 0.25*30 = 37.5, 45, 52.5; log-average sqrt(30*60)
    # upload A 3, B 6: 3.75, 4.5, 5.25, sqrt(18); rtt A 20, B 40 -> 30; jitter A 3, B 3 -> 3;
    # loss A 0 (of 0,0,1,0,0), B 2 -> 1.  Raw means: download 1220/7, upload 27/7, rtt 170/7, loss 5/7.
    (D1, "9"): dict(tests=7, users=2, sessions=4, download_mean_test_mbps=1220 / 7, download_p25_mbps=37.5,
                    download_median_mbps=45.0, download_p75_mbps=52.5, download_logavg_mbps=math.sqrt(1800),
                    upload_mean_test_mbps=27 / 7, upload_p25_mbps=3.75, upload_median_mbps=4.5,
                    upload_p75_mbps=5.25, upload_logavg_mbps=math.sqrt(18), rtt_mean_ms=170 / 7,
                    rtt_median_ms=30.0, jitter_median_ms=3.0, loss_median_pct=1.0, loss_mean_pct=5 / 7),
    # D1, Central Macedonia: C alone, tests 8-10 (download 0, 8, 12): median 8; the zero is a test
    # like any other for the median and the raw mean (20/3); log-average over users is ln-avg of [8].
    (D1, "2"): dict(tests=3, users=1, sessions=1, download_mean_test_mbps=20 / 3, download_p25_mbps=8.0,
                    download_median_mbps=8.0, download_p75_mbps=8.0, download_logavg_mbps=8.0,
                    upload_mean_test_mbps=1.0, upload_median_mbps=1.0, upload_logavg_mbps=1.0,
                    rtt_mean_ms=60.0, rtt_median_ms=60.0, jitter_median_ms=5.0, loss_median_pct=2.0,
                    loss_mean_pct=8 / 3),
    # D2, Attica: A alone, tests 12-13: download (30+50)/2 = 40, upload 4, rtt 20, jitter 3, loss 0.
    (D2, "9"): dict(tests=2, users=1, sessions=1, download_mean_test_mbps=40.0, download_median_mbps=40.0,
                    download_logavg_mbps=40.0, upload_median_mbps=4.0, rtt_mean_ms=20.0, rtt_median_ms=20.0,
                    jitter_median_ms=3.0, loss_median_pct=0.0, loss_mean_pct=0.0),
    # D2, Central Macedonia: B (test 14 and the null row 15) and C (tests 16-20); sessions B3, C2, C3.
    # download B 60, C 14 (of 9,11,14,16,20): 14 + 0.25*46 = 25.5, 37, 48.5, sqrt(840); raw 130/6.
    # upload B 6, C 3 (of 2,2,3,3,4): 3.75, 4.5, 5.25; raw 20/6.  rtt B 40, C 70 -> 55; raw 420/6.
    # jitter B 3, C 6 -> 4.5.  loss B 0, C 1 -> 0.5; raw 6/6.
    (D2, "2"): dict(tests=7, users=2, sessions=3, download_mean_test_mbps=130 / 6, download_p25_mbps=25.5,
                    download_median_mbps=37.0, download_p75_mbps=48.5, download_logavg_mbps=math.sqrt(840),
                    upload_mean_test_mbps=20 / 6, upload_p25_mbps=3.75, upload_median_mbps=4.5,
                    upload_p75_mbps=5.25, rtt_mean_ms=70.0, rtt_median_ms=55.0, jitter_median_ms=4.5,
                    loss_median_pct=0.5, loss_mean_pct=1.0),
}


def test_regional_metrics_by_hand(gold):
    assert len(gold["regional_metrics"]) == 4, f"expected 4 day-periphery rows, found {gold['regional_metrics']}"
    for (day, periphery_id), expected in REGIONAL.items():
        row = _only(gold["regional_metrics"], measurement_date=day, periphery_id=periphery_id)
        _check(row, dict(expected, is_suppressed=False))


def test_regional_unit_metrics_by_hand(gold):
    # Every Attica test is in unit 45 and every Macedonia test in unit 16: the same figures.
    units = {"9": "45", "2": "16"}
    assert len(gold["regional_unit_metrics"]) == 4
    for (day, periphery_id), expected in REGIONAL.items():
        row = _only(gold["regional_unit_metrics"], measurement_date=day, regional_unit_id=units[periphery_id])
        _check(row, expected)
        assert row["periphery_id"] == periphery_id, f"expected periphery {periphery_id}, found {row['periphery_id']}"


def test_area_isp_metrics_every_isp_at_the_periphery_and_unit_levels_are_the_regional_tables(gold):
    rows = gold["area_isp_metrics"]
    for (day, periphery_id), expected in REGIONAL.items():
        for level, area_id in (("periphery", periphery_id), ("regional_unit", UNIT_OF[periphery_id])):
            _check(_only(rows, measurement_date=day, **_slice(level, area_id)), dict(expected, is_suppressed=False))


def test_area_isp_metrics_by_hand(gold):
    rows = gold["area_isp_metrics"]
    # Per day: the country, each user's ISP in the country, and each periphery and unit with and without
    # its users' ISPs. D1: GR x (all, 3 ISPs), 9 x (all, Cosmote, Nova), 2 x (all, Vodafone), the same for
    # units 45 and 16: 14. D2: GR x 4, 9 x (all, Cosmote), 2 x (all, Nova, Vodafone), units alike: 14.
    assert len(rows) == 28, f"expected 28 day-slice rows, found {len(rows)}"
    # D1, Greece: tests 1-11, test 11 has no place but is in Greece. Users' download medians:
    # A 25 (of 5,10,20,30,40,1000), B 60, C 8 -> median 25; sessions A1-A3, B1, B2, C1.
    _check(_only(rows, measurement_date=D1, **_slice("country", "GR")),
           dict(tests=11, users=3, sessions=6, download_median_mbps=25.0, download_p25_mbps=16.5,
                download_p75_mbps=42.5, is_suppressed=False))
    # D1, Attica, Cosmote: A alone, tests 1-5 (test 11 names no ISP and no place).
    _check(_only(rows, measurement_date=D1, **_slice("periphery", "9", "Cosmote")),
           dict(tests=5, users=1, sessions=2, download_median_mbps=30.0, download_mean_test_mbps=220.0))
    # D2, Greece, Nova: B's tests 14-15 in Macedonia; session B3.
    _check(_only(rows, measurement_date=D2, **_slice("country", "GR", "Nova")),
           dict(tests=2, users=1, sessions=1, download_median_mbps=60.0))
    assert _only(rows, measurement_date=D1, **_slice("regional_unit", "45"))["periphery_id"] == "9"
    country = _only(rows, measurement_date=D2, **_slice("country", "GR"))
    assert (country["area"], country["periphery_id"]) == ("ΕΛΛΑΔΑ", None), f"found {country}"


def test_contract_attainment_by_hand(gold):
    rows = gold["contract_attainment"]
    # per user-day and slice: median download / median contract
    # D1: A 30/100 = 0.3 (Cosmote; 25/100 in Greece, where test 11 counts), B 60/100 = 0.6 (Nova);
    #     C has no contract that day.
    # D2: A 40/100 = 0.4 (Cosmote); B 60/50 = 1.2 (Nova); C 14/20 = 0.7 (Vodafone).
    by_area = {
        (D1, "9", "all"): (2, 0.5, 0.0, 0.45),  # [0.3, 0.6]
        (D1, "9", "Cosmote"): (1, 0.0, 0.0, 0.3),
        (D1, "9", "Nova"): (1, 1.0, 0.0, 0.6),
        (D2, "9", "all"): (1, 0.0, 0.0, 0.4),
        (D2, "9", "Cosmote"): (1, 0.0, 0.0, 0.4),
        (D2, "2", "all"): (2, 1.0, 0.5, 0.95),  # [0.7, 1.2]
        (D2, "2", "Nova"): (1, 1.0, 1.0, 1.2),
        (D2, "2", "Vodafone"): (1, 1.0, 0.0, 0.7),
    }
    expected = {(day, "periphery", p, isp): v for (day, p, isp), v in by_area.items()}
    expected |= {(day, "regional_unit", UNIT_OF[p], isp): v for (day, p, isp), v in by_area.items()}
    expected |= {
        (D1, "country", "GR", "all"): (2, 0.5, 0.0, 0.425),  # [0.25, 0.6]
        (D1, "country", "GR", "Cosmote"): (1, 0.0, 0.0, 0.3),
        (D1, "country", "GR", "Nova"): (1, 1.0, 0.0, 0.6),
        (D2, "country", "GR", "all"): (3, 2 / 3, 1 / 3, 0.7),  # [0.4, 0.7, 1.2]
        (D2, "country", "GR", "Cosmote"): (1, 0.0, 0.0, 0.4),
        (D2, "country", "GR", "Nova"): (1, 1.0, 1.0, 1.2),
        (D2, "country", "GR", "Vodafone"): (1, 1.0, 0.0, 0.7),
    }
    assert len(rows) == len(expected), f"expected {len(expected)} rows, found {len(rows)}"
    for (day, level, area_id, isp), (n, low, high, median) in expected.items():
        row = _only(rows, measurement_date=day, **_slice(level, area_id, isp))
        _check(row, dict(user_days=n, users=n, share_reaching_low=low, share_reaching_high=high,
                         median_attainment=median))


def test_hourly_profile_by_hand(gold):
    # (day, periphery, hour): (tests, users, median over users of each user's median in the hour)
    expected = {
        (D1, "9", 9): (2, 1, 15.0),  # A: 10, 20
        (D1, "9", 20): (4, 2, 45.0),  # A: 30, 40, 1000 -> 40; B: 50
        (D1, "9", 21): (1, 1, 70.0),
        (D1, "2", 12): (3, 1, 8.0),
        (D2, "9", 8): (2, 1, 40.0),
        (D2, "2", 18): (4, 1, 12.5),  # C: 9, 11, 14, 16
        (D2, "2", 19): (2, 1, 60.0),  # B: 60 and the null row
        (D2, "2", 21): (1, 1, 20.0),
    }
    rows = gold["hourly_profile"]
    by_periphery = _where(rows, area_level="periphery", isp="all")
    assert len(by_periphery) == len(expected), f"expected {len(expected)} rows, found {by_periphery}"
    for (day, periphery_id, hour), (tests, users, median) in expected.items():
        row = _only(by_periphery, measurement_date=day, area_id=periphery_id, hour_local=hour)
        _check(row, dict(tests=tests, users=users, median_download_mbps=median))
    # Test 11 (22:00, no place, no ISP) is only in Greece for every ISP; B's 20:00 test in Attica for Nova.
    _check(_only(rows, measurement_date=D1, hour_local=22, **_slice("country", "GR")),
           dict(tests=1, users=1, median_download_mbps=5.0))
    assert not _where(rows, measurement_date=D1, hour_local=22, area_level="periphery")
    _check(_only(rows, measurement_date=D1, hour_local=20, **_slice("periphery", "9", "Nova")),
           dict(tests=1, users=1, median_download_mbps=50.0))


def test_speed_histogram_by_hand(gold):
    # Monthly value = median of the user's daily medians in the slice:
    #   Attica: A (30, 40) -> 35, B (60) -> 60.  Macedonia: C (8, 14) -> 11, B (60) -> 60.
    #   Greece: A (25, 40) -> 32.5, B (60, 60) -> 60, C (8, 14) -> 11.
    # Buckets with 4 per decade: 5 = [10, 17.8), 7 = [31.6, 56.2), 8 = [56.2, 100).
    rows = gold["speed_histogram"]
    by_periphery = _where(rows, area_level="periphery", isp="all")
    assert len(by_periphery) == 2 * 18, f"expected 18 buckets for each of 2 peripheries, found {len(by_periphery)}"
    filled = {(r["area_id"], r["bucket_index"]): (r["users"], r["share_of_users"]) for r in by_periphery if r["users"]}
    assert filled == {("9", 7): (1, 0.5), ("9", 8): (1, 0.5), ("2", 5): (1, 0.5), ("2", 8): (1, 0.5)}
    country = {r["bucket_index"]: r["users"] for r in _where(rows, **_slice("country", "GR")) if r["users"]}
    assert country == {5: 1, 7: 1, 8: 1}, f"found {country}"
    nova = {r["bucket_index"]: r["users"] for r in _where(rows, **_slice("periphery", "2", "Nova")) if r["users"]}
    assert nova == {8: 1}, f"found {nova}"
    # 7 slices per level and ISP seen in the month: GR x 4, 9 x 3, 2 x 3, 45 x 3, 16 x 3 = 16 slices.
    assert len(rows) == 16 * 18, f"expected 16 slices of 18 buckets, found {len(rows)}"
    assert {r["month"] for r in rows} == {dt.date(2025, 3, 1)}


def test_frustration_staircase_by_hand(gold):
    # Greece, every ISP: (day, bucket): sessions, users, medians of the sessions' medians (download, loss,
    # jitter, rtt)
    expected = {
        (D1, "1"): (3, 2, 50.0, 2.0, 3.0, 40.0),  # A3, B1, B2: download 5, 50, 70; the rest skip A3's nulls
        (D1, "2-3"): (3, 2, 15.0, 0.0, 4.0, 20.0),  # A1, A2, C1: download 15, 40, 8; jitter 1.5, 4, 5
        (D2, "1"): (1, 1, 20.0, 0.0, 4.0, 60.0),  # C3
        (D2, "2-3"): (2, 2, 50.0, 0.0, 3.0, 30.0),  # A4, B3
        (D2, "4+"): (1, 1, 12.5, 1.0, 7.0, 80.0),  # C2
    }
    rows = gold["frustration_staircase"]
    country = _where(rows, **_slice("country", "GR"))
    assert len(country) == len(expected), f"expected {len(expected)} rows, found {country}"
    for (day, bucket), (sessions, users, dl, loss, jit, rtt) in expected.items():
        row = _only(country, session_date=day, behaviour_bucket=bucket)
        _check(row, dict(sessions=sessions, users=users, median_download_mbps=dl, median_loss_pct=loss,
                         median_jitter_ms=jit, median_rtt_ms=rtt))
    # Attica's one-test sessions on D1 are B1 and B2 (A3 has no place): download 50, 70.
    _check(_only(rows, session_date=D1, behaviour_bucket="1", **_slice("periphery", "9")),
           dict(sessions=2, users=1, median_download_mbps=60.0))
    _check(_only(rows, session_date=D2, behaviour_bucket="1", **_slice("regional_unit", "16", "Vodafone")),
           dict(sessions=1, users=1, median_download_mbps=20.0))


def test_user_retention_by_hand(gold):
    expected = {
        (D1, "periphery", "9", "new_or_transient"): (2, 2),  # A1, B1
        (D1, "periphery", "9", "returning"): (2, 2),  # A2, B2
        (D1, "periphery", "2", "new_or_transient"): (1, 1),  # C1
        (D1, "country", "GR", "new_or_transient"): (3, 3),
        (D1, "country", "GR", "returning"): (3, 2),  # A2, A3 (no periphery), B2
        (D2, "periphery", "9", "returning"): (1, 1),  # A4
        (D2, "periphery", "2", "returning"): (3, 2),  # B3, C2, C3
        (D2, "country", "GR", "returning"): (4, 3),
    }
    rows = gold["user_retention"]
    every_isp = [r for r in _where(rows, isp="all") if r["area_level"] != "regional_unit"]
    assert len(every_isp) == len(expected), f"expected {len(expected)} rows, found {every_isp}"
    for (day, level, area_id, user_type), (sessions, users) in expected.items():
        row = _only(every_isp, session_date=day, area_level=level, area_id=area_id, user_type=user_type)
        _check(row, dict(sessions=sessions, users=users))
    # Greece, Cosmote, D1 returning: A2 only (A3 names no ISP).
    _check(_only(rows, session_date=D1, user_type="returning", **_slice("country", "GR", "Cosmote")),
           dict(sessions=1, users=1))


def test_cohort_retention_by_hand(gold):
    # Everyone first appears on Monday D1 and the data end that week: one cell per slice.
    rows = gold["cohort_retention"]
    assert _only(rows, **_slice("country", "GR")) == dict(
        cohort_week=D1, **_slice("country", "GR"), weeks_since_first=0, cohort_users=3, active_users=3,
        retention_share=1.0, is_suppressed=False)
    # B is first seen in Macedonia on D2, in the same week as C.
    assert _only(rows, **_slice("periphery", "2"))["cohort_users"] == 2
    # Slices with sessions: GR x 4, 9 x 3, 2 x 3, 45 x 3, 16 x 3.
    assert len(rows) == 16, f"expected 16 slices with one week each, found {len(rows)}"


def test_an_incremental_build_reads_its_days_for_daily_tables_and_whole_months_for_the_histogram(spark, gold):
    tests = [measurement(i, u, d, h, p, dl, ul, rtt, loss, jit, contract, isp, minute=mi)
             for i, u, d, h, mi, p, dl, ul, rtt, loss, jit, contract, isp in TESTS]
    day_two = [t for t in tests if t["measurement_date"] == D2]
    reductions = reduce_measurements(measurements_df(spark, day_two), whole_months=measurements_df(spark, tests))

    tables = gold_tables(reductions, sessions_df(spark, []), SEMANTICS)

    def rows(name, exclude=()):
        return sorted(tuple((k, v) for k, v in r.asDict().items() if k not in exclude) for r in tables[name].collect())

    def full(name, exclude=()):
        return sorted(tuple((k, v) for k, v in r.items() if k not in exclude) for r in gold[name]
                      if r.get("measurement_date", D2) == D2)

    assert rows("speed_histogram") == full("speed_histogram"), "the histogram covers the whole month"
    assert rows("hourly_profile") == full("hourly_profile"), "daily tables: day two only, as in the full build"
    assert rows("area_isp_metrics", {"sessions"}) == full("area_isp_metrics", {"sessions"})
    assert rows("area_isp_period_metrics") == full("area_isp_period_metrics"), "the week and month, whole"


def test_an_incremental_build_of_named_periods_equals_the_whole_build_cut_to_them(spark):
    """The period table and histogram of a daily run: only the weeks and months it rewrites, the same rows."""
    from gnp.gold.periods import periods_to_rebuild

    first_week = [measurement(i, u, d, h, p, dl, ul, rtt, loss, jit, contract, isp, minute=mi)
                  for i, u, d, h, mi, p, dl, ul, rtt, loss, jit, contract, isp in TESTS]
    week = dt.timedelta(days=7)
    second_week = [{**t, "measurement_id": t["measurement_id"] + 100, "measurement_date": t["measurement_date"] + week,
                    "measured_at": t["measured_at"] + week} for t in first_week]
    new_day = D2 + dt.timedelta(days=7)
    periods = periods_to_rebuild([new_day])  # the week of 10 March and March
    day = measurements_df(spark, [t for t in second_week if t["measurement_date"] == new_day])
    month = measurements_df(spark, first_week + second_week)

    cut = gold_tables(reduce_measurements(day, whole_months=month, periods=periods), sessions_df(spark, []), SEMANTICS)
    whole = gold_tables(reduce_measurements(day, whole_months=month), sessions_df(spark, []), SEMANTICS)

    def rows(tables, name):
        return sorted(tuple(r.asDict().items()) for r in tables[name].collect())

    kept = {(kind, start) for kind, start in periods}
    whole_periods = rows(whole, "area_isp_period_metrics")
    assert {(dict(r)["period_kind"], dict(r)["period_start"]) for r in whole_periods} > kept, "the week of 3 March too"
    assert rows(cut, "area_isp_period_metrics") == [
        r for r in whole_periods if (dict(r)["period_kind"], dict(r)["period_start"]) in kept]
    assert rows(cut, "speed_histogram") == rows(whole, "speed_histogram")
