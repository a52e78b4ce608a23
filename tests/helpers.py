"""Small helpers shared by tests (not fixtures: plain functions)."""

from __future__ import annotations

from pathlib import Path

from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org

FIXTURES = Path(__file__).parent / "fixtures"


def apply_fixture_org(db: Database, name: str = "org.yaml") -> None:
    spec = parse_org((FIXTURES / name).read_text(), METRIC_NAMES)
    with db.sessions() as s, s.begin():
        apply_org(s, spec)
