"""pydantic v2 twins of the models the conversion benchmark uses, written the idiomatic way.

Same wire keys (``alias``), same omission of unset fields (``exclude_none=True`` on dump),
same tolerance where pydantic can express it: enum-or-unknown fields (``Enum | int`` tried
left to right, so a known value becomes the member and an unknown one stays plain),
``fileName``/``filename`` and ``payload``/``playload`` (``AliasChoices``), a numeric ``uid``
read as a string, ``fileList`` as a string or a list, and the ``payload`` model chosen by
``serviceName`` (a callable discriminator; unknown services keep a dict). The benchmark checks
that these produce the same wire dicts as our converter before timing anything.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

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
from pydantic import AliasChoices, BaseModel, ConfigDict, Discriminator, Field, Tag

__all__ = ["QueryResponseP", "StartConfigP"]

_L2R: Final = "left_to_right"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, populate_by_name=True, extra="ignore", coerce_numbers_to_str=True
    )


# -- request side -------------------------------------------------------------------------------


class ExtensionParamsP(_Model):
    sse: str | None = None
    tag: str | None = None
    endpoint: str | None = None


class StorageConfigP(_Model):
    vendor: Vendor | int = Field(union_mode=_L2R)
    region: int
    bucket: str
    access_key: str = Field(alias="accessKey", repr=False)
    secret_key: str = Field(alias="secretKey", repr=False)
    sts_token: str | None = Field(default=None, alias="stsToken", repr=False)
    sts_expiration: int | None = Field(default=None, alias="stsExpiration")
    file_name_prefix: list[str] | None = Field(default=None, alias="fileNamePrefix")
    extension_params: ExtensionParamsP | None = Field(default=None, alias="extensionParams")


class LayoutRegionP(_Model):
    uid: str | None = None
    x_axis: float
    y_axis: float
    width: float
    height: float
    alpha: float | None = None
    render_mode: RenderMode | int | None = Field(default=None, union_mode=_L2R)


class UserBackgroundP(_Model):
    uid: str
    image_url: str
    render_mode: RenderMode | int | None = Field(default=None, union_mode=_L2R)


class TranscodingConfigP(_Model):
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    bitrate: int | None = None
    max_resolution_uid: str | None = Field(default=None, alias="maxResolutionUid")
    mixed_video_layout: MixedVideoLayout | int | None = Field(
        default=None, alias="mixedVideoLayout", union_mode=_L2R
    )
    background_color: str | None = Field(default=None, alias="backgroundColor")
    background_image: str | None = Field(default=None, alias="backgroundImage")
    default_user_background_image: str | None = Field(
        default=None, alias="defaultUserBackgroundImage"
    )
    layout_config: list[LayoutRegionP] | None = Field(default=None, alias="layoutConfig")
    background_config: list[UserBackgroundP] | None = Field(default=None, alias="backgroundConfig")


class RecordingConfigP(_Model):
    channel_type: ChannelType | int | None = Field(
        default=None, alias="channelType", union_mode=_L2R
    )
    stream_types: StreamTypes | int | None = Field(
        default=None, alias="streamTypes", union_mode=_L2R
    )
    stream_mode: StreamMode | str | None = Field(default=None, alias="streamMode", union_mode=_L2R)
    decryption_mode: DecryptionMode | int | None = Field(
        default=None, alias="decryptionMode", union_mode=_L2R
    )
    secret: str | None = Field(default=None, repr=False)
    salt: str | None = Field(default=None, repr=False)
    audio_profile: AudioProfile | int | None = Field(
        default=None, alias="audioProfile", union_mode=_L2R
    )
    video_stream_type: VideoStreamType | int | None = Field(
        default=None, alias="videoStreamType", union_mode=_L2R
    )
    max_idle_time: int | None = Field(default=None, alias="maxIdleTime")
    transcoding_config: TranscodingConfigP | None = Field(default=None, alias="transcodingConfig")
    subscribe_audio_uids: list[str] | None = Field(default=None, alias="subscribeAudioUids")
    unsubscribe_audio_uids: list[str] | None = Field(
        default=None,
        validation_alias=AliasChoices("unSubscribeAudioUids", "unsubscribeAudioUids"),
        serialization_alias="unSubscribeAudioUids",
    )
    subscribe_video_uids: list[str] | None = Field(default=None, alias="subscribeVideoUids")
    unsubscribe_video_uids: list[str] | None = Field(
        default=None,
        validation_alias=AliasChoices("unSubscribeVideoUids", "unsubscribeVideoUids"),
        serialization_alias="unSubscribeVideoUids",
    )
    subscribe_uid_group: SubscribeUidGroup | int | None = Field(
        default=None, alias="subscribeUidGroup", union_mode=_L2R
    )
    private_params: str | None = Field(default=None, alias="privateParams")


class RecordingFileConfigP(_Model):
    av_file_type: list[Annotated[AvFileType | str, Field(union_mode=_L2R)]] | None = Field(
        default=None, alias="avFileType"
    )


class SnapshotConfigP(_Model):
    capture_interval: int | None = Field(default=None, alias="captureInterval")
    file_type: list[str] = Field(alias="fileType")


class WebRecorderServiceParamP(_Model):
    url: str
    audio_profile: AudioProfile | int = Field(alias="audioProfile", union_mode=_L2R)
    video_width: int = Field(alias="videoWidth")
    video_height: int = Field(alias="videoHeight")
    max_recording_hour: int = Field(alias="maxRecordingHour")
    video_bitrate: int | None = Field(default=None, alias="videoBitrate")
    video_fps: int | None = Field(default=None, alias="videoFps")
    mobile: bool | None = None
    max_video_duration: int | None = Field(default=None, alias="maxVideoDuration")
    onhold: bool | None = None
    ready_timeout: int | None = Field(default=None, alias="readyTimeout")


class RtmpOutputP(_Model):
    rtmp_url: str = Field(alias="rtmpUrl")


class RtmpPublishServiceParamP(_Model):
    outputs: list[RtmpOutputP]


class ExtensionServiceP(_Model):
    service_name: ServiceName | str = Field(alias="serviceName", union_mode=_L2R)
    error_handle_policy: ErrorHandlePolicy | str | None = Field(
        default=None, alias="errorHandlePolicy", union_mode=_L2R
    )
    service_param: WebRecorderServiceParamP | RtmpPublishServiceParamP | dict[str, Any] = Field(
        alias="serviceParam", repr=False
    )


class ExtensionServiceConfigP(_Model):
    error_handle_policy: ErrorHandlePolicy | str | None = Field(
        default=None, alias="errorHandlePolicy", union_mode=_L2R
    )
    api_version: str | None = Field(default=None, alias="apiVersion")
    extension_services: list[ExtensionServiceP] = Field(alias="extensionServices")


class AppsCollectionP(_Model):
    combination_policy: CombinationPolicy | str | None = Field(
        default=None, alias="combinationPolicy", union_mode=_L2R
    )


class TransConfigP(_Model):
    trans_mode: TransMode | str = Field(alias="transMode", union_mode=_L2R)


class ContainerP(_Model):
    format: ContainerFormat | str | None = Field(default=None, union_mode=_L2R)


class TranscodeAudioP(_Model):
    sample_rate: str | None = Field(default=None, alias="sampleRate")
    bitrate: str | None = None
    channels: str | None = None


class TranscodeOptionsP(_Model):
    trans_config: TransConfigP = Field(alias="transConfig")
    container: ContainerP | None = None
    audio: TranscodeAudioP | None = None


class StartConfigP(_Model):
    token: str | None = Field(default=None, repr=False)
    storage_config: StorageConfigP | None = Field(default=None, alias="storageConfig")
    recording_config: RecordingConfigP | None = Field(default=None, alias="recordingConfig")
    recording_file_config: RecordingFileConfigP | None = Field(
        default=None, alias="recordingFileConfig"
    )
    snapshot_config: SnapshotConfigP | None = Field(default=None, alias="snapshotConfig")
    extension_service_config: ExtensionServiceConfigP | None = Field(
        default=None, alias="extensionServiceConfig"
    )
    apps_collection: AppsCollectionP | None = Field(default=None, alias="appsCollection")
    transcode_options: TranscodeOptionsP | None = Field(default=None, alias="transcodeOptions")


# -- response side ------------------------------------------------------------------------------


class FileInfoP(_Model):
    file_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("fileName", "filename"),
        serialization_alias="fileName",
    )
    track_type: TrackType | str | None = Field(default=None, alias="trackType", union_mode=_L2R)
    uid: str | None = None
    mixed_all_user: bool | None = Field(default=None, alias="mixedAllUser")
    is_playable: bool | None = Field(default=None, alias="isPlayable")
    slice_start_time: int | None = Field(default=None, alias="sliceStartTime")


class WebFileInfoP(_Model):
    filename: str | None = Field(
        default=None,
        validation_alias=AliasChoices("filename", "fileName"),
        serialization_alias="filename",
    )
    slice_start_time: int | None = Field(default=None, alias="sliceStartTime")


class RtmpOutputStatusP(_Model):
    rtmp_url: str | None = Field(default=None, alias="rtmpUrl")
    status: RtmpStatus | str | None = Field(default=None, union_mode=_L2R)


class WebRecorderPayloadP(_Model):
    file_list: list[WebFileInfoP] | None = Field(default=None, alias="fileList")
    onhold: bool | None = None
    state: ServiceState | str | None = Field(default=None, union_mode=_L2R)


class RtmpPublishPayloadP(_Model):
    outputs: list[RtmpOutputStatusP] | None = None
    state: ServiceState | str | None = Field(default=None, union_mode=_L2R)


class UploadServicePayloadP(_Model):
    uploading_status: UploadingStatus | str | None = Field(
        default=None, alias="uploadingStatus", union_mode=_L2R
    )


_PAYLOAD = AliasChoices("payload", "playload")


class _ServiceStateBase(_Model):
    service_name: ServiceName | str | None = Field(
        default=None, alias="serviceName", union_mode=_L2R
    )


class WebRecorderStateP(_ServiceStateBase):
    payload: WebRecorderPayloadP | None = Field(
        default=None, validation_alias=_PAYLOAD, serialization_alias="payload"
    )


class RtmpPublishStateP(_ServiceStateBase):
    payload: RtmpPublishPayloadP | None = Field(
        default=None, validation_alias=_PAYLOAD, serialization_alias="payload"
    )


class UploadServiceStateP(_ServiceStateBase):
    payload: UploadServicePayloadP | None = Field(
        default=None, validation_alias=_PAYLOAD, serialization_alias="payload"
    )


class OtherServiceStateP(_ServiceStateBase):
    payload: dict[str, Any] | None = Field(
        default=None, validation_alias=_PAYLOAD, serialization_alias="payload"
    )


_KNOWN_SERVICES = frozenset(
    {"web_recorder_service", "rtmp_publish_service", "upload_service"},
)


def _service_tag(value: Any) -> str:
    name = value.get("serviceName") if isinstance(value, dict) else value.service_name
    return name if name in _KNOWN_SERVICES else "other"


ExtensionServiceStateP = Annotated[
    (
        Annotated[WebRecorderStateP, Tag("web_recorder_service")]
        | Annotated[RtmpPublishStateP, Tag("rtmp_publish_service")]
        | Annotated[UploadServiceStateP, Tag("upload_service")]
        | Annotated[OtherServiceStateP, Tag("other")]
    ),
    Discriminator(_service_tag),
]


class ServerResponseP(_Model):
    status: RecordingStatus | int | None = Field(default=None, union_mode=_L2R)
    file_list_mode: FileListMode | str | None = Field(
        default=None, alias="fileListMode", union_mode=_L2R
    )
    file_list: str | list[FileInfoP] | None = Field(default=None, alias="fileList")
    slice_start_time: int | None = Field(default=None, alias="sliceStartTime")
    uploading_status: UploadingStatus | str | None = Field(
        default=None, alias="uploadingStatus", union_mode=_L2R
    )
    extension_service_state: list[ExtensionServiceStateP] | None = Field(
        default=None, alias="extensionServiceState"
    )
    sub_service_status: dict[str, Any] | None = Field(default=None, alias="subServiceStatus")


class QueryResponseP(_Model):
    cname: str | None = None
    uid: str | None = None
    resource_id: str | None = Field(default=None, alias="resourceId")
    sid: str | None = None
    server_response: ServerResponseP | None = Field(default=None, alias="serverResponse")
