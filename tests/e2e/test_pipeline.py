"""End to end: `gnp run` on the ci params, as CI and a new user run it.

Real papermill, a real Spark Connect server, the real HTTP client against the
fake data.gov.gr server, real Delta tables and DuckDB. One whole run (the
session's ``ci_run``, which the book's browser test and nbval read too); then,
on the same lake, two `gnp run --stages silver` processes started at once: the
lake lock holds the second back, the first is killed with SIGKILL right after
its first commit (before its checks), its lock holds nobody back, the second
undoes the unchecked commit and Silver ends as the whole run left it.

The same run's book is opened in headless Chromium, and nbval runs the
notebooks that need no Spark over a copy of its lake: all in this one module,
so that the run is made once (pytest-xdist hands a module to one worker).

A run whose critical check fails restores its stage's tables: test_audit.py,
in-process. A rerun of the same range gives the same Gold: tests/silver/test_stage.py.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest
from nbval_run import SPARK_NOTEBOOKS, nbval

from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.core.schemas import GOLD_TABLES, TABLES
from gnp.devtools.reference_sql import compare_tables, reference_gold, register_silver
from gnp.lake import lakehouse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".gnp" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHAPTERS = ("60_regions", "70_providers", "80_frustration")
SILVER = ("measurements", "quarantine", "sessions")
EVERY_STAGE = ["10_ingest", "20_silver", "30_gold", "40_publish", "50_report", "60_regions", "70_providers",
               "80_frustration"]


def lake_snapshot(registry: Registry, names=TABLES) -> dict[str, list[tuple]]:
    """Each table's current rows (but quality_results), read from its Delta files."""
    con = duckdb.connect()
    found = {}
    for name in names:
        files = lakehouse.current_files(registry.table_path(name))
        if name != "quality_results" and files:
            listed = ", ".join(f"'{f}'" for f in files)
            found[name] = con.execute(f"SELECT * FROM read_parquet([{listed}]) ORDER BY ALL").fetchall()
    return found


def gnp_run_process(params_file: Path, run_id: str, stages: str) -> subprocess.Popen:
    """`gnp run` in a session of its own, as a terminal would start it (a kill reaches its server and kernel)."""
    gnp = Path(sys.executable).parent / "gnp"
    return subprocess.Popen([str(gnp), "run", "--params", str(params_file), "--stages", stages, "--run-id", run_id],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for_line(proc: subprocess.Popen, text: str, timeout_s: float) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}:\n{''.join(seen)[-3000:]}")


@pytest.fixture(scope="module")
def two_at_once_the_first_killed(ci_run):
    """Two Silver runs started at once; the one holding the lock is killed with SIGKILL after its first commit."""
    silver_before = lake_snapshot(ci_run.registry, SILVER)
    versions_before = lakehouse.versions({n: ci_run.registry.table_path(n) for n in SILVER})
    first = gnp_run_process(ci_run.params_file, "run-killed", "silver")
    wait_for_line(first, "silver ...", timeout_s=300)  # it holds the lake lock and its stage has begun
    second = gnp_run_process(ci_run.params_file, "run-after", "silver")
    waiting = wait_for_line(second, "waiting", timeout_s=120)  # the second is held at the lock
    measurements = ci_run.registry.table_path("measurements")
    deadline = time.monotonic() + 300
    while lakehouse.version(measurements) == versions_before["measurements"]:  # its first commit, then the kill:
        assert time.monotonic() < deadline and first.poll() is None, "the first run never committed"
        time.sleep(0.2)  # between its commits and their checks, as an OOM or a lost host would stop it
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    rest = second.communicate(timeout=900)[0]
    return silver_before, versions_before, second.returncode, "".join(waiting) + rest


def test_the_run_succeeds_and_keeps_every_executed_notebook_and_a_manifest(ci_run):
    run_dir = ci_run.run_dir
    assert sorted(p.stem for p in run_dir.glob("*.ipynb")) == EVERY_STAGE
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and [s["status"] for s in manifest["stages"]] == ["succeeded"] * 8
    report = (run_dir / "dashboard.html").read_text(encoding="utf-8")
    assert report.count("<svg") >= 8 and "ΑΤΤΙΚΗΣ" in report and "<input" not in report, report[:500]
    written = {o["name"]: o for o in manifest["outputs"] if o["stage"] in ("silver", "gold")}
    assert set(written) == set(TABLES) - {"quality_results"}, sorted(written)
    assert all(o["rows"] > 0 for o in written.values()), written
    assert {o["name"] for o in manifest["outputs"] if o["stage"] == "ingest"} == {"bronze.hyperion"}
    # One plan for the run, written beside the notebooks: what Silver and Gold recorded rewriting is the plan's.
    plan = json.loads((run_dir / "plan.json").read_text())
    assert manifest["plan"] == str(run_dir / "plan.json"), manifest.get("plan")
    recorded = {name: o["partitions"] for name, o in written.items()}
    assert recorded == plan["tables"], f"expected the plan's partitions {plan['tables']}, found {recorded}"
    assert plan["silver"]["run_days"] == ["2025-10-25", "2025-10-26", "2025-10-27", "2025-10-28"], plan["silver"]
    # A first run on a new lake: every table was absent before and has one commit after.
    versions = manifest["table_versions"]
    assert set(versions) == set(TABLES) and all(v["before"] is None for v in versions.values()), versions
    assert versions["measurements"]["after"] == 0, versions["measurements"]


def test_bronze_holds_each_day_as_received(ci_run):
    params = load_params(ci_run.params_file)
    days = sorted(Path(ci_run.registry.bronze_root).glob("measurement_date=*"))
    assert [d.name[-10:] for d in days] == ["2025-10-25", "2025-10-26", "2025-10-27", "2025-10-28"]
    for day in days:
        versions = sorted(day.glob("*.json.gz"))
        assert versions, f"no Bronze version in {day}"
        records = json.loads(gzip.decompress(versions[0].read_bytes()))
        assert isinstance(records, list) and len(records) > params.source.sample_tests_per_day // 2
        assert {"measurement_id", "client_ip", "measured_downstream_mbps"} <= set(records[0])


def test_every_bronze_record_is_accounted_for(ci_run):
    con = duckdb.connect(ci_run.registry.duckdb_path, read_only=True)
    rows = con.execute(
        f"SELECT run_id, passed, observed FROM {ci_run.registry.table_id('quality_results')} "
        "WHERE check_name = 'accounting_invariant' ORDER BY run_id"
    ).fetchall()
    assert [r[0] for r in rows] == [ci_run.result.run_id] and all(r[1] for r in rows), rows


def test_every_silver_and_gold_table_is_a_delta_table(ci_run):
    for name in TABLES:
        assert Path(ci_run.registry.table_path(name), lakehouse.DELTA_LOG).is_dir(), f"{name} has no _delta_log"
        assert lakehouse.history(ci_run.registry.table_path(name))[0]["run_id"] == ci_run.result.run_id, name


def test_spark_gold_matches_an_independent_duckdb_sql_recomputation(ci_run):
    params = load_params(ci_run.params_file)
    con = duckdb.connect()
    register_silver(con, {name: lakehouse.current_files(ci_run.registry.table_path(name))
                          for name in ("measurements", "sessions")})
    expected = reference_gold(con, params.semantics)
    wh = duckdb.connect(ci_run.registry.duckdb_path, read_only=True)
    found = {name: wh.execute(f"SELECT * FROM {ci_run.registry.table_id(name)}").df() for name in expected}
    differences = {name: diff for name, diff in compare_tables(found, expected).items() if diff}
    assert not differences, f"Spark Gold and the DuckDB SQL reference disagree: {differences}"
    assert {spec.name for spec in GOLD_TABLES} >= set(expected)


def test_of_two_runs_at_once_the_second_waits_for_the_first_and_after_its_kill_leaves_silver_as_one_run_does(
        ci_run, two_at_once_the_first_killed):
    silver_before, versions_before, code, log = two_at_once_the_first_killed
    assert code == 0, log[-3000:]
    assert "waiting" in log and "run-killed" in log, f"the second run did not say whom it waited for:\n{log[:2000]}"
    assert lake_snapshot(ci_run.registry, SILVER) == silver_before, "the crash and the rerun changed Silver"
    after = json.loads(Path(ci_run.registry.run_dir("run-after"), "manifest.json").read_text())
    assert after["status"] == "succeeded", after
    for name in SILVER:
        history = lakehouse.history(ci_run.registry.table_path(name))
        commits = [(c["run_id"], c["operation"]) for c in reversed(history) if c["version"] > versions_before[name]]
        runs_in_order = [run for run, _ in commits]
        assert "run-after" in runs_in_order, f"{name}: {commits}"
        # The lock made them take turns: whatever the killed run committed comes before every commit of the next.
        first_of_next = runs_in_order.index("run-after")
        assert set(runs_in_order[first_of_next:]) == {"run-after"}, f"{name}: commits interleave: {commits}"
        # The next run undid the killed run's unchecked commits first, then read its versions, under the lock.
        undone = len(list(itertools.takewhile(lambda c: c[1] == "RESTORE", commits[first_of_next:])))
        assert undone == (1 if first_of_next else 0), f"{name}: the killed run's commits were not undone: {commits}"
        assert name != "measurements" or first_of_next, f"the killed run committed no measurements: {commits}"
        before = after["table_versions"][name]["before"]
        assert before == versions_before[name] + first_of_next + undone, f"{name}: before={before}, {commits}"
    assert not Path(ci_run.registry.run_dir("run-killed"), "manifest.json").exists()  # SIGKILL leaves none: nothing ran on


# --- the run's book in a real browser, and nbval over the run's lake -------------------------------------------------------------------------

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


@pytest.mark.slow
def test_the_notebooks_without_spark_run_top_to_bottom_with_their_defaults_under_nbval(tmp_path, ci_run):
    """Ingest, publish, the report and the chapters, alone, over a copy of the session's whole run."""
    names = [f"{stage}.ipynb" for stage in EVERY_STAGE if f"{stage}.ipynb" not in SPARK_NOTEBOOKS]
    nbval(tmp_path, names, lake_from=Path(ci_run.registry.lake).parent, dates=("2025-10-28", "2025-10-28"))
