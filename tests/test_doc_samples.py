"""Every JSON example of Agora's Cloud Recording pages round-trips through the models.

``tests/samples/docs/examples.json`` holds the examples as printed, each with the page it comes
from. A request example must survive ``converter.unstructure(converter.structure(x))`` unchanged
and pass validation, unless its entry says why not with a reason the docs give: ``refused`` (the
first broken rule's field, such as a page's ``<YourRecordingUID>`` placeholder where a decimal
uid is required), ``respelled`` (a key the pages spell two ways, sent in the documented majority
spelling) or ``dropped`` (keys no page defines for that object, such as a misspelling).
Response examples parse into their models and back; error bodies raise the documented error with
their ``code``, ``reason`` or ``message``. Entries with ``edition: "raw"`` are a page's raw-mode
(Individual Recording v2) edition, taken from Agora's docs source while the live page still
serves the edition from before raw mode; their ``note`` names the source file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from agora_recording import converter, models, webhooks
from agora_recording._protocol import Endpoint, parse_response
from agora_recording.errors import APIError
from agora_recording.events import UnknownEvent, event_details, event_type_of
from agora_recording.validation import find_problems

SAMPLES = json.loads((Path(__file__).parent / "samples" / "docs" / "examples.json").read_text())
EXAMPLES: list[dict[str, Any]] = SAMPLES["examples"]
ENDPOINTS = {endpoint.name: endpoint for endpoint in (*Endpoint.ALL, Endpoint.NCS_IP)}
REQUEST_MODELS: dict[str, type[Any]] = {
    "acquire": models.AcquireConfig,
    "start": models.StartConfig,
    "update": models.UpdateConfig,
    "updateLayout": models.UpdateLayoutConfig,
    "stop": models.StopConfig,
}
COMPOSITE_START = next(e for e in EXAMPLES if e["id"] == "composite-start")["example"]


def _of(kind: str) -> list[Any]:
    return [pytest.param(e, id=e["id"]) for e in EXAMPLES if e["kind"] == kind]


def _round_trip(wire: dict[str, Any], model: type[Any]) -> Any:
    return converter.unstructure(converter.structure(copy.deepcopy(wire), model))


def _respelled(value: Any, old: str, new: str) -> Any:
    """``value`` with every key ``old`` renamed ``new``."""
    if isinstance(value, dict):
        return {(new if k == old else k): _respelled(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_respelled(item, old, new) for item in value]
    return value


def _without(value: Any, *keys: str) -> Any:
    """``value`` with every key in ``keys`` removed."""
    if isinstance(value, dict):
        return {k: _without(v, *keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(item, *keys) for item in value]
    return value


def _expected_wire(entry: dict[str, Any], wire: Any) -> Any:
    """What the models give back for ``wire``: itself, unless the entry names a documented
    respelling or a dropped misspelt key."""
    expect = entry["expect"]
    if isinstance(expect, dict) and "respelled" in expect:
        return _respelled(wire, expect["respelled"]["from"], expect["respelled"]["to"])
    if isinstance(expect, dict) and "dropped" in expect:
        dropped = expect["dropped"]
        return _without(wire, *dropped.get("fields", [dropped.get("field")]))
    return wire


def _check_validation(entry: dict[str, Any], body: dict[str, Any]) -> None:
    problems = find_problems(entry["endpoint"], entry.get("mode"), body)
    expect = entry["expect"]
    if isinstance(expect, dict) and "refused" in expect:
        assert problems, f"{entry['id']} should be refused: {expect['refused']['because']}"
        assert problems[0].field == expect["refused"]["field"], problems
    else:
        assert problems == [], problems


def test_the_index_names_a_page_for_every_example() -> None:
    """Each example has a unique id, a docs.agora.io page and a reason wherever it is not plain."""
    assert len({e["id"] for e in EXAMPLES}) == len(EXAMPLES) >= 40
    for entry in EXAMPLES:
        assert entry["source"].startswith("https://docs.agora.io/en/"), entry["id"]
        expect = entry["expect"]
        assert expect == "valid" or next(iter(expect.values()))["because"], entry["id"]
        if "edition" in entry:
            assert entry["edition"] == "raw", entry["id"]
            assert "AgoraIO/Docs-Source" in entry["note"], entry["id"]


@pytest.mark.parametrize("entry", _of("request"))
def test_request_examples_round_trip_and_validate(entry: dict[str, Any]) -> None:
    """A documented request body comes back from the models as printed and passes validation."""
    body = entry["example"]
    request = body["clientRequest"]
    model = REQUEST_MODELS[entry["endpoint"]]
    assert _round_trip(request, model) == _expected_wire(entry, request)
    _check_validation(entry, body)


@pytest.mark.parametrize("entry", _of("fragment"))
def test_fragment_examples_round_trip_and_validate_in_place(entry: dict[str, Any]) -> None:
    """A guide's partial object round-trips through its model and is valid where it belongs
    (``at``, the path inside ``clientRequest``; a transcodingConfig unless it says)."""
    fragment = entry["example"]
    assert _round_trip(fragment, getattr(models, entry["model"])) == _expected_wire(entry, fragment)
    *parents, key = entry.get("at", ["recordingConfig", "transcodingConfig"])
    body = copy.deepcopy(COMPOSITE_START)
    place = body["clientRequest"]
    for parent in parents:
        place = place[parent]
    place[key] = fragment
    _check_validation(entry, body)


@pytest.mark.parametrize("entry", _of("response"))
def test_response_examples_parse(entry: dict[str, Any]) -> None:
    """A documented answer parses into its model and back unchanged, or raises its error."""
    endpoint = ENDPOINTS[entry["endpoint"]]
    example = entry["example"]
    content = json.dumps(example).encode()
    if entry["status"] == 200:
        parsed = parse_response(endpoint, 200, {}, content)
        assert converter.unstructure(parsed) == example
        return
    with pytest.raises(APIError) as caught:
        parse_response(endpoint, entry["status"], {}, content)
    error = caught.value
    assert (error.status_code, error.code, error.reason, error.message) == (
        entry["status"],
        example.get("code"),
        example.get("reason"),
        example.get("message"),
    )


@pytest.mark.parametrize("entry", _of("notification"))
def test_notification_examples_parse_with_every_field(entry: dict[str, Any]) -> None:
    """A webhooks page's notification body parses with its notice ID, product, event type,
    time and payload as sent."""
    example = entry["example"]
    note = webhooks.parse(json.dumps(example))
    assert (note.notice_id, note.product_id, note.event_type, note.notify_ms, note.payload) == (
        example["noticeId"],
        example["productId"],
        example["eventType"],
        example.get("notifyMs"),
        example["payload"],
    )


@pytest.mark.parametrize("entry", _of("event"))
def test_event_examples_read_as_their_typed_details(entry: dict[str, Any]) -> None:
    """An NCS event page's ``details`` example reads as the model of its event type (not an
    unknown event) and goes back to the wire unchanged."""
    details = event_details(entry["event_type"], copy.deepcopy(entry["example"]))
    assert not isinstance(details, UnknownEvent)
    assert event_type_of(details) == entry["event_type"]
    assert converter.unstructure(details) == entry["example"]


def test_the_legacy_start_example_is_refused_in_raw_mode() -> None:
    """The start reference's example sets streamMode, which raw mode removed (legacy pages)."""
    example = next(e for e in EXAMPLES if e["id"] == "start-request")["example"]
    problems = find_problems("start", "raw", example)
    assert [p.field for p in problems] == ["clientRequest.recordingConfig.streamMode"]


def _filled(entry_id: str) -> dict[str, Any]:
    """The body of example ``entry_id``, its placeholders (uid, channel, bucket, keys) filled."""
    body: dict[str, Any] = copy.deepcopy(
        next(e for e in EXAMPLES if e["id"] == entry_id)["example"]
    )
    body.update(uid="527841", cname="room-1")
    storage = body["clientRequest"]["storageConfig"]
    storage.update(bucket="recordings", accessKey="ak", secretKey="sk")
    return body


RAW_REQUESTS = [
    e["id"]
    for e in EXAMPLES
    if e.get("mode") == "raw"
    and e["kind"] == "request"
    and ("cloud_recording_api_start" in e["source"] or "migration" in e["source"])
]


@pytest.mark.parametrize("entry_id", RAW_REQUESTS)
def test_raw_examples_are_valid_once_the_placeholders_are_filled(entry_id: str) -> None:
    """The raw start reference's and migration guide's bodies are valid with a numeric uid and
    a real bucket name: their only refusal is the placeholders."""
    assert find_problems("start", "raw", _filled(entry_id)) == []


def test_the_raw_start_reference_has_its_examples() -> None:
    """Each request tab of the raw start reference (audio only, audio and video, screenshots,
    both, composite, web page) and its two answers are in the samples."""
    raw_page = [e["id"] for e in EXAMPLES if "cloud_recording_api_start" in e["source"]]
    assert len(raw_page) == 8
    assert len(RAW_REQUESTS) == 5


def test_the_raw_reference_web_tab_is_refused_for_its_missing_extension_service() -> None:
    """The raw start reference's web tab omits extensionServiceConfig, which the same page marks
    required for web page recording (it carries the page's URL): it is refused naming it."""
    problems = find_problems("start", "web", _filled("raw-reference-web-start"))
    assert [p.field for p in problems] == ["clientRequest.extensionServiceConfig"]


def test_the_raw_reference_composite_tab_is_valid_once_filled() -> None:
    """The composite tab of the raw start reference is a valid mix body with its placeholders
    filled."""
    assert find_problems("start", "mix", _filled("raw-reference-composite-start")) == []


LEGACY_INDIVIDUAL_STARTS = [
    e["id"]
    for e in EXAMPLES
    if e.get("mode") == "individual" and e["endpoint"] == "start" and e["kind"] == "request"
]


@pytest.mark.parametrize("entry_id", LEGACY_INDIVIDUAL_STARTS)
def test_legacy_individual_examples_migrate_to_raw_by_dropping_stream_mode(entry_id: str) -> None:
    """Every legacy individual start example becomes a valid raw body once streamMode is
    removed, the one body change the "Individual recording migration guide" asks for."""
    body = _without(next(e for e in EXAMPLES if e["id"] == entry_id)["example"], "streamMode")
    assert find_problems("start", "raw", body) == []


RAW_GUIDES = {
    "develop/individual-mode": ["acquire", "start", "stop"],
    "develop/individual-nontranscoding": ["acquire", "start", "stop"],
    "develop/screen-capture": ["acquire", "start", "start"],
    "rest-api/acquire": ["acquire", "acquire", "acquire"],
}


@pytest.mark.parametrize("page", sorted(RAW_GUIDES))
def test_the_raw_editions_of_the_guides_have_every_example(page: str) -> None:
    """Each raw-mode edition of the individual, non-transcoding and screenshot guides and of the
    acquire reference has every example in the samples, each recording call in raw mode."""
    entries = [
        e
        for e in EXAMPLES
        if e.get("edition") == "raw"
        and e["source"] == f"https://docs.agora.io/en/cloud-recording/{page}"
    ]
    assert [e["endpoint"] for e in entries] == RAW_GUIDES[page]
    assert all(e.get("mode") == "raw" for e in entries if e["endpoint"] != "acquire")


def test_the_raw_nontranscoding_guide_keeps_a_stream_mode_raw_mode_removed() -> None:
    """The raw edition of the non-transcoding guide still sets streamMode "original", which the
    migration guide removed from raw mode: refused in raw naming it, valid in legacy individual
    mode, and valid in raw once dropped as the migration guide says."""
    body = next(e for e in EXAMPLES if e["id"] == "raw-nontranscoding-start")["example"]
    assert [p.field for p in find_problems("start", "raw", body)] == [
        "clientRequest.recordingConfig.streamMode"
    ]
    assert find_problems("start", "individual", body) == []
    assert find_problems("start", "raw", _without(body, "streamMode")) == []


def test_the_raw_acquire_reference_body_is_valid_once_its_uid_is_filled() -> None:
    """The raw acquire reference's body (no scene, which raw mode ignores) is valid with a
    numeric uid and a channel name: its only refusal is the placeholders."""
    body = copy.deepcopy(next(e for e in EXAMPLES if e["id"] == "raw-reference-acquire-request"))
    body["example"].update(uid="527841", cname="room-1")
    assert "scene" not in body["example"]["clientRequest"]
    assert find_problems("acquire", None, body["example"]) == []
