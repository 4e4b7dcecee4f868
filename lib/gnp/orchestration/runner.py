"""Run the stage notebooks in order with papermill, and keep every executed notebook.

A stage is a notebook named ``NN_<stage>.ipynb`` in ``notebooks/`` with NN
below 90 (``90_dashboard`` is served, not run). The runner runs whatever stage
notebooks exist, so nothing pretends a stage exists that does not.

Every artifact of a run is written once. papermill saves the executed notebook
after every cell; in a bucket that would replace one object again and again,
which needs ``storage.objects.delete`` (the pipeline may only create objects
there). So when the run folder is remote a stage writes its notebook to a
local scratch folder and the runner uploads it once when the stage ends, failed
or not; the manifest is written once, at the end of the run. A local run folder
is written directly, as before.

The run's inputs are resolved here, once, into the run context (``context``):
the params, the run id, the days, the flags, the Spark endpoint and the
locations, written once as ``context.json``. Every stage notebook declares one
``run_context`` parameter and gets that file and nothing else; it reads no
YAML. A stage notebook without it is refused before the run starts.

The run plan (``runplan``) is computed here, once, before the first stage
whose notebook says it uses it (``"plan": true`` in its ``gnp`` metadata):
after ingest, whose fetches it must see. It is written once as ``plan.json``
beside the context, which names it, and the stages load it from there.

Fixed costs. The stages' notebooks run one after another in one kernel, the
run's (``kernels``): it starts with the run and imports what the stages import
while the runner takes the lock and starts Spark, and before each notebook it
is reset to a clean namespace (its execution count back to 1), so a notebook
runs as it would in a kernel of its own, with its modules already loaded.
Stages whose notebook writes nothing that another stage reads (``"read_only":
true`` in its ``gnp`` metadata: the report and the chapters, which read
finished Gold) form a group when they follow each other: every notebook of the
group runs even after one of them failed, and the run then fails, naming each
notebook that failed.

The machinery of a run (papermill and the kernels, the plan, the book) is
imported where it is used, not by this module: `gnp run` with a mistake in
its arguments answers in about a second instead of after four seconds of
imports.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import queue
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from gnp.core import context, manifest, storage
from gnp.core.config import Params, require_secrets
from gnp.core.errors import GnpError, UsageError
from gnp.core.registry import Registry, join
from gnp.core.schemas import TABLES
from gnp.lake import lakehouse, lakelock, retired
from gnp.quality import audit

PROJECT_ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
STAGE_PATTERN = re.compile(r"^(\d\d)_([a-z_]+)\.ipynb$")
FIRST_SERVED_NUMBER = 90
PROJECT_KERNEL = "gnp"
RUN_CONTEXT = "run_context"  # the one parameter of every stage notebook: the run's context.json
STOP_WAIT_S = 30  # an interrupted run waits this long for its running notebooks to be kept


class StageFailed(GnpError):
    """A stage notebook raised; the message names the notebook and the cell."""


@dataclass(frozen=True)
class Stage:
    name: str
    notebook: Path

    @property
    def needs_spark(self) -> bool:
        return bool(self._meta.get("spark", False))

    @property
    def needs_plan(self) -> bool:
        """The notebook loads the run plan (``runplan.for_stage``): the runner records it before this stage."""
        return bool(self._meta.get("plan", False))

    @property
    def read_only(self) -> bool:
        """The notebook writes nothing a later stage reads (the report, the chapters): it may run beside its like."""
        return bool(self._meta.get("read_only", False))

    @property
    def _meta(self) -> dict:
        return nbformat.read(self.notebook, as_version=4).metadata.get("gnp", {})

    @property
    def takes_run_context(self) -> bool:
        """The notebook's parameters cell declares ``run_context``, the one parameter the runner gives."""
        cells = nbformat.read(self.notebook, as_version=4).cells
        tagged = [c.source for c in cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", ())]
        return any(RUN_CONTEXT in assigned_names(source) for source in tagged)


def assigned_names(source: str) -> set[str]:
    """The names a cell assigns at its top level (``x = 1``, ``x: str = ""``): a parameters cell's parameters."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


@dataclass
class RunResult:
    run_id: str
    run_dir: str
    ok: bool
    manifest: dict = field(default_factory=dict)
    registry: Registry | None = None  # the run's locations, as its context froze them


def discover_stages(notebooks: Path = NOTEBOOKS) -> list[Stage]:
    stages = []
    for path in sorted(notebooks.glob("*.ipynb")):
        match = STAGE_PATTERN.match(path.name)
        if match and int(match.group(1)) < FIRST_SERVED_NUMBER:
            stages.append(Stage(match.group(2), path))
    return stages


def kernel_name() -> str:
    """The kernel registered inside the venv by ``make install``, else the default one."""
    from jupyter_client.kernelspec import KernelSpecManager

    return PROJECT_KERNEL if PROJECT_KERNEL in KernelSpecManager().find_kernel_specs() else "python3"


def _failed_cell(source: Path, executed: Path) -> str:
    """Where the error is, counted in the committed notebook (papermill adds cells of its own)."""
    with contextlib.suppress(Exception):
        nb = nbformat.read(executed, as_version=4)
        for cell in nb.cells:
            if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
                original = [c.source for c in nbformat.read(source, as_version=4).cells]
                number = original.index(cell.source) + 1 if cell.source in original else "?"
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return f"cell {number} ({first[:60]!r})"
    return "an unknown cell"


def _execute(stage: Stage, output: str, parameters: dict, kept_at: str, km) -> None:
    """Run the notebook on the run's kernel ``km``, saving it to the local ``output`` as it goes; ``kept_at`` is
    where it will be kept. The kernel was started in the notebooks' folder (papermill's ``cwd`` would change the
    whole process's working directory, which the runner's threads share)."""
    import papermill

    from gnp.orchestration import kernels

    try:
        papermill.execute_notebook(
            str(stage.notebook),
            output,
            parameters=parameters,
            kernel_name=kernel_name(),
            engine_name=kernels.ENGINE,
            km=km,
            keep_kernel=True,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
        )
    except papermill.PapermillExecutionError as exc:
        raise StageFailed(
            f"stage {stage.name} failed in {stage.notebook.name}, {_failed_cell(stage.notebook, Path(output))}: "
            f"{exc.ename}: {exc.evalue}. The executed notebook with the traceback is at {kept_at}"
        ) from None


def _keep(scratch: str, location: str) -> None:
    """Upload a stage's executed notebook once, if it was written at all (a local run folder holds it already)."""
    if scratch != location and Path(scratch).exists():
        storage.upload_once(scratch, location)


def run(
    params_file: str,
    date_from: str = "",
    date_to: str = "",
    stages: list[str] | None = None,
    refetch: bool = False,
    full_refresh: bool = False,
    run_id: str = "",
    log=print,
    notebooks: Path = NOTEBOOKS,
) -> RunResult:
    """Execute the stage notebooks in order and write the run manifest."""
    run_id = run_id or manifest.new_run_id()
    ctx = context.build(params_file, date_from, date_to, run_id, refetch=refetch, full_refresh=full_refresh)
    params, registry = ctx.params, ctx.registry
    require_secrets(params)
    run_dir = registry.run_dir(run_id)
    available = discover_stages(notebooks)
    selected = [s for s in available if not stages or s.name in stages]
    unknown = set(stages or []) - {s.name for s in available}
    if unknown:
        known = ", ".join(s.name for s in available)
        raise UsageError(f"unknown stage(s) {', '.join(sorted(unknown))}; the stages are: {known}")
    without = [s.notebook.name for s in selected if not s.takes_run_context]
    if without:
        raise UsageError(f"stage notebook(s) {', '.join(without)} declare no {RUN_CONTEXT!r} parameter: a stage "
                         f"takes the run's context file, and nothing else (see notebooks/20_silver.ipynb)")

    record = {
        "run_id": run_id,
        "params_file": params.params_file,
        "params": params.redacted(),
        "date_from": params.dates.date_from.isoformat(),
        "date_to": params.dates.date_to.isoformat(),
        "git": manifest.git_commit(PROJECT_ROOT),
        "packages": manifest.package_versions(),
        "python": sys.version.split()[0],
        "started_at": manifest.utc_now(),
        "ended_at": None,
        "status": "running",
        "stages": [],
        "outputs": [],
    }
    log(f"run {run_id}: {len(selected)} stage(s) {', '.join(s.name for s in selected)} "
        f"for {params.dates.date_from}..{params.dates.date_to} ({params.env})")
    storage.ensure_dir(run_dir)
    # A bucket's objects are created once (create-only rights): stages save to a local scratch folder,
    # and each notebook is uploaded when its stage ends.
    scratch_dir = tempfile.mkdtemp(prefix=f"gnp-{run_id}-") if storage.is_remote(run_dir) else run_dir
    raised: BaseException | None = None
    try:
        try:
            with _sigterm_stops_the_run():
                failure = _run_stages(ctx, scratch_dir, selected, record, log)
        except BaseException as exc:  # the lock, Spark's start, storage, SIGTERM: the manifest says why, then raise
            failure, raised = None, exc
            record["error"] = _why(exc)
            for entry in record["stages"]:
                if entry["status"] == "running":
                    entry.update(status="failed", error=record["error"], ended_at=manifest.utc_now())
        record["status"] = "failed" if failure or raised else "succeeded"
        record["ended_at"] = manifest.utc_now()
        record["book"] = book_index(run_dir)
        _write_book(scratch_dir, run_dir, record, log)
        _write_manifest(run_dir, record, log, raised)
    finally:
        if scratch_dir != run_dir:
            shutil.rmtree(scratch_dir, ignore_errors=True)
    if raised:
        raise raised
    if failure:
        log(f"run {run_id} FAILED: {failure}")
    return RunResult(run_id=run_id, run_dir=run_dir, ok=failure is None, manifest=record, registry=registry)


@contextlib.contextmanager
def _sigterm_stops_the_run():
    """SIGTERM (``kill``, a container's stop) stops the run as Ctrl-C does: its kernel is stopped, the partial
    notebook kept and the manifest says why. Python's own SIGTERM ends the process at once, with none of that.
    Only from the main thread, and only where SIGTERM has Python's default; the earlier handler comes back."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is stop:  # (the lake lock's handler, when it took over, restores ours)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _why(exc: BaseException) -> str:
    """A run's failure outside its stages, in the manifest: the error's own message (a GnpError's says what to do)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return f"stopped (exit {exc.code}, e.g. SIGTERM)"
    return str(exc) if isinstance(exc, GnpError) else f"{type(exc).__name__}: {exc}"


def _write_manifest(run_dir: str, record: dict, log, raised: BaseException | None) -> None:
    """Write the manifest once; when the run already failed on another error, a failed write is logged, not raised."""
    if raised is None:
        storage.write_json_once(join(run_dir, "manifest.json"), record)
        return
    try:
        storage.write_json_once(join(run_dir, "manifest.json"), record)
    except Exception as exc:  # noqa: BLE001 - the first error is what the caller must see
        log(f"the manifest of this failed run could not be written ({type(exc).__name__}: {exc})")


def _run_stages(ctx: context.RunContext, scratch_dir: str, selected: list[Stage], record: dict,
                log) -> StageFailed | None:
    """Execute the selected stages in order, recording each in ``record``; the first failure stops them."""
    params, registry, run_id, run_dir = ctx.params, ctx.registry, ctx.run_id, ctx.run_dir
    failure: StageFailed | None = None
    table_paths = {name: registry.table_path(name) for name in TABLES}
    # Only stages that use Spark or the plan read or write the lake's tables. A run of none of them (the
    # cloud's daily ingest, whose identity has no rights on the lake bucket) takes no lock and reads no table.
    uses_lake = any(stage.needs_spark or stage.needs_plan for stage in selected)
    groups = _groups(selected)
    with contextlib.ExitStack() as stack:
        # The run's one kernel starts at once and imports what the stages import, beside the lock and Spark's start.
        kernel = stack.enter_context(_RunKernel(selected))
        if uses_lake:
            # One run writes the lake at a time; the versions are read under the lock.
            stack.enter_context(lakelock.holding(registry.lake, run_id, params.storage.lock_wait_s))
            versions = recover_lake(ctx, log)
            record["table_versions"] = {name: {"before": v} for name, v in versions.items()}
        if any(stage.needs_spark for stage in selected):
            spark_remote = params.spark.remote or ""
            if not spark_remote:
                log("starting the run's Spark Connect server (loopback) ...")
                spark_remote = stack.enter_context(_spark_server(params, run_dir))
            ctx = dataclasses.replace(ctx, spark_remote=spark_remote)
        record["context"] = context.record(ctx)  # once, before the first stage: every stage reads this file
        consumer = _marks_consumed(selected)
        number = 0
        for group in groups:
            if any(stage.needs_plan for stage in group) and "plan" not in record:
                failure = _record_plan(ctx, group[0], record, log)
                if failure:
                    break
            failures = []
            for stage in group:  # a read-only group's stages all run, even after one of them failed
                number += 1
                output = join(run_dir, stage.notebook.name)
                scratch = output if scratch_dir == run_dir else str(Path(scratch_dir) / stage.notebook.name)
                entry = {"stage": stage.name, "notebook": stage.notebook.name, "executed_notebook": output,
                         "started_at": manifest.utc_now(), "status": "running"}
                record["stages"].append(entry)
                log(f"[{number}/{len(selected)}] {stage.name} ...")
                job = kernel.run(stage, scratch, output, {RUN_CONTEXT: ctx.location})
                stage_failure = _outcome(job, kernel, log)  # re-raises what is no stage's failure (a dead kernel)
                entry["status"] = "failed" if stage_failure else "succeeded"
                if stage_failure:
                    entry["error"] = str(stage_failure)
                    failures.append((number, stage_failure))
                entry["ended_at"], entry["duration_s"] = job.ended_at, job.duration_s
                log(f"[{number}/{len(selected)}] {stage.name} {entry['status']} in {entry['duration_s']} s")
                for out in manifest.read_outputs(registry, run_id, stage.name):
                    record["outputs"].append({"stage": stage.name, **out})
            if failures:
                failure = _first_failures(failures)
                break
            if consumer in {stage.name for stage in group} and record.get("plan"):
                record_consumed(ctx)
        if uses_lake:
            for name, after in lakehouse.versions(table_paths).items():
                record["table_versions"][name]["after"] = after
    return failure


def _groups(selected: list[Stage]) -> list[list[Stage]]:
    """The stages in their order, in groups run together: read-only stages that follow each other share one."""
    groups: list[list[Stage]] = []
    for stage in selected:
        if stage.read_only and groups and groups[-1][-1].read_only:
            groups[-1].append(stage)
        else:
            groups.append([stage])
    return groups


@dataclass
class _Job:
    """One stage's notebook for the run's kernel; ``done`` resolves to its failure (or None) when it has ended."""

    stage: Stage
    scratch: str
    output: str
    parameters: dict
    done: Future = field(default_factory=Future)
    ended_at: str | None = None
    duration_s: float | None = None


class _RunKernel:
    """The run's one kernel (``kernels``), in a thread of its own: started at once, it runs the stages' notebooks
    one after another, each on a kernel prepared as new; on leaving, it is shut down."""

    def __init__(self, stages: list[Stage]):
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._km = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(stages,), name="gnp-run-kernel", daemon=True)
        self._thread.start()

    def __enter__(self) -> _RunKernel:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:  # the run stopped before its stages ended (the lock, Spark, Ctrl-C): no notebook
            self.stop()           # waits for the kernel, even one still starting
        self._jobs.put(None)
        self._thread.join(STOP_WAIT_S)

    def run(self, stage: Stage, scratch: str, output: str, parameters: dict) -> _Job:
        """Queue the stage's notebook; it runs once the notebooks queued before it have ended."""
        job = _Job(stage, scratch, output, parameters)
        self._jobs.put(job)
        return job

    def stop(self) -> None:
        """The run was interrupted: kill the kernel (nbclient then ends the running notebook); run no other."""
        from gnp.orchestration import kernels

        self._stopped.set()
        kernels.kill(self._km)

    def _manage(self, km) -> None:
        self._km = km
        if self._stopped.is_set():  # stopped before the kernel's manager existed
            from gnp.orchestration import kernels

            kernels.kill(km)

    def _main(self, stages: list[Stage]) -> None:
        from gnp.orchestration import kernels

        km, started = None, None
        try:
            if stages:
                warm = "\n".join(dict.fromkeys(line for stage in stages
                                               for line in kernels.imports_of(stage.notebook).splitlines()))
                try:
                    km = kernels.start(kernel_name(), stages[0].notebook.parent, warm=warm, on_manager=self._manage)
                except BaseException as exc:  # noqa: BLE001 - each notebook's job raises it in the runner's thread
                    started = exc
            while (job := self._jobs.get()) is not None:
                if self._stopped.is_set():
                    job.done.set_exception(KeyboardInterrupt())
                elif started is not None:
                    job.done.set_exception(started)
                else:
                    self._execute(job, km)
        finally:
            if km is not None:
                with contextlib.suppress(Exception):
                    kernels.stop(km)

    @staticmethod
    def _execute(job: _Job, km) -> None:
        from gnp.lake.spark import client_env
        from gnp.orchestration import kernels

        try:
            kernels.prepare(km, client_env())  # as a new kernel, with the Spark server's token once it is up
            began = time.monotonic()
            try:
                _execute(job.stage, job.scratch, job.parameters, kept_at=job.output, km=km)
                failure = None
            except StageFailed as exc:
                failure = exc
            finally:
                _keep(job.scratch, job.output)  # the partial notebook too, with its traceback
                job.ended_at = manifest.utc_now()
                job.duration_s = round(time.monotonic() - began, 1)
            job.done.set_result(failure)
        except BaseException as exc:  # noqa: BLE001 - handed to the runner's thread, which raises it
            job.done.set_exception(exc)


def _outcome(job: _Job, kernel: _RunKernel, log) -> StageFailed | None:
    """Wait for the stage's notebook: its failure, or None; anything else it raised is raised here.

    Interrupted meanwhile (Ctrl-C, SIGTERM), it stops the kernel and waits a little for the partial notebook to be
    kept, then lets the interruption go on: the run's manifest says why.
    """
    try:
        wait([job.done])
    except BaseException:
        kernel.stop()
        _, late = wait([job.done], timeout=STOP_WAIT_S)
        if late:
            log(f"stage {job.stage.name} still running after its kernel was stopped; its notebook may be partial "
                "or missing")
        raise
    return job.done.result()


def _first_failures(failures: list[tuple[int, StageFailed]]) -> StageFailed:
    """The failure of a group: its one stage's, or one naming every notebook that failed, in stage order."""
    ordered = [failure for _, failure in sorted(failures, key=lambda item: item[0])]
    if len(ordered) == 1:
        return ordered[0]
    return StageFailed(f"{len(ordered)} stages failed side by side: " + "; ".join(map(str, ordered)))


def _marks_consumed(selected: list[Stage]) -> str | None:
    """The stage after which the plan's Bronze versions count as built: the last of gold and publish, if
    gold runs. Until then a failure leaves them unconsumed, and the next run builds (and publishes) them again."""
    names = [stage.name for stage in selected]
    if "gold" not in names:
        return None
    return "publish" if "publish" in names[names.index("gold"):] else "gold"


def recover_lake(ctx: context.RunContext, log) -> dict[str, int | None]:
    """What a run does first, holding the lake lock: undo whatever an interrupted run left (a retired table
    format, a first commit that never finished, a commit never checked); returns each table's version then."""
    table_paths = {name: ctx.registry.table_path(name) for name in TABLES}
    retired.refuse_or_remove(table_paths, ctx.full_refresh, log)  # a lake from before Delta Lake
    _remove_uncommitted(table_paths, log)
    _restore_unaudited(ctx.registry, ctx.run_id, log)
    return lakehouse.versions(table_paths)


def record_consumed(ctx: context.RunContext) -> None:
    """Silver and Gold (and publish, when it ran) built from the plan's Bronze versions: record them."""
    from gnp.orchestration import runplan
    from gnp.silver import stage as silver_stage

    silver_stage.record_consumed(ctx.registry, runplan.load(ctx.registry, ctx.run_id).silver)


def _restore_unaudited(registry: Registry, run_id: str, log) -> None:
    """A table committed but never checked (a run killed between the two) goes back to its audited version."""
    for name, version in audit.restore_unaudited(registry, run_id).items():
        back = f"restored to version {version}" if version is not None else "removed (no version of it passed)"
        log(f"{name}: {back}: a run stopped between its commit and its checks")


def _remove_uncommitted(table_paths: dict[str, str], log) -> None:
    """A table whose first commit was interrupted (kill -9, Ctrl-C) is no table: clear its leftovers."""
    for name, path in table_paths.items():
        if lakehouse.remove_uncommitted(path):
            log(f"{name}: removed the leftovers of a first commit that never finished (no table yet; this run builds it)")


def _record_plan(ctx: context.RunContext, stage: Stage, record: dict, log) -> StageFailed | None:
    """Compute the run plan and write it once; a failure stops the run before ``stage`` (and is recorded)."""
    from gnp.orchestration import runplan

    try:
        plan = runplan.compute(ctx.params, ctx.registry, ctx.run_id, ctx.full_refresh)
        record["plan"] = runplan.record(plan, ctx.registry)
    except Exception as exc:  # noqa: BLE001 - the manifest must still say why the run stopped
        record["plan"], record["plan_error"] = None, f"{type(exc).__name__}: {exc}"
        return StageFailed(f"the run plan could not be computed before stage {stage.name}: {record['plan_error']}. "
                           "Nothing was rewritten; fix the cause and run again")
    log(f"run plan: {record['plan']}")
    return None


def _write_book(scratch_dir: str, run_dir: str, record: dict, log) -> None:
    """Render the run's executed notebooks as an HTML book beside them (and, locally, the runs index).

    The book is a view of the record: a rendering error is logged, never fails the run.
    """
    from gnp.orchestration import book

    try:
        index = book.render_run(scratch_dir, manifest=record)
        if scratch_dir != run_dir:
            for page in sorted(index.parent.iterdir()):
                storage.upload_once(str(page), join(run_dir, book.BOOK_DIR, page.name))
        else:
            book.render_index(Path(run_dir).parent)
        log(f"book: {book_index(run_dir)}")
    except Exception as exc:  # noqa: BLE001 - the run's data are written; only its view failed
        log(f"the book could not be rendered ({type(exc).__name__}: {exc}); `gnp book --rebuild` tries again")


def _spark_server(params: Params, run_dir: str):
    from gnp.lake.spark import connect_server

    # The server's log sits beside the executed notebooks when they are local.
    return connect_server(params, log_dir=run_dir if "://" not in run_dir else None)


def book_index(run_dir: str) -> str:
    """The run's book, beside its executed notebooks."""
    from gnp.orchestration.book import BOOK_DIR, INDEX

    return join(run_dir, BOOK_DIR, INDEX)


def describe_locations(result: RunResult) -> list[str]:
    """Where a run's products are, from its frozen locations (the YAML is not read again)."""
    registry = result.registry
    return [
        f"lakehouse:          {registry.lake}",
        f"warehouse:          {registry.duckdb_path if registry.warehouse_kind == 'duckdb' else registry.table_id('measurements').rsplit('.', 2)[0]}",
        f"executed notebooks: {result.run_dir}",
        f"manifest:           {join(result.run_dir, 'manifest.json')}",
        f"book:               {book_index(result.run_dir)}",
    ]
