"""Test helpers: a ``RecordingClient`` wired to an in-process emulator of the service.

Use them in your own test suite to exercise code that records with agora-recording, without
credentials, network or sleeping::

    import pytest
    from agora_recording import Mode
    from agora_recording.testing import emulated_client

    @pytest.mark.anyio
    async def test_my_recorder_records_the_class() -> None:
        async with emulated_client() as service:
            service.channel("class-42").publish(1001)          # a teacher on camera
            response = await service.client.acquire("class-42", "99")
            ...                                                 # start with your config
            service.advance(5)                                  # status is 5 now
            assert service.emulator.event_types()[:2] == [40, 30]

As a pytest fixture, the context managers are used as they are::

    @pytest.fixture
    async def service():
        async with emulated_client(max_concurrent_recordings=None) as service:
            yield service

What the helpers set up:

* :func:`emulated_client` builds an :class:`~agora_recording.emulator.Emulator` on a
  :class:`FakeClock` (time moves only through ``service.advance(seconds)``) with its rate limit
  off, and a ``RecordingClient`` that talks to it through ``httpx.ASGITransport`` with the
  emulator's default credentials (``emulator-customer-id`` / ``emulator-customer-secret``) and
  its own client-side rate limit off. Any :class:`Emulator` option passes through (for example
  ``startup_delay=0`` to be healthy at once, ``max_concurrent_recordings=None``); client options
  go in ``client_options``.
* :func:`emulated_http` gives a raw ``httpx.AsyncClient`` on the same emulator, to test the
  wire protocol itself.
* :func:`serve` runs the same emulator behind uvicorn on ``127.0.0.1`` and a free port in a
  background thread, for tests that need real HTTP (or another process) to reach it; drive it
  with the ``/_emulator/...`` control routes or directly through ``served.emulator``.

Everything the emulator does is documented in :mod:`agora_recording.emulator`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import attrs
import httpx

from agora_recording import RecordingClient

from .emulator import (
    DEFAULT_CUSTOMER_ID,
    DEFAULT_CUSTOMER_SECRET,
    Channel,
    Clock,
    Emulator,
    EmulatorServer,
    FakeClock,
)

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_CUSTOMER_ID",
    "DEFAULT_CUSTOMER_SECRET",
    "EmulatedService",
    "Emulator",
    "FakeClock",
    "ServedEmulator",
    "emulated_client",
    "emulated_http",
    "serve",
]

DEFAULT_APP_ID = "emulator-app-id"
"""The App ID :func:`emulated_client` uses unless told otherwise."""


def _advance(clock: Clock, emulator: Emulator, seconds: float) -> float:
    if not isinstance(clock, FakeClock):
        raise TypeError("advance() needs the emulator to run on a FakeClock")
    return emulator.advance(seconds)


@attrs.frozen
class EmulatedService:
    """What :func:`emulated_client` yields: the wired ``client`` and its ``emulator``."""

    client: RecordingClient
    emulator: Emulator
    http_client: httpx.AsyncClient
    """The ``httpx.AsyncClient`` (on ``ASGITransport``) the client borrows."""

    @property
    def clock(self) -> Clock:
        """The emulator's clock (a :class:`FakeClock` unless another was passed)."""
        return self.emulator.clock

    def channel(self, cname: str) -> Channel:
        """Simulated users of ``cname``: ``join``, ``publish``, ``unpublish``, ``leave``."""
        return self.emulator.channel(cname)

    def advance(self, seconds: float) -> float:
        """Move the fake clock forward; timers (status, idle exit, expiry) follow."""
        return _advance(self.clock, self.emulator, seconds)


@asynccontextmanager
async def emulated_client(
    *,
    app_id: str = DEFAULT_APP_ID,
    clock: Clock | None = None,
    client_options: Mapping[str, Any] | None = None,
    **emulator_options: Any,
) -> AsyncIterator[EmulatedService]:
    """Yield a ``RecordingClient`` wired in-process to a fresh emulator.

    ``clock`` defaults to a new :class:`FakeClock`; ``emulator_options`` go to
    :class:`Emulator` (``rate_limit`` defaults to None here); ``client_options`` go to
    ``RecordingClient`` (``base_url`` and ``rate_limit=None`` are preset). Notifications are
    logged in ``service.emulator.notifications`` (or passed to ``on_notification``); to have them
    POSTed to a ``notification_url``, run ``emulator.deliver_notifications()`` in a task group.
    """
    emulator_options.setdefault("rate_limit", None)
    emulator = Emulator(clock=clock if clock is not None else FakeClock(), **emulator_options)
    secret = emulator_options.get("customer_secret", DEFAULT_CUSTOMER_SECRET)
    options: dict[str, Any] = {"base_url": "http://emulator.invalid", "rate_limit": None}
    options.update(client_options or {})
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport) as http:
        client = RecordingClient(app_id, emulator.customer_id, secret, http_client=http, **options)
        async with client:
            yield EmulatedService(client=client, emulator=emulator, http_client=http)


@asynccontextmanager
async def emulated_http(
    *, clock: Clock | None = None, **emulator_options: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Emulator]]:
    """Yield ``(http, emulator)``: a raw ``httpx.AsyncClient`` on the emulator's ASGI app.

    For tests of the wire protocol itself (or of code with its own HTTP layer): ``http`` has
    the base URL ``http://emulator.invalid`` and sends the emulator's Basic-auth credentials
    (for other or no credentials, build a client on ``httpx.ASGITransport(app=emulator.app)``).
    Options as for :func:`emulated_client`.
    """
    emulator_options.setdefault("rate_limit", None)
    emulator = Emulator(clock=clock if clock is not None else FakeClock(), **emulator_options)
    secret = emulator_options.get("customer_secret", DEFAULT_CUSTOMER_SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app),
        base_url="http://emulator.invalid",
        auth=httpx.BasicAuth(emulator.customer_id, secret),
    ) as http:
        yield http, emulator


@attrs.frozen
class ServedEmulator:
    """What :func:`serve` yields: the server's base ``url`` and its ``emulator``."""

    url: str
    emulator: Emulator

    def advance(self, seconds: float) -> float:
        """Move the fake clock forward (same as ``POST /_emulator/clock/advance``)."""
        return _advance(self.emulator.clock, self.emulator, seconds)


@contextmanager
def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    emulator: Emulator | None = None,
    startup_timeout: float = 10.0,
    **emulator_options: Any,
) -> Iterator[ServedEmulator]:
    """Run an emulator over real HTTP in a background thread for the duration of the block.

    Binds ``host`` on ``port`` (0: a free port; see ``served.url``). Pass a ready ``emulator``
    or :class:`Emulator` options (here the clock defaults to a :class:`FakeClock`, the rate
    limit to None). The server is stopped and its thread joined on exit.
    """
    if emulator is None:
        emulator_options.setdefault("rate_limit", None)
        emulator_options.setdefault("clock", FakeClock())
        emulator = Emulator(**emulator_options)
    elif emulator_options:
        raise TypeError("pass either an emulator or emulator options, not both")
    ready = threading.Event()
    failures: list[BaseException] = []
    server = EmulatorServer(emulator, host=host, port=port, ready=lambda _url: ready.set())

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # uvicorn exits with SystemExit when it cannot bind
            failures.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="agora-recording-emulator", daemon=True)
    thread.start()
    try:
        if not ready.wait(startup_timeout) or server.url is None:
            cause = failures[0] if failures else None
            raise RuntimeError(f"the emulator server did not start on {host}:{port}") from cause
        yield ServedEmulator(url=server.url, emulator=emulator)
    finally:
        server.stop()
        thread.join(timeout=10)
