"""Leases on recordings in a real redis-server, against the in-process emulator.

A dead worker is simulated with `LeaseStore.hand_over` (the lease disappears at once, as it
does when its time runs out unrenewed), so no test waits for a lease to expire; the real
expiry after SIGKILL is exercised with real processes in ``test_redis_fleet.py``.
"""

from __future__ import annotations

import anyio
import pytest
from agora_recording import PollingOptions, RecordingSession, converter
from agora_recording.testing import EmulatedService

from tests.redis_fixtures import (  # noqa: F401 (fixtures: anyio_backend, namespace, service)
    lease_store,
    redis_anyio_backend,
    redis_namespace,
    redis_service,
    room_session,
    started_mix,
)
from tests.redis_worker import REDIS_SERVER, REQUIRES_REDIS

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS),
    pytest.mark.anyio,
]

redis_asyncio = pytest.importorskip("redis.asyncio", reason="the redis package is not installed")

from agora_recording.redis import Lease, LeaseLostError, LeaseStore  # noqa: E402


async def test_a_recording_is_leased_while_it_runs_and_forgotten_once_stopped(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """`record` lists the recording under this worker while it runs and drops it after stop."""
    store = lease_store(redis, namespace, "worker-a")
    session = room_session(service)
    async with store.record(session, metadata={"until": "later"}) as running:
        leases = await store.leases()
        assert leases == [
            Lease(handle=running.handle, owner="worker-a", metadata={"until": "later"})  # type: ignore[arg-type]
        ]
    assert await store.leases() == []
    assert service.emulator.running_recordings() == []


async def test_the_lease_is_renewed_while_the_body_runs(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """A body running for several lease times keeps its lease: nobody can claim it."""
    store = lease_store(redis, namespace, "worker-a", ttl=0.3)
    rival = lease_store(redis, namespace, "worker-b", ttl=0.3)
    handle = await started_mix(service, "room")
    async with store.hold(handle):
        for _ in range(6):
            await anyio.sleep(0.1)
            assert await rival.claim_expired() == []
    assert [lease.owner for lease in await store.leases()] == ["worker-a"]


async def test_exactly_one_worker_wins_an_expired_lease(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """Twenty workers claiming the same expired lease at once: exactly one wins it."""
    dead = lease_store(redis, namespace, "dead")
    handle = await started_mix(service, "room")
    assert await dead.acquire(handle)
    assert await dead.hand_over(handle)
    stores = [lease_store(redis, namespace, f"worker-{n}") for n in range(20)]
    wins: list[bool] = []

    async def claim(store: LeaseStore) -> None:
        wins.append(await store.claim(handle))

    async with anyio.create_task_group() as group:
        for store in stores:
            group.start_soon(claim, store)
    assert wins.count(True) == 1
    assert await stores[0].expired() == []


async def test_the_janitor_stops_an_orphan_exactly_once(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """A janitor round stops a recording whose lease expired; a second round finds nothing."""
    handle = await started_mix(service, "room")
    dead = lease_store(redis, namespace, "dead")
    await dead.acquire(handle)
    await dead.hand_over(handle)
    janitors = [lease_store(redis, namespace, f"janitor-{n}") for n in range(3)]
    won: list[list[Lease]] = []

    async def round_of(store: LeaseStore) -> None:
        won.append(await store.adopt_expired(service.client))

    async with anyio.create_task_group() as group:
        for store in janitors:
            group.start_soon(round_of, store)
    assert sorted(len(w) for w in won) == [0, 0, 1]
    assert service.emulator.running_recordings() == []
    assert service.emulator.stats.requests(endpoint="stop") == 1
    assert await janitors[0].leases() == []
    assert await janitors[0].adopt_expired(service.client) == []


async def test_the_janitor_can_continue_a_recording(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """With an ``adopt`` coroutine, the adopted recording runs until it returns, then stops."""
    handle = await started_mix(service, "room")
    dead = lease_store(redis, namespace, "dead")
    await dead.acquire(handle, {"until": "end-of-class"})
    await dead.hand_over(handle)
    janitor = lease_store(redis, namespace, "janitor")
    seen: list[tuple[str, str, bool]] = []

    async def adopt(session: RecordingSession, lease: Lease) -> None:
        assert session.handle == handle
        running = [r.sid for r in service.emulator.running_recordings()]
        owners = [lease.owner for lease in await janitor.leases()]
        seen.append((lease.metadata["until"], owners[0], handle.sid in running))

    won = await janitor.adopt_expired(
        service.client,
        adopt=adopt,
        session_options={"polling": PollingOptions(first_poll_delay=60)},
    )
    assert [lease.handle for lease in won] == [handle]
    assert seen == [("end-of-class", "janitor", True)]
    assert service.emulator.running_recordings() == []
    assert await janitor.leases() == []


async def test_a_worker_that_lost_its_lease_is_told(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """Renewal that finds another owner cancels the body and raises LeaseLostError."""
    store = lease_store(redis, namespace, "slow", ttl=0.3)
    thief = lease_store(redis, namespace, "thief", ttl=30)
    handle = await started_mix(service, "room")
    reached_end = False

    async def record() -> None:
        nonlocal reached_end
        async with store.hold(handle):
            await store.hand_over(handle)  # as if this worker stalled past its lease
            assert await thief.claim(handle)
            await anyio.sleep(5)
            reached_end = True

    with pytest.raises(LeaseLostError) as caught:
        await record()
    assert not reached_end
    assert caught.value.owner == "thief"
    assert caught.value.handle == handle


async def test_stored_handles_round_trip_through_the_converter(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """The handle read back from Redis equals the one stored, as `converter` shapes it."""
    handle = await started_mix(service, "room")
    store = lease_store(redis, namespace, "worker-a")
    await store.acquire(handle)
    (lease,) = await store.leases()
    assert lease.handle == handle
    assert converter.unstructure(lease.handle) == converter.unstructure(handle)
    raw = await redis.hget(f"{namespace}:handles", handle.sid)  # type: ignore[attr-defined]
    assert b"secret" not in raw


def test_bad_lease_settings_are_refused() -> None:
    """A lease time that is not positive, or renewal no faster than it, is refused."""
    client = redis_asyncio.Redis()
    with pytest.raises(ValueError, match="ttl"):
        LeaseStore(client, ttl=0)
    with pytest.raises(ValueError, match="renew_interval"):
        LeaseStore(client, ttl=3, renew_interval=3)


async def test_the_bodys_own_exception_comes_out_as_itself(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """An error in the body is raised unwrapped, after the recording is stopped and released."""
    store = lease_store(redis, namespace, "worker-a")
    session = room_session(service)

    async def record() -> None:
        async with store.record(session):
            raise LookupError("the user's own bug")

    with pytest.raises(LookupError, match="own bug"):
        await record()
    assert service.emulator.running_recordings() == []
    assert await store.leases() == []
