"""The Starlette application: the REST routes of the service, its gateway, and control routes.

A request to the service goes through the same steps as at Agora's gateway, in this order:
route match (404 ``no Route matched``), Basic auth (401), App ID restriction (400 ``appid is
invalid``), per-App-ID rate limit (429), then injected faults, the ``Content-Type`` and JSON
checks (400 code 8) and the state machine. Every response carries ``X-Request-ID``.

Control routes under ``/_emulator`` (no auth) let out-of-process tests drive the emulator; see
the package docstring for the list.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora_recording._protocol import Endpoint
from agora_recording.enums import Mode

from . import _replies as replies
from ._control import control_routes
from ._faults import DropConnection, FailAnswer
from ._ratelimit import RateLimiter
from ._stats import DROPPED

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["build_app"]


def _route_path(endpoint: Endpoint[Any]) -> str:
    """The endpoint's path template (the client's table) with this app's parameter names."""
    return endpoint.path_template.replace("{appid}", "{app_id}").replace(
        "{resourceid}", "{resource_id}"
    )


_MODES = frozenset(m.value for m in Mode)


class _RequestId:
    """ASGI middleware: stamp ``X-Request-ID`` on every response, and drop connections.

    A :class:`DropConnection` raised below becomes a started response that is then abandoned:
    in-process the client sees ``httpx.RemoteProtocolError``; under uvicorn the server closes
    the connection after the headers, which the client reports as a transport error too.
    """

    def __init__(self, app: ASGIApp, new_id: Callable[[], str]) -> None:
        self.app = app
        self.new_id = new_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.new_id().encode("ascii")

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except DropConnection:
            await stamped(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            raise httpx.RemoteProtocolError(
                "the emulator dropped the connection (injected fault)"
            ) from None


def _error_response(error: replies.ServiceError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


def _fault_response(answer: FailAnswer) -> Response:
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers=dict(answer.headers),
    )


class _QuotaExceeded(replies.ServiceError):
    """The 429 of the per-App-ID quota (counted apart from injected 429s)."""


class _Api:
    """The REST endpoints, bound to one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    # -- gateway -------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None:
            raise replies.gateway(401, "Unauthorized")
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "basic":
            raise replies.gateway(401, "Invalid authentication credentials")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise replies.gateway(401, "Invalid authentication credentials") from None
        customer_id, _, secret = decoded.partition(":")
        if not self.emulator.credentials_match(customer_id, secret):
            raise replies.gateway(401, "Invalid authentication credentials")

    def _admit(self, request: Request, app_id: str | None) -> None:
        """Gateway checks after routing: auth, App ID, rate limit."""
        self._authenticate(request)
        if app_id is None:
            return
        if not self.emulator.app_id_allowed(app_id):
            raise replies.gateway(400, "appid is invalid")
        delay = self.emulator.rate_limit_delay(app_id)
        if delay is not None:
            headers = {"Retry-After": RateLimiter.retry_after_header(delay)}
            limited = replies.gateway(429, "API rate limit exceeded", headers)
            raise _QuotaExceeded(limited.status, limited.body, limited.headers)

    @staticmethod
    async def _json_body(request: Request) -> dict[str, Any]:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise replies.bad_header("Content-Type must be application/json")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise replies.bad_header("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise replies.bad_header("request body must be a JSON object")
        return body

    async def _call(
        self,
        request: Request,
        endpoint: str,
        handler: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        has_body: bool,
    ) -> Response:
        params = request.path_params
        mode = params.get("mode")
        if mode is not None and mode not in _MODES:
            return _error_response(replies.no_route())
        app_id = params["app_id"]
        stats = self.emulator.stats
        try:
            self._admit(request, app_id)
        except replies.ServiceError as error:
            limited = isinstance(error, _QuotaExceeded)
            stats.record(app_id, endpoint, error.status, rate_limited=limited)
            return _error_response(error)
        try:
            response = await self._answer(request, endpoint, handler, has_body=has_body)
        except DropConnection:
            stats.record(app_id, endpoint, DROPPED, rate_limited=False)
            raise
        stats.record(app_id, endpoint, response.status_code, rate_limited=False)
        return response

    async def _answer(
        self,
        request: Request,
        endpoint: str,
        handler: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        has_body: bool,
    ) -> Response:
        """Faults first, then the state machine (a request past the gateway checks)."""
        plan = self.emulator.faults.plan(endpoint)
        if plan.latency:
            await anyio.sleep(plan.latency)
        if plan.drop and not plan.drop_after_processing:
            raise DropConnection
        if plan.fail is not None and not plan.fail_after_processing:
            return _fault_response(plan.fail)
        body: dict[str, Any] = {}
        params = request.path_params
        response: Response
        try:
            if has_body:
                body = await self._json_body(request)
            response = JSONResponse(handler(body))
        except replies.ServiceError as error:
            response = _error_response(self._with_ids(error, body, params))
        # Faults still pending here are "after processing" ones: the work is done, the answer lost.
        if plan.drop:
            raise DropConnection
        if plan.fail is not None:
            return _fault_response(plan.fail)
        return response

    def _with_ids(
        self, error: replies.ServiceError, body: Mapping[str, Any], params: Mapping[str, Any]
    ) -> replies.ServiceError:
        ids: dict[str, Any] = {}
        sid = params.get("sid")
        if sid is not None:
            ids.update(self.emulator.state.ids_for(sid))
        for key in ("cname", "uid"):
            if isinstance(body.get(key), str):
                ids[key] = body[key]
        ids["resourceId"] = params.get("resource_id")
        ids["sid"] = sid
        return error.with_ids(**ids)

    # -- endpoints -----------------------------------------------------------------------------

    async def acquire(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        state = self.emulator.state
        return await self._call(
            request, Endpoint.ACQUIRE.name, lambda body: state.acquire(app_id, body), has_body=True
        )

    async def start(self, request: Request) -> Response:
        p = request.path_params
        state = self.emulator.state
        return await self._call(
            request,
            Endpoint.START.name,
            lambda body: state.start(p["app_id"], p["resource_id"], p["mode"], body),
            has_body=True,
        )

    async def query(self, request: Request) -> Response:
        p = request.path_params
        state = self.emulator.state
        return await self._call(
            request,
            Endpoint.QUERY.name,
            lambda _: state.query(p["app_id"], p["resource_id"], p["sid"], p["mode"]),
            has_body=False,
        )

    async def update(self, request: Request) -> Response:
        p = request.path_params
        state = self.emulator.state
        return await self._call(
            request,
            Endpoint.UPDATE.name,
            lambda body: state.update(p["app_id"], p["resource_id"], p["sid"], p["mode"], body),
            has_body=True,
        )

    async def update_layout(self, request: Request) -> Response:
        p = request.path_params
        state = self.emulator.state

        def handle(body: dict[str, Any]) -> dict[str, Any]:
            return state.update_layout(p["app_id"], p["resource_id"], p["sid"], p["mode"], body)

        return await self._call(request, Endpoint.UPDATE_LAYOUT.name, handle, has_body=True)

    async def stop(self, request: Request) -> Response:
        p = request.path_params
        state = self.emulator.state
        return await self._call(
            request,
            Endpoint.STOP.name,
            lambda body: state.stop(p["app_id"], p["resource_id"], p["sid"], p["mode"], body),
            has_body=True,
        )

    async def ncs_ip(self, request: Request) -> Response:
        """The NCS IP list (Agora's NCS IP list API), at both documented paths."""
        try:
            self._admit(request, None)
        except replies.ServiceError as error:
            return _error_response(error)
        return JSONResponse({"data": {"service": {"hosts": [{"primaryIP": "127.0.0.1"}]}}})


async def _no_route(request: Request, exc: Exception) -> Response:
    return _error_response(replies.no_route())


def build_app(emulator: Emulator) -> Starlette:
    """The ASGI application of ``emulator``; its lifespan runs webhook delivery when a
    notification URL is configured."""
    api = _Api(emulator)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if emulator.notification_url is None:
            yield
            return
        async with anyio.create_task_group() as group:
            group.start_soon(emulator.deliver_notifications)
            yield
            group.cancel_scope.cancel()

    routes = [
        *(
            Route(_route_path(endpoint), handler, methods=[endpoint.method])
            for endpoint, handler in (
                (Endpoint.ACQUIRE, api.acquire),
                (Endpoint.START, api.start),
                (Endpoint.QUERY, api.query),
                (Endpoint.UPDATE, api.update),
                (Endpoint.UPDATE_LAYOUT, api.update_layout),
                (Endpoint.STOP, api.stop),
            )
        ),
        Route("/v1/ncs/ip", api.ncs_ip, methods=["GET"]),
        Route("/v2/ncs/ip", api.ncs_ip, methods=["GET"]),
        Mount("/_emulator", routes=control_routes(emulator)),
    ]
    handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: _no_route,
        405: _no_route,
    }
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_RequestId, new_id=emulator.new_request_id)],
        exception_handlers=dict(handlers),
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    return app
