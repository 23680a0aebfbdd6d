"""`attempt_timer`: the clock and the deadline of one attempt, at the least cost the loop allows.

Every attempt of the client runs under a deadline that bounds it as a whole, because httpx
applies its timeout to each read and a server that trickles bytes keeps every read under it.
anyio's cancel scope is the general tool, and what Trio (and Python 3.10) get. On asyncio from
Python 3.11 a timer that cancels the task does the same for less than half the cost, the way
``asyncio.timeout`` works: ``Task.uncancel`` takes our cancellation back when it fired, so
anyio's scopes around the attempt still count theirs. The same timer reads the loop's clock
directly instead of through anyio's backend lookup. A request is sent thousands of times per
recording, so the difference shows in a client's CPU.

Rules the asyncio timer keeps, so it never swallows a cancellation that is not its own:

- when the timer fires, it cancels the task one loop iteration later, so that a caller's
  cancel scope due at the same moment delivers its cancellation first;
- when somebody else is already cancelling the task by then, it does nothing: their
  cancellation ends the attempt, and its message (anyio's scopes recognise theirs by it)
  stays the one the task sees;
- on exit, an `asyncio.CancelledError` becomes `TimeoutError` only when the timer fired and
  no other cancellation is pending; otherwise it goes on as it came.
"""

from __future__ import annotations

import asyncio
import math
import sys
from types import TracebackType
from typing import Literal

import anyio

__all__ = ["AttemptTimer", "attempt_timer"]


class AttemptTimer:
    """``now()`` reads the event loop's clock; ``with timer.until(at):`` raises `TimeoutError`
    if the block still runs at ``at``. anyio's clock and cancel scope: any backend."""

    __slots__ = ("_scope",)

    def __init__(self) -> None:
        self._scope = anyio.CancelScope()

    def now(self) -> float:
        return anyio.current_time()

    def until(self, at: float) -> AttemptTimer:
        self._scope.deadline = at
        return self

    def __enter__(self) -> None:
        self._scope.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        swallowed = bool(self._scope.__exit__(exc_type, exc, traceback))
        if self._scope.cancelled_caught:
            raise TimeoutError
        return swallowed


if sys.version_info >= (3, 11):  # ``Task.cancelling``/``Task.uncancel``

    class _TaskTimer(AttemptTimer):
        """The same on asyncio: the loop's own clock, and a timer that cancels the task (see
        the module docstring)."""

        __slots__ = ("_at", "_cancelling", "_fired", "_handle", "_loop", "_task")

        def __init__(self, task: asyncio.Task[object]) -> None:
            self._task = task
            self._loop = task.get_loop()
            self._at = math.inf
            self._fired = False
            self._cancelling = 0
            self._handle: asyncio.Handle | None = None

        def now(self) -> float:
            return self._loop.time()

        def until(self, at: float) -> AttemptTimer:
            self._at = at
            return self

        def __enter__(self) -> None:
            self._cancelling = self._task.cancelling()
            self._handle = self._loop.call_at(self._at, self._expire)

        def _expire(self) -> None:
            self._handle = self._loop.call_soon(self._fire)  # after others due now

        def _fire(self) -> None:
            if self._task.cancelling() > self._cancelling:
                return  # another cancellation already ends the attempt: it keeps its message
            self._fired = True
            self._task.cancel()

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            traceback: TracebackType | None,
        ) -> Literal[False]:
            assert self._handle is not None
            self._handle.cancel()
            if (
                self._fired
                and self._task.uncancel() <= self._cancelling
                and exc_type is not None
                and issubclass(exc_type, asyncio.CancelledError)
            ):
                raise TimeoutError from None
            return False


def attempt_timer() -> AttemptTimer:
    """The timer of one attempt, for the event loop running it (one ``with`` block each)."""
    if sys.version_info >= (3, 11):
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no asyncio loop running here: Trio
            task = None
        if task is not None:
            return _TaskTimer(task)
    return AttemptTimer()
