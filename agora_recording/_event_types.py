"""The ``eventType`` numbers of Cloud Recording notifications, apart from their detail models.

The envelope parser needs only the numbers; the models of `agora_recording.events` are loaded
when a notification's details are first read, so importing the package does not build them.
"""

from __future__ import annotations

import enum
from typing import Final

from .enums import Mode

__all__ = ["MSG_NAME", "EventType", "ServiceScene", "service_scene_of"]

MSG_NAME: Final = "msgName"
"""The key every ``details`` object carries: the event's name (``"recorder_started"``)."""


class EventType(enum.IntEnum):
    """``eventType`` of Cloud Recording notifications (its ``details.msgName`` in comments)."""

    CLOUD_RECORDING_ERROR = 1  # cloud_recording_error
    CLOUD_RECORDING_WARNING = 2  # cloud_recording_warning
    CLOUD_RECORDING_STATUS_UPDATE = 3  # cloud_recording_status_update
    CLOUD_RECORDING_FILE_INFOS = 4  # cloud_recording_file_infos
    SESSION_EXIT = 11  # session_exit
    SESSION_FAILOVER = 12  # session_failover
    HA_REGISTER_SUCCESS = 13  # high availability register success (integration best practices)
    UPLOADER_STARTED = 30  # uploader_started
    UPLOADED = 31  # uploaded
    BACKUPED = 32  # backuped
    UPLOADING_PROGRESS = 33  # uploading_progress
    RECORDER_STARTED = 40  # recorder_started
    RECORDER_LEAVE = 41  # recorder_leave
    RECORDER_SLICE_START = 42  # recorder_slice_start
    RECORDER_AUDIO_STREAM_STATE_CHANGED = 43
    RECORDER_VIDEO_STREAM_STATE_CHANGED = 44
    RECORDER_SNAPSHOT_FILE = 45  # recorder_snapshot_file
    VOD_STARTED = 60
    VOD_TRIGGERED = 61
    WEB_RECORDER_STARTED = 70  # web_recorder_started
    WEB_RECORDER_STOPPED = 71  # web_recorder_stopped
    WEB_RECORDER_CAPABILITY_LIMIT = 72
    WEB_RECORDER_RELOAD = 73
    TRANSCODER_STARTED = 80
    TRANSCODER_COMPLETED = 81
    DOWNLOAD_FAILED = 90
    RTMP_PUBLISH_STATUS = 100
    POSTPONE_TRANSCODE_FINAL_RESULT = 1001

    @property
    def msg_name(self) -> str:
        """The ``details.msgName`` of this event type."""
        return self.name.lower()


class ServiceScene(str, enum.Enum):
    """``payload.serviceScene`` of a notification: which recording service sent it.

    Agora's "Individual recording migration guide" names the two values: legacy individual
    recording (``mode=individual``) sends ``rtc_record``, raw individual recording
    (``mode=raw``) ``rtsc/raw-recording``. No page names a value for composite or web page
    recording, so a value this library does not know is kept as the plain string.
    """

    RTC_RECORD = "rtc_record"
    RAW_RECORDING = "rtsc/raw-recording"


_SCENES: Final = {Mode.INDIVIDUAL: ServiceScene.RTC_RECORD, Mode.RAW: ServiceScene.RAW_RECORDING}


def service_scene_of(mode: Mode | str) -> ServiceScene | None:
    """The ``serviceScene`` the migration guide documents for ``mode`` (None if it names none)."""
    try:
        return _SCENES.get(Mode(mode))
    except ValueError:
        return None
