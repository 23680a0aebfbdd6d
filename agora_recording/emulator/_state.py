"""The emulated service's state machine, on wire dicts.

Each public method is one REST call (``acquire``, ``start``, ``query``, ``update``,
``update_layout``, ``stop``) taking the path parameters and the parsed JSON body and returning
the success body, or raising :class:`ServiceError` with the documented status and body (Agora's
Cloud Recording RESTful API reference and its "Response status codes" page). Before any call or
channel change looks at the recordings, the :class:`Timeline` replays whatever fell due up to
the clock's current time; what happens to a recording is the :class:`Lifecycle`'s business.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from agora_recording import validation
from agora_recording._protocol import RESOURCE_LIFETIME, Endpoint
from agora_recording.errors import UnknownKeyError, ValidationError
from agora_recording.validation import redact

from . import _replies as replies
from ._channels import Presence
from ._clock import Clock
from ._credentials import judge_token, sts_expiry
from ._faults import RecordingFault
from ._files import file_names, query_response, stop_response
from ._ids import IdMinter, ResourceInfo, digest
from ._lifecycle import LAYOUT_DEFAULTS, Lifecycle, attach_fault, ms, rtmp_urls
from ._notifications import Notifier
from ._recording import Recording, status_at, subscription_from
from ._registry import Registry
from ._timeline import PROGRESS_INTERVAL, Timeline

__all__ = ["RESOURCE_LIFETIME", "State"]

T = TypeVar("T")

# "Start: invalid ...": the service names the endpoint capitalized in its 400 reasons.
_LABELS = {
    endpoint.name: endpoint.name[:1].upper() + endpoint.name[1:] for endpoint in Endpoint.ALL
}


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


class State:
    """Resources, recordings and channels of one emulator, guarded by one lock.

    ``on_schedule`` is called (lock held) with the time a timer is set for: it wakes a driver
    sleeping until the next one.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        minter: IdMinter,
        notifier: Notifier,
        max_concurrent_recordings: int | None,
        startup_delay: float | Callable[[], float],
        exit_window: float,
        app_certificate: str | None = None,
        on_schedule: Callable[[float], None] | None = None,
        populate: Callable[[str], None] | None = None,
    ) -> None:
        self._clock = clock
        self._populate = populate  # fills an empty channel when a recording starts there
        self._app_certificate = app_certificate
        self._minter = minter
        self._max_concurrent_recordings = max_concurrent_recordings
        self._startup_delay = startup_delay
        self._exit_window = exit_window
        self._lock = threading.RLock()
        self._channels: dict[str, dict[str, Presence]] = {}  # cname -> uid -> presence
        self._registry = Registry()
        self._lifecycle = Lifecycle(
            notifier=notifier, minter=minter, registry=self._registry, presence=self.presence
        )
        self._timeline = Timeline(self._lifecycle, on_schedule)
        self._take_faults: Callable[[], list[RecordingFault]] = list
        self._started_resources: dict[str, tuple[str, float]] = {}  # resource ID -> sid, acquired
        self._started_by_age: list[tuple[float, str]] = []  # heap of (acquired, resource ID)

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
        with self._lock:
            now = self._settle_due()
            quota = self._max_concurrent_recordings
            if quota is not None and self._registry.running_count(app_id) >= quota:
                raise replies.service(400, 406, "vendor_over_load")
            start_parameter = request.get("startParameter")
            resource_id = self._minter.resource_id(
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
        with self._lock:
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
                if started[0] in self._registry.recordings:
                    raise replies.already_started()
                raise replies.service(400, 432, "resource already used")
            if self._registry.task_running(app_id, info.cname, info.uid):
                raise replies.task_conflict()
            _validated(
                Endpoint.START.name, lambda: validation.check_start(mode, body, lenient=True)
            )
            if (mode == "web") != (info.scene == 1):
                raise replies.invalid_parameter(
                    "Start: web mode needs acquire scene 1, and scene 1 needs web mode"
                )
            if self._populate is not None and mode != "web" and not self._channels.get(str(cname)):
                self._populate(str(cname))
            recording = self._new_recording(info, mode, request, now)
            self._started_resources[resource_id] = (recording.sid, info.acquired_at)
            heapq.heappush(self._started_by_age, (info.acquired_at, resource_id))
        return {"cname": cname, "uid": uid, "resourceId": resource_id, "sid": recording.sid}

    def query(self, app_id: str, resource_id: str, sid: str, mode: str) -> dict[str, Any]:
        """``query``: status and files in the mode's ``serverResponse`` shape."""
        with self._lock:
            now = self._settle_due()
            recording = self._find(app_id, resource_id, sid, mode, now)
            return {**self._ids(recording), "serverResponse": query_response(recording, now)}

    def update(
        self, app_id: str, resource_id: str, sid: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``update``: subscriptions (individual/mix), on-hold and CDN outputs (web), storage."""
        with self._lock:
            now = self._settle_due()
            _validated(Endpoint.UPDATE.name, lambda: validation.check_update(mode, body))
            recording = self._find_running(app_id, resource_id, sid, mode, body, now)
            request = _request(body)
            subscribe = request.get("streamSubscribe")
            if isinstance(subscribe, Mapping):
                for media in ("Audio", "Video"):
                    lists = subscribe.get(f"{media.lower()}UidList")
                    if isinstance(lists, Mapping):
                        fresh = subscription_from(lists)
                        for key in (f"subscribe{media}Uids", f"unSubscribe{media}Uids"):
                            recording.subscription[key] = fresh[key]
                self._lifecycle.record_sources(recording, now)
            web = request.get("webRecordingConfig")
            if isinstance(web, Mapping) and isinstance(web.get("onhold"), bool):
                self._lifecycle.set_onhold(recording, web["onhold"], now)
            rtmp = request.get("rtmpPublishConfig")
            if isinstance(rtmp, Mapping):
                self._lifecycle.set_rtmp_outputs(recording, rtmp_urls(rtmp), now)
            storage = request.get("storageConfig")
            if isinstance(storage, Mapping):
                recording.sts_expires_at = sts_expiry(storage)
                self._timeline.schedule(recording)
            return self._ids(recording)

    def update_layout(
        self, app_id: str, resource_id: str, sid: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``updateLayout`` (mix only): replace the whole layout, defaults applied."""
        with self._lock:
            now = self._settle_due()
            _validated(
                Endpoint.UPDATE_LAYOUT.name, lambda: validation.check_update_layout(mode, body)
            )
            recording = self._find_running(app_id, resource_id, sid, mode, body, now)
            recording.layout = {**LAYOUT_DEFAULTS, **_request(body)}
            return self._ids(recording)

    def stop(
        self, app_id: str, resource_id: str, sid: str, mode: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``stop``: 49 when already exiting, 206/435 when nothing was recorded, else files."""
        with self._lock:
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
            self._lifecycle.exit(recording, now, "stop", uploading=uploading)
            self._timeline.schedule(recording)
            if not recorded:
                raise replies.no_recorded_data().with_ids(**self._ids(recording))
            return {
                **self._ids(recording),
                "serverResponse": stop_response(recording, now, uploading),
            }

    # -- channels, faults, views ---------------------------------------------------------------

    def presence(self, cname: str) -> dict[str, Presence]:
        """A copy of the users of ``cname``."""
        with self._lock:
            return dict(self._channels.get(cname, {}))

    def change_presence(self, cname: str, uid: str, presence: Presence | None) -> None:
        """Apply a join/publish/unpublish/leave at the current time."""
        with self._lock:
            now = self._settle_due()
            users = self._channels.setdefault(cname, {})
            if presence is None:
                users.pop(uid, None)
            else:
                users[uid] = presence
            if not users:
                del self._channels[cname]
            for recording in self._registry.watching(cname):
                if recording.is_web or not recording.running:
                    continue
                if presence is not None and uid == recording.uid:
                    # A user joined with the recorder's uid: it takes the recorder's place.
                    self._lifecycle.exit(recording, now, "uid_conflict")
                    self._timeline.schedule(recording)
                    continue
                self._lifecycle.update_idle(recording, now)
                self._lifecycle.record_sources(recording, now)
                self._timeline.schedule(recording)

    def apply_fault(self, sid: str, fault: RecordingFault) -> None:
        """Attach a recording fault to a live recording, timed from now."""
        with self._lock:
            now = self._settle_due()
            recording = self._registry.recordings.get(sid)
            if recording is None:
                raise UnknownKeyError(f"no live recording with sid {sid!r}")
            attach_fault(recording, fault, now)
            self._timeline.schedule(recording)

    def settle(self) -> float:
        """Bring every recording up to the current time; return that time."""
        with self._lock:
            return self._settle_due()

    def next_due(self) -> float | None:
        """The clock time of the earliest pending timer (an exit, a failover, an NCS progress
        event, a task disappearing), or None; :meth:`settle` at that time makes it happen."""
        with self._lock:
            return self._timeline.next_due()

    def ids_for(self, sid: str) -> dict[str, str]:
        """``cname``/``uid`` of a known recording, for error bodies."""
        with self._lock:
            recording = self._registry.recordings.get(sid)
            return {"cname": recording.cname, "uid": recording.uid} if recording else {}

    def dump(self) -> dict[str, Any]:
        """A JSON-ready picture of the state, credentials redacted."""
        with self._lock:
            now = self._settle_due()
            return {
                "time": now,
                "recordings": [self._describe(r, now) for r in self._registry.recordings.values()],
                "channels": {
                    cname: {uid: {"audio": p.audio, "video": p.video} for uid, p in users.items()}
                    for cname, users in self._channels.items()
                },
            }

    def inspect(self, view: Callable[[Recording, float], T]) -> list[T]:
        """``view(recording, now)`` of every recording that still exists, settled up to now."""
        with self._lock:
            now = self._settle_due()
            return [view(recording, now) for recording in self._registry.recordings.values()]

    def _describe(self, recording: Recording, now: float) -> dict[str, Any]:
        """One recording as JSON: identifiers, status, files, redacted clientRequest."""
        return {
            **self._ids(recording),
            "appId": recording.app_id,
            "mode": recording.mode,
            "status": status_at(recording, now),
            "running": recording.running,
            "reachable": recording.reachable(now),
            "exitKind": recording.exit_kind,
            "startedAt": ms(recording.started_at),
            "files": file_names(recording, now),
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

    def _resource(self, resource_id: str) -> ResourceInfo:
        info = self._minter.decode_resource_id(resource_id)
        if info is None:
            raise replies.service(400, 1001, "failed to parse the resource id")
        return info

    def _find(self, app_id: str, resource_id: str, sid: str, mode: str, now: float) -> Recording:
        info = self._resource(resource_id)
        if info.app_id != app_id:
            raise replies.service(400, 1003, "appid does not match the resource id")
        recording = self._registry.recordings.get(sid)
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
        recording = Recording(
            sid=self._minter.sid(),
            resource_id=info.resource_id,
            app_id=info.app_id,
            cname=info.cname,
            uid=info.uid,
            mode=mode,
            request=request,
            started_at=now,
            expires_at=now + info.expired_hour * 3600,
            startup_delay=(
                self._startup_delay() if callable(self._startup_delay) else self._startup_delay
            ),
            exit_window=self._exit_window,
            ncs_uid=info.uid,
            next_progress_at=now + PROGRESS_INTERVAL,
        )
        self._registry.add(recording)
        self._timeline.track(recording)
        for fault in self._take_faults():  # before the start: a page may be slow to load
            attach_fault(recording, fault, now)
        self._lifecycle.start(recording, now)
        recording.sts_expires_at = sts_expiry(request.get("storageConfig"))
        if self._app_certificate is not None and not recording.is_web:
            verdict = judge_token(
                request,
                app_id=recording.app_id,
                app_certificate=self._app_certificate,
                cname=recording.cname,
                uid=recording.uid,
                now=now,
            )
            recording.token_exit_at = verdict.at
            recording.token_error = verdict.code
            recording.token_message = verdict.message
        self._lifecycle.register_ha(recording, now)
        self._timeline.schedule(recording)
        return recording

    def _settle_due(self) -> float:
        """Replay what fell due up to now; forget started resources past their lifetime."""
        now = self._clock.time()
        self._timeline.settle(now)
        while self._started_by_age and now - self._started_by_age[0][0] > RESOURCE_LIFETIME:
            _, resource_id = heapq.heappop(self._started_by_age)
            del self._started_resources[resource_id]  # start answers 433 from now on anyway
        return now
