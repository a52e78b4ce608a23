"""What an @csbot mention in a channel asks, and which mentions csbot must not answer.

`@csbot kpi team` is the command `/kpi team`: the bot's own mention is
removed and the rest goes to the shared router as command text, exactly as
typed after a slash command (people's mentions stay `<@U…>`, which the
handlers resolve). A bare mention, or `help`, is the command list.

Only a person's new message is answered. Messages from bots (csbot's own
among them) and edits of a message (Slack sends the mention again, marked
`edited`) are not, so two bots can never answer each other in a loop and an
edited question is not answered twice.
"""

from __future__ import annotations

import re
from typing import Any

from bot.slack.delivery import id_of, slack_unescape
from handlers.router import HELP_WORDS

HELP_COMMAND = "/csbot help"
# Subtypes of a message a person wrote: a reply also sent to the channel, a file with a caption.
PERSON_SUBTYPES = frozenset({"thread_broadcast", "file_share"})
# A user mention without the bot's id known: only the one the message starts with is the bot's.
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>")


def not_for_csbot(event: dict[str, Any], bot_user_id: str | None) -> str | None:
    """Why csbot must not answer this app_mention event, or None when a person asked.

    The reason is a short phrase for a debug line, never the message text.
    """
    if event.get("bot_id") or event.get("bot_profile"):
        return "written by a bot"
    subtype = event.get("subtype")
    if subtype is not None and subtype not in PERSON_SUBTYPES:
        return f"a {subtype if isinstance(subtype, str) and subtype.isidentifier() else 'special'} message"
    if event.get("edited"):
        return "an edit of a message"
    user = id_of(event.get("user"))
    if not user:
        return "no author"
    if bot_user_id and user == bot_user_id:
        return "written by csbot"
    return None


def command_text(text: str, bot_user_id: str | None) -> str:
    """The router's command text for a mention's `text` (Slack's mrkdwn, as the event carries it)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = _LEADING_MENTION.sub(" ", text)
    words = slack_unescape(text).split()
    if not words or words[0].lstrip("/").lower() in HELP_WORDS:
        # `help kpi` is `/csbot help kpi`: how one command works.
        return " ".join([HELP_COMMAND, *words[1:]])
    # Anything else is routed as it is: a command, or what the router answers
    # for text that is not one (what went wrong, the command list, "did you mean").
    return " ".join(words)
