"""Shared fixtures: every async test runs under asyncio and Trio, and retries never sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import stamina
from hypothesis import settings

from tests.redis_worker import redis_server

# Speed is measured in benchmarks/, never asserted: Hypothesis's per-example deadline would fail
# tests on a loaded machine (CI runs the suite on every core) for no fault of the code.
settings.register_profile("agora-recording", deadline=None)
settings.load_profile("agora-recording")


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Make stamina's backoff instant so retry tests do not sleep."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    return str(request.param)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """One throwaway redis-server per test module (each test uses its own keys or namespace)."""
    with redis_server() as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[object]:
    """A client of the module's redis-server."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()
