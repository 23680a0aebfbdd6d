"""What a notification (NCS event) says about a recording: pure functions, no I/O.

A session fed by a `NotificationHub` learns of starts, exits and failovers within milliseconds
instead of at its next poll. `read_event` turns one `Notification` into the few facts the session
acts on; the session applies them exactly as it applies a ``query`` answer, so its status stream,
outcome and failure detection are the same whichever way the news came.

Event numbers and fields are those of Agora's "Notification callback events" page for Cloud
Recording: 11 ``session_exit`` (``exitStatus`` 0 normal, 1 abnormal), 41 ``recorder_leave``
(``leaveCode`` bit 4: nobody published for ``maxIdleTime``), 71 ``web_recorder_stopped`` (``code``
1: ``maxRecordingHour`` reached), 12 ``session_failover``, 40 ``recorder_started``, 70
``web_recorder_started``, 3 ``cloud_recording_status_update`` and 1 ``cloud_recording_error``
(``errorLevel`` 5: fatal).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .webhooks import EventType, Notification

__all__ = ["EventFacts", "Exit", "read_event"]

#: ``recorder_leave.leaveCode`` bit set when the recorder left because nobody published.
LEAVE_CODE_NO_USERS = 4
#: ``errorLevel`` of a fatal ``cloud_recording_error``: the task may exit.
FATAL_ERROR_LEVEL = 5


class Exit(enum.Enum):
    """How an exit event says the recording ended."""

    NORMAL = "normal"
    IDLE = "idle"
    ABNORMAL = "abnormal"
    MAX_RECORDING_HOUR = "max_recording_hour"
    WEB_FAILED = "web_failed"


@attrs.frozen(kw_only=True)
class EventFacts:
    """The facts of one event that a session acts on (all optional)."""

    healthy: bool = False
    """The recorder started (event 40 or 70): the recording came up."""
    status: int | None = None
    """A status reported by event 3."""
    exit: Exit | None = None
    """The recording ended (event 11, or a web recorder stop other than ours)."""
    failover: bool = False
    """Event 12: the task is migrating; 404s for up to 90 s are expected."""
    fatal: str | None = None
    """A fatal error (event 1, level 5) worth an immediate poll: its message."""
    idle_leave: bool = False
    """Event 41 with the no-users bit: the exit that follows is an idle exit."""


def _int(details: Mapping[str, Any], key: str) -> int | None:
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def read_event(note: Notification) -> EventFacts:
    """The facts a session takes from ``note`` (an empty `EventFacts` for other events)."""
    details = note.details
    kind = note.event_type
    if kind in (EventType.RECORDER_STARTED, EventType.WEB_RECORDER_STARTED):
        return EventFacts(healthy=True)
    if kind == EventType.CLOUD_RECORDING_STATUS_UPDATE:
        return EventFacts(status=_int(details, "status"))
    if kind == EventType.SESSION_FAILOVER:
        return EventFacts(failover=True)
    if kind == EventType.RECORDER_LEAVE:
        leave_code = _int(details, "leaveCode") or 0
        return EventFacts(idle_leave=bool(leave_code & LEAVE_CODE_NO_USERS))
    if kind == EventType.SESSION_EXIT:
        abnormal = _int(details, "exitStatus") == 1
        return EventFacts(exit=Exit.ABNORMAL if abnormal else Exit.NORMAL)
    if kind == EventType.WEB_RECORDER_STOPPED:
        stop_code = _int(details, "code")
        if stop_code == 1:
            return EventFacts(exit=Exit.MAX_RECORDING_HOUR)
        if stop_code not in (None, 0):
            return EventFacts(exit=Exit.WEB_FAILED)
        return EventFacts()
    if kind == EventType.CLOUD_RECORDING_ERROR and _int(details, "errorLevel") == FATAL_ERROR_LEVEL:
        message = details.get("errorMsg")
        error_code = _int(details, "errorCode")
        return EventFacts(
            fatal=f"error {error_code}: {message}" if message else f"error {error_code}"
        )
    return EventFacts()
