"""Small test-only commands (a form, a chart, a page to acknowledge) and a message
shortcut, for testing the plumbing that later families (escalations, coaching) build on."""

from __future__ import annotations

import json

from handlers.args import UsageError
from handlers.context import Context, FieldErrors
from handlers.reply import Actions, Button, Chart, Form, FormField, Reply, Section
from handlers.router import Action, Router


class FeedbackCommand:
    name = "feedback"
    summary = "Send feedback through a form"
    usage = "/feedback — opens a form"
    examples = ("/feedback",)

    def parse(self, words: list[str]) -> None:
        if words:
            raise UsageError("/feedback takes no arguments.")

    def authorize(self, ctx: Context, request: None) -> None:
        return None

    def execute(self, ctx: Context, request: None) -> Reply:
        return Reply(
            form=Form(
                title="Feedback",
                submit_label="Send",
                action_id="feedback.submit",
                fields=(FormField("topic", "Topic"), FormField("details", "Details", multiline=True, optional=True)),
                context="from-command",
            )
        )


def _json_object(value: str, *keys: str) -> dict:  # type: ignore[type-arg]
    """An action's JSON value with `keys`, or UsageError: a click can carry any value."""
    try:
        payload = json.loads(value)
    except ValueError:
        raise UsageError("That is not something this action understands.") from None
    if not isinstance(payload, dict) or not all(k in payload for k in keys):
        raise UsageError("That is not something this action understands.")
    return payload


def _form_submission(value: str) -> dict:  # type: ignore[type-arg]
    payload = _json_object(value, "values", "context")
    if not isinstance(payload["values"], dict):
        raise UsageError("That is not something this action understands.")
    return payload


def _submit(ctx: Context, payload: dict) -> Reply:  # type: ignore[type-arg]
    values = payload["values"]
    if not values.get("topic", "").strip():
        raise FieldErrors({"topic": "Say what the feedback is about."})
    return Reply(title="Thanks", blocks=[Section(f"Got: {values['topic']} ({payload['context']})")])


def _quote(ctx: Context, payload: dict) -> Reply:  # type: ignore[type-arg]
    return Reply(blocks=[Section(f"Message from {payload['author']}: {payload['text']}")])


def tiny_png() -> bytes:
    """A valid 2x2 PNG, made here so the test needs no image library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class ChartCommand:
    name = "chart"
    summary = "A reply with a chart"
    usage = "/chart [--share]"
    examples = ("/chart --share",)

    def parse(self, words: list[str]) -> bool:
        return "--share" in words

    def authorize(self, ctx: Context, request: bool) -> None:
        return None

    def execute(self, ctx: Context, share: bool) -> Reply:
        chart = Chart("Backlog trend", tiny_png(), "Backlog fell from 120 to 99 over the week")
        return Reply(title="Trend", blocks=[chart], visibility="channel" if share else "ephemeral")


class PageCommand:
    """A page with an Acknowledge button whose answer replaces the page in place."""

    name = "page"
    summary = "A page to acknowledge"
    usage = "/page"
    examples = ("/page",)

    def parse(self, words: list[str]) -> None:
        return None

    def authorize(self, ctx: Context, request: None) -> None:
        return None

    def execute(self, ctx: Context, request: None) -> Reply:
        return Reply(title="Escalation T-1", blocks=[Section("Refund stuck"), Actions((Button("Acknowledge", "page.ack", "T-1"),))])


def _ack(ctx: Context, ticket: str) -> Reply:
    return Reply(title=f"{ticket} acknowledged by {ctx.member.name}", replace_original=True)


def feedback_router(router: Router) -> Router:
    router.register(FeedbackCommand())
    router.register(ChartCommand())
    router.register(PageCommand())
    router.register_action(Action("page.ack", str, lambda ctx, r: None, _ack))
    router.register_action(Action("feedback.submit", _form_submission, lambda ctx, r: None, _submit))
    router.register_action(Action("quote_message", lambda v: _json_object(v, "author", "text"), lambda ctx, r: None, _quote))
    return router
