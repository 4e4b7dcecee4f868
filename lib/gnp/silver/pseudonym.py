"""The secret key behind ``user_id`` (HMAC-SHA256 of the client IP).

Where the key comes from, first match wins:
1. the environment variable ``privacy.pseudonym_key_env`` (in the cloud, filled
   from Secret Manager);
2. the file ``privacy.pseudonym_key_file`` (resolved against the params file).
   In the embedded default (local lake, DuckDB warehouse) a missing file is
   created on first run: 32 random bytes as hex, mode 0600, in a folder that git
   ignores (``.gnp/secrets``). Anywhere else a missing key is an error that says
   what to set, because a new key would silently change every ``user_id``.

The key is the file's or variable's text, stripped, as UTF-8 bytes. It is never
logged, printed or put in an error message, and it reaches Spark as data
(``key_frame``), never as a literal in a query plan.
"""

from __future__ import annotations

import os
import secrets

from pyspark.sql import DataFrame, SparkSession

from gnp import storage
from gnp.config import Params, ParamsError
from gnp.silver.measurements import KEY_COLUMN

KEY_BYTES = 32
MIN_KEY_CHARS = 32  # 16 bytes as hex: shorter keys are guessable


def _is_embedded(params: Params) -> bool:
    return "://" not in params.storage.lake and params.warehouse.kind == "duckdb"


def _checked(text: str, source: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_CHARS:
        raise ParamsError(f"the pseudonym key in {source} is shorter than {MIN_KEY_CHARS} characters")
    return key.encode("utf-8")


def _create_key_file(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(KEY_BYTES) + "\n")


def load_key(params: Params) -> bytes:
    """The pseudonym key as bytes (see the module docstring for where it comes from)."""
    privacy = params.privacy
    env_value = os.environ.get(privacy.pseudonym_key_env, "")
    if env_value.strip():
        return _checked(env_value, f"environment variable {privacy.pseudonym_key_env}")
    path = params.resolve(privacy.pseudonym_key_file)
    what_to_set = (
        f"set the environment variable {privacy.pseudonym_key_env} (at least {MIN_KEY_CHARS} characters, "
        f"e.g. from `openssl rand -hex {KEY_BYTES}` or the secret manager)"
    )
    if path is None:
        raise ParamsError(f"{params.params_file}: no pseudonym key: {what_to_set}")
    if "://" not in path and not os.path.exists(path):
        if not _is_embedded(params):
            raise ParamsError(
                f"{params.params_file}: privacy.pseudonym_key_file {path} does not exist and is created only "
                f"for a local lake with the DuckDB warehouse: {what_to_set}, or create that file"
            )
        _create_key_file(path)
    try:
        text = storage.read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{params.params_file}: privacy.pseudonym_key_file {path} not found: {what_to_set}") from None
    return _checked(text, f"privacy.pseudonym_key_file {path}")


def key_frame(spark: SparkSession, key: bytes) -> DataFrame:
    """A one-row frame holding the key, for ``measurements.with_user_id``."""
    return spark.createDataFrame([(bytearray(key),)], f"{KEY_COLUMN} binary")
