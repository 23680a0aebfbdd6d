"""Requests in flight over real loopback HTTP: a borrowed httpx client's own pool, the emulator
served on 127.0.0.1, so the wait for a connection is httpcore's, as in production."""

from __future__ import annotations

from functools import partial

import anyio
import httpx
import pytest
from agora_recording import RecordingClient
from agora_recording.testing import DEFAULT_APP_ID, serve

pytestmark = pytest.mark.anyio

AUTH = ("emulator-customer-id", "emulator-customer-secret")


async def test_a_herd_on_a_small_pool_keeps_every_answer() -> None:
    """Eight acquires on a borrowed client with two connections, each answered in 0.5 s, all
    succeed at their first attempt with a 1.2 s timeout: the client reads the pool's size and
    keeps the rest waiting on its side, so no request times out waiting for a connection."""
    with serve() as served:
        served.emulator.faults.add_latency(0.5, "acquire")
        limits = httpx.Limits(max_connections=2)
        async with (
            httpx.AsyncClient(limits=limits) as http,
            RecordingClient(
                app_id=DEFAULT_APP_ID,
                customer_id=AUTH[0],
                customer_secret=AUTH[1],
                base_url=served.url,
                http_client=http,
                rate_limit=None,
                timeout=1.2,
                call_timeout=1.2,
            ) as client,
            anyio.create_task_group() as group,
        ):
            for n in range(8):
                group.start_soon(partial(client.acquire, cname=f"room{n}", uid="99"))
        stats = served.emulator.stats.as_dict()[DEFAULT_APP_ID]["acquire"]
    assert stats["requests"] == 8  # none resent after a timeout
    assert client.max_in_flight == 2
