"""The secret key behind ``user_id`` (HMAC-SHA256 of the client IP).

Where the key comes from, first match wins:
1. the environment variable ``privacy.pseudonym_key_env`` (in the cloud, filled
   from Secret Manager);
2. the file ``privacy.pseudonym_key_file`` (resolved against the params file).
   In the embedded default (local lake, DuckDB warehouse) a missing file is
   created on first run: 32 random bytes as hex, mode 0600, in a folder that git
   ignores (``.gnp/secrets``). Anywhere else a missing key is an error that says
   what to set, because a new key would silently change every ``user_id``.

The key is the variable's text, or the file's without its final newline, as
UTF-8 bytes; whitespace or control characters anywhere else are refused (a
pasted key with a stray newline would silently be another key). It is never
logged, printed or put in an error message, and it reaches Spark as data
(``key_frame``), never as a literal in a query plan.

A key that changes silently gives every person a second ``user_id``, mixing
two pseudonyms in sessions, retention and cohorts. So Silver records the
fingerprint of its key (``registry.pseudonym_fingerprint``: an HMAC of a fixed
label with the key, neither the key nor a plain hash of it), and
``load_checked_key`` refuses another key, or a key file that went missing, with
the way to rotate on purpose: ``gnp run --full-refresh`` with the new key,
which rebuilds Silver from Bronze.

The fingerprint names the key Silver *was written with*. With no Silver yet it
is recorded at load. A rotation cannot be: if the full refresh failed before
every Silver table was rewritten, a recorded new fingerprint would let the next
incremental run add new ids to old ones. So a rotation is recorded as pending;
it becomes the fingerprint at the first load that finds every Silver table
holding data written with the new key, and until then only a full refresh may
run. What a table holds is read from the table itself: every Silver commit
carries its key's fingerprint (``KEY_METADATA`` in the commit's metadata), and
``lakehouse.written_with`` follows a RESTORE to the commit whose data it brought
back. A full refresh whose critical check failed and was restored therefore
confirms nothing: its tables hold the old key's data again, under new versions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets

from pyspark.sql import DataFrame, SparkSession

from gnp.core import storage
from gnp.core.config import Params, ParamsError, check_secret_text
from gnp.core.registry import Registry
from gnp.core.schemas import SILVER_TABLES
from gnp.lake import lakehouse
from gnp.silver.measurements import INNER_KEY_COLUMN, OUTER_KEY_COLUMN

HMAC_BLOCK = 64  # SHA-256's block size in bytes

log = logging.getLogger(__name__)

KEY_BYTES = 32
MIN_KEY_CHARS = 32  # 16 bytes as hex: shorter keys are guessable
FINGERPRINT_LABEL = b"gnp/pseudonym-key-fingerprint/v1"  # not an IP: no user_id is ever this HMAC
FINGERPRINT_FORMAT = 1
KEY_METADATA = "pseudonym_key"  # the fingerprint's name in each Silver commit's metadata


def _is_embedded(params: Params) -> bool:
    return "://" not in params.storage.lake and params.warehouse.kind == "duckdb"


def _checked(text: str, source: str, name: str) -> bytes:
    check_secret_text(text, source, name)
    if len(text) < MIN_KEY_CHARS:
        raise ParamsError(f"the pseudonym key in {source} is shorter than {MIN_KEY_CHARS} characters")
    return text.encode("utf-8")


def _without_final_newline(text: str) -> str:
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def _create_key_file(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(KEY_BYTES) + "\n")


def _what_to_set(params: Params) -> str:
    return (
        f"set the environment variable {params.privacy.pseudonym_key_env} (at least {MIN_KEY_CHARS} characters, "
        f"e.g. from `openssl rand -hex {KEY_BYTES}` or the secret manager)"
    )


def _key_file_to_create(params: Params) -> str | None:
    """The key file ``load_key`` would create now (embedded default, no key in the environment), else None."""
    path = params.resolve(params.privacy.pseudonym_key_file)
    if os.environ.get(params.privacy.pseudonym_key_env) or path is None or "://" in path or os.path.exists(path):
        return None
    return path if _is_embedded(params) else None


def load_key(params: Params) -> bytes:
    """The pseudonym key as bytes (see the module docstring for where it comes from)."""
    privacy = params.privacy
    env_value = os.environ.get(privacy.pseudonym_key_env, "")
    if env_value:
        source = f"environment variable {privacy.pseudonym_key_env}"
        return _checked(env_value, source, privacy.pseudonym_key_env)
    path = params.resolve(privacy.pseudonym_key_file)
    if path is None:
        raise ParamsError(f"{params.params_file}: no pseudonym key: {_what_to_set(params)}")
    if "://" not in path and not os.path.exists(path):
        if not _is_embedded(params):
            raise ParamsError(
                f"{params.params_file}: privacy.pseudonym_key_file {path} does not exist and is created only "
                f"for a local lake with the DuckDB warehouse: {_what_to_set(params)}, or create that file"
            )
        _create_key_file(path)
    try:
        text = storage.read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        raise ParamsError(
            f"{params.params_file}: privacy.pseudonym_key_file {path} not found: {_what_to_set(params)}"
        ) from None
    return _checked(_without_final_newline(text), f"privacy.pseudonym_key_file {path}", privacy.pseudonym_key_env)


# Silver's key ----------------------------------------------------------


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: HMAC-SHA256 of a fixed label, keyed with it."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def commit_metadata(key: bytes) -> dict[str, str]:
    """What a Silver commit records of the key its user ids were made with (``lakehouse.replace_partitions``)."""
    return {KEY_METADATA: fingerprint(key)}


def silver_keys(registry: Registry) -> dict[str, str | None]:
    """Each Silver table holding rows -> the fingerprint its current data were written with (None: unknown,
    a commit from before fingerprints were recorded, or one the log no longer holds). A table without rows
    holds no user id (and Delta commits nothing for an empty overwrite of it): it is left out."""
    keys = {}
    for spec in SILVER_TABLES:
        path = registry.table_path(spec.name)
        if lakehouse.current_files(path):
            keys[spec.name] = (lakehouse.written_with(path) or {}).get(KEY_METADATA)
    return keys


def silver_writes(registry: Registry) -> dict[str, str]:
    """Each Silver table that exists -> its current Delta version (a new one with every write)."""
    writes = {}
    for spec in SILVER_TABLES:
        version = lakehouse.version(registry.table_path(spec.name))
        if version is not None:
            writes[spec.name] = str(version)
    return writes


def read_fingerprint(registry: Registry) -> dict | None:
    path = registry.pseudonym_fingerprint
    return storage.read_json(path) if storage.exists(path) else None


def _record(registry: Registry, fingerprint_hex: str, rotation: dict | None = None) -> None:
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    storage.write_json(
        registry.pseudonym_fingerprint,
        {"format": FINGERPRINT_FORMAT, "fingerprint": fingerprint_hex, "recorded_at": now, "rotation": rotation},
    )


def _refusal(params: Params, registry: Registry, problem: str) -> ParamsError:
    return ParamsError(
        f"{params.params_file}: {problem}; user ids made with another key would not match the stored ones. "
        f"Use the key Silver was written with, or rotate on purpose: `gnp run --full-refresh --params "
        f"{params.params_file}` with the new key rebuilds Silver at {registry.lake} from Bronze and records it"
    )


def _rotation_finished(rotation: dict, keys: dict[str, str | None]) -> bool:
    """Every Silver table holding rows holds data written with the rotation's key (a RESTORE brings back the
    old key's)."""
    return all(found == rotation["fingerprint"] for found in keys.values())


def _other_keys(keys: dict[str, str | None], current: str) -> list[str]:
    return [name for name, found in keys.items() if found is not None and found != current]


def load_checked_key(params: Params, registry: Registry, full_refresh: bool) -> bytes:
    """``load_key``, refused when it is not the key Silver was written with (see the module docstring).

    ``full_refresh`` (the run rewrites every Silver table) is the one way to a new key: it is then
    recorded as a pending rotation, which the first later load confirms once Silver was rewritten.
    """
    record, writes = read_fingerprint(registry), silver_writes(registry)
    missing = _key_file_to_create(params)
    if missing and writes and not full_refresh:
        raise _refusal(params, registry, f"the pseudonym key file {missing} is missing but Silver was written "
                                         f"with a key, and a new one would be created")  # fmt: skip
    key = load_key(params)
    current = fingerprint(key)
    if not writes:  # nothing made with any key yet: this key is Silver's from now on
        if not record or record["fingerprint"] != current or record.get("rotation"):
            _record(registry, current)
        return key
    if record is None:  # Silver from before fingerprints: the key it is read with is taken as its own
        log.warning("Silver at %s has no pseudonym key fingerprint: recording the current key's", registry.lake)
        _record(registry, current)
        return key
    rotation, keys = record.get("rotation"), silver_keys(registry)
    if rotation and _rotation_finished(rotation, keys):
        record, rotation = {"fingerprint": rotation["fingerprint"]}, None
        _record(registry, record["fingerprint"])
    if full_refresh:
        if current != record["fingerprint"] or rotation:
            started = dt.datetime.now(dt.timezone.utc).isoformat()
            _record(registry, record["fingerprint"],
                    {"fingerprint": current, "started_at": started, "silver_writes": writes})  # fmt: skip
        return key
    if rotation:
        raise _refusal(params, registry, f"a `--full-refresh` that changes the pseudonym key started at "
                                         f"{rotation['started_at']} and did not leave all of Silver written with "
                                         f"the new key (it stopped, or a failed check restored the old "
                                         f"data)")  # fmt: skip
    if current != record["fingerprint"]:
        raise _refusal(params, registry, f"the pseudonym key (fingerprint {current[:12]}...) is not the one Silver "
                                         f"was written with ({record['fingerprint'][:12]}..., in "
                                         f"{registry.pseudonym_fingerprint})")  # fmt: skip
    other = _other_keys(keys, current)
    if other:
        raise _refusal(params, registry, f"Silver's {', '.join(other)} hold(s) data written with another pseudonym "
                                         f"key than this one (fingerprint {current[:12]}...), though "
                                         f"{registry.pseudonym_fingerprint} names it")  # fmt: skip
    return key


def key_frame(spark: SparkSession, key: bytes) -> DataFrame:
    """A one-row frame holding HMAC's two padded keys, for ``measurements.with_user_id``."""
    padded = (hashlib.sha256(key).digest() if len(key) > HMAC_BLOCK else key).ljust(HMAC_BLOCK, b"\0")
    inner, outer = (bytearray(b ^ pad for b in padded) for pad in (0x36, 0x5C))
    return spark.createDataFrame([(inner, outer)], f"{INNER_KEY_COLUMN} binary, {OUTER_KEY_COLUMN} binary")
