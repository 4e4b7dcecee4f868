"""One writer per lake: a lock object at the lake's root, held for a whole run.

Delta's optimistic concurrency protects one commit, not a run: a stage reads
Silver and writes Gold, restores a table whose checks failed, vacuums; two runs
interleaving those steps could mix their data. So a run first creates
``<lake>/_lake.lock`` in a way only one creator can win, and deletes it at the end:

- local folders: the OS's file lock (``flock``) on ``_lake.lock``, which the
  kernel drops when the holding process dies however it dies (kill -9, OOM), so
  a dead run never leaves the lake locked and two waiters cannot both take over.
  The file stays; while held it says who holds it, and it is emptied on release;
- ``gs://``: an object with a lease. It is created with ``ifGenerationMatch=0``
  (only one creator wins) and says until when it holds (``expires_at``); a
  heartbeat thread renews it every quarter lease while the run lives. A holder
  that dies however it dies (OOM, a task timeout, kill -9, another host) stops
  renewing, and once the lease has passed any run on any host may take it over.
  Every overwrite and delete names the exact generation it read
  (``ifGenerationMatch``): of two waiters that read the same expired lock one
  wins, the other's write is refused; a release or a heartbeat never removes a
  lock someone else took over. A lock carrying this run's own id (a create that
  landed but whose answer was lost, then retried) is this run's. SIGTERM (Cloud
  Run's stop) releases it before the process exits; a release that fails is
  one ``gnp:`` line, and the lease frees the lake anyway.

The lock says who holds it (run id, host, pid, since when, until when). A second
run waits up to ``wait_s`` for it, then fails with that owner in the message.
Expiry compares the holder's clock with the waiter's (both NTP-synced in the
cloud); the lease is long next to any skew between them.
Locally, a holder record whose process still lives (written by hand, or by a
version before ``flock``) is respected as well.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gnp.core import storage
from gnp.core.errors import GnpError
from gnp.core.registry import join

LOCK_NAME = "_lake.lock"
POLL_S = 1.0
LEASE_S = 300.0  # a gs:// lock outlives its holder's last heartbeat by this long; the heartbeat runs 4 times a lease
RELEASE_RETRY_S = 5.0  # a release retries this long, then leaves the lock to its lease (SIGTERM to SIGKILL: 10 s)
_HELD: dict[str, tuple[int, str]] = {}  # local lock path -> (descriptor holding its flock, owner), in this process


class LakeLocked(GnpError):
    """Another run holds the lake."""


def lock_path(lake: str) -> str:
    return join(lake, LOCK_NAME)


def _record(owner: str) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    return json.dumps({"owner": owner, "host": socket.gethostname(), "pid": os.getpid(),
                       "acquired_at": now.isoformat()}).encode()


@dataclass
class _Lease:
    """A gs:// lock this process holds: the generation it wrote last, and the heartbeat renewing it."""

    owner: str
    lease_s: float
    acquired_at: str
    generation: int
    stop: threading.Event = field(default_factory=threading.Event)
    beat: threading.Thread | None = None


_LEASES: dict[str, _Lease] = {}  # gs:// lock path -> the lease this process holds on it
_SIGTERM_BEFORE: list = []  # the handler SIGTERM had before this module's (empty when ours is not installed)


def _leased_record(owner: str, lease_s: float, acquired_at: str | None = None) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    return json.dumps({"owner": owner, "host": socket.gethostname(), "pid": os.getpid(),
                       "acquired_at": acquired_at or now.isoformat(), "renewed_at": now.isoformat(),
                       "lease_s": lease_s, "expires_at": (now + dt.timedelta(seconds=lease_s)).isoformat()}).encode()


def _gcs_client():
    from google.cloud import storage as gcs

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return gcs.Client(project="test", credentials=AnonymousCredentials())
    return gcs.Client()


def _blob(path: str, client=None):
    parts = urlsplit(path)
    return (client or _gcs_client()).bucket(parts.netloc).blob(parts.path.lstrip("/"))


def _read_gcs(path: str, client=None) -> tuple[dict | None, int] | None:
    """The lock object's record and generation (one GET, so both are of the same object), or None when absent."""
    from google.api_core.exceptions import NotFound

    blob = _blob(path, client)
    try:
        data = blob.download_as_bytes()
    except NotFound:
        return None
    try:
        record = json.loads(data)
    except ValueError:
        record = None
    return (record if isinstance(record, dict) else None), int(blob.generation)


def _write_gcs(path: str, data: bytes, generation: int, client=None, retry=None) -> int | None:
    """Write the lock object only if its generation is still ``generation`` (0: only if absent).

    Returns the new generation, or None when GCS refused (someone else wrote or removed it since).
    """
    from google.api_core.exceptions import NotFound, PreconditionFailed
    from google.cloud.storage.retry import DEFAULT_RETRY

    blob = _blob(path, client)
    try:
        blob.upload_from_string(data, content_type="application/json", if_generation_match=generation,
                                retry=retry or DEFAULT_RETRY)  # every write names a generation: safe to retry
    except (PreconditionFailed, NotFound):
        return None
    return int(blob.generation)


def _expired(record: dict | None) -> bool:
    """A lease whose time has passed; a record without one (an older gnp) only when its process died here."""
    if record is None:
        return True  # not a lock any version of gnp wrote: unreadable, nobody can be holding it by it
    if "expires_at" not in record:
        return _dead_here(record)
    try:
        return dt.datetime.now(dt.timezone.utc) >= dt.datetime.fromisoformat(record["expires_at"])
    except (TypeError, ValueError):
        return True


def _try_take_gcs(path: str, owner: str, lease_s: float) -> tuple[_Lease | None, dict | None]:
    """One attempt at the gs:// lock: (the lease now held, None), or (None, the live holder's record or None)."""
    from google.api_core.exceptions import Forbidden, GoogleAPICallError, Unauthorized
    from google.api_core.exceptions import RetryError
    from requests.exceptions import RequestException

    def held(acquired_at: str, generation: int | None) -> tuple[_Lease | None, None]:
        return (_Lease(owner, lease_s, acquired_at, generation) if generation is not None else None), None

    now = dt.datetime.now(dt.timezone.utc).isoformat()
    try:
        try:
            generation = _write_gcs(path, _leased_record(owner, lease_s, now), 0)
            if generation is not None:
                return held(now, generation)
        except (RetryError, RequestException, GoogleAPICallError) as exc:
            if isinstance(exc, (Forbidden, Unauthorized)):
                raise
            # No answer: the create may have landed all the same; the record read next tells.
        seen = _read_gcs(path)
        if seen is None:
            return None, None  # released meanwhile: try again
        record, generation = seen
        if (record or {}).get("owner") == owner:
            # This run's own lock (a create whose answer was lost): held. Renew it, on exactly that generation.
            acquired_at = record.get("acquired_at") or now
            return held(acquired_at, _write_gcs(path, _leased_record(owner, lease_s, acquired_at), generation))
        if _expired(record):
            # Take it over on the generation read: of two waiters that read it, GCS lets exactly one write.
            return held(now, _write_gcs(path, _leased_record(owner, lease_s, now), generation))
        return None, record
    except (Forbidden, Unauthorized) as exc:
        raise GnpError(f"cannot take the lake's lock {path}: {getattr(exc, 'message', exc)}. The run's identity needs "
                       f"storage.objects.create, get and delete on that bucket: grant them, or run only stages "
                       f"that do not touch the lake (e.g. --stages ingest)") from None
    except (RetryError, RequestException, GoogleAPICallError) as exc:
        raise GnpError(f"cannot reach the lake's lock {path} ({type(exc).__name__}: {getattr(exc, 'message', exc)}); "
                       f"Cloud Storage did not answer: run again later") from None


def holder(lake: str) -> dict | None:
    """Who holds the lake's lock, or None."""
    path = lock_path(lake)
    if path.startswith("gs://"):
        seen = _read_gcs(path)
        return seen[0] if seen else None
    with contextlib.suppress(FileNotFoundError, ValueError):
        return storage.read_json(path) if storage.exists(path) else None
    return None  # absent, or emptied by its last holder's release


def _alive_elsewhere(record: dict | None) -> bool:
    """A holder record naming a live process other than this one (or one on another machine)."""
    if not record:
        return False
    if record.get("host") == socket.gethostname() and record.get("pid") == os.getpid():
        return False
    return not _dead_here(record)


def _flock(path: str, owner: str) -> bool:
    """Take the local lock for ``owner`` without waiting; True if taken (or already held by this process)."""
    if path in _HELD:
        return _HELD[path][1] == owner
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes (PEP 446)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    # Held: nobody else can decide now. A record of a live process is a lock written without flock.
    with contextlib.suppress(ValueError):
        if _alive_elsewhere(json.loads(os.pread(fd, 1 << 16, 0) or b"null")):
            os.close(fd)
            return False
    os.ftruncate(fd, 0)
    os.pwrite(fd, _record(owner), 0)
    _HELD[path] = (fd, owner)
    return True


def _dead_here(record: dict) -> bool:
    """True when the holder ran on this machine and its process is gone."""
    if record.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(record.get("pid", -1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def _describe(lake: str, record: dict | None) -> str:
    if not record:
        return f"the lake {lake} is locked ({lock_path(lake)})"
    since = record.get("acquired_at", "?")
    age = ""
    with contextlib.suppress(ValueError, TypeError):
        age = f", {(dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(since)).total_seconds():.0f} s ago"
    lease = f", lease until {record['expires_at']}" if record.get("expires_at") else ""
    return (f"the lake {lake} is locked by run {record.get('owner')} (pid {record.get('pid')} on "
            f"{record.get('host')}, since {since}{age}{lease})")


def _say(message: str) -> None:
    """One ``gnp:`` line on stderr, for what must not stop the run (a release or a heartbeat that failed)."""
    print(f"gnp: {message}", file=sys.stderr, flush=True)


def acquire(lake: str, owner: str, wait_s: float = 0.0, lease_s: float | None = None) -> None:
    """Take the lake's lock for ``owner``, waiting up to ``wait_s``; raise LakeLocked if another keeps it.

    ``lease_s`` (gs:// only, default ``LEASE_S``): how long the lock outlives this process's last heartbeat.
    """
    path = lock_path(lake)
    deadline = time.monotonic() + wait_s
    lease_s = LEASE_S if lease_s is None else float(lease_s)
    said = False  # that this run waits, once: a run held back by another must not look hung
    while True:
        if not path.startswith("gs://"):
            if _flock(path, owner):
                return
            record = holder(lake)
            if time.monotonic() >= deadline:
                raise LakeLocked(
                    f"{_describe(lake, record)}, lock file {path}. Two runs must not write one lake at once: wait "
                    f"for that run to end and run again (or set storage.lock_wait_s to wait)."
                )
            if not said:
                _say(f"waiting up to {wait_s:.0f} s: {_describe(lake, record)}")
                said = True
            time.sleep(POLL_S)
            continue
        if path in _LEASES and _LEASES[path].owner == owner:
            return  # held already, by this process
        lease, record = _try_take_gcs(path, owner, lease_s)
        if lease is not None:
            _hold(path, lease)
            return
        if record is None:
            continue  # released, or taken over by another waiter between two reads: look again at once
        if time.monotonic() >= deadline:
            raise LakeLocked(
                f"{_describe(lake, record)}. Two runs must not write one lake at once: wait for that run to end "
                f"and run again (or set storage.lock_wait_s to wait). A run that died leaves its lock until its "
                f"lease ends, then any run takes it over."
            )
        if not said:
            _say(f"waiting up to {wait_s:.0f} s: {_describe(lake, record)}")
            said = True
        time.sleep(POLL_S)


def _hold(path: str, lease: _Lease) -> None:
    """Keep ``lease``: a daemon thread renews it, and SIGTERM releases it (while the main thread can catch it)."""
    _LEASES[path] = lease
    lease.beat = threading.Thread(target=_heartbeat, args=(path, lease), name=f"gnp-lock-heartbeat {path}",
                                  daemon=True)
    lease.beat.start()
    if not _SIGTERM_BEFORE and threading.current_thread() is threading.main_thread():
        before = signal.getsignal(signal.SIGTERM)
        if before is not signal.SIG_IGN:  # a process that ignores SIGTERM keeps running: keep its lock too
            signal.signal(signal.SIGTERM, _on_sigterm)
            _SIGTERM_BEFORE.append(before)


def _heartbeat(path: str, lease: _Lease) -> None:
    """Renew the lease every quarter lease, on the generation this process wrote last, until released."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    client = _gcs_client()
    retry = DEFAULT_RETRY.with_timeout(lease.lease_s / 4)
    failing = False
    while not lease.stop.wait(lease.lease_s / 4):
        data = _leased_record(lease.owner, lease.lease_s, lease.acquired_at)
        try:
            generation = _write_gcs(path, data, lease.generation, client, retry)
            if generation is None:  # refused: a renewal whose answer was lost, or another run took it over
                seen = _read_gcs(path, client)
                if seen and (seen[0] or {}).get("owner") == lease.owner:
                    generation = _write_gcs(path, data, seen[1], client, retry)
        except Exception as exc:  # noqa: BLE001 - a transient error: the next beat tries again, within the lease
            if not failing:
                _say(f"could not renew the lake's lock {path} ({type(exc).__name__}); trying again")
            failing = True
            continue
        if generation is None:
            if not lease.stop.is_set():
                _say(f"the lake's lock {path} was taken over by another run after this run's lease ended "
                     f"(no renewal for {lease.lease_s:.0f} s): this run no longer holds the lake")
            return
        failing, lease.generation = False, generation


def _on_sigterm(signum, frame) -> None:
    """Release every gs:// lock this process holds, then stop as SIGTERM would (or as the previous handler does)."""
    before = _SIGTERM_BEFORE[0] if _SIGTERM_BEFORE else signal.SIG_DFL
    for path, lease in list(_LEASES.items()):
        _release_gcs(path, lease.owner)
    if callable(before):
        before(signum, frame)
        return
    raise SystemExit(128 + signum)  # the run's finally blocks run: its manifest says it was stopped


def release(lake: str, owner: str) -> None:
    """Delete the lock if ``owner`` still holds it (locally: empty the file and drop the flock).

    On gs:// a failure is one ``gnp:`` line, never an exception: the lease ends the lock anyway.
    """
    path = lock_path(lake)
    if not path.startswith("gs://"):
        if _HELD.get(path, (None, None))[1] == owner:
            fd, _ = _HELD.pop(path)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock
        return
    _release_gcs(path, owner)


def _release_gcs(path: str, owner: str) -> None:
    from google.api_core.exceptions import NotFound, PreconditionFailed
    from google.cloud.storage.retry import DEFAULT_RETRY

    lease = _LEASES.get(path)
    if lease is not None and lease.owner == owner:
        lease.stop.set()
        if lease.beat is not None and lease.beat is not threading.current_thread():
            lease.beat.join(timeout=RELEASE_RETRY_S)
        del _LEASES[path]
        if not _LEASES and _SIGTERM_BEFORE and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _SIGTERM_BEFORE.pop())
    retry = DEFAULT_RETRY.with_timeout(RELEASE_RETRY_S)
    try:
        client = _gcs_client()
        for _ in range(3):  # a renewal may have landed after the generation known here: read, then delete that one
            seen = _read_gcs(path, client)
            if seen is None or (seen[0] or {}).get("owner") != owner:
                return  # gone, or another run's now: not ours to delete
            try:
                _blob(path, client).delete(if_generation_match=seen[1], retry=retry, timeout=RELEASE_RETRY_S)
                return
            except NotFound:
                return
            except PreconditionFailed:
                continue
    except Exception as exc:  # noqa: BLE001 - the run's work is done or failed already; the lease frees the lake
        expires = f" at {lease.lease_s:.0f} s after its last renewal" if lease else ""
        _say(f"could not release the lake's lock {path} ({type(exc).__name__}: {getattr(exc, 'message', exc)}); "
             f"it expires by itself{expires}, then any run takes it over")


@contextlib.contextmanager
def holding(lake: str, owner: str, wait_s: float = 0.0, lease_s: float | None = None) -> Iterator[None]:
    acquire(lake, owner, wait_s, lease_s)
    try:
        yield
    finally:
        release(lake, owner)
