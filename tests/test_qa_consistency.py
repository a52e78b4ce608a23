"""`/qa calibration report`: reviewer agreement (Krippendorff's alpha) from revealed calibrations, each reviewer's
deviation from the consensus, and their review scores beside their team's, through the router; and who may see it."""

from __future__ import annotations

from datetime import timedelta

import krippendorff
import numpy as np
import pytest

from store.database import Database
from tests import test_coaching_privacy as matrix
from tests.test_qa import T0, ask, setup

LATER = T0 + timedelta(minutes=5)


def calibrate(db: Database, by: str, ticket: str, scores: dict[str, str]) -> int:
    """A calibration of `ticket` that every reviewer scores, so it is revealed."""
    started = ask(db, by, f"/qa calibrate {ticket} " + " ".join(f"@{h}" for h in scores))
    assert started["ok"], started["error"]
    number = started["data"]["calibration"]["id"]
    for handle, given in scores.items():
        assert ask(db, handle, f"/qa calibration {number} {given}")["ok"], handle
    return number


def package(coders: list[list[float | None]], level: str) -> float:
    data = np.array([[np.nan if v is None else v for v in row] for row in coders], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def test_agreement_and_deviation_on_a_hand_made_calibration(db: Database) -> None:
    setup(db)
    calibrate(db, "bob", "T-100", {"bob": "accuracy=2 tone=5 policy=pass", "dana": "accuracy=1 tone=3 policy=fail", "root": "accuracy=0 tone=na policy=pass"})
    calibrate(db, "bob", "T-101", {"bob": "accuracy=2 tone=4 policy=pass", "dana": "accuracy=2 tone=4 policy=pass"})
    blind = ask(db, "bob", "/qa calibrate T-102 @bob @dana")["data"]["calibration"]["id"]
    ask(db, "bob", f"/qa calibration {blind} accuracy=0 tone=1 policy=fail")  # not revealed: not in the report
    out = ask(db, "root", "/qa calibration report", LATER)
    assert out["ok"], out["error"]
    report = out["data"]["report"]
    assert report["calibrations"] == 2 and report["team"] is None and report["window"]["start"].startswith("2026-09-02")
    alphas = {c["key"]: c for c in report["agreement"]["categories"]}
    assert {k: c["level"] for k, c in alphas.items()} == {"accuracy": "ordinal", "tone": "ordinal", "policy": "nominal"}
    # Coders bob, dana, root by units T-100, T-101 (root's na and absence are missing), checked against the package.
    assert alphas["accuracy"]["alpha"] == pytest.approx(package([[2, 2], [1, 2], [0, None]], "ordinal"))
    assert alphas["tone"]["alpha"] == pytest.approx(package([[5, 4], [3, 4], [None, None]], "ordinal"))
    assert alphas["policy"]["alpha"] == pytest.approx(package([[1, 1], [0, 1], [1, None]], "nominal"))
    assert (alphas["accuracy"]["units"], alphas["accuracy"]["values"]) == (2, 5)
    # The whole score: bob 100%, dana 2/6, root 0 (critical accuracy failed); then 5.75/6 each.
    assert report["agreement"]["overall"]["alpha"] == pytest.approx(package([[1.0, 5.75 / 6], [2 / 6, 5.75 / 6], [0.0, None]], "ordinal"))
    # From each item's median, as a share of the scale: bob +1/2 (accuracy) +1/4 (tone) over 6 items; dana -1/4 (tone) -1 (policy)
    # over 6; root -1/2 (accuracy) over 2 (tone na).
    deviation = {d["reviewer"]: (d["mean"], d["mean_absolute"], d["n"]) for d in report["deviation"]}
    assert deviation == {"bob": (pytest.approx(1 / 8), pytest.approx(1 / 8), 6), "dana": (pytest.approx(-5 / 24), pytest.approx(5 / 24), 6), "root": (-0.25, 0.25, 2)}
    assert [d["reviewer"] for d in report["deviation"]] == ["root", "dana", "bob"]  # largest distance first
    text = str(out["reply"].blocks)
    assert "+12.5%" in text and "-20.8%" in text

    # A lead sees their team's reviewers only; the agreement is still over every score in those calibrations.
    mine = ask(db, "bob", "/qa calibration report", LATER)["data"]["report"]
    assert mine["team"] == "support-emea" and mine["calibrations"] == 2 and [d["reviewer"] for d in mine["deviation"]] == ["bob"]
    assert mine["agreement"] == report["agreement"]
    # The window: revealed more than 7 days ago, nothing.
    old = ask(db, "root", "/qa calibration report 7d", T0 + timedelta(days=10))["data"]["report"]
    assert old["calibrations"] == 0 and old["deviation"] == [] and old["agreement"]["overall"]["alpha"] is None


def test_undefined_agreement_says_why(db: Database) -> None:
    setup(db)
    calibrate(db, "bob", "T-1", {"bob": "accuracy=2 tone=4 policy=pass", "dana": "accuracy=2 tone=na policy=pass"})
    report = ask(db, "root", "/qa calibration report 30d", LATER)["data"]["report"]
    alphas = {c["key"]: c for c in report["agreement"]["categories"]}
    assert alphas["accuracy"]["alpha"] is None and "same" in alphas["accuracy"]["reason"]  # no variation
    assert alphas["tone"]["alpha"] is None and "fewer than two" in alphas["tone"]["reason"]  # one score: nothing to compare


def test_a_harsh_reviewer_shows_against_the_team(db: Database) -> None:
    setup(db)
    for text, who in (("T-1 accuracy=2 tone=4 policy=pass", "bob"), ("T-2 accuracy=0 tone=4 policy=pass", "bob"), ("T-3 accuracy=2 tone=5 policy=pass", "root"),
                      ("T-4 accuracy=na tone=na policy=na", "root")):  # fmt: skip
        assert ask(db, who, f"/qa @alice {text}")["ok"]
    assert ask(db, "dana", "/qa @carol T-5 accuracy=2 tone=5 policy=pass")["ok"]
    report = ask(db, "root", "/qa calibration report", LATER)["data"]["report"]
    rows = {(r["team"], r["reviewer"]): r for r in report["reviewers"]}
    assert set(rows) == {("support-emea", "bob"), ("support-emea", "root"), ("support-amer", "dana")}
    bob, root = rows[("support-emea", "bob")], rows[("support-emea", "root")]
    assert (bob["reviews"], bob["mean"], bob["fail_share"]) == (2, pytest.approx(5.75 / 6 / 2), 0.5)
    assert (root["reviews"], root["mean"], root["fail_share"]) == (1, 1.0, 0.0)  # T-4 has no score: counts nowhere
    assert (bob["team_reviews"], bob["team_mean"], bob["team_fail_share"]) == (3, pytest.approx((5.75 / 6 + 1) / 3), pytest.approx(1 / 3))
    assert report["calibrations"] == 0 and "No calibration was revealed" in str(ask(db, "root", "/qa calibration report", LATER)["reply"].blocks)
    # bob's team only: not dana's reviews of support-amer.
    assert {r["team"] for r in ask(db, "bob", "/qa calibration report", LATER)["data"]["report"]["reviewers"]} == {"support-emea"}


def test_bad_input(db: Database) -> None:
    setup(db)
    for text, fragment in {"/qa calibration report 7d 30d": "two windows", "/qa calibration report --by 2026-12-09": "--by", "/qa calibration report 40x": ""}.items():
        out = ask(db, "bob", text, LATER)
        assert not out["ok"] and fragment in (out["error"] or ""), (text, out)
    assert ask(db, "bob", "/qa calibration report nowhere", LATER)["code"] == "not_found"
    assert ask(db, "bob", "/qa calibration 1", LATER)["code"] == "not_found"  # a number still means a calibration
    assert "/qa calibration report" in str(ask(db, "bob", "/qa help", LATER)["reply"].blocks)


def test_who_sees_the_report(db: Database) -> None:
    """The privacy matrix's people: agents and peers refused; a lead or manager their team; managers without one and admins all."""
    matrix.seed(db)
    calibrate_as = matrix.ask
    for ticket, scores in (("T-61", {"bob": "accuracy=2 tone=4", "meg": "accuracy=1 tone=3", "lou": "accuracy=2 tone=2"}), ("T-62", {"lou": "accuracy=0 tone=1", "dana": "accuracy=1 tone=2"})):
        number = calibrate_as(db, "root", f"/qa calibrate {ticket} " + " ".join(f"@{h}" for h in scores))["data"]["calibration"]["id"]
        for handle, given in scores.items():
            assert calibrate_as(db, handle, f"/qa calibration {number} {given}")["ok"]
    assert calibrate_as(db, "lou", "/qa @carol T-63 accuracy=1 tone=3")["ok"]
    sees = {"bob": ("support-emea", 1, {"bob", "meg"}), "meg": ("support-emea", 1, {"bob", "meg"}), "lou": ("support-amer", 2, {"lou", "dana"}),
            "dana": ("support-amer", 2, {"lou", "dana"}), "mia": (None, 2, {"bob", "meg", "lou", "dana"}), "root": (None, 2, {"bob", "meg", "lou", "dana"})}  # fmt: skip
    for viewer in matrix.VIEWERS:
        out = calibrate_as(db, viewer, "/qa calibration report", LATER)
        if viewer not in sees:
            assert out["code"] == "forbidden", (viewer, out)
            assert "bob" not in str(out["data"] or "") and "T-61" not in out["body"], viewer
            continue
        assert out["ok"] and out["visibility"] == "ephemeral", (viewer, out)
        team, calibrations, reviewers = sees[viewer]
        report = out["data"]["report"]
        assert (report["team"], report["calibrations"], {d["reviewer"] for d in report["deviation"]}) == (team, calibrations, reviewers), viewer
        shown_teams = {r["team"] for r in report["reviewers"]}
        assert shown_teams == ({team} if team else {"support-emea", "support-amer"}), viewer
    # Another team by name: refused for a lead of another team, allowed for a manager without one.
    assert calibrate_as(db, "bob", "/qa calibration report support-amer", LATER)["code"] == "forbidden"
    assert calibrate_as(db, "lou", "/qa calibration report support-emea 30d", LATER)["code"] == "forbidden"
    named = calibrate_as(db, "mia", "/qa calibration report support-amer 30d", LATER)["data"]["report"]
    assert named["team"] == "support-amer" and {d["reviewer"] for d in named["deviation"]} == {"lou", "dana"}
    assert calibrate_as(db, "bob", "/qa calibration report --share", LATER)["code"] == "usage"
