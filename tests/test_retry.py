"""Retries, host failover and the client-side rate limiter (stamina runs in testing mode)."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import stamina
from agora_recording import RecordingClient
from agora_recording._retry import RetryPolicy, describe_failure, moves_host, retry_after
from agora_recording.enums import Mode, Region
from agora_recording.errors import (
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
)

from tests.helpers import (
    CNAME,
    IDS,
    RESOURCE_ID,
    START_CONFIGS,
    STARTED,
    UID,
    Script,
    handle_for,
    mock_client,
    ok,
)

QUERY_OK = {**STARTED, "serverResponse": {"status": 5}}


def error(status: int, body: dict[str, Any], **headers: str) -> httpx.Response:
    """An error response with a JSON body."""
    return httpx.Response(status, json=body, headers=headers)


# --------------------------------------------------------------------------------------------
# What is retried


@pytest.mark.anyio
async def test_503_then_200_succeeds_with_two_requests() -> None:
    """A 5xx is retried and the second answer is returned."""
    script = Script(error(503, {"message": "unavailable"}), ok(QUERY_OK))
    async with mock_client(script, base_url="https://h.test") as client:
        response = await client.query(handle_for(Mode.MIX))
    assert response.status == 5
    assert len(script.requests) == 2


@pytest.mark.anyio
async def test_request_not_completed_is_retried_on_the_same_host() -> None:
    """206 with code 65 is retried with the same request, without moving host."""
    script = Script(error(206, {"code": 65, "reason": "request not completed"}), ok(STARTED))
    async with mock_client(script, region=Region.NA) as client:
        response = await client.start(
            RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
        )
    assert response.sid == STARTED["sid"]
    assert script.hosts == ["api-us-west-1.agora.io", "api-us-west-1.agora.io"]
    assert script.requests[0].content == script.requests[1].content


@pytest.mark.anyio
async def test_504_request_timeout_on_stop_is_retried() -> None:
    """Stop's 504 code 62 is retried."""
    script = Script(error(504, {"code": 62, "reason": "request timeout"}), ok(STARTED))
    async with mock_client(script) as client:
        await client.stop(handle_for(Mode.WEB))
    assert len(script.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
        (400, {"code": 49, "reason": "invalid operation"}, BadRequestError),
        (401, {"message": "Invalid authentication credentials"}, AuthenticationError),
        (404, {"code": 404, "reason": "failed to find worker"}, NotFoundError),
        (404, {"message": "no Route matched with those values"}, NotFoundError),
        (201, {"code": 7, "reason": "already started"}, AlreadyStartedError),
        (206, {"code": 435, "reason": "no recorded data"}, NoRecordedDataError),
        (403, {"message": "forbidden"}, APIError),
    ],
)
async def test_final_errors_are_not_retried(
    status: int, body: dict[str, Any], cls: type[APIError]
) -> None:
    """Other 4xx, 201/7 and 206/435 raise after exactly one request."""
    script = Script(error(status, body))
    async with mock_client(script) as client:

        async def call() -> object:
            if cls is AlreadyStartedError:
                return await client.start(
                    RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
                )
            return await client.stop(handle_for(Mode.MIX))

        with pytest.raises(cls) as info:
            await call()
    assert type(info.value) is cls
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_transport_errors_are_retried_then_raised() -> None:
    """A connection failure is retried up to the attempts (3 in testing) then raised; being a
    network failure, not DNS, it skips the alternate domain (Agora's domain page)."""
    script = Script(httpx.ConnectError("connection refused"))
    async with mock_client(script) as client:
        with pytest.raises(
            TransportError,
            match=r"acquire request to https://api\.agora\.io:443 failed: connection refused",
        ):
            await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == ["api.agora.io", "api.agora.io", "api.agora.io"]


@pytest.mark.anyio
async def test_read_timeout_is_a_retried_transport_error() -> None:
    """An httpx timeout is a TransportError and is retried."""
    script = Script(httpx.ReadTimeout("slow"), ok(IDS))
    async with mock_client(script) as client:
        response = await client.acquire(cname=CNAME, uid=UID)
    assert response.resource_id == RESOURCE_ID
    assert len(script.requests) == 2


@pytest.mark.anyio
async def test_trickling_answer_is_cut_off_by_the_attempt_deadline() -> None:
    """A body that starts but never ends is cut off at each attempt's own deadline."""
    requests: list[httpx.Request] = []

    async def trickle() -> AsyncIterator[bytes]:
        yield b"{"
        await anyio.sleep_forever()

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=trickle())

    transport = httpx.MockTransport(handler)  # a mock transport enforces no httpx timeouts
    async with httpx.AsyncClient(transport=transport) as http:
        client = RecordingClient(
            app_id="app",
            customer_id="id",
            customer_secret="secret",
            http_client=http,
            rate_limit=None,
            timeout=0.1,
        )
        with pytest.raises(TransportError, match=r"timed out after 0\.1 s"):
            await client.acquire(cname=CNAME, uid=UID)
    assert len(requests) == 3  # every attempt (stamina's testing mode allows three) timed out


@pytest.mark.anyio
async def test_server_errors_exhaust_attempts() -> None:
    """Persistent 5xx answers end with the last ServerError."""
    script = Script(error(500, {"code": 501, "reason": "no_worker_manager_available"}))
    async with mock_client(script) as client:
        with pytest.raises(ServerError) as info:
            await client.acquire(cname=CNAME, uid=UID)
    assert info.value.code == 501
    assert len(script.requests) == 3


@pytest.mark.anyio
async def test_rate_limit_is_retried_on_the_same_host() -> None:
    """A 429 is retried where it happened: the quota is per App ID, not per host."""
    script = Script(error(429, {"message": "API rate limit exceeded"}), ok(IDS))
    async with mock_client(script) as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == ["api.agora.io", "api.agora.io"]


@pytest.mark.anyio
async def test_retry_after_sets_the_wait(caplog: pytest.LogCaptureFixture) -> None:
    """The wait before sending a 429's request again is its Retry-After value plus jitter
    (injected here; stamina's testing mode makes it instant), logged at DEBUG."""
    caplog.set_level(logging.DEBUG, logger="agora_recording")
    script = Script(error(429, {"message": "API rate limit exceeded"}, **{"Retry-After": "7"}))
    script.outcomes.append(ok(IDS))
    async with mock_client(script, random=lambda: 0.5) as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert len(script.requests) == 2
    (record,) = [r for r in caplog.records if "sending again" in r.getMessage()]
    assert record.levelno == logging.DEBUG
    assert "HTTP 429" in record.getMessage()
    assert "in 10.50 s" in record.getMessage()


@pytest.mark.anyio
async def test_429s_never_spend_an_attempt() -> None:
    """Four 429s in a row, then an answer: a call allowed one attempt still succeeds without the
    client's rate limiter (stamina's testing mode makes the waits instant)."""
    script = Script(*[error(429, {"message": "API rate limit exceeded"})] * 4, ok(IDS))
    async with mock_client(script, attempts=1) as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert len(script.requests) == 5


def test_policy_backoff_honours_retry_after() -> None:
    """RetryPolicy waits at least Retry-After for a 429, plus jitter up to as much again, and
    backs off exponentially otherwise."""
    policy = RetryPolicy(wait_initial=1.0, wait_jitter=0.0, wait_max=10.0, random=lambda: 0.5)
    limited = RateLimitError(endpoint="query", status_code=429, retry_after=12.5)
    unknown = RateLimitError(endpoint="query", status_code=429)
    server = ServerError(endpoint="query", status_code=500)
    assert policy.backoff(1, limited) == 12.5 + 6.25
    assert policy.rate_limited_wait(unknown) == 1.5
    assert [policy.backoff(n, unknown) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert [policy.backoff(n, server) for n in (4, 5, 60)] == [8.0, 10.0, 10.0]


def test_policy_backoff_jitter_stays_in_bounds() -> None:
    """Jitter adds at most wait_jitter seconds."""
    policy = RetryPolicy(wait_initial=1.0, wait_jitter=1.0, wait_max=100.0)
    waits = [policy.backoff(2, ServerError(endpoint="q", status_code=500)) for _ in range(200)]
    assert all(2.0 <= wait <= 3.0 for wait in waits)


@pytest.mark.anyio
async def test_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    """A Retry-After longer than the call's deadline raises the 429 at once, carrying the value."""
    script = Script(error(429, {"message": "API rate limit exceeded"}, **{"Retry-After": "600"}))
    async with mock_client(script, call_timeout=60.0) as client:
        with pytest.raises(RateLimitError) as info:
            await client.acquire(cname=CNAME, uid=UID)
    assert info.value.retry_after == 600.0
    assert len(script.requests) == 1


@contextmanager
def stamina_calls() -> Iterator[list[str]]:
    """The names of stamina's own functions called inside the block, seen by a profile hook."""
    package = os.path.dirname(stamina.__file__) + os.sep
    calls: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(package):
            calls.append(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


@pytest.mark.anyio
async def test_first_time_success_never_enters_stamina() -> None:
    """The retry machinery runs only after a retryable failure: no stamina code runs before."""
    script = Script(ok(IDS))
    async with mock_client(script) as client:
        with stamina_calls() as calls:
            await client.acquire(cname=CNAME, uid=UID)
            script.outcomes[:] = [error(400, {"code": 2})]
            with pytest.raises(BadRequestError):
                await client.acquire(cname=CNAME, uid=UID)
        assert calls == []
        script.outcomes[:] = [error(503, {}), ok(IDS)]
        with stamina_calls() as calls:
            await client.acquire(cname=CNAME, uid=UID)
        assert "retry_context" in calls


@pytest.mark.anyio
async def test_deactivated_stamina_means_one_attempt() -> None:
    """With ``stamina.set_active(False)`` a retryable failure is raised after one request."""
    script = Script(error(503, {}))
    stamina.set_active(False)
    try:
        async with mock_client(script) as client:
            with pytest.raises(ServerError):
                await client.acquire(cname=CNAME, uid=UID)
    finally:
        stamina.set_active(True)
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_retry_after_respects_retry_until() -> None:
    """No retry starts when the deadline has passed: the first failure is raised."""
    calls: list[int] = []

    async def attempt(number: int) -> str:
        calls.append(number)
        raise ServerError(endpoint="query", status_code=500)

    first = ServerError(endpoint="query", status_code=500)
    with pytest.raises(ServerError) as info:
        await retry_after(
            first,
            attempt,
            policy=RetryPolicy(),
            retry_until=anyio.current_time() - 1,
            label="query",
        )
    assert info.value is first
    assert calls == []


@pytest.mark.anyio
async def test_retry_after_numbers_attempts_from_two() -> None:
    """After the first attempt's failure, attempts go on from 2 and the first success is
    returned."""
    calls: list[int] = []

    async def attempt(number: int) -> str:
        calls.append(number)
        if number < 3:
            raise TransportError("down")
        return "done"

    result = await retry_after(
        TransportError("down"),
        attempt,
        policy=RetryPolicy(),
        retry_until=float("inf"),
        label="query",
    )
    assert (result, calls) == ("done", [2, 3])


@pytest.mark.anyio
async def test_retry_after_raises_a_final_failure_at_once() -> None:
    """A failure the guidance does not retry (a 400) is raised without another attempt."""

    async def attempt(number: int) -> str:
        raise AssertionError("no attempt may follow a final failure")

    final = BadRequestError(endpoint="query", status_code=400)
    with pytest.raises(BadRequestError) as info:
        await retry_after(
            final, attempt, policy=RetryPolicy(), retry_until=float("inf"), label="query"
        )
    assert info.value is final


def test_failure_descriptions_and_host_moves() -> None:
    """Log descriptions carry status and code only; transport and 5xx failures move host."""
    server = ServerError(endpoint="q", status_code=504, code=62, reason="request timeout")
    assert describe_failure(server) == "HTTP 504 code 62"
    assert describe_failure(TransportError("x")) == "TransportError"
    assert moves_host(server)
    assert moves_host(TransportError("x"))
    assert not moves_host(RateLimitError(endpoint="q", status_code=429))
    assert not moves_host(RequestNotCompletedError(endpoint="q", status_code=206, code=65))


def test_policy_validates_attempts() -> None:
    """A policy needs at least one attempt."""
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="wait_max"):
        RetryPolicy(wait_max=-1)


# --------------------------------------------------------------------------------------------
# Host failover


@pytest.mark.anyio
async def test_failover_follows_the_documented_order() -> None:
    """Transport errors and 5xx retry the primary once, then the other domain, then the region."""
    script = Script(
        httpx.ConnectError("down"),
        error(502, {}),
        httpx.ConnectError("down"),
        error(500, {"code": 500}),
        ok(IDS),
    )
    with stamina.set_testing(True, attempts=5):
        async with mock_client(script, region=Region.NA) as client:
            await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == [
        "api-us-west-1.agora.io",
        "api-us-west-1.agora.io",
        "api-us-west-1.sd-rtn.com",
        "api-us-east-1.agora.io",
        "api-us-east-1.sd-rtn.com",
    ]


@pytest.mark.anyio
async def test_dns_failure_moves_to_the_alternate_domain() -> None:
    """A name that does not resolve sends the call to the other major domain."""
    dns = httpx.ConnectError("[Errno -2] Name or service not known")
    dns.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    script = Script(dns, dns, ok(IDS))
    async with mock_client(script) as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == ["api.agora.io", "api.agora.io", "api.sd-rtn.com"]


@pytest.mark.anyio
async def test_failover_between_global_hosts() -> None:
    """Without a region the alternate global host is tried after the primary's second chance."""
    script = Script(error(503, {}), error(503, {}), ok(IDS))
    async with mock_client(script) as client:
        await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == ["api.agora.io", "api.agora.io", "api.sd-rtn.com"]


@pytest.mark.anyio
async def test_an_explicit_base_url_is_never_left() -> None:
    """With a base URL every retry goes to the same host."""
    script = Script(httpx.ConnectError("down"))
    async with mock_client(script, base_url="http://127.0.0.1:1") as client:
        with pytest.raises(TransportError):
            await client.acquire(cname=CNAME, uid=UID)
    assert script.hosts == ["127.0.0.1"] * 3
