"""Request counters of an emulator, per App ID, endpoint and answered status.

Benchmarks and fleet tests read them to report how many requests reached the service, how
many the quota turned away with 429, and which share of the App ID's quota a fleet used.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Stats"]

#: The status counted for a call whose connection the emulator dropped (fault).
DROPPED = 0


class Stats:
    """Counts every call of the six REST endpoints (``emulator.stats``).

    ``requests`` counts calls, ``rate_limited`` the 429s the quota answered (injected 429s
    are counted by :meth:`answered` only), ``answered`` the answers with a given status (0 for a
    dropped connection). Each takes optional ``app_id`` and ``endpoint`` filters.
    """

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._answers: Counter[tuple[str, str, int]] = Counter()  # (app, endpoint, status)
        self._limited: Counter[tuple[str, str]] = Counter()

    def record(self, app_id: str, endpoint: str, status: int, *, rate_limited: bool) -> None:
        """Count one call and its answer (used by the app)."""
        with self._lock:
            self._answers[(app_id, endpoint, status)] += 1
            if rate_limited:
                self._limited[(app_id, endpoint)] += 1

    def requests(self, app_id: str | None = None, endpoint: str | None = None) -> int:
        """Calls received (every answer, quota refusals included)."""
        with self._lock:
            return sum(
                n for (a, e, _), n in self._answers.items() if _match(a, e, app_id, endpoint)
            )

    def rate_limited(self, app_id: str | None = None, endpoint: str | None = None) -> int:
        """429s answered because the App ID's quota was exhausted."""
        with self._lock:
            return sum(n for (a, e), n in self._limited.items() if _match(a, e, app_id, endpoint))

    def admitted(self, app_id: str | None = None, endpoint: str | None = None) -> int:
        """Calls that passed the quota (they used a token of it)."""
        return self.requests(app_id, endpoint) - self.rate_limited(app_id, endpoint)

    def answered(self, status: int, app_id: str | None = None, endpoint: str | None = None) -> int:
        """Answers with HTTP ``status`` (injected faults included; 0: dropped connections)."""
        with self._lock:
            return sum(
                n
                for (a, e, s), n in self._answers.items()
                if s == status and _match(a, e, app_id, endpoint)
            )

    def quota_share(self, app_id: str, seconds: float) -> float:
        """The share of ``app_id``'s quota its admitted calls used over ``seconds`` of clock:
        ``admitted / (rate_limit * seconds)`` (0.0 without a rate limit or a duration)."""
        if not self.rate or seconds <= 0:
            return 0.0
        return self.admitted(app_id) / (self.rate * seconds)

    def as_dict(self) -> dict[str, Any]:
        """``{app_id: {endpoint: {"requests", "rate_limited", "statuses": {status: n}}}}``."""
        result: dict[str, Any] = {}
        with self._lock:
            for (app, endpoint, status), n in sorted(self._answers.items()):
                entry = result.setdefault(app, {}).setdefault(
                    endpoint,
                    {"requests": 0, "rate_limited": self._limited[(app, endpoint)], "statuses": {}},
                )
                entry["requests"] += n
                entry["statuses"][str(status)] = n
        return result

    def clear(self) -> None:
        """Reset every counter."""
        with self._lock:
            self._answers.clear()
            self._limited.clear()

    def __repr__(self) -> str:
        return f"Stats(requests={self.requests()}, rate_limited={self.rate_limited()})"


def _match(app: str, endpoint: str, app_id: str | None, wanted: str | None) -> bool:
    return (app_id is None or app == app_id) and (wanted is None or endpoint == wanted)
