"""The README's usage, type-checked by ``mypy --strict`` (CI runs it on ``tests/``); never run.

A line that must *not* type-check carries ``# type: ignore[code]``: with ``warn_unused_ignores``
(part of ``--strict``) mypy fails if that line ever becomes acceptable.
"""

from __future__ import annotations

import json

from agora_recording import (
    AgoraError,
    CombinationPolicy,
    ContainerFormat,
    ErrorHandlePolicy,
    Mode,
    Recorder,
    RecordingClient,
    RecordingHandle,
    RecordingResult,
    RecordingSession,
    RecordingStatus,
    RegionAffinity,
    RunningSession,
    ServiceName,
    StartConfig,
    StopOutcome,
    TrackType,
    TransMode,
    converter,
)
from typing_extensions import assert_type

CONFIG: StartConfig = StartConfig()


async def handle_inside_the_block(client: RecordingClient) -> str:
    """``session.handle`` is not optional inside the block, and a return there is a return."""
    async with client.session(cname="room", uid="1", mode=Mode.MIX, config=CONFIG) as session:
        assert_type(session, RunningSession)
        assert_type(session.handle, RecordingHandle)
        return session.handle.sid


async def after_the_block(client: RecordingClient) -> StopOutcome | None:
    """The session keeps its results after exit."""
    session = client.session(cname="room", uid="1", mode=Mode.MIX, config=CONFIG, poll_interval=30)
    async with session:
        pass
    assert_type(session.handle, RecordingHandle | None)
    assert_type(session.status, RecordingStatus | None)
    if session.status is not None:
        print(session.status.name)
    return session.stop_outcome


async def adopt_a_saved_handle(client: RecordingClient, saved: str) -> None:
    """The worker pattern: a handle saved as JSON is adopted after a restart."""
    handle = converter.structure(json.loads(saved), RecordingHandle)
    async with RecordingSession.adopt(client, handle, poll_interval=60) as session:
        assert_type(session.handle.sid, str)
        await session.wait()


def options_are_checked() -> None:
    """Misspelled options are type errors, not silently accepted keyword arguments."""
    client = RecordingClient.from_env(region="eu", timeout=5.0)
    client.session(cname="r", uid=1, mode="mix", config=CONFIG, pol_interval=3)  # type: ignore[call-arg]
    RecordingClient.from_env(timout=5.0)  # type: ignore[call-arg]
    handle = RecordingHandle(resource_id="r", sid="s", mode=Mode.MIX, cname="c", uid="1")
    RecordingSession.adopt(client, handle, first_poll=1)  # type: ignore[call-arg]


async def recorder_usage(client: RecordingClient) -> list[str]:
    """The recorder's keys, handles and results keep the types given."""

    async def save(key: str, handle: RecordingHandle) -> None: ...

    async with Recorder[str](client, on_started=save) as recorder:
        handle = await recorder.start("room", cname="room", uid="1", mode=Mode.MIX, config=CONFIG)
        assert_type(handle, RecordingHandle)
        result = await recorder.stop("room")
        assert_type(result, RecordingResult[str])
        assert_type(result.error, Exception | None)
        return list(recorder)


async def the_low_level_client(client: RecordingClient) -> str:
    """acquire -> start -> query -> stop with the values each call returns, no narrowing."""
    acquired = await client.acquire(cname="room", uid="1")
    assert_type(acquired.resource_id, str)
    started = await client.start(
        acquired.resource_id, Mode.MIX, cname="room", uid="1", config=CONFIG
    )
    handle = started.handle
    assert_type(handle.mode, Mode)
    query = await client.query(handle)
    assert_type(query.status, RecordingStatus | None)
    status = query.status
    name = "absent" if status is None else status.name.lower()
    await client.stop(handle)
    return name


def every_error_is_an_agora_error(error: AgoraError) -> str:
    """One except clause catches everything the library raises."""
    return str(error)


ENUMS = (
    CombinationPolicy,
    ContainerFormat,
    ErrorHandlePolicy,
    RegionAffinity,
    ServiceName,
    TrackType,
    TransMode,
)
