"""RecordingSession against the in-process emulator, in virtual time.

Every test runs on a virtual clock (Trio's autojumping ``MockClock``, and asyncio with
``looptime`` on Python 3.11+): the emulator runs on a `LoopClock` that follows the event loop,
and the loop jumps to the next timer whenever every task waits, so minutes pass in
milliseconds. A `Recorder`, an httpx response hook on the client's HTTP client, counts the calls the
emulator answered per endpoint and ``sid`` and can hold an answer (after the emulator acted)
until the test lets it go, which is how cancellation is made to land inside a given request.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import httpx
import pytest
from agora_recording import (
    EndReason,
    PollingOptions,
    RateLimiter,
    RecordingClient,
    RecordingSession,
    RuntimeOptions,
    SessionOutcome,
    StopOutcome,
)
from agora_recording._journal import StartIntent
from agora_recording._session import _TRANSITIONS, _State
from agora_recording.emulator import Emulator, LoopClock
from agora_recording.enums import Mode, RecordingStatus, Scene
from agora_recording.errors import (
    BadRequestError,
    NotFoundError,
    RecordingFailedError,
    ServerError,
    StopUnconfirmedError,
    UnconfirmedRecordingsError,
    UsageError,
    ValidationError,
)
from agora_recording.models import (
    AcquireConfig,
    AppsCollection,
    AudioUidList,
    ExtensionServiceConfig,
    LayoutRegion,
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    StartConfig,
    StopResponse,
    StorageConfig,
    StreamSubscribe,
    UpdateConfig,
    UpdateLayoutConfig,
)
from agora_recording.testing import EmulatedService, emulated_client

from tests.helpers import web_recorder
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

STORAGE = StorageConfig(vendor=1, region=0, bucket="bucket", access_key="ak", secret_key="sk")


def mix_config(max_idle_time: int = 3600) -> StartConfig:
    """A minimal valid mix-mode start configuration."""
    return StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(channel_type=0, max_idle_time=max_idle_time),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
    )


# -- virtual time ----------------------------------------------------------------------------


class Timeline:
    """Virtual time: the event loop's clock (Trio's MockClock or looptime), which the
    emulator's `LoopClock` follows; it jumps ahead whenever every task waits."""

    def now(self) -> float:
        """The loop's time."""
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        """Sleep in virtual time."""
        await anyio.sleep(seconds)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass for everyone."""
        await anyio.sleep(seconds)


# -- counting and holding calls ----------------------------------------------------------------


@attrs.frozen
class Call:
    """One call that the emulator answered."""

    endpoint: str
    sid: str | None
    status: int
    body: dict[str, Any] | None


class Gate:
    """Holds one answer of an endpoint until `open` is called."""

    def __init__(self) -> None:
        self.reached = anyio.Event()
        self.opened = anyio.Event()

    def open(self) -> None:
        """Let the held answer go."""
        self.opened.set()


class Recorder:
    """An httpx response hook: logs each answered call and can hold an answer at a gate."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._gates: dict[str, Gate] = {}

    def hold(self, endpoint: str) -> Gate:
        """Hold the next answer of ``endpoint``, after the emulator acted on the request."""
        gate = self._gates[endpoint] = Gate()
        return gate

    def count(self, endpoint: str, sid: str | None = None) -> int:
        """How many calls of ``endpoint`` (for ``sid``, if given) the emulator answered."""
        return sum(
            1 for c in self.calls if c.endpoint == endpoint and (sid is None or c.sid == sid)
        )

    async def __call__(self, response: httpx.Response) -> None:
        request = response.request
        parts = request.url.path.split("/")
        endpoint = parts[-1]
        sid = parts[parts.index("sid") + 1] if "sid" in parts else None
        content = await response.aread()
        if endpoint == "start" and response.status_code == 200:
            sid = json.loads(content)["sid"]
        sent = json.loads(request.content) if request.content else None
        self.calls.append(Call(endpoint, sid, response.status_code, sent))
        gate = self._gates.pop(endpoint, None)
        if gate is not None:
            gate.reached.set()
            await gate.opened.wait()


# -- the kit ---------------------------------------------------------------------------------


@attrs.define
class Kit:
    """The emulated service (fake clock), a call recorder on its client, and virtual time."""

    service: EmulatedService
    recorder: Recorder
    timeline: Timeline
    _names: itertools.count[int] = attrs.field(factory=itertools.count)

    @property
    def client(self) -> RecordingClient:
        """The client wired to the emulator."""
        return self.service.client

    @property
    def emulator(self) -> Emulator:
        """The emulator."""
        return self.service.emulator

    def session(self, **options: Any) -> RecordingSession:
        """A mix session on a fresh channel with a publisher, on virtual time."""
        number = next(self._names)
        options.setdefault("cname", f"room{number}")
        options.setdefault("uid", str(1000 + number))
        options.setdefault("mode", Mode.MIX)
        options.setdefault("config", mix_config())
        options.setdefault(
            "runtime", RuntimeOptions(clock=self.timeline.now, sleep=self.timeline.sleep)
        )
        # the timelines below assert exact poll times
        options.setdefault("polling", PollingOptions(poll_jitter=0.0))
        if options.pop("publisher", True):
            self.service.channel(options["cname"]).publish(7)
        return RecordingSession(self.client, **options)

    def count(self, endpoint: str, session: RecordingSession | None = None) -> int:
        """Calls of ``endpoint`` the emulator answered (for ``session``'s sid, if given)."""
        sid = None
        if session is not None:
            assert session.handle is not None
            sid = session.handle.sid
        return self.recorder.count(endpoint, sid)


@asynccontextmanager
async def make_kit(**emulator_options: Any) -> AsyncIterator[Kit]:
    """A kit on an emulator with the given options (no quotas unless given), in virtual time."""
    emulator_options.setdefault("max_concurrent_recordings", None)
    async with emulated_client(clock=LoopClock(), **emulator_options) as service:
        recorder = Recorder()
        service.http_client.event_hooks["response"].append(recorder)
        yield Kit(service, recorder, Timeline())


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    """The emulated service without quotas, with a recorder on its HTTP client."""
    async with make_kit() as kit:
        yield kit


async def drive(
    kit: Kit, block: Callable[[], Awaitable[object]], *, advance: float
) -> Exception | None:
    """Run ``block`` to its end in virtual time (at most ``advance`` seconds); return its error."""
    raised: list[Exception] = []
    with anyio.fail_after(advance + 1):
        try:
            await block()
        except Exception as exc:
            raised.append(exc)
    return raised[0] if raised else None


def recording(
    kit: Kit, session: RecordingSession, seconds: float
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A block that records for ``seconds`` of virtual time."""

    async def block() -> None:
        async with session:
            await kit.timeline.sleep(seconds)

    return block


def forever(session: RecordingSession) -> Callable[[], Coroutine[Any, Any, None]]:
    """A block that records until something cancels it."""

    async def block() -> None:
        async with session:
            await anyio.sleep_forever()

    return block


def web_config() -> StartConfig:
    """A minimal valid web-page recording configuration."""
    service = web_recorder(url="https://example.com/class")
    return StartConfig(
        storage_config=STORAGE,
        extension_service_config=ExtensionServiceConfig(extension_services=[service]),
    )


# -- lifecycle and the one stop ----------------------------------------------------------------


@pytest.mark.anyio
async def test_normal_exit_stops_once(kit: Kit) -> None:
    """A session starts, polls, and on normal exit stops exactly once with the stop's answer."""
    session = kit.session()
    assert await drive(kit, recording(kit, session, 31), advance=40) is None
    assert kit.count("acquire") == 1
    assert kit.count("start", session) == 1
    assert kit.count("query", session) == 2  # at 5 s and 20 s; the block ends at 31 s
    assert kit.count("stop", session) == 1
    assert session.status == RecordingStatus.IN_PROGRESS
    assert isinstance(session.result, StopResponse)
    assert session.files == session.result.files != []
    assert session.stop_outcome is StopOutcome.STOPPED
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.STOPPED
    assert session.handle is not None
    assert session.handle.sid == session.result.sid


@pytest.mark.anyio
async def test_body_exception_comes_out_unchanged(kit: Kit) -> None:
    """The body's own exception leaves the block as itself, not in a group, after one stop."""
    session = kit.session()
    error = ValueError("boom")
    with pytest.raises(ValueError, match="boom") as info:
        async with session:
            raise error
    assert info.value is error
    assert kit.count("stop", session) == 1
    assert session.stop_outcome is StopOutcome.STOPPED


@pytest.mark.anyio
async def test_keyboard_interrupt_in_body_still_stops(kit: Kit) -> None:
    """A KeyboardInterrupt raised in the body propagates as itself after one stop."""
    session = kit.session()
    with pytest.raises(KeyboardInterrupt):
        async with session:
            raise KeyboardInterrupt
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_cancellation_from_outside_stops_once(kit: Kit) -> None:
    """Cancelling a scope around the block stops once and propagates as cancellation."""
    session = kit.session()
    with anyio.CancelScope() as scope:
        async with session:
            scope.cancel()
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_cancellation_during_acquire_starts_nothing(kit: Kit) -> None:
    """Cancellation inside acquire propagates at once: nothing is started, so nothing to stop."""
    session = kit.session()
    gate = kit.recorder.hold("acquire")
    scope = anyio.CancelScope()

    async def block() -> None:
        with scope:
            async with session:
                pytest.fail("the block must not be entered")

    async with anyio.create_task_group() as tg:
        tg.start_soon(block)
        await gate.reached.wait()
        scope.cancel()
    assert scope.cancelled_caught
    assert (kit.count("acquire"), kit.count("start"), kit.count("stop")) == (1, 0, 0)
    assert session.handle is None


@pytest.mark.anyio
async def test_cancellation_during_start_waits_for_sid_and_stops(kit: Kit) -> None:
    """Cancellation while start's answer is in flight: the sid is learnt, then stopped once."""
    session = kit.session()
    gate = kit.recorder.hold("start")
    scope = anyio.CancelScope()

    async def block() -> None:
        with scope:
            async with session:
                pytest.fail("the block must not be entered")

    async with anyio.create_task_group() as tg:
        tg.start_soon(block)
        await gate.reached.wait()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        assert kit.count("stop") == 0  # still waiting, shielded, for start's answer
        gate.open()
    assert scope.cancelled_caught
    assert session.handle is not None
    assert kit.count("start", session) == 1
    assert kit.count("stop", session) == 1
    info = kit.emulator.recording(session.handle.sid)
    assert info is not None
    assert not info.running


@pytest.mark.anyio
async def test_cancellation_during_poll_abandons_it_and_stops(kit: Kit) -> None:
    """Cancellation while a poll hangs: the poll is abandoned and stop is sent at once."""
    session = kit.session()
    gate = kit.recorder.hold("query")  # never opened: the poll hangs until cancelled
    scope = anyio.CancelScope()

    async def block() -> None:
        with scope:
            await forever(session)()

    async with anyio.create_task_group() as tg:
        tg.start_soon(block)
        await kit.timeline.advance(5)
        await gate.reached.wait()
        scope.cancel()
    assert scope.cancelled_caught
    assert kit.count("query", session) == 1
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_poll_in_flight_does_not_delay_a_normal_exit(kit: Kit) -> None:
    """A poll hanging when the body ends is abandoned; the stop goes out at once."""
    session = kit.session()
    gate = kit.recorder.hold("query")  # never opened
    assert await drive(kit, recording(kit, session, 10), advance=10) is None
    assert gate.reached.is_set()
    assert kit.count("query", session) == 1
    assert kit.count("stop", session) == 1
    assert session.stop_outcome is StopOutcome.STOPPED


@pytest.mark.anyio
async def test_cancellation_during_exit_stop_is_shielded(kit: Kit) -> None:
    """Cancellation landing during the exit's stop lets it finish, then propagates."""
    session = kit.session()
    gate = kit.recorder.hold("stop")
    scope = anyio.CancelScope()

    async def block() -> None:
        with scope:
            async with session:
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(block)
        await gate.reached.wait()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        gate.open()
    assert scope.cancelled_caught
    assert kit.count("stop", session) == 1
    assert session.stop_outcome is StopOutcome.STOPPED


@pytest.mark.anyio
async def test_cancellation_during_early_stop_is_not_sent_twice(kit: Kit) -> None:
    """Cancellation landing during stop() lets it finish; exit does not stop again."""
    session = kit.session()
    gate = kit.recorder.hold("stop")
    scope = anyio.CancelScope()

    async def block() -> None:
        with scope:
            async with session:
                await session.stop()
                pytest.fail("stop() must deliver the cancellation")

    async with anyio.create_task_group() as tg:
        tg.start_soon(block)
        await gate.reached.wait()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        gate.open()
    assert scope.cancelled_caught
    assert kit.count("stop", session) == 1
    assert isinstance(session.result, StopResponse)


@pytest.mark.anyio
async def test_start_failure_propagates_and_stops_nothing(kit: Kit) -> None:
    """A start refused with 400 raises that error unchanged and sends no stop."""
    kit.emulator.faults.fail_next("start", 400, {"code": 53, "reason": "task conflict"})
    session = kit.session()
    with pytest.raises(BadRequestError) as info:
        async with session:
            pytest.fail("the block must not be entered")
    assert type(info.value) is BadRequestError
    assert info.value.code == 53
    assert session.handle is None
    assert (kit.count("start"), kit.count("stop")) == (1, 0)


@pytest.mark.anyio
async def test_session_enters_only_once(kit: Kit) -> None:
    """Entering a session a second time is refused without sending anything."""
    session = kit.session()
    async with session:
        pass
    with pytest.raises(RuntimeError, match="only once"):
        async with session:
            pass
    assert kit.count("start") == 1


# -- failure detection -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_never_healthy_raises_after_start_timeout() -> None:
    """A recorder that is not at status 4/5 within start_timeout fails the session promptly."""
    async with make_kit(startup_delay=1000) as kit:
        session = kit.session()
        began = kit.timeline.now()
        error = await drive(kit, forever(session), advance=120)
        assert isinstance(error, RecordingFailedError)
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.START_TIMEOUT
        assert error is session.outcome.error
        assert error.handle == session.handle
        assert error.status == RecordingStatus.NOT_STARTED
        assert error.last_query is session.last_query is not None
        # Noticed at the first poll at or after 90 s: health polls every 10 s until healthy.
        assert kit.count("query", session) == 10
        assert kit.timeline.now() - began == pytest.approx(95, abs=0.01)  # 5 s + 9 * 10 s
        assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_not_found_beyond_failover_grace_raises(kit: Kit) -> None:
    """A recording that answers 404 for longer than failover_grace fails the session."""
    kit.emulator.faults.die_after(30)
    session = kit.session()
    error = await drive(kit, forever(session), advance=320)
    assert isinstance(error, RecordingFailedError)
    assert isinstance(error.cause, NotFoundError)
    assert error.__cause__ is error.cause
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.WORKER_LOST
    assert error.status == RecordingStatus.IN_PROGRESS  # the last status known
    # First 404 at 35 s; health polls every 10 s; death declared 90 s later (125 s): 12
    # polls. The stop's 404 is then re-checked with query for the whole stop budget, longer
    # than any documented failover, and only then taken for the end.
    assert error.handle is not None
    polls = [c for c in kit.recorder.calls if c.endpoint == "query" and c.sid == error.handle.sid]
    assert len(polls) > 12 + 10
    assert kit.count("stop", session) == 1
    assert session.stop_outcome is StopOutcome.ALREADY_GONE
    assert session.result is None
    assert kit.client.unconfirmed() == []


@pytest.mark.anyio
async def test_not_found_within_grace_is_failover_and_recovers(kit: Kit) -> None:
    """404s for a minute (high-availability failover) are tolerated; the session goes on."""
    kit.emulator.faults.failover(after=30, duration=60)
    session = kit.session()
    assert await drive(kit, recording(kit, session, 150), advance=150) is None
    not_found = [c for c in kit.recorder.calls if c.endpoint == "query" and c.status == 404]
    assert len(not_found) == 6  # 35, then health polls every 10 s: 45, 55, 65, 75, 85 s
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.STOPPED
    assert session.status == RecordingStatus.IN_PROGRESS
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_status_20_raises() -> None:
    """Status 20 (exited abnormally) fails the session at the next poll."""
    async with make_kit(exit_window=30) as kit:
        kit.emulator.faults.abnormal_exit(after=25)
        session = kit.session()
        error = await drive(kit, forever(session), advance=40)
        assert isinstance(error, RecordingFailedError)
        assert error.status == RecordingStatus.EXITED_ABNORMALLY
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.EXITED_ABNORMALLY
        assert kit.count("query", session) == 3
        assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_idle_exit_raises() -> None:
    """The service leaving an empty channel after maxIdleTime fails the session."""
    async with make_kit(exit_window=30) as kit:
        session = kit.session(config=mix_config(max_idle_time=30), publisher=False)
        error = await drive(kit, forever(session), advance=60)
        assert isinstance(error, RecordingFailedError)
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.SERVICE_EXIT
        assert error.status in (6, 7, 8)
        assert kit.count("stop", session) == 1
        assert session.stop_outcome in (StopOutcome.ALREADY_EXITING, StopOutcome.ALREADY_GONE)


@pytest.mark.anyio
async def test_web_recorder_exit_raises(kit: Kit) -> None:
    """A web recorder service reporting state "exit" fails the session at that poll."""
    exited = {
        "serverResponse": {
            "status": 5,
            "extensionServiceState": [
                {
                    "serviceName": "web_recorder_service",
                    "payload": {"fileList": [], "onhold": False, "state": "exit"},
                }
            ],
        }
    }
    kit.emulator.faults.fail_next("query", 200, exited)
    session = kit.session(mode=Mode.WEB, config=web_config())
    error = await drive(kit, forever(session), advance=10)
    assert isinstance(error, RecordingFailedError)
    assert "web recorder" in error.detail
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.SERVICE_EXIT
    assert kit.count("query", session) == 1
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_web_max_recording_hour_exit_is_seen_as_an_exit_not_a_lost_worker() -> None:
    """A poll lands just after maxRecordingHour, so the web exit is named as such, promptly."""
    async with make_kit(exit_window=3) as kit:
        session = kit.session(mode=Mode.WEB, config=web_config(), poll_interval=600)
        began = kit.timeline.now()
        error = await drive(kit, forever(session), advance=3700)
        assert isinstance(error, RecordingFailedError)
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.SERVICE_EXIT
        assert kit.timeline.now() - began < 3600 + 10


@pytest.mark.anyio
async def test_wait_returns_the_outcome_of_a_service_exit() -> None:
    """wait() returns how the service ended the recording, and nothing is raised for it."""
    async with make_kit(exit_window=30) as kit:
        session = kit.session(config=mix_config(max_idle_time=30), publisher=False)
        outcomes: list[SessionOutcome] = []

        async def block() -> None:
            async with session:
                outcomes.append(await session.wait())

        assert await drive(kit, block, advance=60) is None
        [outcome] = outcomes
        assert outcome is session.outcome
        assert outcome.end_reason is EndReason.SERVICE_EXIT
        assert outcome.failed
        assert isinstance(outcome.error, RecordingFailedError)
        assert outcome.last_query is session.last_query
        assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_fail_fast_false_records_without_cancelling() -> None:
    """With fail_fast=False a failure is recorded, the body runs on and nothing is raised."""
    async with make_kit(exit_window=30) as kit:
        kit.emulator.faults.abnormal_exit(after=25)
        session = kit.session(fail_fast=False)
        # The stop at 60 s meets a 404 (the task is gone), which is verified for 90 s more.
        assert await drive(kit, recording(kit, session, 60), advance=170) is None
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.EXITED_ABNORMALLY
        answered = [c for c in kit.recorder.calls if c.endpoint == "query" and c.status == 200]
        assert len(answered) == 3  # polling ends with the failure
        assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_transient_poll_errors_are_counted_not_fatal(kit: Kit) -> None:
    """Polls failing with 5xx (after the client's retries) are counted and tolerated."""
    session = kit.session()

    async def block() -> None:
        async with session:
            await kit.timeline.sleep(10)
            kit.emulator.faults.fail_next("query", 504, times=6)  # two polls, three tries each
            await kit.timeline.sleep(50)

    assert await drive(kit, block, advance=60) is None
    assert session.poll_errors == 2
    assert session.polls == 3  # 5 s; 20 and 30 s fail; a health poll at 40 s, then 55 s
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.STOPPED


@pytest.mark.anyio
async def test_persistent_poll_errors_fail_the_session(kit: Kit) -> None:
    """max_poll_errors failed polls in a row count as losing the recording."""
    session = kit.session(polling=PollingOptions(poll_jitter=0.0, max_poll_errors=3))
    kit.emulator.faults.fail_next("query", 500, times=100)
    error = await drive(kit, forever(session), advance=60)
    assert isinstance(error, RecordingFailedError)
    assert isinstance(error.cause, ServerError)
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.UNOBSERVABLE
    assert session.poll_errors == 3
    assert kit.count("stop", session) == 1


# -- our own queue never counts against the health windows -------------------------------------
#
# A client whose quota gives one slot every 40 s (a tiny rate, or one taken up by others' starts)
# holds every poll back for up to 40 s, and every retry of a poll as long again. The recording
# is healthy at 80 s (the start waits for the second slot, at 40 s).


def answered_at(kit: Kit) -> list[tuple[float, str, int]]:
    """A log of (time, endpoint, status) of every answer, filled in as the kit's client runs."""
    log: list[tuple[float, str, int]] = []

    async def hook(response: httpx.Response) -> None:
        endpoint = response.request.url.path.rsplit("/", 1)[-1]
        log.append((anyio.current_time(), endpoint, response.status_code))

    kit.service.http_client.event_hooks["response"].append(hook)
    return log


@pytest.mark.anyio
async def test_two_brief_failovers_seen_through_a_slow_queue_are_not_a_lost_worker() -> None:
    """404s 120 s apart, seen only by polls that each waited 30 s for the quota, are not 90 s of
    failover: two failovers of a minute each end, and the healthy recording goes on."""
    async with make_kit(client_options={"rate_limit": RateLimiter(1 / 40)}) as kit:
        log = answered_at(kit)
        began = anyio.current_time()
        kit.emulator.faults.failover(after=110, duration=60)  # 150-210 s
        kit.emulator.faults.failover(after=180, duration=65)  # 220-285 s
        session = kit.session()
        assert await drive(kit, recording(kit, session, 400), advance=1000) is None
    queries = [(round(at - began), status) for at, endpoint, status in log if endpoint == "query"]
    # The health polls after the first 404 (at 160 s) go 10 s later and wait 30 s for a slot:
    # 30 s of service time until the 404 at 280 s, which an old judge counted as 120 s.
    assert queries[:6] == [(80, 200), (160, 404), (200, 404), (240, 404), (280, 404), (320, 200)]
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.STOPPED
    assert session.stop_outcome is StopOutcome.STOPPED


@pytest.mark.anyio
async def test_two_failed_polls_that_mostly_queued_are_not_an_outage() -> None:
    """Two polls failing in a row 120 s apart, of which 110 s were spent waiting for the quota,
    are 10 s of service time, not an outage: the next poll's answer ends the run."""
    async with make_kit(client_options={"rate_limit": RateLimiter(1 / 40)}) as kit:
        log = answered_at(kit)
        began = anyio.current_time()
        session = kit.session()

        async def block() -> None:
            async with session:
                await kit.timeline.sleep(50)  # healthy at 80 s
                kit.emulator.faults.fail_next("query", 503, times=6)  # two polls, three tries
                await kit.timeline.sleep(400)

        assert await drive(kit, block, advance=1000) is None
    failed = [round(at - began) for at, endpoint, status in log if status == 503]
    assert failed == [160, 200, 240, 280, 320, 360]  # the polls failed at 240 s and 360 s
    assert session.poll_errors == 2
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.STOPPED


@pytest.mark.anyio
async def test_a_real_outage_is_caught_after_outage_timeout_of_service_time() -> None:
    """A query outage with polls held back by the quota fails the session once the failed
    polls have lasted outage_timeout (120 s) of service time, their queueing not counted."""
    async with make_kit(client_options={"rate_limit": RateLimiter(1 / 40)}) as kit:
        session = kit.session(polling=PollingOptions(poll_jitter=0.0, max_poll_errors=100))

        async def block() -> None:
            async with session:
                await kit.timeline.sleep(50)  # healthy at 80 s
                kit.emulator.faults.fail_for(5000, "query", 503)
                await anyio.sleep_forever()

        error = await drive(kit, block, advance=5000)
    assert isinstance(error, RecordingFailedError)
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.UNOBSERVABLE
    # Each failed poll adds its 10 s of health interval (its tries wait 110 s for the quota):
    # the 13th failed poll is the first 120 s of service time after the first.
    assert session.poll_errors == 13
    assert "over 120 s" in error.detail


@pytest.mark.anyio
async def test_default_jitter_delays_the_first_poll_by_up_to_a_second() -> None:
    """By default the first poll waits first_poll_delay plus a random share of 1 s."""
    async with make_kit() as kit:
        session = kit.session(
            polling=PollingOptions(first_poll_delay=5),
            poll_interval=15,
            runtime=RuntimeOptions(
                clock=kit.timeline.now, sleep=kit.timeline.sleep, random=lambda: 0.75
            ),
        )

        async with anyio.create_task_group() as tg:
            tg.start_soon(recording(kit, session, 30))
            await kit.timeline.advance(5.7)
            assert kit.count("query", session) == 0
            await kit.timeline.advance(0.1)  # 5.8 s: past 5 + 0.75 * min(1, 15 / 10)
            assert kit.count("query", session) == 1
            await kit.timeline.advance(15)  # later polls keep the plain interval
            assert kit.count("query", session) == 2
            await kit.timeline.advance(30)
        assert kit.count("stop", session) == 1


@pytest.mark.parametrize("jitter", [-0.5, float("nan")])
def test_negative_poll_jitter_is_refused(jitter: float) -> None:
    """A negative (or NaN) poll_jitter is a ValueError naming the option, where it is written."""
    with pytest.raises(ValueError, match="poll_jitter"):
        PollingOptions(poll_jitter=jitter)


# -- observation and control -------------------------------------------------------------------


@pytest.mark.anyio
async def test_status_changes_iterator_and_callback() -> None:
    """Every status change reaches the on_status callback and each iterator, which end at exit."""
    async with make_kit(startup_delay=20) as kit:
        called: list[RecordingStatus | int] = []
        iterated: list[RecordingStatus | int] = []
        session = kit.session(
            on_status=called.append,
            polling=PollingOptions(first_poll_delay=1, poll_jitter=0.0),
            poll_interval=3,
        )

        async def consume() -> None:
            async for status in session.status_changes():
                iterated.append(status)

        async def block() -> None:
            async with anyio.create_task_group() as tg, session:
                tg.start_soon(consume)
                await kit.timeline.sleep(30)

        assert await drive(kit, block, advance=30) is None
        assert called == [0, 1, 2, 3, 4, 5]
        assert iterated == called
        late = [status async for status in session.status_changes()]
        assert late == []  # subscribing after exit ends at once


@pytest.mark.anyio
async def test_failing_status_callback_does_not_stop_polling(kit: Kit) -> None:
    """An on_status callback that raises is logged and ignored; polling goes on."""
    seen: list[RecordingStatus | int] = []

    def callback(status: RecordingStatus | int) -> None:
        seen.append(status)
        raise RuntimeError("callback bug")

    session = kit.session(on_status=callback)
    assert await drive(kit, recording(kit, session, 40), advance=40) is None
    assert seen == [RecordingStatus.IN_PROGRESS]
    assert session.polls == 3
    assert session.outcome is not None
    assert session.outcome.end_reason is EndReason.STOPPED


@pytest.mark.anyio
async def test_late_subscriber_gets_the_current_status_first(kit: Kit) -> None:
    """A subscription starts with the status known at that moment."""
    session = kit.session()

    async def block() -> None:
        async with session:
            await kit.timeline.sleep(10)
            async with session.status_changes() as changes:
                assert await changes.__anext__() == RecordingStatus.IN_PROGRESS

    assert await drive(kit, block, advance=10) is None


@pytest.mark.anyio
async def test_update_and_update_layout_while_recording(kit: Kit) -> None:
    """update() and update_layout() reach the running recording."""
    session = kit.session()
    subscribe = StreamSubscribe(audio_uid_list=AudioUidList(subscribe_audio_uids=["7"]))
    layout = UpdateLayoutConfig(
        mixed_video_layout=3,
        layout_config=[LayoutRegion(uid="7", x_axis=0, y_axis=0, width=1, height=1)],
    )
    async with session:
        assert session.handle is not None
        updated = await session.update(UpdateConfig(stream_subscribe=subscribe))
        assert updated.sid == session.handle.sid
        laid_out = await session.update_layout(layout)
        assert laid_out.sid == session.handle.sid
    assert kit.count("update", session) == 1
    assert kit.count("updateLayout", session) == 1
    [call] = [c for c in kit.recorder.calls if c.endpoint == "updateLayout"]
    assert call.status == 200
    assert call.body is not None
    assert call.body["clientRequest"]["mixedVideoLayout"] == 3
    with pytest.raises(RuntimeError):
        await session.update(UpdateConfig(stream_subscribe=subscribe))


@pytest.mark.anyio
async def test_early_stop_is_idempotent(kit: Kit) -> None:
    """Concurrent and repeated stop() calls send one request and share its answer."""
    session = kit.session()
    results: list[StopResponse | None] = []

    async def stop() -> None:
        results.append(await session.stop())

    async with session:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(stop)
        await stop()
        outcome = await session.wait()
    assert kit.count("stop", session) == 1
    assert len(results) == 4
    assert results[0] is not None
    assert all(result is results[0] for result in results)
    assert session.result is results[0]
    assert outcome.end_reason is EndReason.STOPPED
    assert not outcome.failed


# -- stop outcomes -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stop_with_no_recorded_data_is_a_result(kit: Kit) -> None:
    """206/435 (nobody published) is recorded as an outcome, not raised."""
    session = kit.session(publisher=False)
    async with session:
        pass
    assert session.stop_outcome is StopOutcome.NO_RECORDED_DATA
    assert session.result is None
    assert session.stop_error is None


@pytest.mark.anyio
async def test_stop_already_exiting_is_a_result(kit: Kit) -> None:
    """400/49 (already exiting) is recorded as an outcome, not raised."""
    kit.emulator.faults.fail_next("stop", 400, {"code": 49, "reason": "invalid operation"})
    session = kit.session()
    async with session:
        pass
    assert session.stop_outcome is StopOutcome.ALREADY_EXITING
    assert session.result is None


@pytest.mark.anyio
async def test_a_404_to_stop_is_verified_and_the_stop_repeated(kit: Kit) -> None:
    """A 404 to stop while the recording still runs (failover) is re-checked and stopped again."""
    kit.emulator.faults.fail_next("stop", 404, {"code": 404, "reason": "failed to find worker"})
    session = kit.session()
    async with session:
        pass
    assert session.stop_outcome is StopOutcome.STOPPED
    assert isinstance(session.result, StopResponse)
    assert kit.count("stop", session) == 2
    assert kit.emulator.running_recordings() == []
    assert kit.client.unconfirmed() == []


@pytest.mark.anyio
async def test_a_404_held_through_a_short_stop_budget_stays_unconfirmed(kit: Kit) -> None:
    """A stop that meets only 404s re-checks for its whole budget, then, with a budget shorter
    than a failover may last, is reported unconfirmed."""
    kit.emulator.faults.die_after(10)
    session = kit.session(fail_fast=False, stop_timeout=60)
    sent: list[float] = []

    async def block() -> None:
        async with session:
            await kit.timeline.sleep(20)
            sent.append(kit.timeline.now())

    assert isinstance(await drive(kit, block, advance=300), StopUnconfirmedError)
    assert session.stop_outcome is StopOutcome.FAILED
    assert 60 <= kit.timeline.now() - sent[0] <= 61  # the whole budget, no longer
    assert session.handle is not None
    assert [entry.handle for entry in kit.client.unconfirmed()] == [session.handle]
    with pytest.raises(UnconfirmedRecordingsError):
        await kit.client.aclose()


@pytest.mark.anyio
async def test_a_refused_stop_is_raised_and_stays_unconfirmed(kit: Kit) -> None:
    """A stop the service refuses is raised from the block, and the handle stays listed."""
    kit.emulator.faults.fail_next("stop", 400, {"code": 2, "reason": "injected"})
    session = kit.session()
    with pytest.raises(StopUnconfirmedError) as info:
        async with session:
            pass
    assert info.value is session.stop_error
    assert isinstance(info.value.last_error, BadRequestError)
    assert session.stop_outcome is StopOutcome.FAILED
    assert [u.handle for u in kit.client.unconfirmed()] == [session.handle]
    assert session.handle is not None
    await kit.client.ensure_stopped(session.handle)  # what an operator does next
    assert kit.client.unconfirmed() == []


@pytest.mark.anyio
async def test_a_burst_of_503s_on_stop_is_outlasted(kit: Kit) -> None:
    """Twenty seconds of 503s on stop do not abandon it: the stop keeps trying and lands."""
    session = kit.session()
    async with session:
        kit.emulator.faults.fail_for(20, "stop", 503)
    assert session.stop_outcome is StopOutcome.STOPPED
    assert kit.count("stop", session) > 3
    assert kit.emulator.running_recordings() == []


@pytest.mark.anyio
async def test_a_stop_that_never_lands_raises_after_its_budget(kit: Kit) -> None:
    """A stop failing for longer than stop_timeout raises, names the handle, stays listed."""
    session = kit.session(stop_timeout=60)

    async def block() -> None:
        async with session:
            kit.emulator.faults.fail_for(600, "stop", 503)

    await kit.timeline.sleep(1)
    began = kit.timeline.now()
    error = await drive(kit, block, advance=120)
    assert isinstance(error, StopUnconfirmedError)
    assert 55 <= kit.timeline.now() - began <= 70
    assert error.handle == session.handle
    assert [u.handle for u in kit.client.unconfirmed()] == [session.handle]
    await kit.timeline.sleep(600)
    assert session.handle is not None
    await kit.client.ensure_stopped(session.handle)
    assert kit.emulator.running_recordings() == []


@pytest.mark.anyio
async def test_failed_stop_after_failed_body_is_attached(kit: Kit) -> None:
    """A failed stop does not mask the body's exception; it is attached to it."""
    kit.emulator.faults.fail_next("stop", 400, {"code": 2, "reason": "injected"})
    session = kit.session()
    with pytest.raises(ValueError, match="boom") as info:
        async with session:
            raise ValueError("boom")
    assert isinstance(session.stop_error, StopUnconfirmedError)
    if sys.version_info >= (3, 11):
        assert any("stop" in note for note in info.value.__notes__)
    assert session.handle is not None
    await kit.client.ensure_stopped(session.handle)


# -- acquire, adoption, many sessions ----------------------------------------------------------


@pytest.mark.anyio
async def test_acquire_scene_follows_the_mode(kit: Kit) -> None:
    """Web recording acquires scene 1, postponed individual scene 2, keeping user options."""
    postponed = StartConfig(
        storage_config=STORAGE,
        recording_config=RecordingConfig(channel_type=0, subscribe_uid_group=0),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
        apps_collection=AppsCollection(combination_policy="postpone_transcoding"),
    )
    sessions = [
        kit.session(mode=Mode.WEB, config=web_config()),
        kit.session(
            mode=Mode.INDIVIDUAL,
            config=postponed,
            acquire_config=AcquireConfig(resource_expired_hour=24),
        ),
        kit.session(),
    ]
    for session in sessions:
        async with session:
            pass
    acquires = [c.body for c in kit.recorder.calls if c.endpoint == "acquire"]
    requests = [body["clientRequest"] if body else None for body in acquires]
    assert requests == [
        {"scene": Scene.WEB},
        {"scene": Scene.POSTPONED, "resourceExpiredHour": 24},
        {},
    ]
    assert all(kit.count("stop", session) == 1 for session in sessions)
    with pytest.raises(ValueError, match="scene"):
        async with kit.session(
            mode=Mode.WEB, config=web_config(), acquire_config=AcquireConfig(scene=0)
        ):
            pass


@pytest.mark.anyio
async def test_adopt_polls_at_once_and_stops(kit: Kit) -> None:
    """An adopted recording is polled at once and stopped on exit, with no acquire or start."""
    kit.service.channel("adopted").publish(7)
    acquired = await kit.client.acquire(cname="adopted", uid="77")
    assert acquired.resource_id is not None
    started = await kit.client.start(
        acquired.resource_id, Mode.MIX, cname="adopted", uid="77", config=mix_config()
    )
    await kit.timeline.advance(10)
    session = RecordingSession.adopt(
        kit.client,
        started.handle,
        runtime=RuntimeOptions(clock=kit.timeline.now, sleep=kit.timeline.sleep),
    )
    async with session:
        await anyio.wait_all_tasks_blocked()
        assert session.status == RecordingStatus.IN_PROGRESS
        assert session.handle == started.handle
    assert (kit.count("acquire"), kit.count("start")) == (1, 1)
    assert kit.count("query", session) == 1
    assert kit.count("stop", session) == 1
    assert session.stop_outcome is StopOutcome.STOPPED


@pytest.mark.anyio
async def test_client_session_builds_a_session(kit: Kit) -> None:
    """RecordingClient.session() returns a RecordingSession on that client."""
    session = kit.client.session(cname="room", uid="5", mode=Mode.MIX, config=mix_config())
    assert isinstance(session, RecordingSession)
    assert "cname='room'" in repr(session)
    assert "sk" not in repr(session)


@pytest.mark.anyio
async def test_five_hundred_sessions_on_one_client(kit: Kit) -> None:
    """500 concurrent sessions on one client each start, poll and stop exactly once."""
    sessions = [kit.session() for _ in range(500)]
    async with anyio.create_task_group() as tg:
        for session in sessions:
            tg.start_soon(recording(kit, session, 10))
        await kit.timeline.advance(10)
    per_sid = Counter((c.endpoint, c.sid) for c in kit.recorder.calls)
    for session in sessions:
        assert session.handle is not None
        sid = session.handle.sid
        assert per_sid["start", sid] == 1
        assert per_sid["query", sid] == 1
        assert per_sid["stop", sid] == 1
        assert session.stop_outcome is StopOutcome.STOPPED
    assert len({session.handle.sid for session in sessions if session.handle}) == 500


@pytest.mark.anyio
async def test_session_logs_reprs_and_errors_leak_no_secret(
    kit: Kit, caplog: pytest.LogCaptureFixture
) -> None:
    """A session at DEBUG with every secret set, a failed poll and a failed stop leaks none."""
    caplog.set_level("DEBUG")
    secrets = ["RTC-TOKEN-SENTINEL", "ACCESS-SENTINEL", "SECRET-KEY-SENTINEL", "STS-SENTINEL"]
    secrets += ["DECRYPT-SENTINEL", "c2FsdC1zZW50aW5lbC1zYWx0LXNlbnRpbmVsLXNhbHQtMDE="]
    base = mix_config()
    assert base.recording_config is not None
    config = attrs.evolve(
        base,
        token=secrets[0],
        storage_config=StorageConfig(
            vendor=1,
            region=0,
            bucket="bucket",
            access_key=secrets[1],
            secret_key=secrets[2],
            sts_token=secrets[3],
            sts_expiration=1893456000,
        ),
        recording_config=attrs.evolve(
            base.recording_config, decryption_mode=7, secret=secrets[4], salt=secrets[5]
        ),
    )
    session = kit.session(config=config)
    kit.emulator.faults.fail_next("query", 500, times=3)
    kit.emulator.faults.fail_next("stop", 400, {"code": 2, "reason": "injected"})
    error = await drive(kit, recording(kit, session, 31), advance=40)
    assert isinstance(error, StopUnconfirmedError)
    assert isinstance(error.last_error, BadRequestError)
    assert session.poll_errors == 1
    assert session.handle is not None
    await kit.client.ensure_stopped(session.handle)
    texts = [repr(session), repr(session.outcome), repr(session.handle), str(error), repr(error)]
    texts += [record.getMessage() + repr(record.__dict__) for record in caplog.records]
    assert any(record.levelname == "DEBUG" for record in caplog.records)
    for text in texts:
        for secret in secrets:
            assert secret not in text


# -- the state machine -------------------------------------------------------------------------


def state_of(session: RecordingSession) -> _State:
    """The session's state now (a function, so each read is a fresh one to type checkers)."""
    return session._state


def _reachable(start: _State) -> set[_State]:
    seen, todo = {start}, [start]
    while todo:
        for following in _TRANSITIONS[todo.pop()]:
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def test_every_state_is_reachable_and_every_path_closes() -> None:
    """The transition table has no dead end: each state is reached from NEW and reaches
    CLOSED, which is final, so a session that started always has a way to its stop."""
    assert _reachable(_State.NEW) == set(_State)
    assert all(_State.CLOSED in _reachable(state) for state in _State)
    assert _TRANSITIONS[_State.CLOSED] == frozenset()
    started = _reachable(_State.RUNNING)  # once recording, CLOSED only through a stop
    assert all(_State.STOPPING in _reachable(s) for s in started - {_State.STOPPED, _State.CLOSED})


@pytest.mark.anyio
async def test_a_move_outside_the_table_is_refused(kit: Kit) -> None:
    """A state change the table does not allow is a bug of ours and fails loudly."""
    session = kit.session()
    with pytest.raises(AssertionError, match="new -> running"):
        session._move(_State.RUNNING)
    assert state_of(session) is _State.NEW


class _StartWatch:
    """A journal that records the session's state when the start is written down, and what
    update() and stop() said then."""

    def __init__(self, session: RecordingSession) -> None:
        self.session = session
        self.states: list[_State] = []
        self.refusals: list[Exception] = []

    async def begin(self, intent: StartIntent) -> None:
        self.states.append(state_of(self.session))
        for call in (lambda: self.session.update(UpdateConfig()), self.session.stop):
            try:
                await call()
            except UsageError as exc:
                self.refusals.append(exc)

    async def started(self, intent: StartIntent, handle: RecordingHandle) -> None:
        self.states.append(state_of(self.session))

    async def refused(self, intent: StartIntent) -> None:
        self.states.append(state_of(self.session))

    async def unresolved(self, intent: StartIntent) -> None:
        self.states.append(state_of(self.session))


@pytest.mark.anyio
async def test_a_recording_moves_new_starting_running_stopping_stopped_closed(kit: Kit) -> None:
    """Each state of a normal life is the one the session is in, and each refuses what it
    must: update() and stop() while starting, update() once stopping or stopped."""
    session = kit.session()
    watch = _StartWatch(session)
    session.journal_to(watch)
    assert state_of(session) is _State.NEW
    gate = kit.recorder.hold("stop")
    async with session:
        assert state_of(session) is _State.RUNNING
        async with anyio.create_task_group() as tg:
            tg.start_soon(session.stop)
            await gate.reached.wait()
            assert state_of(session) is _State.STOPPING
            with pytest.raises(UsageError, match="has been stopped"):
                await session.update(UpdateConfig())
            gate.open()
        assert state_of(session) is _State.STOPPED
    assert state_of(session) is _State.CLOSED
    assert watch.states == [_State.STARTING, _State.STARTING]
    assert [str(e) for e in watch.refusals] == [
        "the recording is still starting: update it inside the block",
        "the recording has not been started",
    ]
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_a_refused_start_moves_starting_to_closed(kit: Kit) -> None:
    """A start the service refused closes the session without a stop: nothing runs."""
    kit.emulator.faults.fail_next("start", 400, {"code": 53, "reason": "task conflict"})
    session = kit.session()
    watch = _StartWatch(session)
    session.journal_to(watch)
    with pytest.raises(BadRequestError):
        async with session:
            pass
    assert watch.states == [_State.STARTING, _State.STARTING]
    assert state_of(session) is _State.CLOSED
    assert kit.count("stop") == 0


@pytest.mark.anyio
async def test_a_recording_the_service_ended_is_ended_then_stopped() -> None:
    """A failure seen with fail_fast=False moves RUNNING to ENDED; exit still stops it."""
    async with make_kit(exit_window=30) as kit:
        kit.emulator.faults.abnormal_exit(after=25)
        session = kit.session(fail_fast=False)

        async def block() -> None:
            async with session:
                await session.wait()
                assert state_of(session) is _State.ENDED
                # still allowed (not stopped yet): refused for its empty body, not its state
                with pytest.raises(ValidationError, match="clientRequest"):
                    await session.update(UpdateConfig())

        error = await drive(kit, block, advance=40)
    assert error is None
    assert state_of(session) is _State.CLOSED
    assert session.stop_outcome is not None
    assert kit.count("stop", session) == 1


@pytest.mark.anyio
async def test_an_adopted_recording_stopped_before_entering_cannot_be_entered(kit: Kit) -> None:
    """NEW -> STOPPING -> STOPPED for a handle stopped without entering; entering is refused."""
    kit.service.channel("adopted").publish(7)
    acquired = await kit.client.acquire(cname="adopted", uid="77")
    assert acquired.resource_id is not None
    started = await kit.client.start(
        acquired.resource_id, Mode.MIX, cname="adopted", uid="77", config=mix_config()
    )
    session = RecordingSession.adopt(kit.client, started.handle)
    await session.stop()
    assert state_of(session) is _State.STOPPED
    assert (await session.wait()).end_reason is EndReason.STOPPED
    with pytest.raises(UsageError, match="only once"):
        async with session:
            pass
    assert kit.count("stop") == 1
