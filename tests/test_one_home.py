"""Facts with one home: the places that use them agree because they read the same source."""

from __future__ import annotations

import logging

import attrs
import pytest
from agora_recording import StorageCredentials, redis
from agora_recording._credentials import (
    EXPIRY_LEAD,
    STS_MIN_VALIDITY,
    checked_fresh,
    expected_duration_for,
)
from agora_recording._health import max_recording_hour
from agora_recording._ratelimit import MIN_FACTOR
from agora_recording.enums import Mode
from agora_recording.errors import ArgumentTypeError, ValidationError
from agora_recording.models import (
    ExtensionService,
    ExtensionServiceConfig,
    StartConfig,
    StorageConfig,
    WebRecorderServiceParam,
)

NOW = 1_704_067_200.0


def _keys(valid_for: float) -> StorageCredentials:
    return StorageCredentials(
        access_key="a", secret_key="s", sts_token="t", expiration=int(NOW + valid_for)
    )


def test_the_shared_limiter_slows_down_as_far_as_the_local_one() -> None:
    """After repeated 429s a Redis-shared rate and a local rate fall to the same floor."""
    assert vars(redis)["MIN_FACTOR"] is MIN_FACTOR


def test_token_lifetime_and_health_read_the_same_max_recording_hour() -> None:
    """A web recording's token is minted for the ``maxRecordingHour`` its health check waits for."""
    param = WebRecorderServiceParam(
        url="https://example.com",
        audio_profile=0,
        video_width=1280,
        video_height=720,
        max_recording_hour=3,
    )
    config = StartConfig(
        storage_config=StorageConfig(
            vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
        ),
        extension_service_config=ExtensionServiceConfig(
            extension_services=[
                ExtensionService(service_name="web_recorder_service", service_param=param)
            ]
        ),
    )
    assert max_recording_hour(config) == 3
    assert expected_duration_for(Mode.WEB, config, None) == (3 * 3600.0, True)
    assert (
        expected_duration_for(Mode.WEB, attrs.evolve(config, extension_service_config=None), None)[
            1
        ]
        is False
    )


def test_fresh_credentials_outliving_the_lead_are_accepted() -> None:
    """Credentials valid for the documented minimum pass the one check, silently."""
    keys = _keys(STS_MIN_VALIDITY)
    assert checked_fresh(keys, now=NOW, lead=EXPIRY_LEAD) is keys


def test_fresh_credentials_within_the_lead_are_refused_naming_the_field() -> None:
    """Credentials that expire within the lead are refused, at start as at refresh."""
    with pytest.raises(ValidationError, match="stsExpiration"):
        checked_fresh(_keys(EXPIRY_LEAD), now=NOW, lead=EXPIRY_LEAD)


def test_fresh_credentials_of_the_wrong_type_are_refused() -> None:
    """A provider returning something else is an ArgumentTypeError."""
    with pytest.raises(ArgumentTypeError):
        checked_fresh({"sts_token": "t"}, now=NOW, lead=EXPIRY_LEAD)


def test_short_lived_fresh_credentials_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """Credentials shorter-lived than the documented minimum work, with a warning."""
    with caplog.at_level(logging.WARNING, logger="agora_recording"):
        checked_fresh(_keys(STS_MIN_VALIDITY - 1), now=NOW, lead=EXPIRY_LEAD)
    assert "less than the documented minimum" in caplog.text
