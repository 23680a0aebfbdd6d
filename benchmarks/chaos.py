"""Chaos: a worker fleet on one App ID, killed, stalled and refused, must leave nothing running.

``python -m benchmarks.chaos`` (``--quick`` for a one-minute version; ``--json`` for machines)
starts, as real processes on 127.0.0.1, the standalone emulator (``python -m agora_recording
emulator``, the service's 10 requests per second per App ID) and a throwaway ``redis-server``,
then three ``python -m tests.redis_worker`` processes sharing the App ID the way the fleet guide
sets them up: one `RedisRateLimiter` quota, a `LeaseStore` (lease TTL 30 s) holding each
recording, and a janitor in every worker. Each worker records 100 channels, their starts spread
over 10 minutes of real time, each recording lasting 20-60 s. Meanwhile:

- every 60 s a random worker is SIGKILLed and started again (under a new lease owner) with the
  channels it had not started yet;
- Redis is stalled once for 20 s (``CLIENT PAUSE ... ALL``: every command waits);
- every 45 s the emulator answers every ``stop`` with 503 for 5 s.

When the schedule is over, the workers finish their recordings, the janitors take what the
killed workers left, and the workers are shut down with SIGTERM. A sampler reads the emulator's
recordings and the store's leases every second meanwhile.

Figures: ``started`` (recordings the emulator started), ``left running`` (still running at the
end: must be 0), ``stopped twice`` (recordings stopped both by their worker and by a janitor,
or by two janitors), ``unleased`` (recordings seen running for more than 5 s with no lease in
Redis, with the longest such time), ``429s`` (requests the emulator refused for the quota),
plus the kills, the recordings adopted and the failed sessions. Nothing is asserted: the tests
assert, this measures.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final

import attrs
import httpx
from tests.redis_worker import (
    APP_ID,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    REDIS_SERVER,
    REQUIRES_REDIS,
    Fleet,
    free_port,
    redis_server,
    repo_root,
    stop_process,
    workers,
)

WORKERS: Final = 3
UNLEASED_GRACE: Final = 5.0  # seconds a recording may run before its lease must be in Redis


@attrs.frozen(kw_only=True)
class Plan:
    """The schedule of one run (times in seconds from the start)."""

    per_worker: int = 100
    span: float = 600.0
    duration: tuple[float, float] = (20.0, 60.0)
    kill_every: float = 60.0
    stall_at: float = 300.0
    stall_for: float = 20.0
    burst_every: float = 45.0
    burst_for: float = 5.0
    ttl: float = 30.0
    seed: int = 2026


QUICK: Final = Plan(
    per_worker=10,
    span=60.0,
    duration=(5.0, 15.0),
    kill_every=20.0,
    stall_at=30.0,
    stall_for=5.0,
    burst_every=15.0,
    burst_for=3.0,
    ttl=6.0,
)


@contextmanager
def emulator_process() -> Iterator[str]:
    """The standalone emulator as a subprocess on 127.0.0.1; yields its base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "agora_recording",
        "emulator",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--customer-id={CUSTOMER_ID}",
        f"--customer-secret={CUSTOMER_SECRET}",
        "--max-concurrent=0",
        "--startup-delay=1",
    ]
    process = subprocess.Popen(
        command, cwd=repo_root(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # readiness: ask until the server answers
            try:
                httpx.get(f"{url}/_emulator/state", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process)


class Sampler:
    """Every second: which recordings run in the emulator, which sids are leased in Redis."""

    def __init__(self, emulator: httpx.Client, redis_client: Any) -> None:
        self._emulator = emulator
        self._redis = redis_client
        self.started_at: dict[str, float] = {}
        self.leased: set[str] = set()
        self.unleased_for: dict[str, float] = {}

    def sample(self) -> None:
        running = {
            r["sid"]: r["startedAt"] / 1000
            for r in self._emulator.get("/_emulator/state").json()["recordings"]
            if r["running"]
        }
        try:
            leased = {sid.decode() for sid in self._redis.hkeys(f"fleet:{APP_ID}:handles")}
        except Exception:  # stalled on purpose: no judgement this second
            return
        now = time.time()
        self.leased |= leased
        for sid, began in running.items():
            self.started_at.setdefault(sid, began)
            if sid not in self.leased and now - began > UNLEASED_GRACE:
                self.unleased_for[sid] = now - began

    def running(self) -> int:
        return sum(
            1 for r in self._emulator.get("/_emulator/state").json()["recordings"] if r["running"]
        )


def _pump(fleet: Fleet, seconds: float) -> None:
    """Gather the workers' events for ``seconds``."""
    with suppress(TimeoutError):
        fleet.until(lambda seen: False, timeout=seconds)


def _spawn(
    fleet: Fleet,
    redis_url: str,
    emulator: str,
    worker: str,
    owner: str,
    cnames: list[str],
    *,
    plan: Plan,
    spread: float,
) -> subprocess.Popen[str]:
    shortest, longest = plan.duration
    return fleet.spawn(
        "--redis",
        redis_url,
        "--emulator",
        emulator,
        "--worker",
        worker,
        f"--worker-id={owner}",
        "--cnames",
        ",".join(cnames),
        "--janitor",
        f"--ttl={plan.ttl}",
        f"--janitor-interval={plan.ttl / 4}",
        f"--duration={shortest}",
        f"--duration-max={longest}",
        f"--spread={max(spread, 1.0)}",
        "--first-poll=5",
        "--poll-interval=15",
    )


def run(plan: Plan) -> dict[str, Any]:
    """Run the chaos schedule of ``plan``; return the figures."""
    import redis

    rng = random.Random(plan.seed)
    channels = {f"w{n}": [f"chaos{n}-{k}" for k in range(plan.per_worker)] for n in range(WORKERS)}
    with (
        redis_server() as redis_url,
        emulator_process() as emulator,
        httpx.Client(base_url=emulator, timeout=10) as control,
        workers() as fleet,
    ):
        for cnames in channels.values():
            for cname in cnames:
                control.post("/_emulator/channels/publish", json={"cname": cname, "uid": 1})
        watcher = redis.Redis.from_url(redis_url, socket_timeout=0.5)
        admin = redis.Redis.from_url(redis_url)
        sampler = Sampler(control, watcher)
        incarnation = dict.fromkeys(channels, 0)
        processes = {
            worker: _spawn(
                fleet,
                redis_url,
                emulator,
                worker,
                f"{worker}.0",
                cnames,
                plan=plan,
                spread=plan.span,
            )
            for worker, cnames in channels.items()
        }
        began = time.monotonic()
        next_kill, next_burst, stalled = plan.kill_every, plan.burst_every, False
        kills = 0
        while (now := time.monotonic() - began) < plan.span:
            if now >= next_kill:
                next_kill += plan.kill_every
                victim = rng.choice(sorted(processes))
                processes[victim].send_signal(signal.SIGKILL)
                processes[victim].wait(timeout=10)
                kills += 1
                _pump(fleet, 0.2)
                tried = {e["cname"] for e in fleet.of("started", victim)}
                tried |= {e["cname"] for e in fleet.of("failed", victim)}
                left = [c for c in channels[victim] if c not in tried]
                incarnation[victim] += 1
                processes[victim] = _spawn(
                    fleet,
                    redis_url,
                    emulator,
                    victim,
                    f"{victim}.{incarnation[victim]}",
                    left,
                    plan=plan,
                    spread=plan.span - now,
                )
            if now >= next_burst:
                next_burst += plan.burst_every
                control.post(
                    "/_emulator/faults/fail-for",
                    json={"seconds": plan.burst_for, "endpoint": "stop", "status": 503},
                )
            if not stalled and now >= plan.stall_at:
                stalled = True
                admin.client_pause(int(plan.stall_for * 1000), all=True)
            sampler.sample()
            _pump(fleet, 1.0)
        # The schedule is over: let the recordings end and the janitors take the orphans.
        longest = plan.duration[1]
        deadline = time.monotonic() + longest + 4 * plan.ttl + 120
        while time.monotonic() < deadline:
            sampler.sample()
            done = {e["worker"] for e in fleet.of("done")}
            leases = watcher.hlen(f"fleet:{APP_ID}:handles")
            if done >= set(channels) and not leases and not sampler.running():
                break
            _pump(fleet, 1.0)
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        fleet.drain()
        stats = control.get("/_emulator/stats").json()
        state = control.get("/_emulator/state").json()
        watcher.close()
        admin.close()
    endpoints = stats["requests"].get(APP_ID, {})
    started = int(endpoints.get("start", {}).get("statuses", {}).get("200", 0))
    refused = sum(int(e.get("rate_limited", 0)) for e in endpoints.values())
    stops: dict[str, int] = {}
    for event in fleet.of("stopped"):
        if event.get("confirmed"):
            stops[event["sid"]] = stops.get(event["sid"], 0) + 1
    for event in fleet.of("adopted"):
        stops[event["sid"]] = stops.get(event["sid"], 0) + 1
    failures: dict[str, int] = {}
    for event in fleet.of("failed"):
        kind = str(event.get("error", "")).split("(", 1)[0]
        failures[kind] = failures.get(kind, 0) + 1
    return {
        "workers": WORKERS,
        "recordings_asked": WORKERS * plan.per_worker,
        "span_s": plan.span,
        "started": started,
        "left_running": sum(1 for r in state["recordings"] if r["running"]),
        "stopped_twice": sum(1 for n in stops.values() if n > 1),
        "unleased": len(sampler.unleased_for),
        "unleased_longest_s": max(sampler.unleased_for.values(), default=0.0),
        "rate_limited_429": refused,
        "kills": kills,
        "adopted": len({e["sid"] for e in fleet.of("adopted")}),
        "failed_sessions": len(fleet.of("failed")),
        "failures": failures,
        "stopped_twice_by": _twice_by(fleet),
    }


def _twice_by(fleet: Fleet) -> dict[str, int]:
    """Who stopped the recordings stopped twice: their worker and a janitor, or two janitors."""
    confirmed = {e["sid"] for e in fleet.of("stopped") if e.get("confirmed")}
    adoptions: dict[str, int] = {}
    for event in fleet.of("adopted"):
        adoptions[event["sid"]] = adoptions.get(event["sid"], 0) + 1
    return {
        "worker_and_janitor": sum(1 for sid in adoptions if sid in confirmed),
        "two_janitors": sum(1 for n in adoptions.values() if n > 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the schedule (``--quick``: one minute) and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos")
    parser.add_argument("--quick", action="store_true", help="a one-minute version")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if REDIS_SERVER is None:
        sys.exit(REQUIRES_REDIS)
    plan = QUICK if options.quick else Plan()
    figures = run(plan)
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"{figures['workers']} workers, one App ID, {figures['recordings_asked']} recordings over "
        f"{figures['span_s']:g} s; {figures['kills']} SIGKILLs, Redis stalled {plan.stall_for:g} s"
    )
    print(
        "| started | left running | stopped twice | unleased (longest) | 429s | adopted | failed |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {figures['started']} | {figures['left_running']} | {figures['stopped_twice']} "
        f"| {figures['unleased']} ({figures['unleased_longest_s']:.0f} s) "
        f"| {figures['rate_limited_429']} | {figures['adopted']} | {figures['failed_sessions']} |"
    )


if __name__ == "__main__":
    main()
