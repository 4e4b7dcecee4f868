"""Byte-level storage over local folders and gs:// through one interface (fsspec).

Writes are atomic for readers: data goes to a temporary name first and is
renamed (local) or committed as a single object (GCS) at the end.
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
    if "://" in location and not location.startswith("file://"):
        with fsspec.open(location, "wb") as fh:  # one object upload: atomic in GCS
            fh.write(data)
        return
    os.makedirs(os.path.dirname(location), exist_ok=True)
    tmp = f"{location}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, location)


def write_json(location: str, obj) -> None:
    write_bytes(location, json.dumps(obj, indent=2, sort_keys=True, default=str).encode("utf-8"))


def read_json(location: str):
    return json.loads(read_bytes(location))
