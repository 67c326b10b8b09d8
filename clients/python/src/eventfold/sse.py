"""A small parser for the ``text/event-stream`` format (Server-Sent Events).

It follows the WHATWG "event stream interpretation" rules that matter to a client: lines end in
LF, CRLF or CR; a line starting with ``:`` is a comment (the server's keep-alive); ``field:
value`` lines (one optional space after the colon) build a message; a blank line dispatches it.
A message cut short by the end of the stream is dropped, never half-delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SseMessage", "parse_sse"]


@dataclass(frozen=True, slots=True)
class SseMessage:
    """One dispatched SSE message.

    Attributes:
        event: The message type: ``"message"`` when the server named none.
        data: The ``data`` lines joined with ``\\n``.
        id: The ``id`` field of this message, or ``None`` when it had none.
        retry: The ``retry`` field (milliseconds), when the message carried one.
    """

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    """Yield the messages carried by ``lines`` (each one line without its line ending).

    A message is yielded when the blank line after it arrives; lines left over when ``lines``
    ends are discarded, as the SSE specification says. Unlike a browser, this parser also
    yields a message that has no ``data`` (only an ``id`` or ``retry``, say), so that the
    caller sees every ``id``; a browser would not fire ``onmessage`` for it.
    """
    event = ""
    data: list[str] = []
    message_id: str | None = None
    retry: int | None = None
    has_fields = False
    for line in lines:
        if line == "":
            if has_fields:
                yield SseMessage(
                    event=event or "message",
                    data="\n".join(data),
                    id=message_id,
                    retry=retry,
                )
            event, data, message_id, retry, has_fields = "", [], None, None, False
            continue
        if line.startswith(":"):
            continue  # a comment: the keep-alive
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        has_fields = True
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            if "\0" not in value:
                message_id = value
        elif name == "retry":
            if value.isdigit():
                retry = int(value)
        # Any other field name is ignored, as the specification says.
