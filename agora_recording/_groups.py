"""Task groups held across a user's block: the user's own exception comes out as itself.

A session, a `Recorder` and a `SignalDrain` each hold one task group for their own background
work from their ``__aenter__`` to their ``__aexit__`` (`enter_group`, `leave_group`). anyio task
groups wrap what escapes them in (nested) exception groups; none of these may hand its user an
``ExceptionGroup`` for an exception the user's own code raised (`unwrap`).
"""

from __future__ import annotations

import sys
from types import TracebackType

import anyio
import anyio.abc

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - anyio depends on this backport below 3.11
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

__all__ = ["add_note", "enter_group", "leave_group", "unwrap"]


async def enter_group() -> anyio.abc.TaskGroup:
    """A task group entered by hand, to be left with `leave_group` when the block ends."""
    group = anyio.create_task_group()
    await group.__aenter__()
    return group


async def leave_group(
    group: anyio.abc.TaskGroup, exc: BaseException | None, tb: TracebackType | None
) -> BaseException | None:
    """Leave ``group`` (from `enter_group`) as a block that raised ``exc`` (``None``: none),
    waiting for its tasks. Returns what the block raises now: ``None`` when the group absorbed
    it (its own cancellation), else the exception as itself, never wrapped in a group."""
    try:
        absorbed = await group.__aexit__(type(exc) if exc is not None else None, exc, tb)
    except BaseException as raised:
        return unwrap(raised)
    return None if absorbed else exc


def unwrap(error: BaseException) -> BaseException:
    """The one meaningful exception inside (nested) single-exception groups from a task group.

    Cancellations beside a real exception are dropped (the real one wins); several real ones
    keep their group.
    """
    try:
        cancelled: tuple[type[BaseException], ...] = (anyio.get_cancelled_exc_class(),)
    except RuntimeError:  # no event loop (a CLI, after anyio.run): nothing is a cancellation
        cancelled = ()
    while isinstance(error, BaseExceptionGroup):
        inners: tuple[BaseException, ...] = error.exceptions
        real = [inner for inner in inners if not isinstance(inner, cancelled)]
        if len(real) > 1:
            break
        error = real[0] if real else inners[0]
    return error


def add_note(error: BaseException, note: str) -> None:
    """Attach ``note`` to ``error`` where Python shows notes (3.11+); a no-op before."""
    if sys.version_info >= (3, 11):
        error.add_note(note)
