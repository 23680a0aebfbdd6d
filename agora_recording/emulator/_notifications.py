"""NCS notifications sent by the emulator: envelope, signatures, sinks and HTTP delivery.

Each event becomes the documented envelope (``noticeId``, ``productId`` 3, ``eventType``,
``notifyMs``, ``sid``, ``payload``), serialized once and signed with both ``Agora-Signature``
headers. It is always kept in an in-process log (what tests read) and handed to an optional
callback. When a receiver URL is configured it is also queued for :meth:`Notifier.deliver`,
a loop the server runs inside its lifespan: it POSTs each envelope and resends up to three
times when the receiver does not answer 200 within 10 s (``notifyMs`` and the signatures are
renewed on every attempt, as the service does).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import attrs
import httpx

from agora_recording import webhooks

from ._clock import Clock
from ._ids import IdMinter

__all__ = ["DEFAULT_NOTIFICATION_SECRET", "Notifier", "SignedNotification"]

logger = logging.getLogger("agora_recording.emulator")

DEFAULT_NOTIFICATION_SECRET = "emulator-ncs-secret"


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


def _dumps(envelope: Mapping[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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
    ) -> None:
        self._clock = clock
        self._minter = minter
        self._secret = secret
        self.url = url
        self._on_notification = on_notification
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._log: deque[SignedNotification] = deque(maxlen=keep)
        self._outbox: deque[dict[str, Any]] = deque()

    def __repr__(self) -> str:
        return f"Notifier(url={self.url!r}, logged={len(self._log)})"

    def emit(
        self,
        *,
        sid: str,
        cname: str,
        uid: str,
        sequence: int,
        event_type: int,
        service_type: int,
        details: Mapping[str, Any],
        at: float,
    ) -> SignedNotification:
        """Build, sign and record one event that happened at Unix time ``at``."""
        envelope: dict[str, Any] = {
            "noticeId": self._minter.notice_id(),
            "productId": webhooks.PRODUCT_ID_CLOUD_RECORDING,
            "eventType": event_type,
            "notifyMs": round(self._clock.time() * 1000),
            "sid": sid,
            "payload": {
                "cname": cname,
                "uid": uid,
                "sid": sid,
                "sequence": sequence,
                "sendts": round(at * 1000),
                "serviceType": service_type,
                "details": dict(details),
            },
        }
        signed = self._sign(envelope)
        with self._lock:
            self._log.append(signed)
            if self.url is not None:
                self._outbox.append(envelope)
        if self._on_notification is not None:
            self._on_notification(signed)
        return signed

    def _sign(self, envelope: Mapping[str, Any]) -> SignedNotification:
        body = _dumps(envelope)
        headers = {"Content-Type": "application/json"}
        headers.update(webhooks.signature_headers(body, self._secret))
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

    async def deliver(
        self,
        settle: Callable[[], object],
        *,
        client: httpx.AsyncClient | None = None,
        poll_interval: float = 0.1,
    ) -> None:
        """POST queued envelopes to ``url`` until cancelled, settling timers between rounds.

        ``settle`` lets time-driven events (idle exit, upload progress) fire with nobody
        calling the API. Meant to run in a task group (the server's lifespan).
        """
        if self.url is None:
            raise RuntimeError("no notification URL is configured")
        if client is None:
            async with httpx.AsyncClient() as own_client:
                await self._deliver_forever(self.url, settle, own_client, poll_interval)
        else:
            await self._deliver_forever(self.url, settle, client, poll_interval)

    async def _deliver_forever(
        self,
        url: str,
        settle: Callable[[], object],
        client: httpx.AsyncClient,
        poll_interval: float,
    ) -> None:
        while True:
            settle()
            while True:
                with self._lock:
                    envelope = self._outbox.popleft() if self._outbox else None
                if envelope is None:
                    break
                await self._post(url, client, envelope)
            await anyio.sleep(poll_interval)

    async def _post(self, url: str, client: httpx.AsyncClient, envelope: dict[str, Any]) -> bool:
        """One delivery: the first attempt plus a resend after each delay, until a 200."""
        for attempt, delay in enumerate((0.0, *self._retry_delays)):
            if delay:
                await anyio.sleep(delay)
            envelope["notifyMs"] = round(self._clock.time() * 1000)
            signed = self._sign(envelope)
            try:
                with anyio.fail_after(self._timeout):
                    response = await client.post(url, content=signed.body, headers=signed.headers)
            except (httpx.HTTPError, TimeoutError) as exc:
                logger.debug("notification attempt %d failed: %s", attempt + 1, type(exc).__name__)
                continue
            if response.status_code == 200:
                return True
            logger.debug("notification attempt %d got HTTP %d", attempt + 1, response.status_code)
        logger.warning("gave up delivering notification %s", envelope["noticeId"])
        return False
