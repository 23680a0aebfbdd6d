"""The payloads every benchmark shares: a large mix start, and large query responses.

They are built once from the public models (requests) or as wire dicts (responses), sized like
the heavy end of real use: a 17-region custom layout (the documented maximum), 17 subscribed
uids, full storage settings; a web query with the recorder's file list, a CDN push and the
upload service; an individual query with 50 files.
"""

from __future__ import annotations

import json
from typing import Any, Final

from agora_recording import (
    AvFileType,
    ChannelType,
    ExtensionParams,
    LayoutRegion,
    MixedVideoLayout,
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    RenderMode,
    StartConfig,
    StorageConfig,
    StreamTypes,
    TranscodingConfig,
    UserBackground,
    Vendor,
)

__all__ = [
    "APP_ID",
    "BASE_URL",
    "CNAME",
    "CUSTOMER_ID",
    "CUSTOMER_SECRET",
    "RESOURCE_ID",
    "SID",
    "UID",
    "dumps",
    "handle",
    "individual_query_wire",
    "mix_query_wire",
    "mix_start_config",
    "small_mix_start_config",
    "start_response_wire",
    "web_query_wire",
]

APP_ID: Final = "benchmarkappid0123456789abcdef00"
CUSTOMER_ID: Final = "emulator-customer-id"
CUSTOMER_SECRET: Final = "emulator-customer-secret"
BASE_URL: Final = "http://bench.invalid"
CNAME: Final = "benchmark-room-0001"
UID: Final = "527841"
SID: Final = "38f8e3cfdc474cd56fc1ceba380d7e1a"
# Real resource IDs are opaque and about 270 characters long.
RESOURCE_ID: Final = "JyvK8nXHuV1BE64GDkAaBGEscvtHW7v8BrQoRPCHxmeVxwY22-x-kv4GdPcjZeMzoCBU" * 4
_SLICE: Final = 1_704_067_200_000


def dumps(wire: object) -> bytes:
    """Compact JSON bytes, the way the client encodes bodies."""
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def handle() -> RecordingHandle:
    """The handle the per-call benchmarks query."""
    return RecordingHandle(resource_id=RESOURCE_ID, sid=SID, mode="mix", cname=CNAME, uid=UID)


def _layout(regions: int) -> tuple[LayoutRegion, ...]:
    """A 4-column grid of ``regions`` tiles (17: four full rows and one tile)."""
    columns, rows = 4, (regions + 3) // 4
    return tuple(
        LayoutRegion(
            uid=str(1000 + index),
            x_axis=(index % columns) / columns,
            y_axis=(index // columns) / rows,
            width=1 / columns,
            height=1 / rows,
            alpha=1.0 if index % 2 else 0.9,
            render_mode=RenderMode.CROPPED if index % 3 else RenderMode.FIT,
        )
        for index in range(regions)
    )


def mix_start_config(regions: int = 17) -> StartConfig:
    """A large mix ``clientRequest``: every storage field, 17 layout regions, HLS + MP4."""
    uids = tuple(str(1000 + index) for index in range(regions))
    return StartConfig(
        token="007eJxTYBBa9Example0RtcTokenForTheRecorderUid527841" * 3,
        storage_config=StorageConfig(
            vendor=Vendor.AMAZON_S3,
            region=3,
            bucket="recordings-bucket",
            access_key="AKIAEXAMPLEACCESSKEY0",
            secret_key="ExampleSecretKey0123456789abcdefEXAMPLE0",
            sts_token="FwoGZXIvYXdzEExampleStsToken" * 4,
            sts_expiration=1_767_225_600,
            file_name_prefix=("recordings", "tenant42", "room0001"),
            extension_params=ExtensionParams(sse="kms", tag="project=benchmark"),
        ),
        recording_config=RecordingConfig(
            channel_type=ChannelType.LIVE_BROADCASTING,
            stream_types=StreamTypes.AUDIO_AND_VIDEO,
            audio_profile=1,
            video_stream_type=0,
            max_idle_time=300,
            subscribe_audio_uids=uids,
            subscribe_video_uids=uids,
            transcoding_config=TranscodingConfig(
                width=1280,
                height=720,
                fps=15,
                bitrate=1130,
                mixed_video_layout=MixedVideoLayout.CUSTOM,
                background_color="#000000",
                background_image="https://example.com/canvas.jpg",
                default_user_background_image="https://example.com/user-default.jpg",
                layout_config=_layout(regions),
                background_config=tuple(
                    UserBackground(uid=uid, image_url=f"https://example.com/bg/{uid}.jpg")
                    for uid in uids[:4]
                ),
            ),
            private_params='{"correctEXTINF":true}',
        ),
        recording_file_config=RecordingFileConfig(av_file_type=(AvFileType.HLS, AvFileType.MP4)),
    )


def small_mix_start_config() -> StartConfig:
    """A minimal mix ``clientRequest`` (the scale benchmark starts thousands of these)."""
    return StartConfig(
        storage_config=StorageConfig(
            vendor=Vendor.AMAZON_S3,
            region=3,
            bucket="recordings-bucket",
            access_key="AKIAEXAMPLEACCESSKEY0",
            secret_key="ExampleSecretKey0123456789abcdefEXAMPLE0",
        ),
        recording_config=RecordingConfig(channel_type=ChannelType.COMMUNICATION, max_idle_time=300),
    )


def _ids() -> dict[str, Any]:
    return {"cname": CNAME, "uid": UID, "resourceId": RESOURCE_ID, "sid": SID}


def start_response_wire() -> dict[str, Any]:
    """The body of a successful start."""
    return _ids()


def mix_query_wire() -> dict[str, Any]:
    """A mix query with HLS + MP4 (``fileListMode`` json): the per-call benchmark's answer."""
    prefix = f"{SID}_{CNAME}"
    return {
        **_ids(),
        "serverResponse": {
            "fileListMode": "json",
            "fileList": [
                {
                    "fileName": f"{prefix}.m3u8",
                    "trackType": "audio_and_video",
                    "uid": "0",
                    "mixedAllUser": True,
                    "isPlayable": True,
                    "sliceStartTime": _SLICE,
                },
                {
                    "fileName": f"{prefix}_20240101000000000.mp4",
                    "trackType": "audio_and_video",
                    "uid": "0",
                    "mixedAllUser": True,
                    "isPlayable": True,
                    "sliceStartTime": _SLICE,
                },
            ],
            "status": 5,
            "sliceStartTime": _SLICE,
        },
    }


def individual_query_wire(files: int = 50) -> dict[str, Any]:
    """An individual query listing ``files`` per-user tracks."""
    return {
        **_ids(),
        "serverResponse": {
            "fileListMode": "json",
            "fileList": [
                {
                    "fileName": f"{SID}_{CNAME}__uid_s_{1000 + i}__uid_e_"
                    f"{'audio' if i % 2 else 'video'}.m3u8",
                    "trackType": "audio" if i % 2 else "video",
                    "uid": str(1000 + i // 2),
                    "mixedAllUser": False,
                    "isPlayable": True,
                    "sliceStartTime": _SLICE + i * 1000,
                }
                for i in range(files)
            ],
            "status": 5,
            "sliceStartTime": _SLICE,
        },
    }


def web_query_wire(files: int = 100) -> dict[str, Any]:
    """A web query: the recorder with ``files`` slices, a CDN push and the upload service."""
    return {
        **_ids(),
        "serverResponse": {
            "status": 5,
            "extensionServiceState": [
                {
                    "serviceName": "web_recorder_service",
                    "payload": {
                        "fileList": [
                            {
                                "filename": f"{SID}_{CNAME}_{i}.mp4",
                                "sliceStartTime": _SLICE + i * 120_000,
                            }
                            for i in range(files)
                        ],
                        "onhold": False,
                        "state": "inProgress",
                    },
                },
                {
                    "serviceName": "rtmp_publish_service",
                    "payload": {
                        "outputs": [
                            {
                                "rtmpUrl": "rtmp://live.example.com/app/stream101",
                                "status": "publishing",
                            }
                        ],
                        "state": "inProgress",
                    },
                },
                {"serviceName": "upload_service", "payload": {"uploadingStatus": "uploaded"}},
            ],
        },
    }
