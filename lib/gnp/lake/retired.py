"""The retired snapshot format (the lake before Delta Lake): checked once per run, never on a table's path.

A table of that format holds ``_snapshot.json`` and no ``_delta_log``. The
runner calls ``refuse_or_remove`` once, under the lake lock, before anything
reads or clears a table: a run refuses such a lake, naming the full refresh
that rebuilds it from Bronze; a ``--full-refresh`` removes those tables first
and rebuilds them. Nothing else in the library knows the format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gnp.core import storage
from gnp.core.registry import join
from gnp.lake.lakehouse import LakehouseError, is_delta

OLD_SNAPSHOT = "_snapshot.json"  # the retired format's marker


def is_old_format(table_path: str) -> bool:
    """True for a table the retired snapshot format wrote (and no Delta commit replaced)."""
    return storage.exists(join(table_path, OLD_SNAPSHOT)) and not is_delta(table_path)


def old_format_error(table_path: str) -> LakehouseError:
    return LakehouseError(
        f"{table_path} holds a table of the retired snapshot format (_snapshot.json, no _delta_log). "
        f"Tables are Delta Lake tables now: rebuild the lakehouse from Bronze with "
        f"`gnp run --full-refresh --params <your params>` (Bronze is kept; the old files are removed)."
    )


def refuse_or_remove(table_paths: Mapping[str, str], full_refresh: bool, log: Callable[[str], None]) -> list[str]:
    """Refuse a lake holding retired-format tables, unless this run rebuilds it; returns the paths removed."""
    old = [path for path in table_paths.values() if is_old_format(path)]
    if old and not full_refresh:
        raise old_format_error(old[0])
    for path in old:
        log(f"removing {path} (retired snapshot format): this full refresh rebuilds it as a Delta table")
        storage.filesystem(path).rm(path, recursive=True)
    return old
