"""The documented error answers of the service, as one exception type the app turns into JSON.

Two body shapes exist (Agora's "Response status codes"): the gateway's ``{"message": ...}`` (auth,
routing, rate limit, App ID) and the service's ``{"code": ..., "reason": ...}``, which the emulator
also fills with the request's ``cname``/``uid`` and, where known, ``resourceId``/``sid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ServiceError",
    "already_started",
    "bad_header",
    "gateway",
    "invalid_operation",
    "invalid_parameter",
    "no_recorded_data",
    "no_route",
    "service",
    "task_conflict",
    "worker_not_found",
]


class ServiceError(Exception):
    """An answer other than 200: HTTP ``status``, JSON ``body`` and extra ``headers``."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body: dict[str, Any] = dict(body)
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"HTTP {status}: {self.body}")

    def with_ids(self, **ids: str | None) -> ServiceError:
        """Return a copy whose service-level body also carries the request identifiers."""
        if "code" not in self.body:
            return self
        extra = {key: value for key, value in ids.items() if value is not None}
        return ServiceError(self.status, {**extra, **self.body}, self.headers)


def gateway(status: int, message: str, headers: Mapping[str, str] | None = None) -> ServiceError:
    """A gateway-level error: ``{"message": ...}``."""
    return ServiceError(status, {"message": message}, headers)


def service(status: int, code: int, reason: str) -> ServiceError:
    """A service-level error: ``{"code": ..., "reason": ...}``."""
    return ServiceError(status, {"code": code, "reason": reason})


def no_route() -> ServiceError:
    """404 for a wrong method, path or mode."""
    return gateway(404, "no Route matched with those values")


def bad_header(reason: str) -> ServiceError:
    """400 code 8: wrong ``Content-Type`` or a body that is not a JSON object."""
    return service(400, 8, reason)


def invalid_parameter(reason: str) -> ServiceError:
    """400 code 2: a body field breaks a documented rule."""
    return service(400, 2, reason)


def already_started() -> ServiceError:
    """201 code 7: ``start`` repeated with the same resource ID."""
    return service(201, 7, "already started")


def task_conflict() -> ServiceError:
    """400 code 53: another live task has the same App ID, cname and uid."""
    return service(400, 53, "task conflict")


def worker_not_found() -> ServiceError:
    """404 code 404: the task does not exist (any more), or is failing over."""
    return service(404, 404, "failed to find worker")


def invalid_operation() -> ServiceError:
    """400 code 49: ``stop`` of a task that is already exiting."""
    return service(400, 49, "invalid operation")


def no_recorded_data() -> ServiceError:
    """206 code 435: ``stop`` of a task that recorded nothing."""
    return service(206, 435, "no recorded data")
