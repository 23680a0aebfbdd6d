"""The HTTP side of NCS: check a callback, answer it fast, publish it (``NotificationReceiver``).

A plain ASGI application, without Starlette: ``agora_recording.webhooks`` then needs only the
core dependencies, any ASGI framework or server can host it (FastAPI, Starlette, uvicorn or
hypercorn alone), and it reads the body itself, so it can refuse an oversized or slow body
before buffering it (``await request.body()`` in a framework handler reads it all first).
:meth:`NotificationReceiver.handle` holds the same checks for frameworks that are not ASGI.

The checks, in order: method (405 unless POST), size (413), read time (408), signature
(401: ``Agora-Signature-V2`` when present, else ``Agora-Signature``, against every secret, in
constant time, over the raw bytes before any parsing), nesting depth and envelope (400). A valid
callback is published to the hub without waiting and answered 200 with a small JSON body, so
Agora (which resends when no 200 comes within 10 seconds) gets its answer at once; a replayed
one is answered 200 too but reaches no subscriber twice.

Refusals are logged at most once per ``log_interval`` seconds, with how many there were since
the last line: a flood of forged requests cannot flood the log.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any, overload

import anyio

from agora_recording._hints import NCS_SECRET_HINT
from agora_recording._numbers import count as checked_count
from agora_recording._numbers import seconds as checked_seconds
from agora_recording.errors import ArgumentTypeError, ValidationError

from ._envelope import InvalidNotificationError, parse, verify
from ._hub import NotificationHub

__all__ = ["NotificationReceiver"]

logger = logging.getLogger("agora_recording.webhooks")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def _answer(**fields: object) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


_ACCEPTED = _answer(ok=True)
_DUPLICATE = _answer(ok=True, duplicate=True)


def _nested_deeper_than(body: bytes, limit: int) -> bool:
    """Tell whether JSON ``body`` nests arrays/objects more than ``limit`` deep (no parsing).

    Deep nesting would exhaust the parser's recursion; a linear scan that skips strings
    refuses it first. Bodies with few brackets are not scanned at all.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class NotificationReceiver:
    """Verify NCS callbacks and publish them to a :class:`NotificationHub`; an ASGI app.

    ``secret`` is the NCS secret from Agora Console, or several (during a rotation any one
    matches). ``max_body_size`` (bytes), ``read_timeout`` (seconds to receive the whole body)
    and ``max_depth`` (nesting of the JSON) bound what a caller can make us do. Mount it in
    FastAPI or Starlette, run it alone with an ASGI server, or call :meth:`handle` from any
    other framework. Refused callbacks are logged at most once per ``log_interval`` seconds,
    with a count. The secrets never appear in ``repr`` or logs.
    """

    def __init__(
        self,
        hub: NotificationHub,
        secret: str | Sequence[str],
        *,
        max_body_size: int = 64 * 1024,
        read_timeout: float = 5.0,
        max_depth: int = 32,
        log_interval: float = 60.0,
    ) -> None:
        given: object = secret  # checked as what a caller may really pass
        if isinstance(given, str):
            secrets: tuple[object, ...] = (given,)
        elif isinstance(given, Sequence):
            secrets = tuple(given)
        else:
            secrets = ()
        if not secrets or not all(isinstance(s, str) and s for s in secrets):
            raise ValidationError("secret", "give the NCS secret (a non-empty string) or several")
        self.hub = hub
        self._secrets = tuple(str(s) for s in secrets)
        self.max_body_size = checked_count("max_body_size", max_body_size)
        self.read_timeout = checked_seconds("read_timeout", read_timeout)
        self.max_depth = checked_count("max_depth", max_depth)
        #: Callbacks refused for a bad or missing signature (a wrong secret shows here).
        self.bad_signatures = 0
        self.log_interval = checked_seconds("log_interval", log_interval)
        self._refusals = 0  # refused since the last log line
        self._logged_at = -math.inf
        #: How many callbacks were refused in all (any 4xx).
        self.refused = 0

    def __repr__(self) -> str:
        return (
            f"NotificationReceiver(hub={self.hub!r}, secrets=<{len(self._secrets)} hidden>, "
            f"max_body_size={self.max_body_size})"
        )

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Check one callback and publish it; return ``(status, json_body)`` to answer with.

        200 accepted (or a duplicate, published once); 401 bad or missing signature; 400 not a
        JSON envelope or nested too deep; 413 too large. ``headers`` may be any mapping
        (names are matched case-insensitively). Never waits on a consumer.
        """
        if len(body) > self.max_body_size:
            return self._refuse(413, "body too large")
        verified = False
        for secret in self._secrets:  # check them all: the time taken does not tell which
            verified |= verify(body, headers, secret)
        if not verified:
            return self._refuse_signature()
        if _nested_deeper_than(body, self.max_depth):
            return self._refuse(400, "body nested too deep")
        try:
            note = parse(body)
        except InvalidNotificationError as exc:
            return self._refuse(400, str(exc))
        if self.hub.publish(note):
            return 200, _ACCEPTED
        logger.debug("duplicate NCS callback %s answered without publishing", note.notice_id)
        return 200, _DUPLICATE

    def _refuse_signature(self) -> tuple[int, bytes]:
        """401: counted in `bad_signatures`, logged (throttled) with what to check."""
        self.bad_signatures += 1
        return self._refuse(401, "bad or missing signature", hint=NCS_SECRET_HINT)

    def _refuse(self, status: int, reason: str, *, hint: str = "") -> tuple[int, bytes]:
        """Answer a refusal; log it only if the last log line is ``log_interval`` old, with
        how many were refused since (a wrong secret fails every callback)."""
        self.refused += 1
        self._refusals += 1
        now = anyio.current_time()
        if now - self._logged_at >= self.log_interval:
            logger.warning(
                "refused %d NCS callback(s) in the last %g s; the latest (%d): %s%s",
                self._refusals,
                self.log_interval,
                status,
                reason,
                f"; {hint}" if hint else "",
            )
            self._logged_at = now
            self._refusals = 0
        return status, _answer(error=reason)

    # -- ASGI ----------------------------------------------------------------------------------

    @overload
    async def __call__(self, scope: Scope, receive: Receive, send: Send, /) -> None: ...

    @overload
    async def __call__(self, request: Any, /) -> Any: ...

    async def __call__(
        self, scope: Any, receive: Receive | None = None, send: Send | None = None, /
    ) -> Any:
        """The ASGI entry point: HTTP requests, plus lifespan so it can run alone.

        The one-argument form exists for type checkers only: Starlette's and FastAPI's
        ``add_route`` declare request handlers, yet call an ASGI application (an object that is
        not a function) with ``(scope, receive, send)``, as every ASGI server does. So
        ``app.add_route("/agora/ncs", receiver, methods=["POST"])`` type-checks without an
        ignore; called with one argument it raises `ArgumentTypeError`.
        """
        if receive is None or send is None:
            raise ArgumentTypeError(
                "NotificationReceiver is an ASGI application: call it with (scope, receive, send)"
            )
        await self._asgi(scope, receive, send)

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope.get("method") != "POST":
            reply = self._refuse(405, "only POST is accepted")
            await _respond(send, *reply, extra=[(b"allow", b"POST")])
            return
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        declared = headers.get("content-length")
        if declared is not None:
            if not (declared.strip().isascii() and declared.strip().isdigit()):
                await _respond(send, *self._refuse(400, "bad Content-Length"))
                return
            if int(declared) > self.max_body_size:
                await _respond(send, *self._refuse(413, "body too large"))
                return
        try:
            with anyio.fail_after(self.read_timeout):
                body = await self._read_body(receive)
        except TimeoutError:
            await _respond(send, *self._refuse(408, "body not received in time"))
            return
        except _TooLarge:
            await _respond(send, *self._refuse(413, "body too large"))
            return
        except _Disconnected:
            return
        await _respond(send, *await self.handle(body, headers))

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _respond(
    send: Send, status: int, body: bytes, *, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
