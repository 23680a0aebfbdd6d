"""The sans-I/O protocol: exact requests for every endpoint and mode, and error classification.

The request configurations and their expected wire bodies at the top are shared with
``test_client.py`` and ``test_secrets.py``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from agora_recording._protocol import (
    Endpoint,
    RequestSpec,
    build_request,
    is_retryable,
    parse_mode,
    parse_response,
    parse_retry_after,
)
from agora_recording.enums import Mode, Vendor
from agora_recording.errors import (
    AgoraError,
    AlreadyStartedError,
    APIError,
    AuthenticationError,
    BadRequestError,
    NoRecordedDataError,
    NotFoundError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from agora_recording.models import (
    AcquireConfig,
    AcquireResponse,
    AudioUidList,
    ExtensionService,
    ExtensionServiceConfig,
    LayoutRegion,
    QueryResponse,
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    RtmpOutput,
    RtmpPublishConfig,
    StartConfig,
    StartResponse,
    StopConfig,
    StopResponse,
    StorageConfig,
    StreamSubscribe,
    TranscodingConfig,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
    VideoUidList,
    WebRecorderServiceParam,
    WebRecordingConfig,
)

APP_ID = "0123456789abcdef0123456789abcdef"
CNAME = "httpClient463224"
UID = "527841"
RESOURCE_ID = "JyvK8nXHuV1BE64GDkAaBGEscvtHW7v8"
SID = "38f8e3cfdc474cd56fc1ceba380d7e1a"
PREFIX = f"/v1/apps/{APP_ID}/cloud_recording"

STORAGE = StorageConfig(
    vendor=Vendor.AMAZON_S3,
    region=0,
    bucket="recordings",
    access_key="AKIAEXAMPLEACCESS",
    secret_key="example-secret-key",
    file_name_prefix=["directory1", "directory2"],
)
STORAGE_WIRE: dict[str, Any] = {
    "vendor": 1,
    "region": 0,
    "bucket": "recordings",
    "accessKey": "AKIAEXAMPLEACCESS",
    "secretKey": "example-secret-key",
    "fileNamePrefix": ["directory1", "directory2"],
}

START_CONFIGS: dict[Mode, StartConfig] = {
    Mode.INDIVIDUAL: StartConfig(
        token="007eJxTYExample",
        storage_config=STORAGE,
        recording_config=RecordingConfig(
            channel_type=0,
            stream_types=2,
            stream_mode="standard",
            max_idle_time=300,
            subscribe_audio_uids=["123", "456"],
            subscribe_video_uids=["123", "456"],
            subscribe_uid_group=0,
        ),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
    ),
    Mode.MIX: StartConfig(
        token="007eJxTYExample",
        storage_config=STORAGE,
        recording_config=RecordingConfig(
            channel_type=0,
            stream_types=2,
            audio_profile=1,
            video_stream_type=0,
            max_idle_time=120,
            transcoding_config=TranscodingConfig(
                width=640, height=360, fps=15, bitrate=500, mixed_video_layout=1
            ),
        ),
        recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
    ),
    Mode.WEB: StartConfig(
        storage_config=STORAGE,
        extension_service_config=ExtensionServiceConfig(
            error_handle_policy="error_abort",
            extension_services=[
                ExtensionService(
                    service_name="web_recorder_service",
                    error_handle_policy="error_abort",
                    service_param=WebRecorderServiceParam(
                        url="https://example.com/page",
                        audio_profile=0,
                        video_width=1280,
                        video_height=720,
                        max_recording_hour=72,
                    ),
                )
            ],
        ),
        recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
    ),
}
START_WIRE: dict[Mode, dict[str, Any]] = {
    Mode.INDIVIDUAL: {
        "token": "007eJxTYExample",
        "storageConfig": STORAGE_WIRE,
        "recordingConfig": {
            "channelType": 0,
            "streamTypes": 2,
            "streamMode": "standard",
            "maxIdleTime": 300,
            "subscribeAudioUids": ["123", "456"],
            "subscribeVideoUids": ["123", "456"],
            "subscribeUidGroup": 0,
        },
        "recordingFileConfig": {"avFileType": ["hls"]},
    },
    Mode.MIX: {
        "token": "007eJxTYExample",
        "storageConfig": STORAGE_WIRE,
        "recordingConfig": {
            "channelType": 0,
            "streamTypes": 2,
            "audioProfile": 1,
            "videoStreamType": 0,
            "maxIdleTime": 120,
            "transcodingConfig": {
                "width": 640,
                "height": 360,
                "fps": 15,
                "bitrate": 500,
                "mixedVideoLayout": 1,
            },
        },
        "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
    },
    Mode.WEB: {
        "storageConfig": STORAGE_WIRE,
        "extensionServiceConfig": {
            "errorHandlePolicy": "error_abort",
            "extensionServices": [
                {
                    "serviceName": "web_recorder_service",
                    "errorHandlePolicy": "error_abort",
                    "serviceParam": {
                        "url": "https://example.com/page",
                        "audioProfile": 0,
                        "videoWidth": 1280,
                        "videoHeight": 720,
                        "maxRecordingHour": 72,
                    },
                }
            ],
        },
        "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
    },
}

SUBSCRIBE_UPDATE = UpdateConfig(
    stream_subscribe=StreamSubscribe(
        audio_uid_list=AudioUidList(subscribe_audio_uids=["#allstream#"]),
        video_uid_list=VideoUidList(unsubscribe_video_uids=["444", "555", "666"]),
    )
)
UPDATE_CONFIGS: dict[Mode, UpdateConfig] = {
    Mode.INDIVIDUAL: SUBSCRIBE_UPDATE,
    Mode.MIX: SUBSCRIBE_UPDATE,
    Mode.WEB: UpdateConfig(
        web_recording_config=WebRecordingConfig(onhold=True),
        rtmp_publish_config=RtmpPublishConfig(outputs=[RtmpOutput(rtmp_url="rtmp://cdn/live")]),
    ),
}
# The update example of the API reference (capital-S ``unSubscribe``).
SUBSCRIBE_UPDATE_WIRE: dict[str, Any] = {
    "streamSubscribe": {
        "audioUidList": {"subscribeAudioUids": ["#allstream#"]},
        "videoUidList": {"unSubscribeVideoUids": ["444", "555", "666"]},
    }
}
UPDATE_WIRE: dict[Mode, dict[str, Any]] = {
    Mode.INDIVIDUAL: SUBSCRIBE_UPDATE_WIRE,
    Mode.MIX: SUBSCRIBE_UPDATE_WIRE,
    Mode.WEB: {
        "webRecordingConfig": {"onhold": True},
        "rtmpPublishConfig": {"outputs": [{"rtmpUrl": "rtmp://cdn/live"}]},
    },
}

# The updateLayout example of the API reference.
LAYOUT = UpdateLayoutConfig(
    mixed_video_layout=3,
    background_color="#FF0000",
    layout_config=[
        LayoutRegion(
            uid="1", x_axis=0.1, y_axis=0.1, width=0.1, height=0.1, alpha=1, render_mode=1
        ),
        LayoutRegion(
            uid="2", x_axis=0.2, y_axis=0.2, width=0.1, height=0.1, alpha=1, render_mode=1
        ),
    ],
)
LAYOUT_WIRE: dict[str, Any] = {
    "mixedVideoLayout": 3,
    "backgroundColor": "#FF0000",
    "layoutConfig": [
        {"uid": "1", "x_axis": 0.1, "y_axis": 0.1, "width": 0.1, "height": 0.1, "alpha": 1,
         "render_mode": 1},
        {"uid": "2", "x_axis": 0.2, "y_axis": 0.2, "width": 0.1, "height": 0.1, "alpha": 1,
         "render_mode": 1},
    ],
}  # fmt: skip

MODES = [Mode.INDIVIDUAL, Mode.MIX, Mode.WEB]


def handle_for(mode: Mode) -> RecordingHandle:
    """A handle of a recording in ``mode`` with the reference's identifiers."""
    return RecordingHandle(resource_id=RESOURCE_ID, sid=SID, mode=mode, cname=CNAME, uid=UID)


def envelope(client_request: dict[str, Any]) -> dict[str, Any]:
    """The POST body envelope around ``client_request``."""
    return {"cname": CNAME, "uid": UID, "clientRequest": client_request}


def decoded(spec: RequestSpec) -> Any:
    """The JSON body of ``spec``, checking it is compact UTF-8 JSON."""
    assert spec.body is not None
    text = spec.body.decode("utf-8")
    assert ": " not in text
    assert ", " not in text
    return json.loads(text)


# --------------------------------------------------------------------------------------------
# The endpoint table


def test_endpoint_table() -> None:
    """The table holds the six documented endpoints with their methods, paths and models."""
    rows = [(e.name, e.method, e.path_template, e.response_type) for e in Endpoint.ALL]
    session = "/v1/apps/{appid}/cloud_recording/resourceid/{resourceid}/sid/{sid}/mode/{mode}"
    assert rows == [
        ("acquire", "POST", "/v1/apps/{appid}/cloud_recording/acquire", AcquireResponse),
        (
            "start",
            "POST",
            "/v1/apps/{appid}/cloud_recording/resourceid/{resourceid}/mode/{mode}/start",
            StartResponse,
        ),
        ("query", "GET", session + "/query", QueryResponse),
        ("update", "POST", session + "/update", UpdateResponse),
        ("updateLayout", "POST", session + "/updateLayout", UpdateResponse),
        ("stop", "POST", session + "/stop", StopResponse),
    ]
    assert [e.has_body for e in Endpoint.ALL] == [True, True, False, True, True, True]


# --------------------------------------------------------------------------------------------
# Building requests


def test_acquire_without_config_sends_an_empty_client_request() -> None:
    """Acquire always sends a clientRequest object, ``{}`` when nothing is configured."""
    spec = build_request(Endpoint.ACQUIRE, APP_ID, cname=CNAME, uid=UID)
    assert (spec.method, spec.path) == ("POST", f"{PREFIX}/acquire")
    assert spec.body == b'{"cname":"httpClient463224","uid":"527841","clientRequest":{}}'


def test_acquire_with_config_matches_the_reference_example() -> None:
    """The acquire example of the reference, with an int uid turned into a string."""
    config = AcquireConfig(scene=0, resource_expired_hour=24)
    spec = build_request(Endpoint.ACQUIRE, APP_ID, cname=CNAME, uid=527841, config=config)
    assert decoded(spec) == envelope({"scene": 0, "resourceExpiredHour": 24})


def test_acquire_with_start_parameter_nests_the_start_body() -> None:
    """``startParameter`` carries the exact start clientRequest."""
    config = AcquireConfig(start_parameter=START_CONFIGS[Mode.MIX], region="NA")
    spec = build_request(Endpoint.ACQUIRE, APP_ID, cname=CNAME, uid=UID, config=config)
    assert decoded(spec) == envelope({"startParameter": START_WIRE[Mode.MIX], "region": "NA"})


@pytest.mark.parametrize("mode", MODES)
def test_start_in_each_mode(mode: Mode) -> None:
    """Start posts the mode's clientRequest to the resource's start path."""
    spec = build_request(
        Endpoint.START,
        APP_ID,
        resource_id=RESOURCE_ID,
        mode=mode.value,
        cname=CNAME,
        uid=UID,
        config=START_CONFIGS[mode],
    )
    assert spec.method == "POST"
    assert spec.path == f"{PREFIX}/resourceid/{RESOURCE_ID}/mode/{mode.value}/start"
    assert decoded(spec) == envelope(START_WIRE[mode])


@pytest.mark.parametrize("mode", MODES)
def test_query_in_each_mode(mode: Mode) -> None:
    """Query is a GET on the session path with no body."""
    spec = build_request(Endpoint.QUERY, APP_ID, handle=handle_for(mode))
    assert spec.method == "GET"
    assert spec.path == f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/{mode.value}/query"
    assert spec.body is None


@pytest.mark.parametrize("mode", MODES)
def test_update_in_each_mode(mode: Mode) -> None:
    """Update posts subscriptions (individual/mix) or web settings (web)."""
    spec = build_request(
        Endpoint.UPDATE, APP_ID, handle=handle_for(mode), config=UPDATE_CONFIGS[mode]
    )
    assert spec.method == "POST"
    assert spec.path == f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/{mode.value}/update"
    assert decoded(spec) == envelope(UPDATE_WIRE[mode])


def test_update_can_refresh_storage_credentials() -> None:
    """Update may carry a storageConfig to push a fresh STS token."""
    storage = StorageConfig(
        vendor=1, region=0, bucket="b", access_key="ak", secret_key="sk", sts_token="sts"
    )
    config = UpdateConfig(storage_config=storage)
    spec = build_request(Endpoint.UPDATE, APP_ID, handle=handle_for(Mode.MIX), config=config)
    wire = {"vendor": 1, "region": 0, "bucket": "b", "accessKey": "ak", "secretKey": "sk"}
    assert decoded(spec) == envelope({"storageConfig": {**wire, "stsToken": "sts"}})


def test_update_layout_in_mix_matches_the_reference_example() -> None:
    """updateLayout posts the whole layout to the mix session path."""
    spec = build_request(Endpoint.UPDATE_LAYOUT, APP_ID, handle=handle_for(Mode.MIX), config=LAYOUT)
    assert spec.method == "POST"
    assert spec.path == f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/mix/updateLayout"
    assert decoded(spec) == envelope(LAYOUT_WIRE)


@pytest.mark.parametrize("mode", [Mode.INDIVIDUAL, Mode.WEB])
def test_update_layout_outside_mix_is_refused(mode: Mode) -> None:
    """updateLayout exists only in mix mode; other modes fail before any request."""
    with pytest.raises(ValidationError, match="mode: updateLayout is only available in mix"):
        build_request(Endpoint.UPDATE_LAYOUT, APP_ID, handle=handle_for(mode), config=LAYOUT)


@pytest.mark.parametrize("mode", MODES)
def test_stop_in_each_mode_sends_async_stop_explicitly(mode: Mode) -> None:
    """Stop always says ``async_stop``: false by default."""
    spec = build_request(Endpoint.STOP, APP_ID, handle=handle_for(mode))
    assert spec.method == "POST"
    assert spec.path == f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/{mode.value}/stop"
    assert decoded(spec) == envelope({"async_stop": False})


def test_stop_async() -> None:
    """``async_stop=True`` and a StopConfig both reach the wire."""
    handle = handle_for(Mode.MIX)
    by_flag = build_request(Endpoint.STOP, APP_ID, handle=handle, async_stop=True)
    by_config = build_request(
        Endpoint.STOP, APP_ID, handle=handle, config=StopConfig(async_stop=True)
    )
    assert decoded(by_flag) == decoded(by_config) == envelope({"async_stop": True})


def test_explicit_identifiers_equal_a_handle() -> None:
    """Passing the identifiers one by one builds the same request as passing a handle."""
    by_handle = build_request(Endpoint.STOP, APP_ID, handle=handle_for(Mode.WEB))
    by_fields = build_request(
        Endpoint.STOP,
        APP_ID,
        resource_id=RESOURCE_ID,
        sid=SID,
        mode="web",
        cname=CNAME,
        uid=int(UID),
    )
    assert by_handle == by_fields


def test_handle_and_fields_together_are_a_type_error() -> None:
    """A handle plus separate identifiers is ambiguous and refused."""
    with pytest.raises(TypeError, match="either handle"):
        build_request(Endpoint.QUERY, APP_ID, handle=handle_for(Mode.MIX), sid="other")


def test_path_parameters_are_percent_encoded() -> None:
    """An identifier with a slash cannot change the route."""
    spec = build_request(Endpoint.QUERY, APP_ID, resource_id="a/b+c", sid="s", mode="mix")
    assert spec.path == f"{PREFIX}/resourceid/a%2Fb%2Bc/sid/s/mode/mix/query"


def test_request_spec_repr_hides_the_body() -> None:
    """A start body holds storage keys, so RequestSpec's repr leaves it out."""
    spec = build_request(
        Endpoint.START,
        APP_ID,
        resource_id=RESOURCE_ID,
        mode=Mode.MIX,
        cname=CNAME,
        uid=UID,
        config=START_CONFIGS[Mode.MIX],
    )
    assert "example-secret-key" not in repr(spec)
    assert "007eJxTYExample" not in repr(spec)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"uid": "0"}, "uid"),
        ({"uid": "abc"}, "uid"),
        ({"uid": 2**32}, "uid"),
        ({"uid": True}, "uid"),
        ({"cname": ""}, "cname"),
        ({"cname": 42}, "cname"),
        ({"mode": "composite"}, "mode"),
        ({"resource_id": ""}, "resourceId"),
    ],
)
def test_bad_envelope_values_are_refused(kwargs: dict[str, Any], field: str) -> None:
    """Bad uid, cname, mode or resource ID raise a ValidationError naming the field."""
    args: dict[str, Any] = {
        "resource_id": RESOURCE_ID,
        "mode": "mix",
        "cname": CNAME,
        "uid": UID,
        "config": START_CONFIGS[Mode.MIX],
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        build_request(Endpoint.START, APP_ID, **args)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_bad_client_request_is_refused_with_its_wire_path() -> None:
    """A documented range violation inside clientRequest names the wire path."""
    config = AcquireConfig(resource_expired_hour=0)
    with pytest.raises(ValidationError) as info:
        build_request(Endpoint.ACQUIRE, APP_ID, cname=CNAME, uid=UID, config=config)
    assert info.value.field == "clientRequest.resourceExpiredHour"


def test_non_finite_numbers_are_refused() -> None:
    """NaN is not JSON; it never reaches the wire."""
    config = UpdateLayoutConfig(
        layout_config=[LayoutRegion(x_axis=float("nan"), y_axis=0, width=1, height=1)]
    )
    with pytest.raises(ValidationError):
        build_request(Endpoint.UPDATE_LAYOUT, APP_ID, handle=handle_for(Mode.MIX), config=config)


def test_wrong_config_type_is_a_type_error() -> None:
    """Each endpoint takes its own config model."""
    with pytest.raises(TypeError, match="config must be a StartConfig"):
        build_request(
            Endpoint.START,
            APP_ID,
            resource_id=RESOURCE_ID,
            mode="mix",
            cname=CNAME,
            uid=UID,
            config=LAYOUT,
        )


def test_app_id_is_required() -> None:
    """An empty App ID is refused before a path is built."""
    with pytest.raises(ValidationError, match="appid"):
        build_request(Endpoint.ACQUIRE, "", cname=CNAME, uid=UID)


def test_parse_mode() -> None:
    """Modes parse from members and wire strings only."""
    assert parse_mode("web") is Mode.WEB
    assert parse_mode(Mode.MIX) is Mode.MIX
    with pytest.raises(ValidationError):
        parse_mode("Web")


# --------------------------------------------------------------------------------------------
# Decoding success responses


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_parse_acquire() -> None:
    """The acquire example decodes to an AcquireResponse."""
    body = {"cname": CNAME, "uid": UID, "resourceId": RESOURCE_ID}
    result = parse_response(Endpoint.ACQUIRE, 200, {}, _json(body))
    assert result == AcquireResponse(cname=CNAME, uid=UID, resource_id=RESOURCE_ID)


def test_parse_start() -> None:
    """The start example decodes with its sid."""
    body = {"cname": CNAME, "uid": UID, "resourceId": RESOURCE_ID, "sid": SID}
    result = parse_response(Endpoint.START, 200, {}, _json(body))
    assert result.sid == SID
    assert result.resource_id == RESOURCE_ID


def test_parse_query_individual_example() -> None:
    """The individual query example gives a status and the normalized file list."""
    body = {
        "resourceId": RESOURCE_ID,
        "sid": SID,
        "serverResponse": {
            "fileListMode": "json",
            "fileList": [
                {
                    "fileName": "xxx.m3u8",
                    "trackType": "audio_and_video",
                    "uid": "123",
                    "mixedAllUser": False,
                    "isPlayable": True,
                    "sliceStartTime": 1562724971626,
                }
            ],
            "status": 5,
            "sliceStartTime": 1562724971626,
        },
    }
    result = parse_response(Endpoint.QUERY, 200, {}, _json(body))
    assert result.status == 5
    assert [f.file_name for f in result.files] == ["xxx.m3u8"]


def test_parse_stop_web_example() -> None:
    """The web stop example exposes its uploading status."""
    body = {
        "resourceId": RESOURCE_ID,
        "sid": SID,
        "serverResponse": {
            "extensionServiceState": [
                {"payload": {"uploadingStatus": "uploaded"}, "serviceName": "upload_service"}
            ]
        },
        "cname": CNAME,
        "uid": UID,
    }
    result = parse_response(Endpoint.STOP, 200, {}, _json(body))
    assert result.uploading_status == "uploaded"


def test_parse_update_ignores_unknown_keys() -> None:
    """New keys from the service do not break parsing."""
    body = {"resourceId": RESOURCE_ID, "sid": SID, "brandNew": {"x": 1}}
    result = parse_response(Endpoint.UPDATE_LAYOUT, 200, {}, _json(body))
    assert result == UpdateResponse(resource_id=RESOURCE_ID, sid=SID)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"<html>502 Bad Gateway</html>", "not a JSON object"),
        (b"", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b"\xff\xfe", "not a JSON object"),
        (b'{"serverResponse": "oops"}', "does not match QueryResponse"),
        (b'{"serverResponse": {"status": "running"}}', "does not match QueryResponse"),
    ],
)
def test_unexpected_success_bodies(content: bytes, what: str) -> None:
    """A 2xx body that is not the documented JSON raises UnexpectedResponseError."""
    headers = {"X-Request-ID": "req-1"}
    with pytest.raises(UnexpectedResponseError, match=what) as info:
        parse_response(Endpoint.QUERY, 200, headers, content)
    error = info.value
    assert (error.status_code, error.request_id, error.body) == (200, "req-1", content)
    assert error.endpoint == "query"
    if content:
        assert content.decode("utf-8", "replace") not in str(error)


def test_start_without_sid_is_not_a_success() -> None:
    """A 200 start without a sid cannot be addressed, so it is an error."""
    body = _json({"resourceId": RESOURCE_ID, "sid": ""})
    with pytest.raises(UnexpectedResponseError, match="no sid"):
        parse_response(Endpoint.START, 200, {}, body)


def test_acquire_without_resource_id_is_not_a_success() -> None:
    """A 200 acquire without a resource ID is useless, so it is an error."""
    with pytest.raises(UnexpectedResponseError, match="no resourceId"):
        parse_response(Endpoint.ACQUIRE, 200, {}, b"{}")


def test_start_201_without_code_or_sid_is_an_api_error() -> None:
    """Any 201 on start that carries no sid is an error, never a success."""
    with pytest.raises(APIError) as info:
        parse_response(Endpoint.START, 201, {}, _json({"resourceId": RESOURCE_ID}))
    assert type(info.value) is APIError
    assert info.value.status_code == 201


def test_other_2xx_without_a_code_is_a_success() -> None:
    """A 2xx other than 206 with a plain body and no error code decodes normally."""
    body = _json({"resourceId": RESOURCE_ID, "sid": SID})
    assert parse_response(Endpoint.UPDATE, 202, {}, body).sid == SID


# --------------------------------------------------------------------------------------------
# Decoding errors: every row of the endpoint error table (cloud-recording-api.md §5.3)

ROWS: list[tuple[Endpoint[Any], int, dict[str, Any], type[APIError]]] = [
    (Endpoint.ACQUIRE, 400, {"message": "appid is invalid"}, BadRequestError),
    (Endpoint.QUERY, 401, {"message": "Unauthorized"}, AuthenticationError),
    (Endpoint.START, 401, {"message": "Invalid authentication credentials"}, AuthenticationError),
    (Endpoint.STOP, 404, {"message": "no Route matched with those values"}, NotFoundError),
    (Endpoint.UPDATE, 429, {"message": "API rate limit exceeded"}, RateLimitError),
    (Endpoint.ACQUIRE, 400, {"code": 2, "reason": "Acquire: invalid resourceExpiredHour value!"},
     BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 400, "reason": "invalid_appid"}, BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 401, "reason": "invalid_channel_name"}, BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 405, "reason": "no_active_status"}, BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 406, "reason": "vendor_over_load"}, BadRequestError),
    (Endpoint.ACQUIRE, 500, {"code": 500, "reason": "internal_error"}, ServerError),
    (Endpoint.ACQUIRE, 500, {"code": 501, "reason": "no_worker_manager_available"}, ServerError),
    (Endpoint.ACQUIRE, 500, {"code": 504, "reason": "allocate_timeout"}, ServerError),
    (Endpoint.START, 201, {"code": 7, "reason": "already started"}, AlreadyStartedError),
    (Endpoint.START, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.START, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.START, 400, {"code": 53, "reason": "task conflict"}, BadRequestError),
    (Endpoint.START, 500, {"code": 502, "reason": "Failed to allocate worker"}, ServerError),
    (Endpoint.START, 500, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.START, 500, {"resourceId": "r", "sid": "", "code": 15}, ServerError),
    (Endpoint.QUERY, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.UPDATE, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.UPDATE_LAYOUT, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.QUERY, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.UPDATE, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.UPDATE_LAYOUT, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.QUERY, 404, {"code": 404, "reason": "failed to find worker"}, NotFoundError),
    (Endpoint.UPDATE, 404, {"code": 404, "reason": "failed to find worker"}, NotFoundError),
    (Endpoint.UPDATE_LAYOUT, 404, {"code": 404, "reason": "failed to find worker"},
     NotFoundError),
    (Endpoint.QUERY, 504, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.UPDATE, 504, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.UPDATE_LAYOUT, 504, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.STOP, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.STOP, 206, {"code": 435, "reason": "no recorded data"}, NoRecordedDataError),
    (Endpoint.STOP, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.STOP, 400, {"code": 49, "reason": "invalid operation"}, BadRequestError),
    (Endpoint.STOP, 404, {"cname": "24080002", "code": 404, "reason": "failed to find worker",
                          "uid": "1"}, NotFoundError),
    (Endpoint.STOP, 504, {"code": 62, "reason": "request timeout"}, ServerError),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "status", "body", "cls"), ROWS)
def test_documented_errors(
    endpoint: Endpoint[Any], status: int, body: dict[str, Any], cls: type[APIError]
) -> None:
    """Each documented error row raises its class with every detail the service gave."""
    content = _json(body)
    headers = {"x-request-id": "abc-123", "Content-Type": "application/json"}
    with pytest.raises(APIError) as info:
        parse_response(endpoint, status, headers, content)
    error = info.value
    assert type(error) is cls
    assert error.endpoint == endpoint.name
    assert error.status_code == status
    assert error.code == body.get("code")
    assert error.reason == body.get("reason")
    assert error.message == body.get("message")
    assert error.request_id == "abc-123"
    assert error.body == content
    assert dict(error.payload) == body
    assert f"HTTP {status}" in str(error)
    assert is_retryable(error) is (cls in (RateLimitError, ServerError, RequestNotCompletedError))


def test_worker_not_found_is_told_apart_from_a_bad_route() -> None:
    """Both 404 kinds are NotFoundError; only the worker one says the task is gone."""
    gone = _json({"code": 404, "reason": "failed to find worker"})
    route = _json({"message": "no Route matched with those values"})
    with pytest.raises(NotFoundError) as worker:
        parse_response(Endpoint.QUERY, 404, {}, gone)
    with pytest.raises(NotFoundError) as bad_route:
        parse_response(Endpoint.QUERY, 404, {}, route)
    assert worker.value.worker_not_found
    assert not bad_route.value.worker_not_found


@pytest.mark.parametrize(
    ("status", "cls"),
    [(403, APIError), (405, APIError), (302, APIError), (409, APIError), (503, ServerError)],
)
def test_non_json_error_bodies_still_give_the_status(status: int, cls: type[APIError]) -> None:
    """An error with an HTML body is still classified by its status, with no code."""
    content = b"<html><body>upstream says no</body></html>"
    with pytest.raises(APIError) as info:
        parse_response(Endpoint.QUERY, status, {}, content)
    assert type(info.value) is cls
    assert (info.value.status_code, info.value.code, info.value.body) == (status, None, content)
    assert "upstream says no" not in str(info.value)


def test_other_206_codes_are_plain_api_errors() -> None:
    """A 206 with an undocumented code is an APIError, not a success."""
    with pytest.raises(APIError) as info:
        parse_response(Endpoint.STOP, 206, {}, _json({"code": 99}))
    assert type(info.value) is APIError
    assert info.value.code == 99


def test_code_is_parsed_tolerantly() -> None:
    """A numeric string code is read as a number; junk codes become None."""
    with pytest.raises(AlreadyStartedError):
        parse_response(Endpoint.START, 201, {}, _json({"code": "7"}))
    with pytest.raises(BadRequestError) as info:
        parse_response(Endpoint.START, 400, {}, _json({"code": "seven", "reason": 5}))
    assert info.value.code is None
    assert info.value.reason is None


# --------------------------------------------------------------------------------------------
# Retry-After and retryability


def test_rate_limit_carries_retry_after_seconds() -> None:
    """A 429's Retry-After in seconds lands on the error."""
    headers = {"Retry-After": "3"}
    with pytest.raises(RateLimitError) as info:
        parse_response(Endpoint.ACQUIRE, 429, headers, b'{"message":"API rate limit exceeded"}')
    assert info.value.retry_after == 3.0


def test_retry_after_is_only_read_on_rate_limits() -> None:
    """Other errors leave retry_after unset even when the header is present."""
    with pytest.raises(ServerError) as info:
        parse_response(Endpoint.QUERY, 503, {"Retry-After": "3"}, b"{}")
    assert info.value.retry_after is None


def test_retry_after_http_date() -> None:
    """An HTTP-date Retry-After is the time left until that date."""
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(later, now=now) == 7.0
    earlier = format_datetime(now - timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), (" 12 ", 12.0), ("1.5", 1.5), ("-4", 0.0), ("", None), (None, None),
     ("soon", None), ("nan", None), ("inf", None)],
)  # fmt: skip
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    """Delta seconds parse, negatives clamp to zero, junk is ignored."""
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TransportError("boom"), True),
        (RateLimitError(endpoint="query", status_code=429), True),
        (ServerError(endpoint="query", status_code=503), True),
        (RequestNotCompletedError(endpoint="query", status_code=206, code=65), True),
        (NoRecordedDataError(endpoint="stop", status_code=206, code=435), False),
        (AlreadyStartedError(endpoint="start", status_code=201, code=7), False),
        (BadRequestError(endpoint="stop", status_code=400, code=49), False),
        (AuthenticationError(endpoint="query", status_code=401), False),
        (NotFoundError(endpoint="query", status_code=404, code=404), False),
        (APIError(endpoint="query", status_code=403), False),
        (UnexpectedResponseError("bad body"), False),
        (ValidationError("uid", "bad"), False),
        (AgoraError("other"), False),
        (ValueError("not ours"), False),
    ],
)
def test_is_retryable(error: BaseException, expected: bool) -> None:
    """Only transport errors, 429, 5xx and 206/65 are worth sending again."""
    assert is_retryable(error) is expected
