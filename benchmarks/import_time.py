"""How long ``import agora_recording`` takes, against the libraries it is built on.

Each measurement is a fresh interpreter run with ``python -X importtime``; the figure is the sum
of the cumulative times of the top-level imports the program makes (what ``site`` imports
before it is left out). Contenders run in interleaved rounds: this checkout, an older revision
of the package (``--before REF``, extracted with ``git archive`` into a temporary directory) and
the baseline, the libraries alone (httpx without its command line, attrs, cattrs, anyio with its
memory streams; not stamina, which the package imports on its first retry). The medians are
shown side by side; the ratio to the baseline is what the regression test
(``tests/test_import_time.py``) guards, as our own share (package minus libraries, over
libraries), because it does not depend on how fast or busy the machine is.

``python -m benchmarks.import_time [--quick] [--before REF]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from ._harness import ROOT, BenchResult, Row, extract_package

OURS: Final = "import agora_recording"
# The same libraries, with httpx's command line left out the way the package leaves it out.
LIBRARIES: Final = (
    "import sys, types\n"
    "stand_in = types.ModuleType('httpx._main'); stand_in.main = lambda: None\n"
    "sys.modules['httpx._main'] = stand_in\n"
    "import httpx, attrs, cattrs, anyio, anyio.streams.memory\n"
)
AIM_SECONDS: Final = 0.150


def import_seconds(code: str, path: Path, pycache: Path) -> float:
    """Seconds ``code`` spends importing, by ``-X importtime``, in a fresh interpreter.

    Bytecode is cached under ``pycache`` (as an installed package has its ``.pyc`` files): call
    once to warm it before measuring.
    """
    env = {**os.environ, "PYTHONPATH": str(path), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONIMPORTTIME", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        cwd=path,  # ``-c`` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    after_site = False
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not name.startswith(" ") or name.startswith("  "):
            continue  # nested: already in its parent's cumulative time
        if name.strip() == "site":
            after_site = True
            continue
        if after_site and cumulative.strip().isdigit():
            total += int(cumulative)
    return total / 1e6


def measure(rounds: int, before: str | None) -> dict[str, list[float]]:
    """Per-round seconds for each contender, in interleaved order."""
    with tempfile.TemporaryDirectory() as tmp:
        pycache = Path(tmp) / "pycache"
        contenders: list[tuple[str, str, Path]] = [
            ("ours", OURS, ROOT),
            ("libraries", LIBRARIES, ROOT),
        ]
        if before is not None:
            old = extract_package(before, Path(tmp) / "before")
            contenders.append((f"before ({before})", OURS, old))
        for _, code, path in contenders:
            import_seconds(code, path, pycache)  # writes the bytecode
        seconds: dict[str, list[float]] = {name: [] for name, _, _ in contenders}
        for index in range(rounds):
            order = contenders if index % 2 == 0 else contenders[::-1]
            for name, code, path in order:
                seconds[name].append(import_seconds(code, path, pycache))
        return seconds


def _own_cost(seconds: dict[str, list[float]], name: str) -> float:
    """Median per round of (package - libraries alone) / libraries alone: what the test guards."""
    rounds = zip(seconds[name], seconds["libraries"], strict=True)
    return statistics.median((ours - libraries) / libraries for ours, libraries in rounds)


def _rows(seconds: dict[str, list[float]]) -> list[Row]:
    ours = statistics.median(seconds["ours"])
    libraries = statistics.median(seconds["libraries"])
    rows = [
        Row(
            benchmark="import_time",
            measure="import agora_recording (-X importtime, median)",
            value=ours * 1000,
            unit="ms",
            context=f"libraries alone {libraries * 1000:.0f} ms; "
            f"{len(seconds['ours'])} fresh interpreters each",
            aim=f"<= {AIM_SECONDS * 1000:.0f} ms",
            met=ours <= AIM_SECONDS,
        ),
        Row(
            benchmark="import_time",
            measure="own import cost / libraries alone",
            value=_own_cost(seconds, "ours"),
            unit="x",
            context="(package - libraries) / libraries; libraries: httpx without its CLI, "
            "attrs, cattrs, anyio",
        ),
    ]
    for name, values in seconds.items():
        if name.startswith("before"):
            old = statistics.median(values)
            rows.append(
                Row(
                    benchmark="import_time",
                    measure=f"import agora_recording: {name} / now",
                    value=old / ours,
                    unit="x",
                    context=f"{name} {old * 1000:.0f} ms, now {ours * 1000:.0f} ms; "
                    f"own cost / libraries {_own_cost(seconds, name):.2f}x then",
                )
            )
    return rows


def run(quick: bool, before: str | None = None) -> BenchResult:
    """The rows for ``python -m benchmarks``."""
    seconds = measure(3 if quick else 15, before)
    return BenchResult(rows=_rows(seconds), details={"seconds": seconds})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_time", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 15")
    parser.add_argument(
        "--before", metavar="REF", help="also measure the package as of this git revision"
    )
    args = parser.parse_args(argv)
    result = run(args.quick, args.before)
    for row in result.rows:
        print(f"{row.measure:<55} {row.shown():>10}  {row.context}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
