"""A session's options, checked once and kept together: `SessionOptions`.

`RecordingSession`, `RecordingSession.adopt` and `RecordingClient.session` take these as
keywords with a real signature (a misspelled option is a type error); they build one
`SessionOptions`, which fills in the defaults that depend on other options and refuses bad
values before anything is sent. The credentials options go to ``_credentials`` instead.
"""

from __future__ import annotations

import random as _random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import anyio
import attrs

from ._numbers import count, optional_seconds, seconds
from ._status import StatusCallback
from .errors import ValidationError
from .models import AcquireConfig, StartConfig

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "MAX_POLL_JITTER",
    "POLL_JITTER_SHARE",
    "SessionOptions",
    "default_poll_interval",
]

#: Seconds between polls unless ``maxIdleTime`` is shorter (then half of it): often enough to
#: notice a death within a quarter of a minute, rarely enough that 50 sessions (the default
#: concurrency quota) use a third of the App ID's 10 requests per second.
DEFAULT_POLL_INTERVAL: Final = 15.0

#: The default first-poll jitter: a tenth of the poll interval, at most a second. Enough to spread
#: a burst of sessions started together (1,000 aligned sessions otherwise queue ~100 ms deep at
#: every poll) while keeping the first poll close to ``first_poll_delay``.
POLL_JITTER_SHARE: Final = 0.1
MAX_POLL_JITTER: Final = 1.0


T = TypeVar("T")


def _instance(name: str, value: T | None, kind: type[T]) -> T | None:
    if value is not None and not isinstance(value, kind):
        raise ValidationError(name, f"must be a {kind.__name__} or None")
    return value


def default_poll_interval(config: StartConfig | None) -> float:
    """15 s, or half of ``maxIdleTime`` when that is shorter, so polls stay below it."""
    recording = config.recording_config if config is not None else None
    idle = recording.max_idle_time if recording is not None else None
    if idle is None:
        return DEFAULT_POLL_INTERVAL
    return min(DEFAULT_POLL_INTERVAL, idle / 2)


@attrs.frozen(kw_only=True)
class SessionOptions:
    """Everything a session was told, with the defaults resolved; see `RecordingSession`.

    Build it with `create`, which checks the values the way the session's callers pass them.
    """

    acquire_config: AcquireConfig | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    first_poll_delay: float = 5.0
    poll_jitter: float = 0.0
    poll_timeout: float = 15.0
    start_timeout: float = 90.0
    failover_grace: float = 90.0
    max_poll_errors: int = 8
    outage_timeout: float = 120.0
    stop_timeout: float | None = None
    async_stop: bool = False
    on_status: StatusCallback | None = None
    fail_fast: bool = True
    events_silence: float = 180.0
    orphan_wait: float = 30.0
    assume_ended_on_404: bool = False
    clock: Callable[[], float] = anyio.current_time
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    random: Callable[[], float] = _random.random

    @classmethod
    def create(
        cls,
        config: StartConfig | None,
        *,
        acquire_config: AcquireConfig | None,
        poll_interval: float | None,
        first_poll_delay: float,
        poll_jitter: float | None,
        poll_timeout: float,
        start_timeout: float,
        failover_grace: float,
        max_poll_errors: int,
        outage_timeout: float,
        stop_timeout: float | None,
        async_stop: bool,
        on_status: StatusCallback | None,
        fail_fast: bool,
        events_silence: float,
        orphan_wait: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        random: Callable[[], float],
    ) -> SessionOptions:
        """Check the options (durations, counts and types, through ``_numbers``) and resolve
        the defaults that depend on ``config``: the poll interval (see `default_poll_interval`)
        and the jitter (a tenth of it, at most 1 s)."""
        config = _instance("config", config, StartConfig)
        poll_interval = optional_seconds("poll_interval", poll_interval)
        poll_jitter = optional_seconds("poll_jitter", poll_jitter, allow_zero=True)
        stop_timeout = optional_seconds("stop_timeout", stop_timeout)
        acquire_config = _instance("acquire_config", acquire_config, AcquireConfig)
        for flag, value in (("async_stop", async_stop), ("fail_fast", fail_fast)):
            if not isinstance(value, bool):
                raise ValidationError(flag, "must be True or False")
        for hook, function in (
            ("on_status", on_status),
            ("clock", clock),
            ("sleep", sleep),
            ("random", random),
        ):
            if function is not None and not callable(function):
                raise ValidationError(hook, "must be callable")
        interval = poll_interval if poll_interval is not None else default_poll_interval(config)
        if poll_jitter is None:
            poll_jitter = min(MAX_POLL_JITTER, POLL_JITTER_SHARE * interval)
        return cls(
            acquire_config=acquire_config,
            poll_interval=interval,
            first_poll_delay=seconds("first_poll_delay", first_poll_delay, allow_zero=True),
            poll_jitter=poll_jitter,
            poll_timeout=seconds("poll_timeout", poll_timeout),
            start_timeout=seconds("start_timeout", start_timeout),
            failover_grace=seconds("failover_grace", failover_grace, allow_zero=True),
            max_poll_errors=count("max_poll_errors", max_poll_errors),
            outage_timeout=seconds("outage_timeout", outage_timeout),
            stop_timeout=stop_timeout,
            async_stop=async_stop,
            on_status=on_status,
            fail_fast=fail_fast,
            events_silence=seconds("events_silence", events_silence),
            orphan_wait=seconds("orphan_wait", orphan_wait, allow_zero=True),
            clock=clock,
            sleep=sleep,
            random=random,
        )
