"""The NCS envelope: signing, signature verification and parsing (pure functions, no I/O).

Agora signs the raw body of each callback with the NCS secret shown in Console (not the REST
customer secret): ``Agora-Signature`` is the lowercase hex HMAC-SHA1 and ``Agora-Signature-V2``
the HMAC-SHA256. Envelope, headers and event types are described in Agora's "Receive
notifications" guide: https://docs.agora.io/en/cloud-recording/develop/receive-notifications
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from agora_recording._headers import header as _header
from agora_recording.errors import InvalidNotificationError

if TYPE_CHECKING:
    from agora_recording.events import EventDetails
from agora_recording._event_types import MSG_NAME, EventType, ServiceScene

__all__ = [
    "PRODUCT_ID_CLOUD_RECORDING",
    "SIGNATURE_HEADER",
    "SIGNATURE_V2_HEADER",
    "EventType",
    "InvalidNotificationError",
    "Notification",
    "ServiceScene",
    "parse",
    "sign",
    "signature_headers",
    "verify",
    "verify_and_parse",
]

SIGNATURE_HEADER = "Agora-Signature"
"""Header holding the hex HMAC-SHA1 of the raw body."""
SIGNATURE_V2_HEADER = "Agora-Signature-V2"
"""Header holding the hex HMAC-SHA256 of the raw body."""
PRODUCT_ID_CLOUD_RECORDING = 3
"""``productId`` of Cloud Recording notifications."""


def sign(body: bytes, secret: str) -> tuple[str, str]:
    """Return ``(hmac_sha1_hex, hmac_sha256_hex)`` of the raw ``body`` keyed with ``secret``."""
    key = secret.encode("utf-8")
    return (
        hmac.new(key, body, hashlib.sha1).hexdigest(),
        hmac.new(key, body, hashlib.sha256).hexdigest(),
    )


def signature_headers(body: bytes, secret: str) -> dict[str, str]:
    """Return both signature headers, as Agora sends them, for ``body``."""
    sha1, sha256 = sign(body, secret)
    return {SIGNATURE_HEADER: sha1, SIGNATURE_V2_HEADER: sha256}


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Tell whether ``body`` carries a valid NCS signature in ``headers``.

    ``Agora-Signature-V2`` (SHA-256) is checked when present, otherwise ``Agora-Signature``
    (SHA-1); a request with neither header is refused. Comparison is constant-time.
    """
    sha1, sha256 = sign(body, secret)
    received_v2 = _header(headers, SIGNATURE_V2_HEADER)
    if received_v2 is not None:
        return _same_digest(received_v2, sha256)
    received_v1 = _header(headers, SIGNATURE_HEADER)
    if received_v1 is not None:
        return _same_digest(received_v1, sha1)
    return False


def _same_digest(received: str, expected: str) -> bool:
    """Compare in constant time, as bytes: a non-ASCII forged header mismatches, never crashes."""
    candidate = received.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(candidate, expected.encode("ascii"))


def _event_type(value: int) -> EventType | int:
    try:
        return EventType(value)
    except ValueError:
        return value


@attrs.frozen(kw_only=True)
class Notification:
    """One NCS callback: the documented envelope, with shortcuts into its ``payload``.

    ``event_type`` is an :class:`EventType` when known and the plain number otherwise; ``sid``
    comes from the envelope, or from ``payload.sid`` when the envelope has none.
    """

    notice_id: str
    product_id: int | None = None
    event_type: EventType | int
    notify_ms: int | None = None
    sid: str | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def dedupe_key(self) -> str:
        """``noticeId``: what stays the same when NCS resends a notification.

        Agora's "Receive notifications" guide pairs it with ``notifyMs``, but NCS renews
        ``notifyMs`` on every resend, so that pair would let each resend through again.
        """
        return self.notice_id

    @property
    def cname(self) -> str | None:
        """Channel name of the recording (``payload.cname``)."""
        return _opt_str(self.payload.get("cname"))

    @property
    def uid(self) -> str | None:
        """Recorder UID (``payload.uid``); it changes after a high-availability failover."""
        return _opt_str(self.payload.get("uid"))

    @property
    def sequence(self) -> int | None:
        """Per-session serial number, from 0 (``payload.sequence``)."""
        return _opt_int(self.payload.get("sequence"))

    @property
    def sendts(self) -> int | None:
        """Unix milliseconds when the event happened (``payload.sendts``)."""
        return _opt_int(self.payload.get("sendts"))

    @property
    def service_type(self) -> int | None:
        """Which module reported the event (``payload.serviceType``)."""
        return _opt_int(self.payload.get("serviceType"))

    @property
    def service_scene(self) -> ServiceScene | str | None:
        """Which recording service sent the event (``payload.serviceScene``): a `ServiceScene`
        (``rtsc/raw-recording`` for raw individual recording, ``rtc_record`` for legacy
        individual), another value as sent, or ``None`` when absent."""
        value = self.payload.get("serviceScene")
        if value is None:
            return None
        text = str(value)
        try:
            return ServiceScene(text)
        except ValueError:
            return text

    @property
    def details(self) -> Mapping[str, Any]:
        """Event-specific fields (``payload.details``); empty when absent."""
        details = self.payload.get("details")
        return details if isinstance(details, Mapping) else {}

    @property
    def event_details(self) -> EventDetails:
        """The typed ``details``: the model of this event type (`agora_recording.events`), or
        an `~agora_recording.events.UnknownEvent`; ``.raw`` keeps the dict as sent."""
        from agora_recording.events import event_details  # the models load on first use

        return event_details(self.event_type, self.details)

    @property
    def msg_name(self) -> str | None:
        """``payload.details.msgName``, e.g. ``"recorder_started"``."""
        return _opt_str(self.details.get(MSG_NAME))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if _IN_RANGE[0] <= number <= _IN_RANGE[1] else None


#: Numbers NCS sends (event types, sequence numbers, Unix milliseconds) fit a signed 64-bit
#: integer; anything beyond is refused rather than carried along.
_IN_RANGE: tuple[int, int] = (-(2**63), 2**63 - 1)
_ENVELOPE_NUMBERS = ("eventType", "productId", "notifyMs")
_PAYLOAD_NUMBERS = ("sequence", "sendts", "serviceType")


def _check_number(where: str, value: Any) -> None:
    """Refuse a number that is not finite, not whole, or out of range (strings of digits pass)."""
    if value is None or isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidNotificationError(f"notification {where} is not a number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InvalidNotificationError(f"notification {where} is not a whole number")
    if not _IN_RANGE[0] <= int(value) <= _IN_RANGE[1]:
        raise InvalidNotificationError(f"notification {where} is out of range")


def _refuse_constant(name: str) -> Any:
    raise InvalidNotificationError(f"notification holds {name}, which is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidNotificationError("notification holds a number out of range")
    return number


def parse(body: bytes | str | Mapping[str, Any]) -> Notification:
    """Parse an NCS envelope (raw bytes, text or an already decoded dict).

    Reads the current keys (``noticeId``, ``productId``, ``eventType``, ``notifyMs``, ``sid``,
    ``payload``) and the pre-1.3.0 ``notificationId``. Raises :class:`InvalidNotificationError`
    (and nothing else, whatever it is given) when the body is not a JSON object with an
    ``eventType`` number and a notice ID, or holds a number that is not finite, not whole or
    beyond 64 bits where NCS sends whole numbers (``NaN``, ``Infinity`` and ``1e400`` included).
    """
    given: object = body  # checked at run time: callers may not be type-checked
    if not isinstance(given, (bytes, bytearray, str, Mapping)):
        raise InvalidNotificationError(
            f"a notification is bytes, text or a dict, not {type(given).__name__}"
        )
    if isinstance(body, Mapping):
        data: Any = body
    else:
        try:
            data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
        except InvalidNotificationError:
            raise
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidNotificationError("notification body is not JSON") from exc
    if not isinstance(data, Mapping):
        raise InvalidNotificationError("notification body is not a JSON object")
    notice_id = data.get("noticeId", data.get("notificationId"))
    if not isinstance(notice_id, (str, int)) or isinstance(notice_id, bool):
        raise InvalidNotificationError("notification has no noticeId")
    for key in _ENVELOPE_NUMBERS:
        _check_number(key, data.get(key))
    event_type = _opt_int(data.get("eventType"))
    if event_type is None:
        raise InvalidNotificationError("notification has no eventType")
    payload = data.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, Mapping):
        raise InvalidNotificationError("notification payload is not an object")
    for key in _PAYLOAD_NUMBERS:
        _check_number(f"payload.{key}", payload.get(key))
    sid = data.get("sid", payload.get("sid"))
    if sid is not None and not isinstance(sid, (str, int)):
        raise InvalidNotificationError("notification sid is not a string")
    return Notification(
        notice_id=str(notice_id),
        product_id=_opt_int(data.get("productId")),
        event_type=_event_type(event_type),
        notify_ms=_opt_int(data.get("notifyMs")),
        sid=_opt_str(sid),
        payload=dict(payload),
    )


def verify_and_parse(body: bytes, headers: Mapping[str, str], secret: str) -> Notification:
    """Verify the signature of ``body``, then parse it; raise on a bad signature or body."""
    if not verify(body, headers, secret):
        raise InvalidNotificationError("notification signature does not match")
    return parse(body)
