"""Run the standalone emulator for the real-HTTP benchmark, in its own process.

``python -m benchmarks._serve`` binds 127.0.0.1 on a free port and prints one line,
``listening <url>``, once it accepts connections. Its CPU is therefore not the client's. The
emulator is tuned for throughput runs: no rate limit, no concurrency quota, healthy at once,
and a stopped task leaves at once (``exit_window=0``) so a channel can be recorded again
straight away. Its clock is a ``FakeClock``: between measured rounds the benchmark moves it
past the resource lifetime (``POST /_emulator/clock/advance``), so the state the emulator
keeps per started resource does not pile up and slow later rounds down.
"""

from __future__ import annotations

from agora_recording.emulator import FakeClock, serve


def _ready(url: str) -> None:
    print(f"listening {url}", flush=True)


def main() -> None:
    """Serve until terminated."""
    serve(
        "127.0.0.1",
        0,
        rate_limit=None,
        ready=_ready,
        max_concurrent_recordings=None,
        startup_delay=0.0,
        exit_window=0.0,
        clock=FakeClock(),
    )


if __name__ == "__main__":
    main()
