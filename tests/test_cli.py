"""The real-service verbs of the CLI, against the standalone emulator over real HTTP.

One emulator server (``agora_recording.testing.serve`` on 127.0.0.1, a free port, the real clock,
status 5 at once) runs for the module; each test records its own channel. Verbs run in-process
through click's ``CliRunner`` with ``--base-url``-style environment (``AGORA_BASE_URL``) and the
emulator's credentials; Ctrl-C is tested on a real subprocess.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from agora_recording._cli import cli
from agora_recording.emulator import DEFAULT_CUSTOMER_ID, DEFAULT_CUSTOMER_SECRET, SystemClock
from agora_recording.testing import ServedEmulator, serve
from click.testing import CliRunner, Result

from tests.helpers import cli_process, interrupt

APP_ID = "cli-test-app"
ACCESS_KEY = "ACCESS-KEY-SENTINEL-7f3a"
SECRET_KEY = "SECRET-KEY-SENTINEL-91bc"
STORAGE = ["--storage-vendor", "amazon_s3", "--storage-region", "0", "--storage-bucket", "bkt"]


@pytest.fixture(scope="module")
def served_options(served_options: dict[str, Any]) -> dict[str, Any]:
    """The module's shared emulator (`served`), whose exited recordings stay listed for ten
    minutes, so a test's query after the stop still finds them."""
    return {**served_options, "exit_window": 600.0}


def environment(served: ServedEmulator, **overrides: str | None) -> dict[str, str | None]:
    """The environment a user of the emulator would export."""
    env: dict[str, str | None] = {
        "AGORA_APP_ID": APP_ID,
        "AGORA_CUSTOMER_ID": DEFAULT_CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": DEFAULT_CUSTOMER_SECRET,
        "AGORA_BASE_URL": served.url,
        "AGORA_REGION": None,
        "AGORA_STORAGE_ACCESS_KEY": ACCESS_KEY,
        "AGORA_STORAGE_SECRET_KEY": SECRET_KEY,
        "AGORA_RTC_TOKEN": None,
    }
    env.update(overrides)
    return env


def invoke(
    served: ServedEmulator, args: list[str], *, input: str | None = None, **env: str | None
) -> Result:
    """Run the CLI in-process with the emulator's environment."""
    return CliRunner().invoke(cli, args, input=input, env=environment(served, **env))


def ok(result: Result) -> Result:
    """Assert a zero exit, showing the output otherwise."""
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def one_error_line(result: Result, code: int) -> str:
    """Assert the exit code and that stderr is exactly one ``error:`` line; return it."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def start_recording(served: ServedEmulator, cname: str, *extra: str) -> dict[str, Any]:
    """Publish a user in ``cname``, start a mix recording and return the ``start --json`` doc."""
    served.emulator.channel(cname).publish(7)
    result = ok(invoke(served, ["start", "--cname", cname, "--uid", "42", *STORAGE, *extra]))
    assert result.stdout  # human output on stdout, JSON asked for below when needed
    handle_line = next(line for line in result.stdout.splitlines() if line.startswith("handle:"))
    handle: dict[str, Any] = json.loads(handle_line.removeprefix("handle:"))
    return handle


def exit_kind(served: ServedEmulator, sid: str) -> str | None:
    """How the emulator says the recording ``sid`` ended (None while it runs)."""
    info = served.emulator.recording(sid)
    assert info is not None
    return info.exit_kind


def test_round_trip_passes_handles_between_verbs(served: ServedEmulator, tmp_path: Path) -> None:
    """acquire, start, query, update, update-layout and stop work together through handles."""
    cname = "round-trip"
    served.emulator.channel(cname).publish(7)
    acquired = json.loads(
        ok(invoke(served, ["acquire", "--cname", cname, "--uid", "42", "--json"])).stdout
    )
    resource_id = acquired["resourceId"]
    started = json.loads(
        ok(
            invoke(
                served,
                [
                    "start",
                    "--cname",
                    cname,
                    "--uid",
                    "42",
                    "--resource-id",
                    resource_id,
                    *STORAGE,
                    "--json",
                ],
            )
        ).stdout
    )
    handle = started["handle"]
    assert handle["resourceId"] == resource_id
    assert handle["mode"] == "mix"
    assert started["response"]["sid"] == handle["sid"]
    start_file = tmp_path / "start.json"
    start_file.write_text(json.dumps(started))

    queried = json.loads(
        ok(invoke(served, ["query", "--handle", f"@{start_file}", "--json"])).stdout
    )
    assert queried["status"] == 5
    assert [f["fileName"] for f in queried["files"]] == [f"{handle['sid']}_{cname}.m3u8"]

    updated = ok(
        invoke(served, ["update", "--handle", json.dumps(handle), "--unsubscribe-video", "9"])
    )
    assert updated.stdout.strip() == f"updated: sid {handle['sid']}"
    assert served.emulator.recording(handle["sid"]) is not None

    layout = tmp_path / "layout.toml"
    layout.write_text(
        'mixedVideoLayout = 3\n[[layoutConfig]]\nuid = "7"\nx_axis = 0.0\n'
        "y_axis = 0.0\nwidth = 1.0\nheight = 1.0\n"
    )
    ids = ["--resource-id", resource_id, "--sid", handle["sid"], "--mode", "mix"]
    ok(
        invoke(
            served,
            ["update-layout", *ids, "--cname", cname, "--uid", "42", "--config", str(layout)],
        )
    )

    stopped = json.loads(
        ok(invoke(served, ["stop", "--handle", "-", "--json"], input=json.dumps(handle))).stdout
    )
    assert stopped["stopOutcome"] == "stopped"
    assert stopped["uploadingStatus"] == "uploaded"
    assert stopped["files"][0]["fileName"].endswith(".m3u8")
    assert exit_kind(served, handle["sid"]) == "stop"


def test_query_prints_status_and_files_for_humans(served: ServedEmulator) -> None:
    """Without --json, query prints the status name and one line per file."""
    handle = start_recording(served, "human-query")
    result = ok(invoke(served, ["query", "--handle", json.dumps(handle)]))
    lines = result.stdout.splitlines()
    assert lines[0] == "status: 5 (IN_PROGRESS)"
    assert lines[1] == f"file: {handle['sid']}_human-query.m3u8 (all users)"
    ok(invoke(served, ["stop", "--handle", json.dumps(handle)]))


def test_start_reads_a_toml_config_and_options_override_it(
    served: ServedEmulator, tmp_path: Path
) -> None:
    """A TOML clientRequest is the base; --storage-bucket, --file-prefix and keys override it."""
    config = tmp_path / "start.toml"
    config.write_text(
        "[recordingConfig]\nmaxIdleTime = 120\nstreamTypes = 2\n"
        "[recordingFileConfig]\navFileType = ['hls', 'mp4']\n"
        "[storageConfig]\nvendor = 2\nregion = 1\nbucket = 'from-file'\n"
    )
    served.emulator.channel("toml-config").publish(7)
    started = json.loads(
        ok(
            invoke(
                served,
                [
                    "start",
                    "--cname",
                    "toml-config",
                    "--uid",
                    "42",
                    "--config",
                    str(config),
                    "--storage-bucket",
                    "from-option",
                    "--file-prefix",
                    "a/b",
                    "--json",
                ],
            )
        ).stdout
    )
    info = served.emulator.recording(started["handle"]["sid"])
    assert info is not None
    storage = info.client_request["storageConfig"]
    assert storage["bucket"] == "from-option"
    assert storage["vendor"] == 2
    assert storage["fileNamePrefix"] == ["a", "b"]
    assert info.client_request["recordingConfig"]["maxIdleTime"] == 120
    stopped = json.loads(
        ok(invoke(served, ["stop", "--handle", json.dumps(started), "--json"])).stdout
    )
    assert all(f["fileName"].startswith("a/b/") for f in stopped["files"])
    assert any(f["fileName"].endswith(".mp4") for f in stopped["files"])


def test_json_config_may_be_the_whole_body(served: ServedEmulator, tmp_path: Path) -> None:
    """A JSON file holding {cname, uid, clientRequest} supplies the channel and uid too."""
    body = {
        "cname": "whole-body",
        "uid": 43,
        "clientRequest": {
            "recordingConfig": {"channelType": 0, "subscribeUidGroup": 0},
            "storageConfig": {"vendor": 1, "region": 0, "bucket": "b-bucket"},
        },
    }
    config = tmp_path / "body.json"
    config.write_text(json.dumps(body))
    served.emulator.channel("whole-body").publish(7)
    result = ok(
        invoke(served, ["start", "--config", str(config), "--mode", "individual", "--json"])
    )
    handle = json.loads(result.stdout)["handle"]
    assert (handle["cname"], handle["uid"], handle["mode"]) == ("whole-body", "43", "individual")
    ok(invoke(served, ["stop", "--handle", json.dumps(handle)]))


def record(served: ServedEmulator, cname: str, *extra: str) -> Result:
    """``record`` of ``cname`` (a user publishing there) in-process, polling every 0.1 s."""
    served.emulator.channel(cname).publish(7)
    args = ["record", "--cname", cname, "--uid", "42", *STORAGE, "--poll-interval", "0.1"]
    return invoke(served, [*args, *extra])


def test_record_with_duration_stops_and_prints_files(served: ServedEmulator) -> None:
    """record --duration records, stops cleanly, and reports the files and the timeline."""
    result = ok(record(served, "record-duration", "--duration", "0.5", "--json"))
    document = json.loads(result.stdout)
    assert document["stopOutcome"] == "stopped"
    assert document["outcome"] == "stopped"
    assert document["interrupted"] is False
    assert document["files"][0]["fileName"] == f"{document['handle']['sid']}_record-duration.m3u8"
    assert any(event.get("status") == 5 for event in document["timeline"])
    assert result.stderr.startswith("handle: {")
    assert exit_kind(served, document["handle"]["sid"]) == "stop"


def test_record_prints_line_per_change_when_not_a_terminal(served: ServedEmulator) -> None:
    """In a pipe, record prints one timestamped line per change, then the stop result."""
    result = ok(record(served, "record-lines", "--duration", "0.4"))
    lines = result.stdout.splitlines()
    assert "recording started, sid" in lines[0]
    assert any(line.endswith("status 5 (IN_PROGRESS)") for line in lines)
    assert "stopped: uploadingStatus uploaded" in lines
    assert "\x1b[" not in result.stdout


@pytest.mark.slow
def test_ctrl_c_during_record_stops_the_recording(served: ServedEmulator) -> None:
    """SIGINT during record stops the recording on the service, then exits 130, not 0."""
    with recording_process(served, "record-sigint") as (process, sid):
        assert exit_kind(served, sid) is None  # recording
        out, err = interrupt(process, 30)
    assert process.returncode == 130, err
    assert "SIGINT received: stopping 1 recording before exiting" in err
    assert "Traceback" not in err
    document = json.loads(out)
    assert document["interrupted"] is True
    assert document["stopOutcome"] == "stopped"
    assert exit_kind(served, sid) == "stop"


@contextmanager
def recording_process(
    served: ServedEmulator, cname: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``record`` of ``cname`` in a real subprocess, once it has printed its handle; the sid."""
    served.emulator.channel(cname).publish(7)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGORA_")}
    env.update({k: v for k, v in environment(served).items() if v is not None})
    args = ["record", "--cname", cname, "--uid", "42", *STORAGE, "--json"]
    with cli_process(*args, env=env) as process:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("handle: "), first
        yield process, json.loads(first.removeprefix("handle: "))["sid"]


@pytest.mark.slow
def test_a_second_ctrl_c_during_the_stop_does_not_abort_it(served: ServedEmulator) -> None:
    """Ctrl-C again while the stop is in flight reports it and still stops cleanly (exit 130)."""
    served.emulator.faults.add_latency(1.0, "stop", times=1)
    with recording_process(served, "record-double-sigint") as (process, sid):
        assert process.stderr is not None
        process.send_signal(signal.SIGINT)
        assert process.stderr.readline().startswith("SIGINT received: stopping 1 recording")
        out, err = interrupt(process, 30)
    assert process.returncode == 130, err
    assert err.startswith("SIGINT received: still stopping, 1 recording unconfirmed")
    assert "Traceback" not in err
    assert json.loads(out)["stopOutcome"] == "stopped"
    assert exit_kind(served, sid) == "stop"


@pytest.mark.slow
def test_a_stop_left_unconfirmed_after_ctrl_c_prints_its_command(served: ServedEmulator) -> None:
    """When the service refuses the stop after Ctrl-C, the command that stops it is printed."""
    served.emulator.faults.fail_next("stop", 403, {"message": "forbidden"})
    with recording_process(served, "record-refused-stop") as (process, sid):
        _, err = interrupt(process, 30)
    assert process.returncode == 1, err
    lines = err.splitlines()
    assert "1 recording not confirmed stopped; stop them with:" in lines
    command = lines[lines.index("1 recording not confirmed stopped; stop them with:") + 1]
    assert command.startswith("  agora-recording stop --resource-id ")
    assert f"--sid {sid} " in command
    assert exit_kind(served, sid) is None  # still running: the printed command is needed
    stopped = ok(invoke(served, [*shlex.split(command)[1:], "--json"]))
    assert json.loads(stopped.stdout)["stopOutcome"] == "stopped"
    assert exit_kind(served, sid) == "stop"


def test_stop_of_an_empty_recording_is_not_an_error(served: ServedEmulator) -> None:
    """A stop answered 206/435 (nobody published) exits 0 and says nothing was recorded."""
    result = ok(
        invoke(served, ["start", "--cname", "empty-room", "--uid", "42", *STORAGE, "--json"])
    )
    handle = json.loads(result.stdout)["handle"]
    stopped = ok(invoke(served, ["stop", "--handle", json.dumps(handle), "--json"]))
    assert json.loads(stopped.stdout)["stopOutcome"] == "no_recorded_data"
    assert "nothing was recorded" in stopped.stderr


def test_bad_credentials_fail_in_one_line(served: ServedEmulator) -> None:
    """A wrong customer secret gives one error line with the 401 and the request ID."""
    result = invoke(
        served, ["acquire", "--cname", "bad-creds", "--uid", "42"], AGORA_CUSTOMER_SECRET="nope"
    )
    line = one_error_line(result, 1)
    assert "authentication failed" in line
    assert "HTTP 401" in line
    assert "request ID " in line
    assert "nope" not in result.output


def test_validation_error_names_the_field_and_sends_nothing(served: ServedEmulator) -> None:
    """A rule broken locally exits 2 naming the wire field, and no recording is started."""
    before = len(served.emulator.recordings())
    result = invoke(
        served,
        ["start", "--cname", "invalid", "--uid", "42", *STORAGE, "--max-idle-time", "2"],
    )
    line = one_error_line(result, 2)
    assert "clientRequest.recordingConfig.maxIdleTime" in line
    assert len(served.emulator.recordings()) == before


def test_unknown_sid_is_a_404_in_one_line(served: ServedEmulator) -> None:
    """Querying a sid the service does not know exits 1 with Agora's 404 code."""
    acquired = json.loads(
        ok(invoke(served, ["acquire", "--cname", "nosid", "--uid", "42", "--json"])).stdout
    )
    args = ["query", "--resource-id", acquired["resourceId"], "--mode", "mix"]
    line = one_error_line(invoke(served, [*args, "--sid", "0" * 32]), 1)
    assert "not found" in line
    assert "code 404" in line
    assert "request ID " in line


def test_update_layout_outside_mix_is_a_usage_error(served: ServedEmulator) -> None:
    """update-layout of an individual recording is refused before sending, naming the mode."""
    handle = {"resourceId": "r", "sid": "s", "mode": "individual", "cname": "c", "uid": "1"}
    result = invoke(served, ["update-layout", "--handle", json.dumps(handle), "--layout", "1"])
    assert "mode" in one_error_line(result, 2)


def test_missing_secret_names_the_variable(served: ServedEmulator) -> None:
    """Without AGORA_CUSTOMER_SECRET the verb exits 2 and says what to set."""
    result = invoke(served, ["acquire", "--cname", "c", "--uid", "1"], AGORA_CUSTOMER_SECRET=None)
    assert "set AGORA_CUSTOMER_SECRET" in one_error_line(result, 2)


def test_transport_failure_is_one_line(served: ServedEmulator) -> None:
    """A base URL nobody listens on ends, after retries, in one 'could not reach' line."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = invoke(
        served, ["acquire", "--cname", "c", "--uid", "1"], AGORA_BASE_URL=f"http://127.0.0.1:{port}"
    )
    assert "could not reach the service" in one_error_line(result, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query"], "no recording given"),
        (["query", "--handle", "{not json"], "not valid JSON"),
        (["stop", "--handle", '{"sid": "x"}'], "--resource-id"),
        (["start", "--cname", "c", "--uid", "1", "--mode", "web"], "--web-url"),
        (["start", "--cname", "c", "--uid", "1", "--config", "/nonexistent.json"], "cannot read"),
        (["start", "--uid", "1"], "--cname"),
        (
            [
                "update",
                "--handle",
                '{"resourceId":"r","sid":"s","mode":"mix","cname":"c","uid":"1"}',
            ],
            "nothing to update",
        ),
        (
            [
                "update-layout",
                "--resource-id",
                "r",
                "--sid",
                "s",
                "--mode",
                "mix",
                "--cname",
                "c",
                "--uid",
                "1",
                "--layout",
                "diagonal",
            ],
            "unknown layout",
        ),
    ],
)
def test_usage_errors_are_one_line(served: ServedEmulator, args: list[str], message: str) -> None:
    """Bad options, handles and config files exit 2 with one line saying what is wrong."""
    assert message in one_error_line(invoke(served, args), 2)


def test_config_of_the_wrong_shape_names_the_file(served: ServedEmulator, tmp_path: Path) -> None:
    """A config whose values have the wrong types is refused naming the file and the model."""
    config = tmp_path / "bad.json"
    config.write_text(
        json.dumps({"storageConfig": {"vendor": 1, "region": "x", "bucket": "b-bucket"}})
    )
    result = invoke(served, ["start", "--cname", "c", "--uid", "1", "--config", str(config)])
    line = one_error_line(result, 2)
    assert str(config) in line
    assert "StartConfig" in line


def test_dry_run_validates_and_redacts(served: ServedEmulator) -> None:
    """start --dry-run prints the exact body with storage keys and token replaced by ***."""
    result = ok(
        invoke(
            served,
            ["start", "--cname", "dry", "--uid", "42", *STORAGE, "--dry-run", "--json"],
            AGORA_RTC_TOKEN="RTC-TOKEN-SENTINEL",
        )
    )
    document = json.loads(result.stdout)
    body = document["body"]["clientRequest"]
    assert body["storageConfig"]["accessKey"] == "***"
    assert body["storageConfig"]["secretKey"] == "***"
    assert body["token"] == "***"
    assert body["recordingConfig"]["transcodingConfig"]["mixedVideoLayout"] == 1
    assert document["path"].endswith("/mode/mix/start")
    assert "SENTINEL" not in result.output
    assert all(r.cname != "dry" for r in served.emulator.recordings())


def test_secrets_never_appear_in_any_output(tmp_path: Path) -> None:
    """Customer secret, storage keys and token stay out of every output, errors included."""
    customer_secret = "CUSTOMER-SECRET-SENTINEL-55e1"
    token = "RTC-TOKEN-SENTINEL-0d2c"
    with serve(
        clock=SystemClock(),
        startup_delay=0.0,
        customer_secret=customer_secret,
        max_concurrent_recordings=None,
    ) as server:
        env = environment(server, AGORA_CUSTOMER_SECRET=customer_secret, AGORA_RTC_TOKEN=token)
        runner = CliRunner()
        outputs: list[str] = []

        def run(args: list[str], **changes: str | None) -> Result:
            result = runner.invoke(cli, args, env={**env, **changes})
            outputs.append(result.output)
            return result

        server.emulator.channel("secrets").publish(7)
        for as_json in ([], ["--json"]):
            started = run(["start", "--cname", "secrets", "--uid", "42", *STORAGE, "--json"])
            handle = json.dumps(json.loads(started.stdout)["handle"])
            run(["start", "--cname", "secrets", "--uid", "43", *STORAGE, "--dry-run", *as_json])
            run(["query", "--handle", handle, *as_json])
            run(["update", "--handle", handle, *STORAGE, *as_json])
            run(["stop", "--handle", handle, *as_json])
            run(
                [
                    "record",
                    "--cname",
                    "secrets",
                    "--uid",
                    "44",
                    *STORAGE,
                    "--duration",
                    "0.2",
                    *as_json,
                ]
            )
            run(
                ["acquire", "--cname", "secrets", "--uid", "45", *as_json],
                AGORA_CUSTOMER_SECRET=customer_secret + "-wrong",
            )
            run(
                [
                    "start",
                    "--cname",
                    "secrets",
                    "--uid",
                    "46",
                    *STORAGE,
                    "--storage-region",
                    "-1",
                    *as_json,
                ]
            )
    text = "\n".join(outputs)
    assert "recording started" in text  # the runs really happened
    for secret in (customer_secret, ACCESS_KEY, SECRET_KEY, token):
        assert secret not in text


def test_web_recording_can_be_paused_through_update(served: ServedEmulator) -> None:
    """start --mode web records a URL (acquire scene 1 chosen for it) and update pauses it."""
    args = ["start", "--mode", "web", "--cname", "web-page", "--uid", "42", *STORAGE]
    started = ok(invoke(served, [*args, "--web-url", "https://example.com/page", "--json"]))
    handle = json.dumps(json.loads(started.stdout)["handle"])
    ok(invoke(served, ["update", "--handle", handle, "--onhold"]))
    queried = json.loads(ok(invoke(served, ["query", "--handle", handle, "--json"])).stdout)
    states = queried["response"]["serverResponse"]["extensionServiceState"]
    assert states[0]["payload"]["onhold"] is True
    stopped = json.loads(ok(invoke(served, ["stop", "--handle", handle, "--json"])).stdout)
    assert stopped["files"][0]["fileName"].endswith("_web-page.m3u8")


@pytest.mark.parametrize("duration", [["--duration", "30"], []])
def test_record_fails_when_the_service_ends_the_recording(
    served: ServedEmulator, duration: list[str]
) -> None:
    """A recording that exits abnormally ends record with one error line and exit 1."""
    served.emulator.faults.abnormal_exit(after=0.2)
    result = record(served, f"record-dies-{len(duration)}", *duration)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "20" in errors[0] or "abnormal" in errors[0]
    assert "Traceback" not in result.output


def test_emulator_refuses_a_malformed_app_certificate_with_a_usage_error() -> None:
    """A certificate that is not 32 hex characters is a usage error, not a traceback."""
    result = CliRunner().invoke(
        cli, ["emulator", "--port", "0", "--app-certificate", "not-a-certificate"]
    )
    assert result.exit_code == 2
    assert "32" in result.output or "hex" in result.output
    assert "not-a-certificate" not in result.output


def test_stopping_a_stopped_recording_exits_zero_and_says_so(served: ServedEmulator) -> None:
    """A second stop of the same handle (400 code 49) is reported as benign, with exit 0."""
    served.emulator.channel("stop-twice").publish(7)
    started = ok(
        invoke(served, ["start", "--cname", "stop-twice", "--uid", "42", *STORAGE, "--json"])
    )
    handle = json.dumps(json.loads(started.stdout)["handle"])
    ok(invoke(served, ["stop", "--handle", handle]))
    again = ok(invoke(served, ["stop", "--handle", handle, "--json"]))
    assert json.loads(again.stdout)["stopOutcome"] == "already_exiting"
    assert "already stopped" in again.stderr
    plain = ok(invoke(served, ["stop", "--handle", handle]))
    assert "already exiting" in plain.stdout


def test_stopping_a_recording_the_service_does_not_know_exits_zero(
    served: ServedEmulator,
) -> None:
    """With --assume-ended-on-404, a stop answered 404 says the recording has ended, exit 0."""
    acquired = ok(invoke(served, ["acquire", "--cname", "gone-room", "--uid", "42", "--json"]))
    resource_id = json.loads(acquired.stdout)["resourceId"]
    handle = {"resourceId": resource_id, "sid": "0" * 32, "mode": "mix"}
    handle |= {"cname": "gone-room", "uid": "42"}
    command = ["stop", "--handle", json.dumps(handle), "--assume-ended-on-404", "--json"]
    result = ok(invoke(served, command))
    assert json.loads(result.stdout)["stopOutcome"] == "already_gone"
    assert "knows no such running recording" in result.stderr
    assert "failover" in result.stderr


def test_stop_rechecks_a_404_and_stops_a_recording_that_still_runs(served: ServedEmulator) -> None:
    """The CLI's stop is a confirmed stop: a 404 while the recording still runs is re-checked
    and the recording stopped, where taking the 404 at its word would leave it running."""
    served.emulator.channel("stop-retried").publish(7)
    started = ok(
        invoke(served, ["start", "--cname", "stop-retried", "--uid", "42", *STORAGE, "--json"])
    )
    handle = json.loads(started.stdout)["handle"]
    served.emulator.faults.fail_next("stop", 404, {"code": 404, "reason": "failed to find worker"})
    stopped = ok(invoke(served, ["stop", "--handle", json.dumps(handle), "--json"]))
    assert json.loads(stopped.stdout)["stopOutcome"] == "stopped"
    assert exit_kind(served, handle["sid"]) == "stop"


def test_a_handle_missing_keys_names_them(served: ServedEmulator) -> None:
    """``query --handle '{"sid": "x"}'`` names the missing keys and their options, exit 2."""
    line = one_error_line(invoke(served, ["query", "--handle", '{"sid": "x"}']), 2)
    assert "resourceId, mode" in line
    assert "--resource-id, --mode" in line
    assert "no recording given" not in line


def test_start_without_storage_names_the_options_and_variables(served: ServedEmulator) -> None:
    """A start with no storage names each option and environment variable still missing."""
    result = invoke(
        served,
        ["start", "--cname", "no-storage", "--uid", "42"],
        AGORA_STORAGE_ACCESS_KEY=None,
        AGORA_STORAGE_SECRET_KEY=None,
    )
    line = one_error_line(result, 2)
    for name in ("--storage-vendor", "--storage-region", "--storage-bucket"):
        assert name in line
    assert "AGORA_STORAGE_ACCESS_KEY" in line
    assert "AGORA_STORAGE_SECRET_KEY" in line
    assert "'vendor'" not in line
    partial = one_error_line(invoke(served, ["start", "--cname", "no-storage", "--uid", "42"]), 2)
    assert "--storage-bucket" in partial
    assert "AGORA_STORAGE_ACCESS_KEY" not in partial  # set in the environment


def test_the_uid_help_says_what_the_uid_must_be() -> None:
    """``--uid`` help explains the recorder's UID instead of the confusing "(not in use)"."""
    for verb in ("start", "record"):
        text = CliRunner().invoke(cli, [verb, "--help"], terminal_width=200).output
        line = next(line for line in text.splitlines() if "--uid" in line)
        assert "not in use" not in line
        assert "UID" in line
