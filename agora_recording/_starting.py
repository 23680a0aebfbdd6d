"""Starting a recording so that no start is ever forgotten.

A recording bills until it is stopped, and ``start`` is the one call whose lost answer leaves a
recording nobody knows. This module holds the rules for one resource ID's start attempts (pure
functions over answers, and the loop `run_attempts` driven by an injected ``send``) and the
session's start (``_orphans.start_recording``: acquire, journal, attempts, recovery).

**Ambiguous.** A start is ambiguous from the moment an attempt may have reached the service
without a definitive answer: a timeout or a transport error after the request was sent, a 5xx
(other than 500 code 502), 206 code 65 ("the request reached the backend but the response timed
out"), an answer that cannot be read. A 429 or a refused connection says nothing new: the gateway
did not pass the request on. An ambiguous start is asked again, with the same resource ID, until
the answer is definitive or the resource ID expires (5 minutes after ``acquire``):

=================================================  ===========================================
Answer                                             Meaning
=================================================  ===========================================
200 with a ``sid``                                 started: the handle is known
201 code 7 ("already started")                     a recording runs on this resource ID; its
                                                   sid is unknown
400 code 2 or 53, 500 code 502                     refused, and a recording on this resource
                                                   would have answered 201 code 7 instead: none
                                                   runs
401, 403, 404 route, 400 codes 432/433/1001        refused before the resource was looked at:
                                                   nothing more to learn, stays ambiguous
=================================================  ===========================================

**Attempt timeout.** An attempt is never abandoned sooner than the service would answer it
itself: `START_ATTEMPT_TIMEOUT` (65 s). Agora documents no figure for its gateway; it answers
its own timeouts as 206 code 65 and 500 code 62 ("Response status codes",
https://docs.agora.io/en/cloud-recording/rest-api/status-codes), and its gateway messages
(``"no Route matched with those values"``, ``"API rate limit exceeded"``) are Kong's, whose
default upstream read timeout is 60 s (https://developer.konghq.com/gateway/entities/service/).

**What reveals a sid.** Nothing but notifications: the 201 code 7 body is ``{"code": 7,
"reason": "already started"}``, ``acquire`` always mints a new resource ID, and ``query`` needs the
sid in its URL ("Start a cloud recording task", "Query the status", "Response status codes").

**Documented recovery** ("Best practice in integrating Cloud Recording", "Response status
codes"): when the start on a resource ends refused with 500 code 502 ("Failed to allocate
worker") or 400 code 433 (resource expired) and no attempt left it ambiguous, the session
acquires a new resource and starts again, at most `MAX_START_RECOVERIES` times. For 50x answers
the best practice reads: "retry after 3, 6, and 9 seconds successively ... If you retry three
times and still do not get a ``sid``, retry with a new user ID." A new uid must come from the
user (``CredentialOptions.spare_uids``); with one, `run_attempts` stops asking after
`NEW_UID_AFTER_RETRIES` retries all answered 50x (``cut_short``), and the session moves to the
spare uid only once the old start is settled: found through notifications and stopped, or
written to the journal as unresolved for a janitor. Otherwise it asks the same resource until the
service says, as before: such a start may be running, and a second task would record twice.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import anyio
import attrs
import httpx

from ._journal import StartIntent, StartJournal
from ._retry import RetryPolicy, describe_failure
from .errors import (
    AgoraError,
    AlreadyStartedError,
    APIError,
    OrphanedStartError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
    StartNotJournaledError,
    TransportError,
    UnexpectedResponseError,
)
from .models import StartResponse

__all__ = [
    "HA_REGISTER_EVENT",
    "HA_REGISTER_TIMEOUT",
    "MAX_HA_RESTARTS",
    "MAX_START_RECOVERIES",
    "NEW_UID_AFTER_RETRIES",
    "START_ATTEMPT_TIMEOUT",
    "AttemptVerdict",
    "StartAttempts",
    "attempt_verdict",
    "begin",
    "journal_call",
    "recoverable",
    "run_attempts",
    "unresolved_error",
]

_log = logging.getLogger("agora_recording.session")

#: Seconds one start attempt may take before we stop waiting for its answer (see above).
START_ATTEMPT_TIMEOUT: Final = 65.0
#: How many times a session acquires a new resource after a documented refusal (502, 433).
MAX_START_RECOVERIES: Final = 2
#: Retries answered 50x after which a start moves to a new uid, when the user gave one
#: ("Best practice in integrating Cloud Recording": "If you retry three times and still do not
#: get a sid, retry with a new user ID").
NEW_UID_AFTER_RETRIES: Final = 3
#: Seconds after start within which event 13 (high-availability registration) should arrive;
#: without it the best practice is a new task ("Best practice in integrating Cloud Recording",
#: Fault recovery).
HA_REGISTER_TIMEOUT: Final = 10.0
#: The NCS event type of that registration ("High availability register success").
HA_REGISTER_EVENT: Final = 13
#: How many times a session replaces a task that did not register; then it records on.
MAX_HA_RESTARTS: Final = 1
#: Seconds a journal write may take before the session stops waiting for it.
JOURNAL_TIMEOUT: Final = 10.0

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class AttemptVerdict(enum.Enum):
    """What one failed start attempt tells (see the module docstring)."""

    AMBIGUOUS = "ambiguous"
    """It may have reached the service: ask again."""
    UNSENT = "unsent"
    """It did not reach the service (429, refused connection): ask again if time allows."""
    NONE_RUNS = "none_runs"
    """Refused in a way that proves no recording runs on this resource."""
    FINAL = "final"
    """Refused before the resource was looked at: asking again teaches nothing."""


def attempt_verdict(error: AgoraError) -> AttemptVerdict:
    """Classify a failed start attempt (201 code 7 is handled before: a recording runs)."""
    if isinstance(error, RateLimitError):
        return AttemptVerdict.UNSENT
    if isinstance(error, TransportError):
        sent = not isinstance(error.__cause__, _NOT_SENT)
        return AttemptVerdict.AMBIGUOUS if sent else AttemptVerdict.UNSENT
    if isinstance(error, ServerError) and error.code == 502:
        return AttemptVerdict.NONE_RUNS
    if isinstance(error, (ServerError, RequestNotCompletedError, UnexpectedResponseError)):
        return AttemptVerdict.AMBIGUOUS
    if isinstance(error, APIError) and error.status_code == 400 and error.code in (2, 53):
        return AttemptVerdict.NONE_RUNS
    return AttemptVerdict.FINAL


def recoverable(error: AgoraError | None) -> bool:
    """Whether the documented recovery (a new resource, then start again) applies."""
    if isinstance(error, ServerError) and error.code == 502:
        return True
    return isinstance(error, APIError) and error.code == 433


@attrs.frozen(kw_only=True)
class StartAttempts:
    """How the attempts on one resource ended: a ``response``, or the last ``error`` with
    whether a recording ``running`` was proved (201 code 7) or may be (``ambiguous``)."""

    response: StartResponse | None = None
    error: AgoraError | None = None
    ambiguous: bool = False
    running: bool = False
    cut_short: bool = False
    """Asking stopped after the 50x answers allowed (``new_uid_after``), not because the
    service said or the resource expired: the start is still ambiguous."""

    @property
    def unresolved(self) -> bool:
        """A recording runs, or may run, whose sid is unknown."""
        return self.response is None and (self.running or self.ambiguous)


async def run_attempts(
    send: Callable[[], Awaitable[StartResponse]],
    *,
    policy: RetryPolicy,
    give_up_at: float,
    label: str,
    clock: Callable[[], float] = anyio.current_time,
    new_uid_after: int | None = None,
) -> StartAttempts:
    """Send start until the answer is definitive (see the module docstring).

    Until an attempt may have reached the service, at most ``policy.attempts`` attempts are
    made; from then on attempts go on until ``give_up_at`` (a ``clock()`` time: the end of the
    resource ID's life), or, with ``new_uid_after`` n, until the first attempt and n retries
    were all answered 50x (``cut_short``: the caller may move to a new uid). The waits go
    through stamina, so ``stamina.set_testing()`` makes them instant (and bounds the attempts)
    in tests; a start answered at once never enters it.
    """
    ambiguous = False
    retries = 0
    server_errors = 0  # answers in a row that were 50x
    cap = None if new_uid_after is None else new_uid_after + 1

    async def counted() -> StartResponse:
        nonlocal server_errors
        try:
            return await send()
        except ServerError:
            server_errors += 1
            raise
        except AgoraError:
            server_errors = 0
            raise

    def cut_short() -> bool:
        return cap is not None and server_errors >= cap

    def decide(exc: BaseException) -> bool | float:
        nonlocal ambiguous, retries
        if not isinstance(exc, AgoraError) or isinstance(exc, AlreadyStartedError):
            return False
        if cut_short() and attempt_verdict(exc) is AttemptVerdict.AMBIGUOUS:
            ambiguous = True
            return False
        verdict = attempt_verdict(exc)
        if verdict in (AttemptVerdict.NONE_RUNS, AttemptVerdict.FINAL):
            return False
        if verdict is AttemptVerdict.AMBIGUOUS and not ambiguous:
            ambiguous = True
            _log.warning(
                "%s: %s; the service may have started the recording: asking again until it says",
                label,
                describe_failure(exc),
            )
        retries += 1
        wait = policy.backoff(retries, exc)
        if clock() + wait >= give_up_at or (not ambiguous and retries >= policy.attempts):
            return False
        return wait

    try:
        # The first attempt runs bare: a start answered at once never enters stamina. A failure
        # opens the retry context, whose first "attempt" re-raises it so stamina decides (and
        # waits) as if it had run the attempt itself.
        try:
            return StartAttempts(response=await counted())
        except AgoraError as exc:
            pending: AgoraError | None = exc
        import stamina  # on the first retry only: it costs an import to load

        async for attempt in stamina.retry_context(on=decide, attempts=None, timeout=None):
            with attempt:
                if pending is not None:
                    replay, pending = pending, None
                    raise replay
                response = await counted()
    except AlreadyStartedError as exc:
        return StartAttempts(error=exc, ambiguous=ambiguous, running=True)
    except AgoraError as exc:
        verdict = attempt_verdict(exc)
        proved = verdict is AttemptVerdict.NONE_RUNS
        short = cut_short() and verdict is AttemptVerdict.AMBIGUOUS
        return StartAttempts(
            error=exc, ambiguous=(ambiguous or short) and not proved, cut_short=short
        )
    return StartAttempts(response=response, ambiguous=ambiguous)


async def journal_call(what: str, call: Callable[[], Awaitable[None]]) -> bool:
    """Run one journal write within `JOURNAL_TIMEOUT`; return False (logged) if it failed."""
    try:
        with anyio.fail_after(JOURNAL_TIMEOUT):
            await call()
    except (AgoraError, TimeoutError) as exc:
        _log.warning("start journal: %s not recorded (%s)", what, describe_failure(exc))
        return False
    return True


def unresolved_error(intent: StartIntent, attempts: StartAttempts) -> OrphanedStartError:
    """The error a session raises for a start whose recording may run with no known sid."""
    where = f"resource {intent.resource_id}, cname {intent.cname!r}, uid {intent.uid}"
    if attempts.running:
        what = "the service answered 201 code 7: a recording runs"
    else:
        last = describe_failure(attempts.error) if attempts.error else "no answer"
        what = f"no definitive answer came ({last}): a recording may be running"
    return OrphanedStartError(
        f"start was sent but {what} whose sid is unknown ({where}); it bills until "
        "maxIdleTime. It is listed in client.unconfirmed() and logged; find it by its cname "
        "and uid in Agora's notifications (NCS) or Console, then stop it with its sid, or pass "
        "notifications= to let the session do this",
        handle=None,
        stopped=False,
    )


async def begin(journal: StartJournal | None, intent: StartIntent) -> None:
    """Write the intent before start is sent; nothing starts unrecorded."""
    if journal is None:
        return
    try:
        with anyio.fail_after(JOURNAL_TIMEOUT):
            await journal.begin(intent)
    except (AgoraError, TimeoutError) as exc:
        raise StartNotJournaledError(
            f"the start of cname {intent.cname!r} uid {intent.uid} was not sent: its intent "
            f"could not be written to the journal ({describe_failure(exc)}); nothing runs"
        ) from exc
