"""Everything agora-recording raises.

::

    AgoraError                      root of every exception raised by this library
    ├── ValidationError             bad input, refused before any request (also a ValueError);
    │   │                           also a wire value of the wrong type for ``converter.structure``
    │   └── TokenLifetimeError      no AccessToken2 token covers the duration asked for (24 h max)
    ├── TransportError              the request never got an HTTP answer (DNS, connect, timeout)
    ├── UnexpectedResponseError     a 2xx we could not read: not JSON, too large, too deeply
    │                               nested, or not the shape the endpoint documents
    ├── APIError                    the service answered with an error status
    │   ├── AlreadyStartedError     201 + code 7: start repeated with the same resource ID
    │   ├── RequestNotCompletedError  206 + code 65: reached the backend, answer timed out
    │   ├── NoRecordedDataError     206 + code 435: stop of a recording nobody published to
    │   ├── BadRequestError         400: invalid parameters (2), invalid operation (49),
    │   │                           task conflict (53), quota (406), App ID or channel name
    │   ├── AuthenticationError     401: missing or wrong customer ID / secret
    │   ├── NotFoundError           404: route not matched, or "failed to find worker"
    │   ├── RateLimitError          429: over the request quota
    │   └── ServerError             5xx: internal error, no resources, request timeout
    ├── RecordingFailedError        a recording died or never came up (raised by sessions)
    │   ├── OrphanedStartError      a lost start answer left a recording with no known sid
    │   └── CredentialsExpiringError  storage credentials could not be refreshed before expiry
    ├── StartNotJournaledError      a start intent could not be journalled: start not sent
    ├── StopUnconfirmedError        no confirmed stop within ``stop_timeout``: may still run
    ├── UnconfirmedRecordingsError  a client closed while recordings had no confirmed stop
    ├── ArgumentTypeError           an argument of the wrong type (also a TypeError)
    ├── UsageError                  a call at the wrong time: a session entered twice, updated
    │   │                           before start, a Recorder not entered (also a RuntimeError)
    │   └── ClientClosedError       a call on a closed RecordingClient
    ├── DuplicateKeyError           a Recorder already records under that key (a ValueError)
    ├── UnknownKeyError             a Recorder records nothing under that key (a KeyError)
    ├── InvalidTokenError           a token is not well formed, signed and live (a ValueError)
    │   ├── TokenFormatError        cannot be decoded: prefix, base64, zlib, truncated
    │   ├── TokenSignatureError     the signature does not match the App Certificate
    │   └── TokenExpiredError       the token or its join privilege has expired
    ├── InvalidNotificationError    a callback body is not a signed NCS envelope (a ValueError)
    ├── RedisUnavailableError       Redis did not answer a lease operation (a ConnectionError)
    └── LeaseLostError              another worker took the lease of this worker's recording

Every class is defined here; `agora_recording.tokens`, `agora_recording.webhooks`,
`agora_recording.redis` and the package root re-export the ones that belong to them.

Exception messages never contain a request body, a header or a secret: they name the
endpoint, the HTTP status, Agora's ``code`` and ``reason`` and the request ID, then what to
check (the setting or environment variable, never its value; see ``_hints``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ._hints import api_hint

if TYPE_CHECKING:
    from .enums import Mode, RecordingStatus


class RecordingRef(Protocol):
    """What an exception tells of the recording it is about: a `RecordingHandle`.

    Typed structurally because the models are built on these exceptions, not the reverse.
    """

    @property
    def resource_id(self) -> str:
        """The resource ID the recording was started with."""

    @property
    def sid(self) -> str:
        """The recording ID."""

    @property
    def mode(self) -> Mode:
        """The recording mode."""

    @property
    def cname(self) -> str:
        """The channel."""

    @property
    def uid(self) -> str:
        """The recorder's user ID in the channel."""


class QueryRef(Protocol):
    """What an exception keeps of the last ``query`` answer: a `QueryResponse`."""

    @property
    def status(self) -> RecordingStatus | None:
        """The recording's status in that answer, or ``None`` when it carried none."""


class AgoraError(Exception):
    """Root of every exception raised by agora-recording."""


class ValidationError(AgoraError, ValueError):
    """An argument breaks a documented rule; raised before any request is sent.

    ``field`` names the offending field by its wire path
    (``clientRequest.recordingConfig.maxIdleTime``) and ``rule`` says what the service accepts.
    ``converter.structure`` raises it too, for a wire value of the wrong type or shape, with the
    path from the structured object (``serverResponse.fileList[2].sliceStartTime``; empty when
    the object itself is not a JSON object). The message never quotes a secret value, nor a
    wire value that failed to structure.
    """

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}" if field else rule)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.rule))


class TransportError(AgoraError):
    """The request got no HTTP answer: DNS, connection, TLS or timeout failure, after retries."""

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        self.endpoint = endpoint
        super().__init__(message)


class UnexpectedResponseError(AgoraError):
    """A success status came back with a body we cannot trust as the documented answer.

    Raised when a 2xx body is not UTF-8 JSON, is larger than the client reads, nests deeper than
    the client decodes, is not a JSON object, holds a value of the wrong type (``field`` names its
    wire path), or lacks what the endpoint's answer must hold (``resourceId`` for acquire, ``sid``
    for start, an identifier of the recording for the others).

    **The outcome is unknown** whenever ``status_code`` is set: something answered the request
    with a success status, but not in a form that says what happened, so the request may or may
    not have taken effect (a stop may have stopped the recording). ``status_code`` is ``None``
    only when the error was raised from a value already parsed (``StartResponse.handle``).

    ``request_id`` is the ``X-Request-ID`` header, ``excerpt`` the start of the body as text with
    the values of credential-like keys masked (for logs), ``body`` the raw bytes (the first
    64 KiB; never log them: a misrouted request may be echoed back with its secrets).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        body: bytes = b"",
        excerpt: str = "",
        field: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.excerpt = excerpt
        self.field = field
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_unexpected, (type(self), self.args, self.__dict__.copy()))


def _rebuild_unexpected(
    cls: type[UnexpectedResponseError], args: tuple[Any, ...], state: dict[str, Any]
) -> UnexpectedResponseError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class APIError(AgoraError):
    """The service answered with an error.

    Carries the HTTP ``status_code``, Agora's body ``code`` and ``reason`` (service errors), the
    gateway's ``message`` (gateway errors), the ``request_id`` from the ``X-Request-ID`` header and
    the raw ``body`` bytes.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        status_code: int,
        code: int | None = None,
        reason: str | None = None,
        message: str | None = None,
        request_id: str | None = None,
        body: bytes = b"",
        payload: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status_code = status_code
        self.code = code
        self.reason = reason
        self.message = message
        self.request_id = request_id
        self.body = body
        self.payload: Mapping[str, Any] = payload if payload is not None else {}
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.endpoint} failed with HTTP {self.status_code}"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        text = self.reason if self.reason is not None else self.message
        if text:
            parts.append(repr(text))
        if self.request_id:
            parts.append(f"request ID {self.request_id}")
        hint = api_hint(self.status_code, self.code, self.reason, self.message)
        return ", ".join(parts) + (f": {hint}" if hint else "")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (type(self), self.__dict__.copy()))


def _rebuild_api_error(cls: type[APIError], state: dict[str, Any]) -> APIError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error._describe())
    return error


class AlreadyStartedError(APIError):
    """201 with code 7: ``start`` was repeated with the same resource ID; no new ``sid``."""


class RequestNotCompletedError(APIError):
    """206 with code 65: the request reached the backend but its answer timed out; retried."""


class NoRecordedDataError(APIError):
    """206 with code 435 on ``stop``: nobody published, so there are no files. Usually benign."""


class BadRequestError(APIError):
    """400: invalid parameters, invalid operation, task conflict, quota, App ID or channel name."""


class AuthenticationError(APIError):
    """401: the customer ID or secret is missing or wrong, or Cloud Recording is not enabled."""


class NotFoundError(APIError):
    """404: the route did not match, or the recording ("worker") does not exist (any more)."""

    @property
    def worker_not_found(self) -> bool:
        """True for ``{"code": 404, "reason": "failed to find worker"}``: the task is gone."""
        return self.code == 404


class RateLimitError(APIError):
    """429: over the request quota (10 requests per second per App ID by default)."""


class ServerError(APIError):
    """5xx: the service failed or timed out; retried with backoff."""


class RecordingFailedError(AgoraError):
    """A recording died, exited on its own, or never became healthy.

    Carries the ``handle`` of the recording, the last known ``status`` (a ``RecordingStatus``, or
    ``None`` when the service never reported one), a human ``detail`` and the ``last_query``
    response, when there was one.
    """

    def __init__(
        self,
        detail: str,
        *,
        handle: RecordingRef | None = None,
        status: RecordingStatus | None = None,
        last_query: QueryRef | None = None,
        cause: BaseException | None = None,
    ) -> None:
        self.detail = detail
        self.handle = handle
        self.status = status
        self.last_query = last_query
        self.cause = cause
        where = f" (sid {handle.sid})" if handle is not None else ""
        super().__init__(f"recording failed{where}: {detail}")


class StopUnconfirmedError(AgoraError):
    """The service never confirmed a stop within ``stop_timeout``: the recording may still run.

    ``handle`` names the recording (stop it later with ``agora-recording stop`` or
    `RecordingClient.ensure_stopped`); ``last_error`` is the last failure seen. The handle stays
    in `RecordingClient.unconfirmed` until a stop is confirmed.
    """

    def __init__(
        self, message: str, *, handle: RecordingRef, last_error: BaseException | None
    ) -> None:
        self.handle = handle
        self.last_error = last_error
        super().__init__(message)


class UnconfirmedRecordingsError(AgoraError):
    """A client was closed while recordings it started had no confirmed stop.

    ``recordings`` lists them (`UnconfirmedRecording`: handle and last error); each was also
    logged at ERROR level so an operator can stop it.
    """

    def __init__(self, recordings: tuple[Any, ...]) -> None:
        self.recordings = recordings
        sids = ", ".join(r.sid or f"unknown (cname {r.cname}, uid {r.uid})" for r in recordings[:5])
        more = f" and {len(recordings) - 5} more" if len(recordings) > 5 else ""
        super().__init__(
            f"closed with {len(recordings)} recording(s) whose stop was never confirmed: "
            f"sid {sids}{more}"
        )


class OrphanedStartError(RecordingFailedError):
    """A start's answer was lost, but the service had started the recording (201 code 7).

    With notifications the session learns the recording's sid from its first event and stops
    it: then ``handle`` names it and ``stopped`` is True. Without them (or when no event came)
    ``handle`` is None and the recording runs until ``maxIdleTime``; the message names the
    resource ID, channel and UID to look for.
    """

    def __init__(self, detail: str, *, handle: RecordingRef | None, stopped: bool) -> None:
        super().__init__(detail, handle=handle)
        self.stopped = stopped


class StartNotJournaledError(AgoraError):
    """A session's start intent could not be written to its journal in time, so ``start``
    was never sent: nothing runs (see ``RecordingSession.journal_to``)."""


class ArgumentTypeError(AgoraError, TypeError):
    """An argument has the wrong type (``query("abc")`` instead of a `RecordingHandle`)."""


class UsageError(AgoraError, RuntimeError):
    """A call made at the wrong time: a session entered twice, or used before it started or
    after it stopped; a `Recorder` used outside its ``async with`` block."""


class ClientClosedError(UsageError):
    """A call on a `RecordingClient` after ``aclose()``; create a new client."""


class DuplicateKeyError(AgoraError, ValueError):
    """A `Recorder` already records under that key: stop it first."""


class UnknownKeyError(AgoraError, KeyError):
    """A `Recorder` records nothing under that key (it ended, or never started)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# -- storage credentials (agora_recording._credentials) -------------------------------------


class CredentialsExpiringError(RecordingFailedError):
    """Storage credentials could not be refreshed and expire at ``expires_at`` (Unix seconds).

    Raised by the session (or found in ``session.outcome.error``) ``EXPIRY_LEAD`` seconds
    (``agora_recording._credentials``) before the expiry, so the recording can be stopped while
    its uploads still work. ``cause`` is the last refresh failure.
    """

    def __init__(
        self,
        detail: str,
        *,
        expires_at: float,
        handle: RecordingRef | None = None,
        status: RecordingStatus | None = None,
        cause: BaseException | None = None,
    ) -> None:
        self.expires_at = expires_at
        super().__init__(detail, handle=handle, status=status, cause=cause)


# -- tokens (agora_recording.tokens) ---------------------------------------------------------


class InvalidTokenError(AgoraError, ValueError):
    """A token is not a well-formed, correctly signed, live AccessToken2 token.

    The message names the problem and never contains the token or the certificate.
    """


class TokenFormatError(InvalidTokenError):
    """The token cannot be decoded: wrong prefix, bad base64 or zlib, truncated, trailing data."""


class TokenSignatureError(InvalidTokenError):
    """The token decodes, but its signature does not match the App Certificate."""


class TokenExpiredError(InvalidTokenError):
    """The token, or the RTC join privilege in it, has expired."""


class TokenLifetimeError(ValidationError):
    """No token can cover the requested duration: AccessToken2 tokens live at most 24 hours.

    ``duration_seconds`` is what was asked for and ``max_duration_seconds`` the longest duration
    a token can cover with the requested margin.
    """

    def __init__(
        self, duration_seconds: float, max_duration_seconds: int, margin: int, *, lifetime: int
    ) -> None:
        self.duration_seconds = duration_seconds
        self.max_duration_seconds = max_duration_seconds
        super().__init__(
            "duration_seconds",
            f"a token lives at most {lifetime} s (24 h), so with a {margin} s margin it"
            f" covers at most {max_duration_seconds} s, got {duration_seconds:g} s",
        )


# -- notifications (agora_recording.webhooks) -----------------------------------------------


class InvalidNotificationError(AgoraError, ValueError):
    """A callback body is not an NCS envelope, or its signature does not match."""


# -- leases (agora_recording.redis) ----------------------------------------------------------


class RedisUnavailableError(AgoraError, ConnectionError):
    """Redis did not answer (or answered with an error) a lease operation."""


class LeaseLostError(AgoraError):
    """Another worker holds the lease of a recording this worker was recording.

    Raised out of `LeaseStore.record` when renewal finds the lease taken (this worker stalled
    for longer than the lease, and the janitor of another one adopted the recording).
    """

    def __init__(self, message: str, *, handle: RecordingRef, owner: str) -> None:
        super().__init__(message)
        self.handle = handle
        self.owner = owner
