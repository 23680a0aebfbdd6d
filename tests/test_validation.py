"""The documented request rules, checked on wire dicts (agora_recording.validation)."""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Callable
from typing import Any

import pytest
from agora_recording.errors import ValidationError
from agora_recording.validation import (
    CNAME_CHARACTERS,
    STORAGE_REGIONS,
    check_acquire,
    check_cname,
    check_envelope,
    check_start,
    check_stop,
    check_uid,
    check_update,
    check_update_layout,
    find_problems,
)

Body = dict[str, Any]

CNAME = "httpClient463224"
UID = "527841"
ACCESS_KEY = "AK-do-not-leak-1234"
SECRET_KEY = "SK-do-not-leak-5678"
TOKEN = "TOKEN-do-not-leak-9012"
SECRETS = (ACCESS_KEY, SECRET_KEY, TOKEN)


# --- documented examples (Agora's RESTful API reference), secrets made recognisable -------------


def storage() -> Body:
    """The storageConfig of the web start example (the start reference)."""
    return {
        "vendor": 2,
        "region": 3,
        "bucket": "xxxxx",
        "accessKey": ACCESS_KEY,
        "secretKey": SECRET_KEY,
        "fileNamePrefix": ["directory1", "directory2"],
    }


def envelope(request: Body) -> Body:
    """Wrap a clientRequest in the documented envelope."""
    return {"cname": CNAME, "uid": UID, "clientRequest": request}


def acquire_body() -> Body:
    """the acquire reference example."""
    return {
        "cname": "<your_channel_name>",
        "uid": UID,
        "clientRequest": {"scene": 0, "resourceExpiredHour": 24},
    }


def individual_start() -> Body:
    """An individual start using the documented fields of the start reference."""
    return envelope(
        {
            "token": TOKEN,
            "storageConfig": storage(),
            "recordingConfig": {
                "channelType": 1,
                "streamTypes": 2,
                "streamMode": "standard",
                "videoStreamType": 0,
                "maxIdleTime": 300,
                "subscribeAudioUids": ["#allstream#"],
                "subscribeVideoUids": ["#allstream#"],
                "subscribeUidGroup": 0,
            },
            "recordingFileConfig": {"avFileType": ["hls"]},
        }
    )


def raw_start() -> Body:
    """An individual start in today's raw mode: no streamMode (the start reference)."""
    body = individual_start()
    del body["clientRequest"]["recordingConfig"]["streamMode"]
    return body


def snapshot_start() -> Body:
    """An individual start that records and takes screenshots (the start reference)."""
    body = individual_start()
    body["clientRequest"]["snapshotConfig"] = {"captureInterval": 5, "fileType": ["jpg"]}
    return body


def mix_start() -> Body:
    """A mix start with the the updateLayout reference layout as its transcodingConfig."""
    return envelope(
        {
            "token": TOKEN,
            "storageConfig": storage(),
            "recordingConfig": {
                "channelType": 0,
                "streamTypes": 2,
                "audioProfile": 1,
                "videoStreamType": 0,
                "maxIdleTime": 30,
                "transcodingConfig": {
                    "width": 640,
                    "height": 360,
                    "fps": 15,
                    "bitrate": 500,
                    "mixedVideoLayout": 3,
                    "backgroundColor": "#FF0000",
                    "layoutConfig": layout_regions(),
                    "backgroundConfig": [
                        {"uid": "1", "image_url": "https://example.com/a.jpg", "render_mode": 0}
                    ],
                },
            },
            "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
        }
    )


def layout_regions() -> list[Body]:
    """The two regions of the the updateLayout reference updateLayout example."""
    return [
        {"uid": "1", "x_axis": 0.1, "y_axis": 0.1, "width": 0.1, "height": 0.1, "alpha": 1},
        {"uid": "2", "x_axis": 0.2, "y_axis": 0.2, "width": 0.1, "height": 0.1, "render_mode": 1},
    ]


def web_start() -> Body:
    """the start reference web start example (recording + CDN push)."""
    return envelope(
        {
            "extensionServiceConfig": {
                "extensionServices": [
                    {
                        "serviceName": "web_recorder_service",
                        "errorHandlePolicy": "error_abort",
                        "serviceParam": {
                            "url": "https://xxxxx",
                            "audioProfile": 0,
                            "videoWidth": 1280,
                            "videoHeight": 720,
                            "maxRecordingHour": 3,
                            "maxVideoDuration": 200,
                        },
                    },
                    {
                        "serviceName": "rtmp_publish_service",
                        "errorHandlePolicy": "error_ignore",
                        "serviceParam": {"outputs": [{"rtmpUrl": "rtmp://xxx"}]},
                    },
                ]
            },
            "recordingFileConfig": {"avFileType": ["hls", "mp4"]},
            "storageConfig": storage(),
        }
    )


def postponed_start() -> Body:
    """the start reference example: postponed audio mixing in individual mode."""
    return envelope(
        {
            "appsCollection": {"combinationPolicy": "postpone_transcoding"},
            "recordingConfig": {
                "maxIdleTime": 30,
                "streamTypes": 0,
                "streamMode": "original",
                "channelType": 0,
                "subscribeAudioUids": ["123", "456"],
                "subscribeUidGroup": 0,
            },
            "transcodeOptions": {
                "container": {"format": "m4a"},
                "transConfig": {"transMode": "audioMix"},
                "audio": {"sampleRate": "48000", "bitrate": "48000", "channels": "2"},
            },
            "storageConfig": storage(),
        }
    )


def update_body() -> Body:
    """the update reference example."""
    return envelope(
        {
            "streamSubscribe": {
                "audioUidList": {"subscribeAudioUids": ["#allstream#"]},
                "videoUidList": {"unSubscribeVideoUids": ["444", "555", "666"]},
            }
        }
    )


def web_update_body() -> Body:
    """A web-mode update: resume slicing and move the CDN push."""
    return envelope(
        {
            "webRecordingConfig": {"onhold": False},
            "rtmpPublishConfig": {"outputs": [{"rtmpUrl": "rtmps://cdn.example.com/live"}]},
        }
    )


def layout_body() -> Body:
    """the updateLayout reference example."""
    return envelope(
        {"mixedVideoLayout": 3, "backgroundColor": "#FF0000"} | {"layoutConfig": layout_regions()}
    )


def stop_body() -> Body:
    """the stop reference: an empty clientRequest."""
    return envelope({})


BASES: dict[str, tuple[str, str | None, Callable[[], Body]]] = {
    "acquire": ("acquire", None, acquire_body),
    "individual": ("start", "individual", individual_start),
    "raw": ("start", "raw", raw_start),
    "snapshot": ("start", "individual", snapshot_start),
    "postponed": ("start", "individual", postponed_start),
    "mix": ("start", "mix", mix_start),
    "web": ("start", "web", web_start),
    "update": ("update", "individual", update_body),
    "update-mix": ("update", "mix", update_body),
    "update-web": ("update", "web", web_update_body),
    "layout": ("updateLayout", "mix", layout_body),
    "stop": ("stop", None, stop_body),
}

CHECKS: dict[str, Callable[[str | None, Body], None]] = {
    "acquire": lambda mode, body: check_acquire(body),
    "start": lambda mode, body: check_start(str(mode), body),
    "update": lambda mode, body: check_update(str(mode), body),
    "updateLayout": lambda mode, body: check_update_layout(str(mode), body),
    "stop": lambda mode, body: check_stop(body, mode=mode),
}


# --- editing bodies by wire path ---------------------------------------------------------------

DELETE = object()
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def edit(body: Body, path: str, value: object) -> None:
    """Set (or delete, with DELETE) the value at a wire path such as ``a.b[0].c``."""
    keys: list[str | int] = [name if name else int(index) for name, index in _TOKEN.findall(path)]
    target: Any = body
    for key in keys[:-1]:
        target = target[key]
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


def build(base: str, edits: dict[str, object]) -> tuple[str, str | None, Body]:
    """A fresh copy of a base body with the edits applied, plus its endpoint and mode."""
    endpoint, mode, factory = BASES[base]
    body = copy.deepcopy(factory())
    for path, value in edits.items():
        edit(body, path, value if value is DELETE else copy.deepcopy(value))
    return endpoint, mode, body


# --- the rule table ----------------------------------------------------------------------------

CR = "clientRequest"
RC = f"{CR}.recordingConfig"
SC = f"{CR}.storageConfig"
TC = f"{RC}.transcodingConfig"
SNAP = f"{CR}.snapshotConfig"
OPT = f"{CR}.transcodeOptions"
ESC = f"{CR}.extensionServiceConfig"
WS = f"{ESC}.extensionServices"
WP = f"{WS}[0].serviceParam"
RP = f"{WS}[1].serviceParam"
SP = f"{CR}.startParameter"
SUB = f"{CR}.streamSubscribe"
LC = f"{CR}.layoutConfig"


def case(name: str, base: str, edits: dict[str, object], field: str, fragment: str) -> Any:
    """One row: a base body, its edits, the field the error names and a piece of its rule."""
    return pytest.param(base, edits, field, fragment, id=name)


def bad(name: str, base: str, path: str, value: object, fragment: str) -> Any:
    """The common row: one bad value at ``path``, reported at that same path."""
    return case(name, base, {path: value}, path, fragment)


UIDS_33 = [str(n) for n in range(1, 34)]
REGIONS_18 = [{"x_axis": 0, "y_axis": 0, "width": 1, "height": 1}] * 18
WEB_SERVICE = copy.deepcopy(web_start()["clientRequest"]["extensionServiceConfig"])
RECORDER = WEB_SERVICE["extensionServices"][0]
RTMP = WEB_SERVICE["extensionServices"][1]

# fmt: off
CASES = [
    # envelope
    bad("cname-empty", "acquire", "cname", "", "non-empty string"),
    bad("cname-65-bytes", "acquire", "cname", "a" * 65, "got 65 bytes"),
    bad("cname-bad-char", "acquire", "cname", "a/b", '"/" at index 1'),
    bad("cname-non-ascii", "individual", "cname", "é", "at most 64 bytes"),
    bad("cname-missing", "acquire", "cname", DELETE, "is required"),
    bad("cname-number", "acquire", "cname", 42, "got 42"),
    bad("web-cname-1025", "web", "cname", "x" * 1025, "at most 1024 bytes"),
    bad("uid-zero", "acquire", "uid", "0", "decimal string"),
    bad("uid-plus", "acquire", "uid", "+5", 'got "+5"'),
    bad("uid-space", "acquire", "uid", " 5", "no sign, spaces"),
    bad("uid-leading-zero", "acquire", "uid", "007", "leading zeros"),
    bad("uid-number", "acquire", "uid", 527841, "got 527841"),
    bad("uid-too-big", "acquire", "uid", "4294967296", "4294967295"),
    bad("uid-missing", "acquire", "uid", DELETE, "is required"),
    bad("client-request-missing", "acquire", CR, DELETE, "is required"),
    bad("client-request-list", "acquire", CR, [], "must be an object"),
    # acquire
    bad("scene", "acquire", f"{CR}.scene", 3, "one of 0, 1, 2"),
    bad("expired-hour-0", "acquire", f"{CR}.resourceExpiredHour", 0, "[1, 720]"),
    bad("expired-hour-721", "acquire", f"{CR}.resourceExpiredHour", 721, "got 721"),
    bad("expired-hour-float", "acquire", f"{CR}.resourceExpiredHour", 24.0, "integer"),
    bad("region", "acquire", f"{CR}.region", "US", '"CN", "AP", "EU", "NA"'),
    bad("region-affinity", "acquire", f"{CR}.regionAffinity", 5, "0, 1, 2, 3, 4"),
    bad("exclude-not-list", "acquire", f"{CR}.excludeResourceIds", "abc", "must be a list"),
    case("exclude-item", "acquire", {f"{CR}.excludeResourceIds": [1]},
         f"{CR}.excludeResourceIds[0]", "non-empty string"),
    case("start-parameter-storage", "acquire", {SP: {}}, f"{SP}.storageConfig", "is required"),
    case("start-parameter-idle", "acquire",
         {SP: {"storageConfig": storage(), "recordingConfig": {"maxIdleTime": 1}}},
         f"{SP}.recordingConfig.maxIdleTime", "[5, 2592000]"),
    case("start-parameter-web-scene", "acquire",
         {f"{CR}.scene": 1, SP: {"storageConfig": storage()}},
         f"{SP}.extensionServiceConfig", "is required in web mode"),
    # storageConfig
    bad("storage-missing", "individual", SC, DELETE, "is required"),
    bad("vendor-9", "individual", f"{SC}.vendor", 9, "0, 1, 2, 3, 4, 5, 6, 7, 8, 11"),
    bad("vendor-missing", "individual", f"{SC}.vendor", DELETE, "is required"),
    bad("storage-region", "individual", f"{SC}.region", -1, "integer in [0, 27] for vendor 2"),
    bad("bucket-empty", "individual", f"{SC}.bucket", "", "3 to 63 characters"),
    bad("bucket-punctuation-oss", "individual", f"{SC}.bucket", "My_Bucket!! /x", "Alibaba"),
    bad("access-key-missing", "individual", f"{SC}.accessKey", DELETE, "is required"),
    bad("secret-key-number", "individual", f"{SC}.secretKey", 5, "non-empty string"),
    bad("access-key-10000", "individual", f"{SC}.accessKey", "k" * 10_000, "at most 1024"),
    bad("secret-key-2000", "individual", f"{SC}.secretKey", "k" * 2_000, "at most 1024"),
    case("s3-region-999", "individual", {f"{SC}.vendor": 1, f"{SC}.region": 999},
         f"{SC}.region", "[0, 25] for vendor 1 (AMAZON_S3)"),
    case("tencent-region-20", "individual",
         {f"{SC}.vendor": 3, f"{SC}.region": 20, f"{SC}.bucket": "media-1250000000"},
         f"{SC}.region", "[0, 19]"),
    case("azure-region-1", "individual",
         {f"{SC}.vendor": 5, f"{SC}.region": 1}, f"{SC}.region", "[0, 0]"),
    case("baidu-region-8", "individual",
         {f"{SC}.vendor": 8, f"{SC}.region": 8}, f"{SC}.region", "[0, 7]"),
    case("s3-bucket-upper", "individual", {f"{SC}.vendor": 1, f"{SC}.bucket": "My-Bucket"},
         f"{SC}.bucket", "Amazon S3"),
    case("s3-bucket-dots", "individual", {f"{SC}.vendor": 1, f"{SC}.bucket": "my..bucket"},
         f"{SC}.bucket", "no '..'"),
    case("s3-bucket-ip", "individual", {f"{SC}.vendor": 1, f"{SC}.bucket": "192.168.5.4"},
         f"{SC}.bucket", "not an IP address"),
    case("s3-bucket-2", "individual", {f"{SC}.vendor": 1, f"{SC}.bucket": "ab"},
         f"{SC}.bucket", "3 to 63"),
    case("s3-bucket-64", "individual", {f"{SC}.vendor": 1, f"{SC}.bucket": "b" * 64},
         f"{SC}.bucket", "3 to 63"),
    case("oss-bucket-dot", "individual", {f"{SC}.bucket": "my.bucket"},
         f"{SC}.bucket", "a-z, 0-9 and '-'"),
    case("cos-bucket-no-appid", "individual", {f"{SC}.vendor": 3, f"{SC}.bucket": "media"},
         f"{SC}.bucket", "<BucketName>-<APPID>"),
    case("azure-double-dash", "individual",
         {f"{SC}.vendor": 5, f"{SC}.region": 0, f"{SC}.bucket": "rec--ordings"},
         f"{SC}.bucket", "single '-'"),
    case("google-long-part", "individual",
         {f"{SC}.vendor": 6, f"{SC}.region": 0, f"{SC}.bucket": "a" * 64 + ".example.com"},
         f"{SC}.bucket", "63 between dots"),
    case("huawei-dot-dash", "individual",
         {f"{SC}.vendor": 7, f"{SC}.bucket": "my.-bucket"}, f"{SC}.bucket", "'.-'"),
    case("s3-compatible-punctuation", "individual",
         {f"{SC}.vendor": 11, f"{SC}.region": 0, f"{SC}.bucket": "My_Bucket!! /x",
          f"{SC}.extensionParams": {"endpoint": "https://storage.example.com"}},
         f"{SC}.bucket", "letters, digits"),
    case("sts-token-vendor", "individual",
         {f"{SC}.vendor": 5, f"{SC}.region": 0, f"{SC}.stsToken": "sts"},
         f"{SC}.stsToken", "vendors 1, 2 and 3"),
    case("sts-expiration-vendor", "individual",
         {f"{SC}.vendor": 6, f"{SC}.region": 0, f"{SC}.stsExpiration": 1700000000},
         f"{SC}.stsExpiration", "not vendor 6"),
    case("vendor-11-endpoint", "individual", {f"{SC}.vendor": 11, f"{SC}.region": 0},
         f"{SC}.extensionParams.endpoint", "when vendor is 11"),
    case("sse", "individual", {f"{SC}.extensionParams": {"sse": "des"}},
         f"{SC}.extensionParams.sse", '"kms", "aes256"'),
    case("prefix-item", "individual", {f"{SC}.fileNamePrefix": ["dir_1"]},
         f"{SC}.fileNamePrefix[0]", "A-Z, a-z and 0-9"),
    bad("prefix-length", "individual", f"{SC}.fileNamePrefix", ["a" * 60, "b" * 60, "c" * 10],
        "at most 128 characters"),
    # recordingConfig
    bad("recording-missing", "individual", RC, DELETE, "is required in individual mode"),
    bad("mix-recording-missing", "mix", RC, DELETE, "is required in mix mode"),
    bad("channel-type", "individual", f"{RC}.channelType", 2, "one of 0, 1"),
    bad("stream-types", "individual", f"{RC}.streamTypes", 3, "0, 1, 2"),
    bad("stream-mode", "individual", f"{RC}.streamMode", "raw",
        '"default", "standard", "original"'),
    bad("stream-mode-in-mix", "mix", f"{RC}.streamMode", "standard",
        "only allowed in individual mode"),
    bad("decryption-9", "individual", f"{RC}.decryptionMode", 9, "8"),
    case("secret-missing", "individual", {f"{RC}.decryptionMode": 1},
         f"{RC}.secret", "required when decryptionMode is not 0"),
    case("salt-missing", "individual", {f"{RC}.decryptionMode": 7, f"{RC}.secret": "s"},
         f"{RC}.salt", "required when decryptionMode is 7 or 8"),
    bad("audio-profile-individual", "individual", f"{RC}.audioProfile", 1,
        "only allowed in mix mode"),
    bad("audio-profile-3", "mix", f"{RC}.audioProfile", 3, "0, 1, 2"),
    bad("video-stream-type", "individual", f"{RC}.videoStreamType", 2, "0, 1"),
    bad("idle-4", "individual", f"{RC}.maxIdleTime", 4, "[5, 2592000]"),
    bad("idle-too-long", "individual", f"{RC}.maxIdleTime", 2592001, "got 2592001"),
    bad("audio-list-33", "individual", f"{RC}.subscribeAudioUids", UIDS_33,
        "at most 32 items, got 33"),
    case("video-list-entry", "individual", {f"{RC}.subscribeVideoUids": ["abc"]},
         f"{RC}.subscribeVideoUids[0]", '"#allstream#"'),
    bad("audio-exclusive", "individual", f"{RC}.unSubscribeAudioUids", ["1"],
        "together with subscribeAudioUids"),
    bad("video-exclusive-lowercase", "individual", f"{RC}.unsubscribeVideoUids", ["1"],
        "together with subscribeVideoUids"),
    case("both-spellings", "individual",
         {f"{RC}.subscribeAudioUids": DELETE, f"{RC}.unSubscribeAudioUids": ["1"],
          f"{RC}.unsubscribeAudioUids": ["2"]},
         f"{RC}.unsubscribeAudioUids", "same list"),
    case("audio-list-video-only", "individual",
         {f"{RC}.streamTypes": 1, f"{RC}.subscribeVideoUids": DELETE},
         f"{RC}.subscribeAudioUids", "streamTypes is 1"),
    case("video-list-audio-only", "individual",
         {f"{RC}.streamTypes": 0, f"{RC}.subscribeAudioUids": DELETE},
         f"{RC}.subscribeVideoUids", "streamTypes is 0"),
    bad("raw-stream-mode", "raw", f"{RC}.streamMode", "standard", "not part of raw mode"),
    bad("raw-extension-services", "raw", f"{CR}.extensionServiceConfig",
        {"extensionServices": [RTMP]}, "refused in raw mode"),
    bad("raw-recording-missing", "raw", RC, DELETE, "is required in raw mode"),
    bad("raw-audio-profile", "raw", f"{RC}.audioProfile", 1, "only allowed in mix mode"),
    bad("uid-group-6", "individual", f"{RC}.subscribeUidGroup", 6, "0, 1, 2, 3, 4, 5"),
    bad("transcoding-in-individual", "individual", TC, {}, "only allowed in mix mode"),
    bad("token-number", "individual", f"{CR}.token", 123, "must be a string"),
    # transcodingConfig and layouts
    bad("width-1921", "mix", f"{TC}.width", 1921, "[1, 1920]"),
    case("canvas-pixels", "mix", {f"{TC}.width": 1920, f"{TC}.height": 1920},
         TC, "at most 2073600"),
    bad("fps-0", "mix", f"{TC}.fps", 0, "integer >= 1"),
    bad("bitrate-0", "mix", f"{TC}.bitrate", 0, "integer >= 1"),
    bad("layout-4", "mix", f"{TC}.mixedVideoLayout", 4, "0, 1, 2, 3"),
    case("vertical-needs-uid", "mix", {f"{TC}.mixedVideoLayout": 2},
         f"{TC}.maxResolutionUid", "required when mixedVideoLayout is 2"),
    bad("max-resolution-uid", "mix", f"{TC}.maxResolutionUid", "0", "decimal string"),
    bad("color-short", "mix", f"{TC}.backgroundColor", "#FFF", "6 hex digits"),
    bad("color-name", "mix", f"{TC}.backgroundColor", "red", 'got "red"'),
    bad("regions-18", "mix", f"{TC}.layoutConfig", REGIONS_18, "at most 17 items"),
    bad("region-x-missing", "mix", f"{TC}.layoutConfig[0].x_axis", DELETE, "is required"),
    bad("region-y-1.5", "mix", f"{TC}.layoutConfig[1].y_axis", 1.5, "[0, 1]"),
    bad("region-alpha", "mix", f"{TC}.layoutConfig[0].alpha", -0.1, "got -0.1"),
    bad("region-render-mode", "mix", f"{TC}.layoutConfig[0].render_mode", 2, "one of 0, 1"),
    bad("region-uid", "mix", f"{TC}.layoutConfig[0].uid", "abc", "decimal string"),
    bad("region-not-object", "mix", f"{TC}.layoutConfig[0]", "left", "must be an object"),
    bad("background-url", "mix", f"{TC}.backgroundConfig[0].image_url", "ftp://x/a.jpg",
        "http:// or https://"),
    bad("background-uid", "mix", f"{TC}.backgroundConfig[0].uid", DELETE, "is required"),
    # recordingFileConfig
    bad("mp4-alone", "mix", f"{CR}.recordingFileConfig.avFileType", ["mp4"], 'must include "hls"'),
    bad("av-empty", "mix", f"{CR}.recordingFileConfig.avFileType", [], "non-empty list"),
    case("av-flv", "mix", {f"{CR}.recordingFileConfig.avFileType": ["hls", "flv"]},
         f"{CR}.recordingFileConfig.avFileType[1]", '"hls", "mp4"'),
    # snapshotConfig
    bad("snapshot-png", "snapshot", f"{SNAP}.fileType", ["png"], 'must be ["jpg"]'),
    bad("snapshot-file-type-missing", "snapshot", f"{SNAP}.fileType", DELETE, "is required"),
    bad("capture-4", "snapshot", f"{SNAP}.captureInterval", 4, "[5, 3600]"),
    bad("capture-3601", "snapshot", f"{SNAP}.captureInterval", 3601, "got 3601"),
    case("snapshot-audio-only", "snapshot",
         {f"{RC}.streamTypes": 0, f"{RC}.subscribeVideoUids": DELETE},
         f"{RC}.streamTypes", "1 or 2 with snapshotConfig"),
    bad("snapshot-audio-list-alone", "snapshot", f"{RC}.subscribeVideoUids", DELETE,
        "subscribeAudioUids is set"),
    bad("snapshot-in-mix", "mix", SNAP, {"fileType": ["jpg"]}, "raw and individual modes"),
    bad("snapshot-in-web", "web", SNAP, {"fileType": ["jpg"]}, "raw and individual modes"),
    # extensionServiceConfig
    bad("extension-in-individual", "individual", ESC, WEB_SERVICE,
        "only allowed in mix and web modes"),
    case("web-recorder-in-mix", "mix", {ESC: WEB_SERVICE},
         f"{WS}[0].serviceName", '"aliyun_vod_service" in mix mode'),
    bad("extension-missing", "web", ESC, DELETE, "is required in web mode"),
    bad("config-policy", "web", f"{ESC}.errorHandlePolicy", "error_ignore",
        'must be "error_abort"'),
    bad("services-empty", "web", WS, [], "1 to 2 items, got 0"),
    bad("services-3", "web", WS, [RECORDER, RTMP, RTMP], "1 to 2 items, got 3"),
    bad("service-unknown", "web", f"{WS}[1].serviceName", "upload_service",
        '"web_recorder_service", "rtmp_publish_service" in web mode'),
    case("service-twice", "web", {WS: [RECORDER, RECORDER]},
         f"{WS}[1].serviceName", "must not repeat"),
    bad("rtmp-alone", "web", WS, [RTMP], "needs web_recorder_service"),
    bad("rtmp-policy", "web", f"{WS}[1].errorHandlePolicy", "error_abort",
        '"error_ignore" for rtmp_publish_service'),
    bad("service-param-missing", "web", WP, DELETE, "is required"),
    bad("web-url", "web", f"{WP}.url", "xxxxx", "http:// or https://"),
    bad("web-audio-profile-missing", "web", f"{WP}.audioProfile", DELETE, "is required"),
    bad("web-width-1921", "web", f"{WP}.videoWidth", 1921, "[1, 1920]"),
    bad("web-height-missing", "web", f"{WP}.videoHeight", DELETE, "is required"),
    case("web-pixels", "web", {f"{WP}.videoWidth": 1920, f"{WP}.videoHeight": 1920},
         WP, "at most 2073600"),
    bad("web-max-hour", "web", f"{WP}.maxRecordingHour", 721, "[1, 720]"),
    bad("web-bitrate", "web", f"{WP}.videoBitrate", 0, "integer >= 1"),
    bad("web-fps", "web", f"{WP}.videoFps", 61, "[5, 60]"),
    bad("web-duration", "web", f"{WP}.maxVideoDuration", 241, "[30, 240]"),
    bad("ready-float", "web", f"{WP}.readyTimeout", 1.5, "[0, 60]"),
    bad("ready-negative", "web", f"{WP}.readyTimeout", -1, "got -1"),
    bad("web-mobile", "web", f"{WP}.mobile", "yes", "true or false"),
    bad("web-onhold", "web", f"{WP}.onhold", 1, "true or false"),
    bad("rtmp-two-outputs", "web", f"{RP}.outputs",
        [{"rtmpUrl": "rtmp://a"}, {"rtmpUrl": "rtmp://b"}], "exactly 1 item"),
    bad("rtmp-url", "web", f"{RP}.outputs[0].rtmpUrl", "http://cdn", "rtmp:// or rtmps://"),
    # appsCollection and transcodeOptions
    bad("combination", "postponed", f"{CR}.appsCollection.combinationPolicy", "later",
        '"postpone_transcoding"'),
    bad("trans-config-missing", "postponed", f"{OPT}.transConfig", DELETE, "is required"),
    bad("trans-mode", "postponed", f"{OPT}.transConfig.transMode", "x",
        '"postponeTranscoding", "audioMix"'),
    bad("container-wav", "postponed", f"{OPT}.container.format", "wav",
        '"mp4", "mp3", "m4a", "aac"'),
    case("postponed-needs-mp4", "postponed",
         {f"{OPT}.transConfig.transMode": "postponeTranscoding"},
         f"{OPT}.container.format", 'must be "mp4"'),
    bad("sample-rate-number", "postponed", f"{OPT}.audio.sampleRate", 48000,
        '"48000", "32000", "16000"'),
    bad("channels-3", "postponed", f"{OPT}.audio.channels", "3", '"1", "2"'),
    bad("transcode-options-in-mix", "mix", OPT, {"transConfig": {"transMode": "audioMix"}},
        "raw and individual modes"),
    # update
    bad("update-empty", "update", CR, {}, "at least one of streamSubscribe"),
    bad("subscribe-in-web", "update-web", SUB, {}, "only allowed in raw, individual and mix modes"),
    bad("web-config-in-individual", "update", f"{CR}.webRecordingConfig", {"onhold": True},
        "only allowed in web mode"),
    bad("rtmp-config-in-mix", "update-mix", f"{CR}.rtmpPublishConfig", {"outputs": []},
        "only allowed in web mode"),
    bad("update-exclusive", "update", f"{SUB}.audioUidList.unSubscribeAudioUids", ["1"],
        "together with subscribeAudioUids"),
    bad("update-list-33", "update", f"{SUB}.videoUidList.unSubscribeVideoUids", UIDS_33,
        "at most 32 items"),
    bad("update-uid-list-type", "update", f"{SUB}.audioUidList", ["1"], "must be an object"),
    bad("update-onhold", "update-web", f"{CR}.webRecordingConfig.onhold", "false", "true or false"),
    bad("update-rtmp-empty", "update-web", f"{CR}.rtmpPublishConfig.outputs", [], "exactly 1 item"),
    case("update-storage", "update", {SC: storage() | {"accessKey": ""}},
         f"{SC}.accessKey", "non-empty string"),
    case("update-sts-expiration", "update", {SC: storage() | {"vendor": 1, "stsExpiration": -1}},
         f"{SC}.stsExpiration", "integer >= 0"),
    # updateLayout
    bad("layout-width-2", "layout", f"{LC}[0].width", 2, "[0, 1]"),
    case("layout-vertical", "layout", {f"{CR}.mixedVideoLayout": 2},
         f"{CR}.maxResolutionUid", "required when mixedVideoLayout is 2"),
    bad("layout-color", "layout", f"{CR}.backgroundColor", "#GGGGGG", "6 hex digits"),
    bad("layout-regions-18", "layout", LC, REGIONS_18, "at most 17"),
    # stop
    bad("async-stop-string", "stop", f"{CR}.async_stop", "true", "true or false"),
    bad("async-stop-int", "stop", f"{CR}.async_stop", 1, "got 1"),
    bad("stop-no-client-request", "stop", CR, DELETE, "is required"),
    bad("stop-uid", "stop", "uid", "abc", "decimal string"),
]
# fmt: on


@pytest.mark.parametrize(("base", "edits", "field", "fragment"), CASES)
def test_rule_table(base: str, edits: dict[str, object], field: str, fragment: str) -> None:
    """Each broken rule raises a ValidationError naming the wire path and the accepted values."""
    endpoint, mode, body = build(base, edits)
    with pytest.raises(ValidationError) as caught:
        CHECKS[endpoint](mode, body)
    assert (caught.value.field, fragment in caught.value.rule) == (field, True), caught.value.rule
    assert str(caught.value) == f"{field}: {caught.value.rule}"
    assert isinstance(caught.value, ValueError)
    assert not any(secret in str(caught.value) for secret in SECRETS)


@pytest.mark.parametrize(("base", "edits", "field", "fragment"), CASES)
def test_find_problems_agrees_with_check(
    base: str, edits: dict[str, object], field: str, fragment: str
) -> None:
    """find_problems lists the same first problem the check_* function raises."""
    endpoint, mode, body = build(base, edits)
    with pytest.raises(ValidationError) as caught:
        CHECKS[endpoint](mode, body)
    problems = find_problems(endpoint, mode, body)
    assert problems, "expected at least one problem"
    assert (problems[0].field, problems[0].rule) == (caught.value.field, caught.value.rule)


def test_table_is_large_enough() -> None:
    """The rule table covers at least 60 distinct rules with unique names."""
    assert len(CASES) >= 60
    assert len({param.id for param in CASES}) == len(CASES)


# --- valid documented bodies -------------------------------------------------------------------


@pytest.mark.parametrize("base", sorted(BASES))
def test_documented_examples_pass(base: str) -> None:
    """Every documented example body passes its check and has no problems."""
    endpoint, mode, body = build(base, {})
    CHECKS[endpoint](mode, body)
    assert find_problems(endpoint, mode, body) == []


def test_quickstart_acquire_with_empty_request_passes() -> None:
    """The quickstart's acquire sends an empty clientRequest, which is valid."""
    check_acquire(envelope({}))


def test_acquire_with_valid_start_parameter_passes() -> None:
    """An acquire carrying a full start clientRequest as startParameter is valid."""
    body = acquire_body()
    body["clientRequest"]["startParameter"] = mix_start()["clientRequest"]
    check_acquire(body)


def test_web_acquire_allows_web_channel_labels() -> None:
    """With scene 1 the cname is a web label: any characters up to 1024 bytes."""
    body = envelope({"scene": 1, "startParameter": web_start()["clientRequest"]})
    body["cname"] = "page/é" + "x" * 1000
    check_acquire(body)


def test_acquire_can_skip_start_parameter() -> None:
    """start_parameter=False leaves startParameter alone, as the emulator's acquire needs."""
    body = envelope({"startParameter": {}})
    check_acquire(body, start_parameter=False)
    with pytest.raises(ValidationError):
        check_acquire(body)


def test_update_layout_refuses_other_modes() -> None:
    """updateLayout exists only in mix mode; another mode names the path parameter."""
    with pytest.raises(ValidationError) as caught:
        check_update_layout("web", layout_body())
    assert caught.value.field == "mode"
    assert '"mix"' in caught.value.rule


def test_unknown_mode_is_refused() -> None:
    """A mode outside raw/individual/mix/web is refused before the body is read."""
    with pytest.raises(ValidationError) as caught:
        check_start("composite", individual_start())
    assert (caught.value.field, 'got "composite"' in caught.value.rule) == ("mode", True)


def test_body_must_be_an_object() -> None:
    """A body that is not a JSON object is refused as a whole."""
    with pytest.raises(ValidationError) as caught:
        check_stop([])
    assert caught.value.field == "body"


def test_lowercase_unsubscribe_spelling_is_accepted() -> None:
    """The emulator must accept unsubscribeVideoUids as well as unSubscribeVideoUids."""
    body = update_body()
    lists = body["clientRequest"]["streamSubscribe"]["videoUidList"]
    lists["unsubscribeVideoUids"] = lists.pop("unSubscribeVideoUids")
    check_update("mix", body)


def test_lenient_capture_interval_for_the_emulator() -> None:
    """captureInterval 1 is refused for clients but accepted with lenient=True."""
    body = snapshot_start()
    body["clientRequest"]["snapshotConfig"]["captureInterval"] = 1
    with pytest.raises(ValidationError):
        check_start("individual", body)
    check_start("individual", body, lenient=True)
    body["clientRequest"]["snapshotConfig"]["captureInterval"] = 0
    with pytest.raises(ValidationError):
        check_start("individual", body, lenient=True)


def test_web_mode_ignores_recording_config() -> None:
    """recordingConfig is "not applicable" in web mode, so it is ignored rather than refused."""
    body = web_start()
    body["clientRequest"]["recordingConfig"] = {"maxIdleTime": 1}
    body["clientRequest"]["token"] = TOKEN
    check_start("web", body)


def test_vendor_11_with_endpoint_and_sts_for_s3() -> None:
    """Vendor 11 passes with extensionParams.endpoint, and vendor 1 may carry STS fields."""
    body = individual_start()
    storage_config = body["clientRequest"]["storageConfig"]
    storage_config |= {"vendor": 11, "region": 0, "extensionParams": {"endpoint": "s3.example.com"}}
    check_start("individual", body)
    storage_config |= {"vendor": 1, "stsToken": "sts", "stsExpiration": 1_700_000_000}
    storage_config["extensionParams"] = {"sse": "kms", "tag": "rec"}
    check_start("individual", body)


def test_legacy_aliyun_service_in_mix_replaces_storage() -> None:
    """In mix the legacy aliyun_vod_service stands in for storageConfig and refuses it."""
    body = mix_start()
    aliyun = {"serviceName": "aliyun_vod_service", "serviceParam": {"regionId": "cn-shanghai"}}
    body["clientRequest"]["extensionServiceConfig"] = {"extensionServices": [aliyun]}
    with pytest.raises(ValidationError) as caught:
        check_start("mix", body)
    assert caught.value.field == "clientRequest.storageConfig"
    del body["clientRequest"]["storageConfig"]
    check_start("mix", body)


def test_enum_modes_and_endpoints_are_accepted() -> None:
    """Str-valued mode enums and enum or snake_case endpoint names work like plain strings."""

    class Mode(str, enum.Enum):
        MIX = "mix"

    class Endpoint(enum.Enum):
        UPDATE_LAYOUT = ("POST", "/updateLayout")

    check_update_layout(Mode.MIX, layout_body())
    assert find_problems(Endpoint.UPDATE_LAYOUT, Mode.MIX, layout_body()) == []
    assert find_problems("update_layout", "mix", layout_body()) == []
    with pytest.raises(ValueError, match="query"):
        find_problems("query", None, {})


def test_find_problems_collects_everything() -> None:
    """find_problems reports every independent problem, not just the first."""
    body = individual_start()
    body["uid"] = "0"
    body["clientRequest"]["recordingConfig"] |= {"maxIdleTime": 1, "channelType": 5}
    fields = [p.field for p in find_problems("start", "individual", body)]
    assert fields == [
        "uid",
        "clientRequest.recordingConfig.channelType",
        "clientRequest.recordingConfig.maxIdleTime",
    ]


def test_check_envelope_checks_only_the_envelope() -> None:
    """check_envelope looks at cname, uid and clientRequest but not inside clientRequest."""
    check_envelope("start", "individual", envelope({"storageConfig": 1}))
    with pytest.raises(ValidationError) as caught:
        check_envelope("start", "individual", {"cname": CNAME, "uid": UID})
    assert caught.value.field == "clientRequest"


def test_stop_accepts_async_stop_booleans() -> None:
    """async_stop true and false are both valid in a stop body."""
    check_stop(envelope({"async_stop": True}))
    check_stop(envelope({"async_stop": False}), mode="web")


def test_null_counts_as_absent() -> None:
    """A JSON null on an optional field is treated as if the field were left out."""
    body = individual_start()
    body["clientRequest"]["recordingConfig"]["maxIdleTime"] = None
    check_start("individual", body)


# --- uid and cname -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "527841", "4294967295", "1000000000"])
def test_valid_uids(value: str) -> None:
    """Decimal strings in 1..2^32-1 are UIDs."""
    check_uid(value)


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "00",
        "01",
        "+1",
        "-1",
        " 1",
        "1 ",
        "1.0",
        "1e3",
        "",
        "4294967296",
        "99999999999",
        "\uff11\uff12",  # fullwidth digits
        "abc",
        12,
        1.0,
        True,
        None,
        ["1"],
    ],
)
def test_invalid_uids(value: object) -> None:
    """Anything but the integer's own decimal string is refused, naming the field."""
    with pytest.raises(ValidationError) as caught:
        check_uid(value, "clientRequest.layoutConfig[0].uid")
    assert caught.value.field == "clientRequest.layoutConfig[0].uid"


def test_cname_character_set_has_89_characters() -> None:
    """The documented channel-name alphabet has exactly 89 characters, all accepted."""
    assert len(CNAME_CHARACTERS) == 89
    alphabet = "".join(sorted(CNAME_CHARACTERS))
    check_cname(alphabet[:64], "individual")
    check_cname(alphabet[64:], "mix")


@pytest.mark.parametrize(
    ("value", "mode", "ok"),
    [
        ("a" * 64, "individual", True),
        ("a" * 65, "mix", False),
        ("chan/1", "mix", False),
        ("chan\n", "mix", False),
        ("ü", "individual", False),
        ("ü" * 512, "web", True),
        ("ü" * 513, "web", False),
        ("https://example.com/page?x=1", "web", True),
        ("https://example.com/page?x=1", None, True),
        ("", "web", False),
        ("", None, False),
    ],
)
def test_cname_limits(value: str, mode: str | None, ok: bool) -> None:
    """64 bytes from the 89-character set for channels; 1024 bytes of anything for web."""
    if ok:
        check_cname(value, mode)
    else:
        with pytest.raises(ValidationError):
            check_cname(value, mode)


# --- bool is not int, float is not int ---------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "value"),
    [
        ("acquire", f"{CR}.scene", True),
        ("acquire", f"{CR}.resourceExpiredHour", True),
        ("individual", f"{SC}.vendor", True),
        ("individual", f"{SC}.region", False),
        ("individual", f"{RC}.channelType", False),
        ("individual", f"{RC}.streamTypes", True),
        ("individual", f"{RC}.maxIdleTime", True),
        ("individual", f"{RC}.subscribeUidGroup", False),
        ("individual", f"{RC}.maxIdleTime", 30.0),
        ("mix", f"{TC}.width", 640.0),
        ("mix", f"{TC}.mixedVideoLayout", True),
        ("mix", f"{TC}.layoutConfig[0].x_axis", True),
        ("mix", f"{TC}.layoutConfig[0].render_mode", True),
        ("web", f"{WP}.videoWidth", True),
        ("web", f"{WP}.audioProfile", False),
        ("web", f"{WP}.readyTimeout", False),
        ("layout", f"{LC}[0].alpha", False),
    ],
)
def test_bool_and_float_are_not_integers(base: str, path: str, value: object) -> None:
    """true/false and 30.0 are refused where the API wants an integer."""
    endpoint, mode, body = build(base, {path: value})
    with pytest.raises(ValidationError) as caught:
        CHECKS[endpoint](mode, body)
    assert caught.value.field == path
    assert f"got {str(value).lower()}" in caught.value.rule


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, 0.5, 0.123456])
def test_layout_numbers_accept_integers_0_and_1(value: float) -> None:
    """Layout coordinates take any number in [0, 1], including the integers 0 and 1."""
    _, _, body = build("layout", {f"{LC}[0].x_axis": value, f"{LC}[0].alpha": value})
    check_update_layout("mix", body)


# --- secrets -----------------------------------------------------------------------------------


def test_no_secret_value_appears_in_any_message() -> None:
    """Broken or misplaced secret fields are reported without their values."""
    body = individual_start()
    request = body["clientRequest"]
    request["token"] = 918273645
    request["storageConfig"] |= {
        "vendor": 5,
        "accessKey": 918273646,
        "secretKey": ["SK-in-a-list-918273647"],
        "stsToken": "STS-918273648",
    }
    request["recordingConfig"] |= {"decryptionMode": 7, "secret": 918273649, "salt": 918273650}
    problems = find_problems("start", "individual", body)
    fields = {p.field.rsplit(".", 1)[-1] for p in problems}
    assert {"token", "accessKey", "secretKey", "stsToken", "secret", "salt"} <= fields
    for problem in problems:
        assert "9182736" not in str(problem), str(problem)


def test_long_values_are_truncated() -> None:
    """A long offending string is shown shortened so messages stay readable."""
    _, _, body = build("web", {f"{WP}.url": "x" * 500})
    with pytest.raises(ValidationError) as caught:
        check_start("web", body)
    assert len(str(caught.value)) < 200
    assert '..."' in caught.value.rule


# --- storage buckets, regions and keys ------------------------------------------------------------


BUCKET_VENDORS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11]


@pytest.mark.parametrize("vendor", BUCKET_VENDORS)
def test_a_bucket_name_with_spaces_and_punctuation_is_refused_for_every_vendor(vendor: int) -> None:
    """Whatever the vendor, ``"My_Bucket!! /x"`` is refused at ``bucket`` before any request."""
    edits: dict[str, object] = {
        f"{SC}.vendor": vendor,
        f"{SC}.region": 0,
        f"{SC}.bucket": "My_Bucket!! /x",
        f"{SC}.extensionParams": {"endpoint": "https://storage.example.com"},
    }
    _, _, body = build("individual", edits)
    with pytest.raises(ValidationError) as caught:
        check_start("individual", body)
    assert caught.value.field == f"{SC}.bucket"


VALID_BUCKETS = {
    0: "Legacy_Bucket.1",
    1: "my.recordings-2024",
    2: "examplebucket1",
    3: "examplebucket-1250000000",
    4: "ks3-bucket",
    5: "recordings-2024",
    6: "my_recordings.example.com",
    7: "obs-bucket.media",
    8: "bos-bucket",
    11: "MinIO-Bucket_1",
}


@pytest.mark.parametrize(("vendor", "bucket"), sorted(VALID_BUCKETS.items()))
def test_each_vendors_own_bucket_names_are_accepted(vendor: int, bucket: str) -> None:
    """A name the vendor's naming rules allow passes, at the highest documented region index."""
    high = STORAGE_REGIONS[vendor].high
    edits: dict[str, object] = {
        f"{SC}.vendor": vendor,
        f"{SC}.region": 12_345 if high is None else high,
        f"{SC}.bucket": bucket,
        f"{SC}.extensionParams": {"endpoint": "https://storage.example.com"},
    }
    _, _, body = build("individual", edits)
    check_start("individual", body)


def test_an_oversized_key_is_refused_without_quoting_it() -> None:
    """A 10,000-character accessKey is refused, and no part of it reaches the message."""
    key = "AKIA" + "Q" * 9_996
    _, _, body = build("individual", {f"{SC}.accessKey": key})
    with pytest.raises(ValidationError) as caught:
        check_start("individual", body)
    assert caught.value.field == f"{SC}.accessKey"
    assert "QQQ" not in str(caught.value)
    assert "AKIA" not in str(caught.value)


# --- where the pages disagree, the service decides (issue: stricter than the docs) -------------


@pytest.mark.parametrize(
    ("base", "path", "value"),
    [
        # The start reference's snapshot-and-record example omits subscribeUidGroup.
        ("individual", "clientRequest.recordingConfig.subscribeUidGroup", DELETE),
        ("raw", "clientRequest.recordingConfig.subscribeUidGroup", DELETE),
        ("snapshot", "clientRequest.recordingConfig.subscribeUidGroup", DELETE),
        # Only the 1920 * 1080 product is documented by every version of the web page.
        ("web", f"{WP}.videoWidth", 200),
        ("web", f"{WP}.videoHeight", 120),
        # The web videoBitrate range and the mix bitrate maximum are from older pages only.
        ("web", f"{WP}.videoBitrate", 49),
        ("web", f"{WP}.videoBitrate", 9000),
        ("mix", f"{TC}.bitrate", 6501),
    ],
)
def test_values_the_service_may_accept_are_not_refused(base: str, path: str, value: object) -> None:
    """Values outside a bound that only older or contradictory pages give pass validation."""
    endpoint, mode, body = BASES[base][0], BASES[base][1], BASES[base][2]()
    edit(body, path, value)
    CHECKS[endpoint](mode, body)
    assert find_problems(endpoint, mode, body) == []


def test_raw_takes_individual_features_but_not_stream_mode() -> None:
    """Raw mode accepts screenshots and postponed transcoding, as individual does."""
    snapshot = snapshot_start()
    del snapshot["clientRequest"]["recordingConfig"]["streamMode"]
    check_start("raw", snapshot)
    postponed = postponed_start()
    postponed["clientRequest"]["recordingConfig"].pop("streamMode", None)
    check_start("raw", postponed)
    with pytest.raises(ValidationError, match="individual"):
        check_start("raw", individual_start())  # streamMode: the legacy mode keeps it
