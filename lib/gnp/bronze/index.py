"""An index of the Bronze manifests: what Silver reads of each version, kept so a run reads only new manifests.

Planning a run reads what every stored version's manifest says (its record
count, fields, measurement dates, the run that fetched it): one small read per
version, every run, growing with the history; in a bucket each is a round trip.
A Bronze version is never rewritten, so what its manifest says never changes:
once read, it is kept here, keyed by the version's day and name, and a run
reads only the manifests of versions the index does not hold yet.

The folder listing stays the truth. Which versions exist is listed as before
(a version is complete when its data and manifest are both stored), and the
index only answers for versions the listing shows: a day re-ingested adds a
version the index lacks (its manifest is read), an entry whose version is gone
is dropped, and an index that is missing, unreadable or of another format is
built again from the manifests. The index lives beside the lake's other
bookkeeping (``Registry.bronze_index``), not in Bronze, which stays as received.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence

from gnp.bronze.ingest import BronzeVersion
from gnp.core import storage
from gnp.core.registry import Registry

FORMAT = 1
# What a run reads of a manifest (``silver.parse.list_bronze_files``); the rest stays in the manifest.
KEPT = ("record_count", "fields", "measurement_dates", "records_outside_day", "run_id")


def key(version: BronzeVersion) -> str:
    return f"{version.day.isoformat()}/{version.name}"


def summary(manifest: dict) -> dict:
    """What the index keeps of one manifest: the keys a run reads, those it has."""
    return {name: manifest[name] for name in KEPT if name in manifest}


def load(registry: Registry) -> dict[str, dict]:
    """The indexed versions (key -> summary); empty when there is no usable index (it is then built again)."""
    location = registry.bronze_index
    if not storage.exists(location):
        return {}
    try:
        data = storage.read_json(location)
    except (ValueError, OSError):  # half a file from a tool outside the pipeline, or unreadable: rebuilt
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("versions"), dict):
        return {}
    return data["versions"]


def summaries(
    registry: Registry,
    versions: Sequence[BronzeVersion],
    read_map: Callable[[Callable, Iterable], Iterable] = map,
    listed_days: Iterable[dt.date] = (),
) -> list[dict]:
    """What each version's manifest says (``summary``), reading only the manifests the index lacks.

    ``read_map`` maps the manifest reads (a thread pool's ``map`` reads them
    side by side). ``listed_days`` are days whose every version is among
    ``versions``: an entry of theirs naming another version is gone from
    Bronze and dropped. When a manifest was read or an entry dropped, the
    index is written again.
    """
    indexed = load(registry)
    missing = [v for v in versions if key(v) not in indexed]
    read = dict(zip(map(key, missing), read_map(lambda v: summary(v.manifest()), missing)))
    complete_days = {day.isoformat() for day in listed_days}
    listed = {key(v) for v in versions}
    gone = [k for k in indexed if k.split("/", 1)[0] in complete_days and k not in listed]
    if read or gone:
        kept = {k: s for k, s in indexed.items() if k not in gone}
        storage.write_bytes(
            registry.bronze_index,
            json.dumps({"format": FORMAT, "versions": dict(sorted({**kept, **read}.items()))},
                       sort_keys=True, separators=(",", ":")).encode("utf-8"),
        )
    return [read[key(v)] if key(v) in read else indexed[key(v)] for v in versions]
