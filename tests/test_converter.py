"""The converter against the documented wire JSON: samples, key names, omission, tolerance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from agora_recording import converter, models
from agora_recording._converter import STRUCTURE_ERRORS
from agora_recording.enums import (
    FileListMode,
    Mode,
    RecordingStatus,
    RtmpStatus,
    ServiceName,
    ServiceState,
    TrackType,
    UploadingStatus,
    Vendor,
)
from agora_recording.errors import UnexpectedResponseError, ValidationError
from agora_recording.models import (
    WIRE,
    AcquireConfig,
    AcquireResponse,
    AudioUidList,
    ExtensionServiceState,
    FileInfo,
    LayoutRegion,
    QueryResponse,
    RecordedFile,
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    RtmpPublishPayload,
    ServerResponse,
    StartConfig,
    StartResponse,
    StopConfig,
    StopResponse,
    StorageConfig,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
    UploadServicePayload,
    UserBackground,
    VideoUidList,
    WebRecorderPayload,
    WebRecorderServiceParam,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .strategies import MODELS

SAMPLES = Path(__file__).parent / "samples"
SID = "38f8e3cfdc474cd56fc1ceba380d7e1a"
CNAME = "httpClient463224"
SLICE = 1562724971626

# File-name prefix -> model; longer prefixes first so update_layout is not taken for update.
REQUEST_MODELS: list[tuple[str, type[Any]]] = [
    ("request_acquire", AcquireConfig),
    ("request_start", StartConfig),
    ("request_update_layout", UpdateLayoutConfig),
    ("request_update", UpdateConfig),
    ("request_stop", StopConfig),
]
RESPONSE_MODELS: list[tuple[str, type[Any]]] = [
    ("acquire", AcquireResponse),
    ("start", StartResponse),
    ("update", UpdateResponse),
    ("query", QueryResponse),
    ("stop", StopResponse),
]
DOCUMENTED_SAMPLES = {
    "request_acquire",
    "request_start_individual",
    "request_start_mix",
    "request_start_web_cdn",
    "request_start_postponed_transcoding",
    "request_update",
    "request_update_layout",
    "request_stop",
    "response_acquire",
    "response_start",
    "response_update",
    "response_query_individual",
    "response_query_mix_string",
    "response_query_individual_screenshots",
    "response_query_web_cdn",
    "response_stop_individual",
    "response_stop_individual_screenshots",
    "response_stop_web_upload_service",
    "response_stop_web_recorder_service",
    "response_stop_playload",
    "response_query_filename",
    "response_query_status_string",
    "error_201_start_already_started",
    "error_404_update_worker_not_found",
    "error_504_query_request_timeout",
    "error_400_acquire_invalid_appid",
}


def _names(prefix: str) -> list[str]:
    return sorted(path.stem for path in SAMPLES.glob(f"{prefix}*.json"))


def _load(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _request_model(name: str) -> type[Any]:
    return next(model for prefix, model in REQUEST_MODELS if name.startswith(prefix))


def _response_model(name: str) -> type[Any]:
    """``response_<endpoint>_...`` or ``error_<status>_<endpoint>_...``; gateway -> acquire."""
    endpoint = name.split("_")[1] if name.startswith("response_") else name.split("_")[2]
    if endpoint == "gateway":
        endpoint = "acquire"
    return next(model for prefix, model in RESPONSE_MODELS if endpoint == prefix)


def _parse(name: str) -> Any:
    return converter.structure(_load(name), _response_model(name))


# -- samples ---------------------------------------------------------------------------------


def test_every_documented_example_has_a_sample() -> None:
    """Each request and response example of the API doc is stored under tests/samples."""
    stored = {path.stem for path in SAMPLES.glob("*.json")}
    assert stored >= DOCUMENTED_SAMPLES
    assert all(name.startswith(("request_", "response_", "error_")) for name in stored)


@pytest.mark.parametrize("name", _names("request_"))
def test_request_sample_round_trips_exactly(name: str) -> None:
    """clientRequest -> config model -> wire gives back the identical JSON."""
    envelope = _load(name)
    assert set(envelope) == {"cname", "uid", "clientRequest"}
    wire = envelope["clientRequest"]
    config = converter.structure(wire, _request_model(name))
    assert isinstance(config, _request_model(name))
    again = converter.unstructure(config)
    assert again == wire
    assert json.dumps(again, sort_keys=True) == json.dumps(wire, sort_keys=True)


@pytest.mark.parametrize("name", _names("response_") + _names("error_"))
def test_response_sample_parses_and_round_trips(name: str) -> None:
    """Every stored body parses into its endpoint's model and survives a second round trip.

    Error bodies of acquire have no ``resourceId``, which an `AcquireResponse` requires.
    """
    if _response_model(name) is AcquireResponse and "resourceId" not in _load(name):
        with pytest.raises(ValidationError, match="resourceId"):
            _parse(name)
        return
    parsed = _parse(name)
    assert isinstance(parsed, _response_model(name))
    assert converter.structure(converter.unstructure(parsed), type(parsed)) == parsed


def test_request_start_mix_sample_values() -> None:
    """The mix start sample carries its layout, decryption and unsubscribe lists as typed values."""
    config = converter.structure(_load("request_start_mix")["clientRequest"], StartConfig)
    recording = config.recording_config
    assert recording is not None
    assert recording.unsubscribe_audio_uids == ("999",)
    assert recording.decryption_mode == 7
    transcoding = recording.transcoding_config
    assert transcoding is not None
    assert transcoding.layout_config is not None
    assert transcoding.layout_config[1] == LayoutRegion(
        uid="456", x_axis=0.5, y_axis=0, width=0.5, height=0.5, alpha=0.8, render_mode=1
    )
    assert transcoding.background_config == (
        UserBackground(uid="123", image_url="https://example.com/u123.jpg", render_mode=0),
        UserBackground(uid="456", image_url="https://example.com/u456.bmp"),
    )
    assert config.storage_config is not None
    assert config.storage_config.vendor is Vendor.ALIBABA_CLOUD


def test_request_start_web_sample_typed_service_params() -> None:
    """The web+CDN sample's service params are structured by service name."""
    config = converter.structure(_load("request_start_web_cdn")["clientRequest"], StartConfig)
    assert config.extension_service_config is not None
    web, rtmp = config.extension_service_config.extension_services
    assert web.service_name is ServiceName.WEB_RECORDER_SERVICE
    assert isinstance(web.service_param, WebRecorderServiceParam)
    assert web.service_param.max_video_duration == 200
    assert rtmp.service_name is ServiceName.RTMP_PUBLISH_SERVICE
    assert isinstance(rtmp.service_param, models.RtmpPublishServiceParam)
    assert rtmp.service_param.outputs[0].rtmp_url == "rtmp://live.example.com/app/stream101"


def test_response_query_individual() -> None:
    """Individual query: status 5 and one RecordedFile per user, uid as string."""
    response = _parse("response_query_individual")
    assert response.status is RecordingStatus.IN_PROGRESS
    assert response.server_response.file_list_mode is FileListMode.JSON
    assert [(f.uid, f.track_type, f.slice_start_time) for f in response.files] == [
        ("123", TrackType.AUDIO_AND_VIDEO, SLICE),
        ("456", TrackType.AUDIO_AND_VIDEO, SLICE),
    ]
    assert response.files[0].file_name == f"{SID}_{CNAME}__uid_s_123__uid_e_av.m3u8"
    assert response.files[0].is_playable is True


def test_response_query_mix_string() -> None:
    """Mix with a string fileList: one mixed file named by the string."""
    response = _parse("response_query_mix_string")
    assert response.status == 5
    assert response.server_response.file_list == f"{SID}_{CNAME}.m3u8"
    assert response.files == [
        RecordedFile(file_name=f"{SID}_{CNAME}.m3u8", mixed_all_user=True, slice_start_time=SLICE)
    ]


def test_response_query_mix_json() -> None:
    """Mix with HLS and MP4: both composite files, uid "0", all users mixed."""
    files = _parse("response_query_mix_json").files
    assert [f.file_name for f in files] == [f"{SID}_{CNAME}.m3u8", f"{SID}_{CNAME}_0.mp4"]
    assert {(f.uid, f.mixed_all_user) for f in files} == {("0", True)}


def test_response_query_individual_screenshots() -> None:
    """Screenshot-only query: a status and a start time, no files."""
    response = _parse("response_query_individual_screenshots")
    assert response.status is RecordingStatus.IN_PROGRESS
    assert response.server_response.slice_start_time == SLICE
    assert response.files == []


def test_response_query_web_cdn() -> None:
    """Web + CDN query: two typed service states and status 4."""
    response = _parse("response_query_web_cdn")
    assert response.status is RecordingStatus.ALL_COMPONENTS_READY
    assert response.sid is None
    web, rtmp = response.server_response.extension_service_state
    assert web == ExtensionServiceState(
        service_name=ServiceName.WEB_RECORDER_SERVICE,
        payload=WebRecorderPayload(file_list=(), onhold=False, state=ServiceState.IN_PROGRESS),
    )
    assert isinstance(rtmp.payload, RtmpPublishPayload)
    assert rtmp.payload.outputs is not None
    assert rtmp.payload.outputs[0].status is RtmpStatus.PUBLISHING
    assert response.files == []


def test_response_query_web_files() -> None:
    """Web query with files: they come out of the web recorder payload, by ``filename``."""
    files = _parse("response_query_web_files").files
    assert files == [
        RecordedFile(file_name=f"{SID}_{CNAME}.m3u8", slice_start_time=1637812345000),
        RecordedFile(file_name=f"{SID}_{CNAME}_0.mp4", slice_start_time=1637812345000),
    ]


def test_response_query_legacy_vod_payload_stays_raw() -> None:
    """An unknown (legacy) service keeps its payload as a dict; subServiceStatus is kept."""
    response = _parse("response_query_aliyun_vod")
    (state,) = response.server_response.extension_service_state
    assert state.service_name is ServiceName.ALIYUN_VOD_SERVICE
    assert isinstance(state.payload, dict)
    assert state.payload["state"] == "inProgress"
    assert response.server_response.sub_service_status == {"recordingService": "serviceInProgress"}
    assert response.status is None


def test_response_query_filename_variant() -> None:
    """The 2020 lowercase ``filename`` key is read as ``fileName``."""
    (recorded,) = _parse("response_query_filename").files
    assert recorded.file_name == f"{SID}_{CNAME}__uid_s_123__uid_e_audio.m3u8"
    assert recorded.track_type is TrackType.AUDIO
    assert recorded.mixed_all_user is False


def test_response_query_status_string_variant() -> None:
    """``"status": "5"`` is coerced to ``RecordingStatus.IN_PROGRESS``."""
    assert _parse("response_query_status_string").status is RecordingStatus.IN_PROGRESS


def test_response_stop_individual() -> None:
    """Individual stop: uploaded, with the final file list."""
    response = _parse("response_stop_individual")
    assert response.uploading_status is UploadingStatus.UPLOADED
    assert [(f.uid, f.file_name) for f in response.files] == [
        ("123", f"{SID}_{CNAME}__uid_s_123__uid_e_av.m3u8")
    ]


def test_response_stop_mix_string() -> None:
    """Mix stop with a string fileList: backed up, one composite file."""
    response = _parse("response_stop_mix_string")
    assert response.uploading_status is UploadingStatus.BACKUPED
    assert [f.file_name for f in response.files] == [f"{SID}_{CNAME}.m3u8"]


def test_response_stop_individual_screenshots() -> None:
    """Screenshot stop: only the upload status."""
    response = _parse("response_stop_individual_screenshots")
    assert response.uploading_status is UploadingStatus.UPLOADED
    assert response.files == []


def test_response_stop_web_upload_service() -> None:
    """Web stop: the upload status comes from the upload_service payload."""
    response = _parse("response_stop_web_upload_service")
    assert response.uploading_status is UploadingStatus.UPLOADED
    assert response.server_response.uploading_status is None
    assert response.cname == CNAME
    assert response.uid == "527841"


def test_response_stop_web_recorder_service() -> None:
    """Web stop with the recorder payload: upload status, files and the exit state."""
    response = _parse("response_stop_web_recorder_service")
    assert response.uploading_status is UploadingStatus.UPLOADED
    assert [f.file_name for f in response.files] == [f"{SID}_{CNAME}.m3u8", f"{SID}_{CNAME}_0.mp4"]
    payload = response.server_response.extension_service_state[1].payload
    assert isinstance(payload, WebRecorderPayload)
    assert payload.state is ServiceState.EXIT


def test_response_stop_playload_variant() -> None:
    """The OpenAPI's misspelt ``playload`` key is read as ``payload``."""
    response = _parse("response_stop_playload")
    (state,) = response.server_response.extension_service_state
    assert state.payload == UploadServicePayload(uploading_status=UploadingStatus.UPLOADED)
    assert response.uploading_status is UploadingStatus.UPLOADED


def test_response_stop_unknow_variant() -> None:
    """``uploadingStatus: "unknow"`` parses to ``UploadingStatus.UNKNOWN``."""
    response = _parse("response_stop_uploading_unknow")
    assert response.uploading_status is UploadingStatus.UNKNOWN
    assert converter.unstructure(response)["serverResponse"]["uploadingStatus"] == "unknown"


def test_response_acquire_start_update() -> None:
    """The simple answers carry their identifiers, and start gives a handle once mode is set."""
    acquire = _parse("response_acquire")
    assert acquire.resource_id is not None
    assert acquire.resource_id.startswith("JyvK8nXHuV1BE")
    start = _parse("response_start")
    assert start.sid == SID
    handle = attrs.evolve(start, mode=Mode.MIX).handle
    assert handle == RecordingHandle(
        resource_id=acquire.resource_id, sid=SID, mode=Mode.MIX, cname=CNAME, uid="527841"
    )
    assert _parse("response_update").sid == SID


def test_already_started_body_has_no_handle() -> None:
    """The 201/7 body parses as a StartResponse without sid, so ``.handle`` raises."""
    response = _parse("error_201_start_already_started")
    assert response == StartResponse()
    with pytest.raises(UnexpectedResponseError, match="sid"):
        _ = attrs.evolve(response, mode=Mode.INDIVIDUAL).handle
    empty_sid = _parse("error_500_start_empty_sid")
    assert empty_sid.sid == ""
    with pytest.raises(UnexpectedResponseError, match="sid"):
        _ = attrs.evolve(empty_sid, mode=Mode.MIX, cname="c", uid="1").handle


def test_error_bodies_keep_echoed_identifiers() -> None:
    """Error bodies parse tolerantly, keeping the echoed cname and uid and ignoring code/reason."""
    response = _parse("error_404_stop_worker_not_found")
    assert response == StopResponse(cname="24080002", uid="1")


# -- the wire format ---------------------------------------------------------------------------


def test_unset_fields_are_omitted() -> None:
    """Nothing unset reaches the wire: empty configs are ``{}``, storage has its 5 keys."""
    assert converter.unstructure(RecordingConfig()) == {}
    assert converter.unstructure(StartConfig()) == {}
    assert converter.unstructure(AcquireConfig()) == {}
    assert converter.unstructure(StopConfig()) == {}
    storage = StorageConfig(vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s")
    assert converter.unstructure(storage) == {
        "vendor": 1,
        "region": 0,
        "bucket": "b-bucket",
        "accessKey": "a",
        "secretKey": "s",
    }


def test_explicit_defaults_are_sent() -> None:
    """A field set to the service's default (0, False) is sent, unlike an unset one."""
    assert converter.unstructure(AcquireConfig(scene=0)) == {"scene": 0}
    assert converter.unstructure(RecordingConfig(stream_types=0)) == {"streamTypes": 0}
    assert converter.unstructure(StopConfig(async_stop=False)) == {"async_stop": False}
    assert converter.unstructure(RecordingFileConfig(av_file_type=[])) == {"avFileType": []}


def test_set_to_default_survives_round_trip() -> None:
    """Round trip keeps a zero that was set and an absence that was absent."""
    for wire in ({"scene": 0}, {}, {"resourceExpiredHour": 24}):
        assert converter.unstructure(converter.structure(wire, AcquireConfig)) == wire


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        (RecordingConfig(unsubscribe_audio_uids=["1"]), "unSubscribeAudioUids", ["1"]),
        (RecordingConfig(unsubscribe_video_uids=["2"]), "unSubscribeVideoUids", ["2"]),
        (RecordingConfig(subscribe_uid_group=3), "subscribeUidGroup", 3),
        (RecordingConfig(max_idle_time=300), "maxIdleTime", 300),
        (AudioUidList(unsubscribe_audio_uids=["1"]), "unSubscribeAudioUids", ["1"]),
        (VideoUidList(unsubscribe_video_uids=["2"]), "unSubscribeVideoUids", ["2"]),
        (
            WebRecorderServiceParam(
                url="u",
                audio_profile=0,
                video_width=1280,
                video_height=720,
                max_recording_hour=1,
                video_bitrate=2000,
            ),
            "videoBitrate",
            2000,
        ),
        (LayoutRegion(x_axis=0.25, y_axis=0.5, width=0.5, height=0.5), "x_axis", 0.25),
        (LayoutRegion(x_axis=0.25, y_axis=0.5, width=0.5, height=0.5), "y_axis", 0.5),
        (LayoutRegion(x_axis=0, y_axis=0, width=1, height=1, render_mode=1), "render_mode", 1),
        (UserBackground(uid="1", image_url="https://x/y.jpg"), "image_url", "https://x/y.jpg"),
        (StopConfig(async_stop=True), "async_stop", True),
        (AcquireConfig(resource_expired_hour=24), "resourceExpiredHour", 24),
        (
            StorageConfig(
                vendor=1,
                region=0,
                bucket="b-bucket",
                access_key="a",
                secret_key="s",
                file_name_prefix=["d"],
            ),
            "fileNamePrefix",
            ["d"],
        ),
        (RecordingFileConfig(av_file_type=["hls", "mp4"]), "avFileType", ["hls", "mp4"]),
    ],
)
def test_wire_key_spot_checks(model: object, key: str, value: object) -> None:
    """The keys other clients get wrong are spelt exactly as the service expects."""
    wire = converter.unstructure(model)
    assert wire[key] == value
    assert type(wire[key]) is type(value)


def test_enums_unstructure_to_plain_values() -> None:
    """Enum members go out as plain ints and strings, unknown values as they are."""
    wire = converter.unstructure(
        StartConfig(
            storage_config=StorageConfig(
                vendor=Vendor.MICROSOFT_AZURE,
                region=0,
                bucket="b-bucket",
                access_key="a",
                secret_key="s",
            ),
            recording_file_config=RecordingFileConfig(av_file_type=["hls", "webm"]),
            recording_config=RecordingConfig(stream_mode="standard", channel_type=9),
        )
    )
    assert type(wire["storageConfig"]["vendor"]) is int
    assert wire["recordingFileConfig"]["avFileType"] == ["hls", "webm"]
    assert all(type(item) is str for item in wire["recordingFileConfig"]["avFileType"])
    assert type(wire["recordingConfig"]["streamMode"]) is str
    assert wire["recordingConfig"]["channelType"] == 9
    assert json.loads(json.dumps(wire)) == wire


def test_integer_coordinates_stay_integers() -> None:
    """``"alpha": 1`` comes back as 1, not 1.0, so the JSON text is unchanged."""
    wire = {"x_axis": 0, "y_axis": 1, "width": 0.5, "height": 1, "alpha": 1}
    region = converter.structure(wire, LayoutRegion)
    assert json.dumps(converter.unstructure(region), sort_keys=True) == json.dumps(
        wire, sort_keys=True
    )


def test_lowercase_unsubscribe_keys_are_accepted() -> None:
    """Requests spelt ``unsubscribe...Uids`` (newest schema tables) structure too."""
    config = converter.structure(
        {"unsubscribeAudioUids": ["1"], "unsubscribeVideoUids": ["2"]}, RecordingConfig
    )
    assert config == RecordingConfig(unsubscribe_audio_uids=["1"], unsubscribe_video_uids=["2"])
    assert converter.structure({"unsubscribeAudioUids": ["3"]}, AudioUidList) == AudioUidList(
        unsubscribe_audio_uids=["3"]
    )
    assert converter.structure({"unsubscribeVideoUids": ["4"]}, VideoUidList) == VideoUidList(
        unsubscribe_video_uids=["4"]
    )
    both = converter.structure(
        {"unSubscribeAudioUids": ["canonical"], "unsubscribeAudioUids": ["other"]}, AudioUidList
    )
    assert both.unsubscribe_audio_uids == ("canonical",)
    assert converter.unstructure(config) == {
        "unSubscribeAudioUids": ["1"],
        "unSubscribeVideoUids": ["2"],
    }


def test_file_name_prefers_camel_case_key() -> None:
    """When both ``fileName`` and ``filename`` are present, ``fileName`` wins."""
    info = converter.structure({"fileName": "a.m3u8", "filename": "b.m3u8"}, FileInfo)
    assert info.file_name == "a.m3u8"


def test_unknown_keys_and_nulls_are_ignored() -> None:
    """Extra keys (old ``code`` fields, future additions) and JSON nulls do not break parsing."""
    body = {
        "code": 0,
        "sid": None,
        "future": {"nested": [1, 2]},
        "serverResponse": {"status": 5, "newField": True, "fileList": None},
    }
    response = converter.structure(body, QueryResponse)
    assert response == QueryResponse(server_response=ServerResponse(status=5))


def test_start_response_mode_is_not_on_the_wire() -> None:
    """``StartResponse.mode`` is never emitted and never read from a body."""
    response = StartResponse(resource_id="r", sid=SID, mode=Mode.MIX)
    assert converter.unstructure(response) == {"resourceId": "r", "sid": SID}
    parsed = converter.structure({"sid": SID, "mode": "mix"}, StartResponse)
    assert parsed.mode is None


def test_recording_handle_serializes_with_five_keys() -> None:
    """A handle becomes ``{resourceId, sid, mode, cname, uid}`` and comes back equal."""
    handle = RecordingHandle(resource_id="rid", sid=SID, mode=Mode.WEB, cname="room", uid="7")
    wire = converter.unstructure(handle)
    assert wire == {"resourceId": "rid", "sid": SID, "mode": "web", "cname": "room", "uid": "7"}
    assert type(wire["mode"]) is str
    restored = converter.structure(json.loads(json.dumps(wire)), RecordingHandle)
    assert restored == handle
    assert restored.mode is Mode.WEB


def test_unstructured_dicts_are_copies() -> None:
    """Mutating unstructured output does not change the frozen model it came from."""
    server = ServerResponse(sub_service_status={"recordingService": "serviceReady"})
    wire = converter.unstructure(server)
    wire["subServiceStatus"]["recordingService"] = "changed"
    assert server.sub_service_status == {"recordingService": "serviceReady"}


@pytest.mark.parametrize(
    ("body", "model"),
    [
        ({"serverResponse": {"fileList": 3}}, QueryResponse),
        ({"serverResponse": {"fileList": [3]}}, QueryResponse),
        ({"serverResponse": {"fileList": {"fileName": "a"}}}, QueryResponse),
        ({"serverResponse": {"status": "abc"}}, QueryResponse),
        ({"serverResponse": {"status": [5]}}, QueryResponse),
        ({"serverResponse": []}, QueryResponse),
        ({"serverResponse": "running"}, StopResponse),
        ({"serverResponse": {"extensionServiceState": {"serviceName": "x"}}}, StopResponse),
        ({"serverResponse": {"extensionServiceState": ["x"]}}, StopResponse),
        (
            {
                "serverResponse": {
                    "extensionServiceState": [{"serviceName": "upload_service", "payload": []}]
                }
            },
            StopResponse,
        ),
        ({"serverResponse": {"sliceStartTime": "soon"}}, QueryResponse),
        ({"serverResponse": {"sliceStartTime": 1.5}}, QueryResponse),
        ({"serverResponse": {"fileList": [{"isPlayable": "yes"}]}}, QueryResponse),
        ({"serverResponse": {"subServiceStatus": ["x"]}}, QueryResponse),
        ({"sid": {"value": "x"}}, StartResponse),
        ([], AcquireResponse),
        ("resourceId", AcquireResponse),
        ({"x_axis": "left", "y_axis": 0, "width": 1, "height": 1}, LayoutRegion),
        ({"vendor": 1, "region": 0, "bucket": "b-bucket", "accessKey": "a"}, StorageConfig),
        ({"excludeResourceIds": "rid"}, AcquireConfig),
    ],
)
def test_wrong_shapes_raise(body: Any, model: type[Any]) -> None:
    """A body of the wrong shape raises one of STRUCTURE_ERRORS instead of parsing silently."""
    with pytest.raises(STRUCTURE_ERRORS):
        converter.structure(body, model)


def test_numeric_uid_in_file_list_becomes_string() -> None:
    """A numeric ``uid`` in a file object is read as its decimal string."""
    info = converter.structure({"fileName": "a", "uid": 123}, FileInfo)
    assert info.uid == "123"


def test_converter_is_a_single_prebuilt_cattrs_converter() -> None:
    """The module exposes one ``cattrs.Converter`` whose hooks exist from import on."""
    assert isinstance(converter, cattrs.Converter)
    from agora_recording import _converter

    assert _converter.converter is converter


# -- properties ---------------------------------------------------------------------------------


def _model_classes() -> list[type[Any]]:
    return [
        obj
        for name in models.__all__
        if isinstance(obj := getattr(models, name), type) and attrs.has(obj)
    ]


def test_strategies_cover_every_model() -> None:
    """tests/strategies.py has a strategy for every model class."""
    assert set(MODELS) == set(_model_classes())


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_every_model(cls: type[Any], data: st.DataObject) -> None:
    """structure(unstructure(x)) == x, also through JSON text, for generated instances."""
    instance = data.draw(MODELS[cls])
    wire = converter.unstructure(instance)
    assert converter.structure(wire, cls) == instance
    text = json.dumps(wire, allow_nan=False)
    assert converter.structure(json.loads(text), cls) == instance
    assert converter.unstructure(converter.structure(wire, cls)) == wire


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(server=MODELS[ServerResponse])
def test_files_view_is_consistent_after_round_trip(server: ServerResponse) -> None:
    """The normalized files and upload status do not change across a round trip."""
    again = converter.structure(converter.unstructure(server), ServerResponse)
    assert again.files == server.files
    assert StopResponse(server_response=again).uploading_status == (
        StopResponse(server_response=server).uploading_status
    )
    assert all(isinstance(recorded, RecordedFile) for recorded in server.files)


_WIRE_KEYS = sorted(
    {
        field.metadata[WIRE]
        for cls in _model_classes()
        for field in attrs.fields(cls)
        if field.metadata[WIRE] is not None
    }
    | {"filename", "playload", "unsubscribeAudioUids", "unsubscribeVideoUids"}
)
_awkward_json: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats()
    | st.text(max_size=5)
    | st.sampled_from(["5", "abc", "unknow", "web_recorder_service", "upload_service"])
    | st.sampled_from(["rtmp_publish_service", "json", "string", "hls"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(_WIRE_KEYS), children, max_size=6)
    ),
    max_leaves=15,
)


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_awkward_json)
def test_arbitrary_json_parses_or_raises_a_structure_error(cls: type[Any], body: Any) -> None:
    """Any JSON value either parses into the model or raises one of STRUCTURE_ERRORS."""
    try:
        result = converter.structure(body, cls)
    except STRUCTURE_ERRORS:
        return
    assert isinstance(result, cls)
