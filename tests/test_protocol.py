"""The sans-I/O protocol: exact requests for every endpoint and mode, and error classification.

The request configurations, their expected wire bodies and the error table live in
``tests/helpers.py``, shared with the client, retry and secret tests.
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
from agora_recording.enums import Mode
from agora_recording.errors import (
    AgoraError,
    AlreadyStartedError,
    APIError,
    ArgumentTypeError,
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
    LayoutRegion,
    QueryResponse,
    StartResponse,
    StopConfig,
    StopResponse,
    StorageConfig,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
)

from tests.helpers import (
    APP_ID,
    CNAME,
    ERROR_ROWS,
    LAYOUT,
    LAYOUT_WIRE,
    MODES,
    RESOURCE_ID,
    SID,
    START_CONFIGS,
    START_WIRE,
    UID,
    UPDATE_CONFIGS,
    UPDATE_WIRE,
    envelope,
    handle_for,
)

PREFIX = f"/v1/apps/{APP_ID}/cloud_recording"


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


def test_a_new_endpoint_is_one_table_entry() -> None:
    """An endpoint added to the table is built from its own entry: its path's IDs, its body."""
    seen: list[tuple[object, ...]] = []

    def body(mode: Mode | None, cname: object, uid: object, config: object, _: object) -> bytes:
        seen.append((mode, cname, uid, config))
        return b"{}"

    pause = Endpoint(
        "pause", "POST", "/v1/apps/{appid}/x/resourceid/{resourceid}/mode/{mode}", Any, body
    )
    spec = build_request(
        pause, "app", resource_id="rid", mode="mix", cname="c", uid=1, config="conf"
    )
    assert (spec.method, spec.path, spec.body) == (
        "POST",
        "/v1/apps/app/x/resourceid/rid/mode/mix",
        b"{}",
    )
    assert seen == [(Mode.MIX, "c", 1, "conf")]
    with pytest.raises(ValidationError) as caught:  # the IDs its path names are checked
        build_request(pause, "app", mode="mix", cname="c", uid=1)
    assert caught.value.field == "resourceId"


def test_a_post_endpoint_without_a_body_builder_is_refused() -> None:
    """A POST endpoint missing its body builder fails by name instead of sending no body."""
    bare = Endpoint("pause", "POST", "/v1/apps/{appid}/pause", Any)
    with pytest.raises(ArgumentTypeError, match="unknown endpoint"):
        build_request(bare, "app")


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
        vendor=1, region=0, bucket="b-bucket", access_key="ak", secret_key="sk", sts_token="sts"
    )
    config = UpdateConfig(storage_config=storage)
    spec = build_request(Endpoint.UPDATE, APP_ID, handle=handle_for(Mode.MIX), config=config)
    wire = {"vendor": 1, "region": 0, "bucket": "b-bucket", "accessKey": "ak", "secretKey": "sk"}
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


@pytest.mark.parametrize("field", ["resource_id", "sid"])
def test_an_id_that_cannot_be_encoded_is_refused_naming_it(field: str) -> None:
    """An ID holding a lone surrogate fails as a ValidationError naming it, not a UnicodeError."""
    bad = "bad\ud800"
    rid, sid = (bad, "sid") if field == "resource_id" else ("rid", bad)
    with pytest.raises(ValidationError, match="resourceId" if field == "resource_id" else "sid"):
        build_request(
            Endpoint.QUERY, "a" * 32, cname="room", uid="1", mode=Mode.MIX, resource_id=rid, sid=sid
        )


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
        (b"<html>502 Bad Gateway</html>", "not UTF-8 JSON"),
        (b"", "not UTF-8 JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b'{"serverResponse": "oops"}', "QueryResponse whose serverResponse is wrong"),
        (b'{"serverResponse": {"status": "running"}}', "serverResponse.status is wrong"),
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
    """A 200 acquire without a resource ID is useless, so it is an error naming the key."""
    with pytest.raises(UnexpectedResponseError, match="resourceId") as info:
        parse_response(Endpoint.ACQUIRE, 200, {}, b"{}")
    assert info.value.field == "resourceId"


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
# Decoding errors: every row of the endpoint error table (Agora's "Response status codes" page)


@pytest.mark.parametrize(("endpoint", "status", "body", "cls"), ERROR_ROWS)
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
