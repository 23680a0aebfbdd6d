"""What to do next: the one place that turns a failure's cause into a hint for people.

The library's exception messages and log lines and the CLI's one-line errors take their advice
from here, so a user reads the same words wherever a failure surfaces. A hint names settings
(environment variables, keyword arguments, options), never their values: no secret, token or
key ever reaches one. Pure: no I/O, and nothing imported from above the enums.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from .enums import RecordingStatus

__all__ = [
    "ENV_APP_ID",
    "ENV_BASE_URL",
    "ENV_CUSTOMER_ID",
    "ENV_CUSTOMER_SECRET",
    "ENV_REGION",
    "NCS_SECRET_HINT",
    "api_hint",
    "early_exit_causes",
    "exit_hint",
    "host_setting",
    "origin_of",
    "status_name",
    "transport_cause",
    "transport_message",
]

ENV_APP_ID = "AGORA_APP_ID"
ENV_CUSTOMER_ID = "AGORA_CUSTOMER_ID"
ENV_CUSTOMER_SECRET = "AGORA_CUSTOMER_SECRET"
ENV_BASE_URL = "AGORA_BASE_URL"
ENV_REGION = "AGORA_REGION"

CREDENTIALS_HINT = (
    f"check {ENV_CUSTOMER_ID} and {ENV_CUSTOMER_SECRET} (customer_id=, customer_secret=): "
    "the customer ID and secret of Agora Console's RESTful API page, for a project with "
    "Cloud Recording enabled"
)
APP_ID_HINT = (
    f"check {ENV_APP_ID} (app_id=): the App ID of your project in Agora Console, "
    "with Cloud Recording enabled"
)
NCS_SECRET_HINT = (
    "check the secret given to NotificationReceiver(hub, secret): the NCS secret of your "
    "notification configuration in Agora Console (AGORA_NCS_SECRET in the guides; the emulator "
    "signs with --notification-secret, AGORA_NOTIFICATION_SECRET); until it matches, sessions "
    "fall back to polling"
)

_STATUS_WORDS = {
    RecordingStatus.REACQUIRING: "start refused, acquiring again",
    RecordingStatus.NOT_STARTED: "not started",
    RecordingStatus.INITIALIZED: "initialized",
    RecordingStatus.COMPONENTS_STARTING: "components starting",
    RecordingStatus.PARTIAL_COMPONENTS_READY: "some components ready",
    RecordingStatus.ALL_COMPONENTS_READY: "all components ready",
    RecordingStatus.IN_PROGRESS: "in progress",
    RecordingStatus.STOP_REQUESTED: "stop requested",
    RecordingStatus.ALL_COMPONENTS_STOPPED: "all components stopped",
    RecordingStatus.EXITED: "exited",
    RecordingStatus.EXITED_ABNORMALLY: "exited abnormally",
}


def status_name(status: int) -> str:
    """``"20, exited abnormally"`` for a documented status, the number alone otherwise."""
    try:
        words = _STATUS_WORDS.get(RecordingStatus(int(status)))
    except ValueError:
        words = None
    return f"{int(status)}, {words}" if words else str(int(status))


def exit_hint(max_idle_time: int | None = None) -> str:
    """Why a recording ends on its own, for an exit seen without a notification saying why."""
    idle = f"{max_idle_time} s here" if max_idle_time is not None else "30 s by default"
    return (
        "a recording ends by itself when nobody publishes in the channel for maxIdleTime "
        f"({idle}): an empty channel, or everyone left; also when it is kicked or reaches "
        "its maximum length"
    )


def host_setting(base_url: str | None, region: object | None) -> str:
    """The setting that chose the hosts, for a hint: what to check when they fail."""
    if base_url is not None:
        return f"base_url= ({ENV_BASE_URL}, --base-url)"
    if region is not None:
        return f"region= ({ENV_REGION}, --region)"
    return (
        f"the network: no base_url= ({ENV_BASE_URL}) or region= ({ENV_REGION}) is set, so "
        "Agora's global hosts are used"
    )


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url``, the port always shown (the default one too)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and, inside exception groups (Trio's connect), their members."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending and len(seen) < 32:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(getattr(current, "exceptions", ()))
        following = current.__cause__ or current.__context__
        if following is not None:
            pending.append(following)


def transport_cause(exc: BaseException) -> str:
    """What went wrong on the wire, in words: ``connection refused``, ``host not found``..."""
    texts = []
    for error in _chain(exc):
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, socket.gaierror):
            return "host name not resolved"
        if isinstance(error, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(error, TimeoutError) or "Timeout" in type(error).__name__:
            return "timed out"
        texts.append(str(error).lower())
    text = " ".join(texts)
    if "refused" in text:
        return "connection refused"
    if any(
        word in text
        for word in ("name or service not known", "nodename nor servname", "name resolution")
    ) or ("getaddrinfo" in text):
        return "host name not resolved"
    if "ssl" in text or "certificate" in text:
        return "TLS handshake failed"
    if "reset" in text:
        return "connection reset"
    return type(exc).__name__


def transport_message(endpoint: str, url: str, exc: BaseException, setting: str) -> str:
    """The message of a `TransportError`: where, what went wrong and what to check."""
    where = origin_of(url)
    cause = transport_cause(exc)
    if cause == "connection refused":
        advice = f"nothing listens at {where} (is the server running?): check {setting}"
    elif cause == "host name not resolved":
        advice = f"the host name of {where} does not resolve: check {setting}"
    elif cause == "timed out":
        advice = f"no answer in time from {where}: check {setting}, or raise timeout="
    else:
        advice = f"check {setting}"
    name = type(exc).__name__
    detail = cause if cause == name else f"{cause} ({name})"
    return f"{endpoint} request to {where} failed: {detail}; {advice}"


def api_hint(
    status_code: int, code: int | None, reason: str | None, message: str | None
) -> str | None:
    """What to do about an error answer of the service, or ``None`` when nothing useful."""
    text = f"{reason or ''} {message or ''}".lower()
    if "appid" in text.replace(" ", "").replace("_", "") and "invalid" in text:
        return APP_ID_HINT
    if status_code == 401:
        return CREDENTIALS_HINT
    if status_code == 404:
        if code == 404:
            return "no such running recording: it has ended, or the sid or resource ID is wrong"
        return "no such endpoint: check the App ID, the mode and the base URL"
    if status_code == 429:
        return "over the request quota (10 per second per App ID): lower rate_limit="
    if status_code == 206 and code == 435:
        return "nobody published in the channel, so nothing was recorded"
    if status_code == 400 and code == 49:
        return "the recording is already stopping"
    if status_code == 400 and code == 53:
        return "a recording with this channel, uid and mode is already running"
    if status_code == 400 and code == 2:
        return "a parameter of the request is invalid (its reason names it)"
    return None


def early_exit_causes(token_source: str | None) -> str:
    """The documented reasons a task exits right after ``start``, the token's first.

    ``token_source`` says where the recorder's token came from: ``"minted"`` (by the session,
    with the App Certificate), ``"user"`` (passed in the configuration) or ``None`` (none).
    """
    token = {
        "minted": "the token minted with the App Certificate was refused (is it this project's "
        "certificate?)",
        "user": "a wrong or expired token",
    }.get(token_source or "", "no token while the project has an App Certificate")
    return (
        f"it most likely exited at once: {token}, wrong storage credentials, a uid already in "
        "the channel, a wrong channelType, or nobody publishing within maxIdleTime"
    )
