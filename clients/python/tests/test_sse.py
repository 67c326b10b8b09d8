"""The SSE parser, without a server."""

from __future__ import annotations

from eventfold.sse import SseMessage, parse_sse


def test_messages_comments_and_fields() -> None:
    lines = [
        ": keep-alive",
        "id: 7",
        'data: {"a":',
        "data: 1}",
        "",
        "event: caught_up",
        "data:{}",
        "",
        "retry: 2500",
        "",
        "event: checkpoint",
        "id: 9",
        'data: {"position": 10}',
        "unknown: ignored",
        "",
        "",
        "id: 11",
        "data: cut short",
    ]
    assert list(parse_sse(lines)) == [
        SseMessage(event="message", data='{"a":\n1}', id="7"),
        SseMessage(event="caught_up", data="{}"),
        SseMessage(event="message", data="", retry=2500),
        SseMessage(event="checkpoint", data='{"position": 10}', id="9"),
    ]


def test_values_keep_all_but_one_leading_space() -> None:
    assert list(parse_sse(["data:  two", "id:3", ""])) == [
        SseMessage(event="message", data=" two", id="3")
    ]
