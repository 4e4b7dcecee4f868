"""Compare two versions of a Gold table (e.g. Spark's and the DuckDB reference) cell by cell."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import pandas as pd

from gnp.core.schemas import TABLES, TableSpec

EXACT_TOLERANCE = 1e-9
MAX_REPORTED = 20  # differences listed per table; the count is always complete


def compare_table(
    found: pd.DataFrame, expected: pd.DataFrame, spec: TableSpec, tolerance: float = EXACT_TOLERANCE
) -> list[str]:
    """Differences between two frames of one table, matched on the spec's key; empty when they agree.

    Doubles agree when |a - b| <= tolerance * max(1, |a|, |b|): exact statistics
    computed in another order differ only in the last bits. Everything else
    must be equal; null equals only null.
    """
    problems = []
    for label, frame in (("found", found), ("expected", expected)):
        if list(frame.columns) != spec.column_names:
            problems.append(f"{spec.name}: {label} columns {list(frame.columns)} are not {spec.column_names}")
    if problems:
        return problems
    found_rows, expected_rows = _by_key(found, spec), _by_key(expected, spec)
    for key in sorted(expected_rows.keys() - found_rows.keys(), key=repr):
        problems.append(f"{spec.name} {key}: row missing (expected {expected_rows[key]})")
    for key in sorted(found_rows.keys() - expected_rows.keys(), key=repr):
        problems.append(f"{spec.name} {key}: unexpected row {found_rows[key]}")
    for key in sorted(found_rows.keys() & expected_rows.keys(), key=repr):
        for c in spec.columns:
            a, b = found_rows[key][c.name], expected_rows[key][c.name]
            if not _agree(a, b, c.type, tolerance):
                problems.append(f"{spec.name} {key} {c.name}: expected {b!r}, found {a!r}")
    duplicates = (len(found) - len(found_rows), len(expected) - len(expected_rows))
    if any(duplicates):
        problems.append(f"{spec.name}: duplicate keys (found {duplicates[0]}, expected {duplicates[1]})")
    if len(problems) > MAX_REPORTED:
        problems = problems[:MAX_REPORTED] + [f"{spec.name}: ... {len(problems) - MAX_REPORTED} more differences"]
    return problems


def compare_tables(
    found: Mapping[str, pd.DataFrame], expected: Mapping[str, pd.DataFrame], tolerance: float = EXACT_TOLERANCE
) -> dict[str, list[str]]:
    """``compare_table`` for every table in ``expected``; a table missing from ``found`` is a difference."""
    return {
        name: compare_table(found[name], frame, TABLES[name], tolerance) if name in found else [f"{name}: table missing"]
        for name, frame in expected.items()
    }


def _by_key(frame: pd.DataFrame, spec: TableSpec) -> dict[tuple, dict]:
    types = {c.name: c.type for c in spec.columns}
    rows = {}
    for record in frame.to_dict("records"):
        row = {name: _normal(value, types[name]) for name, value in record.items()}
        rows[tuple(row[k] for k in spec.key)] = row
    return rows


def _normal(value, spark_type: str):
    """One Python value per logical value, whichever engine and pandas dtype produced it."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if spark_type == "date":
        return value.date() if isinstance(value, (pd.Timestamp, dt.datetime)) else value
    if spark_type == "timestamp":
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if spark_type in ("bigint", "int"):
        return int(value)
    if spark_type == "double":
        return float(value)
    if spark_type == "boolean":
        return bool(value)
    if spark_type == "string":
        return str(value)
    return value


def _agree(a, b, spark_type: str, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if spark_type == "double":
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
    return a == b
