"""Every misuse of the public API raises an AgoraError that is also the matching built-in."""

from __future__ import annotations

import enum

import agora_recording
import attrs
import pytest
from agora_recording import (
    AgoraError,
    ArgumentTypeError,
    ClientClosedError,
    Mode,
    PollingOptions,
    RecordingSession,
    UsageError,
    ValidationError,
)
from agora_recording.models import RecordingConfig
from agora_recording.testing import emulated_client

from tests.helpers import emulated_config

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(channel_type=0, max_idle_time=3600)


async def test_calls_after_aclose_raise_client_closed() -> None:
    """A closed client says so with an AgoraError that is still a RuntimeError."""
    async with emulated_client() as service:
        await service.client.aclose()
        with pytest.raises(ClientClosedError) as raised:
            await service.client.acquire(cname="room", uid="1")
        assert isinstance(raised.value, RuntimeError)
        assert isinstance(raised.value, AgoraError)


async def test_a_wrong_handle_type_is_an_argument_type_error() -> None:
    """``query("abc")`` is refused as an AgoraError that is still a TypeError."""
    async with emulated_client() as service:
        with pytest.raises(ArgumentTypeError) as raised:
            await service.client.query("abc")  # type: ignore[arg-type]
        assert isinstance(raised.value, TypeError)
        assert service.emulator.stats.requests() == 0


async def test_session_options_and_modes_are_validation_errors() -> None:
    """Bad session options and an unknown mode raise ValidationError naming the option."""
    async with emulated_client() as service:
        with pytest.raises(ValidationError) as raised:
            service.client.session(
                cname="r", uid="1", mode=Mode.MIX, config=CONFIG, poll_interval=0
            )
        assert raised.value.field == "poll_interval"
        with pytest.raises(ValidationError) as bad_mode:
            service.client.session(cname="r", uid="1", mode="foo", config=CONFIG)
        assert bad_mode.value.field == "mode"
        with pytest.raises(ValidationError):
            service.client.session(
                cname="r",
                uid="1",
                mode=Mode.MIX,
                config=CONFIG,
                polling=PollingOptions(max_poll_errors=0),
            )


async def test_entering_a_session_twice_is_a_usage_error() -> None:
    """A second ``async with`` on one session raises UsageError, a RuntimeError."""
    async with emulated_client(startup_delay=0) as service:
        service.channel("r").publish(7)
        session = service.client.session(cname="r", uid="1", mode=Mode.MIX, config=CONFIG)
        async with session:
            with pytest.raises(UsageError) as raised:
                await session.__aenter__()
            assert isinstance(raised.value, RuntimeError)
        with pytest.raises(UsageError):
            await session.update_layout(agora_recording.UpdateLayoutConfig())


async def test_an_invalid_start_config_sends_nothing() -> None:
    """A session whose start request breaks a documented rule fails before acquire is sent."""
    async with emulated_client() as service:
        bad = attrs.evolve(
            CONFIG, recording_config=RecordingConfig(channel_type=0, max_idle_time=1)
        )
        session = service.client.session(cname="r", uid="1", mode=Mode.MIX, config=bad)
        with pytest.raises(ValidationError) as raised:
            async with session:
                pass
        assert "maxIdleTime" in raised.value.field
        assert service.emulator.stats.requests() == 0


async def test_an_adopted_handle_must_be_a_handle() -> None:
    """``adopt`` of something that is not a RecordingHandle is an ArgumentTypeError."""
    async with emulated_client() as service:
        with pytest.raises(ArgumentTypeError):
            RecordingSession.adopt(service.client, {"sid": "x"})  # type: ignore[arg-type]


def _enums_of(model: type) -> set[type[enum.Enum]]:
    found: set[type[enum.Enum]] = set()
    for field in attrs.fields(model):
        for part in getattr(field.type, "__args__", ()) or (field.type,):
            inner = getattr(part, "__args__", None) or (part,)
            found.update(
                kind for kind in inner if isinstance(kind, type) and issubclass(kind, enum.Enum)
            )
    return found


def test_every_enum_of_an_exported_model_is_exported() -> None:
    """A user can name every enum the exported models use from the top-level package."""
    exported = {getattr(agora_recording, name) for name in agora_recording.__all__}
    used: set[type[enum.Enum]] = set()
    for thing in exported:
        if isinstance(thing, type) and attrs.has(thing):
            attrs.resolve_types(thing)  # string annotations onto the fields
            used |= _enums_of(thing)
    assert used  # the check sees the enums at all
    missing = sorted(kind.__name__ for kind in used if kind not in exported)
    assert missing == []
