"""The Starlette application: the REST routes of the service, its gateway, and control routes.

A request to the service goes through the same steps as at Agora's gateway, in this order:
route match (404 ``no Route matched``), Basic auth (401), App ID restriction (400 ``appid is
invalid``), per-App-ID rate limit (429), then injected faults, the ``Content-Type`` and JSON
checks (400 code 8) and the state machine. Every response carries ``X-Request-ID``.

Control routes under ``/_emulator`` (no auth) let out-of-process tests drive the emulator; see
the package docstring for the list.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agora_recording._protocol import Endpoint
from agora_recording.enums import Mode

from . import _replies as replies
from ._faults import DropConnection, FailAnswer, Faults
from ._gateway import Gateway, QuotaExceeded
from ._page import RequestLog, RequestLogMiddleware
from ._state import State
from ._stats import DROPPED, Stats

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


class _Api:
    """The REST endpoints, on the gateway, faults, state machine and counters they are given."""

    def __init__(self, *, gateway: Gateway, state: State, faults: Faults, stats: Stats) -> None:
        self.gateway = gateway
        self.state = state
        self.faults = faults
        self.stats = stats

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
        endpoint: Endpoint[Any],
        handler: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Response:
        params = request.path_params
        mode = params.get("mode")
        if mode is not None and mode not in _MODES:
            return _error_response(replies.no_route())
        app_id = params["app_id"]
        stats = self.stats
        try:
            self.gateway.admit(request.headers.get("authorization"), app_id)
        except replies.ServiceError as error:
            limited = isinstance(error, QuotaExceeded)
            stats.record(app_id, endpoint.name, error.status, rate_limited=limited)
            return _error_response(error)
        try:
            response = await self._answer(request, endpoint, handler)
        except DropConnection:
            stats.record(app_id, endpoint.name, DROPPED, rate_limited=False)
            raise
        stats.record(app_id, endpoint.name, response.status_code, rate_limited=False)
        return response

    async def _answer(
        self,
        request: Request,
        endpoint: Endpoint[Any],
        handler: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Response:
        """Faults first, then the state machine (a request past the gateway checks)."""
        plan = self.faults.plan(endpoint.name)
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
            if endpoint.has_body:
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
            ids.update(self.state.ids_for(sid))
        for key in ("cname", "uid"):
            if isinstance(body.get(key), str):
                ids[key] = body[key]
        ids["resourceId"] = params.get("resource_id")
        ids["sid"] = sid
        return error.with_ids(**ids)

    # -- endpoints -----------------------------------------------------------------------------

    async def acquire(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        return await self._call(request, Endpoint.ACQUIRE, lambda b: self.state.acquire(app_id, b))

    async def start(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(
            request,
            Endpoint.START,
            lambda body: self.state.start(p["app_id"], p["resource_id"], p["mode"], body),
        )

    async def query(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(
            request,
            Endpoint.QUERY,
            lambda _: self.state.query(p["app_id"], p["resource_id"], p["sid"], p["mode"]),
        )

    async def update(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(
            request,
            Endpoint.UPDATE,
            lambda body: self.state.update(
                p["app_id"], p["resource_id"], p["sid"], p["mode"], body
            ),
        )

    async def update_layout(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(
            request,
            Endpoint.UPDATE_LAYOUT,
            lambda body: self.state.update_layout(
                p["app_id"], p["resource_id"], p["sid"], p["mode"], body
            ),
        )

    async def stop(self, request: Request) -> Response:
        p = request.path_params
        return await self._call(
            request,
            Endpoint.STOP,
            lambda body: self.state.stop(p["app_id"], p["resource_id"], p["sid"], p["mode"], body),
        )

    async def ncs_ip(self, request: Request) -> Response:
        """The NCS IP list (Agora's NCS IP list API), at both documented paths."""
        try:
            self.gateway.admit(request.headers.get("authorization"), None)
        except replies.ServiceError as error:
            return _error_response(error)
        return JSONResponse({"data": {"service": {"hosts": [{"primaryIP": "127.0.0.1"}]}}})


async def _no_route(request: Request, exc: Exception) -> Response:
    return _error_response(replies.no_route())


def build_app(
    *,
    gateway: Gateway,
    state: State,
    faults: Faults,
    stats: Stats,
    new_request_id: Callable[[], str],
    control: Sequence[BaseRoute] = (),
    page: Sequence[BaseRoute] = (),
    request_log: RequestLog | None = None,
    background: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> Starlette:
    """The ASGI application of one emulated service: its REST routes, the ``control`` routes
    mounted at ``/_emulator``, and a lifespan that runs ``background`` (webhook delivery)."""
    api = _Api(gateway=gateway, state=state, faults=faults, stats=stats)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if background is None:
            yield
            return
        async with anyio.create_task_group() as group:
            group.start_soon(background)
            yield
            group.cancel_scope.cancel()

    routes = [
        *page,
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
        Mount("/_emulator", routes=list(control)),
    ]
    handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: _no_route,
        405: _no_route,
    }
    app = Starlette(
        routes=routes,
        middleware=[
            *([Middleware(RequestLogMiddleware, log=request_log)] if request_log else []),
            Middleware(_RequestId, new_id=new_request_id),
        ],
        exception_handlers=dict(handlers),
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    return app
