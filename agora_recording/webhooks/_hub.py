"""Route verified NCS notifications to the code waiting for them (``NotificationHub``).

NCS delivers each event to one HTTP endpoint, in no guaranteed order and sometimes twice. The
hub turns that into one ordered stream per recording:

* **Dedupe.** A notification whose :attr:`~Notification.dedupe_key` (``noticeId``, which NCS
  keeps when it resends; it renews ``notifyMs``) was seen within the last ``dedupe_window``
  seconds is dropped and counted in :attr:`NotificationHub.duplicates`. NCS resends a
  notification that got no 200 within minutes, so the default window is 15 minutes; keys
  older than the window are forgotten, so memory follows the rate of (signed) notifications.
* **Order.** Per ``sid``, events are passed on in ``payload.sequence`` order. An event that
  arrives ahead of a missing one is held until the gap fills, for at most ``reorder_timeout``
  seconds and at most ``reorder_window`` events; then the gap is given up on and the held events
  go out in order. The first event seen of a sid is held the same way unless its sequence is 0
  (a hub started mid-recording learns where numbering is). An event numbered below the next
  expected one (its gap was given up on) is passed on at once. Events without a sid or a
  sequence are never held. The per-sid state is an LRU of ``max_sids`` recordings. Held events
  are indexed by their deadline, so a publish never scans the sids that hold some.
* **Route.** An event goes to every subscription for its ``sid``, and to every subscription for
  its ``(cname, uid)`` that has no sid yet; such a subscription learns the event's sid and is
  routed by sid from then on (so it keeps receiving after a failover changes the recorder
  UID). An event nobody subscribed to is *unclaimed*: it goes to ``on_unclaimed`` and to the
  :meth:`NotificationHub.unclaimed` stream, never silently away.

Every stream has a bounded buffer: when a consumer falls behind, the oldest event is dropped and
counted in its ``dropped``; :meth:`NotificationHub.publish` never waits and never raises.

The hub is single-threaded: call it from the event loop that runs your consumers (the receiver
does). Held events are released when a later event arrives, or when a consumer waits on a
stream (its wait ends at the hold deadline); the clock is the event loop's
(:func:`anyio.current_time`), so virtual clocks drive it in tests. Works under asyncio and Trio.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Collection
from types import TracebackType
from typing import TypeVar

import anyio
import attrs

from agora_recording._numbers import count as checked_count
from agora_recording._numbers import seconds as checked_seconds
from agora_recording.errors import ArgumentTypeError, ValidationError

from ._envelope import Notification

__all__ = ["NotificationHub", "Subscription"]

logger = logging.getLogger("agora_recording.webhooks")

_K = TypeVar("_K")

# Events only a recording that is beginning sends (see `NotificationHub.subscribe`).
_BEGINNINGS = frozenset({13, 30, 40, 42, 70})


class Subscription:
    """A bounded stream of the notifications of one recording (or of the unclaimed ones).

    Made by :meth:`NotificationHub.subscribe`. Use it as a context manager (leaving the block
    unsubscribes) and iterate it asynchronously::

        with hub.subscribe(cname="class-42", uid="99") as events:
            ...  # start the recording
            async for note in events:
                if note.event_type == EventType.SESSION_EXIT:
                    break

    Iteration waits for the next event and ends once the subscription is closed and drained.
    :meth:`receive_nowait` and :attr:`pending` look without waiting. When the consumer falls
    behind, the oldest buffered event is dropped and counted in :attr:`dropped`.
    """

    def __init__(
        self,
        hub: NotificationHub,
        *,
        sid: str | None,
        cname: str | None,
        uid: str | None,
        buffer_size: int,
        new_recording: bool = False,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        self._hub = hub
        self._new_recording = new_recording
        self._exclude = exclude
        self._sid = sid
        self.cname = cname
        """The channel name this subscription was made for, if any."""
        self.uid = uid
        """The recorder UID this subscription was made for, if any."""
        self._buffer: deque[Notification] = deque()
        self._buffer_size = buffer_size
        self._wakeup: anyio.Event | None = None
        self._closed = False
        self.dropped = 0
        """How many events were dropped because the buffer was full (or the stream closed)."""

    def __repr__(self) -> str:
        return (
            f"Subscription(sid={self._sid!r}, cname={self.cname!r}, uid={self.uid!r}, "
            f"pending={len(self._buffer)}, dropped={self.dropped}, closed={self._closed})"
        )

    @property
    def sid(self) -> str | None:
        """The recording this subscription follows: as given, bound, or learnt from an event."""
        return self._sid

    @property
    def closed(self) -> bool:
        """Whether the subscription was closed (by :meth:`close`, the block or the hub)."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many events can be read now without waiting."""
        self._hub._release_overdue()
        return len(self._buffer)

    def bind(self, sid: str) -> None:
        """Follow recording ``sid`` from now on (e.g. once the start answer gives it).

        Events already buffered stay; a ``(cname, uid)`` subscription stops matching by
        channel and UID, so a later recording with the same pair does not leak in.
        """
        self._hub._bind(self, str(sid))

    def receive_nowait(self) -> Notification | None:
        """Return the next buffered event, or None if there is none right now."""
        self._hub._release_overdue()
        return self._buffer.popleft() if self._buffer else None

    def close(self) -> None:
        """Unsubscribe; idempotent. Buffered events can still be read, then iteration ends."""
        if not self._closed:
            self._hub._forget(self)
            self._shut()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Notification:
        while True:
            note = self.receive_nowait()
            if note is not None:
                return note
            if self._closed:
                raise StopAsyncIteration
            if self._wakeup is None:
                self._wakeup = anyio.Event()
            wakeup = self._wakeup  # shared, so several waiting tasks all wake up
            deadline = self._hub._next_deadline()
            if deadline is None:
                await wakeup.wait()
            else:
                with anyio.CancelScope(deadline=deadline):  # a held event is due then
                    await wakeup.wait()

    # -- used by the hub -----------------------------------------------------------------------

    def _accepts(self, note: Notification) -> bool:
        """Whether a ``(cname, uid)`` subscription may take ``note`` (and learn its sid)."""
        if note.sid is not None and note.sid in self._exclude:
            return False
        return not self._new_recording or note.sequence == 0 or note.event_type in _BEGINNINGS

    def _push(self, note: Notification) -> None:
        if self._closed:
            self.dropped += 1
            return
        if len(self._buffer) >= self._buffer_size:
            self._buffer.popleft()
            self.dropped += 1
        self._buffer.append(note)
        self._wake()

    def _shut(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None


@attrs.define
class _Order:
    """Sequence state of one sid: the next expected number and the events held for a gap."""

    next: int | None = None
    held: list[Notification] = attrs.Factory(list)
    deadline: float | None = None


def _sequence(note: Notification) -> int:
    seq = note.sequence
    assert seq is not None  # only sequenced events are held
    return seq


class NotificationHub:
    """Dedupe, order and route NCS notifications to subscriptions (see the module docstring).

    ``buffer_size`` bounds each subscription, ``unclaimed_buffer_size`` the unclaimed stream;
    ``dedupe_window`` is how long (seconds) a notice ID is remembered; ``reorder_window`` and
    ``reorder_timeout`` (seconds) bound how long an early event waits for a missing one;
    ``max_sids`` bounds the per-recording ordering state. ``on_unclaimed`` is called (in
    :meth:`publish`, so keep it quick) with each event no subscription claimed; an exception it
    raises is logged and ignored.
    """

    def __init__(
        self,
        *,
        on_unclaimed: Callable[[Notification], object] | None = None,
        buffer_size: int = 256,
        unclaimed_buffer_size: int = 1024,
        dedupe_window: float = 900.0,
        reorder_window: int = 32,
        reorder_timeout: float = 1.0,
        max_sids: int = 10_000,
    ) -> None:
        for name, value in (
            ("buffer_size", buffer_size),
            ("unclaimed_buffer_size", unclaimed_buffer_size),
            ("reorder_window", reorder_window),
            ("max_sids", max_sids),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ArgumentTypeError(f"{name} must be an integer")
            checked_count(name, value)
        self._on_unclaimed = on_unclaimed
        self._buffer_size = buffer_size
        self._dedupe_window = checked_seconds("dedupe_window", dedupe_window, allow_zero=True)
        self._reorder_window = reorder_window
        self._reorder_timeout = checked_seconds("reorder_timeout", reorder_timeout, allow_zero=True)
        self._max_sids = max_sids
        self._seen: OrderedDict[str, float] = OrderedDict()  # notice ID -> first seen, in order
        self._orders: OrderedDict[str, _Order] = OrderedDict()
        self._holding: dict[str, _Order] = {}
        self._deadlines: list[tuple[float, int, str]] = []  # (deadline, tie, sid), lazily pruned
        self._ties = itertools.count()
        self._by_sid: dict[str, list[Subscription]] = {}
        self._by_peer: dict[tuple[str, str], list[Subscription]] = {}
        self._unclaimed = Subscription(
            self, sid=None, cname=None, uid=None, buffer_size=unclaimed_buffer_size
        )
        self._closed = False
        self.duplicates = 0
        """How many notifications were dropped as already seen."""

    def __repr__(self) -> str:
        subscriptions = sum(map(len, self._by_sid.values())) + sum(map(len, self._by_peer.values()))
        return (
            f"NotificationHub(subscriptions={subscriptions}, duplicates={self.duplicates}, "
            f"unclaimed_pending={len(self._unclaimed._buffer)})"
        )

    # -- consumers -----------------------------------------------------------------------------

    def subscribe(
        self,
        *,
        sid: str | None = None,
        cname: str | None = None,
        uid: str | None = None,
        new_recording: bool = False,
        exclude: Collection[str] = (),
    ) -> Subscription:
        """Subscribe to one recording's events, by ``sid`` or by ``cname`` and ``uid``.

        Subscribe by ``(cname, uid)`` *before* starting a recording: the first event of that
        recording binds the subscription to its sid, so a caller whose start answer was lost
        still learns the sid. With a ``sid`` (and optionally ``cname``/``uid``, kept for
        reference) only that recording's events arrive. Events published before subscribing
        are not replayed (they went to the unclaimed stream).

        A ``(cname, uid)`` subscription made for a new start can refuse the notifications of
        earlier recordings on the same pair (a web app that records every room with one uid
        gets the late events of the previous recording): ``exclude`` skips the sids given
        (those the caller already knows or stopped), and ``new_recording`` takes only events
        that show a recording beginning (its first, ``sequence`` 0, or a start event: 13, 30,
        40, 42, 70), never the late exit events of an earlier one. A recording on the same
        pair cannot begin before the earlier one ended (the service refuses it with 400 code
        53), so that first event is this start's. ``payload.sendts`` is not used: Agora's clock
        and ours may disagree by more than the gap between two recordings. Skipped events go
        wherever they would have gone without this subscription.
        """
        if sid is None and (cname is None or uid is None):
            raise ValidationError("subscribe", "give a sid, or both cname and uid")
        subscription = Subscription(
            self,
            sid=None if sid is None else str(sid),
            cname=None if cname is None else str(cname),
            uid=None if uid is None else str(uid),
            buffer_size=self._buffer_size,
            new_recording=new_recording,
            exclude=frozenset(exclude),
        )
        if self._closed:
            subscription._shut()
        else:
            self._enroll(subscription)
        return subscription

    def unclaimed(self) -> Subscription:
        """The stream of events no subscription claimed (one shared stream per hub).

        It buffers even when nobody reads it (bounded, oldest dropped and counted in its
        ``dropped``). Closing it stops the buffering; later unclaimed events are only counted.
        """
        return self._unclaimed

    def close(self) -> None:
        """Close every subscription and the unclaimed stream; later publishes are ignored."""
        self._closed = True
        for subscription in self._subscriptions():
            subscription._shut()
        self._by_sid.clear()
        self._by_peer.clear()
        self._unclaimed._shut()

    # -- the receiver --------------------------------------------------------------------------

    def publish(self, note: Notification) -> bool:
        """Take one verified notification; return False if it was a duplicate (or the hub closed).

        Never blocks and never raises because of a consumer: full buffers drop their oldest
        event, closed ones count the event as dropped.
        """
        given: object = note  # checked at run time: callers may not be type-checked
        if not isinstance(given, Notification):
            raise ArgumentTypeError(f"publish() takes a Notification, not {type(given).__name__}")
        if self._closed:
            return False
        now = anyio.current_time()
        self._forget_older_than(now - self._dedupe_window)
        key = note.dedupe_key
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen[key] = now
        self._release_overdue()
        sid, seq = note.sid, note.sequence
        if sid is None or seq is None:
            self._route(note)
            return True
        order = self._orders.get(sid)
        if order is None:
            order = self._orders[sid] = _Order()
            if len(self._orders) > self._max_sids:
                old_sid, old_order = self._orders.popitem(last=False)
                self._release(old_sid, old_order, everything=True)
                self._holding.pop(old_sid, None)
        else:
            self._orders.move_to_end(sid)
        expected = 0 if order.next is None else order.next
        if seq == expected:
            order.next = seq + 1
            self._route(note)
            self._release(sid, order)
        elif seq < expected:
            self._route(note)  # late (its gap was given up on): pass it on at once
        else:
            order.held.append(note)
            if order.deadline is None:
                self._hold(sid, order)
            if len(order.held) > self._reorder_window:
                self._release(sid, order, skip_one_gap=True)
        return True

    # -- internals -----------------------------------------------------------------------------

    def _release(
        self, sid: str, order: _Order, *, everything: bool = False, skip_one_gap: bool = False
    ) -> None:
        """Pass on held events that are next in line; give up on gaps as asked."""
        if not order.held:
            return
        order.held.sort(key=_sequence)
        while order.held:
            seq = _sequence(order.held[0])
            if order.next is not None and seq < order.next:
                self._route(order.held.pop(0))
            elif order.next is None or seq > order.next:
                if not (everything or skip_one_gap):
                    break
                skip_one_gap = False
                order.next = seq
            else:
                order.next = seq + 1
                self._route(order.held.pop(0))
        if order.held:
            if order.deadline is None:
                self._hold(sid, order)
        else:
            order.deadline = None
            self._holding.pop(sid, None)

    def _hold(self, sid: str, order: _Order) -> None:
        """Start the hold deadline of ``sid`` and index it."""
        order.deadline = anyio.current_time() + self._reorder_timeout
        self._holding[sid] = order
        heapq.heappush(self._deadlines, (order.deadline, next(self._ties), sid))

    def _forget_older_than(self, horizon: float) -> None:
        seen = self._seen
        while seen:
            key, first = next(iter(seen.items()))
            if first >= horizon:
                return
            del seen[key]

    def _release_overdue(self) -> None:
        """Release the sids whose hold ran out: only those, found through the deadline heap."""
        if not self._deadlines:
            return
        now = anyio.current_time()
        while (deadline := self._next_deadline()) is not None and deadline <= now:
            _, _, sid = heapq.heappop(self._deadlines)
            order = self._holding.get(sid)
            if order is not None:
                self._release(sid, order, everything=True)

    def _next_deadline(self) -> float | None:
        """The earliest live hold deadline (stale heap entries are dropped on the way)."""
        heap = self._deadlines
        while heap:
            deadline, _, sid = heap[0]
            order = self._holding.get(sid)
            if order is not None and order.deadline == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    def _route(self, note: Notification) -> None:
        targets = list(self._by_sid.get(note.sid, ())) if note.sid is not None else []
        cname, uid = note.cname, note.uid
        if cname is not None and uid is not None:
            waiting = [s for s in self._by_peer.get((cname, uid), ()) if s._accepts(note)]
            targets.extend(waiting)
            if note.sid is not None:
                for subscription in list(waiting):
                    self._bind(subscription, note.sid)
        for subscription in targets:
            subscription._push(note)
        if targets:
            return
        if self._on_unclaimed is not None:
            try:
                self._on_unclaimed(note)
            except Exception:
                logger.exception("the on_unclaimed callback failed; the event stays unclaimed")
        self._unclaimed._push(note)

    def _subscriptions(self) -> list[Subscription]:
        every = [s for group in self._by_sid.values() for s in group]
        every.extend(s for group in self._by_peer.values() for s in group)
        return every

    def _enroll(self, subscription: Subscription) -> None:
        if subscription.sid is not None:
            self._by_sid.setdefault(subscription.sid, []).append(subscription)
        elif subscription.cname is not None and subscription.uid is not None:
            peer = (subscription.cname, subscription.uid)
            self._by_peer.setdefault(peer, []).append(subscription)

    def _forget(self, subscription: Subscription) -> None:
        if subscription.sid is not None:
            _remove(self._by_sid, subscription.sid, subscription)
        if subscription.cname is not None and subscription.uid is not None:
            _remove(self._by_peer, (subscription.cname, subscription.uid), subscription)

    def _bind(self, subscription: Subscription, sid: str) -> None:
        if subscription is self._unclaimed or subscription.closed:
            return
        self._forget(subscription)
        subscription._sid = sid
        self._enroll(subscription)


def _remove(table: dict[_K, list[Subscription]], key: _K, subscription: Subscription) -> None:
    group = table.get(key)
    if group is not None and subscription in group:
        group.remove(subscription)
        if not group:
            del table[key]
