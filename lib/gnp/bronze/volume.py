"""Records per stored Bronze day, and which days look empty or thin next to their neighbours.

A day fetched before the portal published it is stored empty, or with a
fraction of its tests; nothing fails, so it has to be looked for. The rule: a
day is *empty* when its latest version has no record; *thin* when it has fewer
than ``THIN_SHARE`` of the median of its stored, non-empty neighbours within
``NEIGHBOUR_DAYS`` on either side (a median, so one odd neighbour does not
decide; empty neighbours are left out, they are reported as empty). Empty days
are fetched again while young (``bronze.plan_days``); both are quality
warnings (``quality.day_volume_checks``) and shown by the ingest notebook.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from gnp.bronze import ingest as bronze
from gnp.core.config import Params
from gnp.core.registry import Registry

THIN_SHARE = 0.2
NEIGHBOUR_DAYS = 7
MANIFEST_READERS = 16
EMPTY, THIN, OK = "empty", "thin", "ok"


@dataclass(frozen=True)
class DayVolume:
    day: dt.date
    records: int  # in the day's latest version
    neighbours_median: float | None  # of the stored non-empty days within NEIGHBOUR_DAYS, None if there are none
    status: str  # EMPTY, THIN or OK


def latest_counts(registry: Registry, days: Iterable[dt.date]) -> dict[dt.date, int]:
    """Records in the latest version of each stored day among ``days`` (days never stored are absent)."""
    def count(day: dt.date) -> tuple[dt.date, int | None]:
        latest = bronze.latest_version(registry, day)
        return day, None if latest is None else int(latest.manifest()["record_count"])

    with ThreadPoolExecutor(MANIFEST_READERS) as pool:
        return {day: n for day, n in pool.map(count, sorted(set(days))) if n is not None}


def classify(
    counts: Mapping[dt.date, int], days: Iterable[dt.date], share: float = THIN_SHARE, radius: int = NEIGHBOUR_DAYS
) -> list[DayVolume]:
    """The volume and status of each stored day among ``days``, judged against ``counts`` of its neighbours."""
    volumes = []
    for day in sorted(set(days)):
        if day not in counts:
            continue
        near = [day + dt.timedelta(days=k) for k in range(-radius, radius + 1) if k]
        others = [counts[d] for d in near if counts.get(d)]
        median = statistics.median(others) if others else None
        records = counts[day]
        status = EMPTY if not records else THIN if median is not None and records < share * median else OK
        volumes.append(DayVolume(day, records, median, status))
    return volumes


def day_volumes(registry: Registry, days: Iterable[dt.date]) -> list[DayVolume]:
    """``classify`` for the stored days among ``days``, reading the manifests it needs."""
    days = sorted(set(days))
    if not days:
        return []
    around = dt.timedelta(days=NEIGHBOUR_DAYS)
    span = [days[0] - around + dt.timedelta(days=k) for k in range((days[-1] - days[0] + 2 * around).days + 1)]
    return classify(latest_counts(registry, span), days)


def what_happens(volume: DayVolume, empty_refetch_days: int, today: dt.date) -> str:
    if volume.status == EMPTY:
        until = bronze.empty_refetch_until(volume.day, empty_refetch_days)
        if today <= until:
            return f"fetched again by every run whose range holds it, until {until}"
        return f"kept empty: older than dates.empty_refetch_days ({empty_refetch_days}); dates.refetch fetches it again"
    return "kept; a warning in quality_results; dates.refetch fetches it again if the portal has since published more"


def report(params: Params, registry: Registry, days: Iterable[dt.date], today: dt.date | None = None) -> pd.DataFrame:
    """The empty and thin days among the run's ``days``, with what the pipeline does about each (for notebook 10)."""
    today = today or bronze.athens_today()
    dates = params.dates
    rows = [
        {"measurement_date": v.day, "records": v.records, "neighbours_median": v.neighbours_median,
         "status": v.status, "what_happens": what_happens(v, dates.empty_refetch_days, today)}
        for v in day_volumes(registry, days)
        if v.status != OK
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["measurement_date", "records", "neighbours_median", "status", "what_happens"])
