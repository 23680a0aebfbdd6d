"""One emulated recording task: its identifiers, its configuration and what happened to it.

Nothing here moves by itself. The timeline (:mod:`._timeline`) settles a recording up to "now"
whenever something looks at it; the functions here answer pure questions about a settled recording
(its status at a time, whether the control API can reach it, whether a user is subscribed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

__all__ = [
    "Failover",
    "Recording",
    "Track",
    "service_param",
    "status_at",
    "subscribed",
    "subscription_from",
]

TrackKind = Literal["audio", "video", "av", "mix", "web"]
ExitKind = Literal[
    "stop", "idle", "max_hour", "abnormal", "died", "token", "uid_conflict", "page_load_timeout"
]

# Startup progression as fractions of ``startup_delay``: status 0 at start, 5 at the end.
_STARTUP_STEPS: Sequence[tuple[float, int]] = (
    (0.1, 1),
    (0.25, 2),
    (0.5, 3),
    (0.75, 4),
    (1.0, 5),
)


@attrs.define
class Track:
    """A recorded stream: one index file (plus MP4s) started at ``started_at``.

    ``epoch`` counts completed failovers before the track started; files of epoch ``n > 0``
    carry the ``bak<n-1>_`` prefix. ``ended_at`` is set when a failover cut the track.
    """

    uid: str
    kind: TrackKind
    epoch: int
    started_at: float
    ended_at: float | None = None


@attrs.define
class Failover:
    """A high-availability migration: unreachable from ``start`` until ``end``."""

    start: float
    end: float
    begun: bool = False
    done: bool = False


@attrs.define(eq=False)
class Recording:
    """A started recording task (``sid``) and everything that happened to it so far."""

    sid: str
    resource_id: str
    app_id: str
    cname: str
    uid: str
    mode: str
    request: dict[str, Any]
    started_at: float
    expires_at: float
    startup_delay: float
    exit_window: float
    # Channel watching (individual/mix); web recordings have no idle rule.
    idle_rule: Literal["users", "publishers"] | None = None
    max_idle: float = 30.0
    idle_since: float | None = None
    recording_until: float | None = None
    stream_types: int = 2
    subscription: dict[str, list[str] | None] = attrs.field(factory=dict)
    tracks: list[Track] = attrs.field(factory=list)
    file_infos_sent: bool = False
    # Exit.
    exit_at: float | None = None
    exit_kind: ExitKind | None = None
    gone_at: float | None = None
    # Injected faults.
    die_at: float | None = None
    abnormal_at: float | None = None
    failovers: list[Failover] = attrs.field(factory=list)
    epoch: int = 0
    backup_upload: bool = False
    ha_register: bool = True  # send NCS event 13 after start
    # Credentials: the token's verdict (an exit at ``token_exit_at`` with ``token_error``) and
    # the STS expiry of the storage credentials (None: keys that do not expire).
    token_exit_at: float | None = None
    token_error: int = 0
    token_message: str = ""
    sts_expires_at: float | None = None
    upload_failed_at: float | None = None
    # Notifications.
    ncs_uid: str = ""
    sequence: int = 0
    next_progress_at: float = 0.0
    # Streams the recorder receives now, as (uid, "audio" | "video"): events 43 and 44.
    receiving: set[tuple[str, str]] = attrs.field(factory=set)
    # Screenshots (``snapshotConfig``): the interval, the next capture and the files so far.
    snapshot_interval: float | None = None
    next_snapshot_at: float | None = None
    snapshots: list[str] = attrs.field(factory=list)
    # Web mode.
    slow_page_loads: int = 0
    capability_limit_at: float | None = None
    capability_limit_type: str = ""
    page_deadline: float | None = None
    page_reloaded: bool = False
    onhold: bool = False
    active_seconds: float = 0.0
    active_since: float | None = None
    rtmp_outputs: list[str] = attrs.field(factory=list)
    # Mix mode.
    layout: dict[str, Any] = attrs.field(factory=dict)

    @property
    def is_web(self) -> bool:
        """True for web page recordings."""
        return self.mode == "web"

    @property
    def snapshot_only_shape(self) -> bool:
        """True when the recording takes screenshots, which changes the response shape."""
        return self.mode in ("raw", "individual") and "snapshotConfig" in self.request

    @property
    def snapshot_only(self) -> bool:
        """True when the recording only takes screenshots (no ``recordingFileConfig``)."""
        return (
            not self.is_web
            and "snapshotConfig" in self.request
            and "recordingFileConfig" not in self.request
        )

    @property
    def postponed(self) -> str | None:
        """``transMode`` of postponed transcoding (``"postponeTranscoding"``) or postponed audio
        mixing (``"audioMix"``), or None for real-time recording."""
        apps = self.request.get("appsCollection")
        if not isinstance(apps, Mapping) or apps.get("combinationPolicy") != "postpone_transcoding":
            return None
        options = self.request.get("transcodeOptions")
        config = options.get("transConfig") if isinstance(options, Mapping) else None
        mode = config.get("transMode") if isinstance(config, Mapping) else None
        return mode if isinstance(mode, str) else "postponeTranscoding"

    @property
    def running(self) -> bool:
        """True until the recording starts exiting (stop, idle exit, death, ...)."""
        return self.exit_at is None

    def gone(self, now: float) -> bool:
        """True once the task no longer exists at all."""
        return self.gone_at is not None and now >= self.gone_at

    def in_failover(self, now: float) -> bool:
        """True while a failover makes the task unreachable."""
        return any(f.start <= now < f.end for f in self.failovers)

    def reachable(self, now: float) -> bool:
        """True when ``query``/``update``/``updateLayout``/``stop`` can find the task."""
        return not self.gone(now) and not self.in_failover(now) and now < self.expires_at

    def recorded_seconds(self, now: float) -> float:
        """Seconds of web page actually recorded (on-hold time excluded)."""
        end = self.exit_at if self.exit_at is not None else now
        if self.active_since is None:
            return self.active_seconds
        return self.active_seconds + max(0.0, end - self.active_since)

    @property
    def file_name_prefix(self) -> str:
        """``storageConfig.fileNamePrefix`` as a path (``"a/b/"``), or ``""``."""
        storage = self.request.get("storageConfig")
        parts = storage.get("fileNamePrefix") if isinstance(storage, Mapping) else None
        if not isinstance(parts, list) or not parts:
            return ""
        return "/".join(str(part) for part in parts) + "/"

    def service_param(self, name: str) -> dict[str, Any]:
        """The ``serviceParam`` of extension service ``name`` (web mode), or ``{}``."""
        return service_param(self.request, name)

    @property
    def av_file_types(self) -> list[str]:
        """``recordingFileConfig.avFileType``, ``["hls"]`` by default."""
        config = self.request.get("recordingFileConfig")
        types = config.get("avFileType") if isinstance(config, Mapping) else None
        return [str(t) for t in types] if isinstance(types, list) and types else ["hls"]


def service_param(request: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The ``serviceParam`` of extension service ``name`` in a start ``clientRequest``."""
    config = request.get("extensionServiceConfig")
    services = config.get("extensionServices") if isinstance(config, Mapping) else None
    for service in services if isinstance(services, list) else []:
        if isinstance(service, Mapping) and service.get("serviceName") == name:
            param = service.get("serviceParam")
            return dict(param) if isinstance(param, Mapping) else {}
    return {}


def status_at(recording: Recording, now: float) -> int:
    """The ``serverResponse.status`` the task reports at ``now``.

    0 at start, rising to 5 over ``startup_delay`` seconds; after an exit 6, 7 and 8 over
    ``exit_window`` seconds, or 20 throughout for an abnormal exit.
    """
    if recording.exit_at is not None and now >= recording.exit_at:
        if recording.exit_kind == "abnormal":
            return 20
        elapsed = now - recording.exit_at
        third = recording.exit_window / 3
        return 6 if elapsed < third else 7 if elapsed < 2 * third else 8
    elapsed = now - recording.started_at
    status = 0
    for fraction, value in _STARTUP_STEPS:
        if elapsed >= fraction * recording.startup_delay:
            status = value
    return status


def subscribed(recording: Recording, uid: str, media: Literal["audio", "video"]) -> bool:
    """Whether the subscription lists and ``streamTypes`` let ``uid``'s ``media`` be recorded.

    An allow-list wins (``"#allstream#"`` allows everyone), then a block-list; a media type
    without a list is recorded only when no list is set for the other type either.
    """
    if media == "audio" and recording.stream_types == 1:
        return False
    if media == "video" and recording.stream_types == 0:
        return False
    title = media.capitalize()
    allow = recording.subscription.get(f"subscribe{title}Uids")
    block = recording.subscription.get(f"unSubscribe{title}Uids")
    if allow is not None:
        return "#allstream#" in allow or uid in allow
    if block is not None:
        return uid not in block
    return all(value is None for value in recording.subscription.values())


def subscription_from(config: Mapping[str, Any]) -> dict[str, list[str] | None]:
    """Read the four subscription lists, accepting ``unSubscribe...`` and ``unsubscribe...``."""
    result: dict[str, list[str] | None] = {}
    for media in ("Audio", "Video"):
        for key, spellings in (
            (f"subscribe{media}Uids", (f"subscribe{media}Uids",)),
            (f"unSubscribe{media}Uids", (f"unSubscribe{media}Uids", f"unsubscribe{media}Uids")),
        ):
            value = next((config[s] for s in spellings if s in config), None)
            result[key] = [str(v) for v in value] if isinstance(value, list) else None
    return result
