"""The emulated service's state machine, on wire dicts.

Each public method is one REST call (``acquire``, ``start``, ``query``, ``update``,
``update_layout``, ``stop``) taking the path parameters and the parsed JSON body and returning
the success body, or raising :class:`ServiceError` with the documented status and body.

Time-driven behaviour is lazy: before any call or channel change looks at the recordings, every
recording with something due is *settled* up to the clock's current time, replaying in order
whatever fell due since (upload progress events, failovers, an idle exit, an injected death, the
end of the exit window). A heap of each recording's next due time finds those recordings, and
running counts and indexes answer the quota and conflict checks, so a request costs the same
with ten recordings or ten thousand. No background task is needed and a fake clock can jump
hours ahead.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from agora_recording import validation
from agora_recording._protocol import RESOURCE_LIFETIME, Endpoint
from agora_recording.errors import ValidationError
from agora_recording.validation import redact
from agora_recording.webhooks import EventType

from . import _replies as replies
from ._channels import ChannelState, Presence
from ._clock import Clock
from ._credentials import judge_token, sts_expiry
from ._faults import RecordingFault
from ._files import file_infos, first_index_name, query_response, stop_response, web_files
from ._ids import IdMinter, ResourceInfo, digest
from ._notifications import Notifier
from ._recording import ExitKind, Failover, Recording, Track, status_at, subscribed
from ._recording import subscription_from as _subscription_from

__all__ = ["RESOURCE_LIFETIME", "State"]

_PROGRESS_INTERVAL = 60.0  # NCS 33 cadence
_MAX_FAILOVERS = 3  # a fourth migration stops the task (Agora's high-availability FAQ)
# "Start: invalid ...": the service names the endpoint capitalized in its 400 reasons.
_LABELS = {
    endpoint.name: endpoint.name[:1].upper() + endpoint.name[1:] for endpoint in Endpoint.ALL
}
_SERVICE_TYPES = {0: (1, 2, 3, 4, 11, 12), 1: (40, 41, 42, 43, 44, 45), 2: (30, 31, 32, 33)}
_LAYOUT_DEFAULTS: Mapping[str, Any] = {"mixedVideoLayout": 0, "backgroundColor": "#000000"}


def _service_type(event: int) -> int:
    for service_type, events in _SERVICE_TYPES.items():
        if event in events:
            return service_type
    return 6  # web page recording module (70-73)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _invalid(endpoint: str, exc: ValidationError) -> replies.ServiceError:
    """400 code 2 naming the field that broke a rule."""
    if exc.field == "clientRequest.resourceExpiredHour":
        # The one reason string the documentation gives, word for word.
        return replies.invalid_parameter("Acquire: invalid resourceExpiredHour value!")
    return replies.invalid_parameter(f"{_LABELS[endpoint]}: invalid {exc.field}: {exc.rule}")


def _validated(endpoint: str, check: Callable[[], None]) -> None:
    """Run a validation check, turning its error into 400 code 2."""
    try:
        check()
    except ValidationError as exc:
        raise _invalid(endpoint, exc) from None


def _request(body: Mapping[str, Any]) -> dict[str, Any]:
    request = body.get("clientRequest")
    return dict(request) if isinstance(request, Mapping) else {}


def _rtmp_urls(obj: Mapping[str, Any]) -> list[str]:
    outputs = obj.get("outputs")
    items = outputs if isinstance(outputs, list) else []
    return [str(o["rtmpUrl"]) for o in items if isinstance(o, Mapping) and "rtmpUrl" in o]


class State:
    """Resources, recordings and channels of one emulator, guarded by one lock."""

    def __init__(
        self,
        *,
        clock: Clock,
        minter: IdMinter,
        notifier: Notifier,
        max_concurrent_recordings: int | None,
        startup_delay: float,
        exit_window: float,
        app_certificate: str | None = None,
    ) -> None:
        self.clock = clock
        self.app_certificate = app_certificate
        self.minter = minter
        self.notifier = notifier
        self.max_concurrent_recordings = max_concurrent_recordings
        self.startup_delay = startup_delay
        self.exit_window = exit_window
        self.lock = threading.RLock()
        self.recordings: dict[str, Recording] = {}
        self.channels: dict[str, ChannelState] = {}
        self._started_resources: dict[str, tuple[str, float]] = {}  # resource ID -> sid, acquired
        self._started_by_age: list[tuple[float, str]] = []  # heap of (acquired, resource ID)
        # Timers: the next due time of each recording, and a heap of (due, tie, sid) entries.
        # An entry whose time is no longer the recording's due time is stale and skipped.
        self._due: dict[str, float] = {}
        self._timers: list[tuple[float, int, str]] = []
        self._tie = itertools.count()
        self._serial: dict[str, int] = {}  # sid -> start order, to settle in that order
        # Indexes over running recordings (quota, task conflict) and recordings per channel.
        self._running: dict[tuple[str, str, str], str] = {}  # (app ID, cname, uid) -> sid
        self._running_per_app: dict[str, int] = {}
        self._by_channel: dict[str, dict[str, Recording]] = {}  # cname -> sid -> recording
        self._take_faults: Callable[[], list[RecordingFault]] = list
        self.on_schedule: Callable[[float], None] | None = None
        """Called (lock held) when a timer is set: wakes a driver sleeping until the next one."""

    def use_faults(self, take: Callable[[], list[RecordingFault]]) -> None:
        """Connect the source of faults waiting for the next recording."""
        self._take_faults = take

    # -- REST calls ----------------------------------------------------------------------------

    def acquire(self, app_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``acquire``: mint a resource ID (validity 5 minutes)."""
        try:
            validation.check_acquire(body, start_parameter=False)
        except ValidationError as exc:
            if exc.field == "cname":
                raise replies.service(400, 401, "invalid_channel_name") from None
            raise _invalid(Endpoint.ACQUIRE.name, exc) from None
        request = _request(body)
        with self.lock:
            now = self._settle_due()
            quota = self.max_concurrent_recordings
            if quota is not None and self._running_count(app_id) >= quota:
                raise replies.service(400, 406, "vendor_over_load")
            start_parameter = request.get("startParameter")
            resource_id = self.minter.resource_id(
                app_id=app_id,
                cname=body["cname"],
                uid=body["uid"],
                acquired_at=now,
                expired_hour=int(request.get("resourceExpiredHour") or 72),
                scene=int(request.get("scene") or 0),
                start_parameter_digest=(
                    digest(start_parameter) if isinstance(start_parameter, Mapping) else None
                ),
            )
        return {"cname": body["cname"], "uid": body["uid"], "resourceId": resource_id}

    def start(
        self, app_id: str, resource_id: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``start``: the checks in the order the service makes them, then a new recording."""
        _validated(Endpoint.START.name, lambda: validation.check_envelope("start", mode, body))
        with self.lock:
            now = self._settle_due()
            info = self._resource(resource_id)
            cname, uid = body.get("cname"), body.get("uid")
            if (info.app_id, info.cname, info.uid) != (app_id, cname, uid):
                raise replies.service(400, 432, "cname, uid or appid do not match the resource")
            if now - info.acquired_at > RESOURCE_LIFETIME:
                raise replies.service(400, 433, "resource expired")
            request = _request(body)
            if info.start_parameter_digest not in (None, digest(request)):
                raise replies.invalid_parameter(
                    "Start: clientRequest differs from the acquire startParameter"
                )
            started = self._started_resources.get(resource_id)
            if started is not None:
                if started[0] in self.recordings:
                    raise replies.already_started()
                raise replies.service(400, 432, "resource already used")
            if (app_id, cname, uid) in self._running:
                raise replies.task_conflict()
            _validated(
                Endpoint.START.name, lambda: validation.check_start(mode, body, lenient=True)
            )
            if (mode == "web") != (info.scene == 1):
                raise replies.invalid_parameter(
                    "Start: web mode needs acquire scene 1, and scene 1 needs web mode"
                )
            recording = self._new_recording(info, mode, request, now)
            self._started_resources[resource_id] = (recording.sid, info.acquired_at)
            heapq.heappush(self._started_by_age, (info.acquired_at, resource_id))
        return {"cname": cname, "uid": uid, "resourceId": resource_id, "sid": recording.sid}

    def query(self, app_id: str, resource_id: str, sid: str, mode: str) -> dict[str, Any]:
        """``query``: status and files in the mode's ``serverResponse`` shape."""
        with self.lock:
            now = self._settle_due()
            recording = self._find(app_id, resource_id, sid, mode, now)
            return {**self._ids(recording), "serverResponse": query_response(recording, now)}

    def update(
        self, app_id: str, resource_id: str, sid: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``update``: subscriptions (individual/mix), on-hold and CDN outputs (web), storage."""
        with self.lock:
            now = self._settle_due()
            _validated(Endpoint.UPDATE.name, lambda: validation.check_update(mode, body))
            recording = self._find_running(app_id, resource_id, sid, mode, body, now)
            request = _request(body)
            subscribe = request.get("streamSubscribe")
            if isinstance(subscribe, Mapping):
                for media in ("Audio", "Video"):
                    lists = subscribe.get(f"{media.lower()}UidList")
                    if isinstance(lists, Mapping):
                        fresh = _subscription_from(lists)
                        for key in (f"subscribe{media}Uids", f"unSubscribe{media}Uids"):
                            recording.subscription[key] = fresh[key]
                self._record_sources(recording, now)
            web = request.get("webRecordingConfig")
            if isinstance(web, Mapping) and isinstance(web.get("onhold"), bool):
                self._set_onhold(recording, web["onhold"], now)
            rtmp = request.get("rtmpPublishConfig")
            if isinstance(rtmp, Mapping):
                recording.rtmp_outputs = _rtmp_urls(rtmp)
            storage = request.get("storageConfig")
            if isinstance(storage, Mapping):
                recording.sts_expires_at = sts_expiry(storage)
                self._schedule(recording)
            return self._ids(recording)

    def update_layout(
        self, app_id: str, resource_id: str, sid: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``updateLayout`` (mix only): replace the whole layout, defaults applied."""
        with self.lock:
            now = self._settle_due()
            _validated(
                Endpoint.UPDATE_LAYOUT.name, lambda: validation.check_update_layout(mode, body)
            )
            recording = self._find_running(app_id, resource_id, sid, mode, body, now)
            recording.layout = {**_LAYOUT_DEFAULTS, **_request(body)}
            return self._ids(recording)

    def stop(
        self, app_id: str, resource_id: str, sid: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``stop``: 49 when already exiting, 206/435 when nothing was recorded, else files."""
        with self.lock:
            now = self._settle_due()
            _validated(Endpoint.STOP.name, lambda: validation.check_stop(body, mode=mode))
            recording = self._find(app_id, resource_id, sid, mode, now)
            self._check_body_ids(recording, body)
            if not recording.running:
                raise replies.invalid_operation().with_ids(**self._ids(recording))
            if _request(body).get("async_stop") is True:
                uploading = "unknown"
            else:
                uploading = "backuped" if recording.backup_upload else "uploaded"
            recorded = bool(recording.tracks)
            self._exit(recording, now, "stop", uploading=uploading)
            self._schedule(recording)
            if not recorded:
                raise replies.no_recorded_data().with_ids(**self._ids(recording))
            return {
                **self._ids(recording),
                "serverResponse": stop_response(recording, now, uploading),
            }

    # -- channels, faults, views ---------------------------------------------------------------

    def presence(self, cname: str) -> dict[str, Presence]:
        """A copy of the users of ``cname``."""
        with self.lock:
            channel = self.channels.get(cname)
            return dict(channel.users) if channel else {}

    def change_presence(self, cname: str, uid: str, presence: Presence | None) -> None:
        """Apply a join/publish/unpublish/leave at the current time."""
        with self.lock:
            now = self._settle_due()
            channel = self.channels.setdefault(cname, ChannelState())
            if presence is None:
                channel.users.pop(uid, None)
            else:
                channel.users[uid] = presence
            if not channel.users:
                del self.channels[cname]
            for recording in list(self._by_channel.get(cname, {}).values()):
                if not recording.is_web and recording.running:
                    self._update_idle(recording, now)
                    self._record_sources(recording, now)
                    self._schedule(recording)

    def apply_fault(self, sid: str, fault: RecordingFault) -> None:
        """Attach a recording fault to a live recording, timed from now."""
        with self.lock:
            now = self._settle_due()
            recording = self.recordings.get(sid)
            if recording is None:
                raise KeyError(f"no live recording with sid {sid!r}")
            self._attach_fault(recording, fault, now)
            self._schedule(recording)

    def settle(self) -> float:
        """Bring every recording up to the current time; return that time."""
        with self.lock:
            return self._settle_due()

    def next_due(self) -> float | None:
        """The clock time of the earliest pending timer (an exit, a failover, an NCS progress
        event, a task disappearing), or None; :meth:`settle` at that time makes it happen."""
        with self.lock:
            while self._timers and self._due.get(self._timers[0][2]) != self._timers[0][0]:
                heapq.heappop(self._timers)  # stale: rescheduled or gone
            return self._timers[0][0] if self._timers else None

    def ids_for(self, sid: str) -> dict[str, str]:
        """``cname``/``uid`` of a known recording, for error bodies."""
        with self.lock:
            recording = self.recordings.get(sid)
            return {"cname": recording.cname, "uid": recording.uid} if recording else {}

    def dump(self) -> dict[str, Any]:
        """A JSON-ready picture of the state, credentials redacted."""
        with self.lock:
            now = self._settle_due()
            return {
                "time": now,
                "recordings": [self.describe(r, now) for r in self.recordings.values()],
                "channels": {
                    cname: {uid: {"audio": p.audio, "video": p.video} for uid, p in c.users.items()}
                    for cname, c in self.channels.items()
                },
            }

    def describe(self, recording: Recording, now: float) -> dict[str, Any]:
        """One recording as JSON: identifiers, status, files, redacted clientRequest."""
        if recording.is_web:
            files = [f["filename"] for f in web_files(recording, now)]
        else:
            files = [f["fileName"] for f in file_infos(recording, now)]
        return {
            **self._ids(recording),
            "appId": recording.app_id,
            "mode": recording.mode,
            "status": status_at(recording, now),
            "running": recording.running,
            "reachable": recording.reachable(now),
            "exitKind": recording.exit_kind,
            "startedAt": _ms(recording.started_at),
            "files": files,
            "layout": recording.layout,
            "onhold": recording.onhold,
            "clientRequest": redact(recording.request),
        }

    # -- internals -----------------------------------------------------------------------------

    def _ids(self, recording: Recording) -> dict[str, Any]:
        return {
            "cname": recording.cname,
            "uid": recording.uid,
            "resourceId": recording.resource_id,
            "sid": recording.sid,
        }

    def _running_count(self, app_id: str) -> int:
        return self._running_per_app.get(app_id, 0)

    def _resource(self, resource_id: str) -> ResourceInfo:
        info = self.minter.decode_resource_id(resource_id)
        if info is None:
            raise replies.service(400, 1001, "failed to parse the resource id")
        return info

    def _find(self, app_id: str, resource_id: str, sid: str, mode: str, now: float) -> Recording:
        info = self._resource(resource_id)
        if info.app_id != app_id:
            raise replies.service(400, 1003, "appid does not match the resource id")
        recording = self.recordings.get(sid)
        if recording is None:
            raise replies.worker_not_found()
        if recording.resource_id != resource_id:
            raise replies.service(400, 1003, "sid does not match the resource id")
        if recording.mode != mode:
            raise replies.invalid_parameter(f"mode {mode!r} does not match the recording")
        if not recording.reachable(now):
            raise replies.worker_not_found().with_ids(**self._ids(recording))
        return recording

    def _find_running(
        self,
        app_id: str,
        resource_id: str,
        sid: str,
        mode: str,
        body: Mapping[str, Any],
        now: float,
    ) -> Recording:
        recording = self._find(app_id, resource_id, sid, mode, now)
        self._check_body_ids(recording, body)
        if not recording.running:
            raise replies.worker_not_found().with_ids(**self._ids(recording))
        return recording

    def _check_body_ids(self, recording: Recording, body: Mapping[str, Any]) -> None:
        if (body.get("cname"), body.get("uid")) != (recording.cname, recording.uid):
            raise replies.service(400, 432, "cname or uid do not match the resource")

    def _new_recording(
        self, info: ResourceInfo, mode: str, request: dict[str, Any], now: float
    ) -> Recording:
        config = request.get("recordingConfig")
        config = config if isinstance(config, Mapping) else {}
        recording = Recording(
            sid=self.minter.sid(),
            resource_id=info.resource_id,
            app_id=info.app_id,
            cname=info.cname,
            uid=info.uid,
            mode=mode,
            request=request,
            started_at=now,
            expires_at=now + info.expired_hour * 3600,
            startup_delay=self.startup_delay,
            exit_window=self.exit_window,
            ncs_uid=info.uid,
            next_progress_at=now + _PROGRESS_INTERVAL,
        )
        self.recordings[recording.sid] = recording
        self._serial[recording.sid] = next(self._tie)
        self._by_channel.setdefault(recording.cname, {})[recording.sid] = recording
        self._running[(recording.app_id, recording.cname, recording.uid)] = recording.sid
        self._running_per_app[recording.app_id] = self._running_count(recording.app_id) + 1
        if mode == "web":
            web = recording.service_param("web_recorder_service")
            hours = web.get("maxRecordingHour")
            if isinstance(hours, (int, float)):
                recording.recording_until = now + hours * 3600
            recording.rtmp_outputs = _rtmp_urls(recording.service_param("rtmp_publish_service"))
            self._emit(recording, 70, {"recorderStartTime": _ms(now)}, now)
            recording.onhold = web.get("onhold") is True
            if not recording.onhold:
                recording.active_since = now
                self._record_web(recording, now)
        else:
            recording.idle_rule = "publishers" if config.get("channelType") == 1 else "users"
            recording.max_idle = float(config.get("maxIdleTime") or 30)
            recording.stream_types = int(config.get("streamTypes", 2))
            recording.subscription = _subscription_from(config)
            if mode == "mix":
                transcoding = config.get("transcodingConfig")
                layout = transcoding if isinstance(transcoding, Mapping) else {}
                recording.layout = {
                    **_LAYOUT_DEFAULTS,
                    **{k: v for k, v in layout.items() if k not in ("width", "height", "fps")},
                }
            self._emit(recording, 40, {"status": 0}, now)
            self._emit(recording, 30, {"status": 0}, now)
            self._update_idle(recording, now)
            self._record_sources(recording, now)
        recording.sts_expires_at = sts_expiry(request.get("storageConfig"))
        if self.app_certificate is not None and not recording.is_web:
            verdict = judge_token(
                request,
                app_id=recording.app_id,
                app_certificate=self.app_certificate,
                cname=recording.cname,
                uid=recording.uid,
                now=now,
            )
            recording.token_exit_at = verdict.at
            recording.token_error = verdict.code
            recording.token_message = verdict.message
        for fault in self._take_faults():
            self._attach_fault(recording, fault, now)
        self._schedule(recording)
        return recording

    def _attach_fault(self, recording: Recording, fault: RecordingFault, base: float) -> None:
        at = base + fault.after
        if fault.kind == "die":
            recording.die_at = at
        elif fault.kind == "abnormal_exit":
            recording.abnormal_at = at
        elif fault.kind == "failover":
            recording.failovers.append(Failover(start=at, end=at + fault.duration))
        else:
            recording.backup_upload = True

    def _emit(
        self, recording: Recording, event: int, details: Mapping[str, Any], at: float
    ) -> None:
        self.notifier.emit(
            sid=recording.sid,
            cname=recording.cname,
            uid=recording.ncs_uid,
            sequence=recording.sequence,
            event_type=event,
            service_type=_service_type(event),
            details={"msgName": EventType(event).name.lower(), **details},
            at=at,
        )
        recording.sequence += 1

    # -- channel watching ----------------------------------------------------------------------

    def _update_idle(self, recording: Recording, at: float) -> None:
        users = self.presence(recording.cname)
        if recording.idle_rule == "users":
            busy = bool(users)
        else:
            busy = any(p.publishing for p in users.values())
        if busy:
            recording.idle_since = None
        elif recording.idle_since is None:
            recording.idle_since = at

    def _record_sources(self, recording: Recording, at: float) -> None:
        """Start tracks for publishers the recording subscribes to and does not record yet."""
        if recording.is_web or not recording.running or recording.in_failover(at):
            return
        have = {(t.uid, t.kind) for t in recording.tracks if t.epoch == recording.epoch}
        new: list[Track] = []
        standard = (recording.request.get("recordingConfig") or {}).get("streamMode") == "standard"
        for uid, presence in self.presence(recording.cname).items():
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
        for track in new:
            if track.kind == "av":
                continue
            self._emit(
                recording,
                42,
                {
                    "startUtcMs": _ms(at),
                    "discontinueUtcMs": _ms(at),
                    "mixedAllUser": track.kind == "mix",
                    "streamUid": track.uid,
                    "trackType": "audio_and_video" if track.kind == "mix" else track.kind,
                },
                at,
            )
        if new and not recording.file_infos_sent:
            recording.file_infos_sent = True
            self._emit(recording, 4, {"fileList": first_index_name(recording, new[0])}, at)

    def _record_web(self, recording: Recording, at: float) -> None:
        if not recording.running or recording.onhold or recording.in_failover(at):
            return
        if not any(t.epoch == recording.epoch for t in recording.tracks):
            recording.tracks.append(Track("0", "web", recording.epoch, at))

    def _set_onhold(self, recording: Recording, onhold: bool, at: float) -> None:
        if onhold == recording.onhold:
            return
        recording.onhold = onhold
        if onhold:
            if recording.active_since is not None:
                recording.active_seconds += at - recording.active_since
            recording.active_since = None
        else:
            recording.active_since = at
            self._record_web(recording, at)

    # -- time ----------------------------------------------------------------------------------

    def _settle_due(self) -> float:
        """Settle the recordings that have something due; forget expired started resources."""
        now = self.clock.time()
        due: list[Recording] = []
        while self._timers and self._timers[0][0] <= now:
            when, _, sid = heapq.heappop(self._timers)
            if self._due.get(sid) == when:  # else stale: rescheduled or gone
                del self._due[sid]
                due.append(self.recordings[sid])
        for recording in sorted(due, key=lambda r: self._serial[r.sid]):  # as they started
            self._settle(recording, now)
        while self._started_by_age and now - self._started_by_age[0][0] > RESOURCE_LIFETIME:
            _, resource_id = heapq.heappop(self._started_by_age)
            del self._started_resources[resource_id]  # start answers 433 from now on anyway
        return now

    def _schedule(self, recording: Recording) -> None:
        """Note when ``recording`` next has something due: a timed happening or being gone."""
        times = [when for when, _, _ in self._pending(recording)]
        if recording.gone_at is not None:
            times.append(recording.gone_at)
        due = min(times, default=None)
        if due is None:
            self._due.pop(recording.sid, None)
        elif self._due.get(recording.sid) != due:
            self._due[recording.sid] = due
            heapq.heappush(self._timers, (due, next(self._tie), recording.sid))
            if self.on_schedule is not None:
                self.on_schedule(due)

    def _forget(self, recording: Recording) -> None:
        """The task no longer exists: drop it from the recordings and the indexes."""
        del self.recordings[recording.sid]
        del self._serial[recording.sid]
        self._due.pop(recording.sid, None)
        channel = self._by_channel[recording.cname]
        del channel[recording.sid]
        if not channel:
            del self._by_channel[recording.cname]

    def _settle(self, recording: Recording, now: float) -> None:
        """Replay, in time order, everything that fell due for ``recording`` up to ``now``."""
        while True:
            if recording.gone(now):
                self._forget(recording)
                return
            due = sorted(
                (when, order, action)
                for when, order, action in self._pending(recording)
                if when <= now
            )
            if not due:
                self._schedule(recording)
                return
            when, _, action = due[0]
            if action == "progress":
                later = [w for w, _, a in self._pending(recording) if a != "progress"]
                limit = min([now, *later])
                when += ((limit - when) // _PROGRESS_INTERVAL) * _PROGRESS_INTERVAL
                recording.next_progress_at = when + _PROGRESS_INTERVAL
                self._emit(recording, 33, {"progress": 10000}, when)
            else:
                self._happen(recording, action, when)

    def _pending(self, recording: Recording) -> list[tuple[float, int, str]]:
        """Upcoming timed happenings as ``(time, tie-break order, action)``."""
        if not recording.running:
            return []
        pending: list[tuple[float, int, str]] = []
        for index, failover in enumerate(recording.failovers):
            if not failover.begun:
                pending.append((failover.start, 0, f"failover-begin:{index}"))
            elif not failover.done:
                pending.append((failover.end, 0, f"failover-end:{index}"))
        if recording.die_at is not None:
            pending.append((recording.die_at, 1, "die"))
        if recording.token_exit_at is not None:
            pending.append((recording.token_exit_at, 1, "token"))
        if recording.sts_expires_at is not None and recording.upload_failed_at is None:
            pending.append((recording.sts_expires_at, 2, "sts_expired"))
        if recording.abnormal_at is not None:
            pending.append((recording.abnormal_at, 2, "abnormal"))
        if recording.recording_until is not None:
            pending.append((recording.recording_until, 3, "max_hour"))
        if recording.idle_rule is not None and recording.idle_since is not None:
            pending.append((recording.idle_since + recording.max_idle, 4, "idle"))
        pending.append((recording.next_progress_at, 5, "progress"))
        return pending

    def _happen(self, recording: Recording, action: str, at: float) -> None:
        if action.startswith("failover-begin:"):
            failover = recording.failovers[int(action.partition(":")[2])]
            failover.begun = True
            if sum(f.begun for f in recording.failovers) > _MAX_FAILOVERS:
                self._exit(recording, at, "died")
                return
            for track in recording.tracks:
                if track.ended_at is None:
                    track.ended_at = at
        elif action.startswith("failover-end:"):
            recording.failovers[int(action.partition(":")[2])].done = True
            recording.epoch += 1
            recording.ncs_uid = self.minter.new_uid()
            self._emit(recording, 12, {"newUid": int(recording.ncs_uid)}, at)
            if recording.is_web:
                self._record_web(recording, at)
            else:
                self._record_sources(recording, at)
        elif action == "die":
            self._exit(recording, at, "died")
        elif action == "token":
            self._exit(recording, at, "token")
        elif action == "sts_expired":
            self._storage_expired(recording, at)
        elif action == "abnormal":
            self._exit(recording, at, "abnormal")
        elif action == "max_hour":
            self._exit(recording, at, "max_hour")
        elif action == "idle":
            self._exit(recording, at, "idle")

    def _storage_expired(self, recording: Recording, at: float) -> None:
        """The STS credentials expired unrefreshed: uploads to the bucket fail from now on."""
        recording.upload_failed_at = at
        recording.backup_upload = True
        error = {
            "module": 1,
            "errorLevel": 3,
            "errorCode": 47,
            "stat": 0,
            "errorMsg": "upload failed: storage credentials expired",
        }
        self._emit(recording, 1, error, at)
        self._emit(recording, 2, {"module": 1, "warnCode": 32}, at)

    def _exit(
        self, recording: Recording, at: float, kind: ExitKind, *, uploading: str = "uploaded"
    ) -> None:
        """The task starts exiting at ``at``; emits its exit events (Agora's NCS event list)."""
        if recording.running:
            key = (recording.app_id, recording.cname, recording.uid)
            if self._running.get(key) == recording.sid:
                del self._running[key]
            self._running_per_app[recording.app_id] -= 1
            if not self._running_per_app[recording.app_id]:
                del self._running_per_app[recording.app_id]
        recording.exit_at = at
        recording.exit_kind = kind
        recording.gone_at = at if kind in ("died", "token") else at + recording.exit_window
        if recording.active_since is not None:
            recording.active_seconds += max(0.0, at - recording.active_since)
            recording.active_since = None
        if kind == "died":
            self._emit(recording, 11, {"exitStatus": 1}, at)
            return
        if kind == "token":
            error = {
                "module": 0,
                "errorLevel": 5,
                "errorCode": recording.token_error,
                "stat": 0,
                "errorMsg": recording.token_message,
            }
            self._emit(recording, 1, error, at)
            self._emit(recording, 41, {"leaveCode": 0}, at)
            self._emit(recording, 11, {"exitStatus": 1}, at)
            return
        if kind == "abnormal":
            error = {
                "module": 2,
                "errorLevel": 5,
                "errorCode": 52,
                "stat": 0,
                "errorMsg": "recording exited abnormally",
            }
            self._emit(recording, 1, error, at)
            self._emit(recording, 11, {"exitStatus": 1}, at)
            return
        upload_event = 32 if uploading == "backuped" else 31
        if recording.is_web:
            code, message = (1, "max_recording_hour") if kind == "max_hour" else (0, "ok")
            stopped = {
                "code": code,
                "message": message,
                "details": "",
                "fileList": web_files(recording, at),
            }
            self._emit(recording, 71, stopped, at)
            self._emit(recording, upload_event, {"status": 0}, at)
        else:
            self._emit(recording, 41, {"leaveCode": 4 if kind == "idle" else 2}, at)
            files = file_infos(recording, at)
            self._emit(recording, upload_event, {"status": 0, "fileList": files}, at)
        self._emit(recording, 11, {"exitStatus": 0}, at)
