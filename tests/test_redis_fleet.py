"""Three real worker processes, a real redis-server and the standalone emulator over HTTP.

The emulator runs on the system clock with the service's 10 requests per second per App ID;
the workers are ``python -m tests.redis_worker`` processes (see that module). These tests take
real time (about 15 s each): the quota and the leases are real-time mechanisms.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.redis_worker import APP_ID, REDIS_SERVER, REQUIRES_REDIS, worker_args, workers, world

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS),
    pytest.mark.timeout(120),
    pytest.mark.slow,
]
redis = pytest.importorskip("redis", reason="the redis package is not installed")


def test_three_workers_sharing_the_quota_stay_under_it() -> None:
    """Three processes on one App ID record 30 recordings with under 1% of requests refused."""
    per_worker = {f"w{n}": [f"q{n}-{k}" for k in range(10)] for n in range(3)}
    every = [c for cs in per_worker.values() for c in cs]
    with world(every) as (url, served), workers() as fleet:
        for worker, cnames in per_worker.items():
            fleet.spawn(
                *worker_args(url, served, worker, cnames),
                "--limiter=shared",
                "--duration=2",
                "--first-poll=1",
                "--exit-when-done",
            )
        fleet.until(lambda seen: len(fleet.of("done")) == 3, timeout=90)
        stats = served.emulator.stats
        assert len(fleet.of("stopped")) == 30
        assert fleet.of("failed") == []
        assert stats.requests(endpoint="start") == 30
        assert stats.rate_limited() < 0.01 * stats.requests()
        assert served.emulator.running_recordings() == []


def test_a_killed_workers_recordings_are_adopted_and_stopped_once() -> None:
    """SIGKILL one of three workers: survivors adopt each of its recordings once and stop it."""
    ttl = 3.0
    per_worker = {f"w{n}": [f"k{n}-{k}" for k in range(4)] for n in range(3)}
    every = [c for cs in per_worker.values() for c in cs]
    with world(every) as (url, served), workers() as fleet:
        processes = {
            worker: fleet.spawn(
                *worker_args(url, served, worker, cnames),
                "--janitor",
                f"--ttl={ttl}",
                "--janitor-interval=0.5",
                "--duration=600",
            )
            for worker, cnames in per_worker.items()
        }
        fleet.until(lambda seen: len(fleet.of("started")) == 12, timeout=60)
        orphans = {e["sid"] for e in fleet.of("started", "w0")}
        assert len(orphans) == 4

        processes["w0"].send_signal(signal.SIGKILL)
        killed_at = time.time()
        processes["w0"].wait(timeout=10)
        assert {r.sid for r in served.emulator.running_recordings()} >= orphans

        fleet.until(lambda seen: {e["sid"] for e in fleet.of("adopted")} >= orphans, timeout=30)
        adopted = fleet.of("adopted")
        assert all(e["worker"] in ("w1", "w2") for e in adopted)
        assert max(e["at"] for e in adopted) - killed_at <= ttl + 1.5

        deadline = time.monotonic() + 30
        while {r.sid for r in served.emulator.running_recordings()} & orphans:
            assert time.monotonic() < deadline, "an adopted recording was never stopped"
            time.sleep(0.1)

        for worker in ("w1", "w2"):
            processes[worker].send_signal(signal.SIGTERM)
        for worker in ("w1", "w2"):
            assert processes[worker].wait(timeout=60) == 0
        fleet.until(lambda seen: len(fleet.of("stopped")) == 8, timeout=10)
        fleet.drain()  # the workers have exited: every line is in

        assert sorted(e["sid"] for e in fleet.of("adopted")) == sorted(orphans)
        assert served.emulator.running_recordings() == []
        assert served.emulator.stats.requests(endpoint="stop") == 12
        with redis.Redis.from_url(url) as check:
            assert check.hlen(f"fleet:{APP_ID}:handles") == 0
