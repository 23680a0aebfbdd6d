"""The emulator's documented behaviours: screenshots, page load timeouts, postponed transcoding,
stream and CDN events, and a recorder uid that a user of the channel already has."""

from __future__ import annotations

from typing import Any

import pytest
from agora_recording import events
from agora_recording.emulator import Emulator, FakeClock
from agora_recording.errors import NotFoundError, ValidationError
from agora_recording.events import EventType
from agora_recording.files import FileKind, expected_files, snapshot_name
from agora_recording.models import (
    AcquireConfig,
    AppsCollection,
    Container,
    RecordingConfig,
    RecordingFileConfig,
    RtmpOutput,
    RtmpPublishConfig,
    SnapshotConfig,
    StartConfig,
    StartResponse,
    StorageConfig,
    TranscodeOptions,
    TransConfig,
    UpdateConfig,
    WebRecordingConfig,
)
from agora_recording.testing import EmulatedService, emulated_client

from tests.helpers import rtmp_publisher, web_config, web_recorder

pytestmark = pytest.mark.anyio

START = 1_704_067_200.0  # the FakeClock's default start
STORAGE = StorageConfig(
    vendor=1, region=0, bucket="bucket", access_key="a", secret_key="s", file_name_prefix=["rec"]
)
SNAPSHOTS_ONLY = StartConfig(
    storage_config=STORAGE,
    recording_config=RecordingConfig(subscribe_uid_group=0, stream_types=2, max_idle_time=30),
    snapshot_config=SnapshotConfig(capture_interval=5, file_type=["jpg"]),
)


def web(ready_timeout: int | None = None, *, rtmp: bool = False) -> StartConfig:
    """A web recording of example.com, with ``readyTimeout`` and a CDN output if asked."""
    services = [web_recorder(ready_timeout=ready_timeout)]
    if rtmp:
        services.append(rtmp_publisher("rtmp://cdn/x"))
    return web_config(*services, storage=STORAGE)


def postponed(trans_mode: str, container: str | None = None) -> StartConfig:
    """Individual recording with postponed transcoding or postponed audio mixing."""
    return StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(subscribe_uid_group=0, max_idle_time=30),
        apps_collection=AppsCollection(combination_policy="postpone_transcoding"),
        transcode_options=TranscodeOptions(
            trans_config=TransConfig(trans_mode=trans_mode),
            container=None if container is None else Container(format=container),
        ),
    )


async def start(
    service: EmulatedService, mode: str, config: StartConfig, *, scene: int | None = None
) -> StartResponse:
    """Acquire and start a recording of channel "room" as uid 99."""
    scene = 1 if mode == "web" else scene
    acquired = await service.client.acquire(
        cname="room", uid="99", config=None if scene is None else AcquireConfig(scene=scene)
    )
    return await service.client.start(
        acquired.resource_id, mode, cname="room", uid="99", config=config
    )


def typed(service: EmulatedService, sid: str) -> list[Any]:
    """The typed details of the recording's notifications, in order."""
    return [n.notification.event_details for n in service.emulator.notifications if n.sid == sid]


async def test_snapshot_only_recording_writes_jpg_files_and_sends_event_45() -> None:
    """Screenshots only: .jpg files every captureInterval, each named by an event 45, no .m3u8,
    and stop answers the uploading status alone."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        started = await start(service, "individual", SNAPSHOTS_ONLY)
        service.advance(12)
        info = service.emulator.recording(started.handle.sid)
        stopped = await service.client.stop(started.handle)
    assert info is not None
    sid = started.handle.sid
    assert list(info.files) == [
        snapshot_name(sid, "room", "7", START + 5, prefix="rec/"),
        snapshot_name(sid, "room", "7", START + 10, prefix="rec/"),
    ]
    assert info.files[0] == f"rec/{sid}_room__uid_s_7__uid_e_video_20240101000005000.jpg"
    shots = [d for d in typed(service, sid) if isinstance(d, events.RecorderSnapshotFile)]
    assert [d.file_name for d in shots] == list(info.files)
    kinds = service.emulator.event_types(sid)
    assert EventType.RECORDER_SLICE_START not in kinds
    assert EventType.CLOUD_RECORDING_FILE_INFOS not in kinds
    assert stopped.files == []
    assert stopped.uploading_status == "uploaded"


async def test_recording_with_screenshots_keeps_its_index_files() -> None:
    """Recording and screenshots together: the .m3u8 files and the .jpg files."""
    config = StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(subscribe_uid_group=0, stream_types=1),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
        snapshot_config=SnapshotConfig(capture_interval=10, file_type=["jpg"]),
    )
    async with emulated_client() as service:
        service.channel("room").publish(7)
        started = await start(service, "individual", config)
        service.advance(10)
        info = service.emulator.recording(started.handle.sid)
    assert info is not None
    assert [name.rsplit(".", 1)[1] for name in info.files] == ["m3u8", "jpg"]


async def test_a_page_that_loads_on_reload_is_recorded_after_event_73() -> None:
    """readyTimeout passes once: the recorder reloads the page (73, page_load_timeout) and
    records from the reload on."""
    async with emulated_client() as service:
        service.emulator.faults.slow_page_load(loads=1)
        started = await start(service, "web", web(ready_timeout=10))
        service.advance(5)
        before = service.emulator.recording(started.handle.sid)
        service.advance(10)
        after = service.emulator.recording(started.handle.sid)
    assert before is not None
    assert before.files == ()
    assert after is not None
    assert after.running
    assert len(after.files) == 1
    reloads = [
        d for d in typed(service, started.handle.sid) if isinstance(d, events.WebRecorderReload)
    ]
    assert [d.reason for d in reloads] == [events.ReloadReason.PAGE_LOAD_TIMEOUT]


async def test_a_page_that_times_out_twice_stops_the_recording_with_code_4() -> None:
    """readyTimeout passes on the reload too: 73, then 71 with code 4 (page_load_timeout) and
    the task exits; query answers 404 once it is gone."""
    async with emulated_client(exit_window=3.0) as service:
        service.emulator.faults.slow_page_load(loads=2)
        started = await start(service, "web", web(ready_timeout=10))
        service.advance(25)
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
    details = typed(service, started.handle.sid)
    kinds = service.emulator.event_types(started.handle.sid)
    assert kinds[kinds.index(73) :] == [73, 71, 31, 11]
    stopped = next(d for d in details if isinstance(d, events.WebRecorderStopped))
    assert stopped.code is events.WebRecorderStopCode.PAGE_LOAD_TIMEOUT
    assert stopped.message == "page_load_timeout"


async def test_without_ready_timeout_a_slow_page_is_not_watched() -> None:
    """Without readyTimeout there is no load detection: the page records at once, no 73."""
    async with emulated_client() as service:
        service.emulator.faults.slow_page_load(loads=2)
        started = await start(service, "web", web())
        service.advance(30)
        info = service.emulator.recording(started.handle.sid)
    assert info is not None
    assert info.running
    assert 73 not in service.emulator.event_types(started.handle.sid)


def test_slow_page_load_takes_one_or_two_loads() -> None:
    """The fault models the documented single reload: only 1 or 2 slow loads make sense."""
    faults = Emulator(clock=FakeClock()).faults
    with pytest.raises(ValidationError, match="loads"):
        faults.slow_page_load(loads=3)


@pytest.mark.parametrize(
    ("trans_mode", "container", "suffixes"),
    [
        ("postponeTranscoding", None, ["__uid_s_7__uid_e_0.mp4", "__uid_s_8__uid_e_0.mp4"]),
        ("audioMix", "m4a", ["_0.m4a"]),
    ],
)
async def test_postponed_transcoding_delivers_its_files_with_events_80_81_1001(
    trans_mode: str, container: str | None, suffixes: list[str]
) -> None:
    """Scene 2: after the task ends, 80, 81 and 1001 report the MP4s (one per user) or the
    mixed audio file, and the emulator lists them among the recording's files."""
    async with emulated_client(exit_window=3.0) as service:
        service.channel("room").publish(7)
        service.channel("room").publish(8)
        started = await start(service, "individual", postponed(trans_mode, container), scene=2)
        service.advance(20)
        await service.client.stop(started.handle)
        info = service.emulator.recording(started.handle.sid)
        service.advance(5)
    names = [f"rec/{started.handle.sid}_room{suffix}" for suffix in suffixes]
    assert info is not None
    assert [n for n in info.files if n.rsplit(".", 1)[1] in ("mp4", "m4a")] == names
    kinds = service.emulator.event_types(started.handle.sid)
    assert kinds[-3:] == [80, 81, 1001]
    *_, completed, final = typed(service, started.handle.sid)
    assert isinstance(completed, events.TranscoderCompleted)
    assert completed.result is events.TranscoderResult.ALL_SUCCESS
    assert isinstance(final, events.PostponeTranscodeFinalResult)
    assert [f.file_name for f in final.file_list or ()] == names


async def test_stream_state_events_follow_publishing() -> None:
    """43/44 say when the recorder starts (state 0) and stops (state 1) receiving a stream."""
    async with emulated_client() as service:
        started = await start(
            service,
            "individual",
            StartConfig(
                storage_config=STORAGE,
                recording_config=RecordingConfig(subscribe_uid_group=0, max_idle_time=60),
            ),
        )
        service.channel("room").publish(7, video=False)
        service.advance(3)
        service.channel("room").unpublish(7)
    states = [
        (type(d).__name__, d.stream_uid, d.state, d.utc_ms)
        for d in typed(service, started.handle.sid)
        if isinstance(d, (events.AudioStreamStateChanged, events.VideoStreamStateChanged))
    ]
    assert states == [
        ("AudioStreamStateChanged", "7", events.StreamState.RECEIVING, START * 1000),
        ("AudioStreamStateChanged", "7", events.StreamState.NOT_RECEIVING, START * 1000 + 3000),
    ]


async def test_cdn_push_status_is_sent_as_event_100() -> None:
    """A web recording with a CDN output reports connecting, publishing, onhold and
    disconnected in events 100, also when update replaces the output."""
    async with emulated_client() as service:
        started = await start(service, "web", web(rtmp=True))
        new_output = RtmpPublishConfig(outputs=[RtmpOutput(rtmp_url="rtmp://cdn/y")])
        await service.client.update(started.handle, UpdateConfig(rtmp_publish_config=new_output))
        await service.client.update(
            started.handle, UpdateConfig(web_recording_config=WebRecordingConfig(onhold=True))
        )
        await service.client.stop(started.handle)
    statuses = [
        (d.rtmp_url, d.status)
        for d in typed(service, started.handle.sid)
        if isinstance(d, events.RtmpPublishStatus)
    ]
    assert statuses == [
        ("rtmp://cdn/x", "connecting"),
        ("rtmp://cdn/x", "publishing"),
        ("rtmp://cdn/x", "disconnected"),
        ("rtmp://cdn/y", "connecting"),
        ("rtmp://cdn/y", "publishing"),
        ("rtmp://cdn/y", "onhold"),
        ("rtmp://cdn/y", "disconnected"),
    ]


async def test_a_recorder_uid_already_in_the_channel_cannot_join() -> None:
    """Start answers 200, but the recorder cannot join with a uid a user has: the task exits
    (41 code 0, 11 abnormal) and query answers 404, as Agora's status-code FAQ says."""
    async with emulated_client() as service:
        service.channel("room").publish(99)
        started = await start(
            service,
            "individual",
            StartConfig(
                storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
            ),
        )
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
        assert service.emulator.running_recordings() == []
    leave, exit_ = typed(service, started.handle.sid)
    assert isinstance(leave, events.RecorderLeave)
    assert leave.reasons == events.LeaveCode(0)
    assert isinstance(exit_, events.SessionExit)
    assert exit_.exit_status is events.ExitStatus.ABNORMAL


async def test_a_user_joining_with_the_recorder_uid_ends_the_recording() -> None:
    """A user who joins later with the recorder's uid takes its place: the task exits."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        started = await start(
            service, "mix", StartConfig(storage_config=STORAGE, recording_config=RecordingConfig())
        )
        service.channel("room").join(99)
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
    assert service.emulator.event_types(started.handle.sid)[-2:] == [41, 11]


async def test_the_emulators_files_match_the_public_prediction() -> None:
    """Every file the emulator writes is one that agora_recording.files predicts or expects."""
    config = StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(subscribe_uid_group=0, stream_mode="standard"),
    )
    async with emulated_client() as service:
        service.channel("room").publish(7)
        service.channel("room").publish(8)
        started = await start(service, "individual", config)
        service.advance(10)
        info = service.emulator.recording(started.handle.sid)
    assert info is not None
    plan = expected_files(
        "individual", sid=started.handle.sid, cname="room", uids=["7", "8"], config=config
    )
    report = plan.match(info.files)
    assert report.missing == ()
    assert report.other == ()
    assert set(report.found) == set(info.files)
    assert {f.kind for f in plan.expected} == {FileKind.INDEX}


async def test_a_capability_limit_is_reported_as_event_72() -> None:
    """A page that needs more than the web recorder has is reported by event 72 with its
    limitType, at the time it happens; the recording goes on."""
    async with emulated_client() as service:
        started = await start(service, "web", web())
        service.emulator.faults.web_capability_limit("resolution", sid=started.handle.sid, after=3)
        service.advance(5)
        info = service.emulator.recording(started.handle.sid)
    limits = [
        (d.limit_type, n.notification.sendts)
        for n, d in zip(
            service.emulator.notifications,
            typed(service, started.handle.sid),
            strict=True,
        )
        if isinstance(d, events.WebRecorderCapabilityLimit)
    ]
    assert limits == [(events.CapabilityLimitType.RESOLUTION, (START + 3) * 1000)]
    assert info is not None
    assert info.running
