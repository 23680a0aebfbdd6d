"""The public `RecordingClient`: the endpoint client plus ``session()``.

Assembled here, above both, so that the endpoint client (``_client``) never imports the session
(``_session``) that is built on it: imports point one way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _client
from ._session import RecordingSession

if TYPE_CHECKING:
    from ._options import CredentialOptions, PollingOptions, RuntimeOptions, TimingOptions
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
    13 before a session with notifications replaces its task, once the client has seen an event
    13 at all; ``None`` for never).
    """

    def session(
        self,
        *,
        cname: str,
        uid: int | str,
        mode: Mode | str,
        config: StartConfig | None,
        poll_interval: float | None = None,
        stop_timeout: float | None = None,
        notifications: NotificationHub | None = None,
        app_certificate: str | None = None,
        acquire_config: AcquireConfig | None = None,
        on_status: StatusCallback | None = None,
        fail_fast: bool = True,
        async_stop: bool = False,
        timing: TimingOptions | None = None,
        polling: PollingOptions | None = None,
        credentials: CredentialOptions | None = None,
        runtime: RuntimeOptions | None = None,
    ) -> RecordingSession:
        """Return a `RecordingSession` on this client (``async with`` it); the options are
        `RecordingSession`'s, documented there."""
        return RecordingSession(
            self,
            cname=cname,
            uid=uid,
            mode=mode,
            config=config,
            poll_interval=poll_interval,
            stop_timeout=stop_timeout,
            notifications=notifications,
            app_certificate=app_certificate,
            acquire_config=acquire_config,
            on_status=on_status,
            fail_fast=fail_fast,
            async_stop=async_stop,
            timing=timing,
            polling=polling,
            credentials=credentials,
            runtime=runtime,
        )
