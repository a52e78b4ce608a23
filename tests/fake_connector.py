"""A small local stand-in for the Bot Framework Connector (Teams' serviceUrl).

Records every reply, update and conversation creation, and answers roster
lookups from a list of known Teams users.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Sent:
    kind: str  # send | reply | update | create
    conversation_id: str
    body: dict[str, Any]
    at: float
    activity_id: str | None = None
    authorization: str | None = None  # the bearer token csbot sent (None with auth disabled)
    size: int = 0  # bytes of the request body as received: what Teams' message limit counts


@dataclass
class FakeConnector:
    # Teams user id ("29:…") -> {"aadObjectId", "email", "name"}
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    refuse_new_chats: bool = False  # answer conversation creation with 403, as a tenant policy would
    refuse_replies: bool = False  # answer messages with 403, as Teams does once the bot was removed
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities", self._send)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._reply)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        app.router.add_get("/v3/conversations/{cid}/members/{uid}", self._member)
        app.router.add_get("/v3/teams/{tid}/members/{uid}", self._member)
        return app

    def of(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]

    def messages(self) -> list[Sent]:
        return [s for s in self.sent if s.kind in ("send", "reply", "update")]

    def cards(self) -> list[dict[str, Any]]:
        return [
            a["content"]
            for s in self.messages()
            for a in s.body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    async def _record(self, kind: str, request: web.Request, activity_id: str | None = None) -> dict[str, Any]:
        raw = await request.read()
        body = json.loads(raw or b"{}")
        self.sent.append(
            Sent(kind, request.match_info.get("cid", ""), body, time.monotonic(), activity_id, request.headers.get("Authorization"), len(raw))
        )
        return body

    async def _send(self, request: web.Request) -> web.Response:
        if self.refuse_replies:
            return _not_in_roster()
        await self._record("send", request)
        return web.json_response({"id": f"m{next(self._ids)}"})

    async def _reply(self, request: web.Request) -> web.Response:
        if self.refuse_replies:
            return _not_in_roster()
        await self._record("reply", request, request.match_info["aid"])
        return web.json_response({"id": f"m{next(self._ids)}"})

    async def _update(self, request: web.Request) -> web.Response:
        await self._record("update", request, request.match_info["aid"])
        return web.json_response({"id": request.match_info["aid"]})

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._record("create", request)
        if self.refuse_new_chats:
            return web.json_response({"error": {"code": "Forbidden", "message": "Bot is not allowed"}}, status=403)
        member = (body.get("members") or [{}])[0].get("id", "x")
        return web.json_response({"id": f"a:1on1-{member}", "activityId": f"m{next(self._ids)}"})

    async def _member(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["uid"])
        if user is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation", "message": "not found"}}, status=404)
        return web.json_response(
            {
                "id": request.match_info["uid"],
                "name": user.get("name", ""),
                "aadObjectId": user.get("aadObjectId"),
                "email": user.get("email"),
                "userPrincipalName": user.get("email"),
            }
        )


def _not_in_roster() -> web.Response:
    return web.json_response(
        {"error": {"code": "BotNotInConversationRoster", "message": "The bot is not part of the conversation roster."}}, status=403
    )
