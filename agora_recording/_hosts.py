"""Which Agora hosts to call, and in which order to fail over between them.

Agora's "Ensure service reliability" page (the "Switch the domain name" section shared by the
REST references, https://docs.agora.io/en/api-reference/api-ref/rtc/ensure-service-reliability,
and the dual-domain advice of the Cloud Recording "Integration best practices") documents two
major domains, ``agora.io`` and ``sd-rtn.com``, each with a global host and regional hosts
(``api-us-west-1.agora.io``...), and this strategy:

1. the primary domain is ``api.agora.io`` for a server whose DNS is outside mainland China and
   ``api.sd-rtn.com`` for one inside it;
2. on failure, retry once on the primary domain;
3. then the alternate domain (the other major domain);
4. then the domain of the region adjacent to the current one;
5. when the request failed on a network problem rather than DNS resolution, skip step 3 (the
   other name resolves to the same unreachable network) and go on to step 4.

This module turns a region (or an explicit base URL) into that ordered list of base URLs; it is
pure data, and `HostCursor` walks the list as failures come in.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from .enums import Region
from .errors import TransportError, ValidationError

__all__ = [
    "GLOBAL_ALTERNATE",
    "GLOBAL_PRIMARY",
    "HostCursor",
    "failover_order",
    "is_dns_failure",
    "normalize_base_url",
    "parse_region",
]

# Without a region the server is taken to be outside mainland China, where the domain page makes
# ``api.agora.io`` the primary domain and ``api.sd-rtn.com`` the alternate (pass
# ``region=Region.CN`` for a server inside mainland China: ``sd-rtn.com`` comes first there).
GLOBAL_PRIMARY = "https://api.agora.io"
GLOBAL_ALTERNATE = "https://api.sd-rtn.com"

# Regional host prefixes, the region's own first and its neighbour second.
_REGION_PREFIXES: dict[Region, tuple[str, ...]] = {
    Region.NA: ("api-us-west-1", "api-us-east-1"),
    Region.EU: ("api-eu-west-1", "api-eu-central-1"),
    Region.AP: ("api-ap-southeast-1", "api-ap-northeast-1"),
    Region.CN: ("api-cn-east-1", "api-cn-north-1"),
}

# The primary domain: sd-rtn.com inside mainland China, agora.io everywhere else.
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
    global hosts, ``api.agora.io`` first. With a region: its own host on the area's primary
    domain, the same host on the alternate domain, then the adjacent region in the same order.
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


def _domain_and_place(base_url: str) -> tuple[str, str]:
    """``("agora.io", "api-eu-west-1")`` for ``https://api-eu-west-1.agora.io``."""
    host = urlsplit(base_url).hostname or ""
    place, _, domain = host.partition(".")
    return domain, place


def is_dns_failure(error: BaseException) -> bool:
    """Whether ``error`` (or an exception it was raised from) is a failed DNS resolution.

    httpx keeps the operating system's ``socket.gaierror`` in the chain of the ``ConnectError``
    it raises, and the client's ``TransportError`` is raised from that.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class HostCursor:
    """Walks a failover order for one call: the first host twice, then each next host in turn.

    The first host gets a second chance ("retry once on the primary domain") before the cursor
    moves on; after the last host it wraps around, so a call with time for many retries keeps
    cycling. A failure that is not a DNS failure (a refused or timed-out connection) skips the
    alternate domain of the host that failed, as the domain page advises.
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

    def advance(self, failure: BaseException | None = None) -> None:
        """Move to the next host after ``failure``, one that another host might not have.

        When ``failure`` is a network failure rather than a DNS one, the next host is skipped if
        it is only the failed host's alternate domain (same place, other major domain).
        """
        failed = self._schedule[self._index]
        self._index = (self._index + 1) % len(self._schedule)
        if failure is None or not _is_network_failure(failure):
            return
        domain, place = _domain_and_place(failed)
        for _ in range(len(self._schedule)):
            next_domain, next_place = _domain_and_place(self._schedule[self._index])
            if next_place != place or next_domain == domain:
                return
            self._index = (self._index + 1) % len(self._schedule)


def _is_network_failure(failure: BaseException) -> bool:
    """A failure to reach a host whose name resolved: no HTTP answer, and not a DNS failure."""
    return isinstance(failure, TransportError) and not is_dns_failure(failure)
