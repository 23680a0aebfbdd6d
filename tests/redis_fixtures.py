"""For test modules on a real redis-server: ``from tests.redis_fixtures import
redis_anyio_backend`` runs them on asyncio, the only backend redis.asyncio supports (the
``redis_url`` and ``redis`` fixtures live in ``conftest.py``); ``redis_namespace`` and
``redis_service``, imported the same way, are the ``namespace`` and ``service`` fixtures: a
test's keys of its own and an in-process emulator."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from agora_recording import Mode, PollingOptions, RecordingHandle, RecordingSession
from agora_recording.testing import EmulatedService, emulated_client

from tests.redis_worker import _start_config

if TYPE_CHECKING:
    from agora_recording.redis import LeaseStore


@pytest.fixture(name="anyio_backend")
def redis_anyio_backend() -> str:
    """redis.asyncio runs under asyncio only."""
    return "asyncio"


@pytest.fixture(name="namespace")
def redis_namespace(request: pytest.FixtureRequest) -> str:
    """Keys of this test only."""
    return f"{request.module.__name__.rpartition('.')[2]}:{uuid.uuid4().hex}"


@pytest.fixture(name="service")
async def redis_service() -> AsyncIterator[EmulatedService]:
    """An in-process emulator whose recordings are healthy at once."""
    async with emulated_client(startup_delay=0, max_concurrent_recordings=None) as service:
        yield service


def lease_store(redis: object, namespace: str, worker: str, **options: Any) -> LeaseStore:
    """The lease store of worker ``worker`` in the test's ``namespace``."""
    from agora_recording.redis import LeaseStore  # needs the redis package

    return LeaseStore(redis, namespace=namespace, worker_id=worker, **options)  # type: ignore[arg-type]


def room_session(service: EmulatedService) -> RecordingSession:
    """A mix-mode session of channel ``room``, whose publisher is there, first polled after a
    minute."""
    service.channel("room").publish(1)
    return service.client.session(
        cname="room",
        uid="999",
        mode=Mode.MIX,
        config=_start_config(),
        polling=PollingOptions(first_poll_delay=60),
    )


async def started_mix(service: EmulatedService, cname: str) -> RecordingHandle:
    """Start a mix-mode recording of ``cname``, whose publisher is there; return its handle."""
    service.channel(cname).publish(1)
    acquired = await service.client.acquire(cname=cname, uid="999")
    assert acquired.resource_id is not None
    started = await service.client.start(
        acquired.resource_id, Mode.MIX, cname=cname, uid="999", config=_start_config()
    )
    return started.handle
