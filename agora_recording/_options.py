"""A session's options, defined and checked once: four public groups and `SessionOptions`.

`RecordingSession`, `RecordingSession.adopt`, `RecordingClient.session` and `Recorder` take the
few options most callers set as keywords, and the tuning knobs grouped the way httpx groups its
timeouts: `TimingOptions` (how long to wait for what), `PollingOptions` (when and how often to
ask), `CredentialOptions` (token sizing, STS refresh) and `RuntimeOptions` (clock, sleep and
randomness, injected by tests). Each group is a frozen attrs class whose fields are checked when
it is built (through ``_numbers``), so a bad value fails where it was written, before any
request. The session folds them into one `SessionOptions`, resolving the defaults that depend
on other options.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import anyio
import attrs

from ._credentials import CredentialsCallback, StorageCredentialsProvider
from ._numbers import count, optional_seconds, seconds
from ._status import StatusCallback
from .errors import ValidationError
from .models import AcquireConfig, StartConfig
from .validation import check_uid

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "MAX_POLL_JITTER",
    "POLL_JITTER_SHARE",
    "CredentialOptions",
    "PollingOptions",
    "RuntimeOptions",
    "SessionOptions",
    "TimingOptions",
    "default_poll_interval",
    "instance_or_none",
    "uid_text",
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


def _seconds(
    *, allow_zero: bool = False, optional: bool = False
) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: the field is a duration (`_numbers.seconds`), named by the field."""

    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if optional:
            optional_seconds(attribute.name, value, allow_zero=allow_zero)
        else:
            seconds(attribute.name, value, allow_zero=allow_zero)

    return check


def _count(_instance: Any, attribute: Any, value: Any) -> None:
    count(attribute.name, value)


def _callable(*, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if (value is not None or not optional) and not callable(value):
            raise ValidationError(attribute.name, "must be callable")

    return check


def uid_text(value: object) -> object:
    """An int uid as its decimal string; anything else as is, for `check_uid` to judge."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _uids(value: Any) -> Any:
    """A list or tuple of uids (ints or strings) as a tuple of strings; anything else as is."""
    if isinstance(value, (list, tuple)):
        return tuple(uid_text(v) for v in value)
    return value


def _distinct_uids(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, tuple):
        raise ValidationError(attribute.name, "must be a list or tuple of uids")
    for uid in value:
        check_uid(uid, attribute.name)
    if len(set(value)) != len(value):
        raise ValidationError(attribute.name, "must not repeat a uid")


@attrs.frozen(kw_only=True)
class TimingOptions:
    """How long a session waits for what, in seconds (`RecordingSession(timing=...)`).

    - ``start_timeout`` (90): the recorder must report status 4 or 5 within it.
    - ``failover_grace`` (90): how long ``query`` may answer 404 before the recording counts
      as lost; high-availability failover takes up to 90 s.
    - ``poll_timeout`` (15): the deadline of one poll, retries included.
    - ``outage_timeout`` (120): seconds of failed polls (two or more) that count as losing
      sight of the recording.

    ``failover_grace`` and ``outage_timeout`` count the service's time only: a poll's wait for
    the client's share of the quota or a place in flight is taken off them.
    - ``events_silence`` (180): with notifications, polling returns to normal after that long
      without one.
    - ``orphan_wait`` (30): how long to wait for a notification naming the sid of a start whose
      answer was lost.
    """

    start_timeout: float = attrs.field(default=90.0, validator=_seconds())
    failover_grace: float = attrs.field(default=90.0, validator=_seconds(allow_zero=True))
    poll_timeout: float = attrs.field(default=15.0, validator=_seconds())
    outage_timeout: float = attrs.field(default=120.0, validator=_seconds())
    events_silence: float = attrs.field(default=180.0, validator=_seconds())
    orphan_wait: float = attrs.field(default=30.0, validator=_seconds(allow_zero=True))


@attrs.frozen(kw_only=True)
class PollingOptions:
    """When the first poll goes and when polls give up (`RecordingSession(polling=...)`); the
    interval itself is the session's ``poll_interval``.

    - ``first_poll_delay``: seconds from ``start`` to the first poll; ``None`` means 5 s (the
      service recommends about 5), or 0 for an adopted recording.
    - ``poll_jitter``: the first poll waits a further random ``[0, poll_jitter]`` seconds so
      sessions started together do not poll together; ``None`` means ``min(1, poll_interval /
      10)``, or 0 for an adopted recording; 0 turns it off.
    - ``max_poll_errors`` (8): failed polls in a row that count as losing sight of the
      recording.
    """

    first_poll_delay: float | None = attrs.field(
        default=None, validator=_seconds(allow_zero=True, optional=True)
    )
    poll_jitter: float | None = attrs.field(
        default=None, validator=_seconds(allow_zero=True, optional=True)
    )
    max_poll_errors: int = attrs.field(default=8, validator=_count)


@attrs.frozen(kw_only=True)
class CredentialOptions:
    """The recorder's credentials over time (`RecordingSession(credentials=...)`; see
    ``agora_recording._credentials``).

    - ``expected_duration``: seconds the recording is expected to last; sizes a minted token
      and is checked against a given one and against STS credentials.
    - ``storage_credentials``: an async callable returning `StorageCredentials`, asked for
      fresh STS keys every 60 minutes (sent with ``update``).
    - ``on_credentials``: told each refresh outcome.
    - ``wall_clock``: Unix time in seconds (tokens and STS expiries are wall-clock times).
    - ``spare_uids`` (none): recorder uids the session may move to, in order, when a start is
      answered 50x after three retries ("retry with a new user ID", Agora's integration best
      practices) or a task is replaced for want of event 13 ("with a different UID"). Each is
      used at most once, so the list bounds the moves; empty turns them off. The recorder's
      token is minted (or the given token checked) for each before any request.
    """

    expected_duration: float | None = attrs.field(default=None, validator=_seconds(optional=True))
    storage_credentials: StorageCredentialsProvider | None = attrs.field(
        default=None, validator=_callable(optional=True)
    )
    on_credentials: CredentialsCallback | None = attrs.field(
        default=None, validator=_callable(optional=True)
    )
    wall_clock: Callable[[], float] = attrs.field(default=time.time, validator=_callable())
    spare_uids: tuple[str, ...] = attrs.field(default=(), converter=_uids, validator=_distinct_uids)


@attrs.frozen(kw_only=True)
class RuntimeOptions:
    """Time and chance as a session sees them (`RecordingSession(runtime=...)`), for tests.

    - ``clock``: the poller's time source (default: the event loop's).
    - ``sleep``: how it waits (default ``anyio.sleep``).
    - ``random``: a float in ``[0, 1)`` per draw of the first poll's jitter.
    """

    clock: Callable[[], float] = attrs.field(default=anyio.current_time, validator=_callable())
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=anyio.sleep, validator=_callable()
    )
    random: Callable[[], float] = attrs.field(default=_random.random, validator=_callable())


T = TypeVar("T")


def instance_or_none(name: str, value: T | None, kind: type[T]) -> T | None:
    """``value`` if it is a ``kind`` or ``None``; else `ValidationError` naming ``name``."""
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
        stop_timeout: float | None,
        async_stop: bool,
        on_status: StatusCallback | None,
        fail_fast: bool,
        timing: TimingOptions | None,
        polling: PollingOptions | None,
        runtime: RuntimeOptions | None,
        adopted: bool = False,
    ) -> SessionOptions:
        """Check the direct options and the groups' types, and resolve the defaults that
        depend on others: the poll interval (see `default_poll_interval`), the first poll's
        delay and jitter (5 s and a tenth of the interval, at most 1 s; both 0 when
        ``adopted``)."""
        config = instance_or_none("config", config, StartConfig)
        poll_interval = optional_seconds("poll_interval", poll_interval)
        stop_timeout = optional_seconds("stop_timeout", stop_timeout)
        acquire_config = instance_or_none("acquire_config", acquire_config, AcquireConfig)
        timing = instance_or_none("timing", timing, TimingOptions) or TimingOptions()
        polling = instance_or_none("polling", polling, PollingOptions) or PollingOptions()
        runtime = instance_or_none("runtime", runtime, RuntimeOptions) or RuntimeOptions()
        for flag, value in (("async_stop", async_stop), ("fail_fast", fail_fast)):
            if not isinstance(value, bool):
                raise ValidationError(flag, "must be True or False")
        if on_status is not None and not callable(on_status):
            raise ValidationError("on_status", "must be callable")
        interval = poll_interval if poll_interval is not None else default_poll_interval(config)
        first_poll_delay = polling.first_poll_delay
        if first_poll_delay is None:
            first_poll_delay = 0.0 if adopted else 5.0
        poll_jitter = polling.poll_jitter
        if poll_jitter is None:
            poll_jitter = 0.0 if adopted else min(MAX_POLL_JITTER, POLL_JITTER_SHARE * interval)
        return cls(
            acquire_config=acquire_config,
            poll_interval=interval,
            first_poll_delay=float(first_poll_delay),
            poll_jitter=float(poll_jitter),
            poll_timeout=float(timing.poll_timeout),
            start_timeout=float(timing.start_timeout),
            failover_grace=float(timing.failover_grace),
            max_poll_errors=polling.max_poll_errors,
            outage_timeout=float(timing.outage_timeout),
            stop_timeout=stop_timeout,
            async_stop=async_stop,
            on_status=on_status,
            fail_fast=fail_fast,
            events_silence=float(timing.events_silence),
            orphan_wait=float(timing.orphan_wait),
            assume_ended_on_404=False,
            clock=runtime.clock,
            sleep=runtime.sleep,
            random=runtime.random,
        )
