"""A worker fleet as operators see it: OpenTelemetry metrics and ``agora-recording fleet``.

Three real worker processes (``python -m tests.redis_worker --otel``: the OpenTelemetry SDK
configured with an in-memory metric reader), a real redis-server and the standalone emulator
over HTTP on the system clock, as in ``test_redis_fleet``. Real time: about 15 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.redis_worker import (
    APP_ID,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    REDIS_SERVER,
    REQUIRES_REDIS,
    Fleet,
    repo_root,
    worker_args,
    workers,
    world,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS),
    pytest.mark.timeout(120),
]
pytest.importorskip("redis", reason="the redis package is not installed")
pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is not installed")

NAMESPACE = f"fleet:{APP_ID}"
TOTALS = ("requests", "rate_limited", "running", "leases_lost")


def fleet_cli(url: str, base_url: str, *args: str) -> Any:
    """Run ``agora-recording fleet ... --json`` against the fleet's Redis; its JSON output."""
    env = {
        **os.environ,
        "AGORA_APP_ID": APP_ID,
        "AGORA_CUSTOMER_ID": CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": CUSTOMER_SECRET,
        "AGORA_BASE_URL": base_url,
        "AGORA_REDIS_URL": url,
        "AGORA_FLEET_NAMESPACE": NAMESPACE,
    }
    done = subprocess.run(
        [sys.executable, "-m", "agora_recording", "fleet", *args, "--json"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def metrics(fleet: Fleet, processes: dict[str, subprocess.Popen[str]]) -> dict[str, float]:
    """Ask every worker for its OpenTelemetry totals (SIGUSR1); the fleet's sums."""
    asked = len(fleet.of("metrics"))
    for process in processes.values():
        process.send_signal(signal.SIGUSR1)
    fleet.until(lambda seen: len(fleet.of("metrics")) >= asked + len(processes), timeout=10)
    latest = {event["worker"]: event for event in fleet.of("metrics")}
    return {key: sum(event[key] for event in latest.values()) for key in TOTALS}


def test_otel_metrics_and_fleet_ls_match_the_emulator_and_fleet_stop_stops_one() -> None:
    """Three workers: their metrics sum to the emulator's counts, ``fleet ls`` lists exactly
    the running recordings, and ``fleet stop`` stops one, which its owner sees."""
    per_worker = {f"w{n}": [f"o{n}-{k}" for k in range(3)] for n in range(3)}
    every = [c for cs in per_worker.values() for c in cs]
    with world(every) as (url, served), workers() as fleet:
        # Another user of the App ID takes 7 of its 10 requests per second: the workers' first
        # burst meets 429s, which their metrics must count as the service does.
        served.emulator.add_competing_load(APP_ID, 7.0)
        processes = {
            worker: fleet.spawn(
                *worker_args(url, served, worker, cnames),
                "--otel",
                "--limiter=local",
                "--ttl=3",
                "--duration=600",
            )
            for worker, cnames in per_worker.items()
        }
        fleet.until(lambda seen: len(fleet.of("started")) == 9, timeout=60)
        emulator = served.emulator

        # The fleet's own metrics count what the service saw (a request in flight can make
        # them differ for a moment: ask again until they agree).
        deadline = time.monotonic() + 30
        while True:
            totals = metrics(fleet, processes)
            service = {
                "requests": emulator.stats.requests(),
                "rate_limited": emulator.stats.rate_limited(),
                "running": len(emulator.running_recordings()),
            }
            if all(totals[key] == value for key, value in service.items()):
                break
            assert time.monotonic() < deadline, (totals, service)
        assert totals["running"] == 9
        assert totals["rate_limited"] > 0

        listed = fleet_cli(url, served.url, "ls")
        running = {r.sid: r for r in emulator.running_recordings()}
        assert {row["sid"] for row in listed} == set(running)
        for row in listed:
            assert row["cname"] == running[row["sid"]].cname
            assert row["state"] == "leased"
            assert row["age"] is not None
            assert row["since_renewal"] <= 3
        started = {e["sid"]: e["worker"] for e in fleet.of("started")}
        assert {row["sid"]: row["owner"] for row in listed} == started
        assert set(started.values()) == {"w0", "w1", "w2"}

        # The 429s are counted: the competing load goes, so `fleet stop` is not held behind a
        # Retry-After while the owner, seeing its lease taken, sends a stop of its own.
        emulator.clear_competing_load()
        victim = listed[0]
        (stopped,) = fleet_cli(url, served.url, "stop", victim["sid"])
        assert stopped["outcome"] == "stopped"
        assert stopped["owner"] == victim["owner"]
        assert victim["sid"] not in {r.sid for r in emulator.running_recordings()}
        assert len(emulator.running_recordings()) == 8
        assert {row["sid"] for row in fleet_cli(url, served.url, "ls")} == {
            r.sid for r in emulator.running_recordings()
        }
        # Its owner sees it: the lease taken at its next renewal (every ttl / 3 = 1 s), or, when
        # one of its polls comes first, the recording ended under it.
        deadline = time.monotonic() + 15
        owner = {victim["owner"]: processes[victim["owner"]]}

        def ended_under_owner() -> bool:
            return any(
                e["sid"] == victim["sid"] and "RecordingFailedError" in e["error"]
                for e in fleet.of("failed", victim["owner"])
            )

        while metrics(fleet, owner)["leases_lost"] < 1 and not ended_under_owner():
            assert time.monotonic() < deadline, "the owner never saw its recording stopped"
