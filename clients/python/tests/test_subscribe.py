"""Subscriptions over SSE: history, live events, and resuming across lost connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventfold import CaughtUp, Checkpoint, Client, RecordedEvent, StreamDeletedError

from .conftest import Collector, Server, wait_until
from .proxy import CuttingProxy


def _events(n: int, start: int = 0, pad: int = 0) -> list[dict[str, Any]]:
    return [{"type": "Tick", "data": {"n": i, "pad": "x" * pad}} for i in range(start, start + n)]


def test_stream_history_then_live(
    client: Client, make_client: Callable[..., Client], unique: str
) -> None:
    stream = f"sub{unique}-1"
    client.append(stream, _events(3))
    collector = Collector(make_client().subscribe_stream(stream), messages=True)
    history = collector.wait_for(4)
    assert [m.revision for m in history[:3]] == [0, 1, 2]
    assert history[3] == CaughtUp()
    client.append(stream, _events(2, start=3))
    live = collector.wait_for(6)[4:]
    assert [(m.revision, m.data["n"]) for m in live] == [(3, 3), (4, 4)]
    assert collector.subscription.caught_up
    assert collector.subscription.last_event_id == 4


def test_from_end_sees_only_what_comes_next(
    client: Client, make_client: Callable[..., Client], unique: str
) -> None:
    stream = f"subend{unique}-1"
    client.append(stream, _events(2))
    # Resolved when subscribe_* returns: appends made right after are delivered.
    of_stream = make_client().subscribe_stream(stream, from_="end")
    of_all = make_client().subscribe_all(from_="end", category=f"subend{unique}")
    client.append(stream, _events(1, start=2))
    assert [e.revision for e in Collector(of_stream).wait_for(1)] == [2]
    assert [e.data["n"] for e in Collector(of_all).wait_for(1)] == [2]


def test_resume_from_a_last_event_id(
    client: Client, make_client: Callable[..., Client], unique: str
) -> None:
    stream = f"subid{unique}-1"
    result = client.append(stream, _events(5))
    resumed = make_client().subscribe_stream(stream, last_event_id=2)
    assert [e.revision for e in Collector(resumed).wait_for(2)] == [3, 4]
    after = make_client().subscribe_all(
        last_event_id=result.first_position + 1, category=f"subid{unique}"
    )
    assert [e.data["n"] for e in Collector(after).wait_for(3)] == [2, 3, 4]


def test_filtered_all_sends_checkpoints(
    client: Client, make_client: Callable[..., Client], unique: str
) -> None:
    client.append(f"chk{unique}-1", _events(1))
    subscription = make_client().subscribe_all(category=f"chk{unique}")
    collector = Collector(subscription, messages=True)
    first = collector.wait_for(2)
    assert isinstance(first[0], RecordedEvent) and first[1] == CaughtUp()
    # Events the filter skips move the subscription on with checkpoints (ids included).
    client.append(f"other{unique}-1", _events(3))
    checkpoint = collector.wait_for(3)[2]
    assert isinstance(checkpoint, Checkpoint)
    assert subscription.last_event_id == checkpoint.position - 1


def test_deleted_stream_ends_the_subscription(
    client: Client, make_client: Callable[..., Client], unique: str
) -> None:
    stream = f"subdel{unique}-1"
    client.append(stream, _events(1))
    collector = Collector(make_client().subscribe_stream(stream))
    collector.wait_for(1)
    client.delete_stream(stream, hard=True)
    error = collector.wait_error()
    assert isinstance(error, StreamDeletedError), repr(error)
    assert error.code == "stream_deleted"
    with pytest.raises(StreamDeletedError):
        next(make_client().subscribe_stream(stream))


def test_resume_after_the_connection_is_cut_mid_stream(
    client: Client, make_client: Callable[..., Client], proxy: CuttingProxy, unique: str
) -> None:
    category = f"cut{unique}"
    history = 2000
    for batch in range(4):
        client.append(f"{category}-1", _events(history // 4, start=batch * 500, pad=300))
    subscription = make_client(proxy.url).subscribe_all(category=category)
    received: list[int] = []
    for event in subscription:
        received.append(event.data["n"])
        if len(received) == 50:
            break
    assert proxy.cut() >= 1
    # History still flowing when the connection went: the resumption is mid-stream.
    resumed_at: int | None = None
    for event in subscription:
        if resumed_at is None and subscription.reconnects:
            resumed_at = event.data["n"]
        received.append(event.data["n"])
        if len(received) == history:
            break
    assert subscription.reconnects >= 1
    assert resumed_at is not None and resumed_at < history - 1
    client.append(f"{category}-2", _events(5, start=history))
    for event in subscription:
        received.append(event.data["n"])
        if len(received) == history + 5:
            break
    subscription.close()
    assert received == list(range(history + 5))  # no duplicate, no gap


def test_resume_across_a_server_restart(
    client: Client, make_client: Callable[..., Client], server: Server, unique: str
) -> None:
    stream = f"restart{unique}-1"
    client.append(stream, _events(5))
    subscription = make_client().subscribe_stream(stream, max_reconnects=30)
    all_subscription = make_client().subscribe_all(category=f"restart{unique}", max_reconnects=30)
    of_stream = Collector(subscription)
    of_all = Collector(all_subscription)
    of_stream.wait_for(5)
    of_all.wait_for(5)

    server.stop()  # SIGINT: the server ends the subscriptions cleanly
    # While it is down, the collectors' reconnections are refused, and they back off.
    wait_until(lambda: subscription.reconnects >= 2 and all_subscription.reconnects >= 2)
    server.start()
    client.append(stream, _events(5, start=5))

    assert [e.revision for e in of_stream.wait_for(10, timeout=60)] == list(range(10))
    assert [e.data["n"] for e in of_all.wait_for(10, timeout=60)] == list(range(10))
    assert subscription.reconnects >= 1 and all_subscription.reconnects >= 1
    # One more event: had anything been delivered twice, it would show before this one.
    client.append(stream, _events(1, start=10))
    assert [e.revision for e in of_stream.wait_for(11)] == list(range(11))
    assert [e.data["n"] for e in of_all.wait_for(11)] == list(range(11))
