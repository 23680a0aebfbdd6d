"""OpenTelemetry traces and metrics, when ``opentelemetry-api`` is installed (the ``otel`` extra).

Nothing to switch on: a `Telemetry` takes its tracer and meter from the providers it was given,
or else from OpenTelemetry's global ones (``trace.get_tracer_provider()``,
``metrics.get_meter_provider()``), looked up the first time it is used, so an application that
configures the SDK before its first request (or later: it is noticed within a second) is
traced. Without the API installed every hook is a no-op; with the API but no SDK, a request
only checks that the global providers are still the API's placeholders (see
``benchmarks/telemetry.py``). ``opentelemetry`` is imported on first use, never by
``import agora_recording``.

**Spans.** One per request attempt, ``{method} {endpoint}`` (kind CLIENT), with the HTTP
semantic-convention attributes (``http.request.method``, ``server.address``, ``server.port``,
``url.full``, ``http.response.status_code``, ``http.request.resend_count``, ``error.type``)
and Agora's (``agora.recording.endpoint``, ``.mode``, ``.sid``, ``.code``, ``.request_id``,
``.attempt``, ``.queue_wait``). One per session, ``agora.recording.session``, with the state
changes and status changes as events; its requests are its children, and a confirmed stop is
one child span ``agora.recording.stop`` whose every attempt (and failover re-check) sits under
it. URLs carry IDs, never credentials (those travel in the ``Authorization`` header, which is
never recorded), and no request or response body is recorded.

**Metrics** (names and units follow the semantic conventions where one exists):
``http.client.request.duration`` (s, by endpoint, method, host and status: the requests),
``agora.recording.quota.wait`` (s, time queued for the App ID quota, by priority),
``agora.recording.rate_limited`` (429s), ``agora.recording.retry_after`` (s, the back-off
asked for), ``agora.recording.recordings`` (live sessions by state),
``agora.recording.stops`` (confirmed stops by outcome; ``failed`` are the unconfirmed),
``agora.recording.poll.interval`` (s, the effective routine poll interval),
``agora.recording.notification.lag`` (s, from ``notifyMs`` to the session) and
``agora.recording.notification.dropped``, ``agora.recording.lease.renewals`` (by result) and
``agora.recording.janitor.adoptions``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import httpx
    from opentelemetry.metrics import Counter, Histogram, Meter, MeterProvider, UpDownCounter
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from ._protocol import RequestSpec
    from .models import RecordingHandle

__all__ = ["SessionTrace", "Telemetry"]

T = TypeVar("T")

SCOPE = "agora_recording"
_ERRORS = "agora_recording.errors"
# Buckets for request durations, the semantic conventions' advice for http.client.request.duration.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_WAIT_BUCKETS = (0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# How often the hooks look again whether an SDK was configured (while none is).
_IDLE_CHECK = 1.0


def _version() -> str:
    from . import __version__

    return __version__


class _Instruments:
    """The tracer and every instrument, made once per `Telemetry`."""

    def __init__(
        self, trace: Any, metrics: Any, tracer: Tracer, meter: Meter, *, global_: bool
    ) -> None:
        self.trace = trace  # the opentelemetry.trace module
        self.tracer = tracer
        # While the global providers are still the API's placeholders (no SDK configured),
        # requests skip all work: ``idle()`` compares them with the placeholders seen at setup.
        self._get_tracers = trace.get_tracer_provider
        self._get_meters = metrics.get_meter_provider
        self._placeholders = (
            (trace.get_tracer_provider(), metrics.get_meter_provider())
            if global_ and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            else None
        )
        self._idle_until = 0.0
        self.duration: Histogram = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests to the Cloud Recording service.",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        self.quota_wait: Histogram = meter.create_histogram(
            "agora.recording.quota.wait",
            unit="s",
            description="Time a request waited for its slot of the App ID quota.",
            explicit_bucket_boundaries_advisory=list(_WAIT_BUCKETS),
        )
        self.rate_limited: Counter = meter.create_counter(
            "agora.recording.rate_limited",
            unit="{response}",
            description="429 answers from the service.",
        )
        self.retry_after: Histogram = meter.create_histogram(
            "agora.recording.retry_after",
            unit="s",
            description="Back-off the service asked for in a 429's Retry-After.",
            explicit_bucket_boundaries_advisory=list(_WAIT_BUCKETS),
        )
        self.recordings: UpDownCounter = meter.create_up_down_counter(
            "agora.recording.recordings",
            unit="{recording}",
            description="Recording sessions of this process, by state.",
        )
        self.stops: Counter = meter.create_counter(
            "agora.recording.stops",
            unit="{stop}",
            description="Stops by outcome; 'failed' are stops the service never confirmed.",
        )
        self.poll_interval: Histogram = meter.create_histogram(
            "agora.recording.poll.interval",
            unit="s",
            description="Effective routine poll interval, stretched by the poll budget.",
        )
        self.notification_lag: Histogram = meter.create_histogram(
            "agora.recording.notification.lag",
            unit="s",
            description="From a notification's notifyMs to its arrival at the session.",
            explicit_bucket_boundaries_advisory=list(_WAIT_BUCKETS),
        )
        self.notification_dropped: Counter = meter.create_counter(
            "agora.recording.notification.dropped",
            unit="{notification}",
            description="Notifications a session's full buffer dropped.",
        )
        self.lease_renewals: Counter = meter.create_counter(
            "agora.recording.lease.renewals",
            unit="{renewal}",
            description="Lease renewals by result (renewed, lost, error).",
        )
        self.adoptions: Counter = meter.create_counter(
            "agora.recording.janitor.adoptions",
            unit="{recording}",
            description="Recordings a janitor claimed after their lease expired.",
        )

    def idle(self) -> bool:
        """Whether no SDK is configured yet (the global providers are the placeholders).

        Looked up at most every ``_IDLE_CHECK`` seconds (the lookup reads the environment);
        once an SDK is configured the answer is False for good (global providers are set once).
        """
        placeholders = self._placeholders
        if placeholders is None:
            return False
        now = time.monotonic()
        if now < self._idle_until:
            return True
        if self._get_tracers() is placeholders[0] and self._get_meters() is placeholders[1]:
            self._idle_until = now + _IDLE_CHECK
            return True
        self._placeholders = None
        return False


class Telemetry:
    """Where a client, its sessions and a lease store report spans and metrics.

    ``tracer_provider`` and ``meter_provider`` default to OpenTelemetry's global providers,
    read on first use; ``wall_clock`` (Unix seconds) measures notification lag.
    ``enabled=False`` records nothing, as when ``opentelemetry-api`` is not installed.
    """

    __slots__ = ("_instruments", "_meter_provider", "_ready", "_tracer_provider", "wall_clock")

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        wall_clock: Callable[[], float] = time.time,
        enabled: bool = True,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._instruments: _Instruments | None = None
        self._ready = not enabled
        self.wall_clock = wall_clock

    def _get(self) -> _Instruments | None:
        if self._ready:
            return self._instruments
        self._ready = True
        try:
            from opentelemetry import metrics, trace
        except ImportError:
            return None
        tracers = self._tracer_provider or trace.get_tracer_provider()
        meters = self._meter_provider or metrics.get_meter_provider()
        self._instruments = _Instruments(
            trace,
            metrics,
            tracers.get_tracer(SCOPE, _version()),
            meters.get_meter(SCOPE, _version()),
            global_=self._tracer_provider is None and self._meter_provider is None,
        )
        return self._instruments

    # -- requests -------------------------------------------------------------------------------

    def quiet(self) -> bool:
        """Whether a request would record nothing now (telemetry off, the API not installed, or
        no SDK configured yet): the client then awaits the attempt without `request`."""
        tools = self._instruments if self._ready else self._get()
        return tools is None or tools.idle()

    async def request(
        self,
        call: Awaitable[T],
        spec: RequestSpec,
        base: str,
        *,
        attempt: int,
        queued: float,
        priority: str,
    ) -> T:
        """Await ``call`` (one attempt of ``spec`` on ``base``) inside its span; record it."""
        tools = self._get()
        if tools is None or tools.idle():
            return await call
        trace = tools.trace
        endpoint = spec.endpoint.name
        span = tools.tracer.start_span(f"{spec.method} {endpoint}", kind=trace.SpanKind.CLIENT)
        recording = span.is_recording()  # False without an SDK: no context to switch
        began = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            if recording:
                with trace.use_span(span, end_on_exit=False, record_exception=False):
                    result = await call
            else:
                result = await call
        except BaseException as exc:
            error = type(exc).__name__
            status = getattr(exc, "status_code", None)
            if recording:
                _failure_attributes(span, exc)
            retry_after = getattr(exc, "retry_after", None)
            if status == 429:
                tools.rate_limited.add(1, {"agora.recording.endpoint": endpoint})
                if retry_after is not None:
                    tools.retry_after.record(retry_after, {"agora.recording.endpoint": endpoint})
            raise
        else:
            status = 200
            return result
        finally:
            attributes: dict[str, Any] = {
                "http.request.method": spec.method,
                "server.address": _host(base),
                "agora.recording.endpoint": endpoint,
            }
            if status is not None:
                attributes["http.response.status_code"] = status
            if error is not None:
                attributes["error.type"] = str(status) if status is not None else error
            tools.duration.record(time.perf_counter() - began, attributes)
            tools.quota_wait.record(queued, {"agora.recording.priority": priority})
            if recording:
                span.set_attributes(attributes)
                span.set_attributes(_request_attributes(spec, base, attempt, queued))
                if error is not None:
                    span.set_status(trace.StatusCode.ERROR, error)
            span.end()

    def response(self, response: httpx.Response) -> None:
        """Tell the current request span the request ID it was answered with."""
        tools = self._instruments
        if tools is None:
            return
        span = tools.trace.get_current_span()
        if span.is_recording():
            request_id = response.headers.get("X-Request-ID")
            if request_id:
                span.set_attribute("agora.recording.request_id", request_id)

    # -- sessions and leases --------------------------------------------------------------------

    def session(self, *, cname: str, uid: str, mode: str) -> SessionTrace:
        """The trace of one `RecordingSession` (its span starts when it is entered)."""
        return SessionTrace(self, cname=cname, uid=uid, mode=mode)

    def lease_renewal(self, result: str) -> None:
        """Count one lease renewal: ``renewed``, ``lost`` or ``error``."""
        tools = self._get()
        if tools is not None:
            tools.lease_renewals.add(1, {"agora.recording.result": result})

    def adoption(self) -> None:
        """Count one recording a janitor claimed."""
        tools = self._get()
        if tools is not None:
            tools.adoptions.add(1)


def _host(base: str) -> str:
    rest = base.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit(":", 1)[0] if not rest.startswith("[") else rest


def _request_attributes(spec: RequestSpec, base: str, attempt: int, queued: float) -> Any:
    attributes: dict[str, Any] = {
        "url.full": base + spec.path,
        "http.request.resend_count": attempt - 1,
        "agora.recording.attempt": attempt,
        "agora.recording.queue_wait": queued,
    }
    authority = base.split("://", 1)[-1].split("/", 1)[0]
    if ":" in authority and not authority.endswith("]"):
        attributes["server.port"] = int(authority.rsplit(":", 1)[1])
    else:
        attributes["server.port"] = 80 if base.startswith("http://") else 443
    parts = spec.path.split("/")
    if "mode" in parts:
        attributes["agora.recording.mode"] = parts[parts.index("mode") + 1]
    if "sid" in parts:
        attributes["agora.recording.sid"] = parts[parts.index("sid") + 1]
    return attributes


def _failure_attributes(span: Span, exc: BaseException) -> None:
    for name, key in (
        ("status_code", "http.response.status_code"),
        ("code", "agora.recording.code"),
        ("request_id", "agora.recording.request_id"),
    ):
        value = getattr(exc, name, None)
        if value is not None:
            span.set_attribute(key, value)


class SessionTrace:
    """One session's span, its state in ``agora.recording.recordings`` and its events."""

    __slots__ = ("_attributes", "_span", "_state", "_status", "_telemetry", "_tools")

    def __init__(self, telemetry: Telemetry, *, cname: str, uid: str, mode: str) -> None:
        self._telemetry = telemetry
        self._tools: _Instruments | None = None
        self._span: Span | None = None
        self._state: str | None = None
        self._status: int | None = None
        self._attributes = {
            "agora.recording.cname": cname,
            "agora.recording.uid": uid,
            "agora.recording.mode": mode,
        }

    def state(self, state: str, handle: RecordingHandle | None = None) -> None:
        """The session moved to ``state`` (``starting``, ``running``, ``stopping``, ``closed``)."""
        tools = self._tools
        if tools is None:
            if self._state is not None:
                return  # telemetry is off: checked once, when the session started
            tools = self._tools = self._telemetry._get()
            if tools is None:
                self._state = state
                return
            self._span = tools.tracer.start_span(
                "agora.recording.session", attributes=self._attributes
            )
        if self._state is not None:
            tools.recordings.add(-1, {"agora.recording.state": self._state})
        span = self._span
        assert span is not None
        if state == "closed":
            span.add_event(state)
            span.end()
            self._tools = None
            self._state = state  # marks the trace as finished
            return
        self._state = state
        tools.recordings.add(1, {"agora.recording.state": state})
        if span.is_recording():
            if handle is not None:
                span.set_attribute("agora.recording.sid", handle.sid)
                span.set_attribute("agora.recording.resource_id", handle.resource_id)
            span.add_event(state)

    def status(self, status: int | None) -> None:
        """The recorder reported ``status`` (an event when it changed)."""
        if self._span is None or status is None or status == self._status:
            return
        self._status = status
        if self._span.is_recording():
            self._span.add_event("status", {"agora.recording.status": int(status)})

    def failed(self, reason: str, detail: str) -> None:
        """The recording failed (an event; the span's status is an error)."""
        span, tools = self._span, self._tools
        if span is not None and tools is not None and span.is_recording():
            span.add_event("failed", {"agora.recording.end_reason": reason, "detail": detail})
            span.set_status(tools.trace.StatusCode.ERROR, reason)

    def stopped(self, outcome: str) -> None:
        """The stop ended with ``outcome`` (``failed``: never confirmed)."""
        tools = self._tools
        if tools is not None:
            tools.stops.add(1, {"agora.recording.stop_outcome": outcome})
            if self._span is not None and self._span.is_recording():
                self._span.add_event("stopped", {"agora.recording.stop_outcome": outcome})

    def poll_interval(self, seconds: float) -> None:
        """The effective routine poll interval now."""
        if self._tools is not None:
            self._tools.poll_interval.record(seconds)

    def notification(self, notify_ms: int | None) -> None:
        """A notification reached the session: its lag from ``notifyMs``."""
        if self._tools is not None and notify_ms is not None:
            lag = max(0.0, self._telemetry.wall_clock() - notify_ms / 1000)
            self._tools.notification_lag.record(lag)

    def dropped(self, count: int) -> None:
        """``count`` notifications were dropped by the session's buffer."""
        if self._tools is not None and count:
            self._tools.notification_dropped.add(count)

    def active(self) -> AbstractContextManager[object]:
        """The session's span as the current one (requests and tasks started inside are its)."""
        if self._span is None or self._tools is None:
            return nullcontext()
        used: AbstractContextManager[object] = self._tools.trace.use_span(
            self._span, end_on_exit=False, record_exception=False
        )
        return used

    @contextmanager
    def stopping(self, handle: RecordingHandle) -> Iterator[None]:
        """A span over a confirmed stop: each attempt and failover re-check is its child."""
        self.state("stopping", handle)
        tools = self._tools
        if tools is None:
            yield
            return
        parent = tools.trace.set_span_in_context(self._span) if self._span is not None else None
        with tools.tracer.start_as_current_span(
            "agora.recording.stop",
            context=parent,
            attributes={"agora.recording.sid": handle.sid},
            record_exception=False,
        ):
            yield
