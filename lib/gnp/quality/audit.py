"""Audit before publish: a stage's new table versions stay current only if its critical checks pass.

A stage notes its tables' Delta versions before it writes (``versions_before``),
commits, checks the committed partitions, records every result in
``quality_results``, then calls ``keep_or_restore``. On a failed critical check
each table is restored to its version from before the stage (a RESTORE commit;
a table the stage created is removed), so the warehouse refresh and the BigQuery
publish that come after a successful stage can only ever see versions that
passed. Those readers pin the version they read (``lakehouse.current_files``),
so a failing version, current for the few seconds between its commit and its
restore, is never published. The lake lock keeps other runs out meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyspark.sql import SparkSession

from gnp.core.registry import Registry
from gnp.lake import lakehouse
from gnp.quality import checks as quality


def versions_before(registry: Registry, names: Iterable[str]) -> dict[str, int | None]:
    """Each table's current version (None: not created yet), to restore on failure."""
    return {name: lakehouse.version(registry.table_path(name)) for name in names}


def keep_or_restore(
    spark: SparkSession, registry: Registry, before: dict[str, int | None], results: Sequence[quality.CheckResult]
) -> None:
    """Keep the new versions if every critical check passed; else restore ``before`` and raise QualityError."""
    try:
        quality.assert_critical_passed(results)
    except quality.QualityError as exc:
        for name, version in before.items():
            lakehouse.restore(spark, registry.table_path(name), version)
        restored = ", ".join(f"{name} to version {v}" if v is not None else f"{name} removed (it was new)"
                             for name, v in before.items())
        raise quality.QualityError(f"{exc}\nNothing of this stage is published: restored {restored}.") from None
