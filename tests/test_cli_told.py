"""What the CLI tells the user: start says how to stop, a refused stop says why, Ctrl-C exits 130.

One emulator server (127.0.0.1, a free port, the real clock) serves the module; verbs run
in-process through click's ``CliRunner`` unless a signal is involved.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from agora_recording._cli import cli
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET
from agora_recording.testing import ServedEmulator
from click.testing import CliRunner

from tests.helpers import cli_process, interrupt

STORAGE = [
    "--storage-vendor", "amazon_s3", "--storage-region", "0", "--storage-bucket", "bucket1",
    "--storage-access-key", "ACCESS-KEY-7f3a", "--storage-secret-key", "SECRET-KEY-91bc",
]  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served_options(served_options: dict[str, Any]) -> dict[str, Any]:
    """The module's shared emulator (`served`), with the default cap of 50 concurrent
    recordings."""
    return {**served_options, "max_concurrent_recordings": 50}


def env(served: ServedEmulator, **overrides: str) -> dict[str, str | None]:
    """The environment a user of the emulator exports."""
    return {
        "AGORA_APP_ID": "cli-told",
        "AGORA_CUSTOMER_ID": DEFAULT_CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET,
        "AGORA_BASE_URL": served.url,
        "AGORA_REGION": None,
        **overrides,
    }


def test_start_says_how_to_stop_and_warns_of_nothing(served: ServedEmulator) -> None:
    """``start`` leaves the recording running on purpose: it prints the stop command, no WARNING."""
    result = CliRunner().invoke(
        cli, ["start", "--cname", "told-start", "--uid", "11", *STORAGE], env=env(served)
    )
    assert result.exit_code == 0, result.output
    assert "recording started" in result.stdout
    assert "WARNING" not in result.stderr
    assert "left running" not in result.stderr
    assert "stop it with: agora-recording stop --resource-id" in result.stderr
    (running,) = [r for r in served.emulator.running_recordings() if r.cname == "told-start"]
    assert running.sid in result.stderr


def test_a_refused_stop_says_why_in_one_line(served: ServedEmulator) -> None:
    """A stop refused for credentials is one error line naming them, not the command again."""
    args = ["stop", "--resource-id", "r", "--sid", "s", "--mode", "mix", "--cname", "c"]
    result = CliRunner().invoke(
        cli, [*args, "--uid", "1"], env=env(served, AGORA_CUSTOMER_SECRET="wrong-secret")
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: could not stop sid s: the service refused the stop")
    assert "AGORA_CUSTOMER_SECRET" in lines[0]
    assert "a stop cannot succeed until that is fixed" in lines[0]
    assert "agora-recording stop" not in lines[0]
    assert "wrong-secret" not in result.output


@pytest.mark.slow
def test_ctrl_c_during_demo_exits_130_as_record_does() -> None:
    """SIGINT during ``demo`` stops the recording and exits 130, the status ``record`` uses."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    environ["PYTHONPATH"] = str(ROOT)
    with cli_process("demo", "--duration", "600", env=environ) as process:
        assert process.stdout is not None
        for line in process.stdout:  # plain lines in a pipe, one per event
            if "recording started" in line:
                break
        _out, err = interrupt(process, 60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
