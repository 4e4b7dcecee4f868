"""Where the Bronze records of a Silver run went: kept, quarantined, duplicate, or another run's.

The counts use the very conditions ``measurements.to_measurements`` and
``to_quarantine`` filter with, so a record that falls through both shows as an
imbalance, and the stage refuses to commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.errors import GnpError
from gnp.silver.measurements import has_place, in_partitions, is_from_other_day, is_kept, is_quarantined


class AccountingError(GnpError):
    """Bronze records were lost or counted twice on the way to Silver."""


@dataclass(frozen=True)
class Accounting:
    """Where the Bronze records a run read went.

    A run reads whole Bronze versions, also of neighbouring days, to judge
    every copy of the tests it files; records of partitions it does not
    rewrite are counted as ``other_partitions`` (the run that rewrites their
    partition accounts for them), so nothing is counted twice.
    """

    bronze_records: int  # every record read
    silver_rows: int
    quarantine_rows: int
    duplicates: int
    rows_without_place: int  # kept in Silver with a null periphery or regional unit
    other_partitions: int = 0  # read for deduplication only: their partition is not rewritten by this run
    kept_from_other_day: int = 0  # kept in Silver, returned under another day's request
    outside_plan: int = 0  # from the run's own Bronze days yet outside its partitions: the plan missed a date
    manifest_records: int | None = None  # what the Bronze manifests say the read should find

    @property
    def is_balanced(self) -> bool:
        read_all = self.manifest_records is None or self.manifest_records == self.bronze_records
        accounted = self.silver_rows + self.quarantine_rows + self.duplicates + self.other_partitions
        return read_all and self.outside_plan == 0 and self.bronze_records == accounted

    def require_balanced(self) -> "Accounting":
        """Raise AccountingError saying what was expected and found, else return self."""
        if self.outside_plan:
            raise AccountingError(
                f"{self.outside_plan} records of the run's Bronze days belong to dates the plan does not rewrite "
                "(their manifests predate measurement_dates); run again with --full-refresh to file them"
            )
        if not self.is_balanced:
            raise AccountingError(
                f"expected bronze records {self.bronze_records} (manifests: {self.manifest_records}) = silver "
                f"{self.silver_rows} + quarantine {self.quarantine_rows} + duplicates {self.duplicates} + other "
                f"partitions {self.other_partitions}, found "
                f"{self.silver_rows + self.quarantine_rows + self.duplicates + self.other_partitions}"
            )
        return self

    def as_dict(self) -> dict:
        return asdict(self)


def count_accounting(
    flagged: DataFrame,
    manifest_records: int | None = None,
    partitions: Iterable[dt.date] | None = None,
    run_days: Iterable[dt.date] = (),
) -> Accounting:
    """Count the flagged records (one Spark job) with the same conditions the split uses.

    ``partitions`` are those the run rewrites (None: all); ``run_days`` the
    Bronze days whose records must all fall in them. A record whose conditions
    evaluate to null would fall through both ``to_measurements`` and
    ``to_quarantine``; it then shows as an imbalance.
    """
    mine = in_partitions(partitions)
    run_days = list(run_days)
    own_days = F.col("bronze_date").isin(run_days) if run_days else F.lit(False)
    kept = is_kept() & mine
    counts = flagged.agg(
        F.count(F.lit(1)).alias("bronze_records"),
        F.count_if(kept).alias("silver_rows"),
        F.count_if(is_quarantined() & mine).alias("quarantine_rows"),
        F.count_if(F.col("is_duplicate") & mine).alias("duplicates"),
        F.count_if(kept & ~has_place()).alias("rows_without_place"),
        F.count_if(~mine).alias("other_partitions"),
        F.count_if(kept & is_from_other_day()).alias("kept_from_other_day"),
        F.count_if(~mine & own_days).alias("outside_plan"),
    ).first()
    return Accounting(**counts.asDict(), manifest_records=manifest_records)
