"""Credentials a recording needs while it runs: the recorder's RTC token and storage STS keys.

**The recorder's token.** A project with an App Certificate must put an RTC token in
``clientRequest.token`` so the recorder may join the channel (Agora's "Start recording" API
reference). Cloud Recording cannot renew it, so it must outlive the recording. Given an App
Certificate, :func:`prepare_start_config` mints one for the session's channel and uid (an
AccessToken2 token, see `agora_recording.tokens`) that lives the expected duration plus
`tokens.DEFAULT_EXPIRY_MARGIN`; a token the user passed instead is parsed and checked (App ID,
channel, uid, signature when the certificate is known, expiry) so a wrong token fails before any
request rather than as a ``query`` 404 a few seconds after ``start``.

The expected duration is the session's ``expected_duration`` option; without it, a web
recording's ``maxRecordingHour``, else :data:`DEFAULT_EXPECTED_DURATION` (what a 24-hour token,
the format's longest, covers). A recording expected to outlive any token is logged at WARNING
once: the recorder leaves the channel when its token expires.

**Storage STS credentials.** ``storageConfig.stsToken``/``stsExpiration`` must be valid for at
least 4 hours, and a task running over an hour should get new ones every 60 minutes, pushed with
``update`` (``storageConfig``) (Agora's "Start recording" and "Update recording" references).
:class:`StorageRefresher` does that from an async provider returning
:class:`StorageCredentials`: every :data:`REFRESH_INTERVAL`, earlier when the current ones would
expire sooner, retrying failures; each outcome is a :class:`CredentialsEvent` for the
``on_credentials`` callback and a log line. When no refresh has succeeded and the current
credentials expire within :data:`EXPIRY_LEAD`, it reports :class:`CredentialsExpiringError`,
which ends the session (by default stopping it while uploads still work).

Nothing here logs or formats a secret: the certificate, tokens and keys stay ``repr=False``.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol

import anyio
import attrs

from . import tokens
from ._health import max_recording_hour
from ._numbers import seconds
from ._retry import describe_failure
from .enums import Mode, RecordingStatus
from .errors import (
    ArgumentTypeError,
    CredentialsExpiringError,
    RecordingFailedError,
    UsageError,
    ValidationError,
)
from .models import RecordingHandle, StartConfig, StorageConfig, UpdateConfig, UpdateResponse

__all__ = [
    "DEFAULT_EXPECTED_DURATION",
    "EXPIRY_LEAD",
    "REFRESH_INTERVAL",
    "STS_MIN_VALIDITY",
    "CredentialsEvent",
    "CredentialsEventKind",
    "CredentialsExpiringError",
    "SessionCredentials",
    "StorageCredentials",
    "StorageCredentialsProvider",
    "StorageRefresher",
    "expected_duration_for",
    "prepare_start_config",
]

_log = logging.getLogger("agora_recording.credentials")

DEFAULT_EXPECTED_DURATION: Final = tokens.MAX_TOKEN_EXPIRE - tokens.DEFAULT_EXPIRY_MARGIN
"""Seconds a recording is expected to last when nothing says otherwise: what the longest token
(24 hours) covers once the margin is kept."""
REFRESH_INTERVAL: Final = 3600.0
"""Seconds between STS refreshes: Agora asks for new credentials every 60 minutes."""
STS_MIN_VALIDITY: Final = 4 * 3600
"""The documented minimum validity of STS credentials, in seconds."""
EXPIRY_LEAD: Final = 600.0
"""Seconds before the current STS credentials expire at which a refresher that could not
refresh them gives up and reports :class:`CredentialsExpiringError`: time to stop the recording
(a synchronous stop waits up to 20 s for uploads) while uploads still work."""
_RETRY_DELAYS: Final = (30.0, 60.0, 120.0, 300.0)  # then every 300 s until the lead
_PROVIDER_TIMEOUT: Final = 60.0
_MIN_SPACING: Final = 60.0  # never push more often, whatever the provider's expiries


@attrs.frozen(kw_only=True)
class StorageCredentials:
    """Temporary storage credentials (an STS grant) for ``storageConfig``.

    ``expiration`` is when they stop working, in Unix seconds (``stsExpiration``); the rest of
    ``storageConfig`` (vendor, region, bucket, prefix) comes from the start configuration.
    """

    access_key: str = attrs.field(repr=False)
    secret_key: str = attrs.field(repr=False)
    sts_token: str = attrs.field(repr=False)
    expiration: int

    def applied_to(self, storage: StorageConfig) -> StorageConfig:
        """``storage`` with these keys, token and expiry."""
        return attrs.evolve(
            storage,
            access_key=self.access_key,
            secret_key=self.secret_key,
            sts_token=self.sts_token,
            sts_expiration=int(self.expiration),
        )


StorageCredentialsProvider = Callable[[], Awaitable[StorageCredentials]]
"""An async callable returning fresh :class:`StorageCredentials` (e.g. from AWS STS)."""


class CredentialsEventKind(str, enum.Enum):
    """What happened to a session's storage credentials."""

    REFRESHED = "refreshed"
    """New credentials were pushed with ``update``."""
    REFRESH_FAILED = "refresh_failed"
    """Getting or pushing new credentials failed; the refresher retries."""
    EXPIRING = "expiring"
    """Refreshes kept failing and the current credentials are about to expire: the session
    ends with :class:`CredentialsExpiringError`."""


@attrs.frozen(kw_only=True)
class CredentialsEvent:
    """One outcome of the STS refresher, passed to the session's ``on_credentials`` callback.

    ``expires_at`` is when the credentials in force now expire (Unix seconds); ``error`` a
    one-line description of a failure (never a secret); ``failures`` the failed attempts in a
    row.
    """

    kind: CredentialsEventKind
    expires_at: float
    failures: int = 0
    error: str | None = None


CredentialsCallback = Callable[[CredentialsEvent], object]


# -- the recorder's token ----------------------------------------------------------------------


def expected_duration_for(
    mode: Mode, config: StartConfig | None, expected_duration: float | None
) -> tuple[float, bool]:
    """The seconds a recording is expected to last, and whether anyone said so.

    ``expected_duration`` wins; a web recording then lasts at most its ``maxRecordingHour``;
    otherwise :data:`DEFAULT_EXPECTED_DURATION`, which is a guess (``False``).
    """
    if expected_duration is not None:
        return seconds("expected_duration", expected_duration), True
    if mode is Mode.WEB and config is not None:
        hours = max_recording_hour(config)
        if hours is not None:
            return hours * 3600.0, True
    return float(DEFAULT_EXPECTED_DURATION), False


def prepare_start_config(
    config: StartConfig,
    *,
    app_id: str,
    cname: str,
    uid: str,
    mode: Mode,
    app_certificate: str | None,
    expected_duration: float | None,
    now: float,
) -> StartConfig:
    """The start configuration with the recorder's token minted or checked; pure.

    - ``config.token`` set: parsed and checked against ``app_id``, ``cname``, ``uid``, the
      certificate's signature (when given) and the expected duration from ``now`` (Unix
      seconds); a mismatch raises `ValidationError` naming ``clientRequest.token`` and the
      problem. Without an expected duration a token only has to be valid now.
    - no token and an ``app_certificate``: a token for ``uid`` in ``cname`` living the expected
      duration plus the margin (at most 24 hours; longer recordings are logged at WARNING).
    - neither: unchanged (a project without an App Certificate needs no token).

    Web recording takes no token: its configuration is returned unchanged.
    """
    if mode is Mode.WEB:
        return config
    duration, stated = expected_duration_for(mode, config, expected_duration)
    if config.token is not None:
        check_user_token(
            config.token,
            app_id=app_id,
            cname=cname,
            uid=uid,
            app_certificate=app_certificate,
            expected_duration=duration if stated else None,
            now=now,
        )
        return config
    if app_certificate is None:
        return config
    expiry = tokens.token_expiry_for(duration, strict=False)
    if not expiry.covers:
        _log.warning(
            "recording cname=%s uid=%s is expected to last %g s, but its token lives at most "
            "%d s (24 h): the recorder leaves the channel when the token expires; stop and "
            "start a new recording before then",
            cname,
            uid,
            duration,
            expiry.token_expire,
        )
    try:
        token = tokens.build_rtc_token(
            app_id,
            app_certificate,
            cname,
            int(uid),
            token_expire=expiry.token_expire,
            issued_at=int(now),
        )
    except ValidationError as exc:
        raise ValidationError(f"token ({exc.field})", exc.rule) from None
    return attrs.evolve(config, token=token)


def check_user_token(
    token: str,
    *,
    app_id: str,
    cname: str,
    uid: str,
    app_certificate: str | None,
    expected_duration: float | None,
    now: float,
) -> tokens.ParsedToken | None:
    """Check a token given for the recorder; raise `ValidationError` naming the problem.

    Only AccessToken2 tokens (``007...``) are checked; others (the older ``006`` format) are
    passed on unchecked, and None is returned.
    """
    field = "clientRequest.token"
    if not token.startswith(tokens.VERSION):
        _log.info("the recorder's token is not an AccessToken2 token: not checked before start")
        return None
    try:
        if app_certificate is not None:
            parsed = tokens.check_token(token, app_certificate)
        else:
            parsed = tokens.parse_token(token)
    except tokens.TokenSignatureError:
        raise ValidationError(
            field, "is not signed with the App Certificate (wrong certificate or App ID?)"
        ) from None
    except tokens.InvalidTokenError as exc:
        raise ValidationError(field, f"is not a valid AccessToken2 token: {exc}") from None
    if parsed.app_id != app_id:
        raise ValidationError(field, "was issued for another App ID than the client's")
    grant = parsed.rtc
    if grant is None or tokens.Privilege.JOIN_CHANNEL not in grant.privileges:
        raise ValidationError(field, "grants no RTC join-channel privilege")
    if grant.channel_name != cname:
        raise ValidationError(field, f"was issued for another channel than {cname!r}")
    if not parsed.grants_join(cname, uid):
        raise ValidationError(field, f"was issued for another uid than the recorder's ({uid})")
    expires = parsed.expires_at
    join = parsed.privilege_expires_at(tokens.Privilege.JOIN_CHANNEL)
    if join is not None:
        expires = min(expires, join)
    if now >= expires:
        raise ValidationError(field, f"expired {now - expires:g} s ago")
    if expected_duration is not None:
        needed = expected_duration + tokens.DEFAULT_EXPIRY_MARGIN
        if expires - now < needed:
            raise ValidationError(
                field,
                f"expires in {expires - now:g} s, before the expected {expected_duration:g} s "
                f"recording ends (plus a {tokens.DEFAULT_EXPIRY_MARGIN} s margin); Cloud "
                "Recording cannot renew a token",
            )
    return parsed


# -- storage credentials ---------------------------------------------------------------------


def checked_fresh(fresh: object, *, now: float, lead: float) -> StorageCredentials:
    """What a provider returned, checked: `StorageCredentials` that outlive ``lead`` seconds
    from ``now`` (else an error), with a warning when they last less than the documented
    :data:`STS_MIN_VALIDITY`. The one check of fresh credentials, at start and at refresh."""
    if not isinstance(fresh, StorageCredentials):
        raise ArgumentTypeError("the storage credentials provider must return StorageCredentials")
    if fresh.expiration <= now + lead:
        raise ValidationError(
            "clientRequest.storageConfig.stsExpiration",
            f"the provider returned credentials expiring in {fresh.expiration - now:g} s",
        )
    if fresh.expiration - now < STS_MIN_VALIDITY:
        _log.warning(
            "new storage credentials are valid for %g s, less than the documented minimum of %d s",
            fresh.expiration - now,
            STS_MIN_VALIDITY,
        )
    return fresh


class _HoldsCertificate(Protocol):
    """What session credentials read of a client: its App Certificate, when it has one."""

    @property
    def app_certificate(self) -> str | None: ...


class _Session(Protocol):
    """What the refresher needs of a session."""

    @property
    def handle(self) -> RecordingHandle | None: ...

    @property
    def status(self) -> RecordingStatus | None: ...

    async def update(self, config: UpdateConfig) -> UpdateResponse: ...


class StorageRefresher:
    """Pushes fresh STS credentials to one running recording until cancelled; never raises.

    ``storage`` is the start's ``storageConfig`` (the fixed fields of each push);
    ``expires_at`` when the credentials in force expire (Unix seconds, ``None``: assume the
    documented minimum validity from the first reading of ``wall_clock``). ``sleep`` and
    ``wall_clock`` are injected so virtual time drives it. ``fail`` is called once with a
    :class:`CredentialsExpiringError` when the credentials are about to expire unrefreshed.
    """

    def __init__(
        self,
        provider: StorageCredentialsProvider,
        storage: StorageConfig,
        *,
        expires_at: float | None,
        on_event: CredentialsCallback | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        interval: float = REFRESH_INTERVAL,
        lead: float = EXPIRY_LEAD,
        retry_delays: tuple[float, ...] = _RETRY_DELAYS,
    ) -> None:
        self._provider = provider
        self._storage = storage
        self._expires_at = expires_at
        self._on_event = on_event
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._interval = interval
        self._lead = lead
        self._retry_delays = retry_delays
        self.refreshes = 0
        self.failures = 0

    @property
    def expires_at(self) -> float | None:
        """When the credentials in force expire (Unix seconds)."""
        return self._expires_at

    async def run(self, session: _Session, fail: Callable[[RecordingFailedError], None]) -> None:
        """Refresh every ``interval`` (sooner before an expiry) until cancelled or given up."""
        try:
            await self._run(session, fail)
        except Exception:
            _log.exception("storage credentials refresher crashed; refreshing stopped")

    async def _run(self, session: _Session, fail: Callable[[RecordingFailedError], None]) -> None:
        now = self._wall_clock()
        if self._expires_at is None:
            self._expires_at = now + STS_MIN_VALIDITY
        last_success = now
        in_a_row = 0
        last_error: BaseException | None = None
        while True:
            now = self._wall_clock()
            deadline = self._expires_at - self._lead
            if in_a_row == 0:
                due = min(last_success + self._interval, deadline - self._interval / 2)
                due = max(due, last_success + _MIN_SPACING)
            else:
                delay = self._retry_delays[min(in_a_row - 1, len(self._retry_delays) - 1)]
                due = min(now + delay, deadline)
            if due > now:
                await self._sleep(due - now)
            now = self._wall_clock()
            if in_a_row and now >= deadline:
                self._give_up(session, fail, in_a_row, last_error)
                return
            try:
                if not await self._refresh(session):
                    return  # the session stopped: nothing left to refresh
            except Exception as exc:
                in_a_row += 1
                self.failures += 1
                last_error = exc
                _log.warning(
                    "refreshing storage credentials failed (%d in a row; current ones expire "
                    "in %g s): %s",
                    in_a_row,
                    self._expires_at - now,
                    describe_failure(exc),
                    exc_info=exc,
                )
                self._emit(CredentialsEventKind.REFRESH_FAILED, in_a_row, describe_failure(exc))
                if self._wall_clock() >= deadline:
                    self._give_up(session, fail, in_a_row, last_error)
                    return
                continue
            in_a_row = 0
            last_success = self._wall_clock()

    async def _refresh(self, session: _Session) -> bool:
        """Get fresh keys and push them; False when the session stopped recording meanwhile.

        Anything the user's provider raises (a ``RuntimeError`` too) is a failed refresh,
        retried and reported, never taken for the session's end."""
        with anyio.fail_after(_PROVIDER_TIMEOUT):
            fresh = await self._provider()
        now = self._wall_clock()
        fresh = checked_fresh(fresh, now=now, lead=self._lead)
        try:
            await session.update(UpdateConfig(storage_config=fresh.applied_to(self._storage)))
        except UsageError:
            return False  # the session is no longer recording
        self._expires_at = float(fresh.expiration)
        self.refreshes += 1
        _log.info("pushed new storage credentials (valid for %g s)", fresh.expiration - now)
        self._emit(CredentialsEventKind.REFRESHED, 0, None)
        return True

    def _give_up(
        self,
        session: _Session,
        fail: Callable[[RecordingFailedError], None],
        failures: int,
        cause: BaseException | None,
    ) -> None:
        assert self._expires_at is not None
        left = self._expires_at - self._wall_clock()
        reason = (
            f"the storage credentials expire in {left:g} s and could not be refreshed "
            f"({failures} attempts failed"
            + (f"; last: {describe_failure(cause)})" if cause is not None else ")")
            + ": uploads would fail after that"
        )
        _log.warning("%s", reason)
        self._emit(CredentialsEventKind.EXPIRING, failures, reason)
        fail(
            CredentialsExpiringError(
                reason,
                expires_at=self._expires_at,
                handle=session.handle,
                status=session.status,
                cause=cause,
            )
        )

    def _emit(self, kind: CredentialsEventKind, failures: int, error: str | None) -> None:
        if self._on_event is None:
            return
        assert self._expires_at is not None
        event = CredentialsEvent(
            kind=kind, expires_at=self._expires_at, failures=failures, error=error
        )
        try:
            self._on_event(event)
        except Exception:
            _log.exception("on_credentials callback failed")


def prepared_token(config: StartConfig, before: str | None) -> bool:
    """Whether the token of ``config`` was minted (it was not there ``before``)."""
    return before is None and config.token is not None


# -- the session's view ----------------------------------------------------------------------


@attrs.define(kw_only=True)
class SessionCredentials:
    """A session's credential options, and the two things it does with them.

    ``app_certificate`` (the session's, else the client's) mints the recorder's token;
    ``storage_credentials`` feeds a :class:`StorageRefresher` while recording.
    """

    app_certificate: str | None = attrs.field(default=None, repr=False)
    expected_duration: float | None = None
    storage_credentials: StorageCredentialsProvider | None = None
    on_credentials: CredentialsCallback | None = None
    wall_clock: Callable[[], float] = time.time
    refresher: StorageRefresher | None = attrs.field(default=None, init=False, eq=False)
    token_source: str | None = attrs.field(default=None, init=False)
    """Where the recorder's token came from: ``"minted"``, ``"user"`` or None."""
    _scope: anyio.CancelScope | None = attrs.field(default=None, init=False, eq=False)
    _cancelled: bool = attrs.field(default=False, init=False, eq=False)

    @classmethod
    def from_options(
        cls,
        client: _HoldsCertificate,
        *,
        app_certificate: str | None,
        expected_duration: float | None,
        storage_credentials: StorageCredentialsProvider | None,
        on_credentials: CredentialsCallback | None,
        wall_clock: Callable[[], float],
    ) -> SessionCredentials:
        """The session's options, the client's App Certificate filling in for a missing one."""
        if app_certificate is None:
            app_certificate = getattr(client, "app_certificate", None)
        if expected_duration is not None:
            expected_duration_for(Mode.MIX, None, expected_duration)  # validates it
        if storage_credentials is not None and not callable(storage_credentials):
            raise ArgumentTypeError("storage_credentials must be an async callable")
        return cls(
            app_certificate=app_certificate,
            expected_duration=expected_duration,
            storage_credentials=storage_credentials,
            on_credentials=on_credentials,
            wall_clock=wall_clock,
        )

    async def prepare(
        self,
        app_id: str,
        cname: str,
        uid: str,
        mode: Mode,
        config: StartConfig,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> StartConfig:
        """Before acquire: the token minted or checked, initial STS credentials if needed."""
        before = config.token
        config = self._token_config(config, app_id=app_id, cname=cname, uid=uid, mode=mode)
        if config.token is not None:
            self.token_source = "minted" if prepared_token(config, before) else "user"
        if self.storage_credentials is None:
            return config
        storage = config.storage_config
        if storage is None:
            raise ValidationError("clientRequest.storageConfig", "is needed to refresh STS keys")
        expires_at: float | None = storage.sts_expiration
        if storage.sts_token is None:
            fresh = checked_fresh(
                await self.storage_credentials(), now=self.wall_clock(), lead=EXPIRY_LEAD
            )
            storage = fresh.applied_to(storage)
            config = attrs.evolve(config, storage_config=storage)
            expires_at = fresh.expiration
        self.refresher = StorageRefresher(
            self.storage_credentials,
            storage,
            expires_at=expires_at,
            on_event=self.on_credentials,
            wall_clock=self.wall_clock,
            sleep=sleep,
        )
        return config

    def spare_configs(
        self, config: StartConfig, *, app_id: str, cname: str, mode: Mode, uids: Sequence[str]
    ) -> dict[str, StartConfig]:
        """The start configuration of each spare uid, before any request: the token `prepare`
        minted is minted again for that uid, a token the user gave is checked against it (and
        refused, naming ``clientRequest.token``, when it was made for another uid)."""
        base = attrs.evolve(config, token=None) if self.token_source == "minted" else config
        return {
            uid: self._token_config(base, app_id=app_id, cname=cname, uid=uid, mode=mode)
            for uid in uids
        }

    def _token_config(
        self, config: StartConfig, *, app_id: str, cname: str, uid: str, mode: Mode
    ) -> StartConfig:
        """`prepare_start_config` with these credentials, now."""
        return prepare_start_config(
            config,
            app_id=app_id,
            cname=cname,
            uid=uid,
            mode=mode,
            app_certificate=self.app_certificate,
            expected_duration=self.expected_duration,
            now=self.wall_clock(),
        )

    async def refresh_loop(
        self, session: _Session, fail: Callable[[RecordingFailedError], None]
    ) -> None:
        """The background task: run the refresher, if this session has one, until `cancel`."""
        if self.refresher is None or self._cancelled:
            return
        with anyio.CancelScope() as scope:
            self._scope = scope
            await self.refresher.run(session, fail)

    def cancel(self) -> None:
        """Stop refreshing (the session is leaving); safe before the task started."""
        self._cancelled = True
        if self._scope is not None:
            self._scope.cancel()
