"""NotificationHub: dedupe, per-sid ordering, routing by sid and (cname, uid), unclaimed events."""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any

import anyio
import pytest
import trio.testing
from agora_recording import webhooks
from agora_recording.errors import AgoraError

_ids = itertools.count()


def note(
    sequence: int | None,
    *,
    sid: str | None = "sid-1",
    cname: str = "room",
    uid: str = "99",
    event_type: int = 40,
    notice_id: str | None = None,
    notify_ms: int = 1_000,
) -> webhooks.Notification:
    """A parsed cloud-recording notification with a fresh notice ID unless one is given."""
    payload: dict[str, Any] = {"cname": cname, "uid": uid, "details": {"msgName": "x"}}
    if sid is not None:
        payload["sid"] = sid
    if sequence is not None:
        payload["sequence"] = sequence
    envelope: dict[str, Any] = {
        "noticeId": notice_id if notice_id is not None else f"n{next(_ids)}",
        "productId": 3,
        "eventType": event_type,
        "notifyMs": notify_ms,
        "payload": payload,
    }
    if sid is not None:
        envelope["sid"] = sid
    return webhooks.parse(envelope)


def drain(stream: webhooks.Subscription) -> list[webhooks.Notification]:
    """Everything a stream holds right now, in delivery order."""
    out = []
    while (item := stream.receive_nowait()) is not None:
        out.append(item)
    return out


def sequences(notes: list[webhooks.Notification]) -> list[int | None]:
    """The payload sequence numbers of ``notes``."""
    return [n.sequence for n in notes]


MOCK_TRIO = pytest.param(
    ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock"
)


@pytest.mark.anyio
async def test_a_sid_subscription_iterates_its_events_in_order() -> None:
    """A subscriber by sid gets that recording's events, in sequence order, and no others."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(sid="sid-1") as events:
        for seq in range(3):
            hub.publish(note(seq))
        hub.publish(note(0, sid="sid-2"))
        got = [await events.__anext__() for _ in range(3)]
        assert events.pending == 0
    assert sequences(got) == [0, 1, 2]
    assert {n.sid for n in got} == {"sid-1"}


@pytest.mark.anyio
async def test_out_of_order_arrival_is_put_back_in_sequence_order() -> None:
    """Events arriving 0, 2, 3, 1 reach the subscriber as 0, 1, 2, 3; 2 and 3 wait for 1."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(sid="sid-1") as events:
        for seq in (0, 2, 3):
            hub.publish(note(seq))
        assert sequences(drain(events)) == [0]
        hub.publish(note(1))
        assert sequences(drain(events)) == [1, 2, 3]


@pytest.mark.anyio
async def test_the_first_event_seen_waits_for_sequence_zero() -> None:
    """When event 1 arrives before event 0, the subscriber still sees 0 first."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(sid="sid-1") as events:
        hub.publish(note(1))
        assert events.pending == 0
        hub.publish(note(0))
        assert sequences(drain(events)) == [0, 1]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
async def test_a_gap_is_given_up_after_the_reorder_timeout() -> None:
    """An event behind a lost one is held only reorder_timeout seconds, then passed on."""
    hub = webhooks.NotificationHub(reorder_timeout=2.0)
    with hub.subscribe(sid="sid-1") as events:
        hub.publish(note(0))
        hub.publish(note(2))
        assert sequences([await events.__anext__()]) == [0]
        before = anyio.current_time()
        late = await events.__anext__()
        waited = anyio.current_time() - before
    assert late.sequence == 2
    assert 2.0 <= waited < 2.1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
async def test_a_hub_joining_mid_recording_releases_its_first_event_after_the_timeout() -> None:
    """A hub that never sees event 0 (started mid-recording) holds the first one briefly only."""
    hub = webhooks.NotificationHub(reorder_timeout=1.0)
    with hub.subscribe(sid="sid-1") as events:
        hub.publish(note(7))
        hub.publish(note(9))
        hub.publish(note(8))
        with anyio.fail_after(1.5):
            got = [await events.__anext__() for _ in range(3)]
    assert sequences(got) == [7, 8, 9]


@pytest.mark.anyio
async def test_a_waiting_consumer_gets_held_events_once_they_are_due() -> None:
    """With reorder_timeout=0 a consumer waiting on a gap gets the held event at once."""
    hub = webhooks.NotificationHub(reorder_timeout=0)
    with hub.subscribe(sid="sid-1") as events:
        hub.publish(note(0))
        hub.publish(note(5))
        with anyio.fail_after(5):
            got = [await events.__anext__() for _ in range(2)]
    assert sequences(got) == [0, 5]


@pytest.mark.anyio
async def test_the_reorder_window_bounds_held_events_and_late_ones_still_arrive() -> None:
    """Past reorder_window held events the gap is skipped; the late event comes afterwards."""
    hub = webhooks.NotificationHub(reorder_window=2)
    with hub.subscribe(sid="sid-1") as events:
        for seq in (0, 2, 3):
            hub.publish(note(seq))
        assert sequences(drain(events)) == [0]
        hub.publish(note(4))
        assert sequences(drain(events)) == [2, 3, 4]
        hub.publish(note(1))
        hub.publish(note(5))
        assert sequences(drain(events)) == [1, 5]


@pytest.mark.anyio
async def test_events_without_a_sequence_are_never_held() -> None:
    """A notification without payload.sequence (or without sid) is passed on immediately."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(cname="room", uid="99") as events:
        hub.publish(note(None, sid=None))
        hub.publish(note(None))
        assert len(drain(events)) == 2


@pytest.mark.anyio
async def test_a_duplicate_reaches_a_subscriber_once() -> None:
    """Publishing the same noticeId + notifyMs twice delivers once and counts one duplicate."""
    hub = webhooks.NotificationHub()
    first = note(0, notice_id="same")
    with hub.subscribe(sid="sid-1") as events:
        assert hub.publish(first)
        assert not hub.publish(note(0, notice_id="same"))
        assert drain(events) == [first]
    assert hub.duplicates == 1


@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
@pytest.mark.anyio
async def test_dedupe_remembers_a_notice_for_its_window_however_many_others_pass() -> None:
    """A replay is refused within dedupe_window seconds even after 20,000 other notices, and
    only accepted again once the window has passed."""
    hub = webhooks.NotificationHub(dedupe_window=600)
    first = note(None, sid=None, notice_id="replayed")
    assert hub.publish(first)
    for i in range(20_000):
        hub.publish(note(None, sid=None, notice_id=f"other-{i}"))
    await anyio.sleep(599)
    assert not hub.publish(first)
    await anyio.sleep(2)
    assert hub.publish(first)
    assert hub.duplicates == 1


@pytest.mark.anyio
async def test_a_resend_with_a_renewed_notify_ms_reaches_subscribers_once() -> None:
    """NCS renews notifyMs when it resends: the resend is a duplicate, not a new event."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(sid="sid-1") as events:
        assert hub.publish(note(0, notice_id="n-resent", notify_ms=1_000))
        assert not hub.publish(note(0, notice_id="n-resent", notify_ms=11_000))
        assert [n.notify_ms for n in drain(events)] == [1_000]
    assert hub.duplicates == 1


@pytest.mark.parametrize("anyio_backend", [MOCK_TRIO])
@pytest.mark.anyio
async def test_held_events_of_many_sids_are_released_by_their_deadline() -> None:
    """With 2,000 sids holding early events, each is released at its own deadline, in order."""
    hub = webhooks.NotificationHub(reorder_timeout=1.0, max_sids=5_000)
    unclaimed = hub.unclaimed()
    for i in range(2_000):
        hub.publish(note(1, sid=f"held-{i}"))
        if i == 999:
            await anyio.sleep(0.5)
    assert drain(unclaimed) == []
    await anyio.sleep(0.6)
    hub.publish(note(None, sid=None))  # any publish releases what is overdue
    released = [n.sid for n in drain(unclaimed) if n.sid is not None]
    assert released == [f"held-{i}" for i in range(1_000)]
    await anyio.sleep(0.5)
    assert unclaimed.pending == 1_000


def test_bad_hub_settings_are_refused_with_agora_errors() -> None:
    """Wrong types, NaN and infinite windows are refused at construction, naming the field."""
    for options, field in (
        ({"buffer_size": "a"}, "buffer_size"),
        ({"dedupe_window": math.nan}, "dedupe_window"),
        ({"dedupe_window": math.inf}, "dedupe_window"),
        ({"dedupe_window": 10**400}, "dedupe_window"),
        ({"reorder_timeout": True}, "reorder_timeout"),
        ({"reorder_timeout": -1}, "reorder_timeout"),
        ({"max_sids": True}, "max_sids"),
    ):
        with pytest.raises(AgoraError, match=field):
            webhooks.NotificationHub(**options)


@pytest.mark.anyio
async def test_a_cname_uid_subscription_learns_the_sid_and_follows_a_failover() -> None:
    """Subscribed by (cname, uid), the first event binds the sid; events after a failover
    (new recorder UID, same sid) still arrive, another recording of the pair does not."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(cname="room", uid="99") as events:
        before = events.sid
        hub.publish(note(0, sid="sid-A"))
        after = events.sid
        hub.publish(note(1, sid="sid-A", uid="4242"))
        hub.publish(note(0, sid="sid-B"))
        got = drain(events)
    assert (before, after) == (None, "sid-A")
    assert [(n.sid, n.uid) for n in got] == [("sid-A", "99"), ("sid-A", "4242")]
    assert [n.sid for n in drain(hub.unclaimed())] == ["sid-B"]


@pytest.mark.anyio
async def test_bind_pins_a_cname_uid_subscription_to_the_started_sid() -> None:
    """After bind(sid), events of another recording on the same channel and UID stay out."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(cname="room", uid="99") as events:
        events.bind("sid-mine")
        hub.publish(note(0, sid="sid-stale"))
        hub.publish(note(0, sid="sid-mine"))
        assert [n.sid for n in drain(events)] == ["sid-mine"]


@pytest.mark.anyio
async def test_every_matching_subscription_gets_the_event() -> None:
    """Two subscribers of one sid, and one by (cname, uid), each receive the event."""
    hub = webhooks.NotificationHub()
    with (
        hub.subscribe(sid="sid-1") as a,
        hub.subscribe(sid="sid-1") as b,
        hub.subscribe(cname="room", uid="99") as c,
    ):
        hub.publish(note(0))
        assert [len(drain(s)) for s in (a, b, c)] == [1, 1, 1]
    assert hub.unclaimed().pending == 0


@pytest.mark.anyio
async def test_unclaimed_events_reach_the_callback_and_the_stream() -> None:
    """An event nobody subscribed to goes to on_unclaimed and to hub.unclaimed()."""
    seen: list[webhooks.Notification] = []
    hub = webhooks.NotificationHub(on_unclaimed=seen.append)
    orphan = note(0, sid="nobody")
    hub.publish(orphan)
    assert seen == [orphan]
    assert drain(hub.unclaimed()) == [orphan]


@pytest.mark.anyio
async def test_the_unclaimed_stream_is_bounded_and_counts_what_it_drops() -> None:
    """Past unclaimed_buffer_size the oldest unclaimed event is dropped and counted."""
    hub = webhooks.NotificationHub(unclaimed_buffer_size=2)
    for sid in ("a", "b", "c"):
        hub.publish(note(0, sid=sid))
    unclaimed = hub.unclaimed()
    assert unclaimed.dropped == 1
    assert [n.sid for n in drain(unclaimed)] == ["b", "c"]


@pytest.mark.anyio
async def test_the_unclaimed_stream_can_be_iterated() -> None:
    """hub.unclaimed() is an async iterator that wakes when an orphan event arrives."""
    hub = webhooks.NotificationHub()
    got: list[webhooks.Notification] = []

    async def consume() -> None:
        async for item in hub.unclaimed():
            got.append(item)

    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        hub.publish(note(0, sid="orphan"))
        await anyio.wait_all_tasks_blocked()
        hub.close()
    assert [n.sid for n in got] == ["orphan"]


@pytest.mark.anyio
async def test_a_failing_unclaimed_callback_never_breaks_publishing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception from on_unclaimed is logged; the event still lands in the stream."""

    def explode(_: webhooks.Notification) -> None:
        raise RuntimeError("consumer bug")

    hub = webhooks.NotificationHub(on_unclaimed=explode)
    with caplog.at_level(logging.ERROR, logger="agora_recording.webhooks"):
        assert hub.publish(note(0, sid="x"))
    assert hub.unclaimed().pending == 1
    assert "on_unclaimed" in caplog.text


@pytest.mark.anyio
async def test_a_slow_consumer_loses_its_oldest_events_and_never_blocks_publish() -> None:
    """A full subscription buffer drops its oldest event, counts it, and publish goes on."""
    hub = webhooks.NotificationHub(buffer_size=2)
    with hub.subscribe(sid="sid-1") as events:
        assert all(hub.publish(note(seq)) for seq in range(5))
        assert events.dropped == 3
        assert sequences(drain(events)) == [3, 4]


@pytest.mark.anyio
async def test_subscribers_wake_on_publish_under_both_backends() -> None:
    """Consumers waiting in ``async for`` get events published later, each its own sid."""
    hub = webhooks.NotificationHub()
    results: dict[str, list[int | None]] = {}

    async def consume(sid: str) -> None:
        with hub.subscribe(sid=sid) as events:
            results[sid] = []
            async for item in events:
                results[sid].append(item.sequence)
                if item.event_type == webhooks.EventType.SESSION_EXIT:
                    return

    async with anyio.create_task_group() as group:
        for sid in ("a", "b"):
            group.start_soon(consume, sid)
        await anyio.wait_all_tasks_blocked()
        for seq, sid in [(0, "a"), (0, "b"), (2, "a"), (1, "a"), (1, "b")]:
            hub.publish(note(seq, sid=sid, event_type=11 if seq == 2 or sid == "b" else 40))
            await anyio.wait_all_tasks_blocked()
    assert results == {"a": [0, 1, 2], "b": [0]}


@pytest.mark.anyio
async def test_leaving_the_block_unsubscribes_and_ends_iteration_after_the_buffer() -> None:
    """After close, new events are unclaimed; buffered ones are still read, then iteration ends."""
    hub = webhooks.NotificationHub()
    with hub.subscribe(sid="sid-1") as events:
        hub.publish(note(0))
    hub.publish(note(1))
    assert events.closed
    assert sequences([item async for item in events]) == [0]
    assert sequences(drain(hub.unclaimed())) == [1]


@pytest.mark.anyio
async def test_closing_the_hub_ends_every_consumer() -> None:
    """hub.close() makes waiting iterators finish; later publishes are ignored."""
    hub = webhooks.NotificationHub()
    finished: list[str] = []

    async def consume() -> None:
        with hub.subscribe(sid="sid-1") as events:
            async for _ in events:
                pass
        finished.append("done")

    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        hub.close()
    assert finished == ["done"]
    assert not hub.publish(note(0))
    assert hub.subscribe(sid="late").closed


@pytest.mark.anyio
async def test_forgetting_a_recording_releases_its_held_events() -> None:
    """Past max_sids the oldest recording's ordering state goes, passing its held events on."""
    hub = webhooks.NotificationHub(max_sids=1)
    with hub.subscribe(sid="old") as events:
        hub.publish(note(3, sid="old"))
        assert events.pending == 0
        hub.publish(note(0, sid="new"))
        assert sequences(drain(events)) == [3]


def test_subscribe_needs_a_sid_or_both_cname_and_uid() -> None:
    """A subscription that could match nothing precisely is refused with a ValueError."""
    hub = webhooks.NotificationHub()
    with pytest.raises(ValueError, match="cname and uid") as info:
        hub.subscribe(cname="room")
    assert isinstance(info.value, AgoraError)


def test_hub_options_are_validated() -> None:
    """Zero-sized buffers or a negative timeout are refused up front."""
    with pytest.raises(AgoraError, match="buffer_size"):
        webhooks.NotificationHub(buffer_size=0)
    with pytest.raises(AgoraError, match="reorder_timeout"):
        webhooks.NotificationHub(reorder_timeout=-1)
