"""RecordingClient on a MockTransport: exact requests, errors, lifecycle, configuration, refusals.

`Script` and `mock_client` come from ``tests/helpers.py``, shared with the retry and secret tests.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest
from agora_recording import RateLimiter, RecordingClient, RecordingSession
from agora_recording._protocol import Endpoint
from agora_recording.enums import Mode, Region
from agora_recording.errors import (
    AgoraError,
    APIError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
    UnconfirmedRecordingsError,
    ValidationError,
)
from agora_recording.models import (
    AcquireConfig,
    RecordingConfig,
    RecordingHandle,
    StartConfig,
    StartResponse,
    UpdateConfig,
)

from tests.helpers import (
    APP_ID,
    CNAME,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    ERROR_ROWS,
    IDS,
    LAYOUT,
    LAYOUT_WIRE,
    MODES,
    RESOURCE_ID,
    SID,
    START_CONFIGS,
    START_WIRE,
    STARTED,
    STORAGE,
    UID,
    UPDATE_CONFIGS,
    UPDATE_WIRE,
    Script,
    envelope,
    handle_for,
    mock_client,
    never_called,
    ok,
)

BASIC = "Basic " + base64.b64encode(f"{CUSTOMER_ID}:{CUSTOMER_SECRET}".encode()).decode()
PREFIX = f"https://api.agora.io/v1/apps/{APP_ID}/cloud_recording"


def assert_common_headers(request: httpx.Request) -> None:
    """Every request carries our auth, user agent and Accept header."""
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Accept"] == "application/json"
    assert re.fullmatch(
        r"agora-recording/\S+ httpx/\S+ python/\d+\.\d+\.\S+", request.headers["User-Agent"]
    )
    if request.method == "POST":
        assert request.headers["Content-Type"] == "application/json;charset=utf-8"
    else:
        assert "Content-Type" not in request.headers
        assert request.content == b""


def sent_json(request: httpx.Request) -> Any:
    """The JSON body of a request."""
    return json.loads(request.content)


# --------------------------------------------------------------------------------------------
# Each endpoint in each mode


@pytest.mark.anyio
async def test_acquire_without_config_sends_empty_client_request() -> None:
    """Acquire posts ``clientRequest: {}`` when no config is given."""
    script = Script(ok(IDS))
    async with mock_client(script) as client:
        response = await client.acquire(cname=CNAME, uid=int(UID))
    assert response.resource_id == RESOURCE_ID
    (request,) = script.requests
    assert (request.method, str(request.url)) == ("POST", f"{PREFIX}/acquire")
    assert_common_headers(request)
    assert request.content == b'{"cname":"httpClient463224","uid":"527841","clientRequest":{}}'


@pytest.mark.anyio
async def test_acquire_with_config() -> None:
    """Acquire posts its config as clientRequest."""
    script = Script(ok(IDS))
    async with mock_client(script) as client:
        await client.acquire(
            cname=CNAME, uid=UID, config=AcquireConfig(resource_expired_hour=24, scene=0)
        )
    assert sent_json(script.requests[0]) == envelope({"scene": 0, "resourceExpiredHour": 24})


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_start_in_each_mode(mode: Mode) -> None:
    """Start posts the mode's body and returns a response whose handle works."""
    script = Script(ok(STARTED))
    async with mock_client(script) as client:
        response = await client.start(
            RESOURCE_ID, mode, cname=CNAME, uid=UID, config=START_CONFIGS[mode]
        )
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == f"{PREFIX}/resourceid/{RESOURCE_ID}/mode/{mode.value}/start"
    assert_common_headers(request)
    assert sent_json(request) == envelope(START_WIRE[mode])
    assert response.mode is mode
    assert response.handle == handle_for(mode)


@pytest.mark.anyio
async def test_start_fills_identifiers_an_old_service_leaves_out() -> None:
    """A start answer with only resourceId and sid (2020 format) still yields a full handle."""
    script = Script(ok({"resourceId": RESOURCE_ID, "sid": SID}))
    async with mock_client(script) as client:
        response = await client.start(
            RESOURCE_ID, "mix", cname=CNAME, uid=int(UID), config=START_CONFIGS[Mode.MIX]
        )
    assert response == StartResponse(
        cname=CNAME, uid=UID, resource_id=RESOURCE_ID, sid=SID, mode=Mode.MIX
    )


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_query_in_each_mode(mode: Mode) -> None:
    """Query is a GET without a body or Content-Type."""
    script = Script(ok({**STARTED, "serverResponse": {"status": 5}}))
    async with mock_client(script) as client:
        response = await client.query(handle_for(mode))
    (request,) = script.requests
    assert request.method == "GET"
    assert str(request.url) == (
        f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/{mode.value}/query"
    )
    assert_common_headers(request)
    assert response.status == 5


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_update_in_each_mode(mode: Mode) -> None:
    """Update posts the mode's update body."""
    script = Script(ok(STARTED))
    async with mock_client(script) as client:
        response = await client.update(handle_for(mode), UPDATE_CONFIGS[mode])
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == (
        f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/{mode.value}/update"
    )
    assert_common_headers(request)
    assert sent_json(request) == envelope(UPDATE_WIRE[mode])
    assert response.sid == SID


@pytest.mark.anyio
async def test_update_layout_in_mix() -> None:
    """updateLayout posts the layout to the mix session."""
    script = Script(ok(STARTED))
    async with mock_client(script) as client:
        await client.update_layout(handle_for(Mode.MIX), LAYOUT)
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/mix/updateLayout"
    assert_common_headers(request)
    assert sent_json(request) == envelope(LAYOUT_WIRE)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("async_stop", [False, True])
async def test_stop_in_each_mode(mode: Mode, async_stop: bool) -> None:
    """Stop posts ``async_stop`` explicitly and decodes the final files."""
    body = {
        **STARTED,
        "serverResponse": {
            "fileListMode": "string",
            "fileList": "a.m3u8",
            "uploadingStatus": "uploaded",
        },
    }
    script = Script(ok(body))
    async with mock_client(script) as client:
        response = await client.stop(handle_for(mode), async_stop=async_stop)
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == (
        f"{PREFIX}/resourceid/{RESOURCE_ID}/sid/{SID}/mode/{mode.value}/stop"
    )
    assert_common_headers(request)
    assert sent_json(request) == envelope({"async_stop": async_stop})
    assert response.uploading_status == "uploaded"
    assert [f.file_name for f in response.files] == ["a.m3u8"]


async def _call_endpoint(client: RecordingClient, endpoint: Endpoint[Any]) -> object:
    """Call ``endpoint`` through the client with the reference's identifiers (mix mode)."""
    handle = handle_for(Mode.MIX)
    if endpoint is Endpoint.ACQUIRE:
        return await client.acquire(cname=CNAME, uid=UID)
    if endpoint is Endpoint.START:
        return await client.start(
            RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
        )
    if endpoint is Endpoint.QUERY:
        return await client.query(handle)
    if endpoint is Endpoint.UPDATE:
        return await client.update(handle, UPDATE_CONFIGS[Mode.MIX])
    if endpoint is Endpoint.UPDATE_LAYOUT:
        return await client.update_layout(handle, LAYOUT)
    return await client.stop(handle)


@pytest.mark.anyio
@pytest.mark.parametrize(("endpoint", "status", "body", "cls"), ERROR_ROWS)
async def test_documented_errors_through_the_client(
    endpoint: Endpoint[Any], status: int, body: dict[str, Any], cls: type[APIError]
) -> None:
    """Each documented error row raises its class with every attribute, retried when retryable."""
    content = json.dumps(body).encode()
    headers = {"X-Request-ID": "req-42", "Content-Type": "application/json"}
    script = Script(httpx.Response(status, content=content, headers=headers))
    async with mock_client(script) as client:
        with pytest.raises(APIError) as info:
            await _call_endpoint(client, endpoint)
        # A start the service may have processed (5xx, 206/65) is listed without a sid.
        left = [entry.resource_id for entry in client.unconfirmed()]
        if left:
            with pytest.raises(UnconfirmedRecordingsError):
                await client.aclose()
    error = info.value
    assert type(error) is cls
    assert (error.endpoint, error.status_code) == (endpoint.name, status)
    assert error.code == body.get("code")
    assert (error.reason, error.message) == (body.get("reason"), body.get("message"))
    assert (error.request_id, error.body, dict(error.payload)) == ("req-42", content, body)
    retried = cls in (ServerError, RequestNotCompletedError)
    if endpoint is Endpoint.START and body.get("code") == 502:
        retried = False  # "Failed to allocate worker" proves nothing started: acquire again
    ambiguous = endpoint is Endpoint.START and retried
    assert left == ([RESOURCE_ID] if ambiguous else [])
    # stamina testing mode: 3 attempts; 429s are sent again within one attempt, up to 20 in a row
    sent = 20 if cls is RateLimitError else 3 if retried else 1
    assert len(script.requests) == sent
    assert {request.url.path for request in script.requests} == {script.requests[0].url.path}


@pytest.mark.anyio
async def test_base_url_is_used_for_every_request() -> None:
    """An explicit base URL (an emulator) receives the requests."""
    script = Script(ok(IDS))
    async with mock_client(script, base_url="http://127.0.0.1:8765/") as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert str(script.requests[0].url) == (
        f"http://127.0.0.1:8765/v1/apps/{APP_ID}/cloud_recording/acquire"
    )


@pytest.mark.anyio
async def test_region_picks_the_regional_host() -> None:
    """A region sends to its first regional host."""
    script = Script(ok(IDS))
    async with mock_client(script, region="eu") as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == ["api-eu-west-1.agora.io"]


@pytest.mark.anyio
async def test_our_auth_wins_over_a_borrowed_clients_auth() -> None:
    """Basic auth is set per request, whatever the borrowed client was configured with."""
    script = Script(ok(IDS))
    transport = httpx.MockTransport(script)
    async with (
        httpx.AsyncClient(transport=transport, auth=("someone", "else")) as http,
        RecordingClient(
            app_id=APP_ID,
            customer_id=CUSTOMER_ID,
            customer_secret=CUSTOMER_SECRET,
            http_client=http,
        ) as client,
    ):
        await client.acquire(cname=CNAME, uid=UID)
    assert script.requests[0].headers["Authorization"] == BASIC


# --------------------------------------------------------------------------------------------
# Lifecycle


@pytest.mark.anyio
async def test_borrowed_http_client_is_not_closed() -> None:
    """Closing the RecordingClient leaves a borrowed httpx client open."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(never_called)) as http:
        async with RecordingClient(
            app_id=APP_ID,
            customer_id=CUSTOMER_ID,
            customer_secret=CUSTOMER_SECRET,
            http_client=http,
        ):
            pass
        assert not http.is_closed


async def _answer_then_wait_for_close(stream: anyio.abc.SocketStream, closed: anyio.Event) -> None:
    """Answer one HTTP request with the acquire answer, then wait for the peer to hang up."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += await stream.receive()
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    while length is not None and len(body) < int(length[1]):
        body += await stream.receive()
    answer = json.dumps(IDS).encode()
    await stream.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
        + answer
    )
    try:
        while True:
            await stream.receive()
    except (anyio.EndOfStream, anyio.BrokenResourceError):
        closed.set()


@pytest.mark.anyio
async def test_owned_http_client_is_closed() -> None:
    """The client closes the connections of the httpx client it created when it closes."""
    closed = anyio.Event()

    async def serve(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await _answer_then_wait_for_close(stream, closed)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as server:
        server.start_soon(listener.serve, serve)
        base_url = f"http://127.0.0.1:{port}"
        client = RecordingClient(
            app_id=APP_ID,
            customer_id=CUSTOMER_ID,
            customer_secret=CUSTOMER_SECRET,
            base_url=base_url,
            rate_limit=None,
        )
        async with client:
            await client.acquire(cname=CNAME, uid=UID)
            open_inside = not closed.is_set()
        with anyio.fail_after(10):
            await closed.wait()
        server.cancel_scope.cancel()
    assert (open_inside, client.closed) == (True, True)


@pytest.mark.anyio
async def test_closed_client_refuses_calls() -> None:
    """Any call on a closed client raises a clear error and sends nothing."""
    async with mock_client(never_called) as client:
        pass
    await client.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await client.acquire(cname=CNAME, uid=UID)
    with pytest.raises(RuntimeError, match="closed"):
        await client.query(handle_for(Mode.MIX))
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass
    assert "closed" in repr(client)


def test_repr_shows_app_id_and_base_url_only() -> None:
    """repr names the App ID and base URL, never the credentials."""
    client = RecordingClient(
        app_id=APP_ID, customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET, region=Region.AP
    )
    text = repr(client)
    assert APP_ID in text
    assert "https://api-ap-southeast-1.agora.io" in text
    assert CUSTOMER_SECRET not in text
    assert CUSTOMER_ID not in text


def test_session_passes_through_to_recording_session() -> None:
    """``session()`` builds a RecordingSession bound to this client."""
    client = RecordingClient(
        app_id=APP_ID, customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET
    )
    session = client.session(cname=CNAME, uid=UID, mode="mix", config=START_CONFIGS[Mode.MIX])
    assert isinstance(session, RecordingSession)
    assert session.handle is None


# --------------------------------------------------------------------------------------------
# from_env

ENV = {
    "AGORA_APP_ID": APP_ID,
    "AGORA_CUSTOMER_ID": CUSTOMER_ID,
    "AGORA_CUSTOMER_SECRET": CUSTOMER_SECRET,
}


def test_from_env_reads_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env reads the three required variables from os.environ."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AGORA_BASE_URL", raising=False)
    monkeypatch.delenv("AGORA_REGION", raising=False)
    client = RecordingClient.from_env()
    assert client.app_id == APP_ID
    assert client.hosts == ("https://api.agora.io", "https://api.sd-rtn.com")


def test_from_env_optional_host_settings() -> None:
    """AGORA_BASE_URL and AGORA_REGION pick the hosts; keyword arguments pass through."""
    with_url = RecordingClient.from_env({**ENV, "AGORA_BASE_URL": "http://127.0.0.1:9000"})
    assert with_url.hosts == ("http://127.0.0.1:9000",)
    with_region = RecordingClient.from_env({**ENV, "AGORA_REGION": "cn"}, timeout=5.0)
    assert with_region.region is Region.CN
    assert with_region.base_url == "https://api-cn-east-1.sd-rtn.com"
    assert with_region.timeout == 5.0


@pytest.mark.parametrize("missing", sorted(ENV))
def test_from_env_names_a_missing_variable(missing: str) -> None:
    """A missing or blank required variable raises an error naming it."""
    env = {**ENV, missing: "  "}
    with pytest.raises(ValidationError, match=missing) as info:
        RecordingClient.from_env(env)
    assert isinstance(info.value, AgoraError)
    assert isinstance(info.value, ValueError)
    del env[missing]
    with pytest.raises(ValidationError, match=missing):
        RecordingClient.from_env(env)


def test_from_env_bad_region_names_the_variable() -> None:
    """An unknown AGORA_REGION is refused by name."""
    with pytest.raises(ValidationError, match="AGORA_REGION: must be one of"):
        RecordingClient.from_env({**ENV, "AGORA_REGION": "MOON"})


# --------------------------------------------------------------------------------------------
# Bad input fails before any request


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"app_id": ""}, "app_id"),
        ({"app_id": "has/slash"}, "app_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"customer_secret": ""}, "customer_secret"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"region": "XX"}, "region"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 120.0}, "timeout"),
        ({"call_timeout": float("inf")}, "call_timeout"),
        ({"stop_timeout": -1}, "stop_timeout"),
        ({"attempts": 0}, "attempts"),
        ({"rate_limit": 0}, "rate_limit"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict[str, Any], field: str) -> None:
    """Bad settings raise a ValidationError naming the argument."""
    args: dict[str, Any] = {
        "app_id": APP_ID,
        "customer_id": CUSTOMER_ID,
        "customer_secret": CUSTOMER_SECRET,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        RecordingClient(**args)
    assert info.value.field == field


def test_rate_limit_accepts_a_shared_limiter() -> None:
    """Several clients can share one limiter for one App ID."""
    limiter = RateLimiter(5)
    one = RecordingClient(
        app_id=APP_ID, customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET, rate_limit=limiter
    )
    two = RecordingClient(
        app_id=APP_ID, customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET, rate_limit=limiter
    )
    assert one.limiter is two.limiter is limiter


@pytest.mark.anyio
async def test_invalid_arguments_fail_before_any_request() -> None:
    """Every documented rule is checked before the transport sees anything."""
    bad_start = StartConfig(
        storage_config=STORAGE, recording_config=RecordingConfig(max_idle_time=1)
    )
    async with mock_client(never_called) as client:
        with pytest.raises(ValidationError, match="uid"):
            await client.acquire(cname=CNAME, uid=0)
        with pytest.raises(ValidationError, match="cname"):
            await client.acquire(cname="x" * 65, uid=UID)
        with pytest.raises(ValidationError, match="resourceExpiredHour"):
            await client.acquire(
                cname=CNAME, uid=UID, config=AcquireConfig(resource_expired_hour=721)
            )
        with pytest.raises(ValidationError, match="mode"):
            await client.start(
                RESOURCE_ID, "composite", cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
            )
        with pytest.raises(ValidationError, match="maxIdleTime"):
            await client.start(RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=bad_start)
        with pytest.raises(ValidationError, match="mix"):
            await client.update_layout(handle_for(Mode.INDIVIDUAL), LAYOUT)
        with pytest.raises(TypeError, match="RecordingHandle"):
            await client.query({"sid": SID})  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="UpdateConfig"):
            await client.update(handle_for(Mode.MIX), LAYOUT)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="async_stop"):
            await client.stop(handle_for(Mode.MIX), async_stop="yes")  # type: ignore[arg-type]
        bad_handle = RecordingHandle(resource_id="", sid=SID, mode="mix", cname=CNAME, uid=UID)
        with pytest.raises(ValidationError, match="resourceId"):
            await client.stop(bad_handle)
        with pytest.raises(ValidationError):
            await client.update(handle_for(Mode.WEB), UpdateConfig())
