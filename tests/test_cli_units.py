"""The CLI's pure parts: error translation, config and handle parsing, terminal output."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from agora_recording import converter
from agora_recording._cli._common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CliError,
    Output,
    describe_error,
)
from agora_recording._cli._config import (
    StorageOptions,
    apply_storage,
    load_config,
    parse_handle,
    parse_vendor,
    structure,
)
from agora_recording._cli._view import LiveView, print_files, status_name
from agora_recording.cli import main
from agora_recording.enums import Mode
from agora_recording.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RecordingFailedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from agora_recording.models import RecordedFile, RecordingHandle, StartConfig

HANDLE = RecordingHandle(resource_id="rid", sid="sid1", mode=Mode.MIX, cname="room", uid="42")


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Pretend to be a TTY."""
        return True


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (ValidationError("clientRequest.x", "must be 1"), EXIT_USAGE, "invalid clientRequest.x"),
        (
            AuthenticationError(endpoint="acquire", status_code=401, request_id="r1"),
            EXIT_FAILURE,
            "authentication failed",
        ),
        (
            NotFoundError(endpoint="query", status_code=404, code=404, reason="failed to find"),
            EXIT_FAILURE,
            "no such running recording",
        ),
        (
            NotFoundError(endpoint="query", status_code=404, message="no Route matched"),
            EXIT_FAILURE,
            "no such endpoint",
        ),
        (RateLimitError(endpoint="query", status_code=429), EXIT_FAILURE, "rate limited"),
        (ServerError(endpoint="start", status_code=500, code=62), EXIT_FAILURE, "service failed"),
        (TransportError("connect failed"), EXIT_FAILURE, "could not reach"),
        (
            UnexpectedResponseError("not JSON", request_id="r9"),
            EXIT_FAILURE,
            "request ID r9",
        ),
        (RecordingFailedError("status 20"), EXIT_FAILURE, "recording failed"),
    ],
)
def test_library_errors_become_one_line_with_an_exit_code(
    error: Exception, code: int, words: str
) -> None:
    """Each kind of library failure maps to its exit code and a message naming the cause."""
    described = describe_error(error)
    assert described is not None
    assert described.exit_code == code
    assert words in described.format_message()
    assert "\n" not in described.format_message()


def test_bugs_are_not_translated() -> None:
    """An unexpected exception is left alone so its traceback shows."""
    assert describe_error(KeyError("x")) is None


def test_cli_error_prints_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """CliError.show writes 'error: ...' on stderr only."""
    CliError("boom", EXIT_USAGE).show()
    captured = capsys.readouterr()
    assert captured.err == "error: boom\n"
    assert captured.out == ""


def test_handle_is_read_from_start_output_and_overridden() -> None:
    """--handle takes start's JSON document; separate options override its fields."""
    document = json.dumps({"handle": converter.unstructure(HANDLE), "response": {}})
    handle = parse_handle(document, resource_id=None, sid="sid2", mode=None, cname=None, uid=None)
    assert handle == RecordingHandle(
        resource_id="rid", sid="sid2", mode=Mode.MIX, cname="room", uid="42"
    )


def test_handle_from_stdin_and_from_separate_options() -> None:
    """'-' reads the handle from stdin; without --handle every identifier is needed."""
    text = json.dumps(converter.unstructure(HANDLE))
    assert (
        parse_handle(
            "-", resource_id=None, sid=None, mode=None, cname=None, uid=None, stdin_text=text
        )
        == HANDLE
    )
    built = parse_handle(None, resource_id="rid", sid="sid1", mode="mix", cname="room", uid="42")
    assert built == HANDLE
    with pytest.raises(CliError, match="--cname, --uid"):
        parse_handle(None, resource_id="rid", sid="sid1", mode="mix", cname=None, uid=None)


def test_query_handle_needs_no_cname() -> None:
    """query's URL has no cname/uid, so the handle may lack them there."""
    handle = parse_handle(
        None, resource_id="rid", sid="s", mode="web", cname=None, uid=None, need_ids=False
    )
    assert (handle.mode, handle.cname, handle.uid) == (Mode.WEB, "", "")


def test_handle_with_an_unknown_mode_is_refused() -> None:
    """A handle whose mode is not raw, individual, mix or web is a usage error."""
    with pytest.raises(CliError, match="mode must be"):
        parse_handle(None, resource_id="r", sid="s", mode="composite", cname="c", uid="1")


def test_vendors_by_number_or_name() -> None:
    """Storage vendors are accepted as numbers or enum names, any case or dashes."""
    assert parse_vendor("1") == 1
    assert parse_vendor("amazon-s3") == 1
    assert parse_vendor("S3_COMPATIBLE") == 11
    with pytest.raises(CliError, match="unknown storage vendor"):
        parse_vendor("floppy")


def test_storage_options_override_only_what_was_given() -> None:
    """apply_storage sets the given fields and splits every --file-prefix on '/'."""
    request = {"storageConfig": {"vendor": 2, "region": 3, "bucket": "a-bucket"}}
    storage = StorageOptions(bucket="b-bucket", access_key="k", file_prefix=("x/y", "z"))
    apply_storage(request, storage, create=False)
    assert request == {
        "storageConfig": {
            "vendor": 2,
            "region": 3,
            "bucket": "b-bucket",
            "accessKey": "k",
            "fileNamePrefix": ["x", "y", "z"],
        }
    }
    empty: dict[str, object] = {}
    apply_storage(empty, storage, create=False)
    assert empty == {}


def test_toml_and_json_configs_load_alike(tmp_path: Path) -> None:
    """A .toml file and a JSON file with the same keys give the same clientRequest."""
    toml_file = tmp_path / "c.toml"
    toml_file.write_text("[storageConfig]\nvendor = 1\nregion = 0\nbucket = 'b-bucket'\n")
    json_file = tmp_path / "c.json"
    json_file.write_text('{"storageConfig": {"vendor": 1, "region": 0, "bucket": "b-bucket"}}')
    assert load_config(str(toml_file)).request == load_config(str(json_file)).request
    bad = tmp_path / "bad.toml"
    bad.write_text("= nope")
    with pytest.raises(CliError, match="not valid TOML"):
        load_config(str(bad))
    with pytest.raises(CliError, match="must hold a JSON/TOML object"):
        load_config("-", stdin_text="[1, 2]")


def test_structure_errors_name_the_source_and_the_model() -> None:
    """A wrongly typed field is a usage error naming where it came from."""
    with pytest.raises(CliError, match=r"cfg\.json is not a valid StartConfig") as caught:
        structure(
            {"storageConfig": {"vendor": 1, "region": [], "bucket": "b-bucket"}},
            StartConfig,
            "cfg.json",
        )
    assert caught.value.exit_code == EXIT_USAGE


def test_status_names() -> None:
    """Known statuses get their name; unknown ones stay numbers."""
    assert status_name(5) == "5 (IN_PROGRESS)"
    assert status_name(42) == "42"
    assert status_name(None) == "unknown"


def test_terminal_output_uses_rich_and_pipes_stay_plain() -> None:
    """On a terminal files print as a table; in a pipe as plain 'file:' lines."""
    files = [RecordedFile(file_name="a.m3u8", track_type="audio", uid="7", mixed_all_user=False)]
    terminal = FakeTerminal()
    print_files(Output(stream=terminal), files)
    assert "a.m3u8" in terminal.getvalue()
    assert "file:" not in terminal.getvalue()
    pipe = io.StringIO()
    output = Output(stream=pipe)
    assert not output.rich
    assert not Output(as_json=True, stream=FakeTerminal()).rich


def test_live_view_on_a_terminal_shows_status_and_files() -> None:
    """The rich live view ends showing the status, the files and the events."""
    terminal = FakeTerminal()
    view = LiveView(Output(stream=terminal), title="Recording 'room'", duration=3)
    with view:
        view.started("sid1")
        view.observe(5, [RecordedFile(file_name="x_room.m3u8", mixed_all_user=True)])
        view.note("layout updated")
    text = terminal.getvalue()
    for expected in ("Recording 'room'", "5 (IN_PROGRESS)", "x_room.m3u8", "layout updated"):
        assert expected in text
    assert view.events[0]["event"] == "recording started, sid sid1"


def test_live_view_in_json_mode_prints_nothing_but_keeps_the_timeline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With --json the view is silent and records each change once."""
    view = LiveView(Output(as_json=True), title="t")
    with view:
        view.observe(4, [])
        view.observe(4, [])
        view.observe(5, [])
    assert capsys.readouterr().out == ""
    assert [e.get("status") for e in view.events] == [4, 5]


def test_main_explains_a_missing_cli_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without click installed, the console script says which extra to install."""
    for name in [n for n in sys.modules if n.startswith("agora_recording._cli")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "click", None)
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 1
    assert "pip install 'agora-recording[cli]'" in capsys.readouterr().err
