"""The public `RecordingClient`: the endpoint client plus ``session()``.

Assembled here, above both, so that the endpoint client (``_client``) never imports the session
(``_session``) that is built on it: imports point one way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from . import _client
from ._session import RecordingSession

if TYPE_CHECKING:
    from ._credentials import CredentialsCallback, StorageCredentialsProvider
    from ._status import StatusCallback
    from .enums import Mode
    from .models import AcquireConfig, StartConfig
    from .webhooks._hub import NotificationHub

__all__ = ["RecordingClient"]


class RecordingClient(_client.RecordingClient):
    """An asyncio (and Trio) client for the Agora Cloud Recording REST API.

    ``app_id`` is the project's App ID; ``customer_id`` and ``customer_secret`` are the RESTful
    API credentials (sent as HTTP Basic auth on every request, never logged or shown in
    ``repr``). Hosts: ``base_url`` (an emulator, a proxy) means only that host; otherwise
    ``region`` (``Region.NA``/``EU``/``AP``/``CN``) picks the regional hosts, and without either
    the global hosts are used, failing over as Agora documents.

    ``http_client`` is borrowed, never closed; without one the client owns an
    ``httpx.AsyncClient`` and closes it in `aclose` (or on leaving ``async with``).
    ``rate_limit`` caps requests per second (the service allows 10 per App ID); pass a shared
    limiter (`RateLimiter`, or `agora_recording.redis.RedisRateLimiter` across processes) to
    cap several clients together, or ``None`` to turn it off. ``poll_share`` is the share of
    that rate routine polls of all sessions may use together (see `PollBudget`).
    ``attempts`` is the most attempts one call makes (retries follow Agora's guidance; see
    ``_retry``); ``stop_timeout`` is how long `ensure_stopped` may take, in service time.
    ``app_certificate`` (never logged or shown) lets sessions mint the recorder's RTC token.
    ``notifications`` is a `agora_recording.webhooks.NotificationHub` that every session of
    this client follows (sessions may also take their own). ``max_in_flight`` caps the
    requests in flight (default and upper bound: the connection pool's ``max_connections``, so
    a herd waits in the client's own queue, stops first, and deadlines never count the pool's
    queue). ``random`` gives the retries' jitter (numbers in [0, 1); seed it for reproducible
    runs).

    Three attributes tune how starts are made (see ``_starting``): ``start_attempt_timeout``
    (65 s, never less than the service takes to answer), ``start_recoveries`` (2 new resources
    after 500 code 502 or 400 code 433; 0 for none) and ``ha_register_timeout`` (10 s for event
    13 before a session with notifications replaces its task; ``None`` for never).
    """

    def session(
        self,
        *,
        cname: str,
        uid: int | str,
        mode: Mode | str,
        config: StartConfig | None,
        acquire_config: AcquireConfig | None = None,
        poll_interval: float | None = None,
        first_poll_delay: float = 5.0,
        poll_jitter: float | None = None,
        poll_timeout: float = 15.0,
        start_timeout: float = 90.0,
        failover_grace: float = 90.0,
        max_poll_errors: int = 8,
        outage_timeout: float = 120.0,
        stop_timeout: float | None = None,
        async_stop: bool = False,
        on_status: StatusCallback | None = None,
        fail_fast: bool = True,
        app_certificate: str | None = None,
        expected_duration: float | None = None,
        storage_credentials: StorageCredentialsProvider | None = None,
        on_credentials: CredentialsCallback | None = None,
        wall_clock: Callable[[], float] = time.time,
        notifications: NotificationHub | None = None,
        events_silence: float = 180.0,
        orphan_wait: float = 30.0,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        random: Callable[[], float] = random.random,
    ) -> RecordingSession:
        """Return a `RecordingSession` on this client (``async with`` it); the options are
        `RecordingSession`'s, documented there."""
        return RecordingSession(
            self,
            cname=cname,
            uid=uid,
            mode=mode,
            config=config,
            acquire_config=acquire_config,
            poll_interval=poll_interval,
            first_poll_delay=first_poll_delay,
            poll_jitter=poll_jitter,
            poll_timeout=poll_timeout,
            start_timeout=start_timeout,
            failover_grace=failover_grace,
            max_poll_errors=max_poll_errors,
            outage_timeout=outage_timeout,
            stop_timeout=stop_timeout,
            async_stop=async_stop,
            on_status=on_status,
            fail_fast=fail_fast,
            app_certificate=app_certificate,
            expected_duration=expected_duration,
            storage_credentials=storage_credentials,
            on_credentials=on_credentials,
            wall_clock=wall_clock,
            notifications=notifications,
            events_silence=events_silence,
            orphan_wait=orphan_wait,
            clock=clock,
            sleep=sleep,
            random=random,
        )
