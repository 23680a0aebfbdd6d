"""Storage settings the vendor would refuse fail early: in the client with no request sent, and
at the emulator with HTTP 400 code 2, since both run the same rules."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from agora_recording import Mode, StartConfig, StorageConfig, ValidationError, converter
from agora_recording.models import RecordingConfig
from agora_recording.testing import emulated_client, emulated_http

from .helpers import BASE, acquire

pytestmark = pytest.mark.anyio

GOOD = StorageConfig(
    vendor=1, region=0, bucket="recordings", access_key="AK-1234", secret_key="SK-5678"
)
BAD_STORAGE = {
    "bucket": attrs.evolve(GOOD, bucket="My_Bucket!! /x"),
    "region": attrs.evolve(GOOD, region=999),
    "accessKey": attrs.evolve(GOOD, access_key="K" * 10_000),
}


def _config(storage: StorageConfig) -> StartConfig:
    return StartConfig(
        storage_config=storage, recording_config=RecordingConfig(channel_type=0, max_idle_time=30)
    )


@pytest.mark.parametrize("key", sorted(BAD_STORAGE))
async def test_a_session_refuses_bad_storage_before_any_request(key: str) -> None:
    """A bad bucket, S3 region 999 or a 10,000-character key fails with zero requests sent."""
    async with emulated_client() as service:
        session = service.client.session(
            cname="room", uid="1", mode=Mode.MIX, config=_config(BAD_STORAGE[key])
        )
        with pytest.raises(ValidationError) as raised:
            async with session:
                pass
        assert raised.value.field == f"clientRequest.storageConfig.{key}"
        assert "KKKK" not in str(raised.value)
        assert service.emulator.stats.requests() == 0


def test_a_bad_max_idle_time_is_refused_where_it_is_written() -> None:
    """``maxIdleTime="x"`` raises ValidationError naming ``maxIdleTime`` when the config is built,
    not a TypeError from the session pacing its polls by it."""
    bad: Any = "x"
    with pytest.raises(ValidationError) as raised:
        RecordingConfig(channel_type=0, max_idle_time=bad)
    assert raised.value.field == "maxIdleTime"
    with pytest.raises(ValidationError):
        RecordingConfig(max_idle_time=30.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", sorted(BAD_STORAGE))
async def test_the_emulator_refuses_bad_storage_with_code_2(key: str) -> None:
    """The emulator answers 400 ``{"code": 2}`` to the same storage, never quoting a key."""
    async with emulated_http() as (http, _emulator):
        resource_id = await acquire(http, "room", "1")
        body: dict[str, Any] = {
            "cname": "room",
            "uid": "1",
            "clientRequest": converter.unstructure(_config(BAD_STORAGE[key])),
        }
        response = await http.post(f"{BASE}/resourceid/{resource_id}/mode/mix/start", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == 2
    assert "KKKK" not in response.text
