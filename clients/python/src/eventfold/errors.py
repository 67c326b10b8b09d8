"""The exceptions of the Eventfold client.

Every error the server returns is one HTTP status and one stable code, as
``{"error": "<code>", "message": "…"}``. They all become :class:`EventfoldError` (or one of its
subclasses, chosen by the code), whose ``code`` is the server's ``error`` field as it is.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

__all__ = [
    "EventfoldError",
    "EventfoldConnectionError",
    "WrongExpectedRevisionError",
    "StreamNotFoundError",
    "StreamDeletedError",
    "EventIdConflictError",
    "ConflictError",
    "GroupNotFoundError",
    "BusNotFoundError",
    "UnavailableError",
    "ERRORS_BY_CODE",
    "error_from_body",
    "error_from_response",
]


class EventfoldError(Exception):
    """An error answered by the server, or met on the way to it.

    Attributes:
        status: The HTTP status (``None`` when there was no HTTP answer: a connection failure,
            or a ``failure`` message that ended a subscription).
        code: The server's stable ``error`` code (``wrong_expected_revision``,
            ``stream_not_found``, …). Errors made on the client side use codes the server
            never sends: ``connection_error`` and ``unexpected_response``.
        message: The human-readable message.
        body: The whole JSON error body (extra fields such as ``expected`` included); empty
            when there was none.
        request_id: The response's ``x-request-id``, for the server's logs, when known.
    """

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            f"[{code}] {message}" if status is None else f"{status} [{code}] {message}"
        )
        self.status = status
        self.code = code
        self.message = message
        self.body: dict[str, Any] = dict(body or {})
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r})"
        )


class EventfoldConnectionError(EventfoldError):
    """The server could not be reached, or the connection failed, after every retry.

    ``code`` is ``connection_error``; the original ``httpx`` exception is the ``__cause__``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(None, "connection_error", message)


class WrongExpectedRevisionError(EventfoldError):
    """``409 wrong_expected_revision``: the optimistic-concurrency check failed.

    Attributes:
        expected: The expectation sent (``"any"``, ``"no_stream"``, ``"exists"`` or a
            revision).
        actual: The stream's current revision, or ``None`` when the stream does not exist.
    """

    @property
    def expected(self) -> str | int | None:
        """The expectation sent, as the server echoes it."""
        value = self.body.get("expected")
        return value if isinstance(value, (str, int)) else None

    @property
    def actual(self) -> int | None:
        """The stream's current revision (``None``: no stream)."""
        value = self.body.get("actual")
        return value if isinstance(value, int) else None


class StreamNotFoundError(EventfoldError):
    """``404 stream_not_found``: the stream was never written, or is soft-deleted."""


class StreamDeletedError(EventfoldError):
    """``410 stream_deleted``: the stream is tombstoned (hard-deleted) for ever."""


class EventIdConflictError(EventfoldError):
    """``409 event_id_conflict``: an event id of the append was used by a different write."""


class ConflictError(EventfoldError):
    """``409 conflict``: the request clashes with what is stored, e.g. a consumer group saved
    with another stream or filter than it has, or a snapshot that does not end at an event of
    its stream."""


class GroupNotFoundError(EventfoldError):
    """``404 group_not_found``: no consumer group has this name."""


class BusNotFoundError(EventfoldError):
    """``404 bus_not_found``: no event bus has this name."""


class UnavailableError(EventfoldError):
    """A ``503``: the server cannot do it now (``unavailable``, ``too_many_connections``,
    ``too_many_subscribers``, ``closed``, ``locked``, ``poisoned``); try again later."""


#: The subclass raised for each code; other codes raise :class:`EventfoldError` itself.
ERRORS_BY_CODE: dict[str, type[EventfoldError]] = {
    "wrong_expected_revision": WrongExpectedRevisionError,
    "stream_not_found": StreamNotFoundError,
    "stream_deleted": StreamDeletedError,
    "event_id_conflict": EventIdConflictError,
    "conflict": ConflictError,
    "group_not_found": GroupNotFoundError,
    "bus_not_found": BusNotFoundError,
    "unavailable": UnavailableError,
    "too_many_connections": UnavailableError,
    "too_many_subscribers": UnavailableError,
    "closed": UnavailableError,
    "locked": UnavailableError,
    "poisoned": UnavailableError,
}


def error_from_body(status: int | None, body: Any, request_id: str | None = None) -> EventfoldError:
    """The exception for an error body (already decoded from JSON)."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        message = body.get("message")
        cls = ERRORS_BY_CODE.get(code, EventfoldError)
        if cls is EventfoldError and status == 503:
            cls = UnavailableError
        return cls(status, code, message if isinstance(message, str) else "", body, request_id)
    text = json.dumps(body) if body is not None else ""
    return EventfoldError(
        status,
        "unexpected_response",
        f"an error without an error code: {text[:500]}",
        None,
        request_id,
    )


def error_from_response(response: httpx.Response) -> EventfoldError:
    """The exception for an error response (its body must have been read)."""
    request_id = response.headers.get("x-request-id")
    try:
        body = response.json()
    except ValueError:
        text = response.text[:500]
        return EventfoldError(
            response.status_code,
            "unexpected_response",
            f"HTTP {response.status_code} without a JSON error body: {text!r}",
            None,
            request_id,
        )
    return error_from_body(response.status_code, body, request_id)
