"""The emulator's driver loop: make timers happen when they fall due, and deliver NCS callbacks.

Everything time-driven in the emulator is settled lazily, whenever a request looks. That is
enough for status and expiry, but a notification about an idle exit or a failover must be sent
when it happens, with nobody asking. The loop sleeps until the earliest pending timer (or
queued delivery) on the emulator's clock, settles, delivers, and sleeps again. A change made
in the loop's own thread (a request, a channel change) wakes it at once; one made from another
thread is noticed within ``poll_interval``. Under a :class:`LoopClock` the sleeps are on the
event loop's clock, so virtual time (Trio's ``MockClock``, ``looptime``) runs them instantly.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["Wakeup", "drive"]


class Wakeup:
    """A wake-up call for the driver, safe to ring from any thread (other threads only set a
    flag, seen at the next poll)."""

    def __init__(self) -> None:
        self._thread = threading.get_ident()
        self._pending = False
        self._event: anyio.Event | None = None
        self._until: float | None = None  # clock time the driver sleeps until

    def ring(self, due: float) -> None:
        """Tell the driver something falls due at clock time ``due``: it wakes up now unless it
        was going to wake up by then anyway."""
        if self._until is not None and due >= self._until:
            return
        self._pending = True
        if self._event is not None and threading.get_ident() == self._thread:
            self._event.set()

    async def wait(self, seconds: float, until: float) -> None:
        """Sleep up to ``seconds`` (until clock time ``until``), or until rung."""
        if not self._pending:
            self._event = anyio.Event()
            self._until = until
            with anyio.move_on_after(seconds):
                await self._event.wait()
            self._event = self._until = None
        self._pending = False


async def drive(
    *,
    now: Callable[[], float],
    settle: Callable[[], object],
    next_due: Callable[[], float | None],
    wakeup: Wakeup,
    poll_interval: float,
    work: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Settle (and run ``work``) whenever something falls due, until cancelled."""
    while True:
        settle()
        if work is not None:
            await work()
        due = next_due()
        current = now()
        wait = poll_interval if due is None else min(poll_interval, max(0.0, due - current))
        await wakeup.wait(wait, current + wait)
