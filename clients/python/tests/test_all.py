"""Reading the global log, $all, page by page."""

from __future__ import annotations

from eventfold import Client


def _fill(client: Client, unique: str) -> list[int]:
    """30 events of the category `page<unique>` in 3 streams, with other events between them;
    their positions in order."""
    positions: list[int] = []
    for s in range(3):
        result = client.append(
            f"page{unique}-{s}",
            [
                {"type": "Even" if n % 2 == 0 else "Odd", "data": {"s": s, "n": n}}
                for n in range(10)
            ],
        )
        positions.extend(range(result.first_position, result.last_position + 1))
        client.append(f"noise{unique}-{s}", [{"type": "Even", "data": {}}] * 3)
    return positions


def test_pages_follow_next_to_the_end_of_the_log(client: Client, unique: str) -> None:
    expected = _fill(client, unique)
    seen: list[int] = []
    pages = 0
    cursor: int | str = "start"
    while True:
        page = client.read_all(from_=cursor, category=f"page{unique}", limit=7)
        pages += 1
        assert len(page.events) <= 7
        assert all(
            e.stream is not None and e.stream.startswith(f"page{unique}-") for e in page.events
        )
        seen.extend(e.position for e in page.events if e.position is not None)
        if page.end_of_log:
            break
        assert page.next is not None and (cursor == "start" or page.next > int(cursor))
        cursor = page.next
        assert pages < 100, "paging does not end"
    assert seen == expected
    assert pages >= 5


def test_iter_all_pages_through_everything(client: Client, unique: str) -> None:
    expected = _fill(client, unique)
    forward = [e.position for e in client.iter_all(category=f"page{unique}", page_size=7)]
    assert forward == expected

    backward = [
        e.position
        for e in client.iter_all(
            from_="end", direction="backward", category=f"page{unique}", page_size=4
        )
    ]
    assert backward == expected[::-1]

    odd = list(client.iter_all(prefix=f"page{unique}-1", types=["Odd"], page_size=2))
    assert [(e.data["s"], e.data["n"]) for e in odd] == [(1, n) for n in (1, 3, 5, 7, 9)]

    from_middle = [
        e.position
        for e in client.iter_all(from_=expected[15], category=f"page{unique}", page_size=7)
    ]
    assert from_middle == expected[15:]


def test_since_and_from_end(client: Client, unique: str) -> None:
    expected = _fill(client, unique)
    events = client.read_all(from_=expected[0], limit=1).events
    assert events[0].recorded_at is not None
    since = list(client.iter_all(since=events[0].recorded_at, category=f"page{unique}"))
    assert [e.position for e in since] == expected
    end = client.read_all(from_="end", category=f"page{unique}")
    assert end.events == [] and end.end_of_log and end.next is not None


def test_from_and_since_start_at_the_later_of_the_two(client: Client, unique: str) -> None:
    expected = _fill(client, unique)
    category = f"page{unique}"
    times = [client.read_all(from_=p, limit=1).events[0].recorded_at for p in expected]
    # `since` later than `from`: the read starts at the first event recorded at `since` or
    # after (the second stream's first event, or one recorded at the same time before it).
    since = times[10]
    starts_at = next(i for i, t in enumerate(times) if t >= since)
    assert starts_at > 0  # later than `from`: the page must not start there
    page = client.read_all(from_=expected[0], since=since, category=category)
    assert [e.position for e in page.events] == expected[starts_at:]
    # `from` later than `since`: it starts at `from`, page after page.
    later_from = list(client.iter_all(expected[15], since=times[0], category=category))
    assert [e.position for e in later_from] == expected[15:]
