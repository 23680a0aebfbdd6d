"""What happens to a recording task from start to exit, and the NCS events each step emits.

The order and payloads of the events follow Agora's "Receive notifications" guide
(https://docs.agora.io/en/cloud-recording/develop/receive-notifications): ``recorder_started``
and ``uploader_started`` at start (web: ``web_recorder_started``), then event 13
(high-availability registration, named by the integration best practices; see
``Lifecycle.register_ha``), ``recorder_slice_start`` per recorded track and
``cloud_recording_file_infos`` at the first file, ``session_failover`` after a failover, and
at exit ``recorder_leave``, ``uploaded`` (or ``backuped``) and ``session_exit`` (web:
``web_recorder_stopped`` first; an abnormal exit or a token rejection:
``cloud_recording_error`` first). A fourth failover of one task stops it (Agora's Cloud
Recording high-availability FAQ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agora_recording._converter import converter
from agora_recording._event_types import service_scene_of
from agora_recording.enums import RtmpStatus
from agora_recording.events import (
    AudioStreamStateChanged,
    Backuped,
    CloudRecordingError,
    CloudRecordingFileInfos,
    CloudRecordingWarning,
    ErrorLevel,
    ErrorModule,
    EventDetails,
    EventType,
    ExitStatus,
    HaRegisterSuccess,
    LeaveCode,
    PostponeTranscodeFinalResult,
    PostponeTranscodeResult,
    RecorderLeave,
    RecorderSliceStart,
    RecorderSnapshotFile,
    RecorderStarted,
    ReloadReason,
    RtmpPublishStatus,
    SessionExit,
    SessionFailover,
    StreamState,
    TranscodedFile,
    TranscodedUid,
    TranscoderCompleted,
    TranscoderResult,
    TranscoderStarted,
    UidTranscodeResult,
    Uploaded,
    UploaderStarted,
    UploadingProgress,
    VideoStreamStateChanged,
    WebRecorderCapabilityLimit,
    WebRecorderReload,
    WebRecorderStarted,
    WebRecorderStopCode,
    WebRecorderStopped,
    event_type_of,
)
from agora_recording.files import snapshot_name
from agora_recording.models import FileInfo, WebFileInfo

from ._channels import Presence
from ._faults import RecordingFault
from ._files import file_infos, first_index_name, transcoded_files, web_files
from ._ids import IdMinter
from ._notifications import Notifier
from ._recording import ExitKind, Failover, Recording, Track, subscribed, subscription_from
from ._registry import Registry

__all__ = ["LAYOUT_DEFAULTS", "Lifecycle", "attach_fault", "ms", "rtmp_urls"]

_MAX_FAILOVERS = 3
SNAPSHOT_INTERVAL = 10.0
"""``snapshotConfig.captureInterval`` when not set (seconds)."""
_WEB_STOP_CODES: Mapping[str, WebRecorderStopCode] = {
    "max_hour": WebRecorderStopCode.MAX_RECORDING_HOUR,
    "page_load_timeout": WebRecorderStopCode.PAGE_LOAD_TIMEOUT,
}
# Codes of Agora's "Notification callback events" page: uploader error 47 (upload failed),
# uploader warning 32 (re-upload to Agora's backup), service error 52 (start timeout).
UPLOAD_FAILED = 47
REUPLOAD_TO_BACKUP = 32
START_TIMEOUT = 52
LAYOUT_DEFAULTS: Mapping[str, Any] = {"mixedVideoLayout": 0, "backgroundColor": "#000000"}
"""What ``updateLayout`` and the mix ``transcodingConfig`` fall back to."""


def ms(seconds: float) -> int:
    """Unix seconds as the milliseconds NCS payloads carry."""
    return round(seconds * 1000)


def rtmp_urls(obj: Mapping[str, Any]) -> list[str]:
    """The ``rtmpUrl`` of each of the ``outputs`` of an RTMP publish configuration."""
    outputs = obj.get("outputs")
    items = outputs if isinstance(outputs, list) else []
    return [str(o["rtmpUrl"]) for o in items if isinstance(o, Mapping) and "rtmpUrl" in o]


def attach_fault(recording: Recording, fault: RecordingFault, base: float) -> None:
    """Time an injected fault from ``base``."""
    at = base + fault.after
    if fault.kind == "die":
        recording.die_at = at
    elif fault.kind == "abnormal_exit":
        recording.abnormal_at = at
    elif fault.kind == "failover":
        recording.failovers.append(Failover(start=at, end=at + fault.duration))
    elif fault.kind == "slow_page":
        recording.slow_page_loads = fault.count
    elif fault.kind == "capability_limit":
        recording.capability_limit_at = at
        recording.capability_limit_type = fault.limit_type
    elif fault.kind == "no_ha_register":
        recording.ha_register = False
    else:
        recording.backup_upload = True


class Lifecycle:
    """Moves recordings through their life; the timeline calls it when timed actions fall due.

    ``presence`` answers who is in a channel; ``registry`` learns when a task stops running or
    is gone.
    """

    def __init__(
        self,
        *,
        notifier: Notifier,
        minter: IdMinter,
        registry: Registry,
        presence: Callable[[str], Mapping[str, Presence]],
    ) -> None:
        self._notifier = notifier
        self._minter = minter
        self._registry = registry
        self._presence = presence

    def emit(self, recording: Recording, details: EventDetails, at: float) -> None:
        """Send one NCS event of ``recording`` that happened at ``at``, from its typed details."""
        event = EventType(event_type_of(details))
        self._notifier.emit(
            sid=recording.sid,
            cname=recording.cname,
            uid=recording.ncs_uid,
            sequence=recording.sequence,
            event_type=event,
            details=converter.unstructure(details),
            at=at,
            service_scene=service_scene_of(recording.mode),
        )
        recording.sequence += 1

    # -- start ---------------------------------------------------------------------------------

    def start(self, recording: Recording, now: float) -> None:
        """Set up a started task from its ``clientRequest`` and emit its start events."""
        request = recording.request
        if recording.is_web:
            web = recording.service_param("web_recorder_service")
            hours = web.get("maxRecordingHour")
            if isinstance(hours, (int, float)):
                recording.recording_until = now + hours * 3600
            recording.rtmp_outputs = rtmp_urls(recording.service_param("rtmp_publish_service"))
            started = WebRecorderStarted(recorder_start_time=ms(now))
            self.emit(recording, started, now)
            self._rtmp_status(recording, RtmpStatus.CONNECTING, now)
            recording.onhold = web.get("onhold") is True
            ready_timeout = web.get("readyTimeout")
            if isinstance(ready_timeout, int) and ready_timeout > 0 and recording.slow_page_loads:
                # Agora's "Web page load timeout detection": the page has not said it loaded.
                recording.page_deadline = now + ready_timeout
            else:
                self._page_loaded(recording, now)
            return
        config = request.get("recordingConfig")
        config = config if isinstance(config, Mapping) else {}
        recording.idle_rule = "publishers" if config.get("channelType") == 1 else "users"
        recording.max_idle = float(config.get("maxIdleTime") or 30)
        recording.stream_types = int(config.get("streamTypes", 2))
        recording.subscription = subscription_from(config)
        if recording.mode == "mix":
            transcoding = config.get("transcodingConfig")
            layout = transcoding if isinstance(transcoding, Mapping) else {}
            recording.layout = {
                **LAYOUT_DEFAULTS,
                **{k: v for k, v in layout.items() if k not in ("width", "height", "fps")},
            }
        snapshot = request.get("snapshotConfig")
        if isinstance(snapshot, Mapping):
            interval = snapshot.get("captureInterval", SNAPSHOT_INTERVAL)
            recording.snapshot_interval = float(interval) if interval else SNAPSHOT_INTERVAL
            recording.next_snapshot_at = now + recording.snapshot_interval
        if recording.uid in self._presence(recording.cname):
            # A user of the channel has the recorder's uid: the recorder cannot join, the task
            # exits and query answers 404 (Agora's "Response status codes" FAQ).
            self.exit(recording, now, "uid_conflict")
            return
        self.emit(recording, RecorderStarted(status=0), now)
        self.emit(recording, UploaderStarted(status=0), now)
        self.update_idle(recording, now)
        self.record_sources(recording, now)

    def register_ha(self, recording: Recording, now: float) -> None:
        """Event 13, high-availability registration, once the task started (unless withheld).

        Agora's "Best practice in integrating Cloud Recording" (Fault recovery) names it: a
        task whose event 13 does not come within 10 s of start should be replaced.
        """
        if recording.ha_register and recording.exit_at is None:  # not a task that never joined
            self.emit(recording, HaRegisterSuccess(), now)

    # -- channel watching ----------------------------------------------------------------------

    def update_idle(self, recording: Recording, at: float) -> None:
        """Start or end the idle span (Agora's ``maxIdleTime``) as the channel now is."""
        users = self._presence(recording.cname)
        if recording.idle_rule == "users":
            busy = bool(users)
        else:
            busy = any(p.publishing for p in users.values())
        if busy:
            recording.idle_since = None
        elif recording.idle_since is None:
            recording.idle_since = at

    def record_sources(self, recording: Recording, at: float) -> None:
        """Start tracks for publishers the recording subscribes to and does not record yet."""
        if recording.is_web or not recording.running or recording.in_failover(at):
            return
        self._update_streams(recording, at)
        have = {(t.uid, t.kind) for t in recording.tracks if t.epoch == recording.epoch}
        new: list[Track] = []
        standard = (recording.request.get("recordingConfig") or {}).get("streamMode") == "standard"
        raw = recording.mode == "raw"
        for uid, presence in self._presence(recording.cname).items():
            if raw:  # one audio+video track per user (the individual recording migration guide)
                audio = presence.audio and subscribed(recording, uid, "audio")
                video = presence.video and subscribed(recording, uid, "video")
                if (audio or video) and not any(key[0] == uid for key in have):
                    have.add((uid, "av"))
                    new.append(Track(uid, "av" if video else "audio", recording.epoch, at))
                continue
            for media in ("audio", "video"):
                if not getattr(presence, media) or not subscribed(recording, uid, media):
                    continue
                track = (
                    Track("0", "mix", recording.epoch, at)
                    if recording.mode == "mix"
                    else Track(uid, media, recording.epoch, at)
                )
                if (track.uid, track.kind) not in have:
                    have.add((track.uid, track.kind))
                    new.append(track)
            if standard and {(uid, "audio"), (uid, "video")} <= have and (uid, "av") not in have:
                have.add((uid, "av"))
                new.append(Track(uid, "av", recording.epoch, at))
        recording.tracks.extend(new)
        if recording.snapshot_only:
            return  # screenshots only: no slices, no index file
        for track in new:
            if track.kind == "av" and not raw:  # standard mode's merged index: no own stream
                continue
            slice_start = RecorderSliceStart(
                start_utc_ms=ms(at),
                discontinue_utc_ms=ms(at),
                mixed_all_user=track.kind == "mix",
                stream_uid=track.uid,
                track_type="audio_and_video" if track.kind in ("mix", "av") else track.kind,
            )
            self.emit(recording, slice_start, at)
        hls = recording.mode != "raw" or "hls" in recording.av_file_types  # raw MP3: no M3U8
        if new and hls and not recording.file_infos_sent:
            recording.file_infos_sent = True
            infos = CloudRecordingFileInfos(file_list=first_index_name(recording, new[0]))
            self.emit(recording, infos, at)

    def _update_streams(self, recording: Recording, at: float) -> None:
        """Events 43/44 for each stream the recorder starts or stops receiving."""
        now_receiving = {
            (uid, media)
            for uid, presence in self._presence(recording.cname).items()
            for media in ("audio", "video")
            if getattr(presence, media) and subscribed(recording, uid, media)
        }
        changes = [(key, StreamState.RECEIVING) for key in now_receiving - recording.receiving]
        changes += [(key, StreamState.NOT_RECEIVING) for key in recording.receiving - now_receiving]
        recording.receiving = now_receiving
        for (uid, media), state in sorted(changes):
            model = AudioStreamStateChanged if media == "audio" else VideoStreamStateChanged
            self.emit(recording, model(stream_uid=uid, state=state, utc_ms=ms(at)), at)

    def take_snapshots(self, recording: Recording, at: float) -> None:
        """The screenshots of ``at``: one JPG per user whose video is received (event 45)."""
        interval = recording.snapshot_interval or SNAPSHOT_INTERVAL
        recording.next_snapshot_at = at + interval
        if recording.in_failover(at):
            return
        for uid, media in sorted(recording.receiving):
            if media != "video":
                continue
            name = snapshot_name(
                recording.sid,
                recording.cname,
                uid,
                at,
                prefix=recording.file_name_prefix,
                epoch=recording.epoch,
            )
            recording.snapshots.append(name)
            self.emit(recording, RecorderSnapshotFile(file_name=name), at)

    def page_timeout(self, recording: Recording, at: float) -> None:
        """``readyTimeout`` passed without the page loading: reload once, then give up."""
        recording.slow_page_loads -= 1
        if recording.page_reloaded:
            recording.page_deadline = None
            self.exit(recording, at, "page_load_timeout")
            return
        recording.page_reloaded = True
        self.emit(recording, WebRecorderReload(reason=ReloadReason.PAGE_LOAD_TIMEOUT), at)
        if recording.slow_page_loads > 0:
            ready_timeout = recording.service_param("web_recorder_service")["readyTimeout"]
            recording.page_deadline = at + float(ready_timeout)
        else:
            recording.page_deadline = None
            self._page_loaded(recording, at)

    def capability_limit(self, recording: Recording, at: float) -> None:
        """Event 72: the web page needs more than the recorder has (web recordings only)."""
        recording.capability_limit_at = None
        if recording.is_web:
            limit = WebRecorderCapabilityLimit(limit_type=recording.capability_limit_type)
            self.emit(recording, limit, at)

    def _page_loaded(self, recording: Recording, at: float) -> None:
        """The web page is loaded: recording (and the CDN push) starts unless on hold."""
        if not recording.onhold:
            recording.active_since = at
            self.record_web(recording, at)
            self._rtmp_status(recording, RtmpStatus.PUBLISHING, at)

    def set_rtmp_outputs(self, recording: Recording, urls: list[str], at: float) -> None:
        """Replace the CDN outputs (``rtmpPublishConfig``): event 100 for each change."""
        gone = [url for url in recording.rtmp_outputs if url not in urls]
        new = [url for url in urls if url not in recording.rtmp_outputs]
        recording.rtmp_outputs = gone
        self._rtmp_status(recording, RtmpStatus.DISCONNECTED, at)
        recording.rtmp_outputs = new
        self._rtmp_status(recording, RtmpStatus.CONNECTING, at)
        if recording.active_since is not None:
            self._rtmp_status(recording, RtmpStatus.PUBLISHING, at)
        recording.rtmp_outputs = urls

    def _rtmp_status(self, recording: Recording, status: RtmpStatus, at: float) -> None:
        """Event 100 for each CDN output of a web recording."""
        for url in recording.rtmp_outputs:
            self.emit(recording, RtmpPublishStatus(rtmp_url=url, status=status), at)

    def record_web(self, recording: Recording, at: float) -> None:
        """Start the web page's file of the current epoch, unless on hold or unreachable."""
        if not recording.running or recording.onhold or recording.in_failover(at):
            return
        if not any(t.epoch == recording.epoch for t in recording.tracks):
            recording.tracks.append(Track("0", "web", recording.epoch, at))

    def set_onhold(self, recording: Recording, onhold: bool, at: float) -> None:
        """Pause or resume a web recording (``webRecordingConfig.onhold``)."""
        if onhold == recording.onhold:
            return
        recording.onhold = onhold
        if recording.page_deadline is not None:
            return  # still loading: the load decides
        if onhold:
            if recording.active_since is not None:
                recording.active_seconds += at - recording.active_since
            recording.active_since = None
            self._rtmp_status(recording, RtmpStatus.ONHOLD, at)
        else:
            self._page_loaded(recording, at)

    # -- timed happenings (see _timeline.Happenings) -------------------------------------------

    def begin_failover(self, recording: Recording, index: int, at: float) -> None:
        """The task migrates: its tracks end; a fourth failover stops it."""
        recording.failovers[index].begun = True
        if sum(f.begun for f in recording.failovers) > _MAX_FAILOVERS:
            self.exit(recording, at, "died")
            return
        for track in recording.tracks:
            if track.ended_at is None:
                track.ended_at = at

    def end_failover(self, recording: Recording, index: int, at: float) -> None:
        """The task is back under a new recorder uid, recording into ``bak<n>_`` files."""
        recording.failovers[index].done = True
        recording.epoch += 1
        recording.ncs_uid = self._minter.new_uid()
        failover = SessionFailover(new_uid=int(recording.ncs_uid))
        self.emit(recording, failover, at)
        if recording.is_web:
            self.record_web(recording, at)
        else:
            self.record_sources(recording, at)

    def report_progress(self, recording: Recording, at: float) -> None:
        """The periodic ``uploading_progress`` event."""
        self.emit(recording, UploadingProgress(progress=10000), at)

    def expire_storage(self, recording: Recording, at: float) -> None:
        """The STS credentials expired unrefreshed: uploads to the bucket fail from now on."""
        recording.upload_failed_at = at
        recording.backup_upload = True
        error = CloudRecordingError(
            module=ErrorModule.UPLOADER,
            error_level=ErrorLevel.MEDIUM,
            error_code=UPLOAD_FAILED,
            stat=0,
            error_msg="upload failed: storage credentials expired",
        )
        self.emit(recording, error, at)
        warning = CloudRecordingWarning(module=ErrorModule.UPLOADER, warn_code=REUPLOAD_TO_BACKUP)
        self.emit(recording, warning, at)

    def forget(self, recording: Recording) -> None:
        """The task is gone; postponed transcoding or mixing reports its files now."""
        self._registry.remove(recording)
        if recording.postponed and recording.exit_kind in ("stop", "idle") and recording.tracks:
            self._transcoded(recording, recording.gone_at or recording.exit_at or 0.0)

    def _transcoded(self, recording: Recording, at: float) -> None:
        """Events 80, 81 and 1001 of postponed transcoding (or audio mixing)."""
        outputs = transcoded_files(recording)
        self.emit(recording, TranscoderStarted(), at)
        uids = tuple(
            TranscodedUid(
                uid=uid or "0",
                result=UidTranscodeResult.SUCCESS,
                file_list=tuple(TranscodedFile(file_name=name) for name in names),
            )
            for uid, names in outputs.items()
        )
        completed = TranscoderCompleted(result=TranscoderResult.ALL_SUCCESS, uids=uids)
        self.emit(recording, completed, at)
        files = tuple(TranscodedFile(file_name=n) for names in outputs.values() for n in names)
        final = PostponeTranscodeFinalResult(
            result=PostponeTranscodeResult.TOTAL_SUCCESS, file_list=files
        )
        self.emit(recording, final, at)

    def exit(
        self, recording: Recording, at: float, kind: ExitKind, *, uploading: str = "uploaded"
    ) -> None:
        """The task starts exiting at ``at`` and emits its exit events."""
        if recording.running:
            self._registry.stopped_running(recording)
        recording.exit_at = at
        recording.exit_kind = kind
        at_once = kind in ("died", "token", "uid_conflict")
        recording.gone_at = at if at_once else at + recording.exit_window
        recording.page_deadline = recording.next_snapshot_at = None
        recording.capability_limit_at = None
        if recording.active_since is not None:
            recording.active_seconds += max(0.0, at - recording.active_since)
            recording.active_since = None
        abnormal = SessionExit(exit_status=ExitStatus.ABNORMAL)
        if kind == "died":
            self.emit(recording, abnormal, at)
        elif kind == "token":
            self._error(
                recording, at, ErrorModule.RECORDER, recording.token_error, recording.token_message
            )
            self.emit(recording, RecorderLeave(leave_code=0), at)
            self.emit(recording, abnormal, at)
        elif kind == "uid_conflict":
            self.emit(recording, RecorderLeave(leave_code=0), at)  # 0: could not join
            self.emit(recording, abnormal, at)
        elif kind == "abnormal":
            self._error(
                recording,
                at,
                ErrorModule.CLOUD_RECORDING_SERVICE,
                START_TIMEOUT,
                "recording exited abnormally",
            )
            self.emit(recording, abnormal, at)
        else:
            self._exit_after_upload(recording, at, kind, uploading)

    def _error(
        self, recording: Recording, at: float, module: ErrorModule, code: int, msg: str
    ) -> None:
        """A fatal ``cloud_recording_error`` reported by ``module``."""
        error = CloudRecordingError(
            module=module, error_level=ErrorLevel.FATAL, error_code=code, stat=0, error_msg=msg
        )
        self.emit(recording, error, at)

    def _exit_after_upload(
        self, recording: Recording, at: float, kind: ExitKind, uploading: str
    ) -> None:
        model = Backuped if uploading == "backuped" else Uploaded
        if recording.is_web:
            code = _WEB_STOP_CODES.get(kind, WebRecorderStopCode.OK)
            files = converter.structure(web_files(recording, at), tuple[WebFileInfo, ...])
            stopped = WebRecorderStopped(
                code=code, message=code.message, details="", file_list=files
            )
            self.emit(recording, stopped, at)
            self._rtmp_status(recording, RtmpStatus.DISCONNECTED, at)
            self.emit(recording, model(status=0), at)
        else:
            leave = LeaveCode.NO_USERS if kind == "idle" else LeaveCode.SIG
            self.emit(recording, RecorderLeave(leave_code=leave), at)
            if recording.snapshot_only:
                self.emit(recording, model(status=0), at)  # screenshots are reported by 45
            else:
                infos = converter.structure(file_infos(recording, at), tuple[FileInfo, ...])
                self.emit(recording, model(status=0, file_list=infos), at)
        self.emit(recording, SessionExit(exit_status=ExitStatus.NORMAL), at)
