"""``agora-recording emulator``: the standalone emulator server, until Ctrl-C.

A thin layer over :func:`agora_recording.emulator.serve`: the options map one to one onto its
arguments. The listening address is printed once the server accepts connections (port 0 picks
a free port, so the printed line is the way to learn it). The customer secret is never printed.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import click

from ._common import EXIT_USAGE, CliError

__all__ = ["emulator"]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> Any:
    """Make SIGTERM end the server like Ctrl-C (uvicorn re-raises it after shutting down)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _epilog() -> str:
    """The control routes and fault names, from the emulator's own table (``\b``: as is)."""
    try:
        from agora_recording.emulator._control import control_help
    except ModuleNotFoundError:  # pragma: no cover - the cli extra installs the emulator
        return ""
    return "\b\nRoutes besides the API under /v1/ (no auth):\n" + "\n".join(
        f"  {line}" for line in control_help()
    )


@click.command(epilog=_epilog())
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free."
)
@click.option(
    "--customer-id",
    envvar="AGORA_EMULATOR_CUSTOMER_ID",
    show_envvar=True,
    help="Accepted Basic-auth customer ID.  [default: emulator-customer-id]",
)
@click.option(
    "--customer-secret",
    envvar="AGORA_EMULATOR_CUSTOMER_SECRET",
    show_envvar=True,
    help="Accepted Basic-auth customer secret.  [default: emulator-customer-secret]",
)
@click.option("--app-id", help="Accept only this App ID (default: any).")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Requests per second per App ID before 429 (0: off).",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Recordings per App ID before acquire answers 406 (0: unlimited).",
)
@click.option("--notification-url", help="POST signed NCS notifications to this URL.")
@click.option(
    "--notification-secret",
    envvar="AGORA_NOTIFICATION_SECRET",
    show_envvar=True,
    help="Secret signing the notifications.  [default: emulator-ncs-secret]",
)
@click.option(
    "--startup-delay",
    type=click.FloatRange(min=0),
    default=4.0,
    show_default=True,
    help="Seconds for a recording's status to climb from 0 to 5.",
)
@click.option(
    "--app-certificate",
    envvar="AGORA_APP_CERTIFICATE",
    show_envvar=True,
    help="Judge the recorder's token (clientRequest.token) against this App Certificate.",
)
@click.option(
    "--publishers",
    default="1001",
    show_default=True,
    help=(
        "Comma-separated uids that join and publish in a channel that is empty when a "
        "recording starts there, so it records files ('' for none: channels stay empty "
        "unless POST /_emulator/channels/publish fills them)."
    ),
)
@click.option(
    "--fake-clock",
    is_flag=True,
    help="Run on a fake clock moved by POST /_emulator/clock/advance.",
)
def emulator(
    host: str,
    port: int,
    customer_id: str | None,
    customer_secret: str | None,
    app_id: str | None,
    rate_limit: float,
    max_concurrent: int,
    notification_url: str | None,
    notification_secret: str | None,
    startup_delay: float,
    app_certificate: str | None,
    publishers: str,
    fake_clock: bool,
) -> None:
    """Run the Cloud Recording emulator as an HTTP server until Ctrl-C.

    Open its URL in a browser for the web page (channels, recordings, notifications and their
    delivery, requests, quota, fault buttons); "agora-recording -v emulator" logs each
    request."""
    try:
        from agora_recording.emulator import (
            DEFAULT_CUSTOMER_ID,
            DEFAULT_CUSTOMER_SECRET,
            FakeClock,
            serve,
        )
    except ModuleNotFoundError as exc:  # pragma: no cover - the cli extra installs them
        raise CliError(
            f"the emulator needs {exc.name}: pip install 'agora-recording[emulator]'", EXIT_USAGE
        ) from None

    given_id = customer_id or DEFAULT_CUSTOMER_ID
    secret = customer_secret or DEFAULT_CUSTOMER_SECRET

    def ready(url: str) -> None:
        click.echo(f"Agora Cloud Recording emulator listening on {url}")
        if customer_secret is None and customer_id is None:
            # The documented public test credentials, not a secret: say how to use them.
            creds = f"AGORA_CUSTOMER_ID={given_id} AGORA_CUSTOMER_SECRET={secret}"
            hint = f"default credentials: {creds}"
        else:
            hint = f"customer ID {given_id}; customer secret as configured (not shown)"
        click.echo(f"{hint}; App ID: {app_id or 'any'}; Ctrl-C stops", err=True)
        click.echo(f"web page: {url}/ (-v logs each request)", err=True)

    options: dict[str, Any] = {
        "rate_limit": rate_limit or None,
        "max_concurrent_recordings": max_concurrent or None,
        "notification_url": notification_url,
        "notification_secret": notification_secret,
        "startup_delay": startup_delay,
        "ready": ready,
        "publishers": [uid.strip() for uid in publishers.split(",") if uid.strip()],
    }
    if app_certificate:
        options["app_certificate"] = app_certificate
    if fake_clock:
        options["clock"] = FakeClock()
    previous = _stop_on_sigterm()
    try:
        serve(host, port, given_id, secret, app_id, **options)
    except KeyboardInterrupt:
        pass
    except ValueError as exc:  # an option the emulator refuses, e.g. a malformed certificate
        raise CliError(str(exc), EXIT_USAGE) from None
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        if exc.code not in (0, None):
            raise CliError(f"the emulator could not listen on {host}:{port}") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    click.echo("emulator stopped", err=True)
