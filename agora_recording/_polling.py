"""The poll budget: how often sessions may poll when many share one client's quota.

Routine polls of all the sessions of a client take at most ``share`` of its rate (half by
default), so each session's effective interval is ``max(poll_interval, sessions / (rate *
share))``: at 10 requests per second, 100 sessions poll every 20 s, 1,000 every 200 s. The rest
of the quota stays free for stops, starts, acquires, updates and health polls (the limiter
orders those; see ``_ratelimit``). Without a rate limit nothing is stretched.
"""

from __future__ import annotations

import logging
import math

from .errors import ArgumentTypeError, ValidationError

__all__ = ["PollBudget"]

logger = logging.getLogger("agora_recording")


class PollBudget:
    """Counts the polling sessions of a client and stretches their interval to fit the quota."""

    __slots__ = ("_rate", "_stretched", "sessions", "share")

    def __init__(self, rate: float | None, *, share: float = 0.5) -> None:
        if isinstance(share, bool) or not isinstance(share, (int, float)):
            raise ArgumentTypeError("share must be a number between 0 and 1")
        if not 0 < share <= 1:
            raise ValidationError("share", "must be more than 0 and at most 1")
        self.share = float(share)
        self._rate = rate
        self.sessions = 0
        self._stretched = False

    @property
    def polls_per_second(self) -> float:
        """The rate routine polls may use together (infinite without a rate limit)."""
        return math.inf if self._rate is None else self._rate * self.share

    def join(self) -> None:
        """A session starts polling."""
        self.sessions += 1

    def leave(self) -> None:
        """A session stops polling."""
        self.sessions = max(0, self.sessions - 1)

    def interval(self, poll_interval: float) -> float:
        """The interval a session asking for ``poll_interval`` gets now."""
        needed = self.sessions / self.polls_per_second
        stretched = needed > poll_interval
        if stretched != self._stretched:
            self._stretched = stretched
            if stretched:
                logger.info(
                    "%d sessions share %.1f polls/s: each polls every %.0f s instead of %g s",
                    self.sessions,
                    self.polls_per_second,
                    needed,
                    poll_interval,
                )
            else:
                logger.info("polls back to every %g s", poll_interval)
        return max(poll_interval, needed)
