"""No secret ever reaches a log record, a repr, or an exception message.

A whole recording runs at DEBUG level on a MockTransport with every kind of secret set (customer
secret, storage keys, STS token, RTC token, decryption secret and salt), followed by the error
paths; then every log record, every repr and every exception raised is searched for them.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agora_recording import RecordingClient
from agora_recording._protocol import Endpoint, build_request
from agora_recording.enums import Mode
from agora_recording.errors import (
    AuthenticationError,
    BadRequestError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from agora_recording.models import (
    AcquireConfig,
    RecordingConfig,
    RecordingFileConfig,
    StartConfig,
    StorageConfig,
    UpdateConfig,
)

from tests.helpers import (
    APP_ID,
    CNAME,
    CUSTOMER_ID,
    CUSTOMER_SECRET,
    IDS,
    RESOURCE_ID,
    STARTED,
    UID,
    Script,
    mock_client,
    ok,
)

ACCESS_KEY = "AKIA-ACCESS-KEY-SENTINEL"
SECRET_KEY = "SECRET-KEY-SENTINEL-0123"
STS_TOKEN = "STS-TOKEN-SENTINEL-4567"
RTC_TOKEN = "007eJx-RTC-TOKEN-SENTINEL"
DECRYPTION_SECRET = "DECRYPTION-SECRET-SENTINEL"
SALT = base64.b64encode(b"S" * 32).decode()
AUTH_HEADER = base64.b64encode(f"{CUSTOMER_ID}:{CUSTOMER_SECRET}".encode()).decode()
SECRETS = [
    CUSTOMER_SECRET,
    AUTH_HEADER,
    ACCESS_KEY,
    SECRET_KEY,
    STS_TOKEN,
    RTC_TOKEN,
    DECRYPTION_SECRET,
    SALT,
]

STORAGE = StorageConfig(
    vendor=1,
    region=0,
    bucket="recordings",
    access_key=ACCESS_KEY,
    secret_key=SECRET_KEY,
    sts_token=STS_TOKEN,
    sts_expiration=1893456000,
)
START = StartConfig(
    token=RTC_TOKEN,
    storage_config=STORAGE,
    recording_config=RecordingConfig(
        channel_type=0,
        stream_types=2,
        decryption_mode=7,
        secret=DECRYPTION_SECRET,
        salt=SALT,
        subscribe_uid_group=0,
    ),
    recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
)


def assert_clean(text: str, where: str) -> None:
    """Fail if any secret appears in ``text``."""
    for secret in SECRETS:
        assert secret not in text, f"secret leaked into {where}"


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def check_records(records: list[logging.LogRecord]) -> None:
    """Every record's formatted message and all its attributes are free of secrets."""
    for record in records:
        assert_clean(record.getMessage(), f"log message {record.name}")
        assert_clean(repr(record.__dict__), f"log record {record.name}")


@pytest.mark.anyio
async def test_a_full_recording_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """acquire, start, query, update and stop with every secret set log none of them."""
    caplog.set_level(logging.DEBUG)
    query = {**STARTED, "serverResponse": {"status": 5}}
    script = Script(
        ok(IDS),
        httpx.Response(503, json={"message": "retry me"}),
        ok(STARTED),
        ok(query),
        ok(STARTED),
        ok({**STARTED, "serverResponse": {"uploadingStatus": "uploaded"}}),
    )
    async with mock_client(script) as client:
        acquired = await client.acquire(
            cname=CNAME, uid=UID, config=AcquireConfig(start_parameter=START)
        )
        started = await client.start(
            RESOURCE_ID, Mode.INDIVIDUAL, cname=CNAME, uid=UID, config=START
        )
        queried = await client.query(started.handle)
        updated = await client.update(started.handle, UpdateConfig(storage_config=STORAGE))
        stopped = await client.stop(started.handle)
        for obj in (client, acquired, started, queried, updated, stopped, started.handle):
            assert_clean(repr(obj), f"repr of {type(obj).__name__}")
    # The secrets really were sent, so the checks above are not vacuous.
    start_body = script.requests[2].content.decode()
    assert all(secret in start_body for secret in SECRETS[2:])
    assert script.requests[0].headers["Authorization"] == f"Basic {AUTH_HEADER}"
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    check_records(caplog.records)


def test_configs_and_requests_hide_secrets() -> None:
    """Config models and built requests keep secrets out of repr."""
    assert_clean(repr(START), "repr of StartConfig")
    assert_clean(repr(STORAGE), "repr of StorageConfig")
    assert_clean(repr(AcquireConfig(start_parameter=START)), "repr of AcquireConfig")
    assert_clean(repr(UpdateConfig(storage_config=STORAGE)), "repr of UpdateConfig")
    spec = build_request(
        Endpoint.START,
        APP_ID,
        resource_id=RESOURCE_ID,
        mode=Mode.INDIVIDUAL,
        cname=CNAME,
        uid=UID,
        config=START,
    )
    assert_clean(repr(spec), "repr of RequestSpec")
    client = RecordingClient(
        app_id=APP_ID, customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET
    )
    assert_clean(repr(client), "repr of RecordingClient")
    assert_clean(repr(vars(client)), "attributes of RecordingClient")


def bad_configs() -> list[tuple[str, Any]]:
    """Start configs that break a rule right next to a secret."""
    return [
        (
            "GCM2 decryption without a salt",
            StartConfig(
                token=RTC_TOKEN,
                storage_config=STORAGE,
                recording_config=RecordingConfig(
                    decryption_mode=7, secret=DECRYPTION_SECRET, subscribe_uid_group=0
                ),
            ),
        ),
        (
            "STS on a vendor without STS",
            StartConfig(
                token=RTC_TOKEN,
                storage_config=StorageConfig(
                    vendor=5,
                    region=0,
                    bucket="b-bucket",
                    access_key=ACCESS_KEY,
                    secret_key=SECRET_KEY,
                    sts_token=STS_TOKEN,
                ),
                recording_config=RecordingConfig(subscribe_uid_group=0),
            ),
        ),
        (
            "empty secret key",
            StartConfig(
                token=RTC_TOKEN,
                storage_config=StorageConfig(
                    vendor=1, region=0, bucket="b-bucket", access_key=ACCESS_KEY, secret_key=""
                ),
                recording_config=RecordingConfig(
                    decryption_mode=1, secret=DECRYPTION_SECRET, subscribe_uid_group=0
                ),
            ),
        ),
    ]


@pytest.mark.anyio
async def test_error_paths_leak_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """401, 400, retried 500s, transport failures, bad bodies and validation errors stay clean."""
    caplog.set_level(logging.DEBUG)
    raised: list[BaseException] = []
    script = Script(
        httpx.Response(401, json={"message": "Invalid authentication credentials"}),
        httpx.Response(400, json={"code": 2, "reason": "invalid parameter"}),
        httpx.Response(500, json={"code": 62, "reason": "request timeout"}),
        ok(STARTED),
        httpx.ConnectError("connection refused"),
        httpx.ConnectError("connection refused"),
        httpx.ConnectError("connection refused"),
        httpx.Response(200, content=b"<html>not json</html>"),
    )
    async with mock_client(script) as client:
        with pytest.raises(AuthenticationError) as auth:
            await client.start(RESOURCE_ID, Mode.INDIVIDUAL, cname=CNAME, uid=UID, config=START)
        raised.append(auth.value)
        with pytest.raises(BadRequestError) as bad:
            await client.start(RESOURCE_ID, Mode.INDIVIDUAL, cname=CNAME, uid=UID, config=START)
        raised.append(bad.value)
        started = await client.start(
            RESOURCE_ID, Mode.INDIVIDUAL, cname=CNAME, uid=UID, config=START
        )
        with pytest.raises(TransportError) as transport:
            await client.update(started.handle, UpdateConfig(storage_config=STORAGE))
        raised.append(transport.value)
        with pytest.raises(UnexpectedResponseError) as unexpected:
            await client.update(started.handle, UpdateConfig(storage_config=STORAGE))
        raised.append(unexpected.value)
        for _, config in bad_configs():
            with pytest.raises(ValidationError) as invalid:
                await client.start(
                    RESOURCE_ID, Mode.INDIVIDUAL, cname=CNAME, uid=UID, config=config
                )
            raised.append(invalid.value)
    assert len(script.requests) == 8
    for error in raised:
        for link in exception_chain(error):
            assert_clean(str(link), f"str of {type(link).__name__}")
            assert_clean(repr(link), f"repr of {type(link).__name__}")
    check_records(caplog.records)


def test_client_construction_errors_leak_nothing() -> None:
    """Refusing bad settings never echoes the credentials."""
    for kwargs in (
        {"base_url": f"https://{CUSTOMER_ID}:{CUSTOMER_SECRET}@example.com"},
        {"app_id": f"bad app {CUSTOMER_SECRET}"},
    ):
        args: dict[str, Any] = {
            "app_id": APP_ID,
            "customer_id": CUSTOMER_ID,
            "customer_secret": CUSTOMER_SECRET,
            **kwargs,
        }
        with pytest.raises(ValidationError) as info:
            RecordingClient(**args)
        assert_clean(str(info.value), "a construction error")
        assert_clean(repr(info.value), "a construction error")
