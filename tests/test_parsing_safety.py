"""Reading answers defensively: every malformed, deep, huge or mistyped body is an AgoraError.

Pure tests of `parse_response` on every endpoint, of `converter.structure` on every model, and a
few through the client to show nothing else escapes on the way out.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import attrs
import httpx
import pytest
from agora_recording import converter, models
from agora_recording._protocol import MAX_BODY_BYTES, MAX_DEPTH, Endpoint, parse_response
from agora_recording.enums import Mode, RecordingStatus
from agora_recording.errors import (
    AgoraError,
    BadRequestError,
    ServerError,
    UnconfirmedRecordingsError,
    UnexpectedResponseError,
    ValidationError,
)
from agora_recording.models import (
    WIRE,
    FileInfo,
    QueryResponse,
    StopResponse,
    StorageConfig,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import (
    CNAME,
    RESOURCE_ID,
    SID,
    START_CONFIGS,
    START_WIRE,
    STARTED,
    UID,
    Script,
    handle_for,
    mock_client,
)

HEADERS = {"X-Request-ID": "req-42"}
ENDPOINTS = list(Endpoint.ALL)
ENDPOINT_IDS = [endpoint.name for endpoint in ENDPOINTS]


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _unexpected(endpoint: Endpoint[Any], content: bytes, status: int = 200) -> Any:
    with pytest.raises(UnexpectedResponseError) as info:
        parse_response(endpoint, status, HEADERS, content)
    error = info.value
    assert isinstance(error, AgoraError)
    assert (error.endpoint, error.status_code, error.request_id) == (
        endpoint.name,
        status,
        "req-42",
    )
    assert "req-42" in str(error)
    return error


def _nested(levels: int, leaf: bytes = b"1") -> bytes:
    """``levels`` objects nested under the key ``a``, with ``leaf`` innermost."""
    return b'{"a":' * levels + leaf + b"}" * levels


def _query_with(server_response: dict[str, Any]) -> bytes:
    return _json({**STARTED, "serverResponse": server_response})


# --------------------------------------------------------------------------------------------
# Deep, huge and non-JSON bodies, on every endpoint


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        _nested(100_000),
        b"[" * 100_000,
        b'{"resourceId":"r","sid":"s","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["arrays", "objects", "unclosed", "inside-an-answer"],
)
def test_deeply_nested_success_body_is_unexpected_response(
    endpoint: Endpoint[Any], content: bytes
) -> None:
    """A 100,000-level body is refused as UnexpectedResponseError, never a RecursionError."""
    error = _unexpected(endpoint, content)
    assert f"deeper than {MAX_DEPTH}" in str(error)
    assert len(error.body) <= 64 * 1024


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_huge_success_body_is_unexpected_response(endpoint: Endpoint[Any]) -> None:
    """A body over the size limit is not parsed, whatever it holds, and the error keeps 64 KiB."""
    padding = "x" * (MAX_BODY_BYTES - 50)
    content = _json({**STARTED, "padding": padding})
    assert len(content) > MAX_BODY_BYTES
    error = _unexpected(endpoint, content)
    assert "8 MiB limit" in str(error)
    assert error.body == content[: 64 * 1024]
    assert len(error.excerpt) <= 203


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(
    "content",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b"",
        b'{"resourceId": "r", "sid": "s"',
        b'{"resourceId": "r", "sid": "s", "x": NaN}',
        b'{"resourceId": "r", "sid": "s", "x": -Infinity}',
        b'{"resourceId": "r", "sid": "\xff"}',
    ],
    ids=["html", "empty", "truncated", "nan", "infinity", "not-utf8"],
)
def test_non_json_success_body_is_unexpected_response(
    endpoint: Endpoint[Any], content: bytes
) -> None:
    """HTML, truncated JSON, NaN/Infinity and invalid UTF-8 on a 200 are not the answer."""
    error = _unexpected(endpoint, content)
    assert "not UTF-8 JSON" in str(error)
    assert error.body == content


_SMALL_STACK_SCRIPT = textwrap.dedent(
    """
    import threading
    from agora_recording._protocol import Endpoint, parse_response
    from agora_recording.errors import UnexpectedResponseError

    def parse(levels):
        body = b"[" * levels + b"]" * levels
        try:
            parse_response(Endpoint.STOP, 200, {}, body)
        except UnexpectedResponseError:
            print("refused", levels)

    threading.stack_size(256 * 1024)
    for levels in (5_000, 50_000):
        worker = threading.Thread(target=parse, args=(levels,))
        worker.start()
        worker.join()
    """
)


@pytest.mark.slow
def test_deep_bodies_are_refused_before_the_decoder_can_exhaust_a_small_stack() -> None:
    """In a thread with a 256 KiB stack, deep bodies are refused instead of crashing the process."""
    result = subprocess.run(
        [sys.executable, "-c", _SMALL_STACK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["refused 5000", "refused 50000"]


def test_html_excerpt_is_one_short_line() -> None:
    """The excerpt shows how the body starts, on one line, cut to about 200 characters."""
    page = b"<html>\n<head><title>Captive portal</title></head>\n" + b"<p>log in</p>\n" * 500
    error = _unexpected(Endpoint.QUERY, page)
    assert error.excerpt.startswith("<html> <head><title>Captive portal</title></head>")
    assert "\n" not in error.excerpt
    assert error.excerpt.endswith("...")
    assert len(error.excerpt) == 203


def test_nesting_up_to_the_limit_is_accepted() -> None:
    """An answer nested exactly MAX_DEPTH levels deep (counting the top object) parses."""
    inner = _nested(MAX_DEPTH - 2)
    content = b'{"resourceId":"r","sid":"s","serverResponse":{"subServiceStatus":' + inner + b"}}"
    result = parse_response(Endpoint.QUERY, 200, HEADERS, content)
    assert result.server_response is not None
    assert result.server_response.sub_service_status is not None


def test_nesting_one_past_the_limit_is_refused() -> None:
    """One more level than MAX_DEPTH is refused before decoding."""
    inner = _nested(MAX_DEPTH - 1)
    content = b'{"resourceId":"r","sid":"s","serverResponse":{"subServiceStatus":' + inner + b"}}"
    _unexpected(Endpoint.QUERY, content)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """A channel name made of brackets (allowed by the docs) does not make an answer too deep."""
    cname = "[{" * 32
    files = [
        {"fileName": f"{SID}_{cname}__uid_s_{n}__uid_e_av.m3u8", "uid": str(n)} for n in range(80)
    ]
    content = _query_with({"status": 5, "fileListMode": "json", "fileList": files})
    result = parse_response(Endpoint.QUERY, 200, HEADERS, content)
    assert len(result.files) == 80


def test_brackets_inside_escaped_strings_do_not_count_as_nesting() -> None:
    """Escaped quotes beside brackets in strings are told apart from real nesting."""
    name = '\\"[[[[' * 20 + '\\\\"'
    files = [{"fileName": f'x{name}"' + "]" * 70, "uid": str(n)} for n in range(80)]
    content = _query_with({"status": 5, "fileList": files})
    assert parse_response(Endpoint.QUERY, 200, HEADERS, content).files[0].uid == "0"


def test_brackets_inside_strings_cannot_hide_real_nesting() -> None:
    """Closing brackets inside strings cannot mask arrays nested past the limit."""
    levels = MAX_DEPTH + 10
    deep = b'["]",' * levels + b"1" + b',"["]' * levels
    assert json.loads(deep)  # valid JSON, nested 74 levels
    content = b'{"resourceId":"r","sid":"s","serverResponse":{"subServiceStatus":{"x":'
    _unexpected(Endpoint.QUERY, content + deep + b"}}}")


def test_a_large_real_answer_is_read() -> None:
    """An individual-mode query listing thousands of files, a few MiB, still parses."""
    files = [
        {
            "fileName": f"{SID}_{CNAME}__uid_s_{n}__uid_e_av.m3u8",
            "trackType": "audio_and_video",
            "uid": str(n),
            "mixedAllUser": False,
            "isPlayable": True,
            "sliceStartTime": 1562724971626,
        }
        for n in range(20_000)
    ]
    content = _query_with({"status": 5, "fileListMode": "json", "fileList": files})
    assert 2 * 1024 * 1024 < len(content) < MAX_BODY_BYTES
    assert len(parse_response(Endpoint.QUERY, 200, HEADERS, content).files) == 20_000


@pytest.mark.parametrize(
    ("status", "cls"), [(500, ServerError), (400, BadRequestError), (206, type(None))]
)
@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"code": 2, "x": "' + b"y" * MAX_BODY_BYTES + b'"}'],
    ids=["deep", "huge"],
)
def test_unreadable_error_bodies_keep_their_status_class(
    status: int, cls: type[Any], content: bytes
) -> None:
    """An error status decides the class even when its body is deep or huge; no code is read."""
    with pytest.raises(AgoraError) as info:
        parse_response(Endpoint.STOP, status, HEADERS, content)
    error = info.value
    if cls is not type(None):
        assert type(error) is cls
    assert getattr(error, "code", None) is None
    assert getattr(error, "request_id", None) == "req-42"
    assert len(getattr(error, "body", b"")) <= 64 * 1024


def test_absurd_error_codes_and_reasons_are_bounded() -> None:
    """A 5,000-digit code is ignored (no ValueError) and a huge reason is cut in the message."""
    body = _json({"code": "9" * 5000, "reason": "r" * 100_000})
    with pytest.raises(BadRequestError) as info:
        parse_response(Endpoint.START, 400, HEADERS, body)
    assert info.value.code is None
    assert info.value.reason is not None
    assert len(info.value.reason) <= 503
    assert len(str(info.value)) < 700


# --------------------------------------------------------------------------------------------
# The documented shape: identifiers and types


IDENTIFYING: list[Endpoint[Any]] = [Endpoint.ACQUIRE, Endpoint.START, Endpoint.STOP]


@pytest.mark.parametrize("endpoint", IDENTIFYING, ids=[e.name for e in IDENTIFYING])
@pytest.mark.parametrize(
    "body",
    [{}, {"cname": CNAME, "uid": UID}, {"serverResponse": {"uploadingStatus": "uploaded"}}],
    ids=["empty", "echo-only", "no-ids"],
)
def test_answers_that_name_nothing_are_unexpected_responses(
    endpoint: Endpoint[Any], body: dict[str, Any]
) -> None:
    """A 200 acquire, start or stop that names no resource or recording confirms nothing."""
    error = _unexpected(endpoint, _json(body))
    assert "resourceId" in str(error) or "sid" in str(error)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (Endpoint.QUERY, {"resourceId": RESOURCE_ID, "serverResponse": {"status": 4}}),
        (Endpoint.QUERY, {"serverResponse": {"status": 5}}),
        (Endpoint.STOP, {"sid": SID}),
        (Endpoint.STOP, {"resourceId": RESOURCE_ID, "serverResponse": {}}),
        (Endpoint.UPDATE, {}),
        (Endpoint.UPDATE_LAYOUT, {"resourceId": RESOURCE_ID, "sid": SID}),
    ],
)
def test_answers_with_optional_fields_parse(endpoint: Endpoint[Any], body: dict[str, Any]) -> None:
    """Query and update answers may leave identifiers out; stop needs resourceId or sid."""
    result = parse_response(endpoint, 200, HEADERS, _json(body))
    assert result.resource_id == body.get("resourceId")


@pytest.mark.parametrize(
    ("server_response", "field"),
    [
        ({"status": True}, "serverResponse.status"),
        ({"status": False}, "serverResponse.status"),
        ({"status": 5.5}, "serverResponse.status"),
        ({"status": 10**30}, "serverResponse.status"),
        ({"status": "abc"}, "serverResponse.status"),
        ({"status": "5.0"}, "serverResponse.status"),
        ({"status": "\u0665"}, "serverResponse.status"),
        ({"status": [5]}, "serverResponse.status"),
        ({"status": {"code": 5}}, "serverResponse.status"),
        ({"sliceStartTime": 1.5}, "serverResponse.sliceStartTime"),
        ({"sliceStartTime": True}, "serverResponse.sliceStartTime"),
        ({"sliceStartTime": 2**64}, "serverResponse.sliceStartTime"),
        ({"sliceStartTime": 1e300}, "serverResponse.sliceStartTime"),
        (
            {"fileList": [{"fileName": "a"}, {"sliceStartTime": "soon"}]},
            "serverResponse.fileList[1].sliceStartTime",
        ),
        ({"fileList": [{"fileName": 1.5}]}, "serverResponse.fileList[0].fileName"),
        ({"fileList": [{"trackType": 3}]}, "serverResponse.fileList[0].trackType"),
        ({"fileList": [{"isPlayable": "yes"}]}, "serverResponse.fileList[0].isPlayable"),
        ({"fileList": {"fileName": "a"}}, "serverResponse.fileList"),
        ({"fileListMode": 1}, "serverResponse.fileListMode"),
        ({"uploadingStatus": ["uploaded"]}, "serverResponse.uploadingStatus"),
        ({"extensionServiceState": "web_recorder_service"}, "serverResponse.extensionServiceState"),
        (
            {
                "extensionServiceState": [
                    {"serviceName": "web_recorder_service", "payload": {"fileList": "a.m3u8"}}
                ]
            },
            "serverResponse.extensionServiceState[0].payload.fileList",
        ),
        (
            {"extensionServiceState": [{"serviceName": ["web_recorder_service"]}]},
            "serverResponse.extensionServiceState[0].serviceName",
        ),
        ({"subServiceStatus": "recording"}, "serverResponse.subServiceStatus"),
    ],
)
def test_wrong_types_name_their_wire_path(server_response: dict[str, Any], field: str) -> None:
    """A value of the wrong type is refused, and the error names its wire path."""
    error = _unexpected(Endpoint.QUERY, _query_with(server_response))
    assert error.field == field
    assert field in str(error)
    assert isinstance(error.__cause__, ValidationError)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (5, RecordingStatus.IN_PROGRESS),
        ("5", RecordingStatus.IN_PROGRESS),
        (5.0, RecordingStatus.IN_PROGRESS),
        (20, RecordingStatus.EXITED_ABNORMALLY),
        (42, 42),
        ("42", 42),
        (-1, -1),
        (None, None),
    ],
)
def test_status_is_normalised_and_unknown_integers_are_kept(status: Any, expected: Any) -> None:
    """A decimal string or integral float is the integer; an unknown one is kept, still typed."""
    result = parse_response(Endpoint.QUERY, 200, HEADERS, _query_with({"status": status}))
    assert result.status == expected
    if expected is not None:
        assert isinstance(result.status, RecordingStatus)
        assert converter.unstructure(result)["serverResponse"]["status"] == expected


def test_wrong_identifier_types_are_refused_on_every_endpoint() -> None:
    """A resourceId or sid that is not a string or an integer is refused where it is read."""
    for endpoint in ENDPOINTS:
        keys = ("resourceId",) if endpoint is Endpoint.ACQUIRE else ("resourceId", "sid")
        for key in keys:
            for value in (True, 1.5, ["x"], {"x": 1}):
                error = _unexpected(endpoint, _json({**STARTED, key: value}))
                assert error.field == key


def test_numeric_identifiers_are_read_as_text() -> None:
    """Integers where the docs have strings (a numeric uid) are read as their decimal text."""
    result = parse_response(Endpoint.START, 200, HEADERS, _json({**STARTED, "uid": 527841}))
    assert result.uid == "527841"


# --------------------------------------------------------------------------------------------
# What the error carries: unknown outcome, request ID, a masked excerpt


def test_unexpected_response_marks_an_unknown_outcome() -> None:
    """Every parse failure carries the HTTP status, which marks that the outcome is unknown."""
    error = _unexpected(Endpoint.STOP, b"<html>OK</html>")
    assert error.status_code == 200
    assert not isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is UnexpectedResponseError
    assert (again.status_code, again.request_id, again.excerpt, str(again)) == (
        200,
        "req-42",
        error.excerpt,
        str(error),
    )


def test_echoed_request_secrets_are_masked_in_the_excerpt() -> None:
    """A start body echoed back on 200 shows no key, token or auth value in excerpt or message."""
    echoed = _json(
        {
            "cname": CNAME,
            "uid": UID,
            "clientRequest": {
                "token": "007eJxTtokenvalue",
                "storageConfig": {
                    "accessKey": "AKIAEXAMPLEACCESS",
                    "secretKey": "wJalrSECRETEXAMPLE",
                    "stsToken": "sts-token-value",
                },
            },
            "headers": "Authorization: Basic Y3VzdG9tZXI6c2VjcmV0",
        }
    )
    error = _unexpected(Endpoint.START, echoed)
    shown = error.excerpt + str(error) + repr(error)
    for secret in (
        "007eJxTtokenvalue",
        "AKIAEXAMPLEACCESS",
        "wJalrSECRETEXAMPLE",
        "sts-token-value",
        "Y3VzdG9tZXI6c2VjcmV0",
    ):
        assert secret not in shown
    assert '"cname":"httpClient463224"' in error.excerpt


def test_form_style_secrets_are_masked_in_the_excerpt() -> None:
    """``key=value`` pairs (a proxy's error page, a query string) are masked too."""
    page = b"<p>denied: customer_secret=abc123def&app=1 password: hunter2; ok</p>"
    error = _unexpected(Endpoint.ACQUIRE, page)
    assert "abc123def" not in error.excerpt
    assert "hunter2" not in error.excerpt
    assert "app=1" in error.excerpt


# --------------------------------------------------------------------------------------------
# converter.structure on every model: ValidationError naming the wire key, nothing else


def _model_classes() -> list[type[Any]]:
    return [
        obj
        for name in models.__all__
        if isinstance(obj := getattr(models, name), type) and attrs.has(obj)
    ]


_ALT_KEYS = {"filename", "fileName", "playload", "unsubscribeAudioUids", "unsubscribeVideoUids"}


def _wire_keys(cls: type[Any]) -> set[str]:
    return {f.metadata[WIRE] for f in attrs.fields(cls) if f.metadata[WIRE] is not None} | _ALT_KEYS


_ALL_KEYS = sorted(set().union(*(_wire_keys(cls) for cls in _model_classes())))
_junk_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(["5", "-3", "1_0", " 7", "web_recorder_service", "upload_service", "json"])
)
_junk: st.SearchStrategy[Any] = st.recursive(
    _junk_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children)
        | st.dictionaries(st.sampled_from(_ALL_KEYS), children, max_size=6)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_junk)
def test_structure_raises_only_validation_errors_naming_a_wire_key(
    cls: type[Any], body: Any
) -> None:
    """Any junk either structures into the model or raises ValidationError with a wire path."""
    failure: ValidationError | None = None
    try:
        result = converter.structure(body, cls)
    except ValidationError as exc:
        failure = exc
    if failure is None:
        assert isinstance(result, cls)
        return
    assert isinstance(failure, AgoraError)
    assert isinstance(failure, ValueError)
    if failure.field:
        first = failure.field.split(".")[0].split("[")[0]
        assert first in _wire_keys(cls)
        assert str(failure).startswith(failure.field + ": ")
    else:
        assert cls.__name__ in str(failure)


@pytest.mark.parametrize(
    ("body", "model", "field"),
    [
        (
            {"vendor": 1, "bucket": "b-bucket", "accessKey": "a", "secretKey": "s"},
            StorageConfig,
            "region",
        ),
        (
            {
                "vendor": 1,
                "region": "s3cr3t-region",
                "bucket": "b-bucket",
                "accessKey": "a",
                "secretKey": "s",
            },
            StorageConfig,
            "region",
        ),
        (
            {
                "vendor": "aws",
                "region": 0,
                "bucket": "b-bucket",
                "accessKey": "a",
                "secretKey": "s",
            },
            StorageConfig,
            "vendor",
        ),
        (
            {
                "vendor": 1,
                "region": 0,
                "bucket": "b-bucket",
                "accessKey": "a",
                "secretKey": "s",
                "fileNamePrefix": ["ok", 1.5],
            },
            StorageConfig,
            "fileNamePrefix[1]",
        ),
        (
            {
                "vendor": 1,
                "region": 0,
                "bucket": "b-bucket",
                "accessKey": "a",
                "secretKey": "s",
                "fileNamePrefix": "directory",
            },
            StorageConfig,
            "fileNamePrefix",
        ),
        ({"fileName": "a", "sliceStartTime": float("nan")}, FileInfo, "sliceStartTime"),
        (
            {"serverResponse": {"fileList": [{}, {}, {"uid": [1]}]}},
            StopResponse,
            "serverResponse.fileList[2].uid",
        ),
        ("resourceId", QueryResponse, ""),
    ],
)
def test_structure_errors_name_the_path_without_the_value(
    body: Any, model: type[Any], field: str
) -> None:
    """The ValidationError names the wire path and never quotes the offending value."""
    with pytest.raises(ValidationError) as info:
        converter.structure(body, model)
    assert info.value.field == field
    assert "s3cr3t" not in str(info.value)
    assert "directory" not in str(info.value)


# --------------------------------------------------------------------------------------------
# Through the client: nothing but AgoraError comes out


def _deep_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000, headers=HEADERS)


@pytest.mark.anyio
async def test_client_calls_raise_unexpected_response_for_deep_bodies() -> None:
    """acquire, start and query on a 100,000-level body raise UnexpectedResponseError; acquire
    and query once, start after asking again (an unread 200 may have started a recording,
    which is then listed without a sid)."""
    script = Script(_deep_answer)
    async with mock_client(script) as client:
        with pytest.raises(UnexpectedResponseError) as acquired:
            await client.acquire(cname=CNAME, uid=UID)
        with pytest.raises(UnexpectedResponseError) as started:
            await client.start(
                RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
            )
        with pytest.raises(UnexpectedResponseError) as queried:
            await client.query(handle_for(Mode.MIX))
        assert [entry.sid for entry in client.unconfirmed()] == [None]
        with pytest.raises(UnconfirmedRecordingsError):
            await client.aclose()
    for info in (acquired, started, queried):
        assert (info.value.status_code, info.value.request_id) == (200, "req-42")
    starts = [r for r in script.requests if r.url.path.endswith("/start")]
    assert len(starts) == 3  # stamina's testing mode: 3 attempts
    assert len(script.requests) == 5
    assert json.loads(script.requests[1].content)["clientRequest"] == START_WIRE[Mode.MIX]


@pytest.mark.anyio
async def test_client_query_refuses_a_boolean_status() -> None:
    """A query answer with ``status: true`` is refused instead of read as status 1."""
    body = _query_with({"status": True})
    script = Script(httpx.Response(200, content=body, headers=HEADERS))
    async with mock_client(script) as client:
        with pytest.raises(UnexpectedResponseError, match=r"serverResponse\.status"):
            await client.query(handle_for(Mode.INDIVIDUAL))
