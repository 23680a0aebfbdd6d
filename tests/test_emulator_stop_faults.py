"""Adverse answers for stops and other calls: failovers, raw bodies, bursts of 503, Retry-After."""

from __future__ import annotations

import json

import httpx
import pytest
from agora_recording.emulator import Emulator
from agora_recording.errors import (
    AgoraError,
    AlreadyStartedError,
    NotFoundError,
    UnconfirmedRecordingsError,
)
from agora_recording.testing import emulated_client, emulated_http

from tests.helpers import BASE, STOP_BODY, emulated_config, path, publish_and_start, start

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(subscribe_uid_group=0)
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


async def test_stop_during_a_failover_is_lost_and_the_recording_goes_on() -> None:
    """A stop sent while the task fails over gets 404 "failed to find worker"; no worker got it,
    so once the failover ends the recording is still running and a new stop works."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        assert started.sid is not None
        service.advance(10)
        service.emulator.faults.failover(sid=started.sid, duration=30)
        with pytest.raises(NotFoundError) as lost:
            await service.client.stop(started.handle)
        during = [r.sid for r in service.emulator.running_recordings()]
        service.advance(30)
        after = [r.sid for r in service.emulator.running_recordings()]
        still = await service.client.query(started.handle)
        stopped = await service.client.stop(started.handle)
        left = service.emulator.running_recordings()
    assert lost.value.worker_not_found
    assert lost.value.reason == "failed to find worker"
    assert during == after == [started.sid]
    assert still.status == 5
    assert stopped.sid == started.sid
    assert left == []


async def test_raw_html_answer_with_status_200() -> None:
    """fail_next(raw=..., content_type="text/html") sends those bytes as a 200 HTML page."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.faults.fail_next("stop", 200, raw=HTML, content_type="text/html")
        answer = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        retried = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.content == HTML
    assert retried.json()["code"] == 435  # the faulty answer did not stop the recording


async def test_a_client_refuses_a_200_html_answer_with_an_agora_error() -> None:
    """A 2xx answer that is not JSON reaches the client's caller as an AgoraError."""
    async with emulated_client() as service:
        started = await publish_and_start(service)
        service.emulator.faults.fail_next("query", 200, raw=HTML, content_type="text/html")
        with pytest.raises(AgoraError):
            await service.client.query(started.handle)


async def test_json_without_the_documented_shape() -> None:
    """A 200 JSON body of the wrong shape is sent verbatim (here for stop)."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.faults.fail_next("stop", 200, raw='["not", "an", "object"]')
        listed = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        emulator.faults.fail_next("stop", 200, {"serverResponse": "nope", "sid": 42})
        odd = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert listed.json() == ["not", "an", "object"]
    assert odd.json() == {"serverResponse": "nope", "sid": 42}


async def test_deeply_nested_and_huge_bodies() -> None:
    """raw bodies of any size and nesting are sent byte for byte: a JSON array nested 100,000
    levels deep, then 20 MB of JSON."""
    nested = b"[" * 100_000 + b"]" * 100_000
    huge = b'{"padding": "' + b"x" * 20_000_000 + b'"}'
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.faults.fail_next("query", 200, raw=nested)
        emulator.faults.fail_next("query", 200, raw=huge)
        first = await http.get(path(resource_id, sid, "query"))
        second = await http.get(path(resource_id, sid, "query"))
    assert first.content == nested
    assert first.headers["content-type"] == "application/json"
    assert int(second.headers["content-length"]) == len(huge)


async def test_fail_for_answers_every_call_for_a_span_of_time() -> None:
    """fail_for(10, "stop", 503) fails every stop for 10 s of the clock, however many come, and
    leaves other endpoints alone; after it, stops work."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.faults.fail_for(10, "stop", 503)
        burst = [await http.post(path(resource_id, sid, "stop"), json=STOP_BODY) for _ in range(5)]
        emulator.advance(9.5)
        late = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        query = await http.get(path(resource_id, sid, "query"))
        emulator.advance(0.5)
        done = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert {r.status_code for r in burst} == {503}
    assert burst[0].json() == {"code": 503, "reason": "injected fault"}
    assert late.status_code == 503
    assert query.status_code == 200
    assert done.json()["code"] == 435  # reached the recording (which recorded nothing)


async def test_429_with_a_large_retry_after() -> None:
    """fail_next(..., 429, retry_after=3600) answers the gateway's 429 with that Retry-After."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.faults.fail_next("stop", 429, retry_after=3600, headers={"X-Extra": "1"})
        answer = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        stats = emulator.stats
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "3600"
    assert answer.headers["x-extra"] == "1"
    assert answer.json() == {"message": "API rate limit exceeded"}
    assert stats.answered(429, endpoint="stop") == 1
    assert stats.rate_limited() == 0  # injected, not the quota


async def test_start_whose_connection_drops_after_processing_is_retried_into_201_7() -> None:
    """A start that happened but whose connection dropped is retried by the client and gets
    201 code 7: the recording exists although the caller never saw its sid."""
    async with emulated_client() as service:
        service.channel("room").publish(7)
        service.emulator.faults.drop_connection("start", after_processing=True)
        acquired = await service.client.acquire(cname="room", uid="99")
        assert acquired.resource_id is not None
        with pytest.raises(AlreadyStartedError) as info:
            await service.client.start(
                acquired.resource_id, "individual", cname="room", uid="99", config=CONFIG
            )
        running = service.emulator.running_recordings()
        with pytest.raises(UnconfirmedRecordingsError):  # listed without a sid
            await service.client.aclose()
    assert (info.value.status_code, info.value.code) == (201, 7)
    assert len(running) == 1


async def test_stats_count_requests_per_endpoint_and_status() -> None:
    """emulator.stats counts each call by App ID, endpoint and answered status, dropped ones
    under status 0."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.faults.drop_connection("query")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(path(resource_id, sid, "query"))
        await http.get(path(resource_id, sid, "query"))
        await http.post(f"{BASE}/acquire", json={"cname": "r"})
        stats = emulator.stats
    app = BASE.split("/")[3]
    assert stats.requests() == 5
    assert stats.requests(app, "query") == 2
    assert stats.answered(0) == 1
    assert stats.answered(400, endpoint="acquire") == 1
    assert stats.as_dict()[app]["query"] == {
        "requests": 2,
        "rate_limited": 0,
        "statuses": {"0": 1, "200": 1},
    }
    stats.clear()
    assert stats.requests() == 0


def test_raw_and_body_together_are_refused() -> None:
    """A fault answer is either a JSON body or raw bytes, not both."""
    with pytest.raises(ValueError, match="raw"):
        Emulator().faults.fail_next("stop", 200, {"a": 1}, raw=b"{}")


def test_fail_for_ends_by_itself_and_json_helper() -> None:
    """A time-based fault is forgotten once its span is over; FailAnswer.json parses bodies."""
    emulator = Emulator()
    emulator.faults.fail_for(0, "query", 503)
    assert emulator.faults.plan("query").fail is None
    emulator.faults.fail_next("query", 500)
    answer = emulator.faults.plan("query").fail
    assert answer is not None
    assert answer.json() == {"code": 500, "reason": "internal_error"}
    assert json.loads(answer.body) == answer.json()


async def test_control_routes_for_new_faults_load_and_stats() -> None:
    """Out-of-process tests reach fail-for, raw answers, delivery faults, competing load and
    stats through the /_emulator control routes."""
    async with emulated_http(rate_limit=10) as (http, emulator):
        resource_id, sid = await start(http)
        fail_for = await http.post(
            "/_emulator/faults/fail-for", json={"seconds": 5, "endpoint": "stop"}
        )
        stopped = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        emulator.faults.clear()
        raw = await http.post(
            "/_emulator/faults/fail",
            json={"endpoint": "query", "status": 200, "raw": "<p>", "content_type": "text/html"},
        )
        page = await http.get(path(resource_id, sid, "query"))
        delivery = await http.post(
            "/_emulator/faults/notifications", json={"kind": "delay", "seconds": 2, "times": None}
        )
        unknown = await http.post("/_emulator/faults/notifications", json={"kind": "lose"})
        load = await http.post("/_emulator/competing-load", json={"app_id": "a", "rate": 3})
        cleared = await http.delete("/_emulator/competing-load")
        stats = (await http.get("/_emulator/stats")).json()
        reset = await http.delete("/_emulator/stats")
    assert fail_for.status_code == raw.status_code == delivery.status_code == 200
    assert stopped.status_code == 503
    assert (page.status_code, page.text) == (200, "<p>")
    assert unknown.status_code == 400
    assert load.json() == {"app_id": "a", "load": 3.0}
    assert cleared.status_code == reset.status_code == 200
    assert stats["requests"][BASE.split("/")[3]]["stop"]["statuses"] == {"503": 1}
    assert emulator.faults.delivery_plan(40, None).delay == 2
    assert emulator.stats.requests() == 0
