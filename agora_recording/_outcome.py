"""How a session's recording ended: `EndReason`, the verdict `Ended`, and `SessionOutcome`.

The health judge (``_health``) and the session's event handling say *that* and *why* a
recording ended as an `Ended`; the session dresses it as a `SessionOutcome` with what it knew at
that moment (last status, last query answer) and, for a failure, the `RecordingFailedError` it
raises or hands to ``wait()``.
"""

from __future__ import annotations

import enum

import attrs

from ._status import Status
from .errors import RecordingFailedError
from .models import QueryResponse, RecordingHandle

__all__ = ["EndReason", "Ended", "SessionOutcome", "outcome_of"]


class EndReason(str, enum.Enum):
    """How a recording ended, as `SessionOutcome.end_reason`."""

    STOPPED = "stopped"
    """We stopped it: ``stop()`` or the exit of the ``async with`` block."""
    SERVICE_EXIT = "service_exit"
    """The service ended it: status 6/7/8 or web state ``exit`` (idle, kicked, max hours)."""
    EXITED_ABNORMALLY = "exited_abnormally"
    """The service reported status 20."""
    WORKER_LOST = "worker_lost"
    """``query`` answered 404 for longer than the failover grace (or at all, for an adoption
    with ``assume_ended_on_404``)."""
    START_TIMEOUT = "start_timeout"
    """The recorder never reported status 4 or 5 within ``start_timeout``."""
    UNOBSERVABLE = "unobservable"
    """``query`` failed ``max_poll_errors`` times in a row, or two or more times over
    ``outage_timeout`` seconds with no answer in between."""
    CREDENTIALS_EXPIRING = "credentials_expiring"
    """The storage credentials could not be refreshed and were about to expire."""


@attrs.frozen
class Ended:
    """A verdict: the recording ended, for ``end_reason``; ``detail`` says it for people and
    ``cause`` is the failure that proved it, if one did."""

    end_reason: EndReason
    detail: str
    cause: BaseException | None = None


@attrs.frozen(kw_only=True)
class SessionOutcome:
    """How a session's recording ended: returned by ``wait()``, kept in ``session.outcome``.

    ``end_reason`` says how, ``detail`` in words; ``error`` is the `RecordingFailedError`
    describing a failure (``None`` when we stopped it).
    """

    end_reason: EndReason
    detail: str
    status: Status | None = None
    last_query: QueryResponse | None = None
    error: RecordingFailedError | None = None

    @property
    def failed(self) -> bool:
        """True unless we stopped the recording ourselves."""
        return self.end_reason is not EndReason.STOPPED


def outcome_of(
    ended: Ended,
    *,
    handle: RecordingHandle | None,
    status: Status | None,
    last_query: QueryResponse | None,
) -> SessionOutcome:
    """The outcome of a verdict, with a `RecordingFailedError` unless we stopped it."""
    error: RecordingFailedError | None = None
    if ended.end_reason is not EndReason.STOPPED:
        error = RecordingFailedError(
            ended.detail,
            handle=handle,
            status=status,
            last_query=last_query,
            cause=ended.cause,
        )
    return SessionOutcome(
        end_reason=ended.end_reason,
        detail=ended.detail,
        status=status,
        last_query=last_query,
        error=error,
    )
