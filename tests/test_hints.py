"""What the user is told next: hints in the library's errors and log lines (issue: error hints).

Every hint comes from ``agora_recording._hints``; these tests read them where users meet them: an
exception's message, a log line, a session's failure.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import httpx
import pytest
from agora_recording import RecordingClient
from agora_recording._health import HealthJudge
from agora_recording._hints import status_name
from agora_recording.errors import AuthenticationError, BadRequestError, TransportError
from agora_recording.models import QueryResponse
from agora_recording.webhooks import NotificationHub, NotificationReceiver

from tests.helpers import CUSTOMER_SECRET, mock_client

pytestmark = pytest.mark.anyio


def free_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused_names_url_with_port_and_the_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listening: "connection refused", the host:port and AGORA_BASE_URL are named."""
    port = free_port()
    caplog.set_level(logging.DEBUG, logger="agora_recording")
    async with RecordingClient(
        app_id="app",
        customer_id="cid",
        customer_secret="csecret",
        base_url=f"http://127.0.0.1:{port}",
        attempts=3,
        rate_limit=None,
    ) as client:
        with pytest.raises(TransportError) as caught:
            await client.acquire(cname="ch", uid="1")
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "connection refused" in message
    assert "AGORA_BASE_URL" in message
    assert "base_url=" in message
    retried = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert [r.levelno for r in retried] == [logging.INFO], "said once, at INFO"
    assert "connection refused" in retried[0].getMessage()


async def test_unresolvable_host_is_named_with_the_region_setting() -> None:
    """A host name that does not resolve says so and names the setting that chose it."""

    def unresolvable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async with mock_client(unresolvable, region="eu", attempts=1) as client:
        with pytest.raises(TransportError) as caught:
            await client.acquire(cname="ch", uid="1")
    message = str(caught.value)
    assert "host name not resolved" in message
    assert "AGORA_REGION" in message
    assert ":443" in message


async def test_401_names_the_credential_variables_and_no_secret() -> None:
    """A 401 names AGORA_CUSTOMER_ID and AGORA_CUSTOMER_SECRET, never their values."""

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "Invalid authentication credentials"})

    async with mock_client(refuse) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.acquire(cname="ch", uid="1")
    message = str(caught.value)
    assert "AGORA_CUSTOMER_ID" in message
    assert "AGORA_CUSTOMER_SECRET" in message
    assert CUSTOMER_SECRET not in message


@pytest.mark.parametrize(
    "body", [{"message": "appid is invalid"}, {"code": 400, "reason": "invalid_appid"}]
)
async def test_invalid_app_id_names_agora_app_id(body: dict[str, Any]) -> None:
    """Both spellings of an invalid App ID point at AGORA_APP_ID."""

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=body)

    async with mock_client(refuse) as client:
        with pytest.raises(BadRequestError, match="AGORA_APP_ID"):
            await client.acquire(cname="ch", uid="1")


def query(status: int) -> QueryResponse:
    """A query answer with ``status``."""
    from agora_recording import converter

    wire = {"resourceId": "r", "sid": "s", "serverResponse": {"status": status}}
    return converter.structure(wire, QueryResponse)


def test_status_20_is_named() -> None:
    """An abnormal exit reads "20, exited abnormally", not a bare number."""
    ended = HealthJudge(started_at=0.0).answered(query(20), 10.0)
    assert ended is not None
    assert "20, exited abnormally" in ended.detail
    assert status_name(6) == "6, stop requested"
    assert status_name(99) == "99"


def test_exit_without_notification_explains_max_idle_time() -> None:
    """An exit seen by polling names maxIdleTime, its value and an empty channel."""
    judge = HealthJudge(started_at=0.0, max_idle_time=30)
    ended = judge.answered(query(6), 10.0)
    assert ended is not None
    assert "maxIdleTime" in ended.detail
    assert "30 s" in ended.detail
    assert "empty channel" in ended.detail


async def test_bad_signature_is_logged_with_the_secret_setting_and_throttled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong NCS secret is logged naming the secret's setting, not once per callback."""
    receiver = NotificationReceiver(NotificationHub(), "the-real-secret")
    caplog.set_level(logging.DEBUG, logger="agora_recording")
    for _ in range(25):
        status, _body = await receiver.handle(b"{}", {"Agora-Signature-V2": "forged"})
        assert status == 401
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # at most one line per log_interval, with a count
    assert "NotificationReceiver(hub, secret)" in warnings[0].getMessage()
    assert "the-real-secret" not in caplog.text
    assert receiver.bad_signatures == 25


@pytest.mark.slow
def test_testing_without_the_emulator_extra_names_the_extra() -> None:
    """Importing the test kit without starlette says which extra to install."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from agora_recording.testing import emulated_client\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ")
    assert 'pip install "agora-recording[emulator]"' in last
