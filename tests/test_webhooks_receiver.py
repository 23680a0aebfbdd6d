"""NotificationReceiver: signature, size, shape and replay checks, ASGI serving, and NCS
delivered by the emulator over real HTTP."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import httpx
import pytest
import trio.testing
import uvicorn
from agora_recording import webhooks
from agora_recording.errors import AgoraError, RecordingFailedError
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.testing import emulated_client
from starlette.applications import Starlette
from starlette.routing import Route

pytestmark = pytest.mark.anyio

SECRET = "ncs-secret-under-test"
ENVELOPE: dict[str, Any] = {
    "noticeId": "31aeb35a9245cbd977cfe18b438b75ed",
    "productId": 3,
    "eventType": 40,
    "notifyMs": 1596555306283,
    "sid": "d12fdce9024d37862a8f3a88e387c817",
    "payload": {
        "cname": "Testing2",
        "uid": "1001",
        "sid": "d12fdce9024d37862a8f3a88e387c817",
        "sequence": 0,
        "sendts": 1596555306257,
        "serviceType": 1,
        "details": {"msgName": "recorder_started", "status": 0},
    },
}
SID = ENVELOPE["sid"]


def encoded(envelope: Mapping[str, Any] = ENVELOPE) -> bytes:
    """The envelope as NCS sends it: compact UTF-8 JSON."""
    return json.dumps(envelope, separators=(",", ":")).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers NCS sends with ``body``, signed with ``secret``."""
    return {"Content-Type": "application/json", **webhooks.signature_headers(body, secret)}


def receiver_and_subscription(
    secret: str | Sequence[str] = SECRET, **options: Any
) -> tuple[webhooks.NotificationReceiver, webhooks.Subscription]:
    """A receiver on a fresh hub, and a subscription to the sample envelope's recording."""
    hub = webhooks.NotificationHub()
    return webhooks.NotificationReceiver(hub, secret, **options), hub.subscribe(sid=SID)


def published(receiver: webhooks.NotificationReceiver) -> int:
    """How many events reached the hub at all (subscribed or unclaimed)."""
    return receiver.hub.unclaimed().pending


async def test_a_signed_notification_is_answered_200_and_published() -> None:
    """A correctly signed callback gets 200 with a small JSON body and reaches the subscriber."""
    receiver, events = receiver_and_subscription()
    body = encoded()
    status, answer = await receiver.handle(body, signed(body))
    assert (status, json.loads(answer)) == (200, {"ok": True})
    received = events.receive_nowait()
    assert received is not None
    assert received.notice_id == ENVELOPE["noticeId"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Agora-Signature-V2": "0" * 64}, id="forged-v2"),
        pytest.param({"Agora-Signature": "f" * 40}, id="forged-v1"),
        pytest.param(webhooks.signature_headers(encoded(), "another-secret"), id="wrong-secret"),
        pytest.param({"Agora-Signature-V2": "é" * 64}, id="non-ascii"),
    ],
)
async def test_a_missing_forged_or_wrongly_keyed_signature_is_refused_401(
    headers: dict[str, str],
) -> None:
    """Without a signature made with our secret over these bytes: 401, nothing published."""
    receiver, events = receiver_and_subscription()
    status, _ = await receiver.handle(encoded(), headers)
    assert status == 401
    assert events.pending == 0
    assert published(receiver) == 0


async def test_a_truncated_body_fails_its_signature_or_its_parse() -> None:
    """A body cut short in transit fails its signature (401), one cut short before signing is
    not JSON (400), and neither is published."""
    receiver, events = receiver_and_subscription()
    body = encoded()
    status, _ = await receiver.handle(body[:-10], signed(body))
    assert status == 401
    truncated = body[:-10]
    status, answer = await receiver.handle(truncated, signed(truncated))
    assert status == 400
    assert "JSON" in json.loads(answer)["error"]
    assert events.pending == 0


async def test_a_replayed_notification_is_answered_200_but_delivered_once() -> None:
    """NCS resending the same envelope gets 200 each time; the subscriber sees it once."""
    receiver, events = receiver_and_subscription()
    body = encoded()
    first = await receiver.handle(body, signed(body))
    again = await receiver.handle(body, signed(body))
    assert first[0] == again[0] == 200
    assert json.loads(again[1]) == {"ok": True, "duplicate": True}
    assert events.pending == 1
    assert receiver.hub.duplicates == 1


async def test_an_oversized_body_is_refused_413_before_its_signature_is_checked() -> None:
    """A body above max_body_size gets 413, even when correctly signed."""
    receiver, events = receiver_and_subscription(max_body_size=256)
    body = encoded({**ENVELOPE, "padding": "x" * 300})
    status, _ = await receiver.handle(body, signed(body))
    assert status == 413
    assert events.pending == 0


async def test_deep_nesting_is_refused_400_without_parsing() -> None:
    """A signed body nesting deeper than max_depth gets 400; brackets inside strings don't count."""
    receiver, events = receiver_and_subscription(max_depth=8)
    deep = b'{"noticeId":"x","eventType":1,"payload":{"a":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    status, answer = await receiver.handle(deep, signed(deep))
    assert status == 400
    assert "deep" in json.loads(answer)["error"]
    bracketed = encoded({**ENVELOPE, "note": "[{" * 50 + '\\"[['})
    status, _ = await receiver.handle(bracketed, signed(bracketed))
    assert status == 200
    assert events.pending == 1


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"\xff\xfe\x00", b'[{"noticeId": "x"}]', b'"just a string"', b"{}"],
    ids=["text", "binary", "array", "string", "no-envelope"],
)
async def test_a_signed_body_that_is_not_an_envelope_is_refused_400(body: bytes) -> None:
    """Non-JSON, non-object or envelope-less bodies get 400 even with a valid signature."""
    receiver, _ = receiver_and_subscription()
    status, _ = await receiver.handle(body, signed(body))
    assert status == 400
    assert published(receiver) == 0


async def test_during_a_rotation_either_secret_is_accepted() -> None:
    """With two secrets configured, bodies signed with either verify; a third is refused."""
    receiver, events = receiver_and_subscription(["old-secret", "new-secret"])
    for n, secret in enumerate(["old-secret", "new-secret"]):
        body = encoded({**ENVELOPE, "noticeId": f"n{n}"})
        assert (await receiver.handle(body, signed(body, secret)))[0] == 200
    body = encoded({**ENVELOPE, "noticeId": "n3"})
    assert (await receiver.handle(body, signed(body, "retired-secret")))[0] == 401
    assert events.pending == 2


async def test_the_v1_signature_is_used_only_when_v2_is_absent() -> None:
    """A V1-only (HMAC-SHA1) callback verifies; a good V1 beside a bad V2 does not."""
    receiver, events = receiver_and_subscription()
    body = encoded()
    sha1, _ = webhooks.sign(body, SECRET)
    assert (await receiver.handle(body, {"agora-signature": sha1}))[0] == 200
    replay = encoded({**ENVELOPE, "noticeId": "other"})
    sha1, _ = webhooks.sign(replay, SECRET)
    headers = {"Agora-Signature": sha1, "Agora-Signature-V2": "0" * 64}
    assert (await receiver.handle(replay, headers))[0] == 401
    assert events.pending == 1


async def test_secrets_never_appear_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Neither repr(receiver) nor any log line (accepted, refused, duplicate) shows a secret."""
    receiver, _ = receiver_and_subscription(["first-hidden-secret", "second-hidden-secret"])
    body = encoded()
    with caplog.at_level(logging.DEBUG, logger="agora_recording"):
        await receiver.handle(body, signed(body, "second-hidden-secret"))
        await receiver.handle(body, signed(body, "second-hidden-secret"))
        await receiver.handle(body, signed(body, "wrong"))
        await receiver.handle(b"[]", signed(b"[]", "first-hidden-secret"))
    shown = repr(receiver) + caplog.text
    assert "refused" in caplog.text
    assert "hidden-secret" not in shown
    assert "<2 hidden>" in repr(receiver)


@pytest.mark.parametrize("secret", ["", [], ["ok", ""]])
def test_an_empty_secret_is_refused(secret: str | list[str]) -> None:
    """A receiver needs at least one non-empty NCS secret (an empty one would verify anything
    signed with the empty key)."""
    hub = webhooks.NotificationHub()
    with pytest.raises(AgoraError, match="secret"):
        webhooks.NotificationReceiver(hub, secret)


# -- ASGI ---------------------------------------------------------------------------------------


async def call_asgi(
    receiver: webhooks.NotificationReceiver,
    chunks: Sequence[bytes],
    *,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    stall: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """Drive the receiver as an ASGI server would: the body in ``chunks`` (then stall if asked)."""
    queue = [
        {"type": "http.request", "body": chunk, "more_body": stall or i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "method": method,
        "path": "/ncs",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    await receiver(scope, receive, send)
    start, body = sent
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, body["body"]


async def test_asgi_streams_the_body_in_chunks_and_answers_json() -> None:
    """Served over ASGI, a body sent in several chunks is reassembled, verified and answered."""
    receiver, events = receiver_and_subscription()
    body = encoded()
    status, headers, answer = await call_asgi(
        receiver, [body[:20], body[20:50], body[50:]], headers=signed(body)
    )
    assert (status, headers["content-type"], json.loads(answer)) == (
        200,
        "application/json",
        {"ok": True},
    )
    assert events.pending == 1


async def test_asgi_refuses_a_large_body_by_content_length_or_while_reading() -> None:
    """A declared Content-Length over the limit, or chunks adding up past it, get 413."""
    receiver, _ = receiver_and_subscription(max_body_size=100)
    status, _, _ = await call_asgi(receiver, [b"x"], headers={"Content-Length": "1000000"})
    assert status == 413
    status, _, _ = await call_asgi(receiver, [b"x" * 60, b"x" * 60])
    assert status == 413
    status, _, _ = await call_asgi(receiver, [b"{}"], headers={"Content-Length": "-5"})
    assert status == 400


async def test_asgi_refuses_other_methods_with_405() -> None:
    """GET (or anything but POST) gets 405 with an Allow header naming POST."""
    receiver, _ = receiver_and_subscription()
    status, headers, _ = await call_asgi(receiver, [b""], method="GET")
    assert (status, headers["allow"]) == (405, "POST")


@pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio")],
)
async def test_asgi_gives_up_on_a_body_that_does_not_arrive_in_time() -> None:
    """A sender that stalls mid-body gets 408 after read_timeout seconds, not a held worker."""
    receiver, events = receiver_and_subscription(read_timeout=3.0)
    before = anyio.current_time()
    status, _, _ = await call_asgi(receiver, [b'{"noticeId":'], stall=True)
    assert status == 408
    assert anyio.current_time() - before == pytest.approx(3.0)
    assert events.pending == 0


async def test_the_receiver_mounts_as_a_starlette_route() -> None:
    """Mounted with Route(path, receiver, methods=["POST"]) it answers through the framework."""
    receiver, events = receiver_and_subscription()
    app = Starlette(routes=[Route("/agora/ncs", receiver, methods=["POST"])])
    body = encoded()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.invalid"
    ) as http:
        accepted = await http.post("/agora/ncs", content=body, headers=signed(body))
        forged = await http.post("/agora/ncs", content=body, headers=signed(body, "x"))
    assert (accepted.status_code, accepted.json()) == (200, {"ok": True})
    assert forged.status_code == 401
    assert events.pending == 1


# -- end to end ---------------------------------------------------------------------------------

STORAGE = StorageConfig(vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s")
INDIVIDUAL = StartConfig(
    storage_config=STORAGE,
    recording_config=RecordingConfig(subscribe_uid_group=0, max_idle_time=30),
)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn runs on asyncio only
async def test_the_emulator_delivers_a_recording_to_a_uvicorn_served_receiver() -> None:
    """Over real HTTP on 127.0.0.1, the emulator's signed callbacks for one recording reach a
    subscriber made by (cname, uid) before start: all of them, in order, with the sid."""
    hub = webhooks.NotificationHub()
    receiver = webhooks.NotificationReceiver(hub, ["old-secret", SECRET])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/agora/ncs"
    config = uvicorn.Config(receiver, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    got: list[webhooks.Notification] = []
    async with anyio.create_task_group() as serving:
        serving.start_soon(server.serve, [listener])
        async with (
            emulated_client(notification_url=url, notification_secret=SECRET) as service,
            httpx.AsyncClient(trust_env=False) as delivery,
            anyio.create_task_group() as delivering,
        ):
            delivering.start_soon(lambda: service.emulator.deliver_notifications(client=delivery))
            with hub.subscribe(cname="room", uid="99") as events:
                service.channel("room").publish(7)
                acquired = await service.client.acquire(cname="room", uid="99")
                assert acquired.resource_id is not None
                started = await service.client.start(
                    acquired.resource_id, "individual", cname="room", uid="99", config=INDIVIDUAL
                )
                await service.client.stop(started.handle)
                with anyio.fail_after(20):
                    async for item in events:
                        got.append(item)
                        if item.event_type == webhooks.EventType.SESSION_EXIT:
                            break
            delivering.cancel_scope.cancel()
        server.should_exit = True  # uvicorn finishes gracefully within about 0.1 s
    listener.close()
    sent = service.emulator.event_types(started.sid)
    assert [int(n.event_type) for n in got] == sent
    assert sent[0] == webhooks.EventType.RECORDER_STARTED
    assert [n.sequence for n in got] == list(range(len(sent)))
    assert events.sid == started.sid
    assert hub.unclaimed().pending == 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn runs on asyncio only
async def test_a_session_learns_an_idle_exit_from_events_over_real_http() -> None:
    """A session following a hub fed by a uvicorn-served receiver sees an idle exit at once."""
    hub = webhooks.NotificationHub()
    receiver = webhooks.NotificationReceiver(hub, SECRET)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/agora/ncs"
    server = uvicorn.Server(
        uvicorn.Config(receiver, log_config=None, access_log=False, lifespan="on")
    )
    async with anyio.create_task_group() as serving:
        serving.start_soon(server.serve, [listener])
        async with (
            emulated_client(
                notification_url=url,
                notification_secret=SECRET,
                client_options={"notifications": hub},
            ) as service,
            httpx.AsyncClient(trust_env=False) as delivery,
            anyio.create_task_group() as delivering,
        ):
            delivering.start_soon(lambda: service.emulator.deliver_notifications(client=delivery))
            channel = service.channel("room")
            channel.publish(7)
            session = service.client.session(
                cname="room", uid="99", mode="individual", config=INDIVIDUAL, poll_interval=600
            )

            async def record() -> None:
                async with session:
                    channel.leave(7)
                    service.advance(31)  # past maxIdleTime (30 s) on the emulator's clock
                    await anyio.sleep_forever()

            with anyio.fail_after(10), pytest.raises(RecordingFailedError, match="maxIdleTime"):
                await record()
            delivering.cancel_scope.cancel()
        server.should_exit = True
    listener.close()
    assert session.polls == 0  # the exit came from the events, not from a poll
