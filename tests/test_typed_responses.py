"""Parsed values have the types the annotations promise, and bad wire data names its key."""

from __future__ import annotations

import pickle
from typing import Any

import attrs
import pytest
from agora_recording import (
    AcquireResponse,
    Mode,
    QueryResponse,
    RecordingHandle,
    RecordingStatus,
    UnexpectedResponseError,
    ValidationError,
    converter,
    models,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import CNAME, UID, mock_client, ok
from .strategies import MODELS

HANDLE = {"resourceId": "rid", "sid": "sid", "mode": "mix", "cname": "room", "uid": "1"}


def test_an_unknown_status_is_a_named_recording_status() -> None:
    """A status newer than the library is a RecordingStatus with a name, sent back unchanged."""
    query = converter.structure({"serverResponse": {"status": 42}}, QueryResponse)
    status = query.status
    assert isinstance(status, RecordingStatus)
    assert status.name == "UNKNOWN_42"
    assert status == 42
    assert status not in list(RecordingStatus)
    assert converter.unstructure(query) == {"serverResponse": {"status": 42}}
    assert pickle.loads(pickle.dumps(status)) == 42


def test_known_statuses_are_the_members() -> None:
    """A documented status, as an integer or the 2020 string form, is the member itself."""
    for wire in (5, "5", 5.0):
        query = converter.structure({"serverResponse": {"status": wire}}, QueryResponse)
        assert query.status is RecordingStatus.IN_PROGRESS


def test_an_acquire_answer_must_carry_a_resource_id() -> None:
    """Structuring an acquire answer without ``resourceId`` fails naming that key."""
    with pytest.raises(ValidationError) as raised:
        converter.structure({"cname": "room", "uid": "1"}, AcquireResponse)
    assert raised.value.field == "resourceId"


@pytest.mark.anyio
async def test_the_client_turns_an_acquire_without_resource_id_into_an_agora_error() -> None:
    """A 200 acquire without ``resourceId`` is an UnexpectedResponseError naming the key."""
    async with mock_client(lambda request: ok({"cname": CNAME, "uid": UID})) as client:
        with pytest.raises(UnexpectedResponseError) as raised:
            await client.acquire(cname=CNAME, uid=UID)
    assert raised.value.field == "resourceId"


def test_a_handle_needs_a_real_mode() -> None:
    """A stored handle whose mode is not individual, mix or web is refused at ``mode``."""
    for mode in ("bogus", "", 1, None):
        with pytest.raises(ValidationError) as raised:
            converter.structure({**HANDLE, "mode": mode}, RecordingHandle)
        assert raised.value.field == "mode"
    assert converter.structure(HANDLE, RecordingHandle).mode is Mode.MIX
    with pytest.raises(ValidationError):
        RecordingHandle(resource_id="r", sid="s", mode="bogus", cname="c", uid="1")


def test_a_handle_missing_keys_names_the_first() -> None:
    """``structure({"sid": "abc"}, RecordingHandle)`` names a missing key, not a KeyError."""
    with pytest.raises(ValidationError) as raised:
        converter.structure({"sid": "abc"}, RecordingHandle)
    assert raised.value.field == "resourceId"
    assert not isinstance(raised.value, KeyError)


def _wire_fields(cls: type[Any]) -> list[tuple[str, bool]]:
    return [
        (field.metadata[models.WIRE], field.default is attrs.NOTHING)
        for field in attrs.fields(cls)
        if field.metadata[models.WIRE] is not None
    ]


FIELD_CASES = [
    pytest.param(cls, key, required, id=f"{cls.__name__}.{key}")
    for cls in MODELS
    for key, required in _wire_fields(cls)
]


@pytest.mark.parametrize(("cls", "key", "required"), FIELD_CASES)
@settings(max_examples=5, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_bad_wire_data_names_its_key(
    cls: type[Any], key: str, required: bool, data: st.DataObject
) -> None:
    """For every model and wire key, a value of the wrong shape, or a missing required key,
    raises ValidationError whose ``field`` starts with that key."""
    wire = converter.unstructure(data.draw(MODELS[cls]))
    wire[key] = [[]]  # an array of arrays: no field of any model takes it
    with pytest.raises(ValidationError) as raised:
        converter.structure(wire, cls)
    assert raised.value.field.split(".")[0].split("[")[0] == key
    if required:
        del wire[key]
        with pytest.raises(ValidationError) as missing:
            converter.structure(wire, cls)
        assert missing.value.field == key
