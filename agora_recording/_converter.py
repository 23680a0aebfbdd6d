"""The one cattrs converter between the models and the wire JSON.

``converter.unstructure(model)`` gives the exact wire dict: keys come from each field's
``metadata[WIRE]`` (see `agora_recording.models`), ``None`` fields are left out, enums become
their plain values and tuples become lists. ``converter.structure(wire, Model)`` is the inverse
and round-trips losslessly: an absent field stays absent, a field set to the service default stays
set.

Structuring is tolerant where the service (or its docs) is inconsistent, and strict about shape:

- unknown keys are ignored; every response field is optional;
- ``fileList`` is a string or a list of objects, told apart by shape;
- ``fileName`` falls back to ``filename`` (and the web ``filename`` to ``fileName``);
- ``payload`` falls back to the OpenAPI's ``playload``;
- ``uploadingStatus: "unknow"`` means ``UploadingStatus.UNKNOWN``; ``status: "5"`` means 5;
- requests may spell ``unsubscribeAudioUids``/``unsubscribeVideoUids`` in lowercase;
- a value of the wrong shape (``fileList: 3``, ``status: "abc"``, an object where a list
  belongs) raises one of `STRUCTURE_ERRORS` for the protocol layer to wrap.

- ``serviceParam`` and ``payload`` are structured into the model their ``serviceName`` calls
  for; unknown services keep a plain dict.

Every model's hooks are generated once, at import, by cattrs' ``make_dict_structure_fn`` and
``make_dict_unstructure_fn`` with one ``override(rename=<wire key>)`` per field. Around that sit
only small, flat helpers: type-checked fast paths for scalars, the string-or-list ``fileList``, and
one thin wrapper per model that checks the body is an object and applies the fallback spellings
and the service-name dispatch listed in `_FALLBACK_KEYS` and `_DISPATCHED`.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import models
from .enums import ServiceName
from .models import (
    WIRE,
    AudioUidList,
    ExtensionService,
    ExtensionServiceState,
    FileInfo,
    RecordingConfig,
    RtmpPublishPayload,
    RtmpPublishServiceParam,
    UploadServicePayload,
    VideoUidList,
    WebFileInfo,
    WebRecorderPayload,
    WebRecorderServiceParam,
)

__all__ = ["STRUCTURE_ERRORS", "converter"]

STRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    cattrs.BaseValidationError,
    ValueError,
    TypeError,
    KeyError,
)
"""What ``converter.structure`` raises for a body of the wrong shape (KeyError: a required
request field is missing)."""

_StructureHook = Callable[[Any, Any], Any]
_UnstructureHook = Callable[[Any], Any]

# Alternative wire spellings, read when the canonical key is absent: {model: ((key, alt), ...)}.
_FALLBACK_KEYS: dict[type[Any], tuple[tuple[str, str], ...]] = {
    FileInfo: (("fileName", "filename"),),
    WebFileInfo: (("filename", "fileName"),),
    ExtensionServiceState: (("payload", "playload"),),
    RecordingConfig: (
        ("unSubscribeAudioUids", "unsubscribeAudioUids"),
        ("unSubscribeVideoUids", "unsubscribeVideoUids"),
    ),
    AudioUidList: (("unSubscribeAudioUids", "unsubscribeAudioUids"),),
    VideoUidList: (("unSubscribeVideoUids", "unsubscribeVideoUids"),),
}

# Fields whose model follows a sibling field, the service name:
# {model: (name field, dispatched field, {service name: model})}; other services keep a dict.
_DISPATCHED: dict[type[Any], tuple[str, str, dict[ServiceName, type[Any]]]] = {
    ExtensionService: (
        "service_name",
        "service_param",
        {
            ServiceName.WEB_RECORDER_SERVICE: WebRecorderServiceParam,
            ServiceName.RTMP_PUBLISH_SERVICE: RtmpPublishServiceParam,
        },
    ),
    ExtensionServiceState: (
        "service_name",
        "payload",
        {
            ServiceName.WEB_RECORDER_SERVICE: WebRecorderPayload,
            ServiceName.RTMP_PUBLISH_SERVICE: RtmpPublishPayload,
            ServiceName.UPLOAD_SERVICE: UploadServicePayload,
        },
    ),
}


def _wrong(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__}")


def _require_mapping(value: Any) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise _wrong("a JSON object", value)


# -- scalar hooks: fast paths for the exact JSON type, checked coercion otherwise ---------------


def _str(value: Any, _: Any = None) -> str | None:
    """Strings as is; numbers (a numeric ``uid``) as their text; anything else is an error."""
    if type(value) is str or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _wrong("a string", value)


def _int(value: Any, _: Any = None) -> int | None:
    """Integers as is; numeric strings and integral floats converted; the rest is an error."""
    if type(value) is int or value is None:
        return value
    if isinstance(value, bool):
        raise _wrong("an integer", value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if isinstance(value, str):
        return int(value)
    raise _wrong("an integer", value)


def _float(value: Any, _: Any = None) -> float | None:
    """Numbers as is (an integer stays an integer, so ``"alpha": 1`` round-trips exactly)."""
    if type(value) is float or type(value) is int or value is None:
        return value
    if isinstance(value, bool):
        raise _wrong("a number", value)
    if isinstance(value, (int, float, str)):
        return float(value)
    raise _wrong("a number", value)


def _bool(value: Any, _: Any = None) -> bool | None:
    """Booleans as is; 0 and 1 accepted; ``bool("false")`` would be True, so no strings."""
    if type(value) is bool or value is None:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise _wrong("a boolean", value)


def _dict(value: Any, _: Any = None) -> dict[str, Any] | None:
    if value is None:
        return None
    return dict(_require_mapping(value))


_SCALAR_HOOKS: dict[Any, _StructureHook] = {
    str: _str,
    str | None: _str,
    int: _int,
    int | None: _int,
    float: _float,
    float | None: _float,
    bool: _bool,
    bool | None: _bool,
    dict[str, Any]: _dict,
    dict[str, Any] | None: _dict,
}


_DICT_TYPES = (dict[str, Any], dict[str, Any] | None)


def _plain(value: Any) -> Any:
    """Unstructure an ``Enum | plain`` field: the member's value, or the plain value."""
    return value.value if isinstance(value, enum.Enum) else value


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _non_none_args(tp: Any) -> tuple[Any, ...]:
    if _is_union(tp):
        return tuple(arg for arg in typing.get_args(tp) if arg is not type(None))
    return (tp,)


def _model_tuple_item(tp: Any) -> Any:
    """The model class ``X`` of a ``tuple[X, ...]`` type, else None."""
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis and attrs.has(args[0]):
            return args[0]
    return None


def _has_enum(tp: Any) -> bool:
    return any(isinstance(arg, type) and issubclass(arg, enum.Enum) for arg in _non_none_args(tp))


def _unstructure_plain_tuple(value: tuple[Any, ...]) -> list[Any]:
    """Unstructure ``tuple[str, ...]`` and ``tuple[Enum | str, ...]``: a list of plain values."""
    return [_plain(item) for item in value]


def _keep(value: Any, _: Any) -> Any:
    """Structure hook for a value an outer hook has already structured."""
    return value


def _wire_key(cls: type[Any], name: str) -> str:
    key: str = attrs.fields_dict(cls)[name].metadata[WIRE]
    return key


# -- hook factories ---------------------------------------------------------------------------


def _build() -> cattrs.Converter:
    conv = cattrs.Converter(
        # Enum-typed and sequence-of-string fields hand the raw value to the model's own attrs
        # converter, which maps known values to members and makes tuples; all other fields use
        # the hooks chosen in `field_hooks`. Plain (non-detailed) validation keeps the generated
        # code lean.
        prefer_attrib_converters=True,
        detailed_validation=False,
        forbid_extra_keys=False,
    )

    def model_tuple_structure(item: type[Any]) -> _StructureHook:
        item_hook = conv.get_structure_hook(item)

        def structure_tuple(value: Any, _: Any) -> tuple[Any, ...] | None:
            if value is None:
                return None
            if type(value) is not list:
                raise _wrong("a JSON array", value)
            return tuple([item_hook(element, item) for element in value])

        return structure_tuple

    def model_tuple_unstructure(item: type[Any]) -> _UnstructureHook:
        item_hook = conv.get_unstructure_hook(item)

        def unstructure_tuple(value: tuple[Any, ...]) -> list[Any]:
            return [item_hook(element) for element in value]

        return unstructure_tuple

    def file_list_structure(files: _StructureHook) -> _StructureHook:
        """``fileList``: the composite file name (``"string"`` mode) or a list of objects."""

        def structure_file_list(value: Any, _: Any) -> Any:
            return value if type(value) is str else files(value, None)

        return structure_file_list

    def file_list_unstructure(files: _UnstructureHook) -> _UnstructureHook:
        def unstructure_file_list(value: Any) -> Any:
            return value if type(value) is str else files(value)

        return unstructure_file_list

    def field_hooks(tp: Any) -> tuple[_StructureHook | None, _UnstructureHook | None]:
        """Hooks for a field of type ``tp``; ``None`` leaves the choice to cattrs."""
        if tp in _SCALAR_HOOKS:
            # Scalars go out as they are; raw dicts are left to cattrs, which copies them.
            return _SCALAR_HOOKS[tp], None if tp in _DICT_TYPES else identity
        args = _non_none_args(tp)
        item = next(filter(None, map(_model_tuple_item, args)), None)
        if item is not None:
            structure, unstructure = model_tuple_structure(item), model_tuple_unstructure(item)
            if str in args:
                return file_list_structure(structure), file_list_unstructure(unstructure)
            return structure, unstructure
        if _has_enum(tp):
            return None, _plain
        if any(typing.get_origin(arg) is tuple for arg in args):
            return None, _unstructure_plain_tuple
        return None, None

    def field_overrides(cls: type[Any], *, structure: bool) -> dict[str, Any]:
        """One ``override(rename=<wire key>, ...)`` per field, from the field's metadata."""
        dispatched = _DISPATCHED[cls][1] if cls in _DISPATCHED else None
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if WIRE not in field.metadata:
                raise TypeError(f"{cls.__name__}.{field.name} declares no wire key")
            wire = field.metadata[WIRE]
            if wire is None:
                overrides[field.name] = override(omit=True)
                continue
            struct_hook, unstruct_hook = field_hooks(field.type)
            if field.name == dispatched:
                struct_hook = _keep
            if structure:
                overrides[field.name] = override(rename=wire, struct_hook=struct_hook)
            else:
                overrides[field.name] = override(rename=wire, unstruct_hook=unstruct_hook)
        return overrides

    def dispatcher(cls: type[Any]) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
        """Structure the field whose model follows the service name, before the rest."""
        name_field, field_name, choices = _DISPATCHED[cls]
        name_key, key = _wire_key(cls, name_field), _wire_key(cls, field_name)
        hooks: dict[Any, tuple[_StructureHook, Any]] = {
            name: (conv.get_structure_hook(model), model) for name, model in choices.items()
        }

        def dispatch(value: Mapping[str, Any]) -> Mapping[str, Any]:
            raw = value.get(key)
            if raw is None:
                return value
            hook, model = hooks.get(value.get(name_key), (_dict, None))
            return {**value, key: hook(raw, model)}

        return dispatch

    def structure_factory(cls: type[Any]) -> _StructureHook:
        attrs.resolve_types(cls)
        generated = make_dict_structure_fn(cls, conv, **field_overrides(cls, structure=True))
        fallbacks = _FALLBACK_KEYS.get(cls, ())
        dispatch = dispatcher(cls) if cls in _DISPATCHED else None

        if not fallbacks and dispatch is None:

            def structure_model(value: Any, tp: Any) -> Any:
                if type(value) is not dict:
                    value = _require_mapping(value)
                return generated(value, tp)

            return structure_model

        def structure_tolerant_model(value: Any, tp: Any) -> Any:
            if type(value) is not dict:
                value = _require_mapping(value)
            for key, alternative in fallbacks:
                if key not in value and alternative in value:
                    value = {**value, key: value[alternative]}
            if dispatch is not None:
                value = dispatch(value)
            return generated(value, tp)

        return structure_tolerant_model

    def unstructure_factory(cls: type[Any]) -> _UnstructureHook:
        attrs.resolve_types(cls)
        return make_dict_unstructure_fn(
            cls,
            conv,
            # Needed explicitly: leave out every field still at its default (None).
            _cattrs_omit_if_default=True,
            **field_overrides(cls, structure=False),
        )

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)

    # Generate every model's hooks now, at import, rather than on first use.
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and attrs.has(model):
            conv.get_structure_hook(model)
            conv.get_unstructure_hook(model)
    return conv


converter: cattrs.Converter = _build()
"""The library's one converter; see the module docstring for what it does."""
