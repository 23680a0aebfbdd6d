"""The receiver and parse() against hostile input: numbers out of range, odd types, floods."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import anyio
import pytest
import trio.testing
from agora_recording import webhooks
from agora_recording.errors import AgoraError

from tests.test_webhooks_receiver import ENVELOPE, SID, encoded, receiver_and_subscription, signed

pytestmark = pytest.mark.anyio

MOCK_TRIO = pytest.param(
    ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock"
)


def _with(path: str, raw: str) -> bytes:
    """The sample envelope with the number at ``path`` replaced by the JSON text ``raw``."""
    marker = "__replace_me__"
    envelope: dict[str, Any] = json.loads(json.dumps(ENVELOPE))
    target = envelope
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = marker
    return encoded(envelope).replace(f'"{marker}"'.encode(), raw.encode())


OUT_OF_RANGE = [
    ("payload.sequence", "1e400"),
    ("payload.sequence", "-1e400"),
    ("eventType", "Infinity"),
    ("eventType", "NaN"),
    ("eventType", "40.5"),
    ("notifyMs", "1" + "0" * 400),
    ("payload.sendts", "-Infinity"),
    ("payload.serviceType", "[1]"),
    ("productId", "true"),
]


@pytest.mark.parametrize(("path", "raw"), OUT_OF_RANGE)
async def test_a_signed_body_with_an_out_of_range_number_is_refused_400_and_not_remembered(
    path: str, raw: str
) -> None:
    """A signed body with an unusable number is a 400; the valid resend after it is delivered."""
    receiver, events = receiver_and_subscription()
    bad = _with(path, raw)
    status, answer = await receiver.handle(bad, signed(bad))
    assert status == 400
    assert b"error" in answer
    good = encoded()
    assert await receiver.handle(good, signed(good)) == (200, b'{"ok":true}')
    note = events.receive_nowait()
    assert note is not None
    assert note.sid == SID


HOSTILE_INPUTS: list[Any] = [
    True,
    None,
    1.5,
    ["noticeId"],
    b"[" * 100_000 + b"]" * 100_000,
    "{" + '"a":{' * 50_000 + "}" * 50_001,
    b'{"noticeId":"n","eventType":1e400}',
    b'{"noticeId":"n","eventType":Infinity}',
    b'{"noticeId":"n","eventType":3,"payload":{"sequence":NaN}}',
    b'{"noticeId":"n","eventType":' + b"9" * 5_000 + b"}",
    {"noticeId": "n", "eventType": math.inf},
    {"noticeId": "n", "eventType": 3, "payload": {"sequence": 10**400}},
    {"noticeId": {"nested": 1}, "eventType": 3},
    {"noticeId": "n", "eventType": 3, "sid": ["x"]},
    {"noticeId": "n", "eventType": 3, "payload": {"sendts": "x"}, "notifyMs": -(2**70)},
]


@pytest.mark.parametrize("body", HOSTILE_INPUTS, ids=range(len(HOSTILE_INPUTS)))
def test_parse_raises_only_invalid_notification_error(body: Any) -> None:
    """parse() refuses anything it cannot use with InvalidNotificationError, never another error."""
    with pytest.raises(webhooks.InvalidNotificationError):
        webhooks.parse(body)


def test_parse_keeps_numbers_sent_as_digit_strings() -> None:
    """The legacy envelope's string sequence still reads as a number."""
    note = webhooks.parse({"notificationId": "n", "eventType": "40", "payload": {"sequence": "7"}})
    assert (note.event_type, note.sequence) == (webhooks.EventType.RECORDER_STARTED, 7)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_body_size": math.nan}, "max_body_size"),
        ({"max_body_size": 1.5}, "max_body_size"),
        ({"read_timeout": math.nan}, "read_timeout"),
        ({"read_timeout": math.inf}, "read_timeout"),
        ({"max_depth": True}, "max_depth"),
        ({"log_interval": 0}, "log_interval"),
    ],
)
def test_receiver_limits_that_would_disable_a_check_are_refused(
    options: dict[str, Any], field: str
) -> None:
    """NaN, infinite and mistyped limits fail at construction, naming the field."""
    hub = webhooks.NotificationHub()
    with pytest.raises(AgoraError, match=field):
        webhooks.NotificationReceiver(hub, "secret", **options)


def test_a_secret_of_the_wrong_type_is_refused() -> None:
    """A number given as the secret is an AgoraError naming the secret."""
    with pytest.raises(AgoraError, match="secret"):
        webhooks.NotificationReceiver(webhooks.NotificationHub(), 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
async def test_refused_callbacks_are_logged_once_per_interval_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """1,000 forged requests make one log line; the next interval's line counts the rest."""
    receiver, _ = receiver_and_subscription(log_interval=60)
    body = encoded()
    with caplog.at_level(logging.DEBUG, logger="agora_recording.webhooks"):
        for _ in range(1_000):
            assert (await receiver.handle(body, signed(body, "forged")))[0] == 401
        await anyio.sleep(61)
        assert (await receiver.handle(body, signed(body, "forged")))[0] == 401
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("refused 1 NCS callback")
    assert lines[1].startswith("refused 1000 NCS callback")
    assert receiver.refused == 1_001
