"""Fleet: thousands of sessions on one client sharing the App ID's 10 requests per second.

Runs in virtual time (Trio's autojumping ``MockClock``) against the in-process emulator with its
per-App-ID quota on (``agora_recording.testing.virtual_service``), so an hour of a fleet takes
seconds to minutes of real time. Two scenarios per N:

- ``burst``: every session enters at one instant; half leave together 40 minutes in, the other
  half after a random 10-60 minutes;
- ``churn``: sessions arrive at a constant rate over an hour and record 10-60 minutes each.

``--events`` runs each fleet a second time with the sessions fed by notifications (the emulator
POSTs signed NCS events to a `NotificationReceiver` whose hub the client follows), to compare
the ``query`` requests polling needs with and without them.

``--competing RATE`` adds another process's load on the same App ID (the emulator drains that
many requests per second from the quota), which our client only learns about through 429s.

The world is not kind (all of it drawn from ``--seed``, so a run can be repeated): every request
takes a log-normal round trip (median 80 ms, a long tail: p99 about 0.32 s), split before and
after the service; recorders come up in 3-15 s; notifications arrive 0.1-20 s late (log-normal,
median 1 s), so they overtake each other, and 2% never arrive; the session's own jitter draws
from the same seeded generator. The service's concurrency cap (PCW) is at its documented
default, 50 recordings per App ID: a fleet larger than that runs on an App ID whose cap Agora
raised to N (the table says which), and ``--pcw`` sets it by hand.

Every row is also printed as a ratio to its physical limit, the App ID's 10 requests per
second: entry (the last session of a burst in, from the first request) over 2N/10 s (acquire
and start per session), drain (the last of the k sessions leaving together confirmed stopped)
over k/10 s, and polls per session-hour (each ``query`` counted against the hours recordings
ran) beside the 240 of a poll every 15 s.

``--ideal`` also runs each fleet in the old, kind world (no latency, recorders up in exactly 4 s,
every notification on time, no cap), beside the honest one.

``--baseline REF`` runs the same fleet, in a subprocess, on the library as it was at git ``REF``
(its ``agora_recording`` package with today's emulator laid over it), and prints both tables.

    python -m benchmarks.fleet                       # N = 100, 1,000, 5,000, both scenarios
    python -m benchmarks.fleet --n 1000 --baseline f06ec61
    python -m benchmarks.fleet --quick               # N = 50 and 100 bursts: a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Final

import anyio
import httpx
import trio
from agora_recording import Mode, RecordingSession, RuntimeOptions
from agora_recording.models import (
    RecordingConfig,
    RecordingFileConfig,
    StartConfig,
    StorageConfig,
)
from agora_recording.testing import DEFAULT_APP_ID, virtual_service
from trio.testing import MockClock

from ._harness import ROOT, extract_package

CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
    ),
    recording_config=RecordingConfig(channel_type=0, max_idle_time=3600),
    recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
)
MINUTE = 60.0
#: Agora's default peak concurrent workers per App ID.
DEFAULT_PCW: Final = 50
#: Requests per second per App ID: the limit every ratio is taken against.
QUOTA: Final = 10.0
#: Round trip of one request: log-normal, median 80 ms.
LATENCY_MEDIAN: Final = 0.080
LATENCY_SIGMA: Final = 0.6
#: Notification delivery: log-normal delay (median 1 s, within 0.1-20 s), 2% lost.
NOTIFICATION_DELAY_MEDIAN: Final = 1.0
NOTIFICATION_DELAY_SIGMA: Final = 1.0
NOTIFICATION_LOSS: Final = 0.02

_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_App = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class _UnreliableDelivery:
    """An ASGI app in front of the receiver: acknowledges every notification at once, then
    hands it on after a random delay (so later ones overtake it), or never.
    """

    def __init__(self, app: _App, rng: random.Random, group: anyio.abc.TaskGroup) -> None:
        self._app = app
        self._rng = rng
        self._group = group
        self.lost = 0

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if self._rng.random() < NOTIFICATION_LOSS:
            self.lost += 1
        else:
            delay = self._rng.lognormvariate(
                math.log(NOTIFICATION_DELAY_MEDIAN), NOTIFICATION_DELAY_SIGMA
            )
            self._group.start_soon(self._forward, dict(scope), body, min(20.0, max(0.1, delay)))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def _forward(self, scope: _Scope, body: bytes, delay: float) -> None:
        await anyio.sleep(delay)
        delivered = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal delivered
            if delivered:
                await anyio.sleep_forever()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            return None

        await self._app(scope, receive, send)


def _latency(rng: random.Random) -> float:
    return rng.lognormvariate(math.log(LATENCY_MEDIAN), LATENCY_SIGMA)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _plan(n: int, scenario: str, rng: random.Random) -> list[tuple[float, float | None, float]]:
    """Per session: (arrival, leave-at absolute time or None, lifetime)."""
    plan: list[tuple[float, float | None, float]] = []
    for index in range(n):
        lifetime = rng.uniform(10 * MINUTE, 60 * MINUTE)
        if scenario == "burst":
            together = index % 2 == 0
            plan.append((0.0, 40 * MINUTE if together else None, lifetime))
        else:
            plan.append((index * 60 * MINUTE / n, None, lifetime))
    return plan


async def _fleet(
    n: int,
    scenario: str,
    competing: float,
    seed: int,
    events: bool,
    pcw: int | None,
    ideal: bool = False,
) -> dict[str, Any]:
    rng = random.Random(seed)
    plan = _plan(n, scenario, rng)
    cap: int | None = pcw if pcw is not None else (DEFAULT_PCW if n <= DEFAULT_PCW else n)
    if ideal:
        cap = pcw  # the old, kind world: no cap unless asked
    network = random.Random(seed + 1)  # latency draws, apart from the plan's
    startups = random.Random(seed + 2)  # how long each recorder takes to come up
    jitter = random.Random(seed + 3)  # the sessions' own first-poll jitter
    first_request: list[float] = []
    entered_at: dict[str, float] = {}
    first_poll: dict[str, float] = {}
    enter_times: list[float] = []
    entries: list[float] = []
    stop_latency: list[float] = []
    together_stops: list[float] = []
    recorded: list[float] = []
    intervals: list[float] = []
    failures: Counter[str] = Counter()
    abandoned: list[str] = []
    outcomes: Counter[str] = Counter()
    started = 0
    queries = 0

    async def on_request(request: httpx.Request) -> None:
        if not first_request:
            first_request.append(anyio.current_time())
        if not ideal:
            await anyio.sleep(_latency(network) / 2)

    async def on_response(response: httpx.Response) -> None:
        nonlocal queries
        if not ideal:
            await anyio.sleep(_latency(network) / 2)
        parts = response.request.url.path.split("/")
        queries += parts[-1] == "query"
        if parts[-1] == "query" and response.status_code == 200:
            sid = parts[parts.index("sid") + 1]
            first_poll.setdefault(sid, anyio.current_time())

    options: dict[str, Any] = {}
    delivery: _UnreliableDelivery | None = None
    async with anyio.create_task_group() as deliveries:
        if events:
            from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET
            from agora_recording.webhooks import NotificationHub, NotificationReceiver

            hub = NotificationHub()
            receiver = NotificationReceiver(hub, DEFAULT_NOTIFICATION_SECRET)
            delivery = _UnreliableDelivery(receiver, random.Random(seed + 4), deliveries)
            options["notification_app"] = receiver if ideal else delivery
            options["client_options"] = {"notifications": hub}
        async with virtual_service(
            max_concurrent_recordings=cap,
            startup_delay=4.0 if ideal else (lambda: startups.uniform(3.0, 15.0)),
            seed=seed,
            **options,
        ) as service:
            service.http_client.event_hooks["request"].append(on_request)
            service.http_client.event_hooks["response"].append(on_response)
            if competing:
                service.emulator.add_competing_load(DEFAULT_APP_ID, competing)
            began = anyio.current_time()

            async def one(
                index: int, arrival: float, leave_at: float | None, lifetime: float
            ) -> None:
                nonlocal started
                await anyio.sleep(arrival)
                cname = f"fleet{index}"
                service.channel(cname).publish(7)
                session = RecordingSession(
                    service.client,
                    cname=cname,
                    uid="999",
                    mode=Mode.MIX,
                    config=CONFIG,
                    runtime=RuntimeOptions(random=jitter.random),
                )
                t0 = anyio.current_time()
                left: float | None = None
                try:
                    async with session:
                        now = anyio.current_time()
                        started += 1
                        enter_times.append(now - t0)
                        entries.append(now)
                        assert session.handle is not None
                        entered_at[session.handle.sid] = now
                        end = (began + leave_at) if leave_at is not None else now + lifetime
                        await anyio.sleep(max(0.0, end - now))
                        intervals.append(getattr(session, "effective_poll_interval", float("nan")))
                        left = anyio.current_time()
                        recorded.append(left - now)
                except Exception as exc:
                    failures[type(exc).__name__] += 1
                finally:
                    if left is not None:
                        stop_latency.append(anyio.current_time() - left)
                        if leave_at is not None:
                            together_stops.append(anyio.current_time() - left)
                    outcome = str(getattr(session.stop_outcome, "value", None))
                    outcomes[outcome] += 1
                    if session.handle is not None and outcome in ("failed", "None"):
                        abandoned.append(session.handle.sid)

            async with anyio.create_task_group() as group:
                for index, (arrival, leave_at, lifetime) in enumerate(plan):
                    group.start_soon(one, index, arrival, leave_at, lifetime)
            duration = anyio.current_time() - began
            stats = service.emulator.stats
            requests = stats.requests(app_id=DEFAULT_APP_ID)
            limited = stats.rate_limited(app_id=DEFAULT_APP_ID)
            admitted = stats.admitted(app_id=DEFAULT_APP_ID)
            running = len(service.emulator.running_recordings())
        deliveries.cancel_scope.cancel()
    health = [first_poll[sid] - at for sid, at in entered_at.items() if sid in first_poll]
    never_polled = sum(1 for sid in entered_at if sid not in first_poll)
    together = sum(1 for _, leave_at, _ in plan if leave_at is not None)
    burst_entry = (max(entries) - first_request[0]) if scenario == "burst" and entries else None
    hours = sum(recorded) / 3600
    return {
        "n": n,
        "scenario": scenario + (" + events" if events else "") + (" (ideal)" if ideal else ""),
        "pcw": cap,
        "queries": queries,
        "competing": competing,
        "started": started,
        "failed_sessions": dict(failures),
        "stop_outcomes": dict(outcomes),
        "stops_abandoned": len(abandoned),
        "left_running": running,
        "requests": requests,
        "rate_limited": limited,
        "rate_limited_share": limited / requests if requests else 0.0,
        "enter_p50": _percentile(enter_times, 0.5),
        "enter_p99": _percentile(enter_times, 0.99),
        # The last session of a burst in, over the 2N/10 s its acquires and starts need.
        "entry_ratio": (burst_entry / (2 * started / QUOTA)) if burst_entry and started else None,
        "first_health_poll_p99": _percentile(health, 0.99),
        # Every recording's first answered query, against the documented 90 s health window.
        "first_health_poll_max": max(health) if health else float("nan"),
        "never_polled": never_polled,
        "poll_interval_median": statistics.median(intervals) if intervals else float("nan"),
        "stop_latency_p50": _percentile(stop_latency, 0.5),
        "stop_latency_p99": _percentile(stop_latency, 0.99),
        "stop_latency_max": max(stop_latency) if stop_latency else float("nan"),
        # The last of the k sessions leaving together stopped, over the k/10 s their stops need.
        "drain_ratio": (
            max(together_stops) / (len(together_stops) / QUOTA) if together_stops else None
        ),
        "drained_together": len(together_stops) if together else 0,
        "polls_per_session_hour": queries / hours if hours else float("nan"),
        "notifications_lost": delivery.lost if delivery is not None and not ideal else 0,
        "quota_share": admitted / (QUOTA * duration) if duration else 0.0,
        "virtual_seconds": duration,
    }


def run_one(
    n: int,
    scenario: str,
    competing: float,
    seed: int,
    events: bool = False,
    pcw: int | None = None,
    ideal: bool = False,
) -> dict[str, Any]:
    """Run one fleet in virtual time and return its figures (plus the real seconds it took)."""
    began = time.perf_counter()
    result: dict[str, Any] = trio.run(
        _fleet,
        n,
        scenario,
        competing,
        seed,
        events,
        pcw,
        ideal,
        clock=MockClock(autojump_threshold=0),
    )
    result["real_seconds"] = time.perf_counter() - began
    return result


COLUMNS = [
    ("N", "n", "{:,}"),
    ("scenario", "scenario", "{}"),
    ("PCW cap", "pcw", "{:,}"),
    ("started", "started", "{:,}"),
    ("failed sessions", "failed_sessions", "{}"),
    ("stops abandoned", "stops_abandoned", "{:,}"),
    ("left running", "left_running", "{:,}"),
    ("429s", "rate_limited", "{:,}"),
    ("429 share", "rate_limited_share", "{:.2%}"),
    ("enter p50 s", "enter_p50", "{:.1f}"),
    ("enter p99 s", "enter_p99", "{:.1f}"),
    ("entry / (2N/10)", "entry_ratio", "{:.2f}x"),
    ("1st health poll p99 s", "first_health_poll_p99", "{:.1f}"),
    ("1st health poll max s", "first_health_poll_max", "{:.1f}"),
    ("never polled", "never_polled", "{:,}"),
    ("poll interval s", "poll_interval_median", "{:.0f}"),
    ("stop latency p50/p99/max s", "stop_latency", "{}"),
    ("drain / (k/10)", "drain_ratio", "{:.2f}x"),
    ("polls per session-hour", "polls_per_session_hour", "{:.0f}"),
    ("notifications lost", "notifications_lost", "{:,}"),
    ("quota used", "quota_share", "{:.0%}"),
    ("queries", "queries", "{:,}"),
]


def table(results: list[dict[str, Any]], title: str) -> str:
    """A markdown table of fleet results."""
    lines = [f"**{title}**", ""]
    lines.append("| " + " | ".join(name for name, _, _ in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    for result in results:
        cells = []
        for _, key, fmt in COLUMNS:
            if key == "stop_latency":
                cells.append(
                    "{:.1f} / {:.1f} / {:.1f}".format(
                        result["stop_latency_p50"],
                        result["stop_latency_p99"],
                        result["stop_latency_max"],
                    )
                )
            elif key == "failed_sessions":
                failed = result[key]
                cells.append(", ".join(f"{k} {v}" for k, v in failed.items()) or "0")
            elif result.get(key) is None:
                cells.append("-")
            else:
                cells.append(fmt.format(result[key]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _baseline(ref: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the same fleet on the library at ``ref``, with today's emulator laid over it."""
    root = ROOT
    with tempfile.TemporaryDirectory() as tmp:
        old = extract_package(ref, Path(tmp)) / "agora_recording"
        for part in ("emulator", "testing.py"):
            subprocess.run(["rm", "-rf", str(old / part)], check=True)
            subprocess.run(["cp", "-r", str(root / "agora_recording" / part), str(old)], check=True)
        command = [sys.executable, "-m", "benchmarks.fleet", "--json", "--seed", str(args.seed)]
        command += ["--n", *map(str, args.n), "--scenario", *args.scenario]
        command += ["--competing", str(args.competing)]
        command += ["--events"] if args.events else []
        command += ["--pcw", str(args.pcw)] if args.pcw is not None else []
        env = {**os.environ, "PYTHONPATH": f"{tmp}{os.pathsep}{root}"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp)
        if done.returncode != 0:
            raise RuntimeError(f"baseline run failed:\n{done.stderr[-3000:]}")
        results: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
        return results


def main(argv: list[str] | None = None) -> None:
    """Run the fleet benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[50, 100, 1000, 5000])
    parser.add_argument("--scenario", nargs="+", default=["burst", "churn"])
    parser.add_argument("--competing", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", metavar="REF")
    parser.add_argument(
        "--pcw",
        type=int,
        help=f"the concurrency cap (default: {DEFAULT_PCW}, or N when N is larger)",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--events", action="store_true", help="also run each fleet fed by notifications"
    )
    parser.add_argument(
        "--ideal",
        action="store_true",
        help="also run each fleet in the old, kind world: no latency, recorders up in exactly "
        "4 s, every notification on time, no concurrency cap",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.scenario = [50], ["burst"]
        args.events = True
    results = [
        run_one(n, scenario, args.competing, args.seed, events, args.pcw, ideal)
        for n in args.n
        for scenario in args.scenario
        for events in ((False, True) if args.events else (False,))
        for ideal in ((True, False) if args.ideal else (False,))
    ]
    if args.json:
        print(json.dumps(results))
        return
    print(table(results, "this library"))
    if args.baseline:
        print()
        print(table(_baseline(args.baseline, args), f"the library at {args.baseline}"))


if __name__ == "__main__":
    main()
