"""Snapshots: stored, read back, refused when they do not end at an event of their stream."""

from __future__ import annotations

import datetime as dt

import pytest

from eventfold import Client, ConflictError, Snapshot, StreamDeletedError


def test_save_get_delete(client: Client, unique: str) -> None:
    stream = f"snap{unique}-1"
    assert client.get_snapshot(stream) is None
    client.append(stream, [{"type": "Deposited", "data": {"amount": n}} for n in (10, 20, 30)])
    events = client.read_stream(stream)
    taken = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)

    snapshot = Snapshot(
        revision=2,
        last_event_id=events[2].id,
        schema_version=3,
        recorded_at=taken,
        state={"balance": 60},
    )
    client.save_snapshot(stream, snapshot)
    assert client.get_snapshot(stream) == snapshot

    # Any JSON value is a state (the document says an object; the server takes any), and a
    # mapping is checked against Snapshot before it is sent.
    client.save_snapshot(
        stream,
        {
            "revision": 1,
            "last_event_id": str(events[1].id),
            "schema_version": 3,
            "recorded_at": taken.isoformat(),
            "state": 30,
        },
    )
    stored = client.get_snapshot(stream)
    assert stored is not None and (stored.revision, stored.state) == (1, 30)

    client.delete_snapshot(stream)
    assert client.get_snapshot(stream) is None
    client.delete_snapshot(stream)  # none: nothing to do


def test_a_snapshot_must_end_at_an_event_of_its_stream(client: Client, unique: str) -> None:
    stream = f"snap{unique}-2"
    client.append(stream, [{"type": "A", "data": {}}, {"type": "B", "data": {}}])
    events = client.read_stream(stream)
    now = dt.datetime.now(dt.UTC)
    mismatched = Snapshot(
        revision=0, last_event_id=events[1].id, schema_version=1, recorded_at=now, state={}
    )
    with pytest.raises(ConflictError) as raised:
        client.save_snapshot(stream, mismatched)
    assert (raised.value.status, raised.value.code) == (409, "conflict")
    assert client.get_snapshot(stream) is None

    # A stream without that event at all (never written) is the same conflict; a tombstoned
    # one is gone for good.
    with pytest.raises(ConflictError):
        client.save_snapshot(f"nosnap{unique}-1", mismatched)
    matching = mismatched.model_copy(update={"revision": 1})
    client.save_snapshot(stream, matching)
    assert client.get_snapshot(stream) == matching
    client.delete_stream(stream, hard=True)
    with pytest.raises(StreamDeletedError):
        client.save_snapshot(stream, matching)
