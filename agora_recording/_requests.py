"""`RequestFactory`: the httpx request of each attempt, as ``build_request`` makes it, for less.

URLs: httpx checks every character of a URL string it parses (for control characters, and to
percent-encode), some 40 microseconds for a path that holds a 300-character resource ID, and
each start, stop and first query has a new one. Our paths are made of segments the protocol
layer already percent-encoded (`_protocol.Endpoint.path`), which httpx leaves exactly as they
are unless a segment is ``.`` or ``..``; so `RequestFactory.url` puts such a path into the base
URL httpx parsed once, and parses the whole string only for a dot segment, a base URL with a
query, or an httpx whose URLs are built differently (checked on each base's first URL: the
two must be equal, or that base is always parsed).

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

import re
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


#: A path httpx would change when parsing it: a ``.`` or ``..`` segment (dropped or applied),
#: or a character our percent-encoded segments never hold.
_CHANGED_BY_PARSING = re.compile(r"(?:^|/)\.\.?(?:/|$)|[^A-Za-z0-9_.~!$&'()*+,;=:@%/-]")


class RequestFactory:
    """Builds ``http``'s requests with our two header sets: ``plain`` (no body) and ``json``."""

    __slots__ = ("_bases", "_http", "_json", "_merged_json", "_merged_plain", "_plain", "_seen")

    def __init__(
        self, http: httpx.AsyncClient, *, plain: Mapping[str, str], json: Mapping[str, str]
    ) -> None:
        self._http = http
        self._plain = dict(plain)
        self._json = dict(json)
        self._seen: list[tuple[bytes, bytes]] | None = None
        self._merged_plain = httpx.Headers()
        self._merged_json = httpx.Headers()
        # Each base URL parsed, or None where its URLs are always parsed whole.
        self._bases: dict[str, httpx.URL | None] = {}

    def url(self, base: str, path: str) -> httpx.URL:
        """``httpx.URL(base + path)``, for a ``path`` of percent-encoded segments (see the
        module docstring)."""
        if base not in self._bases:
            self._bases[base] = self._base_url(base, path)
        parsed = self._bases[base]
        if parsed is None or _CHANGED_BY_PARSING.search(path) is not None:
            return httpx.URL(base + path)
        return _with_path(parsed, path)

    @staticmethod
    def _base_url(base: str, path: str) -> httpx.URL | None:
        """``base`` parsed, if a URL built from it with `_with_path` is the one httpx parses."""
        parsed = httpx.URL(base)
        try:
            if parsed.query or parsed.fragment:
                return None
            url = _with_path(parsed, path)
        except (AttributeError, TypeError, ValueError):  # httpx's URLs are made differently
            return None
        whole = httpx.URL(base + path)
        if url != whole or url.raw_path != whole.raw_path or url.host != whole.host:
            return None
        return parsed

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


def _with_path(base: httpx.URL, path: str) -> httpx.URL:
    """``base`` with ``path`` after its own path, given unparsed to httpx's URL."""
    url = httpx.URL(base)  # a copy sharing the parsed parts
    reference = base._uri_reference
    url._uri_reference = reference._replace(path=reference.path + path)
    return url
