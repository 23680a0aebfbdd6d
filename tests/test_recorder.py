"""`Recorder`: many recordings under the app's keys, each failure kept to itself."""

from __future__ import annotations

import anyio
import pytest
from agora_recording import (
    AgoraError,
    AuthenticationError,
    DuplicateKeyError,
    EndReason,
    Mode,
    Recorder,
    RecordingFailedError,
    RecordingHandle,
    RecordingResult,
    StopOutcome,
    StopUnconfirmedError,
    UnknownKeyError,
    UsageError,
    ValidationError,
)
from agora_recording.models import RecordingConfig, StartConfig
from agora_recording.testing import EmulatedService, virtual_service

from tests.helpers import emulated_config
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

CONFIG = emulated_config(channel_type=0, max_idle_time=3600)


class Store:
    """What an app persists: the handles of running recordings, and the results that ended."""

    def __init__(self, service: EmulatedService) -> None:
        self.service = service
        self.handles: dict[str, RecordingHandle] = {}
        self.ended: dict[str, RecordingResult[str]] = {}
        self.running_when_saved: dict[str, bool] = {}

    async def save(self, key: str, handle: RecordingHandle) -> None:
        running = {info.sid for info in self.service.emulator.running_recordings()}
        self.running_when_saved[key] = handle.sid in running
        self.handles[key] = handle

    async def forget(self, key: str, result: RecordingResult[str]) -> None:
        self.handles.pop(key, None)
        self.ended[key] = result


async def start(recorder: Recorder[str], service: EmulatedService, key: str) -> RecordingHandle:
    service.channel(key).publish(7)
    return await recorder.start(key, cname=key, uid="999", mode=Mode.MIX, config=CONFIG)


def running_sids(service: EmulatedService) -> set[str]:
    return {info.sid for info in service.emulator.running_recordings()}


async def test_a_dead_recording_is_kept_and_its_siblings_record_on() -> None:
    """One recording of five dies: its failure is kept and reported, the others run and stop."""
    # The exit is reported for 30 s, so a poll sees it and the stop's 404 then confirms it.
    async with virtual_service(max_concurrent_recordings=None, exit_window=30) as service:
        store = Store(service)
        async with Recorder[str](
            service.client, on_started=store.save, on_ended=store.forget
        ) as recorder:
            handles = {key: await start(recorder, service, key) for key in "abcde"}
            assert store.handles == handles  # persisted before start() returned
            assert all(store.running_when_saved.values())
            service.emulator.faults.abnormal_exit(sid=handles["c"].sid, after=30)
            await anyio.sleep(300)

            assert sorted(recorder) == ["a", "b", "d", "e"]
            assert "c" not in recorder
            assert recorder.get("c") is None
            dead = recorder.result("c")
            assert dead is not None
            assert store.ended["c"] is dead
            assert isinstance(dead.error, RecordingFailedError)
            assert dead.outcome is not None
            assert dead.outcome.failed
            assert dead.outcome.end_reason in (EndReason.EXITED_ABNORMALLY, EndReason.WORKER_LOST)
            assert not dead.ok
            assert await recorder.stop("c") is dead  # ended by itself: its result, no error
            assert running_sids(service) == {handles[k].sid for k in "abde"}

            stopped = await recorder.stop("a")
            assert stopped.ok
            assert stopped.stop_outcome is StopOutcome.STOPPED
            assert stopped.handle == handles["a"]
            assert len(recorder) == 3
        assert running_sids(service) == set()
        assert sorted(store.ended) == list("abcde")
        assert store.handles == {}
        assert all(store.ended[k].ok for k in "abde")


async def test_a_stop_that_fails_is_a_result_and_the_others_are_unaffected() -> None:
    """A stop never confirmed comes back as the result's error; siblings still record and stop."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        async with Recorder[str](service.client) as recorder:
            for key in ("left", "right"):
                await start(recorder, service, key)
            service.channel("bad").publish(7)
            session = service.client.session(
                cname="bad", uid="999", mode=Mode.MIX, config=CONFIG, stop_timeout=60
            )
            bad = await recorder.run("bad", session)
            service.emulator.faults.fail_for(200, "stop", 503)

            result = await recorder.stop("bad")
            assert isinstance(result.error, StopUnconfirmedError)
            assert result.stop_outcome is StopOutcome.FAILED
            assert not result.ok
            assert sorted(recorder) == ["left", "right"]
            assert recorder.get("left") is not None
            await anyio.sleep(200)  # the outage ends; the app stops the orphan itself
            await service.client.ensure_stopped(bad)
        assert running_sids(service) == set()
        assert service.client.unconfirmed() == []


async def test_a_failed_start_raises_to_its_caller_only() -> None:
    """A start the service refuses raises from start(); nothing is kept, the recorder goes on."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        async with Recorder[str](service.client) as recorder:
            await start(recorder, service, "ok")
            service.emulator.faults.fail_next("acquire", 401)
            with pytest.raises(AuthenticationError):
                await start(recorder, service, "refused")
            assert "refused" not in recorder
            assert recorder.result("refused") is None
            await start(recorder, service, "later")
            assert sorted(recorder) == ["later", "ok"]
        assert running_sids(service) == set()


async def test_an_invalid_config_sends_no_request() -> None:
    """A start config the service would refuse fails before acquire is sent."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        bad = StartConfig(
            storage_config=CONFIG.storage_config,
            recording_config=RecordingConfig(channel_type=0, max_idle_time=1),
        )
        async with Recorder[str](service.client) as recorder:
            with pytest.raises(ValidationError):
                await recorder.start("k", cname="k", uid="1", mode=Mode.MIX, config=bad)
        assert service.emulator.stats.requests() == 0


async def test_a_failing_persistence_hook_stops_the_recording() -> None:
    """When the handle cannot be saved, the recording is stopped and start() raises why."""

    async def broken(key: str, handle: RecordingHandle) -> None:
        raise OSError("database down")

    async with virtual_service(max_concurrent_recordings=None) as service:
        async with Recorder[str](service.client, on_started=broken) as recorder:
            with pytest.raises(OSError, match="database down"):
                await start(recorder, service, "k")
            assert len(recorder) == 0
            assert len(service.emulator.recordings()) == 1
        assert running_sids(service) == set()


async def test_keys_are_unique_and_misuse_is_an_agora_error() -> None:
    """A key in use, an unknown key and a recorder not entered raise AgoraError subclasses."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        recorder = Recorder[str](service.client)
        with pytest.raises(UsageError):
            await start(recorder, service, "k")
        async with recorder:
            await start(recorder, service, "k")
            with pytest.raises(DuplicateKeyError):
                await start(recorder, service, "k")
            with pytest.raises(UnknownKeyError) as unknown:
                await recorder.stop("nope")
            assert isinstance(unknown.value, KeyError)
            assert isinstance(unknown.value, AgoraError)
            with pytest.raises(KeyError):
                recorder["nope"]
            assert recorder["k"].handle is not None
        assert running_sids(service) == set()


async def test_an_exception_in_the_block_still_stops_everything() -> None:
    """Leaving the recorder by an exception cancels its sessions, which stop on their way out."""
    async with virtual_service(max_concurrent_recordings=None) as service:

        async def crash() -> None:
            async with Recorder[str](service.client) as recorder:
                for key in ("x", "y"):
                    await start(recorder, service, key)
                raise LookupError("the app crashed")

        with pytest.raises(LookupError):
            await crash()
        assert running_sids(service) == set()
        assert service.client.unconfirmed() == []


async def test_a_saved_handle_is_adopted_after_a_restart() -> None:
    """A handle persisted by one recorder is taken over by the next and stopped by it."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        service.channel("room").publish(7)
        started = await service.client.start(
            (await service.client.acquire(cname="room", uid="999")).resource_id or "",
            Mode.MIX,
            cname="room",
            uid="999",
            config=CONFIG,
        )
        async with Recorder[str](service.client) as recorder:
            handle = await recorder.adopt("room", started.handle)
            assert handle == started.handle
            assert "room" in recorder
            await anyio.sleep(60)
            assert "room" in recorder
        assert running_sids(service) == set()
        result = recorder.result("room")
        assert result is not None
        assert result.ok


async def test_a_stop_during_start_waits_for_the_recording_and_stops_it() -> None:
    """stop() called while start() is still in flight stops the recording once it started."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        results: list[RecordingResult[str]] = []
        service.emulator.faults.add_latency(5, "acquire", times=1)
        async with Recorder[str](service.client) as recorder, anyio.create_task_group() as group:
            group.start_soon(start, recorder, service, "k")
            await anyio.sleep(1)  # start() has reserved the key and is acquiring
            assert "k" in recorder
            results.append(await recorder.stop("k"))
        assert results[0].ok
        assert running_sids(service) == set()


async def test_a_stop_during_a_failed_start_says_so() -> None:
    """stop() of a key whose start fails meanwhile raises UnknownKeyError, not a hang."""
    async with virtual_service(max_concurrent_recordings=None) as service:
        service.emulator.faults.fail_next("acquire", 401)
        service.emulator.faults.add_latency(5, "acquire", times=1)
        async with Recorder[str](service.client) as recorder:

            async def doomed() -> None:
                with pytest.raises(AuthenticationError):
                    await start(recorder, service, "k")

            async with anyio.create_task_group() as group:
                group.start_soon(doomed)
                await anyio.sleep(1)
                with pytest.raises(UnknownKeyError):
                    await recorder.stop("k")
        assert running_sids(service) == set()
