"""Fault injection: make calls fail, slow down or drop, and make recordings misbehave.

Two kinds of faults exist:

* **call faults** act on the next calls of an endpoint (``"acquire"``, ``"start"``,
  ``"query"``, ``"update"``, ``"updateLayout"``, ``"stop"``, or ``"*"`` for any): answer with a
  given status and body, add latency, or drop the connection. With ``after_processing=True``
  the emulator does the work first and then loses the answer, as when a response times out
  after the service acted (a retried ``start`` then gets 201/7).
* **recording faults** act on a recording, named by ``sid`` or, when ``sid`` is None, on the
  next recording to start: die some seconds after start, fail over for a while, exit
  abnormally (status 20), or report ``uploadingStatus: "backuped"`` at stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

__all__ = ["ENDPOINTS", "CallPlan", "DropConnection", "Faults", "RecordingFault"]

ENDPOINTS = ("acquire", "start", "query", "update", "updateLayout", "stop")
_ALIASES = {"update_layout": "updateLayout", "any": "*"}
_DEFAULT_BODIES: Mapping[int, Mapping[str, Any]] = {
    206: {"code": 65, "reason": "request not completed"},
    429: {"message": "API rate limit exceeded"},
    500: {"code": 500, "reason": "internal_error"},
    504: {"code": 62, "reason": "request timeout"},
}


class DropConnection(Exception):
    """Raised inside the app to make the client see a broken connection instead of an answer."""


def endpoint_name(endpoint: str) -> str:
    """Normalize an endpoint name, refusing unknown ones."""
    name = _ALIASES.get(endpoint, endpoint)
    if name != "*" and name not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS} or '*'")
    return name


@attrs.define
class _CallFault:
    endpoint: str
    kind: Literal["fail", "drop", "latency"]
    remaining: int | None
    status: int = 0
    body: dict[str, Any] = attrs.field(factory=dict)
    after_processing: bool = False
    seconds: float = 0.0


@attrs.frozen
class RecordingFault:
    """A fault for one recording: ``kind`` with its ``after``/``duration`` in seconds."""

    kind: Literal["die", "failover", "abnormal_exit", "backup_upload"]
    after: float = 0.0
    duration: float = 0.0


@attrs.frozen
class CallPlan:
    """What the faults decided for one call."""

    latency: float = 0.0
    fail: tuple[int, dict[str, Any]] | None = None
    fail_after_processing: bool = False
    drop: bool = False
    drop_after_processing: bool = False


class Faults:
    """The test-facing fault API of an emulator (``emulator.faults``)."""

    def __init__(self, apply: Callable[[str, RecordingFault], None]) -> None:
        self._apply = apply
        self._lock = threading.Lock()
        self._calls: list[_CallFault] = []
        self._next_recording: list[RecordingFault] = []

    # -- call faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        endpoint: str,
        status: int = 500,
        body: Mapping[str, Any] | None = None,
        *,
        times: int = 1,
        after_processing: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``endpoint`` with ``status`` and ``body``.

        Without ``body``: 206 gives code 65, 500 code 500, 504 code 62, 429 the gateway message,
        anything else ``{"code": status, "reason": "injected fault"}``.
        """
        if body is None:
            body = _DEFAULT_BODIES.get(status, {"code": status, "reason": "injected fault"})
        self._add(
            _CallFault(
                endpoint_name(endpoint),
                "fail",
                _times(times),
                status=status,
                body=dict(body),
                after_processing=after_processing,
            )
        )

    def drop_connection(
        self, endpoint: str = "*", *, times: int = 1, after_processing: bool = False
    ) -> None:
        """Break the connection of the next ``times`` calls of ``endpoint``.

        In-process (``httpx.ASGITransport``) the client's request raises
        ``httpx.RemoteProtocolError``; over real HTTP the server sends the status line and
        headers, then closes the connection, which httpx reports as a transport error
        (``RemoteProtocolError`` or ``ReadError``).
        """
        self._add(
            _CallFault(
                endpoint_name(endpoint),
                "drop",
                _times(times),
                after_processing=after_processing,
            )
        )

    def add_latency(self, seconds: float, endpoint: str = "*", *, times: int | None = None) -> None:
        """Delay calls of ``endpoint`` by ``seconds`` of real time (all of them if ``times``
        is None). The delay is an ``anyio.sleep``, so a client timeout or cancellation cuts it.
        """
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        count = None if times is None else _times(times)
        self._add(_CallFault(endpoint_name(endpoint), "latency", count, seconds=seconds))

    def plan(self, endpoint: str) -> CallPlan:
        """Consume the faults that apply to one call of ``endpoint`` (used by the app)."""
        latency = 0.0
        fail: _CallFault | None = None
        drop: _CallFault | None = None
        with self._lock:
            for fault in list(self._calls):
                if fault.endpoint not in ("*", endpoint):
                    continue
                if fault.kind == "latency":
                    latency += fault.seconds
                elif fault.kind == "fail" and fail is None and drop is None:
                    fail = fault
                elif fault.kind == "drop" and fail is None and drop is None:
                    drop = fault
                else:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._calls.remove(fault)
        return CallPlan(
            latency=latency,
            fail=(fail.status, dict(fail.body)) if fail else None,
            fail_after_processing=bool(fail and fail.after_processing),
            drop=drop is not None,
            drop_after_processing=bool(drop and drop.after_processing),
        )

    # -- recording faults ----------------------------------------------------------------------

    def die_after(self, seconds: float, *, sid: str | None = None) -> None:
        """Make a recording vanish ``seconds`` after its start (or after now, for a running
        ``sid``): from then on query, update and stop answer 404 "failed to find worker".
        """
        self._recording(sid, RecordingFault("die", after=_non_negative(seconds)))

    def failover(
        self, *, sid: str | None = None, after: float = 0.0, duration: float = 30.0
    ) -> None:
        """Simulate a high-availability failover ``after`` seconds from start (next recording)
        or from now (``sid``): control calls answer 404 for ``duration`` seconds, then the task
        is back with a new recorder uid (NCS event 12) and new files prefixed ``bak<n>_``. A
        fourth failover of the same task stops it, as the service does.
        """
        fault = RecordingFault("failover", after=_non_negative(after), duration=duration)
        self._recording(sid, fault)

    def abnormal_exit(self, *, sid: str | None = None, after: float = 0.0) -> None:
        """Make a recording exit abnormally: ``query`` reports status 20 for the exit window,
        then the task is gone (404).
        """
        self._recording(sid, RecordingFault("abnormal_exit", after=_non_negative(after)))

    def backup_upload(self, *, sid: str | None = None) -> None:
        """Make a recording's stop report ``uploadingStatus: "backuped"`` (and NCS event 32)."""
        self._recording(sid, RecordingFault("backup_upload"))

    def take_for_new_recording(self) -> list[RecordingFault]:
        """Hand the faults waiting for the next recording to it (used by the state)."""
        with self._lock:
            faults, self._next_recording = self._next_recording, []
        return faults

    def clear(self) -> None:
        """Forget every pending fault (already applied recording faults stay)."""
        with self._lock:
            self._calls.clear()
            self._next_recording.clear()

    def __repr__(self) -> str:
        with self._lock:
            return f"Faults(calls={len(self._calls)}, next_recording={len(self._next_recording)})"

    def _add(self, fault: _CallFault) -> None:
        with self._lock:
            self._calls.append(fault)

    def _recording(self, sid: str | None, fault: RecordingFault) -> None:
        if sid is None:
            with self._lock:
                self._next_recording.append(fault)
        else:
            self._apply(sid, fault)


def _times(times: int) -> int:
    if times < 1:
        raise ValueError("times must be >= 1")
    return times


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    return float(seconds)
