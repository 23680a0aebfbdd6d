"""OpenTelemetry spans and metrics, read back through the SDK's in-memory exporters.

The SDK's providers are handed to a `Telemetry` (``client.telemetry = Telemetry(...)``), never
installed as OpenTelemetry's global providers, so tests do not leak into each other.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is not installed")

from agora_recording import PollingOptions, RecordingSession
from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET, LoopClock
from agora_recording.enums import Mode
from agora_recording.errors import BadRequestError, RecordingFailedError
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.telemetry import Telemetry
from agora_recording.testing import emulated_client, virtual_service
from agora_recording.webhooks import NotificationHub, NotificationReceiver
from opentelemetry.trace import SpanKind, StatusCode

from tests.helpers import CUSTOMER_SECRET, Script, handle_for, mock_client, ok
from tests.telemetry_sdk import Otel
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio


@pytest.fixture
def otel() -> Iterator[Otel]:
    setup = Otel()
    yield setup
    setup.shutdown()


def config() -> StartConfig:
    storage = StorageConfig(
        vendor=1, region=0, bucket="bucket", access_key="ak-secret", secret_key="sk-secret"
    )
    return StartConfig(
        storage_config=storage,
        recording_config=RecordingConfig(channel_type=0, max_idle_time=300),
    )


async def test_a_request_span_carries_the_semantic_convention_attributes(otel: Otel) -> None:
    """A query's span is a CLIENT span with method, host, port, URL, status and request ID."""
    handle = handle_for(Mode.MIX)
    script = Script(
        ok(
            {"resourceId": handle.resource_id, "sid": handle.sid, "serverResponse": {"status": 5}},
            200,
            **{"X-Request-ID": "req-1"},
        )
    )
    async with mock_client(script, base_url="https://api.example.com") as client:
        client.telemetry = otel.telemetry
        await client.query(handle)
    (span,) = otel.spans("GET query")
    attributes = dict(span.attributes or {})
    assert span.kind is SpanKind.CLIENT
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert attributes["server.address"] == "api.example.com"
    assert attributes["server.port"] == 443
    assert attributes["url.full"] == "https://api.example.com" + script.requests[0].url.path
    assert attributes["agora.recording.request_id"] == "req-1"
    assert attributes["agora.recording.mode"] == "mix"
    assert attributes["agora.recording.sid"] == handle.sid
    assert attributes["http.request.resend_count"] == 0
    assert attributes["agora.recording.queue_wait"] == 0.0
    assert otel.total("http.client.request.duration", **{"http.response.status_code": 200}) == 1
    assert otel.unit("http.client.request.duration") == "s"


async def test_a_failed_request_records_status_agora_code_and_no_secret(otel: Otel) -> None:
    """A 400 on start: the span has the status, Agora's code and error.type, never a secret."""
    script = Script(ok({"code": 2, "reason": "invalid parameter"}, 400))
    async with mock_client(script) as c:
        c.telemetry = otel.telemetry
        with pytest.raises(BadRequestError):
            await c.start("r" * 40, Mode.MIX, cname="room", uid="1", config=config())
    (span,) = otel.spans("POST start")
    attributes = dict(span.attributes or {})
    assert attributes["http.response.status_code"] == 400
    assert attributes["agora.recording.code"] == 2
    assert attributes["error.type"] == "400"
    text = repr(attributes) + repr([e.attributes for e in span.events])
    for secret in (CUSTOMER_SECRET, "ak-secret", "sk-secret"):
        assert secret not in text


async def test_429s_are_counted_with_their_back_off(otel: Otel) -> None:
    """Two 429s then 200: three request spans, two counted 429s with their Retry-After, and
    every attempt's quota wait."""
    handle = handle_for(Mode.MIX)
    limited = ok({"message": "API rate limit exceeded"}, 429, **{"Retry-After": "2"})
    script = Script(limited, limited, ok({"resourceId": handle.resource_id, "sid": handle.sid}))
    async with mock_client(script, rate_limit=10.0) as client:
        client.telemetry = otel.telemetry
        await client.query(handle)
    assert len(otel.spans("GET query")) == 3
    assert otel.total("agora.recording.rate_limited") == 2
    assert otel.total("agora.recording.retry_after") == 2
    assert otel.total("http.client.request.duration", **{"http.response.status_code": 429}) == 2
    waits = otel.points("agora.recording.quota.wait")
    assert sum(p.count for p in waits) == 3


async def test_a_session_span_has_its_states_and_parents_its_requests(otel: Otel) -> None:
    """A session: one span with starting/running/stopping/closed events; requests under it."""
    async with emulated_client(clock=LoopClock()) as service:
        service.client.telemetry = otel.telemetry
        service.channel("room").publish(7)
        session = service.client.session(
            cname="room",
            uid="99",
            mode=Mode.MIX,
            config=config(),
            polling=PollingOptions(poll_jitter=0),
        )
        async with session:
            assert (
                otel.total("agora.recording.recordings", **{"agora.recording.state": "running"})
                == 1
            )
            await anyio.sleep(30)
    (root,) = otel.spans("agora.recording.session")
    assert [e.name for e in root.events if e.name != "status"] == [
        "starting",
        "running",
        "stopping",
        "stopped",
        "closed",
    ]
    assert session.handle is not None
    assert dict(root.attributes or {})["agora.recording.sid"] == session.handle.sid
    (stop,) = otel.spans("agora.recording.stop")
    assert stop.parent is not None
    assert stop.parent.span_id == root.context.span_id
    (stop_request,) = otel.spans("POST stop")
    assert stop_request.parent is not None
    assert stop_request.parent.span_id == stop.context.span_id
    queries = otel.spans("GET query")
    assert queries
    assert all(q.parent is not None and q.parent.span_id == root.context.span_id for q in queries)
    (acquire,) = otel.spans("POST acquire")
    assert acquire.parent is not None
    assert acquire.parent.span_id == root.context.span_id
    assert otel.total("agora.recording.recordings", **{"agora.recording.state": "running"}) == 0
    assert otel.total("agora.recording.stops", **{"agora.recording.stop_outcome": "stopped"}) == 1


async def test_a_stop_whose_retries_read_as_one_story(otel: Otel) -> None:
    """A stop answered 503 twice then 200: three request spans under one stop span."""
    handle = handle_for(Mode.MIX)
    failing = ok({"code": 503, "reason": "busy"}, 503)
    script = Script(failing, failing, ok({"resourceId": handle.resource_id, "sid": handle.sid}))
    async with mock_client(script) as c:
        c.telemetry = otel.telemetry
        session = RecordingSession.adopt(c, handle, polling=PollingOptions(first_poll_delay=3600))
        async with session:
            pass
    (stop,) = otel.spans("agora.recording.stop")
    attempts = otel.spans("POST stop")
    assert len(attempts) == 3
    assert {a.parent.span_id for a in attempts if a.parent} == {stop.context.span_id}
    assert [dict(a.attributes or {})["http.response.status_code"] for a in attempts] == [
        503,
        503,
        200,
    ]


async def test_without_providers_nothing_is_recorded_and_requests_still_work() -> None:
    """With OpenTelemetry's default (no-op) providers, calls behave exactly as before."""
    handle = handle_for(Mode.MIX)
    script = Script(ok({"resourceId": handle.resource_id, "sid": handle.sid}))
    async with mock_client(script) as c:
        response = await c.query(handle)
    assert response.sid == handle.sid


async def test_a_failed_recording_is_an_error_span_with_its_failure_event(otel: Otel) -> None:
    """An adopted recording that answers 404: the session span says how it failed."""
    handle = handle_for(Mode.MIX)
    gone = ok({"code": 404, "reason": "failed to find worker"}, 404)
    async with mock_client(Script(gone)) as c:
        c.telemetry = otel.telemetry
        session = RecordingSession.adopt(c, handle, assume_ended_on_404=True)
        with pytest.raises(RecordingFailedError):
            async with session:
                await anyio.sleep_forever()
    (root,) = otel.spans("agora.recording.session")
    assert root.status.status_code is StatusCode.ERROR
    (failed,) = [e for e in root.events if e.name == "failed"]
    assert dict(failed.attributes or {})["agora.recording.end_reason"] == "worker_lost"
    assert otel.total("agora.recording.stops", **{"agora.recording.stop_outcome": "already_gone"})


async def test_routine_polls_record_the_effective_poll_interval(otel: Otel) -> None:
    """Past the health phase, each routine poll records the interval it waited."""
    async with emulated_client(clock=LoopClock()) as service:
        service.client.telemetry = otel.telemetry
        service.channel("room").publish(7)
        session = service.client.session(
            cname="room", uid="99", mode=Mode.MIX, config=config(), poll_interval=60
        )
        async with session:
            await anyio.sleep(300)
    points = otel.points("agora.recording.poll.interval")
    assert sum(p.count for p in points) >= 3
    assert max(p.max for p in points) == 60
    assert otel.unit("agora.recording.poll.interval") == "s"


async def test_notifications_record_their_lag(otel: Otel) -> None:
    """Each notification a session receives records its lag from notifyMs."""
    hub = NotificationHub()
    receiver = NotificationReceiver(hub, DEFAULT_NOTIFICATION_SECRET)
    async with virtual_service(
        notification_app=receiver, client_options={"notifications": hub}
    ) as service:
        clock = service.emulator.clock
        service.client.telemetry = Telemetry(
            tracer_provider=otel.tracer_provider,
            meter_provider=otel.meter_provider,
            wall_clock=clock.time,
        )
        service.channel("room").publish(7)
        async with service.client.session(cname="room", uid="99", mode=Mode.MIX, config=config()):
            await anyio.sleep(30)
    lags = otel.points("agora.recording.notification.lag")
    assert sum(p.count for p in lags) >= 2
    assert max(p.max for p in lags) < 1.0


def test_importing_the_package_never_imports_opentelemetry() -> None:
    """``import agora_recording`` (and its telemetry module) leaves opentelemetry unloaded.

    (The ``redis`` package imports it by itself, so ``agora_recording.redis`` is not checked.)
    """
    code = (
        "import sys, agora_recording, agora_recording.telemetry, agora_recording.webhooks; "
        "print('opentelemetry' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_the_dashboard_and_alerts_read_only_metrics_that_are_exported() -> None:
    """Every metric the Grafana dashboard and the alert rules query is one we export."""
    root = Path(__file__).resolve().parent.parent
    sources = (root / "agora_recording" / "telemetry.py").read_text(encoding="utf-8")
    instruments = set(re.findall(r'"((?:agora\.recording|http\.client)\.[a-z_.]+)",\n', sources))
    names = set(re.findall(r'"(agora\.recording\.[a-z_.]+)"', sources))
    labels = {name.replace(".", "_") for name in names - instruments}
    exported = {name.replace(".", "_") for name in instruments}
    emulator = (root / "agora_recording" / "emulator" / "_metrics.py").read_text(encoding="utf-8")
    emulated = set(re.findall(r'"(agora_emulator_[a-z_]+)"', emulator))
    dashboard = json.loads((root / "docs/telemetry/grafana-dashboard.json").read_text("utf-8"))
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queries.append((root / "docs/telemetry/alerts.yml").read_text("utf-8"))
    pattern = r"\b((?:agora_recording|agora_emulator|http_client)_[a-z_]+)"
    used = {name for query in queries for name in re.findall(pattern, query)} - labels
    for name in used:
        if name.startswith("agora_emulator_"):
            assert name in emulated, name
            continue
        base = re.sub(r"(_seconds)?(_bucket|_count|_sum|_total)?$", "", name)
        assert base in exported, name
    assert len(used) >= 12


GLOBAL_SDK = """
import anyio, httpx
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from agora_recording import RecordingClient
from tests.helpers import APP_ID, CUSTOMER_SECRET, handle_for, ok
from agora_recording.enums import Mode

reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(tracer_provider)
handle = handle_for(Mode.MIX)

async def main():
    answer = ok({"resourceId": handle.resource_id, "sid": handle.sid})
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answer)) as http:
        async with RecordingClient(APP_ID, "cid", CUSTOMER_SECRET, http_client=http) as client:
            await client.query(handle)

anyio.run(main)
names = [m.name for r in reader.get_metrics_data().resource_metrics
         for s in r.scope_metrics for m in s.metrics]
print(sorted(s.name for s in spans.get_finished_spans()), "http.client.request.duration" in names)
"""


def test_an_application_that_configures_the_sdk_is_traced_with_no_call_of_ours() -> None:
    """A process that sets OpenTelemetry's global providers gets spans and metrics as it is."""
    done = subprocess.run(
        [sys.executable, "-c", GLOBAL_SDK],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.stdout.strip() == "['GET query'] True"
