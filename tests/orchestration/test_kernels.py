"""A stage's kernel talks to the runner over Unix sockets, which it removes when it ends; one that dies while
starting is started again, and one that never starts is named in one clear error. Real kernel processes, from a
kernelspec whose launcher exits the first times it is started."""

import json
import sys
import textwrap
from pathlib import Path

import pytest

from gnp.orchestration import kernels

LAUNCHER = textwrap.dedent("""
    import os, runpy, sys
    counter = os.environ["GNP_TEST_STARTS"]
    starts = int(open(counter).read() or 0) + 1 if os.path.exists(counter) else 1
    open(counter, "w").write(str(starts))
    if starts <= int(os.environ["GNP_TEST_DEATHS"]):
        sys.exit("address already in use (as a kernel whose port was taken)")
    sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__")
""")


@pytest.fixture
def dying_kernel(tmp_path, monkeypatch):
    """A kernelspec 'dies-first' whose process exits the first ``deaths`` times; returns (set deaths, starts)."""
    spec = tmp_path / "jupyter" / "kernels" / "dies-first"
    spec.mkdir(parents=True)
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    counter = tmp_path / "starts"
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(tmp_path / "launcher.py"), "-f", "{connection_file}"],
        "display_name": "dies first", "language": "python",
        "env": {"GNP_TEST_STARTS": str(counter)},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    def deaths(n: int) -> None:
        monkeypatch.setenv("GNP_TEST_DEATHS", str(n))

    return deaths, lambda: int(counter.read_text())


def test_a_kernel_that_dies_while_starting_is_started_again_and_answers_over_unix_sockets(dying_kernel, tmp_path, capfd):
    deaths, starts = dying_kernel
    deaths(2)
    km = kernels.start("dies-first", tmp_path)
    sockets = [Path(f"{km.ip}-{port}") for port in (km.shell_port, km.iopub_port, km.stdin_port, km.hb_port,
                                                     km.control_port)]
    try:
        assert starts() == 3
        assert km.transport == "ipc" and all(s.is_socket() for s in sockets), sockets
        client = km.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=30)
            client.execute("x = 6 * 7")
            reply = client.get_shell_msg(timeout=30)
            assert reply["content"]["status"] == "ok"
        finally:
            client.stop_channels()
    finally:
        kernels.stop(km)
    assert not any(s.exists() for s in sockets), "expected the kernel's sockets removed"
    err = capfd.readouterr().err
    assert err.count("exited while starting") == 2 and "attempt 2 of 3" in err, err


def test_a_kernel_that_never_starts_is_named_with_what_to_do(dying_kernel, tmp_path):
    deaths, starts = dying_kernel
    deaths(99)
    with pytest.raises(kernels.KernelStartFailed, match=r"'dies-first' exited while starting, 3 times.*make install"):
        kernels.start("dies-first", tmp_path)
    assert starts() == 3


def test_a_kernel_started_ahead_has_its_notebooks_imports_loaded_before_the_first_cell(tmp_path):
    from stub_notebooks import stub_notebook

    notebook = tmp_path / "10_stage.ipynb"
    stub_notebook(notebook, "%matplotlib inline\nimport nope", "import decimal\nfrom fractions import Fraction\nx = 1",
                  "def f():\n    import wave")
    assert kernels.imports_of(notebook) == "import gnp.core.context\nimport decimal\nfrom fractions import Fraction"
    km = kernels.start("python3", tmp_path, warm=kernels.imports_of(notebook) + "\nimport no_such_module_here")
    try:
        client = km.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=30)
            client.execute("import sys; loaded = sorted(m for m in ('decimal', 'fractions', 'wave') if m in sys.modules)"
                           "\nprint(loaded, 'Fraction' in dir(), len(get_ipython().history_manager.input_hist_raw))")
            out = ""
            while True:
                msg = client.get_iopub_msg(timeout=30)
                if msg["msg_type"] == "stream":
                    out += msg["content"]["text"]
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle" and out:
                    break
        finally:
            client.stop_channels()
    finally:
        kernels.stop(km)
    assert out.strip() == "['decimal', 'fractions'] True 2", out  # a failed import is no failure; no history of it


def test_a_stage_kernel_is_shut_down_without_an_interrupt_which_it_would_log_as_an_error(tmp_path):
    """jupyter_client sends SIGINT before every shutdown; a kernel inside a message handler then logs "ERROR |
    KeyboardInterrupt caught in kernel." on the run's console after its notebook succeeded. Real kernels; the
    managers' signal calls are recorded."""
    import signal

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    def recorded(km):
        sent, send = [], km._async_signal_kernel

        async def spy(signum):
            sent.append(signum)
            await send(signum)

        km._async_signal_kernel = spy
        return sent

    stage_km = kernels.start("python3", tmp_path)
    plain_km = AsyncKernelManager(kernel_name="python3")
    run_sync(plain_km.start_kernel)(cwd=str(tmp_path))
    stage_sent, plain_sent = recorded(stage_km), recorded(plain_km)

    run_sync(stage_km.interrupt_kernel)()  # an interrupt asked for still reaches the kernel
    for km in (stage_km, plain_km):
        run_sync(km.shutdown_kernel)()  # graceful, as nbclient shuts a kernel down once its notebook ended
        run_sync(km.cleanup_resources)()

    assert plain_sent == [signal.SIGINT], f"jupyter_client's own manager interrupts on shutdown: {plain_sent}"
    assert stage_sent == [signal.SIGINT], f"expected the one interrupt asked for, none on shutdown: {stage_sent}"


def _run(client, code: str) -> tuple[int, str]:
    """Execute ``code`` as a notebook cell would: its execution count and what it printed."""
    sent = client.execute(code)
    out = ""
    while True:
        msg = client.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "stream":
            out += msg["content"]["text"]
        if (msg["parent_header"].get("msg_id") == sent and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            break
    reply = client.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply["content"]["execution_count"], out


def test_prepare_leaves_the_next_notebook_a_kernel_as_new_with_the_environment_it_gained(tmp_path, monkeypatch):
    """Between two notebooks the run's kernel is reset (names, history, execution count) and handed what the
    runner's environment gained since the kernel started (the Spark server's token), silently."""
    km = kernels.start("python3", tmp_path, warm="import fractions")
    monkeypatch.setenv("GNP_TEST_GAINED", "after the kernel started")
    try:
        first = km.blocking_client()  # the first notebook's connection, as nbclient's
        first.start_channels()
        try:
            first.wait_for_ready(timeout=30)
            _, own = _run(first, "left_behind = 1\nprint(sorted(k for k in dir() if k.startswith('__')))")
            assert _run(first, "import os\nprint(os.environ.get('GNP_TEST_GAINED'))") == (2, "None\n")
        finally:
            first.stop_channels()

        kernels.prepare(km, {"GNP_TEST_GAINED": "after the kernel started"})

        second = km.blocking_client()
        second.start_channels()
        try:
            second.wait_for_ready(timeout=30)
            count, out = _run(second, "import os, sys\nprint('left_behind' in dir(), len(In), "
                                      "os.environ['GNP_TEST_GAINED'], 'fractions' in sys.modules)")
            _, own_after = _run(second, "print(sorted(k for k in dir() if k.startswith('__')))")
        finally:
            second.stop_channels()
        assert (count, out) == (1, "False 2 after the kernel started True\n"), (count, out)
        assert own_after == own and "__spec__" in own, f"the main module's own names: {own_after}, new: {own}"
    finally:
        kernels.stop(km)


def test_prepare_names_a_kernel_that_died_between_two_notebooks(tmp_path):
    km = kernels.start("python3", tmp_path)
    try:
        kernels.kill(km)
        with pytest.raises(kernels.KernelNotReady, match="died between two notebooks.*gnp run"):
            kernels.prepare(km, {}, timeout_s=5)
    finally:
        kernels.stop(km)
