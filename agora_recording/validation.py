"""Documented request rules of the Cloud Recording API, checked on wire dicts.

The functions here take the JSON bodies exactly as sent (``{"cname": ..., "uid": ...,
"clientRequest": {...}}``, camelCase keys) and are shared by two callers: the client runs them
before sending, so bad input fails without a request and names the field; the emulator runs them on
what it receives and answers HTTP 400 ``{"code": 2}``. One set of rules keeps the two honest.

A problem is a :class:`~agora_recording.errors.ValidationError` whose ``field`` is the wire path
(``clientRequest.recordingConfig.transcodingConfig.layoutConfig[3].x_axis``) and whose ``rule``
says what is accepted, with the offending value when it is short and not a secret.

Rules come from Agora's Cloud Recording RESTful API reference (the acquire, start, update and
updateLayout pages); every number is a constant below. Where the
reference is ambiguous we are strict where it is explicit and lenient where it is not:

- ``cname`` may be 64 bytes ("under 64 bytes" read as at most 64); a call
  whose mode is unknown (``stop`` without a mode) gets the web limit, 1024 bytes of anything.
- ``acquire`` infers the mode from ``scene`` (1 is web, 2 individual, else individual or mix) for
  the ``cname`` rule and for ``startParameter``, which is checked like a start ``clientRequest``
  minus the checks that need the exact mode.
- Fields the reference calls "not applicable" in a mode are not refused: ``token`` and
  ``recordingConfig`` in web mode are ignored, ``appsCollection`` is checked in every mode.
  Fields it restricts by name are refused elsewhere: ``snapshotConfig`` and ``transcodeOptions``
  (individual recording: ``raw`` and the legacy ``individual``), ``streamMode`` (legacy
  ``individual`` only: the legacy pages say ``raw`` removes it), ``audioProfile`` and
  ``transcodingConfig`` (mix), ``extensionServiceConfig`` (web, and mix for the legacy
  ``aliyun_vod_service`` alone, which then replaces ``storageConfig``; the start reference says
  raw refuses it).
- Where the pages contradict each other the client accepts what the service may accept:
  ``subscribeUidGroup`` is optional (the reference's own examples omit it), web ``videoWidth``/
  ``videoHeight`` have no lower bound but 1, web ``videoBitrate`` and mix ``bitrate`` no range
  (see the constants below for why); the service refuses what it does not take with code 2.
- ``recordingFileConfig`` is never required (its only field has a default). ``extensionParams``
  keys are optional except ``endpoint`` for vendor 11; ``sse``/``tag`` are not tied to vendors.
- Both spellings ``unSubscribe*Uids`` and ``unsubscribe*Uids`` are accepted, never both at once;
  ``"#allstream#"`` is accepted in every subscription list.
- JSON ``null`` counts as absent. Unknown keys are ignored (the service adds fields over time).
- Integers are exact: ``True`` and ``30.0`` are refused where an integer is expected; layout
  coordinates take any number in [0, 1], the integers 0 and 1 included.
- ``captureInterval`` is [5, 3600] as the reference says; ``lenient=True`` (for the emulator)
  accepts the older guides' [1, 3600].
- Rules that need state (``streamTypes`` of a running recording for ``update``, ``cname``/``uid``
  matching the acquire) are the emulator's business, not this module's.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
import string
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, NamedTuple

import attrs

from . import models
from .enums import (
    AudioProfile,
    AvFileType,
    ChannelType,
    CombinationPolicy,
    ContainerFormat,
    DecryptionMode,
    ErrorHandlePolicy,
    MixedVideoLayout,
    Mode,
    Region,
    RegionAffinity,
    RenderMode,
    Scene,
    ServiceName,
    StreamMode,
    StreamTypes,
    SubscribeUidGroup,
    TransMode,
    Vendor,
    VideoStreamType,
)
from .errors import ValidationError

__all__ = [
    "Bounds",
    "check_acquire",
    "check_cname",
    "check_envelope",
    "check_start",
    "check_stop",
    "check_uid",
    "check_update",
    "check_update_layout",
    "find_problems",
    "redact",
]


class Bounds(NamedTuple):
    """An inclusive integer range; ``high=None`` leaves it open above."""

    low: int
    high: int | None = None


def _values(*members: type[enum.Enum] | enum.Enum) -> tuple[Any, ...]:
    """The wire values of whole enums or of chosen members: the enums are the one source."""
    found: list[Any] = []
    for member in members:
        if isinstance(member, enum.Enum):
            found.append(member.value)
        else:
            found.extend(item.value for item in member)
    return tuple(found)


def _secret_wire_keys() -> frozenset[str]:
    """The wire keys of every model field kept out of ``repr``: the models say what is secret."""
    keys: set[str] = set()
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and attrs.has(model):
            keys.update(
                field.metadata[models.WIRE]
                for field in attrs.fields(model)
                if not field.repr and field.metadata.get(models.WIRE)
            )
    return frozenset(keys)


# Envelope (the RESTful API reference).
MODES: Final = _values(Mode)
UID_MIN: Final = 1
UID_MAX: Final = 2**32 - 1
CNAME_MAX_BYTES: Final = 64
WEB_CNAME_MAX_BYTES: Final = 1024
CNAME_PUNCTUATION: Final = "!#$%&()+-:;<=.>?@[]^_{}|~,"
CNAME_CHARACTERS: Final = frozenset(
    string.ascii_letters + string.digits + " " + CNAME_PUNCTUATION
)  # the 89 characters of error 1013
SECRET_FIELDS: Final = _secret_wire_keys()
"""Wire keys whose values are never shown: every model field declared ``repr=False``."""

# acquire (the acquire reference).
SCENES: Final = _values(Scene)
WEB_SCENE: Final = Scene.WEB.value
POSTPONED_SCENE: Final = Scene.POSTPONED.value
RESOURCE_EXPIRED_HOUR: Final = Bounds(1, 720)
ACQUIRE_REGIONS: Final = _values(Region.CN, Region.AP, Region.EU, Region.NA)  # as documented
REGION_AFFINITIES: Final = _values(RegionAffinity)

# storageConfig (start reference, storage vendors and regions).
VENDORS: Final = _values(Vendor)
STS_VENDORS: Final = _values(Vendor.AMAZON_S3, Vendor.ALIBABA_CLOUD, Vendor.TENCENT_CLOUD)
S3_COMPATIBLE_VENDOR: Final = Vendor.S3_COMPATIBLE.value
STORAGE_REGION: Final = Bounds(0)
"""Any region index: the rule for a vendor missing from `STORAGE_REGIONS`."""
# The region index tables of Agora's "Third-party cloud storage regions" page (Cloud Recording
# reference). Amazon S3 lists 0-25 (17, once US_GOV_WEST_1, and 23 are unassigned, but accepted:
# the table has changed before); Alibaba 0-27; Tencent 0-19; Huawei 0-15; Baidu 1-7 now and 0-6
# in older pages, so 0-7; Azure, Google and S3-compatible storage take 0. The legacy vendors
# Qiniu (0) and Kingsoft (4) have no current table: any index.
STORAGE_REGIONS: Final = MappingProxyType(
    {
        Vendor.QINIU.value: Bounds(0),
        Vendor.AMAZON_S3.value: Bounds(0, 25),
        Vendor.ALIBABA_CLOUD.value: Bounds(0, 27),
        Vendor.TENCENT_CLOUD.value: Bounds(0, 19),
        Vendor.KINGSOFT_CLOUD.value: Bounds(0),
        Vendor.MICROSOFT_AZURE.value: Bounds(0, 0),
        Vendor.GOOGLE_CLOUD.value: Bounds(0, 0),
        Vendor.HUAWEI_CLOUD.value: Bounds(0, 15),
        Vendor.BAIDU_CLOUD.value: Bounds(0, 7),
        Vendor.S3_COMPATIBLE.value: Bounds(0, 0),
    }
)
STORAGE_KEY_MAX_CHARS: Final = 1024
"""``accessKey`` and ``secretKey``: Agora documents no length. The longest any supported vendor
issues is far shorter (an Azure account key has 88 characters, AWS and Google HMAC secrets 40),
so this bound only refuses what cannot be a key, such as a pasted file."""
BUCKET_MAX_CHARS: Final = 63
"""Every vendor's documented maximum (Google allows 222 for names with dots; see `_R_BUCKETS`)."""
STS_EXPIRATION: Final = Bounds(0)
SSE_VALUES: Final = ("kms", "aes256")
FILE_NAME_PREFIX_MAX_CHARS: Final = 128

# recordingConfig (the start reference).
CHANNEL_TYPES: Final = _values(ChannelType)
STREAM_TYPES: Final = _values(StreamTypes)
AUDIO_ONLY: Final = StreamTypes.AUDIO_ONLY.value
VIDEO_ONLY: Final = StreamTypes.VIDEO_ONLY.value
STREAM_MODES: Final = _values(StreamMode)
DECRYPTION_MODES: Final = _values(DecryptionMode)
SALTED_DECRYPTION_MODES: Final = _values(DecryptionMode.AES_128_GCM2, DecryptionMode.AES_256_GCM2)
AUDIO_PROFILES: Final = _values(AudioProfile)
VIDEO_STREAM_TYPES: Final = _values(VideoStreamType)
MAX_IDLE_TIME: Final = Bounds(5, 2_592_000)
SUBSCRIPTION_LIST_MAX: Final = 32
ALL_STREAMS: Final = "#allstream#"
SUBSCRIBE_UID_GROUPS: Final = _values(SubscribeUidGroup)

# transcodingConfig, layoutConfig, backgroundConfig (start and updateLayout references).
TRANSCODING_SIDE: Final = Bounds(1, 1920)
TRANSCODING_MAX_PIXELS: Final = 1920 * 1080
TRANSCODING_FPS: Final = Bounds(1)
TRANSCODING_BITRATE: Final = Bounds(1)
"""Kbps, any positive integer. Older start pages call 6500 the maximum, but Agora's video
profile page lists what a resolution typically needs, not a limit the service enforces, and the
current start reference documents only the default (500); a value the service does not take is
its to refuse (code 2), not ours to guess."""
MIXED_VIDEO_LAYOUTS: Final = _values(MixedVideoLayout)
VERTICAL_LAYOUT: Final = MixedVideoLayout.VERTICAL.value
LAYOUT_MAX_REGIONS: Final = 17
RENDER_MODES: Final = _values(RenderMode)
HTTP_SCHEMES: Final = ("http://", "https://")

# recordingFileConfig, snapshotConfig (start reference).
AV_FILE_TYPES: Final = _values(AvFileType)
SNAPSHOT_FILE_TYPES: Final = ("jpg",)
CAPTURE_INTERVAL: Final = Bounds(5, 3600)
CAPTURE_INTERVAL_LENIENT: Final = Bounds(1, 3600)

# extensionServiceConfig (start reference).
WEB_RECORDER_SERVICE: Final = ServiceName.WEB_RECORDER_SERVICE.value
RTMP_PUBLISH_SERVICE: Final = ServiceName.RTMP_PUBLISH_SERVICE.value
ALIYUN_VOD_SERVICE: Final = ServiceName.ALIYUN_VOD_SERVICE.value
EXTENSION_SERVICES_MAX: Final = 2
CONFIG_ERROR_HANDLE_POLICIES: Final = _values(ErrorHandlePolicy.ERROR_ABORT)
SERVICE_ERROR_HANDLE_POLICIES: Final = MappingProxyType(
    {
        WEB_RECORDER_SERVICE: _values(ErrorHandlePolicy.ERROR_ABORT),
        RTMP_PUBLISH_SERVICE: _values(ErrorHandlePolicy.ERROR_IGNORE),
    }
)
WEB_VIDEO_SIDE: Final = Bounds(1, 1920)
"""Pixels per side. Agora's pages disagree on the low end ([480, 1920] in the older English
pages, [240, 1920] after the 2022-05-20 change, none in the current reference, which states only
the 1920 * 1080 product rule), so only what every version agrees on is refused: a side over
1920, or a product over `WEB_VIDEO_MAX_PIXELS`."""
WEB_VIDEO_MAX_PIXELS: Final = 1920 * 1080
MAX_RECORDING_HOUR: Final = Bounds(1, 720)
WEB_VIDEO_BITRATE: Final = Bounds(1)
"""Kbps, any positive integer. [50, 8000] appears only in older and Chinese pages; the current
start reference gives the defaults (2000 at 1280 * 720 and above, else 1500) and no range, so a
value outside the old one is left for the service to judge."""
WEB_VIDEO_FPS: Final = Bounds(5, 60)
MAX_VIDEO_DURATION: Final = Bounds(30, 240)
READY_TIMEOUT: Final = Bounds(0, 60)
RTMP_OUTPUTS: Final = 1
RTMP_SCHEMES: Final = ("rtmp://", "rtmps://")

# appsCollection, transcodeOptions (the start reference).
COMBINATION_POLICIES: Final = _values(CombinationPolicy)
TRANS_MODES: Final = _values(TransMode)
POSTPONE_TRANSCODING: Final = TransMode.POSTPONE_TRANSCODING.value
CONTAINER_FORMATS: Final = _values(ContainerFormat)
SAMPLE_RATES: Final = ("48000", "32000", "16000")
AUDIO_CHANNELS: Final = ("1", "2")

# update (the update reference): a clientRequest must carry at least one of these.
UPDATE_FIELDS: Final = (
    "streamSubscribe",
    "webRecordingConfig",
    "rtmpPublishConfig",
    "storageConfig",
)

_SHOW_MAX_CHARS = 32
_ALNUM_PATTERN = re.compile(r"[A-Za-z0-9]+")
_COLOR_PATTERN = re.compile(r"#[0-9A-Fa-f]{6}")
_HIDDEN: Final = object()  # "no value to show" marker for _Checker.fail


# --- rules: a test and the sentence that describes it -----------------------------------------


class _Rule(NamedTuple):
    accepts: Callable[[Any], bool]
    text: str


def _is_int(value: object) -> bool:
    """True for a JSON integer: ``bool`` is an ``int`` in Python but never one on the wire."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_uid(value: object) -> bool:
    # 1-10 ASCII digits, the first not 0, tested without a regex: this runs for every subscribed
    # uid and every layout region.
    return (
        isinstance(value, str)
        and 0 < len(value) <= 10
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
        and UID_MIN <= int(value) <= UID_MAX
    )


def _int_in(bounds: Bounds) -> _Rule:
    low, high = bounds
    if high is None:
        return _Rule(lambda v: _is_int(v) and v >= low, f"must be an integer >= {low}")
    return _Rule(
        lambda v: _is_int(v) and low <= v <= high, f"must be an integer in [{low}, {high}]"
    )


def _one_of(values: Sequence[str | int], where: str = "") -> _Rule:
    """Membership that keeps JSON kinds apart: ``true`` is not ``1`` and ``"1"`` is not ``1``."""

    strings = isinstance(values[0], str)

    def accepts(value: object) -> bool:
        same_kind = isinstance(value, str) if strings else _is_int(value)
        return same_kind and value in values

    listed = ", ".join(_show(v) for v in values)
    text = f"must be {listed}" if len(values) == 1 else f"must be one of {listed}"
    return _Rule(accepts, text + where)


def _pattern(pattern: re.Pattern[str], text: str) -> _Rule:
    return _Rule(lambda v: isinstance(v, str) and pattern.fullmatch(v) is not None, text)


def _url(schemes: Sequence[str]) -> _Rule:
    def accepts(value: object) -> bool:
        return isinstance(value, str) and any(
            value[: len(s)].lower() == s and len(value) > len(s) for s in schemes
        )

    return _Rule(accepts, "must be a URL starting with " + " or ".join(schemes))


_STRING = _Rule(lambda v: isinstance(v, str) and v != "", "must be a non-empty string")
_ANY_STRING = _Rule(lambda v: isinstance(v, str), "must be a string")
_BOOL = _Rule(lambda v: isinstance(v, bool), "must be true or false")
_UNIT = _Rule(
    lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1,
    "must be a number in [0, 1]",
)
_UID_TEXT = f"a decimal string in [{UID_MIN}, {UID_MAX}] with no sign, spaces or leading zeros"
_UID = _Rule(_is_uid, f"must be {_UID_TEXT}")
_SUBSCRIPTION_ENTRY = _Rule(
    lambda v: v == ALL_STREAMS or _is_uid(v), f'must be {_UID_TEXT}, or "{ALL_STREAMS}"'
)
_PREFIX_ITEM = _pattern(_ALNUM_PATTERN, "must be a non-empty string of A-Z, a-z and 0-9 only")
_COLOR = _pattern(_COLOR_PATTERN, 'must be "#" followed by 6 hex digits, like "#000000"')
_STORAGE_KEY = _Rule(
    lambda v: isinstance(v, str) and 0 < len(v) <= STORAGE_KEY_MAX_CHARS,
    f"must be a non-empty string of at most {STORAGE_KEY_MAX_CHARS} characters",
)


# --- bucket names ------------------------------------------------------------------------------
# The start reference says ``bucket`` must follow the vendor's own naming rules. Each rule below
# follows the vendor's public page, named beside it; where a vendor publishes none we could read
# (Baidu, the legacy Qiniu and Kingsoft, self-built S3-compatible storage) a lenient DNS-like rule
# still refuses what no storage service accepts: spaces, slashes, punctuation. The vendors' minimum
# length of 3 is not enforced: a shorter name cannot exist there and fails at the first upload.


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _bucket(
    pattern: str, text: str, high: int = BUCKET_MAX_CHARS, *forbidden: str, low: int = 3
) -> _Rule:
    """A bucket rule: ``pattern``, ``low`` to ``high`` characters, none of ``forbidden``, no IP."""
    compiled = re.compile(pattern)

    def accepts(value: object) -> bool:
        return (
            isinstance(value, str)
            and low <= len(value) <= high
            and compiled.fullmatch(value) is not None
            and not any(part in value for part in forbidden)
            and not _is_ip(value)
        )

    return _Rule(accepts, text)


def _google_bucket(value: object) -> bool:
    """Google: up to 63 characters, or 222 with dots, each dot-separated part at most 63."""
    return (
        isinstance(value, str)
        and len(value) <= (222 if "." in value else BUCKET_MAX_CHARS)
        and all(len(part) <= BUCKET_MAX_CHARS for part in value.split("."))
    )


_ENDS = "starting and ending with a letter or digit"
_LOWER_DOT_DASH = r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?"
_LOWER_DASH = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_R_GENERIC_BUCKET = _bucket(
    r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?",
    f"must be at most 255 characters of letters, digits, '.', '-' and '_', {_ENDS}",
    255,
    low=1,
)
_GOOGLE_SHAPE = _bucket(
    r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?",
    "",
    222,
)
_R_BUCKETS: Final = MappingProxyType(
    {
        # Amazon S3 User Guide, "General purpose bucket naming rules".
        Vendor.AMAZON_S3.value: _bucket(
            _LOWER_DOT_DASH,
            f"must be 3 to 63 characters of a-z, 0-9, '.' and '-', {_ENDS}, with no '..' "
            "and not an IP address (Amazon S3 bucket naming rules)",
            BUCKET_MAX_CHARS,
            "..",
        ),
        # Alibaba Cloud OSS, "Bucket naming conventions".
        Vendor.ALIBABA_CLOUD.value: _bucket(
            _LOWER_DASH,
            f"must be 3 to 63 characters of a-z, 0-9 and '-', {_ENDS} "
            "(Alibaba Cloud OSS bucket naming conventions)",
        ),
        # Tencent Cloud COS, "Bucket Overview": <BucketName>-<APPID>.
        Vendor.TENCENT_CLOUD.value: _bucket(
            _LOWER_DASH + r"-[0-9]+",
            "must be <BucketName>-<APPID>: a-z, 0-9 and '-', at most 63 characters, ending "
            "with '-' and the numeric APPID (Tencent Cloud COS bucket naming conventions)",
        ),
        # Microsoft Azure Storage, "Naming and Referencing Containers, Blobs, and Metadata".
        Vendor.MICROSOFT_AZURE.value: _bucket(
            r"[a-z0-9]+(?:-[a-z0-9]+)*",
            f"must be 3 to 63 characters of a-z, 0-9 and single '-', {_ENDS} "
            "(Azure container naming rules)",
        ),
        # Google Cloud Storage, "Bucket naming guidelines" (length checked by _google_bucket).
        Vendor.GOOGLE_CLOUD.value: _Rule(
            lambda v: _GOOGLE_SHAPE.accepts(v) and _google_bucket(v),
            f"must be a-z, 0-9, '.', '-' and '_', {_ENDS}, 3 to 63 characters (222 with "
            "dots, 63 between dots) and not an IP address (Google Cloud Storage bucket naming)",
        ),
        # Huawei Cloud OBS developer guide, "Use Restrictions": bucket names.
        Vendor.HUAWEI_CLOUD.value: _bucket(
            _LOWER_DOT_DASH,
            f"must be 3 to 63 characters of a-z, 0-9, '.' and '-', {_ENDS}, with no '..', "
            "'.-' or '-.' and not an IP address (Huawei Cloud OBS bucket naming rules)",
            BUCKET_MAX_CHARS,
            "..",
            ".-",
            "-.",
        ),
        # No published Baidu rule found: lenient, any length up to 63.
        Vendor.BAIDU_CLOUD.value: _bucket(
            _LOWER_DOT_DASH,
            f"must be at most 63 characters of a-z, 0-9, '.' and '-', {_ENDS}",
            low=1,
        ),
    }
)


_JPG_ONLY = _Rule(
    lambda v: isinstance(v, (list, tuple)) and tuple(v) == SNAPSHOT_FILE_TYPES, 'must be ["jpg"]'
)


def _show(value: object) -> str:
    """Render a value briefly for a message; containers show only their kind."""
    if isinstance(value, str):
        short = value if len(value) <= _SHOW_MAX_CHARS else value[:_SHOW_MAX_CHARS] + "..."
        return json.dumps(short, ensure_ascii=False)
    if isinstance(value, int) and abs(value) >= 10**20:
        return "a very large integer"
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item" + ("" if len(value) == 1 else "s")
    kind = type(value).__name__
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def redact(value: Any) -> Any:
    """A copy of a JSON value with every `SECRET_FIELDS` value replaced by ``"***"``.

    For logs, dumps and listings that show what was sent: the one redaction in the package.
    """
    if isinstance(value, Mapping):
        return {k: "***" if k in SECRET_FIELDS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _is_secret(field: str) -> bool:
    return field.rsplit(".", 1)[-1].split("[", 1)[0] in SECRET_FIELDS


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _plain(value: object) -> object:
    """The wire value of an enum member (``Mode.WEB`` -> ``"web"``), else the value itself."""
    return value.value if isinstance(value, enum.Enum) else value


def _mode_str(mode: object) -> str | None:
    """A mode hint as a plain string, or None when there is none."""
    plain = _plain(mode)
    return plain if isinstance(plain, str) else None


def _count_text(low: int, high: int | None) -> str:
    if high is None:
        return "a non-empty list" if low == 1 else "a list"
    if low == high:
        return f"a list of exactly {low} item" + ("" if low == 1 else "s")
    return f"a list of at most {high} items" if low == 0 else f"a list of {low} to {high} items"


def _modes_text(modes: Sequence[str]) -> str:
    if len(modes) == 1:
        return f"{modes[0]} mode"
    return ", ".join(modes[:-1]) + f" and {modes[-1]} modes"


# --- rules built once, at import (building one formats its message) -----------------------

_R_VENDORS = _one_of(VENDORS)
_R_STORAGE_REGION = _int_in(STORAGE_REGION)
_R_STORAGE_REGIONS: Final = MappingProxyType(
    {
        vendor: _Rule(rule.accepts, f"{rule.text} for vendor {vendor} ({Vendor(vendor).name})")
        for vendor, rule in ((v, _int_in(bounds)) for v, bounds in STORAGE_REGIONS.items())
    }
)
_R_STS_EXPIRATION = _int_in(STS_EXPIRATION)
_R_SSE_VALUES = _one_of(SSE_VALUES)
_R_CHANNEL_TYPES = _one_of(CHANNEL_TYPES)
_R_STREAM_TYPES = _one_of(STREAM_TYPES)
_R_STREAM_MODES = _one_of(STREAM_MODES)
_R_DECRYPTION_MODES = _one_of(DECRYPTION_MODES)
_R_AUDIO_PROFILES = _one_of(AUDIO_PROFILES)
_R_VIDEO_STREAM_TYPES = _one_of(VIDEO_STREAM_TYPES)
_R_MAX_IDLE_TIME = _int_in(MAX_IDLE_TIME)
_R_SUBSCRIBE_UID_GROUPS = _one_of(SUBSCRIBE_UID_GROUPS)
_R_TRANSCODING_SIDE = _int_in(TRANSCODING_SIDE)
_R_TRANSCODING_FPS = _int_in(TRANSCODING_FPS)
_R_TRANSCODING_BITRATE = _int_in(TRANSCODING_BITRATE)
_R_MIXED_VIDEO_LAYOUTS = _one_of(MIXED_VIDEO_LAYOUTS)
_R_RENDER_MODES = _one_of(RENDER_MODES)
_R_HTTP_SCHEMES = _url(HTTP_SCHEMES)
_R_AV_FILE_TYPES = _one_of(AV_FILE_TYPES)
_R_CONFIG_ERROR_HANDLE_POLICIES = _one_of(CONFIG_ERROR_HANDLE_POLICIES)
_R_WEB_VIDEO_SIDE = _int_in(WEB_VIDEO_SIDE)
_R_MAX_RECORDING_HOUR = _int_in(MAX_RECORDING_HOUR)
_R_WEB_VIDEO_BITRATE = _int_in(WEB_VIDEO_BITRATE)
_R_WEB_VIDEO_FPS = _int_in(WEB_VIDEO_FPS)
_R_MAX_VIDEO_DURATION = _int_in(MAX_VIDEO_DURATION)
_R_READY_TIMEOUT = _int_in(READY_TIMEOUT)
_R_RTMP_SCHEMES = _url(RTMP_SCHEMES)
_R_COMBINATION_POLICIES = _one_of(COMBINATION_POLICIES)
_R_TRANS_MODES = _one_of(TRANS_MODES)
_R_CONTAINER_FORMATS = _one_of(CONTAINER_FORMATS)
_R_SAMPLE_RATES = _one_of(SAMPLE_RATES)
_R_AUDIO_CHANNELS = _one_of(AUDIO_CHANNELS)
_R_SCENES = _one_of(SCENES)
_R_RESOURCE_EXPIRED_HOUR = _int_in(RESOURCE_EXPIRED_HOUR)
_R_ACQUIRE_REGIONS = _one_of(ACQUIRE_REGIONS)
_R_REGION_AFFINITIES = _one_of(REGION_AFFINITIES)
_R_CAPTURE_INTERVAL = _int_in(CAPTURE_INTERVAL)
_R_CAPTURE_INTERVAL_LENIENT = _int_in(CAPTURE_INTERVAL_LENIENT)
_R_WEB_SERVICES = _one_of((WEB_RECORDER_SERVICE, RTMP_PUBLISH_SERVICE), " in web mode")
_R_MIX_SERVICES = _one_of((ALIYUN_VOD_SERVICE,), " in mix mode")
_R_ANY_SERVICES = _one_of((WEB_RECORDER_SERVICE, RTMP_PUBLISH_SERVICE, ALIYUN_VOD_SERVICE))
_R_SERVICE_ERROR_HANDLE_POLICIES: Final = MappingProxyType(
    {
        name: _one_of(policies, f" for {name}")
        for name, policies in SERVICE_ERROR_HANDLE_POLICIES.items()
    }
)


# --- the walker -------------------------------------------------------------------------------


class _Checker:
    """Walks one body: raises at the first problem, or collects them all for ``find_problems``.

    Every lookup returns the value when it is valid and ``None`` when it is absent or broken, so
    a rule that depends on another field only runs once that field is known to be good.
    """

    def __init__(
        self, *, collect: bool = False, lenient: bool = False, recording_config_valid: bool = False
    ) -> None:
        self.collect = collect
        self.lenient = lenient
        self.recording_config_valid = recording_config_valid
        self.problems: list[ValidationError] = []

    def fail(self, field: str, rule: str, value: object = _HIDDEN) -> None:
        if value is not _HIDDEN and not _is_secret(field):
            rule = f"{rule}, got {_show(value)}"
        error = ValidationError(field, rule)
        if not self.collect:
            raise error
        self.problems.append(error)

    def value(self, value: object, field: str, rule: _Rule) -> bool:
        if rule.accepts(value):
            return True
        self.fail(field, rule.text, value)
        return False

    def missing(self, field: str, text: str, when: str) -> None:
        self.fail(field, f"is required {when}; {text}" if when else f"is required; {text}")

    def get(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        rule: _Rule,
        *,
        required: bool = False,
        when: str = "",
    ) -> Any:
        # The field path is only built when a rule fails: valid bodies are the common case.
        value = obj.get(key)
        if value is None:
            if required:
                self.missing(_at(path, key), rule.text, when)
            return None
        if rule.accepts(value):
            return value
        self.fail(_at(path, key), rule.text, value)
        return None

    def as_mapping(self, value: object, field: str) -> Mapping[str, Any] | None:
        if type(value) is dict or isinstance(value, Mapping):
            return value
        self.fail(field, "must be an object", value)
        return None

    def mapping(
        self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False, when: str = ""
    ) -> Mapping[str, Any] | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.missing(_at(path, key), "must be an object", when)
            return None
        if type(value) is dict or isinstance(value, Mapping):  # a dict skips the ABC check
            return value
        self.fail(_at(path, key), "must be an object", value)
        return None

    def array(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        item: _Rule | None = None,
        *,
        low: int = 0,
        high: int | None = None,
        required: bool = False,
    ) -> Sequence[Any] | None:
        """A list with ``low``..``high`` items, each passing ``item`` when one is given."""
        value = obj.get(key)
        if value is None:
            if required:
                self.missing(_at(path, key), "must be " + _count_text(low, high), "")
            return None
        if not isinstance(value, (list, tuple)):
            self.fail(_at(path, key), "must be " + _count_text(low, high), value)
            return None
        if len(value) < low or (high is not None and len(value) > high):
            self.fail(_at(path, key), f"must be {_count_text(low, high)}, got {len(value)}")
            return None
        if item is None:
            return value
        good = True
        for index, entry in enumerate(value):
            if not item.accepts(entry):
                self.fail(f"{_at(path, key)}[{index}]", item.text, entry)
                good = False
        return value if good else None

    def allowed_in(
        self, mode: str | None, obj: Mapping[str, Any], key: str, path: str, modes: Sequence[str]
    ) -> bool:
        """Whether ``key`` may be checked in ``mode``; reports it when set in the wrong mode."""
        if mode is None or mode in modes:
            return True
        if obj.get(key) is not None:
            self.fail(_at(path, key), f"is only allowed in {_modes_text(modes)}")
        return False

    def mode(self, mode: object, allowed: Sequence[str], rule: str) -> str | None:
        plain = _plain(mode)
        if isinstance(plain, str) and plain in allowed:
            return plain
        self.fail("mode", rule, plain)
        return None


# --- envelope ---------------------------------------------------------------------------------


_WEB_CNAME_RULE: Final = f"must be a non-empty string of at most {WEB_CNAME_MAX_BYTES} bytes"
_CHANNEL_CNAME_RULE: Final = (
    f"must be a non-empty string of at most {CNAME_MAX_BYTES} bytes"
    f' of a-z, A-Z, 0-9, space and the symbols "{CNAME_PUNCTUATION}"'
)


def _cname_problem(value: object, mode: str | None) -> str | None:
    """The rule ``value`` breaks as a channel name in ``mode``, or None."""
    channel = mode in _CHANNEL_MODES
    limit = CNAME_MAX_BYTES if channel else WEB_CNAME_MAX_BYTES
    rule = _CHANNEL_CNAME_RULE if channel else _WEB_CNAME_RULE
    if not isinstance(value, str) or not value:
        return f"{rule}, got {_show(value)}"
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        return f"{rule}, got {size} bytes"
    if channel and not CNAME_CHARACTERS.issuperset(value):
        for index, char in enumerate(value):
            if char not in CNAME_CHARACTERS:
                return f"{rule}, got {_show(char)} at index {index}"
    return None


_PER_USER_MODES: Final = (Mode.RAW.value, Mode.INDIVIDUAL.value)
"""Individual recording, today's ``raw`` and the legacy ``individual``: same rules but two."""
_CHANNEL_MODES: Final = (*_PER_USER_MODES, Mode.MIX.value)
"""The modes that record an RTC channel (web records a page)."""


def _scene_mode(request: Mapping[str, Any]) -> str | None:
    """The start mode an acquire ``scene`` implies: web, individual, or None (individual or mix)."""
    scene = request.get("scene")
    if _is_int(scene) and scene == WEB_SCENE:
        return "web"
    if _is_int(scene) and scene == POSTPONED_SCENE:
        return "individual"
    return None


def _envelope(
    c: _Checker, endpoint: str, mode: str | None, body: object
) -> Mapping[str, Any] | None:
    """Check ``cname``, ``uid`` and ``clientRequest``; return the latter when it is an object."""
    if type(body) is not dict and not isinstance(body, Mapping):
        c.fail("body", "must be a JSON object", body)
        return None
    request = body.get("clientRequest")
    if endpoint == "acquire" and mode is None and isinstance(request, Mapping):
        mode = _scene_mode(request) or "mix"  # scene 0: a channel recording either way
    cname = body.get("cname")
    if cname is None:
        c.missing("cname", "must be a non-empty string", "")
    else:
        problem = _cname_problem(cname, mode)
        if problem is not None:
            c.fail("cname", problem)
    c.get(body, "uid", "", _UID, required=True)
    return c.mapping(body, "clientRequest", "", required=True)


_RAW_HAS_NO_STREAM_MODE: Final = (
    'is not part of raw mode (Agora removed streamMode from it); drop it, or use mode "individual" '
    "(legacy individual recording) to keep it"
)
_RAW_HAS_NO_EXTENSIONS: Final = (
    "is refused in raw mode (individual recording does not support extension services)"
)


# --- storageConfig ----------------------------------------------------------------------------


def _storage_config(c: _Checker, parent: Mapping[str, Any], path: str, *, required: bool) -> None:
    """the start reference, shared by start and update."""
    field = _at(path, "storageConfig")
    storage = c.mapping(parent, "storageConfig", path, required=required)
    if storage is None:
        return
    vendor = c.get(storage, "vendor", field, _R_VENDORS, required=True)
    known = vendor is not None
    region_rule = _R_STORAGE_REGIONS.get(vendor, _R_STORAGE_REGION) if known else _R_STORAGE_REGION
    c.get(storage, "region", field, region_rule, required=True)
    bucket_rule = _R_BUCKETS.get(vendor, _R_GENERIC_BUCKET) if known else _R_GENERIC_BUCKET
    c.get(storage, "bucket", field, bucket_rule, required=True)
    for key in ("accessKey", "secretKey"):  # secrets: the checker never shows their values
        c.get(storage, key, field, _STORAGE_KEY, required=True)
    for key, rule in (("stsToken", _STRING), ("stsExpiration", _R_STS_EXPIRATION)):
        given = c.get(storage, key, field, rule)
        if given is not None and vendor is not None and vendor not in STS_VENDORS:
            c.fail(
                _at(field, key),
                "is only supported for vendors 1, 2 and 3 (Amazon S3, Alibaba Cloud, "
                f"Tencent Cloud), not vendor {vendor}",
            )
    prefix = c.array(storage, "fileNamePrefix", field, _PREFIX_ITEM)
    if prefix is not None and len("/".join(prefix)) > FILE_NAME_PREFIX_MAX_CHARS:
        c.fail(
            _at(field, "fileNamePrefix"),
            f"must be at most {FILE_NAME_PREFIX_MAX_CHARS} characters joined with '/', "
            f"got {len('/'.join(prefix))}",
        )
    params_field = _at(field, "extensionParams")
    params = c.mapping(storage, "extensionParams", field)
    if params is None and storage.get("extensionParams") is None:
        params = {}
    if params is not None:
        c.get(params, "sse", params_field, _R_SSE_VALUES)
        c.get(params, "tag", params_field, _STRING)
        needs_endpoint = vendor == S3_COMPATIBLE_VENDOR
        when = "when vendor is 11 (S3-compatible storage)"
        c.get(params, "endpoint", params_field, _STRING, required=needs_endpoint, when=when)


# --- recordingConfig and the subscription lists -----------------------------------------------


def _subscription_lists(c: _Checker, obj: Mapping[str, Any], path: str, media: str) -> list[str]:
    """Check one media type's allow and block lists; return the keys that are set."""
    allow = f"subscribe{media}Uids"
    block, block_lower = f"unSubscribe{media}Uids", f"unsubscribe{media}Uids"
    present = [key for key in (allow, block, block_lower) if obj.get(key) is not None]
    for key in present:
        c.array(obj, key, path, _SUBSCRIPTION_ENTRY, high=SUBSCRIPTION_LIST_MAX)
    if block in present and block_lower in present:
        c.fail(_at(path, block_lower), f"must not be set together with {block} (same list)")
    elif allow in present and len(present) > 1:
        c.fail(_at(path, present[1]), f"must not be set together with {allow}")
    return present


def _recording_config(
    c: _Checker, mode: str | None, request: Mapping[str, Any], path: str
) -> Mapping[str, Any] | None:
    """the start reference; returns the object so the snapshot rules can look at it."""
    field = _at(path, "recordingConfig")
    required = mode in _CHANNEL_MODES
    config = c.mapping(request, "recordingConfig", path, required=required, when=f"in {mode} mode")
    if config is None:
        return None
    c.get(config, "channelType", field, _R_CHANNEL_TYPES)
    stream_types = c.get(config, "streamTypes", field, _R_STREAM_TYPES)
    if mode == Mode.RAW.value and config.get("streamMode") is not None:
        c.fail(_at(field, "streamMode"), _RAW_HAS_NO_STREAM_MODE)
    elif c.allowed_in(mode, config, "streamMode", field, (Mode.INDIVIDUAL.value,)):
        c.get(config, "streamMode", field, _R_STREAM_MODES)
    decryption = c.get(config, "decryptionMode", field, _R_DECRYPTION_MODES)
    needs_secret = decryption is not None and decryption != 0
    when = "when decryptionMode is not 0"
    c.get(config, "secret", field, _STRING, required=needs_secret, when=when)
    needs_salt = decryption in SALTED_DECRYPTION_MODES
    when = "when decryptionMode is 7 or 8"
    c.get(config, "salt", field, _STRING, required=needs_salt, when=when)
    if c.allowed_in(mode, config, "audioProfile", field, ("mix",)):
        c.get(config, "audioProfile", field, _R_AUDIO_PROFILES)
    c.get(config, "videoStreamType", field, _R_VIDEO_STREAM_TYPES)
    c.get(config, "maxIdleTime", field, _R_MAX_IDLE_TIME)
    if c.allowed_in(mode, config, "transcodingConfig", field, ("mix",)):
        _transcoding_config(c, config, field)
    audio = _subscription_lists(c, config, field, "Audio")
    video = _subscription_lists(c, config, field, "Video")
    if stream_types == VIDEO_ONLY and audio:
        c.fail(_at(field, audio[0]), "must not be set when streamTypes is 1 (video only)")
    if stream_types == AUDIO_ONLY and video:
        c.fail(_at(field, video[0]), "must not be set when streamTypes is 0 (audio only)")
    # The reference marks subscribeUidGroup "required" in individual mode, yet its own
    # snapshot-and-record example (and the quickstart) omit it: optional, checked when given.
    c.get(config, "subscribeUidGroup", field, _R_SUBSCRIBE_UID_GROUPS)
    c.get(config, "privateParams", field, _ANY_STRING)
    return config


# --- layouts (transcodingConfig in start, the whole clientRequest of updateLayout) ------------


def _transcoding_config(c: _Checker, recording: Mapping[str, Any], path: str) -> None:
    """the start reference: canvas size and rate, then the layout shared with updateLayout."""
    field = _at(path, "transcodingConfig")
    config = c.mapping(recording, "transcodingConfig", path)
    if config is None:
        return
    width = c.get(config, "width", field, _R_TRANSCODING_SIDE)
    height = c.get(config, "height", field, _R_TRANSCODING_SIDE)
    if width is not None and height is not None and width * height > TRANSCODING_MAX_PIXELS:
        c.fail(
            field,
            f"width * height must be at most {TRANSCODING_MAX_PIXELS} (1920 * 1080), "
            f"got {width} * {height}",
        )
    c.get(config, "fps", field, _R_TRANSCODING_FPS)
    c.get(config, "bitrate", field, _R_TRANSCODING_BITRATE)
    _layout(c, config, field)


def _layout(c: _Checker, obj: Mapping[str, Any], path: str) -> None:
    """The layout fields shared by transcodingConfig (start) and updateLayout."""
    layout = c.get(obj, "mixedVideoLayout", path, _R_MIXED_VIDEO_LAYOUTS)
    vertical = layout == VERTICAL_LAYOUT
    when = "when mixedVideoLayout is 2"
    c.get(obj, "maxResolutionUid", path, _UID, required=vertical, when=when)
    c.get(obj, "backgroundColor", path, _COLOR)
    c.get(obj, "backgroundImage", path, _STRING)
    c.get(obj, "defaultUserBackgroundImage", path, _STRING)
    regions = c.array(obj, "layoutConfig", path, high=LAYOUT_MAX_REGIONS)
    for index, item in enumerate(regions or ()):
        if not (isinstance(item, dict) and _region_ok(item)):
            _layout_region(c, item, f"{_at(path, 'layoutConfig')}[{index}]")
    backgrounds = c.array(obj, "backgroundConfig", path)
    for index, item in enumerate(backgrounds or ()):
        _user_background(c, item, f"{_at(path, 'backgroundConfig')}[{index}]")


#: A layout region's fields: (key, rule, required). Up to 17 regions per layout, so a valid
#: region is recognised in one pass over this table (`_region_ok`); only a broken one is walked
#: field by field to report its first problem.
_REGION_FIELDS: Final = (
    ("uid", _UID, False),
    ("x_axis", _UNIT, True),
    ("y_axis", _UNIT, True),
    ("width", _UNIT, True),
    ("height", _UNIT, True),
    ("alpha", _UNIT, False),
    ("render_mode", _R_RENDER_MODES, False),
)


def _region_ok(region: Mapping[str, Any]) -> bool:
    """Whether every field of a layout region passes its rule (the common case, checked fast)."""
    get = region.get
    for key, rule, required in _REGION_FIELDS:
        value = get(key)
        if value is None:
            if required:
                return False
        elif not rule.accepts(value):
            return False
    return True


def _layout_region(c: _Checker, item: object, field: str) -> None:
    region = c.as_mapping(item, field)
    if region is None:
        return
    for key, rule, required in _REGION_FIELDS:
        c.get(region, key, field, rule, required=required)


def _user_background(c: _Checker, item: object, field: str) -> None:
    background = c.as_mapping(item, field)
    if background is None:
        return
    c.get(background, "uid", field, _UID, required=True)
    c.get(background, "image_url", field, _R_HTTP_SCHEMES, required=True)
    c.get(background, "render_mode", field, _R_RENDER_MODES)


# --- recordingFileConfig, snapshotConfig ------------------------------------------------------


def _recording_file_config(
    c: _Checker, mode: str | None, request: Mapping[str, Any], path: str
) -> None:
    """the start reference: ``avFileType`` values from {hls, mp4}; mp4 only beside hls; mp3
    (audio files) only in raw mode (the individual recording migration guide)."""
    field = _at(path, "recordingFileConfig")
    config = c.mapping(request, "recordingFileConfig", path)
    if config is None:
        return
    types = c.array(config, "avFileType", field, _R_AV_FILE_TYPES, low=1)
    if types is not None and "mp4" in types and "hls" not in types:
        c.fail(_at(field, "avFileType"), 'must include "hls" when it includes "mp4"')
    if types is not None and "mp3" in types and mode not in (None, Mode.RAW.value):
        c.fail(_at(field, "avFileType"), '"mp3" is only available in raw mode')


def _snapshot_config(
    c: _Checker,
    mode: str | None,
    request: Mapping[str, Any],
    path: str,
    recording: Mapping[str, Any] | None,
) -> None:
    """the start reference, including its preconditions on ``recordingConfig``."""
    if not c.allowed_in(mode, request, "snapshotConfig", path, _PER_USER_MODES):
        return
    field = _at(path, "snapshotConfig")
    config = c.mapping(request, "snapshotConfig", path)
    if config is None:
        return
    interval = _R_CAPTURE_INTERVAL_LENIENT if c.lenient else _R_CAPTURE_INTERVAL
    c.get(config, "captureInterval", field, interval)
    c.get(config, "fileType", field, _JPG_ONLY, required=True)
    if recording is None:
        return
    recording_field = _at(path, "recordingConfig")
    stream_types = recording.get("streamTypes")
    if _is_int(stream_types) and stream_types == AUDIO_ONLY:
        c.fail(_at(recording_field, "streamTypes"), "must be 1 or 2 with snapshotConfig", 0)
    audio, video = recording.get("subscribeAudioUids"), recording.get("subscribeVideoUids")
    if audio is not None and video is None:
        c.fail(
            _at(recording_field, "subscribeVideoUids"),
            "is required with snapshotConfig when subscribeAudioUids is set",
        )


# --- extensionServiceConfig (web mode; legacy aliyun_vod_service in mix) ----------------------


def _uses_aliyun(request: Mapping[str, Any]) -> bool:
    config = request.get("extensionServiceConfig")
    services = config.get("extensionServices") if isinstance(config, Mapping) else None
    return isinstance(services, (list, tuple)) and any(
        isinstance(s, Mapping) and s.get("serviceName") == ALIYUN_VOD_SERVICE for s in services
    )


def _extension_service_config(
    c: _Checker, mode: str | None, request: Mapping[str, Any], path: str
) -> None:
    """Start reference: 1-2 services, each at most once, RTMP only beside the web recorder."""
    key = "extensionServiceConfig"
    if mode == Mode.RAW.value and request.get(key) is not None:
        c.fail(_at(path, key), _RAW_HAS_NO_EXTENSIONS)
        return
    if not c.allowed_in(mode, request, key, path, ("mix", "web")):
        return
    field = _at(path, key)
    config = c.mapping(request, key, path, required=mode == "web", when="in web mode")
    if config is None:
        return
    c.get(config, "errorHandlePolicy", field, _R_CONFIG_ERROR_HANDLE_POLICIES)
    c.get(config, "apiVersion", field, _STRING)
    services_field = _at(field, "extensionServices")
    services = c.array(
        config, "extensionServices", field, low=1, high=EXTENSION_SERVICES_MAX, required=True
    )
    if mode == "web":
        names = _R_WEB_SERVICES
    elif mode == "mix":
        names = _R_MIX_SERVICES
    else:
        names = _R_ANY_SERVICES
    seen: list[str] = []
    for index, item in enumerate(services or ()):
        item_field = f"{services_field}[{index}]"
        name = _extension_service(c, item, item_field, names)
        if name in seen:
            c.fail(_at(item_field, "serviceName"), "must not repeat a service", name)
        elif name is not None:
            seen.append(name)
    if RTMP_PUBLISH_SERVICE in seen and WEB_RECORDER_SERVICE not in seen:
        c.fail(services_field, f"{RTMP_PUBLISH_SERVICE} needs {WEB_RECORDER_SERVICE} beside it")
    if ALIYUN_VOD_SERVICE in seen and len(seen) > 1:
        c.fail(services_field, f"{ALIYUN_VOD_SERVICE} cannot be combined with other services")


def _extension_service(c: _Checker, item: object, field: str, names: _Rule) -> str | None:
    """One ``extensionServices[]`` item; returns its valid ``serviceName``."""
    service = c.as_mapping(item, field)
    if service is None:
        return None
    name: str | None = c.get(service, "serviceName", field, names, required=True)
    policies = _R_SERVICE_ERROR_HANDLE_POLICIES.get(name or "")
    if policies is not None:
        c.get(service, "errorHandlePolicy", field, policies)
    param = c.mapping(service, "serviceParam", field, required=True)
    param_field = _at(field, "serviceParam")
    if param is not None and name == WEB_RECORDER_SERVICE:
        _web_recorder_param(c, param, param_field)
    elif param is not None and name == RTMP_PUBLISH_SERVICE:
        _rtmp_outputs(c, param, param_field)
    return name


def _web_recorder_param(c: _Checker, param: Mapping[str, Any], field: str) -> None:
    """the start reference ``serviceParam`` of ``web_recorder_service``."""
    c.get(param, "url", field, _R_HTTP_SCHEMES, required=True)
    c.get(param, "audioProfile", field, _R_AUDIO_PROFILES, required=True)
    width = c.get(param, "videoWidth", field, _R_WEB_VIDEO_SIDE, required=True)
    height = c.get(param, "videoHeight", field, _R_WEB_VIDEO_SIDE, required=True)
    if width is not None and height is not None and width * height > WEB_VIDEO_MAX_PIXELS:
        c.fail(
            field,
            f"videoWidth * videoHeight must be at most {WEB_VIDEO_MAX_PIXELS} (1920 * 1080), "
            f"got {width} * {height}",
        )
    c.get(param, "maxRecordingHour", field, _R_MAX_RECORDING_HOUR, required=True)
    c.get(param, "videoBitrate", field, _R_WEB_VIDEO_BITRATE)
    c.get(param, "videoFps", field, _R_WEB_VIDEO_FPS)
    c.get(param, "mobile", field, _BOOL)
    c.get(param, "maxVideoDuration", field, _R_MAX_VIDEO_DURATION)
    c.get(param, "onhold", field, _BOOL)
    c.get(param, "readyTimeout", field, _R_READY_TIMEOUT)


def _rtmp_outputs(c: _Checker, obj: Mapping[str, Any], path: str) -> None:
    """``outputs`` of the RTMP service and of update's ``rtmpPublishConfig``: one RTMP(S) URL."""
    outputs = c.array(obj, "outputs", path, low=RTMP_OUTPUTS, high=RTMP_OUTPUTS, required=True)
    for index, item in enumerate(outputs or ()):
        item_field = f"{_at(path, 'outputs')}[{index}]"
        output = c.as_mapping(item, item_field)
        if output is not None:
            c.get(output, "rtmpUrl", item_field, _R_RTMP_SCHEMES, required=True)


# --- appsCollection, transcodeOptions ---------------------------------------------------------


def _postponed_transcoding(
    c: _Checker, mode: str | None, request: Mapping[str, Any], path: str
) -> None:
    """the start reference: ``appsCollection`` anywhere, ``transcodeOptions`` in individual mode."""
    apps = c.mapping(request, "appsCollection", path)
    if apps is not None:
        apps_field = _at(path, "appsCollection")
        c.get(apps, "combinationPolicy", apps_field, _R_COMBINATION_POLICIES)
    if not c.allowed_in(mode, request, "transcodeOptions", path, _PER_USER_MODES):
        return
    field = _at(path, "transcodeOptions")
    options = c.mapping(request, "transcodeOptions", path)
    if options is None:
        return
    trans = c.mapping(options, "transConfig", field, required=True)
    trans_mode = None
    if trans is not None:
        trans_field = _at(field, "transConfig")
        trans_mode = c.get(trans, "transMode", trans_field, _R_TRANS_MODES, required=True)
    container = c.mapping(options, "container", field)
    if container is not None:
        container_field = _at(field, "container")
        fmt = c.get(container, "format", container_field, _R_CONTAINER_FORMATS)
        if trans_mode == POSTPONE_TRANSCODING and fmt not in (None, "mp4"):
            c.fail(_at(container_field, "format"), 'must be "mp4" for postponeTranscoding', fmt)
    audio = c.mapping(options, "audio", field)
    if audio is not None:
        audio_field = _at(field, "audio")
        c.get(audio, "sampleRate", audio_field, _R_SAMPLE_RATES)
        c.get(audio, "bitrate", audio_field, _STRING)
        c.get(audio, "channels", audio_field, _R_AUDIO_CHANNELS)


# --- one function per endpoint ----------------------------------------------------------------


def _start_request(c: _Checker, mode: str | None, request: Mapping[str, Any], path: str) -> None:
    """A start ``clientRequest`` (also acquire's ``startParameter``, where ``mode`` may be None)."""
    c.get(request, "token", path, _ANY_STRING)
    if _uses_aliyun(request) and request.get("storageConfig") is not None:
        c.fail(_at(path, "storageConfig"), f"must not be set together with {ALIYUN_VOD_SERVICE}")
    else:
        _storage_config(c, request, path, required=not _uses_aliyun(request))
    if mode == "web":
        recording = None
    elif c.recording_config_valid:
        recording = request.get("recordingConfig")
    else:
        recording = _recording_config(c, mode, request, path)
    _recording_file_config(c, mode, request, path)
    _snapshot_config(c, mode, request, path, recording)
    _extension_service_config(c, mode, request, path)
    _postponed_transcoding(c, mode, request, path)


_MODE_RULE = "must be one of " + ", ".join(_show(m) for m in MODES)


def _acquire(c: _Checker, mode: object, body: object, start_parameter: bool = True) -> None:
    hint = _mode_str(mode)
    request = _envelope(c, "acquire", hint, body)
    if request is None:
        return
    path = "clientRequest"
    c.get(request, "scene", path, _R_SCENES)
    c.get(request, "resourceExpiredHour", path, _R_RESOURCE_EXPIRED_HOUR)
    if start_parameter:
        start = c.mapping(request, "startParameter", path)
        if start is not None:
            start_mode = hint or _scene_mode(request)
            _start_request(c, start_mode, start, _at(path, "startParameter"))
    c.array(request, "excludeResourceIds", path, _STRING)
    c.get(request, "region", path, _R_ACQUIRE_REGIONS)
    c.get(request, "regionAffinity", path, _R_REGION_AFFINITIES)


def _start(c: _Checker, mode: object, body: object) -> None:
    checked = c.mode(mode, MODES, _MODE_RULE)
    request = _envelope(c, "start", checked, body)
    if request is not None:
        _start_request(c, checked, request, "clientRequest")


def _stream_subscribe(c: _Checker, request: Mapping[str, Any], path: str) -> None:
    """update's ``streamSubscribe``: the start subscription rules, one object per media type."""
    subscribe = c.mapping(request, "streamSubscribe", path)
    if subscribe is None:
        return
    field = _at(path, "streamSubscribe")
    for media in ("Audio", "Video"):
        key = f"{media.lower()}UidList"
        lists = c.mapping(subscribe, key, field)
        if lists is not None:
            _subscription_lists(c, lists, _at(field, key), media)


def _update(c: _Checker, mode: object, body: object) -> None:
    checked = c.mode(mode, MODES, _MODE_RULE)
    request = _envelope(c, "update", checked, body)
    if request is None:
        return
    path = "clientRequest"
    if all(request.get(key) is None for key in UPDATE_FIELDS):
        c.fail(path, "must contain at least one of " + ", ".join(UPDATE_FIELDS))
        return
    if c.allowed_in(checked, request, "streamSubscribe", path, _CHANNEL_MODES):
        _stream_subscribe(c, request, path)
    if c.allowed_in(checked, request, "webRecordingConfig", path, ("web",)):
        web = c.mapping(request, "webRecordingConfig", path)
        if web is not None:
            c.get(web, "onhold", _at(path, "webRecordingConfig"), _BOOL)
    if c.allowed_in(checked, request, "rtmpPublishConfig", path, ("web",)):
        rtmp = c.mapping(request, "rtmpPublishConfig", path)
        if rtmp is not None:
            _rtmp_outputs(c, rtmp, _at(path, "rtmpPublishConfig"))
    _storage_config(c, request, path, required=False)


def _update_layout(c: _Checker, mode: object, body: object) -> None:
    checked = c.mode(mode, ("mix",), 'must be "mix": updateLayout exists only in mix mode')
    request = _envelope(c, "updateLayout", checked, body)
    if request is not None:
        _layout(c, request, "clientRequest")


def _stop(c: _Checker, mode: object, body: object) -> None:
    request = _envelope(c, "stop", _mode_str(mode), body)
    if request is not None:
        c.get(request, "async_stop", "clientRequest", _BOOL)


_ENDPOINTS: Final[dict[str, Callable[[_Checker, Any, object], None]]] = {
    "acquire": _acquire,
    "start": _start,
    "update": _update,
    "updatelayout": _update_layout,
    "stop": _stop,
}


def _endpoint_key(endpoint: str | enum.Enum) -> str:
    """``"updateLayout"``, ``"update_layout"`` and ``Endpoint.UPDATE_LAYOUT`` all name one check."""
    name = endpoint if isinstance(endpoint, str) else endpoint.name
    key = name.lower().replace("_", "")
    if key not in _ENDPOINTS:
        raise ValidationError("endpoint", f"no request body to check for endpoint {name!r}")
    return key


# --- public API -------------------------------------------------------------------------------


def check_uid(value: object, field: str = "uid") -> None:
    """Raise unless ``value`` is a UID string: decimal, 1..2^32-1, no sign, space or leading 0."""
    _Checker().value(value, field, _UID)


def check_cname(value: object, mode: str | None, field: str = "cname") -> None:
    """Raise unless ``value`` is a channel name for ``mode`` (None or web: the 1024-byte label)."""
    problem = _cname_problem(value, _mode_str(mode))
    if problem is not None:
        raise ValidationError(field, problem)


def check_envelope(endpoint: str | enum.Enum, mode: str | None, body: object) -> None:
    """Raise for a bad ``cname``, ``uid`` or ``clientRequest`` (not its contents)."""
    _envelope(_Checker(), _endpoint_key(endpoint), _mode_str(mode), body)


def check_acquire(body: object, *, mode: str | None = None, start_parameter: bool = True) -> None:
    """Raise for the first broken rule of an acquire body.

    ``mode``, when known, sharpens the checks of ``startParameter`` (otherwise ``scene`` hints
    at it); ``start_parameter=False`` skips it, for the emulator, whose acquire succeeds anyway.
    """
    _acquire(_Checker(), mode, body, start_parameter)


def check_start(
    mode: str, body: object, *, lenient: bool = False, recording_config_valid: bool = False
) -> None:
    """Raise for the first broken rule of a start body; ``lenient`` is the emulator's tolerance.

    ``recording_config_valid`` says the caller already found this ``recordingConfig`` valid in
    this mode (its rules read nothing else), so it is not walked again.
    """
    _start(_Checker(lenient=lenient, recording_config_valid=recording_config_valid), mode, body)


def check_update(mode: str, body: object) -> None:
    """Raise for the first broken rule of an update body."""
    _update(_Checker(), mode, body)


def check_update_layout(mode: str, body: object) -> None:
    """Raise for the first broken rule of an updateLayout body (mode must be mix)."""
    _update_layout(_Checker(), mode, body)


def check_stop(body: object, *, mode: str | None = None) -> None:
    """Raise for the first broken rule of a stop body; ``clientRequest`` may be ``{}``."""
    _stop(_Checker(), mode, body)


def find_problems(
    endpoint: str | enum.Enum, mode: str | None, body: object, *, lenient: bool = False
) -> list[ValidationError]:
    """Every broken rule of a body, in the order ``check_*`` meets them (empty when valid).

    ``endpoint`` is ``"acquire"``, ``"start"``, ``"update"``, ``"updateLayout"`` or ``"stop"``.
    A broken object hides the problems inside it.
    """
    checker = _Checker(collect=True, lenient=lenient)
    _ENDPOINTS[_endpoint_key(endpoint)](checker, mode, body)
    return checker.problems
