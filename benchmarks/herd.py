"""Herd: sessions that enter all at once, or are all cancelled at once, over real loopback HTTP.

The standalone emulator runs as a real subprocess (``python -m agora_recording emulator`` on
127.0.0.1 and a free port, real clock, its per-App-ID quota on, unlimited concurrent
recordings), one fresh process per run. One ``RecordingClient`` (its own httpx pool) drives every
session. Two scenarios:

- ``enter``: N sessions enter at one instant; once every one has started or failed, the started
  ones leave (a confirmed stop each);
- ``cancel``: N sessions enter at one instant; once every one has started or failed, the task
  group holding them is cancelled at once, so every stop is sent from a cancelled session.

Two set-ups: ``none``, the client's limiter off (``rate_limit=None``) against an emulator
allowing 10 requests/s, and ``limiter``, the default limiter (10 requests/s) against an emulator
allowing only 5/s, so 429s are answered all along.

Each run reports sessions started and failed (by error), recordings *left running* after every
session has exited (asked of the emulator's ``GET /_emulator/state``), those of them *unlisted*
(running but not in ``client.unconfirmed()``: a recording nobody knows about), the 429s the
emulator answered, the worst event-loop lag (a task that sleeps 50 ms and measures how late it
wakes) and the run's wall time.

    python -m benchmarks.herd                          # 700 cancelled, 1,000 entering, 3 runs
    python -m benchmarks.herd --setup none --scenario cancel --n 300 --runs 1
    python -m benchmarks.herd --quick                  # 30 sessions per run, one run: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import stamina
from agora_recording import AgoraError, Mode, RecordingClient, TransportError
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET
from agora_recording.testing import DEFAULT_APP_ID
from tests.redis_worker import stop_process

from .fleet import CONFIG

#: set-up name -> (the client's rate_limit, the emulator's requests per second)
SETUPS: dict[str, tuple[float | None, float]] = {"none": (None, 10.0), "limiter": (10.0, 5.0)}
#: scenario -> sessions per run by default
SIZES = {"cancel": 700, "enter": 1000}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def emulator(rate: float) -> Iterator[str]:
    """The standalone emulator in a child process allowing ``rate`` requests/s; yields its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agora_recording",
            "emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--rate-limit",
            str(rate),
            "--max-concurrent",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if " listening on " not in line:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.rsplit(" ", 1)[1]
    finally:
        stop_process(process)


async def _lag(worst: list[float]) -> None:
    """Sleep 50 ms at a time; keep the worst overshoot (how late the event loop woke us)."""
    while True:
        began = anyio.current_time()
        await anyio.sleep(0.05)
        worst[0] = max(worst[0], anyio.current_time() - began - 0.05)


def _kind(exc: AgoraError) -> str:
    """The error's class, and for a transport error its endpoint and cause (or "timeout")."""
    name = type(exc).__name__
    if isinstance(exc, TransportError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else "timeout"
        return f"{name} ({getattr(exc, 'endpoint', '?')}, {cause})"
    return name


async def _run(url: str, scenario: str, n: int, rate_limit: float | None) -> dict[str, Any]:
    started = 0
    failed: Counter[str] = Counter()
    pending = n
    settled = anyio.Event()
    leave = anyio.Event()
    worst = [0.0]
    began = time.perf_counter()
    client = RecordingClient(
        app_id=DEFAULT_APP_ID,
        customer_id=DEFAULT_CUSTOMER_ID,
        customer_secret=DEFAULT_CUSTOMER_SECRET,
        base_url=url,
        rate_limit=rate_limit,
    )

    def entered() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            settled.set()

    async def one(index: int) -> None:
        nonlocal started
        inside = False
        try:
            async with client.session(
                cname=f"herd{index}", uid="999", mode=Mode.MIX, config=CONFIG
            ):
                inside = True
                started += 1
                entered()
                await leave.wait()
        except AgoraError as exc:
            failed[_kind(exc)] += 1
            if not inside:
                entered()

    async with anyio.create_task_group() as outer:
        outer.start_soon(_lag, worst)
        async with anyio.create_task_group() as group:
            for index in range(n):
                group.start_soon(one, index)
            await settled.wait()
            entry = time.perf_counter() - began
            if scenario == "cancel":
                group.cancel_scope.cancel()
            else:
                leave.set()
        outer.cancel_scope.cancel()
    # Listed: by sid, or (a start whose answer never came) by the resource it was sent on.
    unconfirmed = client.unconfirmed()
    listed = {e.sid for e in unconfirmed} | {e.resource_id for e in unconfirmed if e.sid is None}
    try:
        await client.aclose()
    except AgoraError as exc:
        failed[f"at close: {type(exc).__name__}"] += 1
    async with httpx.AsyncClient(base_url=url) as control:
        state = (await control.get("/_emulator/state")).json()
        stats = (await control.get("/_emulator/stats")).json()
    running = [r for r in state["recordings"] if r["running"]]
    endpoints = stats["requests"].get(DEFAULT_APP_ID, {})
    return {
        "started": started,
        "failed": sum(failed.values()),
        "errors": dict(failed),
        "left_running": len(running),
        "unlisted": sum(1 for r in running if not {r["sid"], r["resourceId"]} & listed),
        "rate_limited": sum(e.get("rate_limited", 0) for e in endpoints.values()),
        "worst_lag": worst[0],
        "entry_seconds": entry,
        "seconds": time.perf_counter() - began,
    }


def run(setup: str, scenario: str, n: int) -> dict[str, Any]:
    """One run on a fresh emulator process; returns its figures."""
    rate_limit, emulator_rate = SETUPS[setup]
    with emulator(emulator_rate) as url:
        result = anyio.run(_run, url, scenario, n, rate_limit)
    return {"setup": setup, "scenario": scenario, "n": n, **result}


def row(result: dict[str, Any]) -> str:
    """One line of the results table."""
    errors = ", ".join(f"{name} {count}" for name, count in sorted(result["errors"].items()))
    return (
        f"| {result['setup']} | {result['scenario']} | {result['n']} | {result['started']} "
        f"| {result['failed']} | {result['left_running']} | {result['unlisted']} "
        f"| {result['rate_limited']} | {result['worst_lag']:.2f} | {result['seconds']:.0f} "
        f"| {errors or '-'} |"
    )


HEADER = (
    "| client limiter | scenario | sessions | started | failed | left running | unlisted "
    "| 429s | worst loop lag (s) | wall (s) | errors |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> None:
    """Run the herds and print a Markdown table (and, with ``--json``, the raw figures)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--setup", choices=[*SETUPS, "both"], default="both")
    parser.add_argument("--scenario", choices=[*SIZES, "both"], default="both")
    parser.add_argument("--n", type=int, help="sessions per run (default: 700 cancel, 1,000 enter)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="30 sessions, one run: a smoke run")
    parser.add_argument("--json", action="store_true", help="also print the raw figures")
    args = parser.parse_args(argv)
    stamina.instrumentation.set_on_retry_hooks([])  # a line per retry would flood the table
    setups = list(SETUPS) if args.setup == "both" else [args.setup]
    scenarios = list(SIZES) if args.scenario == "both" else [args.scenario]
    runs = 1 if args.quick else args.runs
    results = []
    print(HEADER, flush=True)
    for setup in setups:
        for scenario in scenarios:
            n = 30 if args.quick else args.n or SIZES[scenario]
            for _ in range(runs):
                result = run(setup, scenario, n)
                results.append(result)
                print(row(result), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    leaked = sum(r["left_running"] for r in results)
    if args.quick and leaked:
        raise SystemExit(f"{leaked} recordings left running")


if __name__ == "__main__":
    main()
