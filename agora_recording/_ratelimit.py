"""The client's share of the App ID's request quota: 10 requests per second, in priority order.

Agora allows 10 requests per second per App ID and answers 429 above that. Every request of a
`RecordingClient` waits here for a slot first. Slots are spaced as GCRA does (the generic cell
rate algorithm: one timestamp, the *theoretical arrival time* of the next slot), but a free slot
goes to the most important waiter rather than the oldest:

=====================  ==========================================================================
`Priority`             why it goes before the ones below it
=====================  ==========================================================================
``STOP``               a recording that should have ended bills until its stop lands
``HEALTH`` (due)       a health poll that has waited ``health_wait`` seconds (60 by default):
                       every recording is observed within the documented 90 s health and
                       failover windows, however many starts wait
``START``              a resource ID lives 5 minutes; an acquired resource must be started
``ACQUIRE``            a new recording
``UPDATE``             ``update`` and ``updateLayout`` of a running recording
``HEALTH``             the polls that decide whether a recording came up or died, before they
                       are due: a burst of starts enters first, at the full rate
``POLL``               routine polls: they pause while anything else waits (a drain of stops)
=====================  ==========================================================================

A health poll is *due* once it has waited ``health_wait``, or earlier (but not before
`EARLY_HEALTH_WAIT`) when the starts and acquires already waiting would take the quota past
that deadline anyway (it must then go before the burst has entered, and going now costs the
burst nothing more). Every health poll gets the
same ``health_wait``, so the oldest is the one whose deadline comes first: first come, first
served among them is earliest deadline first. So a burst enters at the full rate except for the
polls whose deadline falls inside it, and ``docs/concepts/quota.md`` gives the arithmetic.
One `WaitQueue` holds this order and the rule for every queue of ours: this limiter's, the
places in flight (``_inflight``) and the Redis limiter's local gate (``agora_recording.redis``).

Within one priority, waiters go first come, first served. A waiter that is cancelled leaves the
queue at once (and a slot granted to it but not used is given back), so abandoned requests never
push later ones back. Only one waiter at a time holds a timer (the one that will hand out the
next slot); the others wait on an event, so there is no polling loop and no background task, and
thousands of waiters are cheap. Time is the event loop's (`anyio.current_time`), so the limiter
runs in virtual time under Trio's ``MockClock`` or asyncio with ``looptime``.

The service's own 429 slows the whole client: `Limiter.penalize` holds every slot until the
``Retry-After`` has passed and halves the rate, which then recovers linearly to the configured
rate over ``recovery`` seconds. One rule for every limiter, in `Backoff` (the Redis limiter's
script follows it too): the rate halves once per pause, since the 429s that arrive while a pause
holds answer requests sent before it and say nothing new. The quota is shared with other
processes and tools on the same App ID, so our own cap alone cannot prevent 429s.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Final, Protocol, TypeGuard, runtime_checkable

import anyio

from ._numbers import count, seconds
from ._numbers import rate as checked_rate
from .errors import ArgumentTypeError

__all__ = [
    "Backoff",
    "Limiter",
    "Priority",
    "RateLimiter",
    "WaitQueue",
    "Waiter",
    "jittered_pause",
    "pause_for",
]

logger = logging.getLogger("agora_recording")


class Priority(enum.IntEnum):
    """Which requests get the quota first (lower goes first); see the module docstring."""

    STOP = 0
    START = 1
    ACQUIRE = 2
    UPDATE = 3
    HEALTH = 4
    POLL = 5


@runtime_checkable
class Limiter(Protocol):
    """What `RecordingClient` needs of a limiter: `RateLimiter`, or a shared one (Redis)."""

    @property
    def rate(self) -> float:
        """The configured requests per second."""
        ...

    async def acquire(self, priority: Priority = Priority.POLL) -> float:
        """Wait for a slot; return the seconds spent waiting in the queue."""
        ...

    def penalize(self, retry_after: float | None) -> None:
        """The service answered 429: hold requests for ``retry_after`` and slow down."""
        ...

    def waiting(self, priority: Priority | None = None) -> int:
        """How many requests wait now (of one priority, or all)."""
        ...


#: Seconds a health poll waits behind starts and acquires before it goes ahead of them. The
#: first poll (about 5 s after start, plus up to 1 s of jitter) is then answered within about
#: 67 s of the start, and two health polls of a recording failing over (10 s apart) at most
#: about 71 s apart: both inside the documented 90 s (status 4 or 5 within 90 s of start;
#: failover within 90 s), with room for a round trip and a 429's pause.
HEALTH_WAIT: Final = 60.0

#: Seconds a health poll waits behind a burst of starts at least, even when it will have to go
#: before the burst ends: a first poll then goes 15 s or more after its start, when a recorder
#: has most likely come up (Agora's guidance places the first file-list query 15 s after start
#: in mix mode), so one poll gives the verdict instead of "not yet" and another poll.
EARLY_HEALTH_WAIT: Final = 10.0

#: The longest a 429's ``Retry-After`` holds the whole client: a larger value (a misbehaving
#: proxy, say) must not freeze every stop for an hour.
MAX_PAUSE = 60.0

#: The least the rate falls to after repeated 429s, as a share of the configured rate (also
#: the shared limiter's, in ``agora_recording.redis``).
MIN_FACTOR: Final = 1 / 16


class Waiter:
    """One request waiting in a `WaitQueue`, since ``since`` (the event loop's clock)."""

    __slots__ = ("event", "gone", "granted", "priority", "since")

    def __init__(self, priority: Priority, since: float) -> None:
        self.priority = priority
        self.since = since
        self.event = anyio.Event()
        self.granted = False
        self.gone = False


class WaitQueue:
    """The requests waiting for a slot of the quota or a place in flight, in `Priority`
    classes, first come first served within one, except that a health poll goes ahead of starts
    and acquires once it is due (see the module docstring): the one rule of `RateLimiter`,
    ``PrioritySemaphore`` and the Redis limiter. ``rate(now)`` is the requests per second the
    queue drains at, for the early part of the rule (infinite: none). A cancelled waiter is
    dropped lazily (`leave`)."""

    __slots__ = ("_live", "_queues", "_rate", "health_wait", "size")

    def __init__(self, health_wait: float, rate: Callable[[float], float]) -> None:
        self.health_wait = health_wait
        self._rate = rate
        self._queues: tuple[deque[Waiter], ...] = tuple(deque() for _ in Priority)
        self._live = [0] * len(Priority)
        #: How many wait now, of every priority (read on every request: kept, not summed).
        self.size = 0

    def waiting(self, priority: Priority | None = None) -> int:
        """How many wait now (of one priority, or all)."""
        return self.size if priority is None else self._live[priority]

    def join(self, priority: Priority, since: float) -> Waiter:
        """A request of ``priority`` starts waiting (it has waited since ``since``)."""
        waiter = Waiter(priority, since)
        self._queues[priority].append(waiter)
        self._live[priority] += 1
        self.size += 1
        return waiter

    def leave(self, waiter: Waiter) -> None:
        """A waiter not granted gives up (cancelled)."""
        waiter.gone = True
        self._live[waiter.priority] -= 1
        self.size -= 1

    def best(self, now: float) -> Waiter | None:
        """The waiter that goes next at ``now``, without removing it."""
        live = self._live
        if live[Priority.STOP]:
            return _front(self._queues[Priority.STOP])
        if live[Priority.HEALTH]:
            health = _front(self._queues[Priority.HEALTH])  # the oldest: the earliest deadline
            if self._due(now - health.since, now):
                return health
        for priority in Priority:
            if live[priority]:
                return _front(self._queues[priority])
        return None

    def _due(self, waited: float, now: float) -> bool:
        """Whether the oldest health poll, which has ``waited``, goes ahead of starts and
        acquires: it has waited ``health_wait``, or it has waited `EARLY_HEALTH_WAIT` and the
        starts and acquires already waiting (two requests per acquire) would keep it past its
        deadline anyway, so holding it back longer gains no start."""
        left = self.health_wait - waited
        if left <= 0:
            return True
        if waited < EARLY_HEALTH_WAIT:
            return False
        backlog = 2 * self._live[Priority.ACQUIRE] + self._live[Priority.START]
        return backlog > left * self._rate(now)

    def grant(self, waiter: Waiter) -> None:
        """Hand the place to ``waiter``, the one `best` named, and wake it."""
        queue = self._queues[waiter.priority]
        _front(queue)
        queue.popleft()
        self._live[waiter.priority] -= 1
        self.size -= 1
        waiter.granted = True
        waiter.event.set()


def pause_for(retry_after: float | None) -> float:
    """Seconds a 429 holds the quota: its ``Retry-After`` (1 s when absent), at most `MAX_PAUSE`."""
    pause = retry_after if retry_after is not None and retry_after > 0 else 1.0
    return min(pause, MAX_PAUSE)


def jittered_pause(retry_after: float | None, random: Callable[[], float]) -> float:
    """Seconds before sending again after a 429: `pause_for` plus up to as much again at random
    (``random()`` in [0, 1)), so that requests told the same ``Retry-After`` do not all come
    back at the same instant and meet the next 429 together."""
    pause = pause_for(retry_after)
    return pause + random() * pause


class Backoff:
    """The 429 rule of every limiter: pause, halve the rate once per pause, recover linearly.

    After a 429 at ``now`` asking for ``pause`` seconds, every slot waits until ``paused_until``
    (the later of the pause already in force and ``now + pause``). The rate is ``factor`` of the
    configured one until ``paused_until``, then climbs back linearly to the full rate over
    ``recovery`` seconds. The factor halves (down to `MIN_FACTOR`) only for a 429 that arrives
    after the pause in force has ended: the others answer requests sent before it. The Redis
    limiter's script (`agora_recording.redis`) applies the same rule to the shared quota.
    """

    __slots__ = ("factor", "factor_at", "paused_from", "paused_until", "recovery")

    def __init__(self, recovery: float) -> None:
        self.recovery = recovery
        self.factor = 1.0
        self.factor_at = -math.inf
        self.paused_from = math.inf
        self.paused_until = -math.inf

    def factor_now(self, now: float) -> float:
        """The share of the configured rate in force at ``now``."""
        if self.factor >= 1.0:
            return 1.0
        elapsed = max(0.0, now - self.factor_at)
        return min(1.0, self.factor + (1.0 - self.factor) * elapsed / self.recovery)

    def penalize(self, now: float, pause: float) -> None:
        """A 429 at ``now`` asking for ``pause`` seconds (see `pause_for`)."""
        if now >= self.paused_until:
            self.factor = max(MIN_FACTOR, self.factor_now(now) / 2)
            self.paused_from = now
        self.paused_until = max(self.paused_until, now + pause)
        self.factor_at = self.paused_until


class RateLimiter:
    """Space requests at ``rate`` per second, handing each slot to the most important waiter.

    ``burst`` requests may go back to back after a quiet spell. A `Priority.HEALTH` poll goes
    after starts and acquires until it has waited ``health_wait`` seconds, then before them
    (see ``docs/concepts/quota.md`` for why 60 s). After a 429, the rate halves and climbs back
    to ``rate`` over ``recovery`` seconds.
    """

    __slots__ = (
        "_backoff",
        "_holder",
        "_rate",
        "_tat",
        "_tolerance",
        "_waiting",
        "burst",
        "recovery",
        "stats",
    )

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        health_wait: float = HEALTH_WAIT,
        recovery: float = 30.0,
    ) -> None:
        check_quota(rate, burst, recovery)
        health_wait = check_health_wait(health_wait)
        self._rate = float(rate)
        self.burst = burst
        self.recovery = float(recovery)
        self._tolerance = (burst - 1) / self._rate
        self._tat = -math.inf
        self._backoff = Backoff(self.recovery)
        self._waiting = WaitQueue(float(health_wait), self._rate_at)
        self._holder: Waiter | None = None
        #: Slots granted per priority and 429 penalties taken, for metrics and benchmarks.
        self.stats: dict[str, int] = {p.name.lower(): 0 for p in Priority} | {"penalties": 0}

    @property
    def rate(self) -> float:
        """The configured requests per second."""
        return self._rate

    @property
    def health_wait(self) -> float:
        """Seconds a health poll waits behind starts and acquires at most."""
        return self._waiting.health_wait

    def current_rate(self) -> float:
        """The rate in force now: lower than `rate` for a while after a 429."""
        return self._rate_at(anyio.current_time())

    def _rate_at(self, now: float) -> float:
        return self._rate * self._backoff.factor_now(now)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self._rate!r}, burst={self.burst!r})"

    def waiting(self, priority: Priority | None = None) -> int:
        """How many requests wait now (of one priority, or all)."""
        return self._waiting.waiting(priority)

    # -- the slot clock -----------------------------------------------------------------------

    def _next_slot(self) -> float:
        return self._tat - self._tolerance

    def _take(self, now: float, priority: Priority) -> None:
        self._tat = max(self._tat, now) + 1.0 / self._rate_at(now)
        self.stats[priority.name.lower()] += 1

    def _give_back(self, priority: Priority) -> None:
        self._tat -= 1.0 / self.current_rate()
        self.stats[priority.name.lower()] -= 1

    def penalize(self, retry_after: float | None) -> None:
        """The service answered 429: hold every slot for ``retry_after`` s (1 s when absent, at
        most `MAX_PAUSE`) and halve the rate, once per pause (see `Backoff`)."""
        now = anyio.current_time()
        pause = pause_for(retry_after)
        backoff = self._backoff
        backoff.penalize(now, pause)
        self._tat = max(self._tat, backoff.paused_until + self._tolerance)
        self.stats["penalties"] += 1
        logger.info(
            "429 from the service: pausing %.1f s, then %.1f requests/s recovering to %g",
            pause,
            self._rate * backoff.factor,
            self._rate,
        )

    # -- queue --------------------------------------------------------------------------------

    def _grant_next(self, now: float) -> Waiter | None:
        best = self._waiting.best(now)
        if best is None:
            return None
        self._waiting.grant(best)
        self._take(now, best.priority)
        return best

    def _wake_holder(self) -> None:
        """Make sure some live waiter holds the timer (after the holder left)."""
        if self._holder is not None:
            return
        best = self._waiting.best(math.inf)
        if best is not None:
            best.event.set()

    async def acquire(self, priority: Priority = Priority.POLL) -> float:
        """Wait for a slot for a request of ``priority``; return the seconds spent waiting in
        our own queue (a pause the service asked for with a 429 is not counted: that time is
        the service's)."""
        began = anyio.current_time()
        if not self._waiting.size and self._next_slot() <= began:
            self._take(began, priority)
            return 0.0
        waiter = self._waiting.join(priority, began)
        try:
            while not waiter.granted:
                if self._holder is None:
                    self._holder = waiter
                if self._holder is waiter:
                    now = anyio.current_time()
                    delay = self._next_slot() - now
                    if delay <= 0:
                        self._holder = None
                        self._grant_next(now)
                        self._wake_holder()
                        continue
                    with anyio.move_on_after(delay):
                        await waiter.event.wait()
                else:
                    await waiter.event.wait()
                if not waiter.granted:
                    waiter.event = anyio.Event()
        except BaseException:
            if self._holder is waiter:
                self._holder = None
            if waiter.granted:
                self._give_back(priority)
            else:
                self._waiting.leave(waiter)
            self._wake_holder()
            raise
        if self._holder is waiter:  # pragma: no cover - a granted waiter never holds the timer
            self._holder = None
        ended = anyio.current_time()
        paused_from, paused_until = self._backoff.paused_from, self._backoff.paused_until
        paused = max(0.0, min(ended, paused_until) - max(began, paused_from))
        return ended - began - paused


def is_number(value: object) -> TypeGuard[float]:
    """An int or float, and not a bool (which Python counts as an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_quota(rate: object, burst: object, recovery: object) -> None:
    """Refuse a quota's settings before any request: the same rules for a local and a shared one."""
    if not is_number(rate):
        raise ArgumentTypeError("rate must be a number of requests per second")
    checked_rate("rate", rate)
    count("burst", burst)
    seconds("recovery", recovery)


def check_health_wait(health_wait: object) -> float:
    """Refuse a bad ``health_wait`` before any request (a local and a shared limiter's)."""
    return seconds("health_wait", health_wait, allow_zero=True)


def _front(queue: deque[Waiter]) -> Waiter:
    """The first waiter still waiting (cancelled ones are dropped lazily)."""
    while queue[0].gone:
        queue.popleft()
    return queue[0]
