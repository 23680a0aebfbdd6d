"""Beyond one process: a request quota and recording leases shared through Redis.

Install with the ``redis`` extra (``pip install agora-recording[redis]``). Everything here uses
the ``redis`` package's asyncio client (``redis.asyncio.Redis``), so it runs under asyncio only.

**The shared quota.** Agora allows 10 requests per second per App ID, whatever the number of
processes sending them. `RedisRateLimiter` is a `Limiter` (pass it as
``RecordingClient(..., rate_limit=limiter)``): every process built with the same ``key`` draws
its slots from one clock kept in Redis. Each slot is reserved by one Lua script, run atomically
by Redis in the style of GCRA (the generic cell rate algorithm): read the *theoretical arrival
time* of the next slot, take the later of it and now (Redis's own ``TIME``, so machines need
not agree on the time), push it one interval on, store it with an expiry, and answer how long
the caller waits. In front of Redis each process keeps a local queue in the same priority
classes as the in-process `RateLimiter` (stops first, routine polls last): only the most
important local request books a slot at a time, so Redis never holds more than one booking per
process and a stop waits at most one round of the fleet's bookings. A health poll goes after
starts and acquires until it has waited ``health_wait`` (then before them), as in the
in-process limiter, so a burst of starts entering through Redis leaves no recording unobserved
past the documented 90 s.

A 429 seen by one process slows them all: `RedisRateLimiter.penalize` stores a pause (the
``Retry-After``) and halves the shared rate, which climbs back to the full rate over ``recovery``
seconds once the pause is over, in the same hash, sent with the next reservation. The rule is
the in-process `RateLimiter`'s (``Backoff`` in ``agora_recording._ratelimit``): the rate halves
once per pause, so several processes hit by the same burst halve it once, and a ``Retry-After``
holds the fleet for at most a minute.

When Redis cannot be reached (or answers with an error), the limiter logs one warning and
falls back to a local `RateLimiter` at ``rate / expected_workers`` requests per second (the
whole rate with the default ``expected_workers=1``: set it to the size of your fleet to stay
under the quota during an outage). It tries Redis again every ``retry_interval`` seconds and
logs once when it is back.

**Leases on recordings.** A worker that dies (SIGKILL, out of memory, a lost node) leaves its
recordings running and billing. `LeaseStore` keeps each live handle in Redis with the worker
that owns it and a lease of ``ttl`` seconds that the owner renews in the background while the
session lives (`LeaseStore.record`). Once a lease expires, any other worker may claim the
recording: the claim is one Lua script (the lease is re-created only if it does not exist), so
exactly one worker of the fleet wins it. The janitor (`LeaseStore.janitor`) claims expired
leases and, by default, stops the recordings (confirmed with
`RecordingClient.ensure_stopped`); or it hands each one, adopted with
`RecordingSession.adopt`, to your coroutine, which continues it as long as it likes. A lease
may carry string ``metadata`` (for example the time the recording was meant to end) for the
worker that adopts it.

Keys: the quota is one hash at ``key``; leases live under ``namespace`` (``{namespace}:handles``,
a hash of handle records by sid, ``{namespace}:lease:{sid}``, the lease itself, and
``{namespace}:times``, when each lease was taken and last renewed). Beside them: the start
journal (``{namespace}:intents``, by resource ID, and ``{namespace}:intent-claim:{resource ID}``
while a janitor resolves one), each worker's presence (``{namespace}:worker:{worker_id}``), the
stops the service refused (``{namespace}:refusals``, counts by sid, and ``{namespace}:dead``,
the dead letters) and the records set aside unread (``{namespace}:unreadable``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import attrs

from ._converter import converter
from ._inflight import PrioritySemaphore
from ._journal import StartIntent
from ._numbers import count, seconds
from ._ratelimit import (
    HEALTH_WAIT,
    MIN_FACTOR,
    Priority,
    RateLimiter,
    check_health_wait,
    check_quota,
    pause_for,
)
from .enums import Mode
from .errors import (
    AgoraError,
    APIError,
    ArgumentTypeError,
    LeaseLostError,
    RedisUnavailableError,
    StopUnconfirmedError,
    UsageError,
    ValidationError,
)
from .models import RecordingHandle
from .telemetry import Telemetry

try:
    import redis.asyncio
    import redis.exceptions
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "agora_recording.redis needs the redis package: pip install 'agora-recording[redis]'"
    ) from exc

if TYPE_CHECKING:
    from ._client import RecordingClient
    from ._session import RecordingSession
    from .webhooks import NotificationHub

__all__ = [
    "RESOURCE_LIFETIME",
    "DeadLetter",
    "Lease",
    "LeaseLostError",
    "LeaseStore",
    "PendingStart",
    "RedisRateLimiter",
    "RedisUnavailableError",
    "Reservation",
    "SharedQuota",
]

logger = logging.getLogger("agora_recording.redis")

#: What counts as "Redis is not there" (the limiter falls back; lease renewal retries).
_REDIS_DOWN: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError, TimeoutError)

#: A Redis that is down, or too slow for the bound a caller set.
_STALLED: tuple[type[Exception], ...] = (*_REDIS_DOWN, TimeoutError)

# KEYS[1]: the quota hash. ARGV: rate, burst, recovery, min factor, penalty seconds (0: none),
# now ("" to use Redis's TIME). Returns {wait, paused part of the wait, new tat} as strings
# (Lua numbers would be truncated to integers on the way out).
_RESERVE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local now
if ARGV[6] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[6])
end
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local recovery, min_factor = tonumber(ARGV[3]), tonumber(ARGV[4])
local penalty = tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tat', 'pause', 'factor', 'factor_at')
local tat = tonumber(h[1]) or now
local pause = tonumber(h[2]) or 0
local factor = tonumber(h[3]) or 1
local factor_at = tonumber(h[4]) or now
-- The 429 rule of every limiter (`_ratelimit.Backoff`): after a 429 the rate is `factor` of the
-- configured one until `factor_at` (the end of the pause), then climbs linearly back to the full
-- rate over `recovery` seconds; it halves once per pause, not for every 429 within one.
local function factor_now(t)
  if factor >= 1 then return 1 end
  return math.min(1, factor + (1 - factor) * math.max(0, t - factor_at) / recovery)
end
if penalty > 0 then
  if now >= pause then
    factor = math.max(min_factor, factor_now(now) / 2)
  end
  pause = math.max(pause, now + penalty)
  factor_at = pause
end
local current = factor_now(now)
if current >= 1 then factor = 1 end
local interval = 1 / (rate * current)
local slot = math.max(now, pause, tat - (burst - 1) / rate)
local new_tat = math.max(tat, slot) + interval
local keep = math.max(new_tat, pause) - now + recovery + 1
redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', new_tat),
  'pause', string.format('%.6f', pause), 'factor', string.format('%.6f', factor),
  'factor_at', string.format('%.6f', factor_at))
redis.call('PEXPIRE', KEYS[1], math.ceil(keep * 1000))
local paused = math.max(0, math.min(slot, pause) - now)
return {string.format('%.6f', slot - now), string.format('%.6f', paused),
  string.format('%.6f', new_tat)}
"""

# KEYS[1]: the quota hash. ARGV: the tat a reservation set, the interval it took. Gives the
# slot back only if nobody booked after it.
_GIVE_BACK = """
if redis.call('HGET', KEYS[1], 'tat') == ARGV[1] then
  local tat = tonumber(ARGV[1]) - tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', tat))
  return 1
end
return 0
"""

# KEYS: handles hash, lease key, times hash. ARGV: sid, owner, ttl ms, record json, "1" to
# overwrite the record. 1: held (renewed, or taken again after it lapsed with nobody claiming
# it); 0: someone else holds it. The record is written back if missing (Redis restarted without
# its data). The times hash keeps "leased_at renewed_at" (Redis's clock, Unix seconds) per sid.
_RENEW = """
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
else
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[4])
end
local now = redis.call('TIME')[1]
local leased = now
local times = redis.call('HGET', KEYS[3], ARGV[1])
if times and ARGV[5] ~= '1' then leased = string.match(times, '^(%d+)') or now end
redis.call('HSET', KEYS[3], ARGV[1], leased .. ' ' .. now)
return 1
"""

# KEYS: handles hash, lease key. ARGV: sid, new owner, ttl ms. 1: claimed; 0: not expired/gone.
_CLAIM = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""

# KEYS: handles hash, lease key. ARGV: sid, owner. Forget the recording if we still own it.
_RELEASE = """
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""

# KEYS: handles hash, lease key. ARGV: sid, owner. Drop our lease, keep the record.
_HAND_OVER = """
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
return redis.call('HEXISTS', KEYS[1], ARGV[1])
"""


# KEYS: handles hash, lease key, intents hash, times hash. ARGV: sid, owner, ttl ms, record
# json, resource ID. The journal's `started`: the intent becomes the sid's lease in one step.
# 1: leased to us; 0: another worker holds the sid already (a janitor found it first); the
# intent goes anyway.
_STARTED = """
redis.call('HDEL', KEYS[3], ARGV[5])
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
local now = redis.call('TIME')[1]
redis.call('HSET', KEYS[4], ARGV[1], now .. ' ' .. now)
return 1
"""

# KEYS: intents hash, handles hash. ARGV: resource ID, sid, record json. A janitor found the
# recording of a lapsed intent: list it without a lease (the next round claims it) and forget
# the intent. 0 when the intent was resolved meanwhile or the sid is listed already.
_FOUND = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
"""

# KEYS: handles hash, lease key, dead letters hash, times hash. ARGV: sid, owner, dead letter
# json. Move a handle the service refuses for good out of the janitor's way (if we hold it).
_BURY = """
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
"""

RESOURCE_LIFETIME = 300.0
"""Seconds a resource ID lives: start accepts it only this long after ``acquire`` (Agora's
"acquire" reference), so an intent older than this can no longer start anything."""

#: NCS sends event 33 (uploading_progress) about once a minute while a recording runs, so a
#: recording is heard from at least this often when notifications reach the hub.
_HEARD_EVERY = 70.0

#: The API statuses that no retry changes: a wrong credential or a request the service refuses.
_REFUSED_FOR_GOOD = frozenset({400, 401, 403})


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ------------------------------------------------------------------------------------------
# The shared quota


@attrs.frozen
class Reservation:
    """One slot booked in Redis: start the request ``wait`` seconds from now."""

    wait: float
    """Seconds until the slot (0: at once)."""
    paused: float
    """The part of ``wait`` spent in a 429 pause (service time, not queueing)."""
    tat: str
    """The clock value this booking left in Redis (to give the slot back)."""


class SharedQuota:
    """The slot clock of one quota in Redis (one hash at ``key``), without any local queue.

    `reserve` books the next slot with one atomic script and says how long to wait for it.
    ``clock`` is for tests: a function giving the time to use instead of Redis's ``TIME``
    (every process sharing the key must then use the same clock).
    """

    def __init__(
        self,
        redis_client: redis.asyncio.Redis,
        *,
        key: str,
        rate: float = 10.0,
        burst: int = 1,
        recovery: float = 30.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        check_quota(rate, burst, recovery)
        if not isinstance(key, str) or not key:
            raise ValidationError("key", "must be a non-empty string naming the shared quota")
        self.key = key
        self.rate = float(rate)
        self.burst = burst
        self.recovery = float(recovery)
        self._clock = clock
        self._reserve = redis_client.register_script(_RESERVE)
        self._give_back = redis_client.register_script(_GIVE_BACK)

    def __repr__(self) -> str:
        return f"SharedQuota(key={self.key!r}, rate={self.rate!r}, burst={self.burst!r})"

    async def reserve(self, *, penalty: float = 0.0) -> Reservation:
        """Book the next slot; ``penalty`` (seconds) first records a 429 for the whole quota."""
        now = "" if self._clock is None else repr(float(self._clock()))
        args: list[float | str] = [
            self.rate,
            self.burst,
            self.recovery,
            MIN_FACTOR,
            max(0.0, penalty),
            now,
        ]
        answer = await self._reserve(keys=[self.key], args=args)
        wait, paused, tat = (_text(part) for part in answer)
        return Reservation(wait=max(0.0, float(wait)), paused=max(0.0, float(paused)), tat=tat)

    async def give_back(self, reservation: Reservation) -> bool:
        """Return an unused slot (only if nobody booked after it); True when it was returned."""
        answer = await self._give_back(keys=[self.key], args=[reservation.tat, 1.0 / self.rate])
        return int(answer) == 1


class RedisRateLimiter:
    """A `Limiter` whose slots come from Redis, so processes sharing ``key`` share ``rate``.

    ``redis_client`` is a ``redis.asyncio.Redis``; ``key`` names the quota (use one per App ID,
    e.g. ``f"agora-recording:quota:{app_id}"``). ``burst`` requests may go back to back after
    a quiet spell; after a 429 the shared rate halves and recovers over ``recovery`` seconds.
    If Redis fails to answer within ``redis_timeout`` seconds or errs, requests fall back to a
    local `RateLimiter` at ``rate / expected_workers`` until Redis answers again (tried every
    ``retry_interval`` seconds). ``clock`` replaces Redis's ``TIME`` (for tests).

    Priorities apply within each process (see the module docstring), with the in-process
    limiter's rule for health polls: one that has waited ``health_wait`` seconds (60 by
    default) goes ahead of this process's starts and acquires; the local fallback keeps them
    too. `acquire` returns the seconds spent queueing, not the seconds of a 429 pause.
    """

    def __init__(
        self,
        redis_client: redis.asyncio.Redis,
        *,
        key: str,
        rate: float = 10.0,
        burst: int = 1,
        health_wait: float = HEALTH_WAIT,
        recovery: float = 30.0,
        expected_workers: int = 1,
        redis_timeout: float = 1.0,
        retry_interval: float = 5.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(expected_workers, bool) or not isinstance(expected_workers, int):
            raise ArgumentTypeError("expected_workers must be an integer")
        count("expected_workers", expected_workers)
        health_wait = check_health_wait(health_wait)
        seconds("redis_timeout", redis_timeout)
        seconds("retry_interval", retry_interval)
        self._quota = SharedQuota(
            redis_client, key=key, rate=rate, burst=burst, recovery=recovery, clock=clock
        )
        self.expected_workers = expected_workers
        self.redis_timeout = float(redis_timeout)
        self.retry_interval = float(retry_interval)
        # One booking in Redis at a time, the most important (a due health poll before starts).
        self._gate = PrioritySemaphore(1, health_wait=health_wait, rate=self._quota.rate)
        self._fallback = RateLimiter(
            rate / expected_workers, burst=burst, health_wait=health_wait, recovery=recovery
        )
        self.health_wait = health_wait
        self._down_since: float | None = None
        self._retry_at = -math.inf
        self._penalty_until = -math.inf  # a 429 pause not yet sent to Redis (loop time)
        self._holding: Priority | None = None
        #: Slots granted per priority, through Redis and through the local fallback, and 429s.
        self.stats: dict[str, int] = {p.name.lower(): 0 for p in Priority} | {
            "penalties": 0,
            "fallback": 0,
        }

    @property
    def rate(self) -> float:
        """The configured requests per second (for the whole fleet sharing ``key``)."""
        return self._quota.rate

    @property
    def key(self) -> str:
        """The Redis key of the shared quota."""
        return self._quota.key

    @property
    def using_redis(self) -> bool:
        """False while Redis is unreachable and the local fallback hands out the slots."""
        return self._down_since is None

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.key!r}, rate={self.rate!r})"

    def waiting(self, priority: Priority | None = None) -> int:
        """How many requests of this process wait now (of one priority, or all)."""
        holding = self._holding is not None and priority in (None, self._holding)
        return self._gate.waiting(priority) + int(holding)

    def penalize(self, retry_after: float | None) -> None:
        """The service answered 429: pause the whole fleet for ``retry_after`` s, halve its rate.

        Sent to Redis with this process's next reservation (the client always asks for one
        right after a 429); the local fallback is slowed at once as well.
        """
        pause = pause_for(retry_after)
        self._penalty_until = max(self._penalty_until, anyio.current_time() + pause)
        self.stats["penalties"] += 1
        self._fallback.penalize(pause)

    async def acquire(self, priority: Priority = Priority.POLL) -> float:
        """Wait for a slot for a request of ``priority``; return the seconds spent queueing."""
        began = anyio.current_time()
        paused = 0.0
        await self._gate.acquire(priority)
        self._holding = priority
        try:
            reservation = await self._reserve()
            if reservation is None:
                self.stats["fallback"] += 1
                local_began = anyio.current_time()
                queued = await self._fallback.acquire(priority)
                paused = max(0.0, anyio.current_time() - local_began - queued)
            else:
                paused = reservation.paused
                if reservation.wait > 0:
                    await self._sleep_for(reservation)
        finally:
            self._holding = None
            self._gate.release()
        self.stats[priority.name.lower()] += 1
        return max(0.0, anyio.current_time() - began - paused)

    async def _reserve(self) -> Reservation | None:
        """A Redis slot, or None when Redis is down (fall back)."""
        now = anyio.current_time()
        if self._down_since is not None and now < self._retry_at:
            return None
        sent_until = self._penalty_until
        penalty = max(0.0, sent_until - now)  # what is left of the pause
        try:
            with anyio.fail_after(self.redis_timeout):
                reservation = await self._quota.reserve(penalty=penalty)
        except _REDIS_DOWN as exc:
            self._retry_at = anyio.current_time() + self.retry_interval
            if self._down_since is None:
                self._down_since = now
                logger.warning(
                    "Redis quota %s unreachable (%s): falling back to a local limit of %g "
                    "requests/s; trying Redis again every %g s",
                    self.key,
                    type(exc).__name__,
                    self._fallback.rate,
                    self.retry_interval,
                )
            return None
        if self._down_since is not None:
            logger.warning(
                "Redis quota %s reachable again after %.1f s: sharing the quota again",
                self.key,
                now - self._down_since,
            )
            self._down_since = None
        if self._penalty_until == sent_until:  # no newer 429 arrived meanwhile
            self._penalty_until = -math.inf
        return reservation

    async def _sleep_for(self, reservation: Reservation) -> None:
        try:
            await anyio.sleep(reservation.wait)
        except BaseException:
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(self.redis_timeout),
                suppress(*_REDIS_DOWN),
            ):
                await self._quota.give_back(reservation)
            raise


# ------------------------------------------------------------------------------------------
# Leases


@asynccontextmanager
async def _redis_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    except _REDIS_DOWN as exc:
        raise RedisUnavailableError(f"{what}: Redis unavailable ({type(exc).__name__})") from exc


@attrs.frozen
class Lease:
    """A recording in the store: its handle, the worker that holds it, and user metadata.

    ``leased_at`` and ``renewed_at`` (Unix seconds, Redis's clock; ``None`` when unknown): when
    the current owner took the lease and last renewed it, as `LeaseStore.leases` read them;
    they take no part in comparisons.
    """

    handle: RecordingHandle
    owner: str
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    leased_at: float | None = attrs.field(default=None, eq=False)
    renewed_at: float | None = attrs.field(default=None, eq=False)


@attrs.frozen
class PendingStart:
    """A start written down by `LeaseStore.begin` whose recording has no lease yet.

    ``owner`` is the worker that sent it; ``owner_alive`` whether that worker still renews
    its presence; ``unresolved`` whether it gave up on learning the outcome. A janitor resolves
    the intent once its owner is gone or gave up.
    """

    intent: StartIntent
    owner: str
    owner_alive: bool
    unresolved: bool = False


@attrs.frozen
class DeadLetter:
    """A recording the janitor gave up on: the service refused its stop for good.

    ``key`` (the sid) is what `LeaseStore.clear_dead_letter` takes; ``error`` the last refusal,
    ``refusals`` how many rounds were refused, ``at`` when it was set aside (Unix seconds).
    The recording may still run: fix the cause (a rotated secret, say) and stop it yourself.
    """

    key: str
    handle: RecordingHandle
    metadata: Mapping[str, str]
    error: str
    refusals: int
    at: float


class _Unreadable(Exception):
    """A stored record that parses but makes no sense (never leaves this module)."""


def _intent_json(intent: StartIntent, owner: str, *, unresolved: bool = False) -> str:
    fields = {
        "resource_id": intent.resource_id,
        "cname": intent.cname,
        "uid": intent.uid,
        "mode": intent.mode.value,
        "began_at": intent.began_at,
    }
    return json.dumps({"intent": fields, "owner": owner, "unresolved": unresolved})


def _intent_from(raw: object) -> tuple[StartIntent, str, bool]:
    record = json.loads(_text(raw))
    fields = record["intent"]
    intent = StartIntent(
        resource_id=str(fields["resource_id"]),
        cname=str(fields["cname"]),
        uid=str(fields["uid"]),
        mode=Mode(fields["mode"]),
        began_at=float(fields["began_at"]),
    )
    if not math.isfinite(intent.began_at):
        raise _Unreadable("began_at is not a finite number")
    return intent, str(record["owner"]), bool(record.get("unresolved", False))


def _handle_from(record: Any) -> tuple[RecordingHandle, dict[str, str]]:
    """The handle and metadata of a stored record; raises on anything else."""
    handle = converter.structure(record["handle"], RecordingHandle)
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _Unreadable("metadata is not a mapping of strings")
    return handle, dict(metadata)


def _dead_letter_from(key: str, raw: object) -> DeadLetter:
    record = json.loads(_text(raw))
    handle, metadata = _handle_from(record)
    return DeadLetter(
        key=key,
        handle=handle,
        metadata=metadata,
        error=str(record["error"]),
        refusals=int(record["refusals"]),
        at=float(record["at"]),
    )


def _refused_for_good(exc: BaseException) -> bool:
    """Whether retrying cannot help: the service (or its last answer to a stop) refused it."""
    if isinstance(exc, StopUnconfirmedError) and exc.last_error is not None:
        exc = exc.last_error
    return isinstance(exc, APIError) and exc.status_code in _REFUSED_FOR_GOOD


def default_worker_id() -> str:
    """``host:pid:random``: unique per process, readable in Redis."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseStore:
    """Live recordings in Redis, each leased to the worker recording it; a `StartJournal`.

    ``namespace`` prefixes the keys (one per App ID or per fleet); ``worker_id`` names this
    worker (default: host, pid and a random suffix); ``ttl`` is the lease time in seconds: a
    recording whose owner has not renewed it for that long is adopted by another worker.
    The owner renews every ``renew_interval`` seconds (default ``ttl / 3``).

    ``write_timeout`` bounds each journal write (seconds): a Redis that stalls longer is logged
    at WARNING and the write raises `RedisUnavailableError`. A recording whose stop the service
    refuses for good (400, 401, 403) is tried again by the janitor after a doubling back-off,
    ``max_refusals`` times, then kept as a dead letter (`dead_letters`). ``clock`` gives the
    Unix time (intents are compared across machines, so it is the wall clock; for tests).
    """

    def __init__(
        self,
        redis_client: redis.asyncio.Redis,
        *,
        namespace: str = "agora-recording",
        worker_id: str | None = None,
        ttl: float = 30.0,
        renew_interval: float | None = None,
        write_timeout: float = 2.0,
        max_refusals: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        write_timeout = seconds("write_timeout", write_timeout)
        if isinstance(max_refusals, bool) or not isinstance(max_refusals, int):
            raise ArgumentTypeError("max_refusals must be an integer")
        max_refusals = count("max_refusals", max_refusals)
        ttl = seconds("ttl", ttl)
        renew = ttl / 3 if renew_interval is None else seconds("renew_interval", renew_interval)
        if not renew < ttl:
            raise ValidationError("renew_interval", "must be positive and shorter than ttl")
        self._redis = redis_client
        self.namespace = namespace
        self.worker_id = worker_id if worker_id is not None else default_worker_id()
        self.ttl = float(ttl)
        self.renew_interval = float(renew)
        self.write_timeout = float(write_timeout)
        self.max_refusals = max_refusals
        self._clock = clock
        self._handles = f"{namespace}:handles"
        self._times = f"{namespace}:times"
        #: Where lease renewals and janitor adoptions are counted (OpenTelemetry).
        self.telemetry = Telemetry()
        self._intents = f"{namespace}:intents"
        self._set_aside_key = f"{namespace}:unreadable"
        self._refusals = f"{namespace}:refusals"
        self._dead = f"{namespace}:dead"
        #: How many unreadable records this store moved aside (each logged once, at ERROR).
        self.unreadable = 0
        self._started = redis_client.register_script(_STARTED)
        self._found = redis_client.register_script(_FOUND)
        self._bury = redis_client.register_script(_BURY)
        self._renew = redis_client.register_script(_RENEW)
        self._claim = redis_client.register_script(_CLAIM)
        self._release = redis_client.register_script(_RELEASE)
        self._hand_over = redis_client.register_script(_HAND_OVER)

    def __repr__(self) -> str:
        return f"LeaseStore(namespace={self.namespace!r}, worker_id={self.worker_id!r})"

    def _lease_key(self, sid: str) -> str:
        return f"{self.namespace}:lease:{sid}"

    def _presence_key(self, worker_id: str) -> str:
        return f"{self.namespace}:worker:{worker_id}"

    @property
    def _ttl_ms(self) -> int:
        return max(1, math.ceil(self.ttl * 1000))

    @staticmethod
    def _record(handle: RecordingHandle, metadata: Mapping[str, str]) -> str:
        return json.dumps({"handle": converter.unstructure(handle), "metadata": dict(metadata)})

    @staticmethod
    def _parse(raw: object, owner: str, times: object = None) -> Lease:
        handle, metadata = _handle_from(json.loads(_text(raw)))
        leased_at = renewed_at = None
        if times is not None:
            leased, _, renewed = _text(times).partition(" ")
            with suppress(ValueError):  # times are a detail: unreadable ones are unknown
                leased_at, renewed_at = float(leased), float(renewed or leased)
        return Lease(
            handle=handle,
            owner=owner,
            metadata=metadata,
            leased_at=leased_at,
            renewed_at=renewed_at,
        )

    def _read_lease(self, sid: str, raw: bytes) -> tuple[Lease, bytes]:
        lease = self._parse(raw, "")
        if lease.handle.sid != sid:
            raise _Unreadable("the record's sid is not its key")
        return lease, raw

    async def _set_aside(self, table: str, field: bytes, raw: bytes, exc: Exception) -> None:
        """Move one unreadable record out of ``table``, so no reader trips on it again."""
        self.unreadable += 1
        name = field.decode("utf-8", "replace")
        logger.error(
            "unreadable record %r in %s (%s): moved aside to %s",
            name,
            table,
            type(exc).__name__,
            self._set_aside_key,
        )
        what = "moving an unreadable record aside"
        async with _redis_errors(what), self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._set_aside_key, f"{table}:{name}", raw)
            pipe.hdel(table, field)
            await pipe.execute()

    async def _readable(self, table: str, read: Callable[[str, bytes], Any]) -> list[Any]:
        """Every record of ``table`` that ``read(field, raw)`` accepts; the others moved aside."""
        async with _redis_errors(f"reading {table}"):
            raw = await self._redis.hgetall(table)
        records = []
        for field, value in raw.items():
            key, record = _bytes(field), _bytes(value)
            try:
                records.append(read(key.decode(), record))
            except Exception as exc:  # anything stored by hand or by another version
                await self._set_aside(table, key, record, exc)
        return records

    # -- primitives ---------------------------------------------------------------------------

    async def _run(self, script: Any, what: str, sid: str, *args: str | int | float) -> int:
        async with _redis_errors(what):
            keys = [self._handles, self._lease_key(sid), self._times]
            answer = await script(keys=keys, args=[sid, *args])
        return int(answer)

    async def _owner(self, sid: str) -> str:
        async with _redis_errors("reading a lease"):
            owner = await self._redis.get(self._lease_key(sid))
        return "" if owner is None else _text(owner)

    async def acquire(
        self, handle: RecordingHandle, metadata: Mapping[str, str] | None = None
    ) -> bool:
        """Store ``handle`` leased to this worker (or renew our lease); False if another holds it.

        Raises `RedisUnavailableError` when Redis does not answer.
        """
        record = self._record(handle, metadata or {})
        held = await self._run(
            self._renew, "taking a lease", handle.sid, self.worker_id, self._ttl_ms, record, 1
        )
        return held == 1

    async def renew(
        self, handle: RecordingHandle, metadata: Mapping[str, str] | None = None
    ) -> bool:
        """Extend our lease by ``ttl``; False when another worker holds it now."""
        record = self._record(handle, metadata or {})
        held = await self._run(
            self._renew, "renewing a lease", handle.sid, self.worker_id, self._ttl_ms, record, 0
        )
        return held == 1

    async def release(self, handle: RecordingHandle) -> bool:
        """Forget the recording (it is stopped); False if another worker holds its lease."""
        released = await self._run(self._release, "releasing a lease", handle.sid, self.worker_id)
        return released == 1

    async def hand_over(self, handle: RecordingHandle) -> bool:
        """Give up our lease but keep the recording listed, so another worker adopts it now.

        For draining a worker (a rolling deploy) without stopping its recordings: the janitor
        of another worker claims it at its next round. False if another worker holds it.
        """
        handed = await self._run(
            self._hand_over, "handing over a lease", handle.sid, self.worker_id
        )
        return handed == 1

    async def leases(self) -> list[Lease]:
        """Every stored recording with its owner (``""`` when its lease has expired).

        A record that cannot be read is moved aside (``{namespace}:unreadable``), counted in
        `unreadable` and logged once at ERROR; it never stops the listing.
        """
        found = await self._readable(self._handles, self._read_lease)
        if not found:
            return []
        sids = [lease.handle.sid for lease, _ in found]
        async with _redis_errors("listing leases"):
            owners = await self._redis.mget([self._lease_key(sid) for sid in sids])
            times = await self._redis.hmget(self._times, sids)
        return [
            self._parse(raw, "" if owner is None else _text(owner), when)
            for (lease, raw), owner, when in zip(found, owners, times, strict=True)
        ]

    async def expired(self) -> list[Lease]:
        """The stored recordings whose lease has expired: their worker is gone."""
        return [lease for lease in await self.leases() if not lease.owner]

    async def claim(self, handle: RecordingHandle) -> bool:
        """Take the expired lease of ``handle`` for this worker; exactly one claimer wins."""
        won = await self._run(
            self._claim, "claiming a lease", handle.sid, self.worker_id, self._ttl_ms
        )
        return won == 1

    async def claim_expired(self) -> list[Lease]:
        """Claim every expired lease this worker can; return those it won (held by us now)."""
        won = []
        for lease in await self.expired():
            if await self.claim(lease.handle):
                won.append(attrs.evolve(lease, owner=self.worker_id))
        return won

    # -- the start journal ----------------------------------------------------------------------

    @asynccontextmanager
    async def _bounded(self, what: str) -> AsyncIterator[None]:
        """One journal write within ``write_timeout``: a stall is a WARNING and an AgoraError."""
        try:
            with anyio.fail_after(self.write_timeout):
                yield
        except _STALLED as exc:
            logger.warning(
                "Redis did not record %s within %g s (%s)", what, self.write_timeout, repr(exc)
            )
            raise RedisUnavailableError(
                f"{what}: Redis did not answer within {self.write_timeout:g} s"
            ) from exc

    async def begin(self, intent: StartIntent) -> None:
        """Write ``intent`` (keyed by its resource ID, owned by this worker) before start."""
        what = f"the start intent of resource {intent.resource_id}"
        async with self._bounded(what), self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._intents, intent.resource_id, _intent_json(intent, self.worker_id))
            pipe.set(self._presence_key(self.worker_id), "1", px=self._ttl_ms)
            await pipe.execute()

    async def started(self, intent: StartIntent, handle: RecordingHandle) -> None:
        """Turn the intent into the lease of ``handle.sid`` in one step."""
        async with self._bounded(f"the lease of sid {handle.sid}"):
            held = await self._started(
                keys=[self._handles, self._lease_key(handle.sid), self._intents, self._times],
                args=[
                    handle.sid,
                    self.worker_id,
                    self._ttl_ms,
                    self._record(handle, {}),
                    intent.resource_id,
                ],
            )
        if int(held) != 1:
            logger.warning("sid %s was leased by another worker before start answered", handle.sid)

    async def refused(self, intent: StartIntent) -> None:
        """Forget the intent: the service proved that nothing started."""
        async with self._bounded(f"the refusal of resource {intent.resource_id}"):
            await self._redis.hdel(self._intents, intent.resource_id)

    async def unresolved(self, intent: StartIntent) -> None:
        """Keep the intent for a janitor, which may resolve it at once (we gave up on it)."""
        record = _intent_json(intent, self.worker_id, unresolved=True)
        async with self._bounded(f"the unresolved start of resource {intent.resource_id}"):
            await self._redis.hset(self._intents, intent.resource_id, record)

    async def intents(self) -> list[PendingStart]:
        """The starts written down whose recording has no lease yet, with their owner's state."""
        read = await self._readable(self._intents, lambda _, raw: _intent_from(raw))
        if not read:
            return []
        async with _redis_errors("listing start intents"):
            alive = await self._redis.mget([self._presence_key(owner) for _, owner, _ in read])
        return [
            PendingStart(
                intent=intent, owner=owner, owner_alive=here is not None, unresolved=gave_up
            )
            for (intent, owner, gave_up), here in zip(read, alive, strict=True)
        ]

    async def _keep_present(self) -> None:
        """Renew this worker's presence, so a janitor leaves its intents alone while it lives."""
        while True:
            try:
                with anyio.fail_after(self.write_timeout):
                    await self._redis.set(self._presence_key(self.worker_id), "1", px=self._ttl_ms)
            except _STALLED as exc:
                logger.warning("could not renew the presence of worker %s: %r", self.worker_id, exc)
            await anyio.sleep(self.renew_interval)

    # -- dead letters -----------------------------------------------------------------------------

    async def dead_letters(self) -> list[DeadLetter]:
        """The recordings the janitor gave up on because the service refused them for good."""
        return await self._readable(self._dead, _dead_letter_from)

    async def clear_dead_letter(self, key: str) -> bool:
        """Forget one dead letter (once you stopped it yourself); False if there was none."""
        async with _redis_errors("clearing a dead letter"):
            return int(await self._redis.hdel(self._dead, key)) == 1

    async def _refused(self, lease: Lease, exc: Exception) -> None:
        """The service refused this recording for good: back off, or bury it past the bound."""
        sid = lease.handle.sid
        async with _redis_errors("counting a refusal"):
            refusals = int(await self._redis.hincrby(self._refusals, sid, 1))
        if refusals >= self.max_refusals:
            letter = {
                "handle": converter.unstructure(lease.handle),
                "metadata": dict(lease.metadata),
                "error": str(exc),
                "refusals": refusals,
                "at": self._clock(),
            }
            keys = [self._handles, self._lease_key(sid), self._dead, self._times]
            async with _redis_errors("setting a dead letter aside"):
                await self._bury(keys=keys, args=[sid, self.worker_id, json.dumps(letter)])
                await self._redis.hdel(self._refusals, sid)
            logger.error(
                "sid %s refused %d times (%s): kept as a dead letter (LeaseStore.dead_letters)",
                sid,
                refusals,
                exc,
            )
            return
        backoff = min(self.ttl * 2 ** (refusals - 1), 3600.0)
        record = self._record(lease.handle, lease.metadata)
        await self._run(
            self._renew, "backing off", sid, self.worker_id, math.ceil(backoff * 1000), record, 0
        )
        logger.error(
            "sid %s refused (%s): trying again in %g s (%d of %d)",
            sid,
            exc,
            backoff,
            refusals,
            self.max_refusals,
        )

    # -- holding a lease while recording ------------------------------------------------------

    @asynccontextmanager
    async def hold(
        self, handle: RecordingHandle, metadata: Mapping[str, str] | None = None
    ) -> AsyncIterator[Lease]:
        """Hold the lease of ``handle`` for the block, renewing it in the background.

        Does not release it on exit (see `record`, which releases after the stop). If the lease
        turns out to be another worker's, the block is cancelled and `LeaseLostError` raised.
        """
        meta = dict(metadata or {})
        if not await self.acquire(handle, meta):
            owner = await self._owner(handle.sid)
            raise LeaseLostError(
                f"the lease of sid {handle.sid} is held by {owner!r}", handle=handle, owner=owner
            )
        lost: list[str] = []
        error: BaseException | None = None
        # The body's exception is caught inside the task group and raised after it, so it comes
        # out as itself rather than wrapped in an ExceptionGroup.
        async with anyio.create_task_group() as group:
            group.start_soon(self._renew_loop, handle, meta, group.cancel_scope, lost)
            try:
                yield Lease(handle=handle, owner=self.worker_id, metadata=meta)
            except BaseException as exc:
                error = exc
            finally:
                group.cancel_scope.cancel()
        if lost and (error is None or isinstance(error, anyio.get_cancelled_exc_class())):
            raise LeaseLostError(
                f"the lease of sid {handle.sid} was taken by {lost[0]!r}",
                handle=handle,
                owner=lost[0],
            )
        if error is not None:
            raise error

    async def _renew_loop(
        self,
        handle: RecordingHandle,
        metadata: dict[str, str],
        scope: anyio.CancelScope,
        lost: list[str],
    ) -> None:
        # A renewal that fails is tried again every ``write_timeout`` (not a whole interval
        # later), so a lease outlives a Redis stall shorter than what is left of its ttl.
        wait = self.renew_interval
        while True:
            await anyio.sleep(wait)
            try:
                with anyio.fail_after(min(self.renew_interval, self.write_timeout)):
                    held = await self.renew(handle, metadata)
                    owner = "" if held else await self._owner(handle.sid)
            except (RedisUnavailableError, TimeoutError) as exc:
                logger.warning("could not renew the lease of sid %s: %r", handle.sid, exc)
                self.telemetry.lease_renewal("error")
                wait = min(self.renew_interval, self.write_timeout)
                continue
            wait = self.renew_interval
            self.telemetry.lease_renewal("renewed" if held else "lost")
            if not held:
                logger.error("lease of sid %s taken by %s: giving it up", handle.sid, owner)
                lost.append(owner)
                scope.cancel()
                return

    @asynccontextmanager
    async def record(
        self, session: RecordingSession, metadata: Mapping[str, str] | None = None
    ) -> AsyncIterator[RecordingSession]:
        """Enter ``session`` and hold its lease until the recording is stopped.

        The lease is taken as soon as the session has its handle, renewed while the body runs
        and while the session stops it, and released only once the service confirmed the stop
        (also on cancellation), so a worker dying at any moment after ``start`` leaves the
        recording to the janitor. A stop that was not confirmed keeps the recording listed: its
        lease lapses and a janitor tries again. Works for new sessions and for ones from
        `RecordingSession.adopt` (with a lease we claimed). If another worker took the lease
        (`LeaseLostError`), the session still sends its stop on exit.

        The session journals its start here (`RecordingSession.journal_to`): the intent is
        written before ``start`` is sent and becomes the lease when it answers, and this worker
        renews its presence for the whole block, so a janitor resolves its intents only once it
        is gone.
        """
        session.journal_to(self)
        error: BaseException | None = None
        # The body's exception is caught inside the task group and raised after it, so it comes
        # out as itself rather than wrapped in an ExceptionGroup.
        async with anyio.create_task_group() as group:
            group.start_soon(self._keep_present)
            try:
                async with self._recording(session, metadata) as running:
                    yield running
            except BaseException as exc:
                error = exc
            finally:
                group.cancel_scope.cancel()
        if error is not None:
            raise error

    @asynccontextmanager
    async def _recording(
        self, session: RecordingSession, metadata: Mapping[str, str] | None
    ) -> AsyncIterator[RecordingSession]:
        handle: RecordingHandle | None = None
        try:
            async with session:
                handle = session.handle
                if handle is None:  # pragma: no cover - an entered session has its handle
                    raise UsageError("the session has no handle")
                async with self.hold(handle, metadata):
                    try:
                        yield session
                    finally:
                        with anyio.CancelScope(shield=True):
                            try:
                                await session.stop()
                            except AgoraError as exc:  # kept in session.stop_error
                                logger.error("stop of sid %s failed: %r", handle.sid, exc)
                if session.stop_error is not None:
                    raise session.stop_error
        finally:
            confirmed = session.stop_outcome is not None and session.stop_error is None
            if handle is not None and confirmed:
                await self._release_quietly(handle)

    async def _release_quietly(self, handle: RecordingHandle) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(self.renew_interval):
            try:
                await self.release(handle)
            except RedisUnavailableError as exc:
                logger.warning("could not release the lease of sid %s: %r", handle.sid, exc)

    # -- the janitor ----------------------------------------------------------------------------

    async def adopt_expired(
        self,
        client: RecordingClient,
        *,
        adopt: Callable[[RecordingSession, Lease], Awaitable[None]] | None = None,
        session_options: Mapping[str, Any] | None = None,
    ) -> list[Lease]:
        """One janitor round: claim the expired leases, stop (or continue) their recordings.

        Without ``adopt``, each claimed recording is stopped (`RecordingClient.ensure_stopped`)
        under our lease, which is then released. With ``adopt``, the recording is adopted with
        `RecordingSession.adopt` (``session_options`` passed on) and ``adopt(session, lease)``
        is awaited inside it under our lease: the recording continues until it returns, then
        stops. Recordings are handled concurrently; returns the leases this round won.
        """
        from ._session import check_adopt_options

        session_options = check_adopt_options(client, session_options)
        won = await self.claim_expired()
        if won:
            async with anyio.create_task_group() as group:
                for lease in won:
                    group.start_soon(self._take_over, client, lease, adopt, session_options)
        return won

    async def _take_over(
        self,
        client: RecordingClient,
        lease: Lease,
        adopt: Callable[[RecordingSession, Lease], Awaitable[None]] | None,
        session_options: Mapping[str, Any] | None,
    ) -> None:
        handle = lease.handle
        logger.info("adopting sid %s (its lease expired)", handle.sid)
        self.telemetry.adoption()
        try:
            if adopt is None:
                stopped = False
                try:
                    async with self.hold(handle, lease.metadata):
                        await client.ensure_stopped(handle)
                        stopped = True
                finally:
                    if stopped:
                        await self._release_quietly(handle)
                return
            from ._session import RecordingSession

            session = RecordingSession.adopt(client, handle, **dict(session_options or {}))
            async with self.record(session, lease.metadata) as adopted:
                await adopt(adopted, lease)
        except Exception as exc:
            if _refused_for_good(exc):
                with suppress(RedisUnavailableError):
                    await self._refused(lease, exc)
                return
            # The lease lapses again and another round (here or elsewhere) tries once more.
            logger.error("adopting sid %s failed: %r", handle.sid, exc)

    async def resolve_intents(
        self,
        notifications: NotificationHub | None = None,
        *,
        task_group: anyio.abc.TaskGroup | None = None,
    ) -> None:
        """One round over the intents whose owner is gone (or gave up on them).

        With ``notifications``, each is claimed by one janitor, which listens to the hub for
        the cname and uid (in ``task_group`` when given): a recording of that pair that began
        after the intent, and that nobody leased, is listed for the janitor to stop or adopt.
        Without, or when nothing is heard by the time the resource ID expired
        (`RESOURCE_LIFETIME` after the intent), the intent is forgotten with an ERROR naming
        it: a recording nobody can find may be running.
        """
        now = self._clock()
        for pending in await self.intents():
            if pending.owner_alive and not pending.unresolved:
                continue
            intent = pending.intent
            left = intent.began_at + RESOURCE_LIFETIME - now
            if notifications is None:
                if left <= 0:
                    await self._expire(intent)
                continue
            wait = max(left, _HEARD_EVERY)
            claim = f"{self.namespace}:intent-claim:{intent.resource_id}"
            async with _redis_errors("claiming a start intent"):
                won = await self._redis.set(
                    claim, self.worker_id, nx=True, px=math.ceil((wait + self.ttl) * 1000)
                )
            if not won:
                continue
            if task_group is None:
                await self._listen(intent, notifications, wait)
            else:
                task_group.start_soon(self._listen, intent, notifications, wait)

    async def _listen(self, intent: StartIntent, hub: NotificationHub, wait: float) -> None:
        sid: str | None = None
        try:
            with anyio.move_on_after(wait):
                sid = await self._hear(intent, hub)
            if sid is None:
                await self._expire(intent)
                return
            handle = intent.handle(sid)
            async with _redis_errors("listing a found recording"):
                listed = await self._found(
                    keys=[self._intents, self._handles],
                    args=[intent.resource_id, sid, self._record(handle, {})],
                )
            if int(listed) == 1:
                logger.warning(
                    "found sid %s of the unleased start on cname %r uid %r by its "
                    "notifications: listed for the janitor",
                    sid,
                    intent.cname,
                    intent.uid,
                )
        except RedisUnavailableError as exc:  # the claim lapses; a later round tries again
            logger.warning("resolving the start of resource %s: %r", intent.resource_id, exc)

    async def _hear(self, intent: StartIntent, hub: NotificationHub) -> str:
        """The sid of the first unleased recording of the intent's pair heard after it began."""
        while True:
            with hub.subscribe(cname=intent.cname, uid=intent.uid) as events:
                async for note in events:
                    sent = note.sendts
                    if note.sid is None or (sent is not None and sent < intent.began_at * 1000):
                        break  # another recording of the pair: listen again
                    async with _redis_errors("checking a found recording"):
                        known = await self._redis.hexists(self._handles, note.sid)
                    if not known:
                        return note.sid
                    break

    async def _expire(self, intent: StartIntent) -> None:
        async with _redis_errors("expiring a start intent"):
            gone = int(await self._redis.hdel(self._intents, intent.resource_id))
        if gone:
            logger.error(
                "the start on cname %r uid %r (resource %s, sent at %s) was never answered and "
                "its worker is gone; its resource expired: a recording nobody can stop may be "
                "running on that channel",
                intent.cname,
                intent.uid,
                intent.resource_id,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(intent.began_at)),
            )

    async def janitor(
        self,
        client: RecordingClient,
        *,
        interval: float | None = None,
        adopt: Callable[[RecordingSession, Lease], Awaitable[None]] | None = None,
        session_options: Mapping[str, Any] | None = None,
        on_adopted: Callable[[Lease], object] | None = None,
        notifications: NotificationHub | None = None,
    ) -> None:
        """Run janitor rounds every ``interval`` seconds (default ``ttl / 4``) until cancelled.

        Each recording it wins is handled in the background while the rounds go on; see
        `adopt_expired` for ``adopt`` and ``session_options``. ``on_adopted`` is called with
        each lease won. Each round also resolves the start intents of gone workers (see
        `resolve_intents`, given ``notifications``). Redis errors and unreadable records are
        logged and the next round tries again: the janitor never dies of them.
        """
        from ._session import check_adopt_options

        session_options = check_adopt_options(client, session_options)
        every = self.ttl / 4 if interval is None else seconds("interval", interval)
        async with anyio.create_task_group() as group:
            while True:
                won: list[Lease] = []
                try:
                    with anyio.fail_after(max(every, 1.0)):
                        won = await self.claim_expired()
                except (RedisUnavailableError, TimeoutError) as exc:
                    logger.warning("janitor round failed: %r", exc)
                for lease in won:
                    if on_adopted is not None:
                        on_adopted(lease)
                    group.start_soon(self._take_over, client, lease, adopt, session_options)
                try:
                    with anyio.fail_after(max(every, 1.0)):
                        await self.resolve_intents(notifications, task_group=group)
                except (RedisUnavailableError, TimeoutError) as exc:
                    logger.warning("janitor round over start intents failed: %r", exc)
                await anyio.sleep(every)
