"""The service's request quota per App ID, whose excess the gateway answers with 429.

A token bucket per App ID: ``rate`` requests per second, with bursts up to ``rate`` (Agora's
"Response status codes" page: 429 when an App ID exceeds the allowed request rate). It runs on
the emulator clock, so with a :class:`FakeClock` the bucket refills only when the test advances
time, and with a :class:`LoopClock` it refills as the event loop's (possibly virtual) time
passes.

A *competing load* simulates another process sharing the App ID: it drains its rate of
tokens per second from the bucket, computed lazily from the clock like the refill (no
background task), so only what is left is available to the callers the emulator sees.
"""

from __future__ import annotations

import math
import threading

from agora_recording.errors import ValidationError

__all__ = ["AppQuota"]


class AppQuota:
    """The requests each App ID may still make: :meth:`take` returns None when a request is
    within the quota, else the seconds until it would be."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValidationError("rate_limit", "must be > 0 (or None to turn it off)")
        self.rate = float(rate)
        self._capacity = max(1.0, self.rate)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._load: dict[str, float] = {}  # key -> tokens per second taken by others
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        """The bucket of ``key`` brought up to ``now`` (lock held)."""
        tokens, last = self._buckets.get(key, (self._capacity, now))
        net = self.rate - self._load.get(key, 0.0)
        tokens += max(0.0, now - last) * net
        return min(self._capacity, max(0.0, tokens))

    def take(self, key: str, now: float) -> float | None:
        """Take one token for ``key`` at time ``now``; None if granted, else the retry delay."""
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            net = self.rate - self._load.get(key, 0.0)
            if net <= 0:
                return 1.0  # the others take everything: try again in a second, and lose again
            return (1.0 - tokens) / net

    def add_load(self, key: str, rate: float, now: float) -> float:
        """Add ``rate`` tokens per second of competing load on ``key`` from ``now`` on (a
        negative rate removes load); return the total load."""
        with self._lock:
            self._buckets[key] = (self._tokens(key, now), now)
            load = max(0.0, self._load.get(key, 0.0) + rate)
            if load:
                self._load[key] = load
            else:
                self._load.pop(key, None)
            return load

    def clear_load(self, now: float) -> None:
        """Remove every competing load from ``now`` on."""
        with self._lock:
            for key in list(self._load):
                self._buckets[key] = (self._tokens(key, now), now)
            self._load.clear()

    def load(self, key: str) -> float:
        """The competing load on ``key`` in tokens per second."""
        with self._lock:
            return self._load.get(key, 0.0)

    @staticmethod
    def retry_after_header(delay: float) -> str:
        """Whole seconds for a ``Retry-After`` header (at least 1)."""
        return str(max(1, math.ceil(delay)))
