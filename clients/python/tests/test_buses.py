"""Event buses: settings and policy, puts (retried without duplicates), rules, replays."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest

from eventfold import (
    BusDescribed,
    BusEvent,
    BusNotFoundError,
    BusView,
    Client,
    EventfoldError,
    RecordedEvent,
    RuleSaved,
    StreamNotFoundError,
)

from .conftest import wait_until
from .proxy import CuttingProxy


def _read(client: Client, stream: str) -> list[RecordedEvent]:
    try:
        return client.read_stream(stream)
    except StreamNotFoundError:
        return []


def test_bus_rules_and_replay(
    client: Client, make_client: Callable[..., Client], proxy: CuttingProxy, unique: str
) -> None:
    bus = f"orders-{unique}"
    target = f"shipping{unique}-1"
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)

    view = client.save_bus(bus, policy={"sources": ["shop*"]}, archive_days=7)
    assert isinstance(view, BusView)
    assert (view.name, view.archive_days) == (bus, 7)
    assert view.policy is not None and view.policy.sources == ["shop*"]
    assert [b for b in client.list_buses() if b.name == bus] == [view]

    saved = client.save_rule(
        bus,
        "ship",
        {"type": ["Ordered"]},
        [{"stream": target}],
        description="orders to shipping",
    )
    assert isinstance(saved, RuleSaved)
    assert (saved.bus, saved.name, saved.rule.enabled) == (bus, "ship", True)
    assert [t.model_dump(exclude_none=True) for t in saved.rule.targets] == [{"stream": target}]
    assert [r.name for r in client.list_rules(bus)] == ["ship"]

    chosen = uuid.uuid4()
    put = client.put_events(
        bus,
        [
            BusEvent(id=chosen, source="shop-eu", type="Ordered", data=42),  # any JSON data
            {"source": "shop-eu", "type": "Viewed", "data": {"page": 1}},
        ],
    )
    assert len(put.ids) == 2 and put.ids[0] == chosen
    assert put.last_position > put.first_position

    with pytest.raises(EventfoldError) as refused:
        client.put_events(bus, [{"source": "crm", "type": "Ordered", "data": {}}])
    assert (refused.value.status, refused.value.code) == (403, "forbidden_source")

    # A put whose answer is lost is retried with the same ids: stored once.
    proxy.drop_responses(1)
    again = make_client(proxy.url).put_events(
        bus, [{"source": "shop-us", "type": "Ordered", "data": {"n": 2}}]
    )
    assert proxy.dropped == 1 and len(again.ids) == 1

    delivered = wait_until(lambda: len(_read(client, target)) == 2 and _read(client, target))
    assert [e.data for e in delivered] == [42, {"n": 2}]
    assert delivered[0].metadata["source"] == "shop-eu"

    described = client.describe_bus(bus)
    assert isinstance(described, BusDescribed)
    assert described.events_put == 3
    assert [r.name for r in described.rules] == ["ship"]
    assert wait_until(lambda: client.describe_rule(bus, "ship").status.matched == 2)
    assert client.dead_letters(bus, "ship") == []

    replay = client.start_replay(bus, "again", before)
    assert (replay.bus, replay.name) == (bus, "again")
    done = wait_until(
        lambda: (status := client.replay_status(bus, "again")).state != "running" and status
    )
    assert (done.state, done.replayed, done.error) == ("completed", 3, None)
    # The replayed copies go through the rule again, marked with the replay.
    copies = wait_until(lambda: len(_read(client, target)) == 4 and _read(client, target)[2:])
    assert [e.data for e in copies] == [42, {"n": 2}]
    assert all(e.metadata["replay"]["name"] == "again" for e in copies)

    client.delete_rule(bus, "ship")
    assert client.list_rules(bus) == []
    client.delete_bus(bus)
    with pytest.raises(BusNotFoundError):
        client.describe_bus(bus)
