"""The package's shape: every exception lives in ``errors``, imports point one way."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import agora_recording
import pytest
from agora_recording import errors

# Exceptions used as control flow inside one module, never raised to a caller of the library.
_INTERNAL = {
    "agora_recording._cli._common.CliError": "click's exception, printed by click as the CLI exits",
    "agora_recording.emulator._control._BadControl": "the emulator answers it with a 400",
    "agora_recording.emulator._faults.DropConnection": "the emulator drops the connection",
    "agora_recording.emulator._gateway.QuotaExceeded": "the emulator answers it with a 429",
    "agora_recording.emulator._replies.ServiceError": "the emulator answers it with its status",
    "agora_recording.redis._Unreadable": "a Redis record counted as unreadable, then skipped",
    "agora_recording.webhooks._receiver._Disconnected": "the receiver stops reading the body",
    "agora_recording.webhooks._receiver._TooLarge": "the receiver answers it with a 413",
}


def _modules() -> list[ModuleType]:
    names = [agora_recording.__name__] + [
        info.name
        for info in pkgutil.walk_packages(agora_recording.__path__, f"{agora_recording.__name__}.")
        if info.name != "agora_recording.__main__"
    ]
    return [importlib.import_module(name) for name in names]


def _exceptions_defined_outside_errors() -> set[str]:
    found = set()
    for module in _modules():
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and issubclass(cls, BaseException)
                and cls.__module__ == module.__name__
                and module is not errors
            ):
                found.add(f"{cls.__module__}.{cls.__qualname__}")
    return found


def test_every_exception_the_library_raises_is_defined_in_errors() -> None:
    """A caller finds every exception it can catch in ``agora_recording.errors``."""
    assert _exceptions_defined_outside_errors() == set(_INTERNAL)


def test_errors_docstring_draws_every_exception() -> None:
    """The tree in ``errors``'s docstring names every class the module defines."""
    defined = {
        name
        for name, cls in vars(errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == "agora_recording.errors"
    }
    doc = errors.__doc__ or ""
    assert {name for name in defined if f" {name} " not in doc} == set()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("agora_recording", "CredentialsExpiringError"),
        ("agora_recording._credentials", "CredentialsExpiringError"),
        ("agora_recording.tokens", "InvalidTokenError"),
        ("agora_recording.tokens", "TokenFormatError"),
        ("agora_recording.tokens", "TokenSignatureError"),
        ("agora_recording.tokens", "TokenExpiredError"),
        ("agora_recording.tokens", "TokenLifetimeError"),
        ("agora_recording.webhooks", "InvalidNotificationError"),
        ("agora_recording.redis", "RedisUnavailableError"),
        ("agora_recording.redis", "LeaseLostError"),
    ],
)
def test_moved_exceptions_keep_their_old_import_paths(module: str, name: str) -> None:
    """Code importing an exception from where it used to live gets the class in ``errors``."""
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


# -- imports point one way ----------------------------------------------------------------------

PACKAGE = Path(agora_recording.__file__).parent

# The layers, lowest first: a module imports only from its own layer or the layers below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # facts, pure
    (
        "_httpx_import", "enums", "_event_types", "_headers", "_groups", "_hints", "errors",
        "_converter",
        "models", "validation", "_protocol", "_status", "_events", "events", "files", "tokens",
        "_journal", "_outcome", "_keywords", "_numbers", "webhooks._envelope",
    ),
    # policies, pure: the confirmed stop, starts, health, rate, polls, retries, hosts, hooks
    (
        "_stopping", "_starting", "_health", "_ratelimit", "_inflight", "_polling", "_retry",
        "_hosts", "telemetry", "webhooks._hub",
    ),
    # I/O: the endpoint client, which never imports a session
    ("_deadline", "_requests", "_client"),
    # orchestration
    # (the options name the credential hooks' types, so they sit beside ``_credentials``)
    ("_orphans", "_credentials", "_options", "_session", "_assembled", "_recorder", "signals"),
    # integrations, and the package's front door
    ("webhooks", "redis", "emulator", "testing", "_cli", "cli", "__main__", ""),
)  # fmt: skip

# The one import of the package root from inside: ``__version__``, assigned in the root (where
# the build and the docs read it) and read lazily by the User-Agent and the telemetry.
_ROOT_NAMES = {"__version__"}


def _module_name(path: Path) -> str:
    parts = ["agora_recording", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every module's imports of the package's modules, wherever they stand: at the top,
    inside functions, or under ``if TYPE_CHECKING:``."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}

    def owner(name: str) -> str | None:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name if name in modules else None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                found = [
                    f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem
                    for alias in node.names
                    if not (stem == "agora_recording" and alias.name in _ROOT_NAMES)
                ]
            targets |= {t for t in map(owner, found) if t is not None and t != name}
        graph[name] = targets
    return graph


def _layer(module: str) -> int:
    short = module.removeprefix("agora_recording").removeprefix(".")
    for depth in (2, 1):
        key = ".".join(short.split(".")[:depth]) if short else ""
        for index, layer in enumerate(LAYERS):
            if key in layer:
                return index
    raise AssertionError(f"{module} has no layer: add it to LAYERS")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _outside_the_emulator(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The emulator's own modules type against each other (a separate application, with its
    own layout); its imports of the library still count."""

    def inside(name: str) -> bool:
        return name.startswith("agora_recording.emulator.")

    return {
        name: {t for t in targets if not (inside(name) and inside(t))}
        for name, targets in graph.items()
    }


def test_imports_have_no_cycle_even_for_type_checking() -> None:
    """No module of the library imports, even only for type checking, one that imports it back."""
    assert _cycles(_outside_the_emulator(_imports())) == []


def test_imports_follow_the_layers() -> None:
    """Facts import nothing above them, policies no I/O, the client no session."""
    upward = sorted(
        f"{name} -> {target}"
        for name, targets in _imports().items()
        for target in targets
        if _layer(target) > _layer(name)
    )
    assert upward == []


def test_the_client_module_never_imports_the_session() -> None:
    """``client.session(...)`` is assembled above both, not by the client reaching up."""
    assert (
        not {"agora_recording._session", "agora_recording._assembled"}
        & _imports()["agora_recording._client"]
    )


def test_client_session_takes_exactly_the_session_keywords() -> None:
    """``client.session(...)`` keeps the session's own signature, so type checkers see it."""
    from agora_recording import RecordingClient, RecordingSession

    session = inspect.signature(RecordingSession.__init__).parameters
    factory = inspect.signature(RecordingClient.session).parameters
    assert [(p.name, p.kind, p.default) for p in factory.values() if p.name != "self"] == [
        (p.name, p.kind, p.default) for p in session.values() if p.name not in {"self", "client"}
    ]
    assert inspect.signature(RecordingClient.session).return_annotation == "RecordingSession"


def test_task_groups_held_across_a_block_use_the_one_helper() -> None:
    """Nothing enters or leaves a task group by hand, nor unwraps exception groups its own
    way: the session, the Recorder and the signal drain share ``_groups``."""
    own_ways = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_groups.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("create_task_group()\n        await", "def _unwrap", ".__aexit__(exc_type"):
            if needle in text:
                own_ways.append(f"{path.relative_to(PACKAGE)}: {needle!r}")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"__aenter__", "__aexit__"}
                and isinstance(node.value, ast.Name)
                and "group" in node.value.id
            ):
                own_ways.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value.id}")
    assert own_ways == []
