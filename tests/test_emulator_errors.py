"""The emulator's gateway and error answers (routes, authentication, documented status codes),
driven with raw HTTP requests."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from agora_recording.emulator import Emulator
from agora_recording.testing import DEFAULT_APP_ID, emulated_http

from tests.helpers import BASE, STOP_BODY, acquire, path, start, start_request

pytestmark = pytest.mark.anyio

ROUTE_404 = {"message": "no Route matched with those values"}


def anonymous() -> httpx.AsyncClient:
    """A raw client without credentials on a fresh emulator."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=Emulator(rate_limit=None).app),
        base_url="http://emulator.invalid",
    )


def basic(user: str, secret: str, scheme: str = "Basic") -> dict[str, str]:
    """An Authorization header."""
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"{scheme} {token}"}


# -- gateway ---------------------------------------------------------------------------------


async def test_missing_authorization_is_401_unauthorized() -> None:
    """Without an Authorization header the gateway answers 401 {"message":"Unauthorized"}."""
    async with anonymous() as http:
        response = await http.post(f"{BASE}/acquire", json={})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize(
    "headers",
    [
        basic("emulator-customer-id", "wrong"),
        basic("someone-else", "emulator-customer-secret"),
        basic("emulator-customer-id", "emulator-customer-secret", scheme="Bearer"),
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "emulator-customer-id:emulator-customer-secret"},
    ],
)
async def test_wrong_credentials_are_401_invalid(headers: dict[str, str]) -> None:
    """A wrong ID or secret, another scheme or a malformed header is 401 "Invalid ..."."""
    async with anonymous() as http:
        response = await http.post(f"{BASE}/acquire", json={}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Invalid authentication credentials"}


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
async def test_basic_scheme_is_case_insensitive(scheme: str) -> None:
    """The docs' Python sample sends "basic"; any case of the scheme is accepted."""
    async with anonymous() as http:
        headers = basic("emulator-customer-id", "emulator-customer-secret", scheme)
        body = {"cname": "room", "uid": "1", "clientRequest": {}}
        response = await http.post(f"{BASE}/acquire", json=body, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"{BASE}/acquire"),
        ("POST", f"{BASE}/Acquire"),
        ("POST", f"{BASE}/acquire/"),
        ("POST", "/v1/apps/x/cloud_record/acquire"),
        ("POST", f"{BASE}/resourceid/r/mode/composite/start"),
        ("POST", f"{BASE}/resourceid/r/mode/Web/start"),
        ("POST", f"{BASE}/resourceid/r/sid/s/mode/individual/query"),
        ("GET", f"{BASE}/resourceid/r/sid/s/mode/individual/stop"),
        ("DELETE", "/v1/ncs/ip"),
    ],
)
async def test_unmatched_routes_are_gateway_404(method: str, url: str) -> None:
    """Wrong method, path, case or mode: 404 {"message":"no Route matched with those values"}."""
    async with emulated_http() as (http, _):
        response = await http.request(method, url, json={})
    assert response.status_code == 404
    assert response.json() == ROUTE_404
    assert response.headers["x-request-id"]


async def test_route_404_comes_before_authentication() -> None:
    """An unknown route is 404 even without credentials, as at a gateway."""
    async with anonymous() as http:
        response = await http.get("/v1/nothing")
    assert response.status_code == 404


async def test_app_id_restriction_is_400_appid_invalid() -> None:
    """With app_id set, another App ID gets 400 {"message":"appid is invalid"}."""
    async with emulated_http(app_id="the-app") as (http, _):
        body = {"cname": "room", "uid": "1", "clientRequest": {}}
        refused = await http.post(f"{BASE}/acquire", json=body)
        accepted = await http.post("/v1/apps/the-app/cloud_recording/acquire", json=body)
    assert refused.status_code == 400
    assert refused.json() == {"message": "appid is invalid"}
    assert accepted.status_code == 200


async def test_rate_limit_is_429_per_app_id_until_time_passes() -> None:
    """Over rate_limit calls per second: 429 with Retry-After; other App IDs and a second later
    pass."""
    async with emulated_http(rate_limit=3) as (http, emulator):
        body = {"cname": "room", "uid": "1", "clientRequest": {}}
        codes = [(await http.post(f"{BASE}/acquire", json=body)).status_code for _ in range(4)]
        limited = await http.post(f"{BASE}/acquire", json=body)
        other_app = await http.post("/v1/apps/other/cloud_recording/acquire", json=body)
        emulator.advance(1)
        later = await http.post(f"{BASE}/acquire", json=body)
    assert codes == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert limited.json() == {"message": "API rate limit exceeded"}
    assert limited.headers["retry-after"] == "1"
    assert other_app.status_code == 200
    assert later.status_code == 200


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b'{"cname":"room","uid":"1","clientRequest":{}}'),
        (None, b'{"cname":"room","uid":"1","clientRequest":{}}'),
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b"\xff\xfe"),
    ],
)
async def test_bad_content_type_or_body_is_code_8(content_type: str | None, content: bytes) -> None:
    """A non-JSON Content-Type, or a body that is not a JSON object, is 400 code 8."""
    headers = {"Content-Type": content_type} if content_type else {}
    async with emulated_http() as (http, _):
        response = await http.post(f"{BASE}/acquire", content=content, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == 8


async def test_json_content_type_with_charset_is_accepted() -> None:
    """``application/json;charset=utf-8`` (what clients send) is a JSON content type."""
    async with emulated_http() as (http, _):
        response = await http.post(
            f"{BASE}/acquire",
            content=b'{"cname":"room","uid":"1","clientRequest":{}}',
            headers={"Content-Type": "Application/JSON; charset=utf-8"},
        )
    assert response.status_code == 200


async def test_every_response_has_a_unique_request_id() -> None:
    """Success, gateway and service errors all carry a distinct X-Request-ID."""
    async with emulated_http() as (http, _):
        responses = [
            await http.post(
                f"{BASE}/acquire", json={"cname": "r", "uid": "1", "clientRequest": {}}
            ),
            await http.post(f"{BASE}/acquire", json={}, headers={"Authorization": "Basic eDp5"}),
            await http.get("/nowhere"),
            await http.post(
                f"{BASE}/acquire", json={"cname": "r", "uid": "0", "clientRequest": {}}
            ),
        ]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_ncs_ip_list_is_served_at_both_paths(version: str) -> None:
    """GET /v1/ncs/ip and /v2/ncs/ip answer the documented shape, behind Basic auth."""
    async with emulated_http() as (http, _), anonymous() as anon:
        response = await http.get(f"/{version}/ncs/ip")
        refused = await anon.get(f"/{version}/ncs/ip")
    assert response.status_code == 200
    assert response.json()["data"]["service"]["hosts"][0]["primaryIP"]
    assert refused.status_code == 401


# -- acquire ---------------------------------------------------------------------------------


async def test_invalid_acquire_parameter_is_code_2_naming_the_field() -> None:
    """A bad uid is 400 code 2 whose reason names the field."""
    async with emulated_http() as (http, _):
        response = await http.post(
            f"{BASE}/acquire", json={"cname": "room", "uid": "0", "clientRequest": {}}
        )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 2
    assert "uid" in body["reason"]
    assert body["cname"] == "room"


async def test_invalid_resource_expired_hour_uses_the_documented_reason() -> None:
    """resourceExpiredHour out of [1, 720] gives the one reason string the docs print."""
    async with emulated_http() as (http, _):
        response = await http.post(
            f"{BASE}/acquire",
            json={"cname": "room", "uid": "1", "clientRequest": {"resourceExpiredHour": 721}},
        )
    assert response.status_code == 400
    assert response.json() == {
        "cname": "room",
        "uid": "1",
        "code": 2,
        "reason": "Acquire: invalid resourceExpiredHour value!",
    }


@pytest.mark.parametrize("cname", ["bad/name", "", "x" * 65, "caf\u00e9"])
async def test_invalid_channel_name_at_acquire_is_code_401(cname: str) -> None:
    """A channel name outside the 89 characters or over 64 bytes: 400 code 401."""
    async with emulated_http() as (http, _):
        response = await http.post(
            f"{BASE}/acquire", json={"cname": cname, "uid": "1", "clientRequest": {}}
        )
    assert response.status_code == 400
    assert response.json()["code"] == 401
    assert response.json()["reason"] == "invalid_channel_name"


async def test_invalid_start_parameter_does_not_fail_acquire() -> None:
    """An invalid startParameter is accepted at acquire; start then refuses a different body."""
    async with emulated_http() as (http, _):
        resource_id = await acquire(http, startParameter={"storageConfig": {"vendor": 99}})
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert response.status_code == 400
    assert response.json()["code"] == 2
    assert "startParameter" in response.json()["reason"]


async def test_matching_start_parameter_lets_start_succeed() -> None:
    """A start whose clientRequest equals the acquire startParameter succeeds."""
    async with emulated_http() as (http, _):
        request = start_request("individual")
        resource_id = await acquire(http, startParameter=request)
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": request},
        )
    assert response.status_code == 200


async def test_concurrent_recording_quota_is_code_406_at_acquire() -> None:
    """Past max_concurrent_recordings running tasks, acquire gets 400 code 406 until one stops."""
    async with emulated_http(max_concurrent_recordings=1) as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start(http)
        refused = await http.post(
            f"{BASE}/acquire", json={"cname": "other", "uid": "5", "clientRequest": {}}
        )
        await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        accepted = await http.post(
            f"{BASE}/acquire", json={"cname": "other", "uid": "5", "clientRequest": {}}
        )
    assert refused.status_code == 400
    assert refused.json()["code"] == 406
    assert refused.json()["reason"] == "vendor_over_load"
    assert accepted.status_code == 200


# -- start -----------------------------------------------------------------------------------


async def test_repeated_start_is_201_code_7_without_sid() -> None:
    """A second start with the same resource ID: 201 {"code":7,"reason":"already started"}."""
    async with emulated_http() as (http, _):
        resource_id, sid = await start(http)
        again = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert again.status_code == 201
    body = again.json()
    assert (body["code"], body["reason"]) == (7, "already started")
    assert body["resourceId"] == resource_id
    assert body.get("sid") in (None, sid)


async def test_start_after_the_recording_is_gone_is_code_432() -> None:
    """A resource ID cannot be reused once its recording has exited (400 code 432)."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start(http)
        await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        emulator.advance(10)
        again = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert again.status_code == 400
    assert again.json()["code"] == 432


async def test_same_cname_and_uid_while_live_is_task_conflict_53() -> None:
    """A new resource for a cname+uid already being recorded: 400 code 53 "task conflict"."""
    async with emulated_http() as (http, _):
        await start(http)
        resource_id = await acquire(http)
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["reason"]) == (53, "task conflict")


async def test_invalid_start_body_is_code_2_with_the_field_path() -> None:
    """maxIdleTime below 5 is 400 code 2 naming clientRequest.recordingConfig.maxIdleTime."""
    async with emulated_http() as (http, _):
        resource_id = await acquire(http)
        request = start_request("individual")
        request["recordingConfig"]["maxIdleTime"] = 1
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": request},
        )
    assert response.status_code == 400
    assert response.json()["code"] == 2
    assert "clientRequest.recordingConfig.maxIdleTime" in response.json()["reason"]


@pytest.mark.parametrize(
    ("app_id", "cname", "uid"),
    [("other-app", "room", "99"), (DEFAULT_APP_ID, "hall", "99"), (DEFAULT_APP_ID, "room", "98")],
)
async def test_start_not_matching_the_acquire_is_code_432(
    app_id: str, cname: str, uid: str
) -> None:
    """Another App ID, cname or uid than at acquire: 400 code 432."""
    async with emulated_http() as (http, _):
        resource_id = await acquire(http)
        response = await http.post(
            f"/v1/apps/{app_id}/cloud_recording/resourceid/{resource_id}/mode/individual/start",
            json={"cname": cname, "uid": uid, "clientRequest": start_request("individual")},
        )
    assert response.status_code == 400
    assert response.json()["code"] == 432


async def test_start_more_than_five_minutes_after_acquire_is_code_433() -> None:
    """A resource ID expires 300 s after acquire: start then gets 400 code 433."""
    async with emulated_http() as (http, emulator):
        resource_id = await acquire(http)
        emulator.advance(301)
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert response.status_code == 400
    assert response.json()["code"] == 433


async def test_start_within_five_minutes_succeeds() -> None:
    """299 s after acquire the resource ID is still valid."""
    async with emulated_http() as (http, emulator):
        resource_id = await acquire(http)
        emulator.advance(299)
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert response.status_code == 200


@pytest.mark.parametrize("resource_id", ["garbage", "A" * 300, "%%%"])
async def test_unparsable_resource_id_is_code_1001(resource_id: str) -> None:
    """A resource ID the emulator did not mint is 400 code 1001, on start and on query."""
    async with emulated_http() as (http, _):
        started = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/mix/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("mix")},
        )
        queried = await http.get(path(resource_id, "0" * 32, "query"))
    assert started.status_code == queried.status_code == 400
    assert started.json()["code"] == queried.json()["code"] == 1001


async def test_resource_ids_from_another_emulator_are_refused() -> None:
    """Resource IDs are sealed per emulator: another instance answers 1001."""
    async with emulated_http() as (http, _), emulated_http() as (other, _):
        resource_id = await acquire(http)
        response = await other.post(
            f"{BASE}/resourceid/{resource_id}/mode/individual/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("individual")},
        )
    assert response.json()["code"] == 1001


async def test_web_mode_needs_scene_1() -> None:
    """Starting web mode on a resource acquired with scene 0 is 400 code 2 (and vice versa)."""
    async with emulated_http() as (http, _):
        resource_id = await acquire(http)
        web = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/web/start",
            json={"cname": "room", "uid": "99", "clientRequest": start_request("web")},
        )
        scene_1 = await acquire(http, "hall", scene=1)
        mix = await http.post(
            f"{BASE}/resourceid/{scene_1}/mode/mix/start",
            json={"cname": "hall", "uid": "99", "clientRequest": start_request("mix")},
        )
    assert (web.status_code, web.json()["code"]) == (400, 2)
    assert (mix.status_code, mix.json()["code"]) == (400, 2)


async def test_unknown_keys_are_ignored() -> None:
    """Unknown keys (VideoBitrate with a capital V, extra top-level keys) do not fail start."""
    async with emulated_http() as (http, _):
        resource_id = await acquire(http, "page", scene=1)
        request = start_request("web")
        request["extensionServiceConfig"]["extensionServices"][0]["serviceParam"][
            "VideoBitrate"
        ] = 123456
        request["somethingNew"] = {"x": 1}
        response = await http.post(
            f"{BASE}/resourceid/{resource_id}/mode/web/start",
            json={"cname": "page", "uid": "99", "clientRequest": request, "extra": True},
        )
    assert response.status_code == 200


# -- query / update / updateLayout / stop ------------------------------------------------------


async def test_unknown_sid_is_404_failed_to_find_worker() -> None:
    """Query of a sid the resource never had: 404 {"code":404,"reason":"failed to find worker"}."""
    async with emulated_http() as (http, _):
        resource_id = await acquire(http)
        response = await http.get(path(resource_id, "f" * 32, "query"))
    assert response.status_code == 404
    body = response.json()
    assert (body["code"], body["reason"]) == (404, "failed to find worker")
    assert body["resourceId"] == resource_id
    assert body["sid"] == "f" * 32


async def test_sid_of_another_resource_is_code_1003() -> None:
    """A sid paired with another recording's resource ID is 400 code 1003."""
    async with emulated_http() as (http, _):
        first, _ = await start(http, cname="one")
        _, second_sid = await start(http, cname="two")
        response = await http.get(path(first, second_sid, "query"))
    assert response.status_code == 400
    assert response.json()["code"] == 1003


async def test_query_with_another_mode_is_code_2() -> None:
    """Querying an individual recording under mode mix is 400 code 2."""
    async with emulated_http() as (http, _):
        resource_id, sid = await start(http)
        response = await http.get(path(resource_id, sid, "query", mode="mix"))
    assert response.status_code == 400
    assert response.json()["code"] == 2


async def test_update_layout_outside_mix_is_code_2() -> None:
    """updateLayout exists only in mix mode: elsewhere 400 code 2."""
    async with emulated_http() as (http, _):
        resource_id, sid = await start(http)
        response = await http.post(
            path(resource_id, sid, "updateLayout"),
            json={"cname": "room", "uid": "99", "clientRequest": {"mixedVideoLayout": 1}},
        )
    assert response.status_code == 400
    assert response.json()["code"] == 2
    assert response.json()["sid"] == sid


async def test_body_cname_not_matching_the_recording_is_code_432() -> None:
    """update/stop bodies must carry the recording's cname and uid, else 400 code 432."""
    async with emulated_http() as (http, _):
        resource_id, sid = await start(http)
        response = await http.post(
            path(resource_id, sid, "stop"), json={"cname": "room", "uid": "98", "clientRequest": {}}
        )
    assert response.status_code == 400
    assert response.json()["code"] == 432


async def test_stop_without_any_publisher_is_206_code_435() -> None:
    """Stopping a recording nobody published to: 206 {"code":435,"reason":"no recorded data"}."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http)
        emulator.advance(5)
        response = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        after = await http.get(path(resource_id, sid, "query"))
    assert response.status_code == 206
    body = response.json()
    assert (body["code"], body["reason"]) == (435, "no recorded data")
    assert (body["cname"], body["uid"], body["sid"]) == ("room", "99", sid)
    assert after.json()["serverResponse"]["status"] == 6  # the task still stops


async def test_second_stop_while_exiting_is_code_49_then_404() -> None:
    """A repeated stop inside the exit window is 400 code 49; once the task is gone, 404."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start(http)
        first = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        second = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
        emulator.advance(3)
        third = await http.post(path(resource_id, sid, "stop"), json=STOP_BODY)
    assert first.status_code == 200
    assert second.status_code == 400
    assert (second.json()["code"], second.json()["reason"]) == (49, "invalid operation")
    assert third.status_code == 404
    assert third.json()["code"] == 404


async def test_update_of_an_exiting_task_is_404() -> None:
    """update and updateLayout are valid only while the task runs."""
    async with emulated_http() as (http, emulator):
        emulator.channel("room").publish(7)
        resource_id, sid = await start(http, "mix")
        await http.post(path(resource_id, sid, "stop", "mix"), json=STOP_BODY)
        layout = await http.post(
            path(resource_id, sid, "updateLayout", "mix"),
            json={"cname": "room", "uid": "99", "clientRequest": {"mixedVideoLayout": 1}},
        )
    assert layout.status_code == 404
    assert layout.json()["code"] == 404


async def test_injected_service_errors_use_the_documented_bodies() -> None:
    """fail_next without a body answers 206/65, 504/62 and 500/500 as the error table says."""
    emulator = Emulator(rate_limit=None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app),
        base_url="http://emulator.invalid",
        auth=("emulator-customer-id", "emulator-customer-secret"),
    ) as http:
        emulator.faults.fail_next("acquire", 206)
        emulator.faults.fail_next("acquire", 504)
        emulator.faults.fail_next("acquire", 500)
        body = {"cname": "room", "uid": "1", "clientRequest": {}}
        answers = [await http.post(f"{BASE}/acquire", json=body) for _ in range(4)]
    assert [(r.status_code, r.json().get("code")) for r in answers] == [
        (206, 65),
        (504, 62),
        (500, 500),
        (200, None),
    ]


@pytest.mark.parametrize(
    ("verb", "request_body"),
    [
        ("update", {}),
        ("update", {"webRecordingConfig": {"onhold": True}}),
        ("stop", {"async_stop": "yes"}),
    ],
)
async def test_invalid_update_or_stop_body_is_code_2(
    verb: str, request_body: dict[str, Any]
) -> None:
    """An empty update, a web-only field outside web mode, or a non-boolean async_stop: code 2."""
    async with emulated_http() as (http, _):
        resource_id, sid = await start(http)
        response = await http.post(
            path(resource_id, sid, verb),
            json={"cname": "room", "uid": "99", "clientRequest": request_body},
        )
    assert response.status_code == 400
    assert response.json()["code"] == 2
    assert response.json()["reason"].startswith(verb.capitalize() + ": invalid clientRequest")


@pytest.mark.parametrize(
    ("verb", "status", "code", "reason"),
    [
        ("acquire", 500, 500, "internal_error"),
        ("start", 206, 65, "request not completed"),
        ("query", 206, 65, "request not completed"),
        ("update", 206, 65, "request not completed"),
        ("updateLayout", 206, 65, "request not completed"),
        ("stop", 206, 65, "request not completed"),
        ("query", 504, 62, "request timeout"),
        ("update", 504, 62, "request timeout"),
        ("updateLayout", 504, 62, "request timeout"),
        ("stop", 504, 62, "request timeout"),
    ],
)
async def test_injected_errors_on_each_endpoint_match_the_error_table(
    verb: str, status: int, code: int, reason: str
) -> None:
    """A default injected fault answers each documented error row with its status, code, reason."""
    async with emulated_http() as (http, emulator):
        resource_id, sid = await start(http, "mix")
        emulator.faults.fail_next(verb, status)
        envelope = {"cname": "room", "uid": "99"}
        if verb == "acquire":
            response = await http.post(f"{BASE}/acquire", json={**envelope, "clientRequest": {}})
        elif verb == "start":
            response = await http.post(
                f"{BASE}/resourceid/{resource_id}/mode/mix/start",
                json={**envelope, "clientRequest": start_request("mix")},
            )
        elif verb == "query":
            response = await http.get(path(resource_id, sid, verb, "mix"))
        else:
            request = {
                "update": {"streamSubscribe": {"audioUidList": {"subscribeAudioUids": ["1"]}}},
                "updateLayout": {"mixedVideoLayout": 1},
                "stop": {},
            }[verb]
            response = await http.post(
                path(resource_id, sid, verb, "mix"), json={**envelope, "clientRequest": request}
            )
    assert response.status_code == status
    assert (response.json()["code"], response.json()["reason"]) == (code, reason)
