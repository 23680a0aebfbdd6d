"""Virtual time for test modules: ``from tests.virtual import virtual_anyio_backend`` makes every
``@pytest.mark.anyio`` test of the importing module run on a clock that jumps to the next timer
whenever every task waits: Trio's ``MockClock(autojump_threshold=0)`` everywhere, and asyncio on
a ``looptime`` loop where looptime installs (Python 3.11+)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from trio.testing import MockClock

VIRTUAL_BACKENDS = [
    "trio-mockclock",
    *(["asyncio-looptime"] if sys.version_info >= (3, 11) else []),
]


def virtual_backend(name: str) -> tuple[str, dict[str, Any]]:
    """The anyio backend ``name`` (from `VIRTUAL_BACKENDS`) with its virtual clock."""
    if name == "trio-mockclock":
        return "trio", {"clock": MockClock(autojump_threshold=0)}
    import looptime  # only installed on Python 3.11+

    return "asyncio", {"loop_factory": looptime.new_event_loop}


@pytest.fixture(params=VIRTUAL_BACKENDS, name="anyio_backend")
def virtual_anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Run the module's tests under Trio and (3.11+) asyncio, each on a virtual clock."""
    return virtual_backend(request.param)
