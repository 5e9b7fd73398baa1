"""A fake of Slack on loopback: the Web API under /api/ and response URLs under /hooks/.

It records every call and answers the way Slack does (``{"ok": true, ...}`` or
``{"ok": false, "error": ...}``), so the bot's real WebClient and WebhookClient talk HTTP to it.
Tests wait on it with a bounded wait, never a sleep.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
OAUTH_TOKEN_PREFIX = "xoxb-oauth-"


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", ... or "response_url"
    path: str
    body: dict[str, Any]
    authorization: str | None
    reply: dict[str, Any] = dataclasses.field(default_factory=dict)  # what the fake answered

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.body.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks


class FakeSlack:
    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self.errors: dict[str, str] = {}  # method (or "response_url") -> Slack error code to answer with
        self.socket_url: str | None = None  # what apps.connections.open hands out (a FakeSocketMode)
        self.gate = threading.Event()  # cleared: Web API calls wait (bounded) until it is set again
        self.gate.set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-slack", daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "T1/1234/secretpart") -> str:
        return f"{self.base}/hooks/commands/{name}"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def forget(self) -> None:
        """Drop the calls seen so far (the app's start-up ``auth.test``), so a test counts only its own."""
        with self._changed:
            self._calls.clear()

    def wait_for(self, method: str, count: int = 1, timeout_s: float = 20.0) -> list[Call]:
        """The first ``count`` calls of ``method``, waiting up to ``timeout_s`` for them."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(found := [c for c in self._calls if c.method == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {len(found)} of {count} calls after {timeout_s}s; "
                                         f"seen: {[c.method for c in self._calls]}")
                self._changed.wait(left)
            return found[:count]

    def record(self, call: Call) -> dict[str, Any]:
        reply = self._reply(call)
        with self._changed:
            self._calls.append(dataclasses.replace(call, reply=reply))
            self._changed.notify_all()
        return reply

    def _reply(self, call: Call) -> dict[str, Any]:
        self.gate.wait(30.0)
        if call.method in self.errors:
            return {"ok": False, "error": self.errors[call.method]}
        ts = f"1700000000.{next(self._ts):06d}"
        if call.method == "auth.test":  # a token from an OAuth install names its workspace (see oauth.v2.access)
            token = (call.authorization or "").removeprefix("Bearer ")
            team = token.removeprefix(OAUTH_TOKEN_PREFIX) if token.startswith(OAUTH_TOKEN_PREFIX) else "T1"
            return {"ok": True, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": team, "team": "Test"}
        if call.method == "oauth.v2.access":  # the code of an install names the workspace: "code-T2"
            team = str(call.body.get("code", "")).removeprefix("code-")
            return {"ok": True, "app_id": "A0APP", "authed_user": {"id": "U0INSTALLER"}, "token_type": "bot",
                    "scope": "app_mentions:read,chat:write,im:history,commands",
                    "access_token": f"{OAUTH_TOKEN_PREFIX}{team}", "bot_user_id": BOT_USER_ID,
                    "team": {"id": team, "name": f"Team {team}"}, "enterprise": None, "is_enterprise_install": False}
        if call.method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if call.method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "not_allowed"}
        if call.method == "chat.update":
            return {"ok": True, "channel": call.body.get("channel"), "ts": call.body.get("ts")}
        return {"ok": True, "channel": call.body.get("channel"), "ts": ts}


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw))
            api = self.path.startswith("/api/")
            method = self.path.removeprefix("/api/").split("?")[0] if api else "response_url"
            reply = fake.record(Call(method, self.path, body, self.headers.get("Authorization")))
            failed = method == "response_url" and "response_url" in fake.errors  # e.g. an expired URL: HTTP 404
            data = (json.dumps(reply) if method != "response_url" else fake.errors.get(method, "ok")).encode()
            self.send_response(404 if failed else 200)
            self.send_header("Content-Type", "application/json" if method != "response_url" else "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler
