"""Shared fixtures: every async test runs under asyncio and Trio, retries never sleep, and one
standalone emulator fixture (`served`) serves every module that talks to it over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import stamina
from agora_recording.emulator import SystemClock
from agora_recording.testing import ServedEmulator, serve
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


@pytest.fixture(scope="module")
def served_options() -> dict[str, Any]:
    """The `served` emulator's options: the system clock (the CLI and worker processes read the
    same one), recordings healthy at once, no cap on concurrent ones. A module that needs others
    overrides this fixture (it may ask for this one, to change a few); ``"per_test": True`` among
    them gives each test an emulator of its own instead of the module's shared one."""
    return {"clock": SystemClock(), "startup_delay": 0.0, "max_concurrent_recordings": None}


def _serving(options: dict[str, Any]) -> Iterator[ServedEmulator]:
    options = dict(options)
    options.pop("per_test", None)
    with serve(**options) as server:
        yield server


@pytest.fixture(scope="module")
def _served_for_module(served_options: dict[str, Any]) -> Iterator[ServedEmulator]:
    """The emulator a module's tests share, started at the first test that asks for it."""
    yield from _serving(served_options)


@pytest.fixture
def served(
    request: pytest.FixtureRequest, served_options: dict[str, Any]
) -> Iterator[ServedEmulator]:
    """A standalone emulator over real HTTP on 127.0.0.1 at a free port (``served.url``), stopped
    after the module's last test, or after this test with ``per_test`` (see `served_options`)."""
    if served_options.get("per_test"):
        yield from _serving(served_options)
    else:
        yield request.getfixturevalue("_served_for_module")
