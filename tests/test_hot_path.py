"""The per-call caches of the request path never change what is sent or what is refused."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import attrs
import httpx
import pytest
from agora_recording import Mode, converter, validation
from agora_recording._protocol import Endpoint, _encode_request, _valid_starts, build_request
from agora_recording.errors import ValidationError
from agora_recording.models import LayoutRegion
from hypothesis import given
from hypothesis import strategies as st

from .helpers import (
    APP_ID,
    CNAME,
    RESOURCE_ID,
    START_CONFIGS,
    UID,
    handle_for,
    mock_client,
)


def _start(mode: Mode, config: object, cname: str = CNAME, uid: str = UID) -> bytes:
    spec = build_request(
        Endpoint.START,
        APP_ID,
        resource_id=RESOURCE_ID,
        mode=mode,
        cname=cname,
        uid=uid,
        config=config,
    )
    assert spec.body is not None
    return spec.body


@pytest.mark.parametrize("mode", list(Mode))
def test_start_body_is_compact_json_of_the_envelope(mode: Mode) -> None:
    """A start body is the envelope's compact JSON, the same on a first and a repeated call."""
    first = _start(mode, START_CONFIGS[mode])
    again = _start(mode, START_CONFIGS[mode])
    assert first == again
    decoded = json.loads(first)
    assert list(decoded) == ["cname", "uid", "clientRequest"]
    expected = json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode()
    assert first == expected


def _compact(mode: Mode, config: object) -> bytes:
    """What one ``json.dumps`` of the whole start envelope gives."""
    envelope = {"cname": CNAME, "uid": UID, "clientRequest": converter.unstructure(config)}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def test_configs_evolved_per_channel_send_their_own_bytes() -> None:
    """Start configurations evolved from one template each send exactly their own body."""
    mix = START_CONFIGS[Mode.MIX]
    assert mix.storage_config is not None
    assert mix.recording_config is not None
    for index in range(3):
        channel = attrs.evolve(
            mix,
            token=f"token-{index}",
            storage_config=attrs.evolve(mix.storage_config, file_name_prefix=[f"room{index}"]),
        )
        assert _start(Mode.MIX, channel) == _compact(Mode.MIX, channel)
    # The same template with another layout: its own regions, not the last text encoded.
    other = attrs.evolve(mix, recording_config=attrs.evolve(mix.recording_config, max_idle_time=99))
    assert _start(Mode.MIX, other) == _compact(Mode.MIX, other)
    assert b'"maxIdleTime":99' in _start(Mode.MIX, other)


def test_recording_config_text_is_kept_only_without_secrets() -> None:
    """A recordingConfig holding a decryption secret is never kept as text between starts."""
    mix = START_CONFIGS[Mode.MIX]
    assert mix.recording_config is not None
    plain = mix.recording_config
    _start(Mode.MIX, mix)
    wire = converter.unstructure(plain)
    assert _valid_starts.recording_text(plain, wire) is not None
    assert _valid_starts.recording_text(plain, {**wire, "maxIdleTime": 1}) is None
    secret = attrs.evolve(plain, decryption_mode=1, secret="s" * 32)
    config = attrs.evolve(mix, recording_config=secret)
    assert _start(Mode.MIX, config) == _compact(Mode.MIX, config)
    assert _valid_starts.recording_text(secret, converter.unstructure(secret)) is None


def test_repeated_start_still_checks_cname_and_uid() -> None:
    """A configuration already found valid does not let a bad cname or uid through."""
    config = START_CONFIGS[Mode.MIX]
    _start(Mode.MIX, config)
    with pytest.raises(ValidationError) as bad_uid:
        _start(Mode.MIX, config, uid="0")
    assert bad_uid.value.field == "uid"
    with pytest.raises(ValidationError) as bad_cname:
        _start(Mode.MIX, config, cname="x" * 65)
    assert bad_cname.value.field == "cname"


def test_valid_in_one_mode_is_checked_again_in_another() -> None:
    """A configuration valid in mix mode is still refused where individual mode forbids it."""
    config = START_CONFIGS[Mode.MIX]
    _start(Mode.MIX, config)
    with pytest.raises(ValidationError):
        _start(Mode.INDIVIDUAL, config)


def test_invalid_start_is_refused_every_time() -> None:
    """A refused configuration is refused again: failures are never remembered as valid."""
    mix = START_CONFIGS[Mode.MIX]
    assert mix.recording_config is not None
    assert mix.recording_config.transcoding_config is not None
    transcoding = attrs.evolve(mix.recording_config.transcoding_config, width=5000)
    bad = attrs.evolve(
        mix,
        recording_config=attrs.evolve(mix.recording_config, transcoding_config=transcoding),
    )
    for _ in range(2):
        with pytest.raises(ValidationError) as caught:
            _start(Mode.MIX, bad)
        assert caught.value.field.endswith("transcodingConfig.width")


def test_non_finite_number_reports_the_rule_first() -> None:
    """A NaN layout coordinate names its field, as before the body is encoded."""
    mix = START_CONFIGS[Mode.MIX]
    assert mix.recording_config is not None
    assert mix.recording_config.transcoding_config is not None
    region = LayoutRegion(uid="1", x_axis=math.nan, y_axis=0, width=1, height=1)
    transcoding = attrs.evolve(
        mix.recording_config.transcoding_config, mixed_video_layout=3, layout_config=[region]
    )
    bad = attrs.evolve(
        mix,
        recording_config=attrs.evolve(mix.recording_config, transcoding_config=transcoding),
    )
    with pytest.raises(ValidationError) as caught:
        _start(Mode.MIX, bad)
    assert "layoutConfig[0]" in caught.value.field


@pytest.mark.anyio
async def test_reused_url_reaches_the_right_recording() -> None:
    """Queries of two recordings through one client each go to their own URL, every time."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"resourceId": "r", "sid": "s", "serverResponse": {}})

    first = handle_for(Mode.MIX)
    second = attrs.evolve(first, sid="another0sid0000000000000000000000")
    async with mock_client(answer) as client:
        for handle in (first, second, first, second):
            await client.query(handle)
    assert seen[0] == seen[2] != seen[1] == seen[3]
    assert seen[1].split("/sid/")[1].startswith("another0sid")


@pytest.mark.anyio
async def test_each_attempt_gives_httpx_its_own_timeout() -> None:
    """httpx gets each attempt's own timeout: the client's for a query, start's for a start."""
    seen: dict[str, object] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen[request.url.path.rsplit("/", 1)[1]] = request.extensions["timeout"]
        return httpx.Response(200, json={"resourceId": RESOURCE_ID, "sid": "s", "cname": CNAME})

    async with mock_client(answer, timeout=2.5) as client:
        client.start_attempt_timeout = 7.0
        for _ in range(2):  # the second time from what the client kept
            await client.query(handle_for(Mode.MIX))
            assert seen.pop("query") == dict.fromkeys(("connect", "read", "write", "pool"), 2.5)
            await client.start(
                RESOURCE_ID, Mode.MIX, cname=CNAME, uid=UID, config=START_CONFIGS[Mode.MIX]
            )
            assert seen.pop("start") == dict.fromkeys(("connect", "read", "write", "pool"), 7.0)


@given(st.text(max_size=40))
def test_path_segments_are_percent_encoded_as_before(value: str) -> None:
    """Every ID goes into the path exactly as ``quote(value, safe="")`` would put it."""
    path = Endpoint.QUERY.path("app", resource_id=value, sid="sid", mode=Mode.MIX)
    assert (
        path
        == f"/v1/apps/app/cloud_recording/resourceid/{quote(value, safe='')}/sid/sid/mode/mix/query"
    )


def test_known_recording_config_does_not_hide_other_problems() -> None:
    """A recordingConfig seen valid before still lets a bad storageConfig of a new body fail."""
    mix = START_CONFIGS[Mode.MIX]
    assert mix.storage_config is not None
    _start(Mode.MIX, mix)
    bad_storage = attrs.evolve(mix.storage_config, file_name_prefix=["no spaces allowed"])
    with pytest.raises(ValidationError) as caught:
        _start(Mode.MIX, attrs.evolve(mix, storage_config=bad_storage))
    assert caught.value.field.endswith("storageConfig.fileNamePrefix[0]")


def test_changed_recording_config_is_walked_again() -> None:
    """A body whose layout differs from one seen valid is checked in full, region by region."""
    mix = START_CONFIGS[Mode.MIX]
    assert mix.recording_config is not None
    assert mix.recording_config.transcoding_config is not None
    _start(Mode.MIX, mix)
    region = LayoutRegion(uid="1", x_axis=0, y_axis=0, width=1.5, height=1)
    transcoding = attrs.evolve(
        mix.recording_config.transcoding_config, mixed_video_layout=3, layout_config=[region]
    )
    bad = attrs.evolve(
        mix,
        token="a-new-token",
        recording_config=attrs.evolve(mix.recording_config, transcoding_config=transcoding),
    )
    with pytest.raises(ValidationError) as caught:
        _start(Mode.MIX, bad)
    assert caught.value.field.endswith("layoutConfig[0].width")


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "uid": st.one_of(st.text(max_size=12), st.integers(), st.none()),
            "x_axis": st.one_of(st.floats(), st.integers(-2, 2), st.booleans(), st.text()),
            "y_axis": st.one_of(st.floats(0, 1), st.none()),
            "width": st.one_of(st.floats(0, 1), st.integers(0, 1)),
            "height": st.floats(-1, 2),
            "alpha": st.one_of(st.floats(), st.none()),
            "render_mode": st.one_of(st.integers(-1, 2), st.booleans(), st.none()),
        },
    )
)
def test_region_fast_path_agrees_with_the_field_walk(region: dict[str, object]) -> None:
    """A layout region passes the fast check exactly when the field-by-field walk finds nothing."""
    walk = validation._Checker(collect=True)
    validation._layout_region(walk, region, "layoutConfig[0]")
    assert validation._region_ok(region) == (not walk.problems)


@given(
    st.dictionaries(
        st.one_of(st.text(max_size=8), st.integers()),
        st.recursive(st.none() | st.integers() | st.text(max_size=5), st.lists, max_leaves=5),
        max_size=5,
    )
)
def test_request_text_is_that_of_one_json_dumps(request: dict[object, object]) -> None:
    """Encoding a clientRequest key by key gives the bytes one ``json.dumps`` gives."""
    text, _ = _encode_request(request)
    assert text == json.dumps(request, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.anyio
async def test_bad_handle_is_refused_on_every_query() -> None:
    """A handle with an ID that cannot go into a URL is refused each time, before any request."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"resourceId": "r", "sid": "s", "serverResponse": {}})

    bad = attrs.evolve(handle_for(Mode.MIX), sid="not a sid")
    unhashable = attrs.evolve(handle_for(Mode.MIX), sid=["not", "a", "sid"])  # type: ignore[arg-type]
    async with mock_client(answer) as client:
        for handle in (bad, unhashable, bad, unhashable):
            with pytest.raises(ValidationError) as caught:
                await client.query(handle)
            assert caught.value.field == "sid"
        await client.query(handle_for(Mode.MIX))
        # cname and uid are not in a query's URL: one that cannot be hashed is no obstacle.
        await client.query(attrs.evolve(handle_for(Mode.MIX), uid=[1]))  # type: ignore[arg-type]
    assert len(sent) == 2


_FIRST_TIME = """
import sys, anyio, httpx
from agora_recording import Mode, RecordingClient
from tests.helpers import APP_ID, CUSTOMER_ID, CUSTOMER_SECRET, RESOURCE_ID, START_CONFIGS
from tests.helpers import handle_for

def answer(request):
    return httpx.Response(200, json={"resourceId": RESOURCE_ID, "sid": "s1", "serverResponse": {}})

async def main():
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = RecordingClient(app_id=APP_ID, customer_id=CUSTOMER_ID,
                                 customer_secret=CUSTOMER_SECRET, http_client=http)
        await client.acquire(cname="room", uid="1")
        await client.start(RESOURCE_ID, Mode.MIX, cname="room", uid="1",
                           config=START_CONFIGS[Mode.MIX])
        await client.query(handle_for(Mode.MIX))
        client.release(handle_for(Mode.MIX))

anyio.run(main)
print(sorted(m for m in ("stamina", "tenacity") if m in sys.modules))
"""


def test_calls_answered_at_once_never_enter_the_retry_machinery() -> None:
    """Acquire, start and query answered first time run no retry code: stamina is never loaded."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_TIME],
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
