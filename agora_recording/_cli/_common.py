"""What every verb shares: output to a terminal or a pipe, errors as one line, the async runner.

Output rules: data goes to stdout, notes and errors to stderr. On a terminal the output uses
rich (colour, tables, a live view); otherwise it is plain text, one fact per line; ``--json``
prints one JSON document. An expected failure becomes a `CliError`: one line on stderr, naming
the cause, Agora's ``code`` and the request ID, and an exit status (1 for failures of the
service, the network or the recording, 2 for bad input), never a traceback. Messages come from
the library's exceptions, which never carry a secret.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import IO, Any, TypeVar, cast

import anyio
import click
from rich.console import Console

from agora_recording._groups import unwrap
from agora_recording._stopping import UnconfirmedRecording
from agora_recording.errors import (
    AgoraError,
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    RecordingFailedError,
    ServerError,
    StopUnconfirmedError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from agora_recording.models import RecordingHandle

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CliError",
    "Output",
    "describe_error",
    "run_async",
]

T = TypeVar("T")

EXIT_FAILURE = 1
"""The service, the network or the recording failed."""
EXIT_USAGE = 2
"""Bad input: options, configuration files, validation, missing environment variables."""
EXIT_INTERRUPTED = 130
"""Interrupted by Ctrl-C or SIGTERM; ``record`` exits so too, once its stop is confirmed."""


class CliError(click.ClickException):
    """An expected failure: printed as one ``error: ...`` line, then exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc,unused-ignore]  # per class in older click

    def show(self, file: IO[Any] | None = None) -> None:
        click.secho(f"error: {self.format_message()}", err=True, fg="red")


def describe_error(error: BaseException) -> CliError | None:
    """The `CliError` for an expected library failure, or ``None`` for a bug (keep traceback)."""
    if isinstance(error, ValidationError):
        return CliError(f"invalid {error.field}: {error.rule}", EXIT_USAGE)
    if isinstance(error, StopUnconfirmedError):
        return CliError(_stop_refusal(error))
    # The library's messages end with what to check (``agora_recording._hints``).
    if isinstance(error, AuthenticationError):
        return CliError(f"authentication failed: {error}")
    if isinstance(error, NotFoundError):
        return CliError(f"not found: {error}")
    if isinstance(error, RateLimitError):
        return CliError(f"rate limited by the service: {error}")
    if isinstance(error, BadRequestError):
        return CliError(f"the service refused the request: {error}")
    if isinstance(error, ServerError):
        return CliError(f"the service failed: {error}")
    if isinstance(error, APIError):
        return CliError(f"the service answered with an error: {error}")
    if isinstance(error, TransportError):
        return CliError(f"could not reach the service: {error}")
    if isinstance(error, UnexpectedResponseError):
        request_id = f" (request ID {error.request_id})" if error.request_id else ""
        return CliError(f"unexpected answer from the service: {error}{request_id}")
    if isinstance(error, RecordingFailedError):
        return CliError(str(error))
    if isinstance(error, AgoraError):
        return CliError(str(error))
    return None


def _stop_refusal(error: StopUnconfirmedError) -> str:
    """One line for a stop that was not confirmed: why, and whether trying again can help."""
    h = error.handle
    last = error.last_error
    refused = (
        isinstance(last, APIError)
        and 400 <= last.status_code < 500
        and last.status_code not in (404, 429)
    )
    if refused:
        return (
            f"could not stop sid {h.sid}: the service refused the stop ({last}); a stop cannot "
            "succeed until that is fixed, so the recording may still be running"
        )
    retry = UnconfirmedRecording(handle=cast(RecordingHandle, h))  # raised with a real handle
    return f"{error}; try again: {retry.stop_command()}"


def run_async(func: Callable[[], Awaitable[T]]) -> T:
    """Run ``func`` on asyncio; turn expected failures into `CliError` and Ctrl-C into 130."""
    try:
        return anyio.run(func)
    except CliError:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except BaseException as exc:
        error = unwrap(exc)
        if isinstance(error, CliError):
            raise error from None
        if isinstance(error, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        described = describe_error(error)
        if described is None:
            raise
        raise described from None


class Output:
    """Where and how a verb prints: rich on a terminal, plain lines in a pipe, or JSON."""

    def __init__(self, *, as_json: bool = False, stream: IO[str] | None = None) -> None:
        self.as_json = as_json
        out = stream if stream is not None else sys.stdout
        self.rich = not as_json and _is_terminal(out)
        self.console = Console(file=out, highlight=False, soft_wrap=True)

    def line(self, text: str = "") -> None:
        """Print a line of data (plain text, no markup)."""
        if self.rich:
            self.console.print(text, markup=False)
        else:
            click.echo(text)

    def styled(self, markup: str, plain: str) -> None:
        """Print rich ``markup`` on a terminal, ``plain`` elsewhere."""
        if self.rich:
            self.console.print(markup)
        else:
            click.echo(plain)

    @staticmethod
    def note(text: str) -> None:
        """A remark for the human at the terminal, on stderr (never data)."""
        click.echo(text, err=True)

    def json(self, data: Any) -> None:
        """Print one JSON document on stdout."""
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
