"""Sessions fed by Agora's notifications (NCS), in virtual time: the emulator POSTs signed events
to a real `NotificationReceiver`, whose hub the client's sessions follow."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from agora_recording import EndReason, Mode, RecordingSession, RecordingStatus, StopOutcome
from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET
from agora_recording.errors import (
    OrphanedStartError,
    RecordingFailedError,
    UnconfirmedRecordingsError,
)
from agora_recording.models import (
    StartConfig,
)
from agora_recording.testing import EmulatedService, virtual_service
from agora_recording.webhooks import EventType, Notification, NotificationHub, NotificationReceiver

from tests.helpers import emulated_config, web_config
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio


def config(max_idle_time: int = 3600) -> StartConfig:
    """A mix configuration with the given maxIdleTime."""
    return emulated_config(channel_type=0, max_idle_time=max_idle_time, files=["hls"])


class Counted:
    """Counts the queries the emulator answered."""

    def __init__(self) -> None:
        self.queries = 0

    async def __call__(self, response: httpx.Response) -> None:
        if response.request.url.path.endswith("/query"):
            self.queries += 1


@asynccontextmanager
async def service_with_events(
    *, events: bool = True, **options: Any
) -> AsyncIterator[tuple[EmulatedService, NotificationHub, Counted]]:
    """The emulator on the loop clock, delivering notifications to a receiver and its hub; the
    client's sessions follow the hub when ``events``."""
    hub = NotificationHub()
    receiver = NotificationReceiver(hub, DEFAULT_NOTIFICATION_SECRET)
    client_options = {"notifications": hub} if events else {}
    async with virtual_service(
        max_concurrent_recordings=None,
        notification_app=receiver,
        client_options=client_options,
        **options,
    ) as service:
        counted = Counted()
        service.http_client.event_hooks["response"].append(counted)
        yield service, hub, counted


async def test_an_idle_exit_is_seen_within_a_second_of_its_event() -> None:
    """An idle exit reaches the session from its notification, not at the next poll."""
    async with service_with_events(exit_window=3) as (service, _hub, _counted):
        channel = service.channel("idle")
        channel.publish(7)
        session = RecordingSession(
            service.client,
            cname="idle",
            uid="999",
            mode=Mode.MIX,
            config=config(max_idle_time=300),
            poll_interval=600,
        )
        gone: list[float] = []

        async def block() -> None:
            async with session:
                await anyio.sleep(60)
                channel.leave(7)
                gone.append(anyio.current_time())
                await anyio.sleep_forever()

        with pytest.raises(RecordingFailedError, match="maxIdleTime"):
            await block()
        assert session.outcome is not None
        assert session.outcome.end_reason is EndReason.SERVICE_EXIT
        seen = anyio.current_time() - gone[0] - 300
        assert 0 <= seen < 1.5


async def test_an_abnormal_exit_is_seen_within_a_second_of_its_event() -> None:
    """An abnormal exit reaches the session from its notification, named as such, at once."""
    async with service_with_events(exit_window=3) as (service, _hub, _counted):
        service.channel("sick").publish(7)
        service.emulator.faults.abnormal_exit(after=100)
        session = RecordingSession(
            service.client, cname="sick", uid="9", mode=Mode.MIX, config=config(), fail_fast=False
        )
        async with session:
            began = anyio.current_time()
            outcome = await session.wait()
        assert outcome.end_reason is EndReason.EXITED_ABNORMALLY
        assert 100 <= anyio.current_time() - began < 101.5


async def test_a_web_max_recording_hour_end_is_seen_from_its_event() -> None:
    """A web recording reaching maxRecordingHour ends its session at once, named as such."""
    async with service_with_events(exit_window=3) as (service, _hub, counted):
        session = RecordingSession(
            service.client,
            cname="page",
            uid="9",
            mode=Mode.WEB,
            config=web_config(),
            fail_fast=False,
        )
        async with session:
            began = anyio.current_time()
            outcome = await session.wait()
        assert outcome.end_reason is EndReason.SERVICE_EXIT
        assert "maxRecordingHour" in outcome.detail
        assert 3600 <= anyio.current_time() - began < 3601
        assert counted.queries <= 3  # polls are only the 30-minute safety net


async def test_a_session_fed_by_events_still_learns_its_status_from_one_poll() -> None:
    """Notifications carry no status, so one routine poll gives it; then events cover the polls."""
    async with service_with_events() as (service, _hub, counted):
        service.channel("shown").publish(7)
        session = RecordingSession(
            service.client, cname="shown", uid="9", mode=Mode.MIX, config=config()
        )
        async with session:
            await anyio.sleep(session.effective_poll_interval + 5)
            assert session.status is RecordingStatus.IN_PROGRESS
            queries = counted.queries
            await anyio.sleep(1200)
            assert counted.queries == queries  # the safety net is 30 minutes away


async def test_events_cut_queries_tenfold_for_a_fleet() -> None:
    """Fed by events, 40 half-hour recordings need at least 10x fewer queries than polling."""
    counts = {}
    for events in (False, True):
        async with service_with_events(events=events) as (service, _hub, counted):

            async def one(index: int, service: EmulatedService = service) -> None:
                service.channel(f"room{index}").publish(7)
                async with RecordingSession(
                    service.client, cname=f"room{index}", uid="9", mode=Mode.MIX, config=config()
                ):
                    await anyio.sleep(1800)

            async with anyio.create_task_group() as group:
                for index in range(40):
                    group.start_soon(one, index)
            assert service.emulator.running_recordings() == []
            counts[events] = counted.queries
    assert counts[False] >= 10 * counts[True]


async def test_dropped_notifications_fall_back_to_polling() -> None:
    """With every notification lost, the session polls as usual and still sees the exit."""
    async with service_with_events(exit_window=3) as (service, _hub, counted):
        service.emulator.faults.drop_notifications(times=None)
        service.channel("dark").publish(7)
        session = RecordingSession(
            service.client, cname="dark", uid="9", mode=Mode.MIX, config=config(), fail_fast=False
        )
        async with session:
            await anyio.sleep(120)
            assert counted.queries >= 8  # every 15 s, as without notifications
        assert session.stop_outcome is StopOutcome.STOPPED


async def test_duplicated_and_reordered_notifications_change_nothing() -> None:
    """Duplicated, delayed and out-of-order deliveries still give one clean exit outcome."""
    async with service_with_events(exit_window=3) as (service, _hub, _counted):
        service.emulator.faults.duplicate_notifications(times=None)
        service.emulator.faults.reorder_notifications(times=5)
        service.emulator.faults.delay_notifications(20, times=3)
        channel = service.channel("noisy")
        channel.publish(7)
        session = RecordingSession(
            service.client,
            cname="noisy",
            uid="9",
            mode=Mode.MIX,
            config=config(max_idle_time=60),
            fail_fast=False,
        )
        async with session:
            await anyio.sleep(30)
            channel.leave(7)
            outcome = await session.wait()
        assert outcome.end_reason is EndReason.SERVICE_EXIT
        assert service.emulator.running_recordings() == []


@pytest.mark.parametrize("trial", range(100))
async def test_a_lost_start_answer_is_recovered_and_the_orphan_stopped(trial: int) -> None:
    """Whichever way the start answer is lost, the orphan is found from events and stopped."""
    rng = random.Random(trial)
    async with service_with_events() as (service, _hub, _counted):
        service.channel("lost").publish(7)
        faults = service.emulator.faults
        kind = rng.choice(["drop", "504", "206"])
        if kind == "drop":
            faults.drop_connection("start", after_processing=True)
        elif kind == "504":
            faults.fail_next("start", 504, after_processing=True)
        else:
            faults.fail_next("start", 206, {"code": 65}, after_processing=True)
        faults.add_latency(rng.uniform(0, 3), "start", times=1)
        session = RecordingSession(
            service.client, cname="lost", uid="9", mode=Mode.MIX, config=config()
        )
        with pytest.raises(OrphanedStartError) as info:
            async with session:
                pytest.fail("the session must not start twice")
        assert info.value.stopped
        assert info.value.handle is not None
        assert service.emulator.running_recordings() == []
        assert service.client.unconfirmed() == []


async def test_a_lost_start_answer_without_notifications_names_the_orphan() -> None:
    """Without a hub, the error names the resource, channel and uid of the orphan."""
    async with service_with_events(events=False) as (service, _hub, _counted):
        service.channel("lost").publish(7)
        service.emulator.faults.drop_connection("start", after_processing=True)
        session = RecordingSession(
            service.client, cname="lost", uid="9", mode=Mode.MIX, config=config()
        )
        with pytest.raises(OrphanedStartError) as info:
            async with session:
                pytest.fail("unreachable")
        assert not info.value.stopped
        assert "'lost'" in str(info.value)
        assert "uid 9" in str(info.value)
        assert len(service.emulator.running_recordings()) == 1
        [left] = service.client.unconfirmed()
        assert (left.sid, left.cname, left.uid) == (None, "lost", "9")
        with pytest.raises(UnconfirmedRecordingsError):
            await service.client.aclose()


async def test_after_the_exit_event_a_404_to_stop_confirms_it_at_once() -> None:
    """Once the service announced the exit (an event of the session's own sid), the stop's 404
    confirms it: the block ends within a second of the event, not after minutes of re-checks."""
    async with service_with_events() as (service, _hub, _counted):
        service.channel("gone").publish(7)
        service.emulator.faults.die_after(100)
        session = RecordingSession(
            service.client, cname="gone", uid="9", mode=Mode.MIX, config=config(), fail_fast=False
        )
        async with session:
            began = anyio.current_time()
            outcome = await session.wait()
            announced = anyio.current_time()
        assert outcome.end_reason is EndReason.EXITED_ABNORMALLY
        assert 99 <= announced - began < 101
        assert anyio.current_time() - announced < 1.0
        assert session.stop_outcome is StopOutcome.ALREADY_GONE
        assert service.client.unconfirmed() == []


async def test_a_late_exit_of_the_previous_recording_does_not_end_the_next() -> None:
    """The previous recording's session_exit on the same cname and uid, arriving while the next
    one starts, is not this session's news: the new recording records on and stops as usual."""
    async with service_with_events() as (service, hub, _counted):
        service.channel("same").publish(7)
        late = Notification(
            notice_id="late-exit",
            event_type=EventType.SESSION_EXIT,
            notify_ms=1,
            sid="the-previous-sid",
            payload={"cname": "same", "uid": "9", "details": {"exitStatus": 1}},
        )

        async def deliver_late_exit(request: httpx.Request) -> None:
            if request.url.path.endswith("/start"):
                hub.publish(late)

        service.http_client.event_hooks["request"].append(deliver_late_exit)
        session = RecordingSession(
            service.client, cname="same", uid="9", mode=Mode.MIX, config=config()
        )
        async with session:
            await anyio.sleep(60)
            assert session.outcome is None
            assert session.status == RecordingStatus.IN_PROGRESS
        assert session.stop_outcome is StopOutcome.STOPPED
        assert service.emulator.running_recordings() == []
