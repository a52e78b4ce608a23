"""KPIs: tickets, ingestion, metric definitions, queries, targets, scorecards."""
