"""A session's status fan-out: the latest status, ``status_changes()`` iterators, ``on_status``.

The session learns a status from ``query`` answers and notifications; `StatusFeed` keeps the
latest one and hands each change to the callback and to every open iterator, each backed by
its own unbounded memory object stream, so a slow reader never holds up the poller.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._hints import status_name
from .enums import RecordingStatus

__all__ = ["Status", "StatusCallback", "StatusChanges", "StatusFeed", "status_name", "status_value"]

_log = logging.getLogger("agora_recording.session")

Status = RecordingStatus
StatusCallback = Callable[[Status], object]


def status_value(value: int) -> Status:
    """``value`` as a `RecordingStatus`; an undocumented one is an ``UNKNOWN_<n>`` pseudo-member."""
    return RecordingStatus(value)


class StatusChanges:
    """An async iterator over a session's status: the current one, then each change.

    Backed by its own memory object stream; it ends when the session exits. Closing it early
    (``aclose()``, ``async with``, or dropping it) unsubscribes.
    """

    __slots__ = ("_receive",)

    def __init__(self, receive: MemoryObjectReceiveStream[Status]) -> None:
        self._receive = receive

    def __aiter__(self) -> StatusChanges:
        return self

    async def __anext__(self) -> Status:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._receive.close()
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Unsubscribe; the iterator ends."""
        self._receive.close()

    async def __aenter__(self) -> StatusChanges:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._receive.close()

    def __del__(self) -> None:
        # An abandoned iterator is harmless: release its stream instead of warning about it.
        self._receive.close()


class StatusFeed:
    """The latest status and who hears about changes; `close` ends every iterator."""

    __slots__ = ("_closed", "_on_status", "_subscribers", "current")

    def __init__(self, on_status: StatusCallback | None) -> None:
        self.current: Status | None = None
        self._on_status = on_status
        self._subscribers: list[MemoryObjectSendStream[Status]] | None = None  # made on demand
        self._closed = False

    def publish(self, status: Status, sid: str | None) -> None:
        """Record ``status``; when it changed, tell the callback and every iterator.

        A callback that raises is logged (naming ``sid``) and does not stop the others."""
        if status == self.current:
            return
        _log.debug("recording sid=%s status %s", sid, int(status))
        self.current = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                _log.exception("on_status callback failed (sid=%s)", sid)
        subscribers = self._subscribers
        if subscribers:
            for send in list(subscribers):
                try:
                    send.send_nowait(status)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    subscribers.remove(send)

    def subscribe(self) -> StatusChanges:
        """A new iterator: the current status first (when known), then every change."""
        send, receive = anyio.create_memory_object_stream[Status](math.inf)
        if self._closed:
            send.close()
        else:
            if self.current is not None:
                send.send_nowait(self.current)
            if self._subscribers is None:
                self._subscribers = []
            self._subscribers.append(send)
        return StatusChanges(receive)

    def close(self) -> None:
        """End every iterator; later subscriptions end at once."""
        self._closed = True
        subscribers, self._subscribers = self._subscribers, None
        for send in subscribers or ():
            send.close()
