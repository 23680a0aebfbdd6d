"""The Redis lease store as a start journal, and a janitor that survives bad data.

Against a real redis-server and the in-process emulator. A dead worker is simulated by
deleting its presence key (what its lapse does), a stalled Redis with ``CLIENT PAUSE``.
"""

from __future__ import annotations

import logging

import anyio
import pytest
from agora_recording import Mode, RecordingClient
from agora_recording.testing import EmulatedService
from agora_recording.webhooks import NotificationHub, parse

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

from agora_recording._journal import StartIntent, StartJournal  # noqa: E402
from agora_recording.redis import (  # noqa: E402
    RESOURCE_LIFETIME,
    LeaseStore,
    RedisUnavailableError,
)

BEGAN = 1_800_000_000.0


def _intent(resource_id: str = "res-1", cname: str = "room") -> StartIntent:
    return StartIntent(
        resource_id=resource_id, cname=cname, uid="999", mode=Mode.MIX, began_at=BEGAN
    )


async def _gone(redis: object, store: LeaseStore) -> None:
    """The worker behind ``store`` died: its presence lapsed."""
    await redis.delete(f"{store.namespace}:worker:{store.worker_id}")  # type: ignore[attr-defined]


async def test_the_store_journals_a_start_from_intent_to_lease(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """begin lists the intent under its owner; started turns it into the sid's lease at once."""
    store = lease_store(redis, namespace, "worker-a")
    assert isinstance(store, StartJournal)
    handle = await started_mix(service, "room")
    intent = _intent(handle.resource_id)
    await store.begin(intent)
    (pending,) = await store.intents()
    assert (pending.intent, pending.owner, pending.owner_alive) == (intent, "worker-a", True)
    assert not pending.unresolved
    await store.started(intent, handle)
    assert await store.intents() == []
    assert [(lease.handle, lease.owner) for lease in await store.leases()] == [(handle, "worker-a")]


async def test_a_refused_start_is_forgotten_and_an_unresolved_one_kept(
    redis: object, namespace: str
) -> None:
    """refused drops the intent; unresolved keeps it, marked for a janitor."""
    store = lease_store(redis, namespace, "worker-a")
    await store.begin(_intent("res-1"))
    await store.begin(_intent("res-2"))
    await store.refused(_intent("res-1"))
    await store.unresolved(_intent("res-2"))
    (pending,) = await store.intents()
    assert pending.intent.resource_id == "res-2"
    assert pending.unresolved


async def test_record_makes_the_session_journal_to_the_store(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """`record` hands the store to the session as its journal before entering it."""
    store = lease_store(redis, namespace, "worker-a")
    session = room_session(service)
    async with store.record(session):
        assert session._journal is store  # what the session writes its start to
    assert await store.leases() == []


async def test_a_stalled_redis_fails_a_journal_write_within_its_bound(
    redis: object, redis_url: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Writes paused in Redis for 3 s: begin raises within its 0.2 s bound, with a WARNING."""
    store = lease_store(redis, namespace, "worker-a", write_timeout=0.2)
    pauser = redis_asyncio.Redis.from_url(redis_url)
    await pauser.execute_command("CLIENT", "PAUSE", 3000, "WRITE")
    try:
        began = anyio.current_time()
        with (
            caplog.at_level(logging.WARNING, "agora_recording.redis"),
            pytest.raises(RedisUnavailableError, match=r"0\.2 s"),
        ):
            await store.begin(_intent())
        assert anyio.current_time() - began < 2.0
    finally:
        await pauser.execute_command("CLIENT", "UNPAUSE")
        await pauser.aclose()
    assert any("did not record" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.WARNING for r in caplog.records)


async def test_an_intent_of_a_gone_worker_expires_with_the_resource(
    redis: object, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With no hub, a lapsed intent is kept until its resource ID expires, then an ERROR."""
    dead = lease_store(redis, namespace, "dead")
    await dead.begin(_intent(cname="class-42"))
    now = [BEGAN + 10]
    janitor = lease_store(redis, namespace, "janitor", clock=lambda: now[0])
    await janitor.resolve_intents()
    assert len(await janitor.intents()) == 1  # its owner lives
    await _gone(redis, dead)
    await janitor.resolve_intents()
    assert len(await janitor.intents()) == 1  # the resource could still start something
    now[0] = BEGAN + RESOURCE_LIFETIME + 1
    with caplog.at_level(logging.ERROR, "agora_recording.redis"):
        await janitor.resolve_intents()
        await janitor.resolve_intents()
    assert await janitor.intents() == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "class-42" in errors[0]


async def test_the_janitor_finds_an_unleased_recording_by_its_notifications(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """A start whose worker died unanswered: the hub's events for its pair lead to its stop."""
    hub = NotificationHub()
    old = await started_mix(service, "room")
    await service.client.stop(old)
    new = await started_mix(service, "room")
    dead = lease_store(redis, namespace, "dead")
    intent = StartIntent(
        resource_id=new.resource_id, cname="room", uid="999", mode=Mode.MIX, began_at=BEGAN
    )
    await dead.begin(intent)
    await _gone(redis, dead)
    janitor = lease_store(redis, namespace, "janitor", clock=lambda: BEGAN + 5)

    def note(sid: str, notice: str, sendts: float) -> None:
        payload = {"cname": "room", "uid": "999", "sid": sid, "sendts": int(sendts)}
        hub.publish(parse({"noticeId": notice, "eventType": 33, "payload": payload}))

    async with anyio.create_task_group() as group:
        await janitor.resolve_intents(hub, task_group=group)
        await anyio.wait_all_tasks_blocked()  # the listener subscribed
        note(old.sid, "n1", BEGAN * 1000 - 60_000)  # the previous recording of the pair
        await anyio.wait_all_tasks_blocked()
        note(new.sid, "n2", BEGAN * 1000 + 60_000)
    assert await janitor.intents() == []
    (lease,) = await janitor.leases()
    assert (lease.handle, lease.owner) == (new, "")
    await janitor.adopt_expired(service.client)
    assert service.emulator.running_recordings() == []


async def test_an_unreadable_record_is_set_aside_and_the_janitor_goes_on(
    redis: object, namespace: str, service: EmulatedService, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage in the handles hash is moved aside with one ERROR; the real orphan is stopped."""
    handle = await started_mix(service, "room")
    dead = lease_store(redis, namespace, "dead")
    await dead.acquire(handle)
    await dead.hand_over(handle)
    await redis.hset(f"{namespace}:handles", "garbage", b"\xff{not json")  # type: ignore[attr-defined]
    await redis.hset(f"{namespace}:handles", "wrong", '{"handle": {"sid": 3}}')  # type: ignore[attr-defined]
    janitor = lease_store(redis, namespace, "janitor", ttl=4)
    with caplog.at_level(logging.ERROR, "agora_recording.redis"):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: janitor.janitor(service.client, interval=0.05))
            with anyio.fail_after(10):
                while service.emulator.running_recordings():  # noqa: ASYNC110 (real processes)
                    await anyio.sleep(0.05)
                await anyio.sleep(0.2)  # a few more rounds
            group.cancel_scope.cancel()
    assert janitor.unreadable == 2
    assert await janitor.leases() == []
    aside = await redis.hkeys(f"{namespace}:unreadable")  # type: ignore[attr-defined]
    assert sorted(aside) == [
        f"{namespace}:handles:garbage".encode(),
        f"{namespace}:handles:wrong".encode(),
    ]
    unreadable = [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(unreadable) == 2


async def test_a_recording_refused_for_good_backs_off_then_becomes_a_dead_letter(
    redis: object, namespace: str, service: EmulatedService
) -> None:
    """Stops refused with 401 are retried after a doubling back-off, then listed and clearable."""
    handle = await started_mix(service, "room")
    dead = lease_store(redis, namespace, "dead")
    await dead.acquire(handle)
    await dead.hand_over(handle)
    locked_out = RecordingClient(
        app_id=service.client.app_id,
        customer_id=service.emulator.customer_id,
        customer_secret="not-the-secret",
        http_client=service.http_client,
        rate_limit=None,
    )
    janitor = lease_store(redis, namespace, "janitor", ttl=10, max_refusals=3)
    lease_key = f"{namespace}:lease:{handle.sid}"
    backoffs = []
    for _ in range(2):
        assert len(await janitor.adopt_expired(locked_out)) == 1
        assert await janitor.expired() == []  # held through the back-off
        backoffs.append(await redis.pttl(lease_key))  # type: ignore[attr-defined]
        await redis.delete(lease_key)  # type: ignore[attr-defined]
    assert 5_000 < backoffs[0] <= 10_000
    assert 15_000 < backoffs[1] <= 20_000
    assert await janitor.dead_letters() == []
    await janitor.adopt_expired(locked_out)
    (letter,) = await janitor.dead_letters()
    assert (letter.key, letter.handle, letter.refusals) == (handle.sid, handle, 3)
    assert "401" in letter.error
    assert await janitor.leases() == []
    assert await janitor.adopt_expired(locked_out) == []
    assert await janitor.clear_dead_letter(handle.sid)
    assert await janitor.dead_letters() == []
    assert not await janitor.clear_dead_letter(handle.sid)
