"""The run book: manifest summary, offline pages, the runs index, and a real run's book in headless Chromium.

The unit tests build small run folders by hand. The browser test runs the
whole pipeline on the ci params (real papermill, Spark Connect, DuckDB, every
stage and chapter), renders its book, serves the artifacts folder on loopback
and opens the runs index in /usr/bin/chromium: every page must draw its charts,
the chapters at least three each, and no request may leave 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import nbformat
import pandas as pd
import pytest

from gnp.orchestration import book

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".gnp" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHAPTERS = ("60_regions", "70_providers", "80_frustration")

MANIFEST = {
    "run_id": "20251028T060000Z-abc123", "status": "failed", "date_from": "2025-10-25", "date_to": "2025-10-28",
    "params_file": "params/ci.yaml", "python": "3.11.9",
    "params": {"env": "ci", "source": {"kind": "api", "token_env": "HYPERION_TOKEN", "api_token": "s3cr3t", "token_required": True},
               "dates": {"date_from": "2025-10-25"}},
    "git": {"commit": "e91da40deadbeef", "dirty": True}, "packages": {"pyspark": "4.0.1", "voila": None},
    "started_at": "2025-10-28T06:00:00+00:00", "ended_at": "2025-10-28T06:03:05+00:00",
    "stages": [{"stage": "ingest", "notebook": "10_ingest.ipynb", "status": "succeeded", "duration_s": 12.4},
               {"stage": "silver", "notebook": "20_silver.ipynb", "status": "failed", "duration_s": 75.0,
                "error": "stage silver failed in 20_silver.ipynb, cell 4: ValueError: bad"}],
    "outputs": [{"stage": "silver", "name": "measurements", "location": "/abs/lake/silver/measurements",
                 "rows": 1234567},
                {"stage": "ingest", "name": "bronze.hyperion", "rows": 301},
                {"stage": "ingest", "name": "bronze.hyperion", "rows": 302},
                {"stage": "report", "name": "dashboard.html", "rows": None}],
    "checks": [{"stage": "silver", "check_name": "accounting", "severity": "critical", "passed": False,
                "observed": "3 missing"}],
}


def _altair_html_output() -> dict:
    """What an Altair chart leaves in a notebook run by papermill: HTML that loads Vega from a CDN."""
    chart = alt.Chart(pd.DataFrame({"a": [1, 2, 3]})).mark_bar().encode(x="a:Q", y="a:O")
    with alt.renderers.enable("html"):
        bundle = chart._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    return nbformat.v4.new_output("display_data", data={"text/html": data["text/html"], "text/plain": "chart"})


def make_run(folder: Path, manifest: dict | None = MANIFEST) -> Path:
    run_dir = folder / (manifest or {}).get("run_id", "20251027T000000Z-000000")
    run_dir.mkdir(parents=True)
    for name, title in (("10_ingest", "# 10 · Ingest"), ("20_silver", "# 20 · Silver")):
        code = nbformat.v4.new_code_cell("chart", outputs=[_altair_html_output()])
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"{title}\n\nText."), code])
        nbformat.write(nb, run_dir / f"{name}.ipynb")
    if manifest:
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return run_dir


def test_summary_shows_status_timings_versions_outputs_checks_and_hides_secret_values():
    s = book.summary(MANIFEST)
    assert (s["status"], s["dates"], s["duration"]) == ("failed", "2025-10-25 to 2025-10-28", "3 min 05 s")
    assert s["outputs"] == [{"stage": "silver", "name": "measurements", "rows": "1,234,567"},
                            {"stage": "ingest", "name": "bronze.hyperion (2 writes)", "rows": "603"},
                            {"stage": "report", "name": "dashboard.html", "rows": ""}], s["outputs"]
    assert ("voila", "not installed") in s["packages"] and s["dirty"] and s["checks_passed"] == 0
    params = dict(s["params"])
    assert params["source.api_token"] == "(hidden)" and params["source.token_env"] == '"HYPERION_TOKEN"', params
    assert params["source.token_required"] == "true", "a switch is no secret, whatever its name"
    assert [f["stage"] for f in s["failures"]] == ["silver"]


def test_an_unfinished_run_is_incomplete():
    s = book.summary({"run_id": "r"})
    assert (s["status"], s["duration"]) == ("incomplete", "not finished")


def test_altair_html_charts_become_svg_with_nothing_left_to_fetch():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("c", outputs=[_altair_html_output()])])
    assert "cdn.jsdelivr.net" in nb.cells[0].outputs[0]["data"]["text/html"]
    book.offline_outputs(nb)
    data = nb.cells[0].outputs[0]["data"]
    assert list(data) == ["image/svg+xml"] and data["image/svg+xml"].lstrip().startswith("<svg"), list(data)


def test_render_run_writes_an_index_and_one_offline_page_per_notebook(tmp_path):
    run_dir = make_run(tmp_path)
    index = book.render_run(run_dir)
    assert index == run_dir / "book" / "index.html"
    pages = sorted(p.name for p in index.parent.glob("*.html"))
    assert pages == ["10_ingest.html", "20_silver.html", "index.html"], pages
    first = index.read_text()
    for expected in ("failed", "e91da40deadbeef", "1,234,567", "accounting", "3 min 05 s", "(hidden)",
                     'href="10_ingest.html"', "10 · Ingest", "ValueError: bad"):
        assert expected in first, f"the first page lacks {expected!r}"
    assert "s3cr3t" not in first
    page = (index.parent / "20_silver.html").read_text()
    assert "<svg" in page and 'class="gnp-nav"' in page and '<details class="gnp-code">' in page
    assert "<script src=" not in page and "cdn.jsdelivr" not in page and "mathjax" not in page.lower()


def test_render_run_takes_the_manifest_when_it_is_not_written_yet(tmp_path):
    run_dir = make_run(tmp_path, None)
    index = book.render_run(run_dir, out_dir=tmp_path / "out", manifest=MANIFEST)
    assert index == tmp_path / "out" / "index.html" and "e91da40deadbeef" in index.read_text()


def test_render_index_lists_every_run_newest_first_with_links(tmp_path):
    old = make_run(tmp_path, {**MANIFEST, "run_id": "20251027T060000Z-aaaaaa", "status": "succeeded"})
    book.render_run(old)
    make_run(tmp_path, {**MANIFEST, "run_id": "20251028T060000Z-bbbbbb"})
    make_run(tmp_path, None)  # a run that never wrote its manifest
    html = book.render_index(tmp_path).read_text()
    rows = html.split('<tr class="gnp-run">')[1:]
    assert [r.split("<code>")[1].split("</code>")[0] for r in rows] == [
        "20251028T060000Z-bbbbbb", "20251027T060000Z-aaaaaa", "20251027T000000Z-000000"]
    assert 'href="20251027T060000Z-aaaaaa/book/index.html"' in rows[1] and "3 min 05 s" in rows[1]
    assert "no book yet" in rows[0] and "incomplete" in rows[2]


def test_latest_book_renders_the_newest_run_with_notebooks(tmp_path):
    make_run(tmp_path, {**MANIFEST, "run_id": "20251027T060000Z-aaaaaa"})
    newest = make_run(tmp_path, {**MANIFEST, "run_id": "20251028T060000Z-bbbbbb"})
    assert book.latest_book(tmp_path) == newest / "book" / "index.html"
    assert (newest / "book" / "index.html").exists() and (tmp_path / "index.html").exists()
    assert book.latest_book(tmp_path / "nothing") is None


def test_gnp_book_prints_the_latest_book_or_says_to_run_first(tmp_path, capsys, ci_params):
    from gnp import cli

    params = ci_params(tmp_path / "env")
    assert cli.main(["book", "--params", str(params)]) == 1  # nothing to show yet: a failure, not a usage error
    assert "no run under" in capsys.readouterr().err
    run_dir = make_run(tmp_path / "env" / "artifacts" / "runs")
    assert cli.main(["book", "--params", str(params)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "book" / "index.html")
    assert (run_dir / "book" / "index.html").exists()
