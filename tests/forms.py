"""A small command family with a form and a message shortcut, for testing the plumbing
that later families (escalations, coaching) build on."""

from __future__ import annotations

import json

from handlers.args import UsageError
from handlers.context import Context, FieldErrors
from handlers.reply import Form, FormField, Reply, Section
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


def _submit(ctx: Context, payload: dict) -> Reply:  # type: ignore[type-arg]
    values = payload["values"]
    if not values.get("topic", "").strip():
        raise FieldErrors({"topic": "Say what the feedback is about."})
    return Reply(title="Thanks", blocks=[Section(f"Got: {values['topic']} ({payload['context']})")])


def _quote(ctx: Context, payload: dict) -> Reply:  # type: ignore[type-arg]
    return Reply(blocks=[Section(f"Message from {payload['author']}: {payload['text']}")])


def feedback_router(router: Router) -> Router:
    router.register(FeedbackCommand())
    router.register_action(Action("feedback.submit", json.loads, lambda ctx, r: None, _submit))
    router.register_action(Action("quote_message", json.loads, lambda ctx, r: None, _quote))
    return router
