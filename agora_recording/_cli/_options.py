"""The options the real-service verbs share, and the start configuration they build.

Option groups are decorators (``connection_options``, ``storage_options``,
``recording_options``, ``handle_options``) so every verb spells them the same way. Without
``--config``, ``start``/``record`` build a minimal ``clientRequest`` for the mode; with it, the
file is the base and the options override its common fields. ``--dry-run`` validates the
request exactly as the client would (`build_request`) and prints it with secrets replaced.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from agora_recording import validation
from agora_recording._credentials import prepare_start_config
from agora_recording._protocol import Endpoint, build_request
from agora_recording.enums import Mode
from agora_recording.errors import ValidationError
from agora_recording.models import RecordingHandle, StartConfig

from ._common import EXIT_USAGE, CliError, Output
from ._config import (
    ConfigFile,
    StorageOptions,
    apply_storage,
    set_path,
    structure,
)
from ._view import handle_json

__all__ = [
    "MODES",
    "build_start_config",
    "connection_options",
    "handle_options",
    "prepare_token",
    "print_handle",
    "recording_identity",
    "recording_options",
    "show_dry_run",
    "storage_options",
]

F = TypeVar("F", bound=Callable[..., Any])

MODES = click.Choice([m.value for m in Mode])
_REGIONS = click.Choice(["NA", "EU", "AP", "CN"], case_sensitive=False)
_WEB_SERVICE = "web_recorder_service"
# A forgotten web recording bills until maxRecordingHour: keep the default short.
_WEB_MAX_RECORDING_HOURS = 2


def _apply(decorators: list[Callable[[F], F]], func: F) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def connection_options(func: F) -> F:
    """``--app-id``, ``--base-url``, ``--region`` and ``--json``."""
    return _apply(
        [
            click.option(
                "--app-id",
                envvar="AGORA_APP_ID",
                show_envvar=True,
                help="The project's App ID.",
            ),
            click.option(
                "--base-url",
                envvar="AGORA_BASE_URL",
                show_envvar=True,
                help="Send every request to this URL (an emulator, a proxy).",
            ),
            click.option(
                "--region",
                type=_REGIONS,
                envvar="AGORA_REGION",
                show_envvar=True,
                help="Use the regional hosts of NA, EU, AP or CN (with failover).",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print one JSON document."),
        ],
        func,
    )


def storage_options(func: F) -> F:
    """The ``--storage-*`` options and ``--file-prefix``."""
    return _apply(
        [
            click.option("--storage-vendor", help="Storage vendor: number or name (amazon_s3)."),
            click.option("--storage-region", type=int, help="Region index of the bucket."),
            click.option("--storage-bucket", help="Bucket name."),
            click.option(
                "--storage-access-key",
                envvar="AGORA_STORAGE_ACCESS_KEY",
                show_envvar=True,
                help="Storage access key (prefer the environment variable).",
            ),
            click.option(
                "--storage-secret-key",
                envvar="AGORA_STORAGE_SECRET_KEY",
                show_envvar=True,
                help="Storage secret key (prefer the environment variable).",
            ),
            click.option(
                "--file-prefix",
                multiple=True,
                help="Directory for the files in the bucket, like a/b (repeatable).",
            ),
        ],
        func,
    )


def recording_options(func: F) -> F:
    """What a new recording needs: channel, uid, mode, config file and its overrides."""
    return _apply(
        [
            click.option("--cname", help="Channel name (or a label, in web mode)."),
            click.option(
                "--uid",
                help="The recorder's UID, a decimal string; no user in the channel may use it.",
            ),
            click.option("--mode", type=MODES, default=None, help="Recording mode (default: mix)."),
            click.option(
                "--config",
                "config_path",
                metavar="FILE",
                help="clientRequest of start, wire format, JSON or .toml ('-': stdin).",
            ),
            click.option("--max-idle-time", type=int, help="recordingConfig.maxIdleTime, s."),
            click.option(
                "--av-file-type",
                multiple=True,
                type=click.Choice(["hls", "mp4"]),
                help="recordingFileConfig.avFileType (repeatable).",
            ),
            click.option(
                "--web-url", help="The page to record (web mode; at most 2 hours without --config)."
            ),
            click.option(
                "--token",
                envvar="AGORA_RTC_TOKEN",
                show_envvar=True,
                help="RTC token of the recorder (prefer the environment variable).",
            ),
            click.option(
                "--app-certificate",
                envvar="AGORA_APP_CERTIFICATE",
                show_envvar=True,
                help="App Certificate: mint the recorder's token when --token is not given "
                "(prefer the environment variable).",
            ),
        ],
        storage_options(func),
    )


def handle_options(func: F) -> F:
    """``--handle`` or the separate identifiers of a running recording."""
    return _apply(
        [
            click.option(
                "--handle",
                "handle_value",
                metavar="JSON|@FILE|-",
                help="The handle printed by start (JSON, @file, or - for stdin).",
            ),
            click.option("--resource-id", help="Resource ID (instead of --handle)."),
            click.option("--sid", help="Recording ID (instead of --handle)."),
            click.option("--mode", type=MODES, help="Recording mode (instead of --handle)."),
            click.option("--cname", help="Channel name (instead of --handle)."),
            click.option("--uid", help="Recorder UID (instead of --handle)."),
        ],
        func,
    )


# -- building configurations ------------------------------------------------------------------


def _default_request(mode: Mode, web_url: str | None) -> dict[str, Any]:
    """A minimal ``clientRequest`` for ``mode`` when no ``--config`` is given."""
    if mode is Mode.WEB:
        if not web_url:
            raise CliError("web mode needs --web-url (or a --config with the page)", EXIT_USAGE)
        param = {
            "url": web_url,
            "audioProfile": 0,
            "videoWidth": 1280,
            "videoHeight": 720,
            "maxRecordingHour": _WEB_MAX_RECORDING_HOURS,
        }
        service = {"serviceName": _WEB_SERVICE, "errorHandlePolicy": "error_abort"}
        return {
            "extensionServiceConfig": {"extensionServices": [{**service, "serviceParam": param}]}
        }
    recording: dict[str, Any] = {"channelType": 0, "streamTypes": 2}
    if mode.per_user:
        recording["subscribeUidGroup"] = 0
    else:
        recording["transcodingConfig"] = {
            "width": 640,
            "height": 360,
            "fps": 15,
            "bitrate": 500,
            "mixedVideoLayout": 1,
        }
    return {"recordingConfig": recording}


def _set_web_url(request: dict[str, Any], url: str) -> None:
    services = request.setdefault("extensionServiceConfig", {}).setdefault("extensionServices", [])
    if not isinstance(services, list):
        raise CliError("extensionServiceConfig.extensionServices must be a list", EXIT_USAGE)
    for service in services:
        if isinstance(service, dict) and service.get("serviceName") == _WEB_SERVICE:
            service.setdefault("serviceParam", {})["url"] = url
            return
    services.append({"serviceName": _WEB_SERVICE, "serviceParam": {"url": url}})


# Each storageConfig field a start needs, and how to give it on the command line.
_STORAGE_SOURCES = {
    "vendor": "--storage-vendor",
    "region": "--storage-region",
    "bucket": "--storage-bucket",
    "accessKey": "AGORA_STORAGE_ACCESS_KEY (or --storage-access-key)",
    "secretKey": "AGORA_STORAGE_SECRET_KEY (or --storage-secret-key)",
}


def _require_storage(request: dict[str, Any], config_path: str | None) -> None:
    """Name the options and environment variables of the storage fields still missing."""
    storage = request.get("storageConfig", {})
    if not isinstance(storage, dict) or _uses_vod(request):
        return  # a storageConfig of the wrong type is reported by validation
    missing = [source for key, source in _STORAGE_SOURCES.items() if storage.get(key) is None]
    if missing:
        where = f" (or put them in storageConfig of {config_path})" if config_path else ""
        raise CliError("where should the files go? set " + ", ".join(missing) + where, EXIT_USAGE)


def _uses_vod(request: dict[str, Any]) -> bool:
    """The legacy aliyun_vod_service replaces storageConfig."""
    extension = request.get("extensionServiceConfig")
    services = extension.get("extensionServices") if isinstance(extension, dict) else None
    return isinstance(services, list) and any(
        isinstance(s, dict) and s.get("serviceName") == "aliyun_vod_service" for s in services
    )


def build_start_config(
    mode: Mode,
    config_path: str | None,
    loaded: ConfigFile,
    storage: StorageOptions,
    max_idle_time: int | None,
    av_file_type: tuple[str, ...],
    web_url: str | None,
    token: str | None,
) -> StartConfig:
    request = copy.deepcopy(loaded.request) if config_path else _default_request(mode, web_url)
    apply_storage(request, storage, create=True)
    _require_storage(request, config_path)
    if max_idle_time is not None:
        set_path(request, ("recordingConfig", "maxIdleTime"), max_idle_time)
    if av_file_type:
        set_path(request, ("recordingFileConfig", "avFileType"), list(av_file_type))
    if web_url and config_path:
        _set_web_url(request, web_url)
    if token:
        request["token"] = token
    return structure(request, StartConfig, config_path or "the start options")


def prepare_token(
    config: StartConfig,
    *,
    app_id: str | None,
    cname: str,
    uid: str,
    mode: Mode,
    app_certificate: str | None,
    expected_duration: float | None,
) -> StartConfig:
    """Mint the recorder's token with ``--app-certificate``, or check a given ``--token``.

    A token for another App ID, channel or uid, or one expiring before ``expected_duration``
    seconds, is a usage error before any request. Without an App ID nothing can be judged.
    """
    if not app_id:
        return config
    try:
        return prepare_start_config(
            config,
            app_id=app_id,
            cname=cname,
            uid=uid,
            mode=mode,
            app_certificate=app_certificate or None,
            expected_duration=expected_duration,
            now=time.time(),
        )
    except ValidationError as exc:
        raise CliError(f"invalid {exc.field}: {exc.rule}", EXIT_USAGE) from None


def recording_identity(
    loaded: ConfigFile, cname: str | None, uid: str | None, mode: str | None
) -> tuple[str, str, Mode]:
    cname = cname or loaded.cname
    uid = uid or loaded.uid
    if not cname or not uid:
        raise CliError("pass --cname and --uid (or a --config with them)", EXIT_USAGE)
    return cname, uid, Mode(mode or Mode.MIX.value)


def print_handle(out: Output, handle: RecordingHandle) -> None:
    text = json.dumps(handle_json(handle), separators=(",", ":"))
    out.line(f"sid: {handle.sid}")
    out.line(f"resourceId: {handle.resource_id}")
    out.line(f"handle: {text}")


def show_dry_run(
    out: Output,
    endpoint: Endpoint[Any],
    app_id: str | None,
    cname: str,
    uid: str,
    mode: Mode,
    config: object,
    resource_id: str | None = None,
    sid: str | None = None,
) -> None:
    """Validate the request exactly as the client would and print its body, secrets hidden."""
    try:
        spec = build_request(
            endpoint,
            app_id or "APP_ID",
            cname=cname,
            uid=uid,
            resource_id=resource_id or "RESOURCE_ID",
            sid=sid if endpoint is not Endpoint.START else None,
            mode=mode,
            config=config,
        )
    except ValidationError as exc:
        raise CliError(f"invalid {exc.field}: {exc.rule}", EXIT_USAGE) from None
    body = json.loads(spec.body or b"{}")
    document = {"method": spec.method, "path": spec.path, "body": validation.redact(body)}
    if out.as_json:
        out.json(document)
    else:
        out.line(f"{spec.method} {spec.path}")
        out.line(json.dumps(document["body"], indent=2, ensure_ascii=False))
