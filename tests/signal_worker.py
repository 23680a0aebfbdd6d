"""A worker process for tests/test_signals.py: recordings under `drain_on_signals`.

Run as ``python -m tests.signal_worker --url URL --backend asyncio|trio``. It starts
``--count`` recordings against the emulator at ``URL`` (one `RecordingSession` each, in one task
group inside the drain block), prints ``recording N`` once all are started, and records until a
signal drains the block. It then prints ``drained SIGNAME`` and exits 0, or exits through the
helper's forced exit. The client's own ``async with`` raises on leaving if a stop failed.
"""

from __future__ import annotations

import argparse
import functools

import anyio
from agora_recording import Mode, RecordingClient
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.signals import drain_on_signals

APP_ID = "signal-worker-app"

CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="bucket", access_key="ak", secret_key="sk"
    ),
    recording_config=RecordingConfig(
        channel_type=0, stream_types=2, max_idle_time=300, subscribe_uid_group=0
    ),
)


async def record(client: RecordingClient, cname: str, started: list[str], count: int) -> None:
    """Record ``cname`` until cancelled; say so when the last of ``count`` has started."""
    session = client.session(
        cname=cname, uid="42", mode=Mode.INDIVIDUAL, config=CONFIG, poll_interval=60
    )
    async with session:
        started.append(cname)
        if len(started) == count:
            print(f"recording {count}", flush=True)
        await anyio.sleep_forever()


async def main(url: str, count: int, grace: float, prefix: str) -> None:
    """Record ``count`` channels until a signal; drain them; report how it ended."""
    client = RecordingClient(
        app_id=APP_ID,
        customer_id=DEFAULT_CUSTOMER_ID,
        customer_secret=DEFAULT_CUSTOMER_SECRET,
        base_url=url,
        rate_limit=None,
    )
    started: list[str] = []
    async with client:
        async with drain_on_signals(client, grace=grace) as drain, anyio.create_task_group() as tg:
            for n in range(count):
                tg.start_soon(record, client, f"{prefix}-{n}", started, count)
        name = drain.signalled.name if drain.signalled is not None else "nothing"
        print(f"drained {name}", flush=True)


def cli() -> None:
    """Parse the command line and run `main` on the chosen backend."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--grace", type=float, default=30.0)
    parser.add_argument("--prefix", default="worker")
    args = parser.parse_args()
    run = functools.partial(main, args.url, args.count, args.grace, args.prefix)
    anyio.run(run, backend=args.backend)


if __name__ == "__main__":
    cli()
