"""The same converter built on cattrs' own generators, kept to measure the design against ours.

`agora_recording._converter` generates its model hooks itself. This module builds a converter
with the same behaviour (the test suite passes with it swapped in) on
``cattrs.gen.make_dict_structure_fn``/``make_dict_unstructure_fn`` instead: one
``override(rename=<wire key>)`` per field, ``omit_if_default`` for the unset ``None`` fields,
hook factories registered for attrs classes, the scalar type rules registered per type and
shared with the library, a step before cattrs' function for the fallback spellings and the
service-name dispatch, and cattrs' fast mode (no detailed validation): the wire path of a
failure is found afterwards, by walking the body again with the same hooks (`_Locator`).
`benchmarks.converter_designs` times it against ours and pydantic v2.

What it costs: cattrs' function builds a keyword dict and calls the class, so every nested
model goes through its attrs ``__init__``; for a `FileInfo` that call alone costs about what
pydantic spends on the whole item.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs
from agora_recording import models
from agora_recording._converter import (
    _DICT_TYPES,
    _DISPATCHED,
    _FALLBACK_KEYS,
    _SCALAR_HOOKS,
    _dict,
    _has_enum,
    _int,
    _is_union,
    _model_tuple_item,
    _nest,
    _non_none_args,
    _plain,
    _plain_hook,
    _plain_tuple_hook,
    _require_mapping,
    _text,
    _unstructure_plain_tuple,
    _wrong,
)
from agora_recording.errors import ValidationError
from agora_recording.models import WIRE
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = ["build"]

_StructureHook = Callable[[Any, Any], Any]
_UnstructureHook = Callable[[Any], Any]


def _enum_hook(cls: type[enum.Enum], plain: _StructureHook) -> _StructureHook:
    """An ``Enum | plain`` field: a member as is, else the plain type's checked value.

    The field's attrs converter then maps a known plain value to its member. The plain hook
    alone does when the enum is of the plain type (``IntEnum``, ``str, Enum``).
    """
    if (plain is _int and issubclass(cls, int)) or (plain is _text and issubclass(cls, str)):
        return plain

    def structure_enum_or_plain(value: Any, _: Any = None) -> Any:
        return value if isinstance(value, cls) else plain(value, None)

    return structure_enum_or_plain


def _wire_key(cls: type[Any], field: attrs.Attribute[Any]) -> str | None:
    if WIRE not in field.metadata:
        raise TypeError(f"{cls.__name__}.{field.name} declares no wire key")
    key: str | None = field.metadata[WIRE]
    return key


def _keep(value: Any, _: Any = None) -> Any:
    """The dispatched field's hook: the step before cattrs' function has structured it."""
    return value


@attrs.frozen
class _Field:
    """What the locating walk needs to know about one wire field of a model."""

    field: attrs.Attribute[Any]
    wire: str
    fallback: str | None
    hook: _StructureHook  # the hook cattrs' function calls for the field
    model: type[Any] | None  # a nested model, or the item model of a list
    many: bool  # a list of ``model``
    text: bool  # a string is also accepted (``fileList``)
    dispatched: bool  # the model follows the service name


class _Locator:
    """Finds where a body that failed to structure goes wrong, by walking it again.

    It reads the body as the generated functions do (same keys, fallbacks, dispatch and hooks)
    but one field at a time, so the first failure is located at its wire path. A body whose
    fields all pass failed in the class itself: an attrs converter, a validator (located at its
    field's key) or ``__attrs_post_init__``.
    """

    def __init__(
        self,
        fields: Mapping[type[Any], tuple[_Field, ...]],
        nested: Callable[[type[Any]], _StructureHook],
        dispatch: Callable[[type[Any], Mapping[str, Any]], type[Any] | None],
    ) -> None:
        self._fields = fields
        self._nested = nested
        self._dispatch = dispatch

    def locate(self, cls: type[Any], body: Any) -> ValidationError | None:
        """The first failure structuring ``body`` as ``cls``, or ``None`` when there is none."""
        if not isinstance(body, Mapping):
            return _wrong(f"a JSON object ({cls.__name__})", body)
        values: dict[str, Any] = {}
        for spec in self._fields[cls]:
            if spec.wire in body:
                value = body[spec.wire]
            elif spec.fallback is not None and spec.fallback in body:
                value = body[spec.fallback]
            elif spec.field.default is attrs.NOTHING:
                return ValidationError(spec.wire, "is required")
            else:
                continue
            model = self._dispatch(cls, body) if spec.dispatched else spec.model
            try:
                values[spec.field.name] = self._field(spec, model, value)
            except _Located as located:
                return _nest(spec.wire, located.error)
            except Exception as exc:  # a scalar rule, located at the field's key
                return _nest(spec.wire, exc)
        return self._construct(cls, values)

    def _field(self, spec: _Field, model: type[Any] | None, value: Any) -> Any:
        if spec.dispatched and model is None:
            return _dict(value)
        if model is None or value is None or (spec.text and type(value) is str):
            return spec.hook(value, spec.field.type)
        nested = self._nested(model)
        if not spec.many:
            self._check(model, value, "")
            return nested(value, model)
        if type(value) is not list and type(value) is not tuple:
            raise _wrong("a JSON array", value)
        for index, item in enumerate(value):
            self._check(model, item, f"[{index}]")
        return tuple([nested(item, model) for item in value])

    def _check(self, model: type[Any], value: Any, path: str) -> None:
        error = self.locate(model, value)
        if error is not None:
            raise _Located(_nest(path, error))

    def _construct(self, cls: type[Any], values: dict[str, Any]) -> ValidationError | None:
        """Build ``cls`` from fields that passed, as ``__init__`` does, step by step."""
        try:
            cls(**values)
        except Exception:  # located below, step by step
            pass
        else:
            return None
        wire = {spec.field.name: spec.wire for spec in self._fields[cls]}
        instance = object.__new__(cls)
        for field in attrs.fields(cls):
            value = values.get(field.name, field.default)
            if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
                value = value.factory(instance) if value.takes_self else value.factory()
            if field.converter is not None:
                try:
                    value = typing.cast(Callable[[Any], Any], field.converter)(value)
                except Exception as exc:  # the converter's refusal, at the field's key
                    return _nest(wire.get(field.name, ""), exc)
            object.__setattr__(instance, field.name, value)
        if not attrs.validators.get_disabled():
            for field in attrs.fields(cls):
                if field.validator is not None:
                    try:
                        field.validator(instance, field, getattr(instance, field.name))
                    except Exception as exc:  # the validator's refusal, at the field's key
                        return _nest(wire.get(field.name, ""), exc)
        post_init = getattr(instance, "__attrs_post_init__", None)
        if post_init is not None:
            try:
                post_init()
            except Exception as exc:  # a rule across fields: the error names its own field
                return _nest("", exc)
        return None


class _Located(Exception):
    """Carries a located error out of a nested walk."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(error.field)
        self.error = error


# -- the converter ------------------------------------------------------------------------------


def build() -> cattrs.Converter:
    """A converter with the library's behaviour, its model hooks from cattrs' generators."""
    # Models get the hooks below; these options only matter for the few other types cattrs
    # handles (raw dicts, the payload union on the way out).
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    for tp, hook in _SCALAR_HOOKS.items():
        if tp in _DICT_TYPES:  # generic aliases are no classes: matched by equality
            conv.register_structure_hook_func(tp.__eq__, hook)
        else:  # scalars go out as they are; raw dicts are copied by cattrs
            conv.register_structure_hook(tp, hook)
            conv.register_unstructure_hook(tp, identity)

    generated: dict[type[Any], _StructureHook] = {}
    stepped: dict[type[Any], _StructureHook] = {}
    fields: dict[type[Any], tuple[_Field, ...]] = {}

    def raw(cls: type[Any]) -> _StructureHook:
        """cattrs' own function for ``cls``."""
        if cls not in generated:
            generated[cls] = make_dict_structure_fn(cls, conv, **overrides(cls))
        return generated[cls]

    def nested(cls: type[Any]) -> _StructureHook:
        """``cls``'s hook inside another model: cattrs' function, with its pre-step if any."""
        if cls not in stepped:
            stepped[cls] = model_structure(cls)
        return stepped[cls]

    def dispatched_model(cls: type[Any], body: Mapping[str, Any]) -> type[Any] | None:
        name_field, _, table = _DISPATCHED[cls]
        name = body.get(attrs.fields_dict(cls)[name_field].metadata[WIRE])
        return table.get(name) if type(name) is str else None  # type: ignore[call-overload]

    def model_hook(cls: type[Any], optional: bool) -> _StructureHook:
        """A nested model field: a JSON object (or null, if ``optional``) structured as ``cls``."""
        inner = nested(cls)

        def structure_model(value: Any, _: Any = None) -> Any:
            if type(value) is dict:
                return inner(value, cls)
            if value is None and optional:
                return None
            return inner(_require_mapping(value, cls), cls)

        return structure_model

    def model_tuple_structure(item: type[Any]) -> _StructureHook:
        inner = nested(item)
        generated_fn = raw(item)
        pairs = _FALLBACK_KEYS.get(item, ())
        direct = item not in _DISPATCHED and len(pairs) <= 1
        key = pairs[0][0] if pairs else None

        def slow(element: Any) -> Any:
            return inner(
                element if type(element) is dict else _require_mapping(element, item), item
            )

        def structure_tuple(value: Any, _: Any = None) -> tuple[Any, ...] | None:
            if value is None:
                return None
            if type(value) is not list and type(value) is not tuple:
                raise _wrong("a JSON array", value)
            if not direct:
                return tuple([slow(element) for element in value])
            if key is None:
                return tuple(
                    [
                        generated_fn(element, item) if type(element) is dict else slow(element)
                        for element in value
                    ]
                )
            # Items that spell the canonical key skip the fallback step.
            return tuple(
                [
                    generated_fn(element, item)
                    if type(element) is dict and key in element
                    else slow(element)
                    for element in value
                ]
            )

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
            return None, None  # registered on the converter, per type
        args = _non_none_args(tp)
        models_ = [arg for arg in args if attrs.has(arg)]
        if len(models_) == 1 and len(args) == 1:
            (model,) = models_
            return model_hook(model, optional=_is_union(tp)), conv.get_unstructure_hook(model)
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

    def overrides(cls: type[Any]) -> dict[str, Any]:
        """Per field: its wire key, and its hooks where the field's type needs ours."""
        attrs.resolve_types(cls)
        fallbacks = dict(_FALLBACK_KEYS.get(cls, ()))
        dispatched = _DISPATCHED[cls][1] if cls in _DISPATCHED else None
        found: dict[str, Any] = {}
        specs: list[_Field] = []
        for field in attrs.fields(cls):
            wire = _wire_key(cls, field)
            if wire is None:  # not on the wire: always its default
                found[field.name] = override(omit=True)
                continue
            structure: _StructureHook | None
            unstructure: _UnstructureHook | None
            if field.name == dispatched:
                structure, unstructure = _keep, None
            else:
                structure, unstructure = field_hooks(field.type)
            found[field.name] = override(
                rename=wire, struct_hook=structure, unstruct_hook=unstructure
            )
            args = _non_none_args(field.type)
            item = next(filter(None, map(_model_tuple_item, args)), None)
            model = item or next((arg for arg in args if attrs.has(arg)), None)
            specs.append(
                _Field(
                    field=field,
                    wire=wire,
                    fallback=fallbacks.get(wire),
                    hook=structure or conv.get_structure_hook(field.type),
                    model=None if field.name == dispatched else model,
                    many=item is not None,
                    text=str in args,
                    dispatched=field.name == dispatched,
                )
            )
        fields[cls] = tuple(specs)
        return found

    def model_structure(cls: type[Any]) -> _StructureHook:
        """cattrs' function for ``cls``, after the fallback and dispatch step it may need."""
        hook = raw(cls)
        if cls in _DISPATCHED:
            hook = dispatch_step(cls, hook)
        if cls in _FALLBACK_KEYS:
            hook = fallback_step(_FALLBACK_KEYS[cls], hook)
        return hook

    def fallback_step(pairs: tuple[tuple[str, str], ...], inner: _StructureHook) -> _StructureHook:
        """Copy each alternative spelling to the canonical key, when that key is absent."""

        def structure_with_fallbacks(body: Mapping[str, Any], cls: Any) -> Any:
            for key, alternative in pairs:
                if key not in body and alternative in body:
                    body = {**body, key: body[alternative]}
            return inner(body, cls)

        return structure_with_fallbacks

    def dispatch_step(cls: type[Any], inner: _StructureHook) -> _StructureHook:
        """Structure the field whose model follows the service name in the same body."""
        key = attrs.fields_dict(cls)[_DISPATCHED[cls][1]].metadata[WIRE]

        def structure_dispatched(body: Mapping[str, Any], cls: Any) -> Any:
            value = body.get(key)
            if value is not None:
                model = dispatched_model(cls, body)
                if model is None:
                    value = _dict(value)
                else:
                    mapping = value if type(value) is dict else _require_mapping(value, model)
                    value = nested(model)(mapping, model)
                body = {**body, key: value}
            return inner(body, cls)

        return structure_dispatched

    locator = _Locator(fields, nested, dispatched_model)

    def structure_factory(cls: type[Any]) -> _StructureHook:
        """``converter.structure(body, cls)``: cattrs' function; on failure, the wire path."""
        inner = nested(cls)

        def structure(body: Any, _: Any = None) -> Any:
            try:
                return inner(body if type(body) is dict else _require_mapping(body, cls), cls)
            except Exception as exc:
                error = locator.locate(cls, body) or _nest("", exc)
                raise error from error.__cause__

        return structure

    def unstructure_factory(cls: type[Any]) -> _UnstructureHook:
        """cattrs' function: every field that is not ``None``, under its wire key."""
        hook: _UnstructureHook = make_dict_unstructure_fn(
            cls, conv, _cattrs_omit_if_default=True, **overrides(cls)
        )
        return hook

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)

    # Generate every model's hooks now, rather than on first use.
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and attrs.has(model):
            conv.get_structure_hook(model)
            conv.get_unstructure_hook(model)
    return conv
