"""The cost of the OpenTelemetry hooks when no SDK is configured: ``client.query`` per call.

Two clients share one ``httpx.AsyncClient`` on an ``httpx.MockTransport`` answering canned
bytes (as in ``overhead``): one with ``Telemetry()`` (``opentelemetry-api`` installed, global
providers left as the API's no-op defaults: what a user who never configured the SDK gets),
one with ``Telemetry(enabled=False)`` (the code path taken when ``opentelemetry-api`` is not
installed). The figure is with / without per call (median of per-round ratios); the aim is
within 2%.
"""

from __future__ import annotations

import time
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
    # Many short interleaved rounds: the median ratio resists a busy machine's bursts.
    rounds, number = (5, 100) if quick else (201, 100)
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
                app_id=p.APP_ID,
                customer_id=p.CUSTOMER_ID,
                customer_secret=p.CUSTOMER_SECRET,
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
    hook = await _hook_cost(100 if quick else 20_000)
    share = hook / result.per_op("other")
    extra = result.per_op("ours") - result.per_op("other")
    row = Row(
        benchmark=NAME,
        measure="client.query() per call: OpenTelemetry API without SDK / without telemetry",
        value=result.median,
        unit="x",
        context=(
            f"{result.context()}; difference of medians {fmt_seconds(extra)}/call; the hook "
            f"alone, timed in a loop, costs {fmt_seconds(hook)}/call ({share:.2%} of a call)"
        ),
        aim=f"<= {AIM:.2f}x",
        met=result.median <= AIM,
    )
    details = {"ratio": result.as_json(), "hook_seconds_per_call": hook, "hook_share": share}
    return BenchResult(rows=[row], details=details, notes=[])


async def _hook_cost(number: int) -> float:
    """Seconds per call the request hook adds without an SDK, against awaiting the call bare."""
    from agora_recording._protocol import Endpoint, build_request

    spec = build_request(Endpoint.QUERY, p.APP_ID, handle=p.handle())
    telemetry = Telemetry()

    async def answer() -> int:
        return 0

    best = {"hooked": float("inf"), "bare": float("inf")}
    for _ in range(7):
        began = time.perf_counter()
        for _ in range(number):
            await telemetry.request(
                answer(), spec, p.BASE_URL, attempt=1, queued=0.0, priority="POLL"
            )
        best["hooked"] = min(best["hooked"], (time.perf_counter() - began) / number)
        began = time.perf_counter()
        for _ in range(number):
            await answer()
        best["bare"] = min(best["bare"], (time.perf_counter() - began) / number)
    return max(0.0, best["hooked"] - best["bare"])


def run(quick: bool) -> BenchResult:
    """Measure the no-SDK cost of the hooks; ``quick`` uses few rounds."""
    return anyio.run(_measure, quick, backend="asyncio")
