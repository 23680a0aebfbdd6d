"""Burst: N sessions enter at once against the standalone emulator; nothing runs unlisted.

``python -m benchmarks.burst --sessions 1000 --runs 3`` starts the standalone emulator in its
own process (the service's 10 requests per second per App ID, so a burst meets 429s), makes a
share of the start answers get lost after the emulator processed them (``--lost``, the
``drop`` fault with ``after_processing``), and enters ``--sessions`` sessions at once on one
client with ``rate_limit=None``, each stopping as soon as it started. At the end it compares
the recordings still running on the emulator with what ``client.unconfirmed()`` lists (by
resource ID, since a start left ambiguous is listed without a sid).

Printed per run: sessions, started, errors by class, running on the emulator afterwards, and
*unlisted*: running but not listed by the client. The issue's bar is 0 unlisted.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import anyio
import httpx
from agora_recording import Mode, RecordingClient, UnconfirmedRecordingsError
from agora_recording.models import (
    RecordingConfig,
    RecordingFileConfig,
    StartConfig,
    StorageConfig,
)
from agora_recording.testing import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET

APP_ID = "burstapp"
_SERVER = """
from agora_recording.emulator import serve
serve("127.0.0.1", 0, ready=lambda url: print("listening", url, flush=True),
      max_concurrent_recordings=None, startup_delay=0.0, exit_window=0.0)
"""


def _config() -> StartConfig:
    return StartConfig(
        storage_config=StorageConfig(
            vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
        ),
        recording_config=RecordingConfig(channel_type=0, max_idle_time=3600),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
    )


async def _run(url: str, sessions: int, lost: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as control:
        await control.delete("/_emulator/faults")
        if lost:
            fault = {"endpoint": "start", "times": lost, "after_processing": True}
            await control.post("/_emulator/faults/drop", json=fault)
        errors: Counter[str] = Counter()
        started = 0
        # No connection-pool cap: every session's request reaches the emulator at once, as
        # a fleet of processes would send them, so answers come late (not pool timeouts).
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=None), timeout=10.0)
        client = RecordingClient(
            app_id=APP_ID,
            customer_id=DEFAULT_CUSTOMER_ID,
            customer_secret=DEFAULT_CUSTOMER_SECRET,
            base_url=url,
            rate_limit=None,
            http_client=http,
        )
        began = time.monotonic()

        async def one(index: int) -> None:
            nonlocal started
            try:
                async with client.session(
                    cname=f"burst{index}", uid="9", mode=Mode.MIX, config=_config()
                ):
                    started += 1
            except Exception as exc:
                errors[type(exc).__name__] += 1

        async with anyio.create_task_group() as group:
            for index in range(sessions):
                group.start_soon(one, index)
        listed = {entry.resource_id for entry in client.unconfirmed()}
        with contextlib.suppress(UnconfirmedRecordingsError):  # listed above
            await client.aclose()
        await http.aclose()
        state = (await control.get("/_emulator/state")).json()
    running = [r for r in state["recordings"] if r["running"]]
    unlisted = [r for r in running if r["resourceId"] not in listed]
    return {
        "sessions": sessions,
        "lost answers": lost,
        "started": started,
        "errors": dict(errors),
        "running after": len(running),
        "listed": len(listed),
        "unlisted": len(unlisted),
        "seconds": round(time.monotonic() - began, 1),
    }


def main() -> None:
    """Run the burst ``--runs`` times, each on a fresh emulator, and print one line per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lost", type=int, default=50, help="start answers lost after processing")
    args = parser.parse_args()
    for run in range(args.runs):
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline().split()
            url = line[-1]
            result = anyio.run(_run, url, args.sessions, args.lost)
        finally:
            server.terminate()
            server.wait()
        print(f"run {run + 1}: {result}", flush=True)


if __name__ == "__main__":
    main()
