"""Behaviour of the models themselves: construction, coercion, secrets, normalized views."""

from __future__ import annotations

import enum
from typing import Any

import attrs
import pytest
from agora_recording import enums, models
from agora_recording.enums import (
    AudioProfile,
    AvFileType,
    Mode,
    RecordingStatus,
    ServiceName,
    TrackType,
    UploadingStatus,
    Vendor,
)
from agora_recording.errors import UnexpectedResponseError, ValidationError
from agora_recording.models import (
    WIRE,
    ExtensionService,
    ExtensionServiceState,
    FileInfo,
    QueryResponse,
    RecordedFile,
    RecordingConfig,
    RecordingFileConfig,
    RecordingHandle,
    ServerResponse,
    StartConfig,
    StartResponse,
    StopResponse,
    StorageConfig,
    UploadServicePayload,
    WebFileInfo,
    WebRecorderPayload,
    WebRecorderServiceParam,
)

SID = "38f8e3cfdc474cd56fc1ceba380d7e1a"


def _storage(**kwargs: Any) -> StorageConfig:
    return StorageConfig(
        vendor=Vendor.AMAZON_S3,
        region=0,
        bucket="bucket",
        access_key="AKIA-ACCESS-VALUE",
        secret_key="SECRET-KEY-VALUE",
        **kwargs,
    )


def _model_classes() -> list[type[Any]]:
    return [
        obj
        for name in models.__all__
        if isinstance(obj := getattr(models, name), type) and attrs.has(obj)
    ]


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
def test_every_model_is_keyword_only_with_wire_keys(cls: type[Any]) -> None:
    """Each model is keyword-only, names every wire key, and defaults optional fields to None."""
    for field in attrs.fields(cls):
        assert field.kw_only, field.name
        assert WIRE in field.metadata, field.name
        if field.default is not attrs.NOTHING:
            assert field.default is None, field.name


def test_field_names_are_snake_case_of_wire_keys_with_documented_exceptions() -> None:
    """Field names follow the documented rule; the exceptions are exactly the listed ones."""
    exceptions = {
        "unSubscribeAudioUids": "unsubscribe_audio_uids",
        "unSubscribeVideoUids": "unsubscribe_video_uids",
        "primaryIP": "primary_ip",  # an acronym: one word in snake_case
        "enableNTPtimestamp": "enable_ntp_timestamp",  # an acronym, and "timestamp" in lower case
    }
    seen_exceptions = set()
    for cls in _model_classes():
        for field in attrs.fields(cls):
            wire = field.metadata[WIRE]
            if wire is None:
                continue
            if wire in exceptions:
                assert field.name == exceptions[wire]
                seen_exceptions.add(wire)
                continue
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in wire)
            assert field.name == snake, (cls.__name__, wire)
    assert seen_exceptions == set(exceptions)


def test_only_start_response_mode_is_off_the_wire() -> None:
    """The one field without a wire key is the client-filled ``StartResponse.mode``."""
    off_wire = [
        (cls.__name__, field.name)
        for cls in _model_classes()
        for field in attrs.fields(cls)
        if field.metadata[WIRE] is None
    ]
    assert off_wire == [("StartResponse", "mode")]


def test_models_are_frozen() -> None:
    """Assigning to a model field raises, so shared configs cannot be changed behind a caller."""
    config = RecordingConfig(max_idle_time=30)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.max_idle_time = 60  # type: ignore[misc]


def test_optional_fields_default_to_none() -> None:
    """An empty config has every field ``None``."""
    config = StartConfig()
    assert all(getattr(config, field.name) is None for field in attrs.fields(StartConfig))


def test_required_fields_are_required() -> None:
    """Documented required fields cannot be left out."""
    with pytest.raises(TypeError):
        StorageConfig(vendor=1, region=0, bucket="b-bucket", access_key="a")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("plain", "member"),
    [(1, Vendor.AMAZON_S3), (11, Vendor.S3_COMPATIBLE), (Vendor.GOOGLE_CLOUD, Vendor.GOOGLE_CLOUD)],
)
def test_enum_fields_accept_member_or_plain_value(plain: Vendor | int, member: Vendor) -> None:
    """A known plain value becomes the member; a member stays the member."""
    vendor = _storage().vendor
    assert vendor is Vendor.AMAZON_S3
    storage = attrs.evolve(_storage(), vendor=plain)
    assert storage.vendor is member


def test_enum_fields_keep_unknown_values() -> None:
    """A value the enum does not know is kept as is, for validation to name it."""
    assert attrs.evolve(_storage(), vendor=42).vendor == 42
    assert type(attrs.evolve(_storage(), vendor=42).vendor) is int
    assert RecordingConfig(stream_mode="future").stream_mode == "future"
    assert FileInfo(track_type="hologram").track_type == "hologram"


def test_string_enum_fields_map_plain_strings_to_members() -> None:
    """String enums map their wire strings to members."""
    assert RecordingConfig(stream_mode="standard").stream_mode is enums.StreamMode.STANDARD
    assert FileInfo(track_type="audio").track_type is TrackType.AUDIO
    assert ExtensionServiceState(service_name="upload_service").service_name is (
        ServiceName.UPLOAD_SERVICE
    )


def test_sequence_fields_become_tuples() -> None:
    """Lists (or any iterable) passed in are stored as tuples, keeping models hashable."""
    config = RecordingConfig(subscribe_audio_uids=["1", "2"], subscribe_video_uids=iter(["3"]))
    assert config.subscribe_audio_uids == ("1", "2")
    assert config.subscribe_video_uids == ("3",)
    same = RecordingConfig(subscribe_audio_uids=("1", "2"), subscribe_video_uids=("3",))
    assert config == same
    assert hash(config) == hash(same)


def test_av_file_type_items_become_members() -> None:
    """``avFileType`` items are mapped one by one, unknown ones kept."""
    config = RecordingFileConfig(av_file_type=["hls", AvFileType.MP4, "webm"])
    assert config.av_file_type == (AvFileType.HLS, AvFileType.MP4, "webm")
    assert config.av_file_type is not None
    assert config.av_file_type[0] is AvFileType.HLS


def test_sequence_fields_refuse_a_bare_string() -> None:
    """A string is not taken as a sequence of one-letter UIDs."""
    with pytest.raises(TypeError, match="sequence"):
        RecordingConfig(subscribe_audio_uids="123")


def test_status_accepts_numeric_string_and_rejects_garbage() -> None:
    """``status`` turns ``"5"`` into ``IN_PROGRESS`` and refuses non-numeric text."""
    assert ServerResponse(status="5").status is RecordingStatus.IN_PROGRESS
    assert ServerResponse(status=20).status is RecordingStatus.EXITED_ABNORMALLY
    assert ServerResponse(status=42).status == 42
    with pytest.raises(ValidationError, match="integer"):
        ServerResponse(status="abc")


def test_uploading_status_misspelling_means_unknown() -> None:
    """The old docs' ``"unknow"`` is ``UploadingStatus.UNKNOWN``, in models and the enum."""
    assert ServerResponse(uploading_status="unknow").uploading_status is UploadingStatus.UNKNOWN
    assert UploadServicePayload(uploading_status="unknow").uploading_status is (
        UploadingStatus.UNKNOWN
    )
    assert UploadingStatus("unknow") is UploadingStatus.UNKNOWN
    with pytest.raises(ValueError, match="bogus"):
        UploadingStatus("bogus")


@pytest.mark.parametrize(
    ("model", "secrets"),
    [
        (
            StorageConfig(
                vendor=1,
                region=0,
                bucket="bkt",
                access_key="ACCESS-VALUE-1",
                secret_key="SECRET-VALUE-2",
                sts_token="STS-VALUE-3",
            ),
            ["ACCESS-VALUE-1", "SECRET-VALUE-2", "STS-VALUE-3"],
        ),
        (StartConfig(token="TOKEN-VALUE-4"), ["TOKEN-VALUE-4"]),
        (
            RecordingConfig(decryption_mode=7, secret="ENC-SECRET-5", salt="ENC-SALT-6"),
            ["ENC-SECRET-5", "ENC-SALT-6"],
        ),
        (
            ExtensionService(
                service_name=ServiceName.ALIYUN_VOD_SERVICE,
                service_param={"accessKey": "VOD-ACCESS-7", "secretKey": "VOD-SECRET-8"},
            ),
            ["VOD-ACCESS-7", "VOD-SECRET-8"],
        ),
    ],
    ids=["storage", "token", "encryption", "legacy-service-param"],
)
def test_repr_hides_secrets(model: object, secrets: list[str]) -> None:
    """No secret value appears in a model's repr, even nested in a bigger config."""
    nested = StartConfig(
        storage_config=model if isinstance(model, StorageConfig) else None,
        recording_config=model if isinstance(model, RecordingConfig) else None,
    )
    for text in (repr(model), repr(nested), str(model)):
        for secret in secrets:
            assert secret not in text
    assert type(model).__name__ in repr(model)


def test_repr_shows_typed_service_params() -> None:
    """A typed web recorder param is not hidden: it holds no credentials."""
    service = ExtensionService(
        service_name="web_recorder_service",
        service_param=WebRecorderServiceParam(
            url="https://example.com/page",
            audio_profile=AudioProfile.MUSIC_STANDARD,
            video_width=1280,
            video_height=720,
            max_recording_hour=1,
        ),
    )
    assert "https://example.com/page" in repr(service)


def test_start_response_handle() -> None:
    """A complete start answer with its mode gives a handle carrying all five identifiers."""
    response = StartResponse(cname="room", uid="527841", resource_id="rid", sid=SID, mode="mix")
    assert response.handle == RecordingHandle(
        resource_id="rid", sid=SID, mode=Mode.MIX, cname="room", uid="527841"
    )
    assert response.handle.mode is Mode.MIX


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"sid": None}, "sid"),
        ({"sid": ""}, "sid"),
        ({"resource_id": None}, "resourceId"),
        ({"mode": None}, "mode"),
        ({"sid": None, "mode": None}, "sid, mode"),
    ],
)
def test_start_response_handle_raises_without_identifiers(
    changes: dict[str, Any], missing: str
) -> None:
    """A start answer missing an identifier (201/7 has no sid) cannot make a handle."""
    response = StartResponse(cname="room", uid="1", resource_id="rid", sid=SID, mode=Mode.WEB)
    with pytest.raises(UnexpectedResponseError, match=missing) as info:
        _ = attrs.evolve(response, **changes).handle
    assert info.value.endpoint == "start"


def test_query_status_and_files_when_server_response_absent() -> None:
    """Without ``serverResponse`` the status is ``None`` and there are no files."""
    response = QueryResponse(sid=SID)
    assert response.status is None
    assert response.files == []


def test_files_from_string_file_list() -> None:
    """A string ``fileList`` is one mixed file with the recording's start time."""
    response = QueryResponse(
        server_response=ServerResponse(
            file_list_mode="string", file_list="sid_room.m3u8", slice_start_time=1562724971626
        )
    )
    assert response.files == [
        RecordedFile(file_name="sid_room.m3u8", mixed_all_user=True, slice_start_time=1562724971626)
    ]


def test_files_from_json_file_list_and_web_payloads() -> None:
    """JSON file objects and web recorder files are all listed, nameless entries skipped."""
    server = ServerResponse(
        file_list=[
            FileInfo(file_name="a.m3u8", track_type="audio", uid="7", slice_start_time=1),
            FileInfo(track_type="video"),
        ],
        extension_service_state=[
            ExtensionServiceState(
                service_name="web_recorder_service",
                payload=WebRecorderPayload(
                    file_list=[WebFileInfo(filename="w.mp4", slice_start_time=2), WebFileInfo()]
                ),
            ),
            ExtensionServiceState(service_name="other", payload={"fileList": ["x"]}),
        ],
    )
    assert StopResponse(server_response=server).files == [
        RecordedFile(file_name="a.m3u8", track_type=TrackType.AUDIO, uid="7", slice_start_time=1),
        RecordedFile(file_name="w.mp4", slice_start_time=2),
    ]


def test_stop_uploading_status_from_either_location() -> None:
    """``uploading_status`` reads ``serverResponse.uploadingStatus`` or the upload service."""
    direct = StopResponse(server_response=ServerResponse(uploading_status="backuped"))
    assert direct.uploading_status is UploadingStatus.BACKUPED
    web = StopResponse(
        server_response=ServerResponse(
            extension_service_state=[
                ExtensionServiceState(service_name="web_recorder_service"),
                ExtensionServiceState(
                    service_name="upload_service",
                    payload=UploadServicePayload(uploading_status="uploaded"),
                ),
            ]
        )
    )
    assert web.uploading_status is UploadingStatus.UPLOADED
    assert StopResponse().uploading_status is None
    assert StopResponse(server_response=ServerResponse()).uploading_status is None


@pytest.mark.parametrize(
    "cls",
    [obj for name in enums.__all__ if isinstance(obj := getattr(enums, name), type)],
    ids=lambda cls: cls.__name__,
)
def test_enums_have_plain_wire_values(cls: type[enum.Enum]) -> None:
    """Every enum is a str or int enum whose values are unique wire values."""
    assert issubclass(cls, (str, int))
    values = [member.value for member in cls]
    assert len(values) == len(set(values))
    assert all(isinstance(value, (str, int)) for value in values)


def test_documented_enum_values() -> None:
    """Spot checks of the documented value sets."""
    assert [int(v) for v in Vendor] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11]
    assert [int(s) for s in RecordingStatus] == [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 20]
    assert [m.value for m in Mode] == ["raw", "individual", "mix", "web"]
    assert [r.value for r in enums.Region] == ["NA", "EU", "AP", "CN"]
    assert enums.ServiceState.IN_PROGRESS.value == "inProgress"
    assert enums.TransMode.AUDIO_MIX.value == "audioMix"
    assert [int(g) for g in enums.SubscribeUidGroup] == [0, 1, 2, 3, 4, 5]
    assert [int(d) for d in enums.DecryptionMode] == list(range(9))
