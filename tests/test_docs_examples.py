"""Every Python example of the README and the documentation runs as written, against the emulator.

Each ```python block of README.md and docs/**/*.md is keyed by its file and the heading it is
under. A test here runs the blocks of one key, after the setup example (the first guide's
"Record a channel", which defines the ``CONFIG`` the others reuse, as the docs say), then drives
what they define (an app, a bot, a worker, functions) the way an application would, passing the
emulator's client where the docs read credentials from the environment. A block whose first line
is a docstring naming a module (``rooms.py: ...``) is importable under that name by the
blocks after it. A new block with no test here, and no reason in ``NOT_RUN``, fails the suite.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import time
import types
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest
from agora_recording import RecordingClient, RecordingHandle, StorageCredentials
from agora_recording.testing import (
    DEFAULT_APP_ID,
    DEFAULT_CUSTOMER_ID,
    DEFAULT_CUSTOMER_SECRET,
    EmulatedService,
    ServedEmulator,
    virtual_service,
)
from agora_recording.webhooks import parse, signature_headers

from tests.redis_worker import REDIS_SERVER, REQUIRES_REDIS
from tests.virtual import virtual_anyio_backend  # noqa: F401 (the module's anyio_backend)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

README = "README.md"
FIRST = "docs/guides/first-recording.md"
WEB_APP = "docs/guides/web-app.md"
SETUP = (FIRST, "Record a channel")

#: Fence languages a block may have; Python goes in ```python blocks and nowhere else.
LANGUAGES = {"python", "console", "text", "toml", "json"}

#: Examples not run here, and why.
NOT_RUN: dict[tuple[str, str], str] = {
    ("docs/concepts/telemetry.md", "Switching it on"): (
        "needs opentelemetry-exporter-prometheus and a port; tests/test_fleet_cli.py configures "
        "the SDK the same way with an in-memory reader"
    ),
}


@attrs.frozen
class Block:
    path: str  # relative to the repository root
    heading: str
    line: int  # of the first code line, 1-based
    code: str
    language: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.heading)

    @property
    def module(self) -> str | None:
        """The module name a block's opening docstring gives it (``name.py: ...``), if any."""
        found = re.match(r'"""(\w+)\.py:', self.code)
        return found.group(1) if found else None


def fenced_blocks() -> list[Block]:
    """Every fenced block of the documents, each with the heading it is under."""
    blocks: list[Block] = []
    for document in DOCUMENTS:
        path = document.relative_to(ROOT).as_posix()
        lines = document.read_text(encoding="utf-8").splitlines()
        heading = ""
        index = 0
        while index < len(lines):
            line = lines[index]
            if line.startswith("#") and not line.startswith("#!"):
                heading = line.lstrip("#").strip()
            elif line.lstrip().startswith("```"):
                indent = line[: len(line) - len(line.lstrip())]
                language = line.strip().removeprefix("```").strip()
                end = lines.index(indent + "```", index + 1)
                code = "\n".join(x[len(indent) :] for x in lines[index + 1 : end]) + "\n"
                blocks.append(Block(path, heading, index + 2, code, language))
                index = end
            index += 1
    return blocks


def python_blocks() -> list[Block]:
    return [block for block in fenced_blocks() if block.language == "python"]


def example(
    *keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch | None = None
) -> dict[str, Any]:
    """Run the setup example, then the blocks under ``keys``; return what they defined.

    A block that names a module is run in a module of its own, made importable (through
    ``monkeypatch``) for the blocks after it; the namespace returned holds its names too.
    """
    blocks = python_blocks()
    chosen = [b for b in blocks if b.key == SETUP]
    chosen += [b for b in blocks if b.key in keys and b.key != SETUP]
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for block in chosen:
        # Padded so tracebacks name the document's own line numbers.
        source = compile("\n" * (block.line - 1) + block.code, str(ROOT / block.path), "exec")
        if block.module is None:
            exec(source, namespace)
            continue
        assert monkeypatch is not None, f"{block.path}:{block.line} defines a module"
        module = types.ModuleType(block.module)
        monkeypatch.setitem(sys.modules, block.module, module)
        exec(source, module.__dict__)
        namespace.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    return namespace


def running(service: EmulatedService) -> list[str]:
    return [info.sid for info in service.emulator.running_recordings()]


WORKER = ("docs/guides/worker.md", "A worker that survives restarts")
TOKENS_IN_SESSIONS = (
    ("docs/concepts/tokens.md", "The recorder's RTC token"),
    ("docs/concepts/tokens.md", "Short-lived storage credentials (STS)"),
)

DRIVEN = {
    SETUP,
    (README, "Record a channel"),
    (WEB_APP, "The app"),
    (WEB_APP, "Test it"),
    ("docs/guides/bot.md", "The bot"),
    WORKER,
    ("docs/guides/worker.md", "Stopping on SIGTERM"),
    ("docs/guides/fleet.md", "A fleet of workers (Redis)"),
    ("docs/concepts/notifications.md", "Receiving them"),
    ("docs/concepts/notifications.md", "Reading an event"),
    ("docs/guides/files.md", "Checking a bucket"),
    ("docs/concepts/low-level.md", "The low-level client"),
    ("docs/concepts/tokens.md", "Building a token"),
    *TOKENS_IN_SESSIONS,
    ("docs/concepts/sessions.md", "Options"),
    ("docs/testing.md", "In-process, on a fake clock"),
    ("docs/testing.md", "Testing your fleet in virtual time"),
    ("docs/concepts/signals.md", "Signals: stopping cleanly on SIGTERM and Ctrl-C"),
    ("docs/operating.md", "Logging"),
    ("docs/operating.md", "Metrics"),
}


def test_every_python_example_is_run_or_says_why_not() -> None:
    """Each Python example of the README and the docs is driven by a test here or listed in
    NOT_RUN: a new example without a test fails here."""
    keys = {block.key for block in python_blocks()}
    assert keys == DRIVEN | set(NOT_RUN)


def test_code_blocks_name_their_language() -> None:
    """Every fenced block names a known language, so no Python hides from the runner in a
    ```py, ```python3, ```pycon or unnamed block."""
    unknown = [
        f"{block.path}:{block.line - 1} ```{block.language}"
        for block in fenced_blocks()
        if block.language not in LANGUAGES
    ]
    assert unknown == []


def test_the_readme_keeps_its_quick_start() -> None:
    """README's "Quick start" block holds two commands, the second the test command that CI
    runs (.ci/run reads it from there)."""
    (block,) = [b for b in fenced_blocks() if b.path == README and b.heading == "Quick start"]
    commands = [line for line in block.code.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "pytest" in commands[1]


@pytest.mark.parametrize("key", [SETUP, (README, "Record a channel")])
async def test_record_a_channel(key: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """The first example (the guide's and the README's) records for a minute and reports a
    confirmed stop and the files."""
    ns = example(key)
    async with virtual_service() as service:
        service.channel("weekly-sync").publish(7)
        await ns["record"](service.client)
        assert running(service) == []
    out = capsys.readouterr().out
    assert out.startswith("recording ")
    assert "stopped" in out.lower()
    assert ".m3u8" in out


async def test_the_fastapi_app_survives_a_failing_recording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through a real ASGI client: a stop that fails and a recording that dies answer their own
    requests; the other recordings go on, later requests are served, shutdown stops the rest."""
    pytest.importorskip("fastapi", reason="the example is a FastAPI app (test extra)")
    ns = example((WEB_APP, "The app"), monkeypatch=monkeypatch)
    # The exit is reported for 30 s, so a poll sees it and the stop's 404 then confirms it.
    async with virtual_service(max_concurrent_recordings=None, exit_window=30) as service:
        app = ns["create_app"](lambda hub: service.client, ncs_secret="unused")
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
            await anyio.sleep(400)  # noticed (status 20), then stopped (404 after the exit)
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
            (orphan,) = [e.handle for e in service.client.unconfirmed() if e.sid == sids["bad"]]
            assert orphan is not None
            await service.client.ensure_stopped(orphan)
        assert running(service) == []
        assert service.client.unconfirmed() == []


async def test_the_web_app_guide_test_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app guide's own test passes: the app records, follows the emulator's
    notifications, reports the recording that died and stops the rest on shutdown."""
    pytest.importorskip("fastapi", reason="the guide is a FastAPI app (test extra)")
    ns = example((WEB_APP, "The app"), (WEB_APP, "Test it"), monkeypatch=monkeypatch)
    await ns["test_rooms_record_follow_notifications_and_stop_on_shutdown"]()


async def assert_ncs_route_verifies(app: Any, secret: str = "ncs-secret") -> None:
    """``app``'s ``/agora/ncs`` answers 401 to a forged callback and 200 to a signed one."""
    body = json.dumps(
        {"noticeId": "n1", "productId": 3, "eventType": 40, "notifyMs": 1, "payload": {}}
    ).encode()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        forged = await http.post("/agora/ncs", content=body, headers={"Agora-Signature": "x"})
        assert forged.status_code == 401
        signed = await http.post(
            "/agora/ncs", content=body, headers=signature_headers(body, secret)
        )
        assert signed.status_code == 200


async def test_the_web_app_refuses_forged_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's /agora/ncs route answers 401 to a forged callback and 200 to a signed one."""
    pytest.importorskip("fastapi", reason="the guide is a FastAPI app (test extra)")
    ns = example((WEB_APP, "The app"), monkeypatch=monkeypatch)
    async with virtual_service() as service:
        app = ns["create_app"](lambda hub: service.client, ncs_secret="ncs-secret")
        await assert_ncs_route_verifies(app)


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
    ns = example(("docs/guides/bot.md", "The bot"))
    # Exits are reported for 30 s, so a poll sees them and the stop's 404 then confirms it.
    async with virtual_service(max_concurrent_recordings=None, exit_window=30) as service:
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
    ns = example(WORKER)
    async with virtual_service(max_concurrent_recordings=None) as service:
        client = service.client
        for room in ("before", "r1"):
            service.channel(room).publish(7)
        # What the previous run of the worker left recording, as it stored it.
        acquired = await client.acquire(cname="before", uid="9003")
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
    ns = example(("docs/concepts/notifications.md", "Receiving them"))
    environ = {
        "AGORA_APP_ID": DEFAULT_APP_ID,
        "AGORA_CUSTOMER_ID": "id",
        "AGORA_CUSTOMER_SECRET": "secret",
        "AGORA_NCS_SECRET": "ncs-secret",
    }
    app, client = ns["create_app"](environ)
    async with client:
        assert client.notifications is not None
        await assert_ncs_route_verifies(app)


def test_the_event_reading_example() -> None:
    """The typed-details example tells an idle leave and a screenshot from other events."""
    ns = example(("docs/concepts/notifications.md", "Reading an event"))
    describe = ns["describe"]

    def note(event_type: int, details: dict[str, Any]) -> Any:
        return parse({"noticeId": "n", "eventType": event_type, "payload": {"details": details}})

    assert describe(note(41, {"leaveCode": 4})) == "nobody published for maxIdleTime"
    assert describe(note(45, {"fileName": "a/b.jpg"})) == "screenshot uploaded: a/b.jpg"
    assert describe(note(40, {"msgName": "recorder_started"})) == "recorder_started"


async def test_the_bucket_check_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The bucket check names the index file missing from a listing of an emulated recording."""
    ns = example(("docs/guides/files.md", "Checking a bucket"))
    async with virtual_service() as service:
        service.channel("weekly-sync").publish(7, video=False)
        async with service.client.session(
            cname="weekly-sync", uid="99", mode="mix", config=ns["CONFIG"]
        ) as session:
            await anyio.sleep(10)
        files = (
            list(service.emulator.recordings()[0].files) if service.emulator.recordings() else []
        )
    assert session.handle is not None
    ns["check_bucket"](session.handle, [], ns["CONFIG"], [])
    out = capsys.readouterr().out
    assert "not uploaded (yet): " in out
    assert ".m3u8" in out
    assert files == [] or files[0].endswith(".m3u8")


async def test_the_low_level_client(capsys: pytest.CaptureFixture[str]) -> None:
    """Every endpoint in turn, as the example calls them; the status right after start is 0."""
    ns = example(("docs/concepts/low-level.md", "The low-level client"))
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
    ns = example(("docs/concepts/tokens.md", "Building a token"))
    assert capsys.readouterr().out.startswith("lecture-7 527841 ")
    assert ns["parsed"].rtc.channel_name == "lecture-7"


CERTIFICATE = "fedcba9876543210fedcba9876543210"


async def test_sessions_mint_tokens_and_refresh_storage_keys() -> None:
    """The session mints the recorder's token from the client's certificate; with STS keys it
    records until the idle exit, refreshing nothing sooner than the hour."""
    ns = example(*TOKENS_IN_SESSIONS)
    made = ns["make_client"]()
    assert made.app_certificate is not None
    await made.aclose()
    async with virtual_service(
        app_id="0123456789abcdef0123456789abcdef",
        app_certificate=CERTIFICATE,
        client_options={"app_certificate": CERTIFICATE},
        exit_window=30,  # a poll sees the idle exit, so the stop's 404 then confirms it
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


async def test_the_session_options_example_records_with_its_groups() -> None:
    """The option groups of the sessions page build a session that records until the idle
    exit, polling at its own interval, and is stopped."""
    ns = example(("docs/concepts/sessions.md", "Options"))
    assert ns["PATIENT"].start_timeout == 120
    # a poll every 30 s sees the idle exit (a recorder with nobody publishing), so the stop's
    # 404 then confirms it
    async with virtual_service(exit_window=60) as service:
        await ns["record_patiently"](service.client)
        assert running(service) == []


@pytest.mark.slow
def test_the_examples_type_check_under_mypy_strict(tmp_path: Path) -> None:
    """The examples are clean under ``mypy --strict``, as users check: each document's blocks
    together, after the setup example, and each block that names a module as that module."""
    api = pytest.importorskip("mypy.api")
    pytest.importorskip("fastapi", reason="examples are FastAPI apps (test extra)")
    setup = next(b for b in python_blocks() if b.key == SETUP)
    by_document: dict[str, list[str]] = {}
    files = []
    for block in python_blocks():
        if block.key in NOT_RUN:
            continue
        if block.module is not None:
            path = tmp_path / f"{block.module}.py"
            path.write_text(block.code, encoding="utf-8")
            files.append(str(path))
            continue
        standalone = block.key == SETUP or block.path == README
        chunks = by_document.setdefault(block.path, [] if standalone else [setup.code])
        chunks.append(block.code)
    for number, chunks in enumerate(by_document.values()):
        path = tmp_path / f"document_{number}.py"
        path.write_text("\n".join(chunks), encoding="utf-8")
        files.append(str(path))
    cache = str(tmp_path / ".mypy_cache")
    out, err, status = api.run(["--strict", "--cache-dir", cache, *files])
    assert status == 0, out + err


async def test_the_emulator_testing_example() -> None:
    """The testing guide's own test passes: a recording reaches IN_PROGRESS on a fake clock."""
    ns = example(("docs/testing.md", "In-process, on a fake clock"))
    await ns["test_recording_reaches_in_progress"]()


async def test_the_virtual_time_example() -> None:
    """The testing guide's fleet test passes: 50 recordings for a virtual hour."""
    ns = example(("docs/testing.md", "Testing your fleet in virtual time"))
    await ns["test_a_fleet_for_an_hour"]()


async def test_the_signal_example_drains_on_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM during the example's worker stops its recording and reports the drain."""
    ns = example(("docs/concepts/signals.md", "Signals: stopping cleanly on SIGTERM and Ctrl-C"))
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


async def test_the_worker_drains_its_jobs_on_sigterm(capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM during the worker guide's job loop stops its recordings, confirmed, and says so;
    the store is left empty."""
    ns = example(WORKER, ("docs/guides/worker.md", "Stopping on SIGTERM"))
    async with virtual_service(max_concurrent_recordings=None) as service:
        service.channel("r1").publish(7)
        store = ns["HandleStore"]()
        send, receive = anyio.create_memory_object_stream[tuple[str, str]](10)
        async with anyio.create_task_group() as group:
            group.start_soon(ns["serve_jobs"], service.client, store, receive)
            await send.send(("start", "r1"))
            await anyio.sleep(30)  # virtual: the recording is up well before
            assert running(service)
            assert set(store.rows) == {"r1"}
            os.kill(os.getpid(), signal.SIGTERM)  # the drain's handler is installed by now
        send.close()
        receive.close()
        assert running(service) == []
        assert service.client.unconfirmed() == []
        assert store.rows == {}
    assert "stopped every recording after SIGTERM" in capsys.readouterr().out


def emulator_environment(monkeypatch: pytest.MonkeyPatch, served: ServedEmulator) -> None:
    """Export what a user of the emulator would, for the examples that read the environment."""
    monkeypatch.setenv("AGORA_APP_ID", DEFAULT_APP_ID)
    monkeypatch.setenv("AGORA_CUSTOMER_ID", DEFAULT_CUSTOMER_ID)
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", DEFAULT_CUSTOMER_SECRET)
    monkeypatch.setenv("AGORA_BASE_URL", served.url)
    monkeypatch.delenv("AGORA_REGION", raising=False)
    monkeypatch.delenv("AGORA_APP_CERTIFICATE", raising=False)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_worker_main_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, served: ServedEmulator
) -> None:
    """The worker guide's ``worker_main`` builds its client from the environment and runs the
    jobs it is given (real HTTP to a local emulator, real time: about a second)."""
    ns = example(WORKER, ("docs/guides/worker.md", "Stopping on SIGTERM"))
    emulator_environment(monkeypatch, served)
    served.emulator.channel("main-room").publish(7)
    store = ns["HandleStore"]()
    send, receive = anyio.create_memory_object_stream[tuple[str, str]](10)
    async with send:
        await send.send(("start", "main-room"))
        await send.send(("stop", "main-room"))
    with receive:
        await ns["worker_main"](store, receive)
    assert store.rows == {}
    assert all(r.cname != "main-room" for r in served.emulator.running_recordings())


@pytest.mark.skipif(REDIS_SERVER is None, reason=REQUIRES_REDIS)
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio: asyncio only
async def test_the_fleet_example_records_under_a_lease(
    monkeypatch: pytest.MonkeyPatch, served: ServedEmulator, redis_url: str
) -> None:
    """The fleet guide's worker records under a lease with the shared quota, runs the janitor
    beside it, and leaves no lease and no recording behind (real redis-server, real time)."""
    pytest.importorskip("redis.asyncio", reason="the redis package is not installed")
    import redis.asyncio

    ns = example(("docs/guides/fleet.md", "A fleet of workers (Redis)"))
    emulator_environment(monkeypatch, served)
    served.emulator.channel("class-42").publish(7)
    await ns["worker_main"](redis_url, seconds=1.0)
    assert all(r.cname != "class-42" for r in served.emulator.running_recordings())
    check = redis.asyncio.Redis.from_url(redis_url)
    try:
        store = ns["lease_store"](check)
        assert await store.leases() == []
    finally:
        await check.aclose()


def test_the_operating_logging_example() -> None:
    """The logging example sets the library's level and adds no handler of the library's own."""
    library = logging.getLogger("agora_recording")
    level, handlers = library.level, list(library.handlers)
    try:
        example(("docs/operating.md", "Logging"))
        assert library.level == logging.INFO
        assert library.handlers == handlers
    finally:
        library.setLevel(level)


async def test_the_metrics_example_reports_every_minute() -> None:
    """The metrics example counts running recordings as unconfirmed and polling, then none once
    they stopped; it publishes once a minute."""
    ns = example(("docs/operating.md", "Metrics"))
    async with virtual_service(max_concurrent_recordings=None) as service:
        published: list[dict[str, float]] = []
        for room in ("m1", "m2"):
            service.channel(room).publish(7)
        async with anyio.create_task_group() as group:
            group.start_soon(ns["publish_metrics"], service.client, published.append)
            async with (
                service.client.session(cname="m1", uid="1", mode="mix", config=ns["CONFIG"]),
                service.client.session(cname="m2", uid="1", mode="mix", config=ns["CONFIG"]),
            ):
                await anyio.sleep(150)
            group.cancel_scope.cancel()
        during = ns["recording_metrics"](service.client)
        assert during["recordings_unconfirmed"] == 0
        assert during["sessions_polling"] == 0
        assert len(published) == 3  # at 0, 60 and 120 s
        assert published[-1]["recordings_unconfirmed"] == 2
        assert published[-1]["sessions_polling"] == 2
        assert published[-1]["stops_failed"] == 0
        assert published[-1]["polls_per_second"] == 5.0


def test_the_cli_config_validates(tmp_path: Path) -> None:
    """The CLI page's start.toml is a valid start config: a dry run accepts it, storage keys
    from the environment, and prints them hidden."""
    pytest.importorskip("click", reason="the CLI is the cli extra")
    from agora_recording._cli import cli
    from click.testing import CliRunner

    (block,) = [b for b in fenced_blocks() if b.path == "docs/cli.md" and b.language == "toml"]
    config = tmp_path / "start.toml"
    config.write_text(block.code, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "start",
            "--cname",
            "room",
            "--uid",
            "42",
            "--config",
            str(config),
            "--dry-run",
            "--json",
        ],
        env={
            "AGORA_APP_ID": DEFAULT_APP_ID,
            "AGORA_CUSTOMER_ID": DEFAULT_CUSTOMER_ID,
            "AGORA_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET,
            "AGORA_BASE_URL": "http://emulator.invalid",
            "AGORA_STORAGE_ACCESS_KEY": "ACCESS-KEY-SENTINEL",
            "AGORA_STORAGE_SECRET_KEY": "SECRET-KEY-SENTINEL",
            "AGORA_RTC_TOKEN": None,
            "AGORA_APP_CERTIFICATE": None,
        },
    )
    assert result.exit_code == 0, (result.output, result.exception)
    request = json.loads(result.stdout)["body"]["clientRequest"]
    assert request["storageConfig"]["bucket"] == "my-recordings"
    assert request["storageConfig"]["accessKey"] == "***"
    assert request["recordingFileConfig"]["avFileType"] == ["hls", "mp4"]
    assert "SENTINEL" not in result.output
