"""The pure side of session credentials: minting and checking the recorder's token, expected
durations, and keeping the App Certificate and storage secrets out of reprs and logs."""

from __future__ import annotations

import logging

import attrs
import pytest
from agora_recording import CredentialsExpiringError, RecordingClient, StorageCredentials, tokens
from agora_recording._credentials import (
    DEFAULT_EXPECTED_DURATION,
    SessionCredentials,
    expected_duration_for,
    prepare_start_config,
)
from agora_recording._hints import early_exit_causes
from agora_recording.enums import Mode
from agora_recording.errors import AgoraError, RecordingFailedError, ValidationError
from agora_recording.models import (
    ExtensionServiceConfig,
    StartConfig,
    StorageConfig,
)

from tests.helpers import web_recorder

APP_ID = "970ca35de60c44645bbae8a215061b33"
CERTIFICATE = "5cfd2fd1755d40ecb72977518be15d3b"
NOW = 1_704_067_200
CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
    )
)


def prepare(config: StartConfig = CONFIG, **options: object) -> StartConfig:
    """prepare_start_config for uid 99 in "room", mix, at NOW."""
    arguments: dict[str, object] = {
        "app_id": APP_ID,
        "cname": "room",
        "uid": "99",
        "mode": Mode.MIX,
        "app_certificate": CERTIFICATE,
        "expected_duration": None,
        "now": NOW,
    }
    arguments.update(options)
    return prepare_start_config(config, **arguments)  # type: ignore[arg-type]


def test_a_minted_token_is_for_the_recorder_and_outlives_the_expected_duration() -> None:
    """The minted token is signed, for the recorder's channel and uid, living duration + margin."""
    token = prepare(expected_duration=3 * 3600).token
    assert token is not None
    parsed = tokens.check_token(token, CERTIFICATE, now=NOW)
    assert parsed.app_id == APP_ID
    assert parsed.issued_at == NOW
    assert parsed.grants_join("room", 99)
    assert parsed.expire == 3 * 3600 + tokens.DEFAULT_EXPIRY_MARGIN


def test_without_an_expected_duration_the_token_lives_24_hours() -> None:
    """By default the token lives the longest the format allows: 24 hours."""
    token = prepare().token
    assert token is not None
    assert tokens.parse_token(token).expire == tokens.MAX_TOKEN_EXPIRE


def web_config(hours: int) -> StartConfig:
    """A web configuration recording at most ``hours``."""
    service = web_recorder(hours)
    return attrs.evolve(
        CONFIG, extension_service_config=ExtensionServiceConfig(extension_services=[service])
    )


def test_web_recording_is_expected_to_last_max_recording_hour() -> None:
    """A web recording's expected duration is its maxRecordingHour unless given."""
    assert expected_duration_for(Mode.WEB, web_config(3), None) == (3 * 3600.0, True)
    assert expected_duration_for(Mode.MIX, CONFIG, None) == (DEFAULT_EXPECTED_DURATION, False)
    assert expected_duration_for(Mode.WEB, web_config(3), 60) == (60.0, True)


def test_web_recording_gets_no_token() -> None:
    """Web recording takes no RTC token: its configuration is left alone."""
    assert prepare(web_config(2), mode=Mode.WEB).token is None


def test_without_a_certificate_no_token_is_minted() -> None:
    """A project without an App Certificate needs no token."""
    assert prepare(app_certificate=None).token is None


@pytest.mark.parametrize("bad", [0, -1, float("inf"), True, "1h"])
def test_a_bad_expected_duration_is_refused(bad: object) -> None:
    """expected_duration must be a positive, finite number of seconds."""
    with pytest.raises(ValidationError, match="expected_duration"):
        prepare(expected_duration=bad)


def test_a_malformed_certificate_is_refused_naming_it() -> None:
    """A certificate that is not 32 hex characters fails before anything is sent."""
    with pytest.raises(ValidationError, match="app_certificate"):
        prepare(app_certificate="nope")


def test_a_malformed_access_token2_is_refused() -> None:
    """A token with the 007 prefix that does not decode is refused, naming the token."""
    with pytest.raises(ValidationError, match="not a valid AccessToken2"):
        prepare(attrs.evolve(CONFIG, token="007AAAA"))


def test_an_older_token_format_passes_unchecked() -> None:
    """A token in the older 006 format cannot be parsed here and is passed on as given."""
    config = attrs.evolve(CONFIG, token="006abc")
    assert prepare(config) is config


def test_a_user_token_without_expected_duration_only_has_to_be_valid_now() -> None:
    """With no expected duration, a short-lived but valid token is accepted."""
    token = tokens.build_rtc_token(APP_ID, CERTIFICATE, "room", 99, token_expire=60, issued_at=NOW)
    config = attrs.evolve(CONFIG, token=token)
    assert prepare(config) is config


def test_early_exit_causes_name_the_token_first() -> None:
    """The early-exit explanation puts the token's likely fault first, by its source."""
    assert "App Certificate was refused" in early_exit_causes("minted")
    assert "wrong or expired token" in early_exit_causes("user")
    assert "no token" in early_exit_causes(None)
    assert "uid already in the channel" in early_exit_causes(None)


def test_credentials_expiring_is_a_recording_failure() -> None:
    """CredentialsExpiringError is a RecordingFailedError, hence an AgoraError."""
    error = CredentialsExpiringError("keys expire", expires_at=NOW)
    assert isinstance(error, RecordingFailedError)
    assert isinstance(error, AgoraError)
    assert error.expires_at == NOW


def test_from_env_reads_the_app_certificate() -> None:
    """RecordingClient.from_env takes AGORA_APP_CERTIFICATE, and the session uses it."""
    client = RecordingClient.from_env(
        {
            "AGORA_APP_ID": APP_ID,
            "AGORA_CUSTOMER_ID": "id",
            "AGORA_CUSTOMER_SECRET": "secret",
            "AGORA_APP_CERTIFICATE": CERTIFICATE,
        }
    )
    assert client.app_certificate == CERTIFICATE
    credentials = SessionCredentials.from_options(
        client,
        app_certificate=None,
        expected_duration=None,
        storage_credentials=None,
        on_credentials=None,
        wall_clock=lambda: NOW,
    )
    assert credentials.app_certificate == CERTIFICATE


def test_secrets_stay_out_of_reprs_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The certificate, minted token and STS keys appear in no repr, message or log line."""
    caplog.set_level(logging.DEBUG)
    client = RecordingClient(
        app_id=APP_ID,
        customer_id="id",
        customer_secret="customer-secret",
        app_certificate=CERTIFICATE,
    )
    session = client.session(
        cname="room", uid="99", mode=Mode.MIX, config=CONFIG, app_certificate=CERTIFICATE
    )
    keys = StorageCredentials(
        access_key="AK-SENTINEL", secret_key="SK-SENTINEL", sts_token="STS-SENTINEL", expiration=1
    )
    minted = prepare(expected_duration=30 * 3600).token
    assert minted is not None
    credentials = SessionCredentials(app_certificate=CERTIFICATE)
    texts = [repr(client), repr(session), repr(keys), repr(credentials)]
    texts += [repr(keys.applied_to(CONFIG.storage_config))]  # type: ignore[arg-type]
    texts += [record.getMessage() for record in caplog.records]
    assert any("token lives at most" in text for text in texts)  # the one warning was logged
    for text in texts:
        for secret in (CERTIFICATE, minted, "AK-SENTINEL", "SK-SENTINEL", "STS-SENTINEL"):
            assert secret not in text
