"""The `csbot` command line.

Exit codes: 0 ok, 2 bad input or usage, 1 internal error. Configuration
errors print one line naming the variable, never a stack trace.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from bot.config import ConfigError, Settings, load_settings

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2
DEMO_TICKETS, DEMO_DAYS = 20_000, 90
# Beyond these a demo takes longer to seed than anyone waits for; ten years is history enough.
MAX_DEMO_TICKETS, MAX_DEMO_DAYS = 2_000_000, 3650

log = logging.getLogger("csbot")


class BadInput(Exception):
    """A command-line argument or file cannot be used; exit 2 with this message."""


def package_version() -> str:
    """csbot's version: the installed package's metadata, else the version in pyproject.toml beside the code."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("csbot")
    except PackageNotFoundError:
        pass
    import tomllib

    try:
        with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csbot", description="csbot: a chat bot for customer-service teams.")
    p.add_argument("--version", action="version", version=f"csbot {package_version()}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    # No abbreviated options where an option wipes or overrides: --res is not --reset, --f not --force.
    demo = sub.add_parser(
        "demo", help="seed a demo organisation (if the database is empty) and open the console", allow_abbrev=False
    )
    demo.add_argument("--tickets", type=int, help=f"tickets to generate when seeding (default {DEMO_TICKETS})")
    demo.add_argument("--days", type=int, help=f"days of history, ending now, when seeding (default {DEMO_DAYS})")
    demo.add_argument("--as", dest="handle", help="member to speak as (default: the first team's lead)")
    demo.add_argument("--seed-only", action="store_true", help="seed and exit without opening the console")
    demo.add_argument("--reset", action="store_true", help="wipe the demo database and seed fresh demo data ending now")
    demo.add_argument("--out", metavar="DIR", help="where the console writes charts as PNG files (default: a csbot-charts folder in the temp directory)")

    ask = sub.add_parser("ask", help='run one chat command, e.g. csbot ask "/kpi team" --as alice')
    ask.add_argument("text", help="the command text, e.g. '/kpi team support 7d'")
    ask.add_argument("--as", dest="handle", required=True, help="the member asking (handle)")
    ask.add_argument("--json", action="store_true", help="print the reply as JSON")
    ask.add_argument("--at", help="pretend it is this ISO 8601 time (default: now)")
    ask.add_argument("--out", metavar="DIR", help="write the reply's charts (PNG) and files (--csv) into DIR; without it a file is printed")

    org = sub.add_parser("org", help="apply or show the organisation file")
    org_sub = org.add_subparsers(dest="org_cmd", required=True, metavar="ACTION")
    apply_p = org_sub.add_parser("apply", help="apply an org YAML file (idempotent)", allow_abbrev=False)
    apply_p.add_argument("file", help="the org YAML file")
    apply_p.add_argument("--dry-run", action="store_true", help="validate and report changes without writing")
    apply_p.add_argument(
        "--force", action="store_true", help="apply even if it deactivates more than half of the members or every admin"
    )
    org_sub.add_parser("show", help="print the current org as YAML")

    oncall = sub.add_parser("oncall", help="on-call schedules: export them as iCalendar; a queue's Events API key")
    oncall_sub = oncall.add_subparsers(dest="oncall_cmd", required=True, metavar="ACTION")
    export = oncall_sub.add_parser("export", help="write a queue's on-call timeline, or a person's shifts (me --as HANDLE), as an iCalendar (.ics) file", allow_abbrev=False)
    export.add_argument("queue", metavar="QUEUE[/SCHEDULE]|me", help="the queue, and optionally one of its schedules (default: all); or me, with --as")
    export.add_argument("--as", dest="handle", help="with me: whose shifts, across every queue (covers included)")
    export.add_argument("--ics", required=True, metavar="FILE", help="the .ics file to write ('-' for standard output)")
    export.add_argument("--days", type=int, default=60, help="how many days from now (default 60, at most 366)")
    export.add_argument("--at", help="from this ISO 8601 time (default: now)")
    key = oncall_sub.add_parser("key", help="a queue's Events API routing key: show it, make a new one or revoke it", allow_abbrev=False)
    key.add_argument("queue", metavar="QUEUE", help="the escalation queue")
    key_action = key.add_mutually_exclusive_group()
    key_action.add_argument("--new", action="store_true", help="make a new key (printed once) and revoke the one in force")
    key_action.add_argument("--revoke", action="store_true", help="revoke the key in force")

    exp = sub.add_parser("export", help="export data for people to read in a spreadsheet")
    exp_sub = exp.add_subparsers(dest="export_cmd", required=True, metavar="KIND")
    coaching = exp_sub.add_parser("coaching", help="coaching notes and QA reviews, for performance reviews (managers and admins)", allow_abbrev=False)
    coaching.add_argument("--as", dest="handle", required=True, help="the manager or admin exporting (what they may see is exported)")
    coaching.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
    coaching.add_argument("--team", help="only this team's agents")
    coaching.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD, org time zone; default: 90 days ago)")
    coaching.add_argument("--to", dest="end", metavar="DATE", help="last day, included (default: today)")

    kpi = exp_sub.add_parser(
        "kpi", help="a team's or the organisation's KPI figures, a row per day or week or one for the range (the operator's: every figure)", allow_abbrev=False
    )
    whose = kpi.add_mutually_exclusive_group(required=True)
    whose.add_argument("--team", help="the team (key)")
    whose.add_argument("--org", action="store_true", help="the whole organisation")
    kpi.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write ('-' for standard output)")
    kpi.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD, the team's time zone; default: 90 days to --to)")
    kpi.add_argument("--to", dest="end", metavar="DATE", help="last day, included (default: today; a day still running is counted so far)")
    kpi.add_argument("--by", choices=("day", "week"), help="a row per day or per Monday-to-Sunday week (default: one row for the range)")
    kpi.add_argument("--at", help="as if it were this ISO 8601 time (default: now)")

    imp = sub.add_parser("import", help="import data from files")
    imp_sub = imp.add_subparsers(dest="import_cmd", required=True, metavar="KIND")
    tickets = imp_sub.add_parser("tickets", help="import a CSV export of tickets (upserted by source + id)")
    tickets.add_argument("file", help="the CSV file")
    tickets.add_argument("--mapping", help="a mapping YAML for a helpdesk's own export format (see examples/)")
    tickets.add_argument("--source", help="name of the system the file comes from (default: the mapping's, else 'csv')")
    tickets.add_argument("--timezone", help="time zone of times without an offset (default: the mapping's, else UTC)")
    tickets.add_argument("--strict", action="store_true", help="refuse the whole file if any row is bad")
    tickets.add_argument("--json", action="store_true", help="print the outcome as one JSON object")

    post = sub.add_parser("post", help="send an announcement to a team's channel or to a member (@handle)")
    post.add_argument("target", help="a team key, or @handle for a direct message")
    post.add_argument("text", help="the message (plain text; nobody is mentioned by it)")

    teams = sub.add_parser("teams", help="Microsoft Teams tools")
    teams_sub = teams.add_subparsers(dest="teams_cmd", required=True, metavar="ACTION")
    package = teams_sub.add_parser("package", help="write the Teams app package (zip) to sideload")
    package.add_argument("--out", default="csbot-teams.zip", help="the zip to write (default csbot-teams.zip)")
    package.add_argument("--version", default="1.0.0", help="the app version (bump it for each upload)")
    package.add_argument("--domain", action="append", default=[], help="a host name the app may open (repeatable)")
    package.add_argument("--app-id", help="the Azure Bot's Microsoft App ID (default: MicrosoftAppId); nothing else is needed")

    hol = sub.add_parser("holidays", help="calendars' days off")
    hol_sub = hol.add_subparsers(dest="holidays_cmd", required=True, metavar="ACTION")
    hol_import = hol_sub.add_parser(
        "import", help="read an iCalendar (.ics) file's days off and print them as a calendar's holidays: dates: for the org file", allow_abbrev=False
    )
    hol_import.add_argument("file", metavar="FILE.ics")
    hol_import.add_argument("--years", metavar="FIRST-LAST", help="the years to take (default: last year to three years ahead); recurring events are expanded over them")
    hol_import.add_argument("--json", action="store_true", help="print the days off as one JSON object")

    tick = sub.add_parser("tick", help="run every scheduled job that is due once (scorecards, KPI alerts), then exit; for cron", allow_abbrev=False)
    tick.add_argument("--at", help="as if it were this ISO 8601 time (default: now)")
    tick.add_argument("--only", metavar="JOB", help="run only this job (digests, alerts, escalations, oncall or coaching)")
    tick.add_argument("--json", action="store_true", help="print what was done as one JSON object")
    tick.add_argument("--verbose", action="store_true", help="one line per message handled (default: summed up by kind)")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_cmd", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="migrate the database to the newest schema")

    serve = sub.add_parser("serve", help="run the web app (health, Slack, Teams, webhooks)")
    serve.add_argument("--host", help="listen address (default CSBOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default CSBOT_PORT or 3000)")
    return p


def _parse_at(raw: str | None) -> datetime:
    if raw is None:
        return datetime.now(timezone.utc)
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--at: {raw!r} is not an ISO 8601 time, e.g. 2026-03-02T09:30:00+01:00") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _open(settings: Settings, *, upgrade: bool = True):  # type: ignore[no-untyped-def]
    from store.database import open_database

    return open_database(settings.database_url, timeout_s=settings.db_timeout_s, upgrade=upgrade)


def reply_json(reply: Any) -> dict[str, Any]:
    """The `--json` shape shared by every command (see DESIGN.md)."""
    from bot.render.text import render_text

    out: dict[str, Any] = {
        "ok": reply.ok,
        "visibility": reply.visibility,
        "text": render_text(reply),
        "blocks": reply.to_neutral(),
        "data": reply.data,
    }
    if reply.error is not None:
        out["error"] = {"code": reply.error.code, "message": reply.error.message}
    return out


def _exit_code(reply: Any) -> int:
    if reply.ok:
        return EXIT_OK
    return EXIT_INTERNAL if reply.error.code in ("internal", "busy") else EXIT_BAD_INPUT


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chart_files import write_charts
    from bot.console import shared_note
    from bot.dispatch import UnknownMember, run_command
    from bot.render.text import render_text
    from handlers.registry import build_router
    from handlers.reply import File

    now = _parse_at(args.at)
    db = _open(settings)
    try:
        reply = run_command(db, build_router(), args.handle, args.text, now=now, platform="console")
    except UnknownMember:
        raise BadInput(f"--as: no active member has the handle {args.handle!r} (csbot org show lists them)") from None
    finally:
        db.dispose()
    charts = write_charts(reply, Path(args.out)) if args.out else []
    if args.json:
        out = reply_json(reply)
        if args.out:
            out["chart_files"] = [str(p) for p in charts]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        saved = "".join(f"\n{'Chart' if p.suffix == '.png' else 'File'} saved to {p}" for p in charts)
        # Without --out, a file (a --csv answer) is printed after the answer: the shell has no other way to hand it over.
        files = [] if args.out else [b for b in reply.blocks if isinstance(b, File)]
        printed = "".join(f"\n\n--- {b.filename} ---\n{b.content.decode('utf-8', 'replace')}" for b in files)
        print(render_text(reply) + saved + shared_note(reply) + printed.rstrip("\n"))
    return _exit_code(reply)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import run_console
    from bot.demo import (
        EVENTS_QUEUE,
        active_members,
        default_console_handle,
        demo_ends,
        demo_members,
        not_demo_data,
        seed_demo,
        unknown_handle_message,
    )
    from handlers.registry import build_router
    from store.clock import system_clock

    tickets = DEMO_TICKETS if args.tickets is None else args.tickets
    days = DEMO_DAYS if args.days is None else args.days
    if not 0 <= tickets <= MAX_DEMO_TICKETS:
        raise BadInput(f"--tickets must be from 0 to {MAX_DEMO_TICKETS:,}, got {tickets}")
    if not 1 <= days <= MAX_DEMO_DAYS:
        raise BadInput(f"--days must be from 1 to {MAX_DEMO_DAYS}, got {days}")
    if args.seed_only and args.handle is not None:
        raise BadInput("--as has no effect with --seed-only, which opens no console: leave one of them out")
    db = _open(settings)
    try:
        # Everything is checked before anything is written.
        empty = db.is_empty()
        seeding = args.reset or empty
        if not seeding:
            given = [option for option, value in (("--tickets", args.tickets), ("--days", args.days)) if value is not None]
            if given:
                raise BadInput(
                    f"{' and '.join(given)} only {'apply' if len(given) > 1 else 'applies'} when the demo is seeded, and this "
                    f"database already holds an organisation: add --reset to wipe it and seed again, or leave "
                    f"{'them' if len(given) > 1 else 'it'} out"
                )
        elif args.reset and (reason := not_demo_data(db)) is not None:
            raise BadInput(f"--reset wipes only a demo database, and this one is not: {reason}. Nothing was changed")
        if args.handle is not None:
            members = demo_members() if seeding else active_members(db)
            wanted = args.handle.strip().lstrip("@").lower()
            if wanted not in {h for h, _ in members}:
                raise BadInput(f"--as: {unknown_handle_message(args.handle, members)}")
        if seeding:
            verb = "Seeding" if empty else "Wiping the demo database and seeding"
            print(f"{verb} a demo organisation and {tickets:,} tickets over the {days} days until now…", file=sys.stderr)
            summary = seed_demo(db, now=system_clock(), tickets=tickets, days=days, replace=args.reset)
            print(
                f"Seeded {summary.teams} teams, {summary.members} members, {summary.tickets:,} tickets.",
                file=sys.stderr,
            )
            if summary.routing_key:
                print(
                    f"Events API routing key of the {EVENTS_QUEUE} queue (shown this once; "
                    f"csbot oncall key {EVENTS_QUEUE} --new makes another): {summary.routing_key}",
                    file=sys.stderr,
                )
        else:
            print("The database already holds an organisation; using it as it is.", file=sys.stderr)
            ends = demo_ends(db)
            if ends is not None:
                age = system_clock() - ends
                if age.days >= 1:
                    print(
                        f"Its demo tickets end {ends:%Y-%m-%d}, {age.days} day{'s' if age.days != 1 else ''} ago: "
                        "csbot demo --reset seeds fresh ones ending now.",
                        file=sys.stderr,
                    )
        if args.seed_only:
            return EXIT_OK
        handle = args.handle or default_console_handle(db)
        run_console(db, build_router(), handle, system_clock, chart_dir=Path(args.out) if args.out else None)
    finally:
        db.dispose()
    return EXIT_OK


def cmd_org(settings: Settings, args: argparse.Namespace) -> int:
    from kpi.definitions import BY_NAME
    from kpi.team_history import tickets_per_team
    from escalation.keep_current import keep_current, snapshot
    from store.org_file import OrgFileError, apply_org, dump_org, org_document, read_org, sweeping_changes

    if args.org_cmd == "show":
        db = _open(settings)
        try:
            with db.sessions() as session:
                sys.stdout.write(dump_org(org_document(session)))
            return EXIT_OK
        finally:
            db.dispose()
    # The whole file is checked before the database is even opened.
    try:
        spec = read_org(Path(args.file), BY_NAME, source=args.file, default_timezone=settings.timezone)
    except OrgFileError as exc:
        return _org_refused(args.file, exc.problems)
    db = _open(settings)
    try:
        with db.sessions() as session, session.begin():
            # Judged in the same transaction as the writes, against the rows they change.
            sweeping = sweeping_changes(session, spec, tickets=tickets_per_team)
            reasons = sweeping.reasons()
            if reasons and not args.force and not args.dry_run:
                session.rollback()
                print(f"{args.file} was refused; nothing was changed:", file=sys.stderr)
                for reason in reasons:
                    print(f"  this would {reason}; add --force if that is what you mean", file=sys.stderr)
                if sweeping.deactivated:
                    print(f"  it would deactivate: {_some(sweeping.deactivated)}", file=sys.stderr)
                return EXIT_BAD_INPUT
            before = snapshot(session)
            try:
                result = apply_org(session, spec)
            except OrgFileError as exc:  # what only the database can tell (a rename onto a key in use)
                session.rollback()
                return _org_refused(args.file, exc.problems)
            kept = keep_current(session, before, datetime.now(timezone.utc))
            if args.dry_run:
                session.rollback()
        prefix = "Dry run, nothing written. Would have: " if args.dry_run else ""
        print(prefix + result.summary())
        for line in kept:
            print(("Would have " if args.dry_run else "") + line)
        # A changed calendar (a team's, the org's, their hours or holidays) changes
        # business-hours figures: the days it touched are counted again now.
        if not args.dry_run and (counted := _count_kpi_days(db)):
            print(_counted_line(counted))
        for reason in reasons:
            if not args.dry_run:
                print(f"Applied with --force, which was needed to {reason}.", file=sys.stderr)
            elif args.force:
                print(f"With --force, applying it will {reason}.", file=sys.stderr)
            else:  # the dry run answers what applying would: refused
                print(f"Applying it would be refused: this would {reason}; add --force if that is what you mean", file=sys.stderr)
        return EXIT_BAD_INPUT if reasons and not args.force else EXIT_OK
    finally:
        db.dispose()


def _no_team(session: Any, key: str) -> str:
    """Why no team is called `key`: renamed (and to what), or there is none."""
    from store.team_renames import renamed_team

    renamed = renamed_team(session, key)
    return f"team {key!r} is now called {renamed.key!r}" if renamed is not None else f"there is no team {key!r}"


def _org_refused(file: str, problems: list[str]) -> int:
    print(f"{file} was refused; nothing was changed. {len(problems)} problem(s):", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _some(items: list[str], shown: int = 10) -> str:
    """A list for a one-line message: the first few, then how many more."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def _capped(names: list[str], shown: int = 30) -> str:
    """At most `shown` names for one line, then how many more (`csbot org show` lists them all)."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" … and {more:,} more (csbot org show lists them)" if more > 0 else "")


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import Progress, count_lines
    from kpi.importer import ImportRefused, import_tickets
    from kpi.mapping import Mapping, MappingError, load_mapping

    def print_json(ok: bool, text: str, data: dict[str, Any]) -> None:
        # The shared `--json` shape (DESIGN.md); the counts, or the problems, in `data`.
        out: dict[str, Any] = {"ok": ok, "visibility": "ephemeral", "text": text, "blocks": [], "data": data}
        if not ok:
            out["error"] = {"code": "refused", "message": text}
        print(json.dumps(out, ensure_ascii=False, indent=2))

    path = Path(args.file)
    if not path.is_file():
        raise BadInput(f"{args.file}: no such file")
    if args.timezone:
        from store.zones import is_zone

        if not is_zone(args.timezone):
            raise BadInput(f"--timezone: unknown time zone {args.timezone!r}") from None
    try:
        mapping = load_mapping(Path(args.mapping), timezone=args.timezone) if args.mapping else Mapping.default(args.timezone or "UTC")
    except MappingError as exc:
        print(f"{args.mapping} was refused:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        if args.json:
            print_json(False, f"{args.mapping} was refused", {"problems": exc.problems})
        return EXIT_BAD_INPUT
    source = args.source or mapping.source or "csv"
    db = _open(settings)
    progress = Progress(count_lines(path) - 1, "rows") if sys.stderr.isatty() else None
    try:
        result = import_tickets(db, path, mapping, source=source, strict=args.strict, progress=progress.update if progress else None)
    except ImportRefused as exc:
        if progress:
            progress.done()
        print(f"{args.file} was refused; nothing was written. {exc.total:,} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        if exc.rejects_file is not None:
            print(f"Refused rows saved to {exc.rejects_file}", file=sys.stderr)
        if args.json:
            data = {"problems": exc.problems, "problem_count": exc.total, "rejects_file": str(exc.rejects_file) if exc.rejects_file else None}
            print_json(False, f"{args.file} was refused; nothing was written", data)
        return EXIT_BAD_INPUT
    finally:
        db.dispose()
    if progress:
        progress.done()
    for r in result.rejected:  # the first few; every one is in the rejects file
        print(f"  row {r.row}: {'; '.join(r.reasons)}", file=sys.stderr)
    if result.rejected_count > len(result.rejected):
        print(f"  … and {result.rejected_count - len(result.rejected):,} more", file=sys.stderr)
    if result.rejects_file:
        print(f"Rejected rows saved to {result.rejects_file}", file=sys.stderr)
    # Both lists capped: a file naming 6,000 new teams made one 74 KB line (--json keeps them all).
    if result.teams_created:
        print(f"Teams created: {_capped(result.teams_created)}", file=sys.stderr)
    if result.agents_created:
        print(f"Agents created: {_capped(result.agents_created)}", file=sys.stderr)
    summary = f"Imported {args.file} (source {source}): {result.summary()}"
    if args.json:
        print_json(True, summary, {"file": args.file, "source": source, **result.as_data()})
    else:
        print(summary)
    return EXIT_OK


def notifiers_for(settings: Settings, db: Any) -> list[Any]:
    """Every platform notifier the configuration enables."""
    out: list[Any] = []
    if settings.slack is not None:
        from bot.slack.client import make_client
        from bot.slack.notifier import SlackNotifier

        out.append(SlackNotifier(make_client(settings.slack)))
    if settings.teams is not None:
        from bot.teams.app import make_adapter
        from bot.teams.delivery import TeamsNotifier
        from store.clock import system_clock

        links = None
        if settings.public_url:
            from bot.chart_links import ChartLinks

            links = ChartLinks(db, settings.public_url, system_clock)
        out.append(TeamsNotifier(make_adapter(settings.teams), settings.teams.app_id, db, system_clock, links))
    if settings.smtp is not None:
        from bot.email_notifier import EmailNotifier

        out.append(EmailNotifier(settings.smtp, settings.public_url))
    if settings.outbound_webhook_secret:
        from bot.escalation_webhook import EscalationWebhooks

        out.append(EscalationWebhooks(db, settings.outbound_webhook_secret))
    return out


def cmd_post(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from bot.notify import MemberAddress, TeamAddress, deliver_to_member, deliver_to_team
    from handlers.reply import Reply, Section
    from sqlalchemy import select

    from bot.dispatch import find_member
    from store.org import Team

    if settings.slack is None and settings.teams is None:
        raise BadInput("no chat platform is configured: set SLACK_BOT_TOKEN or MicrosoftAppId (see .env.example)")
    if not args.text.strip():
        raise BadInput("the message is empty")
    reply = Reply(blocks=[Section(args.text)], visibility="channel")
    db = _open(settings)
    notifiers = notifiers_for(settings, db)
    try:
        with db.sessions() as session:
            if args.target.startswith("@"):
                member = find_member(session, args.target)
                if member is None:
                    raise BadInput(f"no active member has the handle {args.target!r}")
                address: Any = MemberAddress(member.handle, member.slack_id, member.teams_id, member.email)
            else:
                team = session.scalar(select(Team).where(Team.key == args.target.lower(), Team.active.is_(True)))
                if team is None:
                    raise BadInput(_no_team(session, args.target) + " (csbot org show lists them)")
                address = TeamAddress(team.key, team.slack_channel, team.teams_channel)

        async def send() -> list[Any]:
            try:
                if isinstance(address, MemberAddress):
                    return await deliver_to_member(notifiers, address, reply)
                return await deliver_to_team(notifiers, address, reply)
            finally:
                await _close_notifiers(notifiers)

        deliveries = asyncio.run(send())
    finally:
        db.dispose()
    for d in deliveries:
        if d.ok:
            print(f"Delivered on {d.platform} to {d.target}.")
        else:
            print(f"Not delivered on {d.platform} to {d.target}: {d.error}", file=sys.stderr)
    if all(d.platform == "none" for d in deliveries):
        return EXIT_BAD_INPUT
    return EXIT_OK if all(d.ok for d in deliveries) else EXIT_INTERNAL


def cmd_teams(settings: Settings | None, args: argparse.Namespace) -> int:
    """The Teams app package: it names the bot by its app id and needs nothing else (no secret, no database)."""
    from bot.teams.package import build_package
    from handlers.registry import build_router

    app_id = (args.app_id or os.environ.get("MicrosoftAppId", "")).strip()
    if not app_id:
        raise BadInput("say which bot the package is for: set MicrosoftAppId (the Azure Bot's app id) or pass --app-id")
    try:
        manifest = build_package(Path(args.out), bot_id=app_id, router=build_router(), version=args.version, valid_domains=args.domain)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    commands = ", ".join(c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"])
    print(f"Wrote {args.out} (manifest {manifest['manifestVersion']}, bot {app_id}, commands: {commands}).")
    return EXIT_OK


def cmd_holidays(settings: Settings | None, args: argparse.Namespace) -> int:
    """Days off from an .ics file, printed for the org file: calendars are written there, and only there."""
    from store.holiday_ics import HolidayFileError, read_days_off

    this_year = datetime.now(timezone.utc).year
    years = range(this_year - 1, this_year + 4)
    if args.years:
        first, dash, last = args.years.partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise BadInput(f"--years: {args.years!r} is not FIRST-LAST, e.g. --years 2026-2028")
        years = range(int(first), int(last or first) + 1)
        if not (2000 <= years.start and years.stop <= 2101 and len(years) <= 30):
            raise BadInput(f"--years: {args.years!r}: years from 2000 to 2100, at most 30 of them")
    try:
        days_off = read_days_off(Path(args.file), years)
    except HolidayFileError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": {"code": "bad_input", "message": str(exc)}, "data": {"problems": exc.problems}}, ensure_ascii=False, indent=2))
        else:
            print(f"{args.file} was refused:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        data = {"years": [years.start, years.stop - 1], "dates": [{"first": d.first.isoformat(), "last": d.last.isoformat(), "summary": d.summary} for d in days_off]}
        print(json.dumps({"ok": True, "data": data}, ensure_ascii=False, indent=2))
        return EXIT_OK
    count = sum((d.last - d.first).days + 1 for d in days_off)
    print(f"# {count} day(s) off in {years.start}–{years.stop - 1} from {Path(args.file).name}; put them under a calendar's holidays: in the org file")
    print("dates:")
    for d in days_off:
        item = json.dumps(d.text)
        print(f"  - {item:<28} # {d.summary}")
    return EXIT_OK


def cmd_tick(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    from datetime import timedelta

    from bot.tick import JOBS, run_tick

    if args.only is not None and args.only not in JOBS:
        raise BadInput(f"--only: {args.only!r} is not a job; the jobs are {', '.join(JOBS)}")
    now = _parse_at(args.at)
    db = _open(settings)
    notifiers = notifiers_for(settings, db)
    try:
        if settings.slack is None and settings.teams is None:
            print("Neither Slack nor Teams is configured (see .env.example): nothing can be sent; due messages are recorded as not reachable.", file=sys.stderr)

        async def tick() -> Any:
            try:
                return await run_tick(
                    db, notifiers, now, only=args.only, catchup=timedelta(hours=settings.digest_catchup_hours), alert_minutes=settings.alert_check_minutes
                )
            finally:
                await _close_notifiers(notifiers)

        report = asyncio.run(tick())
    finally:
        db.dispose()
    if args.json:
        print(json.dumps({"ok": True, **report.to_json()}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines(verbose=args.verbose)))
    failed = [o for o in report.outcomes if o.status == "failed"]
    return EXIT_INTERNAL if failed else EXIT_OK


async def _close_notifiers(notifiers: list[Any]) -> None:
    from bot.email_notifier import EmailNotifier

    for n in notifiers:
        if isinstance(n, EmailNotifier):
            n.close()
            continue
        if callable(getattr(n, "close", None)):
            await n.close()
            continue
        client = getattr(n, "client", None)
        if client is not None and getattr(client, "session", None) is not None:
            await client.session.close()


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from store import migrate

    db = _open(settings, upgrade=False)
    try:
        before, after = migrate.upgrade(db.engine)
        counted = _count_kpi_days(db)
    finally:
        db.dispose()
    if before == after:
        print(f"Database is up to date (revision {after}).")
    else:
        print(f"Database upgraded from {before or 'empty'} to {after}.")
    if counted:
        print(_counted_line(counted))
    return EXIT_OK


def _counted_line(counted: int) -> str:
    return f"Counted {counted:,} team-day{'' if counted == 1 else 's'} of tickets for fast KPI windows."


def _count_kpi_days(db) -> int:  # type: ignore[no-untyped-def]
    """Count the days tickets changed since the last count (all of them after the
    upgrade that adds day facts), so /kpi reads days rather than every ticket.
    First, build again the ticket indexes an import killed mid-load left
    missing (kpi.import_indexes)."""
    from kpi.day_facts import refresh_database
    from kpi.import_indexes import restore

    if rebuilt := restore(db):
        print(f"Rebuilt {len(rebuilt)} ticket indexes an interrupted import had set aside.")
    return refresh_database(db)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.web import serve

    db = _open(settings)
    try:
        if counted := _count_kpi_days(db):
            print(_counted_line(counted))
    finally:
        db.dispose()
    serve(settings, host=args.host or settings.host, port=args.port or settings.port)
    return EXIT_OK


def cmd_oncall(settings: Settings, args: argparse.Namespace) -> int:
    if args.oncall_cmd == "key":
        return _oncall_key(settings, args)
    from datetime import timedelta

    from sqlalchemy import select

    from escalation.ics import MAX_DAYS, queue_calendar
    from escalation.oncall import schedules_of
    from store.org import Member
    from store.queues import EscalationQueue

    if not 1 <= args.days <= MAX_DAYS:
        raise BadInput(f"--days must be from 1 to {MAX_DAYS}, got {args.days}")
    now = _parse_at(args.at)
    if args.queue.lower() == "me":
        return _export_me(settings, args, now)
    if args.handle is not None:
        raise BadInput("--as goes with `csbot oncall export me` (a person's shifts); a queue's calendar is everyone's")
    queue_key, _, schedule = args.queue.partition("/")
    db = _open(settings)
    try:
        with db.sessions() as session:
            queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == queue_key.lower(), EscalationQueue.active.is_(True)))
            if queue is None:
                known = ", ".join(session.scalars(select(EscalationQueue.key).where(EscalationQueue.active.is_(True)).order_by(EscalationQueue.position)))
                raise BadInput(f"there is no queue {queue_key!r}" + (f"; queues: {known}" if known else "; the org file has no escalation queues"))
            keys = [s.key for s in schedules_of(queue)]
            if schedule and schedule.lower() not in keys:
                raise BadInput(f"{queue.key} has no schedule {schedule!r}; its schedules: {', '.join(keys) or 'none'}")
            names = {m.handle: m.name for m in session.scalars(select(Member))}
            text = queue_calendar(session, queue, schedule.lower() or None, now, now + timedelta(days=args.days), names, now)
    finally:
        db.dispose()
    _write_ics(args.ics, text, f"for {queue.name} over the next {args.days} days")
    return EXIT_OK


def _write_ics(path: str, text: str, what: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    events = text.count("BEGIN:VEVENT")
    print(f"Wrote {path}: {events} on-call event{'' if events == 1 else 's'} {what}.")


def _export_me(settings: Settings, args: argparse.Namespace, now: datetime) -> int:
    """`csbot oncall export me --as HANDLE`: the person's calendar, as the link `/oncall export me` gives serves it."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from bot.demo import active_members, unknown_handle_message
    from escalation.ics import personal_calendar
    from store.org import Member

    if not args.handle:
        raise BadInput("csbot oncall export me needs --as HANDLE: whose shifts")
    db = _open(settings)
    try:
        with db.sessions() as session:
            wanted = args.handle.strip().lstrip("@").lower()
            member = session.scalar(select(Member).where(func.lower(Member.handle) == wanted, Member.active.is_(True)))
            if member is None:
                raise BadInput(f"--as: {unknown_handle_message(args.handle, active_members(db))}")
            names = {m.handle: m.name for m in session.scalars(select(Member))}
            text = personal_calendar(session, member, now, now + timedelta(days=args.days), names, now)
    finally:
        db.dispose()
    _write_ics(args.ics, text, f"for {member.name} over the next {args.days} days")
    return EXIT_OK


def _oncall_key(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from escalation import routing_keys
    from handlers.oncall_keys import enqueue_url
    from store.engine import lock_for_write
    from store.queues import EscalationQueue

    now = datetime.now(timezone.utc).replace(microsecond=0)
    db = _open(settings)
    try:
        with db.sessions() as session:
            lock_for_write(session)
            queue = session.scalar(select(EscalationQueue).where(EscalationQueue.key == args.queue.lower(), EscalationQueue.active.is_(True)))
            if queue is None:
                known = ", ".join(session.scalars(select(EscalationQueue.key).where(EscalationQueue.active.is_(True)).order_by(EscalationQueue.position)))
                raise BadInput(f"there is no queue {args.queue!r}" + (f"; queues: {known}" if known else "; the org file has no escalation queues"))
            if args.new:
                issued = routing_keys.issue(session, queue, None, now)
                session.commit()
                print(issued.key)
                replaced = f"; the previous key (…{issued.replaced.hint}) is revoked" if issued.replaced else ""
                print(f"New Events API key for {queue.name}, shown this once{replaced}. Send events to {enqueue_url()}.", file=sys.stderr)
                return EXIT_OK
            if args.revoke:
                revoked = routing_keys.revoke(session, queue, None, now)
                session.commit()
                print(f"Revoked key …{revoked.hint} of {queue.name}." if revoked else f"{queue.name} has no key in force; nothing revoked.")
                return EXIT_OK
            row = routing_keys.current(session, queue)
            if row is None:
                print(f"{queue.name} has no Events API key; make one with: csbot oncall key {queue.key} --new")
            else:
                used = row.last_used_at.isoformat() if row.last_used_at else "never"
                print(f"{queue.name}: key …{row.hint}, made {row.created_at.isoformat()}, last used {used}.")
    finally:
        db.dispose()
    return EXIT_OK


def _days_asked(args: argparse.Namespace, today: Any) -> tuple[Any, Any]:
    """The export's first and last day (included) from --from and --to: by default the 90 days to today."""
    from datetime import date, timedelta

    try:
        first = date.fromisoformat(args.start) if args.start else None
        last = date.fromisoformat(args.end) if args.end else today
    except ValueError as exc:
        raise BadInput(f"--from/--to: {exc} (write YYYY-MM-DD)") from None
    if not all(date(1970, 1, 2) <= d <= date(2099, 12, 30) for d in (first, last) if d is not None):
        raise BadInput("--from/--to: give dates from 1970-01-02 to 2099-12-30")
    first = first or last - timedelta(days=89)
    if last < first:
        raise BadInput("--to is before --from")
    return first, last


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    if args.export_cmd == "kpi":
        return _export_kpi(settings, args)
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from bot.dispatch import find_member
    from coaching.export import record_exported_reads, rows
    from handlers.humanize import a_or_an
    from store.org import Org, Team
    from store.spreadsheet import write_csv

    db = _open(settings)
    try:
        with db.sessions() as session:
            viewer = find_member(session, args.handle)
            if viewer is None:
                raise BadInput(f"no active member has the handle {args.handle!r}")
            if not viewer.at_least("manager"):
                raise BadInput(f"the coaching export is for managers and admins; {viewer.handle} is {a_or_an(viewer.role)}")
            org = session.get(Org, 1)
            zone = ZoneInfo(org.timezone if org else "UTC")
            first, last = _days_asked(args, datetime.now(zone).date())
            team = None
            if args.team:
                team = session.scalar(select(Team).where(Team.key == args.team.lower()))
                if team is None:
                    raise BadInput(_no_team(session, args.team))
            start = datetime.combine(first, datetime.min.time(), zone)
            end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
            written = list(rows(session, viewer, start, end, team))
        try:
            write_csv(Path(args.csv), written)
        except OSError as exc:
            raise BadInput(f"cannot write {args.csv}: {exc.strerror or exc}") from None
        with db.sessions() as session, session.begin():
            record_exported_reads(session, viewer.id, written, datetime.now(timezone.utc))  # exported private notes are read
    finally:
        db.dispose()
    print(f"Wrote {args.csv}: {len(written) - 1} row(s) from {first} to {last}, what {viewer.handle} may see.")
    return EXIT_OK


def _export_kpi(settings: Settings, args: argparse.Namespace) -> int:
    """`csbot export kpi`: the operator's export, every figure (QA included), as the cards show them.

    Who runs csbot against the database reads every figure already; in chat
    team and org figures are open to every member, and the pooled QA
    columns to those who look after the team (there, `/kpi … --csv`).
    """
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from kpi import qa_figures
    from kpi.engine import Scope
    from kpi.export import range_rows
    from kpi.windows import WindowError
    from store.org import Org, Team
    from store.spreadsheet import csv_text, write_csv

    now = _parse_at(args.at)
    db = _open(settings)
    try:
        with db.sessions() as session:
            if args.team:
                team = session.scalar(select(Team).where(Team.key == args.team.strip().lower()))
                if team is None:
                    raise BadInput(_no_team(session, args.team))
                scope, label, zone = Scope(team_id=team.id), ["team", team.key], team.timezone
            else:
                org = session.get(Org, 1)
                scope, label, zone = Scope(), ["org", ""], org.timezone if org else "UTC"
            first, last = _days_asked(args, now.astimezone(ZoneInfo(zone)).date())
            try:
                rows = range_rows(session, scope, label, zone, first, last, args.by, now, qa=qa_figures.in_use(session))
            except WindowError as exc:
                raise BadInput(f"--from/--to: {exc}") from None
    finally:
        db.dispose()
    if args.csv == "-":
        sys.stdout.write(csv_text(rows))
        return EXIT_OK
    try:
        write_csv(Path(args.csv), rows)
    except OSError as exc:
        raise BadInput(f"cannot write {args.csv}: {exc.strerror or exc}") from None
    shape = f"a row per {args.by}" if args.by else "one row for the range"
    print(f"Wrote {args.csv}: {len(rows) - 1} row(s), {shape}, {label[1] or 'the organisation'} from {first} to {last} ({zone}).")
    return EXIT_OK


COMMANDS = {
    "ask": cmd_ask,
    "export": cmd_export,
    "oncall": cmd_oncall,
    "demo": cmd_demo,
    "org": cmd_org,
    "import": cmd_import,
    "post": cmd_post,
    "teams": cmd_teams,
    "tick": cmd_tick,
    "db": cmd_db,
    "holidays": cmd_holidays,
    "serve": cmd_serve,
}


# Commands that read no settings but their own: the rest of the configuration,
# however incomplete (a Teams bot's app id without its password yet), cannot stop them.
WITHOUT_SETTINGS = frozenset({"teams", "holidays"})


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings: Settings | None = None
    if args.cmd in WITHOUT_SETTINGS:
        load_dotenv(Path.cwd() / ".env", override=False)  # as load_settings does
    else:
        try:
            settings = load_settings()
        except ConfigError as exc:
            print(f"csbot: configuration error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    log_level = settings.log_level if settings else "INFO"
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_level != "DEBUG":
        # Alembic narrates every migration step at INFO, and APScheduler every run of
        # every job (several a minute); keep the console and the log readable.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        return COMMANDS[args.cmd](settings, args)  # type: ignore[arg-type] (None only for WITHOUT_SETTINGS)
    except BadInput as exc:
        print(f"csbot: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERNAL
    except BrokenPipeError:
        # `csbot ask … | head`: the reader has gone, which is not an error of ours.
        # Point stdout at nothing so the interpreter's final flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            print(f"csbot: cannot use the database: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
            return EXIT_INTERNAL
        log.exception("internal error")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
