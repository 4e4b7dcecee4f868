"""The run's Spark Connect server: Delta tables through it, token-authenticated, a minimal environment, a port
nobody can take first, and no JVM left behind when its runner is SIGKILLed. Real servers (spark-submit, a JVM each)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gnp.core.config import load_params
from gnp.lake import lakehouse
from gnp.lake import spark as gs
from gnp.orchestration import runner
from ci_params import CI_PARAMS, CI_SPARK_YAML, ROOT
from lake.tables import S1, S2

API_TOKEN = "hyperion-canary-4b7e"
PSEUDONYM_KEY = "pseudonym-canary-" + "9" * 32


# Unit: what the server sees, and where the token goes --------------------------------------------


def test_the_server_environment_is_an_allow_list_plus_sparks_token():
    environ = {"PATH": "/usr/bin", "HOME": "/home/x", "JAVA_HOME": "/jvm", "SPARK_LOCAL_IP": "127.0.0.1",
               "PYSPARK_PYTHON": "/venv/python", "LC_ALL": "C.UTF-8", "HYPERION_TOKEN": API_TOKEN,
               "GNP_PSEUDONYM_KEY": PSEUDONYM_KEY, "GOOGLE_APPLICATION_CREDENTIALS": "/k.json",
               "AWS_SECRET_ACCESS_KEY": "x", gs.TOKEN_ENV: "client-side", "SPARK_REMOTE": "sc://elsewhere"}  # fmt: skip
    env = gs.server_env(environ, "server-token")
    assert env[gs.SERVER_TOKEN_ENV] == "server-token" and env["SPARK_HOME"] == gs.spark_home()
    assert {k: env[k] for k in ("PATH", "HOME", "JAVA_HOME", "SPARK_LOCAL_IP", "PYSPARK_PYTHON", "LC_ALL")} == {
        k: environ[k] for k in ("PATH", "HOME", "JAVA_HOME", "SPARK_LOCAL_IP", "PYSPARK_PYTHON", "LC_ALL")}
    for name in ("HYPERION_TOKEN", "GNP_PSEUDONYM_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "AWS_SECRET_ACCESS_KEY",
                 gs.TOKEN_ENV, "SPARK_REMOTE"):  # fmt: skip
        assert name not in env, f"{name} must not reach the server"


def test_the_token_is_added_to_the_run_servers_url_only(monkeypatch):
    monkeypatch.setenv(gs.TOKEN_ENV, "t0k")
    monkeypatch.setenv(gs.TOKEN_URL_ENV, "sc://localhost:4040")
    assert gs.with_token("sc://localhost:4040") == "sc://localhost:4040/;token=t0k"
    assert gs.with_token("sc://cluster.example:15002") == "sc://cluster.example:15002", "never sent to another server"
    assert gs.with_token("sc://localhost:4040/;token=mine") == "sc://localhost:4040/;token=mine"
    monkeypatch.delenv(gs.TOKEN_ENV)
    assert gs.with_token("sc://localhost:4040") == "sc://localhost:4040"


# Real servers ------------------------------------------------------------------------------------

CLIENT = textwrap.dedent("""
    import hashlib, hmac, json, sys
    from pyspark.sql import SparkSession
    from gnp.lake import spark as gs
    from gnp.core.config import load_params
    from gnp.silver import measurements as M, pseudonym
    mode, url, params_file, key = sys.argv[1:]
    urls = {"get_session": None, "no token": url, "wrong token": url + "/;token=not-the-token"}
    try:
        if mode == "get_session":
            spark = gs.get_session(load_params(params_file), url)
        else:
            spark = SparkSession.builder.remote(urls[mode]).getOrCreate()
        frame = spark.createDataFrame([("80.191.12",)], f"{M.API_PREFIX}client_ip string")
        user_id = M.with_user_id(frame, pseudonym.key_frame(spark, key.encode())).first().user_id
        print(json.dumps({"ok": True, "user_id": user_id}))
    except Exception as exc:
        print(json.dumps({"ok": False, "error": str(exc)[:2000]}))
""")


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None if the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(root: int) -> dict[int, str]:
    """Live descendants of ``root``: pid -> start time (so a reused pid is not mistaken for a survivor)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields and fields[0] != "Z":
            parents[int(entry.name)] = (int(fields[1]), fields[19])
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` still running (not zombies), with the same start time."""
    return {pid: started for pid, started in processes.items()
            if (fields := _stat(pid)) and fields[0] != "Z" and fields[19] == started}  # fmt: skip


def server_jvms(root: int) -> list[int]:
    """The Connect server JVMs among ``root``'s descendants (spark-submit execs down to java)."""
    jvms = []
    for pid in descendants(root):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"java") and gs.CONNECT_SERVER_CLASS.encode() in argv:
                jvms.append(pid)
    return jvms


@pytest.fixture(scope="module")
def server():
    """One real server for the module, started with the API token and the key in the environment."""
    params = load_params(CI_PARAMS)
    saved = {k: os.environ.get(k) for k in ("HYPERION_TOKEN", "GNP_PSEUDONYM_KEY")}
    os.environ.update(HYPERION_TOKEN=API_TOKEN, GNP_PSEUDONYM_KEY=PSEUDONYM_KEY)
    try:
        with gs.connect_server(params) as url:
            yield url, os.environ[gs.TOKEN_ENV]
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)


def client(mode: str, url: str) -> dict:
    # A process of its own: a Connect client cannot be made where a classic session exists.
    proc = subprocess.run([sys.executable, "-c", CLIENT, mode, url, str(CI_PARAMS), PSEUDONYM_KEY],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))  # fmt: skip
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_client_without_the_token_is_refused_and_get_session_brings_it(server):
    url, token = server
    assert url.startswith("sc://localhost:") and token not in url, "the URL (a notebook parameter) has no token"
    for mode in ("no token", "wrong token"):
        answer = client(mode, url)
        assert not answer["ok"] and "UNAUTHENTICATED" in answer["error"], answer
    answer = client("get_session", url)
    assert answer["ok"], answer
    # The pseudonym key reaches Spark as data, the server never having had it in its environment.
    expected = hmac.new(PSEUDONYM_KEY.encode(), b"80.191.12", hashlib.sha256).hexdigest()
    assert answer["user_id"] == expected


DELTA_CLIENT = textwrap.dedent("""
    import json, sys
    url, path, tests_dir, params_file = sys.argv[1:5]
    sys.path.insert(0, tests_dir)
    from lake.tables import SMALL as T, S1 as D1, S2 as D2
    from gnp.core.config import load_params
    from gnp.lake import lakehouse, spark as gs
    spark = gs.get_session(load_params(params_file), url, run_id="run-connect")
    lakehouse.overwrite(spark.createDataFrame([(1, D1, "a"), (2, D2, "b")], T.ddl()), T, path)
    lakehouse.replace_partitions(spark.createDataFrame([(3, D2, "c")], T.ddl()), T, path, drop=[D2])
    found = sorted((r.thing_id, r.day.isoformat()) for r in lakehouse.read_table(spark, path, T).collect())
    lakehouse.restore(spark, path, 0)
    restored = sorted(r.thing_id for r in lakehouse.read_table(spark, path, T).collect())
    print(json.dumps({"found": found, "restored": restored}))
""")


@pytest.mark.slow
def test_a_delta_table_is_written_restored_and_read_through_the_server_with_the_runs_id_on_each_commit(
        server, tmp_path):
    url, _ = server
    path = str(tmp_path / "things")
    done = subprocess.run([sys.executable, "-c", DELTA_CLIENT, url, path, str(ROOT / "tests"), str(CI_PARAMS)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["found"] == [[1, S1.isoformat()], [3, S2.isoformat()]], result
    assert result["restored"] == [1, 2], result
    assert [(c["version"], c["operation"], c["run_id"]) for c in lakehouse.history(path)] == [
        (2, "RESTORE", "run-connect"), (1, "WRITE", "run-connect"), (0, "WRITE", "run-connect")]


@pytest.mark.slow
def test_the_server_jvm_has_no_api_token_nor_pseudonym_key_in_its_environment(server):
    _, token = server
    [jvm] = server_jvms(os.getpid())  # the module's server, this process's child
    environ = Path(f"/proc/{jvm}/environ").read_bytes().split(b"\0")
    assert f"{gs.SERVER_TOKEN_ENV}={token}".encode() in environ
    names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
    assert not names & {"HYPERION_TOKEN", "GNP_PSEUDONYM_KEY", gs.TOKEN_ENV}, names
    assert not any(API_TOKEN.encode() in e or PSEUDONYM_KEY.encode() in e for e in environ)
    assert token.encode() not in Path(f"/proc/{jvm}/cmdline").read_bytes(), "the token shows in ps"


PARENT = textwrap.dedent("""
    import sys, time
    from gnp.lake import spark as gs
    from gnp.core.config import load_params
    with gs.connect_server(load_params(sys.argv[1])) as url:
        print(url, flush=True)
        time.sleep(600)
""")


@pytest.mark.slow
def test_sigkill_of_the_process_that_started_the_server_leaves_no_jvm():
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(CI_PARAMS)], stdout=subprocess.PIPE, text=True)
    run = {}
    try:
        assert parent.stdout.readline().startswith("sc://localhost:"), "the server did not start"
        run = descendants(parent.pid)
        assert server_jvms(parent.pid), f"no server JVM among {run}: the test would prove nothing"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60
        while alive(run) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not alive(run), f"processes of the killed run's server survive: {alive(run)}"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in alive(run):
            os.kill(pid, signal.SIGKILL)  # only what this test started


@pytest.mark.slow
def test_the_runner_hands_the_token_to_the_notebooks_by_environment_never_as_a_parameter(tmp_path):
    from stub_notebooks import stub_notebook as notebook

    books, seen = tmp_path / "notebooks", tmp_path / "seen-token"
    books.mkdir()
    params_file = tmp_path / "params" / "t.yaml"
    params_file.parent.mkdir()
    params_file.write_text("env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-01}\n"
                           "storage: {lake: ../lake, artifacts: ../artifacts}\n" + CI_SPARK_YAML)  # fmt: skip
    notebook(
        books / "20_spark.ipynb",
        "import os\nimport gnp.lake.spark\nfrom gnp.core.config import load_params\n"
        f"open({str(seen)!r}, 'w').write(os.environ[gnp.lake.spark.TOKEN_ENV])\n"
        "spark = gnp.lake.spark.get_session(load_params(params_file), spark_remote)\n"
        "assert spark.range(3).count() == 3",
        spark=True,
    )
    before = os.environ.get(gs.TOKEN_ENV)
    result = runner.run(str(params_file), notebooks=books, log=lambda *_: None)
    assert result.ok, result.manifest
    token = seen.read_text()
    assert len(token) >= 32
    for path in Path(result.run_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert token.encode() not in data and b";token=" not in data, f"the server token is in {path}"
    assert os.environ.get(gs.TOKEN_ENV) == before, "the run's token stays in the runner's environment after it"
