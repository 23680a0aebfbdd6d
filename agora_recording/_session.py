"""`RecordingSession`: one cloud recording, from ``acquire`` to a stop that always happens.

A recording bills until it is stopped, so the point of this module is that leaving an
``async with`` block stops the recording whatever way the block was left. The contract, in the
manner of trio-websocket's ``open_websocket``::

    async with RecordingSession(client, cname="room", uid="42", mode=Mode.MIX,
                                config=start_config) as session:
        ...                       # recording; session.status / .files / .status_changes()
    session.result                # the StopResponse (or None for a benign stop without body)

**On enter.** ``acquire`` (with the ``scene`` the mode needs: 1 for web, 2 for individual
recording with ``appsCollection.combinationPolicy = "postpone_transcoding"``; an explicit scene in
``acquire_config`` wins, except that web must be 1), then ``start`` at once (a resource ID lives
five minutes and the service asks for ``start`` within two seconds). ``session.handle`` is set
from the moment ``start`` answers and stays set after exit. If ``acquire`` or ``start`` fails,
its error propagates unchanged and nothing is stopped: there is nothing to stop. ``start`` is
sent inside a shielded scope, so cancellation cannot land between "the service created the
recording" and "we learnt its ``sid``": if cancellation arrives during ``start``, the session
waits for the answer, stops the recording it got, and then lets the cancellation propagate.
The client bounds how long the *service* may take to answer (``call_timeout``); time spent
waiting for the client's share of the App ID quota never counts. Cancellation during
``acquire`` propagates at once and nothing is started (an unused resource ID expires by itself
and costs nothing), so there is nothing to stop either.

**In the background.** One task in one anyio task group per session polls ``query``: first
``first_poll_delay`` seconds after ``start`` (the service recommends about 5 s; 0 for an adopted
recording) plus a random jitter in ``[0, poll_jitter]``. *Health polls* (until the recorder
reports status 4 or 5, through a run of 404s and through a run of failed polls) follow every
``HEALTH_POLL_INTERVAL`` (10 s) and use the share of the client's quota reserved for them, so
the 90 s health rule and the failover grace hold at any fleet size. *Routine polls* follow every
``effective_poll_interval``: ``poll_interval``, stretched when the client's sessions together
would need more than its poll budget (half the quota by default: 1,000 sessions at 10 requests
per second poll every 200 s; see ``RecordingClient.poll_budget``); they go last in the quota
and pause while stops wait. Each poll's retries are bounded by ``poll_timeout`` of service
time. The jitter (default ``min(1 s, poll_interval / 10)``; 0
turns it off; adopted recordings default to 0, polling at once) keeps sessions started in the same
instant from polling in lockstep, which would queue their queries behind one another on the shared
client and its rate limit at every interval. The poller never raises: it records
``last_query``, ``status`` and ``files``, feeds ``status_changes()`` iterators and the
``on_status`` callback, and watches for failure.

**Failure detection** (noticed at the next poll after it happens):

- an answer with a ``status`` short of 4 or 5 ``start_timeout`` seconds after ``start`` (the
  documented 90 s). Judged only on the service's answers: polls that fail say nothing about it;
- ``404 failed to find worker`` for longer than ``failover_grace`` seconds (90 s, the documented
  failover window): a shorter run of 404s is high-availability failover in progress and is
  tolerated. The error says what 404 can mean: an exit (idle for ``maxIdleTime``, ended by the
  service) or a lost worker for a recorder that was healthy; for one that never was, the
  documented causes of an early exit (token, storage credentials, uid clash, ``channelType``);
- ``status`` 20, exited abnormally;
- an exit we did not ask for: ``status`` 6, 7 or 8 (idle for ``maxIdleTime``, the recorder was
  kicked out, web ``maxRecordingHour``), or the web recorder service reporting state ``exit``.
  A poll must land while the service still reports the exit; once the task is gone ``query``
  answers 404, which cannot be told from failover and counts as lost after the grace;
- a query outage: ``max_poll_errors`` failed polls in a row, or failed polls (two or more) for
  ``outage_timeout`` seconds (120 s), reported as ``UNOBSERVABLE`` (the service cannot be
  reached), never as a start timeout. Fewer are counted in ``poll_errors`` and ignored.

When one happens the poller stops, ``outcome`` records how the recording ended, ``wait()``
returns, and, with ``fail_fast=True`` (the default) and nobody inside ``wait()``, the body is
cancelled and the ``async with`` raises `RecordingFailedError` (reason, last status, handle,
last query, cause) after the stop below. With ``fail_fast=False``, or when ``wait()`` returned
the outcome, nothing is cancelled and nothing is raised for it.

**On exit.** The poller is cancelled (a poll in flight is abandoned, never delaying the stop),
then the recording is stopped once (unless ``stop()`` already did), in a shielded scope, through
`RecordingClient.ensure_stopped`: on normal exit, on an exception in the body, on cancellation
from outside (wherever it lands once ``start`` was sent: during ``start``, the body, a poll, the
stop itself) and on ``KeyboardInterrupt``. Stops go before every other request in the
client's quota. **A stop counts as done only when the service confirms it:** 200 (``result``
is the `StopResponse`), 206/435 (nobody published) or 400/49 (already exiting), or a 404 that
still holds after the 90 s failover window, re-checked with ``query`` (``ALREADY_GONE``); a 404
whose recording answers again is stopped again. Transport errors, 5xx, 429 (``Retry-After``
honoured) and answers that cannot be read are retried with backoff for the whole
``stop_timeout`` (the client's, 180 s of service time by default). ``stop_outcome`` says which.
A stop that is never confirmed is ``FAILED``: its `StopUnconfirmedError` names the handle, was
logged at ERROR, and the handle stays in ``client.unconfirmed()``. Then every
``status_changes()`` iterator ends.

**What comes out of the block.**

- The body's own exception, as itself: never wrapped in an ``ExceptionGroup``. A failed stop is
  attached to it as a note (Python 3.11+) and kept in ``stop_error``; it never masks it.
- Cancellation from outside propagates as cancellation.
- A body that finished normally (or was cancelled for a failure): the undelivered
  `RecordingFailedError` (a failed stop noted on it), else the `StopUnconfirmedError` if the
  stop was not confirmed, else nothing; a cancellation that arrived during the shielded stop is
  raised after it. When the block was cancelled from outside, an unconfirmed stop is not
  raised (the cancellation is), but it was logged at ERROR and stays in ``client.unconfirmed()``.

**Control.** ``update()`` and ``update_layout()`` while recording (serialized per session, as
the service asks); ``stop()`` early, idempotent: concurrent and repeated calls send one request
and share its result, and exit does not stop again. ``RecordingSession.adopt(client, handle)``
takes over a recording started elsewhere (a stored handle after a worker restart): no acquire,
no start, a first poll at once, the handle listed in ``client.unconfirmed()``, and the same stop
on exit.

**Resources.** No threads; one task, two cancel scopes and a few small objects per session, so
thousands of sessions can share one `RecordingClient`. Logs go to ``agora_recording.session``
and name the ``sid``, never a configuration or a secret.
"""

from __future__ import annotations

import enum
import logging
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Final, cast

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._credentials import (
    CredentialsCallback,
    SessionCredentials,
    StorageCredentialsProvider,
    early_exit_causes,
)
from ._events import EventFacts, Exit, read_event
from ._protocol import Endpoint, build_request, parse_mode, required_scene
from ._ratelimit import Priority
from ._retry import describe_failure
from ._stopping import StopOutcome
from .enums import Mode, RecordingStatus, Scene, ServiceName, ServiceState
from .errors import (
    AlreadyStartedError,
    ArgumentTypeError,
    NotFoundError,
    OrphanedStartError,
    RecordingFailedError,
    UnexpectedResponseError,
    UsageError,
    ValidationError,
)
from .models import (
    AcquireConfig,
    QueryResponse,
    RecordedFile,
    RecordingHandle,
    StartConfig,
    StopResponse,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
    WebRecorderPayload,
    WebRecorderServiceParam,
)

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - anyio depends on this backport below 3.11
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:
    from ._client import RecordingClient
    from .webhooks import NotificationHub, Subscription

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "EndReason",
    "RecordingSession",
    "RunningSession",
    "SessionOutcome",
    "StatusChanges",
    "StopOutcome",
    "required_scene",
]

_log = logging.getLogger("agora_recording.session")

#: Seconds between polls unless ``maxIdleTime`` is shorter (then half of it): often enough to
#: notice a death within a quarter of a minute, rarely enough that 50 sessions (the default
#: concurrency quota) use a third of the App ID's 10 requests per second.
DEFAULT_POLL_INTERVAL: Final = 15.0

#: The default first-poll jitter: a tenth of the poll interval, at most a second. Enough to spread
#: a burst of sessions started together (1,000 aligned sessions otherwise queue ~100 ms deep at
#: every poll) while keeping the first poll close to ``first_poll_delay``.
POLL_JITTER_SHARE: Final = 0.1
MAX_POLL_JITTER: Final = 1.0

#: Seconds between health polls: until the recorder is healthy, through a run of 404s
#: (failover) and through a run of failed polls. They use the quota share reserved for them.
HEALTH_POLL_INTERVAL: Final = 10.0

#: Seconds after a web recording's ``maxRecordingHour`` runs out that a poll is placed, to see
#: the exit while the service still reports it.
END_POLL_DELAY: Final = 1.0

#: Seconds between routine polls while notifications flow for a healthy recording: a safety net
#: only. With no notification for ``events_silence`` seconds, polling returns to normal.
SAFETY_NET_INTERVAL: Final = 1800.0

_HEALTHY: Final = frozenset({RecordingStatus.ALL_COMPONENTS_READY, RecordingStatus.IN_PROGRESS})
_EXITING: Final = frozenset(
    {
        RecordingStatus.STOP_REQUESTED,
        RecordingStatus.ALL_COMPONENTS_STOPPED,
        RecordingStatus.EXITED,
    }
)

Status = RecordingStatus | int
StatusCallback = Callable[[Status], object]


class EndReason(str, enum.Enum):
    """How a recording ended, as `SessionOutcome.reason`."""

    STOPPED = "stopped"
    """We stopped it: ``stop()`` or the exit of the ``async with`` block."""
    SERVICE_EXIT = "service_exit"
    """The service ended it: status 6/7/8 or web state ``exit`` (idle, kicked, max hours)."""
    EXITED_ABNORMALLY = "exited_abnormally"
    """The service reported status 20."""
    WORKER_LOST = "worker_lost"
    """``query`` answered 404 for longer than the failover grace."""
    START_TIMEOUT = "start_timeout"
    """The recorder never reported status 4 or 5 within ``start_timeout``."""
    UNOBSERVABLE = "unobservable"
    """``query`` failed ``max_poll_errors`` times in a row."""
    CREDENTIALS_EXPIRING = "credentials_expiring"
    """The storage credentials could not be refreshed and were about to expire."""


@attrs.frozen(kw_only=True)
class SessionOutcome:
    """How a session's recording ended: returned by ``wait()``, kept in ``session.outcome``.

    ``error`` is the `RecordingFailedError` describing a failure (``None`` when we stopped it).
    """

    reason: EndReason
    detail: str
    status: Status | None = None
    last_query: QueryResponse | None = None
    error: RecordingFailedError | None = None

    @property
    def failed(self) -> bool:
        """True unless we stopped the recording ourselves."""
        return self.reason is not EndReason.STOPPED


class StatusChanges:
    """An async iterator over a session's status: the current one, then each change.

    Backed by its own memory object stream; it ends when the session exits. Closing it early
    (``aclose()``, ``async with``, or dropping it) unsubscribes.
    """

    __slots__ = ("_receive",)

    def __init__(self, receive: MemoryObjectReceiveStream[Status]) -> None:
        self._receive = receive

    def __aiter__(self) -> StatusChanges:
        return self

    async def __anext__(self) -> Status:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._receive.close()
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Unsubscribe; the iterator ends."""
        self._receive.close()

    async def __aenter__(self) -> StatusChanges:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._receive.close()

    def __del__(self) -> None:
        # An abandoned iterator is harmless: release its stream instead of warning about it.
        self._receive.close()


class _State(enum.IntEnum):
    NEW = 0
    STARTING = 1
    RUNNING = 2
    CLOSED = 3


class RecordingSession:
    """One recording: acquire and start on enter, poll in the background, stop on exit.

    See the module documentation for the full contract. Options (all keyword-only):

    - ``config``: the start ``clientRequest`` (``None`` only for `adopt`);
      ``acquire_config``: extra acquire options (region, ``resourceExpiredHour``...).
    - ``poll_interval``: seconds between polls; default 15 s, or half of
      ``recordingConfig.maxIdleTime`` when that is shorter. ``first_poll_delay``: 5 s.
    - ``poll_jitter``: the first poll waits a further random ``[0, poll_jitter]`` seconds so
      sessions started together do not poll together; default ``min(1, poll_interval / 10)``,
      0 for none (and for `adopt`, unless given).
    - ``poll_timeout`` (15 s): deadline of one poll, retries included.
    - ``start_timeout`` (90 s): the recorder must reach status 4 or 5 within it.
    - ``failover_grace`` (90 s): how long ``query`` may answer 404 before the recording counts
      as lost; high-availability failover takes up to 90 s.
    - ``max_poll_errors`` (8) and ``outage_timeout`` (120 s): failed polls in a row, or seconds
      of failed polls, that count as losing sight of the recording.
    - ``stop_timeout`` (the client's, 180 s by default): how long the confirmed stop may take,
      in service time (waiting for the client's quota does not count).
    - ``async_stop``: send ``async_stop=true`` (answer at once, uploads continue).
    - ``on_status``: called synchronously with each new status; must not block.
    - ``fail_fast`` (True): cancel the body and raise `RecordingFailedError` on failure.
    - ``clock`` and ``sleep``: the poller's time source and sleep (tests inject a fake clock).
    - Credentials (see ``agora_recording._credentials``): ``app_certificate`` (default: the
      client's) mints the recorder's token unless ``config.token`` is set, which is checked
      instead; ``expected_duration`` (seconds) sizes and checks it; ``storage_credentials``, an
      async callable returning ``StorageCredentials``, refreshes STS keys every 60 minutes with
      ``update``; ``on_credentials`` is told each refresh outcome; ``wall_clock`` is Unix time.
    """

    __slots__ = (
        "_acquire_config",
        "_async_stop",
        "_client",
        "_clock",
        "_cname",
        "_config",
        "_consecutive_errors",
        "_credentials",
        "_delivered",
        "_effective_interval",
        "_ended",
        "_errors_since",
        "_events_silence",
        "_fail_fast",
        "_failover_grace",
        "_fatal",
        "_first_poll_delay",
        "_handle",
        "_healthy",
        "_hub",
        "_idle_leave",
        "_last_event_at",
        "_last_poll_at",
        "_last_query",
        "_max_poll_errors",
        "_mode",
        "_not_found_since",
        "_on_status",
        "_orphan_wait",
        "_outage_timeout",
        "_outcome",
        "_poll_errors",
        "_poll_interval",
        "_poll_jitter",
        "_poll_scope",
        "_poll_timeout",
        "_polls",
        "_result",
        "_sleep",
        "_start_timeout",
        "_started_at",
        "_state",
        "_status",
        "_stop_done",
        "_stop_error",
        "_stop_outcome",
        "_stop_timeout",
        "_subscribers",
        "_subscription",
        "_task_group",
        "_uid",
        "_update_lock",
        "_waiters",
    )

    def __init__(
        self,
        client: RecordingClient,
        *,
        cname: str,
        uid: int | str,
        mode: Mode | str,
        config: StartConfig | None,
        acquire_config: AcquireConfig | None = None,
        poll_interval: float | None = None,
        first_poll_delay: float = 5.0,
        poll_jitter: float | None = None,
        poll_timeout: float = 15.0,
        start_timeout: float = 90.0,
        failover_grace: float = 90.0,
        max_poll_errors: int = 8,
        outage_timeout: float = 120.0,
        stop_timeout: float | None = None,
        async_stop: bool = False,
        on_status: StatusCallback | None = None,
        fail_fast: bool = True,
        app_certificate: str | None = None,
        expected_duration: float | None = None,
        storage_credentials: StorageCredentialsProvider | None = None,
        on_credentials: CredentialsCallback | None = None,
        wall_clock: Callable[[], float] = time.time,
        notifications: NotificationHub | None = None,
        events_silence: float = 180.0,
        orphan_wait: float = 30.0,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if poll_interval is not None and poll_interval <= 0:
            raise ValidationError("poll_interval", "must be positive")
        if min(poll_timeout, start_timeout, outage_timeout) <= 0:
            raise ValidationError("poll_timeout, start_timeout, outage_timeout", "must be positive")
        if stop_timeout is not None and stop_timeout <= 0:
            raise ValidationError("stop_timeout", "must be positive")
        if first_poll_delay < 0 or failover_grace < 0:
            raise ValidationError("first_poll_delay, failover_grace", "must be >= 0")
        if poll_jitter is not None and not poll_jitter >= 0:
            raise ValidationError("poll_jitter", "must be >= 0")
        if max_poll_errors < 1:
            raise ValidationError("max_poll_errors", "must be at least 1")
        self._client = client
        self._cname = cname
        self._uid = str(uid)
        self._mode = parse_mode(mode)
        self._config = config
        self._acquire_config = acquire_config
        self._poll_interval = (
            poll_interval if poll_interval is not None else _default_poll_interval(config)
        )
        self._first_poll_delay = first_poll_delay
        self._poll_jitter = (
            poll_jitter
            if poll_jitter is not None
            else min(MAX_POLL_JITTER, POLL_JITTER_SHARE * self._poll_interval)
        )
        self._poll_timeout = poll_timeout
        self._start_timeout = start_timeout
        self._failover_grace = failover_grace
        self._max_poll_errors = max_poll_errors
        self._stop_timeout = stop_timeout
        self._outage_timeout = outage_timeout
        self._async_stop = async_stop
        self._on_status = on_status
        self._fail_fast = fail_fast
        self._clock = clock
        self._sleep = sleep
        self._credentials = SessionCredentials.from_options(
            client,
            app_certificate=app_certificate,
            expected_duration=expected_duration,
            storage_credentials=storage_credentials,
            on_credentials=on_credentials,
            wall_clock=wall_clock,
        )
        self._hub = notifications if notifications is not None else client.notifications
        self._events_silence = events_silence
        self._orphan_wait = orphan_wait
        self._subscription: Subscription | None = None
        self._last_event_at: float | None = None
        self._last_poll_at: float | None = None
        self._idle_leave = False
        self._fatal: str | None = None

        self._state = _State.NEW
        self._handle: RecordingHandle | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._poll_scope: anyio.CancelScope | None = None
        self._started_at = 0.0
        self._last_query: QueryResponse | None = None
        self._status: Status | None = None
        self._healthy = False
        self._not_found_since: float | None = None
        self._polls = 0
        self._poll_errors = 0
        self._consecutive_errors = 0
        self._errors_since: float | None = None
        self._effective_interval = self._poll_interval
        self._subscribers: list[MemoryObjectSendStream[Status]] | None = None
        self._outcome: SessionOutcome | None = None
        self._ended: anyio.Event | None = None
        self._waiters = 0
        self._delivered = False
        self._update_lock: anyio.Lock | None = None
        self._stop_done: anyio.Event | None = None
        self._result: StopResponse | None = None
        self._stop_outcome: StopOutcome | None = None
        self._stop_error: Exception | None = None

    @classmethod
    def adopt(
        cls,
        client: RecordingClient,
        handle: RecordingHandle,
        *,
        poll_interval: float | None = None,
        first_poll_delay: float = 0.0,
        poll_jitter: float | None = 0.0,
        poll_timeout: float = 15.0,
        start_timeout: float = 90.0,
        failover_grace: float = 90.0,
        max_poll_errors: int = 8,
        outage_timeout: float = 120.0,
        stop_timeout: float | None = None,
        async_stop: bool = False,
        on_status: StatusCallback | None = None,
        fail_fast: bool = True,
        app_certificate: str | None = None,
        expected_duration: float | None = None,
        storage_credentials: StorageCredentialsProvider | None = None,
        on_credentials: CredentialsCallback | None = None,
        wall_clock: Callable[[], float] = time.time,
        notifications: NotificationHub | None = None,
        events_silence: float = 180.0,
        orphan_wait: float = 30.0,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> RecordingSession:
        """Take over a recording started elsewhere, e.g. a handle stored before a restart.

        Entering the session sends no acquire and no start: it polls at once (unless
        ``first_poll_delay`` says otherwise) and stops the recording on exit like its own.
        The options are the constructor's; ``start_timeout`` counts from adoption.
        """
        given: object = handle  # checked at run time: callers may not be type-checked
        if not isinstance(given, RecordingHandle):
            kind = type(given).__name__
            raise ArgumentTypeError(f"handle must be a RecordingHandle, not {kind}")
        session = cls(
            client,
            cname=handle.cname,
            uid=handle.uid,
            mode=handle.mode,
            config=None,
            poll_interval=poll_interval,
            first_poll_delay=first_poll_delay,
            poll_jitter=poll_jitter,
            poll_timeout=poll_timeout,
            start_timeout=start_timeout,
            failover_grace=failover_grace,
            max_poll_errors=max_poll_errors,
            outage_timeout=outage_timeout,
            stop_timeout=stop_timeout,
            async_stop=async_stop,
            on_status=on_status,
            fail_fast=fail_fast,
            app_certificate=app_certificate,
            expected_duration=expected_duration,
            storage_credentials=storage_credentials,
            on_credentials=on_credentials,
            wall_clock=wall_clock,
            notifications=notifications,
            events_silence=events_silence,
            orphan_wait=orphan_wait,
            clock=clock,
            sleep=sleep,
        )
        session._handle = handle
        return session

    def __repr__(self) -> str:
        sid = self._handle.sid if self._handle is not None else None
        return (
            f"<RecordingSession cname={self._cname!r} uid={self._uid!r} "
            f"mode={self._mode.value} sid={sid!r} state={self._state.name.lower()}>"
        )

    # -- observation ---------------------------------------------------------------------------

    @property
    def handle(self) -> RecordingHandle | None:
        """The recording's handle, from the moment ``start`` answered; kept after exit."""
        return self._handle

    @property
    def status(self) -> Status | None:
        """The latest status reported by ``query``, or ``None`` before the first answer."""
        return self._status

    @property
    def last_query(self) -> QueryResponse | None:
        """The latest successful ``query`` answer."""
        return self._last_query

    @property
    def files(self) -> list[RecordedFile]:
        """The recorded files: from the stop answer once there is one, else the latest query."""
        if self._result is not None:
            return self._result.files
        return [] if self._last_query is None else self._last_query.files

    @property
    def effective_poll_interval(self) -> float:
        """Seconds between routine polls now: ``poll_interval``, stretched when the sessions of
        the client need more than its poll budget (see `RecordingClient.poll_budget`)."""
        return self._effective_interval

    @property
    def polls(self) -> int:
        """How many polls got an answer."""
        return self._polls

    @property
    def poll_errors(self) -> int:
        """How many polls failed with a transient error (404s during failover not counted)."""
        return self._poll_errors

    @property
    def outcome(self) -> SessionOutcome | None:
        """How the recording ended, once it has."""
        return self._outcome

    @property
    def result(self) -> StopResponse | None:
        """The `StopResponse` of our stop; ``None`` before it, or when the stop was benign."""
        return self._result

    @property
    def stop_outcome(self) -> StopOutcome | None:
        """What our stop request came to, once it finished."""
        return self._stop_outcome

    @property
    def stop_error(self) -> Exception | None:
        """The error of a stop that failed (raised by exit or ``stop()``, or noted on the body's
        exception)."""
        return self._stop_error

    def status_changes(self) -> StatusChanges:
        """Subscribe to status changes: ``async for status in session.status_changes(): ...``.

        The iterator yields the current status first (when one is known), then every change; it
        ends when the session exits. Each call makes an independent subscription.
        """
        send, receive = anyio.create_memory_object_stream[Status](math.inf)
        if self._state is _State.CLOSED:
            send.close()
        else:
            if self._status is not None:
                send.send_nowait(self._status)
            if self._subscribers is None:
                self._subscribers = []
            self._subscribers.append(send)
        return StatusChanges(receive)

    async def wait(self) -> SessionOutcome:
        """Wait until the recording ends and return how: a service-side exit is not raised.

        Returns when the service ends the recording (idle exit, ``maxRecordingHour``, death) or
        when it is stopped. A failure returned here counts as delivered: it is not raised again.
        """
        if self._ended is None:
            raise UsageError("the session has not been entered")
        if self._outcome is None:
            self._waiters += 1
            try:
                await self._ended.wait()
            finally:
                self._waiters -= 1
        else:
            # Still a checkpoint: a body already cancelled for a failure gets the failure raised.
            await anyio.lowlevel.checkpoint()
        assert self._outcome is not None
        self._delivered = True
        return self._outcome

    # -- control -------------------------------------------------------------------------------

    async def update(self, config: UpdateConfig) -> UpdateResponse:
        """Change subscriptions, web ``onhold``, the CDN output or storage credentials."""
        handle = self._running_handle()
        async with self._lock():
            return await self._client.update(handle, config)

    async def update_layout(self, config: UpdateLayoutConfig) -> UpdateResponse:
        """Change the layout of a mix recording."""
        handle = self._running_handle()
        async with self._lock():
            return await self._client.update_layout(handle, config)

    async def stop(self) -> StopResponse | None:
        """Stop the recording now; exit then sends nothing more.

        Idempotent: every call, concurrent or later, shares the one request's answer. Returns the
        `StopResponse`, or ``None`` for a benign stop (see `stop_outcome`); raises a stop error.
        """
        if self._handle is None:
            raise UsageError("the recording has not been started")
        await self._stop_once()
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self._stop_error is not None:
            raise self._stop_error
        return self._result

    # -- enter -----------------------------------------------------------------------------------

    async def __aenter__(self) -> RunningSession:
        if self._state is not _State.NEW:
            raise UsageError("a RecordingSession can be entered only once")
        self._state = _State.STARTING
        self._ended = anyio.Event()
        if self._hub is not None:
            # Subscribed before start, so even the first events (and the sid, should the start
            # answer be lost) arrive.
            if self._handle is None:
                self._subscription = self._hub.subscribe(cname=self._cname, uid=self._uid)
            else:
                self._subscription = self._hub.subscribe(sid=self._handle.sid)
        if self._handle is None:
            try:
                await self._acquire_and_start()
            except BaseException:
                self._close()
                raise
        else:
            self._client.track(self._handle)
            _log.info("adopted recording sid=%s cname=%s", self._handle.sid, self._cname)
        try:
            # A cancellation that arrived during the shielded start lands here, sid in hand.
            await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            await self._stop_shielded()
            self._close()
            raise
        self._started_at = self._clock()
        self._poll_scope = anyio.CancelScope()
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._poll_loop, name="agora-recording session poller")
        self._task_group.start_soon(self._credentials.refresh_loop, self, self._credentials_failed)
        if self._subscription is not None:
            self._task_group.start_soon(self._event_loop, name="agora-recording session events")
        self._state = _State.RUNNING
        return cast("RunningSession", self)

    async def _acquire_and_start(self) -> None:
        config = self._config
        if config is None:
            raise ValidationError("config", "is required to start a recording (or use adopt())")
        # The recorder's token minted or checked, STS keys fetched: bad credentials fail here.
        config = await self._credentials.prepare(
            self._client.app_id, self._cname, self._uid, self._mode, config, self._sleep
        )
        # The start request is checked before acquire, so a bad config sends nothing.
        build_request(
            Endpoint.START,
            self._client.app_id,
            resource_id="unchecked",
            mode=self._mode,
            cname=self._cname,
            uid=self._uid,
            config=config,
        )
        acquired = await self._client.acquire(
            self._cname, self._uid, config=self._acquire_request()
        )
        resource_id = acquired.resource_id
        if not resource_id:
            raise UnexpectedResponseError(
                "acquire answered without a resourceId", endpoint="acquire"
            )
        # Shielded: once start is sent, the recording may exist; we must learn its sid to stop it.
        # The client bounds the service's time (``call_timeout``); waiting for our own quota
        # does not count, so a crowded client never abandons a start the service processed.
        try:
            with anyio.CancelScope(shield=True):
                started = await self._client.start(
                    resource_id, self._mode, cname=self._cname, uid=self._uid, config=config
                )
        except AlreadyStartedError as exc:
            raise await self._orphaned(resource_id) from exc
        self._handle = started.handle
        if self._subscription is not None:
            self._subscription.bind(self._handle.sid)
        _log.info(
            "started recording sid=%s cname=%s mode=%s",
            self._handle.sid,
            self._cname,
            self._mode.value,
        )

    async def _orphaned(self, resource_id: str) -> OrphanedStartError:
        """A start whose answer was lost was acted on (the retry got 201 code 7): a recording
        runs whose sid we never learnt. With notifications, learn it from the first event for
        our (cname, uid) within ``orphan_wait`` and stop it; either way, say what happened."""
        where = f"resource {resource_id}, cname {self._cname!r}, uid {self._uid}"
        subscription = self._subscription
        if subscription is None:
            return OrphanedStartError(
                f"the start answer was lost but the service started the recording ({where}); "
                "its sid is unknown, so it runs until maxIdleTime. Find it by its cname and uid "
                "in Agora's notifications (NCS) or Console, then stop it with its sid; pass "
                "notifications= to let the session do this",
                handle=None,
                stopped=False,
            )
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(self._orphan_wait):
                while subscription.sid is None:
                    await subscription.__anext__()
            sid = subscription.sid
            if sid is None:
                return OrphanedStartError(
                    f"the start answer was lost but the service started the recording ({where}) "
                    f"and no notification named its sid within {self._orphan_wait:g} s; it runs "
                    "until maxIdleTime",
                    handle=None,
                    stopped=False,
                )
            handle = RecordingHandle(
                resource_id=resource_id, sid=sid, mode=self._mode, cname=self._cname, uid=self._uid
            )
            self._client.track(handle)
            _log.warning("start answer lost: found sid=%s from notifications; stopping it", sid)
            try:
                done = await self._client.ensure_stopped(
                    handle, stop_timeout=self._stop_timeout, clock=self._clock, sleep=self._sleep
                )
            except Exception as exc:
                failure = OrphanedStartError(
                    f"the start answer was lost; the recording it started (sid {sid}, {where}) "
                    f"was found but its stop was not confirmed: {exc}",
                    handle=handle,
                    stopped=False,
                )
                failure.__context__ = exc
                return failure
        return OrphanedStartError(
            f"the start answer was lost; the recording it started (sid {sid}, {where}) was "
            f"found through notifications and stopped ({done.outcome.value}); start again",
            handle=handle,
            stopped=True,
        )

    async def _event_loop(self) -> None:
        """Apply notifications as they arrive; never raises."""
        subscription = self._subscription
        assert subscription is not None
        try:
            async for note in subscription:
                ending = self._on_event(read_event(note))
                if ending is not None:
                    self._fail(ending)
                    return
        except Exception:
            _log.exception("session event consumer crashed (sid=%s)", self._sid)

    def _on_event(self, facts: EventFacts) -> SessionOutcome | None:
        """What an event means for the recording: the same judgement as a poll's answer."""
        self._last_event_at = self._clock()
        if facts.healthy:
            self._healthy = True
        if facts.status is not None:
            self._set_status(_status_value(facts.status))
            if facts.status in _HEALTHY:
                self._healthy = True
        if facts.failover:
            _log.info("recording sid=%s is failing over (notification)", self._sid)
        if facts.idle_leave:
            self._idle_leave = True
        if facts.fatal is not None:
            _log.warning("recording sid=%s reported a fatal error: %s", self._sid, facts.fatal)
            self._fatal = facts.fatal  # named by the abnormal exit that follows
        if facts.exit is None or self._stop_done is not None:
            return None
        if facts.exit is Exit.ABNORMAL:
            fatal = f" after a fatal {self._fatal}" if self._fatal else ""
            return self._ending(
                EndReason.EXITED_ABNORMALLY,
                f"the service reported an abnormal exit (session_exit){fatal}",
            )
        detail = {
            Exit.MAX_RECORDING_HOUR: "the web recording reached maxRecordingHour",
            Exit.WEB_FAILED: "the web recorder stopped on an error",
        }.get(facts.exit)
        if detail is None:
            detail = (
                "the recorder exited after nobody published for maxIdleTime"
                if self._idle_leave
                else "the service ended the recording (session_exit)"
            )
        return self._ending(EndReason.SERVICE_EXIT, detail)

    def _events_cover(self) -> float | None:
        """While notifications flow for a healthy recording, routine polls are only a safety
        net: the seconds until the next one is due, or ``None`` to poll as usual."""
        if self._subscription is None or self._last_event_at is None:
            return None
        if self._in_health_phase():
            return None
        now = self._clock()
        silent_at = self._last_event_at + self._events_silence
        if now >= silent_at:
            return None
        last_poll = self._last_poll_at if self._last_poll_at is not None else self._started_at
        due = max(last_poll + SAFETY_NET_INTERVAL, now)
        wait = min(due, silent_at) - now
        return wait if wait > 0 else None

    def _acquire_request(self) -> AcquireConfig | None:
        """The user's acquire options, with the scene the mode needs filled in."""
        requested = self._acquire_config
        scene = required_scene(self._mode, self._config)
        if scene is None:
            return requested
        if requested is None:
            return AcquireConfig(scene=scene)
        if requested.scene is None:
            return attrs.evolve(requested, scene=scene)
        if scene is Scene.WEB and requested.scene != Scene.WEB:
            raise ValidationError("clientRequest.scene", "web recording needs scene 1")
        return requested

    # -- background poll -------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        """Poll until failure or cancellation; never raises (a crash is logged and ends polling)."""
        assert self._poll_scope is not None
        delay = self._first_poll_delay + self._poll_jitter * random.random()
        budget = self._client.poll_budget
        with self._poll_scope:
            budget.join()
            try:
                while True:
                    await self._sleep(delay)
                    covered = self._events_cover()
                    if covered is not None:
                        delay = covered
                        continue
                    self._last_poll_at = self._clock()
                    ending = await self._poll_once()
                    if ending is not None:
                        self._fail(ending)
                        return
                    delay = self._next_poll_delay()
            except Exception:
                _log.exception("session poller crashed; polling stopped (sid=%s)", self._sid)
            finally:
                budget.leave()

    def _in_health_phase(self) -> bool:
        """Polls that decide whether the recording came up or died: before it is healthy,
        during a run of 404s (failover) and during a run of failed polls."""
        return (
            not self._healthy or self._not_found_since is not None or self._errors_since is not None
        )

    def _next_poll_delay(self) -> float:
        if self._in_health_phase():
            delay = min(self._poll_interval, HEALTH_POLL_INTERVAL)
        else:
            self._effective_interval = self._client.poll_budget.interval(self._poll_interval)
            delay = self._effective_interval
        # A web recording ends by itself after maxRecordingHour and reports its exit only for
        # a few seconds before query answers 404: poll just after that moment to see it.
        hours = _max_recording_hour(self._config)
        if hours is not None:
            until_end = self._started_at + hours * 3600 - self._clock()
            if 0 < until_end < delay:
                return until_end + END_POLL_DELAY
        return delay

    async def _poll_once(self) -> SessionOutcome | None:
        handle = self._handle
        assert handle is not None
        priority = Priority.HEALTH if self._in_health_phase() else Priority.POLL
        try:
            response = await self._client.query(
                handle, priority=priority, budget=self._poll_timeout
            )
        except NotFoundError as exc:
            if exc.worker_not_found:
                return self._on_not_found(exc)
            return self._on_poll_error(exc)
        except Exception as exc:
            return self._on_poll_error(exc)
        return self._on_answer(response)

    def _on_answer(self, response: QueryResponse) -> SessionOutcome | None:
        self._polls += 1
        self._last_query = response
        self._consecutive_errors = 0
        self._errors_since = None
        if self._not_found_since is not None:
            _log.info("recording sid=%s found again after failover", self._sid)
            self._not_found_since = None
        status = response.status
        if status is not None:
            self._set_status(status)
        if status == RecordingStatus.EXITED_ABNORMALLY:
            return self._ending(EndReason.EXITED_ABNORMALLY, "the service reported status 20")
        if status in _EXITING:
            return self._ending(EndReason.SERVICE_EXIT, self._exit_detail(status))
        if _web_recorder_exited(response):
            return self._ending(EndReason.SERVICE_EXIT, self._exit_detail(None))
        if status in _HEALTHY:
            self._healthy = True
        return self._check_start_deadline()

    def _exit_detail(self, status: Status | None) -> str:
        """Name an exit a poll saw, as precisely as the evidence allows."""
        seen = f" (status {_status_name(status)})" if status is not None else ""
        hours = _max_recording_hour(self._config)
        if hours is not None and self._clock() - self._started_at >= hours * 3600:
            return f"the web recording reached maxRecordingHour{seen}"
        if self._idle_leave:
            return f"the recorder exited after nobody published for maxIdleTime{seen}"
        if status is None:
            return "the web recorder service exited"
        return f"the service ended the recording{seen}"

    def _on_not_found(self, error: NotFoundError) -> SessionOutcome | None:
        now = self._clock()
        self._consecutive_errors = 0
        self._errors_since = None
        since = self._not_found_since
        if since is None:
            _log.warning(
                "recording sid=%s not found; tolerating %g s for failover",
                self._sid,
                self._failover_grace,
            )
            self._not_found_since = now
        elif now - since >= self._failover_grace:
            if self._healthy and since - self._started_at >= 60:
                what = (
                    "the recorder exited (idle for maxIdleTime, or ended by the service) "
                    "or its worker was lost"
                )
            elif since - self._started_at < 60:
                what = "the recorder exited within a minute of start: " + early_exit_causes(
                    self._credentials.token_source
                )
            else:
                what = "the recorder never reported status 4 or 5: " + early_exit_causes(
                    self._credentials.token_source
                )
            return self._ending(
                EndReason.WORKER_LOST,
                f"query answered 404 for {now - since:g} s, longer than the "
                f"{self._failover_grace:g} s failover grace: {what}",
                cause=error,
            )
        return None

    def _on_poll_error(self, error: Exception) -> SessionOutcome | None:
        now = self._clock()
        self._poll_errors += 1
        self._consecutive_errors += 1
        if self._errors_since is None:
            self._errors_since = now
        _log.warning(
            "query of sid=%s failed (%d in a row): %s",
            self._sid,
            self._consecutive_errors,
            describe_failure(error),
        )
        lasted = now - self._errors_since
        if self._consecutive_errors >= self._max_poll_errors or (
            self._consecutive_errors > 1 and lasted >= self._outage_timeout
        ):
            return self._ending(
                EndReason.UNOBSERVABLE,
                f"query failed {self._consecutive_errors} times in a row over {lasted:g} s: "
                "the service cannot be reached, so the recording's state is unknown",
                cause=error,
            )
        return None

    def _check_start_deadline(self) -> SessionOutcome | None:
        """Judged only on the service's answers: a status short of 4 or 5, seen too late."""
        if self._healthy or self._clock() - self._started_at < self._start_timeout:
            return None
        return self._ending(
            EndReason.START_TIMEOUT,
            f"the recorder did not reach status 4 or 5 within {self._start_timeout:g} s",
        )

    def _ending(
        self, reason: EndReason, detail: str, *, cause: BaseException | None = None
    ) -> SessionOutcome:
        error: RecordingFailedError | None = None
        if reason is not EndReason.STOPPED:
            error = RecordingFailedError(
                detail,
                handle=self._handle,
                status=self._status,
                last_query=self._last_query,
                cause=cause,
            )
        return SessionOutcome(
            reason=reason,
            detail=detail,
            status=self._status,
            last_query=self._last_query,
            error=error,
        )

    def _fail(self, outcome: SessionOutcome) -> None:
        """Record a failure seen by the poller; cancel the body when the user asked for that."""
        if self._outcome is not None or self._stop_done is not None:
            return
        _log.warning("recording sid=%s ended: %s", self._sid, outcome.detail)
        self._end(outcome)
        if self._fail_fast and self._waiters == 0 and self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    def _credentials_failed(self, error: RecordingFailedError) -> None:
        """The storage credentials could not be refreshed before their expiry drew near."""
        outcome = SessionOutcome(
            reason=EndReason.CREDENTIALS_EXPIRING,
            detail=error.reason,
            status=self._status,
            last_query=self._last_query,
            error=error,
        )
        self._fail(outcome)

    def _set_status(self, status: Status) -> None:
        if status != self._status:
            _log.debug("recording sid=%s status %s", self._sid, int(status))
            self._status = status
            self._notify(status)

    def _notify(self, status: Status) -> None:
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                _log.exception("on_status callback failed (sid=%s)", self._sid)
        subscribers = self._subscribers
        if subscribers:
            for send in list(subscribers):
                try:
                    send.send_nowait(status)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    subscribers.remove(send)

    # -- stop and exit ---------------------------------------------------------------------------

    async def _stop_once(self) -> None:
        """Send stop the first time; later and concurrent callers wait for that one."""
        if self._stop_done is not None:
            await self._stop_done.wait()
            return
        done = self._stop_done = anyio.Event()
        if self._poll_scope is not None:
            self._poll_scope.cancel()
        try:
            await self._send_stop()
        finally:
            self._end(self._ending(EndReason.STOPPED, "stopped by the client"))
            done.set()

    async def _send_stop(self) -> None:
        handle = self._handle
        assert handle is not None
        try:
            # Shielded wherever it is sent from (exit or an early ``stop()``): a stop cut short
            # leaves the recording billing. The client bounds the service's time.
            with anyio.CancelScope(shield=True):
                confirmation = await self._client.ensure_stopped(
                    handle,
                    async_stop=self._async_stop,
                    stop_timeout=self._stop_timeout,
                    clock=self._clock,
                    sleep=self._sleep,
                )
        except Exception as exc:
            # The client logged it at ERROR and keeps the handle in `client.unconfirmed()`.
            self._stop_outcome = StopOutcome.FAILED
            self._stop_error = exc
            return
        self._result = confirmation.response
        self._stop_outcome = confirmation.outcome
        _log.info("stopped recording sid=%s (%s)", handle.sid, confirmation.outcome.value)

    async def _stop_shielded(self) -> None:
        """The exit's stop: never interrupted, bounded by the request's own deadline."""
        with anyio.CancelScope(shield=True):
            await self._stop_once()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # ``bool | None``, not ``bool``: type checkers then know the body's exceptions
        # propagate. Only the session's own cancellation (fail_fast) is ever absorbed.
        task_group, poll_scope = self._task_group, self._poll_scope
        assert task_group is not None
        assert poll_scope is not None
        self._task_group = None
        poll_scope.cancel()
        self._credentials.cancel()
        if self._subscription is not None:
            self._subscription.close()  # ends the event consumer
        error: BaseException | None
        try:
            absorbed = await task_group.__aexit__(exc_type, exc, tb)
            error = None if absorbed else exc
        except BaseException as raised:
            error = _unwrap(raised)
        stop_was_sent = self._stop_done is not None
        await self._stop_shielded()
        self._close()
        stop_error = None if stop_was_sent else self._stop_error
        outcome = self._outcome
        failure = None
        if self._fail_fast and not self._delivered and outcome is not None:
            failure = outcome.error

        if error is None:
            if failure is not None:
                if stop_error is not None:
                    _add_note(failure, f"The stop sent on exit failed too: {stop_error!r}")
                raise failure from failure.cause
            if stop_error is not None:
                raise stop_error
            # A cancellation that arrived during the shielded stop propagates from here.
            await anyio.lowlevel.checkpoint_if_cancelled()
            return exc is not None  # our own cancellation (on failure) is absorbed
        if not isinstance(error, anyio.get_cancelled_exc_class()):
            if stop_error is not None:
                _add_note(error, f"The stop sent on exit failed too: {stop_error!r}")
            if failure is not None:
                _add_note(error, f"The recording also failed: {failure}")
        if error is exc:
            return False
        raise error

    def _end(self, outcome: SessionOutcome) -> None:
        if self._outcome is None:
            self._outcome = outcome
        if self._ended is not None:
            self._ended.set()

    def _close(self) -> None:
        self._state = _State.CLOSED
        if self._subscription is not None:
            self._subscription.close()
        if self._ended is not None:
            self._ended.set()
        subscribers, self._subscribers = self._subscribers, None
        for send in subscribers or ():
            send.close()

    # -- helpers ---------------------------------------------------------------------------------

    @property
    def _sid(self) -> str | None:
        return None if self._handle is None else self._handle.sid

    def _running_handle(self) -> RecordingHandle:
        if self._handle is None or self._state is not _State.RUNNING:
            raise UsageError("the session is not recording")
        if self._stop_done is not None:
            raise UsageError("the recording has been stopped")
        return self._handle

    def _lock(self) -> anyio.Lock:
        if self._update_lock is None:
            self._update_lock = anyio.Lock()
        return self._update_lock


if TYPE_CHECKING:

    class RunningSession(RecordingSession):
        """What ``async with session as running`` gives: the session itself, typed with the
        handle it has from the moment ``start`` answered (kept after exit)."""

        @property
        def handle(self) -> RecordingHandle: ...

else:
    #: At run time the ``as`` target is the session itself; for type checkers, its handle is
    #: never ``None``.
    RunningSession = RecordingSession


def _default_poll_interval(config: StartConfig | None) -> float:
    """15 s, or half of ``maxIdleTime`` when that is shorter, so polls stay below it."""
    recording = config.recording_config if config is not None else None
    idle = recording.max_idle_time if recording is not None else None
    if idle is None:
        return DEFAULT_POLL_INTERVAL
    return min(DEFAULT_POLL_INTERVAL, idle / 2)


def _max_recording_hour(config: StartConfig | None) -> int | None:
    """The web recorder's ``maxRecordingHour``, when the start configuration sets one."""
    extensions = config.extension_service_config if config is not None else None
    for service in (extensions.extension_services if extensions is not None else None) or ():
        param = service.service_param
        if isinstance(param, WebRecorderServiceParam):
            return param.max_recording_hour
    return None


def _web_recorder_exited(response: QueryResponse) -> bool:
    server = response.server_response
    for state in (server.extension_service_state if server is not None else None) or ():
        payload = state.payload
        if (
            state.service_name == ServiceName.WEB_RECORDER_SERVICE
            and isinstance(payload, WebRecorderPayload)
            and payload.state == ServiceState.EXIT
        ):
            return True
    return False


def _status_value(value: int) -> Status:
    try:
        return RecordingStatus(value)
    except ValueError:
        return value


def _status_name(status: Status) -> str:
    if isinstance(status, RecordingStatus):
        return f"{status.value}, {status.name.lower().replace('_', ' ')}"
    return str(status)


def _unwrap(error: BaseException) -> BaseException:
    """The one meaningful exception inside (nested) single-exception groups from a task group.

    Cancellations beside a real exception are dropped (the real one wins); several real ones
    keep their group.
    """
    cancelled = anyio.get_cancelled_exc_class()
    while isinstance(error, BaseExceptionGroup):
        inners: tuple[BaseException, ...] = error.exceptions
        real = [inner for inner in inners if not isinstance(inner, cancelled)]
        if len(real) > 1:
            break
        error = real[0] if real else inners[0]
    return error


def _add_note(error: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        error.add_note(note)
