"""Recording lifecycles on the wire: status, timers, files and serverResponse shapes (Agora's
query and stop references, "Manage recorded files")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agora_recording.testing import emulated_http

from tests.helpers import BASE, RAW_STORAGE, STOP_BODY, acquire, path, start_request, start_with

pytestmark = pytest.mark.anyio

EPOCH_MS = 1_704_067_200_000  # the FakeClock's default start, in ms


async def server_response(
    http: httpx.AsyncClient, resource_id: str, sid: str, mode: str = "individual"
) -> dict[str, Any]:
    """Query and return serverResponse."""
    response = await http.get(path(resource_id, sid, "query", mode))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["serverResponse"]
    return result


async def test_status_climbs_to_5_then_exits_through_6_7_8_and_disappears() -> None:
    """Status goes 0->1->2->3->4->5 over the startup delay, 6->7->8 after stop, then 404."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start_with(http, "individual", start_request("individual"))
        seen = []
        for step in (0.5, 1, 1, 1, 1, 0):
            seen.append((await server_response(http, resource_id, sid))["status"])
            emulator.advance(step)
        assert seen == [0, 1, 2, 3, 4, 5]
        stop = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        assert stop.status_code == 200
        exiting = []
        for _ in range(3):
            exiting.append((await server_response(http, resource_id, sid))["status"])
            emulator.advance(1)
        gone = await http.get(path(resource_id, sid, "query"))
    assert exiting == [6, 7, 8]
    assert gone.status_code == 404


async def test_startup_delay_zero_is_healthy_at_once() -> None:
    """startup_delay=0 makes a fresh recording report status 5 immediately."""
    async with emulated_http(startup_delay=0) as (http, _):
        resource_id, sid = await start_with(http, "individual", start_request("individual"))
        assert (await server_response(http, resource_id, sid))["status"] == 5


async def test_individual_files_per_publishing_user_and_track() -> None:
    """Individual mode lists one M3U8 per subscribed publishing user and track, in json mode."""
    async with emulated_http() as (http, emulator):
        channel = emulator.channel("room")
        channel.publish(7)
        channel.publish(8, video=False)
        channel.join(9)  # audience: no files
        request = start_request("individual")
        request["storageConfig"] = {**RAW_STORAGE, "fileNamePrefix": ["dir1", "dir2"]}
        resource_id, sid = await start_with(http, "individual", request)
        emulator.advance(5)
        channel.publish(10, audio=False)  # a later publisher gets its own file at that time
        response = await server_response(http, resource_id, sid)
    assert response["status"] == 5
    assert response["fileListMode"] == "json"
    assert response["sliceStartTime"] == EPOCH_MS
    prefix = f"dir1/dir2/{sid}_room__uid_s_"
    assert [(f["fileName"], f["trackType"], f["uid"]) for f in response["fileList"]] == [
        (f"{prefix}7__uid_e_audio.m3u8", "audio", "7"),
        (f"{prefix}7__uid_e_video.m3u8", "video", "7"),
        (f"{prefix}8__uid_e_audio.m3u8", "audio", "8"),
        (f"{prefix}10__uid_e_video.m3u8", "video", "10"),
    ]
    assert {f["mixedAllUser"] for f in response["fileList"]} == {False}
    assert {f["isPlayable"] for f in response["fileList"]} == {True}
    assert [f["sliceStartTime"] for f in response["fileList"]] == [EPOCH_MS] * 3 + [EPOCH_MS + 5000]


@pytest.mark.parametrize("spelling", ["unSubscribeAudioUids", "unsubscribeAudioUids"])
async def test_subscription_lists_filter_files_in_both_spellings(spelling: str) -> None:
    """Allow- and block-lists decide which tracks are recorded; both unSubscribe spellings work."""
    async with emulated_http() as (http, emulator):
        channel = emulator.channel("room")
        for uid in (1, 2, 3):
            channel.publish(uid)
        request = start_request("individual")
        request["recordingConfig"].update(
            {"subscribeVideoUids": ["2"], spelling: ["1"], "subscribeUidGroup": 1}
        )
        resource_id, sid = await start_with(http, "individual", request)
        files = (await server_response(http, resource_id, sid))["fileList"]
    assert [(f["uid"], f["trackType"]) for f in files] == [
        ("2", "audio"),
        ("2", "video"),
        ("3", "audio"),
    ]


async def test_audio_only_stream_types_and_standard_stream_mode() -> None:
    """streamTypes 0 records audio only; streamMode standard adds the merged A/V index."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        emulator.channel("hall").publish(7)
        audio = start_request("individual")
        audio["recordingConfig"]["streamTypes"] = 0
        rid_a, sid_a = await start_with(http, "individual", audio)
        standard = start_request("individual")
        standard["recordingConfig"]["streamMode"] = "standard"
        rid_s, sid_s = await start_with(http, "individual", standard, cname="hall")
        audio_files = (await server_response(http, rid_a, sid_a))["fileList"]
        standard_files = (await server_response(http, rid_s, sid_s))["fileList"]
    assert [f["trackType"] for f in audio_files] == ["audio"]
    assert [f["trackType"] for f in standard_files] == ["audio", "video", "audio_and_video"]
    assert standard_files[2]["fileName"] == f"{sid_s}_hall__uid_s_7__uid_e_av.m3u8"


async def test_mix_hls_reports_one_string_file() -> None:
    """Mix with ["hls"]: fileListMode "string" and fileList "<sid>_<cname>.m3u8"."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start_with(http, "mix", start_request("mix"))
        before = await server_response(http, resource_id, sid, "mix")
        emulator.channel("room").publish(7)
        after = await server_response(http, resource_id, sid, "mix")
        stop = await http.post(path(resource_id, sid, "stop", "mix"), json=STOP_BODY)
    assert before == {"status": 0, "fileListMode": "string", "sliceStartTime": EPOCH_MS}
    assert after["fileListMode"] == "string"
    assert after["fileList"] == f"{sid}_room.m3u8"
    assert stop.json()["serverResponse"] == {
        "fileListMode": "string",
        "fileList": f"{sid}_room.m3u8",
        "uploadingStatus": "uploaded",
    }


async def test_mix_hls_and_mp4_reports_json_files_with_mp4_rollover() -> None:
    """Mix with ["hls","mp4"]: json list of the M3U8 and MP4s, a new MP4 every two hours."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        request = start_request("mix")
        request["recordingFileConfig"] = {"avFileType": ["hls", "mp4"]}
        resource_id, sid = await start_with(http, "mix", request)
        emulator.advance(2 * 3600 + 1)
        files = (await server_response(http, resource_id, sid, "mix"))["fileList"]
    assert [f["fileName"] for f in files] == [
        f"{sid}_room.m3u8",
        f"{sid}_room_0.mp4",
        f"{sid}_room_1.mp4",
    ]
    assert {(f["uid"], f["mixedAllUser"], f["trackType"]) for f in files} == {
        ("0", True, "audio_and_video")
    }


async def test_screenshot_recordings_report_status_and_slice_start_only() -> None:
    """Individual with snapshotConfig: query {status, sliceStartTime}, stop {uploadingStatus}."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        request = start_request("individual")
        request["snapshotConfig"] = {"captureInterval": 1, "fileType": ["jpg"]}  # lenient: >= 1
        resource_id, sid = await start_with(http, "individual", request)
        query = await server_response(http, resource_id, sid)
        stop = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert query == {"status": 0, "sliceStartTime": EPOCH_MS}
    assert stop.json()["serverResponse"] == {"uploadingStatus": "uploaded"}


def web_request(**param: Any) -> dict[str, Any]:
    """A web start clientRequest with a CDN output and MP4s."""
    request = start_request("web")
    service = request["extensionServiceConfig"]["extensionServices"][0]
    service["serviceParam"].update(param)
    request["extensionServiceConfig"]["extensionServices"].append(
        {
            "serviceName": "rtmp_publish_service",
            "serviceParam": {"outputs": [{"rtmpUrl": "rtmp://cdn/x"}]},
        }
    )
    request["recordingFileConfig"] = {"avFileType": ["hls", "mp4"]}
    return request


async def test_web_query_and_stop_shapes() -> None:
    """Web query shows the recorder's files and CDN outputs, stop adds upload_service, and a
    cname's special characters become "-" in file names."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start_with(
            http, "web", web_request(maxVideoDuration=30, maxRecordingHour=2), cname="my.page#1"
        )
        early = await server_response(http, resource_id, sid, "web")
        emulator.advance(3600 + 5)
        running = await server_response(http, resource_id, sid, "web")
        stop = await http.post(
            path(resource_id, sid, "stop", "web"),
            json={"cname": "my.page#1", "uid": "99", "clientRequest": {}},
        )
    assert early["status"] == 0
    assert [s["serviceName"] for s in early["extensionServiceState"]] == [
        "web_recorder_service",
        "rtmp_publish_service",
    ]
    assert early["extensionServiceState"][0]["payload"]["state"] == "init"
    assert early["extensionServiceState"][1]["payload"]["outputs"] == [
        {"rtmpUrl": "rtmp://cdn/x", "status": "connecting"}
    ]
    recorder, rtmp = running["extensionServiceState"]
    base = f"{sid}_my-page-1"
    assert recorder["payload"] == {
        "fileList": [
            {"filename": f"{base}.m3u8", "sliceStartTime": EPOCH_MS},
            {"filename": f"{base}_0.mp4", "sliceStartTime": EPOCH_MS},
            {"filename": f"{base}_1.mp4", "sliceStartTime": EPOCH_MS},
            {"filename": f"{base}_2.mp4", "sliceStartTime": EPOCH_MS},
        ],
        "onhold": False,
        "state": "inProgress",
    }
    assert rtmp["payload"]["outputs"][0]["status"] == "publishing"
    upload, recorder_at_stop = stop.json()["serverResponse"]["extensionServiceState"]
    assert upload == {"serviceName": "upload_service", "payload": {"uploadingStatus": "uploaded"}}
    assert recorder_at_stop["payload"]["state"] == "exit"


async def test_web_onhold_produces_no_files_until_update_resumes() -> None:
    """onhold:true renders without slices; update webRecordingConfig.onhold=false starts them."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start_with(http, "web", web_request(onhold=True), cname="page")
        held = await server_response(http, resource_id, sid, "web")
        emulator.advance(10)
        update = await http.post(
            path(resource_id, sid, "update", "web"),
            json={
                "cname": "page",
                "uid": "99",
                "clientRequest": {
                    "webRecordingConfig": {"onhold": False},
                    "rtmpPublishConfig": {"outputs": [{"rtmpUrl": "rtmps://cdn/y"}]},
                },
            },
        )
        resumed = await server_response(http, resource_id, sid, "web")
    assert held["extensionServiceState"][0]["payload"]["fileList"] == []
    assert held["extensionServiceState"][0]["payload"]["onhold"] is True
    assert update.status_code == 200
    assert update.json()["sid"] == sid
    recorder, rtmp = resumed["extensionServiceState"]
    assert recorder["payload"]["onhold"] is False
    assert recorder["payload"]["fileList"][0]["sliceStartTime"] == EPOCH_MS + 10_000
    assert rtmp["payload"]["outputs"][0]["rtmpUrl"] == "rtmps://cdn/y"


async def test_web_stop_while_on_hold_the_whole_time_is_435() -> None:
    """A web recording that never left on-hold recorded nothing: stop is 206 code 435."""
    async with emulated_http() as (http, _):
        resource_id, sid = await start_with(http, "web", web_request(onhold=True), cname="page")
        stop = await http.post(
            path(resource_id, sid, "stop", "web"),
            json={"cname": "page", "uid": "99", "clientRequest": {}},
        )
    assert (stop.status_code, stop.json()["code"]) == (206, 435)


async def test_web_recording_stops_at_max_recording_hour() -> None:
    """A web recording exits by itself after maxRecordingHour."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start_with(http, "web", web_request(), cname="page")
        emulator.advance(3600)
        assert (await server_response(http, resource_id, sid, "web"))["status"] == 6
        emulator.advance(3)
        gone = await http.get(path(resource_id, sid, "query", "web"))
    assert gone.status_code == 404


async def test_async_stop_reports_unknown_upload_status() -> None:
    """stop with async_stop:true answers at once with uploadingStatus "unknown"."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start_with(http, "individual", start_request("individual"))
        stop = await http.post(
            path(resource_id, sid, "stop"),
            json={"cname": "room", "uid": "99", "clientRequest": {"async_stop": True}},
        )
    assert stop.json()["serverResponse"]["uploadingStatus"] == "unknown"


async def test_idle_exit_when_nobody_is_in_a_communication_channel() -> None:
    """channelType 0: maxIdleTime after the last user leaves, the task exits by itself; a stop
    then gets 49 in the exit window and 404 after it."""
    async with emulated_http() as (http, emulator):
        channel = emulator.channel("room")
        channel.publish(7)
        request = start_request("individual")
        request["recordingConfig"]["maxIdleTime"] = 10
        resource_id, sid = await start_with(http, "individual", request)
        emulator.advance(100)
        assert (await server_response(http, resource_id, sid))["status"] == 5
        channel.leave(7)
        emulator.advance(9.9)
        assert (await server_response(http, resource_id, sid))["status"] == 5
        emulator.advance(0.2)
        assert (await server_response(http, resource_id, sid))["status"] == 6
        late_stop = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        emulator.advance(3)
        gone = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert late_stop.json()["code"] == 49
    assert gone.status_code == 404


async def test_present_non_publishing_users_keep_a_communication_channel_alive() -> None:
    """In a communication channel an audience member is enough to avoid idle exit."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").join(5)
        resource_id, sid = await start_with(http, "individual", start_request("individual"))
        emulator.advance(3600)
        response = await server_response(http, resource_id, sid)
    assert response["status"] == 5
    assert response["fileList"] == []


async def test_live_channel_is_idle_without_publishers() -> None:
    """channelType 1: nobody publishing for maxIdleTime (default 30 s) makes the task exit."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").join(5)
        request = start_request("individual")
        request["recordingConfig"]["channelType"] = 1
        resource_id, sid = await start_with(http, "individual", request)
        emulator.advance(29)
        alive = (await server_response(http, resource_id, sid))["status"]
        emulator.advance(1)
        exiting = (await server_response(http, resource_id, sid))["status"]
    assert (alive, exiting) == (5, 6)


async def test_publishing_again_before_max_idle_time_cancels_the_idle_exit() -> None:
    """A publisher returning within maxIdleTime keeps the recording going."""
    async with emulated_http() as (http, emulator):
        channel = emulator.channel("room")
        resource_id, sid = await start_with(http, "individual", start_request("individual"))
        emulator.advance(25)
        channel.publish(7)
        emulator.advance(60)
        channel.unpublish(7)  # still present: not idle in a communication channel
        emulator.advance(60)
        assert (await server_response(http, resource_id, sid))["status"] == 5


async def test_resource_expired_hour_cuts_control_calls_but_not_the_recording() -> None:
    """After resourceExpiredHour, query/update/stop get 404 while the task keeps running."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start_with(
            http, "individual", start_request("individual"), resourceExpiredHour=1
        )
        emulator.advance(3599)
        assert (await server_response(http, resource_id, sid))["status"] == 5
        emulator.advance(1)
        query = await http.get(path(resource_id, sid, "query"))
        stop = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        info = emulator.recording(sid)
        conflict_rid = await acquire(http)
        conflict = await http.post(
            f"{BASE}/resourceid/{conflict_rid}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert query.status_code == stop.status_code == 404
    assert info is not None
    assert info.running
    assert not info.reachable
    assert conflict.json()["code"] == 53


async def test_update_subscription_replaces_the_lists_per_media_type() -> None:
    """update streamSubscribe replaces the lists of one media type and records new users."""
    async with emulated_http() as (http, emulator):
        channel = emulator.channel("room")
        channel.publish(1)
        channel.publish(2)
        request = start_request("individual")
        request["recordingConfig"].update(
            {"subscribeAudioUids": ["1"], "subscribeVideoUids": ["1"]}
        )
        resource_id, sid = await start_with(http, "individual", request)
        emulator.advance(5)
        update = await http.post(
            path(resource_id, sid, "update"),
            json={
                "cname": "room",
                "uid": "99",
                "clientRequest": {
                    "streamSubscribe": {"audioUidList": {"subscribeAudioUids": ["#allstream#"]}}
                },
            },
        )
        files = (await server_response(http, resource_id, sid))["fileList"]
    assert update.status_code == 200
    assert [(f["uid"], f["trackType"], f["sliceStartTime"]) for f in files] == [
        ("1", "audio", EPOCH_MS),
        ("1", "video", EPOCH_MS),
        ("2", "audio", EPOCH_MS + 5000),
    ]


async def test_update_layout_replaces_the_whole_layout_with_defaults() -> None:
    """Each updateLayout replaces the layout: an omitted backgroundColor falls back to black."""
    async with emulated_http() as (http, _):
        request = start_request("mix")
        request["recordingConfig"]["transcodingConfig"] = {"backgroundColor": "#FF0000"}
        resource_id, sid = await start_with(http, "mix", request)
        before = (await http.get("/_emulator/state")).json()["recordings"][0]["layout"]
        response = await http.post(
            path(resource_id, sid, "updateLayout", "mix"),
            json={
                "cname": "room",
                "uid": "99",
                "clientRequest": {
                    "mixedVideoLayout": 3,
                    "layoutConfig": [{"x_axis": 0, "y_axis": 0, "width": 1, "height": 1}],
                },
            },
        )
        after = (await http.get("/_emulator/state")).json()["recordings"][0]["layout"]
    assert response.status_code == 200
    assert response.json() == {"cname": "room", "uid": "99", "resourceId": resource_id, "sid": sid}
    assert before["backgroundColor"] == "#FF0000"
    assert after["backgroundColor"] == "#000000"
    assert after["mixedVideoLayout"] == 3


async def test_state_dump_redacts_credentials() -> None:
    """The state dump never shows storage keys or tokens."""
    async with emulated_http() as (http, _):
        request = start_request("individual")
        request["token"] = "rtc-token-secret"
        await start_with(http, "individual", request)
        dumped = repr((await http.get("/_emulator/state")).json())
    assert "rtc-token-secret" not in dumped
    assert "'secretKey': '***'" in dumped
    assert "'accessKey': '***'" in dumped
