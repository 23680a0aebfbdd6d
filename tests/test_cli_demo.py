"""The offline verbs of the CLI: ``demo`` (in-process emulator), ``emulator`` and ``python -m``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from agora_recording import __version__
from agora_recording._cli import cli
from click.testing import CliRunner, Result

from tests.helpers import cli_process, interrupt


def demo(*args: str) -> Result:
    """Run ``agora-recording demo`` in-process and assert it exits 0."""
    result = CliRunner().invoke(cli, ["demo", *args], env={"AGORA_CUSTOMER_SECRET": None})
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_demo_records_a_mix_channel_and_prints_the_files() -> None:
    """The default demo records in composite mode and prints its stop result and file names."""
    result = demo("--duration", "1")
    lines = result.stdout.splitlines()
    assert "stopped: uploadingStatus uploaded" in lines
    files = [line for line in lines if line.startswith("file: demo/")]
    assert [f.rsplit(" (", 1)[0].rsplit(".", 1)[1] for f in files] == ["m3u8", "mp4"]
    assert any(line.endswith("layout updated: custom, three regions") for line in lines)
    assert any(line.endswith("status 5 (IN_PROGRESS)") for line in lines)
    assert lines[-1].startswith("notifications: ")


def test_demo_individual_json_shows_the_subscription_update() -> None:
    """In individual mode the update keeps user 103's video out; --json output parses."""
    document: dict[str, Any] = json.loads(
        demo("--mode", "individual", "--duration", "1", "--json").stdout
    )
    assert document["stopOutcome"] == "stopped"
    recorded = {(f["uid"], f["trackType"]) for f in document["files"]}
    assert recorded == {
        ("101", "audio"),
        ("101", "video"),
        ("102", "audio"),
        ("102", "video"),
        ("103", "audio"),
    }
    events = [e["event"] for e in document["timeline"]]
    assert "subscriptions updated: no video from 103" in events
    assert document["notifications"][:2] == [40, 30]


def test_demo_web_records_a_page_and_pauses_it() -> None:
    """The web demo records a URL, pauses and resumes it, and reports the page's files."""
    document = json.loads(demo("--mode", "web", "--duration", "1", "--json").stdout)
    names = [f["fileName"] for f in document["files"]]
    assert names
    assert all(name.startswith("demo/") for name in names)
    events = [e["event"] for e in document["timeline"]]
    assert "web recording paused (onhold)" in events
    assert "web recording resumed" in events
    assert document["handle"]["mode"] == "web"


@pytest.mark.slow
def test_emulator_command_prints_its_address_and_stops_on_ctrl_c() -> None:
    """The emulator verb serves on the printed address and exits 0 on SIGINT, hiding the secret."""
    secret = "EMULATOR-SECRET-SENTINEL-3b7d"
    args = ["emulator", "--port", "0", "--customer-id", "cid", "--customer-secret", secret]
    with cli_process(*args, "--app-id", "app1") as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        prefix = "Agora Cloud Recording emulator listening on "
        assert first.startswith(prefix), first
        url = first.removeprefix(prefix).strip()
        assert url.startswith("http://127.0.0.1:")
        auth = ("cid", secret)
        answer = httpx.post(
            f"{url}/v1/apps/app1/cloud_recording/acquire",
            auth=auth,
            json={"cname": "c", "uid": "1", "clientRequest": {}},
        )
        assert answer.status_code == 200
        assert (
            httpx.get(f"{url}/v1/apps/other/cloud_recording/acquire", auth=auth).status_code == 404
        )
        out, err = interrupt(process, 15)
    assert process.returncode == 0, err
    assert "emulator stopped" in err
    assert secret not in first + out + err


@pytest.mark.slow
def test_python_dash_m_runs_the_same_cli() -> None:
    """``python -m agora_recording`` is the CLI: --version and the verb list."""
    version = subprocess.run(
        [sys.executable, "-m", "agora_recording", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"agora-recording, version {__version__}"
    helped = subprocess.run(
        [sys.executable, "-m", "agora_recording", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for verb in (
        "demo",
        "emulator",
        "acquire",
        "start",
        "query",
        "update",
        "update-layout",
        "stop",
        "record",
    ):
        assert f"  {verb} " in helped.stdout
