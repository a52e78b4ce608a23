"""The org file's judgement beyond syntax: targets checked against their metric's unit, and a
misspelt key reported once, with a suggestion, instead of through everything that depends on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi.definitions import BY_NAME, METRICS
from store.database import Database
from store.org_file import OrgFileError, OrgSpec, parse_org
from tests.helpers import FIXTURES, assert_no_traceback, in_clean_directory, table_counts

FIXTURE = (FIXTURES / "org.yaml").read_text()
RATES = sorted(m.name for m in METRICS if m.unit == "rate")
COUNTS = sorted(m.name for m in METRICS if m.unit == "count")
SECONDS = sorted(m.name for m in METRICS if m.unit == "seconds")
# The fixture's first team sets its targets on line 9.
TARGETS_LINE = 9


def problems_of(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as info:
        parse_org(text, BY_NAME, source="org.yaml")
    return info.value.problems


def with_target(metric: str, written: str) -> str:
    """The fixture with one target of its first team replaced by `metric: written`."""
    text = FIXTURE.replace(
        "targets: {first_reply_median_s: 3600, csat: 0.9, reopen_rate: 0.05}", f"targets: {{{metric}: {written}}}", 1
    )
    assert text != FIXTURE
    return text


def parsed_target(metric: str, written: str) -> float:
    spec: OrgSpec = parse_org(with_target(metric, written), BY_NAME)
    return spec.teams[0].targets[metric]


def test_the_units_checked_are_the_ones_the_kpis_define() -> None:
    # Seven rates, and every other metric a count or seconds: a new metric must land in one of them.
    assert RATES == ["csat", "one_touch_rate", "qa_coverage", "qa_pass_rate", "qa_score", "reopen_rate", "sla_attainment"]
    assert sorted(RATES + COUNTS + SECONDS) == sorted(BY_NAME)


# ---------------------------------------------------------------- hostile targets first


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ('"90%"', "got '90%': did you mean 0.9?"),
        ("90%", "got '90%': did you mean 0.9?"),
        ('"95.5 %"', "got '95.5 %': did you mean 0.955?"),
        ('"0.9"', "got '0.9' (text, not a number): write it without quotes"),
        ('"90"', "got '90' (text, not a number): did you mean 0.9?"),
        ("1e-1", "got '1e-1' (text, not a number): write it as 0.1"),  # YAML 1.1 reads 1e-1 as text
        ("1e2", "got '1e2' (text, not a number): did you mean 1?"),
        ("1e400", "got '1e400'"),
        ('"150%"', "got '150%'"),
        ("high", "got 'high'"),
        ("yes", "got 'yes'"),
        ("[0.9]", "got a list"),
        ("{a: 1}", "got a mapping"),
        ("~", "got '~'"),
    ],
)
def test_a_rate_written_as_anything_but_a_number_is_refused_at_its_line(written: str, fragment: str) -> None:
    problems = problems_of(with_target("csat", written))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"org.yaml:{TARGETS_LINE}: team 'support-emea': target csat must be a rate between 0 and 1"), problems
    assert fragment in problems[0], problems


@pytest.mark.parametrize("metric", RATES)
@pytest.mark.parametrize(
    ("written", "suggestion"),
    [("90", "0.9"), ("95.5", "0.955"), ("100", "1"), ("1.5", "0.015"), ("33.3", "0.333"), ("1.0e+2", "1"), ("57", "0.57")],
)
def test_a_rate_written_as_a_percentage_gets_did_you_mean(metric: str, written: str, suggestion: str) -> None:
    problems = problems_of(with_target(metric, written))
    assert problems == [
        f"org.yaml:{TARGETS_LINE}: team 'support-emea': target {metric} must be a rate between 0 and 1, "
        f"got {written}: did you mean {suggestion}?"
    ]


@pytest.mark.parametrize("metric", RATES)
@pytest.mark.parametrize("written", ["150", "100.5", "-0.1", "-90", "1000000"])
def test_other_out_of_range_rates_just_say_the_range(metric: str, written: str) -> None:
    problems = problems_of(with_target(metric, written))
    assert problems == [f"org.yaml:{TARGETS_LINE}: team 'support-emea': target {metric} must be a rate between 0 and 1, got {written}"]


@pytest.mark.parametrize("written", [".nan", ".inf", "-.inf", "1.0e+400"])
def test_a_rate_that_is_no_finite_number_is_refused(written: str) -> None:
    problems = problems_of(with_target("csat", written))
    assert len(problems) == 1 and "must be a finite number" in problems[0], problems


@pytest.mark.parametrize("metric", RATES)
@pytest.mark.parametrize(("written", "value"), [("0", 0), ("1", 1), ("0.955", 0.955), ("1.0", 1.0), ("0.05", 0.05)])
def test_rates_from_0_to_1_are_kept(metric: str, written: str, value: float) -> None:
    assert parsed_target(metric, written) == value


@pytest.mark.parametrize("metric", COUNTS)
def test_a_count_target_is_a_non_negative_whole_number(metric: str) -> None:
    for written in ("12.5", "-1", "0.5"):
        problems = problems_of(with_target(metric, written))
        assert problems == [
            f"org.yaml:{TARGETS_LINE}: team 'support-emea': target {metric} must be a non-negative whole number, got {written}"
        ]
    assert problems_of(with_target(metric, '"12"'))[0].endswith("got '12' (text, not a number): write it without quotes")
    assert parsed_target(metric, "0") == 0
    assert parsed_target(metric, "250") == 250
    assert parsed_target(metric, "250.0") == 250  # a whole number, however written


@pytest.mark.parametrize("metric", SECONDS)
def test_a_seconds_target_is_a_non_negative_number_and_a_duration_gets_its_seconds(metric: str) -> None:
    problems = problems_of(with_target(metric, "-1"))
    assert problems == [f"org.yaml:{TARGETS_LINE}: team 'support-emea': target {metric} must be a non-negative number of seconds, got -1"]
    for written, seconds in (("1h", "3600"), ('"30 min"', "1800"), ("1.5h", "5400"), ("90s", "90"), ("2d", "172800")):
        (problem,) = problems_of(with_target(metric, written))
        assert problem.endswith(f": did you mean {seconds}?"), problem
    assert parsed_target(metric, "0") == 0
    assert parsed_target(metric, "90.5") == 90.5


def test_every_bad_target_is_reported_each_at_its_own_line() -> None:
    text = FIXTURE.replace(
        "    targets: {first_reply_median_s: 3600, csat: 0.9, reopen_rate: 0.05}\n",
        "    targets:\n      first_reply_median_s: 1h\n      csat: 90\n      reopen_rate: 5%\n      backlog: 10.5\n      cast: 0.9\n",
    )
    problems = problems_of(text)
    assert [p.split(":")[1] for p in problems] == ["10", "11", "12", "13", "14"], problems
    assert problems[1].endswith("did you mean 0.9?") and problems[2].endswith("did you mean 0.05?")
    assert "unknown target 'cast': did you mean 'csat'?" in problems[4]


def test_org_apply_refuses_csat_90_by_line_and_changes_nothing(
    db: Database,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.cli import main

    in_clean_directory(tmp_path, monkeypatch, db_url)
    path = tmp_path / "org.yaml"
    path.write_text(with_target("csat", "90"))
    before = table_counts(db)
    assert main(["org", "apply", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"  {path}:{TARGETS_LINE}: team 'support-emea': target csat must be a rate between 0 and 1, got 90: did you mean 0.9?" in err
    assert "nothing was changed" in err and "Traceback" not in err
    assert_no_traceback(caplog.records)
    assert table_counts(db) == before
    path.write_text(with_target("csat", "0.9"))
    assert main(["org", "apply", str(path)]) == 0


# ---------------------------------------------------------------- misspelt keys


@pytest.mark.parametrize(
    ("written", "meant"),
    [("team", "teams"), ("Teams", "teams"), ("teems", "teams"), ("member", "members"), ("Members", "members"), ("memebrs", "members"), ("orgs", "org")],
)
def test_a_misspelt_top_level_key_is_one_problem_with_a_suggestion(written: str, meant: str) -> None:
    text = FIXTURE.replace(f"\n{meant}:", f"\n{written}:", 1)
    assert text != FIXTURE
    problems = problems_of(text)
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith(f"{written}:"))) + 1
    assert problems == [
        f"org.yaml:{line}: top level: unknown key {written!r}: did you mean {meant!r}? (expected one of: org, calendars, teams, members, escalation, qa, sla)"
    ]


def test_a_misspelt_teams_key_no_longer_makes_every_member_s_team_unknown() -> None:
    # Read literally, `team:` leaves the file without teams, and each of the four members naming one
    # would be "unknown team … (this file lists no teams)". Read as meant, those references are fine.
    problems = problems_of(FIXTURE.replace("\nteams:", "\nteam:", 1))
    assert len(problems) == 1 and "did you mean 'teams'?" in problems[0], problems
    assert not any("unknown team" in p for p in problems)


def test_a_misspelt_section_is_still_checked_for_its_own_problems() -> None:
    text = FIXTURE.replace("\nteams:", "\nteam:", 1).replace("timezone: America/New_York", "timezone: America/Nowhere")
    problems = problems_of(text)
    assert len(problems) == 2, problems
    assert "did you mean 'teams'?" in problems[0] and "unknown time zone 'America/Nowhere'" in problems[1]


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("  - key: support-amer\n", "  - kye: support-amer\n", "team 'support-amer': unknown key 'kye': did you mean 'key'?"),
        ("    name: Support Americas\n", "    nmae: Support Americas\n", "team 'support-amer': unknown key 'nmae': did you mean 'name'?"),
        ("    timezone: America/New_York\n", "    tiemzone: America/New_York\n", "team 'support-amer': unknown key 'tiemzone': did you mean 'timezone'?"),
        ("    channels: {slack: C0456EFGH}\n", "    channels: {slak: C0456EFGH}\n", "team 'support-amer': channels: unknown key 'slak': did you mean 'slack'?"),
        ('    digest: {time: "08:30", days: mon-fri}\n', '    digest: {tiem: "08:30", days: mon-fri}\n', "team 'support-amer': digest: unknown key 'tiem': did you mean 'time'?"),
        ("    targets: {first_reply_median_s: 1800", "    target: {first_reply_median_s: 1800", "team 'support-amer': unknown key 'target': did you mean 'targets'?"),
        ("  - handle: carol\n", "  - handel: carol\n", "member 'carol': unknown key 'handel': did you mean 'handle'?"),
        ("    name: Carol Diaz\n", "    nmae: Carol Diaz\n", "member 'carol': unknown key 'nmae': did you mean 'name'?"),
        ("    team: support-amer\n    role: agent\n", "    tema: support-amer\n    role: agent\n", "member 'carol': unknown key 'tema': did you mean 'team'?"),
        ("    email: carol@example.com\n", "    emial: carol@example.com\n", "member 'carol': unknown key 'emial': did you mean 'email'?"),
    ],
)
def test_a_misspelt_key_inside_a_team_or_member_is_one_problem(old: str, new: str, what: str) -> None:
    text = FIXTURE.replace(old, new, 1)
    assert text != FIXTURE
    problems = problems_of(text)
    assert len(problems) == 1, problems  # no "'name' is required", no "unknown team"
    assert what in problems[0], problems


def test_a_key_like_two_others_gets_both_suggestions_and_is_not_guessed() -> None:
    problems = problems_of("members:\n  - {handle: a, name: A, team_id: x}\n")
    assert problems == [
        "org.yaml:2: member 'a': unknown key 'team_id': did you mean 'teams_id' or 'team'? "
        "(expected one of: handle, name, email, team, role, slack_id, teams_id, timezone)"
    ]


def test_an_unknown_key_like_nothing_is_reported_as_before() -> None:
    assert problems_of("org: {name: A}\nwidgets: []\n") == [
        "org.yaml:2: top level: unknown key 'widgets' (expected one of: org, calendars, teams, members, escalation, qa, sla)"
    ]


def test_teams_that_cannot_be_read_do_not_make_every_member_s_team_unknown() -> None:
    members = FIXTURE[FIXTURE.index("members:") :]
    assert problems_of("teams: support-emea\n" + members) == ["org.yaml:1: teams must be a list"]
    problems = problems_of("teams:\n  - support-emea\n  - {key: support-amer, name: A, timezone: UTC}\n" + members)
    assert problems == ["org.yaml:2: teams[0] must be a mapping"]


def test_members_of_a_team_the_file_does_not_have_are_still_reported() -> None:
    # The suppression is for teams that could not be read, not for teams that are not there.
    problems = problems_of(FIXTURE.replace("team: support-amer", "team: support-apac"))
    assert len(problems) == 2 and all("unknown team 'support-apac' (teams in this file: support-amer, support-emea)" in p for p in problems)
