"""The emulator as a development server: its help lists the routes and faults, ``-v`` logs each
request, and failed notification deliveries are summarised with the URL and the cause."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import anyio
import httpx
import pytest
from agora_recording._cli import cli
from agora_recording.emulator import Emulator
from agora_recording.emulator._control import CHANNEL_ACTIONS, FAULTS, NOTIFICATION_FAULTS
from agora_recording.models import RecordingConfig, StartConfig, StorageConfig
from agora_recording.testing import NOTIFICATION_URL, virtual_service
from click.testing import CliRunner
from starlette.types import Receive, Scope, Send

from tests.helpers import cli_process, interrupt
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

ROOT = Path(__file__).resolve().parent.parent
CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
    ),
    recording_config=RecordingConfig(max_idle_time=30),
)


def test_help_lists_every_control_route_and_fault() -> None:
    """``emulator --help`` names the page, each control route and fault, the secret's default."""
    text = CliRunner().invoke(cli, ["emulator", "--help"]).output
    for route in Emulator().app.routes:
        path = getattr(route, "path", "")
        if path == "/_emulator":
            for inner in route.routes:  # type: ignore[attr-defined]
                assert f"/_emulator{inner.path}" in text
    assert "GET /  the web page" in text
    for name in (*FAULTS, *NOTIFICATION_FAULTS, *CHANNEL_ACTIONS):
        assert name in text
    assert "emulator-ncs-secret" in text


def test_the_listed_fault_names_are_the_routes_own() -> None:
    """The names the help lists are exactly those the fault route dispatches on."""
    import inspect
    import re

    from agora_recording.emulator._control import _Control

    route = inspect.getsource(_Control.fault)
    assert set(re.findall(r'kind == "([\w-]+)"', route)) == set(FAULTS)
    notifications = inspect.getsource(_Control._delivery_fault)
    assert set(re.findall(r'which == "([\w-]+)"', notifications)) == set(NOTIFICATION_FAULTS)


@pytest.mark.anyio
async def test_every_listed_fault_name_is_accepted() -> None:
    """No name in the help is unknown to the fault route (the list and the route agree)."""
    transport = httpx.ASGITransport(app=Emulator().app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        for name in FAULTS:
            answer = await http.post(f"/_emulator/faults/{name}", json={})
            assert "unknown fault" not in answer.text, name
        for kind in NOTIFICATION_FAULTS:
            answer = await http.post("/_emulator/faults/notifications", json={"kind": kind})
            assert "unknown notification fault" not in answer.text, kind


@pytest.mark.slow
def test_dash_v_logs_each_request() -> None:
    """``agora-recording -v emulator`` prints one line per request: method, path and status."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    with cli_process("-v", "emulator", "--port", "0", env=environ) as process:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/_emulator/state").status_code == 200
        assert httpx.get(f"{url}/").status_code == 200
        _out, err = interrupt(process, 15)
    assert "GET /_emulator/state -> 200" in err
    assert "GET / -> 200" in err


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """A receiver that is down: every delivery gets 503."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 503, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.anyio
async def test_failed_deliveries_are_summarised_with_url_and_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Many failed deliveries give one WARNING naming the URL and the cause, not one each."""
    caplog.set_level(logging.DEBUG, logger="agora_recording")
    async with virtual_service(notification_app=refuse) as service:
        service.channel("room").publish(7)
        acquired = await service.client.acquire(cname="room", uid="99")
        assert acquired.resource_id is not None
        started = await service.client.start(
            acquired.resource_id, "mix", cname="room", uid="99", config=CONFIG
        )
        await anyio.sleep(30)
        await service.client.stop(started.handle)
        await anyio.sleep(30)
        gave_up = service.emulator.delivery_counts["gave_up"]
        outcomes = {entry["outcome"] for entry in service.emulator.delivery_log}
    assert gave_up >= 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    summaries = [m for m in warnings if "could not deliver" in m]
    assert len(summaries) == (2 if gave_up >= 10 else 1)
    assert NOTIFICATION_URL in summaries[0]
    assert "HTTP 503" in summaries[0]
    assert outcomes == {"gave up: HTTP 503"}
