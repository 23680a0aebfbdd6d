"""``python -m benchmarks``: run the benchmarks and record their results.

Options: ``--quick`` (a smoke run in well under 30 s: few rounds, small N; nothing is written
unless ``--write``), ``--only NAME`` (repeatable or comma-separated: overhead, conversion,
scale, real_http, telemetry, import_time), ``--no-write``. A full run rewrites the results
section of
``benchmarks/README.md`` (between the ``results:start``/``results:end`` markers) and
``benchmarks/results.json``; a partial run (``--only``) replaces only its own benchmarks there.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from ._harness import BenchResult, Row

BENCHMARKS: Final = ("overhead", "telemetry", "conversion", "scale", "real_http", "import_time")
HERE: Final = Path(__file__).resolve().parent
README: Final = HERE / "README.md"
RESULTS: Final = HERE / "results.json"
START: Final = "<!-- results:start -->"
END: Final = "<!-- results:end -->"


def _versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("agora-recording", "httpx", "httpcore", "cattrs", "attrs", "anyio"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "?"
    for name in ("pydantic", "msgspec", "uvicorn", "starlette"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "?"
    return found


def _meta(quick: bool) -> dict[str, Any]:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "quick": quick,
        "versions": _versions(),
    }


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "benchmark": row.benchmark,
        "measure": row.measure,
        "value": None if math.isnan(row.value) else row.value,
        "unit": row.unit,
        "shown": row.shown(),
        "context": row.context,
        "aim": row.aim,
        "met": row.met,
    }


def _row_from_json(data: dict[str, Any]) -> Row:
    value = data.get("value")
    return Row(
        benchmark=data["benchmark"],
        measure=data["measure"],
        value=float("nan") if value is None else float(value),
        unit=data["unit"],
        context=data.get("context", ""),
        aim=data.get("aim"),
        met=data.get("met"),
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: dict[str, Any]) -> str:
    """The markdown between the README markers, from the (merged) results."""
    meta = results["meta"]
    versions = ", ".join(f"{name} {ver}" for name, ver in meta["versions"].items())
    lines = [
        f"Last updated {meta['date']}, on {meta['implementation']} {meta['python']}, "
        f"{meta['platform']}, {meta['cpus']} CPUs{' (quick run)' if meta['quick'] else ''}; "
        f"{versions}.",
        "",
        "| benchmark | figure | result | aim | met | context |",
        "|---|---|---:|---|---|---|",
    ]
    for name in BENCHMARKS:
        entry = results["benchmarks"].get(name)
        if entry is None:
            continue
        for data in entry["rows"]:
            row = _row_from_json(data)
            met = "" if row.met is None else ("yes" if row.met else "**no**")
            lines.append(
                f"| {row.benchmark} | {_cell(row.measure)} | {row.shown()} | {row.aim or ''} | "
                f"{met} | {_cell(row.context)} |"
            )
    for name in BENCHMARKS:
        entry = results["benchmarks"].get(name)
        if entry is None or not (entry["tables"] or entry["notes"]):
            continue
        when = f", {entry['date']}" if "date" in entry else ""
        lines += ["", f"**{name}** ({entry['seconds']:.0f} s{when})", ""]
        for table in entry["tables"]:
            lines += [table, ""]
        lines += [f"- {_cell(note)}" for note in entry["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def write_readme(section: str) -> None:
    """Replace the text between the markers of benchmarks/README.md (appending them if absent)."""
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = f"{head}{START}\n{section}{END}{tail}"
    else:
        text = f"{text.rstrip()}\n\n## Results\n\n{START}\n{section}{END}\n"
    README.write_text(text, encoding="utf-8")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: few rounds, small N")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these benchmarks ({', '.join(BENCHMARKS)}); repeatable",
    )
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--write", action="store_true", help="write results even with --quick")
    writing.add_argument("--no-write", action="store_true", help="print results only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print their rows, and record them."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    chosen = [name for item in args.only for name in item.split(",") if name] or list(BENCHMARKS)
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    write = args.write or not (args.quick or args.no_write)
    entries: dict[str, Any] = {}
    for name in BENCHMARKS:
        if name not in chosen:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        result: BenchResult = module.run(args.quick)
        seconds = time.perf_counter() - began
        for row in result.rows:
            verdict = "" if row.met is None else ("  [aim met]" if row.met else "  [AIM MISSED]")
            print(f"  {row.measure}: {row.shown()}{verdict}\n      {row.context}", flush=True)
        for table in result.tables:
            print(table)
        for note in result.notes:
            print(f"  - {note}")
        print(f"   ({seconds:.1f} s)", flush=True)
        entries[name] = {
            "date": _meta(args.quick)["date"],
            "seconds": seconds,
            "quick": args.quick,
            "rows": [_row_json(row) for row in result.rows],
            "tables": result.tables,
            "notes": result.notes,
            "details": result.details,
        }
    if not write:
        return 0
    merged: dict[str, Any] = {"meta": _meta(args.quick), "benchmarks": {}}
    if RESULTS.exists() and set(chosen) != set(BENCHMARKS):
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
        merged["benchmarks"].update(previous.get("benchmarks", {}))
    merged["benchmarks"].update(entries)
    RESULTS.write_text(
        json.dumps(merged, indent=1, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )
    write_readme(render(merged))
    print(f"wrote {RESULTS.relative_to(HERE.parent)} and {README.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
