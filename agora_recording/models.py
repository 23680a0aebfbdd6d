"""Typed request and response bodies of the Cloud Recording API.

Field names follow one rule: a field is the snake_case of its wire key
(``resourceExpiredHour`` -> ``resource_expired_hour``), except that ``unSubscribeAudioUids`` and
``unSubscribeVideoUids`` become ``unsubscribe_audio_uids`` and ``unsubscribe_video_uids``
(``primaryIP``, an acronym, becomes ``primary_ip``), and
keys that are already snake_case on the wire stay as they are (``x_axis``, ``y_axis``,
``render_mode``, ``image_url``, ``async_stop``). The rule is never applied mechanically: every
field states its exact wire key in its metadata (``metadata={WIRE: "resourceExpiredHour"}``) and
the converter reads nothing else, so each mapping can be reviewed where the field is declared. A
field whose ``WIRE`` is ``None`` (``StartResponse.mode``) never goes on the wire.

Every model is a frozen, keyword-only attrs class. Optional fields default to ``None`` and are
left out of the wire JSON; a field set to a value, even the service's default (``scene=0``), is
sent. Enum-typed fields take the member or its plain value and keep values the enum does not know.
Sequence fields take any iterable (not a string) and store a tuple, so models stay hashable.
Response models make every field optional and add normalized views (``QueryResponse.status``,
``.files``, ``StopResponse.uploading_status``, ``StartResponse.handle``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from .enums import (
    AudioProfile,
    AvFileType,
    ChannelType,
    CombinationPolicy,
    ContainerFormat,
    DecryptionMode,
    ErrorHandlePolicy,
    FileListMode,
    MixedVideoLayout,
    Mode,
    RecordingStatus,
    Region,
    RegionAffinity,
    RenderMode,
    RtmpStatus,
    Scene,
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
from .errors import ArgumentTypeError, UnexpectedResponseError, ValidationError

__all__ = [
    "WIRE",
    "AcquireConfig",
    "AcquireResponse",
    "AppsCollection",
    "AudioUidList",
    "Container",
    "ExtensionParams",
    "ExtensionService",
    "ExtensionServiceConfig",
    "ExtensionServiceState",
    "FileInfo",
    "LayoutRegion",
    "NcsData",
    "NcsHost",
    "NcsIpResponse",
    "NcsService",
    "QueryResponse",
    "RecordedFile",
    "RecordingConfig",
    "RecordingExtensionParams",
    "RecordingFileConfig",
    "RecordingHandle",
    "RtmpOutput",
    "RtmpOutputStatus",
    "RtmpPublishConfig",
    "RtmpPublishPayload",
    "RtmpPublishServiceParam",
    "ServerResponse",
    "SnapshotConfig",
    "StartConfig",
    "StartResponse",
    "StopConfig",
    "StopResponse",
    "StorageConfig",
    "StreamSubscribe",
    "TransConfig",
    "TranscodeAudio",
    "TranscodeOptions",
    "TranscodingConfig",
    "UpdateConfig",
    "UpdateLayoutConfig",
    "UpdateResponse",
    "UploadServicePayload",
    "UserBackground",
    "VideoUidList",
    "WebFileInfo",
    "WebRecorderPayload",
    "WebRecorderServiceParam",
    "WebRecordingConfig",
]

WIRE: Final = "wire"
"""Metadata key holding a field's exact wire key (``None``: the field is not on the wire)."""

_T = TypeVar("_T")
_V = TypeVar("_V")


# -- attrs converters ---------------------------------------------------------------------------
# Named module-level functions, because the mypy attrs plugin derives __init__ types from them.


def _member(cls: type[enum.Enum], value: _V) -> _V:
    """Map a known plain value to its member; keep anything else (None, newer values) as is.

    Callers type ``value`` as ``Enum | plain``, so the member found is of the declared type.
    """
    # Not `cast(...)`: this runs for every enum field of every model built, and cast is a call.
    try:
        return cls._value2member_map_.get(value, value)  # type: ignore[return-value]
    except TypeError:  # unhashable: a list or dict where a value belongs
        raise ArgumentTypeError(
            f"expected a {cls.__name__} value, got {type(value).__name__}"
        ) from None


def _as_tuple(value: Iterable[_T] | None) -> tuple[_T, ...] | None:
    if value is None or type(value) is tuple:
        return value
    return _required_tuple(value)


def _required_tuple(value: Iterable[_T]) -> tuple[_T, ...]:
    if type(value) is tuple:
        return value
    if isinstance(value, (list, set, frozenset, range)) or (
        isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping))
    ):
        return tuple(value)
    raise ArgumentTypeError(f"expected a sequence, got {type(value).__name__}")


_MODE_RULE: Final = "must be one of " + ", ".join(f'"{mode.value}"' for mode in Mode)


def _known_mode(value: Mode | str) -> Mode:
    """A handle addresses a real recording, so its mode must be one the API has."""
    if type(value) is Mode:
        return value
    member = Mode._value2member_map_.get(value) if isinstance(value, str) else None
    if member is None:
        raise ValidationError("", _MODE_RULE)
    return member  # type: ignore[return-value]


def _opt_mode(value: Mode | str | None) -> Mode | str | None:
    return _member(Mode, value)


def _opt_region(value: Region | str | None) -> Region | str | None:
    return _member(Region, value)


def _vendor(value: Vendor | int) -> Vendor | int:
    return _member(Vendor, value)


def _opt_status(value: RecordingStatus | int | str | None) -> RecordingStatus | None:
    """Always a `RecordingStatus`: an unknown integer becomes a pseudo-member (see the enum).

    The 2020 string form (``"5"``) is read as its integer; other text, booleans and other types
    raise `ValidationError` (the converter refuses them first, naming the wire key).
    """
    if value is None or type(value) is RecordingStatus:
        return value
    if isinstance(value, str):
        text = value[1:] if value[:1] == "-" else value
        if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
            raise ValidationError("", "must be an integer status")
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("", "must be an integer status")
    return RecordingStatus(value)


def _opt_channel_type(value: ChannelType | int | None) -> ChannelType | int | None:
    return _member(ChannelType, value)


def _opt_stream_types(value: StreamTypes | int | None) -> StreamTypes | int | None:
    return _member(StreamTypes, value)


def _opt_stream_mode(value: StreamMode | str | None) -> StreamMode | str | None:
    return _member(StreamMode, value)


def _opt_decryption_mode(value: DecryptionMode | int | None) -> DecryptionMode | int | None:
    return _member(DecryptionMode, value)


def _audio_profile(value: AudioProfile | int) -> AudioProfile | int:
    return _member(AudioProfile, value)


def _opt_audio_profile(value: AudioProfile | int | None) -> AudioProfile | int | None:
    return _member(AudioProfile, value)


def _opt_video_stream_type(value: VideoStreamType | int | None) -> VideoStreamType | int | None:
    return _member(VideoStreamType, value)


def _opt_subscribe_uid_group(
    value: SubscribeUidGroup | int | None,
) -> SubscribeUidGroup | int | None:
    return _member(SubscribeUidGroup, value)


def _opt_mixed_video_layout(value: MixedVideoLayout | int | None) -> MixedVideoLayout | int | None:
    return _member(MixedVideoLayout, value)


def _opt_render_mode(value: RenderMode | int | None) -> RenderMode | int | None:
    return _member(RenderMode, value)


def _opt_scene(value: Scene | int | None) -> Scene | int | None:
    return _member(Scene, value)


def _opt_region_affinity(value: RegionAffinity | int | None) -> RegionAffinity | int | None:
    return _member(RegionAffinity, value)


def _opt_uploading_status(value: UploadingStatus | str | None) -> UploadingStatus | str | None:
    """Also map the misspelt ``"unknow"`` of older docs to ``UploadingStatus.UNKNOWN``."""
    if value == "unknow":
        return UploadingStatus.UNKNOWN
    return _member(UploadingStatus, value)


def _opt_file_list_mode(value: FileListMode | str | None) -> FileListMode | str | None:
    return _member(FileListMode, value)


def _opt_track_type(value: TrackType | str | None) -> TrackType | str | None:
    return _member(TrackType, value)


def _service_name(value: ServiceName | str) -> ServiceName | str:
    return _member(ServiceName, value)


def _opt_service_name(value: ServiceName | str | None) -> ServiceName | str | None:
    return _member(ServiceName, value)


def _opt_service_state(value: ServiceState | str | None) -> ServiceState | str | None:
    return _member(ServiceState, value)


def _opt_rtmp_status(value: RtmpStatus | str | None) -> RtmpStatus | str | None:
    return _member(RtmpStatus, value)


def _opt_error_handle_policy(
    value: ErrorHandlePolicy | str | None,
) -> ErrorHandlePolicy | str | None:
    return _member(ErrorHandlePolicy, value)


def _opt_combination_policy(
    value: CombinationPolicy | str | None,
) -> CombinationPolicy | str | None:
    return _member(CombinationPolicy, value)


def _trans_mode(value: TransMode | str) -> TransMode | str:
    return _member(TransMode, value)


def _opt_container_format(value: ContainerFormat | str | None) -> ContainerFormat | str | None:
    return _member(ContainerFormat, value)


def _opt_strs(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return _as_tuple(value)


def _strs(value: Iterable[str]) -> tuple[str, ...]:
    return _required_tuple(value)


def _opt_av_file_types(
    value: Iterable[AvFileType | str] | None,
) -> tuple[AvFileType | str, ...] | None:
    items = _as_tuple(value)
    if items is None:
        return None
    return tuple([_member(AvFileType, item) for item in items])


def _opt_layout_regions(value: Iterable[LayoutRegion] | None) -> tuple[LayoutRegion, ...] | None:
    return _as_tuple(value)


def _opt_user_backgrounds(
    value: Iterable[UserBackground] | None,
) -> tuple[UserBackground, ...] | None:
    return _as_tuple(value)


def _extension_services(value: Iterable[ExtensionService]) -> tuple[ExtensionService, ...]:
    return _required_tuple(value)


def _rtmp_outputs(value: Iterable[RtmpOutput]) -> tuple[RtmpOutput, ...]:
    return _required_tuple(value)


def _opt_file_list(
    value: str | Iterable[FileInfo] | None,
) -> str | tuple[FileInfo, ...] | None:
    if isinstance(value, str):
        return value
    return _as_tuple(value)


def _opt_web_files(value: Iterable[WebFileInfo] | None) -> tuple[WebFileInfo, ...] | None:
    return _as_tuple(value)


def _opt_rtmp_output_statuses(
    value: Iterable[RtmpOutputStatus] | None,
) -> tuple[RtmpOutputStatus, ...] | None:
    return _as_tuple(value)


def _opt_ncs_hosts(value: Iterable[NcsHost] | None) -> tuple[NcsHost, ...] | None:
    return _as_tuple(value)


def _opt_service_states(
    value: Iterable[ExtensionServiceState] | None,
) -> tuple[ExtensionServiceState, ...] | None:
    return _as_tuple(value)


def _opt_exact_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An integer or None, checked at construction: sessions read ``maxIdleTime`` (to pace their
    polls) before the request is validated. ``converter.structure`` has checked it already."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(attribute.metadata[WIRE], "must be an integer")


def _hide_raw_dict(value: object) -> str:
    """repr of a service param: a raw dict (legacy services) may hold credentials."""
    return "{...}" if isinstance(value, dict) else repr(value)


if TYPE_CHECKING:
    _WireStatus = RecordingStatus
else:
    # The converter reads a field's runtime annotation to type-check its wire value: the ``int``
    # here makes ``status`` take JSON integers (and the 2020 ``"5"``) while refusing ``true`` and
    # ``5.5``. The field's attrs converter then makes every integer a `RecordingStatus`, so for
    # readers (and mypy) the field is ``RecordingStatus | None``.
    _WireStatus = RecordingStatus | int


# -- request side: clientRequest bodies and their parts -----------------------------------------


@attrs.frozen(kw_only=True)
class ExtensionParams:
    """``storageConfig.extensionParams``: encryption, tags, and the vendor-11 endpoint."""

    sse: str | None = attrs.field(default=None, metadata={WIRE: "sse"})
    tag: str | None = attrs.field(default=None, metadata={WIRE: "tag"})
    endpoint: str | None = attrs.field(default=None, metadata={WIRE: "endpoint"})


@attrs.frozen(kw_only=True)
class StorageConfig:
    """``storageConfig``: where the recorded files are uploaded (required in every mode)."""

    vendor: Vendor | int = attrs.field(converter=_vendor, metadata={WIRE: "vendor"})
    region: int = attrs.field(metadata={WIRE: "region"})
    bucket: str = attrs.field(metadata={WIRE: "bucket"})
    access_key: str = attrs.field(repr=False, metadata={WIRE: "accessKey"})
    secret_key: str = attrs.field(repr=False, metadata={WIRE: "secretKey"})
    sts_token: str | None = attrs.field(default=None, repr=False, metadata={WIRE: "stsToken"})
    sts_expiration: int | None = attrs.field(default=None, metadata={WIRE: "stsExpiration"})
    file_name_prefix: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "fileNamePrefix"}
    )
    extension_params: ExtensionParams | None = attrs.field(
        default=None, metadata={WIRE: "extensionParams"}
    )


@attrs.frozen(kw_only=True)
class LayoutRegion:
    """One ``layoutConfig`` item: a user's region on the mixed canvas, in [0, 1] units."""

    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    x_axis: float = attrs.field(metadata={WIRE: "x_axis"})
    y_axis: float = attrs.field(metadata={WIRE: "y_axis"})
    width: float = attrs.field(metadata={WIRE: "width"})
    height: float = attrs.field(metadata={WIRE: "height"})
    alpha: float | None = attrs.field(default=None, metadata={WIRE: "alpha"})
    render_mode: RenderMode | int | None = attrs.field(
        default=None, converter=_opt_render_mode, metadata={WIRE: "render_mode"}
    )


@attrs.frozen(kw_only=True)
class UserBackground:
    """One ``backgroundConfig`` item: the image shown when a user sends no video."""

    uid: str = attrs.field(metadata={WIRE: "uid"})
    image_url: str = attrs.field(metadata={WIRE: "image_url"})
    render_mode: RenderMode | int | None = attrs.field(
        default=None, converter=_opt_render_mode, metadata={WIRE: "render_mode"}
    )


@attrs.frozen(kw_only=True)
class TranscodingConfig:
    """``recordingConfig.transcodingConfig`` (mix only): the mixed video output."""

    width: int | None = attrs.field(default=None, metadata={WIRE: "width"})
    height: int | None = attrs.field(default=None, metadata={WIRE: "height"})
    fps: int | None = attrs.field(default=None, metadata={WIRE: "fps"})
    bitrate: int | None = attrs.field(default=None, metadata={WIRE: "bitrate"})
    max_resolution_uid: str | None = attrs.field(default=None, metadata={WIRE: "maxResolutionUid"})
    mixed_video_layout: MixedVideoLayout | int | None = attrs.field(
        default=None, converter=_opt_mixed_video_layout, metadata={WIRE: "mixedVideoLayout"}
    )
    background_color: str | None = attrs.field(default=None, metadata={WIRE: "backgroundColor"})
    background_image: str | None = attrs.field(default=None, metadata={WIRE: "backgroundImage"})
    default_user_background_image: str | None = attrs.field(
        default=None, metadata={WIRE: "defaultUserBackgroundImage"}
    )
    layout_config: tuple[LayoutRegion, ...] | None = attrs.field(
        default=None, converter=_opt_layout_regions, metadata={WIRE: "layoutConfig"}
    )
    background_config: tuple[UserBackground, ...] | None = attrs.field(
        default=None, converter=_opt_user_backgrounds, metadata={WIRE: "backgroundConfig"}
    )


@attrs.frozen(kw_only=True)
class RecordingExtensionParams:
    """``recordingConfig.extensionParams``: ``enableNTPtimestamp`` stamps the recording with NTP
    time, to line it up with Real-Time STT captions (Agora's "Record captions" page)."""

    enable_ntp_timestamp: bool | None = attrs.field(
        default=None, metadata={WIRE: "enableNTPtimestamp"}
    )


@attrs.frozen(kw_only=True)
class RecordingConfig:
    """``recordingConfig`` (individual and mix): what to subscribe to and how to record it."""

    channel_type: ChannelType | int | None = attrs.field(
        default=None, converter=_opt_channel_type, metadata={WIRE: "channelType"}
    )
    stream_types: StreamTypes | int | None = attrs.field(
        default=None, converter=_opt_stream_types, metadata={WIRE: "streamTypes"}
    )
    stream_mode: StreamMode | str | None = attrs.field(
        default=None, converter=_opt_stream_mode, metadata={WIRE: "streamMode"}
    )
    decryption_mode: DecryptionMode | int | None = attrs.field(
        default=None, converter=_opt_decryption_mode, metadata={WIRE: "decryptionMode"}
    )
    secret: str | None = attrs.field(default=None, repr=False, metadata={WIRE: "secret"})
    salt: str | None = attrs.field(default=None, repr=False, metadata={WIRE: "salt"})
    audio_profile: AudioProfile | int | None = attrs.field(
        default=None, converter=_opt_audio_profile, metadata={WIRE: "audioProfile"}
    )
    video_stream_type: VideoStreamType | int | None = attrs.field(
        default=None, converter=_opt_video_stream_type, metadata={WIRE: "videoStreamType"}
    )
    max_idle_time: int | None = attrs.field(
        default=None, validator=_opt_exact_int, metadata={WIRE: "maxIdleTime"}
    )
    transcoding_config: TranscodingConfig | None = attrs.field(
        default=None, metadata={WIRE: "transcodingConfig"}
    )
    subscribe_audio_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "subscribeAudioUids"}
    )
    unsubscribe_audio_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "unSubscribeAudioUids"}
    )
    subscribe_video_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "subscribeVideoUids"}
    )
    unsubscribe_video_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "unSubscribeVideoUids"}
    )
    subscribe_uid_group: SubscribeUidGroup | int | None = attrs.field(
        default=None, converter=_opt_subscribe_uid_group, metadata={WIRE: "subscribeUidGroup"}
    )
    private_params: str | None = attrs.field(default=None, metadata={WIRE: "privateParams"})
    extension_params: RecordingExtensionParams | None = attrs.field(
        default=None, metadata={WIRE: "extensionParams"}
    )


@attrs.frozen(kw_only=True)
class RecordingFileConfig:
    """``recordingFileConfig``: the output formats (``["hls", "mp4"]`` for MP4)."""

    av_file_type: tuple[AvFileType | str, ...] | None = attrs.field(
        default=None, converter=_opt_av_file_types, metadata={WIRE: "avFileType"}
    )


@attrs.frozen(kw_only=True)
class SnapshotConfig:
    """``snapshotConfig`` (individual only): periodic screenshots."""

    capture_interval: int | None = attrs.field(default=None, metadata={WIRE: "captureInterval"})
    file_type: tuple[str, ...] = attrs.field(converter=_strs, metadata={WIRE: "fileType"})


@attrs.frozen(kw_only=True)
class WebRecorderServiceParam:
    """``serviceParam`` of ``web_recorder_service``: the page to record and how."""

    url: str = attrs.field(metadata={WIRE: "url"})
    audio_profile: AudioProfile | int = attrs.field(
        converter=_audio_profile, metadata={WIRE: "audioProfile"}
    )
    video_width: int = attrs.field(metadata={WIRE: "videoWidth"})
    video_height: int = attrs.field(metadata={WIRE: "videoHeight"})
    max_recording_hour: int = attrs.field(metadata={WIRE: "maxRecordingHour"})
    video_bitrate: int | None = attrs.field(default=None, metadata={WIRE: "videoBitrate"})
    video_fps: int | None = attrs.field(default=None, metadata={WIRE: "videoFps"})
    mobile: bool | None = attrs.field(default=None, metadata={WIRE: "mobile"})
    max_video_duration: int | None = attrs.field(default=None, metadata={WIRE: "maxVideoDuration"})
    onhold: bool | None = attrs.field(default=None, metadata={WIRE: "onhold"})
    ready_timeout: int | None = attrs.field(default=None, metadata={WIRE: "readyTimeout"})


@attrs.frozen(kw_only=True)
class RtmpOutput:
    """One CDN push target (``rtmp://`` or ``rtmps://``)."""

    rtmp_url: str = attrs.field(metadata={WIRE: "rtmpUrl"})


@attrs.frozen(kw_only=True)
class RtmpPublishServiceParam:
    """``serviceParam`` of ``rtmp_publish_service``: push the web recording to a CDN."""

    outputs: tuple[RtmpOutput, ...] = attrs.field(
        converter=_rtmp_outputs, metadata={WIRE: "outputs"}
    )


@attrs.frozen(kw_only=True)
class ExtensionService:
    """One ``extensionServices`` item; ``service_param``'s type follows ``service_name``.

    ``web_recorder_service`` takes a `WebRecorderServiceParam`, ``rtmp_publish_service`` an
    `RtmpPublishServiceParam`; any other service (the legacy ``aliyun_vod_service``) a raw dict,
    hidden from repr because it may carry credentials.
    """

    service_name: ServiceName | str = attrs.field(
        converter=_service_name, metadata={WIRE: "serviceName"}
    )
    error_handle_policy: ErrorHandlePolicy | str | None = attrs.field(
        default=None, converter=_opt_error_handle_policy, metadata={WIRE: "errorHandlePolicy"}
    )
    service_param: WebRecorderServiceParam | RtmpPublishServiceParam | dict[str, Any] = attrs.field(
        repr=_hide_raw_dict, metadata={WIRE: "serviceParam"}
    )


@attrs.frozen(kw_only=True)
class ExtensionServiceConfig:
    """``extensionServiceConfig`` (web mode): the web recorder and optional CDN push."""

    error_handle_policy: ErrorHandlePolicy | str | None = attrs.field(
        default=None, converter=_opt_error_handle_policy, metadata={WIRE: "errorHandlePolicy"}
    )
    api_version: str | None = attrs.field(default=None, metadata={WIRE: "apiVersion"})
    extension_services: tuple[ExtensionService, ...] = attrs.field(
        converter=_extension_services, metadata={WIRE: "extensionServices"}
    )


@attrs.frozen(kw_only=True)
class AppsCollection:
    """``appsCollection`` (individual): ``postpone_transcoding`` for postponed output."""

    combination_policy: CombinationPolicy | str | None = attrs.field(
        default=None, converter=_opt_combination_policy, metadata={WIRE: "combinationPolicy"}
    )


@attrs.frozen(kw_only=True)
class TransConfig:
    """``transcodeOptions.transConfig``: postponed transcoding or postponed audio mixing."""

    trans_mode: TransMode | str = attrs.field(converter=_trans_mode, metadata={WIRE: "transMode"})


@attrs.frozen(kw_only=True)
class Container:
    """``transcodeOptions.container``: the output container format."""

    format: ContainerFormat | str | None = attrs.field(
        default=None, converter=_opt_container_format, metadata={WIRE: "format"}
    )


@attrs.frozen(kw_only=True)
class TranscodeAudio:
    """``transcodeOptions.audio`` (postponed audio mixing); the wire uses strings here."""

    sample_rate: str | None = attrs.field(default=None, metadata={WIRE: "sampleRate"})
    bitrate: str | None = attrs.field(default=None, metadata={WIRE: "bitrate"})
    channels: str | None = attrs.field(default=None, metadata={WIRE: "channels"})


@attrs.frozen(kw_only=True)
class TranscodeOptions:
    """``transcodeOptions`` (individual): what postponed transcoding or mixing produces."""

    trans_config: TransConfig = attrs.field(metadata={WIRE: "transConfig"})
    container: Container | None = attrs.field(default=None, metadata={WIRE: "container"})
    audio: TranscodeAudio | None = attrs.field(default=None, metadata={WIRE: "audio"})


@attrs.frozen(kw_only=True)
class StartConfig:
    """The ``clientRequest`` of ``start`` (also acquire's ``startParameter``)."""

    token: str | None = attrs.field(default=None, repr=False, metadata={WIRE: "token"})
    storage_config: StorageConfig | None = attrs.field(
        default=None, metadata={WIRE: "storageConfig"}
    )
    recording_config: RecordingConfig | None = attrs.field(
        default=None, metadata={WIRE: "recordingConfig"}
    )
    recording_file_config: RecordingFileConfig | None = attrs.field(
        default=None, metadata={WIRE: "recordingFileConfig"}
    )
    snapshot_config: SnapshotConfig | None = attrs.field(
        default=None, metadata={WIRE: "snapshotConfig"}
    )
    extension_service_config: ExtensionServiceConfig | None = attrs.field(
        default=None, metadata={WIRE: "extensionServiceConfig"}
    )
    apps_collection: AppsCollection | None = attrs.field(
        default=None, metadata={WIRE: "appsCollection"}
    )
    transcode_options: TranscodeOptions | None = attrs.field(
        default=None, metadata={WIRE: "transcodeOptions"}
    )


@attrs.frozen(kw_only=True)
class AcquireConfig:
    """The ``clientRequest`` of ``acquire``; every field is optional."""

    scene: Scene | int | None = attrs.field(
        default=None, converter=_opt_scene, metadata={WIRE: "scene"}
    )
    resource_expired_hour: int | None = attrs.field(
        default=None, metadata={WIRE: "resourceExpiredHour"}
    )
    start_parameter: StartConfig | None = attrs.field(
        default=None, metadata={WIRE: "startParameter"}
    )
    exclude_resource_ids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "excludeResourceIds"}
    )
    region: Region | str | None = attrs.field(
        default=None, converter=_opt_region, metadata={WIRE: "region"}
    )
    region_affinity: RegionAffinity | int | None = attrs.field(
        default=None, converter=_opt_region_affinity, metadata={WIRE: "regionAffinity"}
    )


@attrs.frozen(kw_only=True)
class AudioUidList:
    """``streamSubscribe.audioUidList`` of ``update``: replaces the audio subscription."""

    subscribe_audio_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "subscribeAudioUids"}
    )
    unsubscribe_audio_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "unSubscribeAudioUids"}
    )


@attrs.frozen(kw_only=True)
class VideoUidList:
    """``streamSubscribe.videoUidList`` of ``update``: replaces the video subscription."""

    subscribe_video_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "subscribeVideoUids"}
    )
    unsubscribe_video_uids: tuple[str, ...] | None = attrs.field(
        default=None, converter=_opt_strs, metadata={WIRE: "unSubscribeVideoUids"}
    )


@attrs.frozen(kw_only=True)
class StreamSubscribe:
    """``streamSubscribe`` of ``update`` (individual and mix)."""

    audio_uid_list: AudioUidList | None = attrs.field(default=None, metadata={WIRE: "audioUidList"})
    video_uid_list: VideoUidList | None = attrs.field(default=None, metadata={WIRE: "videoUidList"})


@attrs.frozen(kw_only=True)
class WebRecordingConfig:
    """``webRecordingConfig`` of ``update`` (web): pause or resume slice generation."""

    onhold: bool | None = attrs.field(default=None, metadata={WIRE: "onhold"})


@attrs.frozen(kw_only=True)
class RtmpPublishConfig:
    """``rtmpPublishConfig`` of ``update`` (web + CDN): the new CDN push target."""

    outputs: tuple[RtmpOutput, ...] = attrs.field(
        converter=_rtmp_outputs, metadata={WIRE: "outputs"}
    )


@attrs.frozen(kw_only=True)
class UpdateConfig:
    """The ``clientRequest`` of ``update``."""

    stream_subscribe: StreamSubscribe | None = attrs.field(
        default=None, metadata={WIRE: "streamSubscribe"}
    )
    web_recording_config: WebRecordingConfig | None = attrs.field(
        default=None, metadata={WIRE: "webRecordingConfig"}
    )
    rtmp_publish_config: RtmpPublishConfig | None = attrs.field(
        default=None, metadata={WIRE: "rtmpPublishConfig"}
    )
    storage_config: StorageConfig | None = attrs.field(
        default=None, metadata={WIRE: "storageConfig"}
    )


@attrs.frozen(kw_only=True)
class UpdateLayoutConfig:
    """The ``clientRequest`` of ``updateLayout`` (mix): replaces the whole layout."""

    mixed_video_layout: MixedVideoLayout | int | None = attrs.field(
        default=None, converter=_opt_mixed_video_layout, metadata={WIRE: "mixedVideoLayout"}
    )
    max_resolution_uid: str | None = attrs.field(default=None, metadata={WIRE: "maxResolutionUid"})
    background_color: str | None = attrs.field(default=None, metadata={WIRE: "backgroundColor"})
    background_image: str | None = attrs.field(default=None, metadata={WIRE: "backgroundImage"})
    default_user_background_image: str | None = attrs.field(
        default=None, metadata={WIRE: "defaultUserBackgroundImage"}
    )
    layout_config: tuple[LayoutRegion, ...] | None = attrs.field(
        default=None, converter=_opt_layout_regions, metadata={WIRE: "layoutConfig"}
    )
    background_config: tuple[UserBackground, ...] | None = attrs.field(
        default=None, converter=_opt_user_backgrounds, metadata={WIRE: "backgroundConfig"}
    )


@attrs.frozen(kw_only=True)
class StopConfig:
    """The ``clientRequest`` of ``stop``; ``async_stop`` is snake_case on the wire too."""

    async_stop: bool | None = attrs.field(default=None, metadata={WIRE: "async_stop"})


# -- handle ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RecordingHandle:
    """Everything needed to query, update or stop a running recording, from any process.

    ``converter.unstructure(handle)`` gives ``{"resourceId", "sid", "mode", "cname", "uid"}``,
    and ``converter.structure`` takes it back, so a handle can be stored and adopted later.
    """

    resource_id: str = attrs.field(metadata={WIRE: "resourceId"})
    sid: str = attrs.field(metadata={WIRE: "sid"})
    mode: Mode = attrs.field(converter=_known_mode, metadata={WIRE: "mode"})
    cname: str = attrs.field(metadata={WIRE: "cname"})
    uid: str = attrs.field(metadata={WIRE: "uid"})


# -- response side ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RecordedFile:
    """A recorded file, the same whatever the wire shape it was reported in.

    ``uid`` is a string (``"0"`` for mixed files in JSON lists), ``slice_start_time`` the
    wire's integer Unix milliseconds. Fields the wire shape does not carry are ``None``.
    """

    file_name: str = attrs.field(metadata={WIRE: "fileName"})
    track_type: TrackType | str | None = attrs.field(
        default=None, converter=_opt_track_type, metadata={WIRE: "trackType"}
    )
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    mixed_all_user: bool | None = attrs.field(default=None, metadata={WIRE: "mixedAllUser"})
    is_playable: bool | None = attrs.field(default=None, metadata={WIRE: "isPlayable"})
    slice_start_time: int | None = attrs.field(default=None, metadata={WIRE: "sliceStartTime"})


@attrs.frozen(kw_only=True)
class FileInfo:
    """One object of a JSON ``fileList``; the converter also reads the 2020 key ``filename``."""

    file_name: str | None = attrs.field(default=None, metadata={WIRE: "fileName"})
    track_type: TrackType | str | None = attrs.field(
        default=None, converter=_opt_track_type, metadata={WIRE: "trackType"}
    )
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    mixed_all_user: bool | None = attrs.field(default=None, metadata={WIRE: "mixedAllUser"})
    is_playable: bool | None = attrs.field(default=None, metadata={WIRE: "isPlayable"})
    slice_start_time: int | None = attrs.field(default=None, metadata={WIRE: "sliceStartTime"})


@attrs.frozen(kw_only=True)
class WebFileInfo:
    """One file of a web recording payload; its wire key is lowercase ``filename``."""

    filename: str | None = attrs.field(default=None, metadata={WIRE: "filename"})
    slice_start_time: int | None = attrs.field(default=None, metadata={WIRE: "sliceStartTime"})


@attrs.frozen(kw_only=True)
class RtmpOutputStatus:
    """State of one CDN push target."""

    rtmp_url: str | None = attrs.field(default=None, metadata={WIRE: "rtmpUrl"})
    status: RtmpStatus | str | None = attrs.field(
        default=None, converter=_opt_rtmp_status, metadata={WIRE: "status"}
    )


@attrs.frozen(kw_only=True)
class WebRecorderPayload:
    """Payload of ``web_recorder_service`` in query and stop responses."""

    file_list: tuple[WebFileInfo, ...] | None = attrs.field(
        default=None, converter=_opt_web_files, metadata={WIRE: "fileList"}
    )
    onhold: bool | None = attrs.field(default=None, metadata={WIRE: "onhold"})
    state: ServiceState | str | None = attrs.field(
        default=None, converter=_opt_service_state, metadata={WIRE: "state"}
    )


@attrs.frozen(kw_only=True)
class RtmpPublishPayload:
    """Payload of ``rtmp_publish_service`` in query responses."""

    outputs: tuple[RtmpOutputStatus, ...] | None = attrs.field(
        default=None, converter=_opt_rtmp_output_statuses, metadata={WIRE: "outputs"}
    )
    state: ServiceState | str | None = attrs.field(
        default=None, converter=_opt_service_state, metadata={WIRE: "state"}
    )


@attrs.frozen(kw_only=True)
class UploadServicePayload:
    """Payload of ``upload_service`` in web stop responses."""

    uploading_status: UploadingStatus | str | None = attrs.field(
        default=None, converter=_opt_uploading_status, metadata={WIRE: "uploadingStatus"}
    )


@attrs.frozen(kw_only=True)
class ExtensionServiceState:
    """One ``extensionServiceState`` item; the payload type follows ``service_name``.

    Unknown services keep their payload as a raw dict. The converter reads ``payload`` and
    falls back to the OpenAPI's misspelt ``playload``.
    """

    service_name: ServiceName | str | None = attrs.field(
        default=None, converter=_opt_service_name, metadata={WIRE: "serviceName"}
    )
    payload: (
        WebRecorderPayload | RtmpPublishPayload | UploadServicePayload | dict[str, Any] | None
    ) = attrs.field(default=None, metadata={WIRE: "payload"})


@attrs.frozen(kw_only=True)
class ServerResponse:
    """``serverResponse`` of query and stop; which fields appear depends on mode and config."""

    status: _WireStatus | None = attrs.field(
        default=None, converter=_opt_status, metadata={WIRE: "status"}
    )
    file_list_mode: FileListMode | str | None = attrs.field(
        default=None, converter=_opt_file_list_mode, metadata={WIRE: "fileListMode"}
    )
    file_list: str | tuple[FileInfo, ...] | None = attrs.field(
        default=None, converter=_opt_file_list, metadata={WIRE: "fileList"}
    )
    slice_start_time: int | None = attrs.field(default=None, metadata={WIRE: "sliceStartTime"})
    uploading_status: UploadingStatus | str | None = attrs.field(
        default=None, converter=_opt_uploading_status, metadata={WIRE: "uploadingStatus"}
    )
    extension_service_state: tuple[ExtensionServiceState, ...] | None = attrs.field(
        default=None, converter=_opt_service_states, metadata={WIRE: "extensionServiceState"}
    )
    sub_service_status: dict[str, Any] | None = attrs.field(
        default=None, metadata={WIRE: "subServiceStatus"}
    )

    @property
    def files(self) -> list[RecordedFile]:
        """Every recorded file reported, from ``fileList`` and web recorder payloads.

        A string ``fileList`` (mix with HLS only) is the composite M3U8 name: one file with
        ``mixed_all_user=True`` and the recording's ``slice_start_time``. Entries without a
        file name are skipped.
        """
        files: list[RecordedFile] = []
        file_list = self.file_list
        if isinstance(file_list, str):
            if file_list:
                files.append(
                    RecordedFile(
                        file_name=file_list,
                        mixed_all_user=True,
                        slice_start_time=self.slice_start_time,
                    )
                )
        elif file_list is not None:
            files.extend(
                RecordedFile(
                    file_name=info.file_name,
                    track_type=info.track_type,
                    uid=None if info.uid is None else str(info.uid),
                    mixed_all_user=info.mixed_all_user,
                    is_playable=info.is_playable,
                    slice_start_time=info.slice_start_time,
                )
                for info in file_list
                if info.file_name
            )
        for state in self.extension_service_state or ():
            payload = state.payload
            if isinstance(payload, WebRecorderPayload):
                files.extend(
                    RecordedFile(file_name=web.filename, slice_start_time=web.slice_start_time)
                    for web in payload.file_list or ()
                    if web.filename
                )
        return files


def _uploading_status(server: ServerResponse) -> UploadingStatus | str | None:
    """``uploadingStatus``, or in web mode the ``upload_service`` payload's one."""
    if server.uploading_status is not None:
        return server.uploading_status
    for state in server.extension_service_state or ():
        if isinstance(state.payload, UploadServicePayload):
            return state.payload.uploading_status
    return None


@attrs.frozen(kw_only=True)
class AcquireResponse:
    """Answer of ``acquire``: the resource ID, valid for five minutes."""

    cname: str | None = attrs.field(default=None, metadata={WIRE: "cname"})
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    resource_id: str = attrs.field(metadata={WIRE: "resourceId"})
    """Required: an answer without one reserves nothing (``converter.structure`` refuses it)."""


@attrs.frozen(kw_only=True)
class StartResponse:
    """Answer of ``start``; ``mode`` is not on the wire: the client fills it in."""

    cname: str | None = attrs.field(default=None, metadata={WIRE: "cname"})
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    resource_id: str | None = attrs.field(default=None, metadata={WIRE: "resourceId"})
    sid: str | None = attrs.field(default=None, metadata={WIRE: "sid"})
    mode: Mode | str | None = attrs.field(default=None, converter=_opt_mode, metadata={WIRE: None})

    @property
    def handle(self) -> RecordingHandle:
        """The handle of the started recording.

        Raises `UnexpectedResponseError` when the answer lacks an identifier (a ``201``
        "already started" body has no ``sid``), or when ``mode`` was never filled in.
        """
        sid, resource_id, mode = self.sid, self.resource_id, self.mode
        cname, uid = self.cname, self.uid
        if not (sid and resource_id and mode and cname and uid):
            present = {
                "sid": sid,
                "resourceId": resource_id,
                "mode": mode,
                "cname": cname,
                "uid": uid,
            }
            missing = ", ".join(name for name, value in present.items() if not value)
            raise UnexpectedResponseError(f"start response has no {missing}", endpoint="start")
        return RecordingHandle(resource_id=resource_id, sid=sid, mode=mode, cname=cname, uid=uid)


@attrs.frozen(kw_only=True)
class UpdateResponse:
    """Answer of ``update`` and ``updateLayout``."""

    cname: str | None = attrs.field(default=None, metadata={WIRE: "cname"})
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    resource_id: str | None = attrs.field(default=None, metadata={WIRE: "resourceId"})
    sid: str | None = attrs.field(default=None, metadata={WIRE: "sid"})


@attrs.frozen(kw_only=True)
class QueryResponse:
    """Answer of ``query``, with the recording's ``status`` and ``files`` normalized."""

    cname: str | None = attrs.field(default=None, metadata={WIRE: "cname"})
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    resource_id: str | None = attrs.field(default=None, metadata={WIRE: "resourceId"})
    sid: str | None = attrs.field(default=None, metadata={WIRE: "sid"})
    server_response: ServerResponse | None = attrs.field(
        default=None, metadata={WIRE: "serverResponse"}
    )

    @property
    def status(self) -> RecordingStatus | None:
        """The service status, or ``None`` when absent; a state newer than this library is a
        pseudo-member named ``UNKNOWN_<value>`` (``status.name`` always works)."""
        return None if self.server_response is None else self.server_response.status

    @property
    def files(self) -> list[RecordedFile]:
        """The recorded files reported so far, whatever the wire shape."""
        return [] if self.server_response is None else self.server_response.files


@attrs.frozen(kw_only=True)
class StopResponse:
    """Answer of ``stop``, with the final ``files`` and ``uploading_status`` normalized."""

    cname: str | None = attrs.field(default=None, metadata={WIRE: "cname"})
    uid: str | None = attrs.field(default=None, metadata={WIRE: "uid"})
    resource_id: str | None = attrs.field(default=None, metadata={WIRE: "resourceId"})
    sid: str | None = attrs.field(default=None, metadata={WIRE: "sid"})
    server_response: ServerResponse | None = attrs.field(
        default=None, metadata={WIRE: "serverResponse"}
    )

    @property
    def files(self) -> list[RecordedFile]:
        """The recorded files, whatever the wire shape."""
        return [] if self.server_response is None else self.server_response.files

    @property
    def uploading_status(self) -> UploadingStatus | str | None:
        """Whether the files reached your storage, from either wire location."""
        return None if self.server_response is None else _uploading_status(self.server_response)


@attrs.frozen(kw_only=True)
class NcsHost:
    """One NCS server in the ``GET /v1/ncs/ip`` answer."""

    primary_ip: str | None = attrs.field(default=None, metadata={WIRE: "primaryIP"})


@attrs.frozen(kw_only=True)
class NcsService:
    """``data.service`` of the NCS IP list: the servers notifications come from."""

    hosts: tuple[NcsHost, ...] | None = attrs.field(
        default=None, converter=_opt_ncs_hosts, metadata={WIRE: "hosts"}
    )


@attrs.frozen(kw_only=True)
class NcsData:
    """``data`` of the NCS IP list."""

    service: NcsService | None = attrs.field(default=None, metadata={WIRE: "service"})


@attrs.frozen(kw_only=True)
class NcsIpResponse:
    """Answer of ``GET /v1/ncs/ip`` (Agora's "Query the IP addresses of NCS servers" page).

    Notifications come from these addresses; the page asks to query them at least every 24 hours
    and to update a firewall allow-list with them.
    """

    data: NcsData | None = attrs.field(default=None, metadata={WIRE: "data"})

    @property
    def ips(self) -> list[str]:
        """Every ``primaryIP``, in the answer's order."""
        service = self.data.service if self.data is not None else None
        hosts = service.hosts if service is not None else None
        return [host.primary_ip for host in hosts or () if host.primary_ip]
