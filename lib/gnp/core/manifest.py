"""The run manifest: what ran, with what, and what it wrote.

Stage notebooks call ``record_outputs`` for every table or object they write;
the runner merges those records into ``manifest.json`` beside the executed
notebooks, and publish reads Silver's and Gold's to know which tables the run
really wrote. The run plan (``gnp.orchestration.runplan``) is kept beside them
as ``plan.json``, written once by the runner before the first stage that uses
it. Only the params' *names* of secrets are recorded, never values.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import re
import secrets
import subprocess
from pathlib import Path

from gnp.core import storage
from gnp.core.config import Params
from gnp.core.errors import UsageError
from gnp.core.registry import Registry, join

PLAN_FILE = "plan.json"
KEY_PACKAGES = (
    "greek-net-pulse", "pyspark", "pandas", "pyarrow", "duckdb", "papermill",
    "requests", "altair", "voila", "google-cloud-bigquery", "google-cloud-storage",
)


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable and unique: UTC start time plus a short random suffix."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# A run id names the run's folder (and a lock's owner): no separator, no leading dot or dash, nothing a shell
# or a URL would read differently. new_run_id's and the workflow's ids (20250101T020304Z-gh123-1) fit.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is a safe run id, else a UsageError saying what one looks like."""
    if not RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id:
        raise UsageError(f"--run-id {run_id!r} is not a run id: use 1 to 100 letters, digits, '.', '_' or '-', "
                         f"starting with a letter or digit (it names the run's folder), e.g. {new_run_id()}")
    return run_id


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def git_commit(repo: Path) -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}  # an installed image carries no .git


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _outputs_location(registry: Registry, run_id: str, stage: str) -> str:
    return join(registry.run_dir(run_id), "outputs", f"{stage}.json")


def record_outputs(params: Params, run_id: str, stage: str, outputs: list[dict]) -> str | None:
    """Record what a stage wrote: dicts with ``name``, ``location`` and ``rows`` (tables also
    ``partition_by`` and ``partitions``, see ``results.table_output``).

    Written once per stage (artifacts are never replaced): a second record for
    the same run and stage raises FileExistsError. Outside a run (``run_id``
    empty, e.g. a notebook opened in JupyterLab) nothing is recorded.
    """
    if not run_id:
        return None
    location = _outputs_location(Registry.from_params(params), run_id, stage)
    storage.write_json_once(location, outputs)
    return location


def read_outputs(registry: Registry, run_id: str, stage: str) -> list[dict]:
    location = _outputs_location(registry, run_id, stage)
    return storage.read_json(location) if storage.exists(location) else []


def plan_location(registry: Registry, run_id: str) -> str:
    return join(registry.run_dir(run_id), PLAN_FILE)


def record_plan(registry: Registry, run_id: str, plan: dict) -> str:
    """Write the run's plan (its JSON form) once; a second record for the run raises FileExistsError."""
    location = plan_location(registry, run_id)
    storage.write_json_once(location, plan)
    return location


def read_plan(registry: Registry, run_id: str) -> dict | None:
    """The run's recorded plan as written; None outside a run or when the run recorded none."""
    location = plan_location(registry, run_id) if run_id else ""
    return storage.read_json(location) if location and storage.exists(location) else None
