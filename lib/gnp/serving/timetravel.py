"""History and time travel for readers: which run wrote which version, and Gold as it was after a run.

Every commit carries its run id (``userMetadata``), so "Gold as of run R" is,
for each Gold table, the last version R committed; a table R did not write is
taken at its newest version committed no later than R's last commit. Only
versions whose checks passed are shown (``gnp.quality.audit``): a version a
RESTORE withdrew, or one after the table's audited version, is passed over. The
versions open as DuckDB views over their exact files (no Spark), as long as
``VACUUM`` has not removed them (``storage.vacuum_retain_days``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from gnp.core.errors import UsageError
from gnp.core.registry import Registry
from gnp.core.schemas import TABLES
from gnp.lake import lakehouse
from gnp.quality import audit
from gnp.serving.warehouse import view_sql

GOLD = [name for name, spec in TABLES.items() if spec.layer == "gold"]


def history_frame(registry: Registry, name: str, limit: int | None = None) -> pd.DataFrame:
    """A table's commits, newest first: version, time, operation, run id, rows written."""
    if name not in TABLES:
        raise UsageError(f"no table {name!r}; the tables are: {', '.join(TABLES)}")
    rows = []
    for commit in lakehouse.history(registry.table_path(name), limit):
        metrics = commit["metrics"] or {}
        parameters = commit["parameters"] or {}
        rows.append({
            "version": commit["version"],
            "committed_at": commit["timestamp"].strftime("%Y-%m-%d %H:%M:%S"),
            "operation": commit["operation"],
            "run_id": commit["run_id"] or "",
            "rows_written": metrics.get("numOutputRows", ""),
            "partitions": parameters.get("predicate", parameters.get("mode", "")),
        })
    return pd.DataFrame(rows, columns=["version", "committed_at", "operation", "run_id", "rows_written", "partitions"])


def withdrawn(commits: list[dict]) -> set[int]:
    """Versions a later RESTORE withdrew: those between the version it brought back and itself (a failed check,
    or a run killed before its check, see ``gnp.quality.audit``)."""
    found = set()
    for commit in commits:
        target = (commit["parameters"] or {}).get("version") if commit["operation"] == "RESTORE" else None
        if target is not None:
            found.update(range(int(target) + 1, commit["version"]))
    return found


def gold_versions_as_of(registry: Registry, run_id: str) -> dict[str, int | None]:
    """Each Gold table's version as the run left it (None: the table did not exist yet).

    Only versions that passed their checks: none after the table's audited version, none a RESTORE withdrew.
    """
    histories = {name: lakehouse.history(registry.table_path(name)) for name in GOLD}
    by_run = [c["timestamp"] for commits in histories.values() for c in commits if c["run_id"] == run_id]
    if not by_run:
        raise lakehouse.LakehouseError(
            f"run {run_id!r} committed nothing to Gold; `gnp history <table>` lists the runs that did")
    last = max(by_run)
    audited = audit.readable_versions(registry, GOLD)
    versions = {}
    for name, commits in histories.items():
        out = withdrawn(commits)
        readable = [c for c in commits if audited[name] is not None and c["version"] <= audited[name]
                    and c["version"] not in out]  # fmt: skip
        own = [c["version"] for c in readable if c["run_id"] == run_id]
        earlier = [c["version"] for c in readable if c["timestamp"] <= last]
        versions[name] = max(own) if own else (max(earlier) if earlier else None)
    return versions


def open_gold_as_of(registry: Registry, run_id: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view ``gold.<table>`` per Gold table as ``run_id`` left it."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA gold")
    for name, version in gold_versions_as_of(registry, run_id).items():
        files = [] if version is None else lakehouse.current_files(registry.table_path(name), at_version=version)
        con.execute(view_sql(con, f"gold.{name}", TABLES[name], files))
    return con
