"""A small local stand-in for Slack's Web API and response_url endpoints.

It records every call it receives, answers the way Slack documents, and can
be told to answer 429 with Retry-After, so tests see exactly what csbot sends.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Call:
    method: str  # e.g. "chat.postMessage", or "response_url" for a response_url post
    args: dict[str, Any]
    at: float
    path: str = ""


@dataclass
class FakeSlack:
    users: dict[str, str] = field(default_factory=dict)  # user id -> email, for users.info
    calls: list[Call] = field(default_factory=list)
    rate_limit: dict[str, int] = field(default_factory=dict)  # method -> how many 429s to answer first
    fail: dict[str, str] = field(default_factory=dict)  # method -> Slack error code to answer
    delay_s: dict[str, float] = field(default_factory=dict)  # method -> seconds to wait before answering
    base_url: str = ""
    # channel id -> the messages posted there, oldest first, as conversations.history returns them
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _ts: int = 1700000000

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)  # most methods POST; users.info is a GET
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        return app

    # Socket Mode: apps.connections.open hands out /socket; envelopes put on
    # `outbox` are sent to the connected client, and its acks are recorded.
    outbox: asyncio.Queue[dict[str, Any]] | None = None
    acks: list[dict[str, Any]] = field(default_factory=list)
    connected: asyncio.Event | None = None

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.outbox = self.outbox or asyncio.Queue()
        self.connected = self.connected or asyncio.Event()
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A123456"}})
        self.connected.set()

        async def forward() -> None:
            assert self.outbox is not None
            while True:
                await ws.send_json(await self.outbox.get())

        sender = asyncio.ensure_future(forward())
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
        finally:
            sender.cancel()
        return ws

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def texts(self) -> list[str]:
        """Every string csbot sent in any call, for text-safety checks."""
        out: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        for call in self.calls:
            walk(call.args)
        return out

    async def _args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        # slack_sdk sends some arguments in the query string, others in the body.
        args: dict[str, Any] = dict(request.query)
        if request.method != "GET":
            if request.content_type == "application/json":
                args |= json.loads(raw or b"{}")
            else:
                args |= dict(parse_qsl(raw.decode()))
        for key in ("blocks", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.calls.append(Call(method, args, time.monotonic(), request.path))
        if self.rate_limit.get(method, 0) > 0:
            self.rate_limit[method] -= 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        if method in self.fail:
            return web.json_response({"ok": False, "error": self.fail[method]})
        if self.delay_s.get(method):
            await asyncio.sleep(self.delay_s[method])
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "csbot", "team_id": "T0001", "user_id": "UBOT", "bot_id": "BBOT"}
        if method == "users.info":
            user = args.get("user", "")
            if user not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user, "profile": {"email": self.users[user]}}}
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {"type": "message", "ts": ts, "text": args.get("text"), "bot_id": "BBOT"}
            metadata = args.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if metadata:
                message["metadata"] = metadata
            self.history.setdefault(str(args.get("channel")), []).append(message)
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.getPermalink":
            channel, ts = str(args.get("channel")), str(args.get("message_ts"))
            return {"ok": True, "channel": channel, "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "chat.update":
            for message in self.history.get(str(args.get("channel")), []):
                if message["ts"] == args.get("ts"):
                    message["text"] = args.get("text")
                    return {"ok": True, "channel": args.get("channel"), "ts": message["ts"], "text": args.get("text")}
            return {"ok": False, "error": "message_not_found"}
        if method == "conversations.history":
            channel = str(args.get("channel"))
            if channel not in self.history:
                return {"ok": False, "error": "channel_not_found"}
            oldest = float(args.get("oldest") or 0)  # Slack's ts are seconds since the epoch
            with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
            found = [
                {k: v for k, v in m.items() if k != "metadata" or with_metadata}
                for m in reversed(self.history[channel])
                if float(m["ts"]) > oldest
            ]
            return {"ok": True, "messages": found, "has_more": False, "response_metadata": {"next_cursor": ""}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))[1:]}}
        if method in ("views.open", "views.publish", "views.update"):
            return {"ok": True, "view": {"id": "V0001", **(args.get("view") or {})}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.base_url.replace("http://", "ws://") + "/socket"}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.base_url}/upload/F0001", "file_id": "F0001"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": "F0001", "title": "chart"}]}
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        self.calls.append(Call("response_url", args, time.monotonic(), request.path))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append(Call("upload", {"bytes": len(body), "content": body}, time.monotonic(), request.path))
        return web.Response(text="OK - uploaded")
