"""Replies shared by the renderer tests."""

from handlers.reply import Actions, Button, Chart, Context, Divider, Field, Fields, Reply, Section, Table


def every_block_reply() -> Reply:
    """One of each block kind, in a fixed order."""
    return Reply(
        title="First reply time",
        blocks=[
            Section("Support EMEA, last 7 days."),
            Context("Source: 1,204 tickets"),
            Fields((Field("Median", "42 min"), Field("Target", "60 min"))),
            Table(("Agent", "Tickets"), (("alice", "12"),), title="By agent"),
            Chart("Trend", b"\x89PNG", "Falling from 55 to 42 minutes"),
            Divider(),
            Actions((Button("Share in channel", "kpi.share", "w1", style="primary"), Button("Previous window", "kpi.prev", "w0"))),
        ],
    )
