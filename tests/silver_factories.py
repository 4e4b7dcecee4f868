"""Silver rows for Gold tests, built from the schemas.py specs so they match the real tables."""

from __future__ import annotations

import datetime as dt
import random

from gnp.core.schemas import MEASUREMENTS, SESSIONS

UTC = dt.timezone.utc
FETCHED_AT = dt.datetime(2025, 3, 10, 6, 0, tzinfo=UTC)

PLACES = {
    "9": ("ΑΤΤΙΚΗΣ", [("45", "Κεντρικού Τομέα Αθηνών"), ("47", "Ανατολικής Αττικής")]),
    "2": ("ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", [("16", "Θεσσαλονίκης"), ("18", "Κιλκίς")]),
    "12": ("ΚΡΗΤΗΣ", [("72", "Ηρακλείου")]),
}
ISPS = ("Cosmote", "Vodafone", "Nova", None)


def measurement(
    measurement_id: int,
    user_id: str,
    date: dt.date,
    hour: int,
    periphery_id: str | None,
    download: float | None,
    upload: float | None = None,
    rtt: float | None = None,
    loss: float | None = None,
    jitter: float | None = None,
    contract: float | None = None,
    isp: str | None = None,
    regional_unit_id: str | None = None,
    minute: int = 0,
) -> dict:
    """One Silver measurement; place names follow the codes, lineage columns get fixed values."""
    periphery, units = PLACES.get(periphery_id, (None, []))
    unit_names = dict(units)
    if regional_unit_id is None and units:
        regional_unit_id = units[0][0]
    # Athens is UTC+2 in early March: the tests stay on the same local day.
    local = dt.datetime.combine(date, dt.time(hour, minute))
    row = {c: None for c in MEASUREMENTS.column_names}
    row.update(
        measurement_id=measurement_id,
        measured_at=(local - dt.timedelta(hours=2)).replace(tzinfo=UTC),
        measurement_date=date,
        measurement_hour_local=hour,
        is_dst_ambiguous=False,
        user_id=user_id,
        download_mbps=download,
        upload_mbps=upload,
        rtt_ms=rtt,
        loss_pct=loss,
        jitter_ms=jitter,
        isp=isp,
        contract_download_mbps=contract,
        regional_unit_id=regional_unit_id,
        regional_unit=unit_names.get(regional_unit_id),
        periphery_id=periphery_id,
        periphery=periphery,
        fetched_at=FETCHED_AT,
        bronze_file="bronze/hyperion/test.json",
    )
    return row


def session(
    user_id: str,
    date: dt.date,
    hour: int,
    test_count: int,
    periphery_id: str | None,
    is_returning: bool = False,
    download: float | None = None,
    loss: float | None = None,
    jitter: float | None = None,
    rtt: float | None = None,
    regional_unit_id: str | None = None,
    isp: str | None = None,
) -> dict:
    """One Silver session; the bucket follows the test count as Silver assigns it."""
    periphery, units = PLACES.get(periphery_id, (None, []))
    if regional_unit_id is None and units:
        regional_unit_id = units[0][0]
    started = dt.datetime.combine(date, dt.time(hour)).replace(tzinfo=UTC) - dt.timedelta(hours=2)
    bucket = "1" if test_count == 1 else "2-3" if test_count <= 3 else "4+"
    row = {c: None for c in SESSIONS.column_names}
    row.update(
        session_id=f"{user_id}-{started.isoformat()}",
        user_id=user_id,
        session_date=date,
        started_at=started,
        ended_at=started + dt.timedelta(minutes=5 * (test_count - 1)),
        test_count=test_count,
        behaviour_bucket=bucket,
        is_returning=is_returning,
        periphery_id=periphery_id,
        periphery=periphery,
        regional_unit_id=regional_unit_id,
        isp=isp,
        median_download_mbps=download,
        median_loss_pct=loss,
        median_jitter_ms=jitter,
        median_rtt_ms=rtt,
    )
    return row


def measurements_df(spark, rows: list[dict]):
    return spark.createDataFrame([tuple(r[c] for c in MEASUREMENTS.column_names) for r in rows], MEASUREMENTS.ddl())


def sessions_df(spark, rows: list[dict]):
    return spark.createDataFrame([tuple(r[c] for c in SESSIONS.column_names) for r in rows], SESSIONS.ddl())


def random_silver(seed: int, tests: int, users: int = 60, days: int = 21) -> tuple[list[dict], list[dict]]:
    """Random but plausible measurements and sessions (not derived from each other).

    Some users test in several places and many times a day, values include
    nulls, zeros and ties, so every statistic has work to do.
    """
    rng = random.Random(seed)
    start = dt.date(2025, 2, 24)
    user_ids = [f"u{i:04d}" for i in range(users)]
    home = {u: rng.choice(list(PLACES)) for u in user_ids}
    measurements = []
    for i in range(tests):
        user = rng.choice(user_ids[: max(1, users // 3)] if rng.random() < 0.4 else user_ids)
        periphery_id = home[user] if rng.random() < 0.9 else rng.choice(list(PLACES) + [None])
        units = PLACES.get(periphery_id, (None, [(None, None)]))[1]
        measurements.append(
            measurement(
                measurement_id=i + 1,
                user_id=user,
                date=start + dt.timedelta(days=rng.randrange(days)),
                hour=rng.randrange(24),
                minute=rng.randrange(60),
                periphery_id=periphery_id,
                regional_unit_id=rng.choice(units)[0],
                download=_maybe(rng, round(rng.lognormvariate(3.5, 1.2), 1), zero_share=0.02),
                upload=_maybe(rng, round(rng.lognormvariate(2.0, 1.0), 1), zero_share=0.02),
                rtt=_maybe(rng, float(rng.randrange(1, 200))),
                loss=_maybe(rng, float(rng.choice([0, 0, 0, 0.5, 1, 2, 5]))),
                jitter=_maybe(rng, float(rng.randrange(0, 40))),
                contract=rng.choice([None, 0.0, 24.0, 50.0, 100.0, 200.0]),
                isp=rng.choice(ISPS),
            )
        )
    sessions = []
    for i in range(max(1, tests // 3)):
        user = rng.choice(user_ids)
        count = rng.choice([1, 1, 1, 2, 3, 4, 7])
        sessions.append(
            session(
                user_id=user,
                date=start + dt.timedelta(days=rng.randrange(days)),
                hour=rng.randrange(24),
                test_count=count,
                periphery_id=home[user] if rng.random() < 0.95 else None,
                is_returning=rng.random() < 0.5,
                download=_maybe(rng, round(rng.lognormvariate(3.5, 1.0), 1)),
                loss=_maybe(rng, float(rng.choice([0, 0, 1, 3]))),
                jitter=_maybe(rng, float(rng.randrange(0, 30))),
                rtt=_maybe(rng, float(rng.randrange(1, 150))),
            )
        )
        sessions[-1]["session_id"] += f"-{i}"
    return measurements, sessions


def _maybe(rng: random.Random, value: float, zero_share: float = 0.0) -> float | None:
    roll = rng.random()
    if roll < 0.03:
        return None
    if roll < 0.03 + zero_share:
        return 0.0
    return value


def spec_frame(spark, spec, rows: list[dict]):
    """A frame with exactly ``spec``'s columns and types; columns a row leaves out are null."""
    unknown = {k for r in rows for k in r} - set(spec.column_names)
    if unknown:
        raise KeyError(f"not columns of {spec.name}: {sorted(unknown)}")
    return spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in rows], spec.ddl())
