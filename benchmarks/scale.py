"""Scale: N concurrent ``RecordingSession``s on one client, polling on a fixed schedule.

For N in 100, 1,000 and 10,000, N sessions enter at once on one ``RecordingClient``
(``rate_limit=None``), each acquires, starts, polls ``query`` every ``interval`` seconds and
stops on exit. Once every session is in, a *steady phase* of ``polls`` intervals is measured:

- CPU per poll: ``time.process_time`` over the steady phase / polls made in it (the in-process
  service's own CPU is measured separately, by timing its ASGI app, and subtracted for the
  client's share); ``utilization`` is CPU / wall time (near 1.0 means the loop is saturated);
- poll-schedule lateness: each session's poller is given an instrumented ``sleep`` (the
  session's own injection point): lateness is how long after its due time each poll started;
  ``poll`` is how long the poll itself took (the query round trip in-process);
- memory per session: a second, uninstrumented run under ``tracemalloc``: peak traced memory
  during the steady phase minus the baseline before the sessions existed, divided by N; for the
  emulator the emulator's own share (allocations made in ``agora_recording/emulator`` and
  starlette) is subtracted for the client's share (aim: below 50 KB);
- every session stopped: each session's ``stop_outcome`` and, for the emulator, its state
  after the run (no recording still running).

Two services stand in for Agora: the in-process emulator (``agora_recording.testing``: rate
limit off, no concurrency quota, healthy at once, a publisher in every channel, time frozen
on a ``FakeClock`` so no timer fires during the run), and a stateless canned service on an
``httpx.MockTransport`` that isolates the client's own cost. A run whose projected duration is
far beyond the budget (the emulator's per-request cost grows with the number of recordings it
holds) is skipped with the projection recorded.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import anyio
import attrs
import httpx
from agora_recording import (
    Mode,
    PollingOptions,
    RecordingClient,
    RecordingHandle,
    RecordingSession,
    RuntimeOptions,
)
from agora_recording.testing import (
    DEFAULT_CUSTOMER_ID,
    DEFAULT_CUSTOMER_SECRET,
    Emulator,
    FakeClock,
)
from starlette.types import Receive, Scope, Send

from . import _payloads as p
from ._harness import BenchResult, Row, percentile

__all__ = ["NAME", "run"]

NAME: Final = "scale"
MEMORY_AIM_KB: Final = 50.0
# Skip a run projected to take longer than this (seconds of CPU).
BUDGET: Final = 150.0
_EMULATOR_FILES: Final = ("agora_recording/emulator/", "/starlette/")
_ARRIVAL_INTERVALS: Final = 2


@attrs.frozen(kw_only=True)
class Plan:
    """One scale run: how many sessions, on what service, polling how often for how long."""

    n: int
    backend: str
    interval: float
    polls: int
    arrival: str = "staggered"
    """``staggered``: session i enters ``2 * interval * i / n`` seconds in, so polls are spread
    evenly (over two intervals, so that even 10,000 acquire+start pairs keep up with their
    schedule: a start phase that saturates the loop leaves bunched poll schedules behind);
    ``aligned``: all enter at once, so their polls fall due together."""
    memory: bool = True


@attrs.define
class _Probe:
    """Counters shared by every session's instrumented sleep and by the service meter."""

    recording: bool = False
    lateness: list[float] = attrs.field(factory=list)
    durations: list[float] = attrs.field(factory=list)
    polls: int = 0
    service_cpu: float = 0.0
    service_calls: int = 0
    depth: int = 0
    overlapped: bool = False


def _instrumented_sleep(probe: _Probe) -> Callable[[float], Awaitable[None]]:
    """A per-session ``sleep`` recording how late each poll starts and how long polls take."""
    last_wake: float | None = None

    async def sleep(delay: float) -> None:
        nonlocal last_wake
        began = anyio.current_time()
        if last_wake is not None and probe.recording:
            probe.durations.append(began - last_wake)
        await anyio.sleep(delay)
        woke = anyio.current_time()
        if probe.recording:
            probe.lateness.append(woke - began - delay)
            probe.polls += 1
        last_wake = woke

    return sleep


class _MeteredApp:
    """The emulator's ASGI app, timed: CPU spent inside it, per request."""

    def __init__(self, app: Any, probe: _Probe) -> None:
        self.app = app
        self.probe = probe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        probe = self.probe
        probe.depth += 1
        if probe.depth > 1:
            probe.overlapped = True  # another request interleaved: the meter would double count
        began = time.process_time()
        try:
            await self.app(scope, receive, send)
        finally:
            probe.depth -= 1
            if probe.recording:
                probe.service_cpu += time.process_time() - began
                probe.service_calls += 1


class _CannedService:
    """A stateless stand-in: canned acquire/start/query/stop answers, stops counted."""

    def __init__(self) -> None:
        ids = {"cname": "c", "uid": "1", "resourceId": p.RESOURCE_ID}
        self.acquire = p.dumps(ids)
        self.start = p.dumps({**ids, "sid": p.SID})
        self.query = p.dumps(
            {
                **ids,
                "sid": p.SID,
                "serverResponse": {
                    "status": 5,
                    "fileListMode": "string",
                    "fileList": f"{p.SID}_c.m3u8",
                    "sliceStartTime": 1_704_067_200_000,
                },
            }
        )
        self.stop = p.dumps(
            {
                **ids,
                "sid": p.SID,
                "serverResponse": {
                    "fileListMode": "string",
                    "fileList": f"{p.SID}_c.m3u8",
                    "uploadingStatus": "uploaded",
                },
            }
        )
        self.stops = 0
        self.probe: _Probe | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        began = time.process_time()
        path = request.url.path
        if path.endswith("/query"):
            body = self.query
        elif path.endswith("/stop"):
            self.stops += 1
            body = self.stop
        elif path.endswith("/start"):
            body = self.start
        else:
            body = self.acquire
        response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
        probe = self.probe
        if probe is not None and probe.recording:
            probe.service_cpu += time.process_time() - began
            probe.service_calls += 1
        return response


@attrs.define
class _Service:
    http: httpx.AsyncClient
    emulator: Emulator | None
    canned: _CannedService | None


@asynccontextmanager
async def _service(plan: Plan, probe: _Probe) -> AsyncIterator[_Service]:
    if plan.backend == "emulator":
        emulator = Emulator(
            clock=FakeClock(),
            rate_limit=None,
            max_concurrent_recordings=None,
            startup_delay=0.0,
        )
        for index in range(plan.n):
            emulator.channel(_cname(index)).publish(7)
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(
            app=_MeteredApp(emulator.app, probe)
        )
        async with httpx.AsyncClient(transport=transport) as http:
            yield _Service(http=http, emulator=emulator, canned=None)
    else:
        canned = _CannedService()
        canned.probe = probe
        async with httpx.AsyncClient(transport=httpx.MockTransport(canned)) as http:
            yield _Service(http=http, emulator=None, canned=canned)


def _cname(index: int) -> str:
    return f"scale-{index}"


class _GcWatch:
    """Counts garbage collections (per generation) and their pauses inside a ``with`` block."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.total = 0.0
        self.longest = 0.0
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        pause = time.perf_counter() - self._began
        self.counts[info["generation"]] += 1
        self.total += pause
        self.longest = max(self.longest, pause)

    def __enter__(self) -> _GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)


def _emulator_bytes(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes allocated by the emulator itself (and starlette under it)."""
    total = 0
    for stat in snapshot.statistics("filename"):
        name = stat.traceback[0].filename.replace("\\", "/")
        if any(fragment in name for fragment in _EMULATOR_FILES):
            total += stat.size
    return total


def _client(service: _Service) -> RecordingClient:
    return RecordingClient(
        app_id=p.APP_ID,
        customer_id=DEFAULT_CUSTOMER_ID,
        customer_secret=DEFAULT_CUSTOMER_SECRET,
        base_url=p.BASE_URL,
        http_client=service.http,
        rate_limit=None,
    )


async def _warm_up(client: RecordingClient) -> None:
    """Run every code path once (lazy imports, hook caches) before measuring."""
    config = p.small_mix_start_config()
    async with RecordingSession(
        client, cname="warmup", uid="1", mode=Mode.MIX, config=config, poll_interval=0.001
    ):
        await anyio.sleep(0.01)


def _stop_check(result: dict[str, Any], service: _Service, outcomes: Counter[str], n: int) -> None:
    """Record whether every session's stop went through, by the sessions and by the service."""
    result["outcomes"] = dict(outcomes)
    stopped = outcomes.get("stopped", 0) + outcomes.get("no_recorded_data", 0)
    if service.emulator is not None:
        still = [r for r in service.emulator.recordings() if r.running]
        result["still_running"] = len(still)
        result["all_stopped"] = stopped == n and not still
    else:
        assert service.canned is not None
        result["stop_requests"] = service.canned.stops - 1  # minus the warm-up session
        result["all_stopped"] = stopped == n and service.canned.stops - 1 == n


def _record(outcomes: Counter[str], session: RecordingSession) -> None:
    outcome = session.stop_outcome
    outcomes[outcome.value if outcome is not None else "none"] += 1


async def _timing_run(plan: Plan) -> dict[str, Any]:
    """Sessions enter through acquire and start as in production; time the steady phase."""
    probe = _Probe()
    config = p.small_mix_start_config()
    result: dict[str, Any] = {"n": plan.n, "backend": plan.backend}
    began_run = time.perf_counter()
    async with _service(plan, probe) as service:
        client = _client(service)
        await _warm_up(client)
        entered = 0
        all_in, finish = anyio.Event(), anyio.Event()
        outcomes: Counter[str] = Counter()

        async def one(index: int) -> None:
            nonlocal entered
            if plan.arrival == "staggered":
                await anyio.sleep(_ARRIVAL_INTERVALS * plan.interval * index / plan.n)
            session = RecordingSession(
                client,
                cname=_cname(index),
                uid="1",
                mode=Mode.MIX,
                config=config,
                poll_interval=plan.interval,
                polling=PollingOptions(first_poll_delay=plan.interval),
                runtime=RuntimeOptions(sleep=_instrumented_sleep(probe)),
            )
            async with session:
                entered += 1
                if entered == plan.n:
                    all_in.set()
                await finish.wait()
            _record(outcomes, session)

        gc.collect()
        began = time.perf_counter()
        async with anyio.create_task_group() as group:
            for index in range(plan.n):
                group.start_soon(one, index)
            await all_in.wait()
            result["enter_seconds"] = time.perf_counter() - began
            probe.recording = True
            cpu0, wall0 = time.process_time(), time.perf_counter()
            with _GcWatch() as collections:
                await anyio.sleep(plan.interval * plan.polls)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            probe.recording = False
            polls = max(probe.polls, 1)
            result.update(
                steady_seconds=wall,
                polls=probe.polls,
                cpu_per_poll=cpu / polls,
                service_cpu_per_poll=probe.service_cpu / polls,
                client_cpu_per_poll=(cpu - probe.service_cpu) / polls,
                service_cpu_per_request=probe.service_cpu / max(probe.service_calls, 1),
                utilization=cpu / wall,
                lateness_p50=percentile(probe.lateness, 50),
                lateness_p99=percentile(probe.lateness, 99),
                lateness_max=max(probe.lateness, default=float("nan")),
                poll_p50=percentile(probe.durations, 50),
                poll_p99=percentile(probe.durations, 99),
                meter_overlapped=probe.overlapped,
                gc_collections=collections.counts,
                gc_pause_total=collections.total,
                gc_pause_max=collections.longest,
            )
            exit_began = time.perf_counter()
            finish.set()
        result["exit_seconds"] = time.perf_counter() - exit_began
        _stop_check(result, service, outcomes, plan.n)
    result["wall_seconds"] = time.perf_counter() - began_run
    return result


def _fresh(handle: RecordingHandle) -> RecordingHandle:
    """A copy of ``handle`` whose strings are new objects, so tracemalloc sees them."""
    return RecordingHandle(
        resource_id=handle.resource_id.encode().decode(),
        sid=handle.sid.encode().decode(),
        mode=handle.mode,
        cname=handle.cname.encode().decode(),
        uid=handle.uid.encode().decode(),
    )


async def _memory_run(plan: Plan) -> dict[str, Any]:
    """Trace the memory of N steady sessions, uninstrumented.

    The recordings are acquired and started before tracing begins, then each session adopts
    its recording (with a fresh copy of the handle) under ``tracemalloc``: the steady state is
    the same as after ``start``, and tracing does not slow N acquire+start round trips down.
    """
    probe = _Probe()
    config = p.small_mix_start_config()
    result: dict[str, Any] = {"n": plan.n, "backend": plan.backend}
    began_run = time.perf_counter()
    async with _service(plan, probe) as service:
        client = _client(service)
        await _warm_up(client)
        handles: list[RecordingHandle] = []
        for index in range(plan.n):
            cname = _cname(index)
            acquired = await client.acquire(cname=cname, uid="1")
            assert acquired.resource_id is not None
            started = await client.start(
                acquired.resource_id, Mode.MIX, cname=cname, uid="1", config=config
            )
            handles.append(started.handle)
        entered = 0
        all_in, finish = anyio.Event(), anyio.Event()
        outcomes: Counter[str] = Counter()

        async def one(index: int) -> None:
            nonlocal entered
            session = RecordingSession.adopt(
                client,
                _fresh(handles[index]),
                poll_interval=plan.interval,
                polling=PollingOptions(first_poll_delay=plan.interval * index / plan.n),
            )
            async with session:
                entered += 1
                if entered == plan.n:
                    all_in.set()
                await finish.wait()
            _record(outcomes, session)

        gc.collect()
        objects = len(gc.get_objects())
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        began = time.perf_counter()
        async with anyio.create_task_group() as group:
            for index in range(plan.n):
                group.start_soon(one, index)
            await all_in.wait()
            result["enter_seconds"] = time.perf_counter() - began
            tracemalloc.reset_peak()
            # One interval holds a full round of polls: enough for the peak of a poll round.
            await anyio.sleep(plan.interval)
            current, peak = tracemalloc.get_traced_memory()
            result["gc_objects_per_session"] = (len(gc.get_objects()) - objects) / plan.n
            snapshot = tracemalloc.take_snapshot() if service.emulator is not None else None
            tracemalloc.stop()
            service_bytes = _emulator_bytes(snapshot) if snapshot is not None else 0
            del snapshot
            result.update(
                memory_per_session=(peak - baseline) / plan.n,
                memory_current_per_session=(current - baseline) / plan.n,
                service_memory_per_session=service_bytes / plan.n,
                client_memory_per_session=(peak - baseline - service_bytes) / plan.n,
            )
            finish.set()
        _stop_check(result, service, outcomes, plan.n)
    result["wall_seconds"] = time.perf_counter() - began_run
    return result


def _measure(plan: Plan) -> dict[str, Any]:
    timing = anyio.run(_timing_run, plan, backend="asyncio")
    timing.update(interval=plan.interval, polls_per_session=plan.polls, arrival=plan.arrival)
    gc.collect()
    if not plan.memory:
        return timing
    memory = anyio.run(_memory_run, plan, backend="asyncio")
    gc.collect()
    merged = {
        **timing,
        **{k: v for k, v in memory.items() if "memory" in k or k == "gc_objects_per_session"},
    }
    merged["all_stopped"] = bool(timing["all_stopped"] and memory["all_stopped"])
    merged["memory_run_wall_seconds"] = memory["wall_seconds"]
    return merged


def _projected_seconds(plan: Plan, done: list[dict[str, Any]]) -> float | None:
    """CPU seconds a run would take, extrapolated linearly in N from the runs already made.

    Per request, the service's cost is fitted as ``a + b * N`` (the emulator settles every
    recording it holds on each request); the client's as constant per request.
    """
    same = sorted(
        (r for r in done if r["backend"] == plan.backend and not r.get("skipped")),
        key=lambda r: r["n"],
    )
    if len(same) < 2:
        return None
    low, high = same[-2], same[-1]
    per_low, per_high = low["service_cpu_per_request"], high["service_cpu_per_request"]
    slope = max(0.0, (per_high - per_low) / (high["n"] - low["n"]))
    service = per_high + slope * (plan.n - high["n"])
    client = high["client_cpu_per_poll"]
    requests = plan.n * (plan.polls + 4)  # acquire, start, polls, stop (+ the first poll)
    return float(2 * requests * (service + client))  # two runs: timing and memory


def plans(quick: bool) -> list[Plan]:
    """The runs made: every N on both services, then one run with aligned starts.

    ``quick``: N = 100 only, a 0.2 s interval. Otherwise a 4 s interval (10,000 sessions then
    poll 2,500 times a second) and two polls per session in the steady phase.
    """
    sizes = (100,) if quick else (100, 1_000, 10_000)
    interval, polls = (0.2, 2) if quick else (4.0, 2)
    chosen = [
        Plan(n=n, backend=backend, interval=interval, polls=polls)
        for backend in ("canned", "emulator")
        for n in sizes
    ]
    if not quick:
        chosen.append(
            Plan(
                n=1_000,
                backend="canned",
                interval=interval,
                polls=polls,
                arrival="aligned",
                memory=False,
            )
        )
    return chosen


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _kb(result: dict[str, Any], key: str) -> str:
    return f"{result[key] / 1024:.1f}" if key in result else "-"


def _gc(result: dict[str, Any]) -> str:
    objects = result.get("gc_objects_per_session")
    per = f"{objects:.0f}" if objects is not None else "-"
    return f"{result['gc_collections'][2]} / {result['gc_pause_max'] * 1e3:.0f} / {per}"


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| service | N | starts | enter (s) | CPU/poll (µs): total / client | utilization | "
        "lateness p50 / p99 (ms) | poll p50 / p99 (ms) | memory/session (KB): total / client | "
        "GC: full collections / longest pause (ms) / objects per session | all stopped |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        head = f"| {r['backend']} | {r['n']:,} | {r['arrival']} |"
        if r.get("skipped"):
            lines.append(f"{head} skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(
            f"{head} {r['enter_seconds']:.2f} | "
            f"{r['cpu_per_poll'] * 1e6:.0f} / {r['client_cpu_per_poll'] * 1e6:.0f} | "
            f"{r['utilization']:.2f} | {_ms(r['lateness_p50'])} / {_ms(r['lateness_p99'])} | "
            f"{_ms(r['poll_p50'])} / {_ms(r['poll_p99'])} | "
            f"{_kb(r, 'memory_per_session')} / {_kb(r, 'client_memory_per_session')} | "
            f"{_gc(r)} | {'yes' if r['all_stopped'] else 'NO'} |"
        )
    return "\n".join(lines)


def run(quick: bool) -> BenchResult:
    """Run every plan (skipping those projected beyond the budget) and summarise."""
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    for plan in plans(quick):
        projected = _projected_seconds(plan, results)
        if projected is not None and projected > BUDGET:
            reason = f"projected {projected:.0f} s CPU > {BUDGET:.0f} s budget"
            results.append(
                {"n": plan.n, "backend": plan.backend, "arrival": plan.arrival, "skipped": reason}
            )
            notes.append(
                f"{plan.backend} N={plan.n:,} skipped: {reason} (the service's CPU per request "
                "grows with N; see the README)"
            )
            continue
        result = _measure(plan)
        results.append(result)
        if result.get("meter_overlapped"):
            notes.append(f"{plan.backend} N={plan.n}: service CPU meter saw interleaved requests")
    rows: list[Row] = []
    for r in results:
        if r["arrival"] != "staggered":
            continue
        if r.get("skipped"):
            rows.append(
                Row(
                    benchmark=NAME,
                    measure=f"{r['backend']}, N={r['n']:,}: client memory per session",
                    value=float("nan"),
                    unit="KB",
                    context=f"skipped: {r['skipped']}",
                    aim=f"< {MEMORY_AIM_KB:g} KB",
                    met=None,
                )
            )
            continue
        kb = r["client_memory_per_session"] / 1024
        rows.append(
            Row(
                benchmark=NAME,
                measure=f"{r['backend']}, N={r['n']:,}: client memory per session",
                value=kb,
                unit="KB",
                context=(
                    f"total {r['memory_per_session'] / 1024:.1f} KB incl. service; client CPU/poll "
                    f"{r['client_cpu_per_poll'] * 1e6:.0f} µs; lateness p50/p99 "
                    f"{_ms(r['lateness_p50'])}/{_ms(r['lateness_p99'])} ms; "
                    f"all stopped: {'yes' if r['all_stopped'] else 'NO'}"
                ),
                aim=f"< {MEMORY_AIM_KB:g} KB",
                met=kb < MEMORY_AIM_KB and bool(r["all_stopped"]),
            )
        )
    return BenchResult(
        rows=rows,
        details={"runs": results},
        notes=notes,
        tables=[_table(results)],
    )
