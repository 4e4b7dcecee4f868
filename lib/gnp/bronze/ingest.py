"""Bronze: every fetched measurement day exactly as received, gzip-compressed, append-only.

One folder per measurement day (``Registry.bronze_day``). Each fetch adds a
version: ``<fetched-at UTC>-<sha256 prefix>.json.gz`` and, written last, its
manifest ``<same name>.manifest.json``. A version without a manifest is an
interrupted write and is ignored. Nothing is ever overwritten or deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import re
from dataclasses import dataclass, field

import pandas as pd

from gnp.core import storage
from gnp.core.config import Params, SourceParams
from gnp.core.errors import GnpError
from gnp.core.registry import Registry, join
from gnp.source.contract import TIME_FIELD
from gnp.source.fake_api import open_sample_client
from gnp.source.hyperion import DayFetch, HyperionFetchError, OpenClient, open_api_client
from gnp.source.hyperion_body import BodyError, parse_records

DATA_SUFFIX = ".json.gz"
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = 1
FETCHED_AT_FORMAT = "%Y%m%dT%H%M%S.%fZ"
CHECKSUM_CHARS = 12
BRONZE_OUTPUT_NAME = "bronze.hyperion"
ATHENS = "Europe/Athens"
# What Silver can read as a local time (``silver.cleaning.LOCAL_TIME_PATTERN``, after trimming).
LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


class BronzeError(GnpError):
    """Bronze refused a write (it would overwrite) or holds something unreadable."""


@dataclass(frozen=True)
class BronzeVersion:
    """One stored fetch of one day."""

    day: dt.date
    name: str  # "<fetched-at>-<sha256 prefix>"
    folder: str

    @property
    def data_path(self) -> str:
        return join(self.folder, self.name + DATA_SUFFIX)

    @property
    def manifest_path(self) -> str:
        return join(self.folder, self.name + MANIFEST_SUFFIX)

    @property
    def fetched_at(self) -> dt.datetime:
        stamp = self.name.split("-", 1)[0]
        return dt.datetime.strptime(stamp, FETCHED_AT_FORMAT).replace(tzinfo=dt.timezone.utc)

    def manifest(self) -> dict:
        return storage.read_json(self.manifest_path)

    def read_body(self) -> bytes:
        """The body as received; fails if it does not match the manifest's checksum."""
        body = gzip.decompress(storage.read_bytes(self.data_path))
        expected = self.manifest()["sha256"]
        if hashlib.sha256(body).hexdigest() != expected:
            raise BronzeError(f"{self.data_path}: checksum does not match its manifest (expected sha256 {expected})")
        return body


def version_name(fetched_at: dt.datetime, sha256: str) -> str:
    return f"{fetched_at.astimezone(dt.timezone.utc).strftime(FETCHED_AT_FORMAT)}-{sha256[:CHECKSUM_CHARS]}"


def list_versions(registry: Registry, day: dt.date) -> list[BronzeVersion]:
    """Complete versions of a day (those with a manifest), oldest first."""
    folder = registry.bronze_day(day)
    names = storage.listdir(folder)
    complete = [n[: -len(MANIFEST_SUFFIX)] for n in names if n.endswith(MANIFEST_SUFFIX)]
    return [BronzeVersion(day, n, folder) for n in sorted(complete) if n + DATA_SUFFIX in names]


def latest_version(registry: Registry, day: dt.date) -> BronzeVersion | None:
    versions = list_versions(registry, day)
    return versions[-1] if versions else None


def measurement_dates(body: bytes) -> list[str]:
    """Distinct local dates (ISO) of the records' ``measurement_time``, as Silver will read them.

    Silver files a test under its own date whatever request returned it, and
    plans which Bronze days to read from these lists. A body that is not a JSON
    array of records (only ever written by tests) has no readable date.
    """
    try:
        records = parse_records(body)
    except BodyError:
        return []
    dates = set()
    for rec in records:
        value = rec.get(TIME_FIELD)
        text = value.strip() if isinstance(value, str) else ""
        if LOCAL_TIME.fullmatch(text):
            with contextlib.suppress(ValueError):
                dates.add(dt.date.fromisoformat(text[:10]).isoformat())
    return sorted(dates)


def build_manifest(fetch: DayFetch, data_file: str, stored_bytes: int, source_kind: str, run_id: str) -> dict:
    """The sidecar of one version. It holds the request without the token, never the token."""
    return {
        "format": MANIFEST_FORMAT,
        "measurement_date": fetch.day.isoformat(),
        "data_file": data_file,
        "compression": "gzip",
        "request_url": fetch.url,
        "status": fetch.status,
        "bytes": len(fetch.body),
        "stored_bytes": stored_bytes,
        "sha256": fetch.sha256,
        "record_count": fetch.record_count,
        "records_outside_day": fetch.records_outside_day,
        "measurement_dates": measurement_dates(fetch.body),
        "fields": list(fetch.fields),
        "fetched_at": fetch.fetched_at.isoformat(),
        "elapsed_s": fetch.elapsed_s,
        "attempts": fetch.attempts,
        "response_sha256": fetch.response_sha256,
        "source_kind": source_kind,
        "run_id": run_id or None,
    }


def write_version(
    registry: Registry, fetch: DayFetch, source_kind: str, run_id: str = ""
) -> tuple[BronzeVersion, dict]:
    """Store one fetched day as a new version, data first, manifest last; returns both."""
    version = BronzeVersion(fetch.day, version_name(fetch.fetched_at, fetch.sha256), registry.bronze_day(fetch.day))
    for path in (version.data_path, version.manifest_path):
        if storage.exists(path):
            raise BronzeError(f"{path} already exists: Bronze is append-only and never overwrites")
    # mtime=0 keeps the stored bytes a function of the body alone.
    stored = gzip.compress(fetch.body, compresslevel=6, mtime=0)
    storage.write_bytes(version.data_path, stored)
    manifest = build_manifest(fetch, version.name + DATA_SUFFIX, len(stored), source_kind, run_id)
    storage.write_json(version.manifest_path, manifest)
    return version, manifest


def athens_today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(ATHENS)).date()


def empty_refetch_until(day: dt.date, empty_refetch_days: int) -> dt.date:
    """Last date (Athens) on which a day stored empty is still fetched again."""
    return day + dt.timedelta(days=empty_refetch_days)


def plan_days(
    registry: Registry,
    date_from: dt.date,
    date_to: dt.date,
    lookback_days: int = 0,
    refetch: bool = False,
    empty_refetch_days: int = 0,
    today: dt.date | None = None,
) -> tuple[list[dt.date], list[dt.date]]:
    """Split a range into days to fetch and days to skip.

    A day is fetched when asked to refetch, when it has no complete version yet,
    when it is among the last ``lookback_days`` days up to ``date_to`` (late data),
    or when its latest version is empty and the day is at most
    ``empty_refetch_days`` old. Age counts from ``today`` in Athens (default: the
    real today), not from ``date_to``: the portal publishes late relative to
    now, so a backfill of long-past days does not refetch days that are truly empty.

    The lookback reaches before the range too: the ``lookback_days`` days before
    ``date_from`` that Bronze already holds are fetched again (the daily run's
    range is one day, and the portal completes a day late). Days before the range
    that Bronze lacks are not this run's to fetch (the fetch list may start before
    ``date_from``; the skip list stays within the range).
    """
    today = today or athens_today()
    lookback_start = date_to - dt.timedelta(days=lookback_days - 1) if lookback_days else None
    fetch, skip = [], []
    for i in range((date_to - date_from).days + 1):
        day = date_from + dt.timedelta(days=i)
        recent = lookback_start is not None and day >= lookback_start
        versions = [] if refetch or recent else list_versions(registry, day)
        empty_and_young = bool(versions) and today <= empty_refetch_until(day, empty_refetch_days) and not int(
            versions[-1].manifest()["record_count"]
        )
        (fetch if refetch or recent or not versions or empty_and_young else skip).append(day)
    before = lookback_days_before(registry, date_from, lookback_days)
    empty = young_empty_days_before(registry, date_from, empty_refetch_days, today)
    return fetch + sorted(set(before) | set(empty)), skip


def lookback_days_before(registry: Registry, date_from: dt.date, lookback_days: int) -> list[dt.date]:
    """The ``lookback_days`` days before ``date_from`` that Bronze holds: fetched again, for late data."""
    days = [date_from - dt.timedelta(days=n) for n in range(lookback_days, 0, -1)]
    return [day for day in days if list_versions(registry, day)]


def young_empty_days_before(
    registry: Registry, date_from: dt.date, empty_refetch_days: int, today: dt.date
) -> list[dt.date]:
    """Days before the range stored empty and still young: a daily run's range is one day, yet the
    portal may publish a day fetched empty a week ago at any time, so those days are fetched again too."""
    first = today - dt.timedelta(days=empty_refetch_days)
    days = [first + dt.timedelta(days=i) for i in range(max(0, (min(date_from, today) - first).days))]
    found = []
    for day in days:
        versions = list_versions(registry, day)
        if versions and not int(versions[-1].manifest()["record_count"]):
            found.append(day)
    return found


@dataclass
class IngestSummary:
    """What an ingest did, one row per day of the range."""

    rows: list[dict] = field(default_factory=list)

    def add(self, day: dt.date, action: str, manifest: dict, versions: int, location: str) -> None:
        self.rows.append(
            {
                "measurement_date": day,
                "action": action,
                "records": manifest["record_count"],
                "bytes": manifest["bytes"],
                "stored_bytes": manifest["stored_bytes"],
                "sha256": manifest["sha256"][:CHECKSUM_CHARS],
                "status": manifest["status"],
                "attempts": manifest["attempts"],
                "fetched_at": manifest["fetched_at"],
                "versions": versions,
                "location": location,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per day, sorted by day."""
        frame = pd.DataFrame(self.rows)
        return frame.sort_values("measurement_date", ignore_index=True) if len(frame) else frame

    def totals(self) -> pd.DataFrame:
        """One row per action (fetched, skipped): days, records, bytes."""
        frame = self.to_frame()
        if frame.empty:
            return pd.DataFrame(columns=["action", "days", "records", "bytes", "stored_bytes"])
        grouped = frame.groupby("action", as_index=False).agg(
            days=("measurement_date", "count"),
            records=("records", "sum"),
            bytes=("bytes", "sum"),
            stored_bytes=("stored_bytes", "sum"),
        )
        return grouped

    def outputs(self) -> list[dict]:
        """Bronze objects this ingest wrote, with their record counts (for ``manifest.record_outputs``)."""
        return [
            {
                "name": BRONZE_OUTPUT_NAME,
                "measurement_date": r["measurement_date"].isoformat(),
                "location": r["location"],
                "rows": r["records"],
            }
            for r in self.rows
            if r["action"] == "fetched"
        ]


def client_opener(source: SourceParams) -> OpenClient:
    """How the params' source is opened: the real API, or the sample source served on loopback (``sample``)."""
    return open_sample_client if source.kind == "sample" else open_api_client


def ingest_range(
    params: Params,
    registry: Registry,
    open_client: OpenClient | None = None,
    *,
    run_id: str = "",
    progress: bool = True,
) -> IngestSummary:
    """Fetch the params' date range into Bronze; days already there are skipped (see ``plan_days``).

    ``open_client(params.source, progress=)`` opens the source's client, only
    when a day is to be fetched: by default the one ``source.kind`` names
    (``client_opener``); tests pass fakes. If some days fail every retry, the
    others are stored first, then HyperionFetchError names them.
    """
    open_client = open_client or client_opener(params.source)
    dates = params.dates
    to_fetch, to_skip = plan_days(
        registry, dates.date_from, dates.date_to, dates.lookback_days, dates.refetch, dates.empty_refetch_days
    )
    summary = IngestSummary()
    for day in to_skip:
        versions = list_versions(registry, day)
        summary.add(day, "skipped", versions[-1].manifest(), len(versions), versions[-1].data_path)
    if not to_fetch:
        return summary
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(open_client(params.source, progress=progress))
        try:
            for fetch in client.fetch_days(to_fetch):
                version, manifest = write_version(registry, fetch, client.source_kind, run_id)
                summary.add(fetch.day, "fetched", manifest, len(list_versions(registry, fetch.day)), version.data_path)
        except HyperionFetchError as exc:
            stored = sum(r["action"] == "fetched" for r in summary.rows)
            raise HyperionFetchError(
                f"{exc} ({stored} other days were stored in Bronze; running again fetches only the missing ones)",
                exc.days,
            ) from None
    return summary
