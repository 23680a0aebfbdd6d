"""Fault injection: make calls fail, slow down or drop, make recordings misbehave, and make
notification deliveries go wrong.

Three kinds of faults exist:

* **call faults** act on the next calls of an endpoint (``"acquire"``, ``"start"``,
  ``"query"``, ``"update"``, ``"updateLayout"``, ``"stop"``, or ``"*"`` for any): answer with a
  given status and body (JSON, or any raw bytes with any ``Content-Type``, plus headers such as
  ``Retry-After``), add latency, or drop the connection; :meth:`Faults.fail_for` fails every
  call for a span of the emulator's clock instead of a number of calls. With
  ``after_processing=True`` the emulator does the work first and then loses the answer, as
  when a response times out after the service acted (a retried ``start`` then gets 201/7).
* **recording faults** act on a recording, named by ``sid`` or, when ``sid`` is None, on the
  next recording to start: die some seconds after start, fail over for a while, exit
  abnormally (status 20), report ``uploadingStatus: "backuped"`` at stop, or never send
  event 13 (high-availability registration).
* **delivery faults** act on the HTTP deliveries of NCS notifications to
  ``notification_url`` (the emulator's log and ``on_notification`` still see each
  notification once, as emitted): deliver twice, out of order, late, never, or signed with a
  wrong secret, as the Notification Center Service's documentation warns receivers may see.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from agora_recording._protocol import Endpoint
from agora_recording.errors import UsageError, ValidationError

from ._clock import Clock

__all__ = [
    "ENDPOINTS",
    "CallPlan",
    "DeliveryPlan",
    "DropConnection",
    "FailAnswer",
    "Faults",
    "RecordingFault",
]

ENDPOINTS = tuple(endpoint.name for endpoint in Endpoint.ALL)
"""The wire names of the six endpoints, as the client's endpoint table spells them."""
_ALIASES = {"update_layout": "updateLayout", "any": "*"}
_DEFAULT_BODIES: Mapping[int, Mapping[str, Any]] = {
    206: {"code": 65, "reason": "request not completed"},
    429: {"message": "API rate limit exceeded"},
    500: {"code": 500, "reason": "internal_error"},
    504: {"code": 62, "reason": "request timeout"},
}


class DropConnection(Exception):
    """Raised inside the app to make the client see a broken connection instead of an answer."""


def endpoint_name(endpoint: str) -> str:
    """Normalize an endpoint name, refusing unknown ones."""
    name = _ALIASES.get(endpoint, endpoint)
    if name != "*" and name not in ENDPOINTS:
        raise ValidationError(
            "endpoint", f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS} or '*'"
        )
    return name


@attrs.frozen
class FailAnswer:
    """The answer an injected failure sends: status, raw body bytes, media type and headers."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    def json(self) -> Any:
        """The body parsed as JSON (for answers built from a JSON body)."""
        return json.loads(self.body)


@attrs.define
class _CallFault:
    endpoint: str
    kind: Literal["fail", "drop", "latency"]
    remaining: int | None
    answer: FailAnswer | None = None
    after_processing: bool = False
    seconds: float = 0.0
    until: float | None = None  # time-based faults: active while the clock is before this


@attrs.frozen
class RecordingFault:
    """A fault for one recording: ``kind`` with its ``after``/``duration`` in seconds."""

    kind: Literal[
        "die",
        "failover",
        "abnormal_exit",
        "backup_upload",
        "slow_page",
        "capability_limit",
        "no_ha_register",
    ]
    after: float = 0.0
    duration: float = 0.0
    count: int = 0
    limit_type: str = ""


@attrs.frozen
class CallPlan:
    """What the faults decided for one call."""

    latency: float = 0.0
    fail: FailAnswer | None = None
    fail_after_processing: bool = False
    drop: bool = False
    drop_after_processing: bool = False


class Faults:
    """The test-facing fault API of an emulator (``emulator.faults``)."""

    def __init__(
        self, apply: Callable[[str, RecordingFault], None], *, clock: Clock | None = None
    ) -> None:
        self._apply = apply
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: list[_CallFault] = []
        self._next_recording: list[RecordingFault] = []
        self._deliveries: list[_DeliveryFault] = []

    # -- call faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        endpoint: str,
        status: int = 500,
        body: Mapping[str, Any] | None = None,
        *,
        times: int = 1,
        after_processing: bool = False,
        raw: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``endpoint`` with ``status`` and ``body``.

        Without ``body``: 206 gives code 65, 500 code 500, 504 code 62, 429 the gateway message,
        anything else ``{"code": status, "reason": "injected fault"}``. ``raw`` sends those
        exact bytes instead (an HTML error page from a proxy, a truncated or deeply nested JSON
        document, a huge body), as ``content_type`` (default ``application/json``).
        ``headers`` are added to the answer; ``retry_after`` (seconds) sets ``Retry-After``.
        """
        answer = _answer(status, body, raw, content_type, headers, retry_after)
        self._add(
            _CallFault(
                endpoint_name(endpoint),
                "fail",
                _times(times),
                answer=answer,
                after_processing=after_processing,
            )
        )

    def fail_for(
        self,
        seconds: float,
        endpoint: str = "*",
        status: int = 503,
        body: Mapping[str, Any] | None = None,
        *,
        after_processing: bool = False,
        raw: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer every call of ``endpoint`` with ``status`` for the next ``seconds`` of the
        emulator's clock (a burst of 503s, say), however many calls come; then calls pass again.

        Body and header options as for :meth:`fail_next`. Needs the emulator's clock, so it works
        with a :class:`FakeClock` (advance past it) as with a :class:`LoopClock` (sleep past it).
        """
        if self._clock is None:
            raise UsageError("fail_for() needs faults built with the emulator's clock")
        until = self._clock.time() + _non_negative(seconds)
        answer = _answer(status, body, raw, content_type, headers, retry_after)
        self._add(
            _CallFault(
                endpoint_name(endpoint),
                "fail",
                None,
                answer=answer,
                after_processing=after_processing,
                until=until,
            )
        )

    def drop_connection(
        self, endpoint: str = "*", *, times: int = 1, after_processing: bool = False
    ) -> None:
        """Break the connection of the next ``times`` calls of ``endpoint``.

        In-process (``httpx.ASGITransport``) the client's request raises
        ``httpx.RemoteProtocolError``; over real HTTP the server sends the status line and
        headers, then closes the connection, which httpx reports as a transport error
        (``RemoteProtocolError`` or ``ReadError``).
        """
        self._add(
            _CallFault(
                endpoint_name(endpoint),
                "drop",
                _times(times),
                after_processing=after_processing,
            )
        )

    def add_latency(self, seconds: float, endpoint: str = "*", *, times: int | None = None) -> None:
        """Delay calls of ``endpoint`` by ``seconds`` of real time (all of them if ``times``
        is None). The delay is an ``anyio.sleep``, so a client timeout or cancellation cuts it.
        """
        if seconds < 0:
            raise ValidationError("latency", "must be >= 0")
        count = None if times is None else _times(times)
        self._add(_CallFault(endpoint_name(endpoint), "latency", count, seconds=seconds))

    def plan(self, endpoint: str) -> CallPlan:
        """Consume the faults that apply to one call of ``endpoint`` (used by the app)."""
        latency = 0.0
        fail: _CallFault | None = None
        drop: _CallFault | None = None
        now = self._clock.time() if self._clock is not None else None
        with self._lock:
            for fault in list(self._calls):
                if fault.until is not None and now is not None and now >= fault.until:
                    self._calls.remove(fault)  # its time span is over
                    continue
                if fault.endpoint not in ("*", endpoint):
                    continue
                if fault.kind == "latency":
                    latency += fault.seconds
                elif fault.kind == "fail" and fail is None and drop is None:
                    fail = fault
                elif fault.kind == "drop" and fail is None and drop is None:
                    drop = fault
                else:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._calls.remove(fault)
        return CallPlan(
            latency=latency,
            fail=fail.answer if fail else None,
            fail_after_processing=bool(fail and fail.after_processing),
            drop=drop is not None,
            drop_after_processing=bool(drop and drop.after_processing),
        )

    # -- recording faults ----------------------------------------------------------------------

    def die_after(self, seconds: float, *, sid: str | None = None) -> None:
        """Make a recording vanish ``seconds`` after its start (or after now, for a running
        ``sid``): from then on query, update and stop answer 404 "failed to find worker".
        """
        self._recording(sid, RecordingFault("die", after=_non_negative(seconds)))

    def failover(
        self, *, sid: str | None = None, after: float = 0.0, duration: float = 30.0
    ) -> None:
        """Simulate a high-availability failover ``after`` seconds from start (next recording)
        or from now (``sid``): control calls answer 404 for ``duration`` seconds, then the task
        is back with a new recorder uid (NCS event 12) and new files prefixed ``bak<n>_``. A
        fourth failover of the same task stops it, as the service does.
        """
        fault = RecordingFault("failover", after=_non_negative(after), duration=duration)
        self._recording(sid, fault)

    def abnormal_exit(self, *, sid: str | None = None, after: float = 0.0) -> None:
        """Make a recording exit abnormally: ``query`` reports status 20 for the exit window,
        then the task is gone (404).
        """
        self._recording(sid, RecordingFault("abnormal_exit", after=_non_negative(after)))

    def backup_upload(self, *, sid: str | None = None) -> None:
        """Make a recording's stop report ``uploadingStatus: "backuped"`` (and NCS event 32)."""
        self._recording(sid, RecordingFault("backup_upload"))

    def slow_page_load(self, *, loads: int = 1) -> None:
        """Make the next web recording's page miss ``readyTimeout`` on its first ``loads``
        loads (1 or 2): the recorder reloads it (NCS 73), and after a second timeout stops
        (NCS 71 code 4), as Agora's "Web page load timeout detection" says. Without
        ``readyTimeout`` in the start request the page is not watched and records at once.
        """
        if loads not in (1, 2):
            raise ValidationError("loads", "must be 1 or 2")
        self._recording(None, RecordingFault("slow_page", count=loads))

    def web_capability_limit(
        self, limit_type: str = "WebGL", *, sid: str | None = None, after: float = 0.0
    ) -> None:
        """Make a web recording's page reach a limit of the recorder ``after`` seconds in: NCS
        event 72 with ``limitType`` ``"resolution"``, ``"WebGL"`` or ``"bandwidth"``. The
        recording goes on (the event page documents no stop for it).
        """
        if limit_type not in ("resolution", "WebGL", "bandwidth"):
            raise ValidationError("limit_type", "must be 'resolution', 'WebGL' or 'bandwidth'")
        fault = RecordingFault(
            "capability_limit", after=_non_negative(after), limit_type=limit_type
        )
        self._recording(sid, fault)

    def withhold_ha_register(self, *, sid: str | None = None) -> None:
        """Never send the next recording's NCS event 13 (high-availability registration), as
        when its task failed to register; the best practice is then to start a new task."""
        self._recording(sid, RecordingFault("no_ha_register"))

    # -- delivery faults -----------------------------------------------------------------------

    def drop_notifications(
        self, *, times: int | None = 1, event_type: int | None = None, sid: str | None = None
    ) -> None:
        """Never deliver the next ``times`` notifications (all when None) to the receiver URL,
        resends included, as if every attempt was lost. ``event_type``/``sid`` narrow which
        notifications count.
        """
        self._delivery(_DeliveryFault("drop", _count(times), event_type, sid))

    def duplicate_notifications(
        self, *, times: int | None = 1, event_type: int | None = None, sid: str | None = None
    ) -> None:
        """Deliver the next ``times`` notifications twice, byte for byte the same (same
        ``noticeId`` and ``notifyMs``), as the service sometimes does.
        """
        self._delivery(_DeliveryFault("duplicate", _count(times), event_type, sid))

    def delay_notifications(
        self,
        seconds: float,
        *,
        times: int | None = 1,
        event_type: int | None = None,
        sid: str | None = None,
    ) -> None:
        """Deliver the next ``times`` notifications ``seconds`` late on the emulator's clock
        (later notifications are not held up: they overtake the late ones).
        """
        fault = _DeliveryFault("delay", _count(times), event_type, sid, _non_negative(seconds))
        self._delivery(fault)

    def reorder_notifications(
        self, *, times: int | None = 1, event_type: int | None = None, sid: str | None = None
    ) -> None:
        """Hold back each of the next ``times`` notifications until the next notification has
        been queued, then deliver it after that one: the receiver sees them out of order.
        """
        self._delivery(_DeliveryFault("reorder", _count(times), event_type, sid))

    def sign_notifications_with(
        self,
        secret: str,
        *,
        times: int | None = 1,
        event_type: int | None = None,
        sid: str | None = None,
    ) -> None:
        """Sign the deliveries of the next ``times`` notifications with ``secret`` instead of
        the emulator's NCS secret, so a receiver that verifies signatures must refuse them.
        """
        self._delivery(_DeliveryFault("secret", _count(times), event_type, sid, secret=secret))

    def delivery_plan(self, event_type: int, sid: str | None) -> DeliveryPlan:
        """Consume the delivery faults that apply to one notification (used by the notifier)."""
        copies, delay, reorder, secret = 1, 0.0, False, None
        with self._lock:
            for fault in list(self._deliveries):
                if fault.event_type not in (None, event_type) or fault.sid not in (None, sid):
                    continue
                if fault.kind == "drop":
                    copies = 0
                elif fault.kind == "duplicate":
                    copies += 1 if copies else 0
                elif fault.kind == "delay":
                    delay += fault.seconds
                elif fault.kind == "reorder":
                    reorder = True
                else:
                    secret = fault.secret
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._deliveries.remove(fault)
        return DeliveryPlan(copies=copies, delay=delay, reorder=reorder, secret=secret)

    def take_for_new_recording(self) -> list[RecordingFault]:
        """Hand the faults waiting for the next recording to it (used by the state)."""
        with self._lock:
            faults, self._next_recording = self._next_recording, []
        return faults

    def clear(self) -> None:
        """Forget every pending fault (already applied recording faults stay)."""
        with self._lock:
            self._calls.clear()
            self._next_recording.clear()
            self._deliveries.clear()

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"Faults(calls={len(self._calls)}, next_recording={len(self._next_recording)}, "
                f"deliveries={len(self._deliveries)})"
            )

    def _add(self, fault: _CallFault) -> None:
        with self._lock:
            self._calls.append(fault)

    def _delivery(self, fault: _DeliveryFault) -> None:
        with self._lock:
            self._deliveries.append(fault)

    def _recording(self, sid: str | None, fault: RecordingFault) -> None:
        if sid is None:
            with self._lock:
                self._next_recording.append(fault)
        else:
            self._apply(sid, fault)


@attrs.define
class _DeliveryFault:
    kind: Literal["drop", "duplicate", "delay", "reorder", "secret"]
    remaining: int | None
    event_type: int | None
    sid: str | None
    seconds: float = 0.0
    secret: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class DeliveryPlan:
    """What the delivery faults decided for one notification: how many ``copies`` to deliver
    (0: dropped), a ``delay`` in seconds, whether to ``reorder`` it after the next one, and
    another ``secret`` to sign it with."""

    copies: int = 1
    delay: float = 0.0
    reorder: bool = False
    secret: str | None = attrs.field(default=None, repr=False)


def _answer(
    status: int,
    body: Mapping[str, Any] | None,
    raw: bytes | str | None,
    content_type: str | None,
    headers: Mapping[str, str] | None,
    retry_after: float | None,
) -> FailAnswer:
    if raw is not None and body is not None:
        raise ValidationError("raw", "pass either body or raw, not both")
    if raw is None:
        if body is None:
            body = _DEFAULT_BODIES.get(status, {"code": status, "reason": "injected fault"})
        raw = json.dumps(dict(body), separators=(",", ":"))
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = str(max(0, round(_non_negative(retry_after))))
    return FailAnswer(
        status=status,
        body=raw.encode("utf-8") if isinstance(raw, str) else bytes(raw),
        content_type=content_type or "application/json",
        headers=extra,
    )


def _count(times: int | None) -> int | None:
    return None if times is None else _times(times)


def _times(times: int) -> int:
    if times < 1:
        raise ValidationError("times", "must be >= 1")
    return times


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise ValidationError("seconds", "must be >= 0")
    return float(seconds)
