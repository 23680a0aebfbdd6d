"""Every public name has a docstring, so the API reference (built from docstrings) misses none.

The public names are those the reference documents: each public module's ``__all__`` (and the
exception classes of ``agora_recording.errors``), plus, for a class, the public methods and
properties it defines or inherits from the library's own classes. A constant's docstring is the
string literal right after its assignment, found in the source of the module that assigns it.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

#: The modules the API reference documents; ``errors`` has no ``__all__``.
PUBLIC_MODULES = (
    "agora_recording",
    "agora_recording.errors",
    "agora_recording.webhooks",
    "agora_recording.events",
    "agora_recording.files",
    "agora_recording.tokens",
    "agora_recording.redis",
    "agora_recording.telemetry",
    "agora_recording.testing",
    "agora_recording.signals",
    "agora_recording.emulator",
)

PACKAGE = "agora_recording"


def public_names(module: ModuleType) -> list[str]:
    """``__all__``, or the public names a module without one defines itself."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return [name for name in names if name != "__version__"]
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    ]


@cache
def module_tree(name: str) -> ast.Module:
    module = sys.modules[name]
    return ast.parse(Path(inspect.getfile(module)).read_text(encoding="utf-8"))


def constant_docstring(module_name: str, name: str, depth: int = 0) -> str | None:
    """The string literal after ``name``'s assignment, following ``from x import name``."""
    assert depth < 10, f"import cycle resolving {module_name}.{name}"
    body = module_tree(module_name).body
    for index, node in enumerate(body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            following = body[index + 1] if index + 1 < len(body) else None
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                return following.value.value
            return None
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = importlib.util.resolve_name(
                        "." * node.level + (node.module or ""),
                        module_name
                        if hasattr(sys.modules[module_name], "__path__")
                        else module_name.rpartition(".")[0],
                    )
                    importlib.import_module(source)
                    return constant_docstring(source, alias.name, depth + 1)
    return None


def own_classes(cls: type) -> Iterator[type]:
    """``cls`` and the bases it inherits from the library (not from Python or attrs)."""
    for base in cls.__mro__:
        if base.__module__.split(".")[0] == PACKAGE:
            yield base


def member_problems(qualname: str, cls: type) -> Iterator[str]:
    """The public methods and properties of ``cls`` that have no docstring."""
    seen: set[str] = set()
    for base in own_classes(cls):
        for name, value in vars(base).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(cls, enum.EnumMeta) and name in cls.__members__:
                continue
            function: Any = value
            if isinstance(value, (classmethod, staticmethod)):
                function = value.__func__
            elif isinstance(value, property):
                function = value.fget
            elif not inspect.isfunction(value):
                continue  # attributes, attrs fields, nested constants
            if not (inspect.getdoc(function) or "").strip():
                yield f"{qualname}.{name}"


def problems() -> Iterator[str]:
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            qualname = f"{module_name}.{name}"
            if inspect.isclass(value) or inspect.isfunction(value) or callable(value):
                if not (value.__doc__ or "").strip():
                    yield qualname
                if inspect.isclass(value):
                    yield from member_problems(qualname, value)
            elif not (constant_docstring(module_name, name) or "").strip():
                yield qualname


def test_every_public_name_has_a_docstring() -> None:
    """Each public class, function and constant, and each public method and property of the
    public classes, has a non-empty docstring that the reference renders."""
    missing = sorted(set(problems()))
    assert missing == [], "no docstring: " + ", ".join(missing)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_has_a_docstring(module_name: str) -> None:
    """Each module the reference documents opens with a docstring saying what it is for."""
    assert (importlib.import_module(module_name).__doc__ or "").strip()
