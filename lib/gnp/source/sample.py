"""A deterministic sample of Hyperion records, shaped exactly like the data.gov.gr API.

Every record has the API's field names and the types as they arrive: ids and
postal codes as floats (``19016.0``), ``measurement_time`` as a local
Europe/Athens ``YYYY-MM-DD HH:MM:SS`` string, ``client_ip`` as three octets.

What is real and what is invented: the 13 peripheries and 74 regional units
come from ``data/greek-regions.csv``; the municipalities in
``data/sample-municipalities.csv`` are a few real municipalities per regional
unit with approximate populations and one postal code each, not the full 332.
Regional unit and municipality ids, IP prefixes, ISP spellings and client
platforms are invented but plausible. Generated tests are weighted by
population.

A day is a pure function of ``(seed, day)``: users (IP, line, place, ISP,
contract) depend on the seed only, the day's tests on both, so any day can be
generated alone and always identically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np

from gnp.source.contract import FIELDS, MISSING_PLACE, PLACE_FIELDS

ATHENS = ZoneInfo("Europe/Athens")
DEFAULT_DIRT_RATE = 0.01
SAMPLE_EPOCH = dt.date(2018, 1, 1)  # no sample data before this day
MAX_TESTS_PER_DAY = 1_000_000  # measurement ids reserve this many per day

# ISP as published, its share of lines, and the disjoint /16 blocks its IPs come from (a, b_from, b_to).
ISPS = {
    "Cosmote": (0.45, ((79, 128, 131), (94, 64, 66), (2, 84, 87), (46, 12, 15))),
    "Vodafone": (0.25, ((85, 72, 73), (176, 56, 59), (178, 59, 62), (46, 176, 177))),
    "Nova": (0.15, ((94, 67, 70), (37, 6, 7), (89, 210, 211))),
    "Wind": (0.12, ((85, 74, 75), (46, 198, 199), (5, 55, 56))),
    "Inalan": (0.03, ((185, 2, 2), (185, 84, 84))),
}
UNREPORTED_ISP_SHARE = 0.3  # the API often sends the ISP as the empty string
CONTRACT_TIERS = ((24.0, 1.0), (50.0, 5.0), (100.0, 10.0), (200.0, 20.0), (300.0, 30.0), (1000.0, 100.0))
CONTRACT_TIER_WEIGHTS = (0.22, 0.30, 0.22, 0.13, 0.05, 0.08)
PLATFORMS = (
    (("Windows", "10", "x86_64"), 0.22), (("Windows", "11", "x86_64"), 0.20),
    (("Android", "14", "arm64"), 0.18), (("Android", "13", "armv7l"), 0.08),
    (("iOS", "18.1", "arm64"), 0.10), (("iOS", "17.6", "arm64"), 0.07),
    (("Mac OS X", "14.5", "arm64"), 0.07), (("Linux", "6.8.0", "x86_64"), 0.05),
    (("Windows", "10", "x86"), 0.03),
)  # fmt: skip
BAD_LINE_SHARE = 0.15
EVENING_HOURS = range(19, 24)  # local hours with evening congestion
ISLAND_PERIPHERY_IDS = (6, 11, 12, 13)  # longer paths to the exchanges: higher RTT
# Relative number of tests started in each local hour 0-23.
HOURLY_PROFILE = np.array([
    2.0, 1.2, 0.8, 0.6, 0.5, 0.6, 1.0, 1.8, 2.8, 3.6, 4.0, 4.2,
    4.2, 4.0, 3.9, 4.0, 4.3, 4.7, 5.2, 5.8, 6.2, 6.3, 5.5, 3.6,
])  # fmt: skip


@dataclass(frozen=True)
class Places:
    """Municipalities with their regional unit and periphery, as parallel tuples."""

    municipality: tuple[str, ...]
    municipality_id: tuple[float, ...]
    postal_code: np.ndarray
    regional_unit: tuple[str, ...]
    regional_unit_id: tuple[float, ...]
    periphery: tuple[str, ...]
    periphery_id: np.ndarray
    weight: np.ndarray  # share of the population living there


def _read_csv(name: str) -> list[dict]:
    text = resources.files("gnp").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def places() -> Places:
    """Municipalities weighted so each periphery gets its census population share."""
    units = {row["regional_unit"]: (i, row) for i, row in enumerate(_read_csv("greek-regions.csv"), start=1)}
    munis = _read_csv("sample-municipalities.csv")
    unit_rows = [units[m["regional_unit"]][1] for m in munis]
    periphery_id = np.array([int(u["periphery_id"]) for u in unit_rows])
    local = np.array([float(m["population_thousands"]) for m in munis])
    periphery_pop = np.array([float(u["periphery_population_2021_thousands"]) for u in unit_rows])
    local_total = {p: local[periphery_id == p].sum() for p in set(periphery_id.tolist())}
    weight = periphery_pop * local / np.array([local_total[p] for p in periphery_id])
    return Places(
        municipality=tuple(m["municipality"] for m in munis),
        municipality_id=tuple(float(i) for i in range(1, len(munis) + 1)),
        postal_code=np.array([int(m["postal_code"]) for m in munis]),
        regional_unit=tuple(m["regional_unit"] for m in munis),
        regional_unit_id=tuple(float(units[m["regional_unit"]][0]) for m in munis),
        periphery=tuple(u["periphery"] for u in unit_rows),
        periphery_id=periphery_id,
        weight=weight / weight.sum(),
    )


@dataclass(frozen=True)
class Users:
    """The simulated population: one entry per user, stable across days."""

    client_ip: tuple[str, ...]
    connection_id: np.ndarray
    place: np.ndarray  # index into places()
    postal_code: np.ndarray
    isp: tuple[str, ...]  # as reported, often ""
    tier: np.ndarray  # index into CONTRACT_TIERS
    platform: np.ndarray  # index into PLATFORMS
    is_bad_line: np.ndarray
    quality: np.ndarray  # share of the contract reached off-peak
    base_rtt_ms: np.ndarray
    activity: np.ndarray  # probability that a session is this user's


@lru_cache(maxsize=8)
def population(seed: int, count: int) -> Users:
    """The user population for a seed (independent of the day)."""
    rng = np.random.default_rng([seed, 0x05E25])
    geo = places()
    isp_names = list(ISPS)
    isp = rng.choice(len(isp_names), count, p=[ISPS[n][0] for n in isp_names])
    ips = [""] * count
    for k, name in enumerate(isp_names):
        members = np.flatnonzero(isp == k)
        blocks = [(a, b) for a, b_from, b_to in ISPS[name][1] for b in range(b_from, b_to + 1)]
        # One /24 per user while the ISP's blocks last; beyond that users share one, as real users can.
        slots = rng.choice(len(blocks) * 256, len(members), replace=len(members) > len(blocks) * 256)
        for member, slot in zip(members.tolist(), slots.tolist()):
            a, b = blocks[slot // 256]
            ips[member] = f"{a}.{b}.{slot % 256}"
    reported = np.where(rng.random(count) < UNREPORTED_ISP_SHARE, -1, isp)
    place = rng.choice(len(geo.weight), count, p=geo.weight)
    tier = rng.choice(len(CONTRACT_TIERS), count, p=CONTRACT_TIER_WEIGHTS)
    bad = rng.random(count) < BAD_LINE_SHARE
    # Gigabit lines are mostly tested over Wi-Fi and rarely reach their contract.
    typical = np.where(np.array([t[0] for t in CONTRACT_TIERS])[tier] >= 1000, 0.55, 0.9)
    # Off-peak share of contract: a good line averages `typical` (Beta(9, 2) has mean 9/11), a bad one a third of it.
    good = rng.beta(9.0, 2.0, count) / (9.0 / 11.0)
    poor = rng.beta(2.0, 6.0, count) / (9.0 / 11.0)
    quality = np.where(bad, poor, good) * typical
    island = np.isin(geo.periphery_id[place], ISLAND_PERIPHERY_IDS)
    activity = rng.lognormal(0.0, 0.6, count) * np.where(bad, 1.5, 1.0)
    return Users(
        client_ip=tuple(ips),
        connection_id=rng.choice(9_000_000, count, replace=False) + 1_000_000,
        place=place,
        postal_code=geo.postal_code[place] + rng.integers(0, 3, count),
        isp=tuple("" if r < 0 else isp_names[r] for r in reported),
        tier=tier,
        platform=rng.choice(len(PLATFORMS), count, p=[w for _, w in PLATFORMS]),
        is_bad_line=bad,
        quality=np.clip(quality, 0.02, 1.05),
        base_rtt_ms=rng.lognormal(np.log(14.0), 0.35, count) + 12.0 * island + 35.0 * bad,
        activity=activity / activity.sum(),
    )


def _local_day_hours(day: dt.date) -> tuple[int, np.ndarray, np.ndarray]:
    """UTC start (epoch s) of a local day, and per UTC hour in it: UTC offset (s) and local hour.

    A local day has 23, 24 or 25 hours; in October's 25-hour day one local hour repeats.
    """
    start = dt.datetime(day.year, day.month, day.day, tzinfo=ATHENS).astimezone(dt.timezone.utc)
    nxt = day + dt.timedelta(days=1)
    end = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=ATHENS).astimezone(dt.timezone.utc)
    hours = [(start + dt.timedelta(hours=h)).astimezone(ATHENS) for h in range((end - start) // dt.timedelta(hours=1))]
    offsets = np.array([h.utcoffset().total_seconds() for h in hours], dtype=np.int64)
    return int(start.timestamp()), offsets, np.array([h.hour for h in hours])


def _test_times(rng, day: dt.date, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock times (datetime64[s]) and local hours of every test, sessions as bursts."""
    start_utc, offsets, local_hour = _local_day_hours(day)
    span = len(offsets) * 3600
    slot_weight = HOURLY_PROFILE[local_hour]
    slot = rng.choice(len(offsets), len(lengths), p=slot_weight / slot_weight.sum())
    start = slot * 3600 + rng.integers(0, 3600, len(lengths))
    first = np.cumsum(lengths) - lengths
    gaps = 60.0 + rng.exponential(150.0, lengths.sum())  # a retest comes minutes after the last
    gaps[first] = 0.0
    elapsed = np.cumsum(gaps)
    within = (elapsed - np.repeat(elapsed[first], lengths)).astype(np.int64)
    duration = within[first + lengths - 1]
    start = np.clip(np.minimum(start, span - 1 - duration), 0, None)
    t = np.repeat(start, lengths) + within
    order = np.argsort(t, kind="stable")
    t = t[order]
    test_slot = t // 3600
    local = (start_utc + t + offsets[test_slot]).astype("datetime64[s]")
    return local, local_hour[test_slot], order


def _sessions(rng, pop: Users, n_tests: int) -> tuple[np.ndarray, np.ndarray]:
    """Users of consecutive sessions and their test counts, exactly n_tests tests in all."""
    session_user = rng.choice(len(pop.activity), n_tests, p=pop.activity)
    bad = pop.is_bad_line[session_user]
    # Users with a bad line retest: sessions of 1 test for most, bursts for them.
    lengths = np.where(bad, np.minimum(rng.geometric(0.3, n_tests), 12), rng.geometric(0.8, n_tests))
    cum = np.cumsum(lengths)
    k = int(np.searchsorted(cum, n_tests)) + 1
    lengths = lengths[:k].copy()
    lengths[-1] -= cum[k - 1] - n_tests
    return session_user[:k], lengths


def _clean_columns(rng, day: dt.date, pop: Users, n_tests: int) -> dict[str, list]:
    session_user, lengths = _sessions(rng, pop, n_tests)
    user = np.repeat(session_user, lengths)
    local, hour, order = _test_times(rng, day, lengths)
    user = user[order]
    n = len(user)
    bad = pop.is_bad_line[user]
    evening = np.isin(hour, EVENING_HOURS)
    congestion = np.where(evening, 1.0 - rng.uniform(0.05, 0.35, n), 1.0 - rng.uniform(0.0, 0.05, n))
    noise = rng.lognormal(0.0, np.where(bad, 0.35, 0.12))
    tiers = np.array(CONTRACT_TIERS)[pop.tier[user]]
    down = tiers[:, 0] * np.clip(pop.quality[user] * congestion * noise, 0.01, 1.08)
    up_share = np.clip((pop.quality[user] + 0.1) * rng.lognormal(0.0, 0.08, n), 0.01, 1.05)
    rtt = pop.base_rtt_ms[user] * rng.lognormal(0.0, 0.2, n) + 4.0 * evening
    loss = np.where(bad, rng.exponential(2.0, n), np.where(rng.random(n) < 0.75, 0.0, rng.exponential(0.15, n)))
    jitter = np.where(bad, rng.lognormal(np.log(8.0), 0.6, n), rng.lognormal(np.log(1.5), 0.5, n))
    geo = places()
    place = pop.place[user]
    platform = [PLATFORMS[p][0] for p in pop.platform[user]]
    base_id = 10_000_000 + (day - SAMPLE_EPOCH).days * MAX_TESTS_PER_DAY
    return {
        "measurement_id": list(range(base_id, base_id + n)),
        "measurement_time": [s.replace("T", " ") for s in np.datetime_as_string(local, unit="s").tolist()],
        "connection_id": pop.connection_id[user].tolist(),
        "client_ip": [pop.client_ip[u] for u in user],
        "measured_downstream_mbps": np.round(down, 2).tolist(),
        "measured_upstream_mbps": np.round(tiers[:, 1] * up_share, 2).tolist(),
        "measured_rtt_msec": np.round(rtt, 1).tolist(),
        "measured_loss_percentage": np.round(loss, 2).tolist(),
        "measured_jitter_msec": np.round(jitter, 2).tolist(),
        "client_operating_system": [p[0] for p in platform],
        "client_operating_system_version": [p[1] for p in platform],
        "client_operating_system_architecture": [p[2] for p in platform],
        "ISP": [pop.isp[u] for u in user],
        "contract_download_mbps": tiers[:, 0].tolist(),
        "contract_upload_mbps": tiers[:, 1].tolist(),
        "connection_postal_code": pop.postal_code[user].astype(float).tolist(),
        "connection_municipality_id": [geo.municipality_id[p] for p in place],
        "connection_regional_unit_id": [geo.regional_unit_id[p] for p in place],
        "connection_periphery_id": geo.periphery_id[place].astype(float).tolist(),
        "connection_municipality": [geo.municipality[p] for p in place],
        "connection_regional_unit": [geo.regional_unit[p] for p in place],
        "connection_periphery": [geo.periphery[p] for p in place],
    }


def _soil(rng, record: dict, kind: int, day: dt.date) -> None:
    """Apply one kind of the dirt seen in (or guarded against for) the real API."""
    if kind == 0:
        record.update({f: MISSING_PLACE if isinstance(record[f], str) else None for f in PLACE_FIELDS[1:]})
    elif kind == 1:
        record.update(dict.fromkeys(PLACE_FIELDS))
    elif kind == 2:
        record["connection_municipality"] = MISSING_PLACE
    elif kind == 3:
        record["ISP"] = ""
    elif kind == 4:
        record["measured_downstream_mbps"] = -round(float(rng.uniform(0.0, 50.0)), 2) or -1.0
    elif kind == 5:
        record["measured_downstream_mbps"] = round(float(rng.uniform(2e4, 5e6)), 2)
        record["measured_rtt_msec"] = round(float(rng.uniform(1e5, 1e7)), 1)
    elif kind == 6:
        record["measurement_id"] = None
    else:
        hh, mm = rng.integers(0, 24), rng.integers(0, 60)
        unreadable = ["", "NaN", f"{day} 25:{mm:02d}:00", f"{day:%d/%m/%Y} {hh:02d}:{mm:02d}"]
        record["measurement_time"] = unreadable[rng.integers(len(unreadable))]


DIRT_KINDS = 8


def records_for_day(
    day: dt.date, seed: int = 42, tests_per_day: int = 2000, users: int = 3000, dirt_rate: float = DEFAULT_DIRT_RATE
) -> list[dict]:
    """One local day of Hyperion records, as the API returns them, in measurement order.

    About ``dirt_rate`` of the records carry one kind of dirt, and about half as
    many again arrive twice (the copy right after the original).
    """
    if not 0 <= tests_per_day <= MAX_TESTS_PER_DAY:
        raise ValueError(f"tests_per_day must be between 0 and {MAX_TESTS_PER_DAY}, got {tests_per_day}")
    if tests_per_day == 0 or day < SAMPLE_EPOCH:
        return []
    rng = np.random.default_rng([seed, day.toordinal()])
    columns = _clean_columns(rng, day, population(seed, users), tests_per_day)
    rows = [dict(zip(FIELDS, values)) for values in zip(*(columns[f] for f in FIELDS))]
    n = len(rows)
    dirty = rng.choice(n, min(n, rng.binomial(n, dirt_rate)), replace=False)
    for i, kind in zip(dirty.tolist(), rng.integers(0, DIRT_KINDS, len(dirty)).tolist()):
        _soil(rng, rows[i], kind, day)
    twice = set(rng.choice(n, min(n, rng.binomial(n, dirt_rate / 2)), replace=False).tolist())
    out = []
    for i, row in enumerate(rows):
        out.append(row)
        if i in twice:
            out.append(dict(row))
    return out
