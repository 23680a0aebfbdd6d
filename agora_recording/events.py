"""Typed ``details`` of Cloud Recording notifications (NCS events): one model per event type.

Each documented ``eventType`` has a frozen attrs model of its ``payload.details``, with the
exact wire key of each field in its metadata, as in `agora_recording.models`; the one
`agora_recording.converter` structures and unstructures them (their hooks are generated on first
use, so importing this module costs only the class definitions). `event_details` picks the model
for an event type and keeps everything the service sent: the typed model's ``raw`` holds the
whole ``details`` dict (fields this library does not know included), and an event type it does
not know becomes an `UnknownEvent` carrying the raw dict. Values outside the documented sets are
kept as their plain value, never refused.

The event numbers, fields and codes are those of Agora's "Notification callback events" page for
Cloud Recording (https://docs.agora.io/en/cloud-recording/develop/receive-notifications); the
codes in `LeaveCode`, `ErrorLevel`, `WebRecorderStopCode` and the other enums are written here
once, and the emulator builds the details it sends from these models.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from ._converter import converter
from ._event_types import MSG_NAME, EventType
from .enums import RecordingStatus, RtmpStatus, TrackType
from .models import WIRE, FileInfo, WebFileInfo

__all__ = [
    "MSG_NAME",
    "AudioStreamStateChanged",
    "Backuped",
    "CapabilityLimitType",
    "CloudRecordingError",
    "CloudRecordingFileInfos",
    "CloudRecordingStatusUpdate",
    "CloudRecordingWarning",
    "DownloadFailed",
    "ErrorLevel",
    "ErrorModule",
    "EventDetails",
    "EventType",
    "ExitStatus",
    "HaRegisterSuccess",
    "LeaveCode",
    "PostponeTranscodeFinalResult",
    "PostponeTranscodeResult",
    "RecorderLeave",
    "RecorderSliceStart",
    "RecorderSnapshotFile",
    "RecorderStarted",
    "ReloadReason",
    "RtmpPublishStatus",
    "SessionExit",
    "SessionFailover",
    "StreamState",
    "TranscodedFile",
    "TranscodedUid",
    "TranscoderCompleted",
    "TranscoderResult",
    "TranscoderStarted",
    "UidTranscodeResult",
    "UnknownEvent",
    "Uploaded",
    "UploaderStarted",
    "UploadingProgress",
    "VideoStreamStateChanged",
    "VodStarted",
    "VodTriggered",
    "WebRecorderCapabilityLimit",
    "WebRecorderReload",
    "WebRecorderStarted",
    "WebRecorderStopCode",
    "WebRecorderStopped",
    "event_details",
    "event_model",
    "event_type_of",
    "wire_details",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


# -- the documented codes ---------------------------------------------------------------------


class ErrorModule(enum.IntEnum):
    """``module`` of events 1 and 2: the part of the service that reports."""

    RECORDER = 0
    UPLOADER = 1
    CLOUD_RECORDING_SERVICE = 2
    WEB_RECORDER = 6


class ErrorLevel(enum.IntEnum):
    """``errorLevel`` of event 1; ``FATAL`` means the task may exit (call ``query``)."""

    DEBUG = 1
    MINOR = 2
    MEDIUM = 3
    MAJOR = 4
    FATAL = 5


class ExitStatus(enum.IntEnum):
    """``exitStatus`` of event 11."""

    NORMAL = 0
    """The task exited after uploading its files."""
    ABNORMAL = 1
    """The task exited abnormally, for instance on a bad parameter."""


class LeaveCode(enum.IntFlag):
    """``leaveCode`` of event 41: a bit mask; 0 (no bit) means initialization failed."""

    SIG = 2
    """The recorder received SIGINT (a stop)."""
    NO_USERS = 4
    """Nobody published for ``maxIdleTime``: an idle exit."""
    TIMER_CATCH = 8
    """Ignore."""
    CLIENT_LEAVE = 16
    """The recorder called ``leaveChannel``."""


class StreamState(enum.IntEnum):
    """``state`` of events 43 and 44."""

    RECEIVING = 0
    NOT_RECEIVING = 1


class WebRecorderStopCode(enum.IntEnum):
    """``code`` of event 71 (its ``message`` is the member name in lowercase)."""

    OK = 0
    """Stopped by the user."""
    MAX_RECORDING_HOUR = 1
    CAPABILITY_LIMIT = 2
    START_ENGINE_FAILED = 3
    PAGE_LOAD_TIMEOUT = 4
    """The page timed out (``readyTimeout``) on its reload too."""
    ACCESS_URL_FAILED = 5
    RECORDER_ERROR = 6

    @property
    def message(self) -> str:
        """The ``message`` sent with this code."""
        return self.name.lower()


class CapabilityLimitType(str, enum.Enum):
    """``limitType`` of event 72."""

    RESOLUTION = "resolution"
    WEBGL = "WebGL"
    BANDWIDTH = "bandwidth"


class ReloadReason(str, enum.Enum):
    """``reason`` of event 73: why the web recorder reloaded the page."""

    AUDIO_SILENCE = "audio_silence"
    PAGE_LOAD_TIMEOUT = "page_load_timeout"


class TranscoderResult(str, enum.Enum):
    """``result`` of event 81."""

    ALL_SUCCESS = "all_success"
    PARTIAL_SUCCESS = "partial_success"
    FAIL = "fail"


class UidTranscodeResult(str, enum.Enum):
    """``uids[].result`` of event 81."""

    SUCCESS = "success"
    FAIL = "fail"


class PostponeTranscodeResult(str, enum.Enum):
    """``result`` of event 1001."""

    TOTAL_SUCCESS = "total_success"
    PARTIAL_SUCCESS = "partial_success"
    FAILED = "failed"


# -- attrs converters (module-level functions, for the mypy attrs plugin) ----------------------

_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")


def _member(cls: type[_E], value: Any) -> Any:
    if value is None or isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        return value


def _opt_error_module(value: ErrorModule | int | None) -> ErrorModule | int | None:
    return _member(ErrorModule, value)  # type: ignore[no-any-return]


def _opt_error_level(value: ErrorLevel | int | None) -> ErrorLevel | int | None:
    return _member(ErrorLevel, value)  # type: ignore[no-any-return]


def _opt_exit_status(value: ExitStatus | int | None) -> ExitStatus | int | None:
    return _member(ExitStatus, value)  # type: ignore[no-any-return]


def _opt_status(value: RecordingStatus | int | None) -> RecordingStatus | int | None:
    return _member(RecordingStatus, value)  # type: ignore[no-any-return]


def _opt_stream_state(value: StreamState | int | None) -> StreamState | int | None:
    return _member(StreamState, value)  # type: ignore[no-any-return]


def _opt_stop_code(value: WebRecorderStopCode | int | None) -> WebRecorderStopCode | int | None:
    return _member(WebRecorderStopCode, value)  # type: ignore[no-any-return]


def _opt_track_type(value: TrackType | str | None) -> TrackType | str | None:
    return _member(TrackType, value)  # type: ignore[no-any-return]


def _opt_rtmp_status(value: RtmpStatus | str | None) -> RtmpStatus | str | None:
    return _member(RtmpStatus, value)  # type: ignore[no-any-return]


def _opt_limit_type(value: CapabilityLimitType | str | None) -> CapabilityLimitType | str | None:
    return _member(CapabilityLimitType, value)  # type: ignore[no-any-return]


def _opt_reload_reason(value: ReloadReason | str | None) -> ReloadReason | str | None:
    return _member(ReloadReason, value)  # type: ignore[no-any-return]


def _opt_transcoder_result(value: TranscoderResult | str | None) -> TranscoderResult | str | None:
    return _member(TranscoderResult, value)  # type: ignore[no-any-return]


def _opt_uid_result(value: UidTranscodeResult | str | None) -> UidTranscodeResult | str | None:
    return _member(UidTranscodeResult, value)  # type: ignore[no-any-return]


def _opt_final_result(
    value: PostponeTranscodeResult | str | None,
) -> PostponeTranscodeResult | str | None:
    return _member(PostponeTranscodeResult, value)  # type: ignore[no-any-return]


def _opt_plain_int(value: int | None) -> int | None:
    """A `LeaveCode` given from Python goes on the wire as its plain number."""
    return None if value is None else int(value)


def _opt_tuple(value: Iterable[_T] | None) -> tuple[_T, ...] | None:
    return None if value is None else tuple(value)


def _opt_files(value: Iterable[FileInfo] | None) -> tuple[FileInfo, ...] | None:
    return _opt_tuple(value)


def _opt_web_files(value: Iterable[WebFileInfo] | None) -> tuple[WebFileInfo, ...] | None:
    return _opt_tuple(value)


def _opt_transcoded_files(
    value: Iterable[TranscodedFile] | None,
) -> tuple[TranscodedFile, ...] | None:
    return _opt_tuple(value)


def _opt_transcoded_uids(
    value: Iterable[TranscodedUid] | None,
) -> tuple[TranscodedUid, ...] | None:
    return _opt_tuple(value)


def _raw(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


def _msg_name() -> Any:
    return attrs.field(default=None, metadata={WIRE: MSG_NAME})


def _raw_field() -> Any:
    return attrs.field(
        default=_EMPTY, converter=_raw, eq=False, hash=False, repr=False, metadata={WIRE: None}
    )


# -- one model per event type -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CloudRecordingError:
    """Event 1 ``cloud_recording_error``: a module reports an error."""

    msg_name: str | None = _msg_name()
    module: ErrorModule | int | None = attrs.field(
        default=None, converter=_opt_error_module, metadata={WIRE: "module"}
    )
    error_level: ErrorLevel | int | None = attrs.field(
        default=None, converter=_opt_error_level, metadata={WIRE: "errorLevel"}
    )
    error_code: int | None = attrs.field(default=None, metadata={WIRE: "errorCode"})
    stat: int | None = attrs.field(default=None, metadata={WIRE: "stat"})
    error_msg: str | None = attrs.field(default=None, metadata={WIRE: "errorMsg"})
    raw: Mapping[str, Any] = _raw_field()

    @property
    def fatal(self) -> bool:
        """``errorLevel`` 5: the task may exit."""
        return self.error_level == ErrorLevel.FATAL


@attrs.frozen(kw_only=True)
class CloudRecordingWarning:
    """Event 2 ``cloud_recording_warning``."""

    msg_name: str | None = _msg_name()
    module: ErrorModule | int | None = attrs.field(
        default=None, converter=_opt_error_module, metadata={WIRE: "module"}
    )
    warn_code: int | None = attrs.field(default=None, metadata={WIRE: "warnCode"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class CloudRecordingStatusUpdate:
    """Event 3 ``cloud_recording_status_update``: the service status changed."""

    msg_name: str | None = _msg_name()
    status: RecordingStatus | int | None = attrs.field(
        default=None, converter=_opt_status, metadata={WIRE: "status"}
    )
    recording_mode: int | None = attrs.field(default=None, metadata={WIRE: "recordingMode"})
    """0 individual, 1 composite."""
    file_list: str | None = attrs.field(default=None, metadata={WIRE: "fileList"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class CloudRecordingFileInfos:
    """Event 4 ``cloud_recording_file_infos``: the first M3U8 was uploaded."""

    msg_name: str | None = _msg_name()
    file_list: str | None = attrs.field(default=None, metadata={WIRE: "fileList"})
    """The M3U8 file name."""
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class SessionExit:
    """Event 11 ``session_exit``: the recording task exited."""

    msg_name: str | None = _msg_name()
    exit_status: ExitStatus | int | None = attrs.field(
        default=None, converter=_opt_exit_status, metadata={WIRE: "exitStatus"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class SessionFailover:
    """Event 12 ``session_failover``: the task migrated (high availability) under a new uid."""

    msg_name: str | None = _msg_name()
    new_uid: int | None = attrs.field(default=None, metadata={WIRE: "newUid"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class HaRegisterSuccess:
    """Event 13: the task registered for high availability. Named only by Agora's "Best practice
    in integrating Cloud Recording" (Fault recovery): without it within 10 s of start, start a
    new task. No documented fields."""

    msg_name: str | None = _msg_name()
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class UploaderStarted:
    """Event 30 ``uploader_started``."""

    msg_name: str | None = _msg_name()
    status: int | None = attrs.field(default=None, metadata={WIRE: "status"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class Uploaded:
    """Event 31 ``uploaded``: every file reached your storage (web mode: no ``fileList``)."""

    msg_name: str | None = _msg_name()
    status: int | None = attrs.field(default=None, metadata={WIRE: "status"})
    file_list: tuple[FileInfo, ...] | None = attrs.field(
        default=None, converter=_opt_files, metadata={WIRE: "fileList"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class Backuped:
    """Event 32 ``backuped``: as 31, but some files went to Agora's backup cloud first."""

    msg_name: str | None = _msg_name()
    status: int | None = attrs.field(default=None, metadata={WIRE: "status"})
    file_list: tuple[FileInfo, ...] | None = attrs.field(
        default=None, converter=_opt_files, metadata={WIRE: "fileList"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class UploadingProgress:
    """Event 33 ``uploading_progress``: uploaded/recorded x 10000, every minute."""

    msg_name: str | None = _msg_name()
    progress: int | None = attrs.field(default=None, metadata={WIRE: "progress"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class RecorderStarted:
    """Event 40 ``recorder_started``: the recorder joined the channel."""

    msg_name: str | None = _msg_name()
    status: int | None = attrs.field(default=None, metadata={WIRE: "status"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class RecorderLeave:
    """Event 41 ``recorder_leave``: the recorder left the channel; ``leave_code`` says why."""

    msg_name: str | None = _msg_name()
    leave_code: int | None = attrs.field(
        default=None, converter=_opt_plain_int, metadata={WIRE: "leaveCode"}
    )
    raw: Mapping[str, Any] = _raw_field()

    @property
    def reasons(self) -> LeaveCode:
        """The ``leaveCode`` bits (``LeaveCode(0)``: initialization failed)."""
        return LeaveCode(self.leave_code or 0)

    @property
    def idle(self) -> bool:
        """Whether the recorder left because nobody published for ``maxIdleTime``."""
        return LeaveCode.NO_USERS in self.reasons


@attrs.frozen(kw_only=True)
class RecorderSliceStart:
    """Event 42 ``recorder_slice_start``: the recorder started slicing a stream."""

    msg_name: str | None = _msg_name()
    start_utc_ms: int | None = attrs.field(default=None, metadata={WIRE: "startUtcMs"})
    discontinue_utc_ms: int | None = attrs.field(default=None, metadata={WIRE: "discontinueUtcMs"})
    mixed_all_user: bool | None = attrs.field(default=None, metadata={WIRE: "mixedAllUser"})
    stream_uid: str | None = attrs.field(default=None, metadata={WIRE: "streamUid"})
    track_type: TrackType | str | None = attrs.field(
        default=None, converter=_opt_track_type, metadata={WIRE: "trackType"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class AudioStreamStateChanged:
    """Event 43 ``recorder_audio_stream_state_changed`` (its time key is ``UtcMs``)."""

    msg_name: str | None = _msg_name()
    stream_uid: str | None = attrs.field(default=None, metadata={WIRE: "streamUid"})
    state: StreamState | int | None = attrs.field(
        default=None, converter=_opt_stream_state, metadata={WIRE: "state"}
    )
    utc_ms: int | None = attrs.field(default=None, metadata={WIRE: "UtcMs"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class VideoStreamStateChanged:
    """Event 44 ``recorder_video_stream_state_changed`` (its time key is ``UtcMs``)."""

    msg_name: str | None = _msg_name()
    stream_uid: str | None = attrs.field(default=None, metadata={WIRE: "streamUid"})
    state: StreamState | int | None = attrs.field(
        default=None, converter=_opt_stream_state, metadata={WIRE: "state"}
    )
    utc_ms: int | None = attrs.field(default=None, metadata={WIRE: "UtcMs"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class RecorderSnapshotFile:
    """Event 45 ``recorder_snapshot_file``: a screenshot was uploaded.

    Query and stop never list screenshots; this event is where their names are reported.
    """

    msg_name: str | None = _msg_name()
    file_name: str | None = attrs.field(default=None, metadata={WIRE: "fileName"})
    """``<fileNamePrefix>/<name>.jpg``."""
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class VodStarted:
    """Event 60 ``vod_started`` (legacy Alibaba Cloud VoD service)."""

    msg_name: str | None = _msg_name()
    ali_vod_info: dict[str, Any] | None = attrs.field(default=None, metadata={WIRE: "aliVodInfo"})
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class VodTriggered:
    """Event 61 ``vod_triggered`` (legacy Alibaba Cloud VoD service)."""

    msg_name: str | None = _msg_name()
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class WebRecorderStarted:
    """Event 70 ``web_recorder_started``."""

    msg_name: str | None = _msg_name()
    recorder_start_time: int | None = attrs.field(
        default=None, metadata={WIRE: "recorderStartTime"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class WebRecorderStopped:
    """Event 71 ``web_recorder_stopped``: the web recorder stopped; ``code`` says why."""

    msg_name: str | None = _msg_name()
    code: WebRecorderStopCode | int | None = attrs.field(
        default=None, converter=_opt_stop_code, metadata={WIRE: "code"}
    )
    message: str | None = attrs.field(default=None, metadata={WIRE: "message"})
    details: str | None = attrs.field(default=None, metadata={WIRE: "details"})
    file_list: tuple[WebFileInfo, ...] | None = attrs.field(
        default=None, converter=_opt_web_files, metadata={WIRE: "fileList"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class WebRecorderCapabilityLimit:
    """Event 72 ``web_recorder_capability_limit``: the page needs more than the recorder has."""

    msg_name: str | None = _msg_name()
    limit_type: CapabilityLimitType | str | None = attrs.field(
        default=None, converter=_opt_limit_type, metadata={WIRE: "limitType"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class WebRecorderReload:
    """Event 73 ``web_recorder_reload``: the web recorder reloaded the page."""

    msg_name: str | None = _msg_name()
    reason: ReloadReason | str | None = attrs.field(
        default=None, converter=_opt_reload_reason, metadata={WIRE: "reason"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class TranscodedFile:
    """A ``fileList`` item of events 81 and 1001."""

    file_name: str | None = attrs.field(default=None, metadata={WIRE: "fileName"})


@attrs.frozen(kw_only=True)
class TranscodedUid:
    """A ``uids`` item of event 81: one user's transcoding outcome."""

    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    result: UidTranscodeResult | str | None = attrs.field(
        default=None, converter=_opt_uid_result, metadata={WIRE: "result"}
    )
    file_list: tuple[TranscodedFile, ...] | None = attrs.field(
        default=None, converter=_opt_transcoded_files, metadata={WIRE: "fileList"}
    )


@attrs.frozen(kw_only=True)
class TranscoderStarted:
    """Event 80 ``transcoder_started``: postponed transcoding began."""

    msg_name: str | None = _msg_name()
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class TranscoderCompleted:
    """Event 81 ``transcoder_completed``: postponed transcoding ended, per user."""

    msg_name: str | None = _msg_name()
    result: TranscoderResult | str | None = attrs.field(
        default=None, converter=_opt_transcoder_result, metadata={WIRE: "result"}
    )
    uids: tuple[TranscodedUid, ...] | None = attrs.field(
        default=None, converter=_opt_transcoded_uids, metadata={WIRE: "uids"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class DownloadFailed:
    """Event 90 ``download_failed`` (sent at most once)."""

    msg_name: str | None = _msg_name()
    vendor: int | None = attrs.field(default=None, metadata={WIRE: "vendor"})
    region: int | None = attrs.field(default=None, metadata={WIRE: "region"})
    bucket: str | None = attrs.field(default=None, metadata={WIRE: "bucket"})
    file_name: str | None = attrs.field(default=None, metadata={WIRE: "fileName"})
    """The files that failed, separated by ``;``."""
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class RtmpPublishStatus:
    """Event 100 ``rtmp_publish_status``: the CDN push of a web recording changed state."""

    msg_name: str | None = _msg_name()
    rtmp_url: str | None = attrs.field(default=None, metadata={WIRE: "rtmpUrl"})
    status: RtmpStatus | str | None = attrs.field(
        default=None, converter=_opt_rtmp_status, metadata={WIRE: "status"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class PostponeTranscodeFinalResult:
    """Event 1001 ``postpone_transcode_final_result``: the files of postponed transcoding."""

    msg_name: str | None = _msg_name()
    result: PostponeTranscodeResult | str | None = attrs.field(
        default=None, converter=_opt_final_result, metadata={WIRE: "result"}
    )
    file_list: tuple[TranscodedFile, ...] | None = attrs.field(
        default=None, converter=_opt_transcoded_files, metadata={WIRE: "fileList"}
    )
    raw: Mapping[str, Any] = _raw_field()


@attrs.frozen(kw_only=True)
class UnknownEvent:
    """The details of an event type this library does not know: the raw dict, kept whole."""

    event_type: int
    raw: Mapping[str, Any] = _raw_field()

    @property
    def msg_name(self) -> str | None:
        """``details.msgName``, when it is a string."""
        name = self.raw.get(MSG_NAME)
        return name if isinstance(name, str) else None


EventDetails = (
    CloudRecordingError
    | CloudRecordingWarning
    | CloudRecordingStatusUpdate
    | CloudRecordingFileInfos
    | SessionExit
    | SessionFailover
    | HaRegisterSuccess
    | UploaderStarted
    | Uploaded
    | Backuped
    | UploadingProgress
    | RecorderStarted
    | RecorderLeave
    | RecorderSliceStart
    | AudioStreamStateChanged
    | VideoStreamStateChanged
    | RecorderSnapshotFile
    | VodStarted
    | VodTriggered
    | WebRecorderStarted
    | WebRecorderStopped
    | WebRecorderCapabilityLimit
    | WebRecorderReload
    | TranscoderStarted
    | TranscoderCompleted
    | DownloadFailed
    | RtmpPublishStatus
    | PostponeTranscodeFinalResult
    | UnknownEvent
)
"""The typed ``details`` of any event."""

_MODELS: Mapping[EventType, type[Any]] = {
    EventType.CLOUD_RECORDING_ERROR: CloudRecordingError,
    EventType.CLOUD_RECORDING_WARNING: CloudRecordingWarning,
    EventType.CLOUD_RECORDING_STATUS_UPDATE: CloudRecordingStatusUpdate,
    EventType.CLOUD_RECORDING_FILE_INFOS: CloudRecordingFileInfos,
    EventType.SESSION_EXIT: SessionExit,
    EventType.SESSION_FAILOVER: SessionFailover,
    EventType.HA_REGISTER_SUCCESS: HaRegisterSuccess,
    EventType.UPLOADER_STARTED: UploaderStarted,
    EventType.UPLOADED: Uploaded,
    EventType.BACKUPED: Backuped,
    EventType.UPLOADING_PROGRESS: UploadingProgress,
    EventType.RECORDER_STARTED: RecorderStarted,
    EventType.RECORDER_LEAVE: RecorderLeave,
    EventType.RECORDER_SLICE_START: RecorderSliceStart,
    EventType.RECORDER_AUDIO_STREAM_STATE_CHANGED: AudioStreamStateChanged,
    EventType.RECORDER_VIDEO_STREAM_STATE_CHANGED: VideoStreamStateChanged,
    EventType.RECORDER_SNAPSHOT_FILE: RecorderSnapshotFile,
    EventType.VOD_STARTED: VodStarted,
    EventType.VOD_TRIGGERED: VodTriggered,
    EventType.WEB_RECORDER_STARTED: WebRecorderStarted,
    EventType.WEB_RECORDER_STOPPED: WebRecorderStopped,
    EventType.WEB_RECORDER_CAPABILITY_LIMIT: WebRecorderCapabilityLimit,
    EventType.WEB_RECORDER_RELOAD: WebRecorderReload,
    EventType.TRANSCODER_STARTED: TranscoderStarted,
    EventType.TRANSCODER_COMPLETED: TranscoderCompleted,
    EventType.DOWNLOAD_FAILED: DownloadFailed,
    EventType.RTMP_PUBLISH_STATUS: RtmpPublishStatus,
    EventType.POSTPONE_TRANSCODE_FINAL_RESULT: PostponeTranscodeFinalResult,
}


def event_model(event_type: EventType | int) -> type[Any] | None:
    """The model of ``event_type``'s details, or None for an event type not documented."""
    try:
        return _MODELS[EventType(event_type)]
    except ValueError:
        return None


_TYPES: Mapping[type[Any], EventType] = {model: kind for kind, model in _MODELS.items()}


def event_type_of(details: EventDetails) -> EventType | int:
    """The ``eventType`` whose details ``details`` are."""
    if isinstance(details, UnknownEvent):
        return details.event_type
    return _TYPES[type(details)]


def event_details(event_type: EventType | int, details: Mapping[str, Any]) -> EventDetails:
    """The typed ``details`` of an event of ``event_type``; ``raw`` keeps the whole dict.

    A field of the wrong JSON type raises `agora_recording.errors.ValidationError` naming its
    key; an event type this library does not know gives an `UnknownEvent`.
    """
    raw = _raw(details)
    model = event_model(event_type)
    if model is None:
        return UnknownEvent(event_type=int(event_type), raw=raw)
    typed = converter.structure(raw, model)
    object.__setattr__(typed, "raw", raw)  # a frozen model just built here: fill in its raw
    result: EventDetails = typed
    return result


def wire_details(details: EventDetails) -> dict[str, Any]:
    """The ``details`` dict of ``details`` as NCS sends it: ``msgName`` first, then the fields."""
    if isinstance(details, UnknownEvent):
        return dict(details.raw)
    event_type = _TYPES[type(details)]
    return {MSG_NAME: event_type.msg_name, **converter.unstructure(details)}
