"""Full lifecycles in all three modes through RecordingClient, in-process against the emulator."""

from __future__ import annotations

import pytest
from agora_recording.errors import (
    AlreadyStartedError,
    BadRequestError,
    NoRecordedDataError,
    NotFoundError,
)
from agora_recording.models import (
    AcquireConfig,
    AudioUidList,
    RecordingConfig,
    RecordingFileConfig,
    StartConfig,
    StorageConfig,
    StreamSubscribe,
    UpdateConfig,
    UpdateLayoutConfig,
    WebRecordingConfig,
)
from agora_recording.testing import emulated_client

from tests.helpers import rtmp_publisher, web_config, web_recorder

pytestmark = pytest.mark.anyio

STORAGE = StorageConfig(
    vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s", file_name_prefix=["rec"]
)
INDIVIDUAL = StartConfig(
    storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
)
MIX = StartConfig(
    storage_config=STORAGE,
    recording_config=RecordingConfig(),
    recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
)
WEB = web_config(web_recorder(2), rtmp_publisher("rtmp://cdn/a"), storage=STORAGE)


async def test_individual_lifecycle() -> None:
    """acquire, start, query (status 0 then 5), update subscriptions, stop: files per user."""
    async with emulated_client() as service:
        service.channel("class").publish(1)
        service.channel("class").publish(2, video=False)
        client = service.client
        acquired = await client.acquire(cname="class", uid="999")
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, "individual", cname="class", uid="999", config=INDIVIDUAL
        )
        first = await client.query(started.handle)
        service.advance(5)
        healthy = await client.query(started.handle)
        updated = await client.update(
            started.handle,
            UpdateConfig(
                stream_subscribe=StreamSubscribe(
                    audio_uid_list=AudioUidList(subscribe_audio_uids=["1"])
                )
            ),
        )
        stopped = await client.stop(started.handle)
    sid = started.sid
    assert (first.status, healthy.status) == (0, 5)
    assert updated.sid == sid
    assert [(f.file_name, f.uid, f.track_type) for f in stopped.files] == [
        (f"rec/{sid}_class__uid_s_1__uid_e_audio.m3u8", "1", "audio"),
        (f"rec/{sid}_class__uid_s_1__uid_e_video.m3u8", "1", "video"),
        (f"rec/{sid}_class__uid_s_2__uid_e_audio.m3u8", "2", "audio"),
    ]
    assert stopped.uploading_status == "uploaded"
    assert all(f.slice_start_time == 1_704_067_200_000 for f in stopped.files)


async def test_mix_lifecycle() -> None:
    """Mix with hls+mp4: the composite M3U8 and MP4 listed, layout updates accepted."""
    async with emulated_client() as service:
        service.channel("hall").publish(1)
        client = service.client
        acquired = await client.acquire(cname="hall", uid="999")
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, "mix", cname="hall", uid="999", config=MIX
        )
        service.advance(5)
        queried = await client.query(started.handle)
        layout = await client.update_layout(
            started.handle, UpdateLayoutConfig(mixed_video_layout=1, background_color="#FF0000")
        )
        stopped = await client.stop(started.handle, async_stop=True)
    sid = started.sid
    assert queried.status == 5
    assert [f.file_name for f in queried.files] == [f"rec/{sid}_hall.m3u8", f"rec/{sid}_hall_0.mp4"]
    assert all(f.mixed_all_user and f.uid == "0" for f in queried.files)
    assert layout.sid == sid
    assert stopped.uploading_status == "unknown"


async def test_web_lifecycle() -> None:
    """Web with a CDN output: files from the recorder, onhold through update, stop reports."""
    async with emulated_client() as service:
        client = service.client
        acquired = await client.acquire(cname="page", uid="999", config=AcquireConfig(scene=1))
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, "web", cname="page", uid="999", config=WEB
        )
        service.advance(5)
        queried = await client.query(started.handle)
        await client.update(
            started.handle, UpdateConfig(web_recording_config=WebRecordingConfig(onhold=True))
        )
        held = await client.query(started.handle)
        stopped = await client.stop(started.handle)
    assert queried.status == 5
    assert [f.file_name for f in queried.files] == [f"rec/{started.sid}_page.m3u8"]
    assert held.server_response is not None
    states = held.server_response.extension_service_state
    assert states is not None
    assert [s.service_name for s in states] == ["web_recorder_service", "rtmp_publish_service"]
    assert stopped.uploading_status == "uploaded"
    assert [f.file_name for f in stopped.files] == [f"rec/{started.sid}_page.m3u8"]


async def test_documented_errors_reach_the_client_as_the_right_exceptions() -> None:
    """201/7, 53, 206/435, 400/49 and 404 become the client's documented exceptions."""
    async with emulated_client() as service:
        client = service.client
        acquired = await client.acquire(cname="room", uid="999")
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, "individual", cname="room", uid="999", config=INDIVIDUAL
        )
        with pytest.raises(AlreadyStartedError) as repeated:
            await client.start(
                acquired.resource_id, "individual", cname="room", uid="999", config=INDIVIDUAL
            )
        other = await client.acquire(cname="room", uid="999")
        assert other.resource_id is not None
        with pytest.raises(BadRequestError) as conflict:
            await client.start(
                other.resource_id, "individual", cname="room", uid="999", config=INDIVIDUAL
            )
        with pytest.raises(NoRecordedDataError):
            await client.stop(started.handle)
        with pytest.raises(BadRequestError) as exiting:
            await client.stop(started.handle)
        service.advance(3)
        with pytest.raises(NotFoundError) as gone:
            await client.query(started.handle)
    assert (repeated.value.status_code, repeated.value.code) == (201, 7)
    assert conflict.value.code == 53
    assert exiting.value.code == 49
    assert gone.value.worker_not_found
    assert gone.value.request_id


async def test_idle_exit_is_seen_by_the_client() -> None:
    """When everybody leaves, the client sees status 6 after maxIdleTime, then a 404."""
    async with emulated_client() as service:
        service.channel("room").publish(1)
        client = service.client
        acquired = await client.acquire(cname="room", uid="999")
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, "individual", cname="room", uid="999", config=INDIVIDUAL
        )
        service.channel("room").leave(1)
        service.advance(30)
        exiting = await client.query(started.handle)
        service.advance(3)
        with pytest.raises(NotFoundError):
            await client.query(started.handle)
    assert exiting.status == 6


async def test_quota_reaches_the_client_as_bad_request_406() -> None:
    """Over max_concurrent_recordings, acquire raises BadRequestError code 406."""
    async with emulated_client(max_concurrent_recordings=1) as service:
        client = service.client
        acquired = await client.acquire(cname="room", uid="999")
        assert acquired.resource_id is not None
        await client.start(
            acquired.resource_id, "individual", cname="room", uid="999", config=INDIVIDUAL
        )
        with pytest.raises(BadRequestError) as info:
            await client.acquire(cname="other", uid="999")
    assert info.value.code == 406
