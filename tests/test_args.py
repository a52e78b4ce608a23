"""Splitting command text: quotes, typographic quotes, flags."""

from __future__ import annotations

import pytest

from handlers.args import MAX_COMMAND_CHARS, UsageError, parse_args, split_words


def test_plain_and_quoted_words() -> None:
    assert split_words('/kpi team "Support EMEA" 7d') == ["/kpi", "team", "Support EMEA", "7d"]
    assert split_words("/kpi team 'x'") == ["/kpi", "team", "'x'"]  # apostrophes are text
    assert split_words("/coach @dana don't stop") == ["/coach", "@dana", "don't", "stop"]


def test_typographic_quotes_and_odd_spaces() -> None:
    assert split_words("/kpi team \u201cSupport EMEA\u201d\u00a030d") == ["/kpi", "team", "Support EMEA", "30d"]


def test_unclosed_quote_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="quote is not closed"):
        split_words('/kpi team "Support')


def test_overlong_input_is_refused_politely() -> None:
    with pytest.raises(UsageError, match="limit"):
        split_words("x" * (MAX_COMMAND_CHARS + 1))


def test_flags() -> None:
    args = parse_args(["teams", "--sort", "csat", "--share", "30d"], switches=frozenset({"share"}), options=frozenset({"sort"}))
    assert args.words == ["teams", "30d"]
    assert args.flag("share") and args.option("sort") == "csat"
    assert parse_args(["--sort=csat"], options=frozenset({"sort"})).option("sort") == "csat"
    with pytest.raises(UsageError, match="Unknown option '--shar'"):
        parse_args(["--shar"], switches=frozenset({"share"}))
    with pytest.raises(UsageError, match="needs a value"):
        parse_args(["--sort"], options=frozenset({"sort"}))


@pytest.mark.parametrize("text", ["/kpi agent a\x00b", "/kpi agent \ud800", "/kpi \udfff", "\x00"])
def test_characters_no_database_or_renderer_can_take_are_refused(text: str) -> None:
    # NUL made PostgreSQL fail the member lookup; a lone surrogate (valid in a
    # JSON string from Slack or Teams) cannot be encoded as UTF-8 by any database,
    # renderer or log. The refusal must not echo them back either.
    with pytest.raises(UsageError, match="cannot be text") as refused:
        split_words(text)
    str(refused.value).encode("utf-8")


def test_other_control_and_bidi_characters_are_left_to_the_renderers() -> None:
    assert split_words("/kpi team \u202eevil\x1b") == ["/kpi", "team", "\u202eevil\x1b"]


def test_a_trailing_backslash_is_named_not_called_an_open_quote() -> None:
    with pytest.raises(UsageError, match=r"ends with a \\"):
        split_words("/kpi agent alice\\")
    assert split_words(r"/kpi team a\\b") == ["/kpi", "team", "a\\b"]
