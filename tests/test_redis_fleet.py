"""Three real worker processes, a real redis-server and the standalone emulator over HTTP.

The emulator runs on the system clock with the service's 10 requests per second per App ID;
the workers are ``python -m tests.redis_worker`` processes (see that module). These tests take
real time (about 15 s each): the quota and the leases are real-time mechanisms.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from agora_recording.emulator import SystemClock
from agora_recording.testing import ServedEmulator, serve

from tests.redis_worker import (
    APP_ID,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    REDIS_SERVER,
    REQUIRES_REDIS,
    redis_server,
    repo_root,
    worker_command,
)

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS),
    pytest.mark.timeout(120),
]
redis = pytest.importorskip("redis", reason="the redis package is not installed")

Event = dict[str, Any]


class Fleet:
    """Worker processes whose JSON event lines are gathered on one queue."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self.readers: list[threading.Thread] = []

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            worker_command(*args), cwd=repo_root(), stdout=subprocess.PIPE, text=True
        )
        reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        reader.start()
        self.processes.append(process)
        self.readers.append(reader)
        return process

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def until(self, done: Any, timeout: float) -> None:
        """Gather events until ``done(seen)`` holds (fail after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"timed out; events so far: {self.seen}")
            try:
                self.seen.append(self.events.get(timeout=min(left, 0.5)))
            except queue.Empty:
                continue

    def of(self, kind: str, worker: str | None = None) -> list[Event]:
        return [e for e in self.seen if e["event"] == kind and worker in (None, e.get("worker"))]

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        for reader, process in zip(self.readers, self.processes, strict=True):
            reader.join(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


@contextmanager
def _fleet() -> Iterator[Fleet]:
    fleet = Fleet()
    try:
        yield fleet
    finally:
        fleet.close()


@contextmanager
def _world(cnames: Sequence[str]) -> Iterator[tuple[str, ServedEmulator]]:
    with (
        redis_server() as url,
        serve(
            clock=SystemClock(),
            rate_limit=10.0,
            customer_id=CUSTOMER_ID,
            customer_secret=CUSTOMER_SECRET,
            max_concurrent_recordings=None,
            startup_delay=1.0,
        ) as served,
    ):
        for cname in cnames:
            served.emulator.channel(cname).publish(1)
        yield url, served


def _args(url: str, served: ServedEmulator, worker: str, cnames: Sequence[str]) -> list[str]:
    return [
        "--redis",
        url,
        "--emulator",
        served.url,
        "--worker",
        worker,
        "--cnames",
        ",".join(cnames),
    ]


def test_three_workers_sharing_the_quota_stay_under_it() -> None:
    """Three processes on one App ID record 30 recordings with under 1% of requests refused."""
    per_worker = {f"w{n}": [f"q{n}-{k}" for k in range(10)] for n in range(3)}
    every = [c for cs in per_worker.values() for c in cs]
    with _world(every) as (url, served), _fleet() as fleet:
        for worker, cnames in per_worker.items():
            fleet.spawn(
                *_args(url, served, worker, cnames),
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
    with _world(every) as (url, served), _fleet() as fleet:
        processes = {
            worker: fleet.spawn(
                *_args(url, served, worker, cnames),
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
        while not fleet.events.empty():  # the workers have exited: every line is in
            fleet.seen.append(fleet.events.get())

        assert sorted(e["sid"] for e in fleet.of("adopted")) == sorted(orphans)
        assert served.emulator.running_recordings() == []
        assert served.emulator.stats.requests(endpoint="stop") == 12
        with redis.Redis.from_url(url) as check:
            assert check.hlen(f"fleet:{APP_ID}:handles") == 0
