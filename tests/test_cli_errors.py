"""`gnp` prints one line for an expected error (a GnpError) and the traceback only for a bug.

The command is the real console script, run as a subprocess, so what is checked is
what a person sees on stderr and the exit code a script sees.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import os
import pkgutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gnp.lake import lakelock

import gnp
from gnp import cli
from gnp.core.errors import GnpError

GNP = Path(sys.executable).with_name("gnp")  # the console script installed in the venv beside this python


def gnp_command(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GNP), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def assert_one_line(result: subprocess.CompletedProcess, code: int, *words: str, others: bool = False) -> str:
    """stderr is one line ``gnp: <message>`` holding ``words``; the exit code is ``code``.

    ``others``: lines from child processes may come first (a stage's kernel logs its own warnings to the
    stderr it inherits); gnp's line is still the only ``gnp:`` one and the last.
    """
    err = result.stderr
    assert "Traceback" not in err, f"expected one line, got a traceback:\n{err}"
    lines = err.splitlines()
    ours = [line for line in lines if line.startswith("gnp: ")]
    expected = bool(lines) and ours == lines[-1:] if others else ours == lines and len(lines) == 1
    assert expected, f"expected one line 'gnp: ...', got:\n{err}"
    for word in words:
        assert word in ours[0], f"expected {word!r} in {ours[0]!r}"
    assert result.returncode == code, f"exit code {result.returncode}, expected {code}; stderr: {err}"
    return ours[0]


@pytest.fixture()
def params_file(tmp_path: Path) -> Path:
    path = tmp_path / "params" / "t.yaml"
    path.parent.mkdir()
    path.write_text("env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\n"
                    "storage: {lake: ../lake, artifacts: ../artifacts}\n"
                    "warehouse: {duckdb_path: ../warehouse.duckdb}\n")
    return path


def test_a_params_file_that_does_not_exist(tmp_path):
    result = gnp_command("validate", "--params", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert_one_line(result, 2, "missing.yaml", "params file not found")


def test_an_invalid_params_file_names_the_key(tmp_path, params_file):
    params_file.write_text(params_file.read_text() + "semantics: {k_anonimity: 5}\n")
    result = gnp_command("validate", "--params", str(params_file), cwd=tmp_path)
    assert_one_line(result, 2, "semantics.k_anonimity", "unknown key")


def test_history_of_an_unknown_table_lists_the_tables(tmp_path, params_file):
    result = gnp_command("history", "not_a_table", "--params", str(params_file), cwd=tmp_path)
    line = assert_one_line(result, 2, "not_a_table", "regional_metrics")
    assert not line.startswith("gnp: \"") and not line.startswith("gnp: '"), f"a KeyError's quotes: {line}"


def test_an_unknown_stage_lists_the_stages(tmp_path, params_file):
    result = gnp_command("run", "--params", str(params_file), "--stages", "silvr", cwd=tmp_path)
    assert_one_line(result, 2, "silvr", "ingest")


def test_a_book_before_any_run_says_to_run_the_pipeline(tmp_path, params_file):
    result = gnp_command("book", "--params", str(params_file), cwd=tmp_path)
    assert_one_line(result, 1, "no run", "gnp run")


def test_a_book_of_a_run_folder_that_does_not_exist_creates_nothing(tmp_path):
    result = gnp_command("book", "--run-dir", str(tmp_path / "no-such-run"), cwd=tmp_path)
    assert_one_line(result, 2, "no-such-run", "not a folder")
    assert not (tmp_path / "no-such-run").exists(), "an empty book was written for a run that does not exist"


def test_a_locked_lake_names_the_holder_and_what_to_do(tmp_path, params_file):
    lake = tmp_path / "lake"
    lake.mkdir()
    # The lock as lakelock writes it for a live run on this machine: this test's own process.
    (lake / "_lake.lock").write_text(json.dumps({
        "owner": "run-other", "host": socket.gethostname(), "pid": os.getpid(),
        "acquired_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }))
    result = gnp_command("run", "--params", str(params_file), "--stages", "silver", cwd=tmp_path)  # ingest takes none
    assert_one_line(result, 1, "locked by run run-other", f"pid {os.getpid()}", "_lake.lock")
    assert (lake / "_lake.lock").exists(), "a live run's lock was taken over"


def test_missing_spark_jars_say_to_run_make_install(tmp_path, params_file):
    # A Spark stage starts the run's Spark Connect server; without Delta's jars it cannot, and says how to get them.
    (tmp_path / "no-jars").mkdir()
    result = gnp_command("run", "--params", str(params_file), "--stages", "silver", cwd=tmp_path,
                         env={"GNP_JARS_DIR": str(tmp_path / "no-jars")})
    assert_one_line(result, 1, "jars are not in", "make install")
    assert lakelock.holder(str(tmp_path / "lake")) is None, "the failed run kept the lake locked"


@pytest.mark.slow
def test_a_failed_stage_names_its_notebook_and_cell(tmp_path, params_file):
    # The api source at a port nobody listens on, without retries: the ingest notebook raises in its fetch cell.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params_file.write_text(params_file.read_text() + f"source: {{kind: api, base_url: 'http://127.0.0.1:{port}', "
                           "max_retries: 0, backoff_s: 0, token_env: GNP_TEST_TOKEN}\n")
    result = gnp_command("run", "--params", str(params_file), "--stages", "ingest", cwd=tmp_path,
                         env={"GNP_TEST_TOKEN": "not-a-real-token"})
    assert_one_line(result, 1, "stage ingest failed in 10_ingest.ipynb, cell ", "HyperionFetchError",
                    "executed notebook", others=True)
    assert "not-a-real-token" not in result.stderr + result.stdout


def test_an_expected_error_is_one_line_and_its_exit_code(monkeypatch, capsys):
    class Refused(GnpError):
        """An expected failure of a command, for this test."""

    def refuse(args):
        raise Refused("the thing is missing: make it, then run again")

    monkeypatch.setattr(cli, "_cmd_stages", refuse)
    assert cli.main(["stages"]) == 1
    assert capsys.readouterr().err == "gnp: the thing is missing: make it, then run again\n"


@pytest.mark.parametrize("bug", [ValueError("a bug"), KeyError("a bug"), TypeError("a bug")])
def test_a_bug_propagates_from_main_with_its_traceback(monkeypatch, bug):
    def broken(args):
        raise bug

    monkeypatch.setattr(cli, "_cmd_stages", broken)
    with pytest.raises(type(bug)):
        cli.main(["stages"])


def public_exception_classes() -> list[type]:
    found = []
    for module_info in pkgutil.walk_packages(gnp.__path__, "gnp."):
        module = importlib.import_module(module_info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
                    and not name.startswith("_")):
                found.append(obj)
    return found


def test_every_public_exception_of_gnp_derives_from_gnp_error():
    classes = public_exception_classes()
    assert len(classes) >= 10, f"expected gnp's error classes, found {classes}"
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, GnpError))
    assert not outside, f"not GnpErrors (derive them from gnp.core.errors.GnpError): {outside}"


def test_a_run_id_that_is_not_a_safe_folder_name_is_one_usage_line(tmp_path, params_file):
    result = gnp_command("run", "--params", str(params_file), "--run-id", "../../etc", cwd=tmp_path)
    assert_one_line(result, 2, "--run-id '../../etc' is not a run id", "letters, digits")
    assert not (tmp_path / "etc").exists() and not (tmp_path / "artifacts").exists(), "a folder was made for it"
