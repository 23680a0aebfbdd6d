"""Sessions with credentials, in virtual time: self-minted RTC tokens, pre-flight token checks,
STS refresh every 60 minutes, and failures the user learns of before credentials expire."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import pytest
from agora_recording import (
    CredentialOptions,
    CredentialsEvent,
    CredentialsEventKind,
    CredentialsExpiringError,
    EndReason,
    Mode,
    RecordingSession,
    StopOutcome,
    StorageCredentials,
    tokens,
)
from agora_recording._credentials import CredentialsCallback, StorageCredentialsProvider
from agora_recording.emulator import DEFAULT_NOTIFICATION_SECRET
from agora_recording.errors import RecordingFailedError, ValidationError
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.testing import EmulatedService, virtual_service
from agora_recording.webhooks import NotificationHub, NotificationReceiver

from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

APP_ID = "970ca35de60c44645bbae8a215061b33"
CERTIFICATE = "5cfd2fd1755d40ecb72977518be15d3b"
WRONG = "0123456789abcdef0123456789abcdef"
HOUR = 3600.0
CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
    ),
    recording_config=RecordingConfig(channel_type=0, max_idle_time=3600),
)


@asynccontextmanager
async def service(
    *, client_certificate: str | None = None, **options: Any
) -> AsyncIterator[EmulatedService]:
    """The emulator on the loop clock, for APP_ID; the client holds ``client_certificate``."""
    client_options = {"app_certificate": client_certificate} if client_certificate else {}
    async with virtual_service(
        app_id=APP_ID, max_concurrent_recordings=None, client_options=client_options, **options
    ) as emulated:
        emulated.channel("room").publish(7)
        yield emulated


def session(
    emulated: EmulatedService,
    *,
    expected_duration: float | None = None,
    storage_credentials: StorageCredentialsProvider | None = None,
    on_credentials: CredentialsCallback | None = None,
    **options: Any,
) -> RecordingSession:
    """A mix session of uid 99 in "room", on the emulator's Unix time, with these credential
    options."""
    options.setdefault("config", CONFIG)
    return RecordingSession(
        emulated.client,
        cname="room",
        uid="99",
        mode=Mode.MIX,
        credentials=CredentialOptions(
            expected_duration=expected_duration,
            storage_credentials=storage_credentials,
            on_credentials=on_credentials,
            wall_clock=emulated.emulator.clock.time,
        ),
        **options,
    )


def user_token(emulated: EmulatedService, **changes: Any) -> str:
    """A token for uid 99 in "room" issued now, for an hour unless ``changes`` say otherwise."""
    arguments: dict[str, Any] = {
        "app_id": APP_ID,
        "app_certificate": CERTIFICATE,
        "channel_name": "room",
        "uid": 99,
        "token_expire": 3600,
        "issued_at": int(emulated.emulator.clock.time()),
    }
    arguments.update(changes)
    return tokens.build_rtc_token(**arguments)


async def test_a_session_records_with_a_token_it_minted() -> None:
    """With the client's App Certificate, the session mints a token the service accepts."""
    async with service(app_certificate=CERTIFICATE, client_certificate=CERTIFICATE) as emulated:
        recording = session(emulated, expected_duration=2 * HOUR)
        async with recording:
            await anyio.sleep(2 * HOUR - 60)
            assert recording.status == 5
            assert recording.handle is not None
            info = emulated.emulator.recording(recording.handle.sid)
            assert info is not None
            assert info.client_request["token"] == "***"
        assert recording.outcome is not None
        assert recording.outcome.end_reason is EndReason.STOPPED
        assert recording.result is not None


async def test_the_session_certificate_overrides_the_clients() -> None:
    """A session's own app_certificate wins over the client's."""
    async with service(app_certificate=CERTIFICATE, client_certificate=WRONG) as emulated:
        recording = session(emulated, app_certificate=CERTIFICATE)
        async with recording:
            await anyio.sleep(120)
            assert recording.status == 5


async def test_a_wrong_certificate_fails_naming_the_token() -> None:
    """A token minted with the wrong certificate ends the session with an error naming it."""
    async with service(app_certificate=CERTIFICATE, client_certificate=WRONG) as emulated:
        recording = session(emulated)
        began = anyio.current_time()
        with pytest.raises(RecordingFailedError) as caught:
            async with recording:
                await anyio.sleep(HOUR)
        assert "token minted with the App Certificate was refused" in str(caught.value)
        assert recording.outcome is not None
        assert recording.outcome.end_reason is EndReason.WORKER_LOST
        # Without notifications only a 404 held past the whole stop budget (longer than any
        # documented failover) tells the recording is gone: the first poll (5 s and jitter), the
        # 90 s grace (seen at a 10 s poll), then the 180 s budget, and no re-check beyond it.
        assert recording.stop_outcome is StopOutcome.ALREADY_GONE
        assert anyio.current_time() - began < 5 + 1 + 90 + 10 + 180 + 10
        assert emulated.client.unconfirmed() == []


async def test_with_notifications_the_error_names_the_precise_token_problem() -> None:
    """Following NCS events, the session names error 110 and the signature mismatch."""
    hub = NotificationHub()
    receiver = NotificationReceiver(hub, DEFAULT_NOTIFICATION_SECRET)
    async with service(
        app_certificate=CERTIFICATE, client_certificate=WRONG, notification_app=receiver
    ) as emulated:
        recording = session(emulated, notifications=hub)
        with pytest.raises(RecordingFailedError) as caught:
            async with recording:
                await anyio.sleep(HOUR)
        assert "error 110" in str(caught.value)
        assert "signature does not match" in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"channel_name": "another"}, "another channel"),
        ({"uid": 100}, "another uid"),
        ({"app_id": "0" * 32}, "another App ID"),
        ({"app_certificate": WRONG}, "not signed with the App Certificate"),
        ({"token_expire": 1800}, "before the expected 3600 s recording ends"),
    ],
    ids=["channel", "uid", "app-id", "certificate", "expiry"],
)
async def test_a_wrong_user_token_is_refused_before_any_request(
    changes: dict[str, Any], expected: str
) -> None:
    """A user's token for another channel, uid or App ID, or too short, fails before acquire."""
    async with service(client_certificate=CERTIFICATE) as emulated:
        token = user_token(emulated, **changes)
        recording = session(
            emulated, config=attrs.evolve(CONFIG, token=token), expected_duration=HOUR
        )
        with pytest.raises(ValidationError, match=expected) as caught:
            async with recording:
                pytest.fail("the session must not start")
        assert caught.value.field == "clientRequest.token"
        assert emulated.emulator.stats.requests() == 0


async def test_an_expired_user_token_is_refused_without_a_certificate() -> None:
    """Without any certificate an expired AccessToken2 token still fails before acquire."""
    async with service() as emulated:
        token = user_token(emulated, issued_at=int(emulated.emulator.clock.time()) - 7200)
        recording = session(emulated, config=attrs.evolve(CONFIG, token=token))
        with pytest.raises(ValidationError, match="expired"):
            async with recording:
                pytest.fail("the session must not start")
        assert emulated.emulator.stats.requests() == 0


async def test_a_good_user_token_records() -> None:
    """A correct token passed by the user is kept and the recording runs."""
    async with service(app_certificate=CERTIFICATE, client_certificate=CERTIFICATE) as emulated:
        token = user_token(emulated, token_expire=2 * 3600)
        recording = session(
            emulated, config=attrs.evolve(CONFIG, token=token), expected_duration=HOUR
        )
        async with recording:
            await anyio.sleep(HOUR)
            assert recording.status == 5


async def test_a_recording_longer_than_any_token_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expected duration over 24 hours logs one WARNING: the token cannot outlive it."""
    caplog.set_level(logging.WARNING, logger="agora_recording")
    async with service(client_certificate=CERTIFICATE) as emulated:
        recording = session(emulated, expected_duration=30 * HOUR)
        async with recording:
            await anyio.sleep(60)
    warnings = [r for r in caplog.records if "token lives at most" in r.getMessage()]
    assert len(warnings) == 1


class Provider:
    """STS credentials valid 4 hours from each call; fails from call ``fail_from`` on."""

    def __init__(
        self,
        emulated: EmulatedService,
        fail_from: int | None = None,
        error: Exception | None = None,
    ) -> None:
        self.emulated = emulated
        self.fail_from = fail_from
        self.error = error if error is not None else ConnectionError("STS is unreachable")
        self.calls: list[float] = []

    async def __call__(self) -> StorageCredentials:
        now = self.emulated.emulator.clock.time()
        self.calls.append(now)
        if self.fail_from is not None and len(self.calls) >= self.fail_from:
            raise self.error
        return StorageCredentials(
            access_key=f"AK{len(self.calls)}",
            secret_key="SK-SENTINEL",
            sts_token="STS-SENTINEL",
            expiration=int(now + 4 * HOUR),
        )


async def test_a_six_hour_recording_refreshes_sts_every_hour_and_uploads_throughout() -> None:
    """4-hour STS credentials are renewed every 60 minutes with update; uploads never fail."""
    async with service() as emulated:
        provider = Provider(emulated)
        events: list[CredentialsEvent] = []
        recording = session(emulated, storage_credentials=provider, on_credentials=events.append)
        async with recording:
            began = emulated.emulator.clock.time()
            await anyio.sleep(6 * HOUR - 30)  # a six-hour recording, stopped just before 6 h
            assert recording.handle is not None
            info = emulated.emulator.recording(recording.handle.sid)
            assert info is not None
            assert info.upload_failed_at is None
            assert info.storage_expires_at is not None
            assert info.storage_expires_at > emulated.emulator.clock.time() + 2 * HOUR
        offsets = [round(call - began) for call in provider.calls]
        assert offsets == [0, 3600, 7200, 10800, 14400, 18000]
        assert [e.kind for e in events] == [CredentialsEventKind.REFRESHED] * 5
        assert emulated.emulator.stats.requests(endpoint="update") == 5
        assert recording.result is not None
        assert recording.result.uploading_status == "uploaded"


async def test_failed_refreshes_are_reported_and_end_the_session_before_expiry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Refreshes failing from the first hour: events, WARNINGs without secrets, then
    CredentialsExpiringError before the keys expire."""
    caplog.set_level(logging.DEBUG)
    async with service() as emulated:
        provider = Provider(emulated, fail_from=2)
        events: list[CredentialsEvent] = []
        recording = session(emulated, storage_credentials=provider, on_credentials=events.append)
        began = emulated.emulator.clock.time()
        with pytest.raises(CredentialsExpiringError) as caught:
            async with recording:
                await anyio.sleep(6 * HOUR)
        ended = emulated.emulator.clock.time()
        expires = began + 4 * HOUR
        assert ended < expires
        assert caught.value.expires_at == pytest.approx(expires, abs=1)
        assert isinstance(caught.value.cause, ConnectionError)
        assert events[0].kind is CredentialsEventKind.REFRESH_FAILED
        assert round(provider.calls[1] - began) == 3600
        assert events[-1].kind is CredentialsEventKind.EXPIRING
        assert recording.outcome is not None
        assert recording.outcome.end_reason is EndReason.CREDENTIALS_EXPIRING
        assert recording.result is not None
        assert recording.result.uploading_status == "uploaded"  # stopped while keys worked
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("refreshing storage credentials failed" in r.getMessage() for r in warnings)
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert "SK-SENTINEL" not in text
        assert "STS-SENTINEL" not in text


async def test_a_provider_raising_runtime_error_is_logged_reported_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A provider's RuntimeError is a failed refresh like any other: logged with the exception,
    told to on_credentials, retried, and the session ends before the keys expire."""
    caplog.set_level(logging.WARNING)
    broken = RuntimeError("the vault client is not configured")
    async with service() as emulated:
        provider = Provider(emulated, fail_from=2, error=broken)
        events: list[CredentialsEvent] = []
        recording = session(emulated, storage_credentials=provider, on_credentials=events.append)
        with pytest.raises(CredentialsExpiringError) as caught:
            async with recording:
                await anyio.sleep(6 * HOUR)
    assert caught.value.cause is broken
    assert len(provider.calls) > 2  # refreshing went on after the first RuntimeError
    failed = [e for e in events if e.kind is CredentialsEventKind.REFRESH_FAILED]
    assert failed
    assert all(e.error == "RuntimeError" for e in failed)
    assert events[-1].kind is CredentialsEventKind.EXPIRING
    logged = [r for r in caplog.records if "refreshing storage credentials failed" in r.msg]
    assert logged
    assert all(r.exc_info is not None and r.exc_info[1] is broken for r in logged)


async def test_with_fail_fast_off_wait_returns_the_expiring_outcome() -> None:
    """fail_fast=False: wait() returns the credentials outcome before the expiry, no raise."""
    async with service() as emulated:
        provider = Provider(emulated, fail_from=2)
        recording = session(emulated, storage_credentials=provider, fail_fast=False)
        async with recording:
            began = emulated.emulator.clock.time()
            outcome = await recording.wait()
            assert emulated.emulator.clock.time() < began + 4 * HOUR
        assert outcome.end_reason is EndReason.CREDENTIALS_EXPIRING
        assert isinstance(outcome.error, CredentialsExpiringError)
