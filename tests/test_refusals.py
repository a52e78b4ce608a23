"""The refusal log: one line per refused request, bounded per route and window."""

from __future__ import annotations

import logging

import pytest

from bot.refusals import RefusalLog


def test_one_line_each_then_a_count_of_what_was_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    refusals = RefusalLog(logging.getLogger("test.refused"), per_window=3, window_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.refused"):
        for _ in range(10):
            refusals.refused("/webhooks/tickets", "bad signature", "203.0.113.9")
        refusals.refused("/slack/events", "stale timestamp", "203.0.113.9")
        assert len(caplog.records) == 4  # three for the webhook, one for Slack
        now[0] = 61.0
        refusals.refused("/webhooks/tickets", "bad signature", None)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "/webhooks/tickets refused from 203.0.113.9: bad signature"
    assert lines[4] == "/webhooks/tickets: 7 more refused requests not logged in the last 61 s"
    assert lines[5] == "/webhooks/tickets refused from unknown: bad signature"


def test_a_reason_is_one_short_line(caplog: pytest.LogCaptureFixture) -> None:
    refusals = RefusalLog(logging.getLogger("test.refused"))
    with caplog.at_level(logging.WARNING, logger="test.refused"):
        refusals.refused("/api/messages", "token\nrejected " + "x" * 500, "::1")
    (line,) = [r.getMessage() for r in caplog.records]
    assert "\n" not in line and len(line) < 200 and line.endswith("…")
