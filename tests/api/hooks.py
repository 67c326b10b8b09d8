"""Schemathesis hooks: the rules of the Eventfold API that OpenAPI cannot express. Each
keeps schemathesis from calling a request valid that the API documents as refused.

- A backward read of $all has one start: `from` or `since`, not both.
- A replay's `to` is not before its `from`.

And one for time: a fetch may wait up to 20 s for events; here it waits at most half a second.
"""

from datetime import datetime

import schemathesis


@schemathesis.hook
def filter_query(ctx, query):
    if not query:
        return True
    return not (
        "from" in query and "since" in query and query.get("direction") == "backward"
    )


@schemathesis.hook
def filter_body(ctx, body):
    if not isinstance(body, dict):
        return True
    if "from" in body and body.get("to") is not None and "name" in body:
        try:
            return _time(body["to"]) >= _time(body["from"])
        except (TypeError, ValueError):
            return True  # not a time: the server refuses it, as the schema does
    return True


def _time(text):
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


@schemathesis.hook
def map_body(ctx, body):
    if isinstance(body, dict) and isinstance(body.get("wait_ms"), int):
        body["wait_ms"] = min(body["wait_ms"], 500)
    return body
