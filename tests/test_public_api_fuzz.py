"""Any input to any public entry point raises only `AgoraError` subclasses (Hypothesis).

A caller catching ``AgoraError`` must catch everything we raise for bad input: a lone surrogate,
a 100,000-character ID, ``10**400``, ``5e-324``, NaN or a value of the wrong type must not
escape as ``UnicodeEncodeError``, ``httpx.InvalidURL``, ``OverflowError``,
``ZeroDivisionError``, ``TypeError`` or ``AttributeError``. Each entry point is called with
arguments mixing valid values and hostile ones; a call may succeed or raise an `AgoraError`,
nothing else. The client answers from a `httpx.MockTransport`, so nothing leaves the process.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs
import httpx
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
    TimingOptions,
    tokens,
    webhooks,
)
from agora_recording.models import (
    RecordingConfig,
    StartConfig,
    StorageConfig,
    UpdateConfig,
    UpdateLayoutConfig,
)
from agora_recording.redis import LeaseStore, RedisRateLimiter
from agora_recording.signals import drain_on_signals
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.strategies import MODELS

APP_ID = "970ca35de60c44645bbae8a215061b33"
CERTIFICATE = "5cfd2fd1755d40ecb72977518be15d3b"
STORAGE = StorageConfig(vendor=1, region=0, bucket="bucket", access_key="a", secret_key="s")
CONFIG = StartConfig(
    storage_config=STORAGE,
    recording_config=RecordingConfig(channel_type=0),
)
HANDLE = RecordingHandle(resource_id="r", sid="s", mode=Mode.MIX, cname="room", uid="7")
LONG_ID = RecordingHandle(resource_id="a" * 100_000, sid="s", mode=Mode.MIX, cname="c", uid="7")
SURROGATE_SID = RecordingHandle(resource_id="r", sid="\ud800", mode=Mode.MIX, cname="c", uid="7")
_REDIS = redis_asyncio.Redis()  # never connected: only constructors are called on it
_NO_CLIENT: Any = None  # sessions check their options before they look at the client
# Values of the wrong type, past the type checker (callers may not be type-checked).
TEXT: Any = "5"
FLOAT: Any = 1.5
MINUS_ONE: Any = -1
TRUE: Any = True
NONE: Any = None
EMPTY_DICT: Any = {}

#: Values that broke entry points before: each must be refused as an AgoraError.
HOSTILE: list[Any] = [
    "\ud800",
    "a" * 100_000,
    "",
    " ",
    "../x?y#z",
    10**400,
    -(10**400),
    2**64,
    -1,
    0,
    5e-324,
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    None,
    b"\xff",
    {},
    [],
    object(),
]
_LEAF = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(),
    st.floats(),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
    st.binary(max_size=20),
)
ANY = st.one_of(
    _LEAF,
    st.lists(_LEAF, max_size=3),
    st.dictionaries(st.text(max_size=5), _LEAF, max_size=3),
)


def either(valid: Any) -> st.SearchStrategy[Any]:
    """Mostly a hostile value, sometimes the valid one (so later checks are reached too)."""
    return st.one_of(st.just(valid), ANY)


#: Handles whose fields are hostile (a handle read back from storage may hold anything).
HANDLES = st.one_of(
    ANY,
    st.builds(
        RecordingHandle,
        resource_id=either("r"),
        sid=either("s"),
        mode=st.just(Mode.MIX),
        cname=either("room"),
        uid=either("7"),
    ),
)


def answer(request: httpx.Request) -> httpx.Response:
    """A plausible service answer for each endpoint."""
    path = request.url.path
    body: dict[str, Any] = {"resourceId": "r", "sid": "s"}
    if path.endswith("/acquire"):
        body = {"resourceId": "r"}
    elif path.endswith("/query"):
        body["serverResponse"] = {"status": 5}
    elif path.endswith("/stop"):
        body["serverResponse"] = {"uploadingStatus": "uploaded"}
    return httpx.Response(200, json=body)


def only_agora_errors(call: Callable[[], Awaitable[object]]) -> None:
    """Run ``call``; it may return or raise an AgoraError, nothing else."""

    async def main() -> None:
        with contextlib.suppress(AgoraError):
            await call()

    anyio.run(main)


async def with_client(use: Callable[[RecordingClient], Awaitable[object]]) -> None:
    """Run ``use`` with a client on the mock service (rate limit off)."""
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
        RecordingClient(
            app_id=APP_ID,
            customer_id="id",
            customer_secret="secret",
            http_client=http,
            rate_limit=None,
        ) as client,
    ):
        await use(client)  # closing may raise UnconfirmedRecordingsError: an AgoraError too


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CLIENT_OPTIONS = {
    "base_url": "https://api.example.com",
    "region": "na",
    "timeout": 10.0,
    "stop_timeout": 180.0,
    "call_timeout": 60.0,
    "rate_limit": 10.0,
    "poll_share": 0.5,
    "attempts": 5,
    "app_certificate": CERTIFICATE,
}
SESSION_OPTIONS = {
    "acquire_config": None,
    "poll_interval": 15.0,
    "stop_timeout": 60.0,
    "async_stop": False,
    "fail_fast": True,
    "app_certificate": CERTIFICATE,
    "timing": None,
    "polling": None,
    "credentials": None,
    "runtime": None,
    # A field of an option group, fuzzed through the group's own constructor.
    "timing.start_timeout": 90.0,
    "timing.failover_grace": 90.0,
    "timing.poll_timeout": 15.0,
    "timing.outage_timeout": 120.0,
    "timing.events_silence": 180.0,
    "timing.orphan_wait": 30.0,
    "polling.first_poll_delay": 5.0,
    "polling.poll_jitter": 0.0,
    "polling.max_poll_errors": 8,
    "credentials.expected_duration": 3600.0,
}
_GROUPS: dict[str, Callable[..., object]] = {
    "timing": TimingOptions,
    "polling": PollingOptions,
    "credentials": CredentialOptions,
}


def _session_keywords(option: str, value: Any) -> dict[str, Any]:
    """``{option: value}``, a group's field wrapped in its group (which may refuse it)."""
    group, _, field = option.partition(".")
    if field:
        return {group: _GROUPS[group](**{field: value})}
    return {option: value}


@SETTINGS
@given(
    app_id=either(APP_ID),
    customer=either("id"),
    secret=either("secret"),
    option=st.sampled_from(sorted(CLIENT_OPTIONS)),
    value=ANY,
)
@example(app_id=APP_ID, customer="id", secret="\ud800", option="timeout", value=10.0)
def test_the_client_constructor(
    app_id: Any, customer: Any, secret: Any, option: str, value: Any
) -> None:
    """RecordingClient(...) with any credentials and any option value."""

    async def call() -> None:
        client = RecordingClient(
            app_id=app_id, customer_id=customer, customer_secret=secret, **{option: value}
        )
        await client.aclose()

    only_agora_errors(call)


@SETTINGS
@given(
    method=st.sampled_from(["acquire", "start", "query", "update", "layout", "stop", "ensure"]),
    first=either("room"),
    second=either("7"),
    third=either(None),
    handle=HANDLES,
)
@example(method="query", first="room", second="7", third=None, handle=LONG_ID)
def test_the_client_methods(method: str, first: Any, second: Any, third: Any, handle: Any) -> None:
    """Every endpoint method with any arguments, against a service that answers."""

    async def use(client: RecordingClient) -> None:
        if method == "acquire":
            await client.acquire(cname=first, uid=second, config=third)
        elif method == "start":
            await client.start(first, Mode.MIX, cname="room", uid=second, config=third or CONFIG)
        elif method == "query":
            await client.query(handle, call_timeout=third)
        elif method == "update":
            await client.update(handle, third or UpdateConfig())
        elif method == "layout":
            await client.update_layout(handle, third or UpdateLayoutConfig())
        elif method == "stop":
            await client.stop(handle, async_stop=first)
        else:
            await client.ensure_stopped(handle, stop_timeout=third, async_stop=bool(second))

    only_agora_errors(lambda: with_client(use))


@SETTINGS
@given(
    cname=either("room"),
    uid=either("7"),
    mode=either(Mode.MIX),
    config=either(CONFIG),
    option=st.sampled_from(sorted(SESSION_OPTIONS)),
    value=ANY,
)
def test_sessions_and_the_recorder(
    cname: Any, uid: Any, mode: Any, config: Any, option: str, value: Any
) -> None:
    """RecordingSession, adopt, client.session and Recorder.start with any arguments."""

    async def use(client: RecordingClient) -> None:
        try:
            options = _session_keywords(option, value)
        except AgoraError:
            return
        builders: list[Callable[[], RecordingSession]] = [
            lambda: RecordingSession(
                client, cname=cname, uid=uid, mode=mode, config=config, **options
            ),
            lambda: client.session(cname=cname, uid=uid, mode=mode, config=config, **options),
            lambda: RecordingSession.adopt(
                client, HANDLE, **{k: v for k, v in options.items() if k != "acquire_config"}
            ),
        ]
        for build in builders:
            try:
                session = build()
            except AgoraError:
                continue
            with anyio.fail_after(600):
                async with session:
                    pass
        async with Recorder[str](client) as recorder:
            with contextlib.suppress(AgoraError):
                await recorder.start("key", cname=cname, uid=uid, mode=mode, config=config)

    only_agora_errors(lambda: with_client(use))


HUB_OPTIONS = sorted(inspect.signature(webhooks.NotificationHub).parameters)
RECEIVER_OPTIONS = [
    name
    for name, parameter in inspect.signature(webhooks.NotificationReceiver).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
]


@SETTINGS
@given(
    hub_option=st.sampled_from(HUB_OPTIONS),
    receiver_option=st.sampled_from(RECEIVER_OPTIONS),
    value=ANY,
    secret=either("ncs-secret"),
    sid=either("s"),
    body=st.one_of(
        ANY,
        st.builds(
            lambda v: json.dumps({"eventType": 1, "noticeId": v}),
            st.one_of(st.integers(), st.floats(), st.text(max_size=8), st.none()),
        ),
    ),
)
def test_the_notification_hub_receiver_and_parse(
    hub_option: str, receiver_option: str, value: Any, secret: Any, sid: Any, body: Any
) -> None:
    """NotificationHub, its subscribe and publish, NotificationReceiver and webhooks.parse."""

    async def call() -> None:
        hub = webhooks.NotificationHub()
        for attempt in (
            lambda: webhooks.NotificationHub(**{hub_option: value}),
            lambda: webhooks.NotificationReceiver(hub, secret),
            lambda: webhooks.NotificationReceiver(hub, "s", **{receiver_option: value}),
            lambda: hub.subscribe(sid=sid),
            lambda: hub.subscribe(cname=sid, uid=value),
            lambda: hub.publish(value),
            lambda: webhooks.parse(value),
            lambda: webhooks.parse(body),
        ):
            with contextlib.suppress(AgoraError):
                attempt()
        receiver = webhooks.NotificationReceiver(hub, "s")
        encoded = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        status, _ = await receiver.handle(encoded if isinstance(encoded, bytes) else b"", {})
        assert 400 <= status < 500

    only_agora_errors(call)


@SETTINGS
@given(
    option=st.sampled_from(
        ["rate", "burst", "recovery", "expected_workers", "redis_timeout", "retry_interval", "key"]
    ),
    lease_option=st.sampled_from(["ttl", "renew_interval", "namespace", "worker_id"]),
    value=ANY,
)
def test_the_redis_constructors(option: str, lease_option: str, value: Any) -> None:
    """RedisRateLimiter(...) and LeaseStore(...) with any option value."""

    async def call() -> None:
        options: dict[str, Any] = {"key": "quota", option: value}
        for attempt in (
            lambda: RedisRateLimiter(_REDIS, **options),
            lambda: LeaseStore(_REDIS, **{lease_option: value}),
        ):
            with contextlib.suppress(AgoraError):
                attempt()

    only_agora_errors(call)


TOKEN_ARGUMENTS = {
    "app_id": APP_ID,
    "app_certificate": CERTIFICATE,
    "channel_name": "room",
    "uid": 7,
    "role": tokens.Role.PUBLISHER,
    "token_expire": 3600,
    "privilege_expire": 3600,
    "issued_at": 1_700_000_000,
    "salt": 1,
}


@SETTINGS
@given(argument=st.sampled_from(sorted(TOKEN_ARGUMENTS)), value=ANY, token=ANY)
def test_tokens_and_the_signal_drain(argument: str, value: Any, token: Any) -> None:
    """build_rtc_token, parse_token, check_token and drain_on_signals with any argument."""

    async def call() -> None:
        for attempt in (
            lambda: tokens.build_rtc_token(**{**TOKEN_ARGUMENTS, argument: value}),
            lambda: tokens.parse_token(token),
            lambda: tokens.check_token(token, CERTIFICATE),
            lambda: tokens.verify_token(token, value),
            lambda: drain_on_signals(grace=value),
            lambda: drain_on_signals(signals=value),
        ):
            with contextlib.suppress(AgoraError):
                attempt()

    only_agora_errors(call)


@pytest.mark.parametrize(
    "model",
    sorted(MODELS, key=lambda m: getattr(m, "__name__", "?")),
    ids=lambda m: getattr(m, "__name__", "?"),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_model_field(model: type[Any], data: st.DataObject) -> None:
    """Each model built with any value in any one field raises only AgoraErrors."""
    instance = data.draw(MODELS[model])
    field = data.draw(st.sampled_from([f.name for f in attrs.fields(model) if f.init]))
    value = data.draw(ANY)
    with contextlib.suppress(AgoraError):
        attrs.evolve(instance, **{field: value})


def _client_call(method: str, *args: Any, **kwargs: Any) -> Callable[[], Awaitable[object]]:
    async def use(client: RecordingClient) -> None:
        await getattr(client, method)(*args, **kwargs)

    return lambda: with_client(use)


def _sync(build: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def call() -> None:
        build()

    return call


@pytest.mark.parametrize(
    "call",
    [
        _client_call("query", LONG_ID),
        _client_call("ensure_stopped", LONG_ID),
        _client_call("query", SURROGATE_SID),
        _client_call("acquire", cname="\ud800", uid="7"),
        _client_call("query", HANDLE, call_timeout=10**400),
        _sync(lambda: RecordingClient(app_id=APP_ID, customer_id="id", customer_secret="\ud800")),
        _sync(
            lambda: RecordingSession(
                _NO_CLIENT, cname="r", uid="7", mode="mix", config=CONFIG, poll_interval=TEXT
            )
        ),
        _sync(
            lambda: RecordingSession(
                _NO_CLIENT,
                cname="r",
                uid="7",
                mode="mix",
                config=CONFIG,
                credentials=CredentialOptions(expected_duration=10**400),
            )
        ),
        _sync(lambda: LeaseStore(_REDIS, ttl=10**400)),
        _sync(lambda: RedisRateLimiter(_REDIS, key="k", rate=5e-324)),
        _sync(lambda: attrs.evolve(STORAGE, vendor=EMPTY_DICT)),
        _sync(lambda: webhooks.NotificationHub(buffer_size=TEXT)),
        _sync(lambda: webhooks.NotificationReceiver(webhooks.NotificationHub(), FLOAT)),
        _sync(lambda: drain_on_signals(signals=MINUS_ONE)),
        _sync(lambda: webhooks.parse(TRUE)),
        _sync(lambda: webhooks.parse(NONE)),
    ],
    ids=[
        "long-resource-id-query",
        "long-resource-id-stop",
        "surrogate-sid",
        "surrogate-cname",
        "huge-call-timeout",
        "surrogate-secret",
        "poll-interval-text",
        "huge-expected-duration",
        "huge-lease-ttl",
        "tiny-redis-rate",
        "vendor-dict",
        "hub-buffer-text",
        "receiver-secret-float",
        "signals-negative",
        "parse-bool",
        "parse-none",
    ],
)
def test_the_inputs_that_escaped_before_raise_agora_errors(
    call: Callable[[], Awaitable[object]],
) -> None:
    """Each input the first fuzzing run found escaping as a built-in is now an AgoraError."""

    async def main() -> None:
        with pytest.raises(AgoraError):
            await call()

    anyio.run(main)
