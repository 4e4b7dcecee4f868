"""The open-data release: one whole month of Gold, as published, as a Frictionless data package.

``gnp release --month 2025-10`` writes ``<out>/<month>/<version>/``: ``datapackage.json``,
``README.md``, ``LICENSE.md`` and, per released table, ``data/<table>.csv`` and
``data/<table>.parquet``. The version is the pipeline run whose Gold it carries.

- **As published.** Gold's current version of each table, which passed its checks
  (a failing version is restored before anything reads it); rows are copied as
  they are, suppressed cells included and still suppressed. Nothing from Silver.
  Before writing, every row is checked against the suppression rule once more,
  and a violation stops the release.
- **No Spark.** Gold is read from the Delta logs by the ``deltalake`` package
  (local folders and ``gs://`` alike), one month's partitions only, at a pinned
  version per table.
- **Reproducible.** Rows are sorted by the table's key, the files are written by
  fixed-format writers, and nothing depends on the clock: the same lake and
  commit give byte-identical files. A release is written once: files already
  there must be identical (then nothing is written), otherwise it stops. On
  ``gs://`` each object is created with ``ifGenerationMatch=0``, so the writer
  needs only create rights on the release bucket.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gnp.core import storage
from gnp.core.config import Params
from gnp.core.dates import days_between, month_end, month_start
from gnp.core.errors import GnpError, UsageError
from gnp.core.manifest import git_commit
from gnp.core.registry import Registry, join
from gnp.core.schemas import ALL_ISPS, AREA_COUNTRY, PERIOD_MONTH, SLICE_KEY, TABLES, TableSpec
from gnp.lake import lakehouse
from gnp.quality import audit
from gnp.serving import release_package as pkg
from gnp.serving.release_readme import readme
from gnp.serving.releases import DESCRIPTOR, RELEASES

PROJECT_ROOT = Path(__file__).resolve().parents[3]
READ_THREADS = 8  # files are read concurrently: on gs:// each is a few round trips
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ARROW_TYPES = {"bigint": pa.int64(), "int": pa.int32(), "double": pa.float64(), "string": pa.string(),
               "boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC")}
_NULLABLE_PANDAS = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype(), pa.bool_(): pd.BooleanDtype()}
# columns with a unit that a suppressed cell keeps: activity counts and the cell's own coordinates
KEPT_WHEN_SUPPRESSED = {*pkg.ACTIVITY_COUNTS, "hour_local", "bucket_lower_mbps", "bucket_upper_mbps"}


class ReleaseError(GnpError):
    """A month cannot be released as asked (not whole in Gold, a rule broken, a different release there)."""


@dataclass(frozen=True)
class Selection:
    """Which of a Gold table's rows belong to a month, and what the README says about the table."""

    name: str
    column: str  # the partition column placing a row in the month
    by_month_start: bool  # the column holds the month's first day (else each of its days)
    rows_selected: str
    about: str  # may name the params' semantics: {session_gap_minutes}, {attainment_high}, ...
    period_kind: str | None = None

    def partition_values(self, month: dt.date) -> list[str]:
        days = [month] if self.by_month_start else days_between(month, month_end(month))
        return [d.isoformat() for d in days]


SELECTIONS = (
    Selection("area_isp_period_metrics", "period_start", True, "the month's row of each slice (period_kind month)",
              "The month's exact figures: each user's median over all their tests of the month in the slice, "
              "then the median, quartiles and log-average over those users. Start here for monthly figures.",
              period_kind=PERIOD_MONTH),
    Selection("area_isp_metrics", "measurement_date", False, "every day of the month",
              "The same statistics day by day: each user's median of the day, then statistics over users."),
    Selection("contract_attainment", "measurement_date", False, "every day of the month",
              "How often users get the download speed in their contract: per user-day, the day's median "
              "download divided by the contracted download, and the share of user-days reaching "
              "{attainment_low:.0%} (low) and {attainment_high:.0%} (high) of it."),
    Selection("hourly_profile", "measurement_date", False, "every day and local hour of the month",
              "Median download over users by local hour (each user's median in the hour); most cells are "
              "suppressed by day and hour, which is the rule at work."),
    Selection("frustration_staircase", "session_date", False, "every day of the month (sessions by start date)",
              "Sessions (one user's tests with no gap over {session_gap_minutes} minutes) by how many tests "
              "they held (1, 2-3, "
              "4+), with the medians of the sessions' median download, loss, jitter and RTT: users who test "
              "again and again tend to have a bad line."),
    Selection("user_retention", "session_date", False, "every day of the month (sessions by start date)",
              "Sessions and distinct users per day by type: returning (the user's previous session ended at "
              "most {returning_window_days} days earlier) or new or transient."),
    Selection("speed_histogram", "month", True, "the month's buckets of each slice",
              "Users by their monthly median download, in log-spaced buckets ({histogram_buckets_per_decade} "
              "per tenfold; a user counted once)."),
)
LEFT_OUT = {
    "regional_metrics": "the every-provider periphery rows of `area_isp_metrics` (`area_level` periphery, "
                        "`isp` all), the same numbers under the original pipeline's name.",
    "regional_unit_metrics": "the every-provider regional-unit rows of `area_isp_metrics`, likewise.",
    "cohort_retention": "weekly cohorts run across month ends and their later weeks keep arriving, so they are "
                        "not a month's figures.",
    "quality_results": "the pipeline's own checks, about runs rather than internet quality (all passed for "
                       "the Gold released: a failing version is withdrawn before anything reads it).",
}


@dataclass(frozen=True)
class ReleaseResult:
    location: str  # the release's folder
    month: str
    version: str
    tables: list[pkg.ReleasedTable]
    written: bool  # False: an identical release was already there


def parse_month(text: str) -> dt.date:
    if not _MONTH.match(text or ""):
        raise UsageError(f"--month must be YYYY-MM (e.g. 2025-10), not {text!r}")
    return dt.date(int(text[:4]), int(text[5:]), 1)


def gold_days(registry: Registry) -> list[dt.date]:
    """The days Gold's daily table holds, in order."""
    return sorted(dt.date.fromisoformat(d) for d in lakehouse.partitions(registry.table_path("area_isp_metrics")))


def latest_whole_month(days: list[dt.date]) -> dt.date | None:
    """The last calendar month lying wholly inside Gold's days (first to last), or None."""
    if not days:
        return None
    month = month_start(days[-1]) if days[-1] == month_end(days[-1]) else \
        month_start(month_start(days[-1]) - dt.timedelta(days=1))
    return month if days[0] <= month else None


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The Arrow schema of a table spec: the types the release writes (and Parquet readers see)."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in spec.columns])


def _typed(rows: pa.Table, spec: TableSpec, partition: tuple[str, str] | None) -> pa.Table:
    """A file's rows with exactly the spec's columns and types; the partition column from its folder if the file
    lacks it (Delta writers may leave it out), a column the file lacks as nulls."""
    columns = []
    for c in spec.columns:
        if c.name in rows.column_names:
            columns.append(rows[c.name].cast(ARROW_TYPES[c.type]))
        elif partition is not None and c.name == partition[0]:
            columns.append(pa.array([partition[1]] * rows.num_rows, pa.string()).cast(ARROW_TYPES[c.type]))
        else:
            columns.append(pa.nulls(rows.num_rows, ARROW_TYPES[c.type]))
    return pa.Table.from_arrays(columns, schema=arrow_schema(spec))


def _partition_of(uri: str, column: str) -> tuple[str, str] | None:
    folder = uri.rsplit("/", 2)[-2]
    name, _, value = folder.partition("=")
    return (column, unquote(value)) if name == column else None


def read_month(registry: Registry, selection: Selection, month: dt.date) -> tuple[pa.Table, int | None]:
    """One table's rows of the month at its audited version (``gnp.quality.audit``: its checks passed), with
    exactly the spec's columns, sorted by key.

    The version's exact files are listed from the Delta log and read with pyarrow through the same
    filesystem layer as every other read (deltalake's own pyarrow dataset aborts the interpreter at exit).
    """
    spec = TABLES[selection.name]
    path = registry.table_path(spec.name)
    version = audit.readable_versions(registry, [spec.name])[spec.name]
    if version is None:
        return arrow_schema(spec).empty_table(), None
    files = lakehouse.current_files(path, only=selection.partition_values(month), at_version=version)
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:  # one small file per day: wait on them together
        parts = list(pool.map(lambda f: _typed(pq.read_table(f, filesystem=storage.filesystem(f)), spec,
                                               _partition_of(f, selection.column)), files))
    rows = pa.concat_tables(parts) if parts else arrow_schema(spec).empty_table()
    if selection.period_kind is not None:
        rows = rows.filter(pc.equal(rows["period_kind"], selection.period_kind))
    return rows.sort_by([(k, "ascending") for k in spec.key]), version


def suppression_problems(spec: TableSpec, rows: pa.Table, k: int) -> list[str]:
    """Rows that break the suppression rule: an unsuppressed cell under k users, a suppressed one showing a
    statistic. Empty when every row keeps it."""
    frame = rows.to_pandas()
    if frame.empty:
        return []
    hidden = frame["is_suppressed"].astype(bool)
    if spec.name == "speed_histogram":  # the rule holds for the month and slice, all buckets together
        totals = frame.groupby(["month", *SLICE_KEY])["users"].transform("sum")
        small = ~hidden & (totals < k)
    else:
        small = ~hidden & ~(frame["users"] >= k)
    problems = [f"{spec.name}: {int(small.sum())} unsuppressed rows from fewer than {k} users"] if small.any() else []
    shown = [c.name for c in spec.columns if pkg.unit_of(c.name) and c.name not in KEPT_WHEN_SUPPRESSED]
    for column in shown:
        leaked = int((hidden & frame[column].notna()).sum())
        if leaked:
            problems.append(f"{spec.name}: {leaked} suppressed rows show {column}")
    return problems


def csv_bytes(rows: pa.Table) -> bytes:
    """UTF-8 CSV with a header; null is an empty cell, dates ISO, booleans true/false, doubles round-trip."""
    buffer = io.BytesIO()
    pacsv.write_csv(rows, buffer, pacsv.WriteOptions(quoting_style="needed"))
    return buffer.getvalue()


def parquet_bytes(rows: pa.Table) -> bytes:
    """Zstandard-compressed Parquet that pandas reads with nullable integers (``Int64``), not floats.

    A suppressed cell's count is null: without pandas' own metadata in the file, ``to_pandas`` turns an
    integer column holding a null into floats (12.0), which Frictionless (reading Parquet through pandas)
    rightly rejects as integers, and which a reader would not want either.
    """
    frame = rows.to_pandas(types_mapper=_NULLABLE_PANDAS.get)
    with_metadata = pa.Table.from_pandas(frame, schema=rows.schema, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(with_metadata, buffer, compression="zstd", compression_level=9)
    return buffer.getvalue()


MEDIATYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "md": "text/markdown"}


def _released_file(path: str, fmt: str, data: bytes) -> pkg.ReleasedFile:
    mediatype = MEDIATYPES[fmt]
    return pkg.ReleasedFile(path, fmt, mediatype, len(data), hashlib.sha256(data).hexdigest())


def _put(location: str, data: bytes) -> bool:
    """Create the file; True if written, False if an identical one is there; a different one stops the release."""
    if storage.exists(location):
        if storage.read_bytes(location) == data:
            return False
        raise ReleaseError(f"{location} already exists with other contents: a release is never replaced (was it "
                           f"written by another commit of the code? the README says which); remove that release "
                           f"by hand to write it again")
    storage.write_once(location, data)
    return True


def _commit_of(registry: Registry, name: str, version: int | None) -> dict | None:
    """The Delta commit that made ``version`` of a table (its run id, time), None for no table."""
    if version is None:
        return None
    return next((c for c in lakehouse.history(registry.table_path(name)) if c["version"] == version), None)


def _last_commit(commits: list[dict]) -> tuple[str, str]:
    """(run id, ISO time) of the newest commit among the released versions: the release's version."""
    if not commits:
        raise ReleaseError("Gold has none of the released tables yet: run the pipeline first (`make run`)")
    newest = max(commits, key=lambda c: c["timestamp"])
    if not newest["run_id"]:
        raise ReleaseError("Gold's last commit carries no run id (written outside `gnp run`?): the release has no "
                           "version to carry; rebuild Gold with `gnp run`")
    return newest["run_id"], newest["timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_commit(registry: Registry, run_id: str) -> str | None:
    """The commit the run that built Gold ran at, from its manifest when it can be read."""
    try:
        return storage.read_json(join(registry.run_dir(run_id), "manifest.json")).get("git", {}).get("commit")
    except (OSError, ValueError):
        return None


def _days_with_tests(rows: pa.Table) -> int:
    country = rows.filter(pc.and_(pc.equal(rows["area_level"], AREA_COUNTRY), pc.equal(rows["isp"], ALL_ISPS)))
    country = country.filter(pc.greater(country["tests"], 0))
    return len(set(country["measurement_date"].to_pylist()))


def write_release(params: Params, month: str | None = None, out: str | None = None) -> ReleaseResult:
    """Release one whole month of Gold (default: the latest whole month Gold holds) under ``out``."""
    registry = Registry.from_params(params)
    days = gold_days(registry)
    first = parse_month(month) if month else latest_whole_month(days)
    if first is None or not days or not (days[0] <= first and month_end(first) <= days[-1]):
        held = f"{days[0]} to {days[-1]}" if days else "nothing"
        asked = f"{first:%Y-%m}" if first else "a whole month"
        raise ReleaseError(f"Gold holds {held}, not all of {asked}: only whole months are released")
    label, k = f"{first:%Y-%m}", params.semantics.k_anonymity
    read = {s.name: read_month(registry, s, first) for s in SELECTIONS}
    problems = [p for s in SELECTIONS for p in suppression_problems(TABLES[s.name], read[s.name][0], k)]
    if problems:
        raise ReleaseError("the release would publish small cells, so nothing was written: " + "; ".join(problems))
    commits = {name: _commit_of(registry, name, v) for name, (_, v) in read.items()}
    version, created = _last_commit([c for c in commits.values() if c])
    target = join(out or join(registry.artifacts, RELEASES), label, version)
    tables, payloads = [], {}
    for s in SELECTIONS:
        rows, gold_version = read[s.name]
        files = []
        for fmt, data in (("csv", csv_bytes(rows)), ("parquet", parquet_bytes(rows))):
            path = f"data/{s.name}.{fmt}"
            payloads[path] = data
            files.append(_released_file(path, fmt, data))
        about = s.about.format(**params.semantics.model_dump())
        tables.append(pkg.ReleasedTable(TABLES[s.name], s.rows_selected, about, rows.num_rows,
                                        int(pc.sum(rows["is_suppressed"]).as_py() or 0), tuple(files),
                                        gold_version, (commits[s.name] or {}).get("run_id")))
    git = git_commit(PROJECT_ROOT)
    facts = pkg.ReleaseFacts(
        month=label, version=version, created=created, date_from=first.isoformat(),
        date_to=month_end(first).isoformat(), days_with_tests=_days_with_tests(read["area_isp_metrics"][0]),
        days_in_month=month_end(first).day, k=k, git_commit=git["commit"], git_dirty=git["dirty"],
        gold_run_commit=_run_commit(registry, version), source_kind=params.source.kind)
    payloads["README.md"] = readme(facts, tables, LEFT_OUT).encode("utf-8")
    payloads["LICENSE.md"] = pkg.licence_text(facts).encode("utf-8")
    documents = [_released_file(name, "md", payloads[name]) for name in ("README.md", "LICENSE.md")]
    written = [_put(join(target, path), data) for path, data in payloads.items()]
    # the descriptor last: a folder with a datapackage.json is a complete release
    descriptor = pkg.descriptor(facts, tables, documents)
    written.append(_put(join(target, DESCRIPTOR), pkg.descriptor_bytes(descriptor)))
    return ReleaseResult(target, label, version, tables, any(written))
