"""Typed NCS event details: a model per documented event type, through the one converter."""

from __future__ import annotations

from typing import Any

import pytest
from agora_recording import converter, events, webhooks
from agora_recording.enums import RecordingStatus, RtmpStatus, TrackType
from agora_recording.errors import ValidationError
from agora_recording.events import (
    CapabilityLimitType,
    ErrorLevel,
    EventType,
    LeaveCode,
    ReloadReason,
    StreamState,
    UnknownEvent,
    WebRecorderStopCode,
)
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.testing import emulated_client

pytestmark = pytest.mark.anyio

# One ``details`` object per documented event type, with the fields of Agora's "Notification
# callback events" page for Cloud Recording.
SAMPLES: dict[EventType, dict[str, Any]] = {
    EventType.CLOUD_RECORDING_ERROR: {
        "module": 1,
        "errorLevel": 5,
        "errorCode": 47,
        "stat": 0,
        "errorMsg": "upload failed",
    },
    EventType.CLOUD_RECORDING_WARNING: {"module": 1, "warnCode": 32},
    EventType.CLOUD_RECORDING_STATUS_UPDATE: {
        "status": 5,
        "recordingMode": 1,
        "fileList": "sid_room.m3u8",
    },
    EventType.CLOUD_RECORDING_FILE_INFOS: {"fileList": "sid_room.m3u8"},
    EventType.SESSION_EXIT: {"exitStatus": 1},
    EventType.SESSION_FAILOVER: {"newUid": 1234567},
    EventType.HA_REGISTER_SUCCESS: {},
    EventType.UPLOADER_STARTED: {"status": 0},
    EventType.UPLOADED: {
        "status": 0,
        "fileList": [
            {
                "fileName": "a.m3u8",
                "trackType": "audio",
                "uid": "7",
                "mixedAllUser": False,
                "isPlayable": True,
                "sliceStartTime": 1562724971626,
            }
        ],
    },
    EventType.BACKUPED: {"status": 0, "fileList": [{"fileName": "b.m3u8"}]},
    EventType.UPLOADING_PROGRESS: {"progress": 5000},
    EventType.RECORDER_STARTED: {"status": 0},
    EventType.RECORDER_LEAVE: {"leaveCode": 4},
    EventType.RECORDER_SLICE_START: {
        "startUtcMs": 1,
        "discontinueUtcMs": 1,
        "mixedAllUser": True,
        "streamUid": "0",
        "trackType": "audio_and_video",
    },
    EventType.RECORDER_AUDIO_STREAM_STATE_CHANGED: {"streamUid": "7", "state": 0, "UtcMs": 2},
    EventType.RECORDER_VIDEO_STREAM_STATE_CHANGED: {"streamUid": "7", "state": 1, "UtcMs": 3},
    EventType.RECORDER_SNAPSHOT_FILE: {"fileName": "dir/sid_room__uid_s_7__uid_e_video_1.jpg"},
    EventType.VOD_STARTED: {"aliVodInfo": {"videoId": "v1"}},
    EventType.VOD_TRIGGERED: {},
    EventType.WEB_RECORDER_STARTED: {"recorderStartTime": 1627613634000},
    EventType.WEB_RECORDER_STOPPED: {
        "code": 4,
        "message": "page_load_timeout",
        "details": "",
        "fileList": [{"filename": "w.m3u8", "sliceStartTime": 1}],
    },
    EventType.WEB_RECORDER_CAPABILITY_LIMIT: {"limitType": "WebGL"},
    EventType.WEB_RECORDER_RELOAD: {"reason": "page_load_timeout"},
    EventType.TRANSCODER_STARTED: {},
    EventType.TRANSCODER_COMPLETED: {
        "result": "all_success",
        "uids": [{"uid": "7", "result": "success", "fileList": [{"fileName": "x.mp4"}]}],
    },
    EventType.DOWNLOAD_FAILED: {
        "vendor": 1,
        "region": 0,
        "bucket": "b",
        "fileName": "a.ts;b.ts",
    },
    EventType.RTMP_PUBLISH_STATUS: {"rtmpUrl": "rtmp://cdn/x", "status": "publishing"},
    EventType.POSTPONE_TRANSCODE_FINAL_RESULT: {
        "result": "total_success",
        "fileList": [{"fileName": "sid_room_0.m4a"}],
    },
}


def note(event_type: int, details: dict[str, Any]) -> webhooks.Notification:
    """A parsed envelope carrying ``details``."""
    return webhooks.parse(
        {"noticeId": "n", "eventType": event_type, "payload": {"details": details}}
    )


def test_every_documented_event_type_has_its_own_model() -> None:
    """The 27 documented event types each structure into a distinct typed model."""
    assert set(SAMPLES) == set(EventType)
    models = {events.event_model(kind) for kind in EventType}
    assert None not in models
    assert len(models) == len(EventType) == 28


@pytest.mark.parametrize("kind", list(EventType), ids=lambda k: k.name.lower())
def test_details_round_trip_through_the_converter(kind: EventType) -> None:
    """Each event's documented details come back byte-equal from its model, msgName included."""
    wire = {"msgName": kind.msg_name, **SAMPLES[kind]}
    typed = note(kind, wire).event_details
    assert type(typed) is events.event_model(kind)
    assert events.event_type_of(typed) == kind
    assert events.wire_details(typed) == wire
    assert converter.structure(converter.unstructure(typed), type(typed)) == typed


def test_fields_read_as_the_documented_values() -> None:
    """Codes become their enums and the helpers answer what a user asks of them."""
    error = note(1, SAMPLES[EventType.CLOUD_RECORDING_ERROR]).event_details
    assert isinstance(error, events.CloudRecordingError)
    assert error.error_level is ErrorLevel.FATAL
    assert error.fatal
    leave = note(41, {"leaveCode": 6}).event_details
    assert isinstance(leave, events.RecorderLeave)
    assert leave.idle
    assert leave.reasons == LeaveCode.SIG | LeaveCode.NO_USERS
    stopped = note(71, SAMPLES[EventType.WEB_RECORDER_STOPPED]).event_details
    assert isinstance(stopped, events.WebRecorderStopped)
    assert stopped.code is WebRecorderStopCode.PAGE_LOAD_TIMEOUT
    assert stopped.file_list is not None
    assert stopped.file_list[0].filename == "w.m3u8"
    uploaded = note(31, SAMPLES[EventType.UPLOADED]).event_details
    assert isinstance(uploaded, events.Uploaded)
    assert uploaded.file_list is not None
    assert uploaded.file_list[0].track_type is TrackType.AUDIO
    assert note(3, {"status": 5}).event_details == events.CloudRecordingStatusUpdate(
        status=RecordingStatus.IN_PROGRESS
    )
    state = note(43, SAMPLES[EventType.RECORDER_AUDIO_STREAM_STATE_CHANGED]).event_details
    assert isinstance(state, events.AudioStreamStateChanged)
    assert state.state is StreamState.RECEIVING
    assert state.utc_ms == 2
    limit = note(72, {"limitType": "WebGL"}).event_details
    assert isinstance(limit, events.WebRecorderCapabilityLimit)
    assert limit.limit_type is CapabilityLimitType.WEBGL
    reload = note(73, {"reason": "page_load_timeout"}).event_details
    assert isinstance(reload, events.WebRecorderReload)
    assert reload.reason is ReloadReason.PAGE_LOAD_TIMEOUT
    rtmp = note(100, SAMPLES[EventType.RTMP_PUBLISH_STATUS]).event_details
    assert isinstance(rtmp, events.RtmpPublishStatus)
    assert rtmp.status is RtmpStatus.PUBLISHING


def test_unknown_fields_and_values_are_kept() -> None:
    """A field or a code this library does not know stays readable in ``raw`` and as is."""
    typed = note(41, {"msgName": "recorder_leave", "leaveCode": 64, "newField": [1]}).event_details
    assert isinstance(typed, events.RecorderLeave)
    assert typed.leave_code == 64
    assert typed.raw["newField"] == [1]
    stopped = note(71, {"code": 9, "message": "new_reason"}).event_details
    assert isinstance(stopped, events.WebRecorderStopped)
    assert stopped.code == 9


def test_an_unknown_event_type_keeps_its_raw_details() -> None:
    """An event type the library does not know becomes an UnknownEvent with the whole dict."""
    typed = note(555, {"msgName": "brand_new", "x": 1}).event_details
    assert typed == UnknownEvent(event_type=555)
    assert isinstance(typed, UnknownEvent)
    assert typed.msg_name == "brand_new"
    assert dict(typed.raw) == {"msgName": "brand_new", "x": 1}
    assert note(555, {"x": 1}).details == {"x": 1}  # the raw dict stays on the notification


def test_a_field_of_the_wrong_type_names_its_key() -> None:
    """Details of the wrong JSON type raise a ValidationError naming the wire key."""
    with pytest.raises(ValidationError, match="leaveCode"):
        _ = note(41, {"leaveCode": "often"}).event_details


async def test_every_notification_the_emulator_sends_is_typed() -> None:
    """The emulator's events all parse into their documented models, with nothing left over."""
    config = StartConfig(
        storage_config=StorageConfig(
            vendor=1, region=0, bucket="bucket", access_key="a", secret_key="s"
        ),
        recording_config=RecordingConfig(subscribe_uid_group=0, max_idle_time=10),
    )
    async with emulated_client() as service:
        service.channel("room").publish(7)
        async with service.client.session(cname="room", uid="99", mode="individual", config=config):
            service.advance(120)
    notes = [n.notification for n in service.emulator.notifications]
    assert len(notes) > 5
    for received in notes:
        typed = received.event_details
        assert not isinstance(typed, UnknownEvent)
        assert events.wire_details(typed) == dict(received.details)
