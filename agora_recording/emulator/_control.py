"""Control routes under ``/_emulator``: drive a running emulator from another process.

All take and return JSON; a bad request gets 400 ``{"error": ...}``. No authentication: the
emulator is a test double, bind it to 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ._clock import FakeClock
from ._metrics import CONTENT_TYPE, prometheus_text
from ._state import State

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["control_routes"]


class _BadControl(Exception):
    """A control request that cannot be carried out."""


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _BadControl("body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadControl("body must be a JSON object")
    return body


def _get(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """``body[key]`` checked against ``kind`` (a bool is never taken for a number)."""
    if body.get(key) is None:
        if default is ...:
            raise _BadControl(f"{key!r} is required")
        return default
    value = body[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise _BadControl(f"{key!r} has the wrong type")
    return value


_NUMBER = (int, float)


class _Control:
    """The control routes: the emulator's public test controls, and a look at its ``state``."""

    def __init__(self, emulator: Emulator, state: State) -> None:
        self.emulator = emulator
        self._state = state

    async def _run(self, request: Request, action: Callable[[dict[str, Any]], Any]) -> Response:
        try:
            result = action(await _body(request))
        except _BadControl as exc:
            return _error(str(exc))
        except (KeyError, ValueError, TypeError) as exc:
            return _error(str(exc.args[0]) if exc.args else type(exc).__name__)
        return JSONResponse(result if result is not None else {"ok": True})

    async def state(self, request: Request) -> Response:
        return JSONResponse(self._state.dump())

    async def channel(self, request: Request) -> Response:
        action = request.path_params["action"]
        if action not in CHANNEL_ACTIONS:
            return _error(f"unknown channel action {action!r}", 404)

        def run(body: dict[str, Any]) -> Any:
            channel = self.emulator.channel(_get(body, "cname", str))
            uid = _get(body, "uid", (str, int))
            if action == "publish":
                audio = _get(body, "audio", bool, True)
                channel.publish(uid, audio=audio, video=_get(body, "video", bool, True))
            else:
                getattr(channel, action)(uid)
            users = channel.users
            return {
                "cname": channel.cname,
                "users": {u: {"audio": p.audio, "video": p.video} for u, p in users.items()},
            }

        return await self._run(request, run)

    async def fault(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        faults = self.emulator.faults

        def answer(body: dict[str, Any]) -> dict[str, Any]:
            return {
                "after_processing": _get(body, "after_processing", bool, False),
                "raw": _get(body, "raw", str, None),
                "content_type": _get(body, "content_type", str, None),
                "headers": _get(body, "headers", dict, None),
                "retry_after": _get(body, "retry_after", _NUMBER, None),
            }

        def run(body: dict[str, Any]) -> Any:
            sid = _get(body, "sid", str, None)
            if kind == "fail":
                faults.fail_next(
                    _get(body, "endpoint", str),
                    _get(body, "status", int),
                    _get(body, "body", dict, None),
                    times=_get(body, "times", int, 1),
                    **answer(body),
                )
            elif kind == "fail-for":
                faults.fail_for(
                    _get(body, "seconds", _NUMBER),
                    _get(body, "endpoint", str, "*"),
                    _get(body, "status", int, 503),
                    _get(body, "body", dict, None),
                    **answer(body),
                )
            elif kind == "notifications":
                self._delivery_fault(body)
            elif kind == "latency":
                faults.add_latency(
                    _get(body, "seconds", _NUMBER),
                    _get(body, "endpoint", str, "*"),
                    times=_get(body, "times", int, None),
                )
            elif kind == "drop":
                faults.drop_connection(
                    _get(body, "endpoint", str, "*"),
                    times=_get(body, "times", int, 1),
                    after_processing=_get(body, "after_processing", bool, False),
                )
            elif kind == "die":
                faults.die_after(_get(body, "seconds", _NUMBER), sid=sid)
            elif kind == "failover":
                faults.failover(
                    sid=sid,
                    after=_get(body, "after", _NUMBER, 0.0),
                    duration=_get(body, "duration", _NUMBER, 30.0),
                )
            elif kind == "abnormal-exit":
                faults.abnormal_exit(sid=sid, after=_get(body, "after", _NUMBER, 0.0))
            elif kind == "backup-upload":
                faults.backup_upload(sid=sid)
            elif kind == "capability-limit":
                faults.web_capability_limit(
                    _get(body, "limit_type", str, "WebGL"),
                    sid=sid,
                    after=_get(body, "after", _NUMBER, 0.0),
                )
            elif kind == "slow-page":
                faults.slow_page_load(loads=_get(body, "loads", int, 1))
            else:
                raise _BadControl(f"unknown fault {kind!r}")
            return None

        return await self._run(request, run)

    def _delivery_fault(self, body: dict[str, Any]) -> None:
        faults = self.emulator.faults
        which = _get(body, "kind", str)
        narrow = {
            "times": _get(body, "times", int, None) if "times" in body else 1,
            "event_type": _get(body, "event_type", int, None),
            "sid": _get(body, "sid", str, None),
        }
        if which == "drop":
            faults.drop_notifications(**narrow)
        elif which == "duplicate":
            faults.duplicate_notifications(**narrow)
        elif which == "reorder":
            faults.reorder_notifications(**narrow)
        elif which == "delay":
            faults.delay_notifications(_get(body, "seconds", _NUMBER), **narrow)
        elif which == "secret":
            faults.sign_notifications_with(_get(body, "secret", str), **narrow)
        else:
            raise _BadControl(f"unknown notification fault {which!r}")

    async def stats(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.emulator.stats.clear()
            return JSONResponse({"ok": True})
        return JSONResponse(
            {
                "requests": self.emulator.stats.as_dict(),
                "deliveries": self.emulator.delivery_counts,
            }
        )

    async def metrics(self, request: Request) -> Response:
        return PlainTextResponse(prometheus_text(self.emulator), media_type=CONTENT_TYPE)

    async def competing_load(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.emulator.clear_competing_load()
            return JSONResponse({"ok": True})

        def run(body: dict[str, Any]) -> Any:
            app_id = _get(body, "app_id", str)
            try:
                total = self.emulator.add_competing_load(app_id, _get(body, "rate", _NUMBER))
            except RuntimeError as exc:
                raise _BadControl(str(exc)) from None
            return {"app_id": app_id, "load": total}

        return await self._run(request, run)

    async def clear_faults(self, request: Request) -> Response:
        self.emulator.faults.clear()
        return JSONResponse({"ok": True})

    async def advance(self, request: Request) -> Response:
        if not isinstance(self.emulator.clock, FakeClock):
            return _error(
                "the emulator runs on the real clock: start it with "
                "agora-recording emulator --fake-clock (or Emulator(clock=FakeClock()) in Python)",
                409,
            )

        def run(body: dict[str, Any]) -> Any:
            return {"time": self.emulator.advance(_get(body, "seconds", _NUMBER))}

        return await self._run(request, run)

    async def notifications(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.emulator.clear_notifications()
            return JSONResponse({"ok": True})
        items = [
            {"body": n.body.decode("utf-8"), "headers": dict(n.headers)}
            for n in self.emulator.notifications
        ]
        return JSONResponse({"notifications": items})


FAULTS = (
    "fail",
    "fail-for",
    "notifications",
    "latency",
    "drop",
    "die",
    "failover",
    "abnormal-exit",
    "backup-upload",
    "capability-limit",
    "slow-page",
)
"""The fault names of ``POST /_emulator/faults/{kind}``."""
NOTIFICATION_FAULTS = ("drop", "duplicate", "reorder", "delay", "secret")
"""The ``kind`` values of ``POST /_emulator/faults/notifications``."""


CHANNEL_ACTIONS = ("join", "publish", "unpublish", "leave")
"""The ``{action}`` of ``POST /_emulator/channels/{action}``."""

_ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/state", "state", ("GET",)),
    ("/channels/{action}", "channel", ("POST",)),
    ("/faults", "clear_faults", ("DELETE",)),
    ("/faults/{kind}", "fault", ("POST",)),
    ("/clock/advance", "advance", ("POST",)),
    ("/notifications", "notifications", ("GET", "DELETE")),
    ("/stats", "stats", ("GET", "DELETE")),
    ("/metrics", "metrics", ("GET",)),
    ("/competing-load", "competing_load", ("POST", "DELETE")),
)
"""Path, `_Control` method and HTTP methods of each control route (also listed by ``--help``)."""


def control_help() -> list[str]:
    """One line per route of people and tests (methods and path), then the names each
    ``{placeholder}`` takes: for ``agora-recording emulator --help``."""
    lines = [
        "GET /  the web page: channels, recordings, notifications, requests, quota, faults",
        "GET /_emulator/page.json  what the page shows",
    ]
    lines += [f"{'|'.join(methods)} /_emulator{path}" for path, _, methods in _ROUTES]
    lines.append("{action}: " + ", ".join(CHANNEL_ACTIONS))
    lines.append("{kind} (faults): " + ", ".join(FAULTS))
    lines.append('notification faults ({"kind": ...}): ' + ", ".join(NOTIFICATION_FAULTS))
    return lines


def control_routes(emulator: Emulator, state: State) -> list[Route]:
    """The routes mounted at ``/_emulator``."""
    control = _Control(emulator, state)
    return [Route(path, getattr(control, name), methods=list(m)) for path, name, m in _ROUTES]
