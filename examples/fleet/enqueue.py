"""Enqueue fleet jobs: ``python -m examples.fleet.enqueue record CNAME [--duration S]`` or
``python -m examples.fleet.enqueue stop CNAME``. Uses ``REDIS_URL`` like the workers."""

from __future__ import annotations

import argparse
import asyncio

from examples.fleet.worker import queue


async def _main(options: argparse.Namespace) -> None:
    await queue.connect()
    try:
        if options.verb == "record":
            # timeout=0: a recording runs as long as it runs (saq's default is 10 s).
            job = await queue.enqueue(
                "record", timeout=0, cname=options.cname, duration=options.duration
            )
        else:
            job = await queue.enqueue("stop", cname=options.cname)
        print(f"enqueued {options.verb} {options.cname}: job {job.key if job else '(duplicate)'}")
    finally:
        await queue.disconnect()


def main() -> None:
    """Parse the command line and enqueue one job."""
    parser = argparse.ArgumentParser(prog="python -m examples.fleet.enqueue")
    parser.add_argument("verb", choices=("record", "stop"))
    parser.add_argument("cname")
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds (default: until stop)"
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
