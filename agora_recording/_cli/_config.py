"""Inputs of the real-service verbs: credentials, config files, option overrides and handles.

Configuration files hold a ``clientRequest`` in the wire format (JSON, or TOML with the same
keys), optionally wrapped in the whole body ``{"cname", "uid", "clientRequest"}``. Options
override the common fields on the wire dict; the result is structured through the library's
one converter into the typed model, and the client validates it before anything is sent.
A handle is the JSON of ``converter.unstructure(handle)``, or any JSON object with such a
``"handle"`` key (what ``start --json`` prints), given inline, as ``@file`` or on stdin (``-``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs

from agora_recording._assembled import RecordingClient
from agora_recording._converter import STRUCTURE_ERRORS, converter
from agora_recording.enums import Mode, Vendor
from agora_recording.models import RecordingHandle

from ._common import EXIT_USAGE, CliError

__all__ = [
    "ConfigFile",
    "StorageOptions",
    "apply_storage",
    "load_config",
    "make_client",
    "parse_handle",
    "parse_vendor",
    "set_path",
    "structure",
]

M = TypeVar("M")

ENV_APP_ID = "AGORA_APP_ID"
ENV_CUSTOMER_ID = "AGORA_CUSTOMER_ID"
ENV_CUSTOMER_SECRET = "AGORA_CUSTOMER_SECRET"


def make_client(app_id: str | None, base_url: str | None, region: str | None) -> RecordingClient:
    """A client from ``--app-id`` (or ``AGORA_APP_ID``) and the customer ID/secret in the env.

    Built by `RecordingClient.from_env`; the check before it only lists every missing variable
    at once, as a usage error.
    """
    env = dict(os.environ)
    if app_id:
        env[ENV_APP_ID] = app_id
    missing = [
        name
        for name in (ENV_APP_ID, ENV_CUSTOMER_ID, ENV_CUSTOMER_SECRET)
        if not env.get(name, "").strip()
    ]
    if missing:
        names = " and ".join(missing)
        hint = " (or pass --app-id)" if ENV_APP_ID in missing else ""
        raise CliError(f"missing credentials: set {names}{hint}", EXIT_USAGE)
    # The options already read AGORA_BASE_URL and AGORA_REGION; the service verbs mint no token.
    return RecordingClient.from_env(
        env, base_url=base_url or None, region=region or None, app_certificate=None
    )


@attrs.frozen
class ConfigFile:
    """A loaded configuration: its ``clientRequest`` and the envelope's cname/uid, if any."""

    request: dict[str, Any]
    cname: str | None = None
    uid: str | None = None


def _read_toml(text: str, source: str) -> Any:
    name = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    try:
        toml = importlib.import_module(name)
    except ModuleNotFoundError:
        raise CliError(
            f"{source}: reading TOML needs Python 3.11+ or the 'tomli' package; "
            "install tomli or use a JSON file",
            EXIT_USAGE,
        ) from None
    try:
        return toml.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise CliError(f"{source}: not valid TOML: {exc}", EXIT_USAGE) from None


def _read_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{source}: not valid JSON: {exc}", EXIT_USAGE) from None


def load_config(path: str | None, stdin_text: str | None = None) -> ConfigFile:
    """Load ``--config FILE`` (``.toml`` as TOML, anything else as JSON; ``-`` is stdin)."""
    if path is None:
        return ConfigFile(request={})
    if path == "-":
        source, text = "stdin", stdin_text if stdin_text is not None else sys.stdin.read()
        data = _read_json(text, source)
    else:
        source = path
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
        if path.lower().endswith(".toml"):
            data = _read_toml(text, source)
        else:
            data = _read_json(text, source)
    if not isinstance(data, dict):
        raise CliError(f"{source}: must hold a JSON/TOML object (a clientRequest)", EXIT_USAGE)
    if isinstance(data.get("clientRequest"), dict):
        cname, uid = data.get("cname"), data.get("uid")
        return ConfigFile(
            request=dict(data["clientRequest"]),
            cname=cname if isinstance(cname, str) else None,
            uid=str(uid) if isinstance(uid, (str, int)) and not isinstance(uid, bool) else None,
        )
    return ConfigFile(request=dict(data))


def set_path(wire: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``wire[path[0]][path[1]]... = value``, creating objects on the way."""
    node = wire
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def parse_vendor(value: str) -> int:
    """A storage vendor by number (``1``) or by name (``amazon_s3``, ``s3-compatible``)."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    name = text.upper().replace("-", "_").replace(" ", "_")
    try:
        return int(Vendor[name])
    except KeyError:
        names = ", ".join(f"{v.value}={v.name.lower()}" for v in Vendor)
        raise CliError(
            f"unknown storage vendor {value!r}; use one of {names}", EXIT_USAGE
        ) from None


@attrs.frozen
class StorageOptions:
    """The ``--storage-*`` and ``--file-prefix`` options; ``None`` means not given."""

    vendor: str | None = None
    region: int | None = None
    bucket: str | None = None
    access_key: str | None = attrs.field(default=None, repr=False)
    secret_key: str | None = attrs.field(default=None, repr=False)
    file_prefix: tuple[str, ...] = ()

    @property
    def names_a_bucket(self) -> bool:
        """Whether vendor, region or bucket was given (keys alone come from the environment)."""
        return any(v is not None for v in (self.vendor, self.region, self.bucket))


def apply_storage(request: dict[str, Any], storage: StorageOptions, *, create: bool) -> None:
    """Override ``storageConfig`` fields in ``request`` (create it only when ``create``)."""
    if not create and not isinstance(request.get("storageConfig"), dict):
        return
    fields: dict[str, Any] = {
        "vendor": parse_vendor(storage.vendor) if storage.vendor is not None else None,
        "region": storage.region,
        "bucket": storage.bucket,
        "accessKey": storage.access_key,
        "secretKey": storage.secret_key,
    }
    prefix = [part for item in storage.file_prefix for part in item.split("/") if part]
    if prefix:
        fields["fileNamePrefix"] = prefix
    for key, value in fields.items():
        if value is not None:
            set_path(request, ("storageConfig", key), value)


def _location(error: BaseException) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        messages = cattrs.transform_error(error, path="clientRequest")
        return "; ".join(messages[:3])
    if isinstance(error, KeyError):
        return f"required field {error.args[0]!r} is missing"
    return str(error)


def structure(wire: Mapping[str, Any], model: type[M], source: str) -> M:
    """``converter.structure(wire, model)``, a shape error becoming a one-line `CliError`."""
    try:
        return converter.structure(dict(wire), model)
    except STRUCTURE_ERRORS as exc:
        raise CliError(
            f"{source} is not a valid {model.__name__}: {_location(exc)}", EXIT_USAGE
        ) from None


def _read_handle_text(value: str, stdin_text: str | None) -> tuple[str, str]:
    if value == "-":
        return "stdin", stdin_text if stdin_text is not None else sys.stdin.read()
    if value.startswith("@"):
        path = value[1:]
        try:
            return path, Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    return "--handle", value


_HANDLE_OPTIONS = {
    "resourceId": "--resource-id",
    "sid": "--sid",
    "mode": "--mode",
    "cname": "--cname",
    "uid": "--uid",
}


def parse_handle(
    value: str | None,
    *,
    resource_id: str | None,
    sid: str | None,
    mode: str | None,
    cname: str | None,
    uid: str | None,
    stdin_text: str | None = None,
    need_ids: bool = True,
) -> RecordingHandle:
    """A handle from ``--handle`` and/or the separate options (which override its fields).

    ``need_ids=False`` (query) lets ``cname``/``uid`` be absent: the query URL does not use them.
    """
    fields: dict[str, Any] = {}
    source = "the handle options"
    if value is not None:
        source, text = _read_handle_text(value, stdin_text)
        data = _read_json(text, source)
        if isinstance(data, dict) and isinstance(data.get("handle"), dict):
            data = data["handle"]
        if not isinstance(data, dict):
            raise CliError(f"{source}: a handle must be a JSON object", EXIT_USAGE)
        fields.update(data)
    overrides = {"resourceId": resource_id, "sid": sid, "mode": mode, "cname": cname, "uid": uid}
    fields.update({key: v for key, v in overrides.items() if v is not None})
    if not need_ids:
        fields.setdefault("cname", "")
        fields.setdefault("uid", "")
    required = ["resourceId", "sid", "mode"] + (["cname", "uid"] if need_ids else [])
    absent = [key for key in required if not fields.get(key)]
    if absent:
        options = ", ".join(_HANDLE_OPTIONS[key] for key in absent)
        if value is None and all(v is None for v in overrides.values()):
            raise CliError(f"no recording given: pass --handle, or {options}", EXIT_USAGE)
        keys = ", ".join(absent)
        where = f"{source} has no {keys}" if value is not None else f"missing {keys}"
        them = "it" if len(absent) == 1 else "them"
        raise CliError(f"{where}: add {them} to the handle, or pass {options}", EXIT_USAGE)
    if str(fields["mode"]) not in {m.value for m in Mode}:
        raise CliError(f"{source}: mode must be raw, individual, mix or web", EXIT_USAGE)
    if "uid" in fields and not isinstance(fields["uid"], bool) and isinstance(fields["uid"], int):
        fields["uid"] = str(fields["uid"])
    return structure(fields, RecordingHandle, source)
