"""msgspec twins of the models the conversion benchmark uses, written the idiomatic way.

Same wire keys (``rename`` per field), same omission of unset fields (``omit_defaults``).
What msgspec cannot express is simplified, and the comparison says so: an enum-or-unknown field
is typed with the enum alone (msgspec refuses unions of an enum with its base type, so an
unknown value is an error instead of being kept), the ``fileName``/``filename`` and
``payload``/``playload`` fallbacks are not read, and the ``payload`` model is chosen by a
tagged union on ``serviceName`` (an unknown service is an error rather than a dict).
"""

from __future__ import annotations

from typing import Any

import msgspec
from agora_recording.enums import (
    AudioProfile,
    AvFileType,
    ChannelType,
    CombinationPolicy,
    ContainerFormat,
    DecryptionMode,
    ErrorHandlePolicy,
    FileListMode,
    MixedVideoLayout,
    RecordingStatus,
    RenderMode,
    RtmpStatus,
    ServiceName,
    ServiceState,
    StreamMode,
    StreamTypes,
    SubscribeUidGroup,
    TrackType,
    TransMode,
    UploadingStatus,
    Vendor,
    VideoStreamType,
)

__all__ = ["QueryResponseM", "StartConfigM"]


class _Struct(msgspec.Struct, frozen=True, omit_defaults=True):
    """Frozen, unset (None) fields left out on encode; required fields come first."""


def _key(name: str) -> Any:
    return msgspec.field(name=name)


def _opt(name: str) -> Any:
    return msgspec.field(default=None, name=name)


# -- request side -------------------------------------------------------------------------------


class ExtensionParamsM(_Struct, frozen=True):
    sse: str | None = None
    tag: str | None = None
    endpoint: str | None = None


class StorageConfigM(_Struct, frozen=True):
    vendor: Vendor
    region: int
    bucket: str
    access_key: str = _key("accessKey")
    secret_key: str = _key("secretKey")
    sts_token: str | None = _opt("stsToken")
    sts_expiration: int | None = _opt("stsExpiration")
    file_name_prefix: list[str] | None = _opt("fileNamePrefix")
    extension_params: ExtensionParamsM | None = _opt("extensionParams")


class LayoutRegionM(_Struct, frozen=True):
    x_axis: float
    y_axis: float
    width: float
    height: float
    uid: str | None = None
    alpha: float | None = None
    render_mode: RenderMode | None = None


class UserBackgroundM(_Struct, frozen=True):
    uid: str
    image_url: str
    render_mode: RenderMode | None = None


class TranscodingConfigM(_Struct, frozen=True):
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    bitrate: int | None = None
    max_resolution_uid: str | None = _opt("maxResolutionUid")
    mixed_video_layout: MixedVideoLayout | None = _opt("mixedVideoLayout")
    background_color: str | None = _opt("backgroundColor")
    background_image: str | None = _opt("backgroundImage")
    default_user_background_image: str | None = _opt("defaultUserBackgroundImage")
    layout_config: list[LayoutRegionM] | None = _opt("layoutConfig")
    background_config: list[UserBackgroundM] | None = _opt("backgroundConfig")


class RecordingConfigM(_Struct, frozen=True):
    channel_type: ChannelType | None = _opt("channelType")
    stream_types: StreamTypes | None = _opt("streamTypes")
    stream_mode: StreamMode | None = _opt("streamMode")
    decryption_mode: DecryptionMode | None = _opt("decryptionMode")
    secret: str | None = None
    salt: str | None = None
    audio_profile: AudioProfile | None = _opt("audioProfile")
    video_stream_type: VideoStreamType | None = _opt("videoStreamType")
    max_idle_time: int | None = _opt("maxIdleTime")
    transcoding_config: TranscodingConfigM | None = _opt("transcodingConfig")
    subscribe_audio_uids: list[str] | None = _opt("subscribeAudioUids")
    unsubscribe_audio_uids: list[str] | None = _opt("unSubscribeAudioUids")
    subscribe_video_uids: list[str] | None = _opt("subscribeVideoUids")
    unsubscribe_video_uids: list[str] | None = _opt("unSubscribeVideoUids")
    subscribe_uid_group: SubscribeUidGroup | None = _opt("subscribeUidGroup")
    private_params: str | None = _opt("privateParams")


class RecordingFileConfigM(_Struct, frozen=True):
    av_file_type: list[AvFileType] | None = _opt("avFileType")


class SnapshotConfigM(_Struct, frozen=True):
    file_type: list[str] = _key("fileType")
    capture_interval: int | None = _opt("captureInterval")


class WebRecorderServiceParamM(_Struct, frozen=True):
    url: str
    audio_profile: AudioProfile = _key("audioProfile")
    video_width: int = _key("videoWidth")
    video_height: int = _key("videoHeight")
    max_recording_hour: int = _key("maxRecordingHour")
    video_bitrate: int | None = _opt("videoBitrate")
    video_fps: int | None = _opt("videoFps")
    mobile: bool | None = None
    max_video_duration: int | None = _opt("maxVideoDuration")
    onhold: bool | None = None
    ready_timeout: int | None = _opt("readyTimeout")


class RtmpOutputM(_Struct, frozen=True):
    rtmp_url: str = _key("rtmpUrl")


class RtmpPublishServiceParamM(_Struct, frozen=True):
    outputs: list[RtmpOutputM]


class ExtensionServiceM(_Struct, frozen=True):
    service_name: ServiceName = _key("serviceName")
    # msgspec cannot tell two all-object alternatives apart without a tag: keep the raw dict.
    service_param: dict[str, Any] = _key("serviceParam")
    error_handle_policy: ErrorHandlePolicy | None = _opt("errorHandlePolicy")


class ExtensionServiceConfigM(_Struct, frozen=True):
    extension_services: list[ExtensionServiceM] = _key("extensionServices")
    error_handle_policy: ErrorHandlePolicy | None = _opt("errorHandlePolicy")
    api_version: str | None = _opt("apiVersion")


class AppsCollectionM(_Struct, frozen=True):
    combination_policy: CombinationPolicy | None = _opt("combinationPolicy")


class TransConfigM(_Struct, frozen=True):
    trans_mode: TransMode = _key("transMode")


class ContainerM(_Struct, frozen=True):
    format: ContainerFormat | None = None


class TranscodeAudioM(_Struct, frozen=True):
    sample_rate: str | None = _opt("sampleRate")
    bitrate: str | None = None
    channels: str | None = None


class TranscodeOptionsM(_Struct, frozen=True):
    trans_config: TransConfigM = _key("transConfig")
    container: ContainerM | None = None
    audio: TranscodeAudioM | None = None


class StartConfigM(_Struct, frozen=True):
    token: str | None = None
    storage_config: StorageConfigM | None = _opt("storageConfig")
    recording_config: RecordingConfigM | None = _opt("recordingConfig")
    recording_file_config: RecordingFileConfigM | None = _opt("recordingFileConfig")
    snapshot_config: SnapshotConfigM | None = _opt("snapshotConfig")
    extension_service_config: ExtensionServiceConfigM | None = _opt("extensionServiceConfig")
    apps_collection: AppsCollectionM | None = _opt("appsCollection")
    transcode_options: TranscodeOptionsM | None = _opt("transcodeOptions")


# -- response side ------------------------------------------------------------------------------


class FileInfoM(_Struct, frozen=True):
    file_name: str | None = _opt("fileName")
    track_type: TrackType | None = _opt("trackType")
    uid: str | None = None
    mixed_all_user: bool | None = _opt("mixedAllUser")
    is_playable: bool | None = _opt("isPlayable")
    slice_start_time: int | None = _opt("sliceStartTime")


class WebFileInfoM(_Struct, frozen=True):
    filename: str | None = None
    slice_start_time: int | None = _opt("sliceStartTime")


class RtmpOutputStatusM(_Struct, frozen=True):
    rtmp_url: str | None = _opt("rtmpUrl")
    status: RtmpStatus | None = None


class WebRecorderPayloadM(_Struct, frozen=True):
    file_list: list[WebFileInfoM] | None = _opt("fileList")
    onhold: bool | None = None
    state: ServiceState | None = None


class RtmpPublishPayloadM(_Struct, frozen=True):
    outputs: list[RtmpOutputStatusM] | None = None
    state: ServiceState | None = None


class UploadServicePayloadM(_Struct, frozen=True):
    uploading_status: UploadingStatus | None = _opt("uploadingStatus")


class _ServiceState(_Struct, frozen=True, tag_field="serviceName"):
    pass


class WebRecorderStateM(_ServiceState, frozen=True, tag="web_recorder_service"):
    payload: WebRecorderPayloadM | None = None


class RtmpPublishStateM(_ServiceState, frozen=True, tag="rtmp_publish_service"):
    payload: RtmpPublishPayloadM | None = None


class UploadServiceStateM(_ServiceState, frozen=True, tag="upload_service"):
    payload: UploadServicePayloadM | None = None


ExtensionServiceStateM = WebRecorderStateM | RtmpPublishStateM | UploadServiceStateM


class ServerResponseM(_Struct, frozen=True):
    status: RecordingStatus | None = None
    file_list_mode: FileListMode | None = _opt("fileListMode")
    file_list: str | list[FileInfoM] | None = _opt("fileList")
    slice_start_time: int | None = _opt("sliceStartTime")
    uploading_status: UploadingStatus | None = _opt("uploadingStatus")
    extension_service_state: list[ExtensionServiceStateM] | None = _opt("extensionServiceState")
    sub_service_status: dict[str, Any] | None = _opt("subServiceStatus")


class QueryResponseM(_Struct, frozen=True):
    cname: str | None = None
    uid: str | None = None
    resource_id: str | None = _opt("resourceId")
    sid: str | None = None
    server_response: ServerResponseM | None = _opt("serverResponse")
