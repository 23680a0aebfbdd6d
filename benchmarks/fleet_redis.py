"""Fleet: three worker processes on one App ID, with and without the quota shared in Redis.

``python -m benchmarks.fleet_redis`` (``--recordings N``, default 300; ``--quick`` for 30)
starts a throwaway ``redis-server`` (Debian's package must be installed) and the standalone
emulator with the service's quota of 10 requests per second per App ID, then runs the same
load three times, side by side in one run: three ``python -m tests.redis_worker`` processes
record N recordings between them (N / 3 each, all asked for at once; each records 2 s, is
polled once, then stopped), with

- ``shared``: `agora_recording.redis.RedisRateLimiter`, one quota in Redis for the fleet;
- ``independent``: the default in-process `RateLimiter` in each process (10 requests/s each,
  slowing down on the 429s it gets, as `RecordingClient` does);
- ``independent, deaf to 429``: per-process limiters that ignore 429s, the behaviour of
  clients that assume they own the App ID's quota.

Figures per variant: requests the emulator received, the share it refused with 429, wall
time, recordings started, and recordings left running (must be 0). Then a kill run: three
workers with leases (TTL 3 s) and janitors hold 10 recordings each; one is SIGKILLed; the
figures are how long after the kill the survivors adopted its recordings and how many times
each was adopted (must be 1). Nothing here is asserted: the tests assert; this measures.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any, Final

from tests.redis_worker import REDIS_SERVER, REQUIRES_REDIS, worker_args, workers, world

VARIANTS: Final = {
    "shared": "shared",
    "independent": "local",
    "independent, deaf to 429": "naive",
}
WORKERS: Final = 3
TTL: Final = 3.0


def _split(prefix: str, recordings: int) -> dict[str, list[str]]:
    return {
        f"w{n}": [f"{prefix}{n}-{k}" for k in range(n, recordings, WORKERS)] for n in range(WORKERS)
    }


def run_variant(name: str, recordings: int) -> dict[str, Any]:
    """Record ``recordings`` with three workers using the limiter of variant ``name``."""
    per_worker = _split("b", recordings)
    every = [c for cs in per_worker.values() for c in cs]
    with world(every) as (url, served), workers() as fleet:
        began = time.monotonic()
        for worker, cnames in per_worker.items():
            fleet.spawn(
                *worker_args(url, served, worker, cnames),
                f"--limiter={VARIANTS[name]}",
                "--duration=2",
                "--first-poll=1",
                "--exit-when-done",
            )
        fleet.until(lambda seen: len(fleet.of("done")) == WORKERS, timeout=60 + 3 * recordings)
        wall = time.monotonic() - began
        stats = served.emulator.stats
        requests, refused = stats.requests(), stats.rate_limited()
        return {
            "variant": name,
            "recordings": recordings,
            "requests": requests,
            "refused": refused,
            "refused_share": refused / requests if requests else 0.0,
            "wall_s": wall,
            "started": stats.requests(endpoint="start") - stats.rate_limited(endpoint="start"),
            "failed": len(fleet.of("failed")),
            "left_running": len(served.emulator.running_recordings()),
        }


def run_kill(per_worker_count: int = 10) -> dict[str, Any]:
    """SIGKILL one of three leased workers; measure adoption delay and adoption counts."""
    per_worker = _split("k", per_worker_count * WORKERS)
    every = [c for cs in per_worker.values() for c in cs]
    with world(every) as (url, served), workers() as fleet:
        processes = {
            worker: fleet.spawn(
                *worker_args(url, served, worker, cnames),
                "--janitor",
                f"--ttl={TTL}",
                "--janitor-interval=0.5",
                "--duration=600",
            )
            for worker, cnames in per_worker.items()
        }
        fleet.until(lambda seen: len(fleet.of("started")) == len(every), timeout=120)
        orphans = {e["sid"] for e in fleet.of("started", "w0")}
        processes["w0"].send_signal(signal.SIGKILL)
        killed_at = time.time()
        processes["w0"].wait(timeout=10)
        fleet.until(lambda seen: {e["sid"] for e in fleet.of("adopted")} >= orphans, timeout=60)
        delays = sorted(e["at"] - killed_at for e in fleet.of("adopted"))
        deadline = time.monotonic() + 60
        while {r.sid for r in served.emulator.running_recordings()} & orphans:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        stopped_after = time.time() - killed_at
        still = len({r.sid for r in served.emulator.running_recordings()} & orphans)
        for worker in ("w1", "w2"):
            processes[worker].send_signal(signal.SIGTERM)
        for worker in ("w1", "w2"):
            processes[worker].wait(timeout=60)
        fleet.drain()
        counts = [sum(1 for e in fleet.of("adopted") if e["sid"] == sid) for sid in orphans]
        return {
            "ttl_s": TTL,
            "orphans": len(orphans),
            "adopted_first_s": delays[0],
            "adopted_last_s": delays[-1],
            "all_stopped_after_s": stopped_after,
            "orphans_left_running": still,
            "adoptions_per_orphan": sorted(set(counts)),
            "left_running_after_shutdown": len(served.emulator.running_recordings()),
        }


def main(argv: list[str] | None = None) -> None:
    """Run the variants and the kill run; print a table (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet_redis")
    parser.add_argument("--recordings", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="30 recordings")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if REDIS_SERVER is None:
        sys.exit(REQUIRES_REDIS)
    recordings = 30 if options.quick else options.recordings
    rows = [run_variant(name, recordings) for name in VARIANTS]
    kill = run_kill()
    if options.json:
        print(json.dumps({"variants": rows, "kill": kill}, indent=2))
        return
    print(f"{WORKERS} workers, one App ID, emulator quota 10 requests/s, {recordings} recordings")
    print("| variant | requests | refused (429) | wall s | started | failed | left running |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['requests']} | {r['refused']} ({r['refused_share']:.1%}) "
            f"| {r['wall_s']:.1f} | {r['started']} | {r['failed']} | {r['left_running']} |"
        )
    print(
        f"SIGKILL of 1 of {WORKERS} workers holding {kill['orphans']} recordings (lease TTL "
        f"{kill['ttl_s']:g} s): adopted {kill['adopted_first_s']:.2f}-"
        f"{kill['adopted_last_s']:.2f} s after the kill, all stopped after "
        f"{kill['all_stopped_after_s']:.2f} s, adoptions per recording "
        f"{kill['adoptions_per_orphan']}, left running {kill['left_running_after_shutdown']}"
    )


if __name__ == "__main__":
    main()
