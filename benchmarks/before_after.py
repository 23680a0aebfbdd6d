"""One command, two libraries: a benchmark on an older revision and on this checkout, side by side.

``python -m benchmarks.before_after REF [--quick] [--only overhead,conversion]`` unpacks the
``agora_recording`` package as it was at git ``REF`` (`extract_package`), runs today's benchmark
code on it in a child process, then on this checkout in another, and prints each figure of both
runs on one line. The two runs follow each other on the same machine: the ratios inside each run
are what to compare (absolute times move with the machine's load).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._harness import ROOT, extract_package

_CHILD = (
    "import json, sys\n"
    "from benchmarks import {name} as module\n"
    "result = module.run({quick})\n"
    "print(json.dumps([[r.measure, r.shown(), r.context] for r in result.rows]))\n"
)


def run_on(package_root: Path, name: str, quick: bool, cwd: Path) -> list[list[str]]:
    """The rows of benchmark ``name`` run with the package found under ``package_root``."""
    env = {**os.environ, "PYTHONPATH": f"{package_root}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(name=name, quick=quick)],
        env=env,
        cwd=cwd,  # not the checkout: ``-c`` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    rows: list[list[str]] = json.loads(done.stdout.splitlines()[-1])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.before_after", description=__doc__)
    parser.add_argument("ref", help="the git revision to compare with, e.g. main")
    parser.add_argument("--only", default="overhead", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        before = extract_package(args.ref, Path(tmp) / "before")
        for name in filter(None, args.only.split(",")):
            old = {row[0]: row for row in run_on(before, name, args.quick, Path(tmp))}
            new = run_on(ROOT, name, args.quick, Path(tmp))
            print(f"| {name} | {args.ref} | this checkout | context (this checkout) |")
            print("|---|---:|---:|---|")
            for measure, shown, context in new:
                previous: Any = old.get(measure, [None, "-"])[1]
                print(f"| {measure} | {previous} | {shown} | {context} |")
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
