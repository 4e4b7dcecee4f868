"""A small synthetic Gold warehouse, so the dashboard can be built and tested before the pipeline runs.

``synthetic_gold`` makes plausible rows for every Gold table (13 peripheries, a
few regional units each, five ISPs, 60 days), cut by slice (country, periphery
or regional unit, times each ISP or 'all') as ``gnp.core.schemas`` defines them, with
exactly the spec's columns. Small cells are suppressed the way Gold suppresses
them (fewer than k users: statistics null, ``is_suppressed`` true): every slice
of ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ (and its regional units) and of the ISP "ΔΕΗ Fiber" always
is. Slices are generated independently, so parts need not add up to wholes.
``write_gold_duckdb`` stores them as ``gold.*`` tables, plus ``silver.*`` views
that raise when read: a dashboard query touching Silver fails loudly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from gnp.core.dates import month_start, period_days, period_end, week_start
from gnp.core.schemas import (
    ALL_ISPS,
    AREA_COUNTRY,
    AREA_PERIPHERY,
    AREA_REGIONAL_UNIT,
    COUNTRY_ID,
    COUNTRY_NAME,
    GOLD_TABLES,
    PERIOD_MONTH,
    PERIOD_WEEK,
    SILVER_TABLES,
    TABLES,
)
from gnp.serving.warehouse import duckdb_type

FIRST_DAY = dt.date(2024, 12, 9)
DAYS = 60
K = 5
ALWAYS_SUPPRESSED_PERIPHERY = "11"
ALWAYS_SUPPRESSED_ISP = "ΔΕΗ Fiber"
PERIPHERIES = {  # id: (name, population in thousands, download median Mbps, a few regional units)
    "1": ("ΑΝΑΤΟΛΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ ΚΑΙ ΘΡΑΚΗΣ", 562, 42, ("Δράμας", "Έβρου", "Καβάλας")),
    "2": ("ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", 1795, 61, ("Θεσσαλονίκης", "Σερρών", "Χαλκιδικής")),
    "3": ("ΔΥΤΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", 255, 35, ("Κοζάνης", "Φλώρινας")),
    "4": ("ΗΠΕΙΡΟΥ", 319, 38, ("Άρτας", "Ιωαννίνων")),
    "5": ("ΘΕΣΣΑΛΙΑΣ", 688, 48, ("Λάρισας", "Μαγνησίας")),
    "6": ("ΙΟΝΙΩΝ ΝΗΣΩΝ", 204, 33, ("Κέρκυρας", "Ζακύνθου")),
    "7": ("ΔΥΤΙΚΗΣ ΕΛΛΑΔΑΣ", 648, 45, ("Αχαΐας", "Αιτωλοακαρνανίας")),
    "8": ("ΣΤΕΡΕΑΣ ΕΛΛΑΔΑΣ", 508, 40, ("Βοιωτίας", "Ευβοίας")),
    "9": ("ΑΤΤΙΚΗΣ", 3814, 78, ("Ανατολικής Αττικής", "Κεντρικού Τομέα Αθηνών", "Πειραιώς")),
    "10": ("ΠΕΛΟΠΟΝΝΗΣΟΥ", 540, 39, ("Αργολίδας", "Μεσσηνίας")),
    "11": ("ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ", 194, 30, ("Λέσβου", "Χίου")),
    "12": ("ΝΟΤΙΟΥ ΑΙΓΑΙΟΥ", 328, 36, ("Θήρας", "Ρόδου")),
    "13": ("ΚΡΗΤΗΣ", 624, 50, ("Ηρακλείου", "Χανίων")),
}
ISPS = {"COSMOTE": 0.45, "Vodafone": 0.3, "Nova": 0.2, "Inalan": 0.04, ALWAYS_SUPPRESSED_ISP: 0.0}
ISP_QUALITY = {ALL_ISPS: 1.0, "COSMOTE": 1.05, "Vodafone": 0.95, "Nova": 1.1, "Inalan": 0.7, ALWAYS_SUPPRESSED_ISP: 1.3}
USERS_PER_THOUSAND = 0.25  # expected daily users of a slice per thousand inhabitants (times the ISP's share)
BUCKETS_PER_DECADE = 4
BEHAVIOUR = {"1": (0.8, 62, 0.2), "2-3": (0.25, 41, 0.6), "4+": (0.03, 19, 2.1)}  # share of users, Mbps, loss %
_STATS = (
    "download_mean_test_mbps", "download_p25_mbps", "download_median_mbps", "download_p75_mbps",
    "download_logavg_mbps", "upload_mean_test_mbps", "upload_p25_mbps", "upload_median_mbps", "upload_p75_mbps",
    "upload_logavg_mbps", "rtt_mean_ms", "rtt_median_ms", "jitter_median_ms", "loss_median_pct", "loss_mean_pct",
)


def regional_unit_id(periphery_id: str, index: int) -> str:
    return f"{int(periphery_id):02d}{index + 1:02d}"


def _days() -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)]


def _areas(rng) -> list[tuple]:
    """(area_level, area_id, area, periphery_id, population, median download, always suppressed)."""
    total = sum(p[1] for p in PERIPHERIES.values())
    median = sum(p[1] * p[2] for p in PERIPHERIES.values()) / total
    areas = [(AREA_COUNTRY, COUNTRY_ID, COUNTRY_NAME, None, total, median, False)]
    for pid, (name, population, speed, units) in PERIPHERIES.items():
        hidden = pid == ALWAYS_SUPPRESSED_PERIPHERY
        areas.append((AREA_PERIPHERY, pid, name, pid, population, speed, hidden))
        shares = rng.dirichlet(np.full(len(units), 4.0))
        for i, unit in enumerate(units):
            areas.append((AREA_REGIONAL_UNIT, regional_unit_id(pid, i), unit, pid, population * shares[i],
                          speed * rng.uniform(0.8, 1.2), hidden))
    return areas


def slices(rng) -> pd.DataFrame:
    """One row per slice with its labels, expected daily users and median download."""
    rows = []
    for level, area_id, area, pid, population, speed, hidden in _areas(rng):
        for isp, share in {ALL_ISPS: 1.0, **ISPS}.items():
            rows.append({"area_level": level, "area_id": area_id, "isp": isp, "area": area, "periphery_id": pid,
                         "periphery": PERIPHERIES[pid][0] if pid else None,
                         "expected_users": population * USERS_PER_THOUSAND * share,
                         "speed": speed * ISP_QUALITY[isp], "hidden": hidden or share == 0})
    return pd.DataFrame(rows)


def _across(frame: pd.DataFrame, name: str, values) -> pd.DataFrame:
    return frame.merge(pd.DataFrame({name: list(values)}), how="cross")


def _users(rng, frame: pd.DataFrame, factor=1.0) -> np.ndarray:
    """Drawn users per row: below k for hidden slices, Poisson around the expectation otherwise."""
    drawn = rng.poisson(frame["expected_users"].to_numpy() * factor)
    return np.where(frame["hidden"], rng.integers(1, K, len(frame)), np.maximum(drawn, 1))


def _masked(values, keep: np.ndarray) -> np.ndarray:
    """Values where kept, null (NaN, which DuckDB stores as NULL) where suppressed."""
    return np.where(keep, values, np.nan)


def _speed_stats(rng, frame: pd.DataFrame, users: np.ndarray) -> dict:
    n, keep = len(frame), users >= K
    down = frame["speed"].to_numpy() * rng.lognormal(0, 0.12, n)
    up = down * rng.uniform(0.08, 0.2, n)
    rtt = rng.uniform(14, 45, n)
    values = {
        "download_mean_test_mbps": down * 1.1, "download_p25_mbps": down * 0.6, "download_median_mbps": down,
        "download_p75_mbps": down * 1.45, "download_logavg_mbps": down * 0.93, "upload_mean_test_mbps": up * 1.1,
        "upload_p25_mbps": up * 0.6, "upload_median_mbps": up, "upload_p75_mbps": up * 1.4,
        "upload_logavg_mbps": up * 0.95, "rtt_mean_ms": rtt * 1.2, "rtt_median_ms": rtt,
        "jitter_median_ms": rtt * rng.uniform(0.08, 0.3, n), "loss_median_pct": rng.uniform(0, 0.8, n),
        "loss_mean_pct": rng.uniform(0.2, 1.5, n),
    }
    return {name: _masked(values[name], keep) for name in _STATS}


def _area_isp_metrics(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    frame = _across(sliced, "measurement_date", _days())
    users = _users(rng, frame)
    counts = {"tests": (users * rng.uniform(1.3, 2.0, len(frame))).astype(int) + 1,
              "users": _masked(users, users >= K), "sessions": users + users // 4,
              "is_suppressed": users < K}
    return frame.assign(**counts, **_speed_stats(rng, frame, users))


def _periods() -> pd.DataFrame:
    """Every ISO week and calendar month touching the synthetic days (the edge ones partly, as Gold has them)."""
    found = {(PERIOD_WEEK, week_start(d)) for d in _days()} | {(PERIOD_MONTH, month_start(d)) for d in _days()}
    return pd.DataFrame([{"period_kind": kind, "period_start": start, "period_end": period_end(kind, start),
                          "covered_days": len(set(period_days(kind, start)) & set(_days()))}
                         for kind, start in sorted(found)])


def _area_isp_period_metrics(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    """Per week and month: distinct users (some come back on several days) and statistics over them."""
    frame = _across(sliced, "period_kind", [None]).drop(columns="period_kind").merge(_periods(), how="cross")
    users = _users(rng, frame, factor=np.sqrt(frame["covered_days"].to_numpy()) * 2)
    counts = {"tests": (users * frame["covered_days"].to_numpy() * rng.uniform(0.4, 0.7, len(frame))).astype(int) + 1,
              "users": _masked(users, users >= K), "is_suppressed": users < K}
    return frame.assign(**counts, **_speed_stats(rng, frame, users))


def _regional_tables(metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """regional_metrics and regional_unit_metrics: the 'all' ISP rows of two levels, renamed."""
    every_isp = metrics[metrics["isp"] == ALL_ISPS]
    regional = every_isp[every_isp["area_level"] == AREA_PERIPHERY]
    units = every_isp[every_isp["area_level"] == AREA_REGIONAL_UNIT].rename(
        columns={"area_id": "regional_unit_id", "area": "regional_unit"})
    return regional, units


def _retention(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    frame = _across(_across(sliced, "session_date", _days()), "user_type", ["returning", "new_or_transient"])
    users = _users(rng, frame, np.where(frame["user_type"] == "returning", 0.35, 0.65))
    return frame.assign(sessions=users + users // 5, users=_masked(users, users >= K), is_suppressed=users < K)


def _cohorts(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    """Every cohort week with every later week; each slice's latest cohort is tiny (suppressed)."""
    mondays = [FIRST_DAY + dt.timedelta(weeks=w) for w in range(DAYS // 7 + 1)]
    pairs = pd.DataFrame([(c, s) for c in range(len(mondays)) for s in range(len(mondays) - c)],
                         columns=["cohort", "weeks_since_first"])
    per_cohort = _across(sliced, "cohort", range(len(mondays)))
    cohort_users = _users(rng, per_cohort, 1.5)
    per_cohort = per_cohort.assign(cohort_users=np.where(per_cohort["cohort"] == len(mondays) - 1, 4, cohort_users))
    frame = per_cohort.merge(pairs, how="inner", on="cohort")
    since = frame["weeks_since_first"].to_numpy()
    share = np.where(since == 0, 1.0, 0.45 * 0.8**since * rng.uniform(0.9, 1.1, len(frame)))
    active = (frame["cohort_users"].to_numpy() * share).astype(int)
    keep = (frame["cohort_users"].to_numpy() >= K) & (active >= K)
    return frame.assign(
        cohort_week=[mondays[c] for c in frame["cohort"]],
        cohort_users=_masked(frame["cohort_users"].to_numpy(), frame["cohort_users"].to_numpy() >= K),
        active_users=_masked(active, keep), retention_share=_masked(active / frame["cohort_users"], keep),
        is_suppressed=~keep)


def _staircase(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    frame = _across(_across(sliced, "session_date", _days()), "behaviour_bucket", list(BEHAVIOUR))
    share, down, loss = (frame["behaviour_bucket"].map({b: v[i] for b, v in BEHAVIOUR.items()}).to_numpy()
                         for i in range(3))
    users = _users(rng, frame, share)
    keep, n = users >= K, len(frame)
    return frame.assign(
        sessions=users + users // 4, users=_masked(users, keep),
        median_download_mbps=_masked(down * frame["speed"] / 55 * rng.uniform(0.9, 1.1, n), keep),
        median_loss_pct=_masked(loss * rng.uniform(0.8, 1.2, n), keep),
        median_jitter_ms=_masked(4 + loss * 3, keep), median_rtt_ms=_masked(22 + loss * 9, keep),
        is_suppressed=~keep)


def _attainment(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    frame = _across(sliced, "measurement_date", _days())
    users = _users(rng, frame, 0.7)
    keep = users >= K
    high = np.minimum(0.95, frame["speed"].to_numpy() / 100 * rng.uniform(0.9, 1.1, len(frame)))
    return frame.assign(
        user_days=_masked(users, keep), users=_masked(users, keep),
        share_reaching_low=_masked(np.minimum(0.99, high + 0.2), keep), share_reaching_high=_masked(high, keep),
        median_attainment=_masked(high + 0.15, keep), is_suppressed=~keep)


def _hourly(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    frame = _across(_across(sliced, "measurement_date", _days()), "hour_local", range(24))
    hour = frame["hour_local"].to_numpy()
    users = _users(rng, frame, np.where(hour < 7, 0.04, 0.1))
    evening = np.select([hour == 19, hour == 20, hour == 21, hour == 22, hour == 23], [0.8, 0.7, 0.68, 0.75, 0.85], 1.0)
    keep = users >= K
    return frame.assign(tests=users + 1, users=_masked(users, keep), is_suppressed=~keep,
                        median_download_mbps=_masked(frame["speed"] * evening * rng.uniform(0.9, 1.1, len(frame)),
                                                     keep))


def _histogram(rng, sliced: pd.DataFrame) -> pd.DataFrame:
    months = sorted({d.replace(day=1) for d in _days()})
    edges = [10 ** (i / BUCKETS_PER_DECADE) for i in range(3 * BUCKETS_PER_DECADE + 1)]
    rows = []
    for s in sliced.itertuples(index=False):
        for month in months:
            n = int(rng.integers(1, K)) if s.hidden else max(1, int(rng.poisson(s.expected_users * 8)))
            counts = np.histogram(np.clip(rng.lognormal(np.log(s.speed), 0.6, n), 1, 10**3.5),
                                  bins=[*edges, np.inf])[0]
            ok = counts.sum() >= K
            for i, lower in enumerate(edges):
                rows.append({"month": month, "area_level": s.area_level, "area_id": s.area_id, "isp": s.isp,
                             "bucket_index": i, "bucket_lower_mbps": lower,
                             "bucket_upper_mbps": edges[i + 1] if i + 1 < len(edges) else None,
                             "users": int(counts[i]) if ok else None,
                             "share_of_users": counts[i] / counts.sum() if ok else None, "is_suppressed": not ok})
    return pd.DataFrame(rows)


def _quality() -> pd.DataFrame:
    at = pd.Timestamp("2025-02-07 06:00", tz="UTC")
    return pd.DataFrame([{"run_id": "synthetic", "run_date": at.date(), "stage": "gold", "check_name": name,
                          "severity": "critical", "passed": True, "observed": "0", "expected": "0", "checked_at": at}
                         for name in ("area_isp_metrics key unique", "area_isp_metrics key not null")])


def synthetic_gold(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Every Gold table as a DataFrame with exactly its spec's columns, in order."""
    rng = np.random.default_rng(seed)
    sliced = slices(rng)
    metrics = _area_isp_metrics(rng, sliced)
    regional, units = _regional_tables(metrics)
    frames = {
        "area_isp_metrics": metrics, "regional_metrics": regional, "regional_unit_metrics": units,
        "user_retention": _retention(rng, sliced), "cohort_retention": _cohorts(rng, sliced),
        "frustration_staircase": _staircase(rng, sliced), "contract_attainment": _attainment(rng, sliced),
        "hourly_profile": _hourly(rng, sliced), "speed_histogram": _histogram(rng, sliced),
        "quality_results": _quality(),
    }
    # drawn last, so adding it left every other table's numbers as they were
    frames["area_isp_period_metrics"] = _area_isp_period_metrics(rng, sliced)
    return {name: frame[TABLES[name].column_names].reset_index(drop=True) for name, frame in frames.items()}


def write_gold_duckdb(path: str | Path, frames: dict[str, pd.DataFrame]) -> None:
    """``gold.<table>`` typed as the specs say (empty when not given); ``silver.<table>`` views that fail when read."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS gold")
        con.execute("CREATE SCHEMA IF NOT EXISTS silver")
        for spec in GOLD_TABLES:
            columns = ", ".join(
                f'"{c.name}" {duckdb_type(c.type)}{"" if c.nullable else " NOT NULL"}' for c in spec.columns
            )
            con.execute(f"CREATE OR REPLACE TABLE gold.{spec.name} ({columns})")
            con.register("frame", frames.get(spec.name, pd.DataFrame(columns=spec.column_names)))
            con.execute(f"INSERT INTO gold.{spec.name} SELECT * FROM frame")
            con.unregister("frame")
        for spec in SILVER_TABLES:
            con.execute(
                f"CREATE OR REPLACE VIEW silver.{spec.name} AS "
                f"SELECT error('the dashboard read silver.{spec.name}') AS never"
            )
    finally:
        con.close()


def write_params(folder: Path, duckdb_path: Path) -> Path:
    """A params file whose warehouse is the given DuckDB file; everything else stays under ``folder``."""
    path = folder / "dashboard-test.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "env": "dashboard-test",
                "dates": {
                    "date_from": FIRST_DAY.isoformat(),
                    "date_to": (FIRST_DAY + dt.timedelta(days=DAYS - 1)).isoformat(),
                },
                "storage": {"lake": str(folder / "lake"), "artifacts": str(folder / "artifacts")},
                "warehouse": {"kind": "duckdb", "duckdb_path": str(duckdb_path)},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return path
