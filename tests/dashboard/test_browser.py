"""The dashboard served by Voila (as ``make dashboard`` serves it, pre-heated kernel included), in headless Chromium.

Needs /usr/bin/chromium (``apt-get install -y chromium``; never ``playwright
install``). Every filter change must redraw every chart with the new selection:
each panel's drawn SVG (static, or live through vega-embed) is fingerprinted
before the change and must differ after it, unless the figure's data are the
same by design (named at the step). Prints the time from navigation to every
chart drawn and the time each filter change takes until every chart is redrawn;
saves full-page screenshots under ``.gnp/test-artifacts/``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from dashboard.synthetic_gold import ALWAYS_SUPPRESSED_PERIPHERY, PERIPHERIES
from gnp.dashboard.charts import SUPPRESSED_TEXT
from gnp.dashboard.figures import dashboard_figures
from gnp.dashboard.serve import HOST
from gnp.devtools.dashboard_probe import ALL_DRAWN, CHROMIUM, CHROMIUM_ARGS, REPO, UNDRAWN, serving

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / ".gnp" / "test-artifacts"
LOCAL_SCHEMES = {"blob", "data"}  # anywidget loads each chart's bundled module from a blob: URL
KNOWN_EXTERNAL: set[str] = set()  # the gnp template removed the lab template's FontAwesome CDN stylesheets
FIGURES = 13
MAP_SHAPES = ".gnp-figure-periphery_map g.mark-shape path"
PAGE_TIMEOUT_MS = 180_000
FINGERPRINTS = """() => {
  // what each panel shows now: its visible chart SVG (ids left out: vega numbers its clip paths) or placeholder
  const hash = (s) => { let h = 2166136261; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619); } return (h >>> 0).toString(16) + ':' + s.length; };
  return Object.fromEntries([...document.querySelectorAll('.gnp-panel')].map(p => {
    const key = [...p.classList].find(c => c.startsWith('gnp-figure-')).slice('gnp-figure-'.length);
    const shown = [...p.querySelectorAll('.vega-embed svg, .gnp-chart svg, .gnp-placeholder')]
      .filter(e => e.getClientRects().length > 0).map(e => e.outerHTML).join('');
    return [key, hash(shown.replace(/(id="|url\\(#|href="#)[^"')]*/g, ''))];
  }));
}"""
REDRAWN = """([text, generation, before, changed, regenerated]) => {
  const status = document.querySelector('.gnp-status');
  if (!status || status.classList.contains('busy') || !status.textContent.includes(text)) return false;
  if (Number(status.dataset.generation) < generation) return false;
  const current = [...document.querySelectorAll('.gnp-caption')].every(c => Number(c.dataset.generation) >= generation);
  const charts = regenerated.map(key => document.querySelector(`.gnp-figure-${key} .gnp-chart`));
  const now = (FINGERPRINTS)();
  return current && charts.every(c => c && Number(c.dataset.generation) >= generation)
    && changed.every(key => now[key] !== before[key]);
}""".replace("FINGERPRINTS", FINGERPRINTS)


@pytest.fixture(scope="module")
def voila_url(gold_params_file, gold_params, tmp_path_factory):
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with serving(gold_params_file, gold_params.dashboard, log) as (url, _voila):
        yield url
        # read before stopping: a pool kernel still heating when Voila stops logs a harmless ZMQ traceback
        served = log.read_text()
    assert "Traceback" not in served, f"expected no traceback in the voila log while serving, found:\n{served}"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _screenshot(page, name: str) -> Path:
    """Voila scrolls inside #rendered_cells, so grow the viewport to the content before shooting."""
    height = page.evaluate("() => { const c = document.getElementById('rendered_cells');"
                           " return Math.max(document.body.scrollHeight, c ? c.scrollHeight : 0); }")
    page.set_viewport_size({"width": 1320, "height": int(height) + 40})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1320, "height": 900})
    return path


def _wait_all_drawn(page) -> None:
    try:
        page.wait_for_function(ALL_DRAWN, arg=FIGURES, timeout=PAGE_TIMEOUT_MS)
    except Exception:
        raise AssertionError(f"expected every chart drawn; without data marks: {page.evaluate(UNDRAWN)}") from None


def _generation(page) -> int:
    return int(page.get_attribute(".gnp-status", "data-generation"))


def _static(params) -> list[str]:
    """Figures drawn as SVG by the server, whose chart carries the generation that drew it."""
    return [f.key for f in dashboard_figures(params) if not f.interactive]


def _redraw(page, action, expect_text: str, changed: list[str], regenerated: list[str]) -> float:
    """Run a filter action; seconds until the status names the new selection, every caption is current,
    every figure in ``changed`` shows a different picture (live charts included) and every SVG chart in
    ``regenerated`` was drawn by this change."""
    generation, before = _generation(page) + 1, page.evaluate(FINGERPRINTS)
    started = time.perf_counter()
    action()
    try:
        page.wait_for_function(REDRAWN, arg=[expect_text, generation, before, changed, regenerated],
                               timeout=PAGE_TIMEOUT_MS)
    except Exception:
        now = page.evaluate(FINGERPRINTS)
        raise AssertionError(f"expected {changed} redrawn for {expect_text!r}; unchanged: "
                             f"{[k for k in changed if now.get(k) == before.get(k)]}") from None
    _wait_all_drawn(page)
    return time.perf_counter() - started


def _panel_text(page, key: str) -> str:
    return page.inner_text(f".gnp-figure-{key}") + page.eval_on_selector(
        f".gnp-figure-{key}", "el => [...el.querySelectorAll('svg text')].map(t => t.textContent).join(' ')")


def test_dashboard_serves_filters_and_redraws_offline(voila_url, browser, gold_params):
    page = browser.new_page(viewport={"width": 1320, "height": 900})
    errors, requests = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url))

    started = time.perf_counter()
    page.goto(voila_url, timeout=PAGE_TIMEOUT_MS)
    _wait_all_drawn(page)
    first_paint = time.perf_counter() - started
    page.wait_for_timeout(500)
    shot = _screenshot(page, "dashboard.png")

    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body, f"expected no error on the page, found:\n{body[:2000]}"
    assert "import gnp" not in body, "expected no code on the page, found the notebook's source"
    attica, crete = PERIPHERIES["9"][0], PERIPHERIES["13"][0]
    assert attica in _panel_text(page, "attainment_by_periphery"), f"expected {attica} drawn in the chart"
    # the page opens on the latest whole month: January 2025, exact medians, its distinct users
    assert "01 Jan 2025 – 31 Jan 2025" in page.inner_text(".gnp-status"), page.inner_text(".gnp-status")
    assert "Distinct users" in page.inner_text(".gnp-cards")
    shapes = page.locator(MAP_SHAPES)
    assert shapes.count() == 14, f"expected 13 peripheries and Mount Athos on the map, found {shapes.count()}"
    hidden = page.get_attribute(f"{MAP_SHAPES}[aria-label*='{PERIPHERIES[ALWAYS_SUPPRESSED_PERIPHERY][0]}']",
                                "aria-label")
    assert "Suppressed: fewer than" in hidden, f"expected the suppressed periphery to say why, found {hidden}"
    assert SUPPRESSED_TEXT in _panel_text(page, "attainment_by_periphery"), \
        f"expected {PERIPHERIES[ALWAYS_SUPPRESSED_PERIPHERY][0]} shown as suppressed"

    lines = ".gnp-figure-speeds_over_time g.mark-line path"
    page.locator(".gnp-figure-speeds_over_time g.role-legend-label text", has_text=attica).first.click()
    page.wait_for_function(f"() => [...document.querySelectorAll('{lines}')].filter("
                           "p => p.getAttribute('opacity') === '1').length === 2", timeout=30_000)
    page.locator(".gnp-figure-rtt_vs_jitter g.mark-symbol path").first.hover(force=True)
    page.wait_for_selector("#vg-tooltip-element.visible, .vg-tooltip.visible", timeout=30_000)
    assert "Area" in page.inner_text("#vg-tooltip-element"), "expected a tooltip naming the area"

    every, static = [f.key for f in dashboard_figures(gold_params)], _static(gold_params)
    assert len(every) == FIGURES
    timings = {}
    # a click on Crete on the map selects it as the periphery filter; the dropdown then picks Attica
    timings["map click"] = _redraw(page, lambda: page.locator(f"{MAP_SHAPES}[aria-label*='{crete}']").click(),
                                   crete, every, static)
    picked = page.eval_on_selector(".gnp-filter-periphery select", "s => s.options[s.selectedIndex].text")
    assert picked == crete, f"expected the map's click to set the periphery filter to {crete}, found {picked}"
    timings["periphery"] = _redraw(page, lambda: page.select_option(".gnp-filter-periphery select", label=attica),
                                   attica, every, static)
    outlined = page.get_attribute(f"{MAP_SHAPES}[aria-label*='{attica}']", "stroke")
    assert outlined == "#e76f51", f"expected the map to outline the selected periphery, found stroke {outlined}"
    assert "Πειραιώς" in _panel_text(page, "speeds_over_time"), "expected Attica's regional units in the legend"
    # the peripheries at the selected ISP with Attica highlighted: the same data for Attica and for Πειραιώς
    same_for_a_unit = ["attainment_by_periphery", "periphery_map"]
    timings["regional unit"] = _redraw(
        page, lambda: page.select_option(".gnp-filter-regional-unit select", label="Πειραιώς"), "Πειραιώς",
        [key for key in every if key not in same_for_a_unit], static)
    tests_text = _panel_text(page, "tests_per_day")
    assert "Πειραιώς" in tests_text and "Ανατολικής Αττικής" not in tests_text, \
        f"expected only Πειραιώς in tests per day, found: {tests_text[:300]}"
    timings["isp"] = _redraw(page, lambda: page.select_option(".gnp-filter-isp select", label="Nova"), "ISP Nova",
                             every, static)
    isp_chart = page.inner_html(".gnp-figure-attainment_by_isp")
    assert "#e76f51" in isp_chart and "Nova" in _panel_text(page, "attainment_by_isp"), "expected Nova highlighted"
    captions = " ".join(page.locator(".gnp-caption").all_inner_texts())
    assert "Gold has no" not in captions and "does not apply" not in captions, "expected no unfollowed filter"
    _screenshot(page, "dashboard-filtered.png")
    # the histogram covers whole months, and 20 January is in the same months as 8 January
    timings["date from"] = _redraw(page, lambda: page.fill(".gnp-filter-date-from input", "2025-01-20"),
                                   "20 Jan 2025", [key for key in every if key != "speed_histogram"], static)

    # the inputs are bounded by Gold's dates (2024-12-09 .. 2025-02-06), and a date outside is clamped to them
    bounds = [page.get_attribute(f".gnp-filter-date-{end} input", attr) for end in ("from", "to") for attr in ("min", "max")]
    assert bounds == ["2024-12-09", "2025-02-06"] * 2, f"expected Gold's range as the inputs' bounds, found {bounds}"
    generation = _generation(page) + 1
    page.fill(".gnp-filter-date-from input", "2020-01-01")
    page.wait_for_function("(g) => Number(document.querySelector('.gnp-status').dataset.generation) >= g "
                           "&& !document.querySelector('.gnp-status').classList.contains('busy')",
                           arg=generation, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('.gnp-filter-date-from input').value === '2024-12-09'",
                           timeout=30_000)
    assert "09 Dec 2024" in page.inner_text(".gnp-status"), "expected the period clamped to Gold's first day"
    timings["date from"] = _redraw(page, lambda: page.fill(".gnp-filter-date-from input", "2025-01-20"),
                                   "20 Jan 2025", every, static)

    generation = _generation(page) + 1
    page.fill(".gnp-filter-date-to input", "2025-01-10")  # before the start: nothing to show
    page.wait_for_function("(g) => Number(document.querySelector('.gnp-status').dataset.generation) >= g "
                           "&& !document.querySelector('.gnp-status').classList.contains('busy')",
                           arg=generation, timeout=PAGE_TIMEOUT_MS)
    assert page.is_visible("text=No data for this selection"), "expected the no-data message for a reversed period"
    assert not page.is_visible(".gnp-figure-tests_per_day"), "expected the charts hidden for an empty selection"
    _screenshot(page, "dashboard-empty-selection.png")

    # the same selection as two steps before: figures keep the pictures they drew for it
    timings["back to data"] = _redraw(page, lambda: page.fill(".gnp-filter-date-to input", "2025-01-31"),
                                      "31 Jan 2025", [], [])
    assert not page.is_visible("text=No data for this selection"), "expected the message gone once data is back"

    external = sorted({url for url in requests if urlparse(url).scheme not in LOCAL_SCHEMES
                       and urlparse(url).hostname != HOST} - KNOWN_EXTERNAL)
    print(f"\nnavigation to all {FIGURES} charts drawn: {first_paint:.2f} s")
    for name, seconds in timings.items():
        print(f"filter change ({name}) to redrawn: {seconds:.2f} s")
    print(f"screenshot: {shot}")
    assert external == [], f"expected no request to leave {HOST}, found: {external}"
    assert errors == [], f"expected no uncaught JavaScript error, found: {errors}"
    page.close()
