"""Which Agora hosts to call, and in which order to fail over between them.

Agora documents two major domains, ``agora.io`` and ``sd-rtn.com``, each with a global host and
regional hosts (``api-us-west-1.agora.io``...). Its documented failover strategy is: retry once on
the primary host, then try the other major domain, then the neighbouring region. This module turns
a region (or an explicit base URL) into that ordered list of base URLs; it is pure data, and
`HostCursor` walks the list as failures come in.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from .enums import Region
from .errors import ValidationError

__all__ = [
    "GLOBAL_ALTERNATE",
    "GLOBAL_PRIMARY",
    "HostCursor",
    "failover_order",
    "normalize_base_url",
    "parse_region",
]

# The newest API reference documents ``https://api.sd-rtn.com`` as the base URL, and Agora's domain
# page makes ``sd-rtn.com`` the fallback of ``agora.io`` (and the primary inside mainland China), so
# it resolves from everywhere. ``api.agora.io``, the historic host, is the alternate major domain:
# step 2 of the documented strategy.
GLOBAL_PRIMARY = "https://api.sd-rtn.com"
GLOBAL_ALTERNATE = "https://api.agora.io"

# Regional host prefixes, the region's own first and its neighbour second.
_REGION_PREFIXES: dict[Region, tuple[str, ...]] = {
    Region.NA: ("api-us-west-1", "api-us-east-1"),
    Region.EU: ("api-eu-west-1", "api-eu-central-1"),
    Region.AP: ("api-ap-southeast-1", "api-ap-northeast-1"),
    Region.CN: ("api-cn-east-1", "api-cn-north-1"),
}

# Mainland China resolves sd-rtn.com first; every other area agora.io first.
_DOMAINS_DEFAULT = ("agora.io", "sd-rtn.com")
_DOMAINS_CN = ("sd-rtn.com", "agora.io")


def parse_region(value: Region | str) -> Region:
    """Turn ``"na"``, ``"NA"`` or ``Region.NA`` into a `Region`, naming the rule otherwise."""
    if isinstance(value, Region):
        return value
    if isinstance(value, str):
        try:
            return Region(value.strip().upper())
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in Region)
    raise ValidationError("region", f"must be one of {allowed}")


def normalize_base_url(base_url: str) -> str:
    """Check that ``base_url`` is an absolute http(s) URL and drop any trailing slash."""
    if not isinstance(base_url, str):
        raise ValidationError("base_url", "must be a string such as 'https://api.sd-rtn.com'")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("base_url", "must be an absolute http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValidationError("base_url", "must not have a query or a fragment")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("base_url", "must not carry credentials; pass customer_id/secret")
    return base_url.strip().rstrip("/")


def failover_order(region: Region | str | None = None, base_url: str | None = None) -> list[str]:
    """Return the distinct base URLs to try, best first.

    An explicit ``base_url`` (an emulator, a proxy) means that host only. Without a region the two
    global hosts are used. With a region: its own host on the area's first major domain, the same
    host on the other major domain, then the neighbouring region in the same order.
    """
    if base_url is not None:
        return [normalize_base_url(base_url)]
    if region is None:
        return [GLOBAL_PRIMARY, GLOBAL_ALTERNATE]
    parsed = parse_region(region)
    domains = _DOMAINS_CN if parsed is Region.CN else _DOMAINS_DEFAULT
    return [
        f"https://{prefix}.{domain}" for prefix in _REGION_PREFIXES[parsed] for domain in domains
    ]


class HostCursor:
    """Walks a failover order for one call: the first host twice, then each next host in turn.

    The first host gets a second chance ("retry once on the primary domain") before the cursor
    moves on; after the last host it wraps around, so a long retry budget keeps cycling.
    """

    __slots__ = ("_index", "_schedule")

    def __init__(self, hosts: Sequence[str]) -> None:
        if not hosts:
            raise ValidationError("base_url", "at least one host is needed")
        self._schedule = (hosts[0], *hosts) if len(hosts) > 1 else (hosts[0],)
        self._index = 0

    @property
    def current(self) -> str:
        """The base URL the next attempt goes to."""
        return self._schedule[self._index]

    def advance(self) -> None:
        """Move to the next host after a failure that another host might not have."""
        self._index = (self._index + 1) % len(self._schedule)
