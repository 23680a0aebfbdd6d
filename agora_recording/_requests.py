"""`RequestFactory`: the httpx request of each attempt, as ``build_request`` makes it, for less.

Basic auth is one of our headers (`basic_authorization`), sent with ``auth=AS_BUILT`` so that
a borrowed client's own auth never replaces it, and httpx's auth flow has nothing to add.

``httpx.AsyncClient.build_request`` merges the client's default headers, cookies and query
parameters into every request it builds, half of its cost. Ours sends the same two header
sets (with and without a JSON body) thousands of times, so the merge with the client's
headers is kept and made again only when those headers change (a borrowed client's can).
A client that holds cookies or query parameters gets ``build_request`` itself, so what is sent
is always what httpx would have sent.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Mapping
from typing import Final

import httpx

__all__ = ["AS_BUILT", "RequestFactory", "basic_authorization"]

#: The ``auth`` to send our requests with: none, since they carry their own ``Authorization``.
AS_BUILT: Final = httpx.Auth()


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic auth (RFC 7617, UTF-8), as httpx's
    ``BasicAuth`` sets it."""
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode("ascii")


class RequestFactory:
    """Builds ``http``'s requests with our two header sets: ``plain`` (no body) and ``json``."""

    __slots__ = ("_http", "_json", "_merged_json", "_merged_plain", "_plain", "_seen")

    def __init__(
        self, http: httpx.AsyncClient, *, plain: Mapping[str, str], json: Mapping[str, str]
    ) -> None:
        self._http = http
        self._plain = dict(plain)
        self._json = dict(json)
        self._seen: list[tuple[bytes, bytes]] | None = None
        self._merged_plain = httpx.Headers()
        self._merged_json = httpx.Headers()

    def build(
        self,
        method: str,
        url: httpx.URL,
        content: bytes | None,
        timeouts: Mapping[str, float | None],
    ) -> httpx.Request:
        """The request ``http.build_request`` would give for this method, URL, body and
        per-attempt timeouts (in httpx's dict form), with our headers."""
        http = self._http
        ours = self._plain if content is None else self._json
        extensions = {"timeout": timeouts}
        if http.cookies or http.params:
            return http.build_request(
                method, url, content=content, headers=ours, extensions=extensions
            )
        defaults = http.headers.raw
        if defaults != self._seen:
            self._merged_plain = self._merge(self._plain)
            self._merged_json = self._merge(self._json)
            self._seen = defaults
        headers = self._merged_plain if content is None else self._merged_json
        return httpx.Request(method, url, content=content, headers=headers, extensions=extensions)

    def _merge(self, ours: Mapping[str, str]) -> httpx.Headers:
        merged = httpx.Headers(self._http.headers)
        merged.update(ours)
        return merged
