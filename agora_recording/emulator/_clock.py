"""Clocks for the emulator: the real one, and a fake one that tests move by hand.

The emulator never sleeps to make time pass. It asks its clock for the current time whenever
a request or a control call looks at a recording, and works out what has happened since
(status changes, idle exit, expiry). A :class:`FakeClock` therefore lets a test jump past five
minutes, ``maxIdleTime`` or ``resourceExpiredHour`` at once, and a :class:`LoopClock` follows
the running event loop's clock, so under Trio's ``MockClock`` or asyncio with ``looptime`` the
emulator lives in the same virtual time as the code under test.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

import anyio

from agora_recording.errors import ValidationError

__all__ = ["DEFAULT_FAKE_EPOCH", "Clock", "FakeClock", "LoopClock", "SystemClock"]

DEFAULT_FAKE_EPOCH = 1_704_067_200.0
"""Where a :class:`FakeClock` starts unless told otherwise: 2024-01-01T00:00:00Z."""


@runtime_checkable
class Clock(Protocol):
    """Anything with ``time()`` returning Unix time in seconds (a float) can drive the emulator."""

    def time(self) -> float:
        """Return the current Unix time in seconds."""
        ...


class SystemClock:
    """The real wall clock (``time.time``); the default of a standalone emulator."""

    def time(self) -> float:
        """Return the current Unix time in seconds."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that only moves when told to, so timer-driven behaviour is tested without sleeping.

    ``advance()`` may be called from any thread (a test driving a server that runs in another
    thread); it never goes backwards.
    """

    def __init__(self, start: float = DEFAULT_FAKE_EPOCH) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        """Return the current fake Unix time in seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValidationError("seconds", "a FakeClock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock(time={self.time()!r})"


class LoopClock:
    """Unix time that moves with the running event loop's clock (``anyio.current_time()``).

    The first reading inside an event loop is ``start``; from then on the clock advances
    exactly as the loop's clock does. Under Trio's ``MockClock(autojump_threshold=0)`` or an
    asyncio loop made by ``looptime``, virtual time therefore drives the emulator's timers and
    its rate limit while the code under test sleeps, with no ``advance()`` calls. Under a real
    event loop it moves at real speed.

    Outside any event loop (sync code inspecting the emulator after the loop ended, or
    another thread) it answers the last time it read. Use one ``LoopClock`` per event loop.
    """

    def __init__(self, start: float = DEFAULT_FAKE_EPOCH) -> None:
        self._start = float(start)
        self._offset: float | None = None  # start - loop time at the first reading
        self._last = self._start
        self._lock = threading.Lock()

    def time(self) -> float:
        """Return the current Unix time in seconds on the loop's clock."""
        try:
            loop_now = anyio.current_time()
        except RuntimeError:  # no event loop in this thread (sniffio's error is a RuntimeError)
            with self._lock:
                return self._last
        with self._lock:
            if self._offset is None:
                self._offset = self._start - loop_now
            self._last = max(self._last, self._offset + loop_now)
            return self._last

    def __repr__(self) -> str:
        return f"LoopClock(time={self._last!r})"
