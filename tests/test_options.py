"""Every duration, count and rate is checked once, the same way, before any request is sent.

A value that one constructor accepts and a later layer refuses fails at the worst moment: a
``stop_timeout`` of ``math.inf`` used to pass the session and be refused by the stop on exit,
leaving the recording running. Each case here goes through every way a session is built (the
constructor, `RecordingSession.adopt`, `RecordingClient.session`, `Recorder`, the janitor's
``session_options``) and must fail there, naming the field, with nothing sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import redis.asyncio as redis_asyncio
from agora_recording import (
    AgoraError,
    CredentialOptions,
    Mode,
    PollingOptions,
    Recorder,
    RecordingClient,
    RecordingHandle,
    RecordingSession,
    RuntimeOptions,
    TimingOptions,
    ValidationError,
)
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.redis import LeaseStore
from agora_recording.webhooks import NotificationHub, NotificationReceiver

from tests.helpers import mock_client, never_called

CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="bucket", access_key="a", secret_key="s"
    ),
    recording_config=RecordingConfig(channel_type=0),
)
HANDLE = RecordingHandle(resource_id="r", sid="s", mode=Mode.MIX, cname="room", uid="7")
_REDIS = redis_asyncio.Redis()  # never connected: the checks come first
# Values of the wrong type, past the type checker (callers may not be type-checked).
WRONG_UID: Any = True
NAN: Any = math.nan
FLOAT: Any = 1.5
TEXT: Any = "a"

#: (keyword, value) pairs every session builder must refuse, naming the keyword.
BAD_OPTIONS: list[tuple[str, object]] = [
    ("stop_timeout", math.inf),
    ("stop_timeout", math.nan),
    ("stop_timeout", True),
    ("stop_timeout", 10**400),
    ("stop_timeout", 0),
    ("stop_timeout", "180"),
    ("poll_interval", True),
    ("poll_interval", "5"),
    ("poll_interval", -1),
    ("async_stop", "yes"),
    ("fail_fast", 1),
    # an option group that is not one
    ("timing", 5),
    ("polling", {"max_poll_errors": 3}),
    ("credentials", "x"),
    ("runtime", 0.5),
]
IDS = [f"{name}={value!r}"[:40] for name, value in BAD_OPTIONS]

#: (group, field, value) triples each option group refuses when it is built, naming the field.
BAD_GROUP_FIELDS: list[tuple[type[Any], str, object]] = [
    (TimingOptions, "events_silence", -5),
    (TimingOptions, "events_silence", math.inf),
    (TimingOptions, "orphan_wait", -1),
    (TimingOptions, "poll_timeout", math.nan),
    (TimingOptions, "start_timeout", 10**400),
    (TimingOptions, "failover_grace", -0.5),
    (TimingOptions, "outage_timeout", math.inf),
    (TimingOptions, "start_timeout", "90"),
    (PollingOptions, "max_poll_errors", 2.5),
    (PollingOptions, "max_poll_errors", True),
    (PollingOptions, "max_poll_errors", 0),
    (PollingOptions, "first_poll_delay", -1),
    (PollingOptions, "poll_jitter", math.nan),
    (CredentialOptions, "expected_duration", 10**400),
    (CredentialOptions, "storage_credentials", "not callable"),
    (CredentialOptions, "on_credentials", 5),
    (CredentialOptions, "wall_clock", None),
    (RuntimeOptions, "clock", 1.0),
    (RuntimeOptions, "sleep", None),
    (RuntimeOptions, "random", 0.5),
]


@pytest.mark.parametrize(
    ("group", "name", "value"),
    BAD_GROUP_FIELDS,
    ids=[f"{group.__name__}.{name}={value!r}"[:50] for group, name, value in BAD_GROUP_FIELDS],
)
def test_every_option_group_refuses_a_bad_field_where_it_is_written(
    group: type[Any], name: str, value: object
) -> None:
    """A bad timing, polling, credential or runtime value fails when its group is built,
    naming the field, so no session builder ever sees it."""
    refused(lambda: group(**{name: value}), name)


def test_option_groups_are_frozen_and_compare_by_value() -> None:
    """An option group can be shared by many sessions: it cannot change under them."""
    timing = TimingOptions(start_timeout=30)
    assert timing == TimingOptions(start_timeout=30)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        timing.start_timeout = 60  # type: ignore[misc]


@pytest.mark.anyio
async def test_the_option_groups_reach_the_session() -> None:
    """Values given in the groups are the ones the session runs with; None means defaults."""
    async with mock_client(never_called) as client:
        session = client.session(
            cname="room",
            uid="7",
            mode=Mode.MIX,
            config=CONFIG,
            timing=TimingOptions(start_timeout=30, orphan_wait=0),
            polling=PollingOptions(first_poll_delay=1, max_poll_errors=2),
            runtime=RuntimeOptions(random=lambda: 0.5),
        )
        options = session._options
        assert (options.start_timeout, options.orphan_wait, options.failover_grace) == (30, 0, 90)
        assert (options.first_poll_delay, options.max_poll_errors) == (1, 2)
        assert options.poll_jitter == 1.0  # min(1 s, a tenth of the 15 s interval)
        assert options.random() == 0.5
        adopted = RecordingSession.adopt(client, HANDLE)._options
        assert (adopted.first_poll_delay, adopted.poll_jitter) == (0.0, 0.0)
        given = RecordingSession.adopt(client, HANDLE, polling=PollingOptions(poll_jitter=2))
        assert (given._options.first_poll_delay, given._options.poll_jitter) == (0.0, 2.0)


def refused(build: Callable[[], object], field: str) -> None:
    """``build()`` raises a ValidationError (an AgoraError and ValueError) naming ``field``."""
    with pytest.raises(ValidationError) as caught:
        build()
    assert isinstance(caught.value, AgoraError)
    assert isinstance(caught.value, ValueError)
    assert field in caught.value.field


@pytest.mark.parametrize(("name", "value"), BAD_OPTIONS, ids=IDS)
@pytest.mark.anyio
async def test_every_session_builder_refuses_a_bad_option_before_any_request(
    name: str, value: object
) -> None:
    """The constructor, adopt, client.session and the janitor refuse it alike, sending nothing."""
    options: dict[str, Any] = {name: value}
    async with mock_client(never_called) as client:
        refused(
            lambda: RecordingSession(
                client, cname="room", uid="7", mode=Mode.MIX, config=CONFIG, **options
            ),
            name,
        )
        refused(lambda: RecordingSession.adopt(client, HANDLE, **options), name)
        refused(
            lambda: client.session(cname="room", uid="7", mode=Mode.MIX, config=CONFIG, **options),
            name,
        )
        store = LeaseStore(_REDIS)
        with pytest.raises(ValidationError) as caught:
            await store.adopt_expired(client, session_options=options)
        assert name in caught.value.field
        with pytest.raises(ValidationError) as caught:
            await store.janitor(client, session_options=options)
        assert name in caught.value.field


@pytest.mark.anyio
async def test_a_recorder_refuses_a_session_with_a_bad_option_before_any_request() -> None:
    """A Recorder's sessions are built by the same checks: nothing is sent, nothing runs."""
    async with mock_client(never_called) as client, Recorder[str](client) as recorder:
        refused(
            lambda: client.session(
                cname="room", uid="7", mode=Mode.MIX, config=CONFIG, stop_timeout=math.inf
            ),
            "stop_timeout",
        )
        with pytest.raises(ValidationError):
            await recorder.start("k", cname="room", uid=WRONG_UID, mode=Mode.MIX, config=CONFIG)
        assert len(recorder) == 0


@pytest.mark.anyio
async def test_the_janitor_refuses_an_unknown_session_option() -> None:
    """A misspelled keyword in session_options fails when the janitor is set up."""
    async with mock_client(never_called) as client:
        with pytest.raises(ValidationError, match="stop_timout"):
            await LeaseStore(_REDIS).janitor(client, session_options={"stop_timout": 60})


@pytest.mark.parametrize("value", [math.inf, math.nan, True, 10**400, -1, "5"])
@pytest.mark.anyio
async def test_a_stops_and_a_querys_timeouts_are_checked_before_any_request(value: object) -> None:
    """ensure_stopped(stop_timeout=...) and query(call_timeout=...) refuse the same values."""
    async with mock_client(never_called) as client:
        with pytest.raises(ValidationError, match="stop_timeout"):
            await client.ensure_stopped(HANDLE, stop_timeout=value)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="call_timeout"):
            await client.query(HANDLE, call_timeout=value)  # type: ignore[arg-type]
        assert client.unconfirmed() == []


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: NotificationReceiver(NotificationHub(), "s", max_body_size=NAN), "max_body"),
        (lambda: NotificationReceiver(NotificationHub(), "s", read_timeout=math.nan), "read_time"),
        (lambda: NotificationReceiver(NotificationHub(), "s", max_depth=True), "max_depth"),
        (lambda: NotificationReceiver(NotificationHub(), FLOAT), "secret"),
        (lambda: NotificationHub(buffer_size=-1), "buffer_size"),
        (lambda: NotificationHub(reorder_timeout=math.inf), "reorder_timeout"),
        (lambda: LeaseStore(_REDIS, ttl=10**400), "ttl"),
        (lambda: LeaseStore(_REDIS, ttl=math.inf), "ttl"),
        (
            lambda: RecordingClient(
                app_id="a", customer_id="b", customer_secret="c", stop_timeout=math.inf
            ),
            "stop_timeout",
        ),
        (
            lambda: RecordingClient(app_id="a", customer_id="b", customer_secret="c", timeout=True),
            "timeout",
        ),
    ],
    ids=[
        "receiver-body-nan",
        "receiver-timeout-nan",
        "receiver-depth-bool",
        "receiver-secret-float",
        "hub-buffer-text",
        "hub-reorder-inf",
        "lease-ttl-huge",
        "lease-ttl-inf",
        "client-stop-inf",
        "client-timeout-bool",
    ],
)
def test_integrations_check_their_numbers_the_same_way(
    build: Callable[[], object], field: str
) -> None:
    """The receiver, the hub, the lease store and the client use the same checks."""
    refused(build, field)


def test_the_validator_accepts_sensible_values_and_normalizes_them() -> None:
    """Plain ints and floats in range pass, as floats for durations and ints for counts."""
    from agora_recording._numbers import count, rate, seconds

    assert seconds("x", 5) == 5.0
    assert isinstance(seconds("x", 5), float)
    assert seconds("x", 0, allow_zero=True) == 0.0
    assert count("n", 3) == 3
    assert rate("r", 10) == 10.0
    for bad in (5e-324, 0, math.inf, True):
        with pytest.raises(ValidationError, match="r:"):
            rate("r", bad)


@pytest.mark.anyio
async def test_a_recorder_refuses_an_option_group_that_is_not_one() -> None:
    """Recorder(timing=..., polling=...) checks its groups when it is built, naming them."""
    async with mock_client(never_called) as client:
        refused(lambda: Recorder[str](client, polling=5), "polling")  # type: ignore[arg-type]
        refused(lambda: Recorder[str](client, runtime="x"), "runtime")  # type: ignore[arg-type]
