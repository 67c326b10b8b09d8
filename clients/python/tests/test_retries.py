"""Retries: an append whose answer is lost, 503s with Retry-After, connection failures."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from eventfold import (
    Client,
    EventfoldConnectionError,
    UnavailableError,
)

from .conftest import Server
from .proxy import CuttingProxy


class FlakyTransport(httpx.BaseTransport):
    """Fails the first requests (503s, or connection errors), then reaches the real server."""

    def __init__(self, *, unavailable: int = 0, refused: int = 0, retry_after: str = "1") -> None:
        self.inner = httpx.HTTPTransport()
        self.unavailable = unavailable
        self.refused = refused
        self.retry_after = retry_after
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self.refused:
            self.refused -= 1
            raise httpx.ConnectError("connection refused (test)", request=request)
        if self.unavailable:
            self.unavailable -= 1
            return httpx.Response(
                503,
                headers={"retry-after": self.retry_after},
                json={"error": "unavailable", "message": "try later (test)"},
            )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_append_whose_answer_is_lost_is_retried_without_duplicates(
    client: Client, make_client: Callable[..., Client], proxy: CuttingProxy, unique: str
) -> None:
    stream = f"lost{unique}-1"
    through_proxy = make_client(proxy.url)
    proxy.drop_responses(1)
    result = through_proxy.append(
        stream,
        [{"type": "Deposited", "data": {"n": n}} for n in range(3)],
        expected_revision="no_stream",
    )
    assert proxy.dropped == 1  # the first answer never arrived: the append was sent twice
    assert (result.first_revision, result.last_revision) == (0, 2)
    events = client.read_stream(stream)
    assert [e.data for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_append_without_retries_surfaces_the_lost_answer(
    client: Client, make_client: Callable[..., Client], proxy: CuttingProxy, unique: str
) -> None:
    stream = f"lost{unique}-2"
    proxy.drop_responses(1)
    with pytest.raises(EventfoldConnectionError) as raised:
        make_client(proxy.url).append(stream, [{"type": "A", "data": {}}], retries=0)
    assert raised.value.code == "connection_error" and raised.value.status is None
    assert len(client.read_stream(stream)) == 1  # it was written; the client could not know


def test_503_is_retried_after_retry_after_with_the_same_ids(
    client: Client, server: Server, unique: str
) -> None:
    transport = FlakyTransport(unavailable=2, retry_after="1")
    flaky = Client(server.url, transport=transport)
    delays: list[float] = []
    flaky._sleep = delays.append
    stream = f"busy{unique}-1"
    flaky.append(stream, [{"type": "A", "data": 1}, {"type": "B", "data": 2}])
    assert delays == [1.0, 1.0]
    bodies = [json.loads(r.content) for r in transport.requests]
    assert len(bodies) == 3
    ids = [[e["id"] for e in body["events"]] for body in bodies]
    assert ids[0] == ids[1] == ids[2] and len(set(ids[0])) == 2
    assert [str(e.id) for e in client.read_stream(stream)] == ids[0]
    flaky.close()


def test_retries_run_out(server: Server, unique: str) -> None:
    transport = FlakyTransport(unavailable=10, retry_after="0")
    with Client(server.url, transport=transport, retries=2) as flaky:
        flaky._sleep = lambda _: None
        with pytest.raises(UnavailableError) as raised:
            flaky.read_stream(f"busy{unique}-2")
        assert (raised.value.status, raised.value.code) == (503, "unavailable")
        assert len(transport.requests) == 3

    refused = FlakyTransport(refused=10)
    with Client(server.url, transport=refused) as flaky:
        delays: list[float] = []
        flaky._sleep = delays.append
        with pytest.raises(EventfoldConnectionError):
            flaky.append(f"busy{unique}-3", [{"type": "A", "data": 1}], retries=4)
        assert len(refused.requests) == 5
        assert delays == sorted(delays) or len(delays) == 4  # backing off, with jitter
        assert all(0 < d <= 5.0 for d in delays)


def test_a_refused_connection_is_retried_even_for_a_fetch(
    client: Client, server: Server, unique: str
) -> None:
    group = f"retryfetch-{unique}"
    client.save_group(group, category=f"rf{unique}")
    transport = FlakyTransport(refused=1)
    with Client(server.url, transport=transport) as flaky:
        flaky._sleep = lambda _: None
        assert flaky.fetch(group) == []
        assert len(transport.requests) == 2


def test_token_and_headers_are_sent(server: Server) -> None:
    transport = FlakyTransport()
    with Client(server.url, transport=transport, token="s3cret", headers={"x-tenant": "t1"}) as c:
        c.health()
    (request,) = transport.requests
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["x-tenant"] == "t1"
