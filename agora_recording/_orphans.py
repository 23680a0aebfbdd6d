"""A start whose answer was lost but which the service acted on: find the recording, stop it.

When the answer to ``start`` is lost and the retry gets 201 code 7, a recording runs whose
``sid`` we never learnt, billing until ``maxIdleTime``. With notifications the session learns
the sid from the first event for its (cname, uid) and stops the recording; either way the
`OrphanedStartError` it raises says what happened and what is left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from .enums import Mode
from .errors import OrphanedStartError
from .models import RecordingHandle

if TYPE_CHECKING:
    from ._client import RecordingClient
    from .webhooks import Subscription

__all__ = ["recover_orphan"]

_log = logging.getLogger("agora_recording.session")


async def recover_orphan(
    client: RecordingClient,
    subscription: Subscription | None,
    *,
    resource_id: str,
    mode: Mode,
    cname: str,
    uid: str,
    orphan_wait: float,
    stop_timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> OrphanedStartError:
    """Learn the orphan's sid from ``subscription`` within ``orphan_wait`` seconds and stop it
    (shielded: it bills until stopped); return the error that says how far that got."""
    where = f"resource {resource_id}, cname {cname!r}, uid {uid}"
    if subscription is None:
        return OrphanedStartError(
            f"the start answer was lost but the service started the recording ({where}); "
            "its sid is unknown, so it runs until maxIdleTime. Find it by its cname and uid "
            "in Agora's notifications (NCS) or Console, then stop it with its sid; pass "
            "notifications= to let the session do this",
            handle=None,
            stopped=False,
        )
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(orphan_wait):
            while subscription.sid is None:
                await subscription.__anext__()
        sid = subscription.sid
        if sid is None:
            return OrphanedStartError(
                f"the start answer was lost but the service started the recording ({where}) "
                f"and no notification named its sid within {orphan_wait:g} s; it runs "
                "until maxIdleTime",
                handle=None,
                stopped=False,
            )
        handle = RecordingHandle(resource_id=resource_id, sid=sid, mode=mode, cname=cname, uid=uid)
        client.track(handle)
        _log.warning("start answer lost: found sid=%s from notifications; stopping it", sid)
        try:
            done = await client.ensure_stopped(
                handle, stop_timeout=stop_timeout, clock=clock, sleep=sleep
            )
        except Exception as exc:
            failure = OrphanedStartError(
                f"the start answer was lost; the recording it started (sid {sid}, {where}) "
                f"was found but its stop was not confirmed: {exc}",
                handle=handle,
                stopped=False,
            )
            failure.__context__ = exc
            return failure
    return OrphanedStartError(
        f"the start answer was lost; the recording it started (sid {sid}, {where}) was "
        f"found through notifications and stopped ({done.outcome.value}); start again",
        handle=handle,
        stopped=True,
    )
