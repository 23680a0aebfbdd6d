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
            response = await service.client.acquire(cname="class-42", uid="99")
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
* :func:`virtual_service` wires the same pair on a :class:`LoopClock`, with the service's
  10 requests per second quota on, for fleets in virtual time (below).

Testing a fleet in virtual time
-------------------------------

Under a virtual clock the event loop jumps straight to the next timer whenever every task is
waiting, so an hour of polling, idle exits and failovers takes seconds. :func:`virtual_service`
puts the emulator on a :class:`LoopClock` (Unix time following the running loop's clock) and
runs its timer driver for the duration of the block, so statuses climb, idle recordings exit,
failovers end and NCS notifications go out at the virtual instant they happen, and the
per-App-ID quota refills with virtual time: nobody calls ``advance()``, the code under test
just sleeps. Under Trio, with anyio's pytest plugin::

    import anyio, pytest, trio.testing
    from agora_recording.testing import virtual_service

    @pytest.fixture
    def anyio_backend():
        return "trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}

    @pytest.mark.anyio
    async def test_a_thousand_recordings_for_an_hour() -> None:
        async with virtual_service(max_concurrent_recordings=None) as service:
            async def record(n: int) -> None:
                await anyio.sleep(n * 0.3)                # starts spread over 5 minutes
                service.channel(f"room-{n}").publish(1)
                async with service.client.session(
                    cname=f"room-{n}", uid="9", mode=Mode.INDIVIDUAL, config=CONFIG,
                    poll_interval=600,
                ):
                    await anyio.sleep(3600)               # virtual: no real waiting

            async with anyio.create_task_group() as group:
                for n in range(1000):
                    group.start_soon(record, n)
            assert service.emulator.running_recordings() == []
            assert service.emulator.stats.rate_limited() == 0

Under asyncio, make the loop with ``looptime`` (``pip install looptime``). With anyio's
plugin, give it as the loop factory; with pytest-asyncio, mark the test instead::

    import looptime

    @pytest.fixture
    def anyio_backend():
        return "asyncio", {"loop_factory": looptime.new_event_loop}

    # or, with pytest-asyncio:  @pytest.mark.asyncio  @pytest.mark.looptime

Real time is spent only on the work itself: each request costs a millisecond or two
in-process, and with the quota on a fleet sends at most 10 requests per virtual second. The
example above is 9,000 requests and 60,000 progress notifications and runs in about 15 real
seconds; an hour of 50 sessions takes about one. Keep the client's poll interval realistic
(polling faster than the quota allows only stretches the polls).

Afterwards assert on ``service.emulator.running_recordings()`` (nothing left billing),
``service.emulator.stats`` (requests, 429s, share of quota per App ID) and
``service.emulator.notifications``. To see how the fleet copes with another process using
the same App ID, call ``service.emulator.add_competing_load(app_id, rate)``; to put it
through a bad hour, use the faults in ``service.emulator.faults`` (``fail_for``,
``failover``, ``drop_notifications``...). To have notifications delivered to your webhook
receiver, pass it as ``notification_app``. Deadlines and sleeps inside the client use the
loop clock too, so a 30 s timeout is 30 virtual seconds. Do not mix in ``time.sleep`` or
threads: only the event loop's clock is virtual.

Everything the emulator does is documented in :mod:`agora_recording.emulator`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import attrs
import httpx

from agora_recording import RecordingClient
from agora_recording.errors import ArgumentTypeError, UsageError

try:  # the emulator's extra: say which to install rather than a bare ModuleNotFoundError
    import starlette  # noqa: F401 (checked here, used by the emulator)
    import uvicorn  # noqa: F401
except ModuleNotFoundError as exc:
    _missing = (exc.name or "").partition(".")[0]
    if _missing not in {"starlette", "uvicorn"}:
        raise
    raise ImportError(
        f"agora_recording.testing runs the emulator, which needs {_missing}: "
        'pip install "agora-recording[emulator]"',
        name=_missing,
    ) from exc
from starlette.types import ASGIApp

from .emulator import (
    DEFAULT_CUSTOMER_ID,
    DEFAULT_CUSTOMER_SECRET,
    Channel,
    Clock,
    Emulator,
    EmulatorServer,
    FakeClock,
    LoopClock,
)

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_CUSTOMER_ID",
    "DEFAULT_CUSTOMER_SECRET",
    "NOTIFICATION_URL",
    "EmulatedService",
    "Emulator",
    "FakeClock",
    "LoopClock",
    "ServedEmulator",
    "emulated_client",
    "emulated_http",
    "serve",
    "virtual_service",
]

DEFAULT_APP_ID = "emulator-app-id"
"""The App ID :func:`emulated_client` uses unless told otherwise."""


NOTIFICATION_URL = "http://notifications.invalid/agora"
"""Where :func:`virtual_service` tells the emulator to POST notifications when it is given a
``notification_app`` (the requests go to that app in-process, never to the network)."""


def _advance(clock: Clock, emulator: Emulator, seconds: float) -> float:
    if isinstance(clock, LoopClock):
        raise ArgumentTypeError(
            "advance() needs a FakeClock; on a LoopClock time follows the event loop: "
            "await anyio.sleep(seconds) instead"
        )
    if not isinstance(clock, FakeClock):
        raise ArgumentTypeError("advance() needs the emulator to run on a FakeClock")
    return emulator.advance(seconds)


@attrs.frozen
class EmulatedService:
    """What :func:`emulated_client` and :func:`virtual_service` yield: the wired ``client`` and
    its ``emulator``."""

    client: RecordingClient
    emulator: Emulator
    http_client: httpx.AsyncClient
    """The ``httpx.AsyncClient`` (on ``ASGITransport``) the client borrows."""

    @property
    def clock(self) -> Clock:
        """The emulator's clock (by default a :class:`FakeClock` for :func:`emulated_client`, a
        :class:`LoopClock` for :func:`virtual_service`)."""
        return self.emulator.clock

    def channel(self, cname: str) -> Channel:
        """Simulated users of ``cname``: ``join``, ``publish``, ``unpublish``, ``leave``."""
        return self.emulator.channel(cname)

    def advance(self, seconds: float) -> float:
        """Move the fake clock forward; timers (status, idle exit, expiry) follow. (On a
        :class:`LoopClock` this raises TypeError: sleep instead.)"""
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
        client = RecordingClient(
            app_id=app_id,
            customer_id=emulator.customer_id,
            customer_secret=secret,
            http_client=http,
            **options,
        )
        async with client:
            yield EmulatedService(client=client, emulator=emulator, http_client=http)


@asynccontextmanager
async def virtual_service(
    *,
    app_id: str = DEFAULT_APP_ID,
    clock: LoopClock | None = None,
    client_options: Mapping[str, Any] | None = None,
    notification_app: ASGIApp | None = None,
    **emulator_options: Any,
) -> AsyncIterator[EmulatedService]:
    """Yield a ``RecordingClient`` wired to a fresh emulator living on the event loop's clock.

    Unlike :func:`emulated_client`, time is not moved by hand: the emulator runs on ``clock``
    (a new :class:`LoopClock` by default), its rate limit stays on (10 requests per second per
    App ID, as the service's; ``rate_limit=None`` turns it off) and its timer driver runs for
    the duration of the block, so run the block under a virtual clock (see the module
    docstring) and let the code under test sleep. The client keeps its own default
    client-side rate limit; ``client_options`` go to ``RecordingClient``.

    ``notification_app`` is an ASGI application receiving the NCS notifications (for example
    a webhook receiver): they are POSTed to it in-process at :data:`NOTIFICATION_URL`, signed
    with ``notification_secret``, with the service's resends and any delivery faults.
    ``emulator_options`` go to :class:`Emulator`.
    """
    if notification_app is not None:
        emulator_options.setdefault("notification_url", NOTIFICATION_URL)
    emulator = Emulator(clock=clock if clock is not None else LoopClock(), **emulator_options)
    secret = emulator_options.get("customer_secret", DEFAULT_CUSTOMER_SECRET)
    options: dict[str, Any] = {"base_url": "http://emulator.invalid"}
    options.update(client_options or {})
    transport = httpx.ASGITransport(app=emulator.app)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        _notification_client(notification_app) as receiver_http,
        anyio.create_task_group() as group,
    ):
        if receiver_http is not None:
            group.start_soon(lambda: emulator.deliver_notifications(client=receiver_http))
        else:
            group.start_soon(lambda: emulator.run_timers())
        client = RecordingClient(
            app_id=app_id,
            customer_id=emulator.customer_id,
            customer_secret=secret,
            http_client=http,
            **options,
        )
        async with client:
            yield EmulatedService(client=client, emulator=emulator, http_client=http)
        group.cancel_scope.cancel()


@asynccontextmanager
async def _notification_client(app: ASGIApp | None) -> AsyncIterator[httpx.AsyncClient | None]:
    if app is None:
        yield None
        return
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield http


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
        raise ArgumentTypeError("pass either an emulator or emulator options, not both")
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
            raise UsageError(f"the emulator server did not start on {host}:{port}") from cause
        yield ServedEmulator(url=server.url, emulator=emulator)
    finally:
        server.stop()
        thread.join(timeout=10)
