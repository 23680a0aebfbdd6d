"""Fault injection: failing calls, latency, dropped connections, dying and failing-over tasks."""

from __future__ import annotations

import anyio
import httpx
import pytest
from agora_recording.emulator import Emulator
from agora_recording.errors import (
    AlreadyStartedError,
    NotFoundError,
    ServerError,
    TransportError,
    UnconfirmedRecordingsError,
)
from agora_recording.testing import emulated_client, emulated_http

from tests.helpers import BASE, STOP_BODY, emulated_config, path, publish_and_start, start

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(subscribe_uid_group=0)


async def test_fail_next_fails_exactly_n_calls() -> None:
    """fail_next(times=2) fails two queries; the client's retries then get through."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        service.emulator.faults.fail_next("query", 504, times=2)
        response = await service.client.query(started.handle)
    assert response.sid == started.sid


async def test_fail_next_beyond_the_retries_surfaces_the_error() -> None:
    """More failures than retry attempts reach the caller as the mapped error."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        service.emulator.faults.fail_next("query", 500, times=10)
        with pytest.raises(ServerError) as info:
            await service.client.query(started.handle)
    assert info.value.status_code == 500
    assert info.value.code == 500


async def test_fail_next_on_any_endpoint_with_a_custom_body() -> None:
    """endpoint "*" matches every call; the given status and body are sent verbatim."""
    async with emulated_http() as (http, emulator):
        emulator.faults.fail_next("*", 400, {"code": 405, "reason": "no_active_status"})
        first = await http.post(f"{BASE}/acquire", json={})
        second = await http.post(
            f"{BASE}/acquire", json={"cname": "r", "uid": "1", "clientRequest": {}}
        )
    assert (first.status_code, first.json()) == (400, {"code": 405, "reason": "no_active_status"})
    assert second.status_code == 200


async def test_fail_after_processing_applies_the_call_but_loses_the_answer() -> None:
    """With after_processing the start happens although the caller sees 206 code 65."""
    async with emulated_http() as (http, emulator):
        emulator.faults.fail_next("start", 206, after_processing=True)
        resource_id_response = await http.post(
            f"{BASE}/acquire", json={"cname": "room", "uid": "99", "clientRequest": {}}
        )
        resource_id = resource_id_response.json()["resourceId"]
        body = {
            "cname": "room",
            "uid": "99",
            "clientRequest": {
                "storageConfig": {
                    "vendor": 1,
                    "region": 0,
                    "bucket": "b-bucket",
                    "accessKey": "a",
                    "secretKey": "s",
                },
                "recordingConfig": {"subscribeUidGroup": 0},
            },
        }
        url = f"{BASE}/resourceid/{resource_id}/mode/individual/start"
        lost = await http.post(url, json=body)
        retried = await http.post(url, json=body)
    assert (lost.status_code, lost.json()["code"]) == (206, 65)
    assert (retried.status_code, retried.json()["code"]) == (201, 7)
    assert len(emulator.recordings()) == 1


async def test_dropped_connection_in_process_raises_a_transport_error() -> None:
    """In-process a dropped call raises httpx.RemoteProtocolError, after the status line."""
    async with emulated_http() as (http, emulator):
        emulator.faults.drop_connection("acquire")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(f"{BASE}/acquire", json={"cname": "r", "uid": "1", "clientRequest": {}})
        after = await http.post(
            f"{BASE}/acquire", json={"cname": "r", "uid": "1", "clientRequest": {}}
        )
    assert after.status_code == 200


async def test_client_retries_a_dropped_connection_and_gives_up_after_its_attempts() -> None:
    """One drop is retried transparently; endless drops become a TransportError."""
    async with emulated_client() as service:
        service.emulator.faults.drop_connection("acquire", times=1)
        acquired = await service.client.acquire(cname="room", uid="99")
        service.emulator.faults.drop_connection("acquire", times=100)
        with pytest.raises(TransportError):
            await service.client.acquire(cname="room", uid="99")
    assert acquired.resource_id


async def test_drop_after_processing_still_stops_the_recording() -> None:
    """A stop whose answer is lost has stopped the task: a retry gets 400 code 49."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start(http)
        emulator.faults.drop_connection("stop", after_processing=True)
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        retried = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert retried.json()["code"] == 49


async def test_latency_delays_the_answer_and_respects_cancellation() -> None:
    """Injected latency is an anyio sleep: a caller's deadline cancels the call."""
    async with emulated_http() as (http, emulator):
        emulator.faults.add_latency(30, "acquire", times=1)
        with anyio.move_on_after(0.05) as scope:
            await http.post(f"{BASE}/acquire", json={"cname": "r", "uid": "1", "clientRequest": {}})
        assert scope.cancelled_caught
        assert emulator.faults.plan("acquire").latency == 0  # used up by the cancelled call


def test_latency_counts_per_call_until_used_up() -> None:
    """Latency with times applies to that many calls and adds up with other latency faults."""
    emulator = Emulator()
    emulator.faults.add_latency(0.5, "query", times=2)
    emulator.faults.add_latency(0.25)
    assert emulator.faults.plan("query").latency == 0.75
    assert emulator.faults.plan("stop").latency == 0.25
    assert emulator.faults.plan("query").latency == 0.75
    assert emulator.faults.plan("query").latency == 0.25


async def test_die_after_makes_the_next_recording_vanish() -> None:
    """die_after(N) before start: query works for N seconds, then 404 failed to find worker."""
    async with emulated_client() as service:
        service.emulator.faults.die_after(10)
        started = await publish_and_start(service)
        service.advance(9)
        alive = await service.client.query(started.handle)
        service.advance(1)
        with pytest.raises(NotFoundError) as info:
            await service.client.query(started.handle)
        events = service.emulator.event_types(started.sid)
    assert alive.status == 5
    assert info.value.worker_not_found
    assert events[-1] == 11
    assert service.emulator.notifications[-1].notification.details["exitStatus"] == 1


async def test_die_after_with_sid_times_from_now() -> None:
    """die_after(N, sid=...) on a running recording counts N from the current time."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        service.advance(100)
        assert started.sid is not None
        service.emulator.faults.die_after(5, sid=started.sid)
        service.advance(4)
        await service.client.query(started.handle)
        service.advance(1)
        assert service.emulator.recording(started.sid) is None


async def test_failover_is_404_for_a_window_then_back_with_bak_files() -> None:
    """A failover answers 404 while it lasts, then the task returns with bak0_ files, a new
    recorder uid and NCS event 12."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        assert started.sid is not None
        service.advance(10)
        service.emulator.faults.failover(sid=started.sid, after=5, duration=30)
        service.advance(5)
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
        service.advance(30)
        back = await service.client.query(started.handle)
        failover_note = next(
            n.notification for n in service.emulator.notifications if n.event_type == 12
        )
    names = [f.file_name for f in back.files]
    sid = started.sid
    assert names == [
        f"{sid}_room__uid_s_7__uid_e_audio.m3u8",
        f"{sid}_room__uid_s_7__uid_e_video.m3u8",
        f"bak0_{sid}_room__uid_s_7__uid_e_audio.m3u8",
        f"bak0_{sid}_room__uid_s_7__uid_e_video.m3u8",
    ]
    new_uid = failover_note.details["newUid"]
    assert isinstance(new_uid, int)
    assert failover_note.uid == str(new_uid) != "99"


async def test_a_fourth_failover_stops_the_task() -> None:
    """A task migrates at most three times; the fourth failover makes it disappear."""
    async with emulated_client() as service:
        service.emulator.faults.failover(after=10, duration=1)
        service.emulator.faults.failover(after=20, duration=1)
        service.emulator.faults.failover(after=30, duration=1)
        service.emulator.faults.failover(after=40, duration=1)
        started = await publish_and_start(service)
        service.advance(35)
        after_three = await service.client.query(started.handle)
        service.advance(10)
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
    assert [f.file_name.split("_")[0] for f in after_three.files][-2:] == ["bak2", "bak2"]


async def test_abnormal_exit_reports_status_20_then_disappears() -> None:
    """abnormal_exit makes query report status 20 for the exit window, then 404."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        assert started.sid is not None
        service.advance(5)
        service.emulator.faults.abnormal_exit(sid=started.sid)
        failed = await service.client.query(started.handle)
        service.advance(3)
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
        events = service.emulator.event_types(started.sid)
    assert failed.status == 20
    assert events[-2:] == [1, 11]


async def test_backup_upload_reports_backuped_at_stop() -> None:
    """backup_upload makes stop report uploadingStatus "backuped" and NCS event 32."""
    async with emulated_client() as service:
        service.emulator.faults.backup_upload()
        started = await publish_and_start(service)
        stopped = await service.client.stop(started.handle)
        events = service.emulator.event_types(started.sid)
    assert stopped.uploading_status == "backuped"
    assert events[-3:] == [41, 32, 11]


def test_fault_arguments_are_checked() -> None:
    """Unknown endpoints, non-positive counts, negative delays and unknown sids are refused."""
    faults = Emulator().faults
    with pytest.raises(ValueError, match="unknown endpoint"):
        faults.fail_next("launch", 500)
    with pytest.raises(ValueError, match="times"):
        faults.drop_connection("stop", times=0)
    with pytest.raises(ValueError, match=">= 0"):
        faults.add_latency(-1)
    with pytest.raises(ValueError, match=">= 0"):
        faults.die_after(-1)
    with pytest.raises(KeyError):
        faults.die_after(1, sid="0" * 32)


def test_clear_forgets_pending_faults() -> None:
    """clear() drops pending call faults and faults waiting for the next recording."""
    emulator = Emulator()
    emulator.faults.fail_next("update_layout", 500)
    emulator.faults.die_after(1)
    emulator.faults.clear()
    assert emulator.faults.plan("updateLayout").fail is None
    assert emulator.faults.take_for_new_recording() == []


async def test_start_retried_after_a_lost_answer_warns_about_the_unknown_sid(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A start whose answer was lost is retried, gets 201/7, and the client warns of the orphan,
    lists it without a sid and raises when it closes."""
    caplog.set_level("WARNING", logger="agora_recording")
    async with emulated_client() as service:
        service.channel("room").publish(7)
        service.emulator.faults.fail_next("start", 206, after_processing=True)
        acquired = await service.client.acquire(cname="room", uid="99")
        assert acquired.resource_id is not None
        with pytest.raises(AlreadyStartedError):
            await service.client.start(
                acquired.resource_id, "individual", cname="room", uid="99", config=CONFIG
            )
        assert len(service.emulator.recordings()) == 1
        assert [entry.sid for entry in service.client.unconfirmed()] == [None]
        with pytest.raises(UnconfirmedRecordingsError):
            await service.client.aclose()
    assert any("sid is unknown" in record.getMessage() for record in caplog.records)
