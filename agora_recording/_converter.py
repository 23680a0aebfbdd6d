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

Every model's hooks are generated once, at import, from its fields' metadata by one small code
generator (`_compile`; the source is kept in `linecache`, so tracebacks show it). A generated
structure function reads each wire key once, runs the field's hook (a type-checked scalar, a
nested model, the string-or-list ``fileList``) and then the field's own attrs converter, exactly
as ``__init__`` would, and stores the result on a blank instance; skipping ``__init__`` avoids
keyword parsing, which is most of the cost of building a small frozen model. Fallback spellings
and the service-name dispatch (`_FALLBACK_KEYS`, `_DISPATCHED`) run first, only for the models
that have them. A generated unstructure function emits each field that is not ``None``.
"""

from __future__ import annotations

import enum
import itertools
import linecache
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.fns import identity

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

# The JSON type each scalar hook passes through unchanged, tested inline by generated code.
_EXACT_TYPES: dict[Any, type[Any]] = {
    tp: exact for exact in (str, int, float, bool) for tp in (exact, exact | None)
}


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
    """Unstructure ``tuple[Enum | str, ...]``: a list of plain values."""
    return [_plain(item) for item in value]


def _wire_key(cls: type[Any], name: str) -> str:
    key: str = attrs.fields_dict(cls)[name].metadata[WIRE]
    return key


def _field_wire_key(cls: type[Any], field: attrs.Attribute[Any]) -> str | None:
    if WIRE not in field.metadata:
        raise TypeError(f"{cls.__name__}.{field.name} declares no wire key")
    key: str | None = field.metadata[WIRE]
    return key


def _slot_setter(cls: type[Any], field: attrs.Attribute[Any]) -> Callable[[Any, Any], None]:
    """The slot's own ``__set__``: fills a field of a frozen, slotted model being built."""
    setter: Callable[[Any, Any], None] = getattr(cls, field.name).__set__
    return setter


def _enum_members(field: attrs.Attribute[Any]) -> dict[Any, enum.Enum] | None:
    """``{value: member}`` of an ``Enum | plain`` field, after checking its converter agrees."""
    enums = [
        arg
        for arg in _non_none_args(field.type)
        if isinstance(arg, type) and issubclass(arg, enum.Enum)
    ]
    if len(enums) != 1 or field.converter is None:
        return None
    members = {member.value: member for member in enums[0]}
    convert = typing.cast(Callable[[Any], Any], field.converter)  # a plain function here
    if any(convert(value) is not member for value, member in members.items()):
        raise TypeError(f"{field.name}: the converter does not map values to members")
    return members


_SOURCE_IDS = itertools.count()


def _compile(cls: type[Any], kind: str, lines: list[str], names: dict[str, Any]) -> Any:
    """Define the one function in ``lines``; its source goes to linecache for tracebacks."""
    source = "\n".join(lines) + "\n"
    filename = f"<agora_recording {kind} {cls.__qualname__} #{next(_SOURCE_IDS)}>"
    namespace = dict(names)
    exec(compile(source, filename, "exec"), namespace)  # our own source, built above
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return namespace[f"{kind}_{cls.__name__}"]


# -- hook factories ---------------------------------------------------------------------------


def _build() -> cattrs.Converter:
    # Models get the generated hooks below; these options only matter for the few other types
    # cattrs handles (raw dicts, the payload union on the way out).
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)

    def model_tuple_structure(item: type[Any]) -> _StructureHook:
        item_hook = conv.get_structure_hook(item)

        def structure_tuple(value: Any, _: Any = None) -> tuple[Any, ...] | None:
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

        def structure_file_list(value: Any, _: Any = None) -> Any:
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
        if tuples := [arg for arg in args if typing.get_origin(arg) is tuple]:
            # ``tuple[str, ...]`` needs only a list; enum items need their plain values.
            (item, _) = typing.get_args(tuples[0])
            return None, _unstructure_plain_tuple if _has_enum(item) else list
        return None, None

    def dispatcher(cls: type[Any]) -> Callable[[Any, Mapping[str, Any]], Any]:
        """Structure the field whose model follows the service name in the same body."""
        name_key = _wire_key(cls, _DISPATCHED[cls][0])
        hooks: dict[Any, tuple[_StructureHook, Any]] = {
            name: (conv.get_structure_hook(model), model)
            for name, model in _DISPATCHED[cls][2].items()
        }

        def dispatch(value: Any, body: Mapping[str, Any]) -> Any:
            if value is None:
                return None
            hook, model = hooks.get(body.get(name_key), (_dict, None))
            return hook(value, model)

        return dispatch

    def structure_factory(cls: type[Any]) -> _StructureHook:
        """``structure_<cls>(o)``: per field, wire value -> hook -> the field's attrs converter.

        That is what ``cls(**kwargs)`` would compute, set directly on ``object.__new__(cls)``.
        """
        attrs.resolve_types(cls)
        if hasattr(cls, "__attrs_post_init__") or any(f.validator for f in attrs.fields(cls)):
            raise TypeError(f"{cls.__name__}: __init__ does more than convert; teach _converter")
        fallbacks = dict(_FALLBACK_KEYS.get(cls, ()))
        dispatched = _DISPATCHED[cls][1] if cls in _DISPATCHED else None
        names: dict[str, Any] = {"new": object.__new__, "cls": cls, "mapping": _require_mapping}
        lines = [
            f"def structure_{cls.__name__}(o, _=None):",
            "    if type(o) is not dict:",
            "        o = mapping(o)",
            "    self = new(cls)",
        ]
        for i, field in enumerate(attrs.fields(cls)):
            wire = _field_wire_key(cls, field)
            names[f"set{i}"] = _slot_setter(cls, field)
            if wire is None:  # not on the wire: the default
                names[f"default{i}"] = field.default
                lines.append(f"    set{i}(self, default{i})")
                continue
            if field.default is attrs.NOTHING:
                lines.append(f"    value = o[{wire!r}]")
            elif wire in fallbacks:
                lines.append(
                    f"    value = o[{wire!r}] if {wire!r} in o else o.get({fallbacks[wire]!r})"
                )
            else:
                lines.append(f"    value = o.get({wire!r})")
            hook, _ = field_hooks(field.type)
            if field.name == dispatched:
                names[f"hook{i}"] = dispatcher(cls)
                lines.append(f"    value = hook{i}(value, o)")
            elif hook is not None:
                names[f"hook{i}"] = hook
                exact = _EXACT_TYPES.get(field.type)
                if exact is None:
                    lines.append(f"    value = hook{i}(value)")
                else:  # the hook's own fast path, inlined
                    names[f"type{i}"] = exact
                    lines.append(f"    if type(value) is not type{i}:")
                    lines.append(f"        value = hook{i}(value)")
            elif models_ := [arg for arg in _non_none_args(field.type) if attrs.has(arg)]:
                (model,) = models_
                names[f"hook{i}"] = conv.get_structure_hook(model)
                if field.default is attrs.NOTHING:
                    lines.append(f"    value = hook{i}(value)")
                else:
                    lines.append("    if value is not None:")
                    lines.append(f"        value = hook{i}(value)")
            elif field.converter is None:
                raise TypeError(f"{cls.__name__}.{field.name}: no structure rule")
            if field.converter is not None:
                names[f"convert{i}"] = field.converter
                names[f"members{i}"] = members = _enum_members(field)
                if members is None:
                    lines.append(f"    value = convert{i}(value)")
                else:  # a known plain value maps to its member, as the converter would map it
                    lines.append(f"    member = members{i}.get(value)")
                    lines.append(f"    value = convert{i}(value) if member is None else member")
            lines.append(f"    set{i}(self, value)")
        lines.append("    return self")
        hook_fn: _StructureHook = _compile(cls, "structure", lines, names)
        return hook_fn

    def unstructure_factory(cls: type[Any]) -> _UnstructureHook:
        """``unstructure_<cls>(instance)``: every field that is not ``None``, under its wire key."""
        attrs.resolve_types(cls)
        names: dict[str, Any] = {"Enum": enum.Enum}
        lines = [f"def unstructure_{cls.__name__}(instance):", "    res = {}"]
        for i, field in enumerate(attrs.fields(cls)):
            wire = _field_wire_key(cls, field)
            if wire is None:
                continue
            _, hook = field_hooks(field.type)
            if hook is None:
                args = _non_none_args(field.type)
                hook = conv.get_unstructure_hook(args[0] if len(args) == 1 else field.type)
            if hook is identity:
                value = "value"
            elif hook is _plain:  # inlined: it runs for every enum field
                value = "value._value_ if isinstance(value, Enum) else value"
            else:
                names[f"hook{i}"] = hook
                value = f"hook{i}(value)"
            if field.default is attrs.NOTHING:
                lines.append(f"    value = instance.{field.name}")
                lines.append(f"    res[{wire!r}] = {value}")
            else:
                lines.append(f"    if (value := instance.{field.name}) is not None:")
                lines.append(f"        res[{wire!r}] = {value}")
        lines.append("    return res")
        hook_fn: _UnstructureHook = _compile(cls, "unstructure", lines, names)
        return hook_fn

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
