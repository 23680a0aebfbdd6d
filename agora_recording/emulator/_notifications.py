"""NCS notifications sent by the emulator: envelope, signatures, sinks and HTTP delivery.

Each event becomes the documented envelope (``noticeId``, ``productId`` 3, ``eventType``,
``notifyMs``, ``sid``, ``payload``), serialized once and signed with both ``Agora-Signature``
headers. It is always kept in an in-process log (what tests read) and handed to an optional
callback. When a receiver URL is configured it is also queued for delivery, which
:meth:`Notifier.deliver_due` performs when the emulator's driver loop calls it (the server runs
that loop inside its lifespan): it POSTs each envelope and resends up to three times when the
receiver does not answer 200 within 10 s (``notifyMs`` and the signatures are renewed on every
attempt, as the service does, a duplicate included). Delivery faults (see :mod:`._faults`) may
drop, duplicate, delay, reorder or mis-sign a delivery; the log always holds each notification
once, as emitted.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import json
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import attrs
import httpx

from agora_recording import webhooks
from agora_recording._event_types import ServiceScene
from agora_recording._hints import transport_cause
from agora_recording.errors import UsageError
from agora_recording.events import MSG_NAME, EventType

from ._clock import Clock
from ._faults import DeliveryPlan
from ._ids import IdMinter

__all__ = ["DEFAULT_NOTIFICATION_SECRET", "Notifier", "SignedNotification"]

logger = logging.getLogger("agora_recording.emulator")

DEFAULT_NOTIFICATION_SECRET = "emulator-ncs-secret"
"""The NCS secret the emulator signs its notifications with unless given another."""


@attrs.frozen
class SignedNotification:
    """One notification as sent: the exact ``body`` bytes and the ``headers`` with signatures."""

    body: bytes
    headers: Mapping[str, str] = attrs.field(hash=False)

    @property
    def notification(self) -> webhooks.Notification:
        """The parsed envelope."""
        return webhooks.parse(self.body)

    @property
    def event_type(self) -> int:
        """The envelope's ``eventType``."""
        return int(self.notification.event_type)

    @property
    def sid(self) -> str | None:
        """The recording ID the event is about."""
        return self.notification.sid


class _Module(enum.IntEnum):
    """``payload.serviceType``: the part of the service that reports an event."""

    CLOUD_RECORDING = 0
    RECORDER = 1
    UPLOADER = 2
    WEB_RECORDER = 6


_MODULES: Mapping[EventType, _Module] = {
    **dict.fromkeys(
        (
            EventType.CLOUD_RECORDING_ERROR,
            EventType.CLOUD_RECORDING_WARNING,
            EventType.CLOUD_RECORDING_STATUS_UPDATE,
            EventType.CLOUD_RECORDING_FILE_INFOS,
            EventType.SESSION_EXIT,
            EventType.SESSION_FAILOVER,
            EventType.HA_REGISTER_SUCCESS,
        ),
        _Module.CLOUD_RECORDING,
    ),
    **dict.fromkeys(
        (
            EventType.RECORDER_STARTED,
            EventType.RECORDER_LEAVE,
            EventType.RECORDER_SLICE_START,
            EventType.RECORDER_AUDIO_STREAM_STATE_CHANGED,
            EventType.RECORDER_VIDEO_STREAM_STATE_CHANGED,
            EventType.RECORDER_SNAPSHOT_FILE,
        ),
        _Module.RECORDER,
    ),
    **dict.fromkeys(
        (
            EventType.UPLOADER_STARTED,
            EventType.UPLOADED,
            EventType.BACKUPED,
            EventType.UPLOADING_PROGRESS,
        ),
        _Module.UPLOADER,
    ),
}


def _envelope_of(signed: SignedNotification) -> dict[str, Any]:
    try:
        value = json.loads(signed.body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _service_type(event: EventType) -> int:
    """The ``serviceType`` of ``event`` (Agora's "Receive notifications" guide)."""
    return int(_MODULES.get(event, _Module.WEB_RECORDER))


def _dumps(envelope: Mapping[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@attrs.define
class _Delivery:
    """One queued delivery: the envelope and what the delivery faults decided for it."""

    envelope: dict[str, Any]
    due: float
    plan: DeliveryPlan


def _no_faults(event_type: EventType, sid: str | None) -> DeliveryPlan:
    return DeliveryPlan()


class Notifier:
    """Builds, signs, logs and (optionally) delivers NCS envelopes."""

    def __init__(
        self,
        *,
        clock: Clock,
        minter: IdMinter,
        secret: str,
        url: str | None = None,
        on_notification: Callable[[SignedNotification], object] | None = None,
        retry_delays: Sequence[float] = (0.0, 1.0, 2.0),
        timeout: float = 10.0,
        keep: int = 10_000,
        delivery_plan: Callable[[EventType, str | None], DeliveryPlan] = _no_faults,
    ) -> None:
        self._clock = clock
        self._minter = minter
        self._secret = secret
        self.url = url
        self._on_notification = on_notification
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._delivery_plan = delivery_plan
        self._lock = threading.Lock()
        self._log: deque[SignedNotification] = deque(maxlen=keep)
        self._outbox: list[tuple[float, int, _Delivery]] = []  # heap by (due, queue order)
        self._order = itertools.count()
        self._held: list[_Delivery] = []  # reordered: released after the next one is queued
        self.counts: Counter[str] = Counter()
        #: The delivery outcome of the last notifications POSTed (for the web page).
        self.outcomes: deque[dict[str, Any]] = deque(maxlen=1000)
        self._failing = 0  # deliveries given up since the last one that got through
        self._last_cause: str | None = None
        self.on_queue: Callable[[float], None] | None = None
        """Called (lock held) whenever a delivery is queued: wakes the driver loop."""

    def __repr__(self) -> str:
        return f"Notifier(url={self.url!r}, logged={len(self._log)})"

    def emit(
        self,
        *,
        sid: str,
        cname: str,
        uid: str,
        sequence: int,
        event_type: EventType,
        details: Mapping[str, Any],
        at: float,
        service_scene: ServiceScene | None = None,
    ) -> SignedNotification:
        """Build, sign and record one event that happened at Unix time ``at``; the payload
        carries ``serviceScene`` where the migration guide names one for the mode."""
        envelope: dict[str, Any] = {
            "noticeId": self._minter.notice_id(),
            "productId": webhooks.PRODUCT_ID_CLOUD_RECORDING,
            "eventType": int(event_type),
            "notifyMs": round(self._clock.time() * 1000),
            "sid": sid,
            "payload": {
                "cname": cname,
                "uid": uid,
                "sid": sid,
                "sequence": sequence,
                "sendts": round(at * 1000),
                "serviceType": _service_type(event_type),
                "details": {MSG_NAME: event_type.msg_name, **details},
            },
        }
        if service_scene is not None:
            envelope["payload"]["serviceScene"] = service_scene.value
        signed = self._sign(envelope)
        plan = self._delivery_plan(event_type, sid) if self.url is not None else None
        with self._lock:
            self._log.append(signed)
            if plan is not None:
                self._queue(_Delivery(envelope, self._clock.time() + plan.delay, plan))
        if self._on_notification is not None:
            self._on_notification(signed)
        return signed

    def _queue(self, delivery: _Delivery) -> None:
        """Queue a delivery as its plan says (lock held)."""
        if not delivery.plan.copies:
            self.counts["dropped"] += 1
            return
        if delivery.plan.reorder:
            self._held.append(delivery)
            return
        self._push(delivery)
        held, self._held = self._held, []
        for late in held:  # after the one that followed them
            late.due = max(late.due, delivery.due)
            self._push(late)
        if self.on_queue is not None:
            self.on_queue(delivery.due)

    def _push(self, delivery: _Delivery) -> None:
        heapq.heappush(self._outbox, (delivery.due, next(self._order), delivery))

    def next_due(self) -> float | None:
        """When the earliest queued delivery is due on the clock, or None."""
        with self._lock:
            return self._outbox[0][0] if self._outbox else None

    def _sign(self, envelope: Mapping[str, Any], secret: str | None = None) -> SignedNotification:
        body = _dumps(envelope)
        headers = {"Content-Type": "application/json"}
        headers.update(webhooks.signature_headers(body, secret or self._secret))
        return SignedNotification(body=body, headers=headers)

    @property
    def log(self) -> list[SignedNotification]:
        """Every notification emitted so far (the most recent ``keep``), oldest first."""
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        """Forget the log (queued HTTP deliveries stay queued)."""
        with self._lock:
            self._log.clear()

    def check_url(self) -> str:
        """The receiver URL, or RuntimeError when none is configured."""
        if self.url is None:
            raise UsageError("no notification URL is configured")
        return self.url

    async def deliver_due(self, client: httpx.AsyncClient) -> None:
        """POST every queued envelope that is due on the clock, in due order."""
        url = self.check_url()
        while True:
            with self._lock:
                if not self._outbox or self._outbox[0][0] > self._clock.time():
                    return
                _, _, delivery = heapq.heappop(self._outbox)
            await self._post(url, client, delivery)

    async def _post(self, url: str, client: httpx.AsyncClient, delivery: _Delivery) -> bool:
        """One delivery: the first attempt plus a resend after each delay, until a 200; then
        any duplicate copies, each a resend as NCS makes one when it missed the 200: the same
        ``noticeId`` and payload, ``notifyMs`` renewed (later by at least 1 ms) and re-signed."""
        envelope, plan = delivery.envelope, delivery.plan
        for attempt, delay in enumerate((0.0, *self._retry_delays)):
            if delay:
                await anyio.sleep(delay)
            envelope["notifyMs"] = round(self._clock.time() * 1000)
            signed = self._sign(envelope, plan.secret)
            if await self._send(url, client, signed, attempt):
                self.counts["delivered"] += 1
                for _ in range(plan.copies - 1):
                    sent = envelope["notifyMs"]
                    envelope["notifyMs"] = max(sent + 1, round(self._clock.time() * 1000))
                    signed = self._sign(envelope, plan.secret)
                    if await self._send(url, client, signed, attempt):
                        self.counts["duplicated"] += 1
                return True
        self.counts["gave_up"] += 1
        self._gave_up(url, envelope)
        return False

    def _outcome(self, envelope: Mapping[str, Any], outcome: str) -> None:
        """Keep the delivery outcome of one notification (bounded), for the web page."""
        with self._lock:
            self.outcomes.append(
                {
                    "noticeId": envelope.get("noticeId"),
                    "eventType": envelope.get("eventType"),
                    "sid": envelope.get("sid"),
                    "outcome": outcome,
                }
            )

    def _gave_up(self, url: str, envelope: Mapping[str, Any]) -> None:
        """Summarise failed deliveries: a WARNING naming the URL and the cause for the first
        one of a run, then at 10, 100, 1000... failures; DEBUG in between."""
        cause = self._last_cause or "no answer"
        self._outcome(envelope, f"gave up: {cause}")
        self._failing += 1
        count = self._failing
        if count == 10 ** (len(str(count)) - 1):
            logger.warning(
                "could not deliver %d notification(s) to %s: %s (after %d attempts each)%s",
                count,
                url,
                cause,
                1 + len(self._retry_delays),
                "; is the receiver running at that URL?" if "refused" in cause else "",
            )
        else:
            logger.debug("gave up delivering notification %s: %s", envelope["noticeId"], cause)

    async def _send(
        self, url: str, client: httpx.AsyncClient, signed: SignedNotification, attempt: int
    ) -> bool:
        self.counts["attempts"] += 1
        try:
            with anyio.fail_after(self._timeout):
                response = await client.post(url, content=signed.body, headers=signed.headers)
        except (httpx.HTTPError, TimeoutError) as exc:
            self._last_cause = transport_cause(exc)
            logger.debug("notification attempt %d failed: %s", attempt + 1, self._last_cause)
            return False
        if response.status_code == 200:
            if self._failing:
                logger.warning(
                    "notifications reach %s again, after %d were not delivered", url, self._failing
                )
                self._failing = 0
            self._outcome(_envelope_of(signed), "delivered")
            return True
        self._last_cause = f"HTTP {response.status_code}" + (
            " (the receiver refused the signature: check its NCS secret)"
            if response.status_code == 401
            else ""
        )
        logger.debug("notification attempt %d got HTTP %d", attempt + 1, response.status_code)
        return False
