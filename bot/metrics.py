"""What csbot measures about itself, served at GET /metrics in Prometheus' text format.

One registry for the process (not prometheus-client's global one, so only
csbot's own series are served). Labels are small, fixed sets: message
kinds, outcomes, surfaces and command names, never a team, a person or
anything a user typed.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "csbot_deliveries", "Scheduled messages handled, by kind and outcome (sent, retrying, failed, skipped)", ["kind", "outcome"], registry=REGISTRY
)
LATE_DELIVERIES = Counter("csbot_late_deliveries", "Scheduled messages sent more than 5 minutes after they were due", ["kind"], registry=REGISTRY)
SCHEDULER_LAG = Gauge("csbot_scheduler_lag_seconds", "How long after its due time the last scheduled message was sent", registry=REGISTRY)
SCHEDULER_LEADER = Gauge("csbot_scheduler_leader", "1 when this process runs the scheduled jobs (holds the scheduler lock), else 0", registry=REGISTRY)
JOB_SECONDS = Histogram(
    "csbot_job_seconds", "Duration of one pass of scheduled jobs", ["job"], registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
)
ESCALATIONS_OVERDUE = Gauge(
    "csbot_escalations_overdue", "Open escalations whose next step is late by more than two sweep intervals (the sweep is not running)", registry=REGISTRY
)
OUTBOX_HELD = Gauge("csbot_outbox_held", "Outbox rows claimed or being sent (held by a lease)", registry=REGISTRY)
OUTBOX_STALE = Gauge(
    "csbot_outbox_stale_leases",
    "Outbox rows held by a lease that looks abandoned: expired and not taken over, or claimed by a process on this host that is gone",
    registry=REGISTRY,
)
ANONYMOUS_REFUSED = Counter(
    "csbot_anonymous_refused", "Anonymous GETs answered 503 at once because too many were already waiting", ["route"], registry=REGISTRY
)
COMMANDS = Counter("csbot_commands", "Chat commands and button clicks handled, by surface, command and outcome", ["surface", "command", "outcome"], registry=REGISTRY)
COMMAND_SECONDS = Histogram(
    "csbot_command_seconds", "Time to answer a chat command or click, by surface", ["surface"], registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def exposition() -> tuple[bytes, str]:
    """The current values, and the content type to serve them with."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
