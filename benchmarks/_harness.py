"""Measuring side by side: interleaved rounds, per-round ratios, and the rows of the report.

A comparison runs every contender once per round, alternating the order between rounds
(A B, B A, A B, ...) so neither always runs on a warmer cache, and keeps the ratio of each
round. The median of those ratios is the figure; the spread (25th-75th percentile) says how
stable it was. Absolute per-operation times are kept only as context.
"""

from __future__ import annotations

import gc
import math
import statistics
import subprocess
import tarfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

__all__ = [
    "ROOT",
    "BenchResult",
    "Ratio",
    "Row",
    "compare_async",
    "compare_sync",
    "extract_package",
    "fmt_seconds",
    "percentile",
    "ratio",
]


@attrs.frozen(kw_only=True)
class Row:
    """One line of the results table."""

    benchmark: str
    measure: str
    value: float
    unit: str
    context: str = ""
    aim: str | None = None
    met: bool | None = None

    def shown(self) -> str:
        """The value as the table prints it."""
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if math.isnan(self.value):
            return "n/a"
        if self.unit in ("", "count"):
            return f"{self.value:g}"
        digits = 1 if abs(self.value) >= 10 else 2 if abs(self.value) >= 1 else 3
        return f"{self.value:.{digits}f} {self.unit}"


@attrs.frozen(kw_only=True)
class BenchResult:
    """What one benchmark module returns: table rows and free-form details for the JSON."""

    rows: list[Row]
    details: dict[str, Any] = attrs.field(factory=dict)
    notes: list[str] = attrs.field(factory=list)
    tables: list[str] = attrs.field(factory=list)
    """Extra markdown tables for the README (already formatted)."""


@attrs.frozen(kw_only=True)
class Ratio:
    """Per-round timings of ``ours`` against ``other`` and the ratios they give."""

    ours: str
    other: str
    ratios: tuple[float, ...]
    ours_seconds: tuple[float, ...]
    other_seconds: tuple[float, ...]
    ops: int

    @property
    def median(self) -> float:
        """The figure: the median of the per-round ratios ours / other."""
        return statistics.median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        """25th and 75th percentiles of the per-round ratios."""
        return percentile(self.ratios, 25), percentile(self.ratios, 75)

    def per_op(self, which: str) -> float:
        """Median seconds per operation of ``"ours"`` or ``"other"``."""
        seconds = self.ours_seconds if which == "ours" else self.other_seconds
        return statistics.median(seconds) / self.ops

    def context(self) -> str:
        """A short human description: absolute times and spread."""
        low, high = self.spread
        return (
            f"{self.ours} {fmt_seconds(self.per_op('ours'))}, {self.other} "
            f"{fmt_seconds(self.per_op('other'))} per op; IQR {low:.2f}-{high:.2f}x"
        )

    def as_json(self) -> dict[str, Any]:
        """The raw numbers, for results.json."""
        return {
            "ours": self.ours,
            "other": self.other,
            "median_ratio": self.median,
            "ratio_iqr": list(self.spread),
            "ours_seconds_per_op": self.per_op("ours"),
            "other_seconds_per_op": self.per_op("other"),
            "rounds": len(self.ratios),
            "ops_per_round": self.ops,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` by linear interpolation (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_seconds(seconds: float) -> str:
    """Seconds in the unit that reads best (ns, µs, ms, s)."""
    if math.isnan(seconds):
        return "n/a"
    for scale, unit in ((1e-6, "ns"), (1e-3, "µs"), (1.0, "ms")):
        if abs(seconds) < scale:
            return f"{seconds / scale * 1e3:.3g} {unit}"
    return f"{seconds:.3g} s"


def _orders(names: Sequence[str], rounds: int) -> list[list[int]]:
    forward = list(range(len(names)))
    return [forward if r % 2 == 0 else forward[::-1] for r in range(rounds)]


def compare_sync(
    contenders: Sequence[tuple[str, Callable[[], object]]],
    *,
    rounds: int,
    number: int,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Time ``number`` calls of each contender per round, interleaved; seconds per round."""
    names = [name for name, _ in contenders]
    timings: dict[str, list[float]] = {name: [] for name in names}
    for _, fn in contenders:
        for _ in range(warmup * number):
            fn()
    gc.collect()
    for order in _orders(names, rounds):
        for index in order:
            name, fn = contenders[index]
            began = time.perf_counter()
            for _ in range(number):
                fn()
            timings[name].append(time.perf_counter() - began)
    return timings


async def compare_async(
    contenders: Sequence[tuple[str, Callable[[], Awaitable[object]]]],
    *,
    rounds: int,
    number: int,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """`compare_sync` for coroutine functions, awaited one after another in the running loop."""
    names = [name for name, _ in contenders]
    timings: dict[str, list[float]] = {name: [] for name in names}
    for _, fn in contenders:
        for _ in range(warmup * number):
            await fn()
    gc.collect()
    for order in _orders(names, rounds):
        for index in order:
            name, fn = contenders[index]
            began = time.perf_counter()
            for _ in range(number):
                await fn()
            timings[name].append(time.perf_counter() - began)
    return timings


def ratio(timings: dict[str, list[float]], ours: str, other: str, ops: int) -> Ratio:
    """The per-round ratios ``ours / other`` of a comparison's timings."""
    mine, theirs = timings[ours], timings[other]
    return Ratio(
        ours=ours,
        other=other,
        ratios=tuple(a / b for a, b in zip(mine, theirs, strict=True)),
        ours_seconds=tuple(mine),
        other_seconds=tuple(theirs),
        ops=ops,
    )


ROOT: Final = Path(__file__).resolve().parent.parent
"""The checkout the benchmarks run from."""


def extract_package(ref: str, into: Path) -> Path:
    """The ``agora_recording`` package as it was at git ``ref``, unpacked under ``into``.

    Put ``into`` first on ``PYTHONPATH`` (and run from a directory without the package) to
    measure that revision with today's benchmarks.
    """
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "package.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", f"--output={archive}", ref, "agora_recording"],
        check=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into
