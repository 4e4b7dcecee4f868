"""The run book: manifest summary, offline pages, the runs index, and a real run's book in headless Chromium.

The unit tests build small run folders by hand. The browser test runs the
whole pipeline on the ci params (real papermill, Spark Connect, DuckDB, every
stage and chapter), renders its book, serves the artifacts folder on loopback
and opens the runs index in /usr/bin/chromium: every page must draw its charts,
the chapters at least three each, and no request may leave 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urlparse

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


# --- a real run in a real browser -------------------------------------------------------------------------

UNDRAWN_CHARTS = """() => [...document.querySelectorAll('.gnp-chart svg')].filter(svg =>
  ![...svg.querySelectorAll('[aria-roledescription]')].some(m => {
    const role = m.getAttribute('aria-roledescription');
    if (role.endsWith('container') || ['axis', 'legend', 'title'].includes(role)) return false;
    const box = m.getBBox();
    return role.includes('line') ? box.width > 0 || box.height > 0 : box.width > 0 && box.height > 0;
  })).length"""


@pytest.fixture(scope="module")
def real_run(ci_run):
    """The session's whole ci run (every stage), its book rendered as the runner rendered it."""
    return ci_run.run_dir


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per page would bury the test's own output
        pass


@pytest.fixture(scope="module")
def served(real_run):
    """The artifacts folder over HTTP on loopback, as a reader's static host would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(real_run.parents[1]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_the_book_of_a_real_run_draws_every_chart_offline(real_run, served):
    from playwright.sync_api import sync_playwright

    notebooks = sorted(p.stem for p in real_run.glob("*.ipynb"))
    assert set(CHAPTERS) <= set(notebooks), notebooks
    requests: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{served}/runs/index.html")
        page.click(f"a[href='{real_run.name}/book/index.html']")
        page.wait_for_load_state("load")
        assert "succeeded" in page.inner_text("main")
        toc = page.eval_on_selector_all(".gnp-nav li a", "links => links.map(a => a.getAttribute('href'))")
        assert toc == ["index.html", *[f"{n}.html" for n in notebooks]], toc
        drawn = {}
        for href in toc[1:]:
            page.click(f".gnp-nav a[href='{href}']")
            page.wait_for_load_state("load")
            charts = page.locator(".gnp-chart svg").count()
            undrawn = page.evaluate(UNDRAWN_CHARTS)
            assert undrawn == 0, f"{href}: {undrawn} of {charts} charts draw no marks"
            drawn[href] = charts
            if href.startswith("60_"):
                page.screenshot(path=str(ARTIFACTS / "book-60_regions.png"), full_page=True)
        browser.close()
    print("charts per page:", drawn)
    assert all(drawn[f"{c}.html"] >= 3 for c in CHAPTERS), drawn
    outside = [u for u in requests if urlparse(u).scheme not in ("data", "blob")
               and urlparse(u).hostname != "127.0.0.1"]
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert any("/book/" in u for u in requests)
