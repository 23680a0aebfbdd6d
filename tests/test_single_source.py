"""Each protocol fact has one source; these tests fail when a copy drifts from it."""

from __future__ import annotations

import ast
import enum
from pathlib import Path
from typing import Any

import agora_recording
import attrs
import httpx
import pytest
from agora_recording import enums, models, validation
from agora_recording._headers import header
from agora_recording._protocol import RESOURCE_LIFETIME, Endpoint, required_scene
from agora_recording.emulator import Emulator
from agora_recording.enums import CombinationPolicy, Mode, Scene
from agora_recording.errors import ValidationError
from agora_recording.models import AppsCollection, StartConfig
from starlette.routing import Route


def _wire_values(cls: type[enum.Enum]) -> set[object]:
    return {member.value for member in cls}


@pytest.mark.parametrize(
    ("constant", "enum_class"),
    [
        ("MODES", enums.Mode),
        ("SCENES", enums.Scene),
        ("ACQUIRE_REGIONS", enums.Region),
        ("REGION_AFFINITIES", enums.RegionAffinity),
        ("VENDORS", enums.Vendor),
        ("CHANNEL_TYPES", enums.ChannelType),
        ("STREAM_TYPES", enums.StreamTypes),
        ("STREAM_MODES", enums.StreamMode),
        ("DECRYPTION_MODES", enums.DecryptionMode),
        ("AUDIO_PROFILES", enums.AudioProfile),
        ("VIDEO_STREAM_TYPES", enums.VideoStreamType),
        ("SUBSCRIBE_UID_GROUPS", enums.SubscribeUidGroup),
        ("MIXED_VIDEO_LAYOUTS", enums.MixedVideoLayout),
        ("RENDER_MODES", enums.RenderMode),
        ("AV_FILE_TYPES", enums.AvFileType),
        ("COMBINATION_POLICIES", enums.CombinationPolicy),
        ("TRANS_MODES", enums.TransMode),
        ("CONTAINER_FORMATS", enums.ContainerFormat),
    ],
)
def test_validation_value_sets_are_the_enums(constant: str, enum_class: type[enum.Enum]) -> None:
    """The validator accepts exactly the values the enum of the same wire field declares."""
    values = getattr(validation, constant)
    assert len(values) == len(set(values))
    assert set(values) == _wire_values(enum_class)


def test_validation_single_values_are_enum_members() -> None:
    """Single values the validator singles out (web scene, vendor 11...) are enum values."""
    assert Scene.WEB.value == validation.WEB_SCENE
    assert Scene.POSTPONED.value == validation.POSTPONED_SCENE
    assert enums.Vendor.S3_COMPATIBLE.value == validation.S3_COMPATIBLE_VENDOR
    assert set(validation.STS_VENDORS) <= _wire_values(enums.Vendor)
    assert set(validation.SALTED_DECRYPTION_MODES) <= _wire_values(enums.DecryptionMode)
    assert enums.MixedVideoLayout.VERTICAL.value == validation.VERTICAL_LAYOUT
    assert enums.TransMode.POSTPONE_TRANSCODING.value == validation.POSTPONE_TRANSCODING
    services = {
        validation.WEB_RECORDER_SERVICE,
        validation.RTMP_PUBLISH_SERVICE,
        validation.ALIYUN_VOD_SERVICE,
    }
    assert services <= _wire_values(enums.ServiceName)
    policies = set(validation.CONFIG_ERROR_HANDLE_POLICIES)
    for allowed in validation.SERVICE_ERROR_HANDLE_POLICIES.values():
        policies |= set(allowed)
    assert policies <= _wire_values(enums.ErrorHandlePolicy)


def _secret_keys_of_models() -> set[str]:
    keys = set()
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and attrs.has(model):
            for field in attrs.fields(model):
                if not field.repr:
                    keys.add(field.metadata[models.WIRE])
    return keys


def test_secret_fields_are_the_models_hidden_fields() -> None:
    """Every field a model hides from ``repr`` is redacted by name on the wire, and only those."""
    assert _secret_keys_of_models() == validation.SECRET_FIELDS
    assert {"accessKey", "secretKey", "stsToken", "token", "secret", "salt"} <= set(
        validation.SECRET_FIELDS
    )


def test_one_redaction_hides_every_secret_at_any_depth() -> None:
    """``redact`` replaces each secret wire key, nested in objects and lists, and keeps the rest."""
    body: dict[str, Any] = {
        "cname": "room",
        "clientRequest": {
            "token": "rtc-token-value",
            "storageConfig": {"accessKey": "AK-value", "secretKey": "SK-value", "vendor": 1},
            "list": [{"stsToken": "sts-value", "secret": "s", "salt": "t"}],
        },
    }
    redacted = validation.redact(body)
    text = repr(redacted)
    for secret in ("rtc-token-value", "AK-value", "SK-value", "sts-value"):
        assert secret not in text
    assert redacted["clientRequest"]["storageConfig"]["vendor"] == 1
    assert redacted["clientRequest"]["list"][0] == {
        "stsToken": "***",
        "secret": "***",
        "salt": "***",
    }
    assert body["clientRequest"]["token"] == "rtc-token-value"  # a copy, not an edit


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Request-ID": "abc"},
        {"x-request-id": "abc"},
        httpx.Headers({"X-REQUEST-ID": "abc"}),
    ],
)
def test_header_lookup_ignores_case(headers: dict[str, str] | httpx.Headers) -> None:
    """The one header lookup finds a header whatever the case of its stored name."""
    assert header(headers, "X-Request-ID") == "abc"
    assert header(headers, "Retry-After") is None


def test_emulator_endpoint_names_are_the_clients() -> None:
    """The emulator's fault targets are exactly the client's endpoint names."""
    names = tuple(endpoint.name for endpoint in Endpoint.ALL)
    faults = Emulator().faults
    for name in names:
        faults.fail_next(name)
    with pytest.raises(ValueError, match="unknown endpoint") as unknown:
        faults.fail_next("record")
    assert str(names) in str(unknown.value)


@pytest.mark.parametrize("endpoint", Endpoint.ALL, ids=lambda endpoint: endpoint.name)
def test_validation_checks_the_body_of_every_endpoint_that_has_one(endpoint: Endpoint[Any]) -> None:
    """The request validator knows exactly the client's endpoints that carry a body."""
    try:
        validation.check_envelope(endpoint.name, "mix", {})
    except ValidationError as exc:
        refused_endpoint = exc.field == "endpoint"
    else:
        refused_endpoint = False
    assert refused_endpoint is not endpoint.has_body


def _public_names_imported_from_private_modules(path: Path) -> list[str]:
    public = set(agora_recording.__all__)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and "._" in f".{node.module}":
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in public]
    return found


def test_tests_import_public_names_from_the_package() -> None:
    """Tests import public names from ``agora_recording``, so modules can move safely."""
    tests = Path(__file__).resolve().parent
    offenders = {
        str(path.relative_to(tests)): names
        for path in sorted(tests.rglob("*.py"))
        if (names := _public_names_imported_from_private_modules(path))
    }
    assert offenders == {}


def test_emulator_routes_are_the_clients_paths() -> None:
    """Every client path template is an emulator route with the same method."""
    app = Emulator().app
    routes = {
        (route.path, method)
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or ())
    }
    for endpoint in Endpoint.ALL:
        path = endpoint.path_template.replace("{appid}", "{app_id}").replace(
            "{resourceid}", "{resource_id}"
        )
        assert (path, endpoint.method) in routes


def test_resource_lifetime_is_shared() -> None:
    """The resource lifetime the client retries ``start`` within is the documented 5 minutes."""
    assert RESOURCE_LIFETIME == 300.0


def test_required_scene_is_the_protocol_rule() -> None:
    """Web needs scene 1 and postponed individual needs scene 2, decided by one protocol rule."""
    assert required_scene(Mode.WEB, None) is Scene.WEB
    assert required_scene(Mode.MIX, None) is None
    postponed = StartConfig(
        apps_collection=AppsCollection(combination_policy=CombinationPolicy.POSTPONE_TRANSCODING)
    )
    assert required_scene(Mode.INDIVIDUAL, postponed) is Scene.POSTPONED
