"""The Redis-backed quota: one GCRA clock in a real redis-server shared by several limiters.

The slot arithmetic is checked with an injected clock (the script uses it instead of Redis's
``TIME``), so those tests are exact and never wait. The limiter tests run in real time at high
rates and assert only lower bounds (a shared quota can never be faster than its rate).
redis-py's client is asyncio-only, so these tests run under asyncio alone.
"""

from __future__ import annotations

import logging
import uuid

import anyio
import anyio.lowlevel
import pytest
from agora_recording import AgoraError, Limiter, Priority, RateLimiter, RecordingClient
from agora_recording._ratelimit import Backoff

from tests.redis_fixtures import redis_anyio_backend  # noqa: F401 (the module's anyio_backend)
from tests.redis_worker import REDIS_SERVER, REQUIRES_REDIS, free_port, redis_server

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS),
    pytest.mark.anyio,
]

redis_asyncio = pytest.importorskip("redis.asyncio", reason="the redis package is not installed")

from agora_recording.redis import RedisRateLimiter, SharedQuota  # noqa: E402


def _shared(limiter: RedisRateLimiter) -> bool:
    return limiter.using_redis


def _key() -> str:
    return f"test-quota:{uuid.uuid4().hex}"


async def test_processes_sharing_a_key_get_consecutive_slots(redis: object) -> None:
    """Three quotas on one key (three processes) book slots one interval apart, in turn."""
    key = _key()
    quotas = [SharedQuota(redis, key=key, rate=10, clock=lambda: 100.0) for _ in range(3)]  # type: ignore[arg-type]
    waits = [(await quotas[n % 3].reserve()).wait for n in range(6)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


async def test_different_keys_are_different_quotas(redis: object) -> None:
    """Another App ID's key does not queue behind this one."""
    first = SharedQuota(redis, key=_key(), rate=10, clock=lambda: 5.0)  # type: ignore[arg-type]
    other = SharedQuota(redis, key=_key(), rate=10, clock=lambda: 5.0)  # type: ignore[arg-type]
    await first.reserve()
    await first.reserve()
    assert (await other.reserve()).wait == 0.0


async def test_burst_goes_back_to_back_then_spaces(redis: object) -> None:
    """With burst 3 after a quiet spell, three slots are free at once, the fourth waits."""
    quota = SharedQuota(redis, key=_key(), rate=10, burst=3, clock=lambda: 7.0)  # type: ignore[arg-type]
    waits = [(await quota.reserve()).wait for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1])


async def test_time_frees_slots(redis: object) -> None:
    """A slot booked long ago does not delay a request made after it."""
    now = [0.0]
    quota = SharedQuota(redis, key=_key(), rate=10, clock=lambda: now[0])  # type: ignore[arg-type]
    await quota.reserve()
    now[0] = 60.0
    assert (await quota.reserve()).wait == 0.0


async def test_a_429_seen_by_one_process_pauses_the_others(redis: object) -> None:
    """A penalty stored by one process delays the next slot of another past the pause."""
    key = _key()
    hit = SharedQuota(redis, key=key, rate=10, recovery=1e6, clock=lambda: 0.0)  # type: ignore[arg-type]
    other = SharedQuota(redis, key=key, rate=10, recovery=1e6, clock=lambda: 0.0)  # type: ignore[arg-type]
    first = await hit.reserve(penalty=2.0)
    second = await other.reserve()
    assert (first.wait, first.paused) == pytest.approx((2.0, 2.0))
    assert second.wait == pytest.approx(2.2)  # the pause, then one interval at half rate
    assert second.paused == pytest.approx(2.0)


async def test_several_429s_in_one_pause_halve_the_rate_once(redis: object) -> None:
    """Processes hit by the same burst of 429s slow the quota to half, not to an eighth."""
    key = _key()
    now = [0.0]
    quotas = [
        SharedQuota(redis, key=key, rate=10, recovery=1e6, clock=lambda: now[0])  # type: ignore[arg-type]
        for _ in range(3)
    ]
    for quota in quotas:
        await quota.reserve(penalty=1.0)
    now[0] = 10.0  # the pause is over; the rate has not recovered (recovery is long)
    spacing = [(await quotas[0].reserve()).wait for _ in range(3)]
    assert spacing == pytest.approx([0.0, 0.2, 0.4], abs=1e-3)


async def test_the_script_follows_the_local_429_rule(redis: object) -> None:
    """Fed the same 429s and reservations at the same instants, the Lua script holds the same
    pause and rate as the in-process rule (`Backoff`), so local and shared limiters back off
    alike."""
    key = _key()
    now = [0.0]
    quota = SharedQuota(redis, key=key, rate=10, recovery=20, clock=lambda: now[0])  # type: ignore[arg-type]
    rule = Backoff(20.0)
    # (time, seconds of 429 pause or 0): 429s in a pause, after it, in recovery, long after.
    events = [
        (0.0, 1.0), (0.5, 1.0), (0.9, 3.0), (2.0, 0.0), (4.5, 1.0), (6.0, 0.0),
        (6.0, 2.0), (15.0, 0.0), (40.0, 0.0), (41.0, 5.0), (42.0, 1.0), (90.0, 0.0),
    ]  # fmt: skip
    for at, pause in events:
        now[0] = at
        await quota.reserve(penalty=pause)
        if pause:
            rule.penalize(at, pause)
        stored = {
            name.decode(): float(value)
            for name, value in (await redis.hgetall(key)).items()  # type: ignore[attr-defined]
        }
        shared = Backoff(20.0)
        shared.factor, shared.factor_at = stored["factor"], stored["factor_at"]
        assert stored["pause"] == pytest.approx(max(0.0, rule.paused_until), abs=1e-6), at
        for later in (at, at + 1.0, at + 10.0):
            assert shared.factor_now(later) == pytest.approx(rule.factor_now(later), abs=1e-6)


async def test_the_rate_climbs_back_after_the_pause(redis: object) -> None:
    """Halfway through ``recovery`` after the pause, the rate is three quarters of the full one."""
    now = [0.0]
    quota = SharedQuota(redis, key=_key(), rate=10, recovery=20, clock=lambda: now[0])  # type: ignore[arg-type]
    await quota.reserve(penalty=1.0)  # paused until 1 s, then at half rate
    now[0] = 11.0  # 10 s into a 20 s recovery
    spacing = [(await quota.reserve()).wait for _ in range(2)]
    assert spacing == pytest.approx([0.0, 1 / 7.5], abs=1e-3)
    now[0] = 40.0
    spacing = [(await quota.reserve()).wait for _ in range(2)]
    assert spacing == pytest.approx([0.0, 0.1], abs=1e-6)


async def test_an_unused_slot_is_given_back(redis: object) -> None:
    """A reservation given back (its request was cancelled) frees its slot for the next one."""
    quota = SharedQuota(redis, key=_key(), rate=10, clock=lambda: 3.0)  # type: ignore[arg-type]
    await quota.reserve()
    abandoned = await quota.reserve()
    assert await quota.give_back(abandoned)
    assert (await quota.reserve()).wait == pytest.approx(0.1)


def test_bad_settings_are_refused() -> None:
    """Rates, bursts and keys that make no sense are refused before any request."""
    client = redis_asyncio.Redis()
    with pytest.raises(ValueError, match="rate"):
        SharedQuota(client, key="k", rate=0)
    with pytest.raises(ValueError, match="burst"):
        SharedQuota(client, key="k", burst=0)
    with pytest.raises(ValueError, match="key"):
        SharedQuota(client, key="")
    with pytest.raises(ValueError, match="expected_workers"):
        RedisRateLimiter(client, key="k", expected_workers=0)


def test_a_redis_limiter_is_a_limiter_the_client_accepts() -> None:
    """`RecordingClient(rate_limit=RedisRateLimiter(...))` uses it as its limiter."""
    limiter = RedisRateLimiter(redis_asyncio.Redis(), key="quota:app", rate=10)
    assert isinstance(limiter, Limiter)
    client = RecordingClient(
        app_id="app", customer_id="id", customer_secret="secret", rate_limit=limiter
    )
    assert client.limiter is limiter
    assert limiter.rate == 10.0


def test_repr_shows_no_redis_password() -> None:
    """A password in the Redis URL never shows in the limiter's repr."""
    client = redis_asyncio.Redis.from_url("redis://user:hunter2-password@127.0.0.1:1/0")
    assert "hunter2" not in repr(RedisRateLimiter(client, key="quota:app"))


async def test_limiters_sharing_a_key_stay_under_the_rate_together(redis: object) -> None:
    """Three limiters on one key grant 30 slots no faster than the one shared rate allows."""
    key = _key()
    limiters = [RedisRateLimiter(redis, key=key, rate=50) for _ in range(3)]  # type: ignore[arg-type]
    began = anyio.current_time()
    async with anyio.create_task_group() as group:
        for n in range(30):
            group.start_soon(limiters[n % 3].acquire, Priority.POLL)
    assert anyio.current_time() - began >= 29 / 50 - 0.02
    assert sum(limiter.stats["poll"] for limiter in limiters) == 30


async def test_stops_go_before_polls_in_the_local_queue(redis: object) -> None:
    """A stop queued after three polls gets the next slot of this process."""
    limiter = RedisRateLimiter(redis, key=_key(), rate=20)  # type: ignore[arg-type]
    await limiter.acquire(Priority.POLL)
    order: list[str] = []

    async def request(name: str, priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(name)

    async with anyio.create_task_group() as group:
        for name in ("poll-1", "poll-2", "poll-3"):
            group.start_soon(request, name, Priority.POLL)
            await anyio.lowlevel.checkpoint()
        assert limiter.waiting() == 3
        group.start_soon(request, "stop", Priority.STOP)
        await anyio.lowlevel.checkpoint()
        assert limiter.waiting(Priority.STOP) == 1
    assert order == ["poll-1", "stop", "poll-2", "poll-3"]


async def test_a_health_poll_goes_ahead_of_starts_once_it_waited_health_wait(
    redis: object,
) -> None:
    """Behind a second of starts queued in this process, a health poll gets a Redis slot once
    it has waited ``health_wait`` (0.3 s here, 15 slots at 50 per second), not after them all."""
    limiter = RedisRateLimiter(redis, key=_key(), rate=50, health_wait=0.3)  # type: ignore[arg-type]
    await limiter.acquire(Priority.START)
    order: list[Priority] = []

    async def request(priority: Priority) -> None:
        await limiter.acquire(priority)
        order.append(priority)

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(request, Priority.START)
        await anyio.lowlevel.checkpoint()
        group.start_soon(request, Priority.HEALTH)
    assert len(order) == 51
    assert order.index(Priority.HEALTH) <= 20  # at most 16 slots in 0.3 s; 50 take a second


def test_the_health_wait_is_the_local_limiters_and_checked_the_same_way() -> None:
    """The shared limiter's health_wait defaults to the in-process one's and is refused alike."""
    client = redis_asyncio.Redis()
    assert RedisRateLimiter(client, key="k").health_wait == RateLimiter(10).health_wait == 60.0
    assert RedisRateLimiter(client, key="k", health_wait=0).health_wait == 0.0
    for bad in (-1, float("inf"), "60", True):
        with pytest.raises(ValueError, match="health_wait"):
            RedisRateLimiter(client, key="k", health_wait=bad)  # type: ignore[arg-type]


async def test_a_penalty_slows_the_fleet_and_is_not_counted_as_queueing(redis: object) -> None:
    """After one limiter's 429, another waits out the pause; the pause is not queue time."""
    key = _key()
    hit, other = (RedisRateLimiter(redis, key=key, rate=10) for _ in range(2))  # type: ignore[arg-type]
    hit.penalize(0.5)
    began = anyio.current_time()
    queued = await hit.acquire(Priority.STOP)
    assert anyio.current_time() - began >= 0.5 - 0.02
    assert queued < 0.25
    await other.acquire(Priority.STOP)
    assert anyio.current_time() - began >= 0.5 + 1 / 5 - 0.02  # half rate after the pause


async def test_cancelled_request_gives_its_slot_back(redis: object) -> None:
    """A request cancelled while waiting for its Redis slot does not push later ones back."""
    key = _key()
    limiter = RedisRateLimiter(redis, key=key, rate=2)  # type: ignore[arg-type]
    await limiter.acquire()
    with anyio.move_on_after(0.05):
        await limiter.acquire()  # booked 0.5 s ahead, then cancelled
    quota = SharedQuota(redis, key=key, rate=2)  # type: ignore[arg-type]
    assert (await quota.reserve()).wait <= 0.5


async def test_redis_outage_falls_back_locally_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With Redis gone, slots come from the local limiter (one warning); then Redis again."""
    port = free_port()
    client = redis_asyncio.Redis(host="127.0.0.1", port=port, retry=None)
    limiter = RedisRateLimiter(
        client, key=_key(), rate=100, expected_workers=4, retry_interval=1e-3
    )
    caplog.set_level(logging.WARNING, logger="agora_recording.redis")
    with redis_server(port=port):
        await limiter.acquire()
        assert _shared(limiter)
    for _ in range(5):
        await limiter.acquire(Priority.STOP)
    assert not _shared(limiter)
    assert limiter.stats["fallback"] == 5
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1
    assert "25 requests/s" in unreachable[0].getMessage()
    with redis_server(port=port):
        await anyio.sleep(2e-3)  # past retry_interval
        await limiter.acquire()
        assert _shared(limiter)
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    await client.aclose()


async def test_lease_store_errors_are_agora_errors() -> None:
    """A lease operation with Redis down raises an AgoraError naming the operation."""
    from agora_recording.models import RecordingHandle
    from agora_recording.redis import LeaseStore, RedisUnavailableError

    client = redis_asyncio.Redis(host="127.0.0.1", port=free_port(), retry=None)
    store = LeaseStore(client)
    handle = RecordingHandle(resource_id="r", sid="s", mode="mix", cname="c", uid="1")
    with pytest.raises(RedisUnavailableError, match="taking a lease") as caught:
        await store.acquire(handle)
    assert isinstance(caught.value, AgoraError)
    await client.aclose()
