"""Turn SIGTERM and Ctrl-C into a graceful drain: every recording is stopped before exit.

A recording bills until it is stopped, and a process manager (systemd, Kubernetes, a
terminal) asks a worker to end with SIGTERM or SIGINT. Left alone, the first SIGTERM kills the
process with its recordings running, and under asyncio a second Ctrl-C raises
``KeyboardInterrupt`` into whatever runs, aborting the stops in flight. `drain_on_signals`
replaces both behaviours for the duration of an ``async with`` block (asyncio or Trio)::

    async with RecordingClient.from_env() as client:
        async with drain_on_signals(client, grace=30.0) as drain:
            await run_my_worker(client)       # sessions inside stop on the way out
        if drain.signalled:
            print("drained after", drain.signalled.name)

- **The first signal** cancels the body of the block. Every `RecordingSession` inside leaves
  its ``async with`` and sends its stop (shielded, with its own deadline; the client's quota
  lets stops go before any other request). When the body has finished, the block exits
  normally: the cancellation is absorbed and ``drain.signalled`` holds the signal.
- **Further signals** during the drain do not interrupt it: each prints how many recordings of
  the given clients are still unconfirmed (`RecordingClient.unconfirmed`).
- **A signal more than** ``grace`` **seconds after the first** forces the exit: it prints every
  recording still unconfirmed with the ``agora-recording stop`` command that stops it, then ends
  the process at once with status 128 + the signal number, through ``os._exit``. That is the
  only way out: a stop in flight runs in a shielded cancel scope precisely so that cancellation
  cannot abandon it, so neither cancellation nor an exception can end the drain early; and
  ``os._exit`` skips ``finally`` blocks and atexit handlers that could wait on the network.
  Standard streams are flushed first.
- **On exit of a signalled block**, recordings still unconfirmed (a stop the service refused,
  or one that ran out of time) are printed with their stop commands too.

Signal handling lasts for the block only. Its handlers replace whatever handled the signals
before (asyncio's ``asyncio.run`` installs a SIGINT handler whose second Ctrl-C raises
``KeyboardInterrupt``; Trio raises it at the first), and the previous handlers are restored on
exit. Use it where your code owns the process's signals: a worker's ``main``, a CLI. A server
that handles SIGTERM itself (uvicorn, hypercorn) already cancels your code on shutdown; there,
keep the sessions in the application's lifespan instead of adding handlers of your own.

Signals can only be handled in the main thread (and asyncio has no signal handlers on
Windows). Elsewhere the block runs without signal handling: it logs one warning to
``agora_recording.signals`` and otherwise behaves as a plain block.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import IO, Any

import anyio
import anyio.abc

from ._client import RecordingClient
from ._groups import enter_group, leave_group
from ._numbers import seconds
from ._stopping import UnconfirmedRecording
from .errors import UsageError, ValidationError

__all__ = ["DEFAULT_GRACE", "DEFAULT_SIGNALS", "SignalDrain", "drain_on_signals"]

_log = logging.getLogger("agora_recording.signals")

DEFAULT_GRACE = 30.0
"""Seconds after the first signal during which further signals never force the exit."""

DEFAULT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
"""What process managers (SIGTERM) and terminals (Ctrl-C, SIGINT) send to ask for an end."""


def drain_on_signals(
    *clients: RecordingClient,
    grace: float = DEFAULT_GRACE,
    signals: Iterable[int] = DEFAULT_SIGNALS,
    out: IO[str] | None = None,
    force_exit: Callable[[int], object] = os._exit,
) -> SignalDrain:
    """An ``async with`` block whose first signal drains it (see the module documentation).

    ``clients`` are the clients whose `RecordingClient.unconfirmed` recordings are counted and
    listed; ``grace`` is how many seconds after the first signal another one starts forcing the
    exit; ``signals`` are the signals handled (default SIGTERM and SIGINT); ``out`` receives
    the messages (default: ``sys.stderr`` at the time of writing); ``force_exit`` ends the
    process with a status (default ``os._exit``; tests pass a recorder).
    """
    return SignalDrain(clients, grace=grace, signals=signals, out=out, force_exit=force_exit)


class SignalDrain:
    """The block `drain_on_signals` returns; ``signalled`` tells whether a signal drained it."""

    __slots__ = (
        "_body_scope",
        "_clients",
        "_first_at",
        "_force_exit",
        "_out",
        "_previous",
        "_receiver",
        "_signals",
        "_task_group",
        "grace",
        "signalled",
    )

    def __init__(
        self,
        clients: Iterable[RecordingClient],
        *,
        grace: float = DEFAULT_GRACE,
        signals: Iterable[int] = DEFAULT_SIGNALS,
        out: IO[str] | None = None,
        force_exit: Callable[[int], object] = os._exit,
    ) -> None:
        self.grace = seconds("grace", grace, allow_zero=True)
        try:
            self._clients = tuple(clients)
            self._signals = tuple(dict.fromkeys(signal.Signals(sig) for sig in signals))
        except (TypeError, ValueError):
            raise ValidationError(
                "clients, signals", "must be RecordingClients and signal numbers"
            ) from None
        if not self._signals:
            raise ValidationError("signals", "must name at least one signal")
        self._out = out
        self._force_exit = force_exit
        self.signalled: signal.Signals | None = None
        """The first signal received, or ``None`` while none was."""
        self._first_at = 0.0
        self._previous: dict[signal.Signals, Any] = {}
        self._receiver: AbstractContextManager[Any] | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._body_scope: anyio.CancelScope | None = None

    def unconfirmed(self) -> list[UnconfirmedRecording]:
        """The recordings of the clients whose stop is not confirmed yet."""
        return [entry for client in self._clients for entry in client.unconfirmed()]

    async def __aenter__(self) -> SignalDrain:
        if self._body_scope is not None:
            raise UsageError("a SignalDrain block can be entered only once")
        self._body_scope = anyio.CancelScope()
        iterator = self._open_receiver()
        self._task_group = await enter_group()
        if iterator is not None:
            self._task_group.start_soon(self._watch, iterator)
        self._body_scope.__enter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        body_scope, task_group = self._body_scope, self._task_group
        assert body_scope is not None
        assert task_group is not None
        absorbed = body_scope.__exit__(exc_type, exc, tb)
        error = None if absorbed else exc
        task_group.cancel_scope.cancel()
        try:
            # The watcher never raises: what comes out is the body's own error.
            error = await leave_group(task_group, error, tb)
        finally:
            self._close_receiver()
        if self.signalled is not None:
            self._report_left()
        if error is None:
            return exc is not None
        if error is exc:
            return False
        raise error

    # -- signals --------------------------------------------------------------------------------

    def _open_receiver(self) -> Any:
        """Install the handlers (remembering the previous ones); None where signals can't be."""
        try:
            self._previous = {sig: signal.getsignal(sig) for sig in self._signals}
            receiver = anyio.open_signal_receiver(*self._signals)
            iterator = receiver.__enter__()
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            self._restore_handlers()  # in case some signals were handled before the failure
            self._previous = {}
            _log.warning(
                "signals are not handled here (%s): a signal will not drain this block", exc
            )
            return None
        self._receiver = receiver
        return iterator

    def _close_receiver(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is None:
            return
        try:
            receiver.__exit__(None, None, None)
        finally:
            self._restore_handlers()

    def _restore_handlers(self) -> None:
        # asyncio's remove_signal_handler resets to the default handler, not to the one before
        # (asyncio.run's SIGINT handler, say): put that back.
        for sig, handler in self._previous.items():
            try:
                if handler is not None and signal.getsignal(sig) is not handler:
                    signal.signal(sig, handler)
            except (OSError, RuntimeError, ValueError):  # pragma: no cover - not main thread
                pass

    async def _watch(self, signals: Any) -> None:
        async for signum in signals:
            self._received(signal.Signals(signum))

    def _received(self, sig: signal.Signals) -> None:
        now = anyio.current_time()
        left = self.unconfirmed()
        if self.signalled is None:
            self.signalled = sig
            self._first_at = now
            self._write(
                f"{sig.name} received: stopping {_recordings(len(left))} before exiting "
                f"(a signal after {self.grace:g} s forces the exit)"
            )
            assert self._body_scope is not None
            self._body_scope.cancel()
            return
        waited = now - self._first_at
        if waited < self.grace:
            self._write(
                f"{sig.name} received: still stopping, {_recordings(len(left))} unconfirmed "
                f"(a signal after {self.grace - waited:.1f} s more forces the exit)"
            )
            return
        status = 128 + int(sig)
        lines = [
            f"{sig.name} received after the {self.grace:g} s grace: exiting now (status "
            f"{status}) with {_recordings(len(left))} unconfirmed"
        ]
        if left:
            lines.append("stop them with:")
            lines.extend(f"  {entry.stop_command()}" for entry in left)
        self._write("\n".join(lines))
        for stream in (sys.stdout, sys.stderr):
            _flush(stream)
        self._force_exit(status)

    def _report_left(self) -> None:
        left = self.unconfirmed()
        if not left:
            return
        lines = [f"{_recordings(len(left))} not confirmed stopped; stop them with:"]
        lines.extend(f"  {entry.stop_command()}" for entry in left)
        self._write("\n".join(lines))

    def _write(self, text: str) -> None:
        out = self._out if self._out is not None else sys.stderr
        try:
            out.write(text + "\n")
        except (OSError, ValueError):  # a closed or broken stream must not end the drain
            return
        _flush(out)


def _recordings(count: int) -> str:
    return f"{count} recording{'' if count == 1 else 's'}"


def _flush(stream: IO[str] | None) -> None:
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):
        pass
