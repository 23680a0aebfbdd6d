"""Requests in flight, in virtual time: a herd waits in the client's own queue (stops first), never
in the connection pool, and that wait never counts against a call's or a stop's deadline.

The service is a handler that takes ``latency`` seconds behind a transport with a pool of
``connections`` (an `anyio.Semaphore` held around each exchange, as httpcore's pool does), so a
request that found every connection busy waits inside ``send``, where the attempt's deadline runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from agora_recording import Priority, RecordingClient, StopOutcome
from agora_recording._inflight import PrioritySemaphore
from agora_recording.enums import Mode
from agora_recording.models import RecordingHandle

from tests.helpers import (
    APP_ID,
    CNAME,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    IDS,
    SID,
    START_CONFIGS,
    UID,
    ok,
)
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

STARTED = {**IDS, "sid": SID}
STOPPED = {**IDS, "sid": SID, "serverResponse": {"uploadingStatus": "uploaded"}}


class PooledService(httpx.AsyncBaseTransport):
    """A service answering after ``latency`` s behind a pool of ``connections`` connections;
    it counts the answers it gave (``answered``) and the requests it saw, by path."""

    def __init__(self, connections: int, latency: float, body: dict[str, Any]) -> None:
        self.connections = connections
        self.pool = anyio.Semaphore(connections)
        self.latency = latency
        self.body = body
        self.answered = 0
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self.pool:  # waiting for a connection, inside the caller's send
            self.paths.append(request.url.path.rsplit("/", 1)[-1])
            await anyio.sleep(self.latency)
            self.answered += 1
            return ok(self.body)


def client_on(service: PooledService, **kwargs: Any) -> RecordingClient:
    """A client without a rate limiter on ``service``, with as many places in flight as it has
    connections."""
    http = httpx.AsyncClient(transport=service)
    kwargs.setdefault("max_in_flight", service.connections)
    return RecordingClient(
        app_id=APP_ID,
        customer_id=CUSTOMER_ID,
        customer_secret=CUSTOMER_SECRET,
        http_client=http,
        rate_limit=None,
        **kwargs,
    )


def handle(n: int) -> RecordingHandle:
    """A handle of recording ``n``."""
    return RecordingHandle(resource_id=f"r{n}", sid=f"s{n}", mode=Mode.MIX, cname=CNAME, uid=UID)


async def test_a_herd_waits_for_a_connection_without_losing_an_answer() -> None:
    """Eight starts (and their stops) on one connection that answers in 6 s each all succeed at
    the first attempt with a 10 s timeout: the wait for the connection is not in the deadline."""
    service = PooledService(connections=1, latency=6.0, body=STARTED)
    results: list[str] = []
    async with client_on(service, timeout=10.0, call_timeout=10.0) as client:

        async def start(n: int) -> None:
            response = await client.start(
                f"resource-{n}", Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
            )
            await client.stop(response.handle)
            results.append(response.handle.sid)

        async with anyio.create_task_group() as group:
            for n in range(8):
                group.start_soon(start, n)
    assert len(results) == 8
    assert service.answered == len(service.paths) == 16  # no answer dropped, nothing resent


async def test_stops_get_the_next_place_in_flight() -> None:
    """With every place taken, a stop queued after three polls is sent before them."""
    service = PooledService(connections=1, latency=1.0, body=STOPPED)
    async with client_on(service) as client, anyio.create_task_group() as group:
        for n in range(4):
            group.start_soon(client.query, handle(n))
        await anyio.sleep(0.5)  # virtual: one query is with the service, three wait
        group.start_soon(client.stop, handle(9))
    assert service.paths == ["query", "stop", "query", "query", "query"]


async def test_a_stop_budget_excludes_the_wait_for_a_place() -> None:
    """Six confirmed stops with 10 s budgets on one connection that takes 8 s each all land: the
    40 s the last one waits for the connection is ours, not the service's."""
    service = PooledService(connections=1, latency=8.0, body=STOPPED)
    outcomes: list[StopOutcome] = []
    async with client_on(service, timeout=10.0, call_timeout=10.0) as client:

        async def stop(n: int) -> None:
            confirmation = await client.ensure_stopped(handle(n), stop_timeout=10.0)
            outcomes.append(confirmation.outcome)

        async with anyio.create_task_group() as group:
            for n in range(6):
                group.start_soon(stop, n)
        assert client.unconfirmed() == []
    assert outcomes == [StopOutcome.STOPPED] * 6
    assert len(service.paths) == 6


async def test_a_polls_call_timeout_excludes_the_wait_for_a_place() -> None:
    """A poll with a 5 s call_timeout queued behind 30 s of other requests still gets its
    answer."""
    service = PooledService(connections=2, latency=3.0, body=STOPPED)
    async with client_on(service) as client, anyio.create_task_group() as group:
        for n in range(20):
            group.start_soon(client.query, handle(n))
        await anyio.lowlevel.checkpoint()
        answer = await client.query(handle(99), call_timeout=5.0)
    assert answer.sid == SID


def _limits(**kwargs: Any) -> Callable[[], httpx.AsyncClient]:
    return lambda: httpx.AsyncClient(limits=httpx.Limits(**kwargs))


async def test_the_places_in_flight_follow_the_connection_pool() -> None:
    """The cap is the borrowed client's ``max_connections`` (never more), or the owned pool's."""
    async with _limits(max_connections=3)() as small, _limits(max_connections=None)() as unbounded:
        assert (
            RecordingClient(
                app_id=APP_ID, customer_id="id", customer_secret="secret", http_client=small
            ).max_in_flight
            == 3
        )
        borrowed = RecordingClient(
            app_id=APP_ID,
            customer_id="id",
            customer_secret="secret",
            http_client=small,
            max_in_flight=50,
        )
        assert borrowed.max_in_flight == 3
        assert (
            RecordingClient(
                app_id=APP_ID, customer_id="id", customer_secret="secret", http_client=unbounded
            ).max_in_flight
            == 100
        )
    async with RecordingClient(
        app_id=APP_ID, customer_id="id", customer_secret="secret", max_in_flight=7
    ) as owned:
        assert owned.max_in_flight == 7
    async with RecordingClient(
        app_id=APP_ID, customer_id="id", customer_secret="secret"
    ) as default:
        assert default.max_in_flight == 100


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "3"])
def test_bad_max_in_flight_is_refused(value: object) -> None:
    """A cap that is not a positive integer fails before any request, naming the option."""
    with pytest.raises(ValueError, match="max_in_flight"):
        RecordingClient(
            app_id=APP_ID,
            customer_id="id",
            customer_secret="secret",
            max_in_flight=value,  # type: ignore[arg-type]
        )


async def held_places(
    semaphore: PrioritySemaphore, requests: list[Priority]
) -> list[tuple[float, Priority]]:
    """Queue ``requests`` (in order, one a second) behind a full ``semaphore`` whose holders
    each keep their place 10 s; return when each got its place (seconds from the first
    holders'), in that order."""
    granted: list[tuple[float, Priority]] = []
    began = anyio.current_time()

    async def hold(priority: Priority) -> None:
        await semaphore.acquire(priority)
        granted.append((anyio.current_time() - began, priority))
        await anyio.sleep(10)
        semaphore.release()

    async with anyio.create_task_group() as group:
        for _ in range(semaphore.capacity):
            group.start_soon(hold, Priority.START)
        await anyio.sleep(0.5)
        granted.clear()
        for priority in requests:
            group.start_soon(hold, priority)
            await anyio.sleep(1)
    return sorted(granted)


async def test_a_due_health_poll_goes_ahead_of_starts_for_a_place_in_flight() -> None:
    """Behind slow starts holding every place, a health poll gets one after health_wait (60 s),
    not after the whole herd of starts: the first verdict stays inside the 90 s window."""
    semaphore = PrioritySemaphore(2)
    requests = [Priority.START] * 5 + [Priority.HEALTH] + [Priority.START] * 20
    granted = await held_places(semaphore, requests)
    # Two places free every 10 s: the poll, queued at 5.5 s, is due at 65.5 s and gets the
    # first place freed at 70 s, once 12 starts have had one; 13 more starts wait behind it.
    [health] = [at for at, priority in granted if priority is Priority.HEALTH]
    assert health == pytest.approx(70.0)
    assert sum(at < health for at, _ in granted) == 12


async def test_time_in_the_rate_limiters_queue_counts_towards_the_due_time() -> None:
    """A health poll that already waited 55 s for the quota is due 5 s after it queues for a
    place in flight, not 60 s."""
    semaphore = PrioritySemaphore(1)
    granted: dict[str, float] = {}

    async def hold(name: str, priority: Priority, waited: float = 0.0) -> None:
        await semaphore.acquire(priority, waited=waited)
        granted[name] = anyio.current_time()
        await anyio.sleep(1)
        semaphore.release()

    began = anyio.current_time()
    async with anyio.create_task_group() as group:
        for n in range(30):
            group.start_soon(hold, f"start{n}", Priority.START)
        await anyio.sleep(0.5)
        group.start_soon(hold, "health", Priority.HEALTH, 55.0)
    assert granted["health"] - began == pytest.approx(6.0)


async def test_a_health_poll_is_not_held_behind_a_herd_of_slow_starts() -> None:
    """Twenty starts taking 10 s each on one connection do not keep a health poll waiting 200 s:
    it is sent once it has waited 60 s, and the window for a first verdict holds."""
    service = PooledService(connections=1, latency=10.0, body=STARTED)
    async with client_on(service, timeout=15.0, call_timeout=15.0) as client:
        answered: list[float] = []

        async def start(n: int) -> None:
            await client.start(
                f"resource-{n}", Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
            )

        async def health_poll() -> None:
            began = anyio.current_time()
            await client.query(handle(1), priority=Priority.HEALTH)
            answered.append(anyio.current_time() - began)

        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(start, n)
            await anyio.sleep(1)
            group.start_soon(health_poll)
    assert answered == [pytest.approx(79.0)]  # due at 61 s, sent at 70 s, answered at 80 s
    assert service.paths.index("query") == 7
