"""The run's kernel, started once, and the papermill engine that runs each stage's notebook on it.

Starting a kernel (a Python process and ipykernel's imports) takes about a
second, and a stage notebook's own imports (pyspark, pandas, altair, the
library) about three more, of CPU on a machine whose two cores a run keeps
busy. So a run starts one kernel, at its start, and that kernel runs every
stage's notebook in turn. It runs the stages' import statements
(``imports_of``) silently while the runner takes the lock and starts Spark.
Before each notebook, ``prepare`` clears what the notebook before it left
(IPython's ``reset``: the namespace, the history, ``Out``, the execution count
back to 1) and hands it the environment the runner gained since the kernel
started (the Spark server's token), silently: none of it enters a notebook.
The modules stay loaded; a notebook's own import cells run as they are and
find them loaded. Each notebook's cells and its executed copy are what they
would be in a kernel of its own (execution counts from 1); only the moment of
the imports moves. A notebook that changes the process itself (the working
directory, the environment, a library's global settings) would leave it
changed for the next: the stage notebooks do none of that.

The kernel is started as nbclient would start it (the notebook's kernelspec,
the notebooks' folder as its working directory, its history in memory), and
nbclient, handed a kernel manager whose kernel is alive, connects to it
instead of starting one, and leaves it running at the end (``keep_kernel``).

The kernel and the runner talk over Unix sockets in the temporary folder
(ZeroMQ's ipc transport), not TCP ports on the loopback: no other process can
take a kernel's address between its choice and the kernel's bind (over TCP
that kernel exits at once, "Kernel died before replying to kernel_info"), no
port is open to the machine's other users, and ipykernel has no plain-TCP
warning to print for each stage. (Where there are no Unix sockets, loopback
TCP, as nbclient would.) A kernel that dies while it starts all the same is
started again, twice at most, then named in one error.

A kernel manager is used from the thread that started it (the run's kernel
runs its notebooks in a thread of its own, ``runner._RunKernel``): its
client's sockets belong to that thread's event loop.
"""
from __future__ import annotations

import ast
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from gnp.core.errors import GnpError

ENGINE = "gnp-started-kernel"  # the papermill engine name of ``StartedKernelEngine``
HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"  # what nbclient gives an ipykernel it starts
START_ATTEMPTS = 3  # a kernel that dies while starting is started again
START_TIMEOUT_S = 60  # nbclient's own wait for a new kernel
PREPARE_TIMEOUT_S = 60  # a reset of the namespace takes milliseconds; a kernel silent this long is stuck


class KernelStartFailed(GnpError):
    """The kernel exited before it answered, every time it was started."""


class KernelNotReady(GnpError):
    """The kernel could not be prepared for the next notebook (it died, or did not answer)."""


class StageKernelManager(AsyncKernelManager):
    """A stage's kernel manager: shutting the kernel down sends it no interrupt first.

    jupyter_client interrupts a kernel (SIGINT) before asking it to shut down.
    A kernel that is inside a message handler at that moment logs "ERROR |
    KeyboardInterrupt caught in kernel." on the run's console, at random, after
    its notebook has succeeded. A stage's kernel is shut down once its notebook
    has ended, so there is nothing to interrupt; a run that is stopped kills
    its kernels instead (``kill``).
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel


def imports_of(notebook: Path) -> str:
    """The notebook's top-level import statements, in order (cells IPython syntax makes unparsable are skipped)."""
    lines = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines += [ast.get_source_segment(cell.source, node) for node in tree.body
                  if isinstance(node, ast.Import | ast.ImportFrom)]
    return "\n".join(lines)


def start(kernel_name: str, cwd: Path, timeout_s: float = START_TIMEOUT_S, warm: str = "",
          on_manager: Callable[[AsyncKernelManager], None] | None = None) -> AsyncKernelManager:
    """Start a kernel and return once it answers and has run ``warm`` (silently, outside its history: a
    notebook's ``imports_of``, so that its first cell finds them loaded); one that dies while starting is
    started again. ``on_manager`` gets the kernel's manager before the kernel starts, so that another thread
    may ``kill`` it meanwhile: ``start`` then returns within a second."""
    if os.name == "posix":
        sockets = os.path.join(tempfile.gettempdir(), f"gnp-kernel-{uuid.uuid4().hex[:12]}")  # + "-1" ... "-5"
        km = StageKernelManager(kernel_name=kernel_name, transport="ipc", ip=sockets)
    else:  # no Unix sockets for ZeroMQ: loopback TCP, as nbclient would
        km = StageKernelManager(kernel_name=kernel_name)
    if on_manager is not None:
        on_manager(km)
    run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=[HISTORY_IN_MEMORY] if km.ipykernel else [])
    for attempt in range(1, START_ATTEMPTS + 1):
        if run_sync(_answers)(km, timeout_s, warm) or getattr(km, "gnp_killed", False):
            return km  # a kernel killed on purpose (``kill``) is not started again: its notebook finds it dead
        if attempt == START_ATTEMPTS:
            with contextlib.suppress(Exception):
                stop(km)
            raise KernelStartFailed(
                f"the kernel {kernel_name!r} exited while starting, {START_ATTEMPTS} times; its error is printed above "
                f"it. Try `jupyter kernelspec list` and `make install` (it registers the project's kernel)")
        print(f"gnp: the kernel {kernel_name!r} exited while starting (attempt {attempt} of {START_ATTEMPTS}); "
              "starting it again", file=sys.stderr, flush=True)
        run_sync(km.restart_kernel)(now=True, newports=True)
    return km


async def _answers(km: AsyncKernelManager, timeout_s: float, warm: str = "") -> bool:
    """Whether the kernel answers a kernel_info request (then runs ``warm``); False if it died first. A kernel
    alive but silent for ``timeout_s`` raises nbclient's own error."""
    kc = km.client()
    kc.start_channels()
    try:
        try:
            await kc.wait_for_ready(timeout=timeout_s)
        except RuntimeError:
            if await km.is_alive():
                raise
            return False
        if warm:
            # An import that fails here fails again, visibly, in the notebook's own cell; a slow one is
            # waited for there. Either way the notebook runs as it would have.
            sent = kc.execute(warm, silent=True, store_history=False)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and not getattr(km, "gnp_killed", False):
                try:
                    if (await kc.get_shell_msg(timeout=1))["parent_header"].get("msg_id") == sent:
                        break
                except Exception:  # noqa: BLE001 - nothing within the second (or a closed socket): look again
                    if not await km.is_alive():
                        break
        return True
    finally:
        kc.stop_channels()


# IPython's reset also drops the main module's own names (``__spec__``, ``__loader__``, ...), which a new kernel
# has and some libraries look for (PySpark's Connect client reads ``__main__.__spec__``): they are put back.
RESET = """\
def _gnp_reset(shell=get_ipython(), env={env!r}):
    import os
    own = {{k: v for k, v in shell.user_ns.items() if k.startswith("__") and k.endswith("__")}}
    shell.reset(new_session=True)
    for name, value in own.items():
        shell.user_ns.setdefault(name, value)
    os.environ.update(env)
_gnp_reset()  # which the reset removed with the rest
"""


def prepare(km: AsyncKernelManager, env: dict[str, str], timeout_s: float = PREPARE_TIMEOUT_S) -> None:
    """Make the kernel as a new one for the next notebook: clear what the last one left (namespace, history,
    ``Out``, execution count) and set ``env`` in its environment; silently, outside any notebook."""
    run_sync(_run_silently)(km, RESET.format(env=env), timeout_s)


async def _run_silently(km: AsyncKernelManager, code: str, timeout_s: float) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        sent = kc.execute(code, silent=True, store_history=False)
        while True:
            try:
                reply = await kc.get_shell_msg(timeout=timeout_s)
            except Exception:  # noqa: BLE001 - queue.Empty, or a closed socket when the kernel died
                alive = await km.is_alive()
                raise KernelNotReady(f"the run's kernel {'did not answer within %.0f s' % timeout_s if alive else 'died'} "
                                     "between two notebooks; run again (`gnp run`)") from None
            if reply["parent_header"].get("msg_id") == sent:
                break
        if reply["content"]["status"] != "ok":
            raise KernelNotReady(f"the run's kernel could not be reset between two notebooks: "
                                 f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


def stop(km: AsyncKernelManager) -> None:
    """Shut down a kernel no notebook was given (a run that stopped before its stage)."""
    if km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
    run_sync(km.cleanup_resources)()


def kill(km: AsyncKernelManager | None) -> None:
    """Kill a running kernel's process group from any thread (its own thread's nbclient then finds it dead)."""
    if km is not None:
        km.gnp_killed = True  # a start still waiting for it does not start it again
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        group = os.getpgid(process.pid)
        if group != os.getpgid(0):  # a kernel leads a session of its own; never signal the runner's group
            os.killpg(group, signal.SIGKILL)


class StartedKernelEngine(NBClientEngine):
    """papermill's nbclient engine, on the kernel given as ``km``; nbclient shuts it down at the end, unless
    ``keep_kernel`` (the run's kernel, which runs the next stage's notebook)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, *, km: AsyncKernelManager,
                                 keep_kernel: bool = False, **kwargs):
        # The arguments as NBClientEngine merges them (papermill 2.x), plus the kernel manager.
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            kwargs,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client = PapermillNotebookClient(nb_man, km=km, **final_kwargs)
        try:
            return client.execute(cleanup_kc=not keep_kernel)
        finally:
            if keep_kernel and client.kc is not None:
                client.kc.stop_channels()  # this notebook's connection; the kernel runs on


papermill_engines.register(ENGINE, StartedKernelEngine)
