"""The emulator with an App Certificate judges the recorder's token, and tracks STS expiry."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from agora_recording import tokens
from agora_recording.emulator import DEFAULT_FAKE_EPOCH, Emulator
from agora_recording.errors import NotFoundError
from agora_recording.models import (
    RecordingConfig,
    RecordingHandle,
    StartConfig,
    StorageConfig,
    UpdateConfig,
)
from agora_recording.testing import EmulatedService, emulated_client

pytestmark = pytest.mark.anyio

APP_ID = "970ca35de60c44645bbae8a215061b33"
CERTIFICATE = "5cfd2fd1755d40ecb72977518be15d3b"
OTHER = "0123456789abcdef0123456789abcdef"
NOW = int(DEFAULT_FAKE_EPOCH)
STORAGE = StorageConfig(vendor=1, region=0, bucket="b-bucket", access_key="ak", secret_key="sk")
CONFIG = StartConfig(
    storage_config=STORAGE, recording_config=RecordingConfig(subscribe_uid_group=0)
)


def token_for(
    cname: str = "room",
    uid: int | str = 99,
    *,
    app_id: str = APP_ID,
    certificate: str = CERTIFICATE,
    expire: int = 3600,
    issued_at: int = NOW,
) -> str:
    """An RTC token issued at the fake clock's start."""
    return tokens.build_rtc_token(
        app_id, certificate, cname, uid, token_expire=expire, issued_at=issued_at
    )


async def start(service: EmulatedService, config: StartConfig) -> RecordingHandle:
    """Acquire and start an individual recording of uid 99 in "room"."""
    acquired = await service.client.acquire(cname="room", uid="99")
    assert acquired.resource_id is not None
    started = await service.client.start(
        acquired.resource_id, "individual", cname="room", uid="99", config=config
    )
    return started.handle


def errors_of(service: EmulatedService, sid: str) -> list[dict[str, Any]]:
    """The details of every NCS error event (1) of ``sid``."""
    return [
        dict(n.notification.details)
        for n in service.emulator.notifications
        if n.sid == sid and n.event_type == 1
    ]


async def test_a_valid_token_records() -> None:
    """With the App Certificate, a token for the recorder's channel and uid records normally."""
    async with emulated_client(app_id=APP_ID, app_certificate=CERTIFICATE) as service:
        service.channel("room").publish(7)
        handle = await start(service, attrs.evolve(CONFIG, token=token_for()))
        service.advance(60)
        status = (await service.client.query(handle)).status
        assert status == 5
        assert errors_of(service, handle.sid) == []


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, 110),
        ("007garbage", 110),
        (token_for(certificate=OTHER), 110),
        (token_for(app_id=OTHER, certificate=CERTIFICATE), 110),
        (token_for(cname="another"), 110),
        (token_for(uid=100), 110),
        (token_for(issued_at=NOW - 7200), 109),
    ],
    ids=["missing", "malformed", "signature", "app-id", "channel", "uid", "expired"],
)
async def test_a_bad_token_lets_start_succeed_then_the_task_exits(
    token: str | None, code: int
) -> None:
    """start answers 200, then the task exits: query 404 and NCS error 110 (or 109 expired)."""
    async with emulated_client(app_id=APP_ID, app_certificate=CERTIFICATE) as service:
        service.channel("room").publish(7)
        handle = await start(service, attrs.evolve(CONFIG, token=token))
        assert (await service.client.query(handle)).status == 0
        service.advance(3)
        with pytest.raises(NotFoundError):
            await service.client.query(handle)
        errors = errors_of(service, handle.sid)
        assert [(e["module"], e["errorCode"], e["errorLevel"]) for e in errors] == [(0, code, 5)]
        assert service.emulator.event_types(handle.sid)[-1] == 11
        assert service.emulator.running_recordings() == []


async def test_a_token_for_any_user_is_accepted() -> None:
    """A token for uid 0 (any user) lets the recorder join."""
    async with emulated_client(app_id=APP_ID, app_certificate=CERTIFICATE) as service:
        service.channel("room").publish(7)
        handle = await start(service, attrs.evolve(CONFIG, token=token_for(uid=0)))
        service.advance(10)
        assert (await service.client.query(handle)).status == 5


async def test_the_recording_ends_when_its_token_expires() -> None:
    """Cloud Recording cannot renew a token: at its expiry the recorder leaves with error 109."""
    async with emulated_client(app_id=APP_ID, app_certificate=CERTIFICATE) as service:
        service.channel("room").publish(7)
        handle = await start(service, attrs.evolve(CONFIG, token=token_for(expire=600)))
        service.advance(599)
        assert (await service.client.query(handle)).status == 5
        service.advance(2)
        with pytest.raises(NotFoundError):
            await service.client.query(handle)
        assert [e["errorCode"] for e in errors_of(service, handle.sid)] == [109]


async def test_without_a_certificate_tokens_are_not_judged() -> None:
    """An emulator without an App Certificate records with no token at all."""
    async with emulated_client(app_id=APP_ID) as service:
        service.channel("room").publish(7)
        handle = await start(service, CONFIG)
        service.advance(30)
        assert (await service.client.query(handle)).status == 5


def test_a_malformed_certificate_is_refused() -> None:
    """The emulator's App Certificate must be 32 hexadecimal characters."""
    with pytest.raises(ValueError, match="32 hexadecimal"):
        Emulator(app_certificate="not-a-certificate")


def test_the_certificate_is_not_in_the_repr() -> None:
    """The emulator's repr never shows its App Certificate."""
    assert CERTIFICATE not in repr(Emulator(app_certificate=CERTIFICATE))


def sts(expires_at: float) -> StorageConfig:
    """Storage with an STS token expiring at ``expires_at``."""
    return attrs.evolve(STORAGE, sts_token="sts", sts_expiration=int(expires_at))


async def test_uploads_fail_when_sts_credentials_expire_unrefreshed() -> None:
    """Past stsExpiration, the uploader reports error 47 and stop answers "backuped"."""
    async with emulated_client(app_id=APP_ID) as service:
        service.channel("room").publish(7)
        config = attrs.evolve(CONFIG, storage_config=sts(NOW + 4 * 3600))
        handle = await start(service, config)
        service.advance(4 * 3600 - 1)
        info = service.emulator.recording(handle.sid)
        assert info is not None
        assert info.upload_failed_at is None
        assert info.storage_expires_at == NOW + 4 * 3600
        service.advance(2)
        info = service.emulator.recording(handle.sid)
        assert info is not None
        assert info.upload_failed_at == NOW + 4 * 3600
        errors = errors_of(service, handle.sid)
        assert [(e["module"], e["errorCode"]) for e in errors] == [(1, 47)]
        stopped = await service.client.stop(handle)
        assert stopped.uploading_status == "backuped"


async def test_sts_credentials_refreshed_with_update_keep_uploads_going() -> None:
    """Credentials pushed with update (storageConfig) before expiry keep uploads working."""
    async with emulated_client(app_id=APP_ID) as service:
        service.channel("room").publish(7)
        handle = await start(service, attrs.evolve(CONFIG, storage_config=sts(NOW + 4 * 3600)))
        for hour in range(1, 6):
            service.advance(3600)
            fresh = sts(NOW + (hour + 4) * 3600)
            await service.client.update(handle, UpdateConfig(storage_config=fresh))
        service.advance(3600)
        info = service.emulator.recording(handle.sid)
        assert info is not None
        assert info.upload_failed_at is None
        assert info.storage_expires_at == NOW + 9 * 3600
        assert errors_of(service, handle.sid) == []
        stopped = await service.client.stop(handle)
        assert stopped.uploading_status == "uploaded"


async def test_the_token_is_redacted_in_the_recording_view() -> None:
    """The emulator's view of a recording hides the token and the STS token."""
    async with emulated_client(app_id=APP_ID, app_certificate=CERTIFICATE) as service:
        token = token_for()
        config = attrs.evolve(CONFIG, token=token, storage_config=sts(NOW + 5 * 3600))
        handle = await start(service, config)
        info = service.emulator.recording(handle.sid)
        assert info is not None
        assert info.client_request["token"] == "***"
        assert info.client_request["storageConfig"]["stsToken"] == "***"
        assert token not in repr(info)
