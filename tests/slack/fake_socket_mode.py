"""A fake of Slack's Socket Mode server on loopback: one WebSocket endpoint, envelopes in, acks out.

``FakeSlack`` answers ``apps.connections.open`` with this server's ``ws://`` URL. On connect the
server says ``hello`` as Slack does; ``send`` pushes an envelope to the connected client, and
``wait_for_ack`` waits (bounded) until the client has acknowledged it by ``envelope_id``.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.sync.server import ServerConnection, serve


class FakeSocketMode:
    def __init__(self) -> None:
        self._server = serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True)
        self._changed = threading.Condition()
        self._connections: list[ServerConnection] = []
        self.acks: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}}))
        with self._changed:
            self._connections.append(connection)
            self._changed.notify_all()
        for raw in connection:
            message = json.loads(raw)
            with self._changed:
                self.acks.append(message)
                self._changed.notify_all()

    def wait_connected(self, timeout_s: float = 20.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._connections, timeout_s), "the bot never connected"

    def send(self, envelope_id: str, kind: str, payload: dict[str, Any]) -> None:
        self.wait_connected()
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        self._connections[-1].send(json.dumps(envelope))

    def wait_for_ack(self, envelope_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not (found := [a for a in self.acks if a.get("envelope_id") == envelope_id]):
                left = deadline - time.monotonic()
                assert left > 0, f"envelope {envelope_id} not acknowledged; acks: {self.acks}"
                self._changed.wait(left)
            return found[0]
