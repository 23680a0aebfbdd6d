"""Run an emulator as a real HTTP server with uvicorn (the standalone mode).

uvicorn is told not to configure logging (``log_config=None``); the emulator only uses the
``agora_recording`` loggers. Port 0 binds a free port: the ``ready`` callback receives the
real base URL once the server accepts connections.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn

from ._emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET, Emulator

__all__ = ["EmulatorServer", "serve"]


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, reporting its bound address once it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            listeners: Sequence[Any] = self.servers[0].sockets if self.servers else ()
            self._on_started(int(listeners[0].getsockname()[1]) if listeners else 0)


class EmulatorServer:
    """One emulator behind uvicorn; :meth:`run` blocks, :meth:`stop` asks it to finish.

    ``ready`` is called with the base URL (``http://127.0.0.1:PORT``) once connections are
    accepted. :meth:`stop` may be called from any thread.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ready: Callable[[str], object] | None = None,
    ) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.url: str | None = None
        self._ready = ready
        config = uvicorn.Config(
            emulator.app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = _Uvicorn(config, self._started)

    def _started(self, port: int) -> None:
        self.port = port
        self.url = _url(self.host, port)
        if self._ready is not None:
            self._ready(self.url)

    def run(self) -> None:
        """Serve until :meth:`stop` (or, in the main thread, Ctrl-C / SIGTERM)."""
        self._server.run()

    async def serve(self) -> None:
        """Serve inside a running asyncio loop until :meth:`stop`."""
        await self._server.serve()

    def stop(self) -> None:
        """Ask the server to shut down (it finishes within about a second)."""
        self._server.should_exit = True


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    customer_id: str = DEFAULT_CUSTOMER_ID,
    customer_secret: str = DEFAULT_CUSTOMER_SECRET,
    app_id: str | None = None,
    *,
    rate_limit: float | None = 10.0,
    notification_url: str | None = None,
    notification_secret: str | None = None,
    ready: Callable[[str], object] | None = None,
    **emulator_options: Any,
) -> None:
    """Run a standalone emulator until interrupted (blocking; Ctrl-C stops it).

    The arguments mirror ``agora-recording emulator --host --port --customer-id
    --customer-secret [--app-id]``; other :class:`Emulator` options pass through
    ``emulator_options`` (``clock=FakeClock()`` enables ``POST /_emulator/clock/advance``).
    ``ready`` gets the base URL once the server listens; without it a line
    ``Agora Cloud Recording emulator listening on http://HOST:PORT`` is printed.
    """
    if notification_secret is not None:
        emulator_options["notification_secret"] = notification_secret
    emulator = Emulator(
        customer_id=customer_id,
        customer_secret=customer_secret,
        app_id=app_id,
        rate_limit=rate_limit,
        notification_url=notification_url,
        **emulator_options,
    )

    def announce(url: str) -> None:
        print(f"Agora Cloud Recording emulator listening on {url}", flush=True)

    EmulatorServer(emulator, host=host, port=port, ready=ready or announce).run()
