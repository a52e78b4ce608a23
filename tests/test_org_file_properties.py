"""Property-based tests (Hypothesis) for the org file: whatever text `csbot org apply` is given, the
result is a clear refusal (OrgFileError, one line per problem, by line) or a correct OrgSpec that applies
to a real database; never any other exception."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kpi.definitions import BY_NAME, METRIC_NAMES
from store.database import Database, open_database
from store.org import ROLES, Member, Team
from store.org_file import EMAIL, HHMM, MAX_TARGET, SLUG, OrgFileError, OrgSpec, apply_org, parse_org, weekdays
from tests.helpers import FIXTURES, apply_fixture_org
from tests.yaml_strategies import any_scalar, assert_clear_problems, mutated, random_text

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIXTURE = (FIXTURES / "org.yaml").read_text()
SOURCE = "p.yaml"

# ---------------------------------------------------------------- strategies

slug = st.sampled_from(["support", "sales", "ops", "night-shift", "a", "x1"]) | st.from_regex(
    r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True
)
team_key = st.sampled_from(["support", "sales", "ops"])
name = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    st.sampled_from(["Alice Smith", "Ünïcødé", "Support EMEA", "  "]),
    st.integers(195, 205).map(lambda n: "x" * n),
)
zone = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Europe/Berlin", "Nowhere/City", "", "utc"])


def org_documents(junk: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Org documents of plausible values; with `junk`, any field may instead hold any scalar (a number, a date, a trap)."""

    def v(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(*[strategy] * 8, any_scalar) if junk else strategy

    team = st.fixed_dictionaries(
        {"key": v(team_key), "name": v(name), "timezone": v(zone)},
        optional={
            "channels": st.fixed_dictionaries({}, optional={"slack": v(st.from_regex(r"C[0-9A-Z]{8}", fullmatch=True)), "teams": v(name)}),
            "digest": st.fixed_dictionaries(
                {"time": v(st.sampled_from(["09:00", "9:30", "23:59", "24:00", "noon"]))},
                optional={"days": v(st.sampled_from(["mon-fri", "daily", "weekdays", "fri-mon", "mon,wed", "mon," * 30]))},
            ),
            "targets": st.dictionaries(
                st.sampled_from([*sorted(METRIC_NAMES), *(["happiness"] if junk else [])]),
                v(st.floats(0, 1) | st.floats(0, 10_000) | st.integers(0, 10**13)),
                max_size=3,
            ),
            **({"extra": any_scalar} if junk else {}),
        },
    )
    member = st.fixed_dictionaries(
        {"handle": v(slug), "name": v(name)},
        optional={
            "email": v(st.emails() | st.just("not-an-email")),
            "team": v(team_key),
            "role": v(st.sampled_from([*ROLES, "boss"])),
            "slack_id": v(st.from_regex(r"U[0-9A-Z]{8}", fullmatch=True) | st.text("U0123456789", max_size=40)),
            "teams_id": v(st.uuids().map(str)),
            "timezone": v(zone),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "org": st.fixed_dictionaries({"name": v(name)}, optional={"timezone": v(zone)}),
            "teams": st.lists(team, max_size=3, unique_by=lambda t: str(t["key"])),
            "members": st.lists(member, max_size=5),
            **({"escalation": any_scalar} if junk else {}),
        },
    )


structured = st.tuples(org_documents(junk=False) | org_documents(junk=True), st.booleans()).map(
    lambda d: yaml.safe_dump(d[0], sort_keys=False, allow_unicode=True, default_flow_style=d[1])
)

# ---------------------------------------------------------------- the invariant


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One SQLite database holding the fixture org; every example applies inside a transaction that is rolled back."""
    db = open_database(f"sqlite:///{tmp_path_factory.mktemp('props') / 'csbot.db'}")
    apply_fixture_org(db)
    yield db
    db.dispose()


def check_spec(spec: OrgSpec) -> None:
    """What a correct result means: every value fits its column and means what the file said."""
    assert isinstance(spec.name, str) and 0 < len(spec.name) <= 200
    keys = [t.key for t in spec.teams]
    assert len(keys) == len(set(keys))
    for t in spec.teams:
        assert SLUG.match(t.key) and len(t.key) <= 64 and isinstance(t.name, str) and 0 < len(t.name) <= 200
        for text, limit in ((t.slack_channel, 64), (t.teams_channel, 256), (t.digest_days, 64)):
            assert text is None or (isinstance(text, str) and 0 < len(text) <= limit)
        assert t.digest_time is None or HHMM.match(t.digest_time)
        if t.digest_days is not None:
            weekdays(t.digest_days)
        for metric, value in t.targets.items():
            assert metric in METRIC_NAMES and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= MAX_TARGET
            unit = BY_NAME[metric].unit
            assert value <= 1 if unit == "rate" else value == int(value) if unit == "count" else True, (metric, value)
    handles = [m.handle for m in spec.members]
    assert len(handles) == len(set(handles))
    for attr in ("slack_id", "teams_id"):
        ids = [getattr(m, attr) for m in spec.members if getattr(m, attr)]
        assert len(ids) == len(set(ids)), attr
    for m in spec.members:
        assert SLUG.match(m.handle) and isinstance(m.name, str) and 0 < len(m.name) <= 200 and m.role in ROLES
        assert m.team is None or m.team in keys
        assert m.email is None or (EMAIL.match(m.email) and len(m.email) <= 320)
        for text, limit in ((m.slack_id, 32), (m.teams_id, 64), (m.timezone, 64)):
            assert text is None or (isinstance(text, str) and 0 < len(text) <= limit)


def parse_or_refuse(text: str, database: Database) -> OrgSpec | None:
    """The invariant: a clear refusal, or a correct spec that applies (and reads back) without an exception."""
    try:
        spec = parse_org(text, BY_NAME, source=SOURCE)
    except OrgFileError as exc:
        assert_clear_problems(exc.problems, SOURCE, text)
        return None
    check_spec(spec)
    with database.sessions() as session:
        transaction = session.begin()
        try:
            apply_org(session, spec)
            stored = {m.handle: m for m in session.scalars(select(Member).where(Member.active.is_(True)))}
            assert set(stored) == {m.handle for m in spec.members}
            for m in spec.members:
                row = stored[m.handle]
                assert (row.name, row.email, row.role, row.slack_id, row.teams_id, row.timezone) == (
                    m.name, m.email, m.role, m.slack_id, m.teams_id, m.timezone
                )
                assert (row.team.key if row.team else None) == m.team
            assert {t.key for t in session.scalars(select(Team).where(Team.active.is_(True)))} == {t.key for t in spec.teams}
        finally:
            transaction.rollback()
    return spec


@PROPERTY
@given(text=structured)
def test_any_org_document_is_applied_as_written_or_refused(database: Database, text: str) -> None:
    spec = parse_or_refuse(text, database)
    event("refused" if spec is None else "applied")
    if spec is not None:
        # Text fields hold exactly the text written (trimmed); nothing YAML typed slipped through as a str().
        doc = yaml.safe_load(text) or {}
        for m, written in zip(spec.members, doc.get("members") or [], strict=True):
            assert m.handle == written["handle"].strip() and m.name == written["name"].strip()
            if written.get("slack_id") is not None:
                assert m.slack_id == (written["slack_id"].strip() or None)  # an empty id is no id


@PROPERTY
@given(text=mutated([FIXTURE]))
def test_any_damaged_fixture_org_is_applied_or_refused(database: Database, text: str) -> None:
    event("refused" if parse_or_refuse(text, database) is None else "applied")


@settings(max_examples=300, deadline=None)
@given(text=random_text)
def test_any_text_at_all_is_refused_clearly_or_read(text: str) -> None:
    try:
        check_spec(parse_org(text, BY_NAME, source=SOURCE))
    except OrgFileError as exc:
        assert_clear_problems(exc.problems, SOURCE, text)


def test_the_fixture_itself_applies(database: Database) -> None:
    # The strategies start from this file; it must be a correct result, not a refusal.
    assert parse_or_refuse(FIXTURE, database) is not None
