"""A client-side request rate limiter: the service allows 10 requests per second per App ID.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp):
the limiter remembers the *theoretical arrival time* of the next request. A caller reserves the
next free slot in one synchronous step (no await between reading and writing the timestamp, so no
lock is needed on a single event loop) and then sleeps exactly until its slot. Slots go out in
call order, so the limiter is fair; each waiter costs one timer, never a polling loop, so
thousands of concurrent callers are cheap. There is no background task.

The clock and the sleep function are injectable so tests can run on a fake clock.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["RateLimiter"]


class RateLimiter:
    """Space calls evenly at ``rate`` per second, letting ``burst`` calls through back to back.

    ``clock`` returns seconds (default: the event loop's clock, `anyio.current_time`) and
    ``sleep`` waits that many seconds (default `anyio.sleep`); both work under asyncio and Trio.
    """

    __slots__ = ("_clock", "_interval", "_sleep", "_tat", "_tolerance", "burst", "rate")

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise TypeError("rate must be a number of requests per second")
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError("rate must be a positive, finite number of requests per second")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError("burst must be a positive integer")
        self.rate = float(rate)
        self.burst = burst
        self._interval = 1.0 / self.rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock if clock is not None else anyio.current_time
        self._sleep = sleep if sleep is not None else anyio.sleep
        self._tat = -math.inf

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, burst={self.burst!r})"

    def reserve(self) -> float:
        """Take the next free slot and return how many seconds to wait for it (0 if none)."""
        now = self._clock()
        tat = max(self._tat, now)
        self._tat = tat + self._interval
        return max(0.0, tat - self._tolerance - now)

    async def acquire(self) -> None:
        """Wait for this caller's turn. A cancelled waiter gives its slot back when it can."""
        delay = self.reserve()
        if delay <= 0:
            return
        reserved_until = self._tat
        try:
            await self._sleep(delay)
        except BaseException:
            # Only the latest reservation can be returned without moving anyone else's slot.
            if self._tat == reserved_until:
                self._tat -= self._interval
            raise
