"""Showing a recording: a live view while it runs, and its files and status afterwards.

On a terminal the live view is a rich ``Live`` panel (status, files, recent events) redrawn a
few times a second; in a pipe it prints one line per change (``[  2.5s] status 5
(IN_PROGRESS)``); with ``--json`` it prints nothing and keeps the timeline for the final
document. It only reads what the session already knows (``session.status``/``.files``): the
session's own poller does the querying.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import anyio
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agora_recording._converter import converter
from agora_recording._session import RecordingSession
from agora_recording.enums import RecordingStatus
from agora_recording.models import RecordedFile, RecordingHandle, StopResponse

from ._common import Output

__all__ = [
    "LiveView",
    "files_json",
    "handle_json",
    "print_files",
    "print_stop",
    "status_name",
    "stop_json",
]

_STATUS_STYLES = {5: "green", 4: "green", 20: "red"}
_RECENT_EVENTS = 8


def status_name(status: int | None) -> str:
    """``5 (IN_PROGRESS)``, or the bare number for a status this version does not know."""
    if status is None:
        return "unknown"
    name = RecordingStatus(int(status)).name
    if name not in RecordingStatus.__members__:  # an UNKNOWN_<n> pseudo-member
        return str(int(status))
    return f"{int(status)} ({name})"


def files_json(files: Iterable[RecordedFile]) -> list[Any]:
    """The files as wire-style JSON objects (``fileName``, ``trackType``, ``uid``...)."""
    return [converter.unstructure(f) for f in files]


def _describe_file(file: RecordedFile) -> str:
    parts = [str(getattr(file.track_type, "value", file.track_type))] if file.track_type else []
    if file.mixed_all_user:
        parts.append("all users")
    elif file.uid is not None:
        parts.append(f"uid {file.uid}")
    return f"{file.file_name} ({', '.join(parts)})" if parts else file.file_name


def _files_table(files: Iterable[RecordedFile]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("file", overflow="fold")
    table.add_column("track")
    table.add_column("uid")
    for file in files:
        track = getattr(file.track_type, "value", file.track_type)
        uid = "all" if file.mixed_all_user else (file.uid or "")
        table.add_row(file.file_name, str(track or ""), uid)
    return table


def print_files(out: Output, files: list[RecordedFile]) -> None:
    """Print recorded files: a table on a terminal, ``file: NAME (...)`` lines elsewhere."""
    if not files:
        out.line("files: none")
    elif out.rich:
        out.console.print(_files_table(files))
    else:
        for file in files:
            out.line(f"file: {_describe_file(file)}")


def handle_json(handle: RecordingHandle) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(handle)
    return data


def print_stop(out: Output, response: StopResponse | None, outcome: str) -> None:
    """The human summary of a stop: outcome, upload status and files."""
    if response is None:
        out.line(f"stopped: {outcome}")
        return
    uploading = response.uploading_status
    shown = getattr(uploading, "value", uploading) or "not reported"
    out.line(f"stopped: uploadingStatus {shown}")
    print_files(out, response.files)


def stop_json(
    handle: RecordingHandle, response: StopResponse | None, outcome: str
) -> dict[str, Any]:
    uploading = None if response is None else response.uploading_status
    return {
        "handle": handle_json(handle),
        "stopOutcome": outcome,
        "uploadingStatus": getattr(uploading, "value", uploading),
        "files": files_json(response.files if response is not None else []),
        "response": None if response is None else converter.unstructure(response),
    }


class LiveView:
    """The live view of one recording, fed by `follow` (or `observe`) and `note`."""

    def __init__(self, out: Output, *, title: str, duration: float | None = None) -> None:
        self._out = out
        self._title = title
        self._duration = duration
        self._started = time.monotonic()
        self._status: int | None = None
        self._files: dict[str, RecordedFile] = {}
        self._sid: str | None = None
        self._live: Live | None = None
        self.events: list[dict[str, Any]] = []
        """The timeline: ``{"at": seconds, "event": text, ...}`` per change, oldest first."""

    def __enter__(self) -> LiveView:
        if self._out.rich:
            self._live = Live(
                self._render(), console=self._out.console, refresh_per_second=8, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    @property
    def elapsed(self) -> float:
        """Seconds since the view was created."""
        return time.monotonic() - self._started

    def note(self, text: str, **data: Any) -> None:
        """Record an event (a user joined, the layout changed) and show it."""
        at = round(self.elapsed, 2)
        self.events.append({"at": at, "event": text, **data})
        if self._live is not None:
            self._live.update(self._render())
        elif not self._out.as_json:
            self._out.line(f"[{at:6.1f}s] {text}")

    def started(self, sid: str) -> None:
        """The recording has a ``sid``."""
        self._sid = sid
        self.note(f"recording started, sid {sid}", sid=sid)

    def observe(self, status: int | None, files: Iterable[RecordedFile]) -> None:
        """Report a status change and every file not seen before."""
        if status is not None and status != self._status:
            self._status = int(status)
            self.note(f"status {status_name(status)}", status=int(status))
        for file in files:
            if file.file_name not in self._files:
                self._files[file.file_name] = file
                self.note(f"file {_describe_file(file)}", file=file.file_name)

    async def follow(self, session: RecordingSession, interval: float = 0.1) -> None:
        """Watch ``session`` until cancelled, redrawing the live panel as time passes."""
        while True:
            self.observe(session.status, session.files)
            if self._live is not None:
                self._live.update(self._render())
            await anyio.sleep(interval)

    def _render(self) -> RenderableType:
        header = Text.from_markup(f"[bold]{self._title}[/bold]")
        if self._sid:
            header.append(f"  sid {self._sid}", style="dim")
        clock = f"{self.elapsed:5.1f}s" + (f" / {self._duration:g}s" if self._duration else "")
        line = Text(f"elapsed {clock}   status ")
        style = _STATUS_STYLES.get(self._status or 0, "yellow")
        line.append(status_name(self._status), style=style if self._status is not None else "dim")
        parts: list[RenderableType] = [header, line]
        if self._files:
            parts.append(_files_table(self._files.values()))
        else:
            parts.append(Text("no files yet", style="dim"))
        # Files have their table; the event lines say what else happened.
        recent = [event for event in self.events if "file" not in event][-_RECENT_EVENTS:]
        for event in recent:
            parts.append(Text(f"[{event['at']:6.1f}s] {event['event']}", style="dim"))
        return Group(*parts)
