"""Appending and reading streams."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from eventfold import (
    Client,
    EventIdConflictError,
    NewEvent,
    StreamDeletedError,
    StreamNotFoundError,
    WrongExpectedRevisionError,
)


def test_append_then_read(client: Client, unique: str) -> None:
    stream = f"account{unique}-1"
    occurred = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)
    first = client.append(
        stream,
        [
            {"type": "Opened", "data": {"owner": "ann"}, "metadata": {"by": "teller-7"}},
            {"type": "Deposited", "data": {"amount": 100}, "occurred_at": occurred},
        ],
        expected_revision="no_stream",
    )
    assert (first.first_revision, first.last_revision) == (0, 1)
    assert first.last_position == first.first_position + 1
    second = client.append(stream, [NewEvent(type="Withdrawn", data={"amount": 30})], 1)
    assert (second.first_revision, second.last_revision) == (2, 2)

    events = client.read_stream(stream)
    assert [e.type for e in events] == ["Opened", "Deposited", "Withdrawn"]
    assert [e.revision for e in events] == [0, 1, 2]
    assert [e.data for e in events] == [{"owner": "ann"}, {"amount": 100}, {"amount": 30}]
    assert events[0].metadata == {"by": "teller-7"}
    assert events[1].occurred_at == occurred
    assert events[0].position == first.first_position
    assert all(e.stream == stream and isinstance(e.id, uuid.UUID) for e in events)
    assert client.stream_revision(stream) == 2

    backward = client.read_stream(stream, direction="backward", limit=2)
    assert [e.revision for e in backward] == [2, 1]
    assert [e.revision for e in client.read_stream(stream, from_=1, limit=1)] == [1]
    assert [e.revision for e in client.iter_stream(stream, page_size=2)] == [0, 1, 2]
    assert [e.revision for e in client.iter_stream(stream, direction="backward", page_size=2)] == [
        2,
        1,
        0,
    ]


def test_client_side_ids_are_kept(client: Client, unique: str) -> None:
    stream = f"ids{unique}-1"
    chosen = uuid.uuid4()
    client.append(stream, [{"id": chosen, "type": "A", "data": 1}, {"type": "B", "data": 2}])
    events = client.read_stream(stream)
    assert events[0].id == chosen
    assert events[1].id is not None and events[1].id != chosen


def test_binary_data_travels_as_base64(client: Client, unique: str) -> None:
    stream = f"bin{unique}-1"
    client.append(stream, [{"type": "Blob", "data": b"\x00\xffraw"}])
    (event,) = client.read_stream(stream)
    assert event.content_type == "application/octet-stream"
    assert event.data == "AP9yYXc="


def test_new_event_takes_any_json_and_bytes(client: Client, unique: str) -> None:
    # The document types EventBody.data as an object; the server takes any JSON value, and
    # NewEvent does too.
    stream = f"any{unique}-1"
    values: list[object] = [1, "text", [1, 2], None, {"a": 1}]
    client.append(stream, [NewEvent(type="Value", data=value) for value in values])
    client.append(stream, [NewEvent(type="Blob", data=b"\x00\xffraw")])
    events = client.read_stream(stream)
    assert [e.data for e in events[:-1]] == values
    assert (events[-1].content_type, events[-1].data) == ("application/octet-stream", "AP9yYXc=")


def test_wrong_expected_revision(client: Client, unique: str) -> None:
    stream = f"account{unique}-2"
    client.append(stream, [{"type": "Opened", "data": {}}], expected_revision="no_stream")
    with pytest.raises(WrongExpectedRevisionError) as raised:
        client.append(stream, [{"type": "Opened", "data": {}}], expected_revision="no_stream")
    error = raised.value
    assert (error.status, error.code) == (409, "wrong_expected_revision")
    assert (error.expected, error.actual) == ("no_stream", 0)
    assert error.message

    with pytest.raises(WrongExpectedRevisionError) as raised:
        client.append(stream, [{"type": "Deposited", "data": {}}], expected_revision=5)
    assert (raised.value.expected, raised.value.actual) == (5, 0)

    with pytest.raises(WrongExpectedRevisionError) as raised:
        client.append(f"{stream}-none", [{"type": "A", "data": {}}], expected_revision="exists")
    assert raised.value.actual is None
    assert client.read_stream(stream)[-1].revision == 0


def test_same_ids_twice_store_one_copy(client: Client, unique: str) -> None:
    stream = f"retry{unique}-1"
    events = [{"id": str(uuid.uuid4()), "type": "Deposited", "data": {"n": n}} for n in range(3)]
    first = client.append(stream, events, expected_revision="no_stream")
    again = client.append(stream, events, expected_revision="no_stream")
    assert again == first
    assert [e.data for e in client.read_stream(stream)] == [{"n": 0}, {"n": 1}, {"n": 2}]

    # The same id in a different append is a conflict, not a silent duplicate.
    with pytest.raises(EventIdConflictError) as raised:
        client.append(f"retry{unique}-2", [events[0]])
    assert (raised.value.status, raised.value.code) == (409, "event_id_conflict")


def test_missing_and_deleted_streams(client: Client, unique: str) -> None:
    with pytest.raises(StreamNotFoundError) as raised:
        client.read_stream(f"never{unique}-1")
    assert (raised.value.status, raised.value.code) == (404, "stream_not_found")
    assert client.stream_revision(f"never{unique}-1") is None

    stream = f"gone{unique}-1"
    client.append(stream, [{"type": "A", "data": {}}])
    client.delete_stream(stream, hard=True)
    with pytest.raises(StreamDeletedError) as deleted:
        client.read_stream(stream)
    assert (deleted.value.status, deleted.value.code) == (410, "stream_deleted")
    with pytest.raises(StreamDeletedError):
        client.append(stream, [{"type": "A", "data": {}}])

    soft = f"soft{unique}-1"
    client.append(soft, [{"type": "A", "data": {}}])
    client.delete_stream(soft, expected_revision=0)
    with pytest.raises(StreamNotFoundError):
        client.read_stream(soft)


def test_metadata(client: Client, unique: str) -> None:
    stream = f"meta{unique}-1"
    client.append(stream, [{"type": "A", "data": n} for n in range(5)])
    stored = client.set_metadata(stream, {"max_count": 2, "custom": {"owner": "payments"}})
    assert stored.max_count == 2 and stored.custom == {"owner": "payments"}
    assert client.get_metadata(stream).max_count == 2
    assert [e.data for e in client.read_stream(stream)] == [3, 4]


def test_stream_names_are_escaped_in_paths(client: Client, unique: str) -> None:
    stream = f"odd{unique}-a/b?c#d é"
    client.append(stream, [{"type": "A", "data": {}}])
    (event,) = client.read_stream(stream)
    assert event.stream == stream
