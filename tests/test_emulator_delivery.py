"""NCS delivery faults and timing, in virtual time: duplicates, reordering, delays, drops,
wrong signatures, and exit events delivered when they happen."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from agora_recording import webhooks
from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET, Emulator
from agora_recording.models import RecordingConfig, StartConfig, StartResponse, StorageConfig
from agora_recording.testing import NOTIFICATION_URL, EmulatedService, virtual_service
from starlette.types import Receive, Scope, Send

from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
    ),
    recording_config=RecordingConfig(subscribe_uid_group=0, max_idle_time=30),
)


async def read_body(receive: Receive) -> bytes:
    """The whole request body of an ASGI request."""
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


class Inbox:
    """An ASGI webhook receiver that keeps every delivery with the loop time it arrived."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[float, bytes, dict[str, str], str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.deliveries.append((anyio.current_time(), body, headers, scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    @property
    def events(self) -> list[int]:
        """The eventType of each delivery, in arrival order."""
        return [json.loads(body)["eventType"] for _, body, _, _ in self.deliveries]

    def verified(self, secret: str = DEFAULT_NOTIFICATION_SECRET) -> list[bool]:
        """Whether each delivery's signatures match ``secret``."""
        return [webhooks.verify(body, headers, secret) for _, body, headers, _ in self.deliveries]


async def start(service: EmulatedService) -> StartResponse:
    """Start an individual recording of "room" (user 7 publishing) and let deliveries run."""
    service.channel("room").publish(7)
    acquired = await service.client.acquire(cname="room", uid="99")
    assert acquired.resource_id is not None
    started = await service.client.start(
        acquired.resource_id, "individual", cname="room", uid="99", config=CONFIG
    )
    await anyio.sleep(1)
    return started


async def test_deliveries_reach_the_receiver_signed_in_order() -> None:
    """Without faults the receiver gets each notification once, in order, correctly signed,
    at the notification URL."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        await start(service)
        logged = [n.body for n in service.emulator.notifications]
        counts = service.emulator.delivery_counts
    assert inbox.events == [40, 30, 43, 44, 42, 42, 4, 13]
    assert [body for _, body, _, _ in inbox.deliveries] == logged
    assert all(inbox.verified())
    assert {p for _, _, _, p in inbox.deliveries} == {"/agora"}
    assert NOTIFICATION_URL.endswith("/agora")
    assert counts == {"attempts": 8, "delivered": 8}


async def test_a_duplicate_delivery_is_a_resend_the_hub_delivers_once() -> None:
    """duplicate_notifications resends a notification as NCS does: same noticeId and payload,
    notifyMs renewed and signed again; a hub passes it on once."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.duplicate_notifications(event_type=30)
        await start(service)
        counts = service.emulator.delivery_counts
    assert inbox.events == [40, 30, 30, 43, 44, 42, 42, 4, 13]
    assert all(inbox.verified())
    first, resent = (webhooks.parse(inbox.deliveries[i][1]) for i in (1, 2))
    assert (first.notice_id, first.payload) == (resent.notice_id, resent.payload)
    assert (resent.notify_ms or 0) > (first.notify_ms or 0) > 0
    assert counts["duplicated"] == 1
    hub = webhooks.NotificationHub()
    published = [hub.publish(webhooks.parse(body)) for _, body, _, _ in inbox.deliveries]
    assert published == [True, True, False, True, True, True, True, True, True]


async def test_reordered_delivery_arrives_after_the_next_one() -> None:
    """reorder_notifications holds a notification back until the next one went out."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.reorder_notifications()
        await start(service)
    assert inbox.events == [30, 40, 43, 44, 42, 42, 4, 13]
    sequences = [json.loads(body)["payload"]["sequence"] for _, body, _, _ in inbox.deliveries]
    assert sequences[:2] == [1, 0]


async def test_delayed_delivery_arrives_late_and_is_overtaken() -> None:
    """delay_notifications(5) delivers one notification 5 virtual seconds late; later ones
    overtake it."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.delay_notifications(5, event_type=40)
        await start(service)
        await anyio.sleep(10)
    assert inbox.events == [30, 43, 44, 42, 42, 4, 13, 40]
    started = inbox.deliveries[0][0]  # the 30, sent at the start like the 40
    assert inbox.deliveries[-1][0] - started == pytest.approx(5)


async def test_dropped_deliveries_never_arrive_but_are_logged() -> None:
    """drop_notifications loses a delivery (resends included); the emulator's log keeps it."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.drop_notifications(times=2)
        await start(service)
        logged = service.emulator.event_types()
        counts = service.emulator.delivery_counts
    assert inbox.events == [43, 44, 42, 42, 4, 13]
    assert logged == [40, 30, 43, 44, 42, 42, 4, 13]
    assert counts["dropped"] == 2


async def test_wrong_secret_deliveries_fail_verification() -> None:
    """sign_notifications_with signs a delivery with another secret: a verifying receiver must
    refuse exactly that one."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.sign_notifications_with("not-the-secret", event_type=40)
        await start(service)
    assert inbox.verified() == [False, True, True, True, True, True, True, True]
    assert inbox.verified("not-the-secret")[0]


async def test_delivery_faults_narrow_by_sid() -> None:
    """A delivery fault for one sid leaves other recordings' notifications alone."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        first = await start(service)
        assert first.sid is not None
        service.emulator.faults.drop_notifications(times=None, sid=first.sid)
        service.channel("room").leave(7)
        await anyio.sleep(60)  # the first recording exits idle: its exit events are dropped
        exits = [n.sid for n in service.emulator.notifications if n.event_type == 11]
    assert exits == [first.sid]
    assert 11 not in inbox.events


async def test_every_notification_carries_the_sid() -> None:
    """Through start, failover, idle exit and removal, every notification names its recording
    in the envelope and in the payload."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.failover(after=10, duration=20)
        started = await start(service)
        await anyio.sleep(120)
        service.channel("room").leave(7)
        await anyio.sleep(60)
        running = service.emulator.running_recordings()
    bodies = [json.loads(body) for _, body, _, _ in inbox.deliveries]
    assert {b["sid"] for b in bodies} == {b["payload"]["sid"] for b in bodies} == {started.sid}
    assert {12, 33, 41, 31, 11} <= {b["eventType"] for b in bodies}
    assert running == []


async def test_idle_exit_is_delivered_when_it_happens() -> None:
    """An idle exit's events reach the receiver maxIdleTime after the channel emptied, with no
    request looking."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        await start(service)
        emptied = anyio.current_time()
        service.channel("room").leave(7)
        await anyio.sleep(100)
    exits = [(at, json.loads(body)["eventType"]) for at, body, _, _ in inbox.deliveries]
    exits = [(at - emptied, event) for at, event in exits if event in (41, 31, 11)]
    assert [event for _, event in exits] == [41, 31, 11]
    assert all(after == pytest.approx(30) for after, _ in exits)


async def test_abnormal_exit_is_delivered_when_it_happens() -> None:
    """An abnormal exit emits event 1 (error) then 11 (exitStatus 1) at its virtual instant."""
    inbox = Inbox()
    async with virtual_service(notification_app=inbox) as service:
        service.emulator.faults.abnormal_exit(after=50)
        await start(service)
        await anyio.sleep(100)
    started = inbox.deliveries[0][0]  # the 40, sent at the start
    last = [(at - started, json.loads(body)) for at, body, _, _ in inbox.deliveries][-2:]
    assert [b["eventType"] for _, b in last] == [1, 11]
    assert last[1][1]["payload"]["details"]["exitStatus"] == 1
    assert all(after == pytest.approx(50) for after, _ in last)


async def test_resends_happen_on_the_virtual_clock() -> None:
    """A receiver answering 500 twice gets the resends after the configured delays of virtual
    time, re-signed with a new notifyMs each attempt."""
    arrivals: list[tuple[float, dict[str, Any]]] = []

    async def flaky(scope: Scope, receive: Receive, send: Send) -> None:
        arrivals.append((anyio.current_time(), json.loads(await read_body(receive))))
        status = 500 if len(arrivals) < 3 else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async with virtual_service(
        notification_app=flaky, notification_retry_delays=(1.0, 2.0, 4.0)
    ) as service:
        await start(service)
        await anyio.sleep(10)
        counts = service.emulator.delivery_counts
    first = arrivals[:3]
    assert [a - first[0][0] for a, _ in first] == [
        pytest.approx(0),
        pytest.approx(1),
        pytest.approx(3),
    ]
    assert {b["eventType"] for _, b in first} == {40}
    assert len({b["notifyMs"] for _, b in first}) == 3
    assert counts["attempts"] == counts["delivered"] + 2


def test_delivery_fault_arguments_are_checked_and_secrets_hidden() -> None:
    """Delivery faults refuse bad counts and delays; a wrong secret never shows in a repr."""
    faults = Emulator().faults
    with pytest.raises(ValueError, match="times"):
        faults.drop_notifications(times=0)
    with pytest.raises(ValueError, match=">= 0"):
        faults.delay_notifications(-1)
    faults.sign_notifications_with("hunter2-secret", times=None)
    plan = faults.delivery_plan(40, "a" * 32)
    assert plan.secret == "hunter2-secret"
    assert "hunter2" not in repr(plan)
    assert "hunter2" not in repr(faults)
    faults.clear()
    assert faults.delivery_plan(40, None).secret is None
