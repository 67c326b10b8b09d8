"""Bad requests come back as EventfoldError with the server's stable code."""

from __future__ import annotations

import pytest

from eventfold import BusNotFoundError, Client, EventfoldError, GroupNotFoundError


def test_bad_requests_have_stable_codes(client: Client, unique: str) -> None:
    cases = [
        (lambda: client.read_stream(f"s{unique}-1", limit=20_000), 400, "invalid_request"),
        (lambda: client.read_stream("x" * 300), 400, "invalid_stream_name"),
        (lambda: client.append(f"s{unique}-1", []), 400, "empty_append"),
        (
            lambda: client.append(f"s{unique}-1", [{"type": "A", "data": 1, "bogus": True}]),
            400,
            "invalid_request",
        ),
        (lambda: client.append(f"s{unique}-1", [{"type": "", "data": 1}]), 400, "invalid_event"),
        (lambda: client.append("$groups", [{"type": "A", "data": 1}]), 403, "reserved_stream"),
        (
            # An ack body has only ack_ids (the client sends nothing else); `action` is a nack's.
            lambda: client._request(
                "POST",
                f"/groups/acks-{unique}/ack",
                json_body={"ack_ids": [], "action": "retry"},
            ),
            400,
            "invalid_request",
        ),
        (
            # Forward, `from` and `since` together start at the later of the two; backward,
            # they are refused.
            lambda: client.read_all(
                from_="end", since="2026-01-01T00:00:00Z", direction="backward"
            ),
            400,
            "invalid_request",
        ),
    ]
    for call, status, code in cases:
        with pytest.raises(EventfoldError) as raised:
            call()
        error = raised.value
        assert (error.status, error.code) == (status, code), error
        assert error.message
        assert error.body["error"] == code
        assert error.request_id


def test_unknown_group(client: Client, unique: str) -> None:
    with pytest.raises(GroupNotFoundError) as raised:
        client.fetch(f"nogroup-{unique}")
    assert (raised.value.status, raised.value.code) == (404, "group_not_found")


def test_unknown_bus(client: Client, unique: str) -> None:
    with pytest.raises(BusNotFoundError) as raised:
        client.describe_bus(f"nobus-{unique}")
    assert (raised.value.status, raised.value.code) == (404, "bus_not_found")


def test_unknown_route_is_an_eventfold_error(client: Client) -> None:
    with pytest.raises(EventfoldError) as raised:
        client._request("GET", "/no/such/route")
    assert (raised.value.status, raised.value.code) == (404, "not_found")
