"""The saq fleet example (examples/fleet) runs as its README says: real saq workers, a real
redis-server and the standalone emulator. Skipped without redis-server or saq."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from agora_recording.testing import ServedEmulator

from tests.redis_worker import (
    APP_ID,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    REDIS_SERVER,
    REQUIRES_REDIS,
    repo_root,
    world,
)

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS),
    pytest.mark.timeout(120),
    pytest.mark.slow,
]
pytest.importorskip("saq", reason="saq is not installed (the fleet example's job queue)")


def _env(redis_url: str, served: ServedEmulator) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": repo_root(),
        "REDIS_URL": redis_url,
        "AGORA_APP_ID": APP_ID,
        "AGORA_CUSTOMER_ID": CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": CUSTOMER_SECRET,
        "AGORA_BASE_URL": served.url,
        "FLEET_LEASE_TTL": "2",
        "FLEET_WORKERS": "2",
        "FLEET_CONCURRENCY": "10",
    }


@contextmanager
def _saq_worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "saq", "examples.fleet.worker.settings"],
        cwd=repo_root(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _enqueue(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "examples.fleet.enqueue", *args],
        cwd=repo_root(),
        env=env,
        check=True,
        capture_output=True,
    )


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # waiting for another process to act, with a deadline
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def _running(served: ServedEmulator) -> set[str]:
    return {r.cname for r in served.emulator.running_recordings()}


def test_record_stop_and_adoption_after_a_kill() -> None:
    """A record job runs until its stop job; a killed worker's recording is stopped by another."""
    with world(["class-1", "class-2"]) as (redis_url, served):
        env = _env(redis_url, served)
        with _saq_worker(env) as first:
            _enqueue(env, "record", "class-1")
            _until(lambda: "class-1" in _running(served), 30, "class-1 records")
            _enqueue(env, "stop", "class-1")
            _until(lambda: "class-1" not in _running(served), 30, "class-1 is stopped")

            _enqueue(env, "record", "class-2")
            _until(lambda: "class-2" in _running(served), 30, "class-2 records")
            with _saq_worker(env):
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
                _until(lambda: "class-2" not in _running(served), 30, "the orphan is stopped")
        assert served.emulator.running_recordings() == []
