"""`RecordingClient`: one async method per Cloud Recording endpoint.

The client is the only layer that awaits the network. For each call it builds and validates the
request (`_protocol.build_request`, so bad input fails before anything is sent), waits for the
client-side rate limiter, sends it through httpx with Basic auth set per request, decodes the
answer (`_protocol.parse_response`), and retries retryable failures through stamina
(`_retry.retry_after`), failing over between hosts (`_hosts.failover_order`).

Quota: every attempt first waits for a slot of the client's share of the App ID's quota
(`_ratelimit.RateLimiter`, 10 requests per second by default), in priority order: stops first,
routine polls last. Then it waits for a place among the requests in flight
(`_inflight.PrioritySemaphore`, always on, even with ``rate_limit=None``), sized to the httpx
connection pool (``max_in_flight``, by default the pool's ``max_connections``) and in the same
priority order, so a herd waits in our queue, not in httpcore's. A 429 from the service never
spends an attempt (up to ``_MAX_RATE_LIMITED`` in a row): with a limiter it slows the whole
client down (``Retry-After`` honoured, `_ratelimit.Backoff`); without one the request waits its
``Retry-After`` plus jitter (`_retry.RetryPolicy.rate_limited_wait`) and goes again.

Timeouts measure the service, never our own queue: every attempt gets ``timeout`` seconds, and
the whole call, retries and backoff included, gets ``call_timeout`` seconds, extended by every
second the call spent waiting for its slot in the limiter or for its place in flight. Since the
places in flight never outnumber the pool's connections, httpx never queues a request for a
connection: an attempt's clock starts when it holds one and is sent. (A borrowed client that
other code also uses can still queue ours behind its requests; give it its own pool, or say
``max_in_flight``.) Each attempt's ``timeout`` is enforced twice: httpx applies it to every
connect, read and write, and a deadline (`_deadline.attempt_timer`) bounds the attempt as a
whole, since a server that trickles bytes can keep each read under httpx's limit forever. An
attempt never gets more than what is left until the call's deadline (but at least
``_MIN_ATTEMPT_TIMEOUT``), so ``timeout`` must not exceed ``call_timeout``. Start, stop, poll
and call deadlines are all this one `_CallDeadline`, so they all follow the rule.

Stops: `RecordingClient.ensure_stopped` repeats and verifies a stop until the service confirms
it (its whole retry policy is in ``_stopping``), for up to ``stop_timeout`` seconds of service
time; each stop attempt gets ``_STOP_ATTEMPT_TIMEOUT`` (a synchronous stop waits for uploads).
Every recording started (or adopted by a session) through the client is listed by
`RecordingClient.unconfirmed` until its stop is confirmed; `aclose` logs each one left and raises
`UnconfirmedRecordingsError` for those whose stop failed.

Logged (to ``logging.getLogger("agora_recording")``): endpoint, host, attempt, status, code,
elapsed time, a truncated resource ID, sid and request ID. Never bodies, headers or secrets.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import random as _random
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import attrs
import httpx
from typing_extensions import Self

from ._deadline import AttemptTimer, attempt_timer
from ._hints import host_setting, origin_of, transport_message
from ._hosts import HostCursor, failover_order, parse_region
from ._inflight import DEFAULT_POOL_SIZE, PrioritySemaphore, pool_size
from ._journal import StartIntent
from ._keywords import formerly_positional, renamed
from ._numbers import seconds as checked_seconds
from ._polling import PollBudget
from ._protocol import (
    RESOURCE_LIFETIME,
    Endpoint,
    RequestSpec,
    build_request,
    parse_mode,
    parse_response,
)
from ._ratelimit import HEALTH_WAIT, Limiter, Priority, RateLimiter
from ._requests import AS_BUILT, RequestFactory, basic_authorization
from ._retry import RetryPolicy, describe_failure, moves_host, retry_after
from ._starting import (
    HA_REGISTER_TIMEOUT,
    MAX_START_RECOVERIES,
    START_ATTEMPT_TIMEOUT,
    StartAttempts,
    run_attempts,
)
from ._stopping import (
    StopConfirmation,
    Unconfirmed,
    UnconfirmedRecording,
    UnconfirmedRegistry,
    confirm_stop,
)
from .enums import Mode, Region
from .errors import (
    AgoraError,
    AlreadyStartedError,
    ArgumentTypeError,
    ClientClosedError,
    RateLimitError,
    StopUnconfirmedError,
    TransportError,
    UnconfirmedRecordingsError,
    ValidationError,
)
from .models import (
    AcquireConfig,
    AcquireResponse,
    NcsIpResponse,
    QueryResponse,
    RecordingHandle,
    StartConfig,
    StartResponse,
    StopResponse,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
)
from .telemetry import Telemetry

if TYPE_CHECKING:
    from .webhooks._hub import NotificationHub

__all__ = ["RecordingClient"]

T = TypeVar("T")

logger = logging.getLogger("agora_recording")

# A resource ID is valid for 5 minutes after acquire; stop retrying start a little before that.
_VALIDITY_MARGIN = 10.0
_REMEMBERED_RESOURCES = 256
# Sids remembered so a start's notifications never bind to an earlier recording of this client.
_KNOWN_SIDS = 4096
# Parsed request URLs (and query requests) kept for reuse: enough for a large fleet.
_CACHED_URLS = 4096
# The per-attempt timeouts kept in httpx's form: the client's and start's, and a few cut short.
_CACHED_TIMEOUTS = 8
# However close the call's deadline, an attempt gets at least this long to complete.
_MIN_ATTEMPT_TIMEOUT = 1.0
# One stop attempt: a synchronous stop waits for the uploads to finish before answering.
_STOP_ATTEMPT_TIMEOUT = 30.0
# 429s in a row one call absorbs (each slows the whole client down) before it gives up.
_MAX_RATE_LIMITED = 20


class _CallDeadline:
    """When a call (retries included) must give up: ``seconds`` of *service* time from now,
    pushed back by every second spent waiting in our own queues (the limiter, the places in
    flight). Not to be confused with `PollBudget`, a share of the request rate."""

    __slots__ = ("at", "clock", "queued", "seconds")

    def __init__(
        self,
        seconds: float,
        clock: Callable[[], float] = anyio.current_time,
        *,
        now: float | None = None,
    ) -> None:
        self.clock = clock
        self.seconds = seconds
        self.at = (clock() if now is None else now) + seconds
        #: The seconds credited so far: the call's time in our own queues.
        self.queued = 0.0

    def left(self) -> float:
        return self.at - self.clock()

    def credit(self, queued: float) -> None:
        self.at += queued
        self.queued += queued


def _seconds(name: str, value: float) -> float:
    return checked_seconds(name, value)


def _credential(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, "must be a non-empty string")
    if not value.isprintable() or not value.isascii():
        raise ValidationError(name, "must be printable ASCII")
    return value


def _short(resource_id: str) -> str:
    return resource_id if len(resource_id) <= 12 else resource_id[:12] + "..."


def _label(endpoint: Endpoint[Any], resource_id: str | None = None, sid: str | None = None) -> str:
    parts = [endpoint.name]
    if resource_id:
        parts.append(f"resource {_short(resource_id)}")
    if sid:
        parts.append(f"sid {sid}")
    return " ".join(parts)


def _user_agent() -> str:
    from . import __version__

    python = platform.python_version()
    return f"agora-recording/{__version__} httpx/{httpx.__version__} python/{python}"


class RecordingClient:
    """The endpoint calls of `agora_recording.RecordingClient` (documented there), without
    ``session()``: this layer never imports a session, so the two meet in ``_assembled``."""

    @formerly_positional(
        "RecordingClient(app_id, customer_id, customer_secret)",
        "app_id",
        "customer_id",
        "customer_secret",
    )
    def __init__(
        self,
        *,
        app_id: str,
        customer_id: str,
        customer_secret: str,
        base_url: str | None = None,
        region: Region | str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        stop_timeout: float = 180.0,
        call_timeout: float = 60.0,
        rate_limit: float | Limiter | None = 10.0,
        poll_share: float = 0.5,
        attempts: int = 5,
        app_certificate: str | None = None,
        notifications: NotificationHub | None = None,
        max_in_flight: int | None = None,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.app_id = _credential("app_id", app_id)
        self.app_certificate = (
            None if app_certificate is None else _credential("app_certificate", app_certificate)
        )
        if not all(ch.isalnum() or ch in "-_" for ch in app_id):
            raise ValidationError("app_id", "may only hold letters, digits, '-' and '_'")
        authorization = basic_authorization(
            _credential("customer_id", customer_id),
            _credential("customer_secret", customer_secret),
        )
        self.region = parse_region(region) if region is not None else None
        self.hosts: tuple[str, ...] = tuple(failover_order(self.region, base_url))
        self.timeout = _seconds("timeout", timeout)
        self.stop_timeout = _seconds("stop_timeout", stop_timeout)
        self.call_timeout = _seconds("call_timeout", call_timeout)
        if self.timeout > self.call_timeout:
            raise ValidationError("timeout", "must not exceed call_timeout")
        if not callable(random):
            raise ArgumentTypeError("random must be a function giving numbers in [0, 1)")
        try:
            self._retry = RetryPolicy(attempts=attempts, random=random)
        except ValueError:
            raise ValidationError("attempts", "must be an integer >= 1") from None
        self._limiter: Limiter | None
        if rate_limit is None or isinstance(rate_limit, Limiter):
            self._limiter = rate_limit
        else:
            try:
                self._limiter = RateLimiter(rate_limit)
            except (TypeError, ValueError):
                raise ValidationError(
                    "rate_limit", "must be a positive number of requests per second, or None"
                ) from None
        try:
            self.poll_budget = PollBudget(
                None if self._limiter is None else self._limiter.rate, share=poll_share
            )
        except ValueError as exc:
            raise ValidationError("poll_share", str(exc)) from None
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ArgumentTypeError("http_client must be an httpx.AsyncClient")
        if max_in_flight is not None and (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or max_in_flight < 1
        ):
            raise ValidationError("max_in_flight", "must be a positive integer, or None")
        self._owns_http = http_client is None
        if http_client is None:
            size = max_in_flight if max_in_flight is not None else DEFAULT_POOL_SIZE
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            http_client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), limits=limits, follow_redirects=False
            )
        self._http = http_client
        #: Requests in flight at most: never more than the pool's connections (see the module
        #: docstring), so the pool never queues one.
        pool = pool_size(http_client)
        self.max_in_flight = pool if max_in_flight is None else min(pool, max_in_flight)
        # A health poll that waited its limiter's health_wait goes ahead of starts here too.
        health_wait = getattr(self._limiter, "health_wait", HEALTH_WAIT)
        self._in_flight = PrioritySemaphore(self.max_in_flight, health_wait=health_wait)
        self._user_agent = _user_agent()
        # Per-request constants, built once: the host name of each base URL (for log lines and
        # errors) and the two header sets (with and without a JSON body).
        self._host_names = {base: httpx.URL(base).host for base in self.hosts}
        self._host_setting = host_setting(base_url, self.region)  # named by transport errors
        self._urls: dict[tuple[str, str], httpx.URL] = {}  # built once per recording (_send)
        self._timeouts: dict[float, dict[str, float | None]] = {}  # httpx's form, see _send
        self._queries: dict[RecordingHandle, tuple[RequestSpec, str]] = {}  # see _query
        accept = {
            "Accept": "application/json",
            "User-Agent": self._user_agent,
            "Authorization": authorization,
        }
        self._requests = RequestFactory(
            http_client,
            plain=accept,
            json={**accept, "Content-Type": "application/json;charset=utf-8"},
        )
        self._closed = False
        self._acquired_at: OrderedDict[str, float] = OrderedDict()
        self._registry = UnconfirmedRegistry()
        self._known_sids: OrderedDict[str, None] = OrderedDict()
        #: Seconds one start attempt may take (see ``_starting.START_ATTEMPT_TIMEOUT``).
        self.start_attempt_timeout = START_ATTEMPT_TIMEOUT
        #: How many times a session acquires a new resource after a documented start refusal
        #: (500 code 502, 400 code 433); 0 turns that recovery off.
        self.start_recoveries = MAX_START_RECOVERIES
        #: Seconds a session with notifications waits for event 13 (high-availability
        #: registration) after start before it replaces the task; ``None`` turns it off.
        self.ha_register_timeout: float | None = HA_REGISTER_TIMEOUT
        # Set once a session of this client saw an event 13: only then is its absence news.
        self._ha_registers_seen = False
        #: The hub every session of this client follows for notifications (or ``None``).
        self.notifications = notifications
        #: Where requests and sessions report spans and metrics (OpenTelemetry's global
        #: providers unless replaced by a `Telemetry` with providers of its own).
        self.telemetry = Telemetry()

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        base_url: str | None = None,
        region: Region | str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        stop_timeout: float = 180.0,
        call_timeout: float = 60.0,
        rate_limit: float | Limiter | None = 10.0,
        poll_share: float = 0.5,
        attempts: int = 5,
        app_certificate: str | None = None,
        notifications: NotificationHub | None = None,
        max_in_flight: int | None = None,
        random: Callable[[], float] = _random.random,
    ) -> Self:
        """Build a client from ``AGORA_APP_ID``, ``AGORA_CUSTOMER_ID``, ``AGORA_CUSTOMER_SECRET``.

        Optional ``AGORA_BASE_URL`` and ``AGORA_REGION`` pick the hosts; an optional
        ``AGORA_APP_CERTIFICATE`` lets sessions mint the recorder's token. ``environ`` defaults to
        ``os.environ``; other keyword arguments go to the constructor. A missing or empty
        required variable raises `ValidationError` naming it.
        """
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ValidationError(name, "environment variable is not set")
            return value

        app_id = required("AGORA_APP_ID")
        customer_id = required("AGORA_CUSTOMER_ID")
        customer_secret = required("AGORA_CUSTOMER_SECRET")
        if base_url is None:
            base_url = env.get("AGORA_BASE_URL", "").strip() or None
        if app_certificate is None:
            app_certificate = env.get("AGORA_APP_CERTIFICATE", "").strip() or None
        env_region = env.get("AGORA_REGION", "").strip()
        if region is None and env_region:
            try:
                region = parse_region(env_region)
            except ValidationError as exc:
                raise ValidationError("AGORA_REGION", exc.rule) from None
        return cls(
            app_id=app_id,
            customer_id=customer_id,
            customer_secret=customer_secret,
            base_url=base_url,
            region=region,
            http_client=http_client,
            timeout=timeout,
            stop_timeout=stop_timeout,
            call_timeout=call_timeout,
            rate_limit=rate_limit,
            poll_share=poll_share,
            attempts=attempts,
            app_certificate=app_certificate,
            notifications=notifications,
            max_in_flight=max_in_flight,
            random=random,
        )

    # ------------------------------------------------------------------------------------
    # Lifecycle

    @property
    def base_url(self) -> str:
        """The first host calls go to (later hosts are failover)."""
        return self.hosts[0]

    @property
    def closed(self) -> bool:
        """Whether `aclose` has been called."""
        return self._closed

    @property
    def limiter(self) -> Limiter | None:
        """The limiter every request waits on (``None`` when the rate limit is off)."""
        return self._limiter

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<RecordingClient app_id={self.app_id!r} base_url={self.base_url!r}{state}>"

    async def __aenter__(self) -> Self:
        self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(raise_unconfirmed=exc is None)

    async def aclose(self) -> None:
        """Close the client (idempotent); an owned httpx client is closed, a borrowed one not.

        What `unconfirmed` still lists is logged, one line each with the command that stops
        it: at ERROR a recording whose stop was tried and never confirmed, at WARNING one that
        was started and never stopped here (left running on purpose, say, for another process).
        If any stop failed, `UnconfirmedRecordingsError` is raised listing those (leaving
        ``async with`` because of another exception only logs them).
        """
        await self._close(raise_unconfirmed=True)

    async def _close(self, *, raise_unconfirmed: bool) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            await self._http.aclose()
        failed = self._registry.report()
        if failed and raise_unconfirmed:
            raise UnconfirmedRecordingsError(failed)

    def unconfirmed(self) -> list[UnconfirmedRecording]:
        """Recordings started (or adopted) through this client whose stop is not confirmed.

        A recording enters the list when ``start`` answers with its ``sid`` (or a session adopts
        it) and leaves it when the service confirms its stop (see `ensure_stopped`); each entry
        holds the handle and the last stop error. Running recordings are listed too: it is the
        list of what could bill if this process died now.
        """
        return list(self._registry)

    def track(self, handle: RecordingHandle) -> None:
        """List a recording started elsewhere in `unconfirmed` until its stop is confirmed
        (sessions do this when they adopt one)."""
        self._registry.add(_handle(handle))
        self._know(handle.sid)

    def release(self, handle: RecordingHandle) -> None:
        """Stop listing a running recording in `unconfirmed`: it is left running on purpose,
        for another process (or a later ``agora-recording stop``) to stop; closing the client
        then says nothing about it."""
        self._registry.confirmed(_handle(handle))

    def _ensure_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this RecordingClient is closed; create a new one")

    # ------------------------------------------------------------------------------------
    # Endpoints

    @formerly_positional("RecordingClient.acquire(cname, uid)", "cname", "uid")
    async def acquire(
        self, *, cname: str, uid: int | str, config: AcquireConfig | None = None
    ) -> AcquireResponse:
        """Reserve a recording resource; its ``resource_id`` must be used by `start` in 5 min.

        ``cname`` and ``uid`` go by keyword, as in `start`: two strings side by side are too
        easy to swap (by position they still work, with a `DeprecationWarning`).
        """
        spec = build_request(Endpoint.ACQUIRE, self.app_id, cname=cname, uid=uid, config=config)
        response = await self._call(
            Endpoint.ACQUIRE, spec, label=_label(Endpoint.ACQUIRE), priority=Priority.ACQUIRE
        )
        if response.resource_id:
            self._remember(response.resource_id)
        return response

    async def start(
        self,
        resource_id: str,
        mode: Mode | str,
        *,
        cname: str,
        uid: int | str,
        config: StartConfig,
    ) -> StartResponse:
        """Start recording; the response's ``.handle`` addresses the recording from then on.

        ``cname``, ``uid`` and ``config`` go by keyword: two strings side by side are too easy
        to swap.

        Each attempt may take ``start_attempt_timeout`` (65 s: never less than the service
        takes to answer). Once an attempt may have reached the service without a definitive
        answer, start is asked again with the same resource ID until the service says (see
        ``_starting``), never past the resource ID's 5-minute validity. A repeated start raises
        `AlreadyStartedError` (201, code 7). From its answer on, the recording is listed by
        `unconfirmed` until a stop is confirmed; a start that stays ambiguous, or ends with 201
        code 7 after an ambiguous attempt, is listed there without a sid (logged at ERROR, and
        `aclose` raises `UnconfirmedRecordingsError`), since a recording may be running.
        """
        wire_mode = parse_mode(mode)
        intent = StartIntent(
            resource_id=resource_id,
            cname=cname,
            uid=str(uid),
            mode=wire_mode,
            began_at=time.time(),
        )
        attempts = await self._start_attempts(intent, config)
        if attempts.response is not None:
            return attempts.response
        assert attempts.error is not None
        if attempts.ambiguous:  # a first 201/7 means the caller reused a resource it started
            self._unresolved_start(intent, attempts.error)
        raise attempts.error

    async def _start_attempts(
        self, intent: StartIntent, config: StartConfig, *, new_uid_after: int | None = None
    ) -> StartAttempts:
        """Send start until its answer is definitive (``_starting``; ``new_uid_after`` lets it
        stop early after 50x answers); a start answered with a sid is listed by `unconfirmed`
        from then on."""
        resource_id = intent.resource_id
        spec = build_request(
            Endpoint.START,
            self.app_id,
            resource_id=resource_id,
            mode=intent.mode,
            cname=intent.cname,
            uid=intent.uid,
            config=config,
        )
        # The resource ID's life ends 5 minutes after acquire (counted from now when it was
        # acquired elsewhere): no attempt is sent after that.
        acquired = self._acquired_at.get(resource_id)
        if acquired is None:
            acquired = anyio.current_time()
        give_up_at = acquired + RESOURCE_LIFETIME - _VALIDITY_MARGIN
        label = _label(Endpoint.START, resource_id)

        def send() -> Awaitable[StartResponse]:
            return self._call(
                Endpoint.START,
                spec,
                label=label,
                priority=Priority.START,
                attempt_timeout=self.start_attempt_timeout,
                deadline=_CallDeadline(
                    max(give_up_at - anyio.current_time(), _MIN_ATTEMPT_TIMEOUT)
                ),
                single=True,
            )

        attempts = await run_attempts(
            send,
            policy=self._retry,
            give_up_at=give_up_at,
            label=label,
            new_uid_after=new_uid_after,
        )
        if not attempts.cut_short:  # else the same resource may be asked again
            self._acquired_at.pop(resource_id, None)
        response = attempts.response
        if response is None:
            if attempts.running:
                logger.warning(
                    "%s: 201 code 7: a recording runs on this resource whose sid is unknown",
                    label,
                )
            return attempts
        started = attrs.evolve(
            response,
            mode=intent.mode,
            resource_id=response.resource_id or resource_id,
            cname=response.cname or intent.cname,
            uid=response.uid or intent.uid,
        )
        handle = started.handle
        self._registry.add(handle)
        self._know(handle.sid)
        return StartAttempts(response=started, ambiguous=attempts.ambiguous)

    def _unresolved_start(self, intent: StartIntent, error: AgoraError) -> None:
        """List a start that may have left a recording with no known sid, at ERROR."""
        self._registry.unresolved(intent, error)
        logger.error(
            "start of resource %s (cname %s, uid %s) unresolved: a recording may be running "
            "whose sid is unknown (last: %s). It bills until maxIdleTime: find it by cname and "
            "uid in Agora's notifications (NCS) or Console, one that began after Unix time "
            "%.0f, and stop it with its sid",
            intent.resource_id,
            intent.cname,
            intent.uid,
            describe_failure(error),
            intent.began_at,
        )

    def _resolved_start(self, intent: StartIntent) -> None:
        """Forget an unresolved start: its recording was found (and stopped) after all."""
        self._registry.resolved(intent)

    def _know(self, sid: str) -> None:
        self._known_sids[sid] = None
        while len(self._known_sids) > _KNOWN_SIDS:
            self._known_sids.popitem(last=False)

    @property
    def known_sids(self) -> frozenset[str]:
        """The sids this client started, adopted or stopped lately (the last few thousand):
        a notification for one of them never belongs to a new start of this client."""
        return frozenset(self._known_sids)

    async def query(
        self,
        handle: RecordingHandle,
        *,
        priority: Priority = Priority.POLL,
        call_timeout: float | None = None,
        budget: float | None = None,
    ) -> QueryResponse:
        """Ask for the recording's status and files.

        ``priority`` places the request in the client's quota: sessions send the polls that
        decide whether a recording came up or died as `Priority.HEALTH`. ``call_timeout``
        replaces the client's ``call_timeout`` for this call (seconds of service time, retries
        included). ``budget`` is its old name, deprecated.
        """
        if budget is not None:
            call_timeout = renamed("query()", "budget", "call_timeout", budget, call_timeout)
        spec, label = self._query(handle)
        return await self._call(
            Endpoint.QUERY,
            spec,
            label=label,
            priority=priority,
            deadline=None
            if call_timeout is None
            else _CallDeadline(_seconds("call_timeout", call_timeout)),
        )

    async def _poll(
        self, handle: RecordingHandle, priority: Priority, deadline: _CallDeadline
    ) -> QueryResponse:
        """`query` bounded by ``deadline``, which the caller keeps: a session's health judge
        reads from it how long the poll waited in our own queues (``deadline.queued``), since
        that time must not count against the failover grace or the outage timeout."""
        spec, label = self._query(handle)
        return await self._call(
            Endpoint.QUERY, spec, label=label, priority=priority, deadline=deadline
        )

    def _query(self, handle: RecordingHandle) -> tuple[RequestSpec, str]:
        """The query request of ``handle`` and its label, built and checked once per recording
        (a session polls the same one every few seconds)."""
        try:
            known = self._queries.get(handle)
        except TypeError:  # a field that cannot be hashed: built (or refused) every time
            return self._query_request(handle)
        if known is None:
            known = self._query_request(handle)
            if len(self._queries) >= _CACHED_URLS:
                self._queries.clear()
            self._queries[handle] = known
        return known

    def _query_request(self, handle: RecordingHandle) -> tuple[RequestSpec, str]:
        spec = build_request(Endpoint.QUERY, self.app_id, handle=_handle(handle))
        return spec, _handle_label(Endpoint.QUERY, handle)

    async def ncs_ips(self) -> NcsIpResponse:
        """The addresses Agora's notification servers (NCS) send from, for a firewall allow-list.

        ``GET /v1/ncs/ip`` (Agora's "Query the IP addresses of NCS servers" page, which asks to
        refresh the list at least every 24 hours); ``.ips`` lists the ``primaryIP`` values.
        """
        spec = build_request(Endpoint.NCS_IP, self.app_id)
        return await self._call(
            Endpoint.NCS_IP, spec, label=Endpoint.NCS_IP.name, priority=Priority.UPDATE
        )

    async def update(self, handle: RecordingHandle, config: UpdateConfig) -> UpdateResponse:
        """Change subscriptions (raw, individual, mix), web recording or CDN settings, or STS
        keys."""
        spec = build_request(Endpoint.UPDATE, self.app_id, handle=_handle(handle), config=config)
        return await self._call(
            Endpoint.UPDATE,
            spec,
            label=_handle_label(Endpoint.UPDATE, handle),
            priority=Priority.UPDATE,
        )

    async def update_layout(
        self, handle: RecordingHandle, config: UpdateLayoutConfig
    ) -> UpdateResponse:
        """Replace the whole mixed-video layout (mix mode only; omitted fields reset)."""
        spec = build_request(
            Endpoint.UPDATE_LAYOUT, self.app_id, handle=_handle(handle), config=config
        )
        return await self._call(
            Endpoint.UPDATE_LAYOUT,
            spec,
            label=_handle_label(Endpoint.UPDATE_LAYOUT, handle),
            priority=Priority.UPDATE,
        )

    async def stop(self, handle: RecordingHandle, *, async_stop: bool = False) -> StopResponse:
        """Send one stop (with the usual retries); synchronous (waiting for uploads) unless
        ``async_stop``.

        This is the raw endpoint: a 404 here does not prove the recording is gone (it may be
        failing over). `ensure_stopped` repeats and verifies until the service confirms.
        """
        spec = self._stop_spec(handle, async_stop)
        response = await self._call(
            Endpoint.STOP,
            spec,
            label=_handle_label(Endpoint.STOP, handle),
            priority=Priority.STOP,
            attempt_timeout=_STOP_ATTEMPT_TIMEOUT,
            deadline=_CallDeadline(max(self.call_timeout, _STOP_ATTEMPT_TIMEOUT)),
        )
        self._registry.confirmed(handle)
        return response

    async def ensure_stopped(
        self,
        handle: RecordingHandle,
        *,
        async_stop: bool = False,
        stop_timeout: float | None = None,
        assume_ended_on_404: bool = False,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> StopConfirmation:
        """Stop the recording and return only once the service has confirmed it.

        Repeats the stop through transport errors, 5xx, 429 (honouring ``Retry-After``) and
        answers it cannot read, and re-checks a 404 with ``query`` until its deadline (a
        failover may outlast its documented 90 s), stopping again when the recording answers.
        Takes at most ``stop_timeout`` s (default `stop_timeout`) of service time; time waiting
        for the client's quota or for a place in flight does not count, and stops go before
        every other request. Raises
        `StopUnconfirmedError` (logged at ERROR; the recording stays in `unconfirmed`, so
        `aclose` raises `UnconfirmedRecordingsError`) when the deadline passes, a 404 that held
        all along included, or the service refuses the stop (401, 403, other 400s). The loop and
        its rules live in ``_stopping``. ``clock`` and ``sleep`` are the event loop's unless a
        test injects its own.

        With ``assume_ended_on_404`` a 404 to ``stop`` counts as ``ALREADY_GONE`` at once: for
        a recording known to be over (a session passes it once the service announced the
        exit); one that was only failing over is left running.
        """
        spec = self._stop_spec(handle, async_stop)
        seconds = self.stop_timeout if stop_timeout is None else stop_timeout
        deadline = _CallDeadline(_seconds("stop_timeout", seconds), clock)
        label = _handle_label(Endpoint.STOP, handle)
        checked, checked_label = self._query(handle)
        self._registry.add(handle)
        self._know(handle.sid)

        async def send() -> StopResponse:
            return await self._call(
                Endpoint.STOP,
                spec,
                label=label,
                priority=Priority.STOP,
                attempt_timeout=_STOP_ATTEMPT_TIMEOUT,
                deadline=deadline,
                single=True,
            )

        async def query() -> QueryResponse:
            return await self._call(
                Endpoint.QUERY,
                checked,
                label=checked_label,
                priority=Priority.STOP,
                deadline=deadline,
                single=True,
            )

        try:
            result = await confirm_stop(
                send=send,
                query=query,
                sleep=sleep,
                left=deadline.left,
                gone=lambda: assume_ended_on_404,
                random=self._retry.random,
                label=label,
                paced=self._limiter is not None,  # which holds every request for a Retry-After
            )
        except BaseException:  # cancelled or interrupted: a stop went out, unconfirmed
            self._registry.interrupted(handle)
            raise
        if isinstance(result, Unconfirmed):
            raise self._unconfirmed(handle, result.error, result.why)
        return self._confirmed(handle, result)

    # ------------------------------------------------------------------------------------
    # Confirmed stops

    def _stop_spec(self, handle: RecordingHandle, async_stop: bool) -> RequestSpec:
        if not isinstance(async_stop, bool):
            raise ValidationError("async_stop", "must be a bool")
        return build_request(
            Endpoint.STOP, self.app_id, handle=_handle(handle), async_stop=async_stop
        )

    def _confirmed(
        self, handle: RecordingHandle, confirmation: StopConfirmation
    ) -> StopConfirmation:
        self._registry.confirmed(handle)
        logger.info("stop of sid %s confirmed: %s", handle.sid, confirmation.outcome.value)
        return confirmation

    def _unconfirmed(
        self, handle: RecordingHandle, error: AgoraError, why: str
    ) -> StopUnconfirmedError:
        self._registry.failed(handle, error)
        failure = StopUnconfirmedError(
            f"stop of sid {handle.sid} not confirmed: {why} (last: {describe_failure(error)}); "
            "the recording may still be running",
            handle=handle,
            last_error=error,
        )
        failure.__cause__ = error
        logger.error(
            "stop of sid %s (resource %s, cname %s, uid %s) not confirmed: %s (%s)",
            handle.sid,
            handle.resource_id,
            handle.cname,
            handle.uid,
            why,
            describe_failure(error),
        )
        return failure

    # ------------------------------------------------------------------------------------
    # Sending

    def _remember(self, resource_id: str) -> None:
        self._acquired_at[resource_id] = anyio.current_time()
        self._acquired_at.move_to_end(resource_id)
        while len(self._acquired_at) > _REMEMBERED_RESOURCES:
            self._acquired_at.popitem(last=False)

    async def _slot(self, priority: Priority, deadline: _CallDeadline | None) -> float:
        """Wait for the limiter's slot, then for a place in flight; return the seconds spent
        waiting in both (our own queues), which push ``deadline`` back (``None``: the call's
        own deadline, which starts after this wait)."""
        queued = 0.0 if self._limiter is None else await self._limiter.acquire(priority)
        queued += await self._in_flight.acquire(priority, waited=queued)
        if deadline is not None:
            deadline.credit(queued)
        return queued

    def _rate_limited(self, failure: RateLimitError) -> float:
        """After a 429: slow the limiter (which then holds every request for the pause), or,
        without one, the seconds this request waits before going again."""
        if self._limiter is not None:
            self._limiter.penalize(failure.retry_after)
            return 0.0
        return self._retry.rate_limited_wait(failure)

    async def _call(
        self,
        endpoint: Endpoint[T],
        spec: RequestSpec,
        *,
        label: str,
        priority: Priority,
        attempt_timeout: float | None = None,
        deadline: _CallDeadline | None = None,
        retry_until: float = math.inf,
        single: bool = False,
    ) -> T:
        """Send with retries. ``single``: one attempt (429s still absorbed), for callers that
        run their own retry loop.

        Without a ``deadline`` the call's own (``call_timeout`` away) is set by its first
        attempt, after the wait for a slot (which would push it back anyway), so one clock
        reading serves both; the host cursor is made on the first failure that moves the call.
        """
        self._ensure_open()
        per_attempt = attempt_timeout if attempt_timeout is not None else self.timeout
        call_deadline = deadline
        cursor: HostCursor | None = None

        async def attempt(number: int) -> T:
            nonlocal call_deadline, cursor
            limited = 0
            while True:
                if self._limiter is None and self._in_flight.try_acquire():
                    queued = 0.0  # nothing to wait for: no coroutine to run
                else:
                    queued = await self._slot(priority, call_deadline)
                timer = attempt_timer()
                now = timer.now()
                if call_deadline is None:
                    call_deadline = _CallDeadline(self.call_timeout, now=now)
                    left = call_deadline.seconds
                elif call_deadline.clock is anyio.current_time:
                    left = call_deadline.at - now
                else:  # a deadline on an injected clock (ensure_stopped's)
                    left = call_deadline.left()
                seconds = min(per_attempt, max(left, _MIN_ATTEMPT_TIMEOUT))
                base = self.hosts[0] if cursor is None else cursor.current
                telemetry = self.telemetry
                quiet = telemetry.quiet()
                send = self._send(endpoint, spec, base, timer, now, seconds, number, label, quiet)
                try:
                    if quiet:
                        return await send
                    return await telemetry.request(
                        send, spec, base, attempt=number, queued=queued, priority=priority.name
                    )
                except RateLimitError as exc:
                    limited += 1
                    wait = self._rate_limited(exc)
                    # Go again only with a whole attempt's time left after the wait: a request
                    # sent with a cut deadline (a start, say) may lose the answer it earned.
                    whole = min(per_attempt, call_deadline.seconds)
                    if limited >= _MAX_RATE_LIMITED or call_deadline.left() - wait < whole:
                        raise
                except AlreadyStartedError:
                    if number > 1:
                        # Our earlier attempt's answer was lost but the service acted on it: a
                        # recording now runs whose sid we never learnt, so nobody can stop it.
                        logger.warning(
                            "%s: 201 code 7 on attempt %d: an earlier attempt started a "
                            "recording whose sid is unknown; it runs until maxIdleTime",
                            label,
                            number,
                        )
                    raise
                except Exception as exc:
                    if moves_host(exc):
                        if cursor is None:
                            cursor = HostCursor(self.hosts)
                        cursor.advance(exc)
                    raise
                finally:
                    self._in_flight.release()
                if wait > 0:
                    logger.debug("%s: HTTP 429; sending again in %.2f s", label, wait)
                    import stamina  # on the first retry only: it costs an import to load

                    if not stamina.is_testing():  # which makes every retry wait instant
                        await anyio.sleep(wait)

        try:
            return await attempt(1)  # most calls end here: no retry machinery to pay for
        except Exception as exc:
            if single:
                raise
            failure = exc

        def until() -> float:
            assert call_deadline is not None  # set by the first attempt, before any retry
            return min(call_deadline.at, retry_until)

        return await retry_after(
            failure, attempt, policy=self._retry, retry_until=until, label=label
        )

    async def _send(
        self,
        endpoint: Endpoint[T],
        spec: RequestSpec,
        base: str,
        timer: AttemptTimer,
        began: float,
        seconds: float,
        number: int,
        label: str,
        quiet: bool = False,
    ) -> T:
        """One attempt, begun at ``began`` (``timer``'s clock, the event loop's), given
        ``seconds``; ``quiet``: no telemetry span to tell the answer's request ID."""
        self._ensure_open()
        # The same few URLs (one per endpoint of each live recording) come back on every poll:
        # each is built once (`RequestFactory.url`) and looked up after.
        key = (base, spec.path)
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= _CACHED_URLS:
                self._urls.clear()
            url = self._urls[key] = self._requests.url(base, spec.path)
        # httpx would build a `httpx.Timeout` and its dict for every request: the dict is kept.
        timeouts = self._timeouts.get(seconds)
        if timeouts is None:
            timeouts = httpx.Timeout(seconds).as_dict()
            if len(self._timeouts) < _CACHED_TIMEOUTS:
                self._timeouts[seconds] = timeouts
        request = self._requests.build(spec.method, url, spec.body, timeouts)
        try:
            with timer.until(began + seconds):  # the attempt's own deadline (module docstring)
                response = await self._http.send(request, auth=AS_BUILT)
        except httpx.HTTPError as exc:
            logger.debug(
                "%s attempt %d on %s: %s after %.3f s",
                label,
                number,
                self._host_names[base],
                type(exc).__name__,
                timer.now() - began,
            )
            raise TransportError(
                transport_message(endpoint.name, base, exc, self._host_setting),
                endpoint=endpoint.name,
            ) from exc
        except TimeoutError:
            logger.debug(
                "%s attempt %d on %s: timed out after %.1f s",
                label,
                number,
                self._host_names[base],
                seconds,
            )
            raise TransportError(
                f"{endpoint.name} request to {origin_of(base)} timed out after {seconds:.1f} s; "
                f"check {self._host_setting}",
                endpoint=endpoint.name,
            ) from None
        if not quiet:
            self.telemetry.response(response)
        try:
            result = parse_response(
                endpoint, response.status_code, response.headers, response.content
            )
        except AgoraError as exc:
            logger.debug(
                "%s attempt %d on %s: %s in %.3f s (request ID %s)",
                label,
                number,
                self._host_names[base],
                describe_failure(exc),
                timer.now() - began,
                response.headers.get("X-Request-ID"),
            )
            raise
        if logger.isEnabledFor(logging.DEBUG):  # spares a clock reading and a header lookup
            logger.debug(
                "%s attempt %d on %s: HTTP %d in %.3f s (request ID %s)",
                label,
                number,
                self._host_names[base],
                response.status_code,
                timer.now() - began,
                response.headers.get("X-Request-ID"),
            )
        return result


# What a resource ID or sid may hold to go into a URL path as is: RFC 3986 path characters
# (the service's IDs are base64url and hex), bounded so a stored handle cannot grow a URL past
# what httpx accepts.
_ID = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]{1,2048}")


def _handle(handle: object) -> RecordingHandle:
    if not isinstance(handle, RecordingHandle):
        raise ArgumentTypeError(f"handle must be a RecordingHandle, not {type(handle).__name__}")
    for name, value in (("resourceId", handle.resource_id), ("sid", handle.sid)):
        if not isinstance(value, str) or _ID.fullmatch(value) is None:
            raise ValidationError(
                name,
                "must be the ID the service gave: 1 to 2048 URL path characters",
            )
    return handle


def _handle_label(endpoint: Endpoint[Any], handle: RecordingHandle) -> str:
    return _label(endpoint, handle.resource_id, handle.sid)
