"""A small synthetic Gold warehouse, so the dashboard can be built and tested before the pipeline runs.

``synthetic_gold`` makes plausible rows for every Gold table (13 peripheries, a
few regional units each, five ISPs, 60 days) with exactly the columns of
``gnp.schemas``; small cells are suppressed the way Gold suppresses them
(fewer than k users: statistics null, ``is_suppressed`` true). ΒΟΡΕΙΟΥ
ΑΙΓΑΙΟΥ and the ISP "ΔΕΗ Fiber" are always suppressed, ΙΟΝΙΩΝ ΝΗΣΩΝ often.
``write_gold_duckdb`` stores them as ``gold.*`` tables, plus ``silver.*``
views that raise when read: a dashboard query touching Silver fails loudly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from gnp.schemas import GOLD_TABLES, SILVER_TABLES
from gnp.warehouse import duckdb_type

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
BUCKETS_PER_DECADE = 4
_STATS = (
    "download_mean_test_mbps",
    "download_p25_mbps",
    "download_median_mbps",
    "download_p75_mbps",
    "download_logavg_mbps",
    "upload_mean_test_mbps",
    "upload_p25_mbps",
    "upload_median_mbps",
    "upload_p75_mbps",
    "upload_logavg_mbps",
    "rtt_mean_ms",
    "rtt_median_ms",
    "jitter_median_ms",
    "loss_median_pct",
    "loss_mean_pct",
)


def regional_unit_id(periphery_id: str, index: int) -> str:
    return f"{int(periphery_id):02d}{index + 1:02d}"


def _days() -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)]


def _users(rng, periphery_id: str, population: int, share: float = 1.0) -> int:
    if periphery_id == ALWAYS_SUPPRESSED_PERIPHERY:
        return int(rng.integers(1, K))
    return max(1, int(rng.poisson(population / 60 * share)))


def _speed_stats(rng, users: int, median: float) -> dict:
    if users < K:  # Gold keeps the test count of a suppressed cell and nulls everything about users
        return {name: None for name in _STATS} | {"users": None, "is_suppressed": True}
    down = median * rng.lognormal(0, 0.12)
    up = down * rng.uniform(0.08, 0.2)
    rtt = rng.uniform(14, 45)
    return {
        "download_mean_test_mbps": down * 1.1,
        "download_p25_mbps": down * 0.6,
        "download_median_mbps": down,
        "download_p75_mbps": down * 1.45,
        "download_logavg_mbps": down * 0.93,
        "upload_mean_test_mbps": up * 1.1,
        "upload_p25_mbps": up * 0.6,
        "upload_median_mbps": up,
        "upload_p75_mbps": up * 1.4,
        "upload_logavg_mbps": up * 0.95,
        "rtt_mean_ms": rtt * 1.2,
        "rtt_median_ms": rtt,
        "jitter_median_ms": rtt * rng.uniform(0.08, 0.3),
        "loss_median_pct": rng.uniform(0, 0.8),
        "loss_mean_pct": rng.uniform(0.2, 1.5),
        "is_suppressed": False,
    }


def _metric_rows(rng):
    regional, units = [], []
    for day in _days():
        for pid, (name, population, median, unit_names) in PERIPHERIES.items():
            users = _users(rng, pid, population)
            place = {"measurement_date": day, "periphery_id": pid, "periphery": name}
            counts = {"tests": int(users * rng.uniform(1.3, 2.0)) + 1, "users": users, "sessions": users + users // 4}
            regional.append(place | counts | _speed_stats(rng, users, median))
            for i, unit in enumerate(unit_names):
                u_users = max(1, int(users * rng.uniform(0.15, 0.6)))
                u_counts = {"tests": int(u_users * 1.6) + 1, "users": u_users, "sessions": u_users}
                units.append(
                    place
                    | {"regional_unit_id": regional_unit_id(pid, i), "regional_unit": unit}
                    | u_counts
                    | _speed_stats(rng, u_users, median * rng.uniform(0.8, 1.2))
                )
    return regional, units


def _retention_rows(rng):
    rows = []
    for day in _days():
        for area in [*PERIPHERIES, "all"]:
            population = sum(p[1] for p in PERIPHERIES.values()) if area == "all" else PERIPHERIES[area][1]
            for user_type, share in (("returning", 0.35), ("new_or_transient", 0.65)):
                users = _users(rng, area, population, share)
                ok = users >= K
                rows.append(
                    {
                        "session_date": day,
                        "periphery_id": area,
                        "user_type": user_type,
                        "sessions": users + users // 5,
                        "users": users if ok else None,
                        "is_suppressed": not ok,
                    }
                )
    return rows


def _cohort_rows(rng):
    rows, mondays = [], [FIRST_DAY + dt.timedelta(weeks=w) for w in range(DAYS // 7 + 1)]
    for c, week in enumerate(mondays):
        cohort_users = 4 if c == len(mondays) - 1 else int(rng.integers(150, 260))
        for since in range(len(mondays) - c):
            active = cohort_users if since == 0 else int(cohort_users * 0.45 * 0.8**since * rng.uniform(0.9, 1.1))
            ok = active >= K and cohort_users >= K
            rows.append(
                {
                    "cohort_week": week,
                    "weeks_since_first": since,
                    "cohort_users": cohort_users if cohort_users >= K else None,
                    "active_users": active if ok else None,
                    "retention_share": active / cohort_users if ok else None,
                    "is_suppressed": not ok,
                }
            )
    return rows


def _staircase_rows(rng):
    rows = []
    for day in _days():
        for bucket, sessions, down, loss in (("1", 400, 62, 0.2), ("2-3", 120, 41, 0.6), ("4+", 18, 19, 2.1)):
            n = int(rng.poisson(sessions))
            users = n if bucket != "4+" else int(rng.integers(2, 12))
            ok = users >= K
            rows.append(
                {
                    "session_date": day,
                    "behaviour_bucket": bucket,
                    "sessions": n,
                    "users": users if ok else None,
                    "median_download_mbps": down * rng.uniform(0.9, 1.1) if ok else None,
                    "median_loss_pct": loss * rng.uniform(0.8, 1.2) if ok else None,
                    "median_jitter_ms": 4 + loss * 3 if ok else None,
                    "median_rtt_ms": 22 + loss * 9 if ok else None,
                    "is_suppressed": not ok,
                }
            )
    return rows


def _attainment_row(rng, day, dimension, value, label, users, quality):
    ok = users >= K
    high = min(0.95, quality * rng.uniform(0.9, 1.1))
    return {
        "measurement_date": day,
        "dimension": dimension,
        "dimension_value": value,
        "dimension_label": label,
        "user_days": users if ok else None,
        "users": users if ok else None,
        "share_reaching_low": min(0.99, high + 0.2) if ok else None,
        "share_reaching_high": high if ok else None,
        "median_attainment": high + 0.15 if ok else None,
        "is_suppressed": not ok,
    }


def _attainment_rows(rng):
    rows, total = [], sum(p[1] for p in PERIPHERIES.values())
    for day in _days():
        for pid, (name, population, median, _units) in PERIPHERIES.items():
            rows.append(_attainment_row(rng, day, "periphery", pid, name, _users(rng, pid, population), median / 100))
        for isp, share in ISPS.items():
            users = int(rng.integers(1, K)) if share == 0 else max(1, int(rng.poisson(total / 60 * share)))
            rows.append(_attainment_row(rng, day, "isp", isp, isp, users, 0.55 + share / 3))
    return rows


def _hourly_rows(rng):
    rows, evening = [], {19: 0.8, 20: 0.7, 21: 0.68, 22: 0.75, 23: 0.85}
    for day in _days():
        for pid, (_name, population, median, _units) in PERIPHERIES.items():
            for hour in range(24):
                users = (
                    max(1, int(rng.poisson(population / 60 * (0.2 if hour < 7 else 0.6))))
                    if pid != ALWAYS_SUPPRESSED_PERIPHERY
                    else 1
                )
                ok = users >= K
                rows.append(
                    {
                        "measurement_date": day,
                        "periphery_id": pid,
                        "hour_local": hour,
                        "tests": users + 1,
                        "users": users if ok else None,
                        "median_download_mbps": median * evening.get(hour, 1.0) * rng.uniform(0.9, 1.1) if ok else None,
                        "is_suppressed": not ok,
                    }
                )
    return rows


def _histogram_rows(rng):
    rows, months = [], sorted({d.replace(day=1) for d in _days()})
    edges = [10 ** (i / BUCKETS_PER_DECADE) for i in range(3 * BUCKETS_PER_DECADE + 1)]
    for month in months:
        for pid, (_name, population, median, _units) in PERIPHERIES.items():
            speeds = rng.lognormal(np.log(median), 0.6, size=_users(rng, pid, population * 6))
            counts = np.histogram(np.clip(speeds, 1, 10**3.5), bins=[*edges, np.inf])[0]
            ok = counts.sum() >= K
            for i, lower in enumerate(edges):
                rows.append(
                    {
                        "month": month,
                        "periphery_id": pid,
                        "bucket_index": i,
                        "bucket_lower_mbps": lower,
                        "bucket_upper_mbps": edges[i + 1] if i + 1 < len(edges) else None,
                        "users": int(counts[i]) if ok else None,
                        "share_of_users": counts[i] / counts.sum() if ok else None,
                        "is_suppressed": not ok,
                    }
                )
    return rows


def _quality_rows():
    at = pd.Timestamp("2025-02-07 06:00", tz="UTC")
    return [
        {
            "run_id": "synthetic",
            "run_date": at.date(),
            "stage": "gold",
            "check_name": name,
            "severity": "critical",
            "passed": True,
            "observed": "0",
            "expected": "0",
            "checked_at": at,
        }
        for name in ("regional_metrics key unique", "regional_metrics key not null")
    ]


def synthetic_gold(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Every Gold table as a DataFrame with exactly its spec's columns, in order."""
    rng = np.random.default_rng(seed)
    regional, units = _metric_rows(rng)
    rows = {
        "regional_metrics": regional,
        "regional_unit_metrics": units,
        "user_retention": _retention_rows(rng),
        "cohort_retention": _cohort_rows(rng),
        "frustration_staircase": _staircase_rows(rng),
        "contract_attainment": _attainment_rows(rng),
        "hourly_profile": _hourly_rows(rng),
        "speed_histogram": _histogram_rows(rng),
        "quality_results": _quality_rows(),
    }
    return {spec.name: pd.DataFrame(rows[spec.name], columns=spec.column_names) for spec in GOLD_TABLES}


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
