"""Host selection and the documented failover order."""

from __future__ import annotations

import socket

import httpx
import pytest
from agora_recording._hosts import (
    GLOBAL_ALTERNATE,
    GLOBAL_PRIMARY,
    HostCursor,
    failover_order,
    is_dns_failure,
    normalize_base_url,
    parse_region,
)
from agora_recording.enums import Region
from agora_recording.errors import ServerError, TransportError, ValidationError


def test_default_is_the_two_global_hosts() -> None:
    """Without a region (a server outside mainland China) api.agora.io is primary, as the
    domain page says, and api.sd-rtn.com its alternate."""
    assert failover_order() == ["https://api.agora.io", "https://api.sd-rtn.com"]
    assert failover_order(None, None) == [GLOBAL_PRIMARY, GLOBAL_ALTERNATE]


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (
            Region.NA,
            [
                "https://api-us-west-1.agora.io",
                "https://api-us-west-1.sd-rtn.com",
                "https://api-us-east-1.agora.io",
                "https://api-us-east-1.sd-rtn.com",
            ],
        ),
        (
            Region.EU,
            [
                "https://api-eu-west-1.agora.io",
                "https://api-eu-west-1.sd-rtn.com",
                "https://api-eu-central-1.agora.io",
                "https://api-eu-central-1.sd-rtn.com",
            ],
        ),
        (
            Region.AP,
            [
                "https://api-ap-southeast-1.agora.io",
                "https://api-ap-southeast-1.sd-rtn.com",
                "https://api-ap-northeast-1.agora.io",
                "https://api-ap-northeast-1.sd-rtn.com",
            ],
        ),
        (
            Region.CN,
            [
                "https://api-cn-east-1.sd-rtn.com",
                "https://api-cn-east-1.agora.io",
                "https://api-cn-north-1.sd-rtn.com",
                "https://api-cn-north-1.agora.io",
            ],
        ),
    ],
)
def test_regional_order(region: Region, expected: list[str]) -> None:
    """Each region tries its host, the other major domain, then the neighbouring region."""
    assert failover_order(region) == expected


def test_region_accepts_plain_strings_in_any_case() -> None:
    """A region may be given as its wire string, in any case."""
    assert failover_order("na") == failover_order(Region.NA)
    assert parse_region(" cn ") is Region.CN


def test_unknown_region_is_refused() -> None:
    """An unknown region raises a ValidationError naming the allowed values."""
    with pytest.raises(ValidationError, match="region: must be one of NA, EU, AP, CN"):
        failover_order("MARS")


def test_base_url_means_only_that_host() -> None:
    """An explicit base URL wins over the region and is the only host, without a trailing slash."""
    assert failover_order(Region.EU, "http://127.0.0.1:8080/") == ["http://127.0.0.1:8080"]


@pytest.mark.parametrize(
    "bad",
    ["ftp://example.com", "api.agora.io", "https://", "https://h/?q=1", "https://u:p@host"],
)
def test_bad_base_urls_are_refused(bad: str) -> None:
    """Base URLs must be absolute http(s) URLs with no query and no credentials."""
    with pytest.raises(ValidationError, match="base_url"):
        normalize_base_url(bad)


def test_credentials_in_base_url_are_not_echoed() -> None:
    """The refusal of a base URL with credentials does not repeat them."""
    with pytest.raises(ValidationError) as info:
        normalize_base_url("https://user:hunter2@example.com")
    assert "hunter2" not in str(info.value)


def test_cursor_retries_the_first_host_once_then_moves_on_and_wraps() -> None:
    """The cursor gives the primary a second try, walks the rest, then starts over."""
    cursor = HostCursor(["a", "b", "c"])
    seen = []
    for _ in range(6):
        seen.append(cursor.current)
        cursor.advance()
    assert seen == ["a", "a", "b", "c", "a", "a"]


def test_cursor_with_one_host_stays_there() -> None:
    """With a single host (an explicit base URL) every attempt goes to it."""
    cursor = HostCursor(["only"])
    cursor.advance()
    cursor.advance()
    assert cursor.current == "only"


def test_cursor_needs_a_host() -> None:
    """An empty host list is a programming error."""
    with pytest.raises(ValueError, match="at least one host"):
        HostCursor([])


def _transport_error(cause: BaseException) -> TransportError:
    """A TransportError chained the way the client raises it: from httpx's error."""
    try:
        try:
            raise httpx.ConnectError("connect failed") from cause
        except httpx.ConnectError as exc:
            raise TransportError("acquire request failed", endpoint="acquire") from exc
    except TransportError as error:
        return error


DNS = _transport_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
REFUSED = _transport_error(ConnectionRefusedError(111, "Connection refused"))


def _walk(hosts: list[str], failure: BaseException, steps: int) -> list[str]:
    cursor = HostCursor(hosts)
    seen = []
    for _ in range(steps):
        seen.append(cursor.current)
        cursor.advance(failure)
    return seen


def test_dns_failure_is_found_in_the_exception_chain() -> None:
    """A gaierror under httpx's ConnectError marks a DNS failure; a refused connection does not."""
    assert is_dns_failure(DNS)
    assert not is_dns_failure(REFUSED)


def test_dns_failure_tries_the_alternate_domain() -> None:
    """After a DNS failure the cursor follows the whole documented order."""
    eu = failover_order(Region.EU)
    assert _walk(eu, DNS, 5) == [eu[0], eu[0], eu[1], eu[2], eu[3]]


def test_network_failure_skips_the_alternate_domain() -> None:
    """A network failure (not DNS) goes from the primary retry to the adjacent region."""
    eu = failover_order(Region.EU)
    assert _walk(eu, REFUSED, 4) == [
        "https://api-eu-west-1.agora.io",
        "https://api-eu-west-1.agora.io",
        "https://api-eu-central-1.agora.io",
        "https://api-eu-west-1.agora.io",
    ]


def test_network_failure_without_a_region_stays_on_the_primary() -> None:
    """Without a region there is no adjacent one: a network failure keeps the primary."""
    assert _walk(failover_order(), REFUSED, 3) == [GLOBAL_PRIMARY] * 3


def test_server_errors_still_try_the_alternate_domain() -> None:
    """A 5xx came from a reachable host: the alternate domain is tried as for DNS."""
    error = ServerError(endpoint="query", status_code=503)
    assert _walk(failover_order(), error, 3) == [GLOBAL_PRIMARY, GLOBAL_PRIMARY, GLOBAL_ALTERNATE]
