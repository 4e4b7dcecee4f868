import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

from gnp.core import storage
from gnp.lake import lakelock
from lake.gcs_faults import faulty_gcs

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


def test_a_second_writer_waits_for_the_first_to_finish_and_says_once_for_whom(tmp_path, capsys):
    lake = str(tmp_path / "lake")
    proc = other_run_holding(lake, 2)
    started = time.monotonic()
    with lakelock.holding(lake, "run-me", wait_s=60):
        waited = time.monotonic() - started
        assert lakelock.holder(lake)["owner"] == "run-me"
    proc.wait()
    assert waited >= 1, f"expected to wait for the other run, waited {waited:.1f} s"
    assert lakelock.holder(lake) is None, "the lock was not released"
    said = [line for line in capsys.readouterr().err.splitlines() if "waiting" in line]
    assert len(said) == 1 and "up to 60 s" in said[0] and "locked by run" in said[0], said


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


# --- gs://: a lease, against fake-gcs-server (through a proxy adding GCS's delete preconditions, and faults) ---


@pytest.fixture(scope="module")
def fake_gcs(tmp_path_factory):
    from bigquery_emulator import running_fake_gcs

    with running_fake_gcs(tmp_path_factory.mktemp("gcs")) as endpoint:
        yield endpoint


@pytest.fixture()
def gcs(fake_gcs, monkeypatch):
    """The proxy every client of this test reaches (this process and its subprocesses), and a bucket of its own."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage as gcs_client

    with faulty_gcs(fake_gcs) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.endpoint)
        bucket = f"lock-{uuid.uuid4().hex[:12]}"
        gcs_client.Client(project="test", credentials=AnonymousCredentials()).create_bucket(bucket)
        proxy.lake = f"gs://{bucket}/lake"
        yield proxy


def write_lock(lake: str, record: dict) -> None:
    """A lock object as another run (or host) left it."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage as gcs_client

    bucket, name = lakelock.lock_path(lake)[len("gs://"):].split("/", 1)
    client = gcs_client.Client(project="test", credentials=AnonymousCredentials())
    client.bucket(bucket).blob(name).upload_from_string(json.dumps(record))


def utc(seconds_from_now: float = 0.0) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_from_now)).isoformat()


@pytest.mark.slow
def test_the_lock_on_gcs_is_exclusive_against_fake_gcs_server(gcs):
    lake = gcs.lake
    lakelock.acquire(lake, "run-a")
    with pytest.raises(lakelock.LakeLocked, match="run-a"):
        lakelock.acquire(lake, "run-b")
    lakelock.release(lake, "run-a")
    lakelock.acquire(lake, "run-b")
    assert lakelock.holder(lake)["owner"] == "run-b"
    lakelock.release(lake, "run-b")
    assert lakelock.holder(lake) is None


HOLD_ON_ANOTHER_HOST = """
import socket, sys, time
socket.gethostname = lambda: "cloud-run-task-1"  # another Cloud Run task: nothing here can see its process
from gnp.lake import lakelock
lakelock.LEASE_S = float(sys.argv[2])
lakelock.acquire(sys.argv[1], "run-dead")
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_holder_killed_on_another_host_is_taken_over_once_its_lease_has_ended(gcs, monkeypatch):
    lake, lease_s = gcs.lake, 2.0
    monkeypatch.setattr(lakelock, "LEASE_S", lease_s, raising=False)
    proc = subprocess.Popen([sys.executable, "-c", HOLD_ON_ANOTHER_HOST, lake, str(lease_s)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        first = lakelock.holder(lake)
        for _ in range(200):  # the live holder's heartbeat renews its lease (a quarter lease apart)
            if lakelock.holder(lake).get("renewed_at") != first.get("renewed_at"):
                break
            time.sleep(0.05)
        renewed = lakelock.holder(lake)
        assert renewed["owner"] == "run-dead" and renewed.get("renewed_at") != first.get("renewed_at"), \
            f"expected the holder to renew its lease, found {renewed}"
        with pytest.raises(lakelock.LakeLocked, match="run-dead"):
            lakelock.acquire(lake, "run-next")  # alive and renewing: not taken over
    finally:
        proc.kill()  # SIGKILL: no release, no more heartbeats
        proc.wait()
    left = lakelock.holder(lake)
    lakelock.acquire(lake, "run-next", wait_s=60)
    taken_at = dt.datetime.now(dt.timezone.utc)
    try:
        assert lakelock.holder(lake)["owner"] == "run-next"
        ended = dt.datetime.fromisoformat(left["expires_at"])
        assert taken_at >= ended, f"taken over at {taken_at}, before the dead holder's lease ended at {ended}"
    finally:
        lakelock.release(lake, "run-next")
    assert lakelock.holder(lake) is None


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["at once", "one after the other"])
def test_of_two_waiters_that_read_the_same_expired_lock_exactly_one_takes_it(gcs, monkeypatch, schedule):
    lake = gcs.lake
    write_lock(lake, {"owner": "run-dead", "host": "cloud-run-task-1", "pid": 7, "acquired_at": utc(-600),
                      "lease_s": 300, "expires_at": utc(-1)})
    read_gcs, both_read, first_done = lakelock._read_gcs, threading.Barrier(2, timeout=30), threading.Event()
    reads: dict[str, list] = {}

    def read_then_wait(path, client=None):
        seen = read_gcs(path, client)
        me = threading.current_thread().name
        if me in ("run-b", "run-c") and me not in reads:  # each waiter's first read: both see the expired lock
            reads[me] = seen
            both_read.wait()
            if schedule == "one after the other" and me == "run-c":
                first_done.wait(timeout=30)  # run-c is slow: run-b takes over, then run-c acts on what it read
        return seen

    monkeypatch.setattr(lakelock, "_read_gcs", read_then_wait)
    outcome: dict[str, str] = {}

    def wait_for(name):
        try:
            lakelock.acquire(lake, name)
            outcome[name] = "took it"
        except lakelock.LakeLocked as exc:
            outcome[name] = f"refused: {exc}"
        finally:
            if name == "run-b":
                first_done.set()

    threads = [threading.Thread(target=wait_for, args=(name,), name=name) for name in ("run-b", "run-c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert reads["run-b"][1] == reads["run-c"][1], f"both waiters should have read one generation: {reads}"
    winners = [name for name, what in outcome.items() if what == "took it"]
    assert len(winners) == 1, f"expected exactly one waiter to take the expired lock, found {outcome}"
    loser = ({"run-b", "run-c"} - set(winners)).pop()
    assert lakelock.holder(lake)["owner"] == winners[0] and f"locked by run {winners[0]}" in outcome[loser], outcome
    lakelock.release(lake, winners[0])
    assert lakelock.holder(lake) is None


@pytest.mark.slow
def test_a_create_whose_answer_was_lost_is_this_runs_lock_not_a_wait_on_itself(gcs):
    lake = gcs.lake
    gcs.lose_create_answers = 1  # the object is created; the client hears nothing and tries again
    lakelock.acquire(lake, "run-me", wait_s=3)
    try:
        assert gcs.lost == [lakelock.lock_path(lake)[len("gs://"):]], f"expected one lost answer, found {gcs.lost}"
        assert lakelock.holder(lake)["owner"] == "run-me"
    finally:
        lakelock.release(lake, "run-me")
    assert lakelock.holder(lake) is None


HOLD_UNTIL_SIGTERM = """
import sys, time
from gnp.lake import lakelock
lakelock.acquire(sys.argv[1], "run-stopped")
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_sigterm_releases_the_lock_and_the_previous_handler_comes_back(gcs):
    lake = gcs.lake
    proc = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_SIGTERM, lake], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        proc.send_signal(signal.SIGTERM)  # Cloud Run's stop
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert lakelock.holder(lake) is None, f"SIGTERM left the lock behind: {lakelock.holder(lake)}"
    assert code == 128 + signal.SIGTERM, f"expected exit {128 + signal.SIGTERM}, found {code}"

    before = signal.getsignal(signal.SIGTERM)
    with lakelock.holding(lake, "run-here"):
        assert signal.getsignal(signal.SIGTERM) is not before, "no SIGTERM handler while the lock is held"
    assert signal.getsignal(signal.SIGTERM) is before, "the previous SIGTERM handler was not restored"


@pytest.mark.slow
def test_a_release_that_cloud_storage_refuses_is_one_line_and_the_lease_ends_the_lock(gcs, monkeypatch, capsys):
    lake = gcs.lake
    monkeypatch.setattr(lakelock, "RELEASE_RETRY_S", 1.0, raising=False)
    lakelock.acquire(lake, "run-me")
    gcs.fail_deletes = True
    lakelock.release(lake, "run-me")  # must not raise: the run's own outcome is what its caller needs
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("gnp: could not release") and "expires" in err[0], err
    left = lakelock.holder(lake)
    expires = dt.datetime.fromisoformat(left["expires_at"])
    assert left["owner"] == "run-me" and expires > dt.datetime.now(dt.timezone.utc), left
    gcs.fail_deletes = False
    write_lock(lake, {**left, "expires_at": utc(-1)})  # its lease ended
    lakelock.acquire(lake, "run-next")
    assert lakelock.holder(lake)["owner"] == "run-next"
    lakelock.release(lake, "run-next")


@pytest.mark.slow
def test_a_release_deletes_only_the_generation_it_read(gcs, monkeypatch):
    # The proxy enforces ifGenerationMatch on DELETE as GCS does (fake-gcs-server alone ignores it).
    lake = gcs.lake
    lakelock.acquire(lake, "run-me")
    read_gcs = lakelock._read_gcs

    def read_then_taken_over(path, client=None):
        seen = read_gcs(path, client)
        monkeypatch.setattr(lakelock, "_read_gcs", read_gcs)
        # Between this read and the delete, another run takes the lock over (this one's lease had ended).
        write_lock(lake, {"owner": "run-other", "host": "h", "pid": 1, "acquired_at": utc(), "expires_at": utc(300)})
        return seen

    monkeypatch.setattr(lakelock, "_read_gcs", read_then_taken_over)
    lakelock.release(lake, "run-me")
    assert lakelock.holder(lake)["owner"] == "run-other", "a release deleted another run's lock"
    assert any(r.startswith("412 DELETE") for r in gcs.refused), gcs.refused
