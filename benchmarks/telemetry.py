"""The cost of the OpenTelemetry hooks when no SDK is configured: ``client.query`` per call.

Two clients share one ``httpx.AsyncClient`` on an ``httpx.MockTransport`` answering canned
bytes (as in ``overhead``): one with ``Telemetry()`` (``opentelemetry-api`` installed, global
providers left as the API's no-op defaults: what a user who never configured the SDK gets),
one with ``Telemetry(enabled=False)`` (the code path taken when ``opentelemetry-api`` is not
installed). The figure is with / without per call (median of per-round ratios); the aim is
within 2%.
"""

from __future__ import annotations

from typing import Final

import anyio
import httpx
from agora_recording import RecordingClient
from agora_recording.telemetry import Telemetry

from . import _payloads as p
from ._harness import BenchResult, Row, compare_async, fmt_seconds, ratio

__all__ = ["NAME", "run"]

NAME: Final = "telemetry"
AIM: Final = 1.02


async def _measure(quick: bool) -> BenchResult:
    rounds, number = (5, 100) if quick else (41, 400)
    try:
        from opentelemetry import trace
    except ImportError:
        return BenchResult(rows=[], details={}, notes=["opentelemetry-api is not installed"])
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        raise RuntimeError("an OpenTelemetry SDK is configured: this measures the no-SDK case")
    answer = p.dumps(p.mix_query_wire())
    headers = {"content-type": "application/json", "x-request-id": "benchmark"}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=answer, headers=headers))
    handle = p.handle()
    async with httpx.AsyncClient(transport=transport) as http:
        clients = {}
        for label, telemetry in (("no SDK", Telemetry()), ("off", Telemetry(enabled=False))):
            client = RecordingClient(
                p.APP_ID,
                p.CUSTOMER_ID,
                p.CUSTOMER_SECRET,
                base_url=p.BASE_URL,
                http_client=http,
                rate_limit=None,
            )
            client.telemetry = telemetry
            clients[label] = client

        async def with_api() -> object:
            return await clients["no SDK"].query(handle)

        async def without() -> object:
            return await clients["off"].query(handle)

        timings = await compare_async(
            [("no SDK", with_api), ("off", without)], rounds=rounds, number=number
        )
    result = ratio(timings, "no SDK", "off", number)
    extra = result.per_op("ours") - result.per_op("other")
    row = Row(
        benchmark=NAME,
        measure="client.query() per call: OpenTelemetry API without SDK / without telemetry",
        value=result.median,
        unit="x",
        context=f"{result.context()}; the hooks add {fmt_seconds(extra)}/call",
        aim=f"<= {AIM:.2f}x",
        met=result.median <= AIM,
    )
    return BenchResult(rows=[row], details={"ratio": result.as_json()}, notes=[])


def run(quick: bool) -> BenchResult:
    """Measure the no-SDK cost of the hooks; ``quick`` uses few rounds."""
    return anyio.run(_measure, quick, backend="asyncio")
