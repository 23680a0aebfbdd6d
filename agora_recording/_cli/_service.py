"""The one-request verbs: acquire, start, query, update, update-layout and stop.

``start`` acquires first unless given ``--resource-id`` and prints the recording's handle, which
the other verbs take back with ``--handle``. Credentials come from the environment only
(``AGORA_CUSTOMER_ID``, ``AGORA_CUSTOMER_SECRET``; the App ID also from ``--app-id``), so no
secret is ever typed on a command line. ``record`` lives in `_record`.
"""

from __future__ import annotations

import copy
from typing import Any

import click

from agora_recording._converter import converter
from agora_recording._protocol import Endpoint, required_scene
from agora_recording._stopping import (
    FAILOVER_WINDOW,
    StopConfirmation,
    StopOutcome,
    UnconfirmedRecording,
)
from agora_recording.enums import MixedVideoLayout, Mode
from agora_recording.models import (
    AcquireConfig,
    RecordingHandle,
    UpdateConfig,
    UpdateLayoutConfig,
)

from ._common import EXIT_USAGE, CliError, Output, run_async
from ._config import (
    ConfigFile,
    StorageOptions,
    apply_storage,
    load_config,
    make_client,
    parse_handle,
    set_path,
    structure,
)
from ._options import (
    MODES,
    build_start_config,
    connection_options,
    handle_options,
    prepare_token,
    print_handle,
    recording_identity,
    recording_options,
    show_dry_run,
    storage_options,
)
from ._record import record
from ._view import (
    files_json,
    handle_json,
    print_files,
    print_stop,
    status_name,
    stop_json,
)

__all__ = ["SERVICE_COMMANDS"]

# -- acquire ------------------------------------------------------------------------------------


@click.command()
@click.option("--cname", required=True, help="Channel name (or a label, in web mode).")
@click.option("--uid", required=True, help="The recorder's UID, a decimal string.")
@click.option("--mode", type=MODES, default="mix", show_default=True, help="Mode to start in.")
@click.option("--scene", type=click.IntRange(0, 2), help="Acquire scene (web mode: 1).")
@click.option("--resource-expired-hour", type=int, help="Hours the recording stays reachable.")
@connection_options
def acquire(
    cname: str,
    uid: str,
    mode: str,
    scene: int | None,
    resource_expired_hour: int | None,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Reserve a recording resource (start must follow within 5 minutes)."""
    out = Output(as_json=as_json)
    if scene is None:
        scene = required_scene(Mode(mode), None)
    config = None
    if scene is not None or resource_expired_hour is not None:
        config = AcquireConfig(scene=scene, resource_expired_hour=resource_expired_hour)
    client = make_client(app_id, base_url, region)

    async def go() -> Any:
        async with client:
            return await client.acquire(cname=cname, uid=uid, config=config)

    response = run_async(go)
    if as_json:
        out.json(converter.unstructure(response))
    else:
        out.line(f"resourceId: {response.resource_id}")


# -- start --------------------------------------------------------------------------------------


@click.command()
@recording_options
@click.option("--resource-id", help="Resource ID from acquire (default: acquire one now).")
@click.option(
    "--expected-duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds the recording will last: the minted token outlives it, a given one must.",
)
@click.option("--dry-run", is_flag=True, help="Validate and print the request (secrets hidden).")
@connection_options
def start(
    cname: str | None,
    uid: str | None,
    mode: str | None,
    config_path: str | None,
    max_idle_time: int | None,
    av_file_type: tuple[str, ...],
    web_url: str | None,
    token: str | None,
    app_certificate: str | None,
    storage_vendor: str | None,
    storage_region: int | None,
    storage_bucket: str | None,
    storage_access_key: str | None,
    storage_secret_key: str | None,
    file_prefix: tuple[str, ...],
    resource_id: str | None,
    expected_duration: float | None,
    dry_run: bool,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Start a recording and print its handle (acquiring a resource first if needed)."""
    out = Output(as_json=as_json)
    loaded = load_config(config_path)
    cname, uid, wire_mode = recording_identity(loaded, cname, uid, mode)
    storage = StorageOptions(
        storage_vendor,
        storage_region,
        storage_bucket,
        storage_access_key,
        storage_secret_key,
        file_prefix,
    )
    config = build_start_config(
        wire_mode, config_path, loaded, storage, max_idle_time, av_file_type, web_url, token
    )
    config = prepare_token(
        config,
        app_id=app_id,
        cname=cname,
        uid=uid,
        mode=wire_mode,
        app_certificate=app_certificate,
        expected_duration=expected_duration,
    )
    if dry_run:
        show_dry_run(out, Endpoint.START, app_id, cname, uid, wire_mode, config, resource_id)
        return
    client = make_client(app_id, base_url, region)

    async def go() -> Any:
        async with client:
            rid = resource_id
            if rid is None:
                scene = required_scene(wire_mode, config)
                acquire_config = AcquireConfig(scene=scene) if scene is not None else None
                acquired = await client.acquire(cname=cname, uid=uid, config=acquire_config)
                rid = acquired.resource_id
                if not rid:
                    raise CliError("acquire answered without a resourceId")
            started = await client.start(rid, wire_mode, cname=cname, uid=uid, config=config)
            client.release(started.handle)  # running on purpose: `stop` ends it
            return started

    response = run_async(go)
    handle = response.handle
    if as_json:
        wire = converter.unstructure(response)
        out.json({"handle": handle_json(handle), "response": wire})
        return
    what = f"mode {wire_mode.value}, channel {cname}, uid {uid}"
    out.styled(f"[green]recording started[/green] ({what})", f"recording started ({what})")
    print_handle(out, handle)
    Output.note(
        f"it runs until stopped (or until nobody publishes for maxIdleTime); "
        f"stop it with: {UnconfirmedRecording(handle=handle).stop_command()}"
    )


# -- query --------------------------------------------------------------------------------------


def _handle_from(
    handle_value: str | None,
    resource_id: str | None,
    sid: str | None,
    mode: str | None,
    cname: str | None,
    uid: str | None,
    *,
    need_ids: bool = True,
) -> RecordingHandle:
    return parse_handle(
        handle_value,
        resource_id=resource_id,
        sid=sid,
        mode=mode,
        cname=cname,
        uid=uid,
        need_ids=need_ids,
    )


@click.command()
@handle_options
@connection_options
def query(
    handle_value: str | None,
    resource_id: str | None,
    sid: str | None,
    mode: str | None,
    cname: str | None,
    uid: str | None,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Print a recording's status and files."""
    out = Output(as_json=as_json)
    handle = _handle_from(handle_value, resource_id, sid, mode, cname, uid, need_ids=False)
    client = make_client(app_id, base_url, region)

    async def go() -> Any:
        async with client:
            return await client.query(handle)

    response = run_async(go)
    status = response.status
    if as_json:
        out.json(
            {
                "handle": handle_json(handle),
                "status": None if status is None else int(status),
                "files": files_json(response.files),
                "response": converter.unstructure(response),
            }
        )
        return
    out.line(f"status: {status_name(status)}")
    print_files(out, response.files)


# -- update and update-layout ------------------------------------------------------------------


def _update_request(
    loaded: ConfigFile,
    storage: StorageOptions,
    subscribe_audio: tuple[str, ...],
    unsubscribe_audio: tuple[str, ...],
    subscribe_video: tuple[str, ...],
    unsubscribe_video: tuple[str, ...],
    onhold: bool | None,
    rtmp_url: tuple[str, ...],
) -> dict[str, Any]:
    request = copy.deepcopy(loaded.request)
    lists = (
        ("audioUidList", "subscribeAudioUids", subscribe_audio),
        ("audioUidList", "unSubscribeAudioUids", unsubscribe_audio),
        ("videoUidList", "subscribeVideoUids", subscribe_video),
        ("videoUidList", "unSubscribeVideoUids", unsubscribe_video),
    )
    for group, key, uids in lists:
        if uids:
            set_path(request, ("streamSubscribe", group, key), list(uids))
    if onhold is not None:
        set_path(request, ("webRecordingConfig", "onhold"), onhold)
    if rtmp_url:
        set_path(request, ("rtmpPublishConfig", "outputs"), [{"rtmpUrl": u} for u in rtmp_url])
    apply_storage(request, storage, create=storage.names_a_bucket)
    return request


@click.command()
@handle_options
@click.option("--config", "config_path", metavar="FILE", help="clientRequest of update.")
@click.option("--subscribe-audio", multiple=True, metavar="UID", help="Record audio of UID.")
@click.option("--unsubscribe-audio", multiple=True, metavar="UID", help="Skip audio of UID.")
@click.option("--subscribe-video", multiple=True, metavar="UID", help="Record video of UID.")
@click.option("--unsubscribe-video", multiple=True, metavar="UID", help="Skip video of UID.")
@click.option("--onhold/--resume", default=None, help="Pause or resume a web recording.")
@click.option("--rtmp-url", multiple=True, help="New CDN push URL (web mode).")
@click.option("--dry-run", is_flag=True, help="Validate and print the request (secrets hidden).")
@storage_options
@connection_options
def update(
    handle_value: str | None,
    resource_id: str | None,
    sid: str | None,
    mode: str | None,
    cname: str | None,
    uid: str | None,
    config_path: str | None,
    subscribe_audio: tuple[str, ...],
    unsubscribe_audio: tuple[str, ...],
    subscribe_video: tuple[str, ...],
    unsubscribe_video: tuple[str, ...],
    onhold: bool | None,
    rtmp_url: tuple[str, ...],
    dry_run: bool,
    storage_vendor: str | None,
    storage_region: int | None,
    storage_bucket: str | None,
    storage_access_key: str | None,
    storage_secret_key: str | None,
    file_prefix: tuple[str, ...],
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Change subscriptions (raw, individual, mix), pause/resume or CDN (web), or storage keys."""
    out = Output(as_json=as_json)
    handle = _handle_from(handle_value, resource_id, sid, mode, cname, uid)
    storage = StorageOptions(
        storage_vendor,
        storage_region,
        storage_bucket,
        storage_access_key,
        storage_secret_key,
        file_prefix,
    )
    request = _update_request(
        load_config(config_path),
        storage,
        subscribe_audio,
        unsubscribe_audio,
        subscribe_video,
        unsubscribe_video,
        onhold,
        rtmp_url,
    )
    if not request:
        raise CliError("nothing to update: pass --config or an update option", EXIT_USAGE)
    config = structure(request, UpdateConfig, config_path or "the update options")
    _send_change(out, Endpoint.UPDATE, handle, config, dry_run, app_id, base_url, region)


def _dry_ids(handle: RecordingHandle) -> dict[str, Any]:
    return {
        "cname": handle.cname,
        "uid": handle.uid,
        "mode": Mode(handle.mode),
        "resource_id": handle.resource_id,
        "sid": handle.sid,
    }


def _send_change(
    out: Output,
    endpoint: Endpoint[Any],
    handle: RecordingHandle,
    config: UpdateConfig | UpdateLayoutConfig,
    dry_run: bool,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
) -> None:
    """Send an update or updateLayout (or only show it, for --dry-run) and print the answer."""
    if dry_run:
        show_dry_run(out, endpoint, app_id, **_dry_ids(handle), config=config)
        return
    client = make_client(app_id, base_url, region)

    async def go() -> Any:
        async with client:
            if isinstance(config, UpdateLayoutConfig):
                return await client.update_layout(handle, config)
            return await client.update(handle, config)

    response = run_async(go)
    if out.as_json:
        out.json({"handle": handle_json(handle), "response": converter.unstructure(response)})
    else:
        what = "layout updated" if endpoint is Endpoint.UPDATE_LAYOUT else "updated"
        out.line(f"{what}: sid {handle.sid}")


def _layout_value(value: str | None) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        return int(MixedVideoLayout[value.upper().replace("-", "_")])
    except KeyError:
        names = ", ".join(f"{m.value}={m.name.lower()}" for m in MixedVideoLayout)
        raise CliError(f"unknown layout {value!r}; use one of {names}", EXIT_USAGE) from None


@click.command("update-layout")
@handle_options
@click.option("--config", "config_path", metavar="FILE", help="clientRequest of updateLayout.")
@click.option("--layout", help="mixedVideoLayout: 0-3 or floating, best_fit, vertical, custom.")
@click.option("--max-resolution-uid", help="The large user of the vertical layout.")
@click.option("--background-color", help='Canvas colour, like "#000000".')
@click.option("--dry-run", is_flag=True, help="Validate and print the request.")
@connection_options
def update_layout(
    handle_value: str | None,
    resource_id: str | None,
    sid: str | None,
    mode: str | None,
    cname: str | None,
    uid: str | None,
    config_path: str | None,
    layout: str | None,
    max_resolution_uid: str | None,
    background_color: str | None,
    dry_run: bool,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Replace the whole layout of a mix recording (omitted fields reset to defaults)."""
    out = Output(as_json=as_json)
    handle = _handle_from(handle_value, resource_id, sid, mode, cname, uid)
    request = copy.deepcopy(load_config(config_path).request)
    overrides = {
        "mixedVideoLayout": _layout_value(layout),
        "maxResolutionUid": max_resolution_uid,
        "backgroundColor": background_color,
    }
    request.update({key: value for key, value in overrides.items() if value is not None})
    config = structure(request, UpdateLayoutConfig, config_path or "the layout options")
    _send_change(out, Endpoint.UPDATE_LAYOUT, handle, config, dry_run, app_id, base_url, region)


# -- stop ---------------------------------------------------------------------------------------


@click.command()
@handle_options
@click.option("--async-stop", is_flag=True, help="Answer at once, without waiting for uploads.")
@click.option(
    "--assume-ended-on-404",
    is_flag=True,
    help=(
        "Take a 404 as the end of the recording at once, instead of re-checking it through the "
        f"{FAILOVER_WINDOW:g} s failover window (a recording that is failing over keeps running)."
    ),
)
@connection_options
def stop(
    handle_value: str | None,
    resource_id: str | None,
    sid: str | None,
    mode: str | None,
    cname: str | None,
    uid: str | None,
    async_stop: bool,
    assume_ended_on_404: bool,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Stop a recording, wait until the service confirms it, and print its files.

    The stop is repeated through network errors, 5xx and 429 answers, and a 404 is re-checked
    for the whole stop budget (180 s, twice the failover window), as the library's confirmed
    stops are. Answers that mean it is not running are not errors (exit 0, the outcome says
    which): 206/435 nothing was recorded, 400/49 it was already stopping, 404 "failed to find
    worker" all along the service knows no such recording (ended, or a wrong sid). A stop the
    service never confirms exits 1.
    """
    out = Output(as_json=as_json)
    handle = _handle_from(handle_value, resource_id, sid, mode, cname, uid)
    client = make_client(app_id, base_url, region)

    async def go() -> StopConfirmation:
        async with client:
            return await client.ensure_stopped(
                handle, async_stop=async_stop, assume_ended_on_404=assume_ended_on_404
            )

    confirmed = run_async(go)
    outcome = confirmed.outcome
    if outcome is StopOutcome.NO_RECORDED_DATA:
        Output.note("note: nothing was recorded (nobody published in the channel)")
    elif outcome is StopOutcome.ALREADY_EXITING:
        Output.note("note: the recording had already stopped")
    elif outcome is StopOutcome.ALREADY_GONE:
        checked = (
            "a failover can hide a recording for "
            f"{FAILOVER_WINDOW:g} s: without --assume-ended-on-404 the stop re-checks it"
            if assume_ended_on_404
            else f"still so after the {FAILOVER_WINDOW:g} s failover window"
        )
        Output.note(
            "note: the service knows no such running recording: it has ended (or the sid is "
            f"wrong); {checked}"
        )
    if as_json:
        out.json(stop_json(handle, confirmed.response, outcome.value))
    else:
        print_stop(out, confirmed.response, outcome.value.replace("_", " "))


SERVICE_COMMANDS = [acquire, start, query, update, update_layout, stop, record]
