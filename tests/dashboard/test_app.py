"""The widget app in-process (real widgets, real DuckDB), the static report, captions and the Voila command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import pytest

from gnp.core.config import DashboardParams
from gnp.dashboard import app, figures, markup
from gnp.dashboard.selection import filter_options
from gnp.dashboard.serve import TEMPLATE, voila_command, voila_env
from gnp.dashboard.source import open_gold

D = dt.date


def dashboard(params) -> app.Dashboard:
    with open_gold(params) as gold:
        return app.Dashboard(params, filter_options(gold))


def pictures(dash: app.Dashboard) -> dict[str, str]:
    """What each figure shows: its chart's data, or its placeholder (generation stamp left out)."""
    shown = {}
    for panel in dash.panels:
        live = panel.live is not None and panel.live.layout.display != "none"
        shown[panel.figure.key] = (json.dumps(panel.live.spec["datasets"], sort_keys=True, default=str, ensure_ascii=False)
                                   if live else re.sub(r'data-generation="\d+"', "", panel.static.value))
    return shown


def redraw(dash: app.Dashboard, control, value) -> set[str]:
    """Set a filter; the figures whose picture changed. Every figure must now be drawn for the new selection."""
    before = pictures(dash)
    control.value = value
    stale = [p.figure.key for p in dash.panels if p.drawn is None or p.drawn.filters != dash.filters()]
    assert stale == [], f"expected every figure drawn for {dash.filters()}, found stale {stale}"
    after = pictures(dash)
    return {key for key in after if after[key] != before[key]}


def test_every_filter_redraws_every_figure_and_the_regional_units_follow_the_periphery(gold_params):
    dash = dashboard(gold_params)
    every = {p.figure.key for p in dash.panels}
    assert "all of Greece" in dash.status.value and dash.regional_unit.disabled
    assert redraw(dash, dash.periphery, "9") == every
    assert "ΑΤΤΙΚΗΣ" in dash.status.value and 'data-generation="2"' in dash.status.value
    assert [label for label, _ in dash.regional_unit.options][1:] == ["Ανατολικής Αττικής", "Κεντρικού Τομέα Αθηνών",
                                                                      "Πειραιώς"]
    assert "Πειραιώς" in pictures(dash)["tests_per_day"]
    live = next(p for p in dash.panels if p.figure.key == "speeds_over_time").live
    assert set(pd.DataFrame(next(iter(live.spec["datasets"].values())))["area"]) == {
        "Ανατολικής Αττικής", "Κεντρικού Τομέα Αθηνών", "Πειραιώς"}
    changed = redraw(dash, dash.regional_unit, "0903")
    # the peripheries at the selected ISP, Attica highlighted: the same pictures for Attica and for Πειραιώς
    same = {"attainment_by_periphery", "periphery_map"}
    assert changed == every - same, f"expected all but {sorted(same)} redrawn, found {sorted(changed)}"
    assert "Πειραιώς" in dash.status.value and "Ανατολικής Αττικής" not in pictures(dash)["tests_per_day"]
    assert redraw(dash, dash.isp, "Nova") == every, "expected the ISP filter to change every figure"
    assert "ISP Nova" in dash.status.value
    assert redraw(dash, dash.date_from, D(2025, 1, 20)) >= every - {"speed_histogram"}  # histogram: same months


def test_the_date_inputs_are_clamped_to_golds_range(gold_params):
    dash = dashboard(gold_params)
    with open_gold(gold_params) as gold:
        options = filter_options(gold)
    bounds = [(picker.min, picker.max) for picker in (dash.date_from, dash.date_to)]
    assert bounds == [(options.first_date, options.last_date)] * 2, f"expected Gold's range as bounds, found {bounds}"
    dash.date_from.value, dash.date_to.value = D(2020, 1, 1), D(2030, 1, 31)
    found = (dash.filters().date_from, dash.filters().date_to)
    assert found == (options.first_date, options.last_date), f"expected the period clamped to Gold's, found {found}"
    assert "No data" not in dash.message.value and dash.grid.layout.display is None


def test_a_reversed_selection_shows_the_message_not_an_error(gold_params):
    dash = dashboard(gold_params)
    dash.date_to.value = D(2025, 2, 6)  # the page opens on January
    dash.date_from.value = D(2025, 2, 1)
    assert dash.grid.layout.display is None
    dash.date_to.value = D(2025, 1, 20)
    assert "No data for this selection" in dash.message.value
    assert dash.grid.layout.display == "none" and dash.message.layout.display is None
    assert "start date on or before the end date" in dash.message.value
    dash.date_to.value = D(2025, 2, 6)
    assert dash.grid.layout.display is None and dash.message.layout.display == "none"


def test_a_suppressed_selection_says_so_in_the_headline_and_the_figures(gold_params):
    dash = dashboard(gold_params)
    dash.periphery.value = "11"
    assert dash.headline.value.count(">suppressed<") == 4, "expected users, both medians and attainment suppressed"
    hourly = next(p for p in dash.panels if p.figure.key == "hourly_profile")
    assert 'data-state="suppressed"' in hourly.static.value
    tests = next(p for p in dash.panels if p.figure.key == "tests_per_day")
    assert tests.live.layout.display is None and tests.live.spec, "expected test counts, which Gold keeps, still drawn"
    scatter = next(p for p in dash.panels if p.figure.key == "rtt_vs_jitter")
    assert 'data-state="suppressed"' in scatter.static.value and scatter.live.layout.display == "none", \
        "expected the live chart hidden behind the suppressed placeholder"


def page_text(widget: widgets.Widget) -> str:
    """Every HTML and label a visitor can be sent: the widget tree's values and descriptions."""
    parts = [str(getattr(widget, name, "")) for name in ("value", "description", "options")]
    return " ".join(parts + [page_text(child) for child in getattr(widget, "children", ())])


INTERNAL = "Not found: Table secret-project:gold.area_isp_metrics at /srv/gnp/warehouse.duckdb in SELECT area_id FROM"
INTERNAL_NAMES = ("secret-project", "gold.area_isp_metrics", "/srv/gnp", "SELECT", "NotFound", "RuntimeError")


def test_build_dashboard_turns_missing_params_or_gold_into_a_message(tmp_path, gold_params, monkeypatch):
    monkeypatch.delenv(app.PARAMS_ENV, raising=False)
    missing = app.build_dashboard(str(tmp_path / "nope.yaml"))
    assert isinstance(missing, widgets.HTML) and "settings could not be read" in missing.value
    assert str(tmp_path) not in missing.value, f"expected no path on the page, found {missing.value}"
    no_gold = gold_params.model_copy(update={"warehouse": gold_params.warehouse.model_copy(
        update={"duckdb_path": str(tmp_path / "absent.duckdb")})})
    local = app.build_dashboard(no_gold).value
    assert "data could not be read" in local and "make run" in local and str(tmp_path) not in local, local
    bigquery = gold_params.model_copy(update={"warehouse": gold_params.warehouse.model_copy(
        update={"kind": "bigquery", "project": "p"})})
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    unreachable = app.build_dashboard(bigquery).value
    assert "data could not be read" in unreachable and "server log" in unreachable, unreachable
    assert isinstance(app.build_dashboard(gold_params), widgets.VBox)


def test_a_gold_read_error_shows_no_internal_name_and_logs_the_details(gold_params, monkeypatch, caplog):
    def failing(*_args, **_kwargs):
        raise RuntimeError(INTERNAL)

    monkeypatch.setattr(app, "filter_options", failing)
    on_bigquery = gold_params.model_copy(update={"warehouse": gold_params.warehouse.model_copy(
        update={"kind": "bigquery", "project": "secret-project"})})
    monkeypatch.setattr(app, "open_gold", lambda params: open_gold(gold_params))  # reads DuckDB, says BigQuery
    shown = app.build_dashboard(on_bigquery).value
    assert "could not be read" in shown, shown
    leaked = [name for name in INTERNAL_NAMES if name in shown]
    assert leaked == [], f"expected no internal name on the page, found {leaked} in {shown}"
    assert INTERNAL in caplog.text, "expected the error's details in the server log"


def test_a_failing_redraw_shows_no_internal_name_and_logs_the_details(gold_params, monkeypatch, caplog):
    dash = dashboard(gold_params)

    def failing(*_args, **_kwargs):
        raise RuntimeError(INTERNAL)

    monkeypatch.setattr(app, "has_data", failing)
    dash.isp.value = dash.isp.options[1][1]
    assert "could not load this selection" in dash.message.value
    monkeypatch.undo()
    retention = next(p for p in dash.panels if p.figure.key == "retention")
    retention.figure = dataclasses.replace(retention.figure, query=failing)
    dash.periphery.value = dash.periphery.options[1][1]
    assert 'data-state="error"' in retention.static.value, "expected the failed figure's error placeholder"
    shown = page_text(dash.root)
    leaked = [name for name in INTERNAL_NAMES if name in shown]
    assert leaked == [], f"expected no internal name on the page, found {leaked}"
    assert caplog.text.count(INTERNAL) >= 1, "expected the error's details in the server log"


def test_the_environment_variable_names_the_params_file(gold_params_file, monkeypatch):
    monkeypatch.setenv(app.PARAMS_ENV, str(gold_params_file))
    assert app.load_dashboard_params("../params/local.yaml").env == "dashboard-test"


def test_static_report_has_every_figure_as_svg_and_no_script_or_external_reference(gold_params, tmp_path):
    out = app.render_static_html(gold_params, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert out.endswith("report.html") and "<script" not in page and "<input" not in page
    assert page.count('class="gnp-chart"') == len(figures.dashboard_figures(gold_params))
    assert "ΑΤΤΙΚΗΣ" in page and ">suppressed<" in page
    urls = set(re.findall(r"https?://[^\"'\s)]+", page)) - {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert urls == set(), f"expected no external reference, found {urls}"
    assert "Click a legend entry" not in page, "expected no interaction hint in a static page"


def test_captions_give_the_method_and_the_suppression(gold_params):
    staircase = next(f for f in figures.dashboard_figures(gold_params) if f.key == "frustration_staircase")
    frame = pd.DataFrame({"cells": [2], "suppressed_cells": [1], "is_suppressed": [False]})
    lines = figures.caption(staircase, frame, k=5)
    assert lines == [staircase.note, "", "1 of 2 Gold cells suppressed (fewer than 5 users): their users and "
                     "statistics are left out (gaps, or marked 'suppressed'), never shown as zero."], lines
    assert "sessions-weighted mean of daily medians" in staircase.note
    notes = " ".join(f.note for f in figures.dashboard_figures(gold_params))
    assert "Gold has no" not in notes and "does not apply" not in notes, "expected no unfollowed filter left"


def test_voila_serves_on_loopback_with_the_gnp_template(gold_params_file):
    command = voila_command("notebooks/90_dashboard.ipynb", 8899)
    assert "--Voila.ip=127.0.0.1" in command and "--Voila.port_retries=0" in command
    assert "--preheat_kernel=True" in command and "--Voila.ip=0.0.0.0" in voila_command("nb", 8080, ip="0.0.0.0")
    assert f"--template={TEMPLATE}" in command and "--port=8899" in command
    assert "--pool_size=2" in command, "expected the default pool of DashboardParams"
    env = voila_env(gold_params_file, base={"PATH": "/bin"})
    assert env[app.PARAMS_ENV] == str(gold_params_file.resolve())
    assert env["JUPYTER_PATH"].split(":")[0].endswith("lib/gnp/templates")


def test_the_kernel_pool_culling_and_cap_come_from_the_params():
    command = voila_command("nb", 8080, DashboardParams(kernel_pool=3, cull_idle_s=120, max_kernels=5))
    expected = ["--preheat_kernel=True", "--pool_size=3", "--MappingKernelManager.cull_idle_timeout=120",
                "--MappingKernelManager.cull_interval=30", "--MappingKernelManager.cull_connected=True",
                "--VoilaKernelManager.fill_delay=4",
                "--CappedKernelManager.max_kernels=5",
                "--VoilaConfiguration.multi_kernel_manager_class=gnp.dashboard.kernels.CappedKernelManager"]
    assert [option for option in expected if option not in command] == [], command
    no_pool = voila_command("nb", 8080, DashboardParams(kernel_pool=0))
    assert not [o for o in no_pool if "preheat" in o or "pool_size" in o], "expected no pool when kernel_pool is 0"


def test_the_selection_names_periphery_and_regional_unit_from_their_own_codes():
    # Periphery 9 is Attica while regional unit 9 is Kilkis: one shared name map showed Kilkis for Attica.
    f = app.Filters(dt.date(2025, 10, 1), dt.date(2025, 10, 31), periphery_id="9", regional_unit_id="51", isp="Nova")

    text = markup.selection_text(f, {"9": "ΑΤΤΙΚΗΣ", "2": "ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ"}, {"9": "Κιλκίς", "51": "Πειραιώς"})

    assert text == "01 Oct 2025 – 31 Oct 2025 · ΑΤΤΙΚΗΣ · Πειραιώς · ISP Nova", text


def test_going_back_to_a_selection_queries_nothing_and_redraws_it(gold_params, monkeypatch):
    dash = dashboard(gold_params)
    opened = []

    def counting(params):
        opened.append(params)
        return open_gold(params)

    monkeypatch.setattr(app, "open_gold", counting)
    first = pictures(dash)
    dash.isp.value = "Nova"
    assert len(opened) == 1 and pictures(dash) != first
    dash.isp.value = app.ALL
    assert len(opened) == 1, "expected the selection drawn before to be shown again without reading Gold"
    assert pictures(dash) == first and 'data-generation="3"' in dash.status.value
    assert all(f'data-generation="3"' in p.caption.value for p in dash.panels)
    assert all(p.live.generation == 3 for p in dash.panels if p.live is not None)


def test_charts_built_unvalidated_are_the_validated_charts_and_validation_comes_back(gold_params):
    import altair as alt
    from altair.utils.schemapi import SchemaValidationError

    from gnp.dashboard.render import unvalidated

    with open_gold(gold_params) as gold:
        f = filter_options(gold).default_filters()
        expected = {fig.key: fig.chart(fig.query(gold, f)).to_dict() for fig in figures.dashboard_figures(gold_params)}
        with unvalidated():
            found = {fig.key: fig.chart(fig.query(gold, f)).to_dict() for fig in figures.dashboard_figures(gold_params)}
            alt.Chart().mark_point(size="big").to_dict()  # invalid, unnoticed here
    assert found == expected
    try:
        alt.Chart().mark_point(size="big").to_dict()
    except SchemaValidationError:
        pass
    else:
        raise AssertionError("expected Altair to validate again after unvalidated()")


def test_the_dashboards_imports_skip_the_slow_iri_grammar_and_the_bigquery_client():
    """Nor do a stage kernel's (the views import Altair) or the runner's (nbformat): a second of CPU each. On
    DuckDB, neither a visitor's kernel nor a chapter's loads google.cloud.bigquery, another second."""
    import subprocess
    import sys

    code = ("import sys, gnp.orchestration.runner, gnp.display.gold, gnp.dashboard.app, gnp.chapters.data, "
            "gnp.dashboard.report, jsonschema; print(sys.modules.get('rfc3987_syntax'), "
            "sys.modules.get('google.cloud.bigquery'))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert found == "None None", (f"expected rfc3987_syntax and google.cloud.bigquery left unimported by the runner "
                                  f"and the kernels, found {found}")


def test_a_runs_report_shows_gold_as_of_the_runs_last_day_and_is_written_once(gold_params):
    from gnp.core import context
    from gnp.dashboard import report

    run = context.of_params(gold_params.model_copy(update={"dates": gold_params.dates.model_copy(
        update={"date_from": dt.date(2025, 1, 14), "date_to": dt.date(2025, 1, 20)})}), run_id="r-report")
    location = report.write_run_report(run)
    page = Path(location).read_text(encoding="utf-8")

    assert location == str(Path(run.run_dir) / "dashboard.html")
    assert "<title>Greek Net Pulse: 22 Dec 2024 – 20 Jan 2025 · all of Greece · all ISPs</title>" in page, page[:400]
    with pytest.raises(FileExistsError):
        report.write_run_report(run)
    assert report.write_run_report(dataclasses.replace(run, run_id="")) is None, "expected nothing written outside a run"
