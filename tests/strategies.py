"""Hypothesis strategies for every model, for round-trip tests here and in other test modules.

Enum-typed fields draw either a member or a plain value the enum does not know (so the "keep
unknown values" path is exercised); sequences are drawn as lists (the models store tuples);
``service_param`` and ``payload`` match their ``service_name``, as the converter dispatches on it.
`MODELS` maps each model class to its strategy.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

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
from agora_recording.models import (
    AcquireConfig,
    AcquireResponse,
    AppsCollection,
    AudioUidList,
    Container,
    ExtensionParams,
    ExtensionService,
    ExtensionServiceConfig,
    ExtensionServiceState,
    FileInfo,
    LayoutRegion,
    NcsData,
    NcsHost,
    NcsIpResponse,
    NcsService,
    QueryResponse,
    RecordedFile,
    RecordingConfig,
    RecordingExtensionParams,
    RecordingFileConfig,
    RecordingHandle,
    RtmpOutput,
    RtmpOutputStatus,
    RtmpPublishConfig,
    RtmpPublishPayload,
    RtmpPublishServiceParam,
    ServerResponse,
    SnapshotConfig,
    StartConfig,
    StartResponse,
    StopConfig,
    StopResponse,
    StorageConfig,
    StreamSubscribe,
    TranscodeAudio,
    TranscodeOptions,
    TranscodingConfig,
    TransConfig,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
    UploadServicePayload,
    UserBackground,
    VideoUidList,
    WebFileInfo,
    WebRecorderPayload,
    WebRecorderServiceParam,
    WebRecordingConfig,
)
from hypothesis import strategies as st

_T = TypeVar("_T")

texts = st.text(max_size=12)
uids = st.integers(min_value=1, max_value=2**32 - 1).map(str)
json_ints = st.integers(min_value=-(2**53), max_value=2**53)
numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5)
booleans = st.booleans()
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | json_ints
    | texts
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(texts, json_values, max_size=4)


def optional(strategy: st.SearchStrategy[_T]) -> st.SearchStrategy[_T | None]:
    """Either nothing (the field is left unset) or a value."""
    return st.none() | strategy


def lists(strategy: st.SearchStrategy[_T]) -> st.SearchStrategy[list[_T]]:
    """Short lists; the models turn them into tuples."""
    return st.lists(strategy, max_size=3)


def enum_or_plain(cls: type[enum.Enum]) -> st.SearchStrategy[Any]:
    """A member, its plain value, or a plain value the enum does not know."""
    known = {member.value for member in cls}
    if all(isinstance(value, int) for value in known):
        unknown: st.SearchStrategy[Any] = st.integers(100, 10_000)
    else:
        unknown = texts.filter(lambda text: text not in known)
    return st.sampled_from(list(cls)) | st.sampled_from(sorted(known, key=str)) | unknown


# -- request side ------------------------------------------------------------------------------

extension_params = st.builds(
    ExtensionParams, sse=optional(texts), tag=optional(texts), endpoint=optional(texts)
)
storage_configs = st.builds(
    StorageConfig,
    vendor=enum_or_plain(Vendor),
    region=st.integers(0, 40),
    bucket=texts,
    access_key=texts,
    secret_key=texts,
    sts_token=optional(texts),
    sts_expiration=optional(json_ints),
    file_name_prefix=optional(lists(texts)),
    extension_params=optional(extension_params),
)
layout_regions = st.builds(
    LayoutRegion,
    uid=optional(uids),
    x_axis=numbers,
    y_axis=numbers,
    width=numbers,
    height=numbers,
    alpha=optional(numbers),
    render_mode=optional(enum_or_plain(RenderMode)),
)
user_backgrounds = st.builds(
    UserBackground, uid=uids, image_url=texts, render_mode=optional(enum_or_plain(RenderMode))
)
transcoding_configs = st.builds(
    TranscodingConfig,
    width=optional(json_ints),
    height=optional(json_ints),
    fps=optional(json_ints),
    bitrate=optional(json_ints),
    max_resolution_uid=optional(uids),
    mixed_video_layout=optional(enum_or_plain(MixedVideoLayout)),
    background_color=optional(texts),
    background_image=optional(texts),
    default_user_background_image=optional(texts),
    layout_config=optional(lists(layout_regions)),
    background_config=optional(lists(user_backgrounds)),
)
recording_extension_params = st.builds(
    RecordingExtensionParams, enable_ntp_timestamp=optional(booleans)
)
recording_configs = st.builds(
    RecordingConfig,
    channel_type=optional(enum_or_plain(ChannelType)),
    stream_types=optional(enum_or_plain(StreamTypes)),
    stream_mode=optional(enum_or_plain(StreamMode)),
    decryption_mode=optional(enum_or_plain(DecryptionMode)),
    secret=optional(texts),
    salt=optional(texts),
    audio_profile=optional(enum_or_plain(AudioProfile)),
    video_stream_type=optional(enum_or_plain(VideoStreamType)),
    max_idle_time=optional(json_ints),
    transcoding_config=optional(transcoding_configs),
    subscribe_audio_uids=optional(lists(uids)),
    unsubscribe_audio_uids=optional(lists(uids)),
    subscribe_video_uids=optional(lists(uids)),
    unsubscribe_video_uids=optional(lists(uids)),
    subscribe_uid_group=optional(enum_or_plain(SubscribeUidGroup)),
    private_params=optional(texts),
    extension_params=optional(recording_extension_params),
)
recording_file_configs = st.builds(
    RecordingFileConfig, av_file_type=optional(lists(enum_or_plain(AvFileType)))
)
snapshot_configs = st.builds(
    SnapshotConfig, capture_interval=optional(json_ints), file_type=lists(texts)
)
web_recorder_service_params = st.builds(
    WebRecorderServiceParam,
    url=texts,
    audio_profile=enum_or_plain(AudioProfile),
    video_width=json_ints,
    video_height=json_ints,
    max_recording_hour=json_ints,
    video_bitrate=optional(json_ints),
    video_fps=optional(json_ints),
    mobile=optional(booleans),
    max_video_duration=optional(json_ints),
    onhold=optional(booleans),
    ready_timeout=optional(json_ints),
)
rtmp_outputs = st.builds(RtmpOutput, rtmp_url=texts)
rtmp_publish_service_params = st.builds(RtmpPublishServiceParam, outputs=lists(rtmp_outputs))
_other_service_names = st.sampled_from([ServiceName.ALIYUN_VOD_SERVICE, "custom_service"]) | (
    texts.filter(lambda name: name not in {"web_recorder_service", "rtmp_publish_service"})
)
_policies = optional(enum_or_plain(ErrorHandlePolicy))
extension_services = st.one_of(
    st.builds(
        ExtensionService,
        service_name=st.sampled_from(
            [ServiceName.WEB_RECORDER_SERVICE, ServiceName.WEB_RECORDER_SERVICE.value]
        ),
        error_handle_policy=_policies,
        service_param=web_recorder_service_params,
    ),
    st.builds(
        ExtensionService,
        service_name=st.just(ServiceName.RTMP_PUBLISH_SERVICE),
        error_handle_policy=_policies,
        service_param=rtmp_publish_service_params,
    ),
    st.builds(
        ExtensionService,
        service_name=_other_service_names,
        error_handle_policy=_policies,
        service_param=json_objects,
    ),
)
extension_service_configs = st.builds(
    ExtensionServiceConfig,
    error_handle_policy=_policies,
    api_version=optional(texts),
    extension_services=lists(extension_services),
)
apps_collections = st.builds(
    AppsCollection, combination_policy=optional(enum_or_plain(CombinationPolicy))
)
trans_configs = st.builds(TransConfig, trans_mode=enum_or_plain(TransMode))
containers = st.builds(Container, format=optional(enum_or_plain(ContainerFormat)))
transcode_audios = st.builds(
    TranscodeAudio, sample_rate=optional(texts), bitrate=optional(texts), channels=optional(texts)
)
transcode_options = st.builds(
    TranscodeOptions,
    trans_config=trans_configs,
    container=optional(containers),
    audio=optional(transcode_audios),
)
start_configs = st.builds(
    StartConfig,
    token=optional(texts),
    storage_config=optional(storage_configs),
    recording_config=optional(recording_configs),
    recording_file_config=optional(recording_file_configs),
    snapshot_config=optional(snapshot_configs),
    extension_service_config=optional(extension_service_configs),
    apps_collection=optional(apps_collections),
    transcode_options=optional(transcode_options),
)
acquire_configs = st.builds(
    AcquireConfig,
    scene=optional(enum_or_plain(Scene)),
    resource_expired_hour=optional(json_ints),
    start_parameter=optional(start_configs),
    exclude_resource_ids=optional(lists(texts)),
    region=optional(enum_or_plain(Region)),
    region_affinity=optional(enum_or_plain(RegionAffinity)),
)
audio_uid_lists = st.builds(
    AudioUidList,
    subscribe_audio_uids=optional(lists(uids)),
    unsubscribe_audio_uids=optional(lists(uids)),
)
video_uid_lists = st.builds(
    VideoUidList,
    subscribe_video_uids=optional(lists(uids)),
    unsubscribe_video_uids=optional(lists(uids)),
)
stream_subscribes = st.builds(
    StreamSubscribe,
    audio_uid_list=optional(audio_uid_lists),
    video_uid_list=optional(video_uid_lists),
)
web_recording_configs = st.builds(WebRecordingConfig, onhold=optional(booleans))
rtmp_publish_configs = st.builds(RtmpPublishConfig, outputs=lists(rtmp_outputs))
update_configs = st.builds(
    UpdateConfig,
    stream_subscribe=optional(stream_subscribes),
    web_recording_config=optional(web_recording_configs),
    rtmp_publish_config=optional(rtmp_publish_configs),
    storage_config=optional(storage_configs),
)
update_layout_configs = st.builds(
    UpdateLayoutConfig,
    mixed_video_layout=optional(enum_or_plain(MixedVideoLayout)),
    max_resolution_uid=optional(uids),
    background_color=optional(texts),
    background_image=optional(texts),
    default_user_background_image=optional(texts),
    layout_config=optional(lists(layout_regions)),
    background_config=optional(lists(user_backgrounds)),
)
stop_configs = st.builds(StopConfig, async_stop=optional(booleans))
recording_handles = st.builds(
    RecordingHandle,
    resource_id=texts,
    sid=texts,
    mode=st.sampled_from(list(Mode)) | st.sampled_from([mode.value for mode in Mode]),
    cname=texts,
    uid=uids,
)

# -- response side -----------------------------------------------------------------------------

recorded_files = st.builds(
    RecordedFile,
    file_name=texts,
    track_type=optional(enum_or_plain(TrackType)),
    uid=optional(uids),
    mixed_all_user=optional(booleans),
    is_playable=optional(booleans),
    slice_start_time=optional(json_ints),
)
file_infos = st.builds(
    FileInfo,
    file_name=optional(texts),
    track_type=optional(enum_or_plain(TrackType)),
    uid=optional(uids),
    mixed_all_user=optional(booleans),
    is_playable=optional(booleans),
    slice_start_time=optional(json_ints),
)
web_file_infos = st.builds(
    WebFileInfo, filename=optional(texts), slice_start_time=optional(json_ints)
)
rtmp_output_statuses = st.builds(
    RtmpOutputStatus, rtmp_url=optional(texts), status=optional(enum_or_plain(RtmpStatus))
)
_states = optional(enum_or_plain(ServiceState))
web_recorder_payloads = st.builds(
    WebRecorderPayload,
    file_list=optional(lists(web_file_infos)),
    onhold=optional(booleans),
    state=_states,
)
rtmp_publish_payloads = st.builds(
    RtmpPublishPayload, outputs=optional(lists(rtmp_output_statuses)), state=_states
)
upload_service_payloads = st.builds(
    UploadServicePayload, uploading_status=optional(enum_or_plain(UploadingStatus))
)
_known_payload_services = {"web_recorder_service", "rtmp_publish_service", "upload_service"}
extension_service_states = st.one_of(
    st.builds(
        ExtensionServiceState,
        service_name=st.just(ServiceName.WEB_RECORDER_SERVICE),
        payload=optional(web_recorder_payloads),
    ),
    st.builds(
        ExtensionServiceState,
        service_name=st.just("rtmp_publish_service"),
        payload=optional(rtmp_publish_payloads),
    ),
    st.builds(
        ExtensionServiceState,
        service_name=st.just(ServiceName.UPLOAD_SERVICE),
        payload=optional(upload_service_payloads),
    ),
    st.builds(
        ExtensionServiceState,
        service_name=optional(
            st.just(ServiceName.ALIYUN_VOD_SERVICE)
            | texts.filter(lambda name: name not in _known_payload_services)
        ),
        payload=optional(json_objects),
    ),
)
server_responses = st.builds(
    ServerResponse,
    status=optional(enum_or_plain(RecordingStatus)),
    file_list_mode=optional(enum_or_plain(FileListMode)),
    file_list=st.none() | texts | lists(file_infos),
    slice_start_time=optional(json_ints),
    uploading_status=optional(enum_or_plain(UploadingStatus)),
    extension_service_state=optional(lists(extension_service_states)),
    sub_service_status=optional(json_objects),
)
_ids = {
    "cname": optional(texts),
    "uid": optional(uids),
    "resource_id": optional(texts),
}
acquire_responses = st.builds(AcquireResponse, **{**_ids, "resource_id": texts})
# ``mode`` is not on the wire, so round-trip strategies leave it unset.
start_responses = st.builds(StartResponse, sid=optional(texts), **_ids)
update_responses = st.builds(UpdateResponse, sid=optional(texts), **_ids)
query_responses = st.builds(
    QueryResponse, sid=optional(texts), server_response=optional(server_responses), **_ids
)
stop_responses = st.builds(
    StopResponse, sid=optional(texts), server_response=optional(server_responses), **_ids
)
ncs_hosts = st.builds(NcsHost, primary_ip=optional(texts))
ncs_services = st.builds(NcsService, hosts=optional(lists(ncs_hosts)))
ncs_data = st.builds(NcsData, service=optional(ncs_services))
ncs_ip_responses = st.builds(NcsIpResponse, data=optional(ncs_data))

MODELS: dict[type[Any], st.SearchStrategy[Any]] = {
    AcquireConfig: acquire_configs,
    AcquireResponse: acquire_responses,
    AppsCollection: apps_collections,
    AudioUidList: audio_uid_lists,
    Container: containers,
    ExtensionParams: extension_params,
    ExtensionService: extension_services,
    ExtensionServiceConfig: extension_service_configs,
    ExtensionServiceState: extension_service_states,
    FileInfo: file_infos,
    LayoutRegion: layout_regions,
    NcsData: ncs_data,
    NcsHost: ncs_hosts,
    NcsIpResponse: ncs_ip_responses,
    NcsService: ncs_services,
    QueryResponse: query_responses,
    RecordedFile: recorded_files,
    RecordingConfig: recording_configs,
    RecordingExtensionParams: recording_extension_params,
    RecordingFileConfig: recording_file_configs,
    RecordingHandle: recording_handles,
    RtmpOutput: rtmp_outputs,
    RtmpOutputStatus: rtmp_output_statuses,
    RtmpPublishConfig: rtmp_publish_configs,
    RtmpPublishPayload: rtmp_publish_payloads,
    RtmpPublishServiceParam: rtmp_publish_service_params,
    ServerResponse: server_responses,
    SnapshotConfig: snapshot_configs,
    StartConfig: start_configs,
    StartResponse: start_responses,
    StopConfig: stop_configs,
    StopResponse: stop_responses,
    StorageConfig: storage_configs,
    StreamSubscribe: stream_subscribes,
    TransConfig: trans_configs,
    TranscodeAudio: transcode_audios,
    TranscodeOptions: transcode_options,
    TranscodingConfig: transcoding_configs,
    UpdateConfig: update_configs,
    UpdateLayoutConfig: update_layout_configs,
    UpdateResponse: update_responses,
    UploadServicePayload: upload_service_payloads,
    UserBackground: user_backgrounds,
    VideoUidList: video_uid_lists,
    WebFileInfo: web_file_infos,
    WebRecorderPayload: web_recorder_payloads,
    WebRecorderServiceParam: web_recorder_service_params,
    WebRecordingConfig: web_recording_configs,
}
"""Every model class and a strategy drawing instances of it."""
