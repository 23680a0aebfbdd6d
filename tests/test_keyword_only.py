"""Adjacent strings go by keyword and renamed keywords say what they are; the old forms still
work, with a warning."""

from __future__ import annotations

import inspect
from base64 import b64encode
from typing import Any

import httpx
import pytest
from agora_recording import ArgumentTypeError, Mode, RecordingClient, ValidationError, testing

from tests.helpers import STARTED, Script, handle_for, mock_client, never_called, ok

pytestmark = pytest.mark.anyio

CREDENTIALS = ("app", "customer-id", "customer-secret")
AS_IS: Any = RecordingClient  # the deprecated forms, past the type checker


def test_client_credentials_are_keyword_only_in_the_signature() -> None:
    """Type checkers and ``help()`` show app_id, customer_id and customer_secret keyword-only."""
    params = inspect.signature(RecordingClient).parameters
    assert [params[name].kind for name in ("app_id", "customer_id", "customer_secret")] == [
        inspect.Parameter.KEYWORD_ONLY
    ] * 3


async def test_client_credentials_by_position_warn_and_keep_working() -> None:
    """The positional form builds the same client and names the keyword form in its warning."""
    script = Script(ok({"resourceId": "r"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        with pytest.warns(
            DeprecationWarning, match=r"RecordingClient\(app_id=\.\.\., customer_id="
        ) as caught:
            client = AS_IS(*CREDENTIALS, rate_limit=None, http_client=http)
        assert caught[0].filename == __file__  # points at the caller's line
        assert client.app_id == "app"
        keyword = RecordingClient(
            app_id="app",
            customer_id="customer-id",
            customer_secret="customer-secret",
            rate_limit=None,
            http_client=http,
        )
        for each in (client, keyword):
            await each.acquire(cname="room", uid="1")
    first, second = (request.headers["Authorization"] for request in script.requests)
    assert first == second == "Basic " + b64encode(b"customer-id:customer-secret").decode()


def test_client_credentials_by_keyword_do_not_warn() -> None:
    """The keyword form is silent (warnings are errors in this suite)."""
    client = RecordingClient(app_id="app", customer_id="customer-id", customer_secret="s")
    assert client.app_id == "app"


def test_a_credential_given_twice_is_a_type_error() -> None:
    """A value by position and by keyword for the same argument is refused, as Python would."""
    with pytest.raises(ArgumentTypeError, match="multiple values for argument 'app_id'"):
        AS_IS("app", app_id="other", customer_id="c", customer_secret="s")


def test_acquire_is_keyword_only_in_the_signature() -> None:
    """``acquire``'s cname and uid are keyword-only, like ``start``'s."""
    params = inspect.signature(RecordingClient.acquire).parameters
    assert params["cname"].kind is params["uid"].kind is inspect.Parameter.KEYWORD_ONLY


async def test_acquire_by_position_warns_and_acquires() -> None:
    """``acquire(cname, uid)`` still reserves a resource for that channel, with a warning."""
    async with testing.emulated_client() as service:
        acquire: Any = service.client.acquire
        with pytest.warns(DeprecationWarning, match=r"acquire\(cname=\.\.\., uid=\.\.\.") as caught:
            acquired = await acquire("class-42", "99")
        assert caught[0].filename == __file__
        assert acquired.resource_id
        again = await service.client.acquire(cname="class-42", uid="99")
        assert again.resource_id


async def test_query_budget_still_works_as_call_timeout_with_a_warning() -> None:
    """``query(budget=)``, seconds of a deadline, is now ``call_timeout=``; the old name still
    answers, with a warning at the caller's line, and is checked as ``call_timeout``."""
    handle = handle_for(Mode.MIX)
    answer = {**STARTED, "serverResponse": {"status": 5}}
    async with mock_client(Script(ok(answer))) as client:
        query: Any = client.query
        with pytest.warns(DeprecationWarning, match=r"budget= is deprecated.*call_timeout=") as w:
            response = await query(handle, budget=5.0)
        assert w[0].filename == __file__
        assert response.sid == handle.sid
        with (
            pytest.warns(DeprecationWarning, match="budget="),
            pytest.raises(ValidationError, match="call_timeout"),
        ):
            await query(handle, budget=-1)


async def test_query_given_budget_and_call_timeout_is_a_type_error() -> None:
    """Both the old and the new name at once are refused before any request."""
    async with mock_client(never_called) as client:
        query: Any = client.query
        with pytest.raises(ArgumentTypeError, match="both budget= and call_timeout="):
            await query(handle_for(Mode.MIX), budget=5.0, call_timeout=5.0)
