"""Confirmed stops: a recording counts as stopped only when the service says so.

A recording bills until it is stopped, and several answers to ``stop`` do not prove that it
stopped. This module owns the confirmed stop whole, so the stop's retry policy is changed here
and nowhere else:

- which answers confirm, are retried, are re-checked or are final: `CONFIRMING`, `RETRIED`,
  `VERIFIED` (everything else is final), read by `stop_verdict`;
- the waits: `stop_backoff` (the curve ``STOP_BACKOFF_*``, jitter from an injected random, a
  429's ``Retry-After``), the failover window `FAILOVER_WINDOW` and the re-check schedule
  `RECHECK_DELAYS`;
- the loop, `confirm_stop`, which sends, re-checks, sleeps and draws jitter only through the
  callables it is given, so the client is a thin caller and tests drive it with fakes;
- the registry of recordings whose stop is not confirmed yet.

Other calls retry by ``_retry.RetryPolicy``; the one fact both share is the set of answers the
documented guidance says to send again (``_protocol.RETRYABLE``), which `RETRIED` extends.

==========================================  ===============================================
Answer to ``stop``                          Meaning
==========================================  ===============================================
200 with the documented body                confirmed: ``STOPPED``
206 with the documented body (no ``code``)  confirmed: ``STOPPED``; ``uploading_status``
                                            says where the files are (``"backuped"``)
206 + code 435                              confirmed: ``NO_RECORDED_DATA`` (nobody published)
400 + code 49                               confirmed: ``ALREADY_EXITING``
404 "failed to find worker"                 not yet: during a high-availability failover
                                            ``stop`` answers 404 (documented: up to 90 s;
                                            seen: longer) and the task then runs on.
                                            ``query`` re-checks it for the whole stop budget;
                                            the stop is repeated when the recording answers
                                            again. A 404 proves the end (``ALREADY_GONE``)
                                            at once after the service announced the exit
                                            (a notification of the recording's own sid) or
                                            when the caller passed ``assume_ended_on_404``;
                                            otherwise once it held through the whole budget
                                            and longer than the 90 s failover (a WARNING).
                                            A budget too short for that ends unconfirmed.
transport error, 5xx, 429, 206 + code 65,   unknown: retried after `stop_backoff`
an undocumented 2xx or an unreadable body   (``Retry-After`` honoured) until ``stop_timeout``
other 4xx (401, 403, 400 other codes)       final: the recording stays unconfirmed
==========================================  ===============================================

The failover window and the behaviour of ``stop`` and ``query`` during a failover are from
Agora's "Cloud Recording high availability" FAQ and the RESTful API's response status codes.
"""

from __future__ import annotations

import enum
import logging
import shlex
from collections.abc import Awaitable, Callable, Iterator, Mapping

import attrs

from ._journal import StartIntent
from ._protocol import RETRYABLE
from ._ratelimit import jittered_pause
from ._retry import describe_failure
from .enums import Mode
from .errors import (
    AgoraError,
    APIError,
    BadRequestError,
    NoRecordedDataError,
    NotFoundError,
    RateLimitError,
    UnexpectedResponseError,
)
from .models import RecordingHandle, StopResponse

__all__ = [
    "CONFIRMING",
    "FAILOVER_WINDOW",
    "RECHECK_DELAYS",
    "RETRIED",
    "STOP_BACKOFF_GROWTH",
    "STOP_BACKOFF_INITIAL",
    "STOP_BACKOFF_JITTER",
    "STOP_BACKOFF_MAX",
    "VERIFIED",
    "StopConfirmation",
    "StopOutcome",
    "Unconfirmed",
    "UnconfirmedRecording",
    "UnconfirmedRegistry",
    "confirm_stop",
    "stop_backoff",
    "stop_verdict",
]

_log = logging.getLogger("agora_recording")

#: Seconds a high-availability failover takes at most, as documented (longer ones were seen:
#: a 404 is re-checked for the whole stop budget, not just this long).
FAILOVER_WINDOW = 90.0
#: Waits between the ``query`` re-checks of a 404 to ``stop``: 5 s, 10 s, then every 15 s.
RECHECK_DELAYS = (5.0, 10.0, 15.0)

# The stop's backoff (`stop_backoff`): the n-th wait is
# ``STOP_BACKOFF_INITIAL * STOP_BACKOFF_GROWTH ** (n - 1)`` plus up to ``STOP_BACKOFF_JITTER`` at
# random, at most ``STOP_BACKOFF_MAX``: about 1-2 s, 2-3 s, 4-5 s, 8-9 s, then every 10 s, close
# to the documented 1 s / 3 s / 6 s domain-failover guidance, and often enough that a stop lands
# soon after an outage ends.

#: The first wait of a confirmed stop, before jitter.
STOP_BACKOFF_INITIAL = 1.0
#: Each wait is this many times the one before, before jitter.
STOP_BACKOFF_GROWTH = 2.0
#: Seconds of jitter at most (times the injected random number in [0, 1)), so that the stops of
#: a fleet that met the same outage do not all come back at the same instant.
STOP_BACKOFF_JITTER = 1.0
#: The longest wait between two attempts of a confirmed stop, a 429's included.
STOP_BACKOFF_MAX = 10.0


class StopOutcome(str, enum.Enum):
    """What a stop came to."""

    STOPPED = "stopped"
    """The service answered 200 (or 206 with the documented body): stopped, with the files in
    the `StopResponse`."""
    NO_RECORDED_DATA = "no_recorded_data"
    """206 code 435: stopped; nobody published, so nothing was recorded."""
    ALREADY_EXITING = "already_exiting"
    """400 code 49: the recording was already stopping."""
    ALREADY_GONE = "already_gone"
    """404 after the service announced the recording's exit (or with ``assume_ended_on_404``):
    the recording no longer exists."""
    FAILED = "failed"
    """Not confirmed: the stop failed and the recording may still run."""


class Verdict(enum.Enum):
    """What to do after one answer to ``stop`` (see the module docstring)."""

    RETRY = "retry"
    VERIFY = "verify"
    FINAL = "final"


# The answers to ``stop`` (the module docstring's table), checked in this order; every failed
# answer that none of them matches (401, 403, other 400s, a gateway's 404) is final.

#: Failed answers that still confirm the stop: (error class, Agora ``code``, or ``None`` for
#: any) to the outcome they prove.
CONFIRMING: Mapping[tuple[type[APIError], int | None], StopOutcome] = {
    (NoRecordedDataError, None): StopOutcome.NO_RECORDED_DATA,  # 206 + code 435
    (BadRequestError, 49): StopOutcome.ALREADY_EXITING,  # 400 + code 49
}
#: Failed answers re-checked with ``query``: a 404 whose reason is "failed to find worker"
#: (`NotFoundError.worker_not_found`), which a failover answers too.
VERIFIED: type[NotFoundError] = NotFoundError
#: Failed answers that prove nothing either way, so the stop is sent again after
#: `stop_backoff`: the ones every call retries (``_protocol.RETRYABLE``: no answer, 429, 5xx,
#: 206 + code 65), and a 2xx the client cannot read, which must not pass for a confirmation.
RETRIED: tuple[type[AgoraError], ...] = (*RETRYABLE, UnexpectedResponseError)


def stop_verdict(error: BaseException) -> StopOutcome | Verdict:
    """Classify a failed ``stop`` attempt by the tables above: a confirmed outcome, or what to
    do next."""
    for (kind, code), outcome in CONFIRMING.items():
        if isinstance(error, kind) and (code is None or error.code == code):
            return outcome
    if isinstance(error, VERIFIED) and error.worker_not_found:
        return Verdict.VERIFY
    if isinstance(error, RETRIED):
        return Verdict.RETRY
    return Verdict.FINAL


def stop_backoff(
    retry: int, error: AgoraError, random: Callable[[], float], *, paced: bool = False
) -> float:
    """Seconds to wait before retry number ``retry`` (1-based) of a stop after ``error``.

    The curve ``STOP_BACKOFF_*`` above, with ``random()`` (a number in [0, 1)) for the jitter.
    A 429 that names its ``Retry-After`` waits that instead (1 s when absent, at most a minute:
    `_ratelimit.jittered_pause`) plus up to as much again at random; with ``paced`` (the caller's
    rate limiter already holds every request for the ``Retry-After``) a 429 waits nothing more.
    Never more than `STOP_BACKOFF_MAX`.
    """
    if isinstance(error, RateLimitError):
        if paced:
            return 0.0
        if error.retry_after is not None:
            return min(STOP_BACKOFF_MAX, jittered_pause(error.retry_after, random))
    grown = STOP_BACKOFF_INITIAL * STOP_BACKOFF_GROWTH ** min(retry - 1, 64)
    return min(STOP_BACKOFF_MAX, grown + random() * STOP_BACKOFF_JITTER)


@attrs.frozen(kw_only=True)
class StopConfirmation:
    """A confirmed stop: its ``outcome`` and, for ``STOPPED``, the service's ``response``."""

    outcome: StopOutcome
    response: StopResponse | None = None


@attrs.frozen
class Unconfirmed:
    """A stop that ended without confirmation: the last ``error`` and ``why`` it gave up."""

    error: AgoraError
    why: str


async def confirm_stop(
    *,
    send: Callable[[], Awaitable[StopResponse]],
    query: Callable[[], Awaitable[object]],
    sleep: Callable[[float], Awaitable[None]],
    left: Callable[[], float],
    gone: Callable[[], bool],
    random: Callable[[], float],
    label: str,
    paced: bool = False,
) -> StopConfirmation | Unconfirmed:
    """Stop until the service confirms it or the budget runs out (see the module docstring).

    ``send`` makes one stop attempt and ``query`` one status check (each raising `AgoraError`
    for a failed answer); ``left`` is the budget's seconds left; ``gone`` whether a 404 now
    proves the end (the service announced the exit, or the caller assumes it); ``random`` gives
    the backoff's jitter (numbers in [0, 1)) and ``paced`` says the caller's rate limiter
    already holds requests for a 429's ``Retry-After`` (`stop_backoff`). Never raises an
    `AgoraError`: an unconfirmed stop is returned as `Unconfirmed`.
    """
    retries = 0
    while True:
        try:
            response = await send()
        except AgoraError as exc:
            failure = exc
        else:
            return StopConfirmation(outcome=StopOutcome.STOPPED, response=response)
        verdict = stop_verdict(failure)
        if isinstance(verdict, StopOutcome):
            return StopConfirmation(outcome=verdict)
        if verdict is Verdict.FINAL:
            return Unconfirmed(failure, "the service refused the stop")
        if verdict is Verdict.VERIFY:
            if gone():
                return StopConfirmation(outcome=StopOutcome.ALREADY_GONE)
            answered, held = await _recheck(query, sleep, left, gone)
            if answered is None and held >= FAILOVER_WINDOW:
                # Longer than the documented failover, through the whole budget: the recording
                # ended without our seeing it (an idle exit no poll caught, say).
                _log.warning(
                    "%s: 404 held for %.0f s, the whole stop budget and longer than the "
                    "documented %.0f s failover: taken as ended",
                    label,
                    held,
                    FAILOVER_WINDOW,
                )
                return StopConfirmation(outcome=StopOutcome.ALREADY_GONE)
            if answered is None:
                return Unconfirmed(
                    failure,
                    f"404 held for {held:.0f} s when the stop budget ran out, less than the "
                    f"{FAILOVER_WINDOW:.0f} s a failover may answer 404, so it may still be "
                    "running",
                )
            if not answered:
                return StopConfirmation(outcome=StopOutcome.ALREADY_GONE)
            _log.warning("%s: the recording answers again after a 404: stopping again", label)
            retries = 0
            continue
        retries += 1
        if left() <= 0:
            return Unconfirmed(failure, "the stop budget ran out")
        backoff = stop_backoff(retries, failure, random, paced=paced)
        wait = min(backoff, max(0.0, left()))
        _log.warning(
            "%s: not confirmed (%s); trying again in %.1f s", label, describe_failure(failure), wait
        )
        await sleep(wait)
        # A wait cut to what was left spent the budget, even when a clock woken a hair early
        # says otherwise: each attempt's time in our own queues is credited back to the budget,
        # so going on could send at every quota slot with the budget never running out.
        if wait < backoff or left() <= 0:
            return Unconfirmed(failure, "the stop budget ran out")


async def _recheck(
    query: Callable[[], Awaitable[object]],
    sleep: Callable[[float], Awaitable[None]],
    left: Callable[[], float],
    gone: Callable[[], bool],
) -> tuple[bool | None, float]:
    """After a 404 to stop, ``query`` until the recording answers (True), a 404 proves the end
    (False) or the budget runs out (None); with the seconds the 404 held meanwhile."""
    checks = 0
    held = 0.0
    while True:
        remaining = left()
        if remaining <= 0:
            return None, held
        delay = RECHECK_DELAYS[min(checks, len(RECHECK_DELAYS) - 1)]
        wait = min(delay, remaining)
        await sleep(wait)
        checks += 1
        if gone():
            return False, held
        try:
            await query()
        except NotFoundError as exc:
            if not exc.worker_not_found:
                return True, held  # the gateway's 404: no evidence it is gone; stop again
            held += wait
        except AgoraError:
            pass  # no evidence either way; keep watching
        else:
            return True, held
        if wait < delay:
            # The check at the budget's end was the last (for the reason in `confirm_stop`).
            return None, held


@attrs.frozen(kw_only=True)
class UnconfirmedRecording:
    """A recording started (or adopted) through a client whose stop is not confirmed yet.

    ``handle`` names it once its ``sid`` is known. A start whose answer never came (or came as
    201 code 7) may have left a recording whose sid nobody knows: then ``handle`` is ``None``
    and ``intent`` says where to look for it (resource ID, cname, uid, and ``began_at``, the
    Unix time the start was first sent: only a recording that began after it is this one).
    """

    handle: RecordingHandle | None = None
    last_error: AgoraError | None = None
    """The last stop failure (or, without a sid, why the start stayed unresolved); ``None``
    while no stop has been tried."""
    intent: StartIntent | None = None
    stop_interrupted: bool = False
    """A stop was sent and then cut short (cancelled, interrupted) before the service
    confirmed it."""

    @property
    def sid(self) -> str | None:
        """The recording's ``sid``, or ``None`` when the start's answer never said it."""
        return None if self.handle is None else self.handle.sid

    @property
    def resource_id(self) -> str:
        """The resource ID the recording was started on."""
        return self.handle.resource_id if self.handle is not None else self._intent.resource_id

    @property
    def cname(self) -> str:
        """The recorded channel."""
        return self.handle.cname if self.handle is not None else self._intent.cname

    @property
    def uid(self) -> str:
        """The recorder's UID."""
        return self.handle.uid if self.handle is not None else self._intent.uid

    @property
    def began_at(self) -> float | None:
        """Unix time the start request was first sent, when the sid is unknown."""
        return None if self.intent is None else self.intent.began_at

    @property
    def _intent(self) -> StartIntent:
        assert self.intent is not None, "an UnconfirmedRecording needs a handle or an intent"
        return self.intent

    def stop_command(self) -> str:
        """The CLI command that stops it (credentials come from the environment); without a
        sid, the same command with ``<sid>`` to fill in once notifications or the Console
        name the recording."""
        if self.handle is None:
            i = self._intent
            resource, sid, mode, cname, uid = i.resource_id, "<sid>", i.mode, i.cname, i.uid
        else:
            h = self.handle
            resource, sid, mode, cname, uid = h.resource_id, h.sid, h.mode, h.cname, h.uid
        parts = ["--resource-id", resource, "--sid", sid, "--mode", str(Mode(mode).value)]
        parts += ["--cname", cname, "--uid", uid]
        return "agora-recording stop " + " ".join(shlex.quote(part) for part in parts)


class UnconfirmedRegistry:
    """The recordings of one client that are running or whose stop was never confirmed."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], UnconfirmedRecording] = {}

    def add(self, handle: RecordingHandle) -> None:
        """Track a recording from the moment its ``sid`` is known."""
        key = (handle.resource_id, handle.sid)
        if key not in self._entries:
            self._entries[key] = UnconfirmedRecording(handle=handle)

    def failed(self, handle: RecordingHandle, error: AgoraError) -> None:
        """Keep the last stop failure beside the handle."""
        self._entries[(handle.resource_id, handle.sid)] = UnconfirmedRecording(
            handle=handle, last_error=error
        )

    def interrupted(self, handle: RecordingHandle) -> None:
        """Note that a stop of ``handle`` was cut short before it was confirmed."""
        key = (handle.resource_id, handle.sid)
        entry = self._entries.get(key)
        if entry is not None and entry.last_error is None:
            self._entries[key] = attrs.evolve(entry, stop_interrupted=True)

    def confirmed(self, handle: RecordingHandle) -> None:
        """Forget a recording whose stop the service confirmed."""
        self._entries.pop((handle.resource_id, handle.sid), None)

    def unresolved(self, intent: StartIntent, error: AgoraError) -> None:
        """List a start that may have left a recording whose sid is unknown."""
        self._entries[(intent.resource_id, "")] = UnconfirmedRecording(
            intent=intent, last_error=error
        )

    def resolved(self, intent: StartIntent) -> None:
        """Forget an unresolved start once its recording was found (or proved absent)."""
        self._entries.pop((intent.resource_id, ""), None)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[UnconfirmedRecording]:
        return iter(list(self._entries.values()))

    def report(self) -> tuple[UnconfirmedRecording, ...]:
        """Log what is left when the client closes; return the recordings whose stop failed.

        A recording whose stop was tried and never confirmed is logged at ERROR (one whose stop
        was cut short by a cancellation too, though it is not returned); one that was
        started but never stopped through this client (say, left running on purpose for
        another process to stop) at WARNING. Both lines carry the IDs and the command that
        stops it, never a secret.
        """
        failed = []
        for entry in self:
            if entry.last_error is not None:
                failed.append(entry)
                level, what = logging.ERROR, "stop never confirmed"
                detail = f"last error: {type(entry.last_error).__name__}"
                if entry.handle is None:
                    what = "may be running, sid unknown"
                    detail += f"; began after Unix time {entry.began_at:.0f}"
            elif entry.stop_interrupted:
                level, what, detail = logging.ERROR, "stop never confirmed", "stop interrupted"
            else:
                level, what, detail = logging.WARNING, "left running", "no stop was sent"
            mode = entry.handle.mode if entry.handle is not None else entry._intent.mode
            _log.log(
                level,
                "recording %s: resource_id=%s sid=%s cname=%s uid=%s mode=%s (%s); "
                "stop it with: %s",
                what,
                entry.resource_id,
                entry.sid,
                entry.cname,
                entry.uid,
                Mode(mode).value,
                detail,
                entry.stop_command(),
            )
        return tuple(failed)
