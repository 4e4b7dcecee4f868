"""Params files: one YAML per environment, validated into a typed model.

Papermill passes notebook parameters as literals and validates nothing, so
every notebook calls ``load_params`` in the cell after its parameters cell.
Errors are one line that names the file and the key.

Secrets never live in a params file: a params file names the environment
variable that holds a secret (``token_env``), and ``secret`` reads it. The
data.gov.gr token is optional (``api_token``): since mid-2025 the portal
appears to serve the Hyperion query without one.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gnp.core.errors import UsageError


class _PlainLoader(yaml.SafeLoader):
    """YAML without implicit dates, so a bad date reaches validation and is named by key."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ParamsError(UsageError):
    """A params file (or an override) is not valid. The message names file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_problem(url: str) -> str | None:
    """Why ``url`` may not be an API's base URL (it is not https, and not plain http on loopback), or None.

    A token in the Authorization header travels in clear over http; only the fake API on this machine may use it.
    """
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return None
    return (f"{url!r} is not an https:// URL: the API token would travel in clear. Use https:// "
            f"(plain http:// only on loopback, e.g. the fake API on http://127.0.0.1)")


class SourceParams(_Strict):
    kind: Literal["api", "sample"] = "sample"
    base_url: str = "https://data.gov.gr/api/v1"  # https, or http on loopback only; the sample source ignores it
    dataset: str = "hyperion"
    token_env: str = "HYPERION_TOKEN"  # environment variable that may hold an API token; sent only when set
    # data.gov.gr appears to need no token since mid-2025; true makes a run without one fail before any request.
    token_required: bool = False
    days_per_request: int = Field(1, ge=1, le=31)
    concurrency: int = Field(4, ge=1, le=16)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    backoff_s: float = Field(1.0, ge=0)
    max_backoff_s: float = Field(60.0, ge=0)
    sample_seed: int = 42
    sample_tests_per_day: int = Field(2000, ge=0)
    sample_users: int = Field(3000, ge=1)

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, url: str) -> str:
        problem = plain_http_problem(url)
        if problem:
            raise ValueError(problem)
        return url


class DateParams(_Strict):
    date_from: dt.date
    date_to: dt.date
    lookback_days: int = Field(2, ge=0, le=60)  # refetch recent days for late data
    refetch: bool = False  # fetch every day again, even those already in Bronze
    # A day stored with no records is fetched again on every run while it is this young (the
    # portal can publish a day late, and an early fetch stores it empty).
    empty_refetch_days: int = Field(14, ge=0, le=366)

    @model_validator(mode="after")
    def _ordered(self) -> "DateParams":
        if self.date_to < self.date_from:
            raise ValueError(f"date_to {self.date_to} is before date_from {self.date_from}")
        return self


class StorageParams(_Strict):
    lake: str = "../.gnp/lake"  # local folder (relative to the params file) or gs:// URI
    bronze: str | None = None  # Bronze's own location (a bucket with retention); default <lake>/bronze
    artifacts: str = "../.gnp/artifacts"  # executed notebooks and run manifests
    vacuum_retain_days: int = Field(7, ge=7)  # Delta files no version of these last days needs are deleted
    # A table is vacuumed at most this often (days; 0: every run): VACUUM lists every file of a table, and
    # a file only becomes deletable vacuum_retain_days after a commit removed it.
    vacuum_every_days: int = Field(7, ge=0, le=366)
    lock_wait_s: float = Field(0.0, ge=0)  # a run finding the lake locked by another waits this long, then fails


class WarehouseParams(_Strict):
    kind: Literal["duckdb", "bigquery"] = "duckdb"
    duckdb_path: str = "../.gnp/warehouse.duckdb"
    project: str | None = None  # BigQuery project
    location: str = "EU"
    silver_dataset: str = "silver"
    gold_dataset: str = "gold"
    # Cap on the bytes one dashboard query may bill on BigQuery (a query over it fails, unbilled).
    maximum_bytes_billed: int = Field(1_000_000_000, ge=1)


class SparkParams(_Strict):
    remote: str | None = None  # Spark Connect URL (sc://host:port); None = local session
    master: str = "local[*]"
    # An upper bound: each stage sizes its shuffles to the rows it reads, a partition per 50,000 (see
    # gnp.lake.spark.shuffle_partitions_for), and adaptive execution coalesces small ones further. A low fixed
    # number made 5M-record shuffles into blocks too large for a 2 GB driver to load back.
    shuffle_partitions: int = Field(64, ge=1)
    # A stage that reads fewer rows than this runs its queries interpreted, without generating and compiling code
    # for each, and without adaptive execution (gnp.lake.spark.size_session): a day's run is dozens of small
    # queries. 0: always generate code and plan adaptively.
    codegen_min_rows: int = Field(100_000, ge=0)
    driver_memory: str = "2g"
    # Extra options for the driver's JVM, e.g. ``-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m`` (the first
    # JIT tier only: a small, short run on few cores starts quicker, a long one runs slower; without the second
    # option that mode keeps 48 MB for compiled code, which Spark fills). Memory goes in driver_memory.
    java_options: str = ""


class SemanticsParams(_Strict):
    session_gap_minutes: int = Field(30, ge=1)
    returning_window_days: int = Field(14, ge=1)
    attainment_low: float = Field(0.5, gt=0, le=1)
    attainment_high: float = Field(0.8, gt=0, le=1)
    k_anonymity: int = Field(5, ge=1)
    histogram_buckets_per_decade: int = Field(4, ge=1, le=20)
    max_download_mbps: float = 10_000.0  # above this a test is physically implausible
    max_upload_mbps: float = 10_000.0
    max_rtt_ms: float = 60_000.0


class DashboardParams(_Strict):
    kernel_pool: int = Field(2, ge=0, le=16)  # pre-heated kernels kept ready for the next visitors
    cull_idle_s: int = Field(600, ge=60)  # a visitor's kernel idle this long is shut down
    max_kernels: int = Field(12, ge=1)  # visitors' kernels at most; beyond it a visitor waits
    busy_wait_s: int = Field(20, ge=1, le=120)  # longest a visitor beyond the cap waits before the busy page
    busy_retry_s: int = Field(30, ge=1)  # the busy page's "retry in N s" (Retry-After)


class PrivacyParams(_Strict):
    pseudonym_key_env: str = "GNP_PSEUDONYM_KEY"  # env var with the HMAC key
    pseudonym_key_file: str | None = "../.gnp/secrets/pseudonym.key"  # created on first run if absent


class Params(_Strict):
    env: str
    source: SourceParams = SourceParams()
    dates: DateParams
    storage: StorageParams = StorageParams()
    warehouse: WarehouseParams = WarehouseParams()
    spark: SparkParams = SparkParams()
    semantics: SemanticsParams = SemanticsParams()
    privacy: PrivacyParams = PrivacyParams()
    dashboard: DashboardParams = DashboardParams()
    params_file: str = ""  # absolute path of the file these came from, set by load_params

    def resolve(self, path: str | None) -> str | None:
        """A path from the params: URIs as they are, local paths relative to the params file."""
        if path is None or "://" in path or os.path.isabs(path):
            return path
        base = Path(self.params_file).parent if self.params_file else Path.cwd()
        return str((base / path).resolve())

    def redacted(self) -> dict:
        """Params as plain data, safe to log: they hold only the *names* of secrets."""
        return self.model_dump(mode="json")


def _set_dotted(data: dict, dotted: str, value) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ParamsError(f"override {dotted}: {part} is not a section")
    node[leaf] = value


def load_params(path: str | os.PathLike, overrides: dict | None = None) -> Params:
    """Read, override and validate a params file.

    ``overrides`` maps dotted keys (``"dates.date_from"``) to values; empty
    strings and None are ignored, so a notebook can pass its parameters as they are.
    """
    path = Path(path).resolve()
    if not path.exists():
        raise ParamsError(f"{path}: params file not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_PlainLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise ParamsError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    for key, value in (overrides or {}).items():
        if value is not None and value != "":
            _set_dotted(data, key, value)
    data["params_file"] = str(path)
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ParamsError(f"{path}: {key}: {msg}{more}") from None


def secret_text_problem(value: str) -> str | None:
    """Why a secret's text cannot be used as it is (whitespace or control characters), or None.

    Never quotes the value: the answer says only where the offending characters are.
    """
    def bad(text: str) -> bool:
        return any(c.isspace() or not c.isprintable() for c in text)

    if not bad(value):
        return None
    where = "inside it" if bad(value.strip()) else "at its start or end"
    return (f"contains whitespace or control characters {where} (e.g. a trailing newline from a secret "
            f"pasted or read from a file)")


def check_secret_text(value: str, where: str, name: str) -> None:
    """Refuse a secret with whitespace or control characters, naming where it came from and what to do."""
    problem = secret_text_problem(value)
    if problem:
        raise ParamsError(
            f"{where} {problem}: strip them, e.g. export {name}=\"$(tr -d '[:space:]' < your-secret-file)\" "
            f"(or remove the newline where the secret is stored); the value is not shown"
        )


def secret(name: str, purpose: str) -> str:
    """Read a secret from the environment, or fail saying which variable to set (or to strip)."""
    value = optional_secret(name, purpose)
    if value is None:
        raise ParamsError(f"environment variable {name} is not set: it must hold the {purpose}")
    return value


def optional_secret(name: str, purpose: str, where: str = "") -> str | None:
    """A secret from the environment, or None when the variable is unset or empty; a set one is checked."""
    value = os.environ.get(name, "")
    if not value:
        return None
    check_secret_text(value, f"{where}environment variable {name} (the {purpose})", name)
    return value


def api_token(source: SourceParams, where: str = "") -> str | None:
    """The data.gov.gr token from ``source.token_env``, or None: the API is called without one.

    A set token must be usable as it is (no whitespace or control characters).
    Unset is an error only when ``source.token_required``. ``where`` prefixes
    messages (the params file).
    """
    name = source.token_env
    token = optional_secret(name, "data.gov.gr API token", where)
    if token is None and source.token_required:
        raise ParamsError(
            f"{where}source.token_env: environment variable {name} is not set, and source.token_required is "
            f"true: set {name} to your data.gov.gr API token, or set source.token_required: false to call "
            f"the API without one"
        )
    return token


def require_secrets(params: Params) -> None:
    """Fail early, before any work or request, when a secret is required but missing, or set but not usable."""
    where = f"{params.params_file}: "
    if params.source.kind == "api":
        api_token(params.source, where)
    key_env = params.privacy.pseudonym_key_env
    if os.environ.get(key_env):
        check_secret_text(os.environ[key_env], f"{where}environment variable {key_env}", key_env)
