"""Adopting a stored handle whose recording may have ended meanwhile, in virtual time.

A recording that ended while nobody watched answers ``query`` (and ``stop``) with 404, as one in
a high-availability failover does. By default the adopting session waits out the failover grace,
and its stop re-checks the 404 for the whole stop budget and then reports the recording
unconfirmed; ``assume_ended_on_404=True`` answers at the first 404. Every test runs under Trio
and (3.11+) asyncio on a virtual clock, against the emulator on the loop's clock.
"""

from __future__ import annotations

import anyio
import pytest
from agora_recording import (
    EndReason,
    Mode,
    Recorder,
    RecordingFailedError,
    RecordingHandle,
    RecordingResult,
    RecordingSession,
    RecordingStatus,
    StopOutcome,
    StopUnconfirmedError,
)
from agora_recording.testing import EmulatedService, virtual_service

from tests.helpers import emulated_config
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(channel_type=0, max_idle_time=3600, files=["hls"])


async def started(service: EmulatedService, cname: str = "room") -> RecordingHandle:
    """Start a recording of ``cname`` directly through the client, as another process would."""
    service.channel(cname).publish(7)
    acquired = await service.client.acquire(cname=cname, uid="99")
    assert acquired.resource_id is not None
    answer = await service.client.start(
        acquired.resource_id, Mode.MIX, cname=cname, uid="99", config=CONFIG
    )
    return answer.handle


async def ended(service: EmulatedService) -> RecordingHandle:
    """The handle of a recording that was stopped a minute ago, as a stored one may be."""
    handle = await started(service)
    await anyio.sleep(10)
    await service.client.stop(handle)
    await anyio.sleep(60)
    return handle


def running_sids(service: EmulatedService) -> set[str]:
    """The sids the emulator still records (and bills)."""
    return {info.sid for info in service.emulator.running_recordings()}


async def test_an_ended_recording_is_answered_at_once_with_assume_ended_on_404() -> None:
    """Adopted with assume_ended_on_404, an ended recording is reported ended within a second."""
    async with virtual_service() as service:
        handle = await ended(service)
        session = RecordingSession.adopt(service.client, handle, assume_ended_on_404=True)
        began = anyio.current_time()
        async with session:
            outcome = await session.wait()
        assert anyio.current_time() - began < 1.0
        assert outcome.end_reason is EndReason.WORKER_LOST
        assert outcome.error is not None
        assert "assume_ended_on_404" in outcome.detail
        assert session.stop_outcome is StopOutcome.ALREADY_GONE
        assert service.client.unconfirmed() == []


async def test_without_it_an_ended_recording_is_taken_as_ended_after_the_whole_budget() -> None:
    """By default a 404 proves nothing at once: the session waits out its failover grace, the
    stop re-checks the 404 for its whole budget (and no longer), and only then takes the
    recording as ended."""
    async with virtual_service() as service:
        handle = await ended(service)
        session = RecordingSession.adopt(service.client, handle)
        began = anyio.current_time()
        with pytest.raises(RecordingFailedError) as info:
            async with session:
                await anyio.sleep_forever()
        assert 90.0 + 170.0 <= anyio.current_time() - began <= 90.0 + 180.0 + 10.0
        assert service.emulator.stats.requests(endpoint="query") <= 10 + 14
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.WORKER_LOST
        assert "failover grace" in info.value.detail
        assert "adopted recording ended" in info.value.detail
        assert session.stop_outcome is StopOutcome.ALREADY_GONE
        assert service.client.unconfirmed() == []


async def test_a_live_recording_adopted_with_it_runs_and_stops_as_usual() -> None:
    """assume_ended_on_404 changes nothing for a recording that answers: polled, then stopped."""
    async with virtual_service() as service:
        handle = await started(service)
        await anyio.sleep(10)
        session = RecordingSession.adopt(service.client, handle, assume_ended_on_404=True)
        async with session:
            await anyio.sleep(60)
            assert session.status == RecordingStatus.IN_PROGRESS
            assert session.outcome is None
        assert session.stop_outcome is StopOutcome.STOPPED
        assert running_sids(service) == set()


async def test_the_risk_a_failover_taken_for_the_end_keeps_recording() -> None:
    """The documented risk: a recording in a failover is declared ended and left running."""
    async with virtual_service() as service:
        handle = await started(service)
        await anyio.sleep(10)
        service.emulator.faults.failover(sid=handle.sid, duration=60.0)
        session = RecordingSession.adopt(service.client, handle, assume_ended_on_404=True)
        async with session:
            outcome = await session.wait()
        assert outcome.end_reason is EndReason.WORKER_LOST
        assert session.stop_outcome is StopOutcome.ALREADY_GONE
        await anyio.sleep(90)  # the failover is over: the recording runs on, unwatched
        assert running_sids(service) == {handle.sid}
        await service.client.ensure_stopped(handle)
        assert running_sids(service) == set()


async def test_a_recorder_adopts_an_ended_recording_promptly() -> None:
    """Recorder.adopt(..., assume_ended_on_404=True) reports the ended recording at once."""
    results: list[RecordingResult[str]] = []
    told = anyio.Event()

    async def on_ended(key: str, result: RecordingResult[str]) -> None:
        results.append(result)
        told.set()

    async with virtual_service() as service:
        handle = await ended(service)
        async with Recorder[str](service.client, on_ended=on_ended) as recorder:
            began = anyio.current_time()
            await recorder.adopt("room", handle, assume_ended_on_404=True)
            await told.wait()
            assert anyio.current_time() - began < 1.0
        [result] = results
        assert result.outcome is not None
        assert result.outcome.end_reason is EndReason.WORKER_LOST
        assert isinstance(result.error, RecordingFailedError)
        assert result.stop_outcome is StopOutcome.ALREADY_GONE


async def test_ensure_stopped_takes_a_404_as_gone_when_told_to() -> None:
    """ensure_stopped(assume_ended_on_404=True) confirms a 404 at once; without it, not within
    a budget shorter than a failover may last."""
    async with virtual_service() as service:
        handle = await ended(service)
        began = anyio.current_time()
        prompt = await service.client.ensure_stopped(handle, assume_ended_on_404=True)
        assert anyio.current_time() - began < 1.0
        assert prompt.outcome is StopOutcome.ALREADY_GONE
        began = anyio.current_time()
        with pytest.raises(StopUnconfirmedError):
            await service.client.ensure_stopped(handle, stop_timeout=60)
        assert 60.0 <= anyio.current_time() - began <= 61.0  # the whole budget, no longer
        assert [entry.handle for entry in service.client.unconfirmed()] == [handle]
        await service.client.ensure_stopped(handle, assume_ended_on_404=True)
