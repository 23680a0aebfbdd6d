"""Agora Notification Center Service (NCS) callbacks: receive, verify, dedupe, order and route.

Agora POSTs a signed JSON envelope to your HTTPS endpoint for each recording event. The parts:

* :class:`NotificationReceiver` (an ASGI app; :meth:`~NotificationReceiver.handle` for other
  frameworks) checks size, signature and shape and answers at once;
* :class:`NotificationHub` drops duplicates, puts each recording's events in ``sequence``
  order and hands them to the :class:`Subscription` for that recording, or to the unclaimed
  stream when nobody asked for them;
* :func:`verify`, :func:`parse`, :func:`sign` and :class:`Notification` are the pure envelope
  functions underneath, for code that wants to do its own plumbing.

Mounted in FastAPI::

    from fastapi import FastAPI
    from agora_recording import webhooks

    hub = webhooks.NotificationHub()
    app = FastAPI()
    app.add_route("/agora/ncs", webhooks.NotificationReceiver(hub, NCS_SECRET), methods=["POST"])

    async def record(client, ...):
        with hub.subscribe(cname="class-42", uid="99") as events:
            started = await client.start(...)
            async for note in events:
                if note.event_type == webhooks.EventType.SESSION_EXIT:
                    break

Or by hand, in any framework::

    status, body = await receiver.handle(raw_body, request_headers)

NCS may deliver an event twice or out of order; the hub dedupes on
:attr:`Notification.dedupe_key` (``noticeId``, which a resend keeps; it renews ``notifyMs``)
over a window of time, and orders by
``payload.sequence``. Agora advises checking important outcomes with ``query`` too. The emulator
in :mod:`agora_recording.emulator` sends exactly these envelopes, signed the same way.
"""

from ._envelope import (
    PRODUCT_ID_CLOUD_RECORDING,
    SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
    EventType,
    InvalidNotificationError,
    Notification,
    ServiceScene,
    parse,
    sign,
    signature_headers,
    verify,
    verify_and_parse,
)
from ._hub import NotificationHub, Subscription
from ._receiver import NotificationReceiver

__all__ = [
    "PRODUCT_ID_CLOUD_RECORDING",
    "SIGNATURE_HEADER",
    "SIGNATURE_V2_HEADER",
    "EventType",
    "InvalidNotificationError",
    "Notification",
    "NotificationHub",
    "NotificationReceiver",
    "ServiceScene",
    "Subscription",
    "parse",
    "sign",
    "signature_headers",
    "verify",
    "verify_and_parse",
]
