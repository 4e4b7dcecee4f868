import datetime as dt
import json
import re
import statistics
import time
import unicodedata
from collections import Counter, defaultdict

import pytest

from gnp.source import sample

DAY = dt.date(2025, 10, 15)
DST_END = dt.date(2025, 10, 26)  # 04:00 EEST -> 03:00 EET: local 03:xx happens twice
DST_START = dt.date(2025, 3, 30)  # 03:00 EET -> 04:00 EEST: local 03:xx never happens
TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
IP_PATTERN = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


def clean_day(day=DAY, tests=3000, users=1500, seed=42):
    return sample.records_for_day(day, seed, tests, users, dirt_rate=0.0)


def parse_time(value):
    return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")


def test_a_day_is_a_pure_function_of_seed_and_day():
    first = sample.records_for_day(DAY, 7, 500, 300)
    sample.records_for_day(DAY + dt.timedelta(days=1), 7, 500, 300)
    sample.records_for_day(DAY, 8, 500, 300)
    again = sample.records_for_day(DAY, 7, 500, 300)
    assert first == again, "the same (seed, day) gave different records"
    assert first != sample.records_for_day(DAY, 8, 500, 300), "another seed gave the same records"


def test_records_have_the_api_fields_and_types():
    records = clean_day(tests=500)
    assert len(records) == 500, f"expected 500 records without dirt, found {len(records)}"
    for record in records:
        assert tuple(record) == sample.FIELDS, f"fields differ: {tuple(record)}"
        assert isinstance(record["measurement_id"], int) and isinstance(record["connection_id"], int)
        assert TIME_PATTERN.match(record["measurement_time"]), record["measurement_time"]
        assert parse_time(record["measurement_time"]).date() == DAY
        octets = IP_PATTERN.match(record["client_ip"])
        assert octets and all(0 <= int(o) <= 255 for o in octets.groups()), record["client_ip"]
        for name in ("connection_postal_code", "connection_municipality_id", "connection_regional_unit_id",
                     "connection_periphery_id", "contract_download_mbps", "contract_upload_mbps",
                     "measured_downstream_mbps", "measured_upstream_mbps", "measured_rtt_msec",
                     "measured_loss_percentage", "measured_jitter_msec"):  # fmt: skip
            assert isinstance(record[name], float), f"{name} should arrive as float, found {record[name]!r}"
        assert 10000.0 <= record["connection_postal_code"] <= 85999.0
        assert isinstance(record["ISP"], str)
    ids = [r["measurement_id"] for r in records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "ids should be unique and in measurement order"
    json.dumps(records, allow_nan=False)


def test_places_cover_every_periphery_and_regional_unit_with_api_spelling():
    places = sample.places()
    assert len(set(places.periphery)) == 13 and len(set(places.regional_unit)) == 74
    for name in places.municipality:
        assert name == name.upper(), f"municipality not in capitals: {name}"
        has_accent = any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", name))
        assert not has_accent, f"municipality has accents: {name}"
    assert "ΣΠΑΤΩΝ - ΑΡΤΕΜΙΔΟΣ" in places.municipality
    assert abs(places.weight.sum() - 1.0) < 1e-9


def test_tests_are_weighted_by_population():
    records = clean_day(tests=20000, users=5000)
    share = Counter(r["connection_periphery"] for r in records)["ΑΤΤΙΚΗΣ"] / len(records)
    assert 0.30 < share < 0.44, f"expected Attica near 37% of tests (its population share), found {share:.1%}"


def test_contracts_come_in_tiers_with_matching_uploads():
    tiers = dict(sample.CONTRACT_TIERS)
    for r in clean_day():
        assert tiers.get(r["contract_download_mbps"]) == r["contract_upload_mbps"], r


def test_users_keep_their_line_place_and_isp_across_days():
    seen = {}
    for day in (DAY, DAY + dt.timedelta(days=1)):
        for r in clean_day(day, tests=1000, users=200):
            line = (r["connection_id"], r["contract_download_mbps"], r["connection_municipality"], r["ISP"])
            assert seen.setdefault(r["client_ip"], line) == line, f"user {r['client_ip']} changed line"
    assert "" in {line[3] for line in seen.values()}, "expected some users with an unreported (empty) ISP"


def test_evening_congestion_lowers_the_share_of_contract():
    by_hour = defaultdict(list)
    for r in clean_day(tests=20000, users=5000):
        by_hour[parse_time(r["measurement_time"]).hour].append(
            r["measured_downstream_mbps"] / r["contract_download_mbps"]
        )
    evening = statistics.median(v for h in range(19, 24) for v in by_hour[h])
    daytime = statistics.median(v for h in range(10, 18) for v in by_hour[h])
    assert 0.4 < daytime < 1.0, f"daytime median share of contract {daytime:.2f} is not realistic"
    assert evening < daytime - 0.05, f"expected evening ({evening:.2f}) below daytime ({daytime:.2f})"


def test_users_with_bad_lines_retest_in_bursts_minutes_apart():
    tests = defaultdict(list)
    for r in clean_day(tests=6000, users=2000):
        tests[r["client_ip"]].append(r)
    heavy = [u for u, rs in tests.items() if len(rs) >= 4]
    single = [u for u, rs in tests.items() if len(rs) == 1]
    assert heavy and single

    def median_share(users):
        return statistics.median(
            r["measured_downstream_mbps"] / r["contract_download_mbps"] for u in users for r in tests[u]
        )

    assert median_share(heavy) < median_share(single) - 0.1, "frequent testers should have worse lines"
    gaps = [
        (parse_time(b["measurement_time"]) - parse_time(a["measurement_time"])).total_seconds()
        for u in heavy
        for a, b in zip(tests[u], tests[u][1:])
    ]
    assert statistics.median(gaps) < 15 * 60, "retests should come minutes apart"


def test_autumn_dst_day_repeats_the_3am_hour_and_spring_day_skips_it():
    autumn = [parse_time(r["measurement_time"]) for r in clean_day(DST_END, tests=5000)]
    backwards = [(a, b) for a, b in zip(autumn, autumn[1:]) if b < a]
    assert len(backwards) == 1, f"expected local time to go back once (04:00 -> 03:00), found {backwards}"
    assert backwards[0][0].hour == 3 and backwards[0][1].hour == 3
    spring = [parse_time(r["measurement_time"]) for r in clean_day(DST_START, tests=5000)]
    assert not [t for t in spring if t.hour == 3], "03:xx does not exist on the spring DST day"


def test_dirt_appears_at_the_configured_rate():
    records = sample.records_for_day(DAY, 42, 20000, 3000, dirt_rate=0.05)
    extra = len(records) - 20000
    assert 250 < extra < 750, f"expected ~500 duplicates (2.5%), found {extra}"
    ids = Counter(r["measurement_id"] for r in records if r["measurement_id"] is not None)
    assert sum(n - 1 for n in ids.values()) >= extra - 60, "duplicates should repeat a measurement_id"

    def count(predicate):
        return sum(1 for r in records if predicate(r))

    kinds = {
        "NaN place": count(lambda r: r["connection_municipality"] == sample.MISSING_PLACE),
        "null place": count(lambda r: r["connection_periphery"] is None),
        "negative speed": count(lambda r: r["measured_downstream_mbps"] < 0),
        "absurd speed": count(lambda r: r["measured_downstream_mbps"] > 10_000),
        "missing id": count(lambda r: r["measurement_id"] is None),
        "unreadable time": count(lambda r: not TIME_PATTERN.match(r["measurement_time"])),
    }
    assert all(50 < n < 400 for n in kinds.values()), f"dirt counts off for 1000 dirty rows: {kinds}"


def test_zero_dirt_gives_no_dirt_and_no_duplicates():
    records = clean_day(tests=5000)
    assert len({r["measurement_id"] for r in records}) == 5000
    assert not [r for r in records if r["connection_municipality"] in (None, sample.MISSING_PLACE)]
    assert min(r["measured_downstream_mbps"] for r in records) > 0


def test_empty_and_out_of_range_days():
    assert sample.records_for_day(DAY, 42, 0, 100) == []
    assert sample.records_for_day(dt.date(2017, 12, 31), 42, 100, 100) == []
    with pytest.raises(ValueError, match="tests_per_day"):
        sample.records_for_day(DAY, 42, sample.MAX_TESTS_PER_DAY + 1, 100)


def test_a_month_of_330k_records_generates_fast():
    start = time.perf_counter()
    total = sum(len(sample.records_for_day(DAY + dt.timedelta(days=i), 1, 11_000, 8000)) for i in range(30))
    elapsed = time.perf_counter() - start
    assert total > 330_000
    assert elapsed < 20, f"expected well under 20 s for {total} records, took {elapsed:.1f} s"
