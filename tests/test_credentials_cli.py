"""The CLI's start mints the recorder's token with --app-certificate and checks a given one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agora_recording import tokens
from agora_recording._cli import cli
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET, FakeClock
from agora_recording.testing import ServedEmulator
from click.testing import CliRunner, Result

APP_ID = "970ca35de60c44645bbae8a215061b33"
CERTIFICATE = "5cfd2fd1755d40ecb72977518be15d3b"
WRONG = "0123456789abcdef0123456789abcdef"
STORAGE = ["--storage-vendor", "amazon_s3", "--storage-region", "0", "--storage-bucket", "bkt"]


@pytest.fixture(scope="module")
def served_options() -> dict[str, Any]:
    """The module's shared emulator (`served`) holds an App Certificate and runs on a fake
    clock."""
    return {"clock": FakeClock(), "app_certificate": CERTIFICATE, "max_concurrent_recordings": None}


def invoke(served: ServedEmulator, args: list[str], **env: str | None) -> Result:
    """Run the CLI in-process against the emulator."""
    environment: dict[str, str | None] = {
        "AGORA_APP_ID": APP_ID,
        "AGORA_CUSTOMER_ID": DEFAULT_CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET,
        "AGORA_BASE_URL": served.url,
        "AGORA_REGION": None,
        "AGORA_STORAGE_ACCESS_KEY": "ak",
        "AGORA_STORAGE_SECRET_KEY": "sk",
        "AGORA_RTC_TOKEN": None,
        "AGORA_APP_CERTIFICATE": None,
    }
    environment.update(env)
    return CliRunner().invoke(cli, args, env=environment)


def start(served: ServedEmulator, cname: str, **env: str | None) -> str:
    """Start a mix recording of uid 42 in ``cname`` with ``start --json``; return its sid."""
    served.emulator.channel(cname).publish(7)
    result = invoke(served, ["start", "--cname", cname, "--uid", "42", *STORAGE, "--json"], **env)
    assert result.exit_code == 0, result.output
    sid: str = json.loads(result.stdout)["handle"]["sid"]
    return sid


def test_start_mints_a_token_the_service_accepts(served: ServedEmulator) -> None:
    """start with AGORA_APP_CERTIFICATE sends a minted token; the recording keeps running."""
    sid = start(served, "minted", AGORA_APP_CERTIFICATE=CERTIFICATE)
    served.advance(30)
    info = served.emulator.recording(sid)
    assert info is not None
    assert info.running
    assert info.client_request["token"] == "***"


def test_a_wrong_certificate_makes_the_task_exit(served: ServedEmulator) -> None:
    """A token minted with another certificate is accepted by start, then the task exits."""
    sid = start(served, "wrong", AGORA_APP_CERTIFICATE=WRONG)
    served.advance(3)
    assert served.emulator.recording(sid) is None


def test_a_token_for_another_channel_is_a_usage_error(served: ServedEmulator) -> None:
    """start --token for another channel fails in one line, before any request."""
    token = tokens.build_rtc_token(APP_ID, CERTIFICATE, "elsewhere", 42)
    before = served.emulator.stats.requests()
    result = invoke(
        served, ["start", "--cname", "room", "--uid", "42", *STORAGE], AGORA_RTC_TOKEN=token
    )
    assert result.exit_code == 2, result.output
    assert "clientRequest.token" in result.stderr
    assert "another channel" in result.stderr
    assert served.emulator.stats.requests() == before
    assert token not in result.output


def test_a_token_shorter_than_the_expected_duration_is_refused(served: ServedEmulator) -> None:
    """start --expected-duration refuses a token that would expire during the recording."""
    token = tokens.build_rtc_token(APP_ID, CERTIFICATE, "room", 42, token_expire=600)
    result = invoke(
        served,
        ["start", "--cname", "room", "--uid", "42", *STORAGE, "--expected-duration", "3600"],
        AGORA_RTC_TOKEN=token,
    )
    assert result.exit_code == 2, result.output
    assert "before the expected 3600 s recording ends" in result.stderr


def test_dry_run_shows_the_minted_token_redacted(served: ServedEmulator) -> None:
    """start --dry-run with a certificate shows a token field, hidden, never the certificate."""
    result = invoke(
        served,
        ["start", "--cname", "dry", "--uid", "42", *STORAGE, "--dry-run", "--json"],
        AGORA_APP_CERTIFICATE=CERTIFICATE,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["body"]["clientRequest"]["token"] == "***"
    assert CERTIFICATE not in result.output
