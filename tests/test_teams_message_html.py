"""A Teams message body (HTML) as the text its reader sees: any script, emoji kept, and linear on any markup."""

from __future__ import annotations

import time

import pytest

from bot.teams.activity import MAX_MESSAGE_CONTENT
from bot.teams.message_html import plain_text


def test_text_entities_line_breaks_and_emoji_in_both_of_teams_forms() -> None:
    body = (
        '<p>T-88 refund &amp; <emoji id="angry" alt="😡" title="Angry"></emoji> still&nbsp;missing<br/>second line</p>'
        '<div>顧客は怒っています <img itemscope="" itemtype="http://schema.skype.com/Emoji" itemid="fire" alt="🔥" src="https://x/fire.png"></div>'
        '<p>הלקוח <b>חויב</b> פעמיים</p><img src="https://x/photo.png" alt="a photo">'
    )
    assert plain_text(body) == "T-88 refund & 😡 still missing\nsecond line\n顧客は怒っています 🔥\nהלקוח חויב פעמיים"


def test_markup_meant_as_text_stays_text() -> None:
    assert plain_text("<p>if a &lt; b then &lt;script&gt;</p>") == "if a < b then <script>"
    assert plain_text("a < b and c > d") == "a < b and c > d"


@pytest.mark.parametrize("unit", ["<a ", "<![", "<!--", "</", "<", "<img alt='", '<emoji alt="', "&#", "<p>x</p>"])
def test_any_markup_of_the_largest_accepted_size_is_read_quickly(unit: str) -> None:
    started = time.monotonic()
    plain_text(unit * (MAX_MESSAGE_CONTENT // len(unit)))
    assert time.monotonic() - started < 2.0  # html.parser took minutes on `<a <a …`
