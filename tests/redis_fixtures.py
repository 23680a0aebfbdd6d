"""For test modules on a real redis-server: ``from tests.redis_fixtures import
redis_anyio_backend`` runs them on asyncio, the only backend redis.asyncio supports (the
``redis_url`` and ``redis`` fixtures live in ``conftest.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture(name="anyio_backend")
def redis_anyio_backend() -> str:
    """redis.asyncio runs under asyncio only."""
    return "asyncio"
