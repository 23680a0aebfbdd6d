"""The one case-insensitive HTTP header lookup, for any mapping of headers.

``httpx.Headers`` and Starlette's headers already ignore case, but a plain ``dict`` (what tests,
web frameworks and the webhook helpers may pass) does not; HTTP header names are
case-insensitive (RFC 9110, section 5.1), so every lookup of ours goes through here.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["header"]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` whatever the case of the stored name, else ``None``.

    The exact spelling is tried first, so a case-insensitive mapping answers in one lookup.
    """
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None
