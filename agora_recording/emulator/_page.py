"""The emulator's web page for people, at ``/``: what the emulated service is doing, live.

One HTML page (``_page.html`` beside this module; plain JavaScript, no build step) polls
``GET /_emulator/page.json`` every second and draws channels and their users, recordings with
status and files, notifications with their delivery outcomes, the request log, the request rate
per second against the quota, and buttons that inject the common faults through the control
routes. The snapshot holds identifiers, statuses and file names only: never a storage key,
token, secret or request body. Everything it shows is bounded (the last `SHOWN` of each list,
a `RequestLog` of fixed size).

`RequestLogMiddleware` records each request (method, path, status, time taken) in the
`RequestLog` and logs it at INFO on ``agora_recording.emulator.requests`` (``-v`` shows them).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora_recording._hints import status_name

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["SHOWN", "RequestLog", "RequestLogMiddleware", "page_routes"]

request_logger = logging.getLogger("agora_recording.emulator.requests")

SHOWN = 100
"""The most items of each list the page shows (recordings, notifications, requests)."""


class RequestLog:
    """The last ``size`` requests the emulator answered, for the page (thread-safe)."""

    def __init__(self, size: int = 500, clock: Callable[[], float] = time.time) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._clock = clock

    def add(self, method: str, path: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        entry = {
            "at": self._clock(),
            "method": method,
            "path": path[:300],
            "status": status,
            "ms": round(seconds * 1000, 1),
        }
        with self._lock:
            self._entries.append(entry)

    def recent(self, count: int = SHOWN) -> list[dict[str, Any]]:
        """The last ``count`` requests, newest first."""
        with self._lock:
            return list(self._entries)[-count:][::-1]

    def per_second(self, seconds: int = 60) -> list[int]:
        """Requests to the API (``/v1/``) in each of the last ``seconds`` whole seconds."""
        now = int(self._clock())
        counts = [0] * seconds
        with self._lock:
            for entry in self._entries:
                age = now - int(entry["at"])
                if 0 <= age < seconds and entry["path"].startswith("/v1/"):
                    counts[seconds - 1 - age] += 1
        return counts


class RequestLogMiddleware:
    """ASGI middleware: each HTTP request into the `RequestLog` and the request logger."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            path = str(scope.get("path", ""))
            method = str(scope.get("method", ""))
            seconds = time.perf_counter() - began
            if not path.startswith(("/_emulator/page.json", "/favicon")):
                self.log.add(method, path, status, seconds)
            request_logger.info("%s %s -> %d in %.1f ms", method, path, status, seconds * 1000)


def snapshot(emulator: Emulator, log: RequestLog) -> dict[str, Any]:
    """What the page shows, as JSON: identifiers and statuses only, never a secret."""
    state = emulator._state.dump()  # redacted by the state itself; only names are taken
    channels = [
        {
            "cname": cname,
            "users": [
                {"uid": uid, "audio": p["audio"], "video": p["video"]} for uid, p in users.items()
            ],
        }
        for cname, users in list(state["channels"].items())[:SHOWN]
    ]
    recordings = [
        {
            "sid": r.sid,
            "cname": r.cname,
            "uid": r.uid,
            "mode": r.mode,
            "status": r.status,
            "statusName": status_name(r.status),
            "running": r.running,
            "exitKind": r.exit_kind,
            "files": list(r.files[:20]),
        }
        for r in emulator.recordings()[-SHOWN:]
    ]
    notifications = [
        {"noticeId": n.get("noticeId"), "eventType": n.get("eventType"), "sid": n.get("sid")}
        for n in (_envelope(s.body) for s in emulator.notifications[-SHOWN:])
    ][::-1]
    return {
        "time": state["time"],
        "channels": channels,
        "recordings": recordings,
        "notifications": notifications,
        "deliveries": emulator.delivery_counts,
        "deliveryLog": emulator.delivery_log[-SHOWN:][::-1],
        "notificationUrl": emulator.notification_url,
        "requests": log.recent(),
        "perSecond": log.per_second(),
        "quota": emulator.stats.rate,
    }


def _envelope(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def page_routes(emulator: Emulator, log: RequestLog) -> list[Route]:
    """``GET /`` (the page) and ``GET /_emulator/page.json`` (what it shows)."""

    html = (Path(__file__).parent / "_page.html").read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def data(request: Request) -> Response:
        return JSONResponse(snapshot(emulator, log), headers={"Cache-Control": "no-store"})

    return [
        Route("/", page, methods=["GET"]),
        Route("/_emulator/page.json", data, methods=["GET"]),
    ]
