"""The :class:`Emulator`: one emulated Cloud Recording service, its ASGI app and test controls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import httpx
from starlette.applications import Starlette

from agora_recording.errors import ArgumentTypeError, UsageError, ValidationError
from agora_recording.validation import redact
from agora_recording.webhooks import EventType

from ._app import build_app
from ._channels import Channel
from ._clock import Clock, FakeClock, LoopClock, SystemClock
from ._control import control_routes
from ._credentials import check_certificate
from ._driver import Wakeup, drive
from ._faults import DeliveryPlan, Faults
from ._files import file_names
from ._gateway import Gateway
from ._ids import IdMinter
from ._notifications import DEFAULT_NOTIFICATION_SECRET, Notifier, SignedNotification
from ._page import RequestLog, page_routes
from ._quota import AppQuota
from ._recording import Recording, status_at
from ._state import State
from ._stats import Stats

__all__ = ["DEFAULT_CUSTOMER_ID", "DEFAULT_CUSTOMER_SECRET", "Emulator", "RecordingInfo"]

DEFAULT_CUSTOMER_ID = "emulator-customer-id"
"""The customer ID an emulator accepts unless told otherwise."""
DEFAULT_CUSTOMER_SECRET = "emulator-customer-secret"
"""The customer secret an emulator accepts unless told otherwise."""


@attrs.frozen(kw_only=True)
class RecordingInfo:
    """A read-only view of one recording, as the emulator sees it now."""

    sid: str
    resource_id: str
    app_id: str
    cname: str
    uid: str
    mode: str
    status: int
    running: bool
    reachable: bool
    exit_kind: str | None
    files: tuple[str, ...]
    """Object keys written so far: index files and MP4s, screenshots, backup-cloud indexes and
    the output of postponed transcoding (named by `agora_recording.files`)."""
    started_at: float
    client_request: dict[str, Any] = attrs.field(hash=False)
    """The started ``clientRequest``, with credentials and tokens redacted."""
    storage_expires_at: float | None = None
    """When the STS storage credentials in force expire (None: no STS token)."""
    upload_failed_at: float | None = None
    """When uploads to the bucket first failed because those credentials had expired."""


class Emulator:
    """An in-memory Agora Cloud Recording service.

    ``emulator.app`` is its ASGI application (Starlette): mount it in-process with
    ``httpx.ASGITransport`` or run it with :func:`agora_recording.emulator.serve`. The rest of
    the object is the test-facing control surface: :meth:`channel` for simulated users,
    :attr:`faults`, :attr:`notifications`, :meth:`recording`, :meth:`running_recordings`,
    :attr:`stats`, :meth:`add_competing_load`, and :meth:`advance` when the ``clock`` is a
    :class:`FakeClock`. With a :class:`LoopClock` time follows the event loop instead, and
    :meth:`run_timers` (or :meth:`deliver_notifications`) makes timed events happen on time.

    Options: ``customer_id``/``customer_secret`` are the accepted Basic-auth credentials;
    ``app_id`` restricts the accepted App ID (any when None); ``rate_limit`` is the request
    quota per App ID per second (None: off); ``max_concurrent_recordings`` is the quota checked
    at acquire (None: unlimited); ``startup_delay`` is how long status takes to climb from 0 to
    5 (or a function drawing each recording's delay, for fleets whose recorders come up at
    different speeds) and ``exit_window`` how long an exiting task reports 6-8 (or 20) before it
    is gone;
    ``notification_secret`` signs NCS callbacks, which are logged in :attr:`notifications`,
    passed to ``on_notification`` and, with ``notification_url``, POSTed there by
    :meth:`deliver_notifications`; ``seed`` makes identifiers reproducible.

    ``publishers`` (uids) join and publish audio and video in a channel that is empty when a
    (non-web) recording starts there, so a first recording has files without a simulated user
    (the standalone server's ``--publishers``; tests leave it empty and use :meth:`channel`).

    ``app_certificate`` (32 hex characters; never shown) makes the emulator judge the
    recorder's ``clientRequest.token`` as a project with an App Certificate does: a missing or
    bad token lets ``start`` answer 200, then the task exits (NCS error 110, or 109 when
    expired) and ``query`` answers 404; a good one ends the recording when it expires. STS
    storage credentials (``stsToken``/``stsExpiration``) are tracked with or without it:
    unrefreshed past their expiry, uploads fail (NCS uploader error 47) and ``stop`` answers
    ``uploadingStatus: "backuped"``.
    """

    def __init__(
        self,
        *,
        customer_id: str = DEFAULT_CUSTOMER_ID,
        customer_secret: str = DEFAULT_CUSTOMER_SECRET,
        app_id: str | None = None,
        clock: Clock | None = None,
        rate_limit: float | None = 10.0,
        max_concurrent_recordings: int | None = 50,
        startup_delay: float | Callable[[], float] = 4.0,
        exit_window: float = 3.0,
        notification_secret: str = DEFAULT_NOTIFICATION_SECRET,
        notification_url: str | None = None,
        on_notification: Callable[[SignedNotification], object] | None = None,
        notification_retry_delays: Sequence[float] = (0.0, 1.0, 2.0),
        notification_timeout: float = 10.0,
        seed: int | None = None,
        app_certificate: str | None = None,
        publishers: Sequence[str | int] = (),
    ) -> None:
        if (not callable(startup_delay) and startup_delay < 0) or exit_window < 0:
            raise ValidationError("startup_delay", "startup_delay and exit_window must be >= 0")
        self.customer_id = customer_id
        self._app_id = app_id
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._quota = AppQuota(rate_limit) if rate_limit is not None else None
        self.stats = Stats(rate_limit)
        """Requests and 429s per App ID and endpoint (see :class:`Stats`)."""
        minter = IdMinter(seed)
        self._notifier = Notifier(
            clock=self.clock,
            minter=minter,
            secret=notification_secret,
            url=notification_url,
            on_notification=on_notification,
            retry_delays=notification_retry_delays,
            timeout=notification_timeout,
            delivery_plan=self._delivery_plan,
        )
        self._wakeups: set[Wakeup] = set()  # of the running driver loops
        self._notifier.on_queue = self._wake_drivers
        self._state = State(
            clock=self.clock,
            minter=minter,
            notifier=self._notifier,
            max_concurrent_recordings=max_concurrent_recordings,
            startup_delay=startup_delay,
            exit_window=exit_window,
            app_certificate=check_certificate(app_certificate),
            on_schedule=self._wake_drivers,
            populate=self._populate if publishers else None,
        )
        self._publishers = tuple(str(uid) for uid in publishers)
        self.faults = Faults(self._state.apply_fault, clock=self.clock)
        """Injected failures of calls, recordings and notification deliveries."""
        self._state.use_faults(self.faults.take_for_new_recording)
        gateway = Gateway(
            customer_id=customer_id,
            customer_secret=customer_secret,
            app_id=app_id,
            quota=self._quota,
            clock=self.clock,
        )
        #: The last requests answered, for the web page at ``/`` (bounded).
        self.requests = RequestLog()
        self.app: Starlette = build_app(
            gateway=gateway,
            state=self._state,
            faults=self.faults,
            stats=self.stats,
            new_request_id=minter.request_id,
            control=control_routes(self, self._state),
            page=page_routes(self, self.requests),
            request_log=self.requests,
            background=self.deliver_notifications if notification_url is not None else None,
        )
        """The ASGI application: the service's routes and the ``/_emulator`` control routes."""

    def __repr__(self) -> str:
        return (
            f"Emulator(customer_id={self.customer_id!r}, app_id={self._app_id!r}, "
            f"clock={self.clock!r})"
        )

    def _populate(self, cname: str) -> None:
        """``publishers`` join an empty channel a recording starts in, publishing both tracks."""
        channel = self.channel(cname)
        for uid in self._publishers:
            channel.publish(uid)

    def _wake_drivers(self, due: float) -> None:
        for wakeup in list(self._wakeups):
            wakeup.ring(due)

    def _delivery_plan(self, event_type: EventType, sid: str | None) -> DeliveryPlan:
        return self.faults.delivery_plan(event_type, sid)

    # -- test controls -------------------------------------------------------------------------

    def channel(self, cname: str) -> Channel:
        """A handle to simulate users of channel ``cname`` (join, publish, unpublish, leave)."""
        return Channel(self._state, cname)

    def advance(self, seconds: float) -> float:
        """Move a :class:`FakeClock` forward and settle timers; return the new time."""
        if not isinstance(self.clock, FakeClock):
            raise ArgumentTypeError("advance() needs an emulator built with clock=FakeClock()")
        now = self.clock.advance(seconds)
        self._state.settle()
        return now

    def settle(self) -> None:
        """Fire whatever timers fell due (idle exit, progress events) without a request."""
        self._state.settle()

    def add_competing_load(self, app_id: str, rate: float) -> float:
        """Simulate another process sharing ``app_id``'s quota: from now on it takes ``rate``
        requests per second from the App ID's rate-limit bucket (computed lazily from the
        clock; no task runs). Calls add up; a negative ``rate`` takes load away. Returns the
        total competing load on ``app_id``. Needs the emulator's ``rate_limit``.
        """
        if self._quota is None:
            raise UsageError("add_competing_load() needs an emulator with a rate_limit")
        return self._quota.add_load(app_id, rate, self.clock.time())

    def clear_competing_load(self) -> None:
        """Remove every competing load (the quota is the callers' alone again)."""
        if self._quota is not None:
            self._quota.clear_load(self.clock.time())

    def running_recordings(self) -> list[RecordingInfo]:
        """The recordings still running (not stopped, not exiting): what is still billing.

        A recording past ``resourceExpiredHour`` is unreachable through the API but still
        runs, so it is included; one in its exit window is not.
        """
        return [info for info in self.recordings() if info.running]

    def recording(self, sid: str) -> RecordingInfo | None:
        """The recording ``sid`` as it is now, or None once it is gone."""
        return next((r for r in self.recordings() if r.sid == sid), None)

    def recordings(self) -> list[RecordingInfo]:
        """Every recording that still exists (running or in its exit window)."""
        return self._state.inspect(_info)

    @property
    def notifications(self) -> list[SignedNotification]:
        """Every NCS notification emitted so far, oldest first (signed, as sent)."""
        return self._notifier.log

    def event_types(self, sid: str | None = None) -> list[int]:
        """The ``eventType`` of each notification so far (of one recording if ``sid``)."""
        return [n.event_type for n in self.notifications if sid is None or n.sid == sid]

    def clear_notifications(self) -> None:
        """Forget the notifications logged so far."""
        self._notifier.clear()

    @property
    def notification_url(self) -> str | None:
        """Where notifications are POSTed, or None (they are only logged)."""
        return self._notifier.url

    @property
    def delivery_log(self) -> list[dict[str, Any]]:
        """The delivery outcome of the last notifications POSTed (``noticeId``,
        ``eventType``, ``sid``, ``outcome``: ``delivered`` or ``gave up: <cause>``), oldest
        first, the last 1000."""
        return list(self._notifier.outcomes)

    @property
    def delivery_counts(self) -> dict[str, int]:
        """Counts of HTTP notification deliveries: ``attempts``, ``delivered``,
        ``duplicated``, ``dropped`` (by a fault) and ``gave_up`` (no 200 after the resends)."""
        return dict(self._notifier.counts)

    async def run_timers(self, *, poll_interval: float | None = None) -> None:
        """Make timed events happen when they fall due on the clock, until cancelled.

        Without it they happen lazily, whenever a request or a test looks; with it an idle
        exit, the end of a failover or ``maxRecordingHour`` emits its notifications (to the
        log and ``on_notification``) at the very time it happens. Run it in a task group;
        :func:`agora_recording.testing.virtual_service` does. ``poll_interval`` bounds each
        sleep (default 30 s of a :class:`LoopClock`, else 0.1 s) so changes made from other
        threads are seen.
        """
        await self._drive(None, poll_interval)

    async def deliver_notifications(
        self, *, client: httpx.AsyncClient | None = None, poll_interval: float | None = None
    ) -> None:
        """Run the timers (see :meth:`run_timers`) and POST notifications to
        ``notification_url`` when they are due, until cancelled (run it in a task group).

        The standalone server runs this in its lifespan. ``client`` is the ``httpx.AsyncClient``
        to POST with (for instance on ``httpx.ASGITransport`` of an in-process receiver);
        without it one is made for the duration.
        """
        self._notifier.check_url()
        if client is None:
            async with httpx.AsyncClient() as own:
                await self._drive(own, poll_interval)
        else:
            await self._drive(client, poll_interval)

    async def _drive(self, client: httpx.AsyncClient | None, poll_interval: float | None) -> None:
        if poll_interval is None:
            poll_interval = 30.0 if isinstance(self.clock, LoopClock) else 0.1
        notifier = self._notifier
        wakeup = Wakeup()
        self._wakeups.add(wakeup)

        def next_due() -> float | None:
            times = [self._state.next_due(), notifier.next_due() if client else None]
            return min((t for t in times if t is not None), default=None)

        async def deliver() -> None:
            if client is not None:
                await notifier.deliver_due(client)

        try:
            await drive(
                now=self.clock.time,
                settle=self._state.settle,
                next_due=next_due,
                wakeup=wakeup,
                poll_interval=poll_interval,
                work=deliver,
            )
        finally:
            self._wakeups.discard(wakeup)


def _info(recording: Recording, now: float) -> RecordingInfo:
    return RecordingInfo(
        sid=recording.sid,
        resource_id=recording.resource_id,
        app_id=recording.app_id,
        cname=recording.cname,
        uid=recording.uid,
        mode=recording.mode,
        status=status_at(recording, now),
        running=recording.running,
        reachable=recording.reachable(now),
        exit_kind=recording.exit_kind,
        files=tuple(file_names(recording, now)),
        started_at=recording.started_at,
        client_request=redact(recording.request),
        storage_expires_at=recording.sts_expires_at,
        upload_failed_at=recording.upload_failed_at,
    )
