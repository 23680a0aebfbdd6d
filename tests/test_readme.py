"""The README's Python examples run as written against the emulator, in virtual time.

Each example is read from README.md and executed as it stands, after the "Record a channel"
example that defines the ``CONFIG`` the others reuse (as the README says). The tests then drive
what the example defines (its app, bot, worker or functions) the way an application would,
passing the emulator's client where the README reads credentials from the environment.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest
from agora_recording import RecordingClient, RecordingHandle, StorageCredentials
from agora_recording.testing import DEFAULT_APP_ID, EmulatedService, virtual_service
from agora_recording.webhooks import signature_headers

from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"
SETUP = "Record a channel"

#: Examples not run here, and why.
NOT_RUN = {
    "Running several workers": "needs redis-server; examples/fleet runs in test_redis_example",
}


@attrs.frozen
class Block:
    heading: str
    line: int  # of the first code line, 1-based
    code: str


def python_blocks() -> list[Block]:
    """The README's ```python blocks, each with the heading it is under."""
    blocks: list[Block] = []
    heading = ""
    lines = README.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#") and not line.startswith("#!"):
            heading = line.lstrip("#").strip()
        elif line.strip() == "```python":
            end = lines.index("```", index + 1)
            blocks.append(Block(heading, index + 2, "\n".join(lines[index + 1 : end]) + "\n"))
            index = end
        index += 1
    return blocks


def example(heading: str) -> dict[str, Any]:
    """Run the setup example, then those under ``heading``; return what they defined."""
    blocks = python_blocks()
    chosen = [b for b in blocks if b.heading == SETUP]
    chosen += [b for b in blocks if b.heading == heading and heading != SETUP]
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    for block in chosen:
        # Padded so tracebacks name the README's own line numbers.
        source = "\n" * (block.line - 1) + block.code
        exec(compile(source, str(README), "exec"), namespace)
    return namespace


def running(service: EmulatedService) -> list[str]:
    return [info.sid for info in service.emulator.running_recordings()]


def test_every_python_example_is_run_or_says_why_not() -> None:
    """Each Python example in the README is driven by a test here or listed in NOT_RUN."""
    headings = {block.heading for block in python_blocks()}
    assert headings == DRIVEN | set(NOT_RUN)


DRIVEN = {
    SETUP,
    "Inside a FastAPI or Starlette app",
    "Inside a bot",
    "In a worker that survives restarts",
    "Following recordings with notifications (webhooks)",
    "The low-level client",
    "Tokens",
    "Tokens and storage credentials in sessions",
    "Testing your own code with the emulator",
    "Testing your fleet in virtual time",
    "Stopping cleanly on SIGTERM and Ctrl-C",
}


async def test_record_a_channel(capsys: pytest.CaptureFixture[str]) -> None:
    """The first example records for a minute and reports a confirmed stop and the files."""
    ns = example(SETUP)
    async with virtual_service() as service:
        service.channel("weekly-sync").publish(7)
        await ns["record"](service.client)
        assert running(service) == []
    out = capsys.readouterr().out
    assert out.startswith("recording ")
    assert "stopped" in out.lower()
    assert ".m3u8" in out


async def test_the_fastapi_app_survives_a_failing_recording() -> None:
    """Through a real ASGI client: a stop that fails and a recording that dies answer their own
    requests; the other recordings go on, later requests are served, shutdown stops the rest."""
    pytest.importorskip("fastapi", reason="the example is a FastAPI app (test extra)")
    ns = example("Inside a FastAPI or Starlette app")
    async with virtual_service(max_concurrent_recordings=None) as service:
        app = ns["create_app"](lambda: service.client)
        for room in ("a", "b", "dies", "bad"):
            service.channel(room).publish(7)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://app") as http,
        ):
            sids: dict[str, str] = {}
            for room in ("a", "b", "dies", "bad"):
                answer = await http.post(f"/rooms/{room}/recording")
                assert answer.status_code == 200
                sids[room] = answer.json()["handle"]["sid"]
            assert (await http.post("/rooms/a/recording")).status_code == 409

            service.emulator.faults.abnormal_exit(sid=sids["dies"], after=20)
            await anyio.sleep(400)  # noticed, then stopped (gone: 404 for the failover grace)
            dead = (await http.get("/rooms/dies/recording")).json()
            assert dead["recording"] is False
            assert dead["ok"] is False
            assert dead["error"]

            service.emulator.faults.fail_for(300, "stop", 503)
            stopped = await http.delete("/rooms/bad/recording")
            assert stopped.status_code == 200
            assert stopped.json()["ok"] is False
            assert "stop" in stopped.json()["error"]
            alive = (await http.get("/rooms/a/recording")).json()
            assert alive == {"recording": True, "status": 5}
            assert set(running(service)) >= {sids["a"], sids["b"]}

            await anyio.sleep(300)  # the stop outage ends
            service.channel("c").publish(7)
            later = await http.post("/rooms/c/recording")
            assert later.status_code == 200
            done = (await http.delete("/rooms/a/recording")).json()
            assert done["ok"] is True
            assert done["outcome"] == "stopped"
            assert done["files"]
            # The operator stops what the failed stop left running (client.unconfirmed()).
            (orphan,) = [
                e.handle for e in service.client.unconfirmed() if e.handle.sid == sids["bad"]
            ]
            await service.client.ensure_stopped(orphan)
        assert running(service) == []
        assert service.client.unconfirmed() == []


@attrs.define
class FakeMeeting:
    """A meeting of a chat platform, as the bot example's ``Meeting`` protocol describes it."""

    channel: str
    posts: list[str] = attrs.field(factory=list)
    over: anyio.Event = attrs.field(factory=anyio.Event)
    posted: anyio.Event = attrs.field(factory=anyio.Event)

    async def post(self, text: str) -> None:
        self.posts.append(text)
        self.posted.set()

    async def wait_until_over(self) -> None:
        await self.over.wait()


async def test_the_bot_records_each_meeting_while_it_lasts() -> None:
    """Meetings are recorded until they end; a refused start and a dead recording are posted."""
    ns = example("Inside a bot")
    async with virtual_service(max_concurrent_recordings=None) as service:
        meetings = {name: FakeMeeting(name) for name in ("standup", "refused", "crash")}
        for name in meetings:
            service.channel(name).publish(7)
        send, receive = anyio.create_memory_object_stream[Any](10)
        async with anyio.create_task_group() as group:
            group.start_soon(ns["run_bot"], service.client, receive)
            for name, meeting in meetings.items():
                if name == "refused":
                    service.emulator.faults.fail_next("acquire", 401)
                await send.send(meeting)
                await meeting.posted.wait()
            crash_sid = service.emulator.running_recordings()[-1].sid
            service.emulator.faults.abnormal_exit(sid=crash_sid)
            await anyio.sleep(600)
            for meeting in meetings.values():
                meeting.over.set()
            await send.aclose()
        receive.close()
        assert meetings["standup"].posts[0] == "recording"
        assert meetings["standup"].posts[1].startswith("saved: ")
        assert meetings["refused"].posts[0].startswith("cannot record: ")
        assert len(meetings["refused"].posts) == 1
        assert meetings["crash"].posts[1].startswith("the recording failed: ")
        assert running(service) == []


async def test_the_worker_adopts_what_ran_before_and_persists_each_start() -> None:
    """A handle stored by a previous run is adopted; each new handle is stored before the start
    returns and deleted once its recording ended."""
    ns = example("In a worker that survives restarts")
    async with virtual_service(max_concurrent_recordings=None) as service:
        client = service.client
        for room in ("before", "r1"):
            service.channel(room).publish(7)
        # What the previous run of the worker left recording, as it stored it.
        acquired = await client.acquire("before", "9003")
        assert acquired.resource_id is not None
        started = await client.start(
            acquired.resource_id, "mix", cname="before", uid="9003", config=ns["CONFIG"]
        )
        saved_r1 = anyio.Event()

        handle_store: Any = ns["HandleStore"]

        class Store(handle_store):  # type: ignore[misc]
            async def save(self, key: str, handle: RecordingHandle) -> None:
                await super().save(key, handle)
                if key == "r1":
                    saved_r1.set()

        store = Store()
        await store.save("before", started.handle)

        send, receive = anyio.create_memory_object_stream[tuple[str, str]](10)
        async with anyio.create_task_group() as group:
            group.start_soon(ns["run_worker"], client, store, receive)
            await send.send(("start", "r1"))
            await saved_r1.wait()
            saved = json.loads(store.rows["r1"])
            assert saved["sid"] in running(service)
            assert set(store.saved()) == {"before", "r1"}
            assert all(isinstance(h, RecordingHandle) for h in store.saved().values())
            await send.send(("stop", "before"))
            await send.send(("stop", "r1"))
            await send.send(("stop", "never-started"))
            await send.aclose()
        receive.close()
        assert store.rows == {}
        assert running(service) == []


async def test_the_webhook_route_checks_signatures() -> None:
    """The NCS receiver route answers 401 to a forged callback and 200 to a signed one, and the
    client built from the environment follows the hub."""
    pytest.importorskip("fastapi", reason="the example is a FastAPI app (test extra)")
    ns = example("Following recordings with notifications (webhooks)")
    environ = {
        "AGORA_APP_ID": DEFAULT_APP_ID,
        "AGORA_CUSTOMER_ID": "id",
        "AGORA_CUSTOMER_SECRET": "secret",
        "AGORA_NCS_SECRET": "ncs-secret",
    }
    app, client = ns["create_app"](environ)
    async with client:
        assert client.notifications is not None
        transport = httpx.ASGITransport(app=app)
        body = json.dumps(
            {"noticeId": "n1", "productId": 3, "eventType": 40, "notifyMs": 1, "payload": {}}
        ).encode()
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            forged = await http.post("/agora/ncs", content=body, headers={"Agora-Signature": "x"})
            assert forged.status_code == 401
            signed = await http.post(
                "/agora/ncs", content=body, headers=signature_headers(body, "ncs-secret")
            )
            assert signed.status_code == 200


async def test_the_low_level_client(capsys: pytest.CaptureFixture[str]) -> None:
    """Every endpoint in turn, as the example calls them; the status right after start is 0."""
    ns = example("The low-level client")
    made = ns["make_client"]()
    assert isinstance(made, RecordingClient)
    await made.aclose()
    async with virtual_service() as service:
        service.channel("weekly-sync").publish(7)
        await ns["low_level"](service.client)
        assert running(service) == []
    out = capsys.readouterr().out.splitlines()
    assert out[0] in ("0", "RecordingStatus.NOT_STARTED")
    assert ".m3u8" in out[1]


def test_the_tokens_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The token example builds, parses and checks a token with the placeholders it defines."""
    ns = example("Tokens")
    assert capsys.readouterr().out.startswith("lecture-7 527841 ")
    assert ns["parsed"].rtc.channel_name == "lecture-7"


CERTIFICATE = "fedcba9876543210fedcba9876543210"


async def test_sessions_mint_tokens_and_refresh_storage_keys() -> None:
    """The session mints the recorder's token from the client's certificate; with STS keys it
    records until the idle exit, refreshing nothing sooner than the hour."""
    ns = example("Tokens and storage credentials in sessions")
    made = ns["make_client"]()
    assert made.app_certificate is not None
    await made.aclose()
    async with virtual_service(
        app_id="0123456789abcdef0123456789abcdef",
        app_certificate=CERTIFICATE,
        client_options={"app_certificate": CERTIFICATE},
    ) as service:
        service.channel("lecture-7").publish(7)
        await ns["record_lecture"](service.client)
        assert running(service) == []

        fetched: list[float] = []

        async def sts() -> StorageCredentials:
            fetched.append(anyio.current_time())
            return StorageCredentials(
                access_key="ak",
                secret_key="sk",
                sts_token="token",
                expiration=int(time.time()) + 6 * 3600,
            )

        service.channel("lecture-7").leave(7)  # nobody publishes: the recorder exits when idle
        await ns["record_with_sts"](service.client, sts)
        assert len(fetched) == 1
        assert running(service) == []


def test_the_examples_type_check_under_mypy_strict(tmp_path: Path) -> None:
    """Each example, after the setup one, is clean under ``mypy --strict``, as users check."""
    api = pytest.importorskip("mypy.api")
    pytest.importorskip("fastapi", reason="two examples are FastAPI apps (test extra)")
    setup = next(b for b in python_blocks() if b.heading == SETUP)
    files = []
    for number, block in enumerate(python_blocks()):
        if block.heading in NOT_RUN:
            continue
        source = block.code if block.heading == SETUP else setup.code + "\n" + block.code
        path = tmp_path / f"example_{number}.py"
        path.write_text(source, encoding="utf-8")
        files.append(str(path))
    cache = str(tmp_path / ".mypy_cache")
    out, err, status = api.run(["--strict", "--cache-dir", cache, *files])
    assert status == 0, out + err


async def test_the_emulator_testing_example() -> None:
    """The README's own test passes."""
    ns = example("Testing your own code with the emulator")
    await ns["test_recording_reaches_in_progress"]()


async def test_the_virtual_time_example() -> None:
    """The README's fleet test passes: 50 recordings for a virtual hour."""
    ns = example("Testing your fleet in virtual time")
    await ns["test_a_fleet_for_an_hour"]()


async def test_the_signal_example_drains_on_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM during the example's worker stops its recording and reports the drain."""
    ns = example("Stopping cleanly on SIGTERM and Ctrl-C")
    async with virtual_service() as service:
        service.channel("lecture-7").publish(7)
        async with anyio.create_task_group() as group:
            group.start_soon(ns["drain_worker"], service.client)
            await anyio.sleep(30)  # virtual: the recording is up well before
            assert running(service)
            os.kill(os.getpid(), signal.SIGTERM)  # the example's handler is installed by now
        assert running(service) == []
        assert service.client.unconfirmed() == []
    assert "drained after SIGTERM" in capsys.readouterr().out
