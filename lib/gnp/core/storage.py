"""Byte-level storage over local folders and gs:// through one interface (fsspec).

Writes are atomic for readers: data goes to a temporary name first and is
renamed (local) or committed as a single object (GCS) at the end.

A run's artifacts (executed notebooks, manifests, output records, reports) are
written once with ``write_once``/``upload_once``: the pipeline may create
objects in the artifacts bucket but not replace them (replacing an object
needs ``storage.objects.delete``), so a second write of the same name must fail
here, loudly, and not only in the cloud.
"""

from __future__ import annotations

import json
import os
import uuid

import fsspec


def filesystem(location: str) -> fsspec.AbstractFileSystem:
    fs, _ = fsspec.core.url_to_fs(location)
    return fs


def exists(location: str) -> bool:
    return filesystem(location).exists(location)


def listdir(location: str) -> list[str]:
    """Names (not paths) directly under a folder; empty if it does not exist."""
    fs = filesystem(location)
    if not fs.exists(location):
        return []
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(location, detail=False))


def ensure_dir(location: str) -> None:
    """Create a folder (object stores have none: a no-op there)."""
    filesystem(location).makedirs(location, exist_ok=True)


def read_bytes(location: str) -> bytes:
    with fsspec.open(location, "rb") as fh:
        return fh.read()


def write_bytes(location: str, data: bytes) -> None:
    """Write a whole object; a reader sees the old object or the new one, never half."""
    if is_remote(location):
        with fsspec.open(location, "wb") as fh:  # one object upload: atomic in GCS
            fh.write(data)
        return
    os.replace(_written_beside(location, data), location)


def _written_beside(location: str, data: bytes) -> str:
    """``data`` in a temporary file next to ``location``, flushed to disk; returns its path."""
    os.makedirs(os.path.dirname(location), exist_ok=True)
    tmp = f"{location}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def write_json(location: str, obj) -> None:
    write_bytes(location, json.dumps(obj, indent=2, sort_keys=True, default=str).encode("utf-8"))


def is_remote(location: str) -> bool:
    """True for an object-store URI (anything but a local path or ``file://``)."""
    return "://" in location and not location.startswith("file://")


def write_once(location: str, data: bytes) -> None:
    """Create ``location``; raise FileExistsError if it exists (never replace it).

    In GCS the upload carries ``ifGenerationMatch=0``, so the check and the
    write are one step; locally a hard link publishes the finished file only
    if the name is free.
    """
    if is_remote(location):
        filesystem(location).pipe_file(location, data, mode="create")
        return
    tmp = _written_beside(location, data)
    try:
        os.link(tmp, location)
    finally:
        os.remove(tmp)


def write_json_once(location: str, obj) -> None:
    write_once(location, json.dumps(obj, indent=2, sort_keys=True, default=str).encode("utf-8"))


def upload_once(local_file: str, location: str) -> None:
    """Copy a finished local file to ``location`` with ``write_once`` (same name locally: nothing to do)."""
    if os.path.abspath(local_file) == location:
        return
    with open(local_file, "rb") as fh:
        write_once(location, fh.read())


def read_json(location: str):
    return json.loads(read_bytes(location))
