"""Argument checks outside the client and session raise AgoraErrors that are also built-ins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as redis_asyncio
from agora_recording import (
    AgoraError,
    ArgumentTypeError,
    PollBudget,
    RateLimiter,
    UsageError,
    ValidationError,
    testing,
)
from agora_recording._credentials import SessionCredentials
from agora_recording._retry import RetryPolicy
from agora_recording.emulator import Emulator, SystemClock
from agora_recording.models import RecordingConfig, SnapshotConfig
from agora_recording.redis import LeaseStore, RedisRateLimiter, SharedQuota
from agora_recording.signals import SignalDrain, drain_on_signals

_REDIS = redis_asyncio.Redis()  # never connected: the checks run in the constructors
TEXT: Any = "x"  # a value of the wrong type, past the type checker

# (what is called, the AgoraError class expected, the built-in it must also be)
CASES: list[tuple[str, Callable[[], object], type[AgoraError], type[Exception]]] = [
    ("poll share not a number", lambda: PollBudget(10, share=TEXT), ArgumentTypeError, TypeError),
    ("poll share out of range", lambda: PollBudget(10, share=2), ValidationError, ValueError),
    ("rate not a number", lambda: RateLimiter(TEXT), ArgumentTypeError, TypeError),
    ("rate zero", lambda: RateLimiter(0), ValidationError, ValueError),
    ("burst zero", lambda: RateLimiter(1, burst=0), ValidationError, ValueError),
    ("health wait", lambda: RateLimiter(1, health_wait=-1), ValidationError, ValueError),
    ("health wait text", lambda: RateLimiter(1, health_wait=TEXT), ValidationError, ValueError),
    ("recovery text", lambda: RateLimiter(1, recovery=TEXT), ValidationError, ValueError),
    ("retry attempts", lambda: RetryPolicy(attempts=0), ValidationError, ValueError),
    ("retry wait", lambda: RetryPolicy(wait_max=-1), ValidationError, ValueError),
    ("retry wait text", lambda: RetryPolicy(wait_max=TEXT), ValidationError, ValueError),
    (
        "credentials provider not callable",
        lambda: SessionCredentials.from_options(
            TEXT,
            app_certificate=None,
            expected_duration=None,
            storage_credentials=TEXT,
            on_credentials=None,
            wall_clock=lambda: 0.0,
        ),
        ArgumentTypeError,
        TypeError,
    ),
    ("quota rate", lambda: SharedQuota(_REDIS, key="k", rate=0), ValidationError, ValueError),
    (
        "quota rate text",
        lambda: SharedQuota(_REDIS, key="k", rate=TEXT),
        ArgumentTypeError,
        TypeError,
    ),
    ("quota key", lambda: SharedQuota(_REDIS, key=""), ValidationError, ValueError),
    (
        "quota recovery",
        lambda: SharedQuota(_REDIS, key="k", recovery=0),
        ValidationError,
        ValueError,
    ),
    (
        "workers text",
        lambda: RedisRateLimiter(_REDIS, key="k", expected_workers=TEXT),
        ArgumentTypeError,
        TypeError,
    ),
    (
        "workers zero",
        lambda: RedisRateLimiter(_REDIS, key="k", expected_workers=0),
        ValidationError,
        ValueError,
    ),
    (
        "redis timeout",
        lambda: RedisRateLimiter(_REDIS, key="k", redis_timeout=0),
        ValidationError,
        ValueError,
    ),
    ("lease ttl", lambda: LeaseStore(_REDIS, ttl=0), ValidationError, ValueError),
    ("lease ttl text", lambda: LeaseStore(_REDIS, ttl=TEXT), ValidationError, ValueError),
    (
        "lease renewal",
        lambda: LeaseStore(_REDIS, ttl=3, renew_interval=3),
        ValidationError,
        ValueError,
    ),
    ("drain grace text", lambda: SignalDrain((), grace=TEXT), ValidationError, ValueError),
    (
        "serve with both",
        lambda: testing.serve(emulator=Emulator(), rate_limit=1).__enter__(),
        ArgumentTypeError,
        TypeError,
    ),
    (
        "a string as a list",
        lambda: RecordingConfig(subscribe_audio_uids="123"),
        ArgumentTypeError,
        TypeError,
    ),
]


@pytest.mark.parametrize(
    ("call", "kind", "builtin"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_arguments_raise_agora_errors(
    call: Callable[[], object], kind: type[AgoraError], builtin: type[Exception]
) -> None:
    """Each bad argument raises the named AgoraError, which ``except <built-in>`` still catches."""
    with pytest.raises(kind) as raised:
        call()
    assert isinstance(raised.value, builtin)


def test_a_required_list_refuses_a_string() -> None:
    """A required list field given a string raises ArgumentTypeError, a TypeError."""
    with pytest.raises(ArgumentTypeError) as raised:
        SnapshotConfig(file_type="jpg")
    assert isinstance(raised.value, TypeError)


@pytest.mark.anyio
async def test_a_signal_drain_entered_twice_is_a_usage_error() -> None:
    """Entering one SignalDrain block a second time is a UsageError, still a RuntimeError."""
    async with drain_on_signals() as drain:
        with pytest.raises(UsageError) as raised:
            await drain.__aenter__()
        assert isinstance(raised.value, RuntimeError)


@pytest.mark.anyio
async def test_advance_without_a_fake_clock_is_an_argument_type_error() -> None:
    """``advance()`` on an emulator running on the real clock is an ArgumentTypeError."""
    async with testing.emulated_client(clock=SystemClock()) as service:
        with pytest.raises(ArgumentTypeError) as raised:
            service.advance(1)
        assert isinstance(raised.value, TypeError)


def test_no_module_raises_a_bare_builtin_for_user_input(pytestconfig: Any) -> None:
    """No module of the package, emulator and CLI included, raises a bare built-in error."""
    import re
    from pathlib import Path

    package = Path(pytestconfig.rootpath) / "agora_recording"
    # Not user input: a model declared wrongly in this package fails at import, and the JSON
    # decoder's hook raises what json turns into its own error, which the caller converts.
    internal = {"_converter.py": "TypeError", "_protocol.py": "ValueError"}
    bare = re.compile(r"raise (ValueError|TypeError|RuntimeError|KeyError)\(")
    found = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if (match := bare.search(line)) and internal.get(path.name) != match.group(1)
    ]
    assert found == []
