"""The guides as a newcomer meets them: "Record a channel" records files against the standalone
emulator's defaults and prints what the guide says it prints; the examples type-check under
pyright strict too (``test_docs_examples`` runs them and checks them under mypy strict)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from agora_recording._cli import cli
from agora_recording.testing import virtual_service
from click.testing import CliRunner

from tests.test_docs_examples import NOT_RUN, README, SETUP, example, python_blocks
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / SETUP[0]


def expected_output() -> list[str]:
    """The ```text block the guide shows as the example's output."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"```text\n(.*?)```", text, re.S)
    assert found is not None, "the guide shows no expected output"
    return found.group(1).strip().splitlines()


def cli_default_publishers() -> str:
    """The ``--publishers`` default of ``agora-recording emulator``, as its help shows it."""
    help_text = CliRunner().invoke(cli, ["emulator", "--help"]).output
    found = re.search(r"--publishers TEXT.*?\[default: ([^\]]+)\]", help_text, re.S)
    assert found is not None
    return found.group(1).strip()


@pytest.mark.anyio
@pytest.mark.parametrize("key", [SETUP, (README, "Record a channel")])
async def test_record_a_channel_has_files_with_the_standalone_defaults(
    key: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """With nobody set up in the channel, as a newcomer runs it against ``agora-recording
    emulator``, the example stops with files and prints the guide's expected lines."""
    publishers = cli_default_publishers()
    assert publishers in GUIDE.read_text(encoding="utf-8")  # the guide names that uid
    ns = example(key)
    async with virtual_service(publishers=publishers.split(",")) as service:
        await ns["record"](service.client)
    printed = capsys.readouterr().out.strip().splitlines()
    shown = expected_output()
    assert len(printed) == len(shown)
    assert printed[0].split()[0] == shown[0].split()[0] == "recording"
    assert printed[1].startswith("StopOutcome.STOPPED ['meetings/2026/")
    assert shown[1].startswith("StopOutcome.STOPPED ['meetings/2026/")
    assert ".m3u8" in printed[1]


@pytest.mark.slow
def test_the_examples_type_check_under_pyright_strict(tmp_path: Path) -> None:
    """Each document's examples (after the setup one) are clean under pyright strict."""
    pyright = shutil.which("pyright")
    if pyright is None:
        pytest.skip("pyright is not installed (the lint extra installs it)")
    pytest.importorskip("fastapi", reason="examples are FastAPI apps (test extra)")
    setup = next(b for b in python_blocks() if b.key == SETUP)
    by_document: dict[str, list[str]] = {}
    for block in python_blocks():
        if block.key in NOT_RUN:
            continue
        if block.module is not None:
            (tmp_path / f"{block.module}.py").write_text(block.code, encoding="utf-8")
            continue
        standalone = block.key == SETUP or block.path == README
        chunks = by_document.setdefault(block.path, [] if standalone else [setup.code])
        chunks.append(block.code)
    for number, chunks in enumerate(by_document.values()):
        (tmp_path / f"document_{number}.py").write_text("\n".join(chunks), encoding="utf-8")
    config = {
        "typeCheckingMode": "strict",
        "pythonVersion": "3.10",
        "extraPaths": [str(ROOT)],
        "reportMissingModuleSource": False,
        # Artefacts of checking a document's blocks as one file: each block imports its own.
        "reportDuplicateImport": False,
        "reportUnusedFunction": False,
        # redis' own annotations leave members partially unknown; our API's unknowns are still
        # reported by the variable, argument and parameter rules.
        "reportUnknownMemberType": False,
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    done = subprocess.run(
        [pyright, "--pythonpath", sys.executable, "-p", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_example_hides_a_type_error() -> None:
    """No documented example silences the type checker (the receiver mounts as it is)."""
    for block in python_blocks():
        assert "type: ignore" not in block.code, block.key
        assert "pyright: ignore" not in block.code, block.key
