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
from ._starting import (
    HA_REGISTER_EVENT,
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

__all__ = ["ha_registered", "recover_orphan", "replace_unregistered", "start_recording"]

_log = logging.getLogger("agora_recording.session")


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
) -> StartResponse:
    """Acquire and start; return the started recording, or raise why there is none.

    A journal that cannot record the intent in time raises `StartNotJournaledError` before
    ``start`` is sent. ``start`` runs shielded: once sent, the recording may exist, and we must
    learn its sid to stop it.
    """
    recoveries = 0
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
    where = f"resource {intent.resource_id}, cname {intent.cname!r}, uid {intent.uid}"
    error = attempts.error
    assert error is not None
    with anyio.CancelScope(shield=True):
        handle = None
        if subscription is not None:
            handle = await _find(client, subscription, intent, orphan_wait)
        if handle is None:
            client._unresolved_start(intent, error)
            if journal is not None:
                await journal_call("the unresolved start", lambda: journal.unresolved(intent))
            failure = unresolved_error(intent, attempts)
            if subscription is not None:
                add_note(failure, f"No notification named its sid within {orphan_wait:g} s.")
            return failure
        client.track(handle)
        if journal is not None:
            await journal_call("the sid", lambda: journal.started(intent, handle))
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
    assert handle is not None
    found = handle
    return OrphanedStartError(
        f"the start answer was lost; the recording it started (sid {found.sid}, {where}) was "
        f"found through notifications and stopped ({done.outcome.value}); start again",
        handle=found,
        stopped=True,
    )


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
    handle = RecordingHandle(
        resource_id=intent.resource_id,
        sid=sid,
        mode=intent.mode,
        cname=intent.cname,
        uid=intent.uid,
    )
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

    Only judged once this client has seen an event 13 at all: a Console project that does not
    subscribe to event 13 must not have every task replaced (the integration best practices
    list 40, 11, 1, 12 and 31 as the events to subscribe to).
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
