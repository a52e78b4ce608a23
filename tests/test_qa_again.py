"""A second QA review of the same ticket and agent: refused with what is there already, saved with --again,
or with the confirmation the form asks for (Slack modal, Teams card, console); two at once save one."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import func, select

from coaching.models import QaReview
from kpi.definitions import METRIC_NAMES
from store.database import Database
from store.org_file import apply_org, parse_org
from tests.slack_env import running_slack
from tests.teams_env import start_env
from tests.test_coaching_forms import submit
from tests.test_coaching_privacy import org_text
from tests.test_qa import T0, ask, click, setup


def reviews(db: Database) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(QaReview)) or 0)


def test_a_second_review_of_a_ticket_is_refused_until_asked_for_again(db: Database) -> None:
    setup(db)
    first = ask(db, "bob", "/qa @alice T-5 accuracy=2 tone=4 policy=pass")
    assert first["ok"]
    # The same ticket however it is written, by the same or another reviewer.
    for handle, text in (("bob", "/qa @alice T-5 accuracy=1 tone=2 policy=fail"), ("root", "/qa @alice t-5 accuracy=1 tone=2 policy=fail -- second look")):
        again = ask(db, handle, text, T0 + timedelta(hours=1))
        assert again["code"] == "invalid", (handle, again)
        when = "2026-12-01 11:00" if handle == "bob" else "2026-12-01 10:00"  # in the caller's zone: bob's team's, the org's
        assert f"Alice Smith's T-5 has a review already: review 1 by Bob Jones, {when}, 95.8% passed." in again["error"]
        assert "--again" in again["error"]
    assert reviews(db) == 1
    saved = ask(db, "root", "/qa @alice T-5 accuracy=1 tone=2 policy=fail --again -- second look", T0 + timedelta(hours=1))
    assert saved["ok"] and saved["data"]["review"]["id"] == 2
    assert "T-5 now has 2 reviews for Alice Smith, and each counts in the QA figures" in saved["reply"].blocks[0].text
    assert saved["data"]["review"]["scores"]["policy"] == 0 and reviews(db) == 2
    # Another agent's review of the same ticket, or another ticket: no question asked.
    assert ask(db, "root", "/qa @carol T-5 accuracy=2 tone=4 policy=pass")["ok"]
    assert ask(db, "bob", "/qa @alice T-6 accuracy=2 tone=4 policy=pass")["ok"]
    # --again belongs to a review.
    assert ask(db, "bob", "/qa show 1 --again")["code"] == "usage"


def test_two_reviews_of_one_ticket_at_once_save_one(db: Database) -> None:
    setup(db)
    answers: list[dict] = []  # type: ignore[type-arg]
    start = threading.Barrier(6)

    def review(handle: str) -> None:
        start.wait()
        answers.append(ask(db, handle, "/qa @alice T-9 accuracy=2 tone=4 policy=pass"))

    threads = [threading.Thread(target=review, args=(h,)) for h in ("bob", "root") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reviews(db) == 1
    assert sorted(a["code"] or "ok" for a in answers if a["code"] != "busy") == ["invalid"] * (len([a for a in answers if a["code"] != "busy"]) - 1) + ["ok"]


def test_the_console_form_asks_to_confirm_a_second_review(db: Database) -> None:
    setup(db)
    assert ask(db, "bob", "/qa @alice T-77 accuracy=2 tone=4 policy=pass")["ok"]
    form = ask(db, "bob", "/qa @alice T-77")["reply"].form
    assert form is not None and form.fields[0].name == "again" and "review 1 by Bob Jones" in form.fields[0].label
    values = {"again": "", "accuracy": "1", "accuracy_comment": "", "tone": "3", "tone_comment": "", "policy": "pass", "policy_comment": "", "comment": ""}
    refused = click(db, "bob", "qa.review_form", json.dumps({"context": form.context, "values": values}))
    assert refused["data"]["field_errors"] == {"again": "Type again to save a second review of this ticket, or cancel."} and reviews(db) == 1
    saved = click(db, "bob", "qa.review_form", json.dumps({"context": form.context, "values": {**values, "again": "Again"}}))
    assert saved["ok"] and reviews(db) == 2
    # With --again the form does not ask twice.
    asked = ask(db, "bob", "/qa @alice T-77 --again")["reply"].form
    assert asked is not None and "again" not in [f.name for f in asked.fields]
    assert click(db, "bob", "qa.review_form", json.dumps({"context": asked.context, "values": {k: v for k, v in values.items() if k != "again"}}))["ok"]
    assert reviews(db) == 3


async def test_slack_modal_confirms_a_second_review_and_catches_one_saved_meanwhile(db: Database) -> None:
    async with running_slack(db) as env:
        setup(db)
        assert ask(db, "bob", "/qa @alice T-321 accuracy=2 tone=4 policy=pass")["ok"]
        await env.command("/qa", "@alice T-321", user="U0123ABCE")
        view = (await env.wait_for("views.open"))[0].args["view"]
        blocks = [b for b in view["blocks"] if b["type"] == "input"]
        assert blocks[0]["block_id"] == "again" and "has a review already" in blocks[0]["label"]["text"]
        values = {"again": "", "accuracy": "1", "accuracy_comment": "", "tone": "3", "tone_comment": "", "policy": "pass", "policy_comment": "", "comment": "ok"}
        status, text = await submit(env, view, values)
        assert status == 200 and "again" in json.loads(text)["errors"] and reviews(db) == 1
        status, text = await submit(env, view, {**values, "again": "again"})
        assert status == 200 and text == "" and reviews(db) == 2

        # Opened before any review of T-400, saved by someone else meanwhile: the modal says so, under the comment.
        await env.command("/qa", "@alice T-400", user="U0123ABCE", n=2)
        view = (await env.wait_for("views.open", 2))[1].args["view"]
        assert "again" not in [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
        assert ask(db, "root", "/qa @alice T-400 accuracy=2 tone=5 policy=pass")["ok"]
        values = {k: v for k, v in values.items() if k != "again"}
        status, text = await submit(env, view, values)
        errors = json.loads(text)["errors"]
        assert list(errors) == ["comment"] and "Reviewed meanwhile: review 3 by Riley Admin" in errors["comment"] and len(errors["comment"]) <= 150
        status, text = await submit(env, view, {**values, "comment": "--again mine stands"})
        assert status == 200 and text == "" and reviews(db) == 4
        with db.sessions() as s:
            assert s.get(QaReview, 4).comments == {"": "mine stands"}  # type: ignore[union-attr]


async def test_teams_card_confirms_a_second_review(db: Database) -> None:
    env, runners = await start_env(db)
    try:
        text = org_text().replace("    role: lead\n    slack_id: U0123ABCE\n", "    role: lead\n    slack_id: U0123ABCE\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n")
        text = text.replace("    slack_id: U0DANA\n    teams_id: dddddddd-0000-4000-8000-00000000000d\n", "    slack_id: U0DANA\n")
        with db.sessions() as s, s.begin():
            apply_org(s, parse_org(text, METRIC_NAMES))
        assert ask(db, "bob", "/qa @alice T-77 accuracy=2 tone=4")["ok"]
        await env.post(env.activity("csbot whoami", who="dana", where="personal"))
        before = len(env.connector.messages())
        await env.post(env.activity("qa @alice T-77", who="dana", where="personal"))
        card = next(m.body["attachments"][0]["content"] for m in env.connector.messages()[before:] if m.body.get("attachments"))
        inputs = [e for e in card["body"] if e["type"] == "Input.Text"]
        assert inputs[0]["id"] == "again" and inputs[0]["isRequired"] and "has a review already" in inputs[0]["label"]
        answer = {**card["actions"][0]["data"], "again": "no", "accuracy": "1", "accuracy_comment": "", "tone": "3", "tone_comment": "", "comment": ""}
        await env.post(env.activity(None, who="dana", where="personal", value=answer))
        assert reviews(db) == 1 and "Type again" in env.card_texts(env.connector.messages()[-1])
        await env.post(env.activity(None, who="dana", where="personal", value={**answer, "again": "again"}))
        assert reviews(db) == 2
    finally:
        for r in runners:
            await r.cleanup()
