"""`RecordingSession`: one cloud recording, from ``acquire`` to a stop that always happens.

A recording bills until it is stopped, so the point of this module is that leaving an
``async with`` block stops the recording whatever way the block was left. The contract, in the
manner of trio-websocket's ``open_websocket``::

    async with RecordingSession(client, cname="room", uid="42", mode=Mode.MIX,
                                config=start_config) as session:
        ...                       # recording; session.status / .files / .status_changes()
    session.result                # the StopResponse (or None for a benign stop without body)

**On enter.** ``acquire`` (with the ``scene`` the mode needs: 1 for web, 2 for legacy
individual recording with ``appsCollection.combinationPolicy = "postpone_transcoding"``, none
for raw; an explicit scene in ``acquire_config`` wins, except that web must be 1), then
``start`` at once (a resource ID lives five minutes and the service asks for ``start`` within
two seconds). ``session.handle`` is set
from the moment ``start`` answers and stays set after exit. If ``acquire`` or ``start`` fails,
its error propagates unchanged and nothing is stopped: there is nothing to stop. A start whose
answer may have been lost is asked again until the service says, and one that leaves a
recording with no known sid raises `OrphanedStartError` (see ``_starting`` and ``_orphans``:
with notifications that recording is found and stopped; without, it is listed by
``client.unconfirmed()``). After 500 code 502 or 400 code 433 the session acquires a new
resource and starts again, and after three retries answered 50x it moves to a spare uid
(``CredentialOptions.spare_uids``) once the old start is stopped or journalled; each re-acquire
publishes ``RecordingStatus.REACQUIRING``. With notifications, a task that sends no event 13
within 10 s is replaced once, when the client has seen an event 13 before (Agora's
fault-recovery best practice). ``start`` is
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
``HEALTH_POLL_INTERVAL`` (10 s). While a burst of starts waits for the client's quota, a health
poll waits behind it for at most ``RateLimiter.health_wait`` (60 s), then goes first: so the first
poll is answered within about 67 s of ``start`` however large the burst, inside the documented
90 s health and failover windows, and the burst enters at nearly the full rate (the arithmetic
is in ``docs/concepts/quota.md``). *Routine polls* follow every ``effective_poll_interval``:
``poll_interval``, stretched when the client's sessions together
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

The failover grace and the outage timeout run on service time: the seconds each poll waited for
the client's quota and a place in flight are not counted in how long a run of 404s or of failed
polls has lasted (a poll held back behind a burst of starts samples the service less often, and
must not turn two short failovers into one long one).

When one happens the poller stops, ``outcome`` records how the recording ended, ``wait()``
returns, and, with ``fail_fast=True`` (the default) and nobody inside ``wait()``, the body is
cancelled and the ``async with`` raises `RecordingFailedError` (detail, last status, handle,
last query, cause) after the stop below. With ``fail_fast=False``, or when ``wait()`` returned
the outcome, nothing is cancelled and nothing is raised for it.

**On exit.** The poller is cancelled (a poll in flight is abandoned, never delaying the stop),
then the recording is stopped once (unless ``stop()`` already did), in a shielded scope, through
`RecordingClient.ensure_stopped`: on normal exit, on an exception in the body, on cancellation
from outside (wherever it lands once ``start`` was sent: during ``start``, the body, a poll, the
stop itself) and on ``KeyboardInterrupt``. Stops go before every other request in the
client's quota. **A stop counts as done only when the service confirms it:** 200 (``result``
is the `StopResponse`), 206/435 (nobody published) or 400/49 (already exiting), or a 404 once the
service announced the exit (a notification of this sid, or an exit status from ``query``:
``ALREADY_GONE``). Any other 404 is re-checked with ``query`` for the whole stop budget (a
failover may outlast its documented 90 s); a recording that answers again is stopped again.
Transport errors, 5xx, 429 (``Retry-After`` honoured) and answers that cannot be read are
retried with backoff for the whole ``stop_timeout`` (the client's, 180 s of service time by
default). ``stop_outcome`` says which.
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
on exit. A recording that ended while nobody watched answers 404, which cannot be told from a
failover until ``failover_grace`` has passed; ``adopt(..., assume_ended_on_404=True)`` takes the
first 404 (to ``query`` or ``stop``) as the end, at the risk of leaving a recording that was
only failing over running unwatched.

**Resources.** No threads; one task, two cancel scopes and a few small objects per session, so
thousands of sessions can share one `RecordingClient`. Logs go to ``agora_recording.session``
and name the ``sid``, never a configuration or a secret.

**States.** ``_State`` names where a session is (new, starting, running, ended, stopping,
stopped, closed) and ``_TRANSITIONS`` every move it may make; ``_move`` is the one place the
state changes, so what each method may do is read from the state, never from which optional
slots happen to be set.

**Where the parts live.** This module runs the lifecycle (enter, the background tasks, the
shielded stop, exit). The rest is plain code it calls: ``_options`` (the options, checked),
``_health`` (the sans-I/O judge of the rules above, and when to poll), ``_outcome`` (how a
recording ended), ``_status`` (status fan-out), ``_orphans`` (a start whose answer was lost),
``_groups`` (exceptions out of task groups) and ``_credentials`` (tokens, STS refresh).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

from ._client import _CallDeadline
from ._credentials import SessionCredentials
from ._events import read_event
from ._groups import add_note, enter_group, leave_group
from ._health import HEALTH_POLL_INTERVAL, HealthJudge, max_idle_time, max_recording_hour
from ._journal import StartJournal
from ._options import (
    CredentialOptions,
    PollingOptions,
    RuntimeOptions,
    SessionOptions,
    TimingOptions,
    instance_or_none,
    uid_text,
)
from ._orphans import ha_registered, replace_unregistered, start_recording
from ._outcome import Ended, EndReason, SessionOutcome, outcome_of
from ._protocol import Endpoint, build_request, parse_mode, required_scene
from ._ratelimit import Priority
from ._starting import HA_REGISTER_EVENT, MAX_HA_RESTARTS
from ._status import Status, StatusCallback, StatusChanges, StatusFeed, status_value
from ._stopping import StopOutcome
from .enums import Mode, RecordingStatus, Scene
from .errors import (
    AgoraError,
    ArgumentTypeError,
    NotFoundError,
    RecordingFailedError,
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
)
from .validation import check_cname, check_uid

if TYPE_CHECKING:
    from ._client import RecordingClient
    from .webhooks._envelope import Notification
    from .webhooks._hub import NotificationHub, Subscription

__all__ = ["RecordingSession", "RunningSession", "check_adopt_options"]

_log = logging.getLogger("agora_recording.session")

#: Endings the service itself reported (an exit status, a web recorder in state ``exit``): a
#: 404 to the stop that follows means the task is gone, not failing over.
_ANNOUNCED_EXITS = frozenset({EndReason.SERVICE_EXIT, EndReason.EXITED_ABNORMALLY})


class _State(enum.Enum):
    """Where a session is in its life; `_TRANSITIONS` says where it may go next."""

    NEW = "new"  # built, not entered: journal_to() allowed, entering allowed
    STARTING = "starting"  # acquire and start in flight: nothing to update or stop yet
    RUNNING = "running"  # recording and watched: update(), failures noticed
    ENDED = "ended"  # the service ended it or we lost it (outcome known): still to stop
    STOPPING = "stopping"  # our one stop in flight: later stop() calls wait for it
    STOPPED = "stopped"  # our stop finished, confirmed or not
    CLOSED = "closed"  # left: status iterators ended, nothing more happens


#: The only moves a session makes. A start that fails closes at once (nothing to stop); one
#: interrupted after the service answered stops first. An adopted session may be stopped
#: before it is ever entered. Every recording that was started passes through STOPPING.
_TRANSITIONS: Mapping[_State, frozenset[_State]] = {
    _State.NEW: frozenset({_State.STARTING, _State.STOPPING}),
    _State.STARTING: frozenset({_State.RUNNING, _State.STOPPING, _State.CLOSED}),
    _State.RUNNING: frozenset({_State.ENDED, _State.STOPPING}),
    _State.ENDED: frozenset({_State.STOPPING}),
    _State.STOPPING: frozenset({_State.STOPPED}),
    _State.STOPPED: frozenset({_State.CLOSED}),
    _State.CLOSED: frozenset(),
}
#: States in which our stop was already sent: exit sends nothing more.
_STOP_SENT = frozenset({_State.STOPPING, _State.STOPPED})


class RecordingSession:
    """One recording: acquire and start on enter, poll in the background, stop on exit.

    See the module documentation for the full contract. Options (all keyword-only):

    - ``cname``, ``uid``, ``mode``: the channel, the recorder's uid, the recording mode.
    - ``config``: the start ``clientRequest`` (``None`` only for `adopt`).
    - ``poll_interval``: seconds between polls; default 15 s, or half of
      ``recordingConfig.maxIdleTime`` when that is shorter.
    - ``stop_timeout`` (the client's, 180 s by default): how long the confirmed stop may take,
      in service time (waiting for the client's quota does not count).
    - ``notifications``: a `NotificationHub` to follow (default: the client's).
    - ``app_certificate`` (default: the client's) mints the recorder's token unless
      ``config.token`` is set, which is checked instead.
    - ``acquire_config``: extra acquire options (region, ``resourceExpiredHour``...): a request
      body beside ``config``, not a tuning knob, so it stays a keyword.
    - ``on_status``: called synchronously with each new status; must not block.
    - ``fail_fast`` (True): cancel the body and raise `RecordingFailedError` on failure.
    - ``async_stop``: send ``async_stop=true`` (answer at once, uploads continue).
    - ``timing``: a `TimingOptions` (start, failover, poll, outage, notification and orphan
      deadlines); ``polling``: a `PollingOptions` (first poll's delay and jitter, failed polls
      tolerated); ``credentials``: a `CredentialOptions` (expected duration, STS refresh, wall
      clock); ``runtime``: a `RuntimeOptions` (clock, sleep and randomness, for tests).
      ``None`` means the defaults each documents.
    """

    __slots__ = (
        "_client",
        "_cname",
        "_config",
        "_credentials",
        "_delivered",
        "_early",
        "_effective_interval",
        "_ended",
        "_exit_announced",
        "_feed",
        "_handle",
        "_hub",
        "_journal",
        "_judge",
        "_last_query",
        "_mode",
        "_options",
        "_outcome",
        "_poll_scope",
        "_result",
        "_spare_uids",
        "_state",
        "_stop_done",
        "_stop_error",
        "_stop_outcome",
        "_subscription",
        "_task_group",
        "_trace",
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
        poll_interval: float | None = None,
        stop_timeout: float | None = None,
        notifications: NotificationHub | None = None,
        app_certificate: str | None = None,
        acquire_config: AcquireConfig | None = None,
        on_status: StatusCallback | None = None,
        fail_fast: bool = True,
        async_stop: bool = False,
        timing: TimingOptions | None = None,
        polling: PollingOptions | None = None,
        credentials: CredentialOptions | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> None:
        self._init(
            client,
            cname=cname,
            uid=uid,
            mode=mode,
            config=config,
            poll_interval=poll_interval,
            stop_timeout=stop_timeout,
            notifications=notifications,
            app_certificate=app_certificate,
            acquire_config=acquire_config,
            on_status=on_status,
            fail_fast=fail_fast,
            async_stop=async_stop,
            timing=timing,
            polling=polling,
            credentials=credentials,
            runtime=runtime,
            adopted=False,
        )

    def _init(
        self,
        client: RecordingClient,
        *,
        cname: str,
        uid: int | str,
        mode: Mode | str,
        config: StartConfig | None,
        poll_interval: float | None,
        stop_timeout: float | None,
        notifications: NotificationHub | None,
        app_certificate: str | None,
        acquire_config: AcquireConfig | None,
        on_status: StatusCallback | None,
        fail_fast: bool,
        async_stop: bool,
        timing: TimingOptions | None,
        polling: PollingOptions | None,
        credentials: CredentialOptions | None,
        runtime: RuntimeOptions | None,
        adopted: bool,
    ) -> None:
        self._options = SessionOptions.create(
            config,
            acquire_config=acquire_config,
            poll_interval=poll_interval,
            stop_timeout=stop_timeout,
            async_stop=async_stop,
            on_status=on_status,
            fail_fast=fail_fast,
            timing=timing,
            polling=polling,
            runtime=runtime,
            adopted=adopted,
        )
        credentials = (
            instance_or_none("credentials", credentials, CredentialOptions) or CredentialOptions()
        )
        if not callable(getattr(client, "ensure_stopped", None)):
            raise ArgumentTypeError(
                f"client must be a RecordingClient, not {type(client).__name__}"
            )
        self._client = client
        self._mode = parse_mode(mode)
        check_cname(cname, self._mode.value)
        self._cname = cname
        given = uid_text(uid)  # checked at run time: callers may not be type-checked
        check_uid(given)
        self._uid = str(given)
        if self._uid in credentials.spare_uids:
            raise ValidationError("spare_uids", f"must not repeat the session's uid {self._uid}")
        self._spare_uids = list(credentials.spare_uids)
        self._config = config
        self._credentials = SessionCredentials.from_options(
            client,
            app_certificate=app_certificate,
            expected_duration=credentials.expected_duration,
            storage_credentials=credentials.storage_credentials,
            on_credentials=credentials.on_credentials,
            wall_clock=credentials.wall_clock,
        )
        self._hub = notifications if notifications is not None else client.notifications
        self._subscription: Subscription | None = None
        self._judge: HealthJudge | None = None  # from the start of the background tasks
        self._feed = StatusFeed(on_status)

        self._state = _State.NEW
        self._handle: RecordingHandle | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._poll_scope: anyio.CancelScope | None = None
        self._last_query: QueryResponse | None = None
        self._effective_interval = self._options.poll_interval
        self._outcome: SessionOutcome | None = None
        self._ended: anyio.Event | None = None
        self._waiters = 0
        self._delivered = False
        self._update_lock: anyio.Lock | None = None
        self._stop_done: anyio.Event | None = None
        self._result: StopResponse | None = None
        self._stop_outcome: StopOutcome | None = None
        self._stop_error: Exception | None = None
        # The service announced this recording's exit (a notification of its own sid, or an
        # exit status in a query answer): a 404 to our stop then proves it is gone.
        self._exit_announced = False
        self._journal: StartJournal | None = None
        self._trace = client.telemetry.session(cname=cname, uid=self._uid, mode=self._mode.value)
        self._early: list[Notification] = []  # events read while waiting for event 13

    @classmethod
    def adopt(
        cls,
        client: RecordingClient,
        handle: RecordingHandle,
        *,
        assume_ended_on_404: bool = False,
        poll_interval: float | None = None,
        stop_timeout: float | None = None,
        notifications: NotificationHub | None = None,
        app_certificate: str | None = None,
        on_status: StatusCallback | None = None,
        fail_fast: bool = True,
        async_stop: bool = False,
        timing: TimingOptions | None = None,
        polling: PollingOptions | None = None,
        credentials: CredentialOptions | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> RecordingSession:
        """Take over a recording started elsewhere, e.g. a handle stored before a restart.

        Entering the session sends no acquire and no start: it polls at once (unless
        ``first_poll_delay`` says otherwise) and stops the recording on exit like its own.
        The options are the constructor's; ``start_timeout`` counts from adoption.

        **A recording that already ended** (stopped by someone else, idle for
        ``maxIdleTime``, lost while nobody watched) answers ``query`` with ``404 failed to find
        worker``, and so does a recording in a high-availability failover. By default the
        session tolerates 404s for ``failover_grace`` (90 s), then the stop on exit re-checks a
        404 for its whole ``stop_timeout`` (180 s) and, once it held longer than the documented
        failover, takes the recording as ended (``ALREADY_GONE``, with a WARNING): the answer
        comes after about four and a half minutes. A ``stop_timeout`` under 90 s leaves such a
        stop unconfirmed (listed by ``client.unconfirmed()``).

        With ``assume_ended_on_404=True`` the first 404 is the answer: the first poll's 404
        ends the session at once as ``WORKER_LOST``, and a 404 to its stop counts as
        ``ALREADY_GONE`` without re-checking. The risk: a recording that was only failing
        over (up to 90 s) is then declared over and nobody stops it; it runs on, and bills,
        until it stops by itself (``maxIdleTime``). Use it for handles you expect to be over
        (say, ones stored long before a restart); keep the default when losing a live
        recording costs more than that wait.
        """
        given: object = handle  # checked at run time: callers may not be type-checked
        if not isinstance(given, RecordingHandle):
            kind = type(given).__name__
            raise ArgumentTypeError(f"handle must be a RecordingHandle, not {kind}")
        if not isinstance(assume_ended_on_404, bool):
            raise ValidationError("assume_ended_on_404", "must be True or False")
        session = cls.__new__(cls)
        session._init(
            client,
            cname=handle.cname,
            uid=handle.uid,
            mode=handle.mode,
            config=None,
            poll_interval=poll_interval,
            stop_timeout=stop_timeout,
            notifications=notifications,
            app_certificate=app_certificate,
            acquire_config=None,
            on_status=on_status,
            fail_fast=fail_fast,
            async_stop=async_stop,
            timing=timing,
            polling=polling,
            credentials=credentials,
            runtime=runtime,
            adopted=True,
        )
        if assume_ended_on_404:
            session._options = attrs.evolve(session._options, assume_ended_on_404=True)
        session._handle = handle
        return session

    def __repr__(self) -> str:
        sid = self._handle.sid if self._handle is not None else None
        return (
            f"<RecordingSession cname={self._cname!r} uid={self._uid!r} "
            f"mode={self._mode.value} sid={sid!r} state={self._state.value}>"
        )

    # -- observation ---------------------------------------------------------------------------

    @property
    def handle(self) -> RecordingHandle | None:
        """The recording's handle, from the moment ``start`` answered; kept after exit."""
        return self._handle

    @property
    def status(self) -> Status | None:
        """The latest status reported by ``query`` (or `RecordingStatus.REACQUIRING` while a
        refused start acquires again), or ``None`` before the first answer."""
        return self._feed.current

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
        return 0 if self._judge is None else self._judge.polls

    @property
    def poll_errors(self) -> int:
        """How many polls failed with a transient error (404s during failover not counted)."""
        return 0 if self._judge is None else self._judge.poll_errors

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
        return self._feed.subscribe()

    async def wait(self) -> SessionOutcome:
        """Wait until the recording ends and return how: a service-side exit is not raised.

        Returns when the service ends the recording (idle exit, ``maxRecordingHour``, death) or
        when it is stopped. A failure returned here counts as delivered: it is not raised again.
        """
        if self._state is _State.NEW:
            raise UsageError("the session has not been entered")
        assert self._ended is not None  # made on leaving NEW
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
        if self._state is _State.STARTING:  # the start's own path stops it if it must
            raise UsageError("the recording is still starting: stop it inside the block")
        await self._stop_once()
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self._stop_error is not None:
            raise self._stop_error
        return self._result

    def journal_to(self, journal: StartJournal) -> None:
        """Write this session's start to ``journal`` (before ``start`` is sent, then its sid).

        `agora_recording.redis.LeaseStore.record` calls it, so a worker killed between ``start``
        and its answer leaves an intent a janitor can resolve. Only before the session is entered.

        Nothing starts unjournalled: when ``begin`` fails or takes longer than 10 s, ``start``
        is never sent and entering raises `StartNotJournaledError` (nothing runs; retry later).
        The sid is written as soon as ``start`` answers; when that write fails or stalls past
        10 s a WARNING is logged and the recording goes on, since its intent is already
        journalled. A start the service refused is written as ``refused``; one that leaves a
        recording with no known sid as ``unresolved``, for a janitor to resolve.
        """
        if self._state is not _State.NEW:
            raise UsageError("journal_to() must be called before the session is entered")
        self._journal = journal

    # -- enter -----------------------------------------------------------------------------------

    async def __aenter__(self) -> RunningSession:
        if self._state is not _State.NEW:
            raise UsageError("a RecordingSession can be entered only once")
        self._move(_State.STARTING)
        self._trace.state("starting", self._handle)
        adopted = self._handle is not None
        if self._hub is not None:
            # Subscribed before start, so even the first events (and the sid, should the start
            # answer be lost) arrive.
            if self._handle is None:
                self._subscription = self._subscribe()
            else:
                self._subscription = self._hub.subscribe(sid=self._handle.sid)
        if self._handle is None:
            try:
                with self._trace.active():
                    await self._acquire_and_start()
            except BaseException:
                if self._sid is not None:  # started, then interrupted waiting for event 13
                    await self._stop_shielded()
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
        options = self._options
        self._judge = HealthJudge(
            started_at=options.clock(),
            start_timeout=options.start_timeout,
            failover_grace=options.failover_grace,
            max_poll_errors=options.max_poll_errors,
            outage_timeout=options.outage_timeout,
            events_silence=options.events_silence,
            assume_ended_on_404=options.assume_ended_on_404,
            adopted=adopted,
            max_recording_hour=max_recording_hour(self._config),
            max_idle_time=max_idle_time(self._config),
            token_source=self._credentials.token_source,
            sid=self._sid,
        )
        self._poll_scope = anyio.CancelScope()
        self._task_group = await enter_group()
        with self._trace.active():  # the tasks' requests are children of the session's span
            self._task_group.start_soon(self._poll_loop, name="agora-recording session poller")
            self._task_group.start_soon(
                self._credentials.refresh_loop, self, self._credentials_failed
            )
            if self._subscription is not None:
                self._task_group.start_soon(self._event_loop, name="agora-recording session events")
        self._move(_State.RUNNING)
        self._trace.state("running", self._handle)
        return cast("RunningSession", self)

    async def _acquire_and_start(self) -> None:
        config = self._config
        if config is None:
            raise ValidationError("config", "is required to start a recording (or use adopt())")
        # The recorder's token minted or checked, STS keys fetched: bad credentials fail here.
        config = await self._credentials.prepare(
            self._client.app_id, self._cname, self._uid, self._mode, config, self._options.sleep
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
        options = self._options
        spares = self._spare_uids
        configs = self._credentials.spare_configs(
            config,
            app_id=self._client.app_id,
            cname=self._cname,
            mode=self._mode,
            uids=spares,
        )

        def move_to(uid: str) -> tuple[StartConfig, Subscription | None]:
            """The documented new uid: this session records as ``uid`` from now on."""
            self._uid = uid
            if self._subscription is not None:
                self._subscription.close()
                self._subscription = self._subscribe()
            return configs[uid], self._subscription

        for replaced in range(MAX_HA_RESTARTS + 1):
            started = await start_recording(
                self._client,
                self._subscription,
                self._journal,
                cname=self._cname,
                uid=self._uid,
                mode=self._mode,
                config=config,
                acquire_config=self._acquire_request(),
                orphan_wait=options.orphan_wait,
                stop_timeout=options.stop_timeout,
                clock=options.clock,
                sleep=options.sleep,
                wall_clock=self._credentials.wall_clock,
                spare_uids=spares,
                move_to=move_to,
                on_reacquire=lambda: self._feed.publish(RecordingStatus.REACQUIRING, None),
            )
            config = configs.get(self._uid, config)
            handle = self._handle = started.handle
            if replaced or self._feed.current is RecordingStatus.REACQUIRING:
                # The status stream shows the new task beginning: REACQUIRING never outlives it.
                self._feed.publish(RecordingStatus.NOT_STARTED, handle.sid)
            if self._subscription is None:
                break
            self._subscription.bind(handle.sid)
            self._early = []
            if replaced == MAX_HA_RESTARTS or await ha_registered(
                self._client, self._subscription, self._early
            ):
                break
            # No event 13 within 10 s: the documented fault recovery, a new task. Its stop is
            # confirmed there (or listed by the client), never repeated on exit.
            self._handle = None
            await replace_unregistered(
                self._client,
                handle,
                stop_timeout=options.stop_timeout,
                clock=options.clock,
                sleep=options.sleep,
            )
            self._feed.publish(RecordingStatus.EXITED, handle.sid)
            if spares:  # "create a new recording task with a different UID"
                config = move_to(spares.pop(0))[0]
            else:
                self._subscription.close()
                self._subscription = self._subscribe()
        _log.info(
            "started recording sid=%s cname=%s mode=%s",
            handle.sid,
            self._cname,
            self._mode.value,
        )

    def _subscribe(self) -> Subscription:
        """Follow the notifications of the recording about to start: only one that begins from
        now on, and none this client already knows (the previous recording of the same cname
        and uid), can be this start's."""
        assert self._hub is not None
        return self._hub.subscribe(
            cname=self._cname, uid=self._uid, new_recording=True, exclude=self._client.known_sids
        )

    def _acquire_request(self) -> AcquireConfig | None:
        """The user's acquire options, with the scene the mode needs filled in."""
        requested = self._options.acquire_config
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

    # -- background: notifications and polls ---------------------------------------------------

    async def _event_loop(self) -> None:
        """Apply notifications as they arrive; never raises."""
        subscription, judge = self._subscription, self._judge
        assert subscription is not None
        assert judge is not None
        try:
            early, self._early = self._early, []
            for note in early:  # read while waiting for event 13
                if self._apply_event(note, judge):
                    return
            async for note in subscription:
                if self._apply_event(note, judge):
                    return
        except Exception:
            _log.exception("session event consumer crashed (sid=%s)", self._sid)

    def _apply_event(self, note: Notification, judge: HealthJudge) -> bool:
        """Apply one notification; True once it ended the recording."""
        if note.event_type == HA_REGISTER_EVENT:
            self._client._ha_registers_seen = True
        if note.sid != self._sid:
            # Another recording's news, e.g. the late exit of the previous recording on the
            # same cname and uid: it says nothing about this one.
            _log.debug("ignored a notification of sid %s (sid=%s)", note.sid, self._sid)
            return False
        facts = read_event(note)
        self._trace.notification(note.notify_ms)
        if facts.exit is not None:
            self._exit_announced = True
        ended = judge.event(facts, self._options.clock())
        if facts.status is not None:
            self._feed.publish(status_value(facts.status), self._sid)
            self._trace.status(self._feed.current)
        if ended is not None and self._state is _State.RUNNING:
            self._fail(self._ending(ended))
            return True
        return False

    async def _poll_loop(self) -> None:
        """Poll until failure or cancellation; never raises (a crash is logged and ends polling)."""
        assert self._poll_scope is not None
        judge = self._judge
        assert judge is not None
        options = self._options
        delay = options.first_poll_delay + options.poll_jitter * options.random()
        budget = self._client.poll_budget
        with self._poll_scope:
            budget.join()
            try:
                while True:
                    await options.sleep(delay)
                    covered = judge.events_cover(options.clock())
                    if covered is not None:
                        delay = covered
                        continue
                    judge.poll_started(options.clock())
                    ended = await self._poll_once(judge)
                    if ended is not None:
                        self._fail(self._ending(ended))
                        return
                    delay = self._next_poll_delay(judge)
            except Exception:
                _log.exception("session poller crashed; polling stopped (sid=%s)", self._sid)
            finally:
                budget.leave()

    def _next_poll_delay(self, judge: HealthJudge) -> float:
        interval = self._options.poll_interval
        if judge.in_health_phase:
            delay = min(interval, HEALTH_POLL_INTERVAL)
        else:
            self._effective_interval = self._client.poll_budget.interval(interval)
            self._trace.poll_interval(self._effective_interval)
            delay = self._effective_interval
        return judge.poll_delay(delay, self._options.clock())

    async def _poll_once(self, judge: HealthJudge) -> Ended | None:
        handle = self._handle
        assert handle is not None
        priority = Priority.HEALTH if judge.in_health_phase else Priority.POLL
        clock = self._options.clock
        # The judge is told how long the poll waited for the quota and a place in flight: our
        # queue never counts against the failover grace or the outage timeout.
        deadline = _CallDeadline(self._options.poll_timeout)
        try:
            response = await self._client._poll(handle, priority, deadline)
        except NotFoundError as exc:
            if exc.worker_not_found:
                return judge.not_found(exc, clock(), deadline.queued)
            return judge.poll_failed(exc, clock(), deadline.queued)
        except Exception as exc:
            return judge.poll_failed(exc, clock(), deadline.queued)
        self._last_query = response
        ended = judge.answered(response, clock(), deadline.queued)
        if ended is not None and ended.end_reason in _ANNOUNCED_EXITS:
            self._exit_announced = True
        if response.status is not None:
            self._feed.publish(response.status, self._sid)
            self._trace.status(response.status)
        return ended

    # -- endings ---------------------------------------------------------------------------------

    def _ending(self, ended: Ended) -> SessionOutcome:
        """The outcome of a verdict, with what the session knows now."""
        return outcome_of(
            ended, handle=self._handle, status=self._feed.current, last_query=self._last_query
        )

    def _fail(self, outcome: SessionOutcome) -> None:
        """Record a failure seen by a background task; cancel the body when the user asked."""
        if self._state is not _State.RUNNING:  # already ended, or being stopped
            return
        _log.warning("recording sid=%s ended: %s", self._sid, outcome.detail)
        self._trace.failed(outcome.end_reason.value, outcome.detail)
        self._move(_State.ENDED)
        self._end(outcome)
        if self._options.fail_fast and self._waiters == 0 and self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    def _credentials_failed(self, error: RecordingFailedError) -> None:
        """The storage credentials could not be refreshed before their expiry drew near."""
        outcome = SessionOutcome(
            end_reason=EndReason.CREDENTIALS_EXPIRING,
            detail=error.detail,
            status=self._feed.current,
            last_query=self._last_query,
            error=error,
        )
        self._fail(outcome)

    def _end(self, outcome: SessionOutcome) -> None:
        if self._outcome is None:
            self._outcome = outcome
        if self._ended is not None:
            self._ended.set()

    # -- stop and exit ---------------------------------------------------------------------------

    async def _stop_once(self) -> None:
        """Send stop the first time; later and concurrent callers wait for that one."""
        if self._state in _STOP_SENT or self._state is _State.CLOSED:
            assert self._stop_done is not None  # a closed session with a handle was stopped
            await self._stop_done.wait()
            return
        self._move(_State.STOPPING)
        done = self._stop_done = anyio.Event()
        if self._poll_scope is not None:
            self._poll_scope.cancel()
        try:
            await self._send_stop()
        finally:
            self._end(self._ending(Ended(EndReason.STOPPED, "stopped by the client")))
            self._move(_State.STOPPED)
            done.set()

    async def _send_stop(self) -> None:
        handle = self._handle
        assert handle is not None
        options = self._options
        try:
            # Shielded wherever it is sent from (exit or an early ``stop()``): a stop cut short
            # leaves the recording billing. The client bounds the service's time.
            with anyio.CancelScope(shield=True), self._trace.stopping(handle):
                confirmation = await self._client.ensure_stopped(
                    handle,
                    async_stop=options.async_stop,
                    stop_timeout=options.stop_timeout,
                    assume_ended_on_404=options.assume_ended_on_404 or self._exit_announced,
                    clock=options.clock,
                    sleep=options.sleep,
                )
        except Exception as exc:
            # The client logged it at ERROR and keeps the handle in `client.unconfirmed()`.
            self._stop_outcome = StopOutcome.FAILED
            self._stop_error = exc
            self._trace.stopped(StopOutcome.FAILED.value)
            return
        self._result = confirmation.response
        self._stop_outcome = confirmation.outcome
        self._trace.stopped(confirmation.outcome.value)
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
        error = await self._leave_tasks(exc_type, exc, tb)
        stop_was_sent = self._state in _STOP_SENT  # by stop(): its error was raised there
        await self._stop_shielded()
        self._close()
        stop_error = None if stop_was_sent else self._stop_error
        failure = self._undelivered_failure()
        if error is None:
            if failure is not None:
                if stop_error is not None:
                    add_note(failure, f"The stop sent on exit failed too: {stop_error!r}")
                raise failure from failure.cause
            if stop_error is not None:
                raise stop_error
            # A cancellation that arrived during the shielded stop propagates from here.
            await anyio.lowlevel.checkpoint_if_cancelled()
            return exc is not None  # our own cancellation (on failure) is absorbed
        if not isinstance(error, anyio.get_cancelled_exc_class()):
            if stop_error is not None:
                add_note(error, f"The stop sent on exit failed too: {stop_error!r}")
            if failure is not None:
                add_note(error, f"The recording also failed: {failure}")
        if error is exc:
            return False
        raise error

    async def _leave_tasks(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> BaseException | None:
        """End the background tasks; the body's error as itself (never in a group), or
        ``None`` when the task group absorbed it (our own fail-fast cancellation)."""
        task_group, poll_scope = self._task_group, self._poll_scope
        assert task_group is not None
        assert poll_scope is not None
        self._task_group = None  # a failure noticed from now on cancels nothing
        poll_scope.cancel()
        self._credentials.cancel()
        if self._subscription is not None:
            self._subscription.close()  # ends the event consumer
        return await leave_group(task_group, exc, tb)

    def _undelivered_failure(self) -> RecordingFailedError | None:
        """The failure to raise on exit: with ``fail_fast``, unless ``wait()`` returned it."""
        outcome = self._outcome
        if self._options.fail_fast and not self._delivered and outcome is not None:
            return outcome.error
        return None

    def _close(self) -> None:
        self._move(_State.CLOSED)
        if self._subscription is not None:
            self._subscription.close()
            self._trace.dropped(self._subscription.dropped)
        self._trace.state("closed")
        if self._ended is not None:
            self._ended.set()
        self._feed.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _move(self, to: _State) -> None:
        """The one place the state changes, only along `_TRANSITIONS`."""
        if to not in _TRANSITIONS[self._state]:
            raise AssertionError(f"session moved {self._state.value} -> {to.value}")
        if self._state is _State.NEW:  # from now on wait() may be called
            self._ended = anyio.Event()
        self._state = to

    @property
    def _sid(self) -> str | None:
        return None if self._handle is None else self._handle.sid

    def _running_handle(self) -> RecordingHandle:
        state = self._state
        if state in _STOP_SENT:
            raise UsageError("the recording has been stopped")
        if state is _State.STARTING:
            raise UsageError("the recording is still starting: update it inside the block")
        if self._handle is None or state not in (_State.RUNNING, _State.ENDED):
            raise UsageError("the session is not recording")
        return self._handle

    def _lock(self) -> anyio.Lock:
        if self._update_lock is None:
            self._update_lock = anyio.Lock()
        return self._update_lock


def check_adopt_options(
    client: RecordingClient, options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Check keywords meant for a later `RecordingSession.adopt` now, by the same rules, so a
    janitor refuses bad ones when it is set up rather than when it adopts a recording."""
    chosen = dict(options or {})
    probe = RecordingHandle(resource_id="probe", sid="probe", mode=Mode.MIX, cname="probe", uid="1")
    try:
        RecordingSession.adopt(client, probe, **chosen)
    except AgoraError:
        raise
    except TypeError as exc:  # an unknown keyword
        raise ValidationError("session_options", str(exc)) from None
    return chosen


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
