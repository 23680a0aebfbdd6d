"""Models may use attrs validators and ``__attrs_post_init__``: the converter runs them."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from agora_recording import converter
from agora_recording.errors import ValidationError
from agora_recording.models import WIRE


def _positive(instance: Any, attribute: Any, value: int | None) -> None:
    if value is not None and value <= 0:
        raise ValueError("must be positive")


@attrs.frozen(kw_only=True)
class _Window:
    """A model with a validator and a cross-field rule, as a future model might have."""

    start: int | None = attrs.field(default=None, validator=_positive, metadata={WIRE: "begin"})
    end: int | None = attrs.field(default=None, metadata={WIRE: "finish"})

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValidationError("finish", "must not be before begin")


def test_structure_runs_validators_and_post_init_like_init() -> None:
    """Structuring a valid body gives what ``__init__`` gives, and round-trips."""
    window = converter.structure({"begin": 2, "finish": 5}, _Window)
    assert window == _Window(start=2, end=5)
    assert converter.unstructure(window) == {"begin": 2, "finish": 5}


def test_validator_failure_names_the_wire_key() -> None:
    """A field validator's refusal is a ValidationError located at the field's wire key."""
    with pytest.raises(ValidationError) as caught:
        converter.structure({"begin": -1}, _Window)
    assert caught.value.field == "begin"


def test_post_init_failure_is_raised() -> None:
    """A cross-field rule in ``__attrs_post_init__`` refuses the body, as ``__init__`` would."""
    with pytest.raises(ValidationError) as caught:
        converter.structure({"begin": 5, "finish": 2}, _Window)
    assert caught.value.field == "finish"


def test_disabled_validators_are_skipped() -> None:
    """``attrs.validators.disabled()`` turns the converter's validator calls off too."""
    with attrs.validators.disabled():
        window = converter.structure({"begin": -1}, _Window)
    assert window.start == -1
