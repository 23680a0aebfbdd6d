"""The library's log records go where the application sends them, and nowhere by default."""

from __future__ import annotations

import logging
import subprocess
import sys

import agora_recording  # noqa: F401  (the import adds the handler)
import pytest


@pytest.mark.slow
def test_warnings_are_silent_without_logging_configured() -> None:
    """With no logging set up, a library warning does not reach stderr via the last resort."""
    code = (
        "import logging, agora_recording\n"
        "logging.getLogger('agora_recording.session').warning('recording sid=x ended')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stderr == ""


@pytest.mark.slow
def test_configured_logging_still_gets_the_records() -> None:
    """The NullHandler only stops the last resort: records still propagate to the root."""
    code = (
        "import logging, sys, agora_recording\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(message)s')\n"
        "logging.getLogger('agora_recording.session').warning('hello')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout == "agora_recording.session hello\n"
    handlers = logging.getLogger("agora_recording").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)
