"""Where the time goes: pyinstrument samples summarised as hot spots and per-package shares.

Used when a figure misses its aim (the hot spots name ``file:function`` and its share of the
profiled time) and by the real-HTTP benchmark to split client CPU between our code, httpx and
its connection pool (httpcore, h11), anyio/asyncio and the standard library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from pyinstrument import Profiler
from pyinstrument.frame import Frame

__all__ = ["Profile", "package_of", "profiled", "profiled_async"]

# Order matters: the first fragment found in a frame's file path names its package.
_PACKAGES: tuple[tuple[str, str], ...] = (
    ("<agora_recording ", "agora_recording (generated converter hooks)"),
    ("agora_recording/emulator/", "agora_recording.emulator"),
    ("agora_recording/", "agora_recording"),
    ("benchmarks/", "benchmarks (harness, raw contender)"),
    ("/httpcore/", "httpcore (connection pool)"),
    ("/h11/", "h11 (HTTP/1.1 parser)"),
    ("/httpx/", "httpx"),
    ("/anyio/", "anyio"),
    ("/sniffio/", "anyio"),
    ("cattrs generated", "cattrs (generated hooks)"),
    ("/cattrs/", "cattrs"),
    ("/attr/", "attrs"),
    ("/stamina/", "stamina"),
    ("/starlette/", "starlette"),
    ("/uvicorn/", "uvicorn"),
    ("/pydantic", "pydantic"),
    ("/msgspec/", "msgspec"),
    ("/asyncio/", "asyncio"),
    ("/json/", "json"),
    ("/logging/", "logging"),
    ("/ssl.py", "ssl"),
    ("selectors.py", "asyncio"),
    ("socket.py", "socket"),
)


_BUILTINS = "built-ins (C)"


def package_of(file_path: str | None) -> str:
    """The package a source file belongs to, as the reports group it."""
    path = (file_path or "").replace("\\", "/")
    for fragment, name in _PACKAGES:
        if fragment in path:
            return name
    if path.startswith("<built-in>") or not path:
        return _BUILTINS
    return "other stdlib"


_ROOT = str(Path(__file__).resolve().parent.parent).replace("\\", "/") + "/"


def _short(file_path: str | None) -> str:
    path = (file_path or "?").replace("\\", "/")
    for marker in ("site-packages/", _ROOT):
        if marker in path:
            return path.split(marker, 1)[1]
    parts = path.split("/")
    return "/".join(parts[-2:])


@attrs.frozen(kw_only=True)
class Profile:
    """Self time per ``file:function`` and per package, inclusive time per function."""

    total: float
    self_time: dict[str, float]
    inclusive: dict[str, float]
    packages: dict[str, float]

    def hot_spots(self, top: int = 8, *, within: str | None = None) -> list[tuple[str, float]]:
        """The ``top`` functions by self time (share of the whole profile), optionally only
        those whose ``file:function`` contains ``within``."""
        items = [
            (name, seconds / self.total)
            for name, seconds in self.self_time.items()
            if within is None or within in name
        ]
        return sorted(items, key=lambda item: -item[1])[:top]

    def inclusive_share(
        self, top: int = 8, *, within: str | None = None
    ) -> list[tuple[str, float]]:
        """The ``top`` functions by inclusive time (callees included)."""
        items = [
            (name, seconds / self.total)
            for name, seconds in self.inclusive.items()
            if within is None or within in name
        ]
        return sorted(items, key=lambda item: -item[1])[:top]

    def package_shares(self) -> list[tuple[str, float]]:
        """Each package's share of the self time, largest first."""
        return sorted(
            ((name, seconds / self.total) for name, seconds in self.packages.items()),
            key=lambda item: -item[1],
        )

    def as_json(self, top: int = 12) -> dict[str, Any]:
        """A compact summary for results.json."""
        return {
            "profiled_seconds": self.total,
            "self_time_top": [[name, round(share, 4)] for name, share in self.hot_spots(top)],
            "inclusive_top": [[name, round(share, 4)] for name, share in self.inclusive_share(top)],
            "packages": [[name, round(share, 4)] for name, share in self.package_shares()],
        }


# Waiting for I/O, not work: left out of every share.
_IDLE = frozenset({"epoll.poll", "select.select", "kqueue.control", "poll.poll", "devpoll.poll"})


def _summarise(root: Frame | None) -> Profile:
    self_time: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    packages: dict[str, float] = defaultdict(float)
    if root is None:
        return Profile(total=0.0, self_time={}, inclusive={}, packages={})

    def walk(frame: Frame, active: frozenset[str], caller: str) -> None:
        if frame.is_synthetic or frame.function in _IDLE:
            return
        name = f"{_short(frame.file_path)}:{frame.function}"
        own = frame.total_self_time
        self_time[name] += own
        # C functions (socket.send, json's scanner...) count for the package that called them.
        package = package_of(frame.file_path)
        if package == _BUILTINS:
            package = caller
        packages[package] += own
        if name not in active:
            inclusive[name] += frame.time - _idle_below(frame)
            active = active | {name}
        for child in frame.children:
            walk(child, active, package)

    walk(root, frozenset(), _BUILTINS)
    total = sum(self_time.values()) or 1e-12
    return Profile(
        total=total, self_time=dict(self_time), inclusive=dict(inclusive), packages=dict(packages)
    )


def _idle_below(frame: Frame) -> float:
    """Seconds spent waiting for I/O anywhere under ``frame``."""
    if frame.function in _IDLE:
        return frame.time
    return sum(_idle_below(child) for child in frame.children)


@contextmanager
def profiled(interval: float = 0.0001) -> Iterator[list[Profile]]:
    """Profile the block; the yielded list holds the `Profile` once the block has run."""
    holder: list[Profile] = []
    profiler = Profiler(interval=interval, async_mode="disabled")
    profiler.start()
    try:
        yield holder
    finally:
        session = profiler.stop()
        holder.append(_summarise(session.root_frame(trim_stem=False)))


async def profiled_async(
    work: Callable[[], Awaitable[object]], *, interval: float = 0.0001
) -> Profile:
    """Profile one awaited piece of work in the running loop (every task it wakes included)."""
    with profiled(interval) as holder:
        await work()
    return holder[0]
