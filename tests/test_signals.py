"""`drain_on_signals`: SIGTERM and Ctrl-C stop every recording before the process ends.

The tests that matter run real processes: ``tests/signal_worker.py`` records 20 channels against
the standalone emulator (``agora_recording.testing.serve`` on 127.0.0.1, a free port), under
asyncio or Trio, and the test signals it as a process manager or an impatient user would. The
emulator then says what is still running. Waits poll the emulator or the worker's output with
a deadline; the only timed waits are the gaps between the signals a test sends on purpose.
In-process tests (virtual time, a user signal sent to this process) pin the messages, the
grace period and the restored handlers.
"""

from __future__ import annotations

import io
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from agora_recording import Mode, RecordingClient, RecordingSession
from agora_recording._cli import cli
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET, FakeClock
from agora_recording.errors import UnconfirmedRecordingsError, ValidationError
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.signals import drain_on_signals
from agora_recording.testing import ServedEmulator, emulated_client
from click.testing import CliRunner
from trio.testing import MockClock

from tests import signal_worker

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["asyncio", "trio"]
COUNT = 20
DEADLINE = 60.0
"""Seconds any one wait on a worker or the emulator may take before the test fails: a bound
for a hung worker, generous because six workers start side by side on a loaded machine."""

CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
    ),
    recording_config=RecordingConfig(subscribe_uid_group=0),
)


# ---------------------------------------------------------------------------------------------
# Real processes


class Worker:
    """A ``tests.signal_worker`` process whose output lines are collected as they come."""

    def __init__(self, served: ServedEmulator, backend: str, prefix: str, grace: float) -> None:
        self.prefix = prefix
        args = ["--url", served.url, "--backend", backend, "--prefix", prefix]
        args += ["--count", str(COUNT), "--grace", str(grace)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.signal_worker", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr)),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for_line(self, lines: list[str], text: str) -> str:
        """The first line holding ``text``, once the worker has printed it."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((line for line in lines if text in line), None), DEADLINE
            )
        assert found is not None, f"no line with {text!r}: {self.stderr}"
        return found

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def finish(self) -> int:
        """Wait for the exit (killing the process past the deadline); the exit status."""
        try:
            status = self.process.wait(timeout=DEADLINE)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self._readers:
                reader.join(timeout=DEADLINE)
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
        return status


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after `DEADLINE` seconds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def running(served: ServedEmulator, prefix: str) -> list[str]:
    """The sids of the recordings of ``prefix`` the emulator still runs (still billing)."""
    return [
        info.sid
        for info in served.emulator.running_recordings()
        if info.cname.startswith(f"{prefix}-")
    ]


def stopped(served: ServedEmulator, prefix: str) -> int:
    """How many recordings of ``prefix`` ended because a stop asked them to."""
    return sum(
        1
        for info in served.emulator.recordings()
        if info.cname.startswith(f"{prefix}-") and info.exit_kind == "stop"
    )


@pytest.fixture
def served_options(served_options: dict[str, Any]) -> dict[str, Any]:
    """An emulator (`served`) of each test's own, on a fake clock of its own, healthy at once:
    each test counts every recording and sets its own faults."""
    return {**served_options, "clock": FakeClock(), "per_test": True}


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_stops_every_recording_before_the_worker_exits(
    served: ServedEmulator, backend: str
) -> None:
    """SIGTERM to a worker with 20 recordings leaves none running and exits 0 after the drain."""
    worker = Worker(served, backend, "term", grace=30.0)
    try:
        wait_until(lambda: len(running(served, "term")) == COUNT, "20 recordings")
        worker.wait_for_line(worker.stdout, f"recording {COUNT}")  # all 20 handles known
        worker.signal(signal.SIGTERM)
    finally:
        status = worker.finish()
    assert status == 0, worker.stderr
    assert running(served, "term") == []
    assert stopped(served, "term") == COUNT
    assert worker.stdout[-1] == "drained SIGTERM"
    assert worker.stderr == [
        "SIGTERM received: stopping 20 recordings before exiting "
        "(a signal after 30 s forces the exit)"
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_while_recordings_start_leaves_none_running(
    served: ServedEmulator, backend: str
) -> None:
    """SIGTERM while the 20 sessions are still starting stops every recording that started."""
    served.emulator.faults.add_latency(0.05, "start")  # spread the starts out a little
    worker = Worker(served, backend, "early", grace=30.0)
    try:
        wait_until(lambda: len(running(served, "early")) >= 3, "the first recordings")
        worker.signal(signal.SIGTERM)
    finally:
        status = worker.finish()
    assert status == 0, worker.stderr
    assert worker.stdout[-1] == "drained SIGTERM"
    assert running(served, "early") == []
    assert stopped(served, "early") == len(served.emulator.recordings())


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_ctrl_c_never_interrupts_the_drain(served: ServedEmulator, backend: str) -> None:
    """Two or three SIGINTs 50 ms, 0.5 s or 1.5 s apart all leave 0 recordings running.

    Stops answer after 3.5 s, so every further Ctrl-C lands while the stops are in flight
    (the case where asyncio's own handler would raise KeyboardInterrupt into them), and is
    answered with the count still unconfirmed. Six workers run side by side, one per pattern.
    """
    patterns = [(count, gap) for count in (2, 3) for gap in (0.05, 0.5, 1.5)]
    served.emulator.faults.add_latency(3.5, "stop")
    workers = {
        pattern: Worker(served, backend, f"int{pattern[0]}x{pattern[1]}", grace=30.0)
        for pattern in patterns
    }
    try:
        wait_until(
            lambda: all(len(running(served, w.prefix)) == COUNT for w in workers.values()),
            "120 recordings",
        )
        for worker in workers.values():
            worker.wait_for_line(worker.stdout, f"recording {COUNT}")
        began = time.monotonic()
        plan = [(n * gap, worker) for (count, gap), worker in workers.items() for n in range(count)]
        for at, worker in sorted(plan, key=lambda step: step[0]):
            time.sleep(max(0.0, began + at - time.monotonic()))
            worker.signal(signal.SIGINT)
    except BaseException:
        for worker in workers.values():
            worker.process.kill()
        raise
    finally:
        statuses = {pattern: worker.finish() for pattern, worker in workers.items()}
    for (count, gap), worker in workers.items():
        assert statuses[count, gap] == 0, (count, gap, worker.stderr)
        assert running(served, worker.prefix) == []
        assert stopped(served, worker.prefix) == COUNT
        assert worker.stdout[-1] == "drained SIGINT"
        assert worker.stderr[0].startswith("SIGINT received: stopping 20 recordings")
        # Signals 50 ms apart may coalesce (the kernel and Trio keep one pending per signal).
        assert len(worker.stderr) == count if gap >= 0.5 else 1 <= len(worker.stderr) <= count
        for line in worker.stderr[1:]:
            assert line.startswith("SIGINT received: still stopping, 20 recordings unconfirmed")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_signal_after_the_grace_exits_at_once_printing_stop_commands(
    served: ServedEmulator, backend: str
) -> None:
    """Past the grace a signal ends the worker at once (143), printing commands that work."""
    served.emulator.faults.add_latency(30.0, "stop")  # the worker's stops hang
    worker = Worker(served, backend, "forced", grace=0.0)
    try:
        wait_until(lambda: len(running(served, "forced")) == COUNT, "20 recordings")
        worker.wait_for_line(worker.stdout, f"recording {COUNT}")
        worker.signal(signal.SIGINT)
        worker.wait_for_line(worker.stderr, "SIGINT received: stopping 20 recordings")
        worker.signal(signal.SIGTERM)
    finally:
        status = worker.finish()
    assert status == 128 + signal.SIGTERM
    assert "SIGTERM received after the 0 s grace: exiting now (status 143)" in worker.stderr[1]
    assert worker.stderr[2] == "stop them with:"
    commands = worker.stderr[3:]
    left = running(served, "forced")
    assert len(left) == COUNT
    assert sorted(command.split("--sid ")[1].split()[0] for command in commands) == sorted(left)
    # The printed command stops the recording it names (once stops answer again).
    served.emulator.faults.clear()
    argv = shlex.split(commands[0].strip())
    assert argv[0] == "agora-recording"
    env = {
        "AGORA_APP_ID": signal_worker.APP_ID,
        "AGORA_CUSTOMER_ID": DEFAULT_CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET,
        "AGORA_BASE_URL": served.url,
        "AGORA_REGION": None,
    }
    result = CliRunner().invoke(cli, argv[1:], env=env)
    assert result.exit_code == 0, result.output
    assert len(running(served, "forced")) == COUNT - 1


# ---------------------------------------------------------------------------------------------
# In-process, in virtual time, with a user signal sent to this process


VIRTUAL_BACKENDS = [
    "trio-mockclock",
    *(["asyncio-looptime"] if sys.version_info >= (3, 11) else []),
]


@pytest.fixture(params=VIRTUAL_BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Trio's autojumping MockClock, and an asyncio looptime loop where looptime installs."""
    if request.param == "trio-mockclock":
        return "trio", {"clock": MockClock(autojump_threshold=0)}
    import looptime

    return "asyncio", {"loop_factory": looptime.new_event_loop}


async def record_forever(client: RecordingClient, cname: str) -> None:
    """One recording of ``cname`` that lasts until cancelled."""
    session = RecordingSession(
        client, cname=cname, uid="9", mode=Mode.INDIVIDUAL, config=CONFIG, poll_interval=600
    )
    async with session:
        await anyio.sleep_forever()


async def until(condition: Callable[[], bool]) -> None:
    """Wait (in virtual time) until ``condition`` holds."""
    with anyio.fail_after(60):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_messages_count_what_is_left_and_a_late_signal_forces_the_exit() -> None:
    """Within the grace a signal reports the count; after it, the stop commands and exit."""
    out = io.StringIO()
    exits: list[int] = []
    sig = signal.SIGUSR1
    async with emulated_client(startup_delay=0, max_concurrent_recordings=None) as service:
        service.emulator.faults.add_latency(20.0, "stop")
        drain = drain_on_signals(
            service.client, grace=5.0, signals=[sig], out=out, force_exit=exits.append
        )

        async def user() -> None:
            await until(lambda: len(service.emulator.running_recordings()) == 3)
            os.kill(os.getpid(), sig)
            await until(lambda: drain.signalled is not None)
            await anyio.sleep(2.0)
            os.kill(os.getpid(), sig)
            await anyio.sleep(4.0)  # 6 s after the first signal: past the 5 s grace
            os.kill(os.getpid(), sig)
            await until(lambda: bool(exits))

        async with anyio.create_task_group() as outside:
            outside.start_soon(user)
            async with drain, anyio.create_task_group() as tasks:
                for n in range(3):
                    tasks.start_soon(record_forever, service.client, f"room-{n}")
        sids = sorted(info.sid for info in service.emulator.recordings())
        assert service.emulator.running_recordings() == []
    lines = out.getvalue().splitlines()
    assert drain.signalled is sig
    assert exits == [128 + sig]
    assert lines[0] == (
        "SIGUSR1 received: stopping 3 recordings before exiting "
        "(a signal after 5 s forces the exit)"
    )
    assert lines[1].startswith("SIGUSR1 received: still stopping, 3 recordings unconfirmed")
    assert "(a signal after 3." in lines[1]
    assert lines[2] == (
        f"SIGUSR1 received after the 5 s grace: exiting now (status {128 + sig}) "
        "with 3 recordings unconfirmed"
    )
    assert lines[3] == "stop them with:"
    assert sorted(line.split("--sid ")[1].split()[0] for line in lines[4:7]) == sids
    assert all(line.startswith("  agora-recording stop --resource-id ") for line in lines[4:7])
    assert len(lines) == 7  # every stop was confirmed in the end: nothing more to report


@pytest.mark.anyio
async def test_a_refused_stop_is_printed_with_its_command_when_the_block_ends() -> None:
    """A recording the drain could not stop is listed with its stop command on exit."""
    out = io.StringIO()
    sig = signal.SIGUSR2
    async with emulated_client(startup_delay=0) as service:
        service.emulator.faults.fail_next("stop", 403, {"message": "forbidden"})

        async def user() -> None:
            await until(lambda: len(service.emulator.running_recordings()) == 1)
            os.kill(os.getpid(), sig)

        async def worker() -> None:
            async with service.client, anyio.create_task_group() as outside:
                outside.start_soon(user)
                async with drain_on_signals(service.client, signals=[sig], out=out):
                    await record_forever(service.client, "refused")

        with pytest.raises(UnconfirmedRecordingsError):
            await worker()
        (sid,) = [info.sid for info in service.emulator.running_recordings()]
    lines = out.getvalue().splitlines()
    assert lines[1] == "1 recording not confirmed stopped; stop them with:"
    assert f"--sid {sid} " in lines[2]


@pytest.mark.anyio
async def test_the_previous_handlers_are_back_after_the_block() -> None:
    """Leaving the block puts back the Python handlers that were there (asyncio.run's SIGINT
    handler, say), where asyncio alone would reset them to the defaults."""
    seen: list[int] = []

    def previous(signum: int, frame: object) -> None:
        seen.append(signum)

    originals = {sig: signal.signal(sig, previous) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        async with drain_on_signals() as drain:
            assert signal.getsignal(signal.SIGINT) is not previous
        assert drain.signalled is None
        assert signal.getsignal(signal.SIGINT) is previous
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)


@pytest.mark.anyio
async def test_the_bodys_own_error_comes_out_as_itself() -> None:
    """An exception in the block propagates unwrapped (no ExceptionGroup), handlers restored."""
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyError) as raised:
        async with drain_on_signals():
            raise KeyError("mine")
    assert type(raised.value) is KeyError
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.anyio
async def test_cancellation_from_outside_still_propagates() -> None:
    """A cancel scope around the block cancels it as usual; the drain does not absorb it."""
    reached = []
    with anyio.move_on_after(1):
        async with drain_on_signals() as drain:
            await anyio.sleep_forever()
        reached.append(True)
    assert reached == []
    assert drain.signalled is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_outside_the_main_thread_the_block_runs_and_warns_once(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """In a worker thread, where signals cannot be handled, the body runs and one warning says
    so."""
    results: list[Any] = []

    async def body() -> None:
        async with drain_on_signals() as drain:
            await anyio.lowlevel.checkpoint()
            results.append(drain.signalled)

    caplog.set_level(logging.WARNING, logger="agora_recording.signals")
    thread = threading.Thread(target=lambda: anyio.run(body, backend=backend))
    thread.start()
    thread.join(timeout=DEADLINE)
    assert results == [None]
    warnings = [r for r in caplog.records if r.name == "agora_recording.signals"]
    assert len(warnings) == 1
    assert "signals are not handled here" in warnings[0].getMessage()


def test_bad_arguments_are_refused() -> None:
    """A negative grace, no signal or a bad signal number is a ValidationError at once."""
    with pytest.raises(ValidationError, match="grace"):
        drain_on_signals(grace=-1)
    with pytest.raises(ValidationError, match="signals"):
        drain_on_signals(signals=())
    with pytest.raises(ValidationError, match="signals"):
        drain_on_signals(signals=[10_000])
