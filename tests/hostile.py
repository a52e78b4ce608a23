"""Hostile strings a user might type, shared by every test of text safety."""

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
