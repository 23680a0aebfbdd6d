"""Per-call overhead: ``client.query`` and ``client.start`` against raw httpx, same bytes.

Both contenders share one ``httpx.AsyncClient`` on an ``httpx.MockTransport`` that answers
canned bytes, so the network is out of the picture and what remains is each side's own work:

- ours: ``RecordingClient(rate_limit=None)`` — build and validate the request, encode the
  body, send it with Basic auth under a deadline, classify the answer and structure it into
  the response model (start: the large mix configuration, 17 layout regions);
- raw: a hand-written call — format the URL, ``json.dumps`` the same wire dict (checked to be
  the same bytes), send with the same headers and auth, ``json.loads`` the answer.

The figure is ours / raw per call (median of per-round ratios). Each call is measured the
flattering way and the honest way, side by side:

- ``query`` against raw given an f-string URL (httpx parses it on every call) and against raw
  given an ``httpx.URL`` parsed once (aim: at most 1.15x), as a careful hand-written client does;
- ``start`` with the same body every call (our memo of valid start bodies skips validation) and
  with a fresh body every call (aim: at most 1.3x): a pool of start configurations that differ in
  their token and file prefix, as a fleet's do (one per channel), larger than the memo, cycled
  by both sides (raw dumps the matching wire dict, built ahead like ours is). They are evolved
  from one template, so they share its ``recordingConfig`` object (whose text ours reuses); the
  same pool with a ``recordingConfig`` object of its own per channel (equal values, against the
  same raw calls) is the fleet that builds every configuration from scratch.

A breakdown of the pure parts (request building, response parsing) says where the difference
comes from, and the ``query`` is taken apart in one more side-by-side run: raw given a parsed URL,
then raw with our `parse_response` instead of ``json.loads``, then also under the deadline every
attempt of ours has (``_deadline.attempt_timer``), then ours.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
import attrs
import httpx
from agora_recording import Mode, RecordingClient, StartConfig, converter
from agora_recording._protocol import Endpoint, build_request, parse_response

from . import _payloads as p
from ._harness import BenchResult, Ratio, Row, compare_async, fmt_seconds, ratio
from ._profile import Profile, profiled_async

__all__ = ["NAME", "run"]

NAME: Final = "overhead"
#: The most ours may cost per call, as a multiple of raw httpx.
AIMS: Final = {"query, parsed URL": 1.15, "start, fresh body": 1.3}
#: Distinct start configurations cycled by the fresh-body calls: more than the memo holds.
POOL: Final = 1024
_HEADERS: Final = {"content-type": "application/json", "x-request-id": "benchmark"}


class _CannedService:
    """The mock transport's handler: canned answers, and the last body each path received."""

    def __init__(self) -> None:
        self.query = p.dumps(p.mix_query_wire())
        self.start = p.dumps(p.start_response_wire())
        self.bodies: list[bytes] = []
        self.keep = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.keep:
            self.bodies.append(request.content)
        content = self.start if request.url.path.endswith("/start") else self.query
        return httpx.Response(200, content=content, headers=_HEADERS)


def _fresh_configs(config: StartConfig, *, own_recording: bool = False) -> list[StartConfig]:
    """``POOL`` start configurations, one per channel: own token, own file prefix, and with
    ``own_recording`` an equal ``recordingConfig`` object of its own."""
    storage = config.storage_config
    assert storage is not None
    assert storage.file_name_prefix is not None
    assert config.token
    return [
        attrs.evolve(
            config,
            recording_config=(
                attrs.evolve(config.recording_config)
                if own_recording and config.recording_config is not None
                else config.recording_config
            ),
            token=f"{config.token[:-6]}{index:06d}",
            storage_config=attrs.evolve(
                storage, file_name_prefix=(*storage.file_name_prefix[:-1], f"room{index:05d}")
            ),
        )
        for index in range(POOL)
    ]


_Call = Callable[[], Awaitable[object]]


def _raw_calls(
    http: httpx.AsyncClient, start_wire: dict[str, Any], fresh_wires: list[dict[str, Any]]
) -> dict[str, _Call]:
    """A hand-written client for the same calls: URLs as strings or parsed, json.dumps/loads."""
    auth = httpx.BasicAuth(p.CUSTOMER_ID, p.CUSTOMER_SECRET)
    get_headers = {"Accept": "application/json", "User-Agent": "raw-httpx-benchmark"}
    post_headers = {**get_headers, "Content-Type": "application/json;charset=utf-8"}
    app, rid, sid, cname, uid = p.APP_ID, p.RESOURCE_ID, p.SID, p.CNAME, p.UID

    async def raw_query() -> object:
        url = (
            f"{p.BASE_URL}/v1/apps/{app}/cloud_recording/resourceid/{rid}/sid/{sid}/mode/mix/query"
        )
        response = await http.get(url, headers=get_headers, auth=auth)
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
        return json.loads(response.content)

    query_url = httpx.URL(
        f"{p.BASE_URL}/v1/apps/{app}/cloud_recording/resourceid/{rid}/sid/{sid}/mode/mix/query"
    )

    async def raw_query_parsed() -> object:
        response = await http.get(query_url, headers=get_headers, auth=auth)
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
        return json.loads(response.content)

    async def send_start(wire: dict[str, Any]) -> object:
        url = f"{p.BASE_URL}/v1/apps/{app}/cloud_recording/resourceid/{rid}/mode/mix/start"
        body = {"cname": cname, "uid": uid, "clientRequest": wire}
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        response = await http.post(url, content=content, headers=post_headers, auth=auth)
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
        return json.loads(response.content)

    async def raw_start() -> object:
        return await send_start(start_wire)

    next_wire = itertools.cycle(fresh_wires).__next__

    async def raw_start_fresh() -> object:
        return await send_start(next_wire())

    return {
        "query": raw_query,
        "query, parsed URL": raw_query_parsed,
        "start": raw_start,
        "start, fresh body": raw_start_fresh,
    }


async def _query_steps(
    http: httpx.AsyncClient, handle: Any, client: RecordingClient, rounds: int, number: int
) -> dict[str, float]:
    """``query`` rebuilt from raw httpx step by step, each step's ratio to raw (parsed URL)."""
    auth = httpx.BasicAuth(p.CUSTOMER_ID, p.CUSTOMER_SECRET)
    headers = {"Accept": "application/json", "User-Agent": "raw-httpx-benchmark"}
    url = httpx.URL(p.BASE_URL + build_request(Endpoint.QUERY, p.APP_ID, handle=handle).path)

    async def raw() -> object:
        response = await http.get(url, headers=headers, auth=auth)
        return json.loads(response.content)

    async def parsed() -> object:
        response = await http.get(url, headers=headers, auth=auth)
        return parse_response(Endpoint.QUERY, 200, response.headers, response.content)

    try:
        from agora_recording._deadline import attempt_timer
    except ImportError:  # an older package (before_after): its attempts had a cancel scope each

        async def timed() -> object:
            with anyio.CancelScope(deadline=anyio.current_time() + 10.0):
                response = await http.get(url, headers=headers, auth=auth)
            return parse_response(Endpoint.QUERY, 200, response.headers, response.content)

    else:

        async def timed() -> object:
            timer = attempt_timer()
            with timer.until(timer.now() + 10.0):
                response = await http.get(url, headers=headers, auth=auth)
            return parse_response(Endpoint.QUERY, 200, response.headers, response.content)

    async def ours() -> object:
        return await client.query(handle)

    contenders: list[tuple[str, _Call]] = [
        ("raw", raw),
        ("+ parse_response", parsed),
        ("+ the attempt's deadline", timed),
        ("ours (client.query)", ours),
    ]
    timings = await compare_async(contenders, rounds=rounds, number=number)
    return {
        name: ratio(timings, name, "raw", number).median for name, _ in contenders if name != "raw"
    }


def _breakdown(number: int) -> dict[str, float]:
    """Seconds per call of the pure steps on each side (no I/O)."""
    config = p.mix_start_config()
    next_config = itertools.cycle(_fresh_configs(config)).__next__
    start_wire = converter.unstructure(config)
    handle = p.handle()
    query_bytes = p.dumps(p.mix_query_wire())
    start_bytes = p.dumps(p.start_response_wire())
    steps: dict[str, Callable[[], object]] = {
        "ours: build_request(query)": lambda: build_request(
            Endpoint.QUERY, p.APP_ID, handle=handle
        ),
        "ours: parse_response(query)": lambda: parse_response(
            Endpoint.QUERY, 200, _HEADERS, query_bytes
        ),
        "ours: build_request(start) [unstructure+validate+encode]": lambda: build_request(
            Endpoint.START,
            p.APP_ID,
            resource_id=p.RESOURCE_ID,
            mode=Mode.MIX,
            cname=p.CNAME,
            uid=p.UID,
            config=config,
        ),
        "ours: build_request(start), fresh body": lambda: build_request(
            Endpoint.START,
            p.APP_ID,
            resource_id=p.RESOURCE_ID,
            mode=Mode.MIX,
            cname=p.CNAME,
            uid=p.UID,
            config=next_config(),
        ),
        "ours: converter.unstructure(start config)": lambda: converter.unstructure(config),
        "ours: parse_response(start)": lambda: parse_response(
            Endpoint.START, 200, _HEADERS, start_bytes
        ),
        "raw: json.loads(query)": lambda: json.loads(query_bytes),
        "raw: json.dumps(start body)": lambda: json.dumps(
            {"cname": p.CNAME, "uid": p.UID, "clientRequest": start_wire},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode(),
    }
    result: dict[str, float] = {}
    for name, step in steps.items():
        for _ in range(number // 10):
            step()
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(number):
                step()
            best = min(best, (time.perf_counter() - began) / number)
        result[name] = best
    return result


async def _measure(quick: bool) -> BenchResult:
    rounds, number = (5, 100) if quick else (25, 400)
    service = _CannedService()
    config = p.mix_start_config()
    start_wire = converter.unstructure(config)
    fresh = _fresh_configs(config)
    fresh_wires = [converter.unstructure(each) for each in fresh]
    handle = p.handle()
    async with httpx.AsyncClient(transport=httpx.MockTransport(service)) as http:
        client = RecordingClient(
            app_id=p.APP_ID,
            customer_id=p.CUSTOMER_ID,
            customer_secret=p.CUSTOMER_SECRET,
            base_url=p.BASE_URL,
            http_client=http,
            rate_limit=None,
        )
        raw = _raw_calls(http, start_wire, fresh_wires)

        async def ours_query() -> object:
            return await client.query(handle)

        async def ours_start() -> object:
            return await client.start(
                p.RESOURCE_ID, Mode.MIX, cname=p.CNAME, uid=p.UID, config=config
            )

        next_config = itertools.cycle(fresh).__next__

        async def ours_start_fresh() -> object:
            return await client.start(
                p.RESOURCE_ID, Mode.MIX, cname=p.CNAME, uid=p.UID, config=next_config()
            )

        next_own = itertools.cycle(_fresh_configs(config, own_recording=True)).__next__

        async def ours_start_own() -> object:
            return await client.start(
                p.RESOURCE_ID, Mode.MIX, cname=p.CNAME, uid=p.UID, config=next_own()
            )

        ours_calls: dict[str, _Call] = {
            "query": ours_query,
            "query, parsed URL": ours_query,
            "start": ours_start,
            "start, fresh body": ours_start_fresh,
            _OWN_RECORDING: ours_start_own,
        }
        # Both sides must send the very same bodies, the shared one and a fresh one.
        service.keep = True
        for name in ("start", "start, fresh body"):
            await ours_calls[name]()
            await raw[name]()
        service.keep = False
        if service.bodies[0] != service.bodies[1] or service.bodies[2] != service.bodies[3]:
            raise AssertionError("ours and raw send different start bodies")
        if service.bodies[0] == service.bodies[2]:
            raise AssertionError("the fresh body is not fresh")
        body_size = len(service.bodies[0])

        results: dict[str, Ratio] = {}
        for label, ours in ours_calls.items():
            timings = await compare_async(
                [("ours", ours), ("raw httpx", raw[_RAW_OF.get(label, label)])],
                rounds=rounds,
                number=number,
            )
            results[label] = ratio(timings, "ours", "raw httpx", number)

        steps = await _query_steps(http, handle, client, rounds, number)

        profiles: dict[str, Profile] = {}
        for label in AIMS:
            ours = ours_calls[label]
            if results[label].median > AIMS[label] or not quick:

                async def loop(call: Callable[[], Awaitable[object]] = ours) -> None:
                    for _ in range(number * (2 if quick else 8)):
                        await call()

                profiles[label] = await profiled_async(loop)

    breakdown = _breakdown(200 if quick else 2000)
    rows: list[Row] = []
    notes: list[str] = []
    for label, result in results.items():
        extra = result.per_op("ours") - result.per_op("other")
        call, _, how = label.partition(", ")
        aim = AIMS.get(label)
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"client.{call}() per call, {how or _FLATTERING[call]}: ours / raw httpx",
                value=result.median,
                unit="x",
                context=f"{result.context()}; ours adds {fmt_seconds(extra)}/call",
                aim=None if aim is None else f"<= {aim:.2f}x",
                met=None if aim is None else result.median <= aim,
            )
        )
        profile = profiles.get(label)
        if profile is not None:
            # Leave out the call chain itself (query -> _call -> _send...): it holds everything.
            parts = [
                (name, share)
                for name, share in profile.inclusive_share(40, within="agora_recording")
                if share < 0.8
            ][:6]
            packages = ", ".join(
                f"{name} {share:.0%}" for name, share in profile.package_shares()[:5]
            )
            scopes = [
                (name, share)
                for name, share in profile.inclusive_share(40, within="anyio/")
                if share < 0.8
            ][:3]
            notes.append(
                f"ours, {label}: by package {packages}; inclusive in our code: "
                + ", ".join(f"{name} {share:.0%}" for name, share in parts)
                + "; in anyio: "
                + ", ".join(f"{name} {share:.0%}" for name, share in scopes)
            )
    notes.append(
        "query taken apart, ratio to raw given a parsed URL (one run): "
        + ", ".join(f"{name} {value:.2f}x" for name, value in steps.items())
    )
    notes.append(
        "pure steps per call: "
        + ", ".join(f"{name} {fmt_seconds(seconds)}" for name, seconds in breakdown.items())
    )
    return BenchResult(
        rows=rows,
        details={
            "ratios": {label: result.as_json() for label, result in results.items()},
            "start_body_bytes": body_size,
            "pure_steps_seconds_per_call": breakdown,
            "query_steps_ratio_to_raw": steps,
            "profiles": {label: profile.as_json() for label, profile in profiles.items()},
        },
        notes=notes,
    )


_OWN_RECORDING: Final = "start, fresh body and recordingConfig object"
#: The raw call each of ours is compared with, where it is not the one of the same name.
_RAW_OF: Final = {_OWN_RECORDING: "start, fresh body"}

_FLATTERING: Final = {
    "query": "raw given a URL string",
    "start": "same body every call (memo)",
}


def run(quick: bool) -> BenchResult:
    """Measure per-call overhead; ``quick`` uses few rounds."""
    return anyio.run(_measure, quick, backend="asyncio")
