"""`/csbot`: the command list, per-command help, who am I, and the teams."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from handlers.args import UsageError
from handlers.context import Context, NotFound
from handlers.reply import Context as Note
from handlers.reply import Field, Fields, Reply, Section, Table
from handlers.router import HELP_WORDS, Router, closest, help_reply
from store.org import Member, Team


@dataclass(frozen=True)
class CsbotRequest:
    verb: str  # help | whoami | teams
    topic: str | None = None


class CsbotCommand:
    name = "csbot"
    summary = "Help, who you are signed in as, and the teams csbot knows"
    usage = (
        "/csbot help — list every command\n"
        "/csbot help COMMAND — how to use one command, e.g. /csbot help kpi\n"
        "/csbot whoami — your handle, team, role and time zone\n"
        "/csbot teams — the teams, their time zones and leads"
    )
    examples = ("/csbot help", "/csbot help kpi", "/csbot whoami", "/csbot teams")
    own_help = True  # `/csbot help` is the command list, not /csbot's usage

    def __init__(self, router: Router) -> None:
        self._router = router

    def parse(self, words: list[str]) -> CsbotRequest:
        if not words:
            return CsbotRequest("help")
        verb = words[0].lower()
        if verb in HELP_WORDS:
            if len(words) > 2:
                raise UsageError("/csbot help takes at most one command name.")
            return CsbotRequest("help", words[1].lstrip("/").lower() if len(words) == 2 else None)
        if verb in ("whoami", "teams"):
            if len(words) > 1:
                raise UsageError(f"/csbot {verb} takes no arguments.")
            return CsbotRequest(verb)
        suggestions = closest(verb, ["help", "whoami", "teams"])
        hint = f" Did you mean {' or '.join('/csbot ' + v for v in suggestions)}?" if suggestions else ""
        raise UsageError(f"Unknown /csbot subcommand {words[0]!r}.{hint}")

    def authorize(self, ctx: Context, request: CsbotRequest) -> None:
        # Everything here is open to every member: it shows nothing private.
        return None

    def execute(self, ctx: Context, request: CsbotRequest) -> Reply:
        if request.verb == "whoami":
            return self._whoami(ctx)
        if request.verb == "teams":
            return self._teams(ctx)
        if request.topic:
            family = self._router.family(request.topic)
            if family is None:
                names = [f.name for f in self._router.families]
                suggestions = closest(request.topic, names)
                hint = f" Did you mean {', '.join('/' + s for s in suggestions)}?" if suggestions else ""
                raise NotFound(f"There is no /{request.topic} command.{hint}")
            return help_reply(family)
        return self._command_list()

    def _command_list(self) -> Reply:
        families = sorted(self._router.families, key=lambda f: (f.name != "csbot", f.name))
        rows = tuple((f"/{f.name}", f.summary, f.examples[0] if f.examples else "") for f in families)
        return Reply(
            title="csbot commands",
            blocks=[
                Table(("Command", "What it does", "Example"), rows),
                Note("Type /csbot help COMMAND for the details of one command."),
            ],
            data={"commands": [{"name": f.name, "summary": f.summary, "usage": f.usage.strip()} for f in families]},
        )

    def _whoami(self, ctx: Context) -> Reply:
        m = ctx.member
        team = m.team
        fields = (
            Field("Handle", m.handle),
            Field("Name", m.name),
            Field("Role", m.role),
            Field("Team", f"{team.name} ({team.key})" if team else "—"),
            Field("Time zone", ctx.timezone),
            Field("Email", m.email or "—"),
        )
        return Reply(
            title=f"You are {m.name}",
            blocks=[Fields(fields)],
            data={
                "handle": m.handle,
                "name": m.name,
                "role": m.role,
                "team": team.key if team else None,
                "timezone": ctx.timezone,
                "email": m.email,
            },
        )

    def _teams(self, ctx: Context) -> Reply:
        session = ctx.session
        teams = session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.key)).all()
        counts = dict(
            session.execute(
                select(Member.team_id, func.count())
                .where(Member.active.is_(True))
                .group_by(Member.team_id)
            ).all()
        )
        leads: dict[int, list[str]] = {}
        for lead in session.scalars(
            select(Member).where(Member.active.is_(True), Member.role == "lead").order_by(Member.handle)
        ):
            if lead.team_id is not None:
                leads.setdefault(lead.team_id, []).append(lead.handle)
        rows = tuple(
            (t.key, t.name, t.timezone, str(counts.get(t.id, 0)), ", ".join(leads.get(t.id, [])) or "—")
            for t in teams
        )
        if not rows:
            return Reply(title="Teams", blocks=[Section("No teams yet. An admin can add them with `csbot org apply org.yaml`.")])
        return Reply(
            title="Teams",
            blocks=[Table(("Key", "Name", "Time zone", "Members", "Leads"), rows)],
            data={
                "teams": [
                    {"key": t.key, "name": t.name, "timezone": t.timezone, "members": counts.get(t.id, 0)}
                    for t in teams
                ]
            },
        )
