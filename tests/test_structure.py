"""The package's shape: every exception lives in ``errors``, imports point one way."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
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
