"""Builds the router with every command family csbot ships."""

from __future__ import annotations

from handlers import coach, escalate, escalation, kpi, oncall, qa, scorecard
from handlers.csbot import CsbotCommand
from handlers.router import Router


def build_router() -> Router:
    router = Router()
    router.register(CsbotCommand(router))
    kpi.register(router)
    scorecard.register(router)
    escalate.register(router)
    escalation.register(router)
    oncall.register(router)
    coach.register(router)
    qa.register(router)
    return router
