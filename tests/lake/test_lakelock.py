import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from gnp.core import storage
from gnp.lake import lakelock

HOLD = """
import sys, time
from gnp.lake import lakelock
lakelock.acquire(sys.argv[1], "run-other")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
lakelock.release(sys.argv[1], "run-other")
"""


def other_run_holding(lake: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, lake, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_fails_at_once_naming_the_holder_and_what_to_do(tmp_path):
    lake = str(tmp_path / "lake")
    proc = other_run_holding(lake, 30)
    try:
        with pytest.raises(lakelock.LakeLocked) as caught:
            lakelock.acquire(lake, "run-me")
        message = str(caught.value)
        assert "run-other" in message and f"pid {proc.pid}" in message and "wait for that run" in message, message
    finally:
        proc.kill()
        proc.wait()


def test_a_second_writer_waits_for_the_first_to_finish(tmp_path):
    lake = str(tmp_path / "lake")
    proc = other_run_holding(lake, 2)
    started = time.monotonic()
    with lakelock.holding(lake, "run-me", wait_s=60):
        waited = time.monotonic() - started
        assert lakelock.holder(lake)["owner"] == "run-me"
    proc.wait()
    assert waited >= 1, f"expected to wait for the other run, waited {waited:.1f} s"
    assert lakelock.holder(lake) is None, "the lock was not released"


WAIT_AND_HOLD = """
import json, sys, time
from gnp.lake import lakelock
lake, name, log = sys.argv[1], sys.argv[2], sys.argv[3]
lakelock.acquire(lake, name, wait_s=60)
start = time.time()
for _ in range(20):  # while held, the lock names this waiter and nobody else
    assert lakelock.holder(lake)["owner"] == name, lakelock.holder(lake)
    time.sleep(0.05)
with open(log, "a") as fh:
    fh.write(json.dumps([name, start, time.time()]) + "\\n")
lakelock.release(lake, name)
"""


def test_a_holder_killed_with_sigkill_leaves_the_lake_free_and_two_waiters_take_turns(tmp_path):
    lake, log = str(tmp_path / "lake"), tmp_path / "held.jsonl"
    holder = other_run_holding(lake, 600)
    waiters = [subprocess.Popen([sys.executable, "-c", WAIT_AND_HOLD, lake, f"run-{n}", str(log)])
               for n in ("b", "c")]
    time.sleep(1.5)  # both wait on the live holder
    assert lakelock.holder(lake)["owner"] == "run-other" and not log.exists()
    holder.kill()  # SIGKILL: no release runs
    holder.wait()
    assert [w.wait(timeout=60) for w in waiters] == [0, 0]
    spans = sorted(json.loads(line) for line in log.read_text().splitlines())
    assert [s[0] for s in spans] == ["run-b", "run-c"], spans
    (_, start_b, end_b), (_, start_c, end_c) = spans
    assert end_b <= start_c or end_c <= start_b, f"both waiters held the lake at once: {spans}"
    assert lakelock.holder(lake) is None
    lakelock.acquire(lake, "run-d")  # free at once
    lakelock.release(lake, "run-d")


def test_only_one_of_many_concurrent_takers_wins(tmp_path):
    lake = str(tmp_path / "lake")
    wins, barrier = [], threading.Barrier(8)

    def take(n):
        barrier.wait()
        try:
            lakelock.acquire(lake, f"run-{n}")
            wins.append(n)
        except lakelock.LakeLocked:
            pass

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1, f"expected one winner, found {wins}"


def test_a_lock_left_by_a_dead_process_on_this_machine_is_taken_over(tmp_path):
    lake = str(tmp_path / "lake")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    storage.write_bytes(lakelock.lock_path(lake), json.dumps(
        {"owner": "run-crashed", "host": socket.gethostname(), "pid": int(dead.stdout), "acquired_at": "x"}).encode())
    lakelock.acquire(lake, "run-me")
    assert lakelock.holder(lake)["owner"] == "run-me"


@pytest.mark.slow
def test_the_lock_on_gcs_is_exclusive_against_fake_gcs_server(tmp_path, monkeypatch):
    from bigquery_emulator import running_fake_gcs

    with running_fake_gcs(tmp_path / "gcs") as endpoint:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
        storage.filesystem("gs://").mkdir("lock-test")
        lake = "gs://lock-test/lake"
        lakelock.acquire(lake, "run-a")
        with pytest.raises(lakelock.LakeLocked, match="run-a"):
            lakelock.acquire(lake, "run-b")
        lakelock.release(lake, "run-a")
        lakelock.acquire(lake, "run-b")
        assert lakelock.holder(lake)["owner"] == "run-b" and os.environ["STORAGE_EMULATOR_HOST"] == endpoint
