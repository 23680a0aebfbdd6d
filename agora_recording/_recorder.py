"""`Recorder`: many recordings of one app or worker, keyed by the app's own key.

A web app or a bot records many channels at once and must not let one of them take the others
down. ``RecordingSession`` is one ``async with`` block; an app needs something that outlives a
request. A `Recorder` runs each session in a task of its own task group and keeps it under the
app's key (a room, a meeting ID)::

    async with Recorder(client, on_started=save_handle, on_ended=forget_handle) as recorder:
        handle = await recorder.start("room-7", cname="room-7", uid="9001",
                                      mode=Mode.MIX, config=config)
        ...
        result = await recorder.stop("room-7")    # a RecordingResult, never an exception

**Isolation.** A session that fails (its recording died, its stop was never confirmed) is
logged, its `RecordingResult` is kept (``recorder.result(key)``) and ``on_ended`` is told; it
never cancels its siblings nor the recorder. Only a failure to *start* is raised, by ``start()``,
to its caller: nothing runs then.

**Persistence.** ``on_started(key, handle)`` is awaited as soon as the service answered
``start`` and before ``start()`` returns, so a process that crashes after that can adopt the
recording again (``recorder.adopt(key, handle)``). If the hook raises, the recording is
stopped and ``start()`` raises the hook's error: a recording nobody could find again is not
left running.

**Exit.** Leaving the ``async with`` block stops every recording still running (concurrently,
each stop confirmed as ``RecordingSession`` does) and waits for them. A block left by an
exception or cancellation cancels the sessions instead, which stop on their way out.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic

import anyio
import anyio.abc
import attrs
from typing_extensions import TypeVar

from ._groups import enter_group, leave_group
from ._options import (
    CredentialOptions,
    PollingOptions,
    RuntimeOptions,
    TimingOptions,
    instance_or_none,
)
from ._outcome import SessionOutcome
from ._session import RecordingSession
from ._stopping import StopOutcome
from .enums import Mode
from .errors import ArgumentTypeError, DuplicateKeyError, UnknownKeyError, UsageError
from .models import AcquireConfig, RecordedFile, RecordingHandle, StartConfig, StopResponse

if TYPE_CHECKING:
    from ._assembled import RecordingClient

__all__ = ["Recorder", "RecordingResult"]

_log = logging.getLogger("agora_recording.recorder")

# Defaults to Hashable: ``Recorder(client)`` needs no annotation; a hook's key type, or an
# annotation (``Recorder[str](client)``), narrows it.
K = TypeVar("K", bound=Hashable, default=Hashable)

StartedHook = Callable[[K, RecordingHandle], Awaitable[object]]
EndedHook = Callable[[K, "RecordingResult[K]"], Awaitable[object]]


@attrs.frozen(kw_only=True)
class RecordingResult(Generic[K]):
    """How one of a recorder's recordings ended.

    ``error`` is what went wrong, if anything: the `RecordingFailedError` of a recording that
    died, the `StopUnconfirmedError` of a stop never confirmed, or an unexpected exception.
    ``outcome`` and ``stop_outcome`` are the session's; ``response`` its `StopResponse`.
    """

    key: K
    handle: RecordingHandle
    outcome: SessionOutcome | None
    stop_outcome: StopOutcome | None
    response: StopResponse | None
    files: list[RecordedFile]
    error: Exception | None

    @property
    def ok(self) -> bool:
        """True when we stopped the recording and the service confirmed the stop."""
        return self.error is None and self.stop_outcome not in (None, StopOutcome.FAILED)


@attrs.frozen
class _Groups:
    """The option groups a recorder gives each session it builds."""

    timing: TimingOptions | None
    polling: PollingOptions | None
    credentials: CredentialOptions | None
    runtime: RuntimeOptions | None


@attrs.define
class _Entry(Generic[K]):
    session: RecordingSession
    ready: anyio.Event = attrs.field(factory=anyio.Event)  # started, or failed to
    done: anyio.Event = attrs.field(factory=anyio.Event)
    result: RecordingResult[K] | None = None


class Recorder(Generic[K]):
    """Many recordings on one client, each under a key of yours; see the module docstring.

    ``on_started(key, handle)`` is awaited before ``start()`` or ``adopt()`` returns (persist
    the handle there); ``on_ended(key, result)`` after each recording ended, whichever way
    (forget the handle there). Either hook may be omitted. ``timing``, ``polling``,
    ``credentials`` and ``runtime`` are the option groups of `RecordingSession`, given to every
    session the recorder builds (`start`, `adopt`).
    """

    def __init__(
        self,
        client: RecordingClient,
        *,
        on_started: StartedHook[K] | None = None,
        on_ended: EndedHook[K] | None = None,
        timing: TimingOptions | None = None,
        polling: PollingOptions | None = None,
        credentials: CredentialOptions | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        if not callable(getattr(client, "session", None)):
            raise ArgumentTypeError(
                f"client must be a RecordingClient, not {type(client).__name__}"
            )
        for name, hook in (("on_started", on_started), ("on_ended", on_ended)):
            if hook is not None and not callable(hook):
                raise ArgumentTypeError(f"{name} must be an async callable")
        self._groups = _Groups(
            timing=instance_or_none("timing", timing, TimingOptions),
            polling=instance_or_none("polling", polling, PollingOptions),
            credentials=instance_or_none("credentials", credentials, CredentialOptions),
            runtime=instance_or_none("runtime", runtime, RuntimeOptions),
        )
        self._client = client
        self._on_started = on_started
        self._on_ended = on_ended
        self._entries: dict[K, _Entry[K]] = {}
        self._results: dict[K, RecordingResult[K]] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._closing = False

    def __repr__(self) -> str:
        state = "running" if self._group is not None else "idle"
        return f"<Recorder {state} recordings={len(self._entries)}>"

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Recorder[K]:
        if self._group is not None:
            raise UsageError("this Recorder is already running")
        self._group = await enter_group()
        self._closing = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group = self._group
        assert group is not None
        self._closing = True
        try:
            if exc is None:
                for key in list(self._entries):
                    group.start_soon(self._stop_quietly, key)
            else:
                group.cancel_scope.cancel()
            # Sessions never raise into the group: what comes out is the block's own.
            error = await leave_group(group, exc, tb)
        finally:
            self._group = None
        if error is None:
            return exc is not None  # absorbed: the group's own cancellation
        if error is exc:
            return False
        raise error from None

    # -- starting ----------------------------------------------------------------------------------

    async def start(
        self,
        key: K,
        *,
        cname: str,
        uid: int | str,
        mode: Mode | str,
        config: StartConfig,
        acquire_config: AcquireConfig | None = None,
    ) -> RecordingHandle:
        """Start recording under ``key`` and return its handle once the service started it.

        Raises what the start raised (nothing runs then), `DuplicateKeyError` when ``key``
        already records. For any other session option, build the session yourself and pass it
        to `run`.
        """
        groups = self._groups
        session = self._client.session(
            cname=cname,
            uid=uid,
            mode=mode,
            config=config,
            acquire_config=acquire_config,
            timing=groups.timing,
            polling=groups.polling,
            credentials=groups.credentials,
            runtime=groups.runtime,
        )
        return await self.run(key, session)

    async def adopt(
        self, key: K, handle: RecordingHandle, *, assume_ended_on_404: bool = False
    ) -> RecordingHandle:
        """Take over a recording started elsewhere (a handle saved by ``on_started`` before a
        restart) under ``key``; it is stopped like the others.

        A recording that ended meanwhile answers 404, which is told from a failover only after
        about three minutes; ``assume_ended_on_404=True`` ends it at the first 404, at the risk
        of leaving a recording that was failing over running (see `RecordingSession.adopt`)."""
        groups = self._groups
        session = RecordingSession.adopt(
            self._client,
            handle,
            assume_ended_on_404=assume_ended_on_404,
            timing=groups.timing,
            polling=groups.polling,
            credentials=groups.credentials,
            runtime=groups.runtime,
        )
        return await self.run(key, session)

    async def run(self, key: K, session: RecordingSession) -> RecordingHandle:
        """Enter ``session`` (not yet entered) in the recorder's task group under ``key``."""
        group = self._group
        if group is None or self._closing:
            raise UsageError("the Recorder is not running: use it as `async with Recorder(...)`")
        if key in self._entries:
            raise DuplicateKeyError(f"a recording is already running under key {key!r}")
        entry: _Entry[K] = _Entry(session)
        self._entries[key] = entry
        try:
            handle: RecordingHandle = await group.start(self._run, key, entry)
        except BaseException:
            if self._entries.get(key) is entry:
                del self._entries[key]
            raise
        return handle

    async def _run(
        self,
        key: K,
        entry: _Entry[K],
        *,
        task_status: anyio.abc.TaskStatus[RecordingHandle] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        session = entry.session
        started = False
        error: Exception | None = None
        try:
            async with session as running:
                handle = running.handle
                assert handle is not None
                if self._on_started is not None:
                    await self._on_started(key, handle)
                started = True
                entry.ready.set()
                task_status.started(handle)
                outcome = await running.wait()
                if outcome.error is not None:
                    error = outcome.error
        except Exception as exc:
            if not started:
                self._entries.pop(key, None)
                raise  # to the caller of start(): nothing is recording
            error = exc
        finally:
            entry.ready.set()
            if started:
                await self._finish(key, entry, error)
            else:
                entry.done.set()

    async def _finish(self, key: K, entry: _Entry[K], error: Exception | None) -> None:
        session = entry.session
        handle = session.handle
        assert handle is not None
        if error is None:
            error = session.stop_error
        result = RecordingResult(
            key=key,
            handle=handle,
            outcome=session.outcome,
            stop_outcome=session.stop_outcome,
            response=session.result,
            files=session.files,
            error=error,
        )
        if error is not None:
            _log.error("recording %r (sid=%s) failed: %s", key, handle.sid, error)
        entry.result = result
        self._results[key] = result
        if self._entries.get(key) is entry:
            del self._entries[key]
        entry.done.set()
        if self._on_ended is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await self._on_ended(key, result)
                except Exception:
                    _log.exception("on_ended hook failed for recording %r", key)

    # -- stopping ----------------------------------------------------------------------------------

    async def stop(self, key: K) -> RecordingResult[K]:
        """Stop the recording under ``key`` and return how it ended; never raises for a failed
        stop or a dead recording (see ``result.error``).

        A recording that already ended by itself returns its kept result, so "stop when the
        meeting is over" needs no check; `UnknownKeyError` when nothing ever ran under ``key``
        (or its result was forgotten)."""
        entry = self._entries.get(key)
        if entry is None:
            ended = self._results.get(key)
            if ended is not None:
                return ended
            raise UnknownKeyError(f"no recording is running under key {key!r}")
        await entry.ready.wait()  # a stop during start() waits for the handle
        if entry.result is None and entry.done.is_set():
            raise UnknownKeyError(f"the recording under key {key!r} failed to start")
        with contextlib.suppress(Exception):  # kept in the result as session.stop_error
            await entry.session.stop()
        await entry.done.wait()
        assert entry.result is not None
        return entry.result

    async def _stop_quietly(self, key: K) -> None:
        with contextlib.suppress(UnknownKeyError):  # it ended by itself meanwhile
            await self.stop(key)

    # -- lookup ------------------------------------------------------------------------------------

    def get(self, key: K) -> RecordingSession | None:
        """The running session under ``key``, or None."""
        entry = self._entries.get(key)
        return None if entry is None else entry.session

    def __getitem__(self, key: K) -> RecordingSession:
        entry = self._entries.get(key)
        if entry is None:
            raise UnknownKeyError(f"no recording is running under key {key!r}")
        return entry.session

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        """The keys of the running recordings (a snapshot)."""
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def result(self, key: K) -> RecordingResult[K] | None:
        """How the last recording under ``key`` ended, or None (still running or never ran).

        One result is kept per key until `forget`; a long-running app should forget keys it
        handled (in ``on_ended``, say)."""
        return self._results.get(key)

    def forget(self, key: K) -> RecordingResult[K] | None:
        """Drop the kept result of ``key`` and return it."""
        return self._results.pop(key, None)
