"""The docs' numbers and names read from the code they describe: defaults tables, CLI flags,
environment variables and the exception tree, so a default or a name that changes in the code
fails here until the page says the same."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import click
import httpx
import pytest
import stamina
from agora_recording import (
    CredentialOptions,
    EndReason,
    Mode,
    PollingOptions,
    Recorder,
    RecordingClient,
    RecordingConfig,
    RecordingResult,
    Region,
    RuntimeOptions,
    ServerError,
    StartConfig,
    StopOutcome,
    StorageConfig,
    TimingOptions,
    errors,
)
from agora_recording._cli import cli
from agora_recording.testing import virtual_service

from tests.helpers import publish_and_start
from tests.test_docs_examples import DOCUMENTS, ROOT, fenced_blocks
from tests.virtual import virtual_backend

CONFIGURATION = ROOT / "docs/concepts/configuration.md"
SESSIONS = ROOT / "docs/concepts/sessions.md"
ERRORS = ROOT / "docs/concepts/errors.md"

_CONFIG = StartConfig(
    storage_config=StorageConfig(
        vendor=1, region=0, bucket="my-recordings", access_key="key", secret_key="secret"
    ),
    recording_config=RecordingConfig(channel_type=0, max_idle_time=300),
)


def table_rows(path: Path) -> dict[str, list[str]]:
    """The rows of a page's Markdown tables: first cell (its code names) -> the other cells."""
    rows: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name in re.findall(r"`(\w+)`", cells[0]):
            rows[name] = cells[1:]
    return rows


def seconds_or_number(text: str) -> list[float]:
    """The numbers of a defaults cell, in order (``10 s, 60 s`` -> [10, 60])."""
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


@pytest.mark.anyio
async def test_the_client_defaults_table_is_the_constructor_s() -> None:
    """Each number in configuration.md's table is the default `RecordingClient` and
    ``from_env`` really take."""
    rows = table_rows(CONFIGURATION)
    parameters = set(inspect.signature(RecordingClient.__init__).parameters)
    assert {name for name in rows if not name.startswith("AGORA_")} <= parameters
    for function in (RecordingClient.__init__, RecordingClient.from_env):
        defaults = {
            name: p.default
            for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        assert seconds_or_number(rows["timeout"][0]) == [
            defaults["timeout"],
            defaults["call_timeout"],
        ]
        for name in ("stop_timeout", "rate_limit", "poll_share", "attempts"):
            assert seconds_or_number(rows[name][0]) == [defaults[name]], name
        for name in ("region", "app_certificate", "notifications", "base_url"):
            assert defaults[name] is None, name
        assert rows["region"][0] == rows["app_certificate"][0] == "none"
    async with RecordingClient(app_id="a", customer_id="c", customer_secret="s") as client:
        assert seconds_or_number(rows["max_in_flight"][0]) == [client.max_in_flight]
        assert list(client.hosts[:2]) == re.findall(r"`(https://[^`]+)`", rows["base_url"][0])
    shown = re.findall(r"`([A-Z]{2})`", rows["region"][1])
    assert shown[:4] == [region.value for region in Region]


def group_cell(rows: dict[str, list[str]], group: type[Any]) -> dict[str, str]:
    """A sessions.md table cell: field name -> what the parentheses after it say."""
    cell = rows[group.__name__][0]
    return dict(re.findall(r"`(\w+)`(?: \(([^()]*(?:\([^()]*\)[^()]*)*)\))?", cell))


@pytest.mark.parametrize(
    "group", [TimingOptions, PollingOptions, CredentialOptions, RuntimeOptions]
)
def test_the_session_option_groups_table_is_the_groups(group: type[Any]) -> None:
    """sessions.md names every field of each option group, and each number it gives as a
    default is the field's default (``None`` fields say what they resolve to)."""
    shown = group_cell(table_rows(SESSIONS), group)
    fields = {field.name: field.default for field in attrs.fields(group)}
    assert set(shown) == set(fields)
    for name, said in shown.items():
        if not said or said.startswith("[") or fields[name] is None:
            continue
        assert seconds_or_number(said)[:1] == [fields[name]], name
    if group is PollingOptions:
        assert shown["first_poll_delay"].startswith("5 s; 0 when adopted")
        assert shown["poll_jitter"].startswith("`min(1 s, poll_interval / 10)`")


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the CLI: ("demo",), ("fleet", "ls"), ..."""
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def options_of(path: tuple[str, ...]) -> set[str]:
    """The flags one command accepts, with those of the groups above it."""
    flags: set[str] = set()
    for depth in range(len(path) + 1):
        for param in command_at(path[:depth]).params:
            flags.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("-"))
    return flags


def cli_lines() -> Iterator[tuple[str, str]]:
    """Each command line the docs show (``agora-recording ...``, in console blocks or inline
    code), with where it is."""
    for block in fenced_blocks():
        if block.language == "console":
            for line in block.code.splitlines():
                if line.startswith("agora-recording"):
                    yield f"{block.path}:{block.line}", line.split("#")[0]
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for span in re.findall(r"`(agora-recording [^`]+)`", text):
            yield document.name, span


def test_every_command_line_in_the_docs_is_one_the_cli_takes() -> None:
    """Each ``agora-recording`` command the docs show names an existing verb and only flags
    that verb has (``--help`` lists them)."""
    known = set(commands())
    seen = 0
    for where, line in cli_lines():
        words = [w for w in line.split()[1:] if w != "..."]
        path: tuple[str, ...] = ()
        for word in words:
            if word.startswith("-") or word.isupper():
                continue
            if (*path, word) in known:
                path = (*path, word)
            elif word == "COMMAND":
                break
        flags = {w.split("=")[0] for w in words if w.startswith("-")}
        if "COMMAND" in words:
            flags -= {"--help"}
        assert flags <= options_of(path) | {"--help"}, (where, line)
        seen += 1
    assert seen > 20


def test_every_flag_the_cli_page_names_exists() -> None:
    """Each ``--flag`` in the CLI page's prose belongs to some command."""
    every = set().union(*(options_of(path) for path in [(), *commands()]))
    text = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(--[a-z0-9-]+)", text)) - {"--storage-"}
    assert named
    assert named <= every, named - every


def test_every_extra_the_docs_install_exists() -> None:
    """Each ``pip install`` extra the docs name (``".[cli]"``, ``agora-recording[otel]``) is
    an extra of pyproject.toml."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[project.optional-dependencies]")[1].split("\n[")[0]
    extras = set(re.findall(r"^([a-z-]+) = \[", section, re.M))
    named: set[str] = set()
    for document in [*DOCUMENTS, ROOT / "CONTRIBUTING.md"]:
        text = document.read_text(encoding="utf-8")
        for group in re.findall(r"(?:agora-recording|\.)\[([a-z,-]+)\]", text):
            named.update(group.split(","))
    assert {"cli", "test", "docs", "lint", "benchmarks", "redis", "otel"} <= named
    assert named <= extras, named - extras


def test_every_environment_variable_the_docs_name_is_read() -> None:
    """Each ``AGORA_*`` variable the docs name is read by the library or its CLI, or by the
    docs' own example that names it."""
    code = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "agora_recording").rglob("*.py")
    )
    examples = "\n".join(b.code for b in fenced_blocks() if b.language == "python")
    named: set[str] = set()
    for document in [*DOCUMENTS, ROOT / "CONTRIBUTING.md"]:
        named.update(re.findall(r"\bAGORA_[A-Z0-9_]+", document.read_text(encoding="utf-8")))
    read = set(re.findall(r"\"(AGORA_[A-Z0-9_]+)\"", code)) | set(
        re.findall(r"environ\[\"(AGORA_[A-Z0-9_]+)\"\]", examples)
    )
    assert named, "no variable found"
    assert named <= read, named - read


def tree() -> list[tuple[int, str]]:
    """errors.md's exception tree: (depth, name as the page prints it) per class."""
    text = ERRORS.read_text(encoding="utf-8")
    drawing = re.search(r"```text\n(.*?)```", text, re.S)
    assert drawing is not None
    nodes = []
    for line in drawing.group(1).splitlines():
        found = re.match(r"([│├└─ ]*)([\w.]+Error)\b", line)
        if found:
            nodes.append((len(found.group(1)) // 4, found.group(2)))
    return nodes


def test_the_errors_page_draws_every_exception_where_it_is_imported() -> None:
    """errors.md's tree holds every exception class of `agora_recording.errors` once, under its
    real base class, and each is importable from where the page says."""
    import agora_recording

    nodes = tree()
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }
    assert sorted(name.split(".")[-1] for _, name in nodes) == sorted(defined)
    parents: list[str] = []
    for depth, shown in nodes:
        module, _, name = shown.rpartition(".")
        cls = getattr(errors, name)
        home = agora_recording if not module else __import__(f"agora_recording.{module}")
        if module:
            home = getattr(home, module)
        assert getattr(home, name) is cls, shown
        del parents[depth:]
        if parents:
            assert cls.__bases__[0] is getattr(errors, parents[-1]), shown
        parents.append(name)


def failing_once() -> httpx.MockTransport:
    """A service whose acquire answers 503 once, then 200."""
    answers = iter([503])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers, 200)
        if status == 503:
            return httpx.Response(503, json={"code": 2})
        return httpx.Response(200, json={"resourceId": "r" * 32})

    return httpx.MockTransport(handler)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """One backend on a virtual clock: nothing here depends on how cancellation lands."""
    return virtual_backend("trio-mockclock")


@pytest.mark.anyio
async def test_stamina_testing_mode_does_what_the_configuration_page_says() -> None:
    """As configuration.md says: ``stamina.set_testing(True)`` leaves one attempt per call, and
    ``attempts=N`` keeps N attempts with no wait between them."""
    for attempts, succeeds in ((1, False), (3, True)):
        async with (
            httpx.AsyncClient(transport=failing_once()) as http,
            RecordingClient(
                app_id="a",
                customer_id="c",
                customer_secret="s",
                base_url="http://service.test",
                http_client=http,
                rate_limit=None,
            ) as client,
        ):
            with stamina.set_testing(True, attempts=attempts):
                if succeeds:
                    await client.acquire(cname="room", uid="1")
                else:
                    with pytest.raises(ServerError):
                        await client.acquire(cname="room", uid="1")
    text = CONFIGURATION.read_text(encoding="utf-8")
    assert "`stamina.set_testing(True)`" in text
    assert "`stamina.set_testing(True, attempts=" in text


def test_the_operating_page_lists_every_logger_of_the_library() -> None:
    """operating.md's logging table names exactly the loggers the library writes to."""
    code = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "agora_recording").rglob("*.py")
    )
    used = set(re.findall(r"getLogger\(\"(agora_recording[\w.]*)\"\)", code))
    rows = (ROOT / "docs/operating.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"^\| `(agora_recording[\w.]*)` \|", rows, re.M))
    assert used == shown


class _Meter:
    """Records the instruments a `Telemetry` creates: name -> (kind, unit)."""

    def __init__(self) -> None:
        self.made: dict[str, tuple[str, str]] = {}

    def _make(self, kind: str, name: str, unit: str = "", **_: object) -> object:
        self.made[name] = (kind, unit)
        return object()

    def create_histogram(self, name: str, unit: str = "", **kw: object) -> object:
        return self._make("histogram", name, unit, **kw)

    def create_counter(self, name: str, unit: str = "", **kw: object) -> object:
        return self._make("counter", name, unit, **kw)

    def create_up_down_counter(self, name: str, unit: str = "", **kw: object) -> object:
        return self._make("up-down counter", name, unit, **kw)


def test_the_telemetry_page_lists_every_instrument_with_its_unit() -> None:
    """telemetry.md's metrics table holds each instrument the library creates, of its kind
    and with its unit."""
    from agora_recording.telemetry import Telemetry
    from opentelemetry.trace import NoOpTracerProvider

    meter = _Meter()

    class Provider:
        def get_meter(self, *_: object) -> _Meter:
            return meter

    telemetry = Telemetry(tracer_provider=NoOpTracerProvider(), meter_provider=Provider())  # type: ignore[arg-type]
    telemetry.quiet()  # builds the instruments
    text = (ROOT / "docs/concepts/telemetry.md").read_text(encoding="utf-8")
    shown = {
        name: (kind, unit)
        for name, kind, unit in re.findall(
            r"^\| `([\w.]+)` \(([a-z -]+)\)[^|]*\| `?([^`|]+?)`? \|", text, re.M
        )
    }
    assert meter.made
    assert shown == meter.made


@pytest.mark.anyio
async def test_an_adopted_recording_that_ended_unseen_ends_when_the_docs_say() -> None:
    """As adoption.md and the worker guide say: adopting a recording that already ended gives
    its result after the failover grace plus the stop's whole ``stop_timeout`` (about four and
    a half minutes), as ``WORKER_LOST`` with the stop ``ALREADY_GONE``."""
    async with virtual_service() as service:
        client = service.client
        started = await publish_and_start(service, mode=Mode.MIX, uid="9", config=_CONFIG)
        await anyio.sleep(10)
        await client.stop(started.handle)  # ended behind the adopter's back
        await anyio.sleep(60)  # and gone: query answers 404 now
        began = anyio.current_time()
        ended = anyio.Event()

        async def on_ended(key: str, result: RecordingResult[str]) -> None:
            ended.set()

        async with Recorder(client, on_ended=on_ended) as recorder:
            await recorder.adopt("room", started.handle)
            await ended.wait()
            took = anyio.current_time() - began
            result = recorder.result("room")
    assert result is not None
    assert result.outcome is not None
    assert result.outcome.end_reason is EndReason.WORKER_LOST
    assert result.stop_outcome is StopOutcome.ALREADY_GONE
    expected = TimingOptions().failover_grace + client.stop_timeout
    assert expected <= took <= expected + 20
    assert expected == 270
    for page in ("docs/concepts/adoption.md", "docs/guides/worker.md"):
        assert "four and a half" in (ROOT / page).read_text(encoding="utf-8"), page


def stated(page: str, pattern: str) -> float:
    """The number ``pattern``'s group captures on ``page`` (a docs page), which must say it."""
    text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
    found = re.search(pattern, text)
    assert found is not None, (page, pattern)
    return float(found.group(1).replace(",", ""))


@pytest.mark.anyio
async def test_the_numbers_the_concept_pages_state_are_the_code_s() -> None:
    """Each default a concept page states in its prose (the stop's backoff cap and budget, the
    failover window, the start attempt, recovery and event-13 settings, the safety-net poll,
    the STS refresh) is the value the code uses."""
    from agora_recording._credentials import EXPIRY_LEAD, REFRESH_INTERVAL
    from agora_recording._health import HEALTH_POLL_INTERVAL, SAFETY_NET_INTERVAL
    from agora_recording._options import SessionOptions
    from agora_recording._protocol import MAX_BODY_BYTES, MAX_DEPTH
    from agora_recording._stopping import FAILOVER_WINDOW, STOP_BACKOFF_MAX

    async with RecordingClient(app_id="a", customer_id="c", customer_secret="s") as client:
        stops, notes = "docs/concepts/stops.md", "docs/concepts/notifications.md"
        tokens, session = "docs/concepts/tokens.md", "agora_recording/_session.py"
        adoption, errors_page = "docs/concepts/adoption.md", "docs/concepts/errors.md"
        timing = TimingOptions()
        checks = [
            (stops, r"at most (\d+) s apart", STOP_BACKOFF_MAX),
            (stops, r"\((\d+) s of service time by default\)", client.stop_timeout),
            (stops, r"documented: up to (\d+) s", FAILOVER_WINDOW),
            (notes, r"Each attempt may take (\d+) s", client.start_attempt_timeout),
            (notes, r"`client.start_recoveries` times \((\d+);", client.start_recoveries),
            (notes, r"`client.ha_register_timeout` \((\d+) s;", client.ha_register_timeout),
            (notes, r"a safety net of one every (\d+) minutes", SAFETY_NET_INTERVAL / 60),
            (tokens, r"new ones every (\d+) minutes through `update`", REFRESH_INTERVAL / 60),
            (tokens, r"ends (\d+) minutes before the credentials expire", EXPIRY_LEAD / 60),
            (session, r"``HEALTH_POLL_INTERVAL`` \((\d+) s\)", HEALTH_POLL_INTERVAL),
            (notes, r"`TimingOptions.orphan_wait` \((\d+) s\)", timing.orphan_wait),
            (notes, r"`TimingOptions.events_silence` seconds \((\d+) s", timing.events_silence),
            (
                notes,
                r"`PollingOptions.first_poll_delay`, (\d+) s",
                SessionOptions().first_poll_delay,
            ),
            (adoption, r"failover grace \((\d+) s\)", timing.failover_grace),
            (adoption, r"whole `stop_timeout` \((\d+) s", client.stop_timeout),
            (errors_page, r"over (\d+) MiB", MAX_BODY_BYTES >> 20),
            (errors_page, r"nested deeper than (\d+) levels", MAX_DEPTH),
        ]
        for page, pattern, value in checks:
            assert stated(page, pattern) == value, (page, pattern)


@pytest.mark.anyio
async def test_stamina_testing_mode_leaves_a_confirmed_stop_s_waits() -> None:
    """As configuration.md says: under ``stamina.set_testing(True, attempts=3)`` a confirmed
    stop still waits between its attempts (on the loop's clock, virtual here)."""
    async with virtual_service() as service:
        client = service.client
        started = await publish_and_start(service, mode=Mode.MIX, uid="9", config=_CONFIG)
        service.emulator.faults.fail_next("stop", 503)
        with stamina.set_testing(True, attempts=3):
            began = anyio.current_time()
            confirmed = await client.ensure_stopped(started.handle)
            waited = anyio.current_time() - began
    assert confirmed.outcome is StopOutcome.STOPPED
    assert waited >= 1  # the first backoff: about 1-2 s
    assert "Neither makes a confirmed stop instant" in CONFIGURATION.read_text(encoding="utf-8")
