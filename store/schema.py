"""The complete schema: every domain's tables on one MetaData.

Migrations and schema checks need all tables at once; importing the domain
model modules here registers them on `Base.metadata`. Nothing else in `store`
imports the domains.
"""

from __future__ import annotations

from sqlalchemy import MetaData


def metadata() -> MetaData:
    import coaching.models  # noqa: F401
    import escalation.models  # noqa: F401
    import kpi.alerts  # noqa: F401
    import kpi.day_facts  # noqa: F401
    import kpi.field_times  # noqa: F401
    import kpi.sla_warnings  # noqa: F401
    import kpi.tickets  # noqa: F401  (registers the tickets table)
    import store.chart_images  # noqa: F401
    import store.conversations  # noqa: F401
    import store.email_links  # noqa: F401
    import store.org  # noqa: F401
    import store.outbox  # noqa: F401
    import store.processed  # noqa: F401
    import store.qa_rubrics  # noqa: F401
    import store.qa_sampling  # noqa: F401
    import store.sla_policies  # noqa: F401
    import store.queues  # noqa: F401
    import store.subscriptions  # noqa: F401
    import store.team_renames  # noqa: F401
    from store.base import Base

    return Base.metadata
