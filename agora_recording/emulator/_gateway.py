"""The gateway in front of the emulated service: Basic auth, the App ID restriction, the quota.

Agora's gateway answers these before the service sees a request, with its own body shape
``{"message": ...}`` (Agora's "RESTful authentication" and "Response status codes" pages): 401
without or with wrong credentials, 400 ``appid is invalid`` for an App ID the project does not
have, 429 with ``Retry-After`` past the App ID's request quota.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from . import _replies as replies
from ._clock import Clock
from ._quota import AppQuota

__all__ = ["Gateway", "QuotaExceeded"]


class QuotaExceeded(replies.ServiceError):
    """The 429 of the per-App-ID quota (counted apart from injected 429s)."""


class Gateway:
    """Admits or refuses one request; the customer secret is never shown."""

    def __init__(
        self,
        *,
        customer_id: str,
        customer_secret: str,
        app_id: str | None,
        quota: AppQuota | None,
        clock: Clock,
    ) -> None:
        self._customer_id = customer_id.encode()
        self._customer_secret = customer_secret.encode()
        self._app_id = app_id
        self._quota = quota
        self._clock = clock

    def __repr__(self) -> str:
        return f"Gateway(app_id={self._app_id!r}, quota={self._quota is not None})"

    def admit(self, authorization: str | None, app_id: str | None) -> None:
        """Raise the gateway's answer unless the request may reach the service: credentials,
        then (for the six endpoints, which name an App ID) the App ID and its quota."""
        self._authenticate(authorization)
        if app_id is None:
            return
        if self._app_id is not None and app_id != self._app_id:
            raise replies.gateway(400, "appid is invalid")
        delay = self._quota.take(app_id, self._clock.time()) if self._quota else None
        if delay is not None:
            headers = {"Retry-After": AppQuota.retry_after_header(delay)}
            limited = replies.gateway(429, "API rate limit exceeded", headers)
            raise QuotaExceeded(limited.status, limited.body, limited.headers)

    def _authenticate(self, header: str | None) -> None:
        if header is None:
            raise replies.gateway(401, "Unauthorized")
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "basic":
            raise replies.gateway(401, "Invalid authentication credentials")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise replies.gateway(401, "Invalid authentication credentials") from None
        customer_id, _, secret = decoded.partition(":")
        same_id = hmac.compare_digest(customer_id.encode(), self._customer_id)
        same_secret = hmac.compare_digest(secret.encode(), self._customer_secret)
        if not (same_id and same_secret):
            raise replies.gateway(401, "Invalid authentication credentials")
