"""Simulated RTC channels: who is in a channel and what they publish.

Recordings in ``individual`` and ``mix`` mode watch the channel named by their ``cname``: a
publishing user produces files, and an empty channel makes the recording exit after
``maxIdleTime``. Channels exist as soon as someone joins; App IDs share one namespace.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from agora_recording.errors import ValidationError

__all__ = ["Channel", "Presence", "PresenceSink"]


@attrs.frozen
class Presence:
    """A user in a channel and the tracks they publish."""

    audio: bool = False
    video: bool = False

    @property
    def publishing(self) -> bool:
        """True when the user sends at least one track (a host, in live-broadcast terms)."""
        return self.audio or self.video


class PresenceSink(Protocol):
    """What a :class:`Channel` handle reports presence changes to (the emulator state)."""

    def change_presence(self, cname: str, uid: str, presence: Presence | None) -> None:
        """Set ``uid``'s presence in ``cname``; ``None`` means the user left."""

    def presence(self, cname: str) -> dict[str, Presence]:
        """Return a copy of the users of ``cname``."""


def _uid(uid: int | str) -> str:
    text = str(uid)
    if not text.isdigit() or not 0 < int(text) < 2**32:
        raise ValidationError("uid", f"must be an integer in 1..2^32-1, got {uid!r}")
    return str(int(text))


class Channel:
    """A handle on one simulated channel: ``emulator.channel("room").publish(42)``.

    Every change takes effect at the emulator clock's current time. ``publish`` joins the user
    when needed; ``unpublish`` keeps the user in the channel; ``leave`` removes them.
    """

    def __init__(self, sink: PresenceSink, cname: str) -> None:
        self._sink = sink
        self.cname = cname

    def __repr__(self) -> str:
        return f"Channel({self.cname!r})"

    def join(self, uid: int | str) -> None:
        """Add ``uid`` to the channel without publishing (an audience member)."""
        key = _uid(uid)
        if key not in self._sink.presence(self.cname):
            self._sink.change_presence(self.cname, key, Presence())

    def publish(self, uid: int | str, *, audio: bool = True, video: bool = True) -> None:
        """Make ``uid`` publish the given tracks (joining first if needed)."""
        self._sink.change_presence(self.cname, _uid(uid), Presence(audio=audio, video=video))

    def unpublish(self, uid: int | str) -> None:
        """Make ``uid`` stop publishing but stay in the channel."""
        key = _uid(uid)
        if key in self._sink.presence(self.cname):
            self._sink.change_presence(self.cname, key, Presence())

    def leave(self, uid: int | str) -> None:
        """Remove ``uid`` from the channel."""
        self._sink.change_presence(self.cname, _uid(uid), None)

    @property
    def users(self) -> dict[str, Presence]:
        """The users now in the channel, by uid."""
        return self._sink.presence(self.cname)
