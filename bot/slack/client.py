"""The Slack Web API client csbot uses for every outgoing call."""

from __future__ import annotations

import logging

from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler, AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackSettings


def quiet_logger(name: str, level: int = logging.INFO) -> logging.Logger:
    """A logger for a Slack library that never goes below `level`, whatever CSBOT_LOG_LEVEL says.

    slack_sdk and Bolt log whole payloads at DEBUG (what people typed, what
    csbot answered: KPIs, coaching notes); csbot logs its own one-line
    summaries instead.
    """
    logger = logging.getLogger(name)
    logger.setLevel(level)
    return logger


def make_client(settings: SlackSettings) -> AsyncWebClient:
    """An AsyncWebClient that waits out 429 Retry-After and retries dropped connections."""
    return AsyncWebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=10,
        logger=quiet_logger("csbot.slack.api"),
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
