"""Fleets in virtual time: the emulator on a LoopClock under Trio's MockClock and looptime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import httpx
import pytest
from agora_recording import Mode
from agora_recording.emulator import DEFAULT_FAKE_EPOCH, LoopClock, SignedNotification
from agora_recording.errors import NotFoundError
from agora_recording.models import (
    AcquireConfig,
)
from agora_recording.testing import (
    DEFAULT_APP_ID,
    DEFAULT_CUSTOMER_ID,
    DEFAULT_CUSTOMER_SECRET,
    EmulatedService,
    emulated_client,
    virtual_service,
)
from trio.testing import MockClock

from tests.helpers import emulated_config, web_config
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(subscribe_uid_group=0)
WEB = web_config()
AUTH = httpx.BasicAuth(DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET)
ACQUIRE = f"http://emulator.invalid/v1/apps/{DEFAULT_APP_ID}/cloud_recording/acquire"


async def acquire_raw(service: EmulatedService, cname: str = "room") -> httpx.Response:
    """One acquire straight over HTTP, bypassing the client's own rate limit."""
    body = {"cname": cname, "uid": "99", "clientRequest": {}}
    return await service.http_client.post(ACQUIRE, json=body, auth=AUTH)


async def test_loop_clock_follows_the_event_loop() -> None:
    """A LoopClock starts at its start time and moves exactly as far as the loop sleeps."""
    clock = LoopClock(start=1_000.0)
    first = clock.time()
    await anyio.sleep(3600)
    assert first == 1_000.0
    assert clock.time() == pytest.approx(4_600.0)
    assert repr(clock) == "LoopClock(time=4600.0)"


def test_loop_clock_outside_a_loop_answers_the_last_reading() -> None:
    """Outside any event loop a LoopClock reports the last time it read (start if never)."""
    clock = LoopClock()
    assert clock.time() == DEFAULT_FAKE_EPOCH

    async def wait() -> None:
        clock.time()
        await anyio.sleep(10)
        clock.time()

    anyio.run(wait, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)})
    assert clock.time() == pytest.approx(DEFAULT_FAKE_EPOCH + 10)


async def test_status_climbs_with_virtual_time() -> None:
    """Status goes 0 -> 5 over startup_delay as the loop sleeps, with no advance() call."""
    async with virtual_service() as service:
        service.channel("room").publish(7)
        acquired = await service.client.acquire(cname="room", uid="99")
        assert acquired.resource_id is not None
        started = await service.client.start(
            acquired.resource_id, "individual", cname="room", uid="99", config=CONFIG
        )
        before = (await service.client.query(started.handle)).status
        await anyio.sleep(4)
        after = (await service.client.query(started.handle)).status
    assert (before, after) == (0, 5)


async def test_advance_is_refused_on_the_loop_clock() -> None:
    """On a LoopClock advance() raises TypeError pointing at sleeping instead."""
    async with virtual_service() as service:
        with pytest.raises(TypeError, match="sleep"):
            service.advance(5)


async def test_an_hour_of_a_fleet_runs_in_virtual_time() -> None:
    """Fifty sessions record for an hour of virtual time: all stopped, no 429, progress events
    every minute stamped at the virtual instant they were sent."""
    sent_at: list[tuple[float, SignedNotification]] = []
    clock = LoopClock()

    def note(notification: SignedNotification) -> None:
        sent_at.append((clock.time(), notification))

    async with virtual_service(
        clock=clock, on_notification=note, max_concurrent_recordings=None
    ) as service:
        began = anyio.current_time()

        async def record(n: int) -> None:
            service.channel(f"room-{n}").publish(1)
            session = service.client.session(
                cname=f"room-{n}", uid="9", mode=Mode.INDIVIDUAL, config=CONFIG, poll_interval=600
            )
            async with session:
                await anyio.sleep(3600)

        async with anyio.create_task_group() as group:
            for n in range(50):
                group.start_soon(record, n)
        elapsed = anyio.current_time() - began
        running = service.emulator.running_recordings()
        stats = service.emulator.stats
    assert elapsed >= 3600
    assert running == []
    assert stats.requests(endpoint="stop") == 50
    assert stats.requests(endpoint="query") >= 50 * 5
    assert stats.rate_limited() == 0
    progress = [(t, n.notification) for t, n in sent_at if n.event_type == 33]
    assert len(progress) >= 50 * 59
    assert all(round(t * 1000) == n.sendts == n.notify_ms for t, n in progress)


async def start_with_a_listener(service: EmulatedService, *, max_idle_time: int) -> None:
    """User 7 joins "room" without publishing, and an individual recording of it starts, to
    exit after ``max_idle_time`` s with nobody in the channel."""
    service.channel("room").join(7)
    acquired = await service.client.acquire(cname="room", uid="99")
    assert acquired.resource_id is not None
    config = emulated_config(subscribe_uid_group=0, max_idle_time=max_idle_time)
    await service.client.start(
        acquired.resource_id, "individual", cname="room", uid="99", config=config
    )


async def test_idle_exit_is_notified_at_the_virtual_instant() -> None:
    """With nobody in the channel for maxIdleTime the exit events (41, 31, 11) are emitted at
    exactly that virtual time, with no request looking."""
    emitted: list[tuple[int, float]] = []
    async with virtual_service(
        on_notification=lambda n: emitted.append((n.event_type, anyio.current_time()))
    ) as service:
        await start_with_a_listener(service, max_idle_time=30)
        await anyio.sleep(10)
        left = anyio.current_time()
        service.channel("room").leave(7)
        await anyio.sleep(60)
        running = service.emulator.running_recordings()
    exits = [(event, at - left) for event, at in emitted if event in (41, 31, 11)]
    assert [event for event, _ in exits] == [41, 31, 11]
    assert all(after == pytest.approx(30) for _, after in exits)
    assert running == []


async def test_quota_answers_429_with_retry_after_and_refills_in_virtual_time() -> None:
    """Twelve calls in one instant: ten pass, two get 429 with Retry-After; a virtual second
    later calls pass again, and the stats count both kinds."""
    async with virtual_service() as service:
        answers = [await acquire_raw(service) for _ in range(12)]
        await anyio.sleep(1)
        later = await acquire_raw(service)
        stats = service.emulator.stats
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 10 + [429] * 2
    assert answers[-1].headers["retry-after"] == "1"
    assert answers[-1].json() == {"message": "API rate limit exceeded"}
    assert later.status_code == 200
    assert stats.requests(DEFAULT_APP_ID, "acquire") == 13
    assert stats.rate_limited(DEFAULT_APP_ID) == 2
    assert stats.answered(429) == 2
    assert stats.admitted(DEFAULT_APP_ID) == 11


async def test_competing_load_takes_its_share_of_the_quota() -> None:
    """Another process taking 6 req/s of a 10 req/s quota leaves about 4 req/s: over 10 virtual
    seconds of trying every 50 ms, about 40 calls pass; without the load all 10 per second."""
    async with virtual_service() as service:
        for _ in range(10):  # empty the burst
            await acquire_raw(service)
        assert service.emulator.add_competing_load(DEFAULT_APP_ID, 6) == 6
        loaded = await _tries_for(service, seconds=10)
        service.emulator.clear_competing_load()
        free = await _tries_for(service, seconds=10)
        share = service.emulator.stats.quota_share(DEFAULT_APP_ID, 20)
    assert 38 <= loaded.count(200) <= 41
    assert 98 <= free.count(200) <= 101
    assert share == pytest.approx((10 + loaded.count(200) + free.count(200)) / 200)


async def test_a_load_above_the_quota_starves_the_app_id() -> None:
    """A competing load above the quota leaves nothing: calls get 429 with Retry-After, while
    another App ID's quota is untouched."""
    async with virtual_service() as service:
        service.emulator.add_competing_load(DEFAULT_APP_ID, 12)
        await anyio.sleep(5)
        answers = [await acquire_raw(service) for _ in range(20)]
        other = await service.http_client.post(
            ACQUIRE.replace(DEFAULT_APP_ID, "other-app"),
            json={"cname": "room", "uid": "99", "clientRequest": {}},
            auth=AUTH,
        )
    # The bucket started full: the load drained its ten tokens during the five seconds.
    assert {a.status_code for a in answers} == {429}
    assert all(a.headers["retry-after"] == "1" for a in answers)
    assert other.status_code == 200


async def test_competing_load_needs_a_rate_limit() -> None:
    """Without the emulator's rate limit there is no quota to compete for."""
    async with virtual_service(rate_limit=None) as service:
        with pytest.raises(RuntimeError, match="rate_limit"):
            service.emulator.add_competing_load(DEFAULT_APP_ID, 1)


async def test_web_recording_stops_at_max_recording_hour_on_time() -> None:
    """A web recording with maxRecordingHour 1 emits 71 (code 1), 31, 11 one virtual hour after
    its start, with nobody querying."""
    emitted: list[tuple[int, float, Mapping[str, Any]]] = []
    async with virtual_service(
        on_notification=lambda n: emitted.append(
            (n.event_type, anyio.current_time(), n.notification.details)
        )
    ) as service:
        acquired = await service.client.acquire(
            cname="room", uid="99", config=AcquireConfig(scene=1)
        )
        assert acquired.resource_id is not None
        await service.client.start(acquired.resource_id, "web", cname="room", uid="99", config=WEB)
        began = anyio.current_time()
        await anyio.sleep(4000)
        running = service.emulator.running_recordings()
    exits = [(event, at - began) for event, at, _ in emitted if event in (71, 31, 11)]
    assert [event for event, _ in exits] == [71, 31, 11]
    assert all(after == pytest.approx(3600) for _, after in exits)
    assert next(d for e, _, d in emitted if e == 71)["code"] == 1
    assert running == []


async def _tries_for(service: EmulatedService, *, seconds: float) -> list[int]:
    """Try an acquire every 50 ms of virtual time for ``seconds``; return the statuses."""
    statuses = []
    for _ in range(round(seconds / 0.05)):
        statuses.append((await acquire_raw(service)).status_code)
        await anyio.sleep(0.05)
    return statuses


async def test_emulated_client_on_a_loop_clock_settles_lazily() -> None:
    """emulated_client(clock=LoopClock()) needs no driver for what requests look at: status and
    an injected death follow virtual time on the next query."""
    async with emulated_client(clock=LoopClock()) as service:
        service.emulator.faults.die_after(60)
        service.channel("room").publish(7)
        acquired = await service.client.acquire(cname="room", uid="99")
        assert acquired.resource_id is not None
        started = await service.client.start(
            acquired.resource_id, "individual", cname="room", uid="99", config=CONFIG
        )
        await anyio.sleep(5)
        healthy = await service.client.query(started.handle)
        await anyio.sleep(60)
        with pytest.raises(NotFoundError):
            await service.client.query(started.handle)
    assert healthy.status == 5


async def test_virtual_service_stops_its_driver_on_exit() -> None:
    """Leaving virtual_service cancels the timer driver: the loop has nothing left to run and
    timers set later fire only when someone looks."""
    async with virtual_service() as service:
        service.channel("room").join(7)
        acquired = await service.client.acquire(cname="room", uid="99")
        assert acquired.resource_id is not None
        await service.client.start(
            acquired.resource_id, "individual", cname="room", uid="99", config=CONFIG
        )
    seen = len(service.emulator.notifications)
    await anyio.sleep(600)
    assert len(service.emulator.notifications) == seen
    service.emulator.settle()
    assert len(service.emulator.notifications) > seen


async def test_a_second_driver_leaving_does_not_deafen_the_first() -> None:
    """With an extra run_timers() started and stopped beside virtual_service's driver, a timer
    set afterwards still fires at its exact virtual instant."""
    emitted: list[tuple[int, float]] = []
    async with virtual_service(
        on_notification=lambda n: emitted.append((n.event_type, anyio.current_time()))
    ) as service:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: service.emulator.run_timers())
            await anyio.sleep(1)
            group.cancel_scope.cancel()
        await start_with_a_listener(service, max_idle_time=5)
        await anyio.sleep(7)
        emptied = anyio.current_time()
        service.channel("room").leave(7)
        await anyio.sleep(100)
    exits = [at - emptied for event, at in emitted if event == 41]
    assert exits == [pytest.approx(5)]
