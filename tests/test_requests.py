"""The request of each attempt (`_requests.RequestFactory`) is what ``httpx``'s own
``build_request`` makes, whatever the (borrowed) client holds, with our Basic auth."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

import httpx
import pytest
from agora_recording import Mode, RecordingClient
from agora_recording._protocol import Endpoint
from agora_recording._requests import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import APP_ID, CUSTOMER_ID, CUSTOMER_SECRET, IDS, Script, ok

URL = httpx.URL("https://api.agora.io/v1/apps/app/cloud_recording/acquire")
PLAIN = {"Accept": "application/json", "User-Agent": "ours", "Authorization": "Basic b3Vycw=="}
JSON = {**PLAIN, "Content-Type": "application/json;charset=utf-8"}
TIMEOUTS: dict[str, float | None] = httpx.Timeout(7.0).as_dict()

CLIENTS: dict[str, dict[str, Any]] = {
    "httpx defaults": {},
    "default headers of its own": {"headers": {"X-Trace": "t-1", "Accept": "text/plain"}},
    "cookies": {"cookies": {"affinity": "node-3"}},
    "query parameters": {"params": {"region": "eu"}},
    "a base URL": {"base_url": "https://elsewhere.example/prefix"},
}


def _shape(request: httpx.Request) -> tuple[Any, ...]:
    return (
        request.method,
        str(request.url),
        request.headers.multi_items(),
        request.content,
        request.extensions,
    )


@pytest.mark.parametrize("options", list(CLIENTS.values()), ids=list(CLIENTS))
@pytest.mark.parametrize("content", [None, b'{"cname":"room"}'], ids=["no body", "JSON body"])
def test_a_request_is_what_httpx_build_request_makes(
    options: dict[str, Any], content: bytes | None
) -> None:
    """Method, URL, every header in order, body and timeouts match httpx's own build."""
    http = httpx.AsyncClient(**options)
    factory = RequestFactory(http, plain=PLAIN, json=JSON)
    ours = PLAIN if content is None else JSON
    expected = http.build_request(
        "POST", URL, content=content, headers=ours, extensions={"timeout": TIMEOUTS}
    )
    for _ in range(2):  # the first build merges the headers, the second reuses them
        assert _shape(factory.build("POST", URL, content, TIMEOUTS)) == _shape(expected)


def test_a_change_to_the_clients_headers_reaches_the_next_request() -> None:
    """A borrowed client's default headers changed between two requests are in the second."""
    http = httpx.AsyncClient()
    factory = RequestFactory(http, plain=PLAIN, json=JSON)
    assert "X-Tenant" not in factory.build("GET", URL, None, TIMEOUTS).headers
    http.headers["X-Tenant"] = "blue"
    assert factory.build("GET", URL, None, TIMEOUTS).headers["X-Tenant"] == "blue"
    http.headers["Accept"] = "text/plain"  # ours still wins over the client's default
    assert factory.build("GET", URL, None, TIMEOUTS).headers["Accept"] == "application/json"


@pytest.mark.anyio
async def test_a_borrowed_clients_own_auth_never_replaces_ours() -> None:
    """A borrowed client with auth of its own still sends our customer ID and secret."""
    script = Script(ok(IDS))
    transport = httpx.MockTransport(script)
    async with httpx.AsyncClient(transport=transport, auth=("someone", "else")) as http:
        client = RecordingClient(
            app_id=APP_ID,
            customer_id=CUSTOMER_ID,
            customer_secret=CUSTOMER_SECRET,
            http_client=http,
            rate_limit=None,
        )
        await client.acquire(cname="room", uid="1")
    token = b64encode(f"{CUSTOMER_ID}:{CUSTOMER_SECRET}".encode()).decode()
    assert script.requests[0].headers["Authorization"] == f"Basic {token}"


BASES = [
    "https://api.agora.io",
    "https://API.Agora.IO:443",
    "http://127.0.0.1:8000",
    "http://127.0.0.1:8000/behind/a/proxy",
    "http://[::1]:8000/",
]


@given(
    base=st.sampled_from(BASES),
    resource_id=st.one_of(st.text(min_size=1), st.sampled_from([".", "..", "a.b", "%41", "~"])),
    sid=st.text(min_size=1),
)
def test_a_url_is_what_httpx_parses_from_the_whole_string(
    base: str, resource_id: str, sid: str
) -> None:
    """Whatever the IDs hold, the URL built from the parsed base is the one httpx parses."""
    path = Endpoint.QUERY.path("app", resource_id=resource_id, sid=sid, mode=Mode.MIX)
    factory = RequestFactory(httpx.AsyncClient(), plain=PLAIN, json=JSON)
    whole = httpx.URL(base + path)
    for _ in range(2):  # the first URL of a base is checked against httpx's, then trusted
        url = factory.url(base, path)
        assert (str(url), url.raw_path, url.host, url.port) == (
            str(whole),
            whole.raw_path,
            whole.host,
            whole.port,
        )
