"""`attempt_timer`: the clock and the deadline of one attempt, at the least cost the loop allows.

Every attempt of the client runs under a deadline that bounds it as a whole, because httpx
applies its timeout to each read and a server that trickles bytes keeps every read under it.
anyio's cancel scope is the general tool, and what Trio (and Python 3.10) get. On asyncio from
Python 3.11 a timer that cancels the task does the same for a third of the cost, the way
``asyncio.timeout`` works: ``Task.uncancel`` takes our cancellation back when it fired, so
anyio's scopes around the attempt still count theirs. The same timer reads the loop's clock
directly instead of through anyio's backend lookup. A request is sent thousands of times per
recording, so the difference shows in a client's CPU.

A bare ``asyncio.timeout`` would not do: a task's own cancellation ignores anyio's shielded
scopes, and httpcore closes every response, and the connections it gives up, inside one (an
interrupted close leaves the connection pool believing a request still holds a connection).
So the timer keeps anyio's rules, reading anyio's record of the task's cancel scopes:

- it never cancels the task while a shielded scope entered inside the attempt is open: it
  looks again every `RECHECK` seconds, and cancels once the shield is gone (anyio's scope
  delivers its cancellation at the same point);
- when it fires, it cancels the task one loop iteration later, so that a caller's cancel scope
  due at the same moment delivers its cancellation first;
- when somebody else is already cancelling the task by then, it waits as for a shield: their
  cancellation usually ends the attempt, and its message (anyio's scopes recognise theirs by
  it) stays the one the task sees; if an inner scope absorbs it, the deadline still comes;
- on exit, an `asyncio.CancelledError` becomes `TimeoutError` only when the timer fired and
  no other cancellation is pending; otherwise it goes on as it came.

Where anyio keeps that record differently (it is not public), `attempt_timer` falls back to
anyio's cancel scope.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Mapping
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio

if TYPE_CHECKING:
    import asyncio

__all__ = ["RECHECK", "AttemptTimer", "attempt_timer"]

#: Seconds between two looks at an expired deadline held up by a shielded section or by another
#: cancellation under way.
RECHECK = 0.005


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

        __slots__ = (
            "_at",
            "_cancelling",
            "_entered_in",
            "_fired",
            "_handle",
            "_loop",
            "_states",
            "_task",
        )

        def __init__(self, task: asyncio.Task[object], states: Mapping[object, Any]) -> None:
            self._task = task
            self._states = states
            self._loop = task.get_loop()
            self._at = math.inf
            self._fired = False
            self._cancelling = 0
            self._entered_in: object = None
            self._handle: asyncio.Handle | None = None

        def now(self) -> float:
            return self._loop.time()

        def until(self, at: float) -> AttemptTimer:
            self._at = at
            return self

        def __enter__(self) -> None:
            self._cancelling = self._task.cancelling()
            self._entered_in = self._innermost_scope()
            self._handle = self._loop.call_at(self._at, self._expire)

        def _innermost_scope(self) -> Any:
            state = self._states.get(self._task)
            return None if state is None else state.cancel_scope

        def _shielded(self) -> bool:
            """Whether a shielded anyio scope entered inside the attempt is open now."""
            scope = self._innermost_scope()
            while scope is not None and scope is not self._entered_in:
                if scope.shield:
                    return True
                scope = scope._parent_scope
            return False

        def _expire(self) -> None:
            self._handle = self._loop.call_soon(self._fire)  # after others due now

        def _fire(self) -> None:
            # Another cancellation under way (it keeps its message, and usually ends the
            # attempt; one an inner scope absorbs does not), or a shield: look again later.
            if self._task.cancelling() > self._cancelling or self._shielded():
                self._handle = self._loop.call_later(RECHECK, self._fire)
                return
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
                and issubclass(exc_type, sys.modules["asyncio"].CancelledError)
            ):
                raise TimeoutError from None
            return False


def attempt_timer() -> AttemptTimer:
    """The timer of one attempt, for the event loop running it (one ``with`` block each)."""
    # asyncio is imported by whoever runs its loop; importing it here would cost every import.
    asyncio = sys.modules.get("asyncio")
    if sys.version_info >= (3, 11) and asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no asyncio loop running here: Trio
            task = None
        if task is not None:
            backend = sys.modules.get("anyio._backends._asyncio")  # loaded once anyio runs
            states = None if backend is None else _task_states(backend)
            if states is not None:
                return _TaskTimer(task, states)
    return AttemptTimer()


@functools.cache
def _task_states(backend: ModuleType) -> Mapping[object, Any] | None:
    """anyio's record of each asyncio task's cancel scopes, if anyio keeps it the way
    `_TaskTimer` reads it (innermost scope, each scope's ``shield`` and parent)."""
    states = getattr(backend, "_task_states", None)
    try:
        state = backend.TaskState(None, None)
        scope = backend.CancelScope()
        readable = state.cancel_scope is None and scope.shield is False
        readable = readable and scope._parent_scope is None
    except (AttributeError, TypeError):
        return None
    return states if readable and isinstance(states, Mapping) else None
