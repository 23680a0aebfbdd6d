"""NCS callback signing, verification and parsing (agora_recording.webhooks)."""

from __future__ import annotations

import json

import pytest
from agora_recording import webhooks
from agora_recording.errors import AgoraError

# The test vector of Agora's signature guide: its older body (with eventMs) reproduces the
# published digests.
VECTOR_SECRET = "secret"
VECTOR_BODY = (
    b'{"eventMs":1560408533119,"eventType":10,"noticeId":"4eb720f0-8da7-11e9-a43e-53f411c2761f",'
    b'"notifyMs":1560408533119,"payload":{"a":"1","b":2},"productId":1}'
)
VECTOR_SHA1 = "033c62f40f687675f17f0f41f91a40c71c0f134c"
VECTOR_SHA256 = "6d3320c60b11101395b7fc8f9068748808a0aa1bfa064438e39d1bc2c7d74d99"

ENVELOPE = {
    "noticeId": "31aeb35a9245cbd977cfe18b438b75ed",
    "productId": 3,
    "eventType": 40,
    "notifyMs": 1596555306283,
    "sid": "d12fdce9024d37862a8f3a88e387c817",
    "payload": {
        "cname": "Testing2",
        "uid": "1001",
        "sid": "d12fdce9024d37862a8f3a88e387c817",
        "sequence": 1,
        "sendts": 1596555306257,
        "serviceType": 1,
        "details": {"msgName": "recorder_started", "status": 0},
    },
}


def test_sign_reproduces_the_documented_test_vector() -> None:
    """sign() gives the SHA-1 and SHA-256 digests published in Agora's signature guide."""
    assert webhooks.sign(VECTOR_BODY, VECTOR_SECRET) == (VECTOR_SHA1, VECTOR_SHA256)


def test_signature_headers_name_both_headers() -> None:
    """signature_headers() returns the two headers Agora sends, with lowercase hex values."""
    assert webhooks.signature_headers(VECTOR_BODY, VECTOR_SECRET) == {
        "Agora-Signature": VECTOR_SHA1,
        "Agora-Signature-V2": VECTOR_SHA256,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"Agora-Signature": VECTOR_SHA1},
        {"Agora-Signature-V2": VECTOR_SHA256},
        {"agora-signature-v2": VECTOR_SHA256.upper()},
        {"Agora-Signature": VECTOR_SHA1, "Agora-Signature-V2": VECTOR_SHA256},
    ],
)
def test_verify_accepts_either_header(headers: dict[str, str]) -> None:
    """A body signed with either header (any case, any header-name case) verifies."""
    assert webhooks.verify(VECTOR_BODY, headers, VECTOR_SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Agora-Signature": "0" * 40},
        {"Agora-Signature-V2": "0" * 64, "Agora-Signature": VECTOR_SHA1},
        {"Content-Type": "application/json"},
    ],
)
def test_verify_refuses_missing_or_wrong_signatures(headers: dict[str, str]) -> None:
    """No signature, or a wrong one (V2 wins when both are present), fails verification."""
    assert not webhooks.verify(VECTOR_BODY, headers, VECTOR_SECRET)


def test_verify_refuses_another_secret_or_a_changed_body() -> None:
    """The signature binds both the secret and every byte of the body."""
    headers = webhooks.signature_headers(VECTOR_BODY, VECTOR_SECRET)
    assert not webhooks.verify(VECTOR_BODY, headers, "other")
    assert not webhooks.verify(VECTOR_BODY + b" ", headers, VECTOR_SECRET)


def test_parse_reads_the_envelope_and_payload_shortcuts() -> None:
    """parse() maps the NCS envelope onto Notification with payload shortcuts."""
    note = webhooks.parse(json.dumps(ENVELOPE).encode())
    assert note.notice_id == "31aeb35a9245cbd977cfe18b438b75ed"
    assert note.product_id == webhooks.PRODUCT_ID_CLOUD_RECORDING
    assert note.event_type is webhooks.EventType.RECORDER_STARTED
    assert note.notify_ms == 1596555306283
    assert note.sid == "d12fdce9024d37862a8f3a88e387c817"
    assert (note.cname, note.uid, note.sequence) == ("Testing2", "1001", 1)
    assert (note.sendts, note.service_type, note.msg_name) == (1596555306257, 1, "recorder_started")
    assert note.details == {"msgName": "recorder_started", "status": 0}
    assert note.dedupe_key == "31aeb35a9245cbd977cfe18b438b75ed"


def test_parse_accepts_text_and_mappings_and_keeps_unknown_event_types() -> None:
    """A str or dict body parses too; an event type newer than the enum stays a plain int."""
    envelope = {**ENVELOPE, "eventType": 999}
    from_text = webhooks.parse(json.dumps(envelope))
    from_dict = webhooks.parse(envelope)
    assert from_text == from_dict
    assert from_text.event_type == 999
    assert not isinstance(from_text.event_type, webhooks.EventType)


def test_parse_reads_the_legacy_envelope_and_falls_back_to_payload_sid() -> None:
    """A pre-1.3.0 body (notificationId, no top-level sid) parses with sid from the payload."""
    note = webhooks.parse(
        {"notificationId": "n1", "eventType": 11, "payload": {"sid": "abc", "details": "x"}}
    )
    assert note.notice_id == "n1"
    assert note.sid == "abc"
    assert note.product_id is None
    assert note.details == {}
    assert note.msg_name is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"eventType": 1}',
        b'{"noticeId": "x"}',
        b'{"noticeId": "x", "eventType": 1, "payload": []}',
    ],
)
def test_parse_refuses_what_is_not_an_envelope(body: bytes) -> None:
    """Bodies that are not an NCS envelope raise InvalidNotificationError (a ValueError)."""
    with pytest.raises(webhooks.InvalidNotificationError) as info:
        webhooks.parse(body)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, AgoraError)


def test_verify_and_parse_checks_the_signature_first() -> None:
    """verify_and_parse() returns the notification only when the signature matches."""
    body = json.dumps(ENVELOPE).encode()
    headers = webhooks.signature_headers(body, "ncs")
    assert webhooks.verify_and_parse(body, headers, "ncs").event_type == 40
    with pytest.raises(webhooks.InvalidNotificationError, match="signature"):
        webhooks.verify_and_parse(body, headers, "wrong")


def test_notifications_are_hashable_despite_their_payload() -> None:
    """A Notification can go in a set (payload is left out of the hash) for deduplication."""
    note = webhooks.parse(ENVELOPE)
    assert len({note, webhooks.parse(ENVELOPE)}) == 1
