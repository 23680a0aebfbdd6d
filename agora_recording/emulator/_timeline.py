"""The emulator's time engine: which timed actions each recording has pending, and replaying them.

Nothing runs in the background. Whenever something looks, :meth:`Timeline.settle` finds the
recordings with something due (a heap of each recording's next due time) and replays, in time
order, whatever fell due since: upload progress events, failovers, an injected death, a token or
storage expiry, ``maxRecordingHour``, an idle exit, the end of the exit window. A request thus
costs the same with ten recordings or ten thousand, and a fake clock can jump hours ahead.

What an action *does* is the state machine's business (:class:`Happenings`); this module only
knows when actions fall due and in which order.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Protocol

import attrs

from ._recording import ExitKind, Recording

__all__ = [
    "PROGRESS_INTERVAL",
    "Action",
    "CapabilityLimit",
    "ExitBySelf",
    "FailoverBegin",
    "FailoverEnd",
    "Happenings",
    "PageTimeout",
    "Progress",
    "Snapshot",
    "StorageExpiry",
    "Timeline",
    "pending",
]

PROGRESS_INTERVAL = 60.0
"""Seconds between two ``uploading_progress`` events of a running recording."""


@attrs.frozen
class FailoverBegin:
    """Failover ``index`` of the recording starts: the task becomes unreachable."""

    index: int


@attrs.frozen
class FailoverEnd:
    """Failover ``index`` ends: the task is back, with a new recorder uid."""

    index: int


@attrs.frozen
class ExitBySelf:
    """The task exits without a ``stop``: death, token, abnormal exit, max hour or idle."""

    kind: ExitKind


@attrs.frozen
class StorageExpiry:
    """The STS storage credentials expire unrefreshed: uploads fail from now on."""


@attrs.frozen
class Snapshot:
    """Screenshots are due."""


@attrs.frozen
class CapabilityLimit:
    """The web page needs more than the recorder has (an injected fault)."""


@attrs.frozen
class PageTimeout:
    """The web page did not report itself loaded within ``readyTimeout``."""


@attrs.frozen
class Progress:
    """An ``uploading_progress`` event is due."""


Action = (
    FailoverBegin
    | FailoverEnd
    | ExitBySelf
    | StorageExpiry
    | CapabilityLimit
    | PageTimeout
    | Snapshot
    | Progress
)
"""A timed action of a recording."""


def pending(recording: Recording) -> list[tuple[float, Action]]:
    """The timed actions ``recording`` has ahead, as ``(time, action)``.

    Listed in the order they happen when due at the same instant (failovers, then a death or
    the token's end, an abnormal exit, storage expiry, ``maxRecordingHour``, idleness, and
    progress last): sorting by time alone, which is stable, keeps that order.
    """
    if not recording.running:
        return []
    due: list[tuple[float, Action]] = []
    due += [
        (failover.start, FailoverBegin(index))
        for index, failover in enumerate(recording.failovers)
        if not failover.begun
    ]
    due += [
        (failover.end, FailoverEnd(index))
        for index, failover in enumerate(recording.failovers)
        if failover.begun and not failover.done
    ]
    if recording.die_at is not None:
        due.append((recording.die_at, ExitBySelf("died")))
    if recording.token_exit_at is not None:
        due.append((recording.token_exit_at, ExitBySelf("token")))
    if recording.abnormal_at is not None:
        due.append((recording.abnormal_at, ExitBySelf("abnormal")))
    if recording.sts_expires_at is not None and recording.upload_failed_at is None:
        due.append((recording.sts_expires_at, StorageExpiry()))
    if recording.recording_until is not None:
        due.append((recording.recording_until, ExitBySelf("max_hour")))
    if recording.idle_rule is not None and recording.idle_since is not None:
        due.append((recording.idle_since + recording.max_idle, ExitBySelf("idle")))
    if recording.capability_limit_at is not None:
        due.append((recording.capability_limit_at, CapabilityLimit()))
    if recording.page_deadline is not None:
        due.append((recording.page_deadline, PageTimeout()))
    if recording.next_snapshot_at is not None:
        due.append((recording.next_snapshot_at, Snapshot()))
    due.append((recording.next_progress_at, Progress()))
    return due


class Happenings(Protocol):
    """What the state machine does when a timed action falls due (see :class:`Timeline`)."""

    def begin_failover(self, recording: Recording, index: int, at: float) -> None:
        """Failover ``index`` starts at ``at``."""

    def end_failover(self, recording: Recording, index: int, at: float) -> None:
        """Failover ``index`` ends at ``at``."""

    def exit(self, recording: Recording, at: float, kind: ExitKind) -> None:
        """The task starts exiting at ``at``."""

    def expire_storage(self, recording: Recording, at: float) -> None:
        """The storage credentials expired at ``at``."""

    def report_progress(self, recording: Recording, at: float) -> None:
        """Emit the ``uploading_progress`` event of time ``at``."""

    def page_timeout(self, recording: Recording, at: float) -> None:
        """The web page was not loaded within ``readyTimeout`` at ``at``."""

    def capability_limit(self, recording: Recording, at: float) -> None:
        """The web page reached a limit of the recorder at ``at``."""

    def take_snapshots(self, recording: Recording, at: float) -> None:
        """Take the screenshots due at ``at``."""

    def forget(self, recording: Recording) -> None:
        """The task no longer exists at all."""


@attrs.define
class _Entry:
    recording: Recording
    serial: int  # start order: recordings due together settle in that order
    due: float | None = None


class Timeline:
    """The next due time of every recording, and the replay of what fell due.

    ``on_schedule`` is called with a recording's new due time whenever it changes (to wake a
    driver sleeping until the next one).
    """

    def __init__(
        self, happenings: Happenings, on_schedule: Callable[[float], None] | None = None
    ) -> None:
        self._happenings = happenings
        self._on_schedule = on_schedule
        self._entries: dict[str, _Entry] = {}
        # (due, tie, sid); an entry whose time is no longer the recording's due time is stale.
        self._heap: list[tuple[float, int, str]] = []
        self._tie = itertools.count()

    def track(self, recording: Recording) -> None:
        """Follow a new recording (call :meth:`schedule` once it is set up)."""
        self._entries[recording.sid] = _Entry(recording, next(self._tie))

    def schedule(self, recording: Recording) -> None:
        """Note when ``recording`` next has something due: a timed action or being gone."""
        entry = self._entries[recording.sid]
        times = [when for when, _ in pending(recording)]
        if recording.gone_at is not None:
            times.append(recording.gone_at)
        due = min(times, default=None)
        if due is None:
            entry.due = None
        elif entry.due != due:
            entry.due = due
            heapq.heappush(self._heap, (due, next(self._tie), recording.sid))
            if self._on_schedule is not None:
                self._on_schedule(due)

    def settle(self, now: float) -> None:
        """Replay whatever fell due up to ``now`` for every recording with something due."""
        due: list[_Entry] = []
        while self._heap and self._heap[0][0] <= now:
            when, _, sid = heapq.heappop(self._heap)
            entry = self._entries.get(sid)
            if entry is not None and entry.due == when:  # else stale: rescheduled or gone
                entry.due = None
                due.append(entry)
        for entry in sorted(due, key=lambda e: e.serial):  # in the order they started
            self._settle(entry.recording, now)

    def next_due(self) -> float | None:
        """The earliest time something falls due, or None; :meth:`settle` then makes it happen."""
        while self._heap:
            when, _, sid = self._heap[0]
            entry = self._entries.get(sid)
            if entry is not None and entry.due == when:
                return when
            heapq.heappop(self._heap)  # stale: rescheduled or gone
        return None

    def _settle(self, recording: Recording, now: float) -> None:
        """Replay, in time order, everything that fell due for ``recording`` up to ``now``."""
        happenings = self._happenings
        while True:
            if recording.gone(now):
                del self._entries[recording.sid]
                happenings.forget(recording)
                return
            ahead = pending(recording)
            due = sorted(((when, action) for when, action in ahead if when <= now), key=_time)
            if not due:
                self.schedule(recording)
                return
            when, action = due[0]
            if isinstance(action, Progress):
                # Coalesce the events of a clock jump: one per interval would be noise.
                later = [w for w, a in ahead if not isinstance(a, Progress)]
                limit = min([now, *later])
                when += ((limit - when) // PROGRESS_INTERVAL) * PROGRESS_INTERVAL
                recording.next_progress_at = when + PROGRESS_INTERVAL
                happenings.report_progress(recording, when)
            elif isinstance(action, FailoverBegin):
                happenings.begin_failover(recording, action.index, when)
            elif isinstance(action, FailoverEnd):
                happenings.end_failover(recording, action.index, when)
            elif isinstance(action, ExitBySelf):
                happenings.exit(recording, when, action.kind)
            elif isinstance(action, CapabilityLimit):
                happenings.capability_limit(recording, when)
            elif isinstance(action, PageTimeout):
                happenings.page_timeout(recording, when)
            elif isinstance(action, Snapshot):
                happenings.take_snapshots(recording, when)
            else:
                happenings.expire_storage(recording, when)


def _time(due: tuple[float, Action]) -> float:
    return due[0]
