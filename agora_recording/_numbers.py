"""The one check for every number a user passes us: durations, counts and rates.

A duration of ``math.inf`` (or NaN, ``True``, ``10**400``) that passes one constructor and is
refused by the next layer fails at the worst moment: at exit, before the stop is sent, leaving
the recording running. So every duration, count and rate of a session, client, receiver, hub,
lease store or limiter goes through these functions once, at construction, before any request:
finite, in range, of the right type, ``bool`` refused (Python counts it as an int), huge ints
refused before anything converts them. Each raises `ValidationError` (an `AgoraError` and a
``ValueError``) naming the field and the rule.
"""

from __future__ import annotations

import math
from typing import Final

from .errors import ValidationError

__all__ = [
    "MAX_COUNT",
    "MAX_RATE",
    "MAX_SECONDS",
    "MIN_RATE",
    "count",
    "optional_seconds",
    "rate",
    "seconds",
]

#: The longest duration we accept: ten years, far beyond any recording (the longest resource
#: lifetime is 720 hours) and far below what an event loop's clock can add without overflow.
MAX_SECONDS: Final = 10 * 365 * 24 * 3600.0
#: The largest count we accept (buffers, error runs, nesting): a billion.
MAX_COUNT: Final = 1_000_000_000
#: The slowest rate we accept, in events per second: one a day. Anything slower makes the
#: spacing between two requests overflow the arithmetic that schedules them.
MIN_RATE: Final = 1 / 86_400
#: The fastest rate we accept: far beyond any quota Agora documents.
MAX_RATE: Final = 1_000_000.0


def _real(name: str, value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(name, f"must be {what}, not {type(value).__name__}")
    if isinstance(value, int) and abs(value) > MAX_COUNT * MAX_SECONDS:
        raise ValidationError(name, f"must be {what} of a sensible size")
    if not math.isfinite(value):
        raise ValidationError(name, f"must be {what} (finite)")
    return float(value)


def seconds(
    name: str, value: object, *, allow_zero: bool = False, maximum: float = MAX_SECONDS
) -> float:
    """A duration in seconds: positive (or >= 0 with ``allow_zero``), finite, at most
    ``maximum`` (ten years by default)."""
    number = _real(name, value, "a number of seconds")
    if allow_zero and not number >= 0:
        raise ValidationError(name, "must be a number of seconds >= 0")
    if not allow_zero and not number > 0:
        raise ValidationError(name, "must be a positive number of seconds")
    if number > maximum:
        raise ValidationError(name, f"must be at most {maximum:g} seconds")
    return number


def optional_seconds(name: str, value: object, *, allow_zero: bool = False) -> float | None:
    """`seconds`, with ``None`` passed through (meaning "the default")."""
    return None if value is None else seconds(name, value, allow_zero=allow_zero)


def count(name: str, value: object, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """A whole number of things in ``[minimum, maximum]``; floats (``2.5``, even ``2.0``) and
    bools are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, f"must be a whole number, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise ValidationError(name, f"must be between {minimum} and {maximum}")
    return value


def rate(name: str, value: object) -> float:
    """Events per second: positive, finite, between one a day and a million a second."""
    number = _real(name, value, "a number per second")
    if not MIN_RATE <= number <= MAX_RATE:
        raise ValidationError(
            name, f"must be a number per second between {MIN_RATE:.3g} and {MAX_RATE:g}"
        )
    return number
