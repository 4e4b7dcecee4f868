"""One writer per lake: a lock object at the lake's root, held for a whole run.

Delta's optimistic concurrency protects one commit, not a run: a stage reads
Silver and writes Gold, restores a table whose checks failed, vacuums; two runs
interleaving those steps could mix their data. So a run first creates
``<lake>/_lake.lock`` in a way only one creator can win, and deletes it at the end:

- local folders: the OS's file lock (``flock``) on ``_lake.lock``, which the
  kernel drops when the holding process dies however it dies (kill -9, OOM), so
  a dead run never leaves the lake locked and two waiters cannot both take over.
  The file stays; while held it says who holds it, and it is emptied on release;
- ``gs://``: an upload with ``ifGenerationMatch=0`` (Cloud Storage refuses it
  when the object exists; fake-gcs-server does the same).

The lock says who holds it (run id, host, pid, since when). A second run waits
up to ``wait_s`` for it, then fails with that owner in the message. On gs://, a
lock left by a process that died on this machine is taken over; one from another
machine is not (nothing here can tell it is dead): the message says how to remove it.
Locally, a holder record whose process still lives (written by hand, or by a
version before ``flock``) is respected as well.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from gnp.core import storage
from gnp.core.errors import GnpError
from gnp.core.registry import join

LOCK_NAME = "_lake.lock"
POLL_S = 1.0
_HELD: dict[str, tuple[int, str]] = {}  # local lock path -> (descriptor holding its flock, owner), in this process


class LakeLocked(GnpError):
    """Another run holds the lake."""


def lock_path(lake: str) -> str:
    return join(lake, LOCK_NAME)


def _record(owner: str) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    return json.dumps({"owner": owner, "host": socket.gethostname(), "pid": os.getpid(),
                       "acquired_at": now.isoformat()}).encode()


def _create_exclusive(path: str, data: bytes) -> bool:
    """Create the gs:// object ``path`` holding ``data`` unless it exists; True if this call created it."""
    from google.api_core.exceptions import PreconditionFailed

    parts = urlsplit(path)
    blob = _gcs_client().bucket(parts.netloc).blob(parts.path.lstrip("/"))
    try:
        blob.upload_from_string(data, content_type="application/json", if_generation_match=0)
    except PreconditionFailed:
        return False
    return True


def _gcs_client():
    from google.cloud import storage as gcs

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return gcs.Client(project="test", credentials=AnonymousCredentials())
    return gcs.Client()


def holder(lake: str) -> dict | None:
    """Who holds the lake's lock, or None."""
    path = lock_path(lake)
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
    return (f"the lake {lake} is locked by run {record.get('owner')} (pid {record.get('pid')} on "
            f"{record.get('host')}, since {since}{age})")


def acquire(lake: str, owner: str, wait_s: float = 0.0) -> None:
    """Take the lake's lock for ``owner``, waiting up to ``wait_s``; raise LakeLocked if another keeps it."""
    path = lock_path(lake)
    deadline = time.monotonic() + wait_s
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
            time.sleep(POLL_S)
            continue
        if _create_exclusive(path, _record(owner)):
            return
        record = holder(lake)
        if record and _dead_here(record):
            with contextlib.suppress(FileNotFoundError):
                storage.filesystem(path).rm(path)  # its owner died: take it over
            continue
        if time.monotonic() >= deadline:
            raise LakeLocked(
                f"{_describe(lake, record)}. Two runs must not write one lake at once: wait for that run to end "
                f"and run again (or set storage.lock_wait_s to wait). If that run is dead, delete {path}."
            )
        time.sleep(POLL_S)


def release(lake: str, owner: str) -> None:
    """Delete the lock if ``owner`` still holds it (locally: empty the file and drop the flock)."""
    path = lock_path(lake)
    if not path.startswith("gs://"):
        if _HELD.get(path, (None, None))[1] == owner:
            fd, _ = _HELD.pop(path)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock
        return
    record = holder(lake)
    if record and record.get("owner") == owner:
        with contextlib.suppress(FileNotFoundError):
            storage.filesystem(lock_path(lake)).rm(lock_path(lake))


@contextlib.contextmanager
def holding(lake: str, owner: str, wait_s: float = 0.0) -> Iterator[None]:
    acquire(lake, owner, wait_s)
    try:
        yield
    finally:
        release(lake, owner)
