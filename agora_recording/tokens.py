"""RTC tokens in Agora's AccessToken2 format ("007"): build, parse and verify them.

A project with an App Certificate needs a token in ``clientRequest.token`` so the recorder may
join the channel. Cloud Recording cannot renew that token, so it must outlive the recording;
:func:`token_expiry_for` picks a lifetime for an expected duration::

    from agora_recording import tokens

    expiry = tokens.token_expiry_for(3 * 3600)   # a three-hour recording
    token = tokens.build_rtc_token(APP_ID, APP_CERTIFICATE, "lecture-7", 527841,
                                   token_expire=expiry.token_expire)
    tokens.parse_token(token).expires_at         # Unix seconds

The format, as Agora's open-source token tools (github.com/AgoraIO/Tools, ``DynamicKey``) write
it; every integer is little-endian and a *string* is a uint16 byte count followed by the bytes::

    token     = "007" + base64(zlib(string(signature) + content))
    content   = string(app_id) uint32(issued_at) uint32(expire) uint32(salt)
                uint16(count) service * count
    service   = uint16(type) uint16(n) (uint16(privilege) uint32(seconds)) * n, by privilege
                + fields of the type (RTC: string(channel_name) string(uid))
    key       = HMAC-SHA256(key=uint32(salt), HMAC-SHA256(key=uint32(issued_at), certificate))
    signature = HMAC-SHA256(key, content)

``expire`` and each privilege's ``seconds`` count from ``issued_at``. A numeric uid is packed
as its decimal text, and uid 0 (any user) as the empty string, so uid 2882341273 and the
account "2882341273" give the same token.

Limits enforced when building (parsing accepts whatever the format can hold):

- ``app_id`` and ``app_certificate``: 32 hexadecimal characters, as Console shows them.
- ``channel_name``: the RTC channel rule, at most 64 bytes of a-z, A-Z, 0-9, space and
  ``!#$%&()+-:;<=.>?@[]^_{}|~,``.
- ``uid``: an int in [0, 2^32-1] (0: any user), or a non-empty account of at most 255 bytes of
  the same 89 characters (Agora's "user account" rule).
- ``token_expire``: [1, 86400] seconds. The format would hold any uint32, but Agora's
  "Secure authentication with tokens" page states tokens are valid for at most 24 hours.
- ``privilege_expire``: [1, ``token_expire``]; the token's own expiry bounds every privilege.
- ``issued_at`` and ``salt``: uint32. Pass them only to reproduce a token byte for byte.

The App Certificate is only ever an argument: it is not stored, logged or put in a message.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import math
import secrets
import struct
import time
import zlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from .errors import (
    InvalidTokenError,
    TokenExpiredError,
    TokenFormatError,
    TokenLifetimeError,
    TokenSignatureError,
    ValidationError,
)
from .validation import CNAME_CHARACTERS, check_cname

__all__ = [
    "DEFAULT_EXPIRY_MARGIN",
    "MAX_TOKEN_EXPIRE",
    "VERSION",
    "InvalidTokenError",
    "ParsedToken",
    "Privilege",
    "Role",
    "ServiceGrant",
    "ServiceType",
    "TokenExpiredError",
    "TokenExpiry",
    "TokenFormatError",
    "TokenLifetimeError",
    "TokenSignatureError",
    "build_rtc_token",
    "check_token",
    "parse_token",
    "token_expiry_for",
    "verify_token",
]

VERSION: Final = "007"
"""The prefix of every AccessToken2 token."""
MAX_TOKEN_EXPIRE: Final = 24 * 3600
"""Longest token lifetime Agora documents for RTC tokens, in seconds (24 hours)."""
DEFAULT_EXPIRY_MARGIN: Final = 600
"""Seconds :func:`token_expiry_for` adds to a duration: acquire-to-start (at most 5 minutes,
the resource ID's life) plus slack for clock skew and a late stop."""

UINT32_MAX: Final = 2**32 - 1
ACCOUNT_MAX_BYTES: Final = 255
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_SIGNATURE_BYTES: Final = 32
_MAX_CONTENT_BYTES: Final = 64 * 1024  # far above any real token; refuses zlib bombs
_AGORA_SALT_MAX: Final = 99_999_999  # Agora's tools draw the salt from [1, 99999999]


class Role(enum.IntEnum):
    """What an RTC token lets its user do, in Agora's numbering."""

    PUBLISHER = 1
    """Join the channel and publish audio, video and data streams."""
    SUBSCRIBER = 2
    """Join only. Enforced only where Agora has enabled co-host authentication for the project;
    elsewhere a subscriber may publish as well."""


class ServiceType(enum.IntEnum):
    """Service types an AccessToken2 token can carry; this library builds only RTC."""

    RTC = 1
    RTM = 2
    STREAMING = 3
    FPA = 4
    CHAT = 5
    FCDN = 6
    APAAS = 7
    RTM2 = 8


class Privilege(enum.IntEnum):
    """Privileges of the RTC service."""

    JOIN_CHANNEL = 1
    PUBLISH_AUDIO_STREAM = 2
    PUBLISH_VIDEO_STREAM = 3
    PUBLISH_DATA_STREAM = 4


_ROLE_PRIVILEGES: Final[Mapping[Role, tuple[Privilege, ...]]] = MappingProxyType(
    {
        Role.PUBLISHER: (
            Privilege.JOIN_CHANNEL,
            Privilege.PUBLISH_AUDIO_STREAM,
            Privilege.PUBLISH_VIDEO_STREAM,
            Privilege.PUBLISH_DATA_STREAM,
        ),
        Role.SUBSCRIBER: (Privilege.JOIN_CHANNEL,),
    }
)


@attrs.frozen(kw_only=True)
class ServiceGrant:
    """One service in a token and its privileges.

    ``privileges`` maps a privilege (a :class:`Privilege` for RTC) to its lifetime in seconds
    from the token's ``issued_at``. ``channel_name`` is set for the channel services (RTC,
    streaming, FCDN); ``user`` is the uid or account as packed, where ``""`` means any user
    (RTC, RTM, streaming, chat, FCDN, APaaS, RTM2). Other service fields are not kept.
    """

    type: int
    privileges: Mapping[int, int]
    channel_name: str | None = None
    user: str | None = None


@attrs.frozen(kw_only=True)
class ParsedToken:
    """The readable content of an AccessToken2 token; parsing does not check the signature.

    ``issued_at`` is Unix seconds, ``expire`` seconds from it. ``services`` keeps the token's
    order; a type may repeat. Parsing stops at the first service type whose layout is unknown:
    ``unparsed_services`` counts the services left unread from there.
    """

    app_id: str
    issued_at: int
    expire: int
    salt: int
    services: tuple[ServiceGrant, ...]
    unparsed_services: int = 0
    signature: bytes = attrs.field(repr=False)

    @property
    def expires_at(self) -> int:
        """Unix seconds at which the whole token stops being valid."""
        return self.issued_at + self.expire

    @property
    def rtc(self) -> ServiceGrant | None:
        """The first RTC service, the one :meth:`grants_join` and :func:`check_token` judge."""
        for grant in self.services:
            if grant.type == ServiceType.RTC:
                return grant
        return None

    def privilege_expires_at(self, privilege: Privilege) -> int | None:
        """Unix seconds at which an RTC privilege expires, or None when the token lacks it."""
        grant = self.rtc
        if grant is None or privilege not in grant.privileges:
            return None
        return self.issued_at + grant.privileges[privilege]

    def grants_join(self, channel_name: str, uid: int | str) -> bool:
        """Whether the RTC service lets ``uid`` join ``channel_name`` (expiry not considered)."""
        grant = self.rtc
        if grant is None or Privilege.JOIN_CHANNEL not in grant.privileges:
            return False
        wanted = "" if uid == 0 else _uid_text(uid)
        return grant.channel_name == channel_name and grant.user in ("", wanted)


@attrs.frozen(kw_only=True)
class TokenExpiry:
    """A token lifetime chosen for a recording of ``duration_seconds``.

    ``token_expire`` goes to :func:`build_rtc_token`; ``covers`` says whether the recording
    ends, margin included, before the token does.
    """

    duration_seconds: float
    margin: int
    token_expire: int
    covers: bool


# --- building -------------------------------------------------------------------------------


def build_rtc_token(
    app_id: str,
    app_certificate: str,
    channel_name: str,
    uid: int | str,
    *,
    role: Role = Role.PUBLISHER,
    token_expire: int = MAX_TOKEN_EXPIRE,
    privilege_expire: int | None = None,
    issued_at: int | None = None,
    salt: int | None = None,
) -> str:
    """An AccessToken2 RTC token letting ``uid`` join ``channel_name`` (and publish, by role).

    ``uid`` is an int (0: any user) or a string user account. ``token_expire`` and
    ``privilege_expire`` (default: ``token_expire``) are seconds from ``issued_at``, which
    defaults to now; ``salt`` defaults to a random number. Raises ``ValidationError``.
    """
    _check_hex32(app_id, "app_id")
    _check_hex32(app_certificate, "app_certificate")
    check_cname(channel_name, "individual", "channel_name")
    user = _packed_uid(uid)
    role = _role(role)
    _check_int(token_expire, "token_expire", 1, MAX_TOKEN_EXPIRE)
    if privilege_expire is None:
        privilege_expire = token_expire
    _check_int(privilege_expire, "privilege_expire", 1, token_expire)
    if issued_at is None:
        issued_at = int(time.time())
    _check_int(issued_at, "issued_at", 0, UINT32_MAX)
    if salt is None:
        salt = secrets.randbelow(_AGORA_SALT_MAX) + 1
    _check_int(salt, "salt", 0, UINT32_MAX)

    rtc = (
        _u16(ServiceType.RTC)
        + _privilege_map(dict.fromkeys(_ROLE_PRIVILEGES[role], privilege_expire))
        + _string(channel_name.encode())
        + _string(user)
    )
    content = (
        _string(app_id.encode()) + _u32(issued_at) + _u32(token_expire) + _u32(salt) + _u16(1) + rtc
    )
    signature = _sign(app_certificate, issued_at, salt, content)
    packed = zlib.compress(_string(signature) + content)
    return VERSION + base64.b64encode(packed).decode("ascii")


def token_expiry_for(
    duration_seconds: float, *, margin: int = DEFAULT_EXPIRY_MARGIN, strict: bool = True
) -> TokenExpiry:
    """The ``token_expire`` that covers a recording of ``duration_seconds`` plus ``margin``.

    The recorder is removed from the channel when its token expires and Cloud Recording cannot
    renew it, so the token must outlive the recording. When ``duration_seconds + margin`` is
    over 24 hours no token can: ``strict`` raises :class:`TokenLifetimeError`, otherwise the
    answer has ``covers=False`` and the longest lifetime, and the caller must stop in time.
    """
    if (
        isinstance(duration_seconds, bool)
        or not isinstance(duration_seconds, (int, float))
        or not math.isfinite(duration_seconds)
        or duration_seconds < 0
    ):
        raise ValidationError("duration_seconds", "must be a finite number of seconds >= 0")
    _check_int(margin, "margin", 0, MAX_TOKEN_EXPIRE - 1)
    needed = math.ceil(duration_seconds) + margin
    covers = needed <= MAX_TOKEN_EXPIRE
    if not covers and strict:
        raise TokenLifetimeError(
            duration_seconds, MAX_TOKEN_EXPIRE - margin, margin, lifetime=MAX_TOKEN_EXPIRE
        )
    return TokenExpiry(
        duration_seconds=duration_seconds,
        margin=margin,
        token_expire=max(1, min(needed, MAX_TOKEN_EXPIRE)),
        covers=covers,
    )


# --- parsing and verifying ------------------------------------------------------------------


def parse_token(token: str) -> ParsedToken:
    """Decode an AccessToken2 token without checking its signature.

    Raises :class:`TokenFormatError` naming what is wrong. Use :func:`check_token` or
    :func:`verify_token` before trusting what it says.
    """
    return _decode(token)[0]


def check_token(token: str, app_certificate: str, *, now: float | None = None) -> ParsedToken:
    """Parse ``token`` and check its signature, and its expiry when ``now`` (Unix s) is given.

    Raises :class:`TokenFormatError`, :class:`TokenSignatureError` or
    :class:`TokenExpiredError` (all :class:`InvalidTokenError`, a ``ValueError``); a malformed
    certificate is a ``ValidationError``. The join privilege counts as the RTC expiry.
    """
    _check_hex32(app_certificate, "app_certificate")
    parsed, content = _decode(token)
    expected = _sign(app_certificate, parsed.issued_at, parsed.salt, content)
    if not hmac.compare_digest(expected, parsed.signature):
        raise TokenSignatureError("token signature does not match the App Certificate")
    if now is not None:
        if now >= parsed.expires_at:
            raise TokenExpiredError(f"token expired at {parsed.expires_at}")
        join = parsed.privilege_expires_at(Privilege.JOIN_CHANNEL)
        if join is not None and now >= join:
            raise TokenExpiredError(f"token's join-channel privilege expired at {join}")
    return parsed


def verify_token(token: str, app_certificate: str) -> bool:
    """Whether ``token`` is a well-formed AccessToken2 token signed with ``app_certificate``.

    Expiry is not checked; :func:`check_token` does that and says why a token fails.
    """
    try:
        check_token(token, app_certificate)
    except InvalidTokenError:
        return False
    return True


def _decode(token: str) -> tuple[ParsedToken, bytes]:
    """The parsed token and the signed content bytes."""
    if not isinstance(token, str):
        raise TokenFormatError(f"token must be a str, got {type(token).__name__}")
    if not token.startswith(VERSION):
        raise TokenFormatError(f'token does not start with the version prefix "{VERSION}"')
    try:
        packed = base64.b64decode(token[len(VERSION) :], validate=True)
    except (binascii.Error, ValueError):
        raise TokenFormatError("token is not valid base64 after its prefix") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, _MAX_CONTENT_BYTES)
    except zlib.error:
        raise TokenFormatError("token is not a valid zlib stream") from None
    if inflater.unconsumed_tail:
        raise TokenFormatError(f"token decompresses to over {_MAX_CONTENT_BYTES} bytes")
    if not inflater.eof:
        raise TokenFormatError("token is truncated: its zlib stream is incomplete")
    if inflater.unused_data:
        raise TokenFormatError("token has trailing data after its zlib stream")

    reader = _Reader(raw)
    signature = reader.string("signature")
    if len(signature) != _SIGNATURE_BYTES:
        raise TokenFormatError(
            f"token signature is {len(signature)} bytes, expected {_SIGNATURE_BYTES}"
        )
    content = raw[reader.offset :]
    app_id = reader.text("app_id")
    issued_at = reader.u32("issued_at")
    expire = reader.u32("expire")
    salt = reader.u32("salt")
    count = reader.u16("service count")
    services: list[ServiceGrant] = []
    while len(services) < count:
        service_type = reader.u16("service type")
        if service_type not in _LAYOUTS:
            break  # its fields, and so every later service, cannot be located
        services.append(reader.service(service_type))
    else:
        if not reader.at_end:
            raise TokenFormatError(
                f"token has {reader.remaining} unexpected bytes after its services"
            )
    parsed = ParsedToken(
        app_id=app_id,
        issued_at=issued_at,
        expire=expire,
        salt=salt,
        services=tuple(services),
        unparsed_services=count - len(services),
        signature=signature,
    )
    return parsed, content


# What follows the privilege map, per service type: "c" channel name, "u" user, "s" another
# string, "h" an int16, "p" RTM2's resource permissions.
_LAYOUTS: Final[Mapping[int, str]] = MappingProxyType(
    {
        ServiceType.RTC: "cu",
        ServiceType.RTM: "u",
        ServiceType.STREAMING: "cu",
        ServiceType.FPA: "",
        ServiceType.CHAT: "u",
        ServiceType.FCDN: "cu",
        ServiceType.APAAS: "suh",
        ServiceType.RTM2: "up",
    }
)


class _Reader:
    """Reads little-endian fields off the decompressed token, naming what a short read lacks."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.offset = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self.offset

    @property
    def at_end(self) -> bool:
        return self.offset == len(self._data)

    def take(self, size: int, what: str) -> bytes:
        if size > self.remaining:
            raise TokenFormatError(
                f"token is truncated: {what} needs {size} bytes at offset {self.offset},"
                f" {self.remaining} left"
            )
        chunk = self._data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def u16(self, what: str) -> int:
        value: int = struct.unpack("<H", self.take(2, what))[0]
        return value

    def i16(self, what: str) -> int:
        value: int = struct.unpack("<h", self.take(2, what))[0]
        return value

    def u32(self, what: str) -> int:
        value: int = struct.unpack("<I", self.take(4, what))[0]
        return value

    def string(self, what: str) -> bytes:
        return self.take(self.u16(f"{what} length"), what)

    def text(self, what: str) -> str:
        try:
            return self.string(what).decode("utf-8")
        except UnicodeDecodeError:
            raise TokenFormatError(f"token {what} is not UTF-8") from None

    def service(self, service_type: int) -> ServiceGrant:
        kind = ServiceType(service_type)
        name = kind.name
        privileges: dict[int, int] = {}
        for _ in range(self.u16(f"{name} privilege count")):
            key = self.u16(f"{name} privilege")
            privileges[
                Privilege(key) if kind is ServiceType.RTC and key in _PRIVILEGES else key
            ] = self.u32(f"{name} privilege expiry")
        channel_name = user = None
        for field in _LAYOUTS[service_type]:
            if field == "c":
                channel_name = self.text(f"{name} channel name")
            elif field == "u":
                user = self.text(f"{name} user")
            elif field == "s":
                self.string(f"{name} field")
            elif field == "h":
                self.i16(f"{name} field")
            else:
                self._skip_permissions(name)
        return ServiceGrant(
            type=kind,
            privileges=MappingProxyType(privileges),
            channel_name=channel_name,
            user=user,
        )

    def _skip_permissions(self, name: str) -> None:
        """RTM2's resource permissions: types, each with permissions, each with strings."""
        for _ in range(self.u16(f"{name} resource type count")):
            self.u16(f"{name} resource type")
            for _ in range(self.u16(f"{name} permission count")):
                self.u16(f"{name} permission")
                for _ in range(self.u16(f"{name} resource count")):
                    self.string(f"{name} resource")


_PRIVILEGES: Final = frozenset(p.value for p in Privilege)


# --- packing and checks ---------------------------------------------------------------------


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _string(value: bytes) -> bytes:
    return _u16(len(value)) + value


def _privilege_map(privileges: Mapping[Privilege, int]) -> bytes:
    return _u16(len(privileges)) + b"".join(
        _u16(key) + _u32(privileges[key]) for key in sorted(privileges)
    )


def _sign(app_certificate: str, issued_at: int, salt: int, content: bytes) -> bytes:
    """HMAC-SHA256 of ``content`` under the key derived from the certificate, time and salt."""
    key = hmac.digest(_u32(issued_at), app_certificate.encode("ascii"), hashlib.sha256)
    key = hmac.digest(_u32(salt), key, hashlib.sha256)
    return hmac.digest(key, content, hashlib.sha256)


def _check_hex32(value: object, field: str) -> None:
    """Refuse anything but 32 hex characters; the value itself is never echoed."""
    if not isinstance(value, str):
        raise ValidationError(
            field, f"must be a str of 32 hex characters, got {type(value).__name__}"
        )
    if len(value) != 32 or not _HEX_DIGITS.issuperset(value):
        raise ValidationError(
            field, f"must be 32 hex characters (0-9, a-f), got {len(value)} characters"
        )


def _check_int(value: object, field: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = value if isinstance(value, int) else type(value).__name__
        raise ValidationError(field, f"must be an int in [{low}, {high}], got {shown}")


def _packed_uid(uid: object) -> bytes:
    """The uid as the token stores it: decimal text, ``b""`` for 0, or the account's UTF-8."""
    if isinstance(uid, int) and not isinstance(uid, bool):
        _check_int(uid, "uid", 0, UINT32_MAX)
        return b"" if uid == 0 else _uid_text(uid).encode()
    if not isinstance(uid, str):
        raise ValidationError("uid", f"must be an int or a str account, got {type(uid).__name__}")
    rule = (
        f"an account must be 1 to {ACCOUNT_MAX_BYTES} bytes of a-z, A-Z, 0-9, space and"
        ' "!#$%&()+-:;<=.>?@[]^_{}|~,"'
    )
    data = uid.encode("utf-8", "surrogatepass")
    if not uid or len(data) > ACCOUNT_MAX_BYTES:
        raise ValidationError("uid", f"{rule}, got {len(data)} bytes (use uid 0 for any user)")
    for index, char in enumerate(uid):
        if char not in CNAME_CHARACTERS:
            raise ValidationError("uid", f"{rule}, got {char!r} at index {index}")
    return data


def _role(role: object) -> Role:
    if isinstance(role, int) and not isinstance(role, bool) and role in _ROLE_PRIVILEGES:
        return Role(role)
    raise ValidationError("role", f"must be Role.PUBLISHER or Role.SUBSCRIBER, got {role!r}")


def _uid_text(uid: int | str) -> str:
    """Decimal text of an int uid (an IntEnum too, on every Python), or the account itself."""
    return uid if isinstance(uid, str) else int.__repr__(int(uid))
