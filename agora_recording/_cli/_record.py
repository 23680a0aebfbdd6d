"""``record``: a whole `RecordingSession` until ``--duration`` or Ctrl-C, then a clean stop.

`run_session` is shared with ``demo``: it enters the session, shows the live view and runs an
optional script beside the recording, all inside `agora_recording.signals.drain_on_signals`:
the first SIGINT/SIGTERM cancels the block, so the session sends its stop (shielded, with a
deadline) before the process exits; another signal reports that the stop is still going; one
after the grace ends the process at once, printing the command that stops the recording.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import click

from agora_recording._assembled import RecordingClient
from agora_recording._options import CredentialOptions, PollingOptions
from agora_recording._session import RecordingSession
from agora_recording.enums import Mode
from agora_recording.models import StartConfig
from agora_recording.signals import drain_on_signals

from ._common import EXIT_FAILURE, EXIT_INTERRUPTED, CliError, Output, run_async
from ._config import StorageOptions, load_config, make_client
from ._options import (
    build_start_config,
    connection_options,
    recording_identity,
    recording_options,
)
from ._view import (
    LiveView,
    files_json,
    handle_json,
    print_files,
    print_stop,
    stop_json,
)

__all__ = ["finish_session", "record", "run_session"]


async def run_session(
    client: RecordingClient,
    view: LiveView,
    *,
    cname: str,
    uid: str,
    mode: Mode,
    config: StartConfig,
    duration: float | None,
    session_options: dict[str, Any],
    script: Callable[[RecordingSession], Coroutine[Any, Any, None]] | None = None,
    announce_handle: bool = True,
) -> tuple[RecordingSession, bool]:
    """Record until ``duration`` passes, the service ends it, or a signal; return the session.

    A first SIGINT/SIGTERM, wherever it lands (acquire, start, recording), cancels the block:
    the session then stops the recording it has, and this returns with ``interrupted`` True.
    If the stop was not confirmed, the command that stops the recording is printed on stderr.
    ``script`` (the demo's simulated channel) runs beside the recording with the session.
    """
    session = client.session(cname=cname, uid=uid, mode=mode, config=config, **session_options)
    async with drain_on_signals(client) as drain, session:
        assert session.handle is not None
        view.started(session.handle.sid)
        if announce_handle:
            # On stderr in every output mode: if this process dies, the handle can stop it.
            handle = json.dumps(handle_json(session.handle), separators=(",", ":"))
            Output.note(f"handle: {handle}")
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(view.follow, session)
            if script is not None:
                tasks.start_soon(script, session)
            if duration is not None:
                await anyio.sleep(duration)
            else:
                await session.wait()
            tasks.cancel_scope.cancel()
        view.note("stopping")
    view.observe(session.status, session.files)
    return session, drain.signalled is not None


def finish_session(
    out: Output,
    view: LiveView,
    session: RecordingSession,
    interrupted: bool,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    """Print how a recorded session ended; raise for a recording the service ended early."""
    if session.handle is None:
        raise CliError("interrupted before the recording started", EXIT_INTERRUPTED)
    outcome = session.outcome
    stop_outcome = session.stop_outcome
    stop_name = stop_outcome.value if stop_outcome is not None else "none"
    if out.as_json:
        document = stop_json(session.handle, session.result, stop_name)
        document["files"] = files_json(session.files)
        document["outcome"] = outcome.end_reason.value if outcome is not None else None
        document["interrupted"] = interrupted
        document["timeline"] = view.events
        document.update(extra or {})
        out.json(document)
    else:
        print_stop(out, session.result, stop_name.replace("_", " "))
        if session.result is None and session.files:
            print_files(out, session.files)
    if outcome is not None and outcome.failed:
        raise CliError(f"the recording ended early: {outcome.detail}", EXIT_FAILURE)


@click.command()
@recording_options
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Seconds.")
@click.option("--poll-interval", type=click.FloatRange(min=0.1), help="Seconds between queries.")
@click.option("--async-stop", is_flag=True, help="Stop without waiting for uploads.")
@connection_options
def record(
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
    duration: float | None,
    poll_interval: float | None,
    async_stop: bool,
    app_id: str | None,
    base_url: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Record until --duration passes or Ctrl-C, then stop cleanly and print the files.

    Exits 0 when the run completed, 130 after Ctrl-C (or SIGTERM) once the stop is confirmed.
    """
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
    client = make_client(app_id, base_url, region)
    options: dict[str, Any] = {"async_stop": async_stop}
    if app_certificate:  # the session mints the recorder's token (or checks --token)
        options["app_certificate"] = app_certificate
    if duration is not None:
        options["credentials"] = CredentialOptions(expected_duration=duration)
    if poll_interval is not None:
        options["poll_interval"] = poll_interval
        options["polling"] = PollingOptions(first_poll_delay=min(5.0, poll_interval))
    view = LiveView(out, title=f"Recording {cname!r} ({wire_mode.value})", duration=duration)

    async def go() -> tuple[RecordingSession, bool]:
        async with client:
            with view:
                return await run_session(
                    client,
                    view,
                    cname=cname,
                    uid=uid,
                    mode=wire_mode,
                    config=config,
                    duration=duration,
                    session_options=options,
                )

    session, interrupted = run_async(go)
    finish_session(out, view, session, interrupted)
    if interrupted:  # stopped cleanly, but not a completed run: scripts must tell them apart
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
