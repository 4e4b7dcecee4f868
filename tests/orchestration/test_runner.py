"""The runner executes stage notebooks with real papermill and keeps every executed notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from gnp.orchestration import runner
from ci_params import CI_SPARK_YAML
from stub_notebooks import stub_notebook as notebook  # (path, *cells, spark=False)

pytestmark = pytest.mark.slow


@pytest.fixture()
def params_file(tmp_path: Path) -> Path:
    path = tmp_path / "params" / "t.yaml"
    path.parent.mkdir()
    path.write_text(
        "env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-03}\n"
        "storage: {lake: ../lake, artifacts: ../artifacts}\n" + CI_SPARK_YAML  # a server's JVM: the suite's options
    )
    return path


def test_stages_run_in_order_and_the_manifest_records_them(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(
        books / "10_first.ipynb",
        "from gnp.core.config import load_params\nfrom gnp.core import manifest\n"
        "p = load_params(params_file)\n"
        "manifest.record_outputs(p, run_id, 'first', [{'name': 'thing', 'location': 'x', 'rows': 3}])",
    )
    notebook(books / "20_second.ipynb", "assert date_from == '2025-01-02', date_from")
    notebook(books / "90_dashboard.ipynb", "raise SystemExit('the dashboard is served, never run')")

    result = runner.run(str(params_file), date_from="2025-01-02", notebooks=books, log=lambda *_: None)

    assert result.ok, result.manifest
    run_dir = Path(result.run_dir)
    assert run_dir == tmp_path / "artifacts" / "runs" / result.run_id
    saved = json.loads((run_dir / "manifest.json").read_text())
    assert [s["stage"] for s in saved["stages"]] == ["first", "second"]
    assert all(s["status"] == "succeeded" for s in saved["stages"])
    assert saved["outputs"] == [{"stage": "first", "name": "thing", "location": "x", "rows": 3}]
    assert saved["date_from"] == "2025-01-02" and saved["status"] == "succeeded"
    assert saved["packages"]["papermill"] and "commit" in saved["git"]
    executed = nbformat.read(run_dir / "20_second.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f"run_context = \"{run_dir / 'context.json'}\"" in injected[0].source
    # Every run leaves its book beside the executed notebooks, and the runs index links it.
    assert saved["book"] == str(run_dir / "book" / "index.html")
    assert sorted(p.name for p in (run_dir / "book").iterdir()) == ["10_first.html", "20_second.html", "index.html"]
    assert f"{result.run_id}/book/index.html" in (run_dir.parent / "index.html").read_text()


def test_a_failing_stage_stops_the_run_names_the_cell_and_keeps_the_partial_notebook(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ok.ipynb", "x = 1")
    notebook(books / "20_broken.ipynb", "y = 2", "raise ValueError('bad input on purpose')", "z = 3")
    notebook(books / "30_never.ipynb", "w = 4")

    result = runner.run(str(params_file), notebooks=books, log=lambda *_: None)

    assert not result.ok
    stages = {s["stage"]: s for s in result.manifest["stages"]}
    assert list(stages) == ["ok", "broken"], "the stage after a failure must not run"
    error = stages["broken"]["error"]
    assert "20_broken.ipynb" in error and "cell 4" in error and "bad input on purpose" in error, error
    partial = Path(result.run_dir) / "20_broken.ipynb"
    assert partial.exists()
    saved = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert saved["status"] == "failed"


def test_unknown_stage_is_refused_with_the_known_ones(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ingest.ipynb", "pass")
    with pytest.raises(ValueError, match="unknown stage.*silvr.*ingest"):
        runner.run(str(params_file), stages=["silvr"], notebooks=books, log=lambda *_: None)


def test_cli_exits_non_zero_on_failure(tmp_path, params_file, capsys):
    from gnp import cli

    assert cli.main(["validate", "--params", str(params_file)]) == 0
    assert cli.main(["validate", "--params", str(tmp_path / "missing.yaml")]) == 2
    assert "params file not found" in capsys.readouterr().err


def test_full_refresh_reaches_every_stage_through_the_run_context_publish_included(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_plain.ipynb", "assert ctx.full_refresh is True, ctx")
    notebook(books / "40_publish.ipynb", "assert full_refresh is True, full_refresh")

    result = runner.run(str(params_file), full_refresh=True, notebooks=books, log=lambda *_: None)

    assert result.ok, json.dumps(result.manifest["stages"], indent=1)


def test_a_stage_notebook_without_the_run_context_parameter_is_refused_before_the_run(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ok.ipynb", "x = 1")
    notebook(books / "20_old.ipynb", "raise SystemExit('must not run')", parameters=('params_file: str = ""',))

    with pytest.raises(ValueError, match="20_old.ipynb.*run_context"):
        runner.run(str(params_file), notebooks=books, log=lambda *_: None)
    assert not (tmp_path / "artifacts" / "runs").exists(), "expected nothing started"


@pytest.fixture()
def create_only_artifacts(tmp_path, monkeypatch):
    """fake-gcs-server behind a proxy that makes the artifacts bucket create-only (tests/create_only_gcs.py)."""
    import gcsfs
    from bigquery_emulator import running_fake_gcs
    from create_only_gcs import create_only_proxy

    from gnp.core import storage

    with running_fake_gcs(tmp_path / "gcs") as endpoint, create_only_proxy(endpoint, {"artifacts"}) as gate:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gate.endpoint)  # the notebooks' kernels inherit it
        gcsfs.GCSFileSystem.clear_instance_cache()
        storage.filesystem("gs://").mkdir("artifacts")
        yield gate
        gcsfs.GCSFileSystem.clear_instance_cache()


def test_with_create_only_rights_every_notebook_is_uploaded_once_the_failed_one_with_its_traceback(
    tmp_path, create_only_artifacts
):
    from gnp.core import storage

    params = tmp_path / "params" / "gcs.yaml"
    params.parent.mkdir()
    params.write_text("env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-03}\n"
                      "storage: {lake: ../lake, artifacts: 'gs://artifacts'}\n")
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ok.ipynb", "x = 1", "print('cell two ran')",
             "from gnp.core.config import load_params\nfrom gnp.core import manifest\n"
             "manifest.record_outputs(load_params(params_file), run_id, 'ok', [{'name': 't', 'location': 'x', 'rows': 1}])")
    notebook(books / "20_broken.ipynb", "y = 2", "raise ValueError('bad input on purpose')", "z = 3")

    result = runner.run(str(params), notebooks=books, log=lambda *_: None)

    assert create_only_artifacts.refused == [], f"expected no replacement attempted, found {create_only_artifacts.refused}"
    assert result.run_dir == f"gs://artifacts/runs/{result.run_id}" and not result.ok, result.manifest
    fs = storage.filesystem(result.run_dir)
    found = sorted(p.split(f"{result.run_id}/", 1)[1] for p in fs.find(result.run_dir))
    expected = ["10_ok.ipynb", "20_broken.ipynb", "book/10_ok.html", "book/20_broken.html", "book/index.html",
                "context.json", "manifest.json", "outputs/ok.json"]
    assert found == expected, f"expected {expected}, found {found}"
    ok = nbformat.reads(storage.read_bytes(f"{result.run_dir}/10_ok.ipynb").decode(), as_version=4)
    assert "cell two ran" in json.dumps([c.get("outputs") for c in ok.cells]), "expected the complete executed notebook"
    broken = nbformat.reads(storage.read_bytes(f"{result.run_dir}/20_broken.ipynb").decode(), as_version=4)
    errors = [o for c in broken.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["evalue"] == "bad input on purpose", "expected the partial notebook with its traceback"
    saved = storage.read_json(f"{result.run_dir}/manifest.json")
    error = saved["stages"][1]["error"]
    assert saved["status"] == "failed" and "cell 4" in error and f"{result.run_dir}/20_broken.ipynb" in error, error
    assert saved["outputs"] == [{"stage": "ok", "name": "t", "location": "x", "rows": 1}], saved["outputs"]


def test_an_ingest_only_run_takes_no_lake_lock_and_reads_no_table(tmp_path, params_file):
    # The cloud's daily ingest runs as an identity with no rights on the lake bucket: it must not touch it.
    from gnp.core.config import load_params
    from gnp.core.registry import Registry
    from gnp.lake import lakelock

    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_ingest.ipynb", "print('fetched')")
    notebook(books / "20_silver.ipynb", "raise SystemExit('not selected')", spark=True)
    lake = Registry.from_params(load_params(params_file)).lake
    lakelock.acquire(lake, "another-run")  # held by another run for the whole test
    try:
        result = runner.run(str(params_file), stages=["ingest"], notebooks=books, log=lambda *_: None)
    finally:
        lakelock.release(lake, "another-run")

    assert result.ok, result.manifest
    assert "table_versions" not in result.manifest, result.manifest.get("table_versions")


def test_a_stage_taking_the_run_context_gets_that_file_alone_and_no_stage_reads_the_yaml_again(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    # The first stage rewrites the params file: a later stage must still see the run's days, not the file's.
    notebook(books / "10_first.ipynb",
             "import pathlib\n"
             "p = pathlib.Path(ctx.params.params_file)\n"
             "p.write_text(p.read_text().replace('2025-01-03', '2025-01-09'))")
    notebook(books / "20_second.ipynb",
             "assert [d.isoformat() for d in ctx.days] == ['2025-01-02', '2025-01-03'], ctx.days\n"
             "assert ctx.run_id and ctx.location == run_context")

    result = runner.run(str(params_file), date_from="2025-01-02", notebooks=books, log=lambda *_: None)

    assert result.ok, json.dumps(result.manifest["stages"], indent=1)
    run_dir = Path(result.run_dir)
    assert result.manifest["context"] == str(run_dir / "context.json")
    executed = nbformat.read(run_dir / "20_second.ipynb", as_version=4)
    [injected] = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assigned = [line.split(" = ")[0] for line in injected.source.splitlines() if " = " in line]
    assert assigned == ["run_context"], injected.source


def test_a_run_that_fails_before_its_stages_still_leaves_a_manifest_saying_why(tmp_path, params_file, monkeypatch):
    # A locked lake, then a Spark server that cannot start: neither is a stage's failure, both must be on record.
    from gnp.core.config import load_params
    from gnp.core.registry import Registry
    from gnp.lake import lakelock

    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "20_silver.ipynb", "x = 1", spark=True)
    registry = Registry.from_params(load_params(params_file))
    lakelock.acquire(registry.lake, "another-run")
    try:
        with pytest.raises(lakelock.LakeLocked):
            runner.run(str(params_file), notebooks=books, run_id="run-locked", log=lambda *_: None)
    finally:
        lakelock.release(registry.lake, "another-run")
    saved = json.loads((Path(registry.run_dir("run-locked")) / "manifest.json").read_text())
    assert saved["status"] == "failed" and "locked by run another-run" in saved["error"], saved.get("error")
    assert _kernels_of_this_process() == [], "the run's kernel, started beside the lock, outlived the run"

    (tmp_path / "no-jars").mkdir()
    monkeypatch.setenv("GNP_JARS_DIR", str(tmp_path / "no-jars"))
    with pytest.raises(Exception, match="jars"):
        runner.run(str(params_file), notebooks=books, run_id="run-no-spark", log=lambda *_: None)
    saved = json.loads((Path(registry.run_dir("run-no-spark")) / "manifest.json").read_text())
    assert saved["status"] == "failed" and "jars are not in" in saved["error"], saved.get("error")
    assert lakelock.holder(registry.lake) is None, "the failed run kept the lake locked"


RECORD = ("from gnp.core import manifest\n"
          "manifest.record_outputs(ctx.params, run_id, {stage!r}, [{{'name': {stage!r}, 'location': 'x', 'rows': 1}}])")


def test_a_read_only_groups_notebooks_all_run_after_one_fails_and_each_failure_is_named(tmp_path, params_file):
    books = tmp_path / "notebooks"
    books.mkdir()
    notebook(books / "10_first.ipynb", "x = 1")
    notebook(books / "50_report.ipynb", RECORD.format(stage="report"), read_only=True)
    notebook(books / "60_regions.ipynb", "raise ValueError('the regions chapter broke on purpose')", read_only=True)
    notebook(books / "70_providers.ipynb", RECORD.format(stage="providers"), read_only=True)
    notebook(books / "85_after.ipynb", "raise SystemExit('must not run after a failed stage')")
    logged = []

    result = runner.run(str(params_file), notebooks=books, log=logged.append)

    assert not result.ok
    saved = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    found = [(s["stage"], s["status"]) for s in saved["stages"]]
    expected = [("first", "succeeded"), ("report", "succeeded"), ("regions", "failed"), ("providers", "succeeded")]
    assert found == expected, f"expected {expected} (in stage order, nothing after the failed group), found {found}"
    error = saved["stages"][2]["error"]
    assert "stage regions failed in 60_regions.ipynb" in error and "cell 3" in error and "broke on purpose" in error, error
    assert any(line.startswith(f"run {result.run_id} FAILED: stage regions failed in 60_regions.ipynb")
               for line in logged), logged
    assert saved["status"] == "failed"
    assert [o["stage"] for o in saved["outputs"]] == ["report", "providers"], "expected the outputs in stage order"
    for stage in saved["stages"]:
        assert Path(stage["executed_notebook"]).exists() and stage["duration_s"] is not None, stage
    assert sorted(p.name for p in (Path(result.run_dir) / "book").iterdir()) == [
        "10_first.html", "50_report.html", "60_regions.html", "70_providers.html", "index.html"]


def test_every_stage_runs_in_the_runs_one_kernel_each_notebook_as_in_a_new_kernel(tmp_path, params_file):
    books, stamps = tmp_path / "notebooks", tmp_path / "stamps"
    books.mkdir()
    stamps.mkdir()
    notebook(books / "10_first.ipynb", "import os, pathlib\nleft_behind = 42",
             f"pathlib.Path({str(stamps)!r}, 'first').write_text(str(os.getpid()))")
    # The second stage's imports ran in the kernel before its first cell: `wave` is imported nowhere else.
    notebook(books / "20_second.ipynb",
             "import os, pathlib, sys\n"
             "assert 'left_behind' not in globals(), 'the first notebook left its names'\n"
             f"assert os.getpid() == int(pathlib.Path({str(stamps)!r}, 'first').read_text()), 'another kernel'\n"
             f"assert os.getcwd() == {str(books)!r}, os.getcwd()\n"
             "assert 'wave' in sys.modules, 'the stage imports were not loaded ahead'",
             "import wave")

    result = runner.run(str(params_file), notebooks=books, log=lambda *_: None)

    assert result.ok, json.dumps(result.manifest["stages"], indent=1)
    for name in ("10_first", "20_second"):
        executed = nbformat.read(Path(result.run_dir) / f"{name}.ipynb", as_version=4)
        counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), f"{name}: execution counts {counts}, expected from 1"
    assert _kernels_of_this_process() == [], "expected the run's kernel gone once the run ended"


def _kernels_of_this_process() -> list[str]:
    """Live ipykernel processes whose parent is this test's process (the runner's kernels)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"ipykernel" in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except (OSError, ValueError, IndexError):
            pass
    return found


def test_an_interrupted_run_stops_its_kernel_keeps_the_running_notebook_and_says_why(tmp_path, params_file,
                                                                                      monkeypatch):
    from concurrent.futures import ALL_COMPLETED

    books, stamps = tmp_path / "notebooks", tmp_path / "stamps"
    books.mkdir()
    stamps.mkdir()
    notebook(books / "10_first.ipynb", "x = 1")
    for name in ("50_report", "60_regions"):
        notebook(books / f"{name}.ipynb", f"import pathlib, time\n(pathlib.Path({str(stamps)!r}) / {name!r}).touch()",
                 "while True:\n    time.sleep(0.1)", read_only=True)
    real_wait = runner.wait

    def ctrl_c_once_the_report_runs(futures, timeout=None, return_when=ALL_COMPLETED):
        if timeout is not None:
            return real_wait(futures, timeout=timeout, return_when=return_when)
        while not (stamps / "50_report").exists():
            done, pending = real_wait(futures, timeout=0.1, return_when=return_when)
            if done:
                return done, pending
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "wait", ctrl_c_once_the_report_runs)
    with pytest.raises(KeyboardInterrupt):
        runner.run(str(params_file), notebooks=books, run_id="run-interrupted", log=lambda *_: None)

    run_dir = tmp_path / "artifacts" / "runs" / "run-interrupted"
    saved = json.loads((run_dir / "manifest.json").read_text())
    found = [(s["stage"], s["status"], s.get("error")) for s in saved["stages"]]
    expected = [("first", "succeeded", None), ("report", "failed", "interrupted (Ctrl-C)")]
    assert saved["status"] == "failed" and found == expected, f"expected {expected}, found {found}"
    partial = nbformat.read(run_dir / "50_report.ipynb", as_version=4)
    assert partial.cells[2].metadata["papermill"]["status"] == "completed", "expected the report's first cell kept"
    assert not (stamps / "60_regions").exists() and not (run_dir / "60_regions.ipynb").exists(), "regions ran"
    assert _kernels_of_this_process() == [], "expected the stopped kernel gone"


def test_a_run_stopped_by_sigterm_stops_its_kernel_keeps_the_notebook_and_says_why(tmp_path, params_file):
    """``kill`` (SIGTERM) of a local run: Python's own SIGTERM would end it at once, with no manifest and its
    kernel left to notice alone. A real process of its own, given the signal once its notebook runs."""
    import signal
    import subprocess
    import sys
    import time

    books, stamps = tmp_path / "notebooks", tmp_path / "stamps"
    books.mkdir()
    stamps.mkdir()
    notebook(books / "10_first.ipynb", f"import pathlib, time, os\n(pathlib.Path({str(stamps)!r}) / 'kernel')"
                                       ".write_text(str(os.getpid()))", "while True:\n    time.sleep(0.1)")
    notebook(books / "20_never.ipynb", "raise SystemExit('must not run')")
    code = (f"from pathlib import Path\nfrom gnp.orchestration import runner\n"
            f"runner.run({str(params_file)!r}, notebooks=Path({str(books)!r}), run_id='run-terminated')")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (stamps / "kernel").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() else "slow"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, out[-2000:])
    saved = json.loads((tmp_path / "artifacts" / "runs" / "run-terminated" / "manifest.json").read_text())
    assert saved["status"] == "failed" and saved["error"] == "stopped (exit 143, e.g. SIGTERM)", saved.get("error")
    assert [(s["stage"], s["status"]) for s in saved["stages"]] == [("first", "failed")], saved["stages"]
    kernel = int((stamps / "kernel").read_text())
    assert not Path(f"/proc/{kernel}").exists() or "Z" in Path(f"/proc/{kernel}/stat").read_text().split()[2], \
        "expected the run's kernel stopped with the run"


def test_a_parameters_cells_names_are_its_top_level_assignments():
    source = 'run_context = ""\nday: str = "2025-10-01"\nnested.attr = 1\nif False:\n    hidden = 2\nprint(run_context)\n'
    assert runner.assigned_names(source) == {"run_context", "day"}
