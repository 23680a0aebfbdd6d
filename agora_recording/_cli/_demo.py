"""``agora-recording demo``: a whole recording against the in-process emulator, offline.

The emulator runs in this process (`agora_recording.testing.emulated_client`, on the real
clock) with its status climb shortened to fit the demo: ``startup_delay`` is 30% of
``--duration`` (at most the emulator's usual 4 s), so status 0 -> 5 is visible. A script plays
a channel beside a real `RecordingSession`: users join and publish at fixed fractions of the
duration, so files appear while it records, and the recording is changed once (mix: a new
custom layout; individual: new subscriptions, which keep a late user's video out; web: paused
and resumed). After ``--duration`` the session stops, and the stop result and files are printed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import click

from agora_recording._session import RecordingSession
from agora_recording.enums import Mode
from agora_recording.models import (
    AudioUidList,
    ExtensionService,
    ExtensionServiceConfig,
    LayoutRegion,
    RecordingConfig,
    RecordingFileConfig,
    StartConfig,
    StorageConfig,
    StreamSubscribe,
    TranscodingConfig,
    UpdateConfig,
    UpdateLayoutConfig,
    VideoUidList,
    WebRecorderServiceParam,
    WebRecordingConfig,
)

from ._common import EXIT_INTERRUPTED, Output, run_async
from ._record import finish_session, run_session
from ._view import LiveView

if TYPE_CHECKING:
    from agora_recording.emulator import Channel

__all__ = ["demo"]

CNAME = "agora-demo"
RECORDER_UID = "999"
WEB_URL = "https://example.com/agora-recording-demo"

# Storage the emulator never contacts; the keys are placeholders, not credentials.
_STORAGE = StorageConfig(
    vendor=1,
    region=0,
    bucket="agora-demo-bucket",
    access_key="demo-access-key",
    secret_key="demo-secret-key",
    file_name_prefix=["demo"],
)

Action = Callable[[RecordingSession], "Awaitable[Any] | None"]


@attrs.frozen
class Step:
    """At ``at`` (a fraction of the duration), do ``action`` and say ``text``."""

    at: float
    text: str
    action: Action


def start_config(mode: Mode) -> StartConfig:
    """The start ``clientRequest`` of the demo in ``mode``."""
    if mode is Mode.WEB:
        param = WebRecorderServiceParam(
            url=WEB_URL, audio_profile=0, video_width=1280, video_height=720, max_recording_hour=1
        )
        service = ExtensionService(service_name="web_recorder_service", service_param=param)
        return StartConfig(
            storage_config=_STORAGE,
            extension_service_config=ExtensionServiceConfig(extension_services=[service]),
            recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
        )
    if mode.per_user:
        recording = RecordingConfig(
            channel_type=0, stream_types=2, subscribe_uid_group=0, max_idle_time=30
        )
        return StartConfig(storage_config=_STORAGE, recording_config=recording)
    transcoding = TranscodingConfig(
        width=640, height=360, fps=15, bitrate=500, mixed_video_layout=1
    )
    recording = RecordingConfig(
        channel_type=0, stream_types=2, max_idle_time=30, transcoding_config=transcoding
    )
    return StartConfig(
        storage_config=_STORAGE,
        recording_config=recording,
        recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
    )


def _custom_layout() -> UpdateLayoutConfig:
    regions = [
        LayoutRegion(uid="101", x_axis=0.0, y_axis=0.0, width=0.5, height=1.0),
        LayoutRegion(uid="102", x_axis=0.5, y_axis=0.0, width=0.5, height=0.5),
        LayoutRegion(uid="103", x_axis=0.5, y_axis=0.5, width=0.5, height=0.5),
    ]
    return UpdateLayoutConfig(
        mixed_video_layout=3, background_color="#1E1E1E", layout_config=regions
    )


def _publish(at: float, channel: Channel, uid: int, *, video: bool = True) -> Step:
    def act(_: RecordingSession) -> None:
        channel.publish(uid, audio=True, video=video)

    return Step(at, f"user {uid} publishes audio{' and video' if video else ''}", act)


def _steps(mode: Mode, channel: Channel) -> list[Step]:
    """What happens, at which fraction of the duration (the recorder starts at 0)."""
    if mode is Mode.WEB:
        return [
            Step(0.4, "web recording paused (onhold)", _onhold(True)),
            Step(0.7, "web recording resumed", _onhold(False)),
        ]
    if mode.per_user:
        subscribe = UpdateConfig(
            stream_subscribe=StreamSubscribe(
                audio_uid_list=AudioUidList(subscribe_audio_uids=["#allstream#"]),
                video_uid_list=VideoUidList(unsubscribe_video_uids=["103"]),
            )
        )
        return [
            _publish(0.1, channel, 101),
            _publish(0.25, channel, 102),
            Step(0.4, "subscriptions updated: no video from 103", _update(subscribe)),
            _publish(0.55, channel, 103),
        ]
    return [
        _publish(0.1, channel, 101),
        _publish(0.2, channel, 102),
        _publish(0.3, channel, 103, video=False),
        Step(0.5, "layout updated: custom, three regions", _layout(_custom_layout())),
    ]


def _onhold(onhold: bool) -> Callable[[RecordingSession], Awaitable[Any]]:
    config = UpdateConfig(web_recording_config=WebRecordingConfig(onhold=onhold))
    return lambda session: session.update(config)


def _update(config: UpdateConfig) -> Callable[[RecordingSession], Awaitable[Any]]:
    return lambda session: session.update(config)


def _layout(config: UpdateLayoutConfig) -> Callable[[RecordingSession], Awaitable[Any]]:
    return lambda session: session.update_layout(config)


@click.command()
@click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    default="mix",
    show_default=True,
    help="Recording mode: mix (composite), raw (individual), individual (legacy), or web.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to record.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document at the end.")
def demo(mode: str, duration: float, as_json: bool) -> None:
    """Record a simulated channel end to end against the built-in emulator (offline)."""
    from agora_recording._options import PollingOptions
    from agora_recording.emulator import SystemClock
    from agora_recording.testing import emulated_client

    out = Output(as_json=as_json)
    wire_mode = Mode(mode)
    view = LiveView(out, title=f"Demo: recording {CNAME!r} ({mode})", duration=duration)
    poll = min(0.5, max(0.1, duration / 40))
    options: dict[str, Any] = {
        "poll_interval": poll,
        "polling": PollingOptions(first_poll_delay=poll / 2),
    }

    async def go() -> tuple[Any, bool, list[int]]:
        service_options: dict[str, Any] = {
            "clock": SystemClock(),
            "startup_delay": min(4.0, 0.3 * duration),
            "exit_window": 1.0,
            "max_concurrent_recordings": None,
        }
        async with emulated_client(**service_options) as service:
            channel = service.channel(CNAME)
            with view:
                if wire_mode is not Mode.WEB:
                    channel.join(101)
                    view.note("user 101 joins the channel")
                steps = _steps(wire_mode, channel)

                async def script(session: RecordingSession) -> None:
                    began = anyio.current_time()
                    for step in steps:
                        await anyio.sleep_until(began + step.at * duration)
                        result = step.action(session)
                        if result is not None:
                            await result
                        view.note(step.text)

                session, interrupted = await run_session(
                    service.client,
                    view,
                    cname=CNAME,
                    uid=RECORDER_UID,
                    mode=wire_mode,
                    config=start_config(wire_mode),
                    duration=duration,
                    session_options=options,
                    script=script,
                    announce_handle=False,
                )
            sid = session.handle.sid if session.handle is not None else None
            return session, interrupted, service.emulator.event_types(sid)

    session, interrupted, events = run_async(go)
    finish_session(out, view, session, interrupted, extra={"notifications": events})
    if interrupted:  # the same exit status as ``record`` after Ctrl-C
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if not as_json:
        summary = ", ".join(str(e) for e in events)
        out.line(f"notifications: {len(events)} signed NCS events sent (types {summary})")
