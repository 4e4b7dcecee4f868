"""Local copies of gs:// data for Spark, and uploads of what Spark wrote locally.

PySpark here has no Cloud Storage connector (its jar comes from Maven, which
no PyPI package carries), so Spark reads and writes local files while Bronze
and the lakehouse live in GCS. A read-through cache is always correct because
nothing Spark reads changes once written: a Bronze version is never
overwritten, and a lakehouse leaf folder belongs to one write and is never
rewritten (a table moves to new leaves by replacing its ``_snapshot.json``,
which is read through ``gnp.storage``, never cached). So a copy keyed by the
URI stays right: each object is downloaded once per cache folder.

The cache lives in ``$GNP_CACHE_DIR``, else ``<system temp>/gnp-cache``, and
may be deleted whenever no run is going. In Cloud Run the temp folder is
memory: it counts against the job's memory limit like Spark's spill files.
Spark and this process must share one filesystem (local mode, or a Spark
Connect server on the same machine, as a run starts).

A cluster whose Spark has the GCS connector (Dataproc ships it) reads and
writes ``gs://`` itself: make ``is_remote`` return False for ``gs://`` and the
callers pass the URIs straight to Spark. That function is the one switch point.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from gnp import storage
from gnp.registry import join

CACHE_DIR_ENV = "GNP_CACHE_DIR"
CACHE_FOLDER = "gnp-cache"
PARTIAL_MARK = ".partial-"
TRANSFERS = 16  # objects are small; in GCS each one is a round trip


def is_remote(location: str) -> bool:
    """True for a location Spark cannot open itself: any URI other than ``file://``."""
    return "://" in location and not location.startswith("file://")


def cache_root() -> str:
    return os.environ.get(CACHE_DIR_ENV) or os.path.join(tempfile.gettempdir(), CACHE_FOLDER)


def local_path(location: str) -> str:
    """Where the local copy of ``location`` lives (``location`` itself when it is local).

    The copy mirrors the URI (``<cache>/gs/<bucket>/<object path>``), so its last
    path segments are the object's own: Bronze lineage is read from them.
    """
    if not is_remote(location):
        return location
    parts = urlsplit(location)
    return os.path.join(cache_root(), parts.scheme, parts.netloc, parts.path.strip("/"))


def _download(location: str, target: str) -> None:
    """Download a file or a folder to ``target`` whole, or not at all (a rename ends it)."""
    fs = storage.filesystem(location)
    partial = f"{target}{PARTIAL_MARK}{uuid.uuid4().hex}"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if fs.isdir(location):
        root = fs._strip_protocol(location).rstrip("/")
        remote = fs.find(root)
        fs.get(remote, [os.path.join(partial, r[len(root) + 1:]) for r in remote])
    else:
        fs.get_file(location, partial)
    try:
        os.rename(partial, target)
    except OSError:  # another process finished the same immutable copy first: keep theirs
        if not os.path.exists(target):
            raise
        shutil.rmtree(partial) if os.path.isdir(partial) else os.remove(partial)


def local_copy(location: str) -> str:
    """A local path holding the file or folder at ``location``, downloaded on first use.

    Local paths come back unchanged. Only for immutable objects (see the module docstring).
    """
    target = local_path(location)
    if target != location and not os.path.exists(target):
        _download(location, target)
    return target


def local_copies(locations: list[str]) -> list[str]:
    """``local_copy`` of each location, downloaded concurrently, in the same order."""
    if not any(is_remote(location) for location in locations):
        return list(locations)
    with ThreadPoolExecutor(TRANSFERS) as pool:
        return list(pool.map(local_copy, locations))


def upload_folder(local_folder: str, remote_folder: str) -> list[str]:
    """Upload every file under ``local_folder`` to the same relative names under ``remote_folder``.

    Hidden files (Hadoop's ``.crc`` checksums) stay behind. Returns the remote locations.
    """
    root = Path(local_folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    remote = [join(remote_folder, p.relative_to(root).as_posix()) for p in files]
    if files:
        storage.filesystem(remote_folder).put([str(p) for p in files], remote)
    return remote
