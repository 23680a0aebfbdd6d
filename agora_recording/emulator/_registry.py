"""The recordings that exist, indexed for the checks a request makes.

``acquire`` asks how many recordings an App ID runs (the concurrency quota), ``start`` whether
a task with the same App ID, cname and uid runs (code 53), a channel change which recordings
watch that channel. Each is a lookup here, so a request costs the same with ten recordings or
ten thousand.
"""

from __future__ import annotations

from ._recording import Recording

__all__ = ["Registry"]


class Registry:
    """Recordings by ``sid`` (running or in their exit window), with running counts."""

    def __init__(self) -> None:
        self.recordings: dict[str, Recording] = {}
        self._running: dict[tuple[str, str, str], str] = {}  # (app ID, cname, uid) -> sid
        self._running_per_app: dict[str, int] = {}
        self._by_channel: dict[str, dict[str, Recording]] = {}  # cname -> sid -> recording

    def add(self, recording: Recording) -> None:
        """A task started (and runs)."""
        self.recordings[recording.sid] = recording
        self._by_channel.setdefault(recording.cname, {})[recording.sid] = recording
        self._running[(recording.app_id, recording.cname, recording.uid)] = recording.sid
        self._running_per_app[recording.app_id] = self.running_count(recording.app_id) + 1

    def stopped_running(self, recording: Recording) -> None:
        """The task started exiting: it no longer counts as running."""
        key = (recording.app_id, recording.cname, recording.uid)
        if self._running.get(key) == recording.sid:
            del self._running[key]
        self._running_per_app[recording.app_id] -= 1
        if not self._running_per_app[recording.app_id]:
            del self._running_per_app[recording.app_id]

    def remove(self, recording: Recording) -> None:
        """The task no longer exists."""
        del self.recordings[recording.sid]
        channel = self._by_channel[recording.cname]
        del channel[recording.sid]
        if not channel:
            del self._by_channel[recording.cname]

    def running_count(self, app_id: str) -> int:
        """How many recordings ``app_id`` runs."""
        return self._running_per_app.get(app_id, 0)

    def task_running(self, app_id: str, cname: str, uid: str) -> bool:
        """Whether a task with this App ID, cname and uid runs."""
        return (app_id, cname, uid) in self._running

    def watching(self, cname: str) -> list[Recording]:
        """The recordings of channel ``cname``."""
        return list(self._by_channel.get(cname, {}).values())
