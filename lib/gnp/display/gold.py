"""What the Gold notebook shows: the national median trend, and how much of each table is suppressed, and why.

``national_trend`` and ``suppression`` collect small summaries from Spark (one
job each); charts and sentences are pure functions of the pandas frames.
A cell is suppressed when fewer than k users are in it; the finer the slice
(regional unit, one provider, one hour), the more often that happens, so the
share is shown per table and slice level, with the coarser table to read instead.
"""

from __future__ import annotations


import altair as alt
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import ALL_ISPS, AREA_COUNTRY, TABLES
from gnp.dashboard.charts import SUPPRESSED_COLOR
from gnp.display import common as views
from gnp.lake import parallel

PERIOD_TABLE = "area_isp_period_metrics"
GRAIN_OF_PARTITION = {"measurement_date": "day", "session_date": "day", "cohort_week": "cohort week",
                      "month": "month"}
LEVEL_OF_TABLE = {"regional_metrics": "periphery", "regional_unit_metrics": "regional_unit"}
MOSTLY = 0.5  # above this share of suppressed cells a table gets a sentence


def national_trend(area_isp_metrics: DataFrame) -> pd.DataFrame:
    """Greece, every provider, per day: users, tests and the median download and upload (null when suppressed)."""
    return (area_isp_metrics.where((F.col("area_level") == AREA_COUNTRY) & (F.col("isp") == ALL_ISPS))
            .select("measurement_date", "users", "tests", "download_median_mbps", "upload_median_mbps",
                    "is_suppressed")
            .orderBy("measurement_date").toPandas())


def staircase_days(frustration_staircase: DataFrame) -> pd.DataFrame:
    """Greece, every provider: per behaviour bucket, the sessions of the days built and their daily medians.

    A median of several days cannot be had from the days' medians, and their mean
    is no median: so each day's median is shown as it is (lowest, middle and highest
    of the days), not blended; the whole period's median is the dashboard's.
    """
    days = (frustration_staircase
            .where((F.col("area_level") == AREA_COUNTRY) & (F.col("isp") == ALL_ISPS) & ~F.col("is_suppressed"))
            .select("session_date", "behaviour_bucket", "sessions", "median_download_mbps").toPandas())
    columns = ["behaviour_bucket", "days", "sessions", "lowest_daily_median_mbps", "middle_daily_median_mbps",
               "highest_daily_median_mbps"]
    if days.empty:
        return pd.DataFrame(columns=columns)
    medians = days.groupby("behaviour_bucket")["median_download_mbps"]
    return pd.DataFrame({
        "days": days.groupby("behaviour_bucket")["session_date"].nunique(),
        "sessions": days.groupby("behaviour_bucket")["sessions"].sum(),
        "lowest_daily_median_mbps": medians.min(),
        "middle_daily_median_mbps": medians.median(),
        "highest_daily_median_mbps": medians.max(),
    }).reset_index()[columns].sort_values("behaviour_bucket").reset_index(drop=True)


def trend_chart(trend: pd.DataFrame) -> alt.TopLevelMixin:
    """Median download and upload of Greece per day (over users' daily medians); suppressed days left out."""
    kept = trend[~trend["is_suppressed"].astype(bool)]
    kept = kept.assign(measurement_date=pd.to_datetime(kept["measurement_date"]))  # datetime.date is not JSON
    frame = kept.melt(
        id_vars=["measurement_date", "users"], value_vars=["download_median_mbps", "upload_median_mbps"],
        var_name="direction", value_name="mbps")
    frame["direction"] = frame["direction"].map({"download_median_mbps": "download", "upload_median_mbps": "upload"})
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("measurement_date:T", title=None, axis=alt.Axis(format="%d %b")),
        y=alt.Y("mbps:Q", title="Median over users, Mbps"),
        color=alt.Color("direction:N", title=None),
        tooltip=[alt.Tooltip("measurement_date:T", title="Day"), alt.Tooltip("direction:N"),
                 alt.Tooltip("mbps:Q", format=",.1f", title="Mbps"), alt.Tooltip("users:Q", format=",.0f")],
    ).properties(width=views.WIDTH, height=220)
    return views.finish(chart, "Greece, every provider: the median user's speed per day")


def trend_sentence(trend: pd.DataFrame) -> str:
    shown = trend[~trend["is_suppressed"].astype(bool)].dropna(subset=["download_median_mbps"])
    if shown.empty:
        return f"Greece as a whole is suppressed on every day built ({views.plural(len(trend), 'day')})."
    low, high = shown.loc[shown["download_median_mbps"].idxmin()], shown.loc[shown["download_median_mbps"].idxmax()]
    day = lambda row: pd.Timestamp(row["measurement_date"]).strftime("%-d %b %Y")  # noqa: E731
    return (f"Over the {views.plural(len(shown), 'day')} built, the median user in Greece downloaded between "
            f"{low['download_median_mbps']:,.1f} Mbps ({day(low)}) and {high['download_median_mbps']:,.1f} Mbps "
            f"({day(high)}), from {int(shown['users'].min()):,} to {int(shown['users'].max()):,} users a day.")


def _levels(name: str, df: DataFrame) -> DataFrame:
    spec = TABLES[name]
    grain = F.col("period_kind") if "period_kind" in df.columns else F.lit(GRAIN_OF_PARTITION[spec.partition_by])
    level = F.col("area_level") if "area_level" in df.columns else F.lit(LEVEL_OF_TABLE.get(name, "—"))
    isps = (F.when(F.col("isp") == ALL_ISPS, F.lit("every provider")).otherwise(F.lit("one provider"))
            if "isp" in df.columns else F.lit("every provider"))
    return (df.groupBy(grain.alias("grain"), level.alias("area_level"), isps.alias("providers"))
            .agg(F.count(F.lit(1)).alias("cells"),
                 F.coalesce(F.sum(F.col("is_suppressed").cast("bigint")), F.lit(0)).alias("suppressed_cells"))
            .select(F.lit(name).alias("table_name"), "*"))


def suppression(tables: dict[str, DataFrame]) -> pd.DataFrame:
    """Cells and suppressed cells per table, grain and slice level (area level, one or every provider); a small
    job per table, a few at once (one job over their union was slower: see ``gnp.quality.checks``)."""
    parts = [(name, df) for name, df in tables.items() if "is_suppressed" in df.columns]
    if not parts:
        raise ValueError("no table with an is_suppressed column was given")
    frame = pd.concat(parallel.each(lambda part: _levels(*part).toPandas(), parts), ignore_index=True)
    frame["share"] = frame["suppressed_cells"] / frame["cells"]
    return frame.sort_values(["table_name", "grain", "area_level", "providers"], ignore_index=True)


def suppression_chart(levels: pd.DataFrame) -> alt.TopLevelMixin:
    """Share of suppressed cells, a row per table and grain, a column per slice level."""
    frame = levels.assign(table=levels["table_name"] + " (" + levels["grain"] + ")",
                          slice=levels["area_level"] + ", " + levels["providers"])
    base = alt.Chart(frame).encode(
        x=alt.X("slice:N", title=None, axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("table:N", title=None),
        tooltip=[alt.Tooltip("table:N"), alt.Tooltip("slice:N"), alt.Tooltip("cells:Q", format=",.0f"),
                 alt.Tooltip("suppressed_cells:Q", format=",.0f", title="Suppressed"),
                 alt.Tooltip("share:Q", format=".0%")])
    rect = base.mark_rect().encode(color=alt.Color("share:Q", title="Suppressed", legend=alt.Legend(format="%"),
                                                   scale=alt.Scale(domain=[0, 1], range=["#ffffff", SUPPRESSED_COLOR])))
    text = base.mark_text(fontSize=10).encode(text=alt.Text("share:Q", format=".0%"))
    chart = alt.layer(rect, text).properties(width=alt.Step(70), height=alt.Step(20))
    return views.finish(chart, "Share of cells suppressed (fewer than k users)")


def _per_table(levels: pd.DataFrame) -> pd.DataFrame:
    totals = levels.groupby(["table_name", "grain"], as_index=False)[["cells", "suppressed_cells"]].sum()
    return totals.assign(share=totals["suppressed_cells"] / totals["cells"])


def suppression_sentences(levels: pd.DataFrame, k: int) -> list[str]:
    """What the suppression means, from ``suppression``: the mostly suppressed tables and what to read instead."""
    totals = _per_table(levels)
    mostly = totals[totals["share"] > MOSTLY].sort_values("share", ascending=False)
    if mostly.empty:
        return [f"No table has more than {MOSTLY:.0%} of its cells suppressed (fewer than k={k} users)."]
    periods = totals[totals["table_name"] == PERIOD_TABLE].set_index("grain")["share"]
    sentences = []
    for row in mostly.itertuples():
        cells = levels[(levels["table_name"] == row.table_name) & (levels["grain"] == row.grain)]
        worst = cells.loc[cells["share"].idxmax()]
        best = cells.loc[cells["share"].idxmin()]
        sentence = (f"{row.share:.0%} of {row.table_name} cells are suppressed at {row.grain} grain "
                    f"({int(row.suppressed_cells):,} of {int(row.cells):,}): fewer than k={k} users in the cell "
                    f"(one per "
                    f"{TABLES[row.table_name].grain.removeprefix('one row per ')}). The most suppressed slice "
                    f"({worst['area_level']}, {worst['providers']}) is at {worst['share']:.0%}, the least "
                    f"({best['area_level']}, {best['providers']}) at {best['share']:.0%}")
        if row.grain == "day" and len(periods):
            coarser = "; ".join(f"by {g} {s:.0%}" for g, s in periods.sort_values().items())
            sentence += f". Speed statistics read better by week or month: {PERIOD_TABLE} is suppressed {coarser}"
        sentences.append(sentence + ".")
    return sentences
