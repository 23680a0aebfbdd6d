"""A start written down before it is sent: `StartIntent` and the `StartJournal` that keeps it.

A worker killed between sending ``start`` and recording its answer leaves a recording that
nobody can find: the REST API has no "list recordings" call. A journal closes that gap. The
session writes the *intent* (resource ID, cname, uid, mode, owner) before the request goes out,
adds the ``sid`` as soon as ``start`` answers, and forgets the intent when the service proved
that nothing started. An intent left without a ``sid`` (the worker died, or the start stayed
ambiguous) is the janitor's to resolve: by notifications for its cname and uid, or, once the
resource ID has expired, as an ERROR an operator can act on.

The Redis `agora_recording.redis.LeaseStore` is the journal of a worker fleet; any object with
these four methods will do. The journal bounds its own time: a call that cannot be recorded in
its bound raises an `agora_recording.errors.AgoraError`, and the session decides what that means
(see ``RecordingSession``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from .enums import Mode
from .models import RecordingHandle

__all__ = ["StartIntent", "StartJournal"]


@attrs.frozen(kw_only=True)
class StartIntent:
    """A start about to be sent: enough to find its recording again without its ``sid``."""

    resource_id: str
    cname: str
    uid: str
    mode: Mode
    #: Unix time (seconds, the wall clock) at which the start request was first sent; a
    #: recording found later by its cname and uid belongs to this start only if it began after.
    began_at: float

    def handle(self, sid: str) -> RecordingHandle:
        """The recording this start began, once its ``sid`` is known."""
        return RecordingHandle(
            resource_id=self.resource_id, sid=sid, mode=self.mode, cname=self.cname, uid=self.uid
        )


@runtime_checkable
class StartJournal(Protocol):
    """Where sessions write their starts down; each call is bounded by the journal itself."""

    async def begin(self, intent: StartIntent) -> None:
        """Record ``intent`` before ``start`` is sent; raise an `AgoraError` if it cannot."""

    async def started(self, intent: StartIntent, handle: RecordingHandle) -> None:
        """The start answered: the intent becomes a recording with its ``sid``."""

    async def refused(self, intent: StartIntent) -> None:
        """The service proved that no recording started: forget the intent."""

    async def unresolved(self, intent: StartIntent) -> None:
        """The start stayed ambiguous: keep the intent for a janitor to resolve."""
