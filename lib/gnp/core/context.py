"""The run context: everything a stage needs, resolved once by the runner and frozen in one file.

The runner builds it before the first stage: the validated params (they hold
only the *names* of secrets, never a value), the run id, the run's days, the
flags (``refetch``, ``full_refresh``), the Spark Connect endpoint and the
locations (``Registry``). It writes it once as ``runs/<run id>/context.json``
(create-only, like every artifact) and hands each stage notebook that file as
its one run parameter. No stage reads the YAML again, and every stage takes the
run's days from here.

The run plan (what Silver and Gold rewrite, ``runplan``) cannot be known
before ingest has fetched: a refetched day may bring tests of other dates. So
the context names where the runner records it, once, after ingest
(``plan.json`` beside it), and ``gnp.orchestration.runplan.for_context`` reads
it from there.

A notebook opened on its own (JupyterLab, nbval) has no context file: it builds
the same context from its default parameters (``standalone``), and computes
its plan itself when asked. The context is plain data, at the bottom of the
layers (``core``), so that every stage's steps can take it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from gnp.core import manifest, storage
from gnp.core.config import Params, load_params
from gnp.core.dates import days_between
from gnp.core.errors import UsageError
from gnp.core.registry import Registry, join

CONTEXT_FILE = "context.json"
VERSION = 1


@dataclass(frozen=True)
class RunContext:
    """One run's frozen inputs. ``run_id`` is empty for a notebook run on its own (nothing is recorded)."""

    run_id: str
    params: Params
    registry: Registry
    days: tuple[dt.date, ...]  # the run's days, date_from..date_to: every stage's one definition of them
    refetch: bool = False
    full_refresh: bool = False
    spark_remote: str = ""  # the run's Spark Connect server; empty: the params' spark.remote, else a local session

    @property
    def date_from(self) -> dt.date:
        return self.days[0]

    @property
    def date_to(self) -> dt.date:
        return self.days[-1]

    @property
    def run_dir(self) -> str:
        return self.registry.run_dir(self.run_id) if self.run_id else ""

    @property
    def location(self) -> str:
        """Where the runner records this context (empty outside a run)."""
        return join(self.run_dir, CONTEXT_FILE) if self.run_id else ""

    def describe(self) -> str:
        where = f"run {self.run_id}" if self.run_id else "no run (a notebook on its own: nothing is recorded)"
        flags = [name for name in ("refetch", "full_refresh") if getattr(self, name)]
        return (f"{where}; {self.params.env}: {self.date_from} to {self.date_to} ({len(self.days)} days)"
                + (f"; {', '.join(flags)}" if flags else ""))


def build(
    params_file: str,
    date_from: str | dt.date = "",
    date_to: str | dt.date = "",
    run_id: str = "",
    refetch: bool = False,
    full_refresh: bool = False,
    spark_remote: str = "",
) -> RunContext:
    """Resolve a run's context from a params file and the command line's overrides (reads the YAML once)."""
    overrides = {"dates.date_from": _iso(date_from), "dates.date_to": _iso(date_to),
                 "dates.refetch": refetch or None}
    return of_params(load_params(params_file, overrides), run_id, full_refresh, spark_remote)


def of_params(params: Params, run_id: str = "", full_refresh: bool = False, spark_remote: str = "") -> RunContext:
    """The context of validated params as they are (their dates are the run's days)."""
    if run_id:
        manifest.check_run_id(run_id)
    days = tuple(days_between(params.dates.date_from, params.dates.date_to))
    return RunContext(run_id=run_id, params=params, registry=Registry.from_params(params), days=days,
                      refetch=bool(params.dates.refetch), full_refresh=full_refresh, spark_remote=spark_remote)


def to_json(context: RunContext) -> dict:
    return {
        "version": VERSION,
        "run_id": context.run_id,
        "params": context.params.redacted(),
        "locations": asdict(context.registry),
        "days": [day.isoformat() for day in context.days],
        "refetch": context.refetch,
        "full_refresh": context.full_refresh,
        "spark_remote": context.spark_remote,
        "plan": manifest.plan_location(context.registry, context.run_id) if context.run_id else "",
    }


def from_json(data: dict) -> RunContext:
    """``to_json``'s inverse."""
    if data.get("version") != VERSION:
        raise UsageError(f"run context version {data.get('version')!r} is not {VERSION}: run the pipeline again")
    return RunContext(
        run_id=data["run_id"],
        params=Params.model_validate(data["params"]),
        registry=Registry(**data["locations"]),
        days=tuple(dt.date.fromisoformat(day) for day in data["days"]),
        refetch=bool(data["refetch"]),
        full_refresh=bool(data["full_refresh"]),
        spark_remote=data.get("spark_remote", ""),
    )


def record(context: RunContext) -> str:
    """Write the context once into its run's folder; a second record for the run raises FileExistsError."""
    storage.write_json_once(context.location, to_json(context))
    return context.location


def load(location: str) -> RunContext:
    if not storage.exists(location):
        raise UsageError(f"no run context at {location}: give a run's context.json, or none to use the defaults")
    return from_json(storage.read_json(location))


def for_notebook(run_context: str, params_file: str, **standalone) -> RunContext:
    """A stage notebook's context: the run's file when the runner gave one, else one built from the
    notebook's own defaults (``params_file`` and ``standalone``: dates, run id, flags), as JupyterLab opens it."""
    if run_context:
        return load(run_context)
    return build(params_file, **standalone)


def _iso(value: str | dt.date) -> str:
    return value.isoformat() if isinstance(value, dt.date) else (value or "")
