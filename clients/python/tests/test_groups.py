"""Consumer groups: fetch, ack, nack (retry, park, skip) and the consume loop."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from eventfold import (
    Client,
    ConflictError,
    Delivery,
    GroupDescribed,
    GroupFilter,
    GroupNotFoundError,
    GroupView,
)

from .conftest import wait_until


def _fetch(client: Client, group: str, count: int, timeout: float = 20.0) -> list[Delivery]:
    """Fetches until ``count`` deliveries are in hand (long-polling, so no busy loop)."""
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got.extend(
            client.fetch(group, consumer="tester", max_messages=count - len(got), wait_ms=1000)
        )
    assert len(got) == count, f"fetched {len(got)} of {count}"
    return got


def test_fetch_ack_nack(client: Client, unique: str) -> None:
    category = f"order{unique}"
    group = f"billing-{unique}"
    view = client.save_group(
        group, category=category, start="start", retry_backoff_ms=50, retry_backoff_max_ms=100
    )
    assert isinstance(view, GroupView)
    assert view.name == group and view.stream is None
    assert view.filter == GroupFilter(category=category)
    assert (view.retry_backoff_ms, view.retry_backoff_max_ms) == (50, 100)
    assert isinstance(view.start, int)  # "start" resolved to a position
    listed = [g for g in client.list_groups() if g.name == group]
    assert listed == [view]
    client.append(f"{category}-1", [{"type": "Placed", "data": {"n": n}} for n in range(4)])

    first = _fetch(client, group, 4)
    assert [d.event.data["n"] for d in first] == [0, 1, 2, 3]
    assert all(d.attempt == 1 and not d.replayed for d in first)
    assert all(isinstance(d.ack_id, str) for d in first)

    acked = client.ack(group, [first[0]])
    assert (acked.settled, acked.unknown) == (1, [])
    assert client.nack(group, [first[1]], action="retry", reason="try again").settled == 1
    assert client.nack(group, [first[2].ack_id], action="park", reason="poison").settled == 1
    assert client.nack(group, [first[3]], action="skip").settled == 1
    # Settled already: the server says it does not know them any more.
    assert client.ack(group, [first[0]]).unknown == [first[0].ack_id]

    (retried,) = _fetch(client, group, 1)
    assert retried.event.data == {"n": 1}
    assert retried.attempt == 2
    client.ack(group, [retried])

    parked = client.parked(group)
    assert [e.data for e in parked] == [{"n": 2}]
    assert "poison" in str(parked[0].metadata)

    def settled() -> GroupDescribed | None:
        described = client.describe_group(group)
        counters = described.status.counters
        done = (counters.acked, counters.parked, counters.skipped) == (2, 1, 1)
        return described if done else None

    described = wait_until(settled)
    assert described.name == group and described.settings.filter == GroupFilter(category=category)
    assert described.status.counters.delivered == 5
    assert described.status.in_flight == 0
    assert [c.name for c in described.status.consumers] == ["tester"]

    assert client.replay_parked(group) == 1
    (replayed,) = _fetch(client, group, 1)
    assert replayed.replayed and replayed.event.data == {"n": 2}
    client.ack(group, [replayed])

    client.delete_group(group)
    with pytest.raises(GroupNotFoundError) as raised:
        client.describe_group(group)
    assert raised.value.code == "group_not_found"


def test_settings_change_but_stream_and_filter_do_not(client: Client, unique: str) -> None:
    category = f"conf{unique}"
    group = f"conf-{unique}"
    client.save_group(group, category=category, max_attempts=5)
    # The same filter with other settings: an update.
    updated = client.save_group(group, category=category, max_attempts=2, ack_timeout_ms=1000)
    assert (updated.max_attempts, updated.ack_timeout_ms) == (2, 1000)
    assert client.describe_group(group).settings.max_attempts == 2
    # Another filter, no filter, or a stream: refused, and the group stays as it was.
    for change in (
        {"category": f"other{unique}"},
        {},
        {"stream": f"{category}-1"},
    ):
        with pytest.raises(ConflictError) as raised:
            client.save_group(group, **change)  # type: ignore[arg-type]
        assert (raised.value.status, raised.value.code) == (409, "conflict")
    assert client.describe_group(group).settings.filter == GroupFilter(category=category)

    stream_group = f"stream-{unique}"
    view = client.save_group(stream_group, stream=f"{category}-1", start={"revision": 0})
    assert view.stream == f"{category}-1" and view.start == 0
    with pytest.raises(ConflictError):
        client.save_group(stream_group, stream=f"{category}-2")
    client.delete_group(group)
    client.delete_group(stream_group)


def test_consume_acks_successes_and_retries_failures(client: Client, unique: str) -> None:
    category = f"job{unique}"
    group = f"workers-{unique}"
    client.save_group(group, category=category, start="start", retry_backoff_ms=50)
    client.append(f"{category}-1", [{"type": "Job", "data": {"n": n}} for n in range(5)])

    attempts: Counter[int] = Counter()
    done: list[int] = []
    stop = threading.Event()

    def handler(delivery: Delivery) -> None:
        n = delivery.event.data["n"]
        attempts[n] += 1
        if n == 3 and attempts[n] == 1:
            raise RuntimeError("transient failure")
        done.append(n)
        if len(done) == 5:
            stop.set()

    stats = client.consume(
        group, "worker-1", handler, batch_size=2, wait_ms=500, stop=stop, max_iterations=40
    )
    assert stop.is_set(), stats
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert attempts[3] == 2
    assert (stats.acked, stats.nacked, stats.fetched) == (5, 1, 6)
    assert stats.iterations < 40

    # Nothing left: a bounded run returns after its iterations.
    idle = client.consume(group, "worker-1", handler, wait_ms=0, max_iterations=2)
    assert (idle.iterations, idle.fetched) == (2, 0)
    parked = client.parked(group)
    assert parked == []
