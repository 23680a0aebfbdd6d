"""agora_recording.files: a recording's file names predicted, and a bucket listing matched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from agora_recording.enums import Mode
from agora_recording.files import (
    FileKind,
    backup_index_name,
    expected_files,
    snapshot_name,
    utc_stamp,
    web_cname,
)
from agora_recording.models import (
    RecordingConfig,
    RecordingFileConfig,
    SnapshotConfig,
    StartConfig,
    StorageConfig,
)
from agora_recording.testing import emulated_client

pytestmark = pytest.mark.anyio

SID = "38f8e3cfdc474cd56fc1ceba380d7e1a"
STORAGE = StorageConfig(
    vendor=1,
    region=0,
    bucket="bucket",
    access_key="a",
    secret_key="s",
    file_name_prefix=["directory1", "directory2"],
)


def names(mode: str, config: StartConfig | Mapping[str, Any] | None, **kw: Any) -> list[str]:
    """The expected names of a recording of "room" by ``SID``."""
    plan = expected_files(mode, sid=SID, cname="room", config=config, **kw)
    return [file.name for file in plan.expected]


@pytest.mark.parametrize("mode", ["individual"])
def test_individual_names_one_index_per_user_and_track(mode: str) -> None:
    """Legacy individual: <sid>_<cname>__uid_s_<uid>__uid_e_<type>.m3u8 under the
    fileNamePrefix path, one per user and recorded track type."""
    config = StartConfig(storage_config=STORAGE, recording_config=RecordingConfig())
    assert names(mode, config, uids=["7", 8]) == [
        f"directory1/directory2/{SID}_room__uid_s_7__uid_e_audio.m3u8",
        f"directory1/directory2/{SID}_room__uid_s_7__uid_e_video.m3u8",
        f"directory1/directory2/{SID}_room__uid_s_8__uid_e_audio.m3u8",
        f"directory1/directory2/{SID}_room__uid_s_8__uid_e_video.m3u8",
    ]
    audio_only = {"recordingConfig": {"streamTypes": 0}}
    assert names(mode, audio_only, uids=["7"]) == [f"{SID}_room__uid_s_7__uid_e_audio.m3u8"]


def test_raw_names_one_audio_and_video_index_per_user() -> None:
    """Raw: one <sid>_<cname>__uid_s_<uid>__uid_e_<video codec>.m3u8 per user, plus MP4s
    ..._uid_e_<index>_<video codec>.mp4 with avFileType hls+mp4 (the migration guide)."""
    config = {
        "storageConfig": {"fileNamePrefix": ["directory1"]},
        "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
    }
    assert names("raw", config, uids=["7", 8]) == [
        f"directory1/{SID}_room__uid_s_7__uid_e_h264.m3u8",
        f"directory1/{SID}_room__uid_s_7__uid_e_0_h264.mp4",
        f"directory1/{SID}_room__uid_s_8__uid_e_h264.m3u8",
        f"directory1/{SID}_room__uid_s_8__uid_e_0_h264.mp4",
    ]
    audio_only = {"recordingConfig": {"streamTypes": 0}}
    assert names("raw", audio_only, uids=["7"]) == [f"{SID}_room__uid_s_7__uid_e_aac.m3u8"]
    snapshot_only = {"snapshotConfig": {"fileType": ["jpg"]}}
    assert names("raw", snapshot_only, uids=["7"]) == []


def test_standard_stream_mode_adds_the_merged_index_mpd_for_vp8() -> None:
    """streamMode standard adds the merged _av.m3u8; a Web VP8 publisher gets an _av.mpd."""
    config = {"recordingConfig": {"streamMode": "standard"}}
    assert names(Mode.INDIVIDUAL, config, uids=["7", "8"], vp8_uids=[8])[2::3] == [
        f"{SID}_room__uid_s_7__uid_e_av.m3u8",
        f"{SID}_room__uid_s_8__uid_e_av.mpd",
    ]


def test_composite_and_web_names() -> None:
    """Mix and web: <sid>_<cname>.m3u8 and, with MP4, <sid>_<cname>_0.mp4; web replaces the
    documented special characters of the channel name with '-'."""
    mp4 = StartConfig(
        storage_config=STORAGE,
        recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
    )
    prefix = "directory1/directory2/"
    assert names("mix", mp4) == [f"{prefix}{SID}_room.m3u8", f"{prefix}{SID}_room_0.mp4"]
    plan = expected_files("web", sid=SID, cname="a_b.c?d", config=None)
    assert [f.name for f in plan.expected] == [f"{SID}_a-b-c-d.m3u8"]
    assert web_cname("x!@#$%^&*()+_.=[]{}~|,;:?<>y") == "x" + "-" * 26 + "y"


def test_screenshot_names_and_snapshot_only_recordings() -> None:
    """Screenshots: ..._uid_e_video_<utc>.jpg; a screenshot-only recording expects no index."""
    assert utc_stamp(1568983902.485) == "20190920125142485"
    assert (
        snapshot_name("sid", "cname", "123", 1568983902.485, prefix="p/")
        == "p/sid_cname__uid_s_123__uid_e_video_20190920125142485.jpg"
    )
    config = StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(),
        snapshot_config=SnapshotConfig(file_type=["jpg"]),
    )
    assert names("individual", config, uids=["7"]) == []


def test_postponed_transcoding_and_audio_mixing_names() -> None:
    """Postponed transcoding: an MP4 per user; postponed audio mixing: the users' index files
    and one mixed file, mp3 unless set."""
    transcoding = {
        "appsCollection": {"combinationPolicy": "postpone_transcoding"},
        "transcodeOptions": {"transConfig": {"transMode": "postponeTranscoding"}},
    }
    assert names("individual", transcoding, uids=["7"]) == [f"{SID}_room__uid_s_7__uid_e_0.mp4"]
    mixing = {
        "appsCollection": {"combinationPolicy": "postpone_transcoding"},
        "transcodeOptions": {"transConfig": {"transMode": "audioMix"}},
    }
    plan = expected_files("individual", sid=SID, cname="room", uids=["7"], config=mixing)
    assert [(f.name, f.kind) for f in plan.expected] == [
        (f"{SID}_room_0.mp3", FileKind.AUDIO),
        (f"{SID}_room__uid_s_7__uid_e_audio.m3u8", FileKind.INDEX),
        (f"{SID}_room__uid_s_7__uid_e_video.m3u8", FileKind.INDEX),
    ]


def test_a_screenshot_after_a_failover_is_named_as_the_raw_screen_capture_guide_shows() -> None:
    """The screen-capture guide's raw-mode edition keeps ``..._uid_e_video_<utc>.jpg`` and
    shows ``bak0_`` after the first failover: its own example name comes out exactly."""
    assert (
        snapshot_name("sid", "channel1", "123", 1560238366.073, epoch=1)
        == "bak0_sid_channel1__uid_s_123__uid_e_video_20190611073246073.jpg"
    )


def test_a_listing_is_sorted_into_found_missing_backups_slices_and_other() -> None:
    """Matching a bucket listing says which expected files are missing, which objects are
    backups (bak<n>_ after a failover, _<tick>_<n>.m3u8 from Agora's backup cloud) and which
    belong to other recordings."""
    config = {"recordingConfig": {"streamTypes": 1}}
    plan = expected_files("individual", sid=SID, cname="room", uids=["7", "8"], config=config)
    stem7 = f"{SID}_room__uid_s_7__uid_e_video"
    listing = [
        f"{stem7}.m3u8",
        f"{stem7}_20190920125142485.ts",
        f"{stem7}_22194679897_3.m3u8",
        f"bak0_{stem7}.m3u8",
        "othersid_room.m3u8",
    ]
    report = plan.match(listing)
    assert report.found == (f"{stem7}.m3u8",)
    assert [f.name for f in report.missing] == [f"{SID}_room__uid_s_8__uid_e_video.m3u8"]
    assert report.backups == (f"{stem7}_22194679897_3.m3u8", f"bak0_{stem7}.m3u8")
    assert report.slices == (f"{stem7}_20190920125142485.ts",)
    assert report.other == ("othersid_room.m3u8",)


async def test_the_emulators_failover_files_are_backups() -> None:
    """After a failover the emulator writes bak0_ files, which the plan reports as backups."""
    config = StartConfig(
        storage_config=STORAGE, recording_config=RecordingConfig(max_idle_time=600)
    )
    async with emulated_client() as service:
        service.channel("room").publish(7, audio=False)
        service.emulator.faults.failover(after=5, duration=10)
        acquired = await service.client.acquire(cname="room", uid="99")
        started = await service.client.start(
            acquired.resource_id, "mix", cname="room", uid="99", config=config
        )
        service.advance(30)
        info = service.emulator.recording(started.handle.sid)
    assert info is not None
    report = expected_files("mix", sid=started.handle.sid, cname="room", config=config).match(
        info.files
    )
    assert report.missing == ()
    assert report.backups == (f"directory1/directory2/bak0_{started.handle.sid}_room.m3u8",)


async def test_the_emulators_backup_uploads_are_reported_as_backups() -> None:
    """A backuped stop leaves the index re-uploaded as <stem>_<tick>_<n>.m3u8, which the plan
    reports as a backup, not as a missing or foreign file."""
    config = StartConfig(
        storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
    )
    async with emulated_client() as service:
        service.channel("room").publish(7, video=False)
        service.emulator.faults.backup_upload()
        acquired = await service.client.acquire(cname="room", uid="99")
        started = await service.client.start(
            acquired.resource_id, "individual", cname="room", uid="99", config=config
        )
        service.advance(5)
        stopped = await service.client.stop(started.handle)
        info = service.emulator.recording(started.handle.sid)
    assert stopped.uploading_status == "backuped"
    assert info is not None
    sid = started.handle.sid
    index = f"directory1/directory2/{sid}_room__uid_s_7__uid_e_audio.m3u8"
    plan = expected_files("individual", sid=sid, cname="room", uids=["7"], config=config)
    report = plan.match(info.files)
    assert report.found == (index,)
    assert report.backups == (backup_index_name(index, 5000, 0),)
    assert report.backups[0].endswith("__uid_e_audio_5000_0.m3u8")
