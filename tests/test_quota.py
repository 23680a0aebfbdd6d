"""The client's share of the App ID quota, in virtual time: priorities, cancellation, 429s,
budgets that exclude our own queue, and the poll budget."""

from __future__ import annotations

import json
import logging
import random
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import stamina
from agora_recording import PollBudget, Priority, RateLimiter
from agora_recording.enums import Mode
from agora_recording.errors import RateLimitError, ServerError, UnconfirmedRecordingsError
from agora_recording.models import RecordingHandle

from tests.helpers import (
    CNAME,
    IDS,
    RESOURCE_ID,
    SID,
    START_CONFIGS,
    STARTED,
    UID,
    Script,
    mock_client,
    ok,
)
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio


def error(status: int, body: dict[str, Any], **headers: str) -> httpx.Response:
    """An error response with a JSON body."""
    return ok(body, status, **headers)


HANDLE = RecordingHandle(resource_id=RESOURCE_ID, sid=SID, mode=Mode.MIX, cname=CNAME, uid=UID)


async def grant_order(limiter: RateLimiter, priorities: list[Priority]) -> list[Priority]:
    """Queue one waiter per priority (behind a first request) and return the grant order."""
    order: list[Priority] = []
    await limiter.acquire(Priority.POLL)  # takes the free slot: everyone below has to queue

    async def wait(priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(priority)

    async with anyio.create_task_group() as group:
        for priority in priorities:
            group.start_soon(wait, priority)
    return order


async def test_slots_go_out_in_priority_order() -> None:
    """Stops go before starts, acquires, updates, health polls and routine polls."""
    limiter = RateLimiter(10)
    queued = [
        Priority.POLL,
        Priority.HEALTH,
        Priority.UPDATE,
        Priority.ACQUIRE,
        Priority.START,
        Priority.STOP,
    ]
    assert await grant_order(limiter, queued) == sorted(queued)


async def test_a_stop_overtakes_a_queue_of_polls() -> None:
    """A stop that arrives behind a thousand queued polls gets the very next slot."""
    limiter = RateLimiter(10)
    granted: list[tuple[Priority, float]] = []

    async def wait(priority: Priority) -> None:
        await limiter.acquire(priority)
        granted.append((priority, anyio.current_time()))

    began = anyio.current_time()
    async with anyio.create_task_group() as group:
        for _ in range(1000):
            group.start_soon(wait, Priority.POLL)
        await anyio.sleep(0.05)
        group.start_soon(wait, Priority.STOP)
    stop_at = next(at for priority, at in granted if priority is Priority.STOP)
    assert stop_at - began <= 0.11
    assert [priority for priority, _ in granted].index(Priority.STOP) <= 2


async def test_slots_are_spaced_at_the_rate() -> None:
    """Queued requests go out one tenth of a second apart at 10 per second."""
    limiter = RateLimiter(10)
    times: list[float] = []

    async def wait() -> None:
        await limiter.acquire(Priority.POLL)
        times.append(anyio.current_time())

    began = anyio.current_time()
    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(wait)
    offsets = sorted(t - began for t in times)
    assert offsets == pytest.approx([n / 10 for n in range(50)], abs=1e-4)


async def test_a_cancelled_waiter_frees_its_slot_wherever_it_queues() -> None:
    """Cancelling a waiter in the middle of the queue moves everyone behind it forward."""
    limiter = RateLimiter(10)
    times: dict[int, float] = {}
    began = anyio.current_time()

    async def wait(number: int) -> None:
        await limiter.acquire(Priority.POLL)
        times[number] = anyio.current_time() - began

    async with anyio.create_task_group() as group:
        for number in range(3):
            group.start_soon(wait, number)
        await anyio.sleep(0.01)
        with anyio.CancelScope() as doomed:
            doomed.cancel()
            await limiter.acquire(Priority.POLL)  # cancelled before it waits: nothing taken
        cancelled = anyio.CancelScope()

        async def victim() -> None:
            with cancelled:
                await limiter.acquire(Priority.POLL)

        group.start_soon(victim)
        for number in range(3, 6):
            group.start_soon(wait, number)
        await anyio.sleep(0.02)
        cancelled.cancel()
    assert sorted(times.values()) == pytest.approx([n / 10 for n in range(6)], abs=1e-4)
    assert limiter.waiting() == 0


async def flood(limiter: RateLimiter, priority: Priority, granted: list[float]) -> None:
    """Ask for slot after slot at ``priority``, noting when each is granted."""
    while True:
        await limiter.acquire(priority)
        granted.append(anyio.current_time())


async def test_health_polls_wait_behind_starts_at_most_health_wait() -> None:
    """Under an endless flood of acquires and starts, a health poll waits about its 60 s."""
    limiter = RateLimiter(10)
    starts: list[float] = []
    waits: list[float] = []

    async def health_poll() -> None:
        waits.append(await limiter.acquire(Priority.HEALTH))

    with anyio.move_on_after(200):
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(flood, limiter, Priority.ACQUIRE, starts)
                group.start_soon(flood, limiter, Priority.START, starts)
            for _ in range(20):
                await anyio.sleep(2)
                group.start_soon(health_poll)
    # Twenty polls, each held back while starts could go, none past its deadline: each goes
    # once the 15 requests always waiting (1.5 s of quota) would keep it past 60 s.
    assert len(waits) == 20
    assert min(waits) >= 58.4
    assert max(waits) <= 60.0
    # The starts lost one slot per health poll and nothing else.
    assert len(starts) == pytest.approx(2000 - 20, abs=2)


async def test_health_polls_go_first_when_the_backlog_of_starts_outlasts_their_wait() -> None:
    """A health poll queued behind 80 s of acquires goes after 10 s: it could not wait them out,
    and by then the recorder it asks about has most likely come up."""
    limiter = RateLimiter(10)
    await limiter.acquire(Priority.ACQUIRE)
    granted: dict[str, float] = {}

    async def acquire(index: int) -> None:
        await limiter.acquire(Priority.ACQUIRE)
        granted[f"acquire{index}"] = anyio.current_time()

    async def health_poll() -> None:
        await limiter.acquire(Priority.HEALTH)
        granted["health"] = anyio.current_time()

    async with anyio.create_task_group() as group:
        for index in range(400):  # each acquire is followed by a start: 800 slots, 80 s
            group.start_soon(acquire, index)
        await anyio.sleep(0.01)
        group.start_soon(health_poll)
    assert granted["health"] == pytest.approx(10.1, abs=0.02)
    assert sum(at < granted["health"] for at in granted.values()) == 100


async def test_a_short_backlog_of_starts_goes_before_health_polls() -> None:
    """Starts and acquires that clear within the wait all go before an earlier health poll."""
    limiter = RateLimiter(10)
    order = await grant_order(limiter, [Priority.HEALTH] + [Priority.START] * 50)
    assert order == [Priority.START] * 50 + [Priority.HEALTH]


async def test_penalize_pauses_then_halves_and_recovers_the_rate() -> None:
    """A 429 holds every slot for Retry-After, halves the rate, which climbs back over time."""
    limiter = RateLimiter(10, recovery=30)
    await limiter.acquire()
    limiter.penalize(2.0)
    began = anyio.current_time()
    await limiter.acquire()
    assert anyio.current_time() - began == pytest.approx(2.0, abs=1e-4)
    assert limiter.current_rate() == pytest.approx(5.0, abs=0.01)
    await anyio.sleep(15)
    assert limiter.current_rate() == pytest.approx(7.5, abs=0.01)
    await anyio.sleep(20)
    assert limiter.current_rate() == pytest.approx(10.0)


async def test_429s_within_one_pause_halve_the_local_rate_once() -> None:
    """A burst of 429s answering requests sent before the pause halves the rate once, as the
    Redis limiter does, and a Retry-After of an hour holds slots for at most a minute."""
    limiter = RateLimiter(10, recovery=1e6)
    for _ in range(3):
        limiter.penalize(3600.0)
    began = anyio.current_time()
    await limiter.acquire()
    assert anyio.current_time() - began == pytest.approx(60.0, abs=1e-3)
    assert limiter.current_rate() == pytest.approx(5.0, abs=0.01)
    limiter.penalize(1.0)  # after the pause: a new 429 halves it again
    assert limiter.current_rate() == pytest.approx(2.5, abs=0.01)


async def test_queue_time_excludes_the_penalty_pause() -> None:
    """What acquire reports as queue time is our own queue, not the service's Retry-After."""
    limiter = RateLimiter(10)
    await limiter.acquire()
    limiter.penalize(5.0)
    queued = await limiter.acquire()
    assert queued == pytest.approx(0.0, abs=0.2)


async def test_a_call_timeout_does_not_count_time_in_our_queue() -> None:
    """A call that waited 100 s for its slot still gets its whole call_timeout of retries."""
    limiter = RateLimiter(1)
    script = Script(error(503, {}), error(503, {}), ok(IDS))
    async with (
        mock_client(script, rate_limit=limiter, call_timeout=5.0, timeout=2.0) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(100):
            group.start_soon(limiter.acquire, Priority.ACQUIRE)
        await anyio.lowlevel.checkpoint()
        response = await client.acquire(cname=CNAME, uid=UID)
    assert response.resource_id == RESOURCE_ID
    assert len(script.requests) == 3


async def test_the_service_429_slows_every_request_of_the_client() -> None:
    """After a 429 with Retry-After, the client's other requests wait too, then succeed."""
    limiter = RateLimiter(10)
    sent: list[float] = []
    answers = [error(429, {"message": "API rate limit exceeded"}, **{"Retry-After": "3"})]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(anyio.current_time())
        return answers.pop() if answers else ok(IDS)

    async with mock_client(handler, rate_limit=limiter) as client:
        began = anyio.current_time()
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(partial(client.acquire, cname=CNAME, uid=UID))
    offsets = [t - began for t in sent]
    assert offsets[0] == pytest.approx(0.0, abs=1e-4)
    assert all(t >= 3.0 for t in offsets[1:])
    assert len(sent) == 4
    assert limiter.stats["penalties"] == 1


async def test_without_a_limiter_429s_wait_retry_after_with_jitter_and_spend_no_attempt() -> None:
    """With ``rate_limit=None`` a call allowed one attempt rides out three 429s, each time
    waiting its Retry-After plus the injected jitter (real waits: stamina's testing mode off)."""
    stamina.set_testing(False)
    sent: list[float] = []
    answers = [ok(IDS)] + [
        error(429, {"message": "API rate limit exceeded"}, **{"Retry-After": "4"})
    ] * 3

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(anyio.current_time())
        return answers.pop()

    async with mock_client(handler, attempts=1, random=lambda: 0.25) as client:
        began = anyio.current_time()
        await client.acquire(cname=CNAME, uid=UID)
    assert [t - began for t in sent] == pytest.approx([0.0, 5.0, 10.0, 15.0], abs=1e-3)


async def test_a_429_is_sent_again_only_with_a_whole_attempt_left() -> None:
    """After a 429, a request goes again only if the call's deadline still leaves a whole attempt
    after the wait: never with a cut deadline that could drop the answer it earned."""
    stamina.set_testing(False)
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(anyio.current_time())
        return error(429, {"message": "API rate limit exceeded"}, **{"Retry-After": "4"})

    async with mock_client(handler, timeout=10.0, call_timeout=20.0, random=lambda: 0.0) as client:
        began = anyio.current_time()
        with pytest.raises(RateLimitError):
            await client.acquire(cname=CNAME, uid=UID)
    assert [t - began for t in sent] == pytest.approx([0.0, 4.0, 8.0], abs=1e-3)


async def test_429_retries_of_a_herd_do_not_come_back_together() -> None:
    """Twenty requests told the same Retry-After come back spread over the following span, not
    in the same instant (seeded jitter)."""
    stamina.set_testing(False)
    resent: list[float] = []
    seen: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        cname = json.loads(request.content)["cname"]
        if cname in seen:
            resent.append(anyio.current_time())
            return ok(IDS)
        seen.add(cname)
        return error(429, {"message": "API rate limit exceeded"}, **{"Retry-After": "2"})

    async with (
        mock_client(handler, random=random.Random(7).random) as client,
        anyio.create_task_group() as group,
    ):
        began = anyio.current_time()
        for n in range(20):
            group.start_soon(partial(client.acquire, cname=f"room{n}", uid=UID))
    offsets = sorted(t - began for t in resent)
    assert len(offsets) == 20
    assert all(2.0 <= t <= 4.0 for t in offsets)
    assert len({round(t, 3) for t in offsets}) == 20
    assert offsets[-1] - offsets[0] > 1.0


async def test_start_is_not_retried_after_the_resource_expired() -> None:
    """A start whose resource ID is older than its 5-minute life gets no retry; its 500 code
    62 may have started a recording, so it is listed without a sid and raised at close."""
    script = Script(ok(IDS), error(500, {"code": 62, "reason": "request timeout"}))
    async with mock_client(script) as client:
        await client.acquire(cname=CNAME, uid=UID)
        await anyio.sleep(301.0)
        with pytest.raises(ServerError):
            await client.start(
                RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
            )
        assert [entry.sid for entry in client.unconfirmed()] == [None]
        with pytest.raises(UnconfirmedRecordingsError):
            await client.aclose()
    assert len(script.requests) == 2


async def test_start_is_retried_while_the_resource_is_fresh() -> None:
    """Within the resource's validity a failed start is retried."""
    script = Script(ok(IDS), error(500, {"code": 62}), ok(STARTED))
    async with mock_client(script) as client:
        await client.acquire(cname=CNAME, uid=UID)
        await anyio.sleep(2.0)
        await client.start(
            RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
        )
    assert len(script.requests) == 3


def test_poll_budget_stretches_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    """Many sessions stretch the interval to fit half the rate; fewer bring it back; logged once."""
    budget = PollBudget(10.0)
    caplog.set_level(logging.INFO, logger="agora_recording")
    for _ in range(1000):
        budget.join()
    assert budget.interval(15.0) == pytest.approx(200.0)
    assert budget.interval(15.0) == pytest.approx(200.0)
    for _ in range(950):
        budget.leave()
    assert budget.interval(15.0) == 15.0
    messages = [r.getMessage() for r in caplog.records]
    assert sum("instead of" in m for m in messages) == 1
    assert sum("back to every" in m for m in messages) == 1
    assert PollBudget(None).interval(15.0) == 15.0


def test_limiter_arguments_are_checked() -> None:
    """Rates must be positive and finite; bursts positive integers; waits seconds >= 0."""
    for rate in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="rate"):
            RateLimiter(rate)
    with pytest.raises(TypeError):
        RateLimiter("10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(10, burst=0)
    for wait in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="health_wait"):
            RateLimiter(10, health_wait=wait)
    assert repr(RateLimiter(2.5, burst=2)) == "RateLimiter(rate=2.5, burst=2)"
