"""The ``agora-recording`` command line: the click group and its verbs.

`agora_recording.cli.main` is the console script; this package holds the commands, split by
concern: ``_service`` (the real-service verbs and ``record``), ``_demo``, ``_serve`` (the
standalone emulator), ``_fleet`` (a worker fleet's leases in Redis), ``_config``
(credentials, config files, handles), ``_view`` (live view and results) and ``_common``
(output and errors).
"""

from __future__ import annotations

import logging

import click

from agora_recording import __version__

from ._demo import demo
from ._fleet import fleet
from ._serve import emulator
from ._service import SERVICE_COMMANDS

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="agora-recording")
@click.option("-v", "--verbose", is_flag=True, help="Log every request on stderr (no secrets).")
def cli(verbose: bool) -> None:
    """Agora Cloud Recording from the command line.

    `demo` records a simulated channel against the built-in emulator, offline and without
    credentials. `emulator` runs that emulator as an HTTP server. The other verbs drive the
    real service with AGORA_APP_ID, AGORA_CUSTOMER_ID and AGORA_CUSTOMER_SECRET from the
    environment; `start` prints a handle that `query`, `update`, `update-layout` and `stop`
    take back with --handle.
    """
    if verbose:
        logging.getLogger("agora_recording").setLevel(logging.DEBUG)


for _command in (demo, emulator, fleet, *SERVICE_COMMANDS):
    cli.add_command(_command)
