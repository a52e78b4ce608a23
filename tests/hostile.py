"""Hostile strings a user might type, shared by every test of text safety."""

from handlers.reply import Actions, Button, Chart, Context, Field, Fields, Reply, Section, Table

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<!subteam^S1|@team>",
    "&lt;",
    "&amp;",
    "<https://evil.example|click>",
    "[x](https://evil.example)",
    "<at>Dana</at>",
    "*bold*",
]


def hostile_everywhere(label_limit: int | None = None) -> Reply:
    """A reply with every hostile string in every kind of block."""
    text = " ".join(HOSTILE)
    return Reply(
        title=text,
        blocks=[
            Section(text),
            Context(text),
            Fields((Field(text, text),)),
            Table((text,), ((text,),), title=text),
            Chart(text, b"\x89PNG", text),
            Actions((Button(text[:label_limit] if label_limit else text, "a", text),)),
        ],
    )
