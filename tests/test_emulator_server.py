"""The emulator over real loopback HTTP: uvicorn, control routes, webhooks and serve()."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest
from agora_recording import RecordingClient, converter, webhooks
from agora_recording.emulator import Emulator, EmulatorServer, FakeClock
from agora_recording.errors import NotFoundError, TransportError
from agora_recording.models import (
    AcquireConfig,
    RecordingConfig,
    StartConfig,
    StorageConfig,
    UpdateLayoutConfig,
)
from agora_recording.testing import DEFAULT_APP_ID, serve

from tests.helpers import start_request

pytestmark = pytest.mark.anyio

AUTH = ("emulator-customer-id", "emulator-customer-secret")
STORAGE = StorageConfig(vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s")


def client_for(url: str) -> RecordingClient:
    """A RecordingClient on a served emulator."""
    return RecordingClient(
        app_id=DEFAULT_APP_ID,
        customer_id=AUTH[0],
        customer_secret=AUTH[1],
        base_url=url,
        rate_limit=None,
    )


async def test_full_mix_lifecycle_over_loopback_driven_by_control_routes() -> None:
    """A client over real HTTP records a channel whose users and clock are driven through the
    /_emulator control routes."""
    with serve() as served:
        async with (
            httpx.AsyncClient(base_url=served.url) as control,
            client_for(served.url) as client,
        ):
            joined = await control.post(
                "/_emulator/channels/publish", json={"cname": "room", "uid": 7, "video": False}
            )
            acquired = await client.acquire(cname="room", uid="99")
            assert acquired.resource_id is not None
            started = await client.start(
                acquired.resource_id,
                "mix",
                cname="room",
                uid="99",
                config=StartConfig(storage_config=STORAGE, recording_config=RecordingConfig()),
            )
            advanced = await control.post("/_emulator/clock/advance", json={"seconds": 5})
            queried = await client.query(started.handle)
            await client.update_layout(started.handle, UpdateLayoutConfig(mixed_video_layout=1))
            state = (await control.get("/_emulator/state")).json()
            stopped = await client.stop(started.handle)
            listed = (await control.get("/_emulator/notifications")).json()["notifications"]
    assert joined.json() == {"cname": "room", "users": {"7": {"audio": True, "video": False}}}
    assert advanced.json() == {"time": 1_704_067_205.0}
    assert queried.status == 5
    assert [f.file_name for f in queried.files] == [f"{started.sid}_room.m3u8"]
    assert [f.file_name for f in stopped.files] == [f"{started.sid}_room.m3u8"]
    assert state["recordings"][0]["sid"] == started.sid
    assert state["recordings"][0]["layout"]["mixedVideoLayout"] == 1
    assert state["channels"] == {"room": {"7": {"audio": True, "video": False}}}
    assert [json.loads(n["body"])["eventType"] for n in listed] == [
        40,
        30,
        43,
        42,
        4,
        13,
        41,
        31,
        11,
    ]
    for note in listed:
        assert webhooks.verify(note["body"].encode(), note["headers"], "emulator-ncs-secret")


@pytest.mark.parametrize("mode", ["individual", "mix", "web"])
async def test_full_lifecycle_in_each_mode_over_loopback(mode: str) -> None:
    """Over real HTTP a client acquires, starts, queries, stops and gets files in each mode."""
    config = converter.structure(start_request(mode), StartConfig)
    with serve() as served:
        async with (
            httpx.AsyncClient(base_url=served.url) as control,
            client_for(served.url) as client,
        ):
            await control.post("/_emulator/channels/publish", json={"cname": "room", "uid": 7})
            acquired = await client.acquire(
                cname="room", uid="99", config=AcquireConfig(scene=1) if mode == "web" else None
            )
            assert acquired.resource_id is not None
            started = await client.start(
                acquired.resource_id, mode, cname="room", uid="99", config=config
            )
            await control.post("/_emulator/clock/advance", json={"seconds": 30})
            queried = await client.query(started.handle)
            stopped = await client.stop(started.handle)
    assert started.handle.mode == mode
    assert queried.status == 5
    assert stopped.uploading_status == "uploaded"
    assert stopped.files
    sid = started.handle.sid
    assert all(sid in (f.file_name or "") for f in stopped.files)


async def test_fault_control_routes() -> None:
    """Faults can be injected and cleared over HTTP."""
    with serve() as served:
        async with (
            httpx.AsyncClient(base_url=served.url) as control,
            client_for(served.url) as client,
        ):
            failed = await control.post(
                "/_emulator/faults/fail",
                json={"endpoint": "acquire", "status": 500, "times": 5},
            )
            with pytest.raises(Exception, match="500"):
                await client.acquire(cname="room", uid="99")
            cleared = await control.delete("/_emulator/faults")
            await control.post("/_emulator/channels/join", json={"cname": "room", "uid": "5"})
            died = await control.post("/_emulator/faults/die", json={"seconds": 3})
            acquired = await client.acquire(cname="room", uid="99")
            assert acquired.resource_id is not None
            started = await client.start(
                acquired.resource_id,
                "individual",
                cname="room",
                uid="99",
                config=StartConfig(
                    storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
                ),
            )
            await control.post("/_emulator/clock/advance", json={"seconds": 3})
            with pytest.raises(NotFoundError):
                await client.query(started.handle)
            others = [
                await control.post(f"/_emulator/faults/{kind}", json=body)
                for kind, body in (
                    ("latency", {"seconds": 0, "times": 1}),
                    ("drop", {"endpoint": "stop"}),
                    ("failover", {"after": 1, "duration": 2}),
                    ("abnormal-exit", {"after": 5}),
                    ("backup-upload", {}),
                )
            ]
    assert failed.json() == cleared.json() == died.json() == {"ok": True}
    assert [r.status_code for r in others] == [200] * 5


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("POST", "/_emulator/faults/fail", {"endpoint": "acquire"}, 400),
        ("POST", "/_emulator/faults/fail", {"endpoint": "nope", "status": 500}, 400),
        ("POST", "/_emulator/faults/die", {"seconds": True}, 400),
        ("POST", "/_emulator/faults/explode", {}, 400),
        ("POST", "/_emulator/faults/die", {"seconds": 1, "sid": "f" * 32}, 400),
        ("POST", "/_emulator/channels/dance", {"cname": "room", "uid": "1"}, 404),
        ("POST", "/_emulator/channels/join", {"cname": "room", "uid": "0"}, 400),
        ("POST", "/_emulator/channels/join", [1], 400),
    ],
)
async def test_control_routes_refuse_bad_requests(
    method: str, url: str, body: Any, status: int
) -> None:
    """Bad control requests get a JSON error, not a crash."""
    emulator = Emulator()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://emulator.invalid"
    ) as http:
        response = await http.request(method, url, json=body)
    assert response.status_code == status
    assert "error" in response.json()


async def test_clock_advance_needs_a_fake_clock() -> None:
    """On the real clock, /_emulator/clock/advance answers 409."""
    emulator = Emulator()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://emulator.invalid"
    ) as http:
        response = await http.post("/_emulator/clock/advance", json={"seconds": 1})
        body = await http.post("/_emulator/clock/advance", content=b"{")
    assert response.status_code == 409
    assert body.status_code == 409


async def test_dropped_connection_over_uvicorn_is_a_transport_error() -> None:
    """Over real HTTP a dropped call closes the connection after the headers: httpx raises a
    transport error, and the client a TransportError once its retries are spent."""
    with serve() as served:
        served.emulator.faults.drop_connection("acquire", times=10)
        async with httpx.AsyncClient(base_url=served.url, auth=AUTH) as http:
            with pytest.raises(httpx.TransportError):
                await http.post(
                    f"/v1/apps/{DEFAULT_APP_ID}/cloud_recording/acquire",
                    json={"cname": "room", "uid": "99", "clientRequest": {}},
                )
        async with client_for(served.url) as client:
            with pytest.raises(TransportError):
                await client.acquire(cname="room", uid="99")


class Inbox:
    """What a receiver got: ``(body, headers)`` pairs, with a way to wait for some."""

    def __init__(self) -> None:
        self.items: list[tuple[bytes, dict[str, str]]] = []
        self._changed = threading.Condition()

    def add(self, body: bytes, headers: dict[str, str]) -> None:
        with self._changed:
            self.items.append((body, headers))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` items arrived (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.items) >= count, timeout)

    async def arrival_of(self, count: int) -> None:
        """Wait, without blocking the event loop, until ``count`` items arrived."""
        assert await anyio.to_thread.run_sync(self.wait_for, count)


class _Receiver(BaseHTTPRequestHandler):
    """Answers every POST with 200 ``{}`` and files it in the server's inbox."""

    inbox: Inbox

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.inbox.add(body, dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@contextmanager
def receiver() -> Iterator[tuple[str, Inbox]]:
    """A plain HTTP server collecting POSTs, on a free loopback port."""
    inbox = Inbox()
    handler = type("Handler", (_Receiver,), {"inbox": inbox})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ncs", inbox
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_server_lifespan_posts_signed_notifications() -> None:
    """With notification_url the server's lifespan POSTs each notification, signed."""
    with (
        receiver() as (url, inbox),
        serve(notification_url=url, notification_secret="ncs-secret") as served,
    ):
        served.emulator.channel("room").join(5)
        async with client_for(served.url) as client:
            acquired = await client.acquire(cname="room", uid="99")
            assert acquired.resource_id is not None
            await client.start(
                acquired.resource_id,
                "individual",
                cname="room",
                uid="99",
                config=StartConfig(
                    storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
                ),
            )
        await inbox.arrival_of(3)
    assert [json.loads(body)["eventType"] for body, _ in inbox.items] == [40, 30, 13]
    for body, headers in inbox.items:
        assert webhooks.verify(body, headers, "ncs-secret")


async def test_server_lifespan_fires_timers_without_requests() -> None:
    """The delivery loop settles timers, so an idle exit is notified with no API call."""
    clock = FakeClock()
    with receiver() as (url, inbox), serve(notification_url=url, clock=clock) as served:
        async with client_for(served.url) as client:
            acquired = await client.acquire(cname="room", uid="99")
            assert acquired.resource_id is not None
            await client.start(
                acquired.resource_id,
                "individual",
                cname="room",
                uid="99",
                config=StartConfig(
                    storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
                ),
            )
        clock.advance(30)
        await inbox.arrival_of(6)
    assert [json.loads(body)["eventType"] for body, _ in inbox.items] == [40, 30, 13, 41, 31, 11]


def test_emulator_server_reports_the_real_port() -> None:
    """EmulatorServer on port 0 calls ready with the bound URL and stops on request."""
    urls: list[str] = []
    ready = threading.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    server = EmulatorServer(Emulator(), port=0, ready=on_ready)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        assert server.port != 0
        assert urls == [f"http://127.0.0.1:{server.port}"]
        assert httpx.get(f"{urls[0]}/v1/ncs/ip", auth=AUTH).status_code == 200
    finally:
        server.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.slow
def test_serve_announces_its_address_and_runs_until_terminated() -> None:
    """serve() on port 0 prints the bound URL, answers with the given credentials, and stops on
    SIGTERM."""
    code = (
        "from agora_recording.emulator import serve; "
        "serve('127.0.0.1', 0, 'cid', 'csecret', app_id='only-app')"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("Agora Cloud Recording emulator listening on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1].strip()
            body = {"cname": "room", "uid": "1", "clientRequest": {}}
            credentials = ("cid", "csecret")
            accepted = httpx.post(
                f"{url}/v1/apps/only-app/cloud_recording/acquire", json=body, auth=credentials
            )
            wrong_app = httpx.post(
                f"{url}/v1/apps/other/cloud_recording/acquire", json=body, auth=credentials
            )
            assert accepted.status_code == 200
            assert wrong_app.json() == {"message": "appid is invalid"}
        finally:
            process.terminate()
            process.wait(timeout=15)
    assert process.returncode is not None


def test_serve_context_manager_yields_a_url_and_stops() -> None:
    """testing.serve() binds 127.0.0.1 on a free port and is gone after the block."""
    with serve() as served:
        url = served.url
        assert httpx.get(f"{url}/v1/ncs/ip", auth=AUTH).status_code == 200
        assert served.advance(10) == 1_704_067_210.0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/ncs/ip", auth=AUTH)
