"""The Cloud Recording protocol without I/O: build requests, decode responses, classify errors.

Nothing here awaits or touches the network, so every rule is tested on plain bytes. `build_request`
turns typed arguments into a `RequestSpec` (method, path, JSON body), validating the wire body
first so bad input fails before anything is sent. `parse_response` turns a status, headers and
body into the endpoint's response model, or raises the matching `APIError` subclass: it is the one
place that reads Agora's classification (HTTP status *and* body ``code``)::

    200                       -> the response model (start must carry a sid)
    201 + code 7              -> AlreadyStartedError (never a success without a sid)
    206 + code 65             -> RequestNotCompletedError (retried)
    206 + code 435            -> NoRecordedDataError
    206 stop, no code         -> StopResponse: stopped, the upload not over or partly in
                                 Agora's backup cloud (``uploadingStatus: "backuped"``)
    400                       -> BadRequestError (codes 2, 49, 53, 400, 401, 405, 406,
                                 and the gateway's "appid is invalid")
    401                       -> AuthenticationError
    404                       -> NotFoundError (unknown route, or "failed to find worker")
    429                       -> RateLimitError (retry_after from Retry-After)
    5xx                       -> ServerError (codes 15, 62, 500, 501, 502, 504)
    anything else             -> APIError
    other 2xx                 -> the response model, unless the body holds an error ``code``
    2xx we cannot read        -> UnexpectedResponseError (see below)

Bodies are read defensively, because whatever answers (the service, a proxy, a captive portal,
a wrong base URL) is not trusted to send what the docs promise:

- a body over `MAX_BODY_BYTES` (8 MiB) is not parsed. An individual-mode ``query`` or
  ``stop`` lists every file of every user, about 150 bytes each, so 8 MiB is room for some
  fifty thousand files, far beyond a real recording, while still bounding what one answer costs;
- a body nesting arrays and objects deeper than `MAX_DEPTH` (64) levels is not parsed. The
  documented answers nest at most 7 levels. The depth is measured on the raw bytes before
  decoding (the decoder recurses in C, and a deep enough body can crash a thread with a small
  stack), for the price of one `bytes.translate` pass over the body, plus a pass over its
  quotes when it holds more than 64 opening brackets; ``RecursionError`` is caught as well;
- the body must be UTF-8 JSON (``NaN`` and ``Infinity`` are not JSON) holding an object, and
  every value must have its documented type (see `agora_recording._converter` for the rules:
  ``status: true``, ``5.5`` or ``10**30`` are refused, ``"5"`` is 5, an unknown integer stays);
- the answers that create or end something must say what: ``resourceId`` for acquire, ``sid``
  for start, and ``resourceId`` or ``sid`` for stop (every documented stop answer echoes both).
  A stop answer is what confirms a recording ended, so a body that names no recording cannot
  confirm anything. Query, update and updateLayout answers are read with every field optional,
  as the docs ask: a poll is an observation, taken again at the next poll.

A 2xx that fails any of these raises `UnexpectedResponseError` with the HTTP ``status_code``,
the ``request_id`` (``X-Request-ID``), a short ``excerpt`` of the body with credential-like values
masked, ``field`` (the wire path of a value of the wrong type) and ``body`` (the first 64 KiB).
Something answered with success but did not say what happened, so the outcome is unknown: a stop
may or may not have been applied. For an error status the status decides the class as above; a
body that cannot be read only leaves ``code`` and ``reason`` unset. Every exception keeps at
most the first 64 KiB of a body, and the first 500 characters of a ``reason`` or ``message``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote

import attrs

from . import validation
from ._converter import converter
from ._headers import header
from .enums import CombinationPolicy, Mode, Scene
from .errors import (
    AgoraError,
    AlreadyStartedError,
    APIError,
    ArgumentTypeError,
    AuthenticationError,
    BadRequestError,
    NoRecordedDataError,
    NotFoundError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from .models import (
    AcquireConfig,
    AcquireResponse,
    NcsIpResponse,
    QueryResponse,
    RecordingHandle,
    StartConfig,
    StartResponse,
    StopConfig,
    StopResponse,
    UpdateConfig,
    UpdateLayoutConfig,
    UpdateResponse,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "RESOURCE_LIFETIME",
    "RETRYABLE",
    "Endpoint",
    "RequestSpec",
    "build_request",
    "is_retryable",
    "parse_mode",
    "parse_response",
    "parse_retry_after",
    "required_scene",
]

T = TypeVar("T")

RESOURCE_LIFETIME = 300.0
"""Seconds a resource ID from ``acquire`` stays usable for ``start`` ("Acquire a resource ID",
Agora's Cloud Recording RESTful API reference: the ID is valid for five minutes)."""

_PREFIX = "/v1/apps/{appid}/cloud_recording"
_SESSION = _PREFIX + "/resourceid/{resourceid}/sid/{sid}/mode/{mode}"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Builds, validates and encodes one endpoint's body: (mode, cname, uid, config, async_stop).
_BodyBuilder = Callable[[Mode | None, object, object, object, "bool | None"], bytes]


@attrs.frozen
class Endpoint(Generic[T]):
    """One REST endpoint: its wire name, HTTP method, path template and response model.

    The six recording endpoints are class attributes (``Endpoint.START``...), and `Endpoint.ALL`
    lists them; ``Endpoint.NCS_IP`` (``GET /v1/ncs/ip``, the addresses notifications come from)
    concerns no recording and is not in ``ALL``.
    The type parameter is the response model, so ``parse_response(Endpoint.QUERY, ...)`` is typed
    ``QueryResponse``. Each endpoint carries what `build_request` needs of it: the IDs its path
    names, and for a POST its ``body`` builder (model, validator, encoding), so adding an
    endpoint is one entry of the table below the builders.
    """

    name: str
    method: str
    path_template: str
    response_type: type[T] = attrs.field(repr=False)
    #: How the body is built and validated (see `build_request`); ``None`` for a GET.
    body: _BodyBuilder | None = attrs.field(default=None, repr=False, eq=False)
    #: The IDs the path names (``"resourceid"``, ``"sid"``, ``"mode"``), read from the template.
    ids: frozenset[str] = attrs.field(init=False, repr=False, eq=False)

    @ids.default
    def _ids_in_path(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.path_template)) - {"appid"}

    ACQUIRE: ClassVar[Endpoint[AcquireResponse]]
    START: ClassVar[Endpoint[StartResponse]]
    QUERY: ClassVar[Endpoint[QueryResponse]]
    UPDATE: ClassVar[Endpoint[UpdateResponse]]
    UPDATE_LAYOUT: ClassVar[Endpoint[UpdateResponse]]
    STOP: ClassVar[Endpoint[StopResponse]]
    NCS_IP: ClassVar[Endpoint[NcsIpResponse]]
    ALL: ClassVar[tuple[Endpoint[Any], ...]]

    @property
    def has_body(self) -> bool:
        """Whether requests to this endpoint carry a JSON body (every POST does)."""
        return self.method == "POST"

    def path(
        self,
        app_id: str,
        *,
        resource_id: str | None = None,
        sid: str | None = None,
        mode: Mode | None = None,
    ) -> str:
        """Fill the path template; each parameter is percent-encoded as one path segment."""
        values = {
            "appid": app_id,
            "resourceid": resource_id,
            "sid": sid,
            "mode": mode.value if mode is not None else None,
        }
        return self.path_template.format_map(
            {key: _segment(value) for key, value in values.items() if value is not None}
        )


# What ``quote(value, safe="")`` leaves as it is (RFC 3986 unreserved characters); IDs are made of
# these, so the per-character quoting of a 280-character resource ID is skipped on every call.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _segment(value: str) -> str:
    """``value`` percent-encoded as one path segment."""
    if _UNRESERVED.fullmatch(value) is not None:
        return value
    return quote(value, safe="")


@attrs.frozen
class RequestSpec:
    """What to send: method, path (below the base URL) and the JSON body bytes (``None`` for GET).

    The body is kept out of ``repr`` because a start body holds storage keys and tokens.
    """

    endpoint: Endpoint[Any]
    method: str
    path: str
    body: bytes | None = attrs.field(default=None, repr=False)


# --------------------------------------------------------------------------------------------
# Building requests


def _text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "must be a non-empty string")
    if not value.isascii():  # IDs are ASCII; anything else must at least encode for the URL
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(field, "must be valid Unicode text") from None
    return value


def _uid(value: object) -> str:
    """Accept an int or a decimal string; the range is checked by `validation`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValidationError("uid", "must be an integer or a decimal string in 1..4294967295")


def parse_mode(value: object) -> Mode:
    """Turn ``"mix"`` or ``Mode.MIX`` into a `Mode`; anything else is a `ValidationError`."""
    if isinstance(value, Mode):
        return value
    if isinstance(value, str):
        try:
            return Mode(value)
        except ValueError:
            pass
    raise ValidationError("mode", "must be one of " + ", ".join(m.value for m in Mode))


def required_scene(mode: Mode, config: StartConfig | None) -> Scene | None:
    """The acquire ``scene`` that ``start`` in ``mode`` with ``config`` needs, or ``None``.

    1 for web recording; 2 for legacy individual recording with postponed transcoding
    (``appsCollection.combinationPolicy = "postpone_transcoding"``); ``None`` when the service
    default (0) fits, and always in raw mode, where ``scene`` no longer takes effect (Agora's
    "Individual recording migration guide" recommends leaving it out). Shared by the session's
    acquire and the CLI's.
    """
    if mode is Mode.WEB:
        return Scene.WEB
    apps = config.apps_collection if config is not None else None
    if (
        mode is Mode.INDIVIDUAL
        and apps is not None
        and apps.combination_policy == CombinationPolicy.POSTPONE_TRANSCODING
    ):
        return Scene.POSTPONED
    return None


def _client_request(config: object, expected: type[Any], *, optional: bool = False) -> Any:
    if config is None and optional:
        return {}
    if not isinstance(config, expected):
        wanted = f"{expected.__name__} or None" if optional else expected.__name__
        raise ArgumentTypeError(f"config must be a {wanted}, not {type(config).__name__}")
    return converter.unstructure(config)


# One encoder for every request: ``json.dumps`` with these options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_dumps: Callable[[Any], str] = _ENCODER.encode


def _not_finite() -> ValidationError:
    return ValidationError(
        "clientRequest", "numbers must be finite (NaN and infinity are not JSON)"
    )


def _encode(body: Mapping[str, Any]) -> bytes:
    try:
        text = _dumps(body)
    except ValueError:
        raise _not_finite() from None
    return text.encode("utf-8")


class _ValidStarts:
    """The start ``clientRequest`` texts already found valid, per mode: a bounded memo.

    Validation is a pure function of the mode and the JSON text, and a start configuration is
    usually shared by many recordings (and re-sent by retries), so its full walk (the 17
    regions of a mix layout...) runs once; ``cname`` and ``uid`` are checked on every call.
    """

    _SIZE = 256

    def __init__(self) -> None:
        self._seen: dict[tuple[Mode, bytes], None] = {}
        # The last ``recordingConfig`` encoded: its model (weakly), its wire dict and its text.
        self._recording: tuple[weakref.ref[Any], dict[str, Any], str] | None = None

    def __contains__(self, key: tuple[Mode, bytes]) -> bool:
        return key in self._seen

    def add(self, key: tuple[Mode, bytes]) -> None:
        if len(self._seen) >= self._SIZE:
            self._seen.clear()
        self._seen[key] = None

    def recording_text(self, model: object, wire: object) -> str | None:
        """The JSON text of ``wire`` (the ``recordingConfig`` of ``model``) when the last start
        encoded this very model and it still gives the same wire dict, else ``None``.

        A fleet's start configurations are one template evolved per channel (token, file
        prefix), so they share one ``recordingConfig`` object: its text (the 17 layout regions
        of a mix start, most of the encoding work) is reused instead of encoded per channel.
        The wire dicts are compared as well, so a model that changed cannot reuse a stale text.
        """
        last = self._recording
        if last is not None and last[0]() is model and last[1] == wire:
            return last[2]
        return None

    def encoded_recording(self, model: object, wire: object, text: str) -> None:
        """Remember ``text``, the JSON of ``wire``, the ``recordingConfig`` of ``model``; never
        one holding a decryption ``secret`` or ``salt`` (texts with secrets are not kept)."""
        if type(wire) is not dict or "secret" in wire or "salt" in wire:
            return
        try:
            ref = weakref.ref(model)
        except TypeError:  # not a model (a raw dict): nothing to tie the text to
            return
        self._recording = (ref, wire, text)


_valid_starts = _ValidStarts()


def _encode_request(request: Any, recording: str | None = None) -> tuple[str, str | None]:
    """The ``clientRequest`` text (the bytes ``_dumps`` gives) and its ``recordingConfig`` text.

    An object is encoded key by key and joined, so the ``recordingConfig`` text comes for free;
    ``recording``, when given, is that text already known (`_ValidStarts.recording_text`).
    """
    if not isinstance(request, dict) or not all(isinstance(key, str) for key in request):
        return _dumps(request), None
    parts = [
        (key, recording if recording is not None and key == "recordingConfig" else _dumps(value))
        for key, value in request.items()
    ]
    text = "{" + ",".join(f"{_key(key)}:{part}" for key, part in parts) + "}"
    return text, next((part for key, part in parts if key == "recordingConfig"), None)


def _key(key: str) -> str:
    """A wire key as JSON: letters and digits need no escaping (and no encoder call)."""
    return f'"{key}"' if key.isascii() and key.isalnum() else _dumps(key)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _checked_start(mode: Mode, body: dict[str, Any], model: object = None) -> bytes:
    """Validate and encode a start body, the ``clientRequest`` only when not seen valid before.

    A fleet's start bodies differ per channel (token, file prefix) and share the rest: a
    ``recordingConfig`` (the layout's regions and the subscriptions, most of the validation
    work) already found valid for this mode is not walked again. Its rules read nothing
    outside it but the mode, so the result is the same. The bytes are those of `_encode` (the
    envelope's three keys in order, then the request). ``model`` is the `StartConfig` the body
    was made of: its ``recordingConfig`` text is reused when the last start encoded it.
    """
    request_wire = body["clientRequest"]
    recording_model = getattr(model, "recording_config", None)
    recording_wire = request_wire.get("recordingConfig") if recording_model is not None else None
    known_text = None
    if recording_wire is not None:
        known_text = _valid_starts.recording_text(recording_model, recording_wire)
    try:
        request, recording = _encode_request(request_wire, known_text)
    except ValueError:
        validation.check_start(mode.value, body)  # a rule broken elsewhere is reported first
        raise _not_finite() from None
    # Keyed by a digest, never the text: a start request holds storage keys and tokens (the
    # one text kept, the last recordingConfig's, is one without a decryption secret).
    key = (mode, _digest(request))
    if key in _valid_starts:
        validation.check_envelope(Endpoint.START.name, mode.value, body)
    else:
        part = None if recording is None else (mode, b"recordingConfig:" + _digest(recording))
        known = part is not None and part in _valid_starts
        validation.check_start(mode.value, body, recording_config_valid=known)
        _valid_starts.add(key)
        if part is not None:
            _valid_starts.add(part)
    if known_text is None and recording is not None:
        _valid_starts.encoded_recording(recording_model, recording_wire, recording)
    text = (
        f'{{"cname":{_dumps(body["cname"])},"uid":{_dumps(body["uid"])},"clientRequest":{request}}}'
    )
    return text.encode("utf-8")


def build_request(
    endpoint: Endpoint[Any],
    app_id: str,
    *,
    cname: str | None = None,
    uid: int | str | None = None,
    resource_id: str | None = None,
    sid: str | None = None,
    mode: Mode | str | None = None,
    handle: RecordingHandle | None = None,
    config: object = None,
    async_stop: bool | None = None,
) -> RequestSpec:
    """Build and validate the request for ``endpoint``; raises `ValidationError` on bad input.

    Identify the recording either with ``handle`` or with ``resource_id``/``sid``/``mode`` and
    ``cname``/``uid``. ``config`` is the endpoint's ``clientRequest`` model: `AcquireConfig` (or
    ``None``, sent as ``{}``), `StartConfig`, `UpdateConfig`, `UpdateLayoutConfig` (mix only), or
    for stop an optional `StopConfig`. Stop always sends ``async_stop`` explicitly (``false``
    unless asked), so the request says which behaviour it expects whatever the service default.

    Nothing here names an endpoint: the IDs checked are those its path names, and its body is
    built and validated by its own ``Endpoint.body`` (the table at the end of this section).
    """
    if handle is not None:
        if any(value is not None for value in (cname, uid, resource_id, sid, mode)):
            raise ArgumentTypeError(
                "pass either handle or cname/uid/resource_id/sid/mode, not both"
            )
        cname, uid, resource_id, sid, mode = (
            handle.cname,
            handle.uid,
            handle.resource_id,
            handle.sid,
            handle.mode,
        )
    app = _text("appid", app_id)
    ids = endpoint.ids
    rid = _text("resourceId", resource_id) if "resourceid" in ids else None
    wire_mode = parse_mode(mode) if "mode" in ids else None
    sid_text = _text("sid", sid) if "sid" in ids else None
    path = endpoint.path(app, resource_id=rid, sid=sid_text, mode=wire_mode)
    build = endpoint.body
    if build is None:
        if endpoint.has_body:
            raise ArgumentTypeError(f"unknown endpoint {endpoint!r}")
        return RequestSpec(endpoint, endpoint.method, path, None)
    return RequestSpec(
        endpoint, endpoint.method, path, build(wire_mode, cname, uid, config, async_stop)
    )


# Each endpoint's body: its ``clientRequest`` model put in the envelope, validated, encoded.
# Called by `build_request` with the endpoint's mode (``None`` when its path names none).


def _acquire_body(
    mode: Mode | None, cname: object, uid: object, config: object, async_stop: bool | None
) -> bytes:
    body = _envelope(cname, uid, _client_request(config, AcquireConfig, optional=True))
    validation.check_acquire(body)
    return _encode(body)


def _start_body(
    mode: Mode | None, cname: object, uid: object, config: object, async_stop: bool | None
) -> bytes:
    assert mode is not None  # its path names the mode
    body = _envelope(cname, uid, _client_request(config, StartConfig))
    return _checked_start(mode, body, config)


def _update_body(
    mode: Mode | None, cname: object, uid: object, config: object, async_stop: bool | None
) -> bytes:
    assert mode is not None
    body = _envelope(cname, uid, _client_request(config, UpdateConfig))
    validation.check_update(mode.value, body)
    return _encode(body)


def _update_layout_body(
    mode: Mode | None, cname: object, uid: object, config: object, async_stop: bool | None
) -> bytes:
    if mode is not Mode.MIX:
        raise ValidationError("mode", "updateLayout is only available in mix mode")
    body = _envelope(cname, uid, _client_request(config, UpdateLayoutConfig))
    validation.check_update_layout(mode.value, body)
    return _encode(body)


def _stop_body(
    mode: Mode | None, cname: object, uid: object, config: object, async_stop: bool | None
) -> bytes:
    stop = _client_request(config, StopConfig, optional=True)
    if async_stop is not None:
        stop["async_stop"] = async_stop
    stop.setdefault("async_stop", False)
    body = _envelope(cname, uid, stop)
    validation.check_stop(body)
    return _encode(body)


# The endpoint table: adding an endpoint is one entry here (and its response model).
Endpoint.ACQUIRE = Endpoint("acquire", "POST", _PREFIX + "/acquire", AcquireResponse, _acquire_body)
Endpoint.START = Endpoint(
    "start",
    "POST",
    _PREFIX + "/resourceid/{resourceid}/mode/{mode}/start",
    StartResponse,
    _start_body,
)
Endpoint.QUERY = Endpoint("query", "GET", _SESSION + "/query", QueryResponse)
Endpoint.UPDATE = Endpoint("update", "POST", _SESSION + "/update", UpdateResponse, _update_body)
Endpoint.UPDATE_LAYOUT = Endpoint(
    "updateLayout", "POST", _SESSION + "/updateLayout", UpdateResponse, _update_layout_body
)
Endpoint.STOP = Endpoint("stop", "POST", _SESSION + "/stop", StopResponse, _stop_body)
Endpoint.NCS_IP = Endpoint("ncsIp", "GET", "/v1/ncs/ip", NcsIpResponse)
Endpoint.ALL = (
    Endpoint.ACQUIRE,
    Endpoint.START,
    Endpoint.QUERY,
    Endpoint.UPDATE,
    Endpoint.UPDATE_LAYOUT,
    Endpoint.STOP,
)


def _envelope(cname: object, uid: object, client_request: Any) -> dict[str, Any]:
    if not isinstance(cname, str):
        raise ValidationError("cname", "must be a string")
    return {"cname": cname, "uid": _uid(uid), "clientRequest": client_request}


# --------------------------------------------------------------------------------------------
# Decoding responses


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait per ``Retry-After`` (delta seconds or an HTTP date), else ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _as_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, str) and len(value) <= 24 and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


_TEXT_KEPT = 500


def _as_text(value: object) -> str | None:
    """Agora's ``reason`` or the gateway's ``message``: a string, its first 500 characters."""
    if not isinstance(value, str):
        return None
    return value if len(value) <= _TEXT_KEPT else value[:_TEXT_KEPT] + "..."


# -- reading a body: size, depth, JSON ---------------------------------------------------------

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Bodies larger than this are not parsed (see the module docstring for the reasoning)."""

MAX_DEPTH = 64
"""Bodies nesting arrays and objects deeper than this are not parsed."""

_BODY_KEPT = 64 * 1024  # what an exception keeps of a body
_EXCERPT_CHARS = 200

_ALL_BYTES = bytes(range(256))
_NOT_BRACKET_OR_QUOTE = bytes(c for c in _ALL_BYTES if c not in b'[]{}"')
_NOT_BRACKET = bytes(c for c in _ALL_BYTES if c not in b"[]{}")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_TOO_DEEP = b"[" * (MAX_DEPTH + 1)
_LONG = 4096
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_UTF8_BOM = b"\xef\xbb\xbf"


def _within_depth(content: bytes, marks: bytes) -> bool:
    """Whether ``content`` nests arrays and objects at most `MAX_DEPTH` deep (before decoding).

    ``marks`` is ``content`` with only its brackets and quotes (one C pass over the body); the
    caller comes here only for a body with more opening brackets than `MAX_DEPTH`. Exact for
    valid JSON: drop the strings, fold ``{}`` into ``[]``, then
    peel the innermost pairs level by level: valid JSON is empty after as many peels as it is
    deep. Strings are dropped by removing adjacent quote pairs: if any quote survives, a bracket
    sits inside a string (a channel name may hold one) and the strings are cut out exactly
    instead. Malformed bodies may be refused here. Each peel is one C pass over the brackets, so
    a hostile 8 MiB body costs at most 64 such passes.
    """
    if b"\\" in content and b'\\"' in content:  # escaped quotes: find strings the slow way
        brackets = _JSON_STRING.sub(b"", content).translate(_ONE_KIND, _NOT_BRACKET)
    else:
        marks = marks.replace(b'""', b"")
        if b'"' in marks:  # a bracket inside a string: drop every string exactly
            outside = b"".join(content.split(b'"')[::2])
            brackets = outside.translate(_ONE_KIND, _NOT_BRACKET)
        else:
            brackets = marks.translate(_ONE_KIND)
    for _ in range(MAX_DEPTH):
        if not brackets:
            return True
        if len(brackets) > _LONG and _TOO_DEEP in brackets:  # hostile: stop peeling early
            return False
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):  # unbalanced: not JSON
            return False
        brackets = peeled
    return not brackets


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _load(content: bytes) -> tuple[dict[str, Any] | None, str]:
    """The body's JSON object, or ``None`` and why it cannot be read."""
    if len(content) > MAX_BODY_BYTES:
        return None, f"a {len(content)}-byte body, over the {MAX_BODY_BYTES >> 20} MiB limit"
    # Too few opening brackets (strings' included) to nest that deep: most answers end here.
    if content.count(b"[") + content.count(b"{") > MAX_DEPTH and not _within_depth(
        content, content.translate(None, _NOT_BRACKET_OR_QUOTE)
    ):
        return None, f"a body that is not JSON or nests deeper than {MAX_DEPTH} levels"
    if content.startswith(_UTF8_BOM):
        content = content[3:]
    try:
        payload = _DECODER.decode(content.decode("utf-8"))
    except (ValueError, RecursionError):  # includes JSONDecodeError and UnicodeDecodeError
        return None, "a body that is not UTF-8 JSON"
    if type(payload) is not dict:
        return None, "a body that is not a JSON object"
    return payload, ""


_SECRET_KEY_NAMES = (
    r"[\w-]*(?:secret|token|key|password|passwd|salt|signature|credential|auth)[\w-]*"
)
_SECRET_VALUE = re.compile(
    rf"""(?ix)
    (["']?{_SECRET_KEY_NAMES}["']?\s*[:=]\s*)      # a credential-like key and its separator
    ("(?:[^"\\]|\\.)*"?|'[^']*'?|[^\s,;&<>}}\]]+)  # its value, quoted or bare, maybe cut
    """
)
_AUTH_VALUE = re.compile(r"(?i)\b(basic|bearer|digest)\s+[\w+/=.~-]+")


def _excerpt(content: bytes) -> str:
    """The start of a body as one line of text for logs, credential-like values masked.

    A misdirected request can come back echoed (a debugging proxy, a wrong base URL), and a
    start body holds storage keys and tokens, so values of keys that look like credentials and
    ``Basic``/``Bearer`` values are replaced by ``***`` before the text is cut.
    """
    text = content[: _EXCERPT_CHARS * 16].decode("utf-8", "replace")
    text = _AUTH_VALUE.sub(lambda match: match.group(1) + " ***", text)
    text = _SECRET_VALUE.sub(lambda match: match.group(1) + "***", text)
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > _EXCERPT_CHARS or len(content) > _EXCERPT_CHARS * 16:
        return text[:_EXCERPT_CHARS] + "..."
    return text


_STATUS_CLASSES: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}


def _error_class(status_code: int, code: int | None) -> type[APIError]:
    if status_code == 201 and code == 7:
        return AlreadyStartedError
    if status_code == 206 and code == 65:
        return RequestNotCompletedError
    if status_code == 206 and code == 435:
        return NoRecordedDataError
    if 500 <= status_code <= 599:
        return ServerError
    return _STATUS_CLASSES.get(status_code, APIError)


def _api_error(
    endpoint: Endpoint[Any],
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    payload: Mapping[str, Any] | None,
) -> APIError:
    payload = payload if payload is not None else {}
    code = _as_code(payload.get("code"))
    cls = _error_class(status_code, code)
    retry_after = None
    if cls is RateLimitError:
        retry_after = parse_retry_after(header(headers, "Retry-After"))
    return cls(
        endpoint=endpoint.name,
        status_code=status_code,
        code=code,
        reason=_as_text(payload.get("reason")),
        message=_as_text(payload.get("message")),
        request_id=header(headers, "X-Request-ID"),
        body=bytes(content[:_BODY_KEPT]),
        payload=payload,
        retry_after=retry_after,
    )


def parse_response(
    endpoint: Endpoint[T],
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
) -> T:
    """Decode a response into ``endpoint.response_type`` or raise the matching error.

    Every failure is an `AgoraError`: an `APIError` subclass for an error status, and
    `UnexpectedResponseError` for a success status whose body cannot be trusted (see the
    module docstring).
    """
    payload, problem = _load(content)
    if status_code == 200:
        return _success(endpoint, status_code, headers, content, payload, problem)
    if 200 < status_code < 300 and (status_code != 206 or endpoint is Endpoint.STOP):
        # The older stop reference: 206 means stopped with the files not all in the user's
        # storage yet (some in Agora's backup cloud, or the upload still running); its body is
        # the normal answer. A 206 carrying a ``code`` (65, 435) is the error it names.
        code = _as_code(payload.get("code")) if payload is not None else None
        sid_missing = payload is None or not payload.get("sid")
        if not code and not (endpoint is Endpoint.START and sid_missing):
            return _success(endpoint, status_code, headers, content, payload, problem)
    raise _api_error(endpoint, status_code, headers, content, payload)


def _success(
    endpoint: Endpoint[T],
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    payload: dict[str, Any] | None,
    problem: str,
) -> T:
    if payload is None:
        raise _unexpected(endpoint, status_code, headers, content, problem)
    name = endpoint.response_type.__name__
    try:
        result = converter.structure(payload, endpoint.response_type)
    except ValidationError as exc:
        where = exc.field or "the top level"
        raise _unexpected(
            endpoint,
            status_code,
            headers,
            content,
            f"a {name} whose {where} is wrong: {exc.rule}",
            exc.field,
        ) from exc
    except Exception as exc:  # a bug or a custom hook: still an AgoraError for the caller
        raise _unexpected(
            endpoint, status_code, headers, content, f"a JSON body that does not match {name}"
        ) from exc
    # The answers that create or end something must say what (see the module docstring).
    missing = None
    if endpoint is Endpoint.START and not getattr(result, "sid", None):
        missing = "no sid, so the recording cannot be addressed"
    elif endpoint is Endpoint.ACQUIRE and not getattr(result, "resource_id", None):
        missing = "no resourceId, so recording cannot start"
    elif endpoint is Endpoint.STOP and not (
        getattr(result, "resource_id", None) or getattr(result, "sid", None)
    ):
        missing = "neither resourceId nor sid, so it confirms no recording"
    if missing is not None:
        raise _unexpected(endpoint, status_code, headers, content, missing)
    return result


def _unexpected(
    endpoint: Endpoint[Any],
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    what: str,
    field: str | None = None,
) -> UnexpectedResponseError:
    request_id = header(headers, "X-Request-ID")
    where = f" (request ID {request_id})" if request_id else ""
    return UnexpectedResponseError(
        f"{endpoint.name} answered HTTP {status_code} with {what}{where}",
        endpoint=endpoint.name,
        status_code=status_code,
        request_id=request_id,
        body=bytes(content[:_BODY_KEPT]),
        excerpt=_excerpt(content),
        field=field,
    )


# --------------------------------------------------------------------------------------------
# Retry classification


#: The failures the documented guidance says to send again: no answer, 429, 5xx and 206 + code 65.
#: Everything else (other 4xx, 201/7, 206/435, validation, unexpected bodies) is final for a
#: call; the confirmed stop retries these too, and more (``_stopping.RETRIED``).
RETRYABLE: tuple[type[AgoraError], ...] = (
    TransportError,
    RateLimitError,
    ServerError,
    RequestNotCompletedError,
)


def is_retryable(exc: BaseException) -> bool:
    """Whether the documented guidance says to send the same request again (`RETRYABLE`)."""
    return isinstance(exc, RETRYABLE)
