"""What the Silver notebook shows: where each day's records went, why records were quarantined, sessions by bucket.

``day_counts`` and ``bucket_counts`` collect small summaries from Spark (one
job each); the rest are pure functions of pandas frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import altair as alt
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.dashboard.charts import BUCKET_ORDER
from gnp.silver.accounting import Accounting
from gnp.silver.measurements import PARTITION, in_partitions, is_kept, is_quarantined
from gnp.display import common as views

FATES = ["kept", "quarantined", "duplicate"]
FATE_COLORS = ["#3b6ea8", "#c0392b", "#b0b0b0"]
ACCOUNTING_ROWS = {
    "bronze_records": "Bronze records read",
    "silver_rows": "kept in Silver",
    "quarantine_rows": "quarantined",
    "duplicates": "duplicates dropped",
    "other_partitions": "read only to judge copies (other partitions)",
    "rows_without_place": "kept without a periphery or regional unit",
    "kept_from_other_day": "kept, returned under another day's request",
}


def accounting_frame(accounting: Accounting) -> pd.DataFrame:
    """The accounting as a two-column table (what, records), in reading order."""
    counts = accounting.as_dict()
    return pd.DataFrame({"records": list(ACCOUNTING_ROWS.values()),
                         "count": [counts[k] for k in ACCOUNTING_ROWS]})


def day_counts(flagged: DataFrame, partitions: Iterable[dt.date] | None) -> pd.DataFrame:
    """Records kept, quarantined and duplicated per Silver partition the run rewrote, long form (day, fate, records).

    The same conditions as the accounting and the split; ``flagged`` is
    ``stage.FlaggedBronze.frame`` (recomputed from Bronze if already unpersisted).
    """
    mine = flagged.where(in_partitions(None if partitions is None else list(partitions)))
    wide = (mine.groupBy(F.col(PARTITION).alias("day"))
            .agg(F.count_if(is_kept()).alias("kept"), F.count_if(is_quarantined()).alias("quarantined"),
                 F.count_if(F.col("is_duplicate")).alias("duplicate"))
            .toPandas())
    return to_long(wide)


def to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """(day, kept, quarantined, duplicate) -> (day, fate, records), sorted by day then fate."""
    long = wide.melt(id_vars="day", value_vars=FATES, var_name="fate", value_name="records")
    long["fate"] = pd.Categorical(long["fate"], FATES)
    return long.sort_values(["day", "fate"], ignore_index=True).astype({"fate": str, "records": "int64"})


def day_chart(counts: pd.DataFrame) -> alt.TopLevelMixin:
    """Stacked bars per day: kept, quarantined, duplicate."""
    frame = counts.assign(day=pd.to_datetime(counts["day"]).dt.strftime("%Y-%m-%d"),
                          order=counts["fate"].map(FATES.index))
    chart = alt.Chart(frame).mark_bar().encode(
        x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("records:Q", title="Records", stack=True),
        color=alt.Color("fate:N", title=None, scale=alt.Scale(domain=FATES, range=FATE_COLORS)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("day:O", title="Day"), alt.Tooltip("fate:N", title="Went to"),
                 alt.Tooltip("records:Q", format=",.0f")],
    ).properties(width=views.WIDTH, height=200)
    return views.finish(chart, "Where each day's Bronze records went")


def reasons_chart(reasons: pd.DataFrame) -> alt.TopLevelMixin:
    """Quarantined records per reason (``stage.quarantine_reasons``), the commonest on top."""
    order = reasons.sort_values("count", ascending=False)["reason"].tolist()
    chart = alt.Chart(reasons).mark_bar(color="#c0392b").encode(
        x=alt.X("count:Q", title="Quarantined records (a record may have several reasons)"),
        y=alt.Y("reason:N", sort=order, title=None),
        tooltip=[alt.Tooltip("reason:N"), alt.Tooltip("count:Q", format=",.0f", title="Records")],
    ).properties(width=views.WIDTH - 200, height=alt.Step(18))
    return views.finish(chart, "Why records were quarantined")


def reasons_sentence(reasons: pd.DataFrame, accounting: Accounting) -> str:
    """How many records of the rewritten days were quarantined, and the commonest reason."""
    quarantined = accounting.quarantine_rows
    filed = accounting.silver_rows + quarantined + accounting.duplicates
    if not quarantined:
        return f"No record was quarantined (of {filed:,} records of the days rewritten)."
    top = reasons.sort_values("count", ascending=False).iloc[0]
    return (f"{quarantined:,} of {filed:,} records of the days rewritten ({quarantined / filed:.1%}) were "
            f"quarantined; the commonest reason is {top['reason']} ({views.plural(int(top['count']), 'record')}).")


def bucket_counts(sessions: DataFrame) -> pd.DataFrame:
    """Sessions per behaviour bucket, new and returning users apart (bucket, who, sessions)."""
    frame = sessions.groupBy("behaviour_bucket", "is_returning").count().toPandas()
    who = frame["is_returning"].map({True: "returning", False: "new"}).fillna("unknown")
    out = pd.DataFrame({"bucket": frame["behaviour_bucket"], "who": who, "sessions": frame["count"].astype("int64")})
    rank = out["bucket"].map({b: i for i, b in enumerate(BUCKET_ORDER)})
    return out.assign(rank=rank).sort_values(["rank", "who"], ignore_index=True).drop(columns="rank")


def bucket_chart(buckets: pd.DataFrame) -> alt.TopLevelMixin:
    """Sessions per number of tests in the session, new and returning users side by side."""
    chart = alt.Chart(buckets).mark_bar().encode(
        x=alt.X("bucket:N", sort=BUCKET_ORDER, title="Tests in the session"),
        xOffset=alt.XOffset("who:N"),
        y=alt.Y("sessions:Q", title="Sessions"),
        color=alt.Color("who:N", title="User", scale=alt.Scale(domain=["new", "returning"],
                                                               range=["#8c6bb1", "#4c9a6a"])),
        tooltip=[alt.Tooltip("bucket:N", title="Tests"), alt.Tooltip("who:N", title="User"),
                 alt.Tooltip("sessions:Q", format=",.0f")],
    ).properties(width=300, height=200)
    return views.finish(chart, "Sessions by bucket")
