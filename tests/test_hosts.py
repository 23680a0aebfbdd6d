"""Host selection and the documented failover order."""

from __future__ import annotations

import pytest
from agora_recording._hosts import (
    GLOBAL_ALTERNATE,
    GLOBAL_PRIMARY,
    HostCursor,
    failover_order,
    normalize_base_url,
    parse_region,
)
from agora_recording.enums import Region
from agora_recording.errors import ValidationError


def test_default_is_the_two_global_hosts() -> None:
    """Without a region or base URL the newest documented host comes first, then agora.io."""
    assert failover_order() == ["https://api.sd-rtn.com", "https://api.agora.io"]
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
