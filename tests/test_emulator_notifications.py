"""NCS notifications from the emulator: envelope, signatures, event order and HTTP delivery."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from agora_recording import webhooks
from agora_recording.emulator import (
    DEFAULT_NOTIFICATION_SECRET,
    Emulator,
    FakeClock,
    SignedNotification,
)
from agora_recording.models import (
    AcquireConfig,
    StartConfig,
    StartResponse,
)
from agora_recording.testing import EmulatedService, emulated_client

from tests.helpers import emulated_config, web_config

pytestmark = pytest.mark.anyio

START_MS = 1_704_067_200_000  # the FakeClock's default start, in ms
INDIVIDUAL = emulated_config(subscribe_uid_group=0, max_idle_time=10)
WEB = web_config()


async def start(service: EmulatedService, mode: str, config: StartConfig) -> StartResponse:
    """Acquire and start a recording of channel "room" as uid 99."""
    acquire_config = AcquireConfig(scene=1) if mode == "web" else None
    acquired = await service.client.acquire(cname="room", uid="99", config=acquire_config)
    assert acquired.resource_id is not None
    return await service.client.start(
        acquired.resource_id, mode, cname="room", uid="99", config=config
    )


def decoded(notes: list[SignedNotification]) -> list[dict[str, Any]]:
    """The envelopes as JSON objects."""
    return [json.loads(n.body) for n in notes]


async def test_individual_lifecycle_sends_the_documented_sequence_signed() -> None:
    """Start, a publisher, two minutes and stop give 40 30 43 44 42 42 4 33 33 41 31 11: the
    documented envelopes signed with both headers, numbered from 0, with the documented details."""
    async with emulated_client() as service:
        started = await start(service, "individual", INDIVIDUAL)
        service.channel("room").publish(7)
        service.advance(60)
        service.advance(60)
        await service.client.stop(started.handle)
        notes = service.emulator.notifications
    sid = started.sid
    assert [n.event_type for n in notes] == [40, 30, 13, 43, 44, 42, 42, 4, 33, 33, 41, 31, 11]
    for note in notes:
        assert webhooks.verify(note.body, note.headers, DEFAULT_NOTIFICATION_SECRET)
        assert note.headers["Content-Type"] == "application/json"
    envelopes = decoded(notes)
    assert [e["payload"]["sequence"] for e in envelopes] == list(range(13))
    assert {e["productId"] for e in envelopes} == {3}
    assert {e["sid"] for e in envelopes} == {e["payload"]["sid"] for e in envelopes} == {sid}
    assert {(e["payload"]["cname"], e["payload"]["uid"]) for e in envelopes} == {("room", "99")}
    assert len({e["noticeId"] for e in envelopes}) == 13
    assert [e["payload"]["serviceType"] for e in envelopes] == [
        1,
        2,
        0,
        1,
        1,
        1,
        1,
        0,
        2,
        2,
        1,
        2,
        0,
    ]
    assert [e["payload"]["details"]["msgName"] for e in envelopes] == [
        "recorder_started",
        "uploader_started",
        "ha_register_success",
        "recorder_audio_stream_state_changed",
        "recorder_video_stream_state_changed",
        "recorder_slice_start",
        "recorder_slice_start",
        "cloud_recording_file_infos",
        "uploading_progress",
        "uploading_progress",
        "recorder_leave",
        "uploaded",
        "session_exit",
    ]
    assert [e["payload"]["sendts"] for e in envelopes[8:10]] == [
        START_MS + 60_000,
        START_MS + 120_000,
    ]
    assert envelopes[12]["notifyMs"] == START_MS + 120_000
    slice_start = envelopes[5]["payload"]["details"]
    assert (slice_start["streamUid"], slice_start["trackType"]) == ("7", "audio")
    assert slice_start["mixedAllUser"] is False
    assert slice_start["startUtcMs"] == START_MS
    assert (
        envelopes[7]["payload"]["details"]["fileList"] == f"{sid}_room__uid_s_7__uid_e_audio.m3u8"
    )
    assert envelopes[10]["payload"]["details"]["leaveCode"] == 2
    assert [f["fileName"] for f in envelopes[11]["payload"]["details"]["fileList"]] == [
        f"{sid}_room__uid_s_7__uid_e_audio.m3u8",
        f"{sid}_room__uid_s_7__uid_e_video.m3u8",
    ]
    assert envelopes[12]["payload"]["details"]["exitStatus"] == 0
    audio, video = (envelopes[i]["payload"]["details"] for i in (3, 4))
    assert (audio["streamUid"], audio["state"], audio["UtcMs"]) == ("7", 0, START_MS)
    assert (video["streamUid"], video["state"]) == ("7", 0)


async def test_idle_exit_sends_leave_code_4_uploaded_and_session_exit() -> None:
    """An idle exit ends with 41 (leaveCode 4), 31, 11, stamped at the exit time."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        started = await start(service, "individual", INDIVIDUAL)
        service.channel("room").leave(7)
        service.advance(50)
        notes = service.emulator.notifications
    envelopes = decoded(notes)
    assert [n.event_type for n in notes][-3:] == [41, 31, 11]
    assert envelopes[-3]["payload"]["details"]["leaveCode"] == 4
    assert {e["payload"]["sendts"] for e in envelopes[-3:]} == {START_MS + 10_000}
    assert {e["sid"] for e in envelopes} == {started.sid}


async def test_mix_reports_one_composite_slice() -> None:
    """In mix mode the slice-start event is for the composite stream (uid "0")."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        service.channel("room").publish(8)
        await start(service, "mix", emulated_config())
        notes = service.emulator.notifications
    assert [n.event_type for n in notes] == [40, 30, 43, 44, 43, 44, 42, 4, 13]
    details = notes[6].notification.details
    assert (details["streamUid"], details["mixedAllUser"], details["trackType"]) == (
        "0",
        True,
        "audio_and_video",
    )


async def test_web_lifecycle_sends_70_then_71_31_11() -> None:
    """Web mode: 70 at start; at stop 71 (code 0 "ok", with files), 31 with status only, 11."""
    async with emulated_client() as service:
        started = await start(service, "web", WEB)
        service.advance(10)
        await service.client.stop(started.handle)
        notes = service.emulator.notifications
    assert [n.event_type for n in notes] == [70, 13, 71, 31, 11]
    envelopes = decoded(notes)
    assert envelopes[0]["payload"]["details"]["recorderStartTime"] == START_MS
    assert envelopes[0]["payload"]["serviceType"] == 6
    stopped = envelopes[2]["payload"]["details"]
    assert (stopped["code"], stopped["message"]) == (0, "ok")
    assert stopped["fileList"] == [
        {"filename": f"{started.sid}_room.m3u8", "sliceStartTime": START_MS}
    ]
    assert envelopes[3]["payload"]["details"] == {"msgName": "uploaded", "status": 0}


async def test_web_max_recording_hour_sends_71_with_code_1() -> None:
    """Reaching maxRecordingHour stops a web recording with 71 code 1 "max_recording_hour"."""
    async with emulated_client() as service:
        await start(service, "web", WEB)
        service.advance(3600)
        stopped = next(n for n in service.emulator.notifications if n.event_type == 71)
    assert stopped.notification.details["code"] == 1
    assert stopped.notification.details["message"] == "max_recording_hour"


async def test_progress_events_are_coalesced_when_the_clock_jumps() -> None:
    """Jumping ten minutes sends one upload-progress event, stamped at the last minute mark."""
    async with emulated_client() as service:
        service.channel("room").join(5)
        await start(service, "individual", INDIVIDUAL)
        service.advance(630)
        progress = [n for n in service.emulator.notifications if n.event_type == 33]
    assert len(progress) == 1
    assert progress[0].notification.sendts == START_MS + 600_000
    assert progress[0].notification.details["progress"] == 10000


async def test_callback_and_secret_options() -> None:
    """on_notification sees each notification, signed with the configured secret; the log can
    be cleared."""
    seen: list[SignedNotification] = []
    async with emulated_client(on_notification=seen.append, notification_secret="s3") as service:
        await start(service, "individual", INDIVIDUAL)
        logged = service.emulator.notifications
        service.emulator.clear_notifications()
        cleared = service.emulator.notifications
    assert seen == logged
    assert len(seen) == 3  # 40, 30 and 13 at start
    assert webhooks.verify(seen[0].body, seen[0].headers, "s3")
    assert not webhooks.verify(seen[0].body, seen[0].headers, DEFAULT_NOTIFICATION_SECRET)
    assert cleared == []


async def test_http_delivery_resends_until_a_200_with_fresh_signatures() -> None:
    """A receiver failing twice gets the notification a third time, re-signed with a new
    notifyMs each attempt."""
    received: list[httpx.Request] = []
    done = anyio.Event()
    clock = FakeClock()

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        clock.advance(1)
        if len(received) < 3:
            return httpx.Response(500)
        done.set()
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(receive)
    async with (
        emulated_client(
            clock=clock,
            notification_url="https://receiver.invalid/ncs",
            notification_secret="ncs",
            notification_retry_delays=(0, 0, 0),
        ) as service,
        httpx.AsyncClient(transport=transport) as client,
        anyio.create_task_group() as group,
    ):
        service.emulator.faults.drop_notifications(event_type=30)  # deliver 40 alone
        service.emulator.faults.withhold_ha_register()
        await start(service, "individual", INDIVIDUAL)
        group.start_soon(lambda: service.emulator.deliver_notifications(client=client))
        with anyio.fail_after(5):
            await done.wait()
        group.cancel_scope.cancel()
    assert len(received) == 3
    assert {str(r.url) for r in received} == {"https://receiver.invalid/ncs"}
    bodies = [r.content for r in received]
    assert all(webhooks.verify(b, r.headers, "ncs") for b, r in zip(bodies, received, strict=True))
    assert len({json.loads(b)["notifyMs"] for b in bodies}) == 3
    assert len({json.loads(b)["noticeId"] for b in bodies}) == 1


async def test_http_delivery_gives_up_after_three_resends_and_times_out_slow_receivers() -> None:
    """A receiver that never answers in time is tried four times in all, then skipped."""
    attempts: list[int] = []
    gave_up = anyio.Event()

    async def receive(request: httpx.Request) -> httpx.Response:
        attempts.append(json.loads(request.content)["eventType"])
        if json.loads(request.content)["eventType"] == 30:
            gave_up.set()
            return httpx.Response(200)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    transport = httpx.MockTransport(receive)
    async with (
        emulated_client(
            notification_url="https://receiver.invalid/ncs",
            notification_retry_delays=(0, 0, 0),
            notification_timeout=0.01,
        ) as service,
        httpx.AsyncClient(transport=transport) as client,
        anyio.create_task_group() as group,
    ):
        service.emulator.faults.withhold_ha_register()
        await start(service, "individual", INDIVIDUAL)  # emits 40, then 30
        group.start_soon(lambda: service.emulator.deliver_notifications(client=client))
        with anyio.fail_after(5):
            await gave_up.wait()
        group.cancel_scope.cancel()
    assert attempts == [40, 40, 40, 40, 30]


async def test_delivery_needs_a_url() -> None:
    """deliver_notifications without a notification_url is a programming error."""
    with pytest.raises(RuntimeError, match="URL"):
        await Emulator().deliver_notifications()
