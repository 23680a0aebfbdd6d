"""The closed value sets of the Cloud Recording API.

String-valued sets subclass ``str, enum.Enum`` and numeric ones ``enum.IntEnum``; a member's
``value`` is exactly what goes on the wire. Model fields typed with these enums also accept the
plain value, and keep a value the enum does not know (a newer service value) as it is, so parsing
never breaks on something the service added after this library was written. `RecordingStatus` is
the exception: an unknown status becomes a pseudo-member (``RecordingStatus(42).name`` is
``"UNKNOWN_42"``, its value 42), so ``QueryResponse.status`` is always a `RecordingStatus`.
"""

from __future__ import annotations

import enum

__all__ = [
    "AudioProfile",
    "AvFileType",
    "ChannelType",
    "CombinationPolicy",
    "ContainerFormat",
    "DecryptionMode",
    "ErrorHandlePolicy",
    "FileListMode",
    "MixedVideoLayout",
    "Mode",
    "RecordingStatus",
    "Region",
    "RegionAffinity",
    "RenderMode",
    "RtmpStatus",
    "Scene",
    "ServiceName",
    "ServiceState",
    "StreamMode",
    "StreamTypes",
    "SubscribeUidGroup",
    "TrackType",
    "TransMode",
    "UploadingStatus",
    "Vendor",
    "VideoStreamType",
]


class Mode(str, enum.Enum):
    """The ``{mode}`` path parameter: what a recording session records.

    ``RAW`` is today's individual recording (Agora's "Start a cloud recording task" lists
    ``raw``, ``mix`` and ``web``); ``INDIVIDUAL`` is what Agora's pages now call "legacy
    individual recording", still served for existing integrations. Raw has no
    ``recordingConfig.streamMode`` and refuses ``clientRequest.extensionServiceConfig``.
    """

    RAW = "raw"
    """Individual recording: one set of files per user (the current mode)."""
    INDIVIDUAL = "individual"
    """Legacy individual recording, with ``streamMode``."""
    MIX = "mix"
    WEB = "web"

    @property
    def per_user(self) -> bool:
        """Whether each user is recorded separately (raw or legacy individual)."""
        return self is Mode.RAW or self is Mode.INDIVIDUAL


class Region(str, enum.Enum):
    """A service area: picks the API hosts and is the acquire ``region`` value."""

    NA = "NA"
    EU = "EU"
    AP = "AP"
    CN = "CN"


class Vendor(enum.IntEnum):
    """``storageConfig.vendor``: the third-party cloud storage provider."""

    QINIU = 0
    """Qiniu Cloud (legacy; absent from current docs)."""
    AMAZON_S3 = 1
    ALIBABA_CLOUD = 2
    TENCENT_CLOUD = 3
    KINGSOFT_CLOUD = 4
    """Kingsoft Cloud (legacy; absent from current docs)."""
    MICROSOFT_AZURE = 5
    GOOGLE_CLOUD = 6
    HUAWEI_CLOUD = 7
    BAIDU_CLOUD = 8
    S3_COMPATIBLE = 11
    """Self-built S3-compatible storage; needs ``extensionParams.endpoint``."""


class RecordingStatus(enum.IntEnum):
    """``serverResponse.status`` of ``query``: 4 or 5 means the recorder is healthy.

    One member is the session's own, never sent by the service: `REACQUIRING` (-1).
    """

    REACQUIRING = -1
    """Not a service status: the session's start was refused (500 code 502, 400 code 433) or
    answered 50x after three retries, and the session is acquiring a new resource (with a new
    uid in the second case) to start again. Published to ``status_changes()`` and
    ``on_status``; once the new start answers the stream shows ``NOT_STARTED``, then the
    service's statuses, so it never outlives the start."""
    NOT_STARTED = 0
    INITIALIZED = 1
    COMPONENTS_STARTING = 2
    PARTIAL_COMPONENTS_READY = 3
    ALL_COMPONENTS_READY = 4
    IN_PROGRESS = 5
    STOP_REQUESTED = 6
    ALL_COMPONENTS_STOPPED = 7
    EXITED = 8
    EXITED_ABNORMALLY = 20

    @classmethod
    def _missing_(cls, value: object) -> RecordingStatus | None:
        """A status this library does not know (a newer service state) as a pseudo-member.

        It equals, hashes and serializes as its integer, is named ``UNKNOWN_<value>`` and is
        not listed by iteration. Pseudo-members are not cached: the service picks the values.
        """
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None


class ChannelType(enum.IntEnum):
    """``recordingConfig.channelType``; must match the RTC channel profile."""

    COMMUNICATION = 0
    LIVE_BROADCASTING = 1


class StreamTypes(enum.IntEnum):
    """``recordingConfig.streamTypes``: which media the recorder subscribes to."""

    AUDIO_ONLY = 0
    VIDEO_ONLY = 1
    AUDIO_AND_VIDEO = 2


class StreamMode(str, enum.Enum):
    """``recordingConfig.streamMode`` (individual mode): which index files are produced."""

    DEFAULT = "default"
    STANDARD = "standard"
    ORIGINAL = "original"


class DecryptionMode(enum.IntEnum):
    """``recordingConfig.decryptionMode``: must match the channel's encryption."""

    NONE = 0
    AES_128_XTS = 1
    AES_128_ECB = 2
    AES_256_XTS = 3
    SM4_128_ECB = 4
    AES_128_GCM = 5
    AES_256_GCM = 6
    AES_128_GCM2 = 7
    """Needs both ``secret`` and ``salt``."""
    AES_256_GCM2 = 8
    """Needs both ``secret`` and ``salt``."""


class AudioProfile(enum.IntEnum):
    """``audioProfile`` of mix recordings and web pages (all 48 kHz, music)."""

    MUSIC_STANDARD = 0
    """Mono, about 48 Kbps."""
    MUSIC_HIGH_QUALITY = 1
    """Mono, about 128 Kbps."""
    MUSIC_HIGH_QUALITY_STEREO = 2
    """Stereo, about 192 Kbps."""


class VideoStreamType(enum.IntEnum):
    """``recordingConfig.videoStreamType``: which stream of a dual-stream sender to record."""

    HIGH = 0
    LOW = 1


class SubscribeUidGroup(enum.IntEnum):
    """``recordingConfig.subscribeUidGroup``: the expected peak number of subscribed UIDs."""

    UP_TO_2 = 0
    UP_TO_7 = 1
    UP_TO_12 = 2
    UP_TO_17 = 3
    UP_TO_32 = 4
    UP_TO_49 = 5


class MixedVideoLayout(enum.IntEnum):
    """``mixedVideoLayout`` of a mix recording; ``CUSTOM`` uses ``layoutConfig``."""

    FLOATING = 0
    BEST_FIT = 1
    VERTICAL = 2
    CUSTOM = 3


class RenderMode(enum.IntEnum):
    """``render_mode`` of a layout region or user background image."""

    CROPPED = 0
    FIT = 1


class Scene(enum.IntEnum):
    """Acquire ``scene``: the kind of task the resource is for."""

    REAL_TIME = 0
    """Real-time audio and video recording (individual or mix)."""
    WEB = 1
    """Web page recording."""
    POSTPONED = 2
    """Individual recording with postponed transcoding or audio mixing."""


class RegionAffinity(enum.IntEnum):
    """Acquire ``regionAffinity``: where to allocate the recorder."""

    NEAREST = 0
    CHINA = 1
    SOUTHEAST_ASIA = 2
    EUROPE = 3
    NORTH_AMERICA = 4


class UploadingStatus(str, enum.Enum):
    """Stop ``uploadingStatus``; the wire's misspelt ``"unknow"`` also means ``UNKNOWN``."""

    UPLOADED = "uploaded"
    BACKUPED = "backuped"
    """Uploaded, but some files went to Agora's backup cloud first; they follow later."""
    STRANDED = "stranded"
    """Not in your storage yet, uploaded later by an offline task; not a failure. Added with raw
    mode (Agora's "Individual recording migration guide": held on the recording server); the
    stop reference lists it for every mode (kept on Agora's backup cloud)."""
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> UploadingStatus | None:
        return cls.UNKNOWN if value == "unknow" else None


class FileListMode(str, enum.Enum):
    """``serverResponse.fileListMode``: whether ``fileList`` is a name or a list of objects."""

    STRING = "string"
    JSON = "json"


class TrackType(str, enum.Enum):
    """``fileList[].trackType``: what a recorded file holds."""

    AUDIO = "audio"
    VIDEO = "video"
    AUDIO_AND_VIDEO = "audio_and_video"


class AvFileType(str, enum.Enum):
    """``recordingFileConfig.avFileType`` items; ``MP4`` is only valid beside ``HLS``."""

    HLS = "hls"
    MP4 = "mp4"
    MP3 = "mp3"
    """Audio files, raw mode only (Agora's "Individual recording migration guide")."""


class ServiceName(str, enum.Enum):
    """Extension service names (web mode, plus the stop-only upload and legacy VOD services)."""

    WEB_RECORDER_SERVICE = "web_recorder_service"
    RTMP_PUBLISH_SERVICE = "rtmp_publish_service"
    UPLOAD_SERVICE = "upload_service"
    ALIYUN_VOD_SERVICE = "aliyun_vod_service"


class ServiceState(str, enum.Enum):
    """``payload.state`` of an extension service (``IDLE`` is the legacy VOD value)."""

    INIT = "init"
    IN_PROGRESS = "inProgress"
    EXIT = "exit"
    IDLE = "idle"


class RtmpStatus(str, enum.Enum):
    """``outputs[].status`` of the CDN push; ``DISCONNECTED`` means change the URL."""

    CONNECTING = "connecting"
    PUBLISHING = "publishing"
    ONHOLD = "onhold"
    DISCONNECTED = "disconnected"


class ErrorHandlePolicy(str, enum.Enum):
    """``errorHandlePolicy`` of extension services."""

    ERROR_ABORT = "error_abort"
    """The only value for web recording: a failure stops the other services."""
    ERROR_IGNORE = "error_ignore"
    """The only value for the CDN push: a failure does not affect recording."""


class CombinationPolicy(str, enum.Enum):
    """``appsCollection.combinationPolicy``."""

    DEFAULT = "default"
    POSTPONE_TRANSCODING = "postpone_transcoding"


class TransMode(str, enum.Enum):
    """``transcodeOptions.transConfig.transMode``."""

    POSTPONE_TRANSCODING = "postponeTranscoding"
    AUDIO_MIX = "audioMix"


class ContainerFormat(str, enum.Enum):
    """``transcodeOptions.container.format``; postponed transcoding supports only MP4."""

    MP4 = "mp4"
    MP3 = "mp3"
    M4A = "m4a"
    AAC = "aac"
