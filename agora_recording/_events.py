"""What a notification (NCS event) says about a recording: pure functions, no I/O.

A session fed by a `NotificationHub` learns of starts, exits and failovers within milliseconds
instead of at its next poll. `read_event` turns one `Notification` into the few facts the session
acts on; the session applies them exactly as it applies a ``query`` answer, so its status stream,
outcome and failure detection are the same whichever way the news came.

It reads the typed details of `agora_recording.events` (Agora's "Notification callback events"
page for Cloud Recording): 11 ``session_exit`` (`ExitStatus`), 41 ``recorder_leave``
(`LeaveCode.NO_USERS`: nobody published for ``maxIdleTime``), 71 ``web_recorder_stopped``
(`WebRecorderStopCode`), 12 ``session_failover``, 40 ``recorder_started``, 70
``web_recorder_started``, 3 ``cloud_recording_status_update`` and 1 ``cloud_recording_error``
(`ErrorLevel.FATAL`). Details of the wrong shape are read as saying nothing.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from .errors import ValidationError
from .webhooks._envelope import Notification

if TYPE_CHECKING:
    from .events import EventDetails

__all__ = ["EventFacts", "Exit", "read_event"]


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


def read_event(note: Notification) -> EventFacts:
    """The facts a session takes from ``note`` (an empty `EventFacts` for other events)."""
    try:
        details = note.event_details
    except ValidationError:
        return EventFacts()
    return _facts(details)


def _facts(details: EventDetails) -> EventFacts:
    from .events import (  # loaded with the first notification, not with the package
        CloudRecordingError,
        CloudRecordingStatusUpdate,
        ExitStatus,
        RecorderLeave,
        RecorderStarted,
        SessionExit,
        SessionFailover,
        WebRecorderStarted,
        WebRecorderStopCode,
        WebRecorderStopped,
    )

    if isinstance(details, (RecorderStarted, WebRecorderStarted)):
        return EventFacts(healthy=True)
    if isinstance(details, CloudRecordingStatusUpdate):
        return EventFacts(status=None if details.status is None else int(details.status))
    if isinstance(details, SessionFailover):
        return EventFacts(failover=True)
    if isinstance(details, RecorderLeave):
        return EventFacts(idle_leave=details.idle)
    if isinstance(details, SessionExit):
        abnormal = details.exit_status == ExitStatus.ABNORMAL
        return EventFacts(exit=Exit.ABNORMAL if abnormal else Exit.NORMAL)
    if isinstance(details, WebRecorderStopped):
        if details.code == WebRecorderStopCode.MAX_RECORDING_HOUR:
            return EventFacts(exit=Exit.MAX_RECORDING_HOUR)
        if details.code not in (None, WebRecorderStopCode.OK):
            return EventFacts(exit=Exit.WEB_FAILED)
        return EventFacts()
    if isinstance(details, CloudRecordingError) and details.fatal:
        message, code = details.error_msg, details.error_code
        return EventFacts(fatal=f"error {code}: {message}" if message else f"error {code}")
    return EventFacts()
