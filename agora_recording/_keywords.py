"""Arguments that became keyword-only or were renamed, still accepted with a warning.

Two strings side by side (``acquire(cname, uid)``, ``RecordingClient(app_id, customer_id,
customer_secret)``) are easy to swap, and a swap fails late, at the service. The signatures
say keyword-only, so type checkers flag positional calls; at run time the old positional form
keeps working for a while, with a `DeprecationWarning` naming the keyword form. A keyword
renamed so that a word keeps one meaning (``query(budget=)``, seconds, is now
``call_timeout=``: "budget" is the poll budget) keeps its old name the same way (`renamed`).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .errors import ArgumentTypeError

__all__ = ["formerly_positional", "renamed"]

F = TypeVar("F", bound=Callable[..., Any])
V = TypeVar("V")


def formerly_positional(call: str, *names: str) -> Callable[[F], F]:
    """Let a method take its keyword-only ``names`` by position too, after ``self``, warning.

    ``call`` is how the warning names the call (``"RecordingClient(...)"``).
    """
    keywords = ", ".join(f"{name}=..." for name in names)
    message = (
        f"passing {', '.join(names)} to {call} by position is deprecated and will stop "
        f"working; pass them by keyword: {call.split('(')[0]}({keywords}, ...)"
    )

    def moved(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        extra = args[1:]
        if not extra:
            return args
        if len(extra) > len(names):
            raise ArgumentTypeError(f"{call} takes at most {len(names)} positional arguments")
        for name, value in zip(names, extra, strict=False):
            if name in kwargs:
                raise ArgumentTypeError(f"{call} got multiple values for argument {name!r}")
            kwargs[name] = value
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        return args[:1]

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def coroutine(*args: Any, **kwargs: Any) -> Any:
                return await func(*moved(args, kwargs), **kwargs)

            return cast(F, coroutine)

        @functools.wraps(func)
        def plain(*args: Any, **kwargs: Any) -> Any:
            return func(*moved(args, kwargs), **kwargs)

        return cast(F, plain)

    return decorate


def renamed(call: str, old: str, new: str, value: V, current: V | None) -> V:
    """The value of keyword ``new`` given by its old name ``old``, with a `DeprecationWarning`
    (``current`` is what ``new`` itself got: both at once is an error)."""
    if current is not None:
        raise ArgumentTypeError(f"{call} got both {old}= and {new}=; pass {new}= only")
    warnings.warn(
        f"{call}'s {old}= is deprecated and will stop working; pass {new}= instead",
        DeprecationWarning,
        stacklevel=3,
    )
    return value
