"""The one cattrs converter between the models and the wire JSON.

``converter.unstructure(model)`` gives the exact wire dict: keys come from each field's
``metadata[WIRE]`` (see `agora_recording.models`), ``None`` fields are left out, enums become
their plain values and tuples become lists. ``converter.structure(wire, Model)`` is the inverse
and round-trips losslessly: an absent field stays absent, a field set to the service default stays
set.

Structuring is tolerant where the service (or its docs) is inconsistent, and strict about types:

- unknown keys are ignored; every response field is optional;
- ``fileList`` is a string or a list of objects, told apart by shape;
- ``fileName`` falls back to ``filename`` (and the web ``filename`` to ``fileName``);
- ``payload`` falls back to the OpenAPI's ``playload``;
- ``uploadingStatus: "unknow"`` means ``UploadingStatus.UNKNOWN``;
- requests may spell ``unsubscribeAudioUids``/``unsubscribeVideoUids`` in lowercase;
- ``serviceParam`` and ``payload`` are structured into the model their ``serviceName`` calls
  for; unknown services keep a plain dict.

The type rules, the same for every model and every integer field (``status``,
``sliceStartTime``, ``vendor``...):

- an integer field takes a JSON integer in the signed 64-bit range, an integral float (``5.0``
  is 5) or a string of ASCII decimal digits (the 2020 docs print ``"status": "5"``); a boolean,
  a fraction, a non-finite or larger number, or any other string is refused;
- an enum field keeps a value the enum does not know, as its plain type: ``status: 42`` is the
  integer 42 (a newer service state), while ``status: true`` or ``status: 5.5`` is refused;
- a string field takes a string, or an integer as its decimal text (a numeric ``uid``); enum
  string fields (``trackType``...) take strings only;
- a number field takes a finite number; a boolean field ``true``/``false`` (or 0/1);
- a list field takes a JSON array (never a string or an object), and each item is checked.

Anything else raises `agora_recording.errors.ValidationError` (an `AgoraError` and a
``ValueError``) whose ``field`` is the wire path of the offending value
(``serverResponse.fileList[3].sliceStartTime``), and whose message never quotes the value; it is
in `STRUCTURE_ERRORS`, which callers catch. The path costs nothing until something fails: the
generated code maps the failing source line back to its wire key.

Every model's hooks are generated once, on the model's first use, from its fields' metadata by
one small code generator (`_compile`; the source is kept in `linecache`, so tracebacks show it).
A generated structure function reads each wire key once, runs the field's hook (a type-checked
scalar, a nested model, the string-or-list ``fileList``) and then the field's own attrs
converter, exactly as ``__init__`` would, and stores the result on a blank instance; skipping
``__init__`` avoids keyword parsing, which is most of the cost of building a small frozen model.
Then, as ``__init__`` does, it runs the fields' validators (unless
`attrs.validators.set_disabled` turned them off; a refusal is located at the field's wire key)
and ``__attrs_post_init__``, so models may use both. Fallback spellings and the service-name
dispatch (`_FALLBACK_KEYS`, `_DISPATCHED`) run first, only for the models that have them. A
generated unstructure function emits each field that is not ``None``.

Why not cattrs' own ``make_dict_structure_fn``/``make_dict_unstructure_fn``: the converter was
rebuilt on them (`benchmarks._cattrs_gen`: ``override(rename=...)`` per field, ``omit_if_default``,
hook factories for attrs classes, the scalar hooks per type, cattrs' fast mode and the wire path
found by walking a failed body again; the test suite passes with it) and timed by
``python -m benchmarks.converter_designs`` (cattrs 26.2, CPython 3.11). It structures the large
query answers in about twice pydantic v2's time (these hooks: 0.8-1.0x) and unstructures the large
start configuration in about the same time (these: 0.6x). Tuning cannot close that: cattrs'
function calls a hook per field, fills a keyword dict and calls the class. For `FileInfo` the class
call alone, ``FileInfo(**fields)``, costs about what pydantic spends on an item of a ``fileList``,
and with that call replaced by a no-op, cattrs' function for the 50 items of a query still takes
1.2x pydantic's time for the whole answer. The code generated here tests JSON types inline and
fills the slots directly, without a call per field.
"""

from __future__ import annotations

import enum
import itertools
import linecache
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.fns import identity

from .enums import ServiceName
from .errors import ValidationError
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
    ValidationError,
    cattrs.BaseValidationError,
    ValueError,
    TypeError,
    KeyError,
)
"""What ``converter.structure`` may raise for a body of the wrong shape. For every model it is
a `ValidationError` naming the wire path; the rest are kept for callers written against older
releases."""

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


INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
"""The integers the converter accepts: what a 64-bit service can send."""

_JSON_KINDS: dict[type[Any], str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    tuple: "an array",
    dict: "an object",
    type(None): "null",
}


def _kind(value: object) -> str:
    """The JSON name of ``value``'s type, for messages that must not quote the value."""
    kind = _JSON_KINDS.get(type(value))
    if kind is None:
        return "an object" if isinstance(value, Mapping) else type(value).__name__
    return kind


def _wrong(expected: str, value: object) -> ValidationError:
    """A type error at the current position; the generated code prefixes the wire path."""
    return ValidationError("", f"expected {expected}, got {_kind(value)}")


def _require_mapping(value: Any, cls: type[Any] | None = None) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    what = "a JSON object" if cls is None else f"a JSON object ({cls.__name__})"
    raise _wrong(what, value)


# -- scalar hooks: fast paths for the exact JSON type, checked coercion otherwise ---------------


def _str(value: Any, _: Any = None) -> str | None:
    """Strings as is; an integer (a numeric ``uid``) as its decimal text; the rest is refused."""
    if type(value) is str or value is None:
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(_int(value))
    raise _wrong("a string", value)


def _text(value: Any, _: Any = None) -> str | None:
    """Strings only: the plain type of enum string fields (``trackType``, ``mode``...)."""
    if value is None or isinstance(value, str):
        return value
    raise _wrong("a string", value)


def _decimal(text: str) -> int:
    digits = text[1:] if text[:1] == "-" else text
    if 0 < len(digits) <= 19 and digits.isascii() and digits.isdigit():
        number = int(text)
        if INT_MIN <= number <= INT_MAX:
            return number
    raise ValidationError("", "expected an integer, got a string that is not one")


def _int(value: Any, _: Any = None) -> int | None:
    """Integers in 64 bits; integral floats and decimal strings converted; the rest refused."""
    if type(value) is int:
        if INT_MIN <= value <= INT_MAX:
            return value
        raise ValidationError("", "expected an integer within 64 bits, got a larger one")
    if value is None:
        return None
    if isinstance(value, bool):
        raise _wrong("an integer", value)
    if isinstance(value, int):  # an IntEnum member, given from Python
        return _int(int(value))
    if isinstance(value, float):
        if not value.is_integer():
            raise ValidationError("", "expected an integer, got a fraction or a non-finite number")
        return _int(int(value))
    if isinstance(value, str):
        return _decimal(value)
    raise _wrong("an integer", value)


def _float(value: Any, _: Any = None) -> float | None:
    """Finite numbers (an integer stays an integer, so ``"alpha": 1`` round-trips exactly)."""
    if (type(value) is float and math.isfinite(value)) or value is None:
        return value
    if type(value) is int:
        return _int(value)
    if isinstance(value, bool):
        raise _wrong("a number", value)
    if isinstance(value, (int, float, str)):
        try:
            number = float(value)
        except ValueError:
            raise _wrong("a number", value) from None
        if math.isfinite(number):
            return number
        raise ValidationError("", "expected a finite number")
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

# The JSON type each scalar hook passes through unchanged, tested inline by generated code
# (integers also need their range checked; floats always go through the hook, for finiteness).
_EXACT_TYPES: dict[Any, type[Any]] = {
    tp: exact for exact in (str, int, bool) for tp in (exact, exact | None)
}


def _join(path: str, inner: str) -> str:
    if not inner:
        return path
    if not path or inner.startswith("["):
        return path + inner
    return f"{path}.{inner}"


def _nest(path: str, exc: BaseException) -> ValidationError:
    """``exc``, raised at ``path`` (a wire key or ``[index]``), as a `ValidationError`.

    Only our own rules are quoted: other exceptions may carry the offending value in their
    message, so they are named by type (and kept as the cause).
    """
    if isinstance(exc, ValidationError):
        error = ValidationError(_join(path, exc.field), exc.rule)
        error.__cause__ = exc.__cause__
    else:
        rule = "is required" if isinstance(exc, KeyError) else f"is invalid ({type(exc).__name__})"
        error = ValidationError(path, rule)
        error.__cause__ = exc
    error.__suppress_context__ = True  # one error per failure, not one per nesting level
    return error


# What a generated function knows about a source line: its field's wire key, the fallback
# spelling, and the field's plain type check (to explain a failure that is not our own).
_LineInfo = tuple[str, "str | None", "_StructureHook | None"]


def _located(exc: Exception, lines: Mapping[int, _LineInfo], o: Any) -> ValidationError:
    """Locate ``exc`` caught by a generated function: its line there names the wire key.

    A failure that is not one of our rules (a dict lookup of an unhashable enum value) is
    explained by running the field's type check again on the raw value.
    """
    traceback = exc.__traceback__
    info = lines.get(traceback.tb_lineno) if traceback is not None else None
    if info is None:
        return exc if isinstance(exc, ValidationError) else _nest("", exc)
    wire, fallback, check = info
    if check is not None and not isinstance(exc, ValidationError):
        try:
            check(o[wire] if wire in o else o.get(fallback) if fallback else None, None)
        except ValidationError as explained:
            error = _nest(wire, explained)
            error.__cause__ = exc
            return error
        except Exception:  # the original failure is reported below
            pass
    return _nest(wire, exc)


def _at_index(exc: Exception, items: list[Any], hook: _StructureHook, item: Any) -> ValidationError:
    """Find which item of a list failed (only after a failure: hooks are pure, so rerun them)."""
    for index, element in enumerate(items):
        try:
            hook(element, item)
        except Exception as again:  # re-raised below as a located ValidationError
            return _nest(f"[{index}]", again)
    return _nest("", exc)


def _plain_tuple_hook(item_hook: _StructureHook) -> _StructureHook:
    """``tuple[str, ...]``-like fields: a JSON array whose items pass ``item_hook``."""

    def structure_plain_tuple(value: Any, _: Any = None) -> tuple[Any, ...] | None:
        if value is None:
            return None
        if type(value) is not list and type(value) is not tuple:
            raise _wrong("a JSON array", value)
        try:
            return tuple([item_hook(element, None) for element in value])
        except Exception as exc:
            error = _at_index(exc, list(value), item_hook, None)
            raise error from error.__cause__

    return structure_plain_tuple


def _enum_hook(cls: type[enum.Enum], plain: _StructureHook) -> _StructureHook:
    """An ``Enum | plain`` field: a member as is, else the plain type's checked value."""

    def structure_enum_or_plain(value: Any, _: Any = None) -> Any:
        return value if isinstance(value, cls) else plain(value, None)

    return structure_enum_or_plain


def _plain_hook(tp: Any) -> tuple[type[enum.Enum], _StructureHook] | None:
    """For an ``Enum | int`` or ``Enum | str`` type: the enum and the plain type's hook."""
    args = _non_none_args(tp)
    enums = [arg for arg in args if isinstance(arg, type) and issubclass(arg, enum.Enum)]
    if len(enums) != 1:
        return None
    if int in args:
        return enums[0], _int
    if str in args:
        return enums[0], _text
    return None


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


def _validators_on() -> bool:
    """Whether attrs runs validators now (`attrs.validators.set_disabled` turns them off)."""
    return not attrs.validators.get_disabled()


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
            if type(value) is not list and type(value) is not tuple:
                raise _wrong("a JSON array", value)
            try:
                return tuple([item_hook(element, item) for element in value])
            except Exception as exc:
                error = _at_index(exc, list(value), item_hook, item)
                raise error from error.__cause__

        return structure_tuple

    def model_tuple_unstructure(item: type[Any]) -> _UnstructureHook:
        item_hook = conv.get_unstructure_hook(item)

        def unstructure_tuple(value: tuple[Any, ...]) -> list[Any]:
            return [item_hook(element) for element in value]

        return unstructure_tuple

    def file_list_structure(files: _StructureHook) -> _StructureHook:
        """``fileList``: the composite file name (``"string"`` mode) or a list of objects."""

        def structure_file_list(value: Any, _: Any = None) -> Any:
            if type(value) is str:
                return value
            return files(value, None)

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
            found = _plain_hook(tp)
            return (None if found is None else _enum_hook(*found)), _plain
        if tuples := [arg for arg in args if typing.get_origin(arg) is tuple]:
            # ``tuple[str, ...]`` needs only a list; enum items need their plain values.
            (item, _) = typing.get_args(tuples[0])
            if _has_enum(item):
                found = _plain_hook(item)
                item_hook = _text if found is None else _enum_hook(*found)
                return _plain_tuple_hook(item_hook), _unstructure_plain_tuple
            return _plain_tuple_hook(_SCALAR_HOOKS.get(item, _text)), list
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
            name = body.get(name_key)
            hook, model = hooks.get(name, (_dict, None)) if type(name) is str else (_dict, None)
            return hook(value, model)

        return dispatch

    def structure_factory(cls: type[Any]) -> _StructureHook:
        """``structure_<cls>(o)``: per field, wire value -> hook -> the field's attrs converter.

        That is what ``cls(**kwargs)`` would compute, set directly on ``object.__new__(cls)``.
        """
        attrs.resolve_types(cls)
        fallbacks = dict(_FALLBACK_KEYS.get(cls, ()))
        dispatched = _DISPATCHED[cls][1] if cls in _DISPATCHED else None
        names: dict[str, Any] = {
            "new": object.__new__,
            "cls": cls,
            "mapping": _require_mapping,
            "located": _located,
        }
        # Line number (1-based) -> its field, so a failure is located from its traceback alone.
        keys: dict[int, _LineInfo] = {}
        names["keys"] = keys
        lines = [
            f"def structure_{cls.__name__}(o, _=None):",
            "  try:",
            "    if type(o) is not dict:",
            "        o = mapping(o, cls)",
            "    self = new(cls)",
        ]
        for i, field in enumerate(attrs.fields(cls)):
            first_line = len(lines) + 1
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
                found = _plain_hook(field.type)
                members = _enum_members(field) if found is not None else None
                if found is not None and members is not None:
                    # An enum field: a known value is its member at once (a bool equals 0 or 1
                    # but is refused); anything else is type-checked, then converted.
                    check = found[1]
                    names[f"convert{i}"] = field.converter
                    names[f"members{i}"] = members
                    unknown = "member is None"
                    if check is _int:
                        unknown += " or type(value) is bool"
                    lines.append(f"    member = members{i}.get(value)")
                    lines.append(f"    if {unknown}:")
                    lines.append("        if value is not None:")
                    lines.append(f"            value = hook{i}(value)")
                    lines.append(f"        value = convert{i}(value)")
                    lines.append("    else:")
                    lines.append("        value = member")
                    lines.append(f"    set{i}(self, value)")
                    info = (wire, fallbacks.get(wire), check)
                    keys.update(dict.fromkeys(range(first_line, len(lines) + 1), info))
                    continue
                if exact is int:  # the hook's own fast path, inlined, with the 64-bit range
                    lines.append("    if type(value) is int:")
                    lines.append(f"        if value > {INT_MAX} or value < {INT_MIN}:")
                    lines.append(f"            value = hook{i}(value)")
                    lines.append("    elif value is not None:")
                    lines.append(f"        value = hook{i}(value)")
                elif exact is not None:
                    names[f"type{i}"] = exact
                    lines.append(f"    if type(value) is not type{i} and value is not None:")
                    lines.append(f"        value = hook{i}(value)")
                else:
                    lines.append(f"    value = hook{i}(value)")
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
            scalar = hook if hook in _SCALAR_HOOKS.values() else None
            keys.update(
                dict.fromkeys(
                    range(first_line, len(lines) + 1), (wire, fallbacks.get(wire), scalar)
                )
            )
        # What ``__init__`` does after the fields are set: each validator (unless disabled),
        # then ``__attrs_post_init__``. A validator's failure is located at its field's key.
        checked = [(i, f) for i, f in enumerate(attrs.fields(cls)) if f.validator is not None]
        if checked:
            names["validators_on"] = _validators_on
            lines.append("    if validators_on():")
            for i, field in checked:
                names[f"validator{i}"] = field.validator
                names[f"field{i}"] = field
                lines.append(f"        validator{i}(self, field{i}, self.{field.name})")
                wire = field.metadata.get(WIRE)
                if wire is not None:
                    keys[len(lines)] = (wire, None, None)
        if hasattr(cls, "__attrs_post_init__"):
            lines.append("    self.__attrs_post_init__()")
        lines.append("    return self")
        lines.append("  except Exception as exc:")
        lines.append("    raise located(exc, keys, o)")
        hook_fn: _StructureHook = _compile(cls, "structure", lines, names)
        return hook_fn

    def unstructure_factory(cls: type[Any]) -> _UnstructureHook:
        """``unstructure_<cls>(instance)``: every field that is not ``None``, under its wire key."""
        attrs.resolve_types(cls)
        names: dict[str, Any] = {"Enum": enum.Enum}
        lines = [f"def unstructure_{cls.__name__}(instance):"]
        leading: list[str] = []  # the required fields before the first optional one
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
            required = field.default is attrs.NOTHING
            if required and value == "value":  # as it is: no local to store and load
                item = f"instance.{field.name}"
                if len(lines) == 1:  # nothing optional yet: part of the dict display
                    leading.append(f"{wire!r}: {item}")
                else:
                    lines.append(f"    res[{wire!r}] = {item}")
            elif required:
                lines.append(f"    value = instance.{field.name}")
                lines.append(f"    res[{wire!r}] = {value}")
            else:
                lines.append(f"    if (value := instance.{field.name}) is not None:")
                lines.append(f"        res[{wire!r}] = {value}")
        lines.insert(1, "    res = {" + ", ".join(leading) + "}")
        lines.append("    return res")
        hook_fn: _UnstructureHook = _compile(cls, "unstructure", lines, names)
        return hook_fn

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    # A model's hooks are generated on its first use (cattrs caches them), not at import: a
    # process that never reads a query answer never pays for its hooks.
    return conv


converter: cattrs.Converter = _build()
"""The library's one converter; see the module docstring for what it does."""
