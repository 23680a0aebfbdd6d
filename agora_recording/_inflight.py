"""Requests in flight: at most as many as the connection pool holds, the most important first.

httpx queues a request that finds every pooled connection busy, and that wait runs inside the
request's own timeout: under a herd, a start could spend its whole deadline in the pool, be
written to the service at the last moment and have its answer dropped (a recording left
running). A `PrioritySemaphore` sized to the pool keeps that queue on our side instead, where
it is cheap, ordered like the rate limiter (`Priority`: stops first, routine polls last; a
health poll that has waited ``health_wait``, its wait for the quota included, ahead of starts:
the same `WaitQueue`) and credited to the caller's deadline. The pool itself then never queues,
so a request's deadline starts when it holds a connection and measures only the service. (With
a capacity of one, the same semaphore lets the Redis limiter book one slot at a time, the most
important first.)
"""

from __future__ import annotations

import math
import sys

import anyio
import httpx

from ._ratelimit import HEALTH_WAIT, Priority, WaitQueue

__all__ = ["DEFAULT_POOL_SIZE", "PrioritySemaphore", "pool_size"]

#: httpx's default ``max_connections``: the cap when the pool's size cannot be read.
DEFAULT_POOL_SIZE = 100


class PrioritySemaphore:
    """At most ``capacity`` holders; a freed place goes to the most important waiter (first come,
    first served within one priority), and a health poll that has waited ``health_wait`` goes
    ahead of starts and acquires, as in the rate limiter (`WaitQueue`; ``rate``, the requests
    per second its holders go at, if known, makes it due earlier). A waiter that is cancelled
    leaves the queue at once."""

    __slots__ = ("_free", "_waiting", "capacity")

    def __init__(
        self, capacity: int, *, health_wait: float = HEALTH_WAIT, rate: float = math.inf
    ) -> None:
        self.capacity = capacity
        self._free = capacity
        self._waiting = WaitQueue(health_wait, lambda _now: rate)

    def __repr__(self) -> str:
        return f"PrioritySemaphore(capacity={self.capacity}, in_use={self.in_use})"

    @property
    def in_use(self) -> int:
        """How many places are held now."""
        return self.capacity - self._free

    def waiting(self, priority: Priority | None = None) -> int:
        """How many requests wait for a place now (of one priority, or all)."""
        return self._waiting.waiting(priority)

    def try_acquire(self) -> bool:
        """Take a place if one is free and nobody waits for it (no coroutine, no checkpoint)."""
        if self._free and not self._waiting.size:
            self._free -= 1
            return True
        return False

    async def acquire(self, priority: Priority, *, waited: float = 0.0) -> float:
        """Wait for a place; return the seconds spent waiting (0 without a wait). ``waited``:
        the seconds the request already spent in another queue (the rate limiter's), which
        count towards a health poll's ``health_wait`` here."""
        if self.try_acquire():
            return 0.0
        began = anyio.current_time()
        waiter = self._waiting.join(priority, began - waited)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.release()
            else:
                self._waiting.leave(waiter)
            raise
        return anyio.current_time() - began

    def release(self) -> None:
        """Give a place back: to the most important waiter, or to the free ones."""
        if self._waiting.size:
            best = self._waiting.best(anyio.current_time())
            if best is not None:
                self._waiting.grant(best)
                return
        self._free += 1


def pool_size(http: httpx.AsyncClient) -> int:
    """The most connections ``http``'s pool opens at once (httpx's default, 100, when it cannot
    be read, another transport, or for a pool without a limit, which never queues)."""
    # httpx keeps the limits it was given only inside its transport's pool (httpcore).
    pool = getattr(getattr(http, "_transport", None), "_pool", None)
    size = getattr(pool, "_max_connections", None)
    if isinstance(size, int) and not isinstance(size, bool) and 0 < size < sys.maxsize:
        return size
    return DEFAULT_POOL_SIZE
