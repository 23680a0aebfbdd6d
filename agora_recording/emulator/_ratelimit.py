"""The service's request quota: a token bucket per App ID on the emulator's clock.

``rate`` requests per second, with bursts up to ``rate``. It runs on the emulator clock, so
with a :class:`FakeClock` the bucket refills only when the test advances time.
"""

from __future__ import annotations

import math
import threading

__all__ = ["RateLimiter"]


class RateLimiter:
    """Per-key token buckets; ``acquire`` returns None when allowed, else seconds to wait."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate_limit must be > 0 (or None to turn it off)")
        self.rate = float(rate)
        self._capacity = max(1.0, self.rate)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float) -> float | None:
        """Take one token for ``key`` at time ``now``; None if granted, else the retry delay."""
        with self._lock:
            tokens, last = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + max(0.0, now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after_header(delay: float) -> str:
        """Whole seconds for a ``Retry-After`` header (at least 1)."""
        return str(max(1, math.ceil(delay)))
