"""How the emulated service judges the credentials a recording runs on.

**The recorder's token.** With an App Certificate configured, the service lets the recorder
join only with a valid ``clientRequest.token``. It checks the token when the recorder joins,
after ``start`` answered 200, so a bad token is not a ``start`` error: the task exits moments
later (then ``query`` answers 404) and NCS event 1 (``cloud_recording_error``) carries the
classic error code 110 (token invalid: missing, malformed, wrong signature, App ID, channel or
uid) or 109 (token expired). A valid token still ends the recording when its join privilege
expires, since Cloud Recording cannot renew it.

**Storage STS credentials.** With ``stsToken``/``stsExpiration`` the upload to third-party
storage works until the expiry unless ``update`` pushed new ones; then the uploader reports
NCS event 1 with uploader error 47 (upload failed) and warning 32 (re-upload to Agora's backup),
and ``stop`` answers ``uploadingStatus: "backuped"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from agora_recording import tokens
from agora_recording.errors import ValidationError

__all__ = [
    "TOKEN_CHECK_DELAY",
    "TOKEN_EXPIRED",
    "TOKEN_INVALID",
    "TokenVerdict",
    "check_certificate",
    "judge_token",
    "sts_expiry",
]

TOKEN_INVALID: Final = 110
"""Classic Cloud Recording error code: RTC token invalid."""
TOKEN_EXPIRED: Final = 109
"""Classic Cloud Recording error code: RTC token expired."""
TOKEN_CHECK_DELAY: Final = 2.0
"""Seconds after ``start`` at which the recorder joins the channel and its token is judged."""
_HEX: Final = frozenset("0123456789abcdefABCDEF")


@attrs.frozen
class TokenVerdict:
    """What becomes of a recorder's token: an error ``code`` at ``at`` (Unix s), and why."""

    code: int
    at: float
    message: str


def check_certificate(app_certificate: str | None) -> str | None:
    """The emulator's App Certificate option, refused unless 32 hexadecimal characters."""
    if app_certificate is None:
        return None
    if (
        not isinstance(app_certificate, str)
        or len(app_certificate) != 32
        or not set(app_certificate) <= _HEX
    ):
        raise ValidationError("app_certificate", "must be 32 hexadecimal characters")
    return app_certificate


def judge_token(
    request: Mapping[str, Any],
    *,
    app_id: str,
    app_certificate: str,
    cname: str,
    uid: str,
    now: float,
) -> TokenVerdict:
    """The exit a recorder with this start ``clientRequest`` heads for because of its token.

    A bad token ends it :data:`TOKEN_CHECK_DELAY` seconds after ``now``; a good one when its
    join privilege (or the token) expires, with code 109.
    """
    join_at = now + TOKEN_CHECK_DELAY
    token = request.get("token")
    if not isinstance(token, str) or not token:
        return TokenVerdict(
            TOKEN_INVALID,
            join_at,
            "RTC token invalid: missing, and the project has an App Certificate",
        )
    try:
        parsed = tokens.check_token(token, app_certificate)
    except tokens.TokenSignatureError:
        return TokenVerdict(
            TOKEN_INVALID,
            join_at,
            "RTC token invalid: its signature does not match the App Certificate",
        )
    except tokens.InvalidTokenError:
        return TokenVerdict(TOKEN_INVALID, join_at, "RTC token invalid: malformed")
    if parsed.app_id != app_id:
        return TokenVerdict(TOKEN_INVALID, join_at, "RTC token invalid: issued for another App ID")
    grant = parsed.rtc
    if grant is None or grant.channel_name != cname:
        return TokenVerdict(TOKEN_INVALID, join_at, "RTC token invalid: issued for another channel")
    if not parsed.grants_join(cname, uid):
        return TokenVerdict(TOKEN_INVALID, join_at, "RTC token invalid: issued for another uid")
    expires = float(parsed.expires_at)
    join = parsed.privilege_expires_at(tokens.Privilege.JOIN_CHANNEL)
    if join is not None:
        expires = min(expires, float(join))
    if expires <= join_at:
        return TokenVerdict(TOKEN_EXPIRED, join_at, "RTC token expired")
    return TokenVerdict(TOKEN_EXPIRED, expires, "RTC token expired")


def sts_expiry(storage: object) -> float | None:
    """``stsExpiration`` of a ``storageConfig`` that uses an STS token, else None (keys that
    do not expire)."""
    if not isinstance(storage, Mapping) or not storage.get("stsToken"):
        return None
    expiration = storage.get("stsExpiration")
    if isinstance(expiration, (int, float)) and not isinstance(expiration, bool):
        return float(expiration)
    return None
