"""The ``agora-recording`` console script (also ``python -m agora_recording``).

The commands live in `agora_recording._cli`; this module only starts them, and says what to
install when the ``cli`` extra (click, rich, the emulator's starlette and uvicorn) is missing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

__all__ = ["main"]

_CLI_PACKAGES = frozenset({"click", "rich", "starlette", "uvicorn"})


def _configure_logging() -> None:
    """Show the library's notes and warnings (retries, failover) on stderr as short lines.

    Only the console script does this, being an application; the library never configures
    logging. stamina's own retry events repeat the client's, so they are dropped. ``-v`` lowers
    the level of the ``agora_recording`` logger to DEBUG (requests, never secrets).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    # Errors reach the user once, as the verb's own ``error:`` line (docs/cli.md): the
    # library's ERROR records would repeat them.
    handler.addFilter(lambda record: record.levelno < logging.ERROR)
    logger = logging.getLogger("agora_recording")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logging.getLogger("agora_recording.retry").setLevel(logging.INFO)  # once per call, with why
    logger.propagate = False
    logging.getLogger("stamina").addHandler(logging.NullHandler())


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and exit."""
    try:
        from ._cli import cli
    except ModuleNotFoundError as exc:
        if exc.name not in _CLI_PACKAGES:
            raise
        sys.stderr.write(
            f"agora-recording: the command line needs {exc.name}; "
            "install it with: pip install 'agora-recording[cli]'\n"
        )
        raise SystemExit(1) from None
    _configure_logging()
    cli.main(args=list(argv) if argv is not None else None, prog_name="agora-recording")


if __name__ == "__main__":  # pragma: no cover
    main()
