"""Reading a Server-Sent Events body back into (event, data) pairs, as a browser would."""

from __future__ import annotations

import json
from typing import Any


def parse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in body.split("\n\n"):
        name, data = "message", []
        for line in frame.splitlines():
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data.append(value.removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events
