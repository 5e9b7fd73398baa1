"""Reading a Server-Sent Events body back into (event, data) pairs, as a browser would.

The parsing itself is the load benchmark's (``sse_events``), so the tests and the benchmark read
streams the same way.
"""

from __future__ import annotations

from typing import Any

from assistant.evaluation.load import sse_events


def parse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    return list(sse_events(iter(body.splitlines())))
