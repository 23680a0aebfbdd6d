"""A session's start, from ``acquire`` to a known sid, and what is left when the sid stays unknown.

`start_recording` acquires, writes the intent to the session's journal before ``start`` is sent,
runs the start attempts until the service's answer is definitive (rules in ``_starting``), and
takes the documented recovery (a new resource after 500 code 502 or 400 code 433).

When ``start`` ends with 201 code 7 or stays ambiguous, a recording runs (or may run) whose
``sid`` we never learnt, billing until ``maxIdleTime``. With notifications the session learns
the sid from the first event for its (cname, uid) of a recording that began after the start
request and that this client does not already know, checks it with ``query`` on the start's
resource ID, and stops it with a confirmed stop. Without notifications (or when no event names
it) the start is listed by ``client.unconfirmed()`` without a sid, logged at ERROR, and kept in
the journal as unresolved. Either way the `OrphanedStartError` raised says what happened and
what is left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from ._groups import add_note
from ._journal import StartIntent, StartJournal
from ._protocol import RESOURCE_LIFETIME
from ._retry import describe_failure
from ._starting import (
    HA_REGISTER_EVENT,
    NEW_UID_AFTER_RETRIES,
    StartAttempts,
    begin,
    journal_call,
    recoverable,
    unresolved_error,
)
from .enums import Mode
from .errors import APIError, NotFoundError, OrphanedStartError, UnexpectedResponseError
from .models import AcquireConfig, RecordingHandle, StartConfig, StartResponse

if TYPE_CHECKING:
    from ._client import RecordingClient
    from .webhooks._envelope import Notification
    from .webhooks._hub import Subscription

__all__ = [
    "ha_registered",
    "recover_orphan",
    "replace_unregistered",
    "start_recording",
]

_log = logging.getLogger("agora_recording.session")


#: Moves a session to a new recorder uid: the start configuration for it (its token minted or
#: checked) and the subscription that follows it (None without notifications).
MoveUid = Callable[[str], "tuple[StartConfig, Subscription | None]"]


async def start_recording(
    client: RecordingClient,
    subscription: Subscription | None,
    journal: StartJournal | None,
    *,
    cname: str,
    uid: str,
    mode: Mode,
    config: StartConfig,
    acquire_config: AcquireConfig | None,
    orphan_wait: float,
    stop_timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    wall_clock: Callable[[], float],
    spare_uids: list[str] | None = None,
    move_to: MoveUid | None = None,
    on_reacquire: Callable[[], None] | None = None,
) -> StartResponse:
    """Acquire and start; return the started recording, or raise why there is none.

    A journal that cannot record the intent in time raises `StartNotJournaledError` before
    ``start`` is sent. ``start`` runs shielded: once sent, the recording may exist, and we must
    learn its sid to stop it. After three retries answered 50x the start moves to the next of
    ``spare_uids`` (taken from the list as used; through ``move_to``) once the old start is
    settled (see ``_starting``). ``on_reacquire`` is told each time the session acquires again.
    """
    recoveries = 0
    spares = spare_uids if spare_uids is not None and move_to is not None else []
    while True:
        acquired = await client.acquire(cname=cname, uid=uid, config=acquire_config)
        resource_id = acquired.resource_id
        if not resource_id:
            raise UnexpectedResponseError(
                "acquire answered without a resourceId", endpoint="acquire"
            )
        intent = StartIntent(
            resource_id=resource_id, cname=cname, uid=uid, mode=mode, began_at=wall_clock()
        )
        await begin(journal, intent)
        with anyio.CancelScope(shield=True):
            movable = bool(spares) and (subscription is not None or journal is not None)
            new_uid_after = NEW_UID_AFTER_RETRIES if movable else None
            attempts = await client._start_attempts(intent, config, new_uid_after=new_uid_after)
            if attempts.cut_short:
                settled, failure = await _settle_before_moving(
                    client,
                    subscription,
                    journal,
                    intent,
                    attempts,
                    orphan_wait=orphan_wait,
                    stop_timeout=stop_timeout,
                    clock=clock,
                    sleep=sleep,
                )
                if failure is not None:
                    raise failure
                if settled:  # stopped, or journalled for the janitor: the documented new uid
                    assert move_to is not None
                    previous, uid = uid, spares.pop(0)
                    config, subscription = move_to(uid)
                    _log.warning(
                        "start of cname=%s uid=%s answered 50x %d times in a row (%s): "
                        "acquiring again with the new uid %s (%d spare left)",
                        cname,
                        previous,
                        NEW_UID_AFTER_RETRIES + 1,
                        describe_failure(attempts.error) if attempts.error else "no answer",
                        uid,
                        len(spares),
                    )
                    if on_reacquire is not None:
                        on_reacquire()
                    continue
                attempts = await client._start_attempts(intent, config)
            started = attempts.response
            if started is not None:
                if journal is not None:
                    handle = started.handle
                    await journal_call("the sid", _bound(journal.started, intent, handle))
                return started
            if attempts.unresolved:
                raise await recover_orphan(
                    client,
                    subscription,
                    journal,
                    intent,
                    attempts,
                    orphan_wait=orphan_wait,
                    stop_timeout=stop_timeout,
                    clock=clock,
                    sleep=sleep,
                )
        error = attempts.error
        assert error is not None
        if journal is not None:
            await journal_call("the refusal", _bound(journal.refused, intent))
        if recoveries >= client.start_recoveries or not recoverable(error):
            raise error
        recoveries += 1
        _log.warning(
            "start of cname=%s uid=%s refused (%s): acquiring a new resource and starting "
            "again (recovery %d of %d)",
            cname,
            uid,
            error,
            recoveries,
            client.start_recoveries,
        )
        if on_reacquire is not None:
            on_reacquire()


async def recover_orphan(
    client: RecordingClient,
    subscription: Subscription | None,
    journal: StartJournal | None,
    intent: StartIntent,
    attempts: StartAttempts,
    *,
    orphan_wait: float,
    stop_timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> OrphanedStartError:
    """Learn the orphan's sid from ``subscription`` within ``orphan_wait`` seconds, check it and
    stop it (shielded: it bills until stopped); return the error that says how far that got."""
    error = attempts.error
    assert error is not None
    with anyio.CancelScope(shield=True):
        stopped = await _stop_found(
            client,
            subscription,
            journal,
            intent,
            orphan_wait=orphan_wait,
            stop_timeout=stop_timeout,
            clock=clock,
            sleep=sleep,
        )
        if stopped is not None:
            return stopped
        client._unresolved_start(intent, error)
        if journal is not None:
            await journal_call("the unresolved start", _bound(journal.unresolved, intent))
        failure = unresolved_error(intent, attempts)
        if subscription is not None:
            add_note(failure, f"No notification named its sid within {orphan_wait:g} s.")
    return failure


async def _stop_found(
    client: RecordingClient,
    subscription: Subscription | None,
    journal: StartJournal | None,
    intent: StartIntent,
    *,
    orphan_wait: float,
    stop_timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> OrphanedStartError | None:
    """Find the recording a lost start left through ``subscription`` within ``orphan_wait``
    seconds and stop it (confirmed); None when no notification named it (or none are
    followed). The error says whether it was stopped (``stopped``), or why its stop was not
    confirmed (it stays listed)."""
    if subscription is None:
        return None
    handle = await _find(client, subscription, intent, orphan_wait)
    if handle is None:
        return None
    where = f"resource {intent.resource_id}, cname {intent.cname!r}, uid {intent.uid}"
    client.track(handle)
    if journal is not None:
        await journal_call("the sid", _bound(journal.started, intent, handle))
    _log.warning("start answer lost: found sid=%s from notifications; stopping it", handle.sid)
    try:
        done = await client.ensure_stopped(
            handle, stop_timeout=stop_timeout, clock=clock, sleep=sleep
        )
    except Exception as exc:
        failure = OrphanedStartError(
            f"the start answer was lost; the recording it started (sid {handle.sid}, "
            f"{where}) was found but its stop was not confirmed: {exc}",
            handle=handle,
            stopped=False,
        )
        failure.__context__ = exc
        return failure
    return OrphanedStartError(
        f"the start answer was lost; the recording it started (sid {handle.sid}, {where}) was "
        f"found through notifications and stopped ({done.outcome.value}); start again",
        handle=handle,
        stopped=True,
    )


async def _settle_before_moving(
    client: RecordingClient,
    subscription: Subscription | None,
    journal: StartJournal | None,
    intent: StartIntent,
    attempts: StartAttempts,
    *,
    orphan_wait: float,
    stop_timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> tuple[bool, OrphanedStartError | None]:
    """Settle a start cut short after 50x answers, so a new uid leaves nothing unknown behind.

    Its recording, found through notifications, is stopped (confirmed); else the intent is
    journalled as unresolved for the janitor (and listed by the client). Returns whether it is
    settled, and the error to raise when the recording found could not be stopped. Unsettled
    (no notification named it, no journal), the caller asks the same resource again.
    """
    error = attempts.error
    assert error is not None
    done = await _stop_found(
        client,
        subscription,
        journal,
        intent,
        orphan_wait=orphan_wait,
        stop_timeout=stop_timeout,
        clock=clock,
        sleep=sleep,
    )
    if done is not None:
        return done.stopped, None if done.stopped else done
    if journal is not None and await journal_call(
        "the unresolved start", _bound(journal.unresolved, intent)
    ):
        client._unresolved_start(intent, error)
        return True, None
    return False, None


async def _find(
    client: RecordingClient, subscription: Subscription, intent: StartIntent, wait: float
) -> RecordingHandle | None:
    """The recording the start left, from the notifications of its (cname, uid), or None.

    The subscription only takes events of recordings that began after the start request and
    that this client does not know; the sid it learns is then checked with ``query`` on the
    start's resource ID, which refuses (400) a sid started on another resource.
    """
    with anyio.move_on_after(wait):
        while subscription.sid is None:
            await subscription.__anext__()
    sid = subscription.sid
    if sid is None or sid in client.known_sids:
        return None
    handle = intent.handle(sid)
    try:
        await client.query(handle, call_timeout=RESOURCE_LIFETIME / 10)
    except NotFoundError:
        pass  # gone, or failing over: the confirmed stop tells which
    except APIError as exc:
        if exc.status_code == 400:
            _log.warning(
                "sid %s named by notifications for cname=%s uid=%s is not the recording of "
                "resource %s (%s); it is left alone",
                sid,
                intent.cname,
                intent.uid,
                intent.resource_id,
                exc,
            )
            return None
    except Exception:
        pass
    return handle


async def ha_registered(
    client: RecordingClient, subscription: Subscription, early: list[Notification]
) -> bool:
    """Whether the task registered for high availability (NCS event 13) within
    ``client.ha_register_timeout`` of its start; the events read meanwhile go to ``early``.

    Only judged once this client has seen an event 13 at all. Agora's NCS page "Cloud Recording
    events" (the events a project can subscribe to in Console) does not list 13; only the
    integration best practices' "Fault recovery" names it, and their checklist recommends
    40, 11, 1, 12 and 31. A project that does not receive 13 must not have every task
    replaced, and whether it does is known only once one has arrived.
    """
    timeout = client.ha_register_timeout
    if timeout is None or not client._ha_registers_seen:
        return True
    with anyio.move_on_after(timeout):
        async for note in subscription:
            early.append(note)
            if note.event_type == HA_REGISTER_EVENT:
                return True
    return subscription.closed


async def replace_unregistered(
    client: RecordingClient,
    handle: RecordingHandle,
    *,
    stop_timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Stop (confirmed) a task that never registered for high availability, so a new one can
    start: Agora's "Best practice in integrating Cloud Recording", Fault recovery."""
    _log.warning(
        "recording sid=%s sent no high-availability registration (event 13) within %g s of "
        "start: stopping it and starting a new task",
        handle.sid,
        client.ha_register_timeout,
    )
    with anyio.CancelScope(shield=True):
        await client.ensure_stopped(handle, stop_timeout=stop_timeout, clock=clock, sleep=sleep)


def _bound(call: Callable[..., Awaitable[None]], *args: object) -> Callable[[], Awaitable[None]]:
    """``call`` with ``args`` bound now (not when the loop has moved on)."""
    return lambda: call(*args)
