"""Exceptions out of task groups: the user's own exception comes out as itself.

anyio task groups wrap what escapes them in (nested) exception groups; a session or a
`Recorder` holds one task group for its own background work and must not hand its user an
``ExceptionGroup`` for an exception the user's own code raised.
"""

from __future__ import annotations

import sys

import anyio

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - anyio depends on this backport below 3.11
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found, unused-ignore]

__all__ = ["add_note", "unwrap"]


def unwrap(error: BaseException) -> BaseException:
    """The one meaningful exception inside (nested) single-exception groups from a task group.

    Cancellations beside a real exception are dropped (the real one wins); several real ones
    keep their group.
    """
    cancelled = anyio.get_cancelled_exc_class()
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
