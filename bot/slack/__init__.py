"""Slack: a Bolt AsyncApp over HTTP (/slack/events) and Socket Mode, and a Slack notifier."""
