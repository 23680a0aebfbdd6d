"""Shared test data and helpers, imported by several test modules (never a test module itself).

Four groups: the request configurations of the API reference with their exact wire bodies
(protocol and client tests); a scripted `httpx.MockTransport` client (client, retry and secret
tests); the documented error table (Agora's "Response status codes"); and raw-HTTP helpers for
driving the emulator.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from agora_recording import RecordingClient
from agora_recording._protocol import Endpoint
from agora_recording.enums import Mode, Vendor
from agora_recording.errors import (
    AlreadyStartedError,
    APIError,
    AuthenticationError,
    BadRequestError,
    NoRecordedDataError,
    NotFoundError,
    RateLimitError,
    RequestNotCompletedError,
    ServerError,
)
from agora_recording.models import (
    AudioUidList,
    ExtensionService,
    ExtensionServiceConfig,
    LayoutRegion,
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    RtmpOutput,
    RtmpPublishConfig,
    RtmpPublishServiceParam,
    StartConfig,
    StartResponse,
    StorageConfig,
    StreamSubscribe,
    TranscodingConfig,
    UpdateConfig,
    UpdateLayoutConfig,
    VideoUidList,
    WebRecorderServiceParam,
    WebRecordingConfig,
)
from agora_recording.testing import DEFAULT_APP_ID, EmulatedService

# --------------------------------------------------------------------------------------------
# Request configurations of the API reference and their exact wire bodies

APP_ID = "0123456789abcdef0123456789abcdef"
CNAME = "httpClient463224"
UID = "527841"
RESOURCE_ID = "JyvK8nXHuV1BE64GDkAaBGEscvtHW7v8"
SID = "38f8e3cfdc474cd56fc1ceba380d7e1a"

STORAGE = StorageConfig(
    vendor=Vendor.AMAZON_S3,
    region=0,
    bucket="recordings",
    access_key="AKIAEXAMPLEACCESS",
    secret_key="example-secret-key",
    file_name_prefix=["directory1", "directory2"],
)
STORAGE_WIRE: dict[str, Any] = {
    "vendor": 1,
    "region": 0,
    "bucket": "recordings",
    "accessKey": "AKIAEXAMPLEACCESS",
    "secretKey": "example-secret-key",
    "fileNamePrefix": ["directory1", "directory2"],
}

START_CONFIGS: dict[Mode, StartConfig] = {
    # Today's individual recording: no streamMode, no subscribeUidGroup (the start reference).
    Mode.RAW: StartConfig(
        token="007eJxTYExample",
        storage_config=STORAGE,
        recording_config=RecordingConfig(
            channel_type=0,
            stream_types=2,
            max_idle_time=300,
            subscribe_audio_uids=["123", "456"],
            subscribe_video_uids=["123", "456"],
        ),
    ),
    Mode.INDIVIDUAL: StartConfig(
        token="007eJxTYExample",
        storage_config=STORAGE,
        recording_config=RecordingConfig(
            channel_type=0,
            stream_types=2,
            stream_mode="standard",
            max_idle_time=300,
            subscribe_audio_uids=["123", "456"],
            subscribe_video_uids=["123", "456"],
            subscribe_uid_group=0,
        ),
        recording_file_config=RecordingFileConfig(av_file_type=["hls"]),
    ),
    Mode.MIX: StartConfig(
        token="007eJxTYExample",
        storage_config=STORAGE,
        recording_config=RecordingConfig(
            channel_type=0,
            stream_types=2,
            audio_profile=1,
            video_stream_type=0,
            max_idle_time=120,
            transcoding_config=TranscodingConfig(
                width=640, height=360, fps=15, bitrate=500, mixed_video_layout=1
            ),
        ),
        recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
    ),
    Mode.WEB: StartConfig(
        storage_config=STORAGE,
        extension_service_config=ExtensionServiceConfig(
            error_handle_policy="error_abort",
            extension_services=[
                ExtensionService(
                    service_name="web_recorder_service",
                    error_handle_policy="error_abort",
                    service_param=WebRecorderServiceParam(
                        url="https://example.com/page",
                        audio_profile=0,
                        video_width=1280,
                        video_height=720,
                        max_recording_hour=72,
                    ),
                )
            ],
        ),
        recording_file_config=RecordingFileConfig(av_file_type=["hls", "mp4"]),
    ),
}
START_WIRE: dict[Mode, dict[str, Any]] = {
    Mode.RAW: {
        "token": "007eJxTYExample",
        "storageConfig": STORAGE_WIRE,
        "recordingConfig": {
            "channelType": 0,
            "streamTypes": 2,
            "maxIdleTime": 300,
            "subscribeAudioUids": ["123", "456"],
            "subscribeVideoUids": ["123", "456"],
        },
    },
    Mode.INDIVIDUAL: {
        "token": "007eJxTYExample",
        "storageConfig": STORAGE_WIRE,
        "recordingConfig": {
            "channelType": 0,
            "streamTypes": 2,
            "streamMode": "standard",
            "maxIdleTime": 300,
            "subscribeAudioUids": ["123", "456"],
            "subscribeVideoUids": ["123", "456"],
            "subscribeUidGroup": 0,
        },
        "recordingFileConfig": {"avFileType": ["hls"]},
    },
    Mode.MIX: {
        "token": "007eJxTYExample",
        "storageConfig": STORAGE_WIRE,
        "recordingConfig": {
            "channelType": 0,
            "streamTypes": 2,
            "audioProfile": 1,
            "videoStreamType": 0,
            "maxIdleTime": 120,
            "transcodingConfig": {
                "width": 640,
                "height": 360,
                "fps": 15,
                "bitrate": 500,
                "mixedVideoLayout": 1,
            },
        },
        "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
    },
    Mode.WEB: {
        "storageConfig": STORAGE_WIRE,
        "extensionServiceConfig": {
            "errorHandlePolicy": "error_abort",
            "extensionServices": [
                {
                    "serviceName": "web_recorder_service",
                    "errorHandlePolicy": "error_abort",
                    "serviceParam": {
                        "url": "https://example.com/page",
                        "audioProfile": 0,
                        "videoWidth": 1280,
                        "videoHeight": 720,
                        "maxRecordingHour": 72,
                    },
                }
            ],
        },
        "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
    },
}

SUBSCRIBE_UPDATE = UpdateConfig(
    stream_subscribe=StreamSubscribe(
        audio_uid_list=AudioUidList(subscribe_audio_uids=["#allstream#"]),
        video_uid_list=VideoUidList(unsubscribe_video_uids=["444", "555", "666"]),
    )
)
UPDATE_CONFIGS: dict[Mode, UpdateConfig] = {
    Mode.RAW: SUBSCRIBE_UPDATE,
    Mode.INDIVIDUAL: SUBSCRIBE_UPDATE,
    Mode.MIX: SUBSCRIBE_UPDATE,
    Mode.WEB: UpdateConfig(
        web_recording_config=WebRecordingConfig(onhold=True),
        rtmp_publish_config=RtmpPublishConfig(outputs=[RtmpOutput(rtmp_url="rtmp://cdn/live")]),
    ),
}
# The update example of the API reference (capital-S ``unSubscribe``).
SUBSCRIBE_UPDATE_WIRE: dict[str, Any] = {
    "streamSubscribe": {
        "audioUidList": {"subscribeAudioUids": ["#allstream#"]},
        "videoUidList": {"unSubscribeVideoUids": ["444", "555", "666"]},
    }
}
UPDATE_WIRE: dict[Mode, dict[str, Any]] = {
    Mode.RAW: SUBSCRIBE_UPDATE_WIRE,
    Mode.INDIVIDUAL: SUBSCRIBE_UPDATE_WIRE,
    Mode.MIX: SUBSCRIBE_UPDATE_WIRE,
    Mode.WEB: {
        "webRecordingConfig": {"onhold": True},
        "rtmpPublishConfig": {"outputs": [{"rtmpUrl": "rtmp://cdn/live"}]},
    },
}

# The updateLayout example of the API reference.
LAYOUT = UpdateLayoutConfig(
    mixed_video_layout=3,
    background_color="#FF0000",
    layout_config=[
        LayoutRegion(
            uid="1", x_axis=0.1, y_axis=0.1, width=0.1, height=0.1, alpha=1, render_mode=1
        ),
        LayoutRegion(
            uid="2", x_axis=0.2, y_axis=0.2, width=0.1, height=0.1, alpha=1, render_mode=1
        ),
    ],
)
LAYOUT_WIRE: dict[str, Any] = {
    "mixedVideoLayout": 3,
    "backgroundColor": "#FF0000",
    "layoutConfig": [
        {"uid": "1", "x_axis": 0.1, "y_axis": 0.1, "width": 0.1, "height": 0.1, "alpha": 1,
         "render_mode": 1},
        {"uid": "2", "x_axis": 0.2, "y_axis": 0.2, "width": 0.1, "height": 0.1, "alpha": 1,
         "render_mode": 1},
    ],
}  # fmt: skip

MODES = [Mode.RAW, Mode.INDIVIDUAL, Mode.MIX, Mode.WEB]


def handle_for(mode: Mode) -> RecordingHandle:
    """A handle of a recording in ``mode`` with the reference's identifiers."""
    return RecordingHandle(resource_id=RESOURCE_ID, sid=SID, mode=mode, cname=CNAME, uid=UID)


def envelope(client_request: dict[str, Any]) -> dict[str, Any]:
    """The POST body envelope around ``client_request``."""
    return {"cname": CNAME, "uid": UID, "clientRequest": client_request}


# --------------------------------------------------------------------------------------------
# A RecordingClient on a scripted MockTransport

CUSTOMER_ID = "customer-id-1234"
CUSTOMER_SECRET = "customer-secret-5678"
IDS = {"cname": CNAME, "uid": UID, "resourceId": RESOURCE_ID}
STARTED = {**IDS, "sid": SID}

Outcome = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler that answers from a list and records every request.

    Each item is a response, an exception to raise, or a function of the request. When the list
    runs out the last item repeats.
    """

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, httpx.Response):
            return outcome
        return outcome(request)

    @property
    def hosts(self) -> list[str]:
        """The host of each request, in order."""
        return [request.url.host for request in self.requests]


def ok(body: Mapping[str, Any], status: int = 200, **headers: str) -> httpx.Response:
    """A JSON response."""
    return httpx.Response(status, json=body, headers=headers)


def never_called(request: httpx.Request) -> httpx.Response:
    """A handler for tests where no request may be sent."""
    raise AssertionError(f"unexpected request {request.method} {request.url}")


@asynccontextmanager
async def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any
) -> AsyncIterator[RecordingClient]:
    """A RecordingClient on a MockTransport, without rate limiting unless asked."""
    kwargs.setdefault("rate_limit", None)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        RecordingClient(
            app_id=APP_ID,
            customer_id=CUSTOMER_ID,
            customer_secret=CUSTOMER_SECRET,
            http_client=http,
            **kwargs,
        ) as client,
    ):
        yield client


# --------------------------------------------------------------------------------------------
# The endpoint error table (Agora's "Response status codes" page): endpoint, status, body, class

ERROR_ROWS: list[tuple[Endpoint[Any], int, dict[str, Any], type[APIError]]] = [
    (Endpoint.ACQUIRE, 400, {"message": "appid is invalid"}, BadRequestError),
    (Endpoint.QUERY, 401, {"message": "Unauthorized"}, AuthenticationError),
    (Endpoint.START, 401, {"message": "Invalid authentication credentials"}, AuthenticationError),
    (Endpoint.STOP, 404, {"message": "no Route matched with those values"}, NotFoundError),
    (Endpoint.UPDATE, 429, {"message": "API rate limit exceeded"}, RateLimitError),
    (Endpoint.ACQUIRE, 400, {"code": 2, "reason": "Acquire: invalid resourceExpiredHour value!"},
     BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 400, "reason": "invalid_appid"}, BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 401, "reason": "invalid_channel_name"}, BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 405, "reason": "no_active_status"}, BadRequestError),
    (Endpoint.ACQUIRE, 400, {"code": 406, "reason": "vendor_over_load"}, BadRequestError),
    (Endpoint.ACQUIRE, 500, {"code": 500, "reason": "internal_error"}, ServerError),
    (Endpoint.ACQUIRE, 500, {"code": 501, "reason": "no_worker_manager_available"}, ServerError),
    (Endpoint.ACQUIRE, 500, {"code": 504, "reason": "allocate_timeout"}, ServerError),
    (Endpoint.START, 201, {"code": 7, "reason": "already started"}, AlreadyStartedError),
    (Endpoint.START, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.START, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.START, 400, {"code": 53, "reason": "task conflict"}, BadRequestError),
    (Endpoint.START, 500, {"code": 502, "reason": "Failed to allocate worker"}, ServerError),
    (Endpoint.START, 500, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.START, 500, {"resourceId": "r", "sid": "", "code": 15}, ServerError),
    (Endpoint.QUERY, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.UPDATE, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.UPDATE_LAYOUT, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.QUERY, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.UPDATE, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.UPDATE_LAYOUT, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.QUERY, 404, {"code": 404, "reason": "failed to find worker"}, NotFoundError),
    (Endpoint.UPDATE, 404, {"code": 404, "reason": "failed to find worker"}, NotFoundError),
    (Endpoint.UPDATE_LAYOUT, 404, {"code": 404, "reason": "failed to find worker"},
     NotFoundError),
    (Endpoint.QUERY, 504, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.UPDATE, 504, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.UPDATE_LAYOUT, 504, {"code": 62, "reason": "request timeout"}, ServerError),
    (Endpoint.STOP, 206, {"code": 65, "reason": "request not completed"},
     RequestNotCompletedError),
    (Endpoint.STOP, 206, {"code": 435, "reason": "no recorded data"}, NoRecordedDataError),
    (Endpoint.STOP, 400, {"code": 2, "reason": "invalid parameter"}, BadRequestError),
    (Endpoint.STOP, 400, {"code": 49, "reason": "invalid operation"}, BadRequestError),
    (Endpoint.STOP, 404, {"cname": "24080002", "code": 404, "reason": "failed to find worker",
                          "uid": "1"}, NotFoundError),
    (Endpoint.STOP, 504, {"code": 62, "reason": "request timeout"}, ServerError),
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Start configurations for the emulator, and a started recording

#: Storage the emulator takes (it checks the bucket's rules, never the keys).
EMULATED_STORAGE = StorageConfig(
    vendor=1, region=0, bucket="b-bucket", access_key="a", secret_key="s"
)


def emulated_config(
    *, files: list[str] | None = None, storage: StorageConfig = EMULATED_STORAGE, **recording: Any
) -> StartConfig:
    """A start body for the emulator: ``storage``, a ``recordingConfig`` of the ``recording``
    fields and, with ``files``, the file types to record (``avFileType``)."""
    return StartConfig(
        storage_config=storage,
        recording_config=RecordingConfig(**recording),
        recording_file_config=None if files is None else RecordingFileConfig(av_file_type=files),
    )


def web_recorder(
    max_recording_hour: int = 1, *, url: str = "https://example.com", **param: Any
) -> ExtensionService:
    """The web recorder service recording ``url`` at 1280x720 (more ``param`` fields, such as
    ``ready_timeout``, as given)."""
    return ExtensionService(
        service_name="web_recorder_service",
        service_param=WebRecorderServiceParam(
            url=url,
            audio_profile=0,
            video_width=1280,
            video_height=720,
            max_recording_hour=max_recording_hour,
            **param,
        ),
    )


def rtmp_publisher(url: str) -> ExtensionService:
    """The CDN push service, publishing to ``url``."""
    return ExtensionService(
        service_name="rtmp_publish_service",
        service_param=RtmpPublishServiceParam(outputs=[RtmpOutput(rtmp_url=url)]),
    )


def web_config(
    *services: ExtensionService, storage: StorageConfig = EMULATED_STORAGE
) -> StartConfig:
    """A web recording's start body for the emulator: ``services`` (by default one
    `web_recorder` of an hour) on ``storage``."""
    return StartConfig(
        storage_config=storage,
        extension_service_config=ExtensionServiceConfig(
            extension_services=list(services) or [web_recorder()]
        ),
    )


async def publish_and_start(
    service: EmulatedService,
    cname: str = "room",
    *,
    mode: Mode | str = Mode.INDIVIDUAL,
    uid: str = "99",
    config: StartConfig | None = None,
) -> StartResponse:
    """Publish user 7 in ``cname`` and start a recording of it through the service's client
    (by default an individual one of `emulated_config`, subscribing to every uid)."""
    service.channel(cname).publish(7)
    acquired = await service.client.acquire(cname=cname, uid=uid)
    assert acquired.resource_id is not None
    return await service.client.start(
        acquired.resource_id,
        mode,
        cname=cname,
        uid=uid,
        config=emulated_config(subscribe_uid_group=0) if config is None else config,
    )


# --------------------------------------------------------------------------------------------
# Raw HTTP against the emulator (`agora_recording.testing.emulated_http`)

BASE = f"/v1/apps/{DEFAULT_APP_ID}/cloud_recording"
RAW_STORAGE = {"vendor": 1, "region": 0, "bucket": "bucket", "accessKey": "ak", "secretKey": "sk"}
WEB_SERVICE = {
    "serviceName": "web_recorder_service",
    "serviceParam": {
        "url": "https://example.com",
        "audioProfile": 0,
        "videoWidth": 1280,
        "videoHeight": 720,
        "maxRecordingHour": 1,
    },
}


def start_request(mode: str) -> dict[str, Any]:
    """A minimal valid start clientRequest for ``mode`` (a fresh copy, free to modify)."""
    if mode == "web":
        services = [copy.deepcopy(WEB_SERVICE)]
        return {
            "storageConfig": dict(RAW_STORAGE),
            "extensionServiceConfig": {"extensionServices": services},
        }
    config: dict[str, Any] = {"subscribeUidGroup": 0} if mode in ("raw", "individual") else {}
    return {"storageConfig": dict(RAW_STORAGE), "recordingConfig": config}


async def acquire(
    http: httpx.AsyncClient, cname: str = "room", uid: str = "99", **request: Any
) -> str:
    """Acquire and return the resource ID."""
    response = await http.post(
        f"{BASE}/acquire", json={"cname": cname, "uid": uid, "clientRequest": request}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["resourceId"])


async def start_with(
    http: httpx.AsyncClient,
    mode: str,
    request: dict[str, Any],
    cname: str = "room",
    uid: str = "99",
    **acquire_request: Any,
) -> tuple[str, str]:
    """Acquire and start with an explicit clientRequest; return ``(resourceId, sid)``."""
    if mode == "web":
        acquire_request.setdefault("scene", 1)
    resource_id = await acquire(http, cname, uid, **acquire_request)
    response = await http.post(
        f"{BASE}/resourceid/{resource_id}/mode/{mode}/start",
        json={"cname": cname, "uid": uid, "clientRequest": request},
    )
    assert response.status_code == 200, response.text
    return resource_id, str(response.json()["sid"])


async def start(
    http: httpx.AsyncClient, mode: str = "individual", cname: str = "room", uid: str = "99"
) -> tuple[str, str]:
    """Acquire and start a minimal recording in ``mode``; return ``(resourceId, sid)``."""
    return await start_with(http, mode, start_request(mode), cname, uid)


def path(resource_id: str, sid: str, verb: str, mode: str = "individual") -> str:
    """The path of a sid-level endpoint."""
    return f"{BASE}/resourceid/{resource_id}/sid/{sid}/mode/{mode}/{verb}"


STOP_BODY = {"cname": "room", "uid": "99", "clientRequest": {}}


# --------------------------------------------------------------------------------------------
# The command line in a real process (for signals)


@contextmanager
def cli_process(
    *args: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``python -m agora_recording *args`` with text pipes, killed (and reaped) if it still runs
    when the block ends, so a failed test leaves no process behind."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agora_recording", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def interrupt(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Ctrl-C ``process`` and wait up to ``timeout`` s for it to exit: what it wrote to stdout
    and stderr."""
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=timeout)
