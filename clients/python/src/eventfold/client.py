"""The synchronous client of Eventfold's HTTP API, over httpx.

>>> with Client("http://127.0.0.1:7117") as client:          # doctest: +SKIP
...     client.append("account-42", [{"type": "Deposited", "data": {"amount": 100}}])
...     for event in client.read_stream("account-42"):
...         print(event.revision, event.type, event.data)

Requests are retried with exponential back-off (and ``Retry-After`` on a 503) when that cannot
write anything twice: reads, puts, deletes, acks; appends and bus puts too, since every event
gets its id before the first attempt and the server recognises a retried write by its ids.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeAlias
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from . import models
from .errors import (
    EventfoldConnectionError,
    EventfoldError,
    error_from_body,
    error_from_response,
)
from .sse import parse_sse

__all__ = [
    "Client",
    "AppendResult",
    "RecordedEvent",
    "AllPage",
    "StreamMetadata",
    "Delivery",
    "NewEvent",
    "Health",
    "Settled",
    "GroupView",
    "GroupDescribed",
    "GroupFilter",
    "GroupSettings",
    "GroupStatus",
    "Snapshot",
    "BusEvent",
    "BusView",
    "BusDescribed",
    "PutResult",
    "RuleSaved",
    "RuleView",
    "RuleDescribed",
    "ReplayView",
    "Subscription",
    "CaughtUp",
    "Checkpoint",
    "SubscriptionMessage",
    "ConsumeStats",
    "ExpectedRevision",
    "BusEventInput",
    "TargetInput",
    "StreamFrom",
    "AllFrom",
    "Direction",
    "NackAction",
    "GroupStart",
    "EventInput",
    "DEFAULT_URL",
]

# The generated models this module uses, under the names it exports. The class names come from
# the server's OpenAPI document (its schema names): when regenerating renames one, only this
# block changes, and the client's own names stay.
AppendResult = models.AppendResult
RecordedEvent = models.RecordedEvent
AllPage = models.AllPage
StreamMetadata = models.StreamMetadata
#: One event handed to a consumer: ``ack_id``, ``attempt``, ``replayed`` and the ``event``.
Delivery = models.Delivery
Health = models.Health
#: The answer to an ack or a nack: ``settled`` and the ``unknown`` ids.
Settled = models.Settled
#: A consumer group as saved and listed: its ``name`` and settings (``start`` resolved to a
#: cursor).
GroupView = models.GroupView
#: A consumer group's ``name``, ``settings`` and live ``status`` (checkpoint, lag, counters,
#: consumers).
GroupDescribed = models.GroupDescribed
GroupFilter = models.GroupFilter
GroupSettings = models.GroupSettings
GroupStatus = models.GroupStatus
#: An event bus as saved and listed: its ``name``, ``policy`` and ``archive_days``.
BusView = models.BusView
#: An event bus with its streams, counters, ``rules`` and ``replays``.
BusDescribed = models.BusDescribed
#: What a put on a bus stored: the events' ``ids`` and positions.
PutResult = models.PutResult
RuleSaved = models.RuleSaved
RuleView = models.RuleView
RuleDescribed = models.RuleDescribed
ReplayView = models.ReplayView
_EventsPage = models.EventsPage
_RevisionAnswer = models.RevisionAnswer
_Fetched = models.Fetched
_Replaying = models.Replaying
_GroupList = models.GroupList
_BusList = models.BusList
_RuleList = models.RuleList


# Three request schemas of the document type a free JSON value as `"type": "object"`, while the
# server takes any JSON there (a number, a string, a list: and for EventBody the base64 string
# its own `then` branch asks for when content_type is not JSON). Until the document says so,
# these subclasses widen that one field back to Any; everything else is the generated model.
class NewEvent(models.EventBody):
    """An event to append: ``type`` and ``data`` (any JSON; ``bytes`` are sent as base64),
    and optionally ``id``, ``metadata``, ``occurred_at``, ``content_type``."""

    data: Any
    """The payload: any JSON value, or ``bytes`` (sent base64-encoded)."""


class BusEvent(models.PutEvent):
    """An event to put on a bus: ``source``, ``type``, ``data`` (any JSON), and optionally
    ``id`` and ``metadata``."""

    data: Any
    """The payload: any JSON value."""


class Snapshot(models.SnapshotBody):
    """A snapshot of a stream's folded state: ``revision`` and ``last_event_id`` (the event it
    ends at), ``schema_version``, ``recorded_at`` and the ``state`` (any JSON value)."""

    state: Any
    """The folded state: any JSON value."""


log = logging.getLogger("eventfold")

#: Where ``eventfold serve`` listens by default.
DEFAULT_URL = "http://127.0.0.1:7117"
#: The content type of JSON event data.
CONTENT_TYPE_JSON = "application/json"
#: The longest nack reason the server takes, in bytes.
REASON_BYTES_MAX = 1024

#: ``"any"`` (no check), ``"no_stream"``, ``"exists"``, or the stream's exact last revision.
ExpectedRevision: TypeAlias = Literal["any", "no_stream", "exists"] | int
#: Where a stream read starts: ``"start"``, ``"end"`` or a revision (inclusive).
StreamFrom: TypeAlias = Literal["start", "end"] | int
#: Where a ``$all`` read starts: ``"start"``, ``"end"`` or a position (inclusive).
AllFrom: TypeAlias = Literal["start", "end"] | int
Direction: TypeAlias = Literal["forward", "backward"]
NackAction: TypeAlias = Literal["retry", "park", "skip"]
#: Where a new consumer group starts: ``"start"``, ``"end"`` (the server's default), or one of
#: ``{"position": n}``, ``{"revision": n}``, ``{"time": "<RFC 3339>"}``.
GroupStart: TypeAlias = Literal["start", "end"] | Mapping[str, Any]
#: An event to append: a mapping with ``type`` and ``data`` (and optionally ``id``,
#: ``metadata``, ``occurred_at``, ``content_type``), or a :class:`NewEvent`.
EventInput: TypeAlias = Mapping[str, Any] | NewEvent
#: An event to put on a bus: a mapping with ``source``, ``type`` and ``data`` (and optionally
#: ``id``, ``metadata``), or a :class:`BusEvent`.
BusEventInput: TypeAlias = Mapping[str, Any] | BusEvent
#: Where a rule sends what it matches: ``{"stream": name}``, ``{"bus": name}``,
#: ``{"group": name}`` or ``{"webhook": {"url": ..., ...}}`` (or the generated models).
TargetInput: TypeAlias = Mapping[str, Any] | BaseModel

_USER_AGENT = "eventfold-python/0.1.0"
_BACKOFF_BASE_S = 0.1
_BACKOFF_MAX_S = 5.0
_RETRY_AFTER_MAX_S = 60.0
# Errors after which a request certainly never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _backoff(attempt: int) -> float:
    """The delay before retry number ``attempt`` (0 first): exponential, capped, jittered."""
    delay = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2.0**attempt)
    return delay * (0.5 + random.random() / 2)


def _retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` of a response in seconds (a number or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return max(0.0, min(seconds, _RETRY_AFTER_MAX_S))


def _segment(name: str) -> str:
    """A name as one URL path segment (``/`` and every other reserved character escaped)."""
    return quote(name, safe="")


def _cursor(value: str | int | None) -> str | None:
    """A ``from`` cursor as a query value."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a cursor is 'start', 'end' or a number, not a bool")
    return str(value)


def _time(value: dt.datetime | str | None) -> str | None:
    """A time as RFC 3339 (a naive datetime is refused: the server needs an offset)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("the time must be timezone-aware (RFC 3339 needs an offset)")
    return value.isoformat()


def _event_body(event: EventInput) -> dict[str, Any]:
    """The JSON of one event to append, with an id chosen here when it has none.

    ``bytes`` data is sent base64-encoded, with ``application/octet-stream`` as its content
    type unless the event names one.
    """
    if isinstance(event, NewEvent):
        raw = isinstance(event.data, (bytes, bytearray, memoryview))
        body = event.model_dump(
            mode="json", exclude_unset=True, by_alias=True, exclude={"data"} if raw else None
        )
        if raw:
            body["data"] = event.data
    elif isinstance(event, Mapping):
        body = dict(event)
    else:
        raise TypeError(f"an event is a mapping or a NewEvent, not {type(event).__name__}")
    event_id = body.get("id")
    if event_id is None:
        body["id"] = str(uuid.uuid4())
    elif isinstance(event_id, uuid.UUID):
        body["id"] = str(event_id)
    occurred_at = body.get("occurred_at")
    if isinstance(occurred_at, dt.datetime):
        body["occurred_at"] = _time(occurred_at)
    data = body.get("data")
    if isinstance(data, (bytes, bytearray, memoryview)):
        content_type = body.setdefault("content_type", "application/octet-stream")
        if content_type == CONTENT_TYPE_JSON:
            raise ValueError("bytes data needs a content_type other than application/json")
        body["data"] = base64.b64encode(bytes(data)).decode("ascii")
    return body


def _bus_event_body(event: BusEventInput) -> dict[str, Any]:
    """The JSON of one event to put on a bus, with an id chosen here when it has none."""
    if isinstance(event, BusEvent):
        body = event.model_dump(mode="json", exclude_unset=True, by_alias=True)
    elif isinstance(event, Mapping):
        body = dict(event)
    else:
        raise TypeError(f"a bus event is a mapping or a BusEvent, not {type(event).__name__}")
    event_id = body.get("id")
    if event_id is None:
        body["id"] = str(uuid.uuid4())
    elif isinstance(event_id, uuid.UUID):
        body["id"] = str(event_id)
    return body


def _json_value(value: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """A request body part given as a mapping or as a generated model, as JSON."""
    if isinstance(value, BaseModel):
        dumped: dict[str, Any] = value.model_dump(mode="json", exclude_unset=True, by_alias=True)
        return dumped
    return dict(value)


def _ack_id(item: str | Delivery) -> str:
    """The ack id of a delivery (or the id itself)."""
    if isinstance(item, Delivery):
        return item.ack_id
    return item


def _truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, on a character boundary."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """A subscription's history is delivered: the events after this are live."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The filter of a ``$all`` subscription skipped events up to ``position`` (exclusive):
    nothing before it matches, and a resume starts there."""

    position: int


#: What :meth:`Subscription.messages` yields.
SubscriptionMessage: TypeAlias = RecordedEvent | CaughtUp | Checkpoint


@dataclass(slots=True)
class ConsumeStats:
    """What :meth:`Client.consume` did."""

    iterations: int = 0
    """Fetches made."""
    fetched: int = 0
    """Deliveries received."""
    acked: int = 0
    """Deliveries the handler processed (acknowledged)."""
    nacked: int = 0
    """Deliveries the handler raised on (nacked for a retry)."""


class Client:
    """A client of one Eventfold server.

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:7117``.
        timeout: Seconds (or an :class:`httpx.Timeout`) for each request; a fetch that
            long-polls gets its ``wait_ms`` on top.
        headers: Headers sent with every request.
        token: Sent as ``Authorization: Bearer <token>`` (for servers that check it).
        retries: How many times an idempotent request is retried after a connection
            failure, a time-out or a 503 (``append`` has its own ``retries``).
        transport: An httpx transport to use instead of the network's (for tests).

    The client holds a connection pool: close it with :meth:`close`, or use it as a context
    manager. It may be shared between threads.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float | httpx.Timeout = 30.0,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        all_headers = {"user-agent": _USER_AGENT}
        all_headers.update(headers or {})
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._retries = retries
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=all_headers,
            timeout=self._timeout,
            transport=transport,
        )
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def base_url(self) -> str:
        """The server's URL."""
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        """Closes the connection pool (open subscriptions end with it)."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    # Requests

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
        retries: int | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Sends a request, retrying what may be retried; raises :class:`EventfoldError` for
        an error answer.

        A connection failure, a client-side time-out or a ``408 timeout`` answer is retried
        when the request is ``idempotent`` (or, for the first two, certainly never reached
        the server); a 503 is always retried (the server did nothing), after its
        ``Retry-After``.
        """
        attempts = self._retries if retries is None else retries
        query = _drop_none(params or {})
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method,
                    path,
                    params=query,
                    json=json_body,
                    timeout=timeout if timeout is not None else self._timeout,
                )
            except httpx.TransportError as error:
                if attempt >= attempts or not (idempotent or isinstance(error, _NOT_SENT)):
                    raise EventfoldConnectionError(
                        f"{method} {path}: {type(error).__name__}: {error}"
                    ) from error
                log.debug("retrying %s %s after %r", method, path, error)
                self._sleep(_backoff(attempt))
                attempt += 1
                continue
            if response.status_code == 503 and attempt < attempts:
                delay = _retry_after(response)
                log.debug("retrying %s %s after a 503", method, path)
                self._sleep(_backoff(attempt) if delay is None else delay)
                attempt += 1
                continue
            if response.status_code == 408 and idempotent and attempt < attempts:
                log.debug("retrying %s %s after a 408", method, path)
                self._sleep(_backoff(attempt))
                attempt += 1
                continue
            if response.is_error:
                raise error_from_response(response)
            return response

    # ----------------------------------------------------------------------------------------
    # Streams

    def append(
        self,
        stream: str,
        events: Iterable[EventInput],
        expected_revision: ExpectedRevision = "any",
        retries: int = 3,
    ) -> AppendResult:
        """Appends ``events`` to ``stream`` atomically, if ``expected_revision`` holds.

        Each event without an ``id`` gets a random one here, before the first attempt, so a
        retry (after a connection failure, a time-out, a 408 or a 503: up to ``retries``) is
        recognised by the server and writes nothing twice: it answers with the original
        result.

        Returns:
            The revisions and positions written.

        Raises:
            WrongExpectedRevisionError: the stream is not at ``expected_revision``.
            StreamDeletedError: the stream is tombstoned.
            EventfoldError: any other refusal (``invalid_event``, ``empty_append``, …).
        """
        if isinstance(events, (Mapping, NewEvent)):
            raise TypeError("events is a list of events; wrap a single event in a list")
        if isinstance(expected_revision, bool):
            raise TypeError("expected_revision is 'any', 'no_stream', 'exists' or a revision")
        body = {
            "expected_revision": expected_revision,
            "events": [_event_body(event) for event in events],
        }
        response = self._request(
            "POST", f"/streams/{_segment(stream)}", json_body=body, retries=retries
        )
        return AppendResult.model_validate_json(response.content)

    def read_stream(
        self,
        stream: str,
        from_: StreamFrom | None = None,
        direction: Direction | None = None,
        limit: int | None = None,
        *,
        bytes_max: int | None = None,
    ) -> list[RecordedEvent]:
        """One page of a stream's events.

        Args:
            from_: ``"start"``, ``"end"`` or a revision (inclusive); by default the start
                going forward, the end going backward.
            direction: ``"forward"`` (default) or ``"backward"``.
            limit: At most this many events (server default 1000, at most 10,000).
            bytes_max: A smaller byte budget for the page than the server's.

        Raises:
            StreamNotFoundError: the stream does not exist (or is soft-deleted).
            StreamDeletedError: the stream is tombstoned.
        """
        params = {
            "from": _cursor(from_),
            "direction": direction,
            "limit": limit,
            "bytes_max": bytes_max,
        }
        response = self._request("GET", f"/streams/{_segment(stream)}", params=params)
        return _EventsPage.model_validate_json(response.content).events

    def iter_stream(
        self,
        stream: str,
        from_: StreamFrom | None = None,
        direction: Direction = "forward",
        *,
        page_size: int = 1000,
    ) -> Iterator[RecordedEvent]:
        """Every event of a stream from ``from_`` on, page after page.

        Raises :class:`StreamNotFoundError` (on the first page) when the stream does not exist.
        """
        cursor: StreamFrom | None = from_
        while True:
            page = self.read_stream(stream, cursor, direction, page_size)
            if not page:
                return
            yield from page
            last = page[-1].revision
            if direction == "backward":
                if last == 0:
                    return
                cursor = last - 1
            else:
                cursor = last + 1

    def stream_revision(self, stream: str) -> int | None:
        """The stream's last revision, or ``None`` when it does not exist."""
        response = self._request("GET", f"/streams/{_segment(stream)}/revision")
        return _RevisionAnswer.model_validate_json(response.content).revision

    def get_metadata(self, stream: str) -> StreamMetadata:
        """The stream's metadata (``max_count``, ``max_age_secs``, ``truncate_before``,
        ``custom``)."""
        response = self._request("GET", f"/streams/{_segment(stream)}/metadata")
        return StreamMetadata.model_validate_json(response.content)

    def set_metadata(
        self, stream: str, metadata: StreamMetadata | Mapping[str, Any]
    ) -> StreamMetadata:
        """Replaces the stream's metadata; returns it as stored."""
        if isinstance(metadata, StreamMetadata):
            body: Any = metadata.model_dump(mode="json", exclude_unset=True)
        else:
            body = dict(metadata)
        response = self._request("PUT", f"/streams/{_segment(stream)}/metadata", json_body=body)
        return StreamMetadata.model_validate_json(response.content)

    def delete_stream(
        self,
        stream: str,
        *,
        hard: bool = False,
        expected_revision: ExpectedRevision | None = None,
    ) -> None:
        """Deletes a stream: soft (hidden; writing again continues its revisions) or, with
        ``hard=True``, a tombstone (never written or read again)."""
        params = {
            "hard": "true" if hard else None,
            "expected_revision": None if expected_revision is None else str(expected_revision),
        }
        self._request("DELETE", f"/streams/{_segment(stream)}", params=params)

    # ----------------------------------------------------------------------------------------
    # Snapshots

    def get_snapshot(self, stream: str) -> Snapshot | None:
        """The stream's latest usable snapshot, or ``None`` when it has none (a snapshot whose
        event the stream no longer holds is not usable)."""
        try:
            response = self._request("GET", f"/snapshots/{_segment(stream)}")
        except EventfoldError as error:
            if error.code == "snapshot_not_found":
                return None
            raise
        return Snapshot.model_validate_json(response.content)

    def save_snapshot(self, stream: str, snapshot: Snapshot | Mapping[str, Any]) -> None:
        """Stores a snapshot of ``stream``, in place of the one it has.

        A snapshot must end at an event of its stream: ``revision`` and ``last_event_id``
        must name the same event, or the server refuses it with ``409 conflict``
        (:class:`ConflictError`), e.g. for a stream deleted and written again since.
        A mapping is checked against :class:`Snapshot` first.
        """
        if not isinstance(snapshot, Snapshot):
            snapshot = Snapshot.model_validate(snapshot)
        self._request("PUT", f"/snapshots/{_segment(stream)}", json_body=_json_value(snapshot))

    def delete_snapshot(self, stream: str) -> None:
        """Deletes the stream's snapshot (nothing happens when there is none)."""
        self._request("DELETE", f"/snapshots/{_segment(stream)}")

    # ----------------------------------------------------------------------------------------
    # $all

    def read_all(
        self,
        *,
        from_: AllFrom | None = None,
        since: dt.datetime | str | None = None,
        direction: Direction | None = None,
        limit: int | None = None,
        types: Iterable[str] | None = None,
        category: str | None = None,
        prefix: str | None = None,
        bytes_max: int | None = None,
    ) -> AllPage:
        """One page of the global log, ``$all``.

        Args:
            from_: ``"start"``, ``"end"`` or a position (inclusive); by default the start
                going forward, the end going backward.
            since: The first event recorded at or after this time. With ``from_`` too, the
                page starts at the later of the two (going forward; a backward read with
                both is refused).
            direction: ``"forward"`` (default) or ``"backward"``.
            limit: At most this many events (server default 1000, at most 10,000).
            types: Only these event types (at most 32).
            category: Only streams of this category (the part of the name before ``-``).
            prefix: Only streams whose name starts with this.
            bytes_max: A smaller byte budget for the page than the server's.

        Returns:
            The page: ``events``, ``next`` (pass it as ``from_`` for the next page; ``None``
            when there is nothing further, going backward past the start) and
            ``end_of_log``.
        """
        params = {
            "from": _cursor(from_),
            "since": _time(since),
            "direction": direction,
            "limit": limit,
            "type": None if types is None else ",".join(types),
            "category": category,
            "prefix": prefix,
            "bytes_max": bytes_max,
        }
        response = self._request("GET", "/all", params=params)
        return AllPage.model_validate_json(response.content)

    def iter_all(
        self,
        from_: AllFrom | None = None,
        *,
        since: dt.datetime | str | None = None,
        direction: Direction = "forward",
        types: Iterable[str] | None = None,
        category: str | None = None,
        prefix: str | None = None,
        page_size: int = 1000,
    ) -> Iterator[RecordedEvent]:
        """Every event of ``$all`` (matching the filter) from ``from_`` and/or ``since`` (the
        later of the two; by default the start, or the end going backward) to the end of the
        log as it is when the last page is read, page after page by ``next`` until
        ``end_of_log``."""
        type_list = None if types is None else list(types)
        cursor: AllFrom | None = from_
        while True:
            page = self.read_all(
                from_=cursor,
                since=since,
                direction=direction,
                limit=page_size,
                types=type_list,
                category=category,
                prefix=prefix,
            )
            since = None
            yield from page.events
            if page.end_of_log or page.next is None:
                return
            if not page.events and page.next == cursor:
                raise EventfoldError(
                    None, "unexpected_response", f"$all paging made no progress at {cursor}"
                )
            cursor = page.next

    # ----------------------------------------------------------------------------------------
    # Subscriptions

    def subscribe_all(
        self,
        *,
        from_: AllFrom | None = None,
        since: dt.datetime | str | None = None,
        types: Iterable[str] | None = None,
        category: str | None = None,
        prefix: str | None = None,
        last_event_id: int | None = None,
        max_reconnects: int | None = 10,
        read_timeout: float = 45.0,
    ) -> Subscription:
        """Follows ``$all`` over Server-Sent Events: history from ``from_`` (default the
        start) and/or ``since`` (the later of the two), then live events, reconnecting by
        itself.

        Iterate over the result for the events (:class:`RecordedEvent`), or over
        :meth:`Subscription.messages` for :class:`CaughtUp` and :class:`Checkpoint` too.

        Args:
            last_event_id: Resume right after this position (it wins over ``from_``).
            max_reconnects: Consecutive failed reconnections before giving up with
                :class:`EventfoldConnectionError` (``None``: never give up).
            read_timeout: Seconds without a byte before the connection counts as lost (the
                server sends a keep-alive every 15 s).

        ``from_="end"`` is resolved to the head position now, before this returns, so
        events appended after the call are delivered even if the first connection is lost
        before any of them arrives.
        """
        params: dict[str, Any] = {
            "from": _cursor(from_),
            "since": _time(since),
            "type": None if types is None else ",".join(types),
            "category": category,
            "prefix": prefix,
        }
        if from_ == "end" and last_event_id is None:
            params["from"] = str(self.health().head_position)
        return Subscription(
            self,
            "/subscribe/all",
            _drop_none(params),
            last_event_id=last_event_id,
            max_reconnects=max_reconnects,
            read_timeout=read_timeout,
        )

    def subscribe_stream(
        self,
        stream: str,
        *,
        from_: StreamFrom | None = None,
        last_event_id: int | None = None,
        max_reconnects: int | None = 10,
        read_timeout: float = 45.0,
    ) -> Subscription:
        """Follows one stream (it need not exist yet) over Server-Sent Events: history from
        ``from_`` (default the start), then live events; each event's SSE id is its revision.
        Otherwise as :meth:`subscribe_all` (``from_="end"`` is resolved to the next revision
        now).

        Raises :class:`StreamDeletedError` when the stream is tombstoned.
        """
        params: dict[str, Any] = {"from": _cursor(from_)}
        if from_ == "end" and last_event_id is None:
            revision = self.stream_revision(stream)
            params["from"] = str(0 if revision is None else revision + 1)
        return Subscription(
            self,
            f"/subscribe/streams/{_segment(stream)}",
            _drop_none(params),
            last_event_id=last_event_id,
            max_reconnects=max_reconnects,
            read_timeout=read_timeout,
        )

    # ----------------------------------------------------------------------------------------
    # Consumer groups

    def save_group(
        self,
        group: str,
        *,
        stream: str | None = None,
        types: Iterable[str] | None = None,
        category: str | None = None,
        prefix: str | None = None,
        start: GroupStart | None = None,
        strategy: Literal["round_robin", "pinned"] | None = None,
        max_attempts: int | None = None,
        ack_timeout_ms: int | None = None,
        retry_backoff_ms: int | None = None,
        retry_backoff_max_ms: int | None = None,
        buffer_size: int | None = None,
    ) -> GroupView:
        """Creates a consumer group, or updates its settings. Unnamed settings take the
        server's defaults (on an update too: name every setting to keep).

        A group's stream and filter never change: an update must name the same ones, or the
        server refuses it with ``409 conflict`` (:class:`ConflictError`); delete the group
        and create it again to follow something else.

        Args:
            stream: Follow this stream; ``$all`` when ``None``.
            types, category, prefix: The filter of a group on ``$all``.
            start: Where a new group starts (see :data:`GroupStart`); ignored on update.

        Returns:
            The group's name and settings as the server stored them (``start`` resolved to a
            cursor).
        """
        filter_ = _drop_none(
            {
                "types": None if types is None else list(types),
                "category": category,
                "prefix": prefix,
            }
        )
        body = _drop_none(
            {
                "stream": stream,
                "filter": filter_ or None,
                "start": dict(start) if isinstance(start, Mapping) else start,
                "strategy": strategy,
                "max_attempts": max_attempts,
                "ack_timeout_ms": ack_timeout_ms,
                "retry_backoff_ms": retry_backoff_ms,
                "retry_backoff_max_ms": retry_backoff_max_ms,
                "buffer_size": buffer_size,
            }
        )
        response = self._request("PUT", f"/groups/{_segment(group)}", json_body=body)
        return GroupView.model_validate_json(response.content)

    def describe_group(self, group: str) -> GroupDescribed:
        """A group's ``settings`` and ``status``: checkpoint, lag, in flight, counters,
        consumers.

        Raises:
            GroupNotFoundError: no group has this name.
        """
        response = self._request("GET", f"/groups/{_segment(group)}")
        return GroupDescribed.model_validate_json(response.content)

    def list_groups(self) -> list[GroupView]:
        """Every consumer group with its settings, by name."""
        response = self._request("GET", "/groups")
        return _GroupList.model_validate_json(response.content).groups

    def delete_group(self, group: str) -> None:
        """Deletes a group with its checkpoints and parked events."""
        self._request("DELETE", f"/groups/{_segment(group)}")

    def fetch(
        self,
        group: str,
        *,
        consumer: str | None = None,
        max_messages: int = 100,
        wait_ms: int = 0,
    ) -> list[Delivery]:
        """Takes up to ``max_messages`` ready deliveries (1–1000), waiting up to ``wait_ms``
        (at most 20,000) for the first when there is none. Ack or nack each one before the
        group's ack time-out.

        A fetch is retried only when it certainly never reached the server: a fetch whose
        answer was lost leaves its deliveries out until their ack time-out.
        """
        body = _drop_none({"consumer": consumer, "max": max_messages, "wait_ms": wait_ms})
        timeout = httpx.Timeout(
            connect=self._timeout.connect,
            read=None if self._timeout.read is None else self._timeout.read + wait_ms / 1000,
            write=self._timeout.write,
            pool=self._timeout.pool,
        )
        response = self._request(
            "POST",
            f"/groups/{_segment(group)}/fetch",
            json_body=body,
            idempotent=False,
            timeout=timeout,
        )
        return _Fetched.model_validate_json(response.content).messages

    def ack(self, group: str, ack_ids: Iterable[str | Delivery]) -> Settled:
        """Acknowledges deliveries (by ``ack_id``, or the deliveries themselves). Ids that are
        not out for delivery come back in ``unknown``."""
        body = {"ack_ids": [_ack_id(item) for item in ack_ids]}
        response = self._request("POST", f"/groups/{_segment(group)}/ack", json_body=body)
        return Settled.model_validate_json(response.content)

    def nack(
        self,
        group: str,
        ack_ids: Iterable[str | Delivery],
        action: NackAction = "retry",
        reason: str | None = None,
    ) -> Settled:
        """Refuses deliveries: ``"retry"`` after the group's back-off (parked once its
        attempts are spent), ``"park"`` now, or ``"skip"`` (drop it). ``reason`` (at most
        1,024 bytes) is kept with a parked event."""
        body = _drop_none(
            {
                "ack_ids": [_ack_id(item) for item in ack_ids],
                "action": action,
                "reason": reason,
            }
        )
        response = self._request("POST", f"/groups/{_segment(group)}/nack", json_body=body)
        return Settled.model_validate_json(response.content)

    def parked(
        self, group: str, *, from_: int | None = None, limit: int | None = None
    ) -> list[RecordedEvent]:
        """A page of the group's parked events (dead letters), oldest first; each one's
        metadata holds the reason, the attempts and the original's coordinates."""
        params = {"from": from_, "limit": limit}
        response = self._request("GET", f"/groups/{_segment(group)}/parked", params=params)
        return _EventsPage.model_validate_json(response.content).events

    def replay_parked(self, group: str) -> int:
        """Delivers the parked events again (marked ``replayed``); returns how many."""
        response = self._request(
            "POST", f"/groups/{_segment(group)}/parked/replay", idempotent=False
        )
        return _Replaying.model_validate_json(response.content).replaying

    def consume(
        self,
        group: str,
        consumer: str,
        handler: Callable[[Delivery], object],
        *,
        batch_size: int = 100,
        wait_ms: int = 1000,
        stop: threading.Event | None = None,
        max_iterations: int | None = None,
    ) -> ConsumeStats:
        """Processes a group's deliveries until asked to stop.

        Fetches up to ``batch_size`` deliveries (long-polling ``wait_ms``), calls ``handler``
        on each in turn, acks it when the handler returns and nacks it for a retry (the
        exception as the reason) when it raises an :class:`Exception`. Anything else (a
        ``KeyboardInterrupt``) propagates: that delivery comes back after the ack time-out.

        It returns after ``max_iterations`` fetches, or once ``stop`` is set (checked
        before each fetch, so a batch in hand is finished first).
        """
        stats = ConsumeStats()
        while not (stop is not None and stop.is_set()) and not (
            max_iterations is not None and stats.iterations >= max_iterations
        ):
            deliveries = self.fetch(
                group, consumer=consumer, max_messages=batch_size, wait_ms=wait_ms
            )
            stats.iterations += 1
            stats.fetched += len(deliveries)
            for delivery in deliveries:
                try:
                    handler(delivery)
                except Exception as error:  # noqa: BLE001 - the handler's failure is a nack
                    log.warning(
                        "consumer %s of group %s failed on %s: %r",
                        consumer,
                        group,
                        delivery.ack_id,
                        error,
                        exc_info=True,
                    )
                    reason = _truncate_utf8(f"{type(error).__name__}: {error}", REASON_BYTES_MAX)
                    self.nack(group, [delivery], action="retry", reason=reason)
                    stats.nacked += 1
                else:
                    self.ack(group, [delivery])
                    stats.acked += 1
        return stats

    # ----------------------------------------------------------------------------------------
    # Event buses

    def save_bus(
        self,
        bus: str,
        *,
        policy: Mapping[str, Any] | BaseModel | None = None,
        archive_days: int | None = None,
    ) -> BusView:
        """Creates an event bus, or replaces its settings.

        Args:
            policy: Who may put which events: ``{"sources": [...], "types": [...]}`` (an
                absent list allows everything; ``"prefix*"`` allows a prefix), or a
                :class:`eventfold.models.Policy`.
            archive_days: Keep the archived events this many days (for ever when ``None``).
        """
        body = _drop_none(
            {
                "policy": None if policy is None else _json_value(policy),
                "archive_days": archive_days,
            }
        )
        response = self._request("PUT", f"/buses/{_segment(bus)}", json_body=body)
        return BusView.model_validate_json(response.content)

    def list_buses(self) -> list[BusView]:
        """Every event bus with its settings, by name."""
        response = self._request("GET", "/buses")
        return _BusList.model_validate_json(response.content).buses

    def describe_bus(self, bus: str) -> BusDescribed:
        """A bus's settings, streams, counters, ``rules`` and ``replays``.

        Raises:
            BusNotFoundError: no bus has this name.
        """
        response = self._request("GET", f"/buses/{_segment(bus)}")
        return BusDescribed.model_validate_json(response.content)

    def delete_bus(self, bus: str) -> None:
        """Deletes a bus and its rules."""
        self._request("DELETE", f"/buses/{_segment(bus)}")

    def put_events(self, bus: str, events: Iterable[BusEventInput], retries: int = 3) -> PutResult:
        """Puts events on a bus, atomically and in order; its rules route them.

        As with :meth:`append`, each event without an ``id`` gets one here before the first
        attempt, so a retry is recognised and stores nothing twice.

        Raises:
            EventfoldError: ``forbidden_source`` / ``forbidden_event_type`` (403) when the
                bus's policy refuses an event, ``bus_not_found`` (404), …
        """
        if isinstance(events, (Mapping, BusEvent)):
            raise TypeError("events is a list of events; wrap a single event in a list")
        body = {"events": [_bus_event_body(event) for event in events]}
        response = self._request(
            "POST", f"/buses/{_segment(bus)}/events", json_body=body, retries=retries
        )
        return PutResult.model_validate_json(response.content)

    def save_rule(
        self,
        bus: str,
        rule: str,
        pattern: Mapping[str, Any],
        targets: Iterable[TargetInput],
        *,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> RuleSaved:
        """Creates or replaces a bus's rule: the events matching ``pattern`` (EventBridge
        syntax, matched against ``{"source", "type", "data", "metadata", "replay"}``) go to
        each of ``targets`` (1 to 5; see :data:`TargetInput`) in order. A new rule considers
        the events put after it was made."""
        body = _drop_none(
            {
                "pattern": dict(pattern),
                "targets": [_json_value(target) for target in targets],
                "enabled": enabled,
                "description": description,
            }
        )
        response = self._request(
            "PUT", f"/buses/{_segment(bus)}/rules/{_segment(rule)}", json_body=body
        )
        return RuleSaved.model_validate_json(response.content)

    def list_rules(self, bus: str) -> list[RuleView]:
        """A bus's rules with their settings, by name."""
        response = self._request("GET", f"/buses/{_segment(bus)}/rules")
        return _RuleList.model_validate_json(response.content).rules

    def describe_rule(self, bus: str, rule: str) -> RuleDescribed:
        """A rule's settings and ``status`` (matched, delivered, retried, dead-lettered, lag)."""
        response = self._request("GET", f"/buses/{_segment(bus)}/rules/{_segment(rule)}")
        return RuleDescribed.model_validate_json(response.content)

    def delete_rule(self, bus: str, rule: str) -> None:
        """Deletes a bus's rule."""
        self._request("DELETE", f"/buses/{_segment(bus)}/rules/{_segment(rule)}")

    def dead_letters(
        self, bus: str, rule: str, *, from_: int | None = None, limit: int | None = None
    ) -> list[RecordedEvent]:
        """A page of what the rule could not deliver, oldest first (``from_``: the first
        revision, default 0; ``limit``: 1–1000, default 100)."""
        params = {"from": from_, "limit": limit}
        response = self._request(
            "GET",
            f"/buses/{_segment(bus)}/rules/{_segment(rule)}/dead-letters",
            params=params,
        )
        return _EventsPage.model_validate_json(response.content).events

    def start_replay(
        self,
        bus: str,
        name: str,
        from_: dt.datetime | str,
        to: dt.datetime | str | None = None,
    ) -> ReplayView:
        """Puts the bus's archived events recorded from ``from_`` (until ``to``, default now)
        on the bus again, marked with the replay's ``name``; it runs in the background
        (see :meth:`replay_status`). Starting a replay of the same name again resumes it."""
        body = _drop_none({"name": name, "from": _time(from_), "to": _time(to)})
        response = self._request("POST", f"/buses/{_segment(bus)}/replays", json_body=body)
        return ReplayView.model_validate_json(response.content)

    def replay_status(self, bus: str, name: str) -> ReplayView:
        """Where a replay is: ``state`` (running, completed, failed, stopped) and
        ``replayed``."""
        response = self._request("GET", f"/buses/{_segment(bus)}/replays/{_segment(name)}")
        return ReplayView.model_validate_json(response.content)

    # ----------------------------------------------------------------------------------------
    # Server

    def health(self) -> Health:
        """The server's health and the position the next event will get."""
        response = self._request("GET", "/health")
        return Health.model_validate_json(response.content)

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI document."""
        response = self._request("GET", "/openapi.json")
        document: dict[str, Any] = response.json()
        return document


class Subscription:
    """A live subscription over Server-Sent Events that survives disconnects.

    Iterating over it yields the events; :meth:`messages` yields :class:`CaughtUp` (once, when
    history is delivered) and :class:`Checkpoint` messages as well. When the connection ends
    (the server restarts or shuts down, the network fails, no byte arrives within the read
    time-out) it reconnects with the ``Last-Event-ID`` of the last message seen, and the
    server resumes right after it: no event is delivered twice or skipped. A ``failure``
    message from the server (the stream was deleted, say) ends it with the matching
    :class:`EventfoldError`.

    Close it (or use it as a context manager) to release the connection when done early.
    """

    def __init__(
        self,
        client: Client,
        path: str,
        params: dict[str, Any],
        *,
        last_event_id: int | None,
        max_reconnects: int | None,
        read_timeout: float,
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._max_reconnects = max_reconnects
        base = client._timeout
        self._timeout = httpx.Timeout(
            connect=base.connect, read=read_timeout, write=base.write, pool=base.pool
        )
        self._retry_s: float | None = None
        self.last_event_id: int | None = last_event_id
        """The SSE id of the last message handed out (a position, or a revision for a stream
        subscription): pass it as ``last_event_id`` to a new subscription to resume."""
        self.caught_up = False
        """True once the history has been delivered."""
        self.reconnects = 0
        """How many times it has reconnected."""
        self._messages = self._run()
        self._events: Generator[RecordedEvent, None, None] = (
            message for message in self._messages if isinstance(message, RecordedEvent)
        )

    def __iter__(self) -> Subscription:
        return self

    def __next__(self) -> RecordedEvent:
        return next(self._events)

    def messages(self) -> Iterator[SubscriptionMessage]:
        """Every message: events, :class:`CaughtUp` and :class:`Checkpoint` (sharing the
        connection and position with iteration over the subscription itself)."""
        return self._messages

    def close(self) -> None:
        """Ends the subscription and its connection."""
        self._events.close()
        self._messages.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> Generator[SubscriptionMessage, None, None]:
        """Connects, parses and reconnects, for ever or until a failure."""
        failures = 0
        while True:
            headers = {"accept": "text/event-stream", "cache-control": "no-cache"}
            if self.last_event_id is not None:
                headers["last-event-id"] = str(self.last_event_id)
            received = False
            lost: Exception | None = None
            retry_after: float | None = None
            try:
                with self._client._http.stream(
                    "GET",
                    self._path,
                    params=self._params,
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    if response.status_code != 200:
                        response.read()
                        error = error_from_response(response)
                        if response.status_code != 503:
                            raise error
                        lost = error
                        retry_after = _retry_after(response)
                    else:
                        for sse in parse_sse(response.iter_lines()):
                            received = True
                            failures = 0
                            if sse.retry is not None:
                                self._retry_s = sse.retry / 1000
                            message = self._message(sse.event, sse.data)
                            if sse.id is not None and sse.id.isdigit():
                                self.last_event_id = int(sse.id)
                            if message is not None:
                                yield message
            except httpx.TransportError as error:
                lost = error
            if not received:
                failures += 1
            if self._max_reconnects is not None and failures > self._max_reconnects:
                if isinstance(lost, EventfoldError):
                    raise lost
                raise EventfoldConnectionError(
                    f"subscription {self._path} lost, {failures} reconnections failed: {lost!r}"
                ) from lost
            if retry_after is not None:
                delay = retry_after
            elif self._retry_s is not None:
                delay = self._retry_s
            else:
                delay = _backoff(max(0, failures - 1))
            log.info(
                "subscription %s %s; reconnecting in %.2f s",
                self._path,
                "ended by the server" if lost is None else f"lost ({lost!r})",
                delay,
            )
            self._client._sleep(delay)
            self.reconnects += 1

    def _message(self, kind: str, data: str) -> SubscriptionMessage | None:
        """One SSE message as a subscription message; ``None`` for what is skipped."""
        if kind == "message":
            if not data:
                return None
            return RecordedEvent.model_validate_json(data)
        if kind == "checkpoint":
            return Checkpoint(position=int(json.loads(data)["position"]))
        if kind == "caught_up":
            if self.caught_up:
                return None  # again after a reconnection: still live
            self.caught_up = True
            return CaughtUp()
        if kind in ("failure", "error"):
            try:
                body = json.loads(data)
            except ValueError:
                body = {"error": "unexpected_response", "message": data}
            raise error_from_body(None, body)
        return None  # a kind this client does not know: skipped
