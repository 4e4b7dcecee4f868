"""What an open-data release says about itself: the Frictionless descriptor, the data README and the licence note.

Pure functions from the table contracts (``gnp.core.schemas``) and a few facts
about the release to JSON-ready dicts and Markdown text; ``gnp.serving.release``
reads Gold and writes the files. Every table schema is generated from the
project's own specs, so a column added to Gold reaches the release's data
dictionary with its type, description and unit without a second edit.

Nothing here may depend on the clock or the machine: the same facts give the
same bytes (the release is reproducible from the lake and the commit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gnp.core.schemas import TableSpec

FRICTIONLESS_TYPES = {
    "bigint": "integer", "int": "integer", "double": "number", "string": "string", "boolean": "boolean",
    "date": "date", "timestamp": "datetime",
}
MISSING = ""  # the one missing-value marker: an empty CSV cell (a null in Parquet)
SUPPRESSION_FLAG = "is_suppressed"
ACTIVITY_COUNTS = ("tests", "sessions")  # volume, not people: kept in suppressed cells, as Gold keeps them
_COUNTS = {"tests", "users", "sessions", "user_days", "cohort_users", "active_users"}
_FRACTIONS = {"share_of_users", "share_reaching_low", "share_reaching_high", "retention_share", "median_attainment"}
PROFILE = "tabular-data-package"
SOURCE_TITLE = "EETT (Hellenic Telecommunications and Post Commission), Hyperion broadband speed tests"
SOURCE_PATH = "https://data.gov.gr/api/v1/query/hyperion"  # the documented query endpoint of the dataset
# Not confirmed from where this project is built (no network): data.gov.gr's page for the dataset states
# the licence. None until someone reads it there and writes it here; the release then says so.
SOURCE_LICENCE: str | None = None


def unit_of(column: str) -> str | None:
    """The unit a column's name carries (``_mbps``, ``_ms``, ``_pct``), or what its values count."""
    if column.endswith("_mbps"):
        return "Mbps"
    if column.endswith("_ms"):
        return "ms"
    if column.endswith("_pct"):
        return "percent (0-100)"
    if column in _FRACTIONS:
        return "fraction (0-1)"
    if column in _COUNTS:
        return "count"
    if column == "hour_local":
        return "hour of the day, Europe/Athens"
    return None


def field_descriptor(spec: TableSpec, name: str) -> dict:
    column = next(c for c in spec.columns if c.name == name)
    field = {"name": column.name, "type": FRICTIONLESS_TYPES[column.type], "description": column.description}
    unit = unit_of(column.name)
    if unit:
        field["unit"] = unit
    if not column.nullable or column.name in spec.key:
        field["constraints"] = {"required": True}
    return field


def table_schema(spec: TableSpec) -> dict:
    """The Table Schema of one Gold table: every column in order, its key, the missing-value marker."""
    return {"fields": [field_descriptor(spec, c.name) for c in spec.columns], "primaryKey": list(spec.key),
            "missingValues": [MISSING]}


@dataclass(frozen=True)
class ReleasedFile:
    """One written file of a resource: where it is in the package, its size and digest."""

    path: str
    format: str
    mediatype: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ReleasedTable:
    """A Gold table as released: its contract, which rows, how many, and its two files."""

    spec: TableSpec
    rows_selected: str  # which of Gold's rows, in words
    about: str  # how the figures are computed, for the README
    rows: int
    suppressed_rows: int
    files: tuple[ReleasedFile, ...]
    gold_version: int | None
    gold_run_id: str | None


@dataclass(frozen=True)
class ReleaseFacts:
    """Everything the descriptor and the README say besides the tables (none of it from the clock)."""

    month: str  # YYYY-MM
    version: str  # the Gold run the release carries
    created: str  # ISO time of that run's last Gold commit
    date_from: str
    date_to: str
    days_with_tests: int
    days_in_month: int
    k: int
    git_commit: str | None
    git_dirty: bool | None
    gold_run_commit: str | None  # the commit that built Gold, from its run manifest when reachable
    source_kind: str  # "api" (data.gov.gr) or "sample" (the project's generator)


def suppression_rule(k: int) -> str:
    return (f"A cell (one row) computed from fewer than {k} distinct users is suppressed: {SUPPRESSION_FLAG} is "
            f"true, its distinct-user count and every statistic are missing (an empty CSV cell, a Parquet null), "
            f"and only its activity counts ({', '.join(ACTIVITY_COUNTS)}), which count volume rather than people, "
            f"are kept. speed_histogram applies the rule to the month and slice as a whole (all its buckets are "
            f"suppressed together). A missing value never means zero.")


def _resource(table: ReleasedTable, file: ReleasedFile) -> dict:
    name = table.spec.name if file.format == "csv" else f"{table.spec.name}-{file.format}"
    resource = {
        "name": name, "profile": "tabular-data-resource", "type": "table", "path": file.path,
        "format": file.format, "mediatype": file.mediatype, "hash": f"sha256:{file.sha256}",
        "title": f"{table.spec.name} ({file.format.upper()})",
        "description": f"{table.spec.grain}; {table.rows_selected}.",
        "schema": table_schema(table.spec),
        "rows": table.rows, "suppressedRows": table.suppressed_rows,
        "goldTable": {"name": table.spec.name, "deltaVersion": table.gold_version, "runId": table.gold_run_id},
    }
    if file.format == "csv":
        # Frictionless reads Parquet through pyarrow and cannot count its bytes, so it would report a declared
        # size as wrong: a Parquet file's size is in the package's "files" list only (its digest is here too)
        resource.update(encoding="utf-8", bytes=file.bytes)
    return resource


def file_entry(file: ReleasedFile) -> dict:
    return {"path": file.path, "bytes": file.bytes, "hash": f"sha256:{file.sha256}"}


def citation(facts: ReleaseFacts) -> str:
    what = "sample data generated by the project, not real measurements" if facts.source_kind == "sample" \
        else f"{SOURCE_TITLE}, via data.gov.gr"
    return (f"Greek Net Pulse. Internet quality in Greece, {facts.month}: monthly open-data release of "
            f"Gold aggregates, version {facts.version}. Source: {what}.")


def descriptor(facts: ReleaseFacts, tables: list[ReleasedTable], documents: list[ReleasedFile]) -> dict:
    """The ``datapackage.json`` content, keys in a fixed order; ``files`` lists every other file of the release
    with its size and SHA-256 (the data files, then ``documents``: the README and the licence)."""
    sample = facts.source_kind == "sample"
    return {
        "profile": PROFILE,
        "name": f"greek-net-pulse-{facts.month}",
        "title": f"Greek Net Pulse, {facts.month}: internet quality in Greece from EETT's Hyperion speed tests"
                 + (" (SAMPLE DATA, not real measurements)" if sample else ""),
        "description": ("Whole-month Gold aggregates as the project publishes them: statistics over users per "
                        "area (Greece, periphery, regional unit) and provider, with small cells suppressed. "
                        "See README.md for what each table is and how each figure is computed."),
        "version": facts.version,
        "created": facts.created,
        "keywords": ["broadband", "internet speed", "Greece", "Hyperion", "EETT", "open data"],
        "sources": [{"title": "Greek Net Pulse's sample generator (synthetic records)"} if sample
                    else {"title": SOURCE_TITLE, "path": SOURCE_PATH}],
        "temporalCoverage": {"from": facts.date_from, "to": facts.date_to, "daysWithTests": facts.days_with_tests,
                             "daysInMonth": facts.days_in_month},
        "suppression": {"k": facts.k, "flag": SUPPRESSION_FLAG, "keptWhenSuppressed": list(ACTIVITY_COUNTS),
                        "missingValues": [MISSING], "rule": suppression_rule(facts.k)},
        "licenseNote": licence_note(facts),
        "citation": citation(facts),
        "provenance": {"goldRunId": facts.version, "gitCommit": facts.git_commit, "gitDirty": facts.git_dirty,
                       "goldRunGitCommit": facts.gold_run_commit, "sourceKind": facts.source_kind},
        "files": [file_entry(f) for t in tables for f in t.files] + [file_entry(d) for d in documents],
        "resources": [_resource(t, f) for t in tables for f in t.files],
    }


def descriptor_bytes(descriptor_: dict) -> bytes:
    return (json.dumps(descriptor_, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def licence_note(facts: ReleaseFacts) -> str:
    if facts.source_kind == "sample":
        return ("Sample data made by the project's own generator (Apache-2.0, like the project's code); no "
                "third party's data is in it.")
    if SOURCE_LICENCE:
        return f"The source data are published by EETT on data.gov.gr under {SOURCE_LICENCE}."
    return ("The licence under which data.gov.gr publishes the Hyperion dataset could not be confirmed where this "
            "release was built (no network access): read it on the dataset's page at data.gov.gr before reuse. "
            "These aggregates are derived from that dataset and carry its terms; the project's code is Apache-2.0.")


def licence_text(facts: ReleaseFacts) -> str:
    return f"# Licence\n\n{licence_note(facts)}\n\nHow to cite: {citation(facts)}\n"
