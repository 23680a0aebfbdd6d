"""Stops that always land: against the emulator's faults, in virtual time, on Trio and asyncio."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from agora_recording import Mode, RecordingSession, StopOutcome
from agora_recording.errors import (
    RecordingFailedError,
    StopUnconfirmedError,
    UnconfirmedRecordingsError,
)
from agora_recording.models import RecordingHandle
from agora_recording.testing import EmulatedService, virtual_service

from tests.helpers import emulated_config
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(channel_type=0, max_idle_time=3600, files=["hls"])


@pytest.fixture
async def service() -> AsyncIterator[EmulatedService]:
    """The emulator on the loop clock with its quota on, and a client with its default limiter."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        yield service


async def started(service: EmulatedService, cname: str = "room") -> RecordingHandle:
    """Start a mix recording on a channel with a publisher and return its handle."""
    service.channel(cname).publish(7)
    acquired = await service.client.acquire(cname=cname, uid="999")
    assert acquired.resource_id is not None
    response = await service.client.start(
        acquired.resource_id, Mode.MIX, cname=cname, uid="999", config=CONFIG
    )
    await anyio.sleep(10)
    return response.handle


async def test_a_stop_during_failover_is_repeated_when_the_recording_comes_back(
    service: EmulatedService,
) -> None:
    """A stop that meets 404 during a failover is verified and sent again once it is back."""
    handle = await started(service)
    service.emulator.faults.failover(sid=handle.sid, duration=40)
    confirmation = await service.client.ensure_stopped(handle)
    assert confirmation.outcome is StopOutcome.STOPPED
    assert service.emulator.running_recordings() == []
    assert service.client.unconfirmed() == []


@pytest.mark.parametrize("duration", [95.0, 150.0])
async def test_a_failover_longer_than_its_documented_window_still_ends_stopped(
    service: EmulatedService, duration: float
) -> None:
    """A stop meeting a failover longer than 90 s keeps re-checking within its budget and stops
    the recording once it is back, instead of taking the 404 for its end."""
    handle = await started(service)
    service.emulator.faults.failover(sid=handle.sid, duration=duration)
    began = anyio.current_time()
    confirmation = await service.client.ensure_stopped(handle)
    assert confirmation.outcome is StopOutcome.STOPPED
    assert duration <= anyio.current_time() - began <= 180
    assert service.emulator.running_recordings() == []
    assert service.client.unconfirmed() == []


async def test_a_failover_outlasting_a_short_stop_budget_is_reported_unconfirmed(
    service: EmulatedService, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 that outlasts a stop budget shorter than the failover window is an unconfirmed
    stop: ERROR, kept in unconfirmed() and raised on close, never quietly taken for the end."""
    handle = await started(service)
    service.emulator.faults.failover(sid=handle.sid, duration=200)
    with pytest.raises(StopUnconfirmedError):
        await service.client.ensure_stopped(handle, stop_timeout=60)
    assert [entry.handle for entry in service.client.unconfirmed()] == [handle]
    assert any(r.levelno == logging.ERROR and handle.sid in r.getMessage() for r in caplog.records)
    with pytest.raises(UnconfirmedRecordingsError):
        await service.client.aclose()


async def test_a_recording_that_ended_unseen_is_taken_as_ended_after_the_whole_budget(
    service: EmulatedService, caplog: pytest.LogCaptureFixture
) -> None:
    """A recording whose exit nobody saw answers 404 for the whole stop budget: past twice the
    failover window it is taken as ended, with a WARNING, and the client closes quietly."""
    handle = await started(service)
    service.emulator.faults.die_after(0, sid=handle.sid)
    began = anyio.current_time()
    confirmation = await service.client.ensure_stopped(handle)
    took = anyio.current_time() - began
    assert confirmation.outcome is StopOutcome.ALREADY_GONE
    assert 170 <= took <= service.client.stop_timeout + 1  # the whole budget, no longer
    assert service.client.unconfirmed() == []
    assert any(
        r.levelno == logging.WARNING and "taken as ended" in r.getMessage() for r in caplog.records
    )


async def test_a_failover_outlasting_the_session_grace_still_ends_stopped(
    service: EmulatedService,
) -> None:
    """A session that gave the worker up after its grace still stops it when it comes back."""
    service.channel("long").publish(7)
    session = RecordingSession(
        service.client, cname="long", uid="999", mode=Mode.MIX, config=CONFIG, fail_fast=False
    )
    async with session:
        assert session.handle is not None
        await anyio.sleep(10)
        service.emulator.faults.failover(sid=session.handle.sid, duration=150)
        outcome = await session.wait()
    assert outcome.end_reason.value == "worker_lost"
    assert session.stop_outcome is StopOutcome.STOPPED
    assert service.emulator.running_recordings() == []


@pytest.mark.parametrize(
    "answer",
    [
        {"raw": b"<html><body>Bad gateway</body></html>", "content_type": "text/html"},
        {"raw": b'{"unexpected": true}', "content_type": "application/json"},
        {"raw": b"[" * 100_000 + b"]" * 100_000, "content_type": "application/json"},
    ],
    ids=["html", "wrong-shape", "deeply-nested"],
)
async def test_an_unreadable_200_to_stop_is_retried_not_final(
    service: EmulatedService, answer: dict[str, Any]
) -> None:
    """A 200 whose body is not the documented answer proves nothing: the stop is repeated."""
    handle = await started(service)
    service.emulator.faults.fail_next("stop", 200, **answer)
    confirmation = await service.client.ensure_stopped(handle)
    assert confirmation.outcome in (StopOutcome.STOPPED, StopOutcome.ALREADY_GONE)
    assert service.emulator.running_recordings() == []


async def test_a_long_retry_after_on_stop_is_honoured_within_the_budget(
    service: EmulatedService,
) -> None:
    """A 429 asking for an hour pauses the client (at most a minute) and the stop still lands."""
    handle = await started(service)
    service.emulator.faults.fail_next("stop", 429, retry_after=3600)
    began = anyio.current_time()
    confirmation = await service.client.ensure_stopped(handle)
    assert confirmation.outcome is StopOutcome.STOPPED
    assert 59 <= anyio.current_time() - began <= 62
    assert service.emulator.running_recordings() == []


async def test_a_stop_failing_under_outside_cancellation_is_logged_and_kept(
    service: EmulatedService, caplog: pytest.LogCaptureFixture
) -> None:
    """Cancelled from outside, a refused stop is not raised but logged at ERROR and listed."""
    caplog.set_level(logging.ERROR, logger="agora_recording")
    service.channel("room").publish(7)
    session = RecordingSession(
        service.client, cname="room", uid="999", mode=Mode.MIX, config=CONFIG
    )
    service.emulator.faults.fail_next("stop", 403, {"message": "forbidden"})
    with anyio.move_on_after(30) as scope:
        async with session:
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert isinstance(session.stop_error, StopUnconfirmedError)
    assert session.handle is not None
    assert [u.handle for u in service.client.unconfirmed()] == [session.handle]
    assert any(session.handle.sid in r.getMessage() for r in caplog.records)
    await service.client.ensure_stopped(session.handle)


async def test_closing_a_client_with_a_failed_stop_raises_and_logs_the_command() -> None:
    """aclose names each recording whose stop failed, with the command that stops it."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        handle = await started(service)
        service.emulator.faults.fail_next("stop", 403, {"message": "forbidden"})
        with pytest.raises(StopUnconfirmedError):
            await service.client.ensure_stopped(handle)
        with pytest.raises(UnconfirmedRecordingsError) as info:
            await service.client.aclose()
        assert [r.handle for r in info.value.recordings] == [handle]
        assert handle.sid in info.value.recordings[0].stop_command()
        assert "agora-recording stop" in info.value.recordings[0].stop_command()


async def test_a_stop_cut_short_is_reported_at_close_as_never_confirmed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stop cancelled between its attempts is logged at close as a stop never confirmed, at
    ERROR, not as a recording no stop was sent to."""
    caplog.set_level(logging.WARNING, logger="agora_recording")
    async with virtual_service(max_concurrent_recordings=None) as service:
        handle = await started(service)
        service.emulator.faults.fail_next("stop", 503, times=50)
        with anyio.move_on_after(5):
            await service.client.ensure_stopped(handle)
        await service.client.aclose()
    [line] = [r for r in caplog.records if handle.sid in r.getMessage() and "stop it" in r.msg]
    assert line.levelno == logging.ERROR
    assert "stop never confirmed" in line.getMessage()
    assert "stop interrupted" in line.getMessage()


async def test_a_query_outage_from_the_start_is_reported_as_an_outage(
    service: EmulatedService,
) -> None:
    """Queries failing from the start are an outage within outage_timeout, not a start timeout."""
    service.channel("dark").publish(7)
    service.emulator.faults.fail_for(900, "query", 503)
    session = RecordingSession(
        service.client, cname="dark", uid="999", mode=Mode.MIX, config=CONFIG
    )
    began = anyio.current_time()
    with pytest.raises(RecordingFailedError) as info:
        async with session:
            await anyio.sleep_forever()
    assert session.outcome is not None
    assert session.outcome.end_reason.value == "unobservable"
    assert "cannot be reached" in str(info.value)
    assert session.outcome is not None
    assert anyio.current_time() - began < 120 + 60 + 10  # the outage window plus one poll
    assert session.stop_outcome is StopOutcome.STOPPED
