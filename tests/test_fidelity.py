"""Today's service as documented: raw mode end to end, 206 stop bodies, the NCS IP list.

Raw is the individual mode of Agora's current start reference; ``individual`` is the legacy one.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import httpx
import pytest
from agora_recording import Mode, RecordingSession, StopOutcome
from agora_recording._cli import cli
from agora_recording._protocol import Endpoint, parse_response, required_scene
from agora_recording.enums import Scene, UploadingStatus
from agora_recording.errors import NoRecordedDataError, RequestNotCompletedError, ValidationError
from agora_recording.events import EventType
from agora_recording.files import FileKind, expected_files
from agora_recording.models import (
    AppsCollection,
    NcsIpResponse,
    RecordingConfig,
    RecordingFileConfig,
    StartConfig,
    StorageConfig,
)
from agora_recording.testing import emulated_client, emulated_http
from agora_recording.validation import find_problems
from agora_recording.webhooks import ServiceScene, parse
from click.testing import CliRunner

from tests.helpers import (
    BASE,
    RESOURCE_ID,
    SID,
    STOP_BODY,
    Script,
    acquire,
    handle_for,
    mock_client,
    ok,
    path,
    start_request,
    start_with,
)

pytestmark = pytest.mark.anyio

STORAGE = StorageConfig(vendor=1, region=0, bucket="bucket1", access_key="a", secret_key="s")
RAW = StartConfig(
    storage_config=STORAGE, recording_config=RecordingConfig(channel_type=0, stream_types=2)
)
# The stop reference's older page: 206 with the normal body, files partly in the backup cloud.
BACKUPED = {
    "resourceId": RESOURCE_ID,
    "sid": SID,
    "serverResponse": {"fileListMode": "json", "fileList": [], "uploadingStatus": "backuped"},
}


# --- raw mode ---------------------------------------------------------------------------------


def test_raw_is_a_mode_and_individual_stays_as_legacy() -> None:
    """Mode("raw") is today's individual recording; Mode("individual") still exists."""
    assert Mode("raw") is Mode.RAW
    assert Mode("individual") is Mode.INDIVIDUAL
    assert Mode.RAW.per_user
    assert Mode.INDIVIDUAL.per_user
    assert not Mode.MIX.per_user
    assert not Mode.WEB.per_user


def test_raw_acquires_without_a_scene() -> None:
    """Raw mode sends no acquire scene (it no longer takes effect); legacy individual needs 2."""
    config = StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(channel_type=0),
        apps_collection=AppsCollection(combination_policy="postpone_transcoding"),
    )
    assert required_scene(Mode.RAW, config) is None
    assert required_scene(Mode.INDIVIDUAL, config) is Scene.POSTPONED


def test_mp3_files_only_in_raw_mode() -> None:
    """avFileType ["mp3"] (audio files) is accepted in raw mode and refused elsewhere."""
    request = start_request("raw")
    request["recordingFileConfig"] = {"avFileType": ["mp3"]}
    body = {"cname": "room", "uid": "99", "clientRequest": request}
    assert find_problems("start", "raw", body) == []
    problems = find_problems("start", "individual", body)
    assert [p.field for p in problems] == ["clientRequest.recordingFileConfig.avFileType"]


def test_stranded_uploading_status_is_known() -> None:
    """Raw mode's stop may answer uploadingStatus "stranded": a known, non-failure status."""
    body = dict(BACKUPED, serverResponse={"uploadingStatus": "stranded"})
    response = parse_response(Endpoint.STOP, 200, {}, json.dumps(body).encode())
    assert response.uploading_status is UploadingStatus.STRANDED


async def test_raw_session_records_each_user_on_the_emulator() -> None:
    """A raw session starts at /mode/raw/start and ends with one A/V index per user."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        session = RecordingSession(
            service.client, cname="room", uid="999", mode=Mode.RAW, config=RAW
        )
        async with session:
            assert session.handle is not None
            assert session.handle.mode is Mode.RAW
            service.advance(10)
    assert session.result is not None
    names = [file.file_name for file in session.result.files]
    sid = session.handle.sid
    assert names == [f"{sid}_room__uid_s_7__uid_e_h264.m3u8"]  # one A/V index per user
    assert [(f.uid, f.track_type) for f in session.result.files] == [("7", "audio_and_video")]


async def test_raw_snapshots_answer_in_the_screenshot_shape() -> None:
    """Raw mode with snapshotConfig answers query with status only, as individual mode does."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        request = start_request("raw")
        request["snapshotConfig"] = {"captureInterval": 5, "fileType": ["jpg"]}
        resource_id, sid = await start_with(http, "raw", request)
        emulator.advance(10)
        response = await http.get(path(resource_id, sid, "query", "raw"))
        stop = await http.post(path(resource_id, sid, "stop", "raw"), json=STOP_BODY)
    assert response.status_code == 200, response.text
    assert "fileList" not in response.json()["serverResponse"]
    assert stop.status_code == 200


async def test_emulator_refuses_what_raw_drops() -> None:
    """The emulator answers 400 code 2 for streamMode or extensionServiceConfig in raw mode."""
    async with emulated_http() as (http, _):
        answers = []
        for key, value in (
            ("recordingConfig", {"streamMode": "standard"}),
            ("extensionServiceConfig", {"extensionServices": []}),
        ):
            request = start_request("raw")
            request[key] = value
            resource_id = await acquire(http)
            started = await http.post(
                f"{BASE}/resourceid/{resource_id}/mode/raw/start",
                json={"cname": "room", "uid": "99", "clientRequest": request},
            )
            answers.append((started.status_code, started.json().get("code"), key in started.text))
    assert answers == [(400, 2, True), (400, 2, True)]


async def test_client_refuses_stream_mode_in_raw_before_sending() -> None:
    """The client names recordingConfig.streamMode and sends nothing when raw mode gets it."""
    config = StartConfig(
        storage_config=STORAGE, recording_config=RecordingConfig(stream_mode="standard")
    )
    script = Script(ok({}))
    async with mock_client(script) as client:
        with pytest.raises(ValidationError) as caught:
            await client.start(RESOURCE_ID, Mode.RAW, cname="room", uid="99", config=config)
    assert caught.value.field == "clientRequest.recordingConfig.streamMode"
    assert script.requests == []


def test_cli_records_in_raw_mode() -> None:
    """``agora-recording demo --mode raw`` records each user separately and stops."""
    result = CliRunner().invoke(
        cli,
        ["demo", "--mode", "raw", "--duration", "1", "--json"],
        env={"AGORA_CUSTOMER_SECRET": None},
    )
    assert result.exit_code == 0, (result.output, result.exception)
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["handle"]["mode"] == "raw"
    assert any("__uid_s_" in file["fileName"] for file in document["files"])


# --- 206 stop with a normal body ----------------------------------------------------------------


def test_206_stop_with_a_body_is_a_stop_response() -> None:
    """A 206 stop whose body is the normal answer decodes, reporting uploadingStatus backuped."""
    content = json.dumps(BACKUPED).encode()
    response = parse_response(Endpoint.STOP, 206, {}, content)
    assert response.sid == SID
    assert response.uploading_status is UploadingStatus.BACKUPED


@pytest.mark.parametrize(
    ("code", "cls"), [(65, RequestNotCompletedError), (435, NoRecordedDataError)]
)
def test_206_stop_with_a_code_is_still_the_error_it_names(code: int, cls: type[Exception]) -> None:
    """A 206 carrying code 65 or 435 keeps its documented meaning."""
    with pytest.raises(cls):
        parse_response(Endpoint.STOP, 206, {}, json.dumps({"code": code}).encode())


async def test_206_stop_with_a_body_confirms_the_stop() -> None:
    """ensure_stopped takes a 206 with the normal body as a confirmed stop, with its status."""
    script = Script(ok(BACKUPED, status=206))
    async with mock_client(script) as client:
        confirmation = await client.ensure_stopped(handle_for(Mode.RAW))
        assert client.unconfirmed() == []
    assert confirmation.outcome is StopOutcome.STOPPED
    assert confirmation.response is not None
    assert confirmation.response.uploading_status is UploadingStatus.BACKUPED
    assert len(script.requests) == 1


# --- GET /v1/ncs/ip -----------------------------------------------------------------------------


async def test_ncs_ips_reads_the_documented_answer() -> None:
    """client.ncs_ips() sends GET /v1/ncs/ip and returns every primaryIP, typed."""
    body = {"data": {"service": {"hosts": [{"primaryIP": "203.0.113.7"}, {"primaryIP": "x"}]}}}
    script = Script(ok(body))
    async with mock_client(script) as client:
        response = await client.ncs_ips()
    (request,) = script.requests
    assert (request.method, request.url.path, request.content) == ("GET", "/v1/ncs/ip", b"")
    assert isinstance(response, NcsIpResponse)
    assert response.ips == ["203.0.113.7", "x"]


async def test_ncs_ips_from_the_emulator() -> None:
    """The emulator's NCS IP route answers the client's ncs_ips()."""
    async with emulated_client() as service:
        response = await service.client.ncs_ips()
    assert response.ips == ["127.0.0.1"]


async def test_ncs_ips_answer_is_tolerant() -> None:
    """An answer without hosts parses to an empty list rather than failing."""
    script = Script(ok({"data": {}}), httpx.Response(200, json={}))
    async with mock_client(script) as client:
        assert (await client.ncs_ips()).ips == []
        assert (await client.ncs_ips()).ips == []


async def test_raw_mp4_files_per_user() -> None:
    """Raw mode with avFileType ["hls", "mp4"] lists each user's M3U8 and MP4 (migration guide)."""
    async with emulated_http() as (http, emulator):
        channel = emulator.channel("room")
        channel.publish(7)
        channel.publish(8, video=False)
        request = start_request("raw")
        request["recordingFileConfig"] = {"avFileType": ["hls", "mp4"]}
        resource_id, sid = await start_with(http, "raw", request)
        emulator.advance(10)
        stop = await http.post(path(resource_id, sid, "stop", "raw"), json=STOP_BODY)
    files = stop.json()["serverResponse"]["fileList"]
    assert [(f["fileName"], f["trackType"]) for f in files] == [
        (f"{sid}_room__uid_s_7__uid_e_h264.m3u8", "audio_and_video"),
        (f"{sid}_room__uid_s_7__uid_e_0_h264.mp4", "audio_and_video"),
        (f"{sid}_room__uid_s_8__uid_e_aac.m3u8", "audio"),
        (f"{sid}_room__uid_s_8__uid_e_0_aac.mp4", "audio"),
    ]


async def test_the_emulators_raw_files_are_the_predicted_ones() -> None:
    """agora_recording.files predicts exactly the files a raw recording reports at stop."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        request = start_request("raw")
        request["recordingFileConfig"] = {"avFileType": ["hls", "mp4"]}
        resource_id, sid = await start_with(http, "raw", request)
        emulator.advance(10)
        stop = await http.post(path(resource_id, sid, "stop", "raw"), json=STOP_BODY)
    listed = [f["fileName"] for f in stop.json()["serverResponse"]["fileList"]]
    report = expected_files("raw", sid=sid, cname="room", uids=["7"], config=request).match(listed)
    assert report.missing == ()
    assert sorted(report.found) == sorted(listed)


# --- serviceScene -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "scene"),
    [("raw", ServiceScene.RAW_RECORDING), ("individual", ServiceScene.RTC_RECORD), ("mix", None)],
)
async def test_the_emulator_sends_the_documented_service_scene(
    mode: str, scene: ServiceScene | None
) -> None:
    """Raw recordings' notifications carry serviceScene "rtsc/raw-recording", legacy individual
    ones "rtc_record" (migration guide); composite, for which no page names one, none."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        acquired = await service.client.acquire(cname="room", uid="99")
        started = await service.client.start(
            acquired.resource_id, mode, cname="room", uid="99", config=RAW
        )
        service.advance(10)
        await service.client.stop(started.handle)
    sent = [n.notification for n in service.emulator.notifications if n.sid == started.handle.sid]
    assert sent
    assert {note.service_scene for note in sent} == {scene}
    assert all(("serviceScene" in note.payload) == (scene is not None) for note in sent)


def test_an_unknown_service_scene_is_kept_as_sent() -> None:
    """A serviceScene this library does not know reads back as the plain string; none is None."""
    body = {"noticeId": "n1", "productId": 3, "eventType": 40, "notifyMs": 1, "sid": "s"}
    known = parse(json.dumps({**body, "payload": {"serviceScene": "rtsc/raw-recording"}}))
    unknown = parse(json.dumps({**body, "payload": {"serviceScene": "rtsc/new-thing"}}))
    absent = parse(json.dumps({**body, "payload": {}}))
    assert known.service_scene is ServiceScene.RAW_RECORDING
    assert unknown.service_scene == "rtsc/new-thing"
    assert not isinstance(unknown.service_scene, ServiceScene)
    assert absent.service_scene is None


async def test_raw_audio_only_mp3_writes_one_mp3_per_user_and_no_hls() -> None:
    """Raw mode with avFileType ["mp3"] writes each user's audio as an MP3 and no M3U8 (migration
    guide: "output audio files directly"), and sends no event 4 (an M3U8 was generated)."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        request = attrs.evolve(
            RAW,
            recording_config=RecordingConfig(channel_type=0, stream_types=0),
            recording_file_config=RecordingFileConfig(av_file_type=["mp3"]),
        )
        acquired = await service.client.acquire(cname="room", uid="99")
        started = await service.client.start(
            acquired.resource_id, "raw", cname="room", uid="99", config=request
        )
        service.advance(10)
        stopped = await service.client.stop(started.handle)
    sid = started.handle.sid
    assert [(f.file_name, f.track_type) for f in stopped.files] == [
        (f"{sid}_room__uid_s_7__uid_e_0_mp3.mp3", "audio")
    ]
    assert EventType.CLOUD_RECORDING_FILE_INFOS not in service.emulator.event_types(sid)
    plan = expected_files("raw", sid=sid, cname="room", uids=["7"], config=request)
    assert [(f.kind, f.exact) for f in plan.expected] == [(FileKind.AUDIO, False)]
    assert plan.match([f.file_name for f in stopped.files]).missing == ()


def test_a_file_whose_name_no_page_gives_is_found_under_any_name_of_its_kind() -> None:
    """The raw MP3's name is a guess: a listing with the same user's MP3 under another name finds
    it, and one without any MP3 of that user reports it missing."""
    request = {"recordingFileConfig": {"avFileType": ["mp3"]}, "storageConfig": {}}
    plan = expected_files("raw", sid="s", cname="c", uids=["7", "8"], config=request)
    report = plan.match(["s_c__uid_s_7__uid_e_audio.mp3", "s_c__uid_s_8__uid_e_0.ts"])
    assert report.found == ("s_c__uid_s_7__uid_e_audio.mp3",)
    assert [f.uid for f in report.missing] == ["8"]
    assert report.slices == ("s_c__uid_s_8__uid_e_0.ts",)
