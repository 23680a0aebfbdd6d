"""Shared fixtures: every async test runs under asyncio and Trio, and retries never sleep."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import stamina
from trio.testing import MockClock


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Make stamina's backoff instant so retry tests do not sleep."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


# Virtual time: looptime needs Python 3.11+; Trio's MockClock runs everywhere. A module whose
# tests run on a virtual clock overrides ``anyio_backend`` with ``virtual_backend``.
VIRTUAL_BACKENDS = [
    "trio-mockclock",
    *(["asyncio-looptime"] if sys.version_info >= (3, 11) else []),
]


def virtual_backend(name: str) -> tuple[str, dict[str, Any]]:
    """The anyio backend ``name`` (from `VIRTUAL_BACKENDS`) with a clock that jumps to the next
    timer whenever every task waits."""
    if name == "trio-mockclock":
        return "trio", {"clock": MockClock(autojump_threshold=0)}
    import looptime  # only installed on Python 3.11+

    return "asyncio", {"loop_factory": looptime.new_event_loop}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    return str(request.param)
