"""The public test kit, agora_recording.testing."""

from __future__ import annotations

import base64
import socket

import httpx
import pytest
from agora_recording import testing
from agora_recording.emulator import Emulator, SystemClock
from agora_recording.errors import AuthenticationError, BadRequestError

pytestmark = pytest.mark.anyio


async def test_emulated_client_wires_a_client_to_a_fresh_emulator() -> None:
    """emulated_client yields a client talking in-process to its emulator on a FakeClock."""
    async with testing.emulated_client() as service:
        acquired = await service.client.acquire(cname="room", uid="1")
        assert service.client.app_id == testing.DEFAULT_APP_ID
        assert isinstance(service.clock, testing.FakeClock)
        assert isinstance(service.http_client, httpx.AsyncClient)
        assert service.advance(5) == service.clock.time()
    assert acquired.resource_id
    assert service.client.closed


async def test_emulated_client_turns_rate_limits_off() -> None:
    """Neither the emulator nor the client rate-limits by default: 30 calls in one instant pass."""
    async with testing.emulated_client() as service:
        assert service.client.limiter is None
        resource_ids = {
            (await service.client.acquire(cname="room", uid="1")).resource_id for _ in range(30)
        }
    assert len(resource_ids) == 30


async def test_emulated_client_passes_emulator_and_client_options() -> None:
    """Emulator options (quota, credentials) and client_options reach their targets."""
    async with testing.emulated_client(
        app_id="my-app",
        max_concurrent_recordings=0,
        customer_id="me",
        customer_secret="s3cret",
        client_options={"timeout": 2.0},
    ) as service:
        with pytest.raises(BadRequestError) as info:
            await service.client.acquire(cname="room", uid="1")
        assert service.client.timeout == 2.0
        assert service.emulator.customer_id == "me"
    assert info.value.code == 406


async def test_emulated_client_channel_helper_simulates_users() -> None:
    """service.channel() is the emulator's channel handle."""
    async with testing.emulated_client() as service:
        service.channel("room").publish(5, video=False)
        users = service.emulator.channel("room").users
    assert users["5"].audio
    assert not users["5"].video


async def test_advance_needs_a_fake_clock() -> None:
    """With the real clock, advance() raises TypeError instead of pretending."""
    async with testing.emulated_client(clock=SystemClock()) as service:
        with pytest.raises(TypeError, match="FakeClock"):
            service.advance(1)


async def test_emulated_http_sends_the_default_credentials() -> None:
    """emulated_http gives a raw client that authenticates with the emulator's credentials."""
    async with testing.emulated_http(customer_secret="other") as (http, _):
        ok = await http.get("/v1/ncs/ip")
    assert ok.status_code == 200
    credentials = base64.b64encode(b"emulator-customer-id:other").decode()
    assert ok.request.headers["authorization"] == f"Basic {credentials}"


async def test_wrong_credentials_surface_as_authentication_error() -> None:
    """A client whose secret differs from the emulator's gets AuthenticationError."""
    async with testing.emulated_client(customer_secret="emulator-secret-2") as service:
        wrong = service.client.__class__(
            app_id=testing.DEFAULT_APP_ID,
            customer_id=testing.DEFAULT_CUSTOMER_ID,
            customer_secret=testing.DEFAULT_CUSTOMER_SECRET,
            base_url="http://emulator.invalid",
            http_client=service.http_client,
            rate_limit=None,
        )
        with pytest.raises(AuthenticationError) as info:
            await wrong.acquire(cname="room", uid="1")
    assert info.value.message == "Invalid authentication credentials"


def test_serve_runs_a_given_emulator_over_http() -> None:
    """serve(emulator=...) serves that very emulator on a loopback port."""
    emulator = Emulator(rate_limit=None)
    with testing.serve(emulator=emulator) as served:
        emulator.channel("room").join(1)
        state = httpx.get(f"{served.url}/_emulator/state").json()
    assert served.emulator is emulator
    assert state["channels"] == {"room": {"1": {"audio": False, "video": False}}}


def test_serve_refuses_an_emulator_and_options_together() -> None:
    """Passing both a ready emulator and emulator options is a TypeError."""
    with pytest.raises(TypeError), testing.serve(emulator=Emulator(), rate_limit=1):
        pass


def test_serve_reports_a_port_it_cannot_bind() -> None:
    """When the port is taken, serve() raises RuntimeError instead of hanging."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="did not start"), testing.serve(port=port):
            pass


async def test_virtual_service_wires_a_loop_clock_and_keeps_the_quota_on() -> None:
    """virtual_service yields a client on an emulator whose clock is a LoopClock, whose
    10 req/s quota is on, and whose client keeps its own rate limit."""
    async with testing.virtual_service(app_id="fleet") as service:
        acquired = await service.client.acquire(cname="room", uid="1")
        assert isinstance(service.clock, testing.LoopClock)
        assert service.emulator.stats.rate == 10.0
        assert service.client.limiter is not None
        assert service.emulator.stats.requests("fleet", "acquire") == 1
    assert acquired.resource_id
    assert service.client.closed
    assert {"LoopClock", "virtual_service", "NOTIFICATION_URL"} <= set(testing.__all__)
