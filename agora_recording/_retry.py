"""Retries at the transport seam, through stamina, per Agora's documented guidance.

============================  =========  ===================================================
Outcome                       Retried?   Backoff
============================  =========  ===================================================
transport error (no answer)   yes        exponential + jitter; moves to the next host
5xx (ServerError)             yes        exponential + jitter; moves to the next host
429 (RateLimitError)          yes        ``Retry-After`` (1 s when absent) + jitter, inside
                                         the attempt: never spends one (see ``_client``)
206 + code 65                 yes        exponential + jitter, same host, same request
other 4xx, 201/7, 206/435     no         (raised at once)
ValidationError, bad 2xx      no         (raised at once)
============================  =========  ===================================================

A call that succeeds first time never enters stamina: the first attempt runs bare, and only a
retryable failure opens ``stamina.retry_context``, whose first "attempt" re-raises that failure
so stamina computes the first backoff and counts attempts as usual. Backoffs are computed here
and handed to stamina as custom backoffs, so the retry decision can refuse a wait that would
overrun the call's deadline (or a 429's ``Retry-After`` beyond it); ``stamina.set_testing()`` makes
every wait zero. Nothing about arguments is logged: a start body holds storage keys and tokens.
"""

from __future__ import annotations

import logging
import random as _random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import attrs

from ._protocol import is_retryable
from ._ratelimit import jittered_pause
from .errors import APIError, RateLimitError, ServerError, TransportError, ValidationError

__all__ = ["RetryPolicy", "describe_failure", "moves_host", "retry_after"]

T = TypeVar("T")

logger = logging.getLogger("agora_recording")
#: The one INFO line of a retried call; its own logger, so an application (the CLI) can show
#: it without the rest of the library's INFO lines.
retry_logger = logging.getLogger("agora_recording.retry")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValidationError(attribute.name, "must be a number >= 0")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many attempts one call may make and how long to wait between them.

    The n-th wait is ``min(wait_max, wait_initial * wait_exp_base ** (n - 1) + U(0, wait_jitter))``
    seconds: about 1-2 s, 2-3 s, 4-5 s, 8-9 s with the defaults, close to the documented
    1 s / 3 s / 6 s domain-failover and 3 s / 6 s "request not completed" guidance. A 429
    waits its ``Retry-After`` plus jitter instead (`rate_limited_wait`). ``random`` gives the
    jitter (numbers in [0, 1); inject a seeded one for reproducible runs).
    """

    attempts: int = attrs.field(default=5)
    wait_initial: float = attrs.field(default=1.0, validator=_non_negative)
    wait_max: float = attrs.field(default=10.0, validator=_non_negative)
    wait_jitter: float = attrs.field(default=1.0, validator=_non_negative)
    wait_exp_base: float = attrs.field(default=2.0, validator=_non_negative)
    random: Callable[[], float] = attrs.field(default=_random.random, eq=False, repr=False)

    @attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("attempts", "must be an integer >= 1")

    def backoff(self, retry_number: int, exc: BaseException) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based) after ``exc``."""
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return self.rate_limited_wait(exc)
        jitter = self.random() * self.wait_jitter if self.wait_jitter else 0.0
        try:
            grown = self.wait_initial * self.wait_exp_base ** (retry_number - 1)
        except OverflowError:
            return self.wait_max
        return min(self.wait_max, grown + jitter)

    def rate_limited_wait(self, exc: RateLimitError) -> float:
        """Seconds before sending again after a 429: its ``Retry-After`` (1 s when absent, at most
        a minute) plus jitter (`_ratelimit.jittered_pause`)."""
        return jittered_pause(exc.retry_after, self.random)


def moves_host(exc: BaseException) -> bool:
    """Whether another host might do better: no answer at all, or a 5xx from this one."""
    return isinstance(exc, (TransportError, ServerError))


def describe_failure(exc: BaseException) -> str:
    """A short, secret-free description of a failure for log lines."""
    if isinstance(exc, APIError):
        code = f" code {exc.code}" if exc.code is not None else ""
        return f"HTTP {exc.status_code}{code}"
    if isinstance(exc, TransportError) and exc.__cause__ is not None:
        return f"TransportError ({type(exc.__cause__).__name__})"
    return type(exc).__name__


def retry_reason(exc: BaseException) -> str:
    """Why a call is retried, for its one INFO line: a transport error's message names the URL,
    the cause and the setting to check; an answer is named by its status and code."""
    if isinstance(exc, TransportError):
        return str(exc)
    return describe_failure(exc)


async def retry_after(
    failure: Exception,
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    retry_until: float | Callable[[], float],
    label: str,
    clock: Callable[[], float] = anyio.current_time,
) -> T:
    """Attempt 1 failed with ``failure``: raise it if it is final, else retry through stamina.

    ``attempt`` receives the 1-based attempt number. No retry starts whose backoff would end
    after ``retry_until`` (a ``clock()`` time, or a function giving it, since a call's deadline
    moves back by the time it waited for the client's quota): the caller's deadline, or for
    start the end of the resource ID's validity. ``label`` names the call in log lines (endpoint and
    IDs, no secrets). A 429 is never retried here: the attempt waits out 429s itself, so one
    that escapes it means the call's deadline (or its patience with 429s) ran out. A call that
    succeeds the first time never comes here (it pays nothing for the retry machinery).
    """
    if not is_retryable(failure) or isinstance(failure, RateLimitError):
        raise failure
    pending: Exception | None = failure
    last: Exception = failure

    waits: list[float] = []

    def decide(exc: BaseException) -> bool | float:
        if not is_retryable(exc) or isinstance(exc, RateLimitError):
            return False
        delay = policy.backoff(len(waits) + 1, exc)
        until = retry_until() if callable(retry_until) else retry_until
        if clock() + delay >= until:
            logger.debug("%s: not retrying after %s: out of time", label, describe_failure(exc))
            return False
        waits.append(delay)
        return delay

    import stamina  # on the first retry only: it costs an import to load

    async for try_ in stamina.retry_context(on=decide, attempts=policy.attempts, timeout=None):
        with try_:
            if pending is not None:
                replay, pending = pending, None
                raise replay
            if try_.num == 2:  # said once per call, with why; the later attempts at DEBUG
                retry_logger.info(
                    "%s: retrying (up to %d attempts) after %s",
                    label,
                    policy.attempts,
                    retry_reason(last),
                )
            logger.debug(
                "%s: attempt %d after %s, waited %.2f s",
                label,
                try_.num,
                describe_failure(last),
                waits[-1] if waits else 0.0,
            )
            try:
                return await attempt(try_.num)
            except Exception as exc:
                last = exc
                raise
    raise AssertionError("unreachable")  # pragma: no cover
