"""A real redis-server for tests, and a recording worker process for the fleet tests.

``redis_server()`` starts Debian's ``redis-server`` on 127.0.0.1 and a free port in a
temporary directory (no persistence) and stops it on exit. ``python -m tests.redis_worker``
is one worker of a fleet: it records its channels against an emulator URL, shares the quota
through Redis (``--limiter shared``) or keeps its own (``--limiter local``; ``naive``: one
that ignores 429s), holds a lease on
each recording and, with ``--janitor``, adopts (and stops) recordings whose lease expired. It
prints one JSON object per line on stdout: ``ready``, ``started``, ``adopted``, ``stopped``,
``done``. Without ``--exit-when-done`` it runs until SIGTERM (or SIGINT). With ``--otel`` it
configures the OpenTelemetry SDK (global providers, an in-memory metric reader) and prints a
``metrics`` line with its totals on each SIGUSR1.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio
from agora_recording import PollingOptions

if TYPE_CHECKING:
    from agora_recording.testing import ServedEmulator

REDIS_SERVER = shutil.which("redis-server")
REQUIRES_REDIS = "redis-server is not on PATH (Debian: apt-get install redis-server)"
CUSTOMER_ID = "fleet-customer-id"
CUSTOMER_SECRET = "fleet-customer-secret"
APP_ID = "fleet-app-id"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate a child process and reap it, killing it if it lingers past 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def redis_server(*, port: int | None = None, startup_timeout: float = 10.0) -> Iterator[str]:
    """Run a throwaway ``redis-server`` for the block; yield its ``redis://`` URL."""
    if REDIS_SERVER is None:
        raise RuntimeError(REQUIRES_REDIS)
    with tempfile.TemporaryDirectory(prefix="agora-redis-") as workdir:
        port = free_port() if port is None else port
        process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                workdir,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:  # readiness, not timing: connect until the server accepts
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop_process(process)


def worker_command(*args: str) -> list[str]:
    """The command line of one worker process (run from the repository root)."""
    return [sys.executable, "-m", "tests.redis_worker", *args]


def worker_args(url: str, served: ServedEmulator, worker: str, cnames: Sequence[str]) -> list[str]:
    """The arguments every worker takes: Redis, the emulator, its name and its channels."""
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


def repo_root() -> str:
    """The repository root (the working directory for worker processes)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------------------------------
# A fleet of worker processes

Event = dict[str, Any]


class Fleet:
    """Worker processes whose JSON event lines are gathered on one queue."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self.readers: list[threading.Thread] = []

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start one worker with these options."""
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
                raise TimeoutError(f"timed out; events so far: {self.seen}")
            try:
                self.seen.append(self.events.get(timeout=min(left, 0.5)))
            except queue.Empty:
                continue

    def drain(self) -> None:
        """Take in every line already read (after the processes exited)."""
        while not self.events.empty():
            self.seen.append(self.events.get())

    def of(self, kind: str, worker: str | None = None) -> list[Event]:
        return [e for e in self.seen if e["event"] == kind and worker in (None, e.get("worker"))]

    def close(self) -> None:
        """Kill what still runs and wait for every process and reader."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        for reader, process in zip(self.readers, self.processes, strict=True):
            reader.join(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


@contextmanager
def workers() -> Iterator[Fleet]:
    """A `Fleet` whose processes are killed (if still running) on exit."""
    fleet = Fleet()
    try:
        yield fleet
    finally:
        fleet.close()


@contextmanager
def world(cnames: Sequence[str]) -> Iterator[tuple[str, ServedEmulator]]:
    """A redis-server and the standalone emulator (10 requests/s) with a publisher per cname."""
    from agora_recording.emulator import SystemClock
    from agora_recording.testing import serve

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


# ------------------------------------------------------------------------------------------
# The worker process


def _otel_reader() -> Any:
    """Configure the OpenTelemetry SDK as an application would; return its metric reader."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    trace.set_tracer_provider(TracerProvider())
    return reader


def otel_totals(reader: Any) -> dict[str, float]:
    """What the in-memory reader holds: requests, 429s, running recordings, lost leases."""
    totals = {"requests": 0.0, "rate_limited": 0.0, "running": 0.0, "leases_lost": 0.0}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    if metric.name == "http.client.request.duration":
                        totals["requests"] += point.count
                    elif metric.name == "agora.recording.rate_limited":
                        totals["rate_limited"] += point.value
                    elif metric.name == "agora.recording.recordings":
                        running = attributes.get("agora.recording.state") == "running"
                        totals["running"] += point.value if running else 0
                    elif metric.name == "agora.recording.lease.renewals":
                        lost = attributes.get("agora.recording.result") == "lost"
                        totals["leases_lost"] += point.value if lost else 0
    return totals


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "at": time.time(), **fields}), flush=True)


def _start_config() -> Any:
    from agora_recording.models import RecordingConfig, StartConfig, StorageConfig

    return StartConfig(
        storage_config=StorageConfig(
            vendor=1,
            region=0,
            bucket="fleet-bucket",
            access_key="fleet-access-key",
            secret_key="fleet-secret-key",
        ),
        recording_config=RecordingConfig(channel_type=0, max_idle_time=300),
    )


class _Deaf:
    """A per-process limiter that ignores 429s (a client that never slows down)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.stats = inner.stats

    @property
    def rate(self) -> float:
        return float(self._inner.rate)

    async def acquire(self, priority: Any = None) -> float:
        return float(await self._inner.acquire(*([] if priority is None else [priority])))

    def penalize(self, retry_after: float | None) -> None:
        self.stats["penalties"] += 1

    def waiting(self, priority: Any = None) -> int:
        return int(self._inner.waiting(priority))


async def _main(options: argparse.Namespace) -> None:
    import redis.asyncio
    from agora_recording import AgoraError, RateLimiter, RecordingClient
    from agora_recording.enums import Mode
    from agora_recording.redis import Lease, LeaseStore, RedisRateLimiter

    reader = _otel_reader() if options.otel else None
    redis_client = redis.asyncio.Redis.from_url(options.redis)
    limiter: RateLimiter | RedisRateLimiter | _Deaf
    if options.limiter == "shared":
        limiter = RedisRateLimiter(redis_client, key=f"quota:{APP_ID}", rate=options.rate)
    elif options.limiter == "local":
        limiter = RateLimiter(options.rate)
    else:
        limiter = _Deaf(RateLimiter(options.rate))
    store = LeaseStore(
        redis_client,
        namespace=f"fleet:{APP_ID}",
        worker_id=options.worker_id or options.worker,
        ttl=options.ttl,
    )
    cnames = [c for c in options.cnames.split(",") if c]
    client = RecordingClient(
        app_id=APP_ID,
        customer_id=CUSTOMER_ID,
        customer_secret=CUSTOMER_SECRET,
        base_url=options.emulator,
        rate_limit=limiter,
    )

    durations = random.Random(options.worker_id or options.worker)

    async def record(cname: str, delay: float, duration: float) -> None:
        await anyio.sleep(delay)
        session = client.session(
            cname=cname,
            uid="999",
            mode=Mode.MIX,
            config=_start_config(),
            poll_interval=options.poll_interval,
            polling=PollingOptions(first_poll_delay=options.first_poll, poll_jitter=0),
        )
        sid = None
        try:
            async with store.record(session) as running:
                assert running.handle is not None
                sid = running.handle.sid
                _emit("started", worker=options.worker, sid=sid, cname=cname)
                await anyio.sleep(duration)
        except AgoraError as exc:
            _emit("failed", worker=options.worker, sid=sid, cname=cname, error=repr(exc))
            return
        finally:
            if sid is not None:
                confirmed = session.stop_outcome is not None and session.stop_error is None
                _emit("stopped", worker=options.worker, sid=sid, cname=cname, confirmed=confirmed)

    def adopted(lease: Lease) -> None:
        _emit("adopted", worker=options.worker, sid=lease.handle.sid, cname=lease.handle.cname)

    async def until_signalled(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGUSR1) as signals:
            async for signum in signals:
                if signum == signal.SIGUSR1:
                    if reader is not None:
                        _emit("metrics", worker=options.worker, **otel_totals(reader))
                    continue
                scope.cancel()
                return

    async with client, anyio.create_task_group() as group:
        group.start_soon(until_signalled, group.cancel_scope)
        if options.janitor:
            group.start_soon(
                lambda: store.janitor(client, interval=options.janitor_interval, on_adopted=adopted)
            )
        _emit("ready", worker=options.worker)
        async with anyio.create_task_group() as recordings:
            for n, cname in enumerate(cnames):
                longest = max(options.duration, options.duration_max or options.duration)
                duration = durations.uniform(options.duration, longest)
                recordings.start_soon(record, cname, n * options.spread / len(cnames), duration)
        _emit("done", worker=options.worker, limiter=dict(getattr(limiter, "stats", {})))
        if options.exit_when_done:
            group.cancel_scope.cancel()
    await redis_client.aclose()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run one worker until it is done or told to stop."""
    parser = argparse.ArgumentParser(prog="python -m tests.redis_worker")
    parser.add_argument("--redis", required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--cnames", default="")
    parser.add_argument("--limiter", choices=("shared", "local", "naive"), default="shared")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--worker-id", default="", help="the lease owner (default: --worker)")
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--duration-max", type=float, default=0.0, help="random up to this")
    parser.add_argument("--spread", type=float, default=0.0, help="start over these seconds")
    parser.add_argument("--first-poll", type=float, default=1.0)
    parser.add_argument("--poll-interval", type=float, default=15.0)
    parser.add_argument("--ttl", type=float, default=3.0)
    parser.add_argument("--janitor", action="store_true")
    parser.add_argument("--janitor-interval", type=float, default=0.5)
    parser.add_argument("--exit-when-done", action="store_true")
    parser.add_argument("--otel", action="store_true")
    anyio.run(_main, parser.parse_args(argv), backend="asyncio")


if __name__ == "__main__":
    main()
