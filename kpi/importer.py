"""`csbot import tickets`: a CSV export into the tickets table.

Rows are upserted by (source, external_id), in batches of one transaction
each: a crash loses at most the batch in flight, and re-running the same file
finishes the job without duplicating anything. Several rows for one ticket
(an event log) leave the ticket in the last row's state.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi.mapping import Mapping
from kpi.resolver import OrgResolver
from kpi.ticket_rows import ParsedRow, RowParser, utc_text
from kpi.tickets import Ticket
from store.busy import is_conflict
from store.database import Database
from store.engine import begin_write, write_transaction
from store.org import Member, Team
from store.spreadsheet import write_csv

BATCH_ROWS = 10_000
# Spreadsheet exports can hold very long cells (descriptions); allow them.
csv.field_size_limit(16 * 1024 * 1024)


class ImportRefused(Exception):
    """The file cannot be imported at all (missing columns, or --strict with bad rows)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Reject:
    row: int  # 1-based line number in the file (the header is line 1)
    reasons: list[str]
    values: list[str]


@dataclass
class ImportResult:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: list[Reject] = field(default_factory=list)
    teams_created: list[str] = field(default_factory=list)
    agents_created: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejects_file: Path | None = None

    def summary(self) -> str:
        line = (
            f"{self.rows:,} rows: {self.inserted:,} inserted, {self.updated:,} updated, "
            f"{len(self.rejected):,} rejected, {len(self.teams_created)} teams created, "
            f"{len(self.agents_created)} agents created in {self.seconds:.1f} s"
        )
        return line


@dataclass
class _Written:
    """What one batch's upsert did: how many tickets it inserted, the ids of
    those it updated, the external ids PostgreSQL's guard skipped (see
    _upsert), and the ids it inserted as (first, last) ranges."""

    inserted: int = 0
    updated: list[int] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    new_ids: list[tuple[int, int]] = field(default_factory=list)


def _upsert(
    session: Session, columns: list[str], rows: list[tuple[Any, ...]], updated: list[str], kept: list[str]
) -> _Written:
    """INSERT … ON CONFLICT (source, external_id) DO UPDATE for a batch, below the ORM.

    Values are already database-level, and this path is what keeps a
    million-row import inside a minute. An existing ticket gets only the
    `updated` columns (the file's own); the rest are for new tickets.
    SQLite: one prepared statement run for every row, under the batch's write
    lock, so what existed before and the ids added after are exact.
    PostgreSQL: COPY into a temporary table, then one INSERT … SELECT (per-row
    statements cost a parse and plan each there), in external-id order so two
    imports lock shared tickets in the same order and never deadlock. Other
    writers go on meanwhile, so the statement says what it did (RETURNING;
    xmax is 0 for a row it inserted), and a guard skips a ticket whose `kept`
    time (stored, not in the file) another writer has just moved before the
    new created_at, instead of failing the batch on the table's check.
    """
    conn = session.connection()
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in updated)
    conflict = f"ON CONFLICT (source, external_id) DO UPDATE SET {updates}"
    ids_at = columns.index("external_id")
    if conn.dialect.name != "postgresql":
        wanted = [row[ids_at] for row in rows]
        source = rows[0][columns.index("source")]
        existing = dict(
            session.execute(
                select(Ticket.external_id, Ticket.id).where(Ticket.source == source, Ticket.external_id.in_(wanted))
            ).all()
        )
        marks = ", ".join("?" for _ in columns)
        before = conn.exec_driver_sql("SELECT max(id) FROM tickets").scalar() or 0
        conn.exec_driver_sql(f"INSERT INTO tickets ({names}) VALUES ({marks}) {conflict}", rows)
        after = conn.exec_driver_sql("SELECT max(id) FROM tickets").scalar() or 0
        return _Written(
            inserted=len(wanted) - len(existing),
            updated=list(existing.values()),
            new_ids=[(before + 1, after)] if after > before else [],
        )
    # Dropped at commit: the next batch (maybe of a file with other columns) makes its own.
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE import_batch ON COMMIT DROP AS SELECT {names} FROM tickets WITH NO DATA"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY import_batch ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    guard = " AND ".join(f"(tickets.{c} IS NULL OR excluded.created_at <= tickets.{c})" for c in kept)
    result = conn.exec_driver_sql(
        f"INSERT INTO tickets ({names}) SELECT {names} FROM import_batch ORDER BY external_id "
        f"{conflict}{' WHERE ' + guard if guard else ''} RETURNING external_id, id, xmax = 0"
    )
    returned = result.all()
    written = {row[0] for row in returned}
    return _Written(
        inserted=sum(1 for _, _, inserted in returned if inserted),
        updated=[ticket_id for _, ticket_id, inserted in returned if not inserted],
        skipped={row[ids_at] for row in rows if row[ids_at] not in written},
        new_ids=_ranges(sorted(ticket_id for _, ticket_id, inserted in returned if inserted)),
    )


def _ranges(ids: list[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7, 8] -> [(1, 3), (7, 8)]"""
    out: list[tuple[int, int]] = []
    for ticket_id in ids:
        if out and out[-1][1] == ticket_id - 1:
            out[-1] = (out[-1][0], ticket_id)
        else:
            out.append((ticket_id, ticket_id))
    return out


SOURCE_MAX = Ticket.__table__.c.source.type.length


def _records(path: Path) -> Iterator[tuple[int, list[str], str | None]]:
    """(line where it starts, cells, why it cannot be read) for every record after the header.

    A record the csv module cannot read is reported, not raised: the reader
    resumes at the next line, so one bad record costs one row. (Plain tuples:
    this runs a million times per large file.)
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            next(reader, None)
        except csv.Error:
            return
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, [], f"cannot read this row: {exc}"
                continue
            yield line, cells, None


def _header(path: Path) -> list[str] | None:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        try:
            return next(csv.reader(fh), None)
        except csv.Error as exc:
            raise ImportRefused([f"{path}: cannot read the header line: {exc}"]) from None


def import_tickets(
    db: Database,
    path: Path,
    mapping: Mapping,
    *,
    source: str,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportResult:
    """Import `path`; raises ImportRefused when nothing may be written."""
    started = time.perf_counter()
    result = ImportResult()
    if not source.strip() or len(source) > SOURCE_MAX or "\0" in source:
        raise ImportRefused([f"source: {source[:40]!r} must be a name of 1 to {SOURCE_MAX} characters"])
    try:
        _check_encoding(path)
        header = _header(path)
    except OSError as exc:
        raise ImportRefused([f"{path}: cannot read it ({type(exc).__name__}: {exc})"]) from None
    if header is None:
        raise ImportRefused([f"{path}: the file is empty"])
    bound, problems = mapping.bind(header)
    if problems:
        raise ImportRefused([f"{path}: {p}" for p in problems])
    parser = RowParser(mapping, bound)

    if strict:
        rejects = sorted(_validate_all(db, path, parser, source, batch_rows), key=lambda r: r.row)
        if rejects:
            result.rejected = rejects
            raise ImportRefused([f"row {r.row}: {'; '.join(r.reasons)}" for r in rejects])

    with db.sessions() as session:
        baseline = session.scalar(select(func.max(Ticket.id))) or 0
        resolver = OrgResolver(session)
    counted = _Counted(baseline)
    batch: dict[str, ParsedRow] = {}
    for parsed in _parsed_rows(path, parser, result):
        # Within a batch the last row of a ticket wins; across batches the later batch does.
        batch.pop(parsed.values["external_id"], None)
        batch[parsed.values["external_id"]] = parsed
        if len(batch) >= batch_rows:
            _write_batch(db, resolver, batch, parser, source, counted, result)
            batch = {}
            if progress:
                progress(result.rows)
    if batch:
        _write_batch(db, resolver, batch, parser, source, counted, result)
    result.teams_created = list(resolver.teams_created)
    result.agents_created = list(resolver.agents_created)
    if progress:
        progress(result.rows)
    if result.inserted or result.updated:
        # Fresh statistics after a bulk load keep the KPI queries on their
        # indexes; on PostgreSQL, VACUUM also sets the visibility map so the
        # backlog counts are index-only scans instead of a heap visit per row.
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM (ANALYZE) tickets" if db.backend == "postgresql" else "ANALYZE tickets")
    if result.rejected:
        result.rejected.sort(key=lambda r: r.row)
        result.rejects_file = _write_rejects(path, header, result.rejected)
    result.seconds = time.perf_counter() - started
    return result


def _parsed_rows(path: Path, parser: RowParser, result: ImportResult) -> Iterator[ParsedRow]:
    """The file's good rows, counting every row and recording the bad ones in `result`."""
    for line, cells, error in _records(path):
        if error is not None:
            result.rows += 1
            result.rejected.append(Reject(line, [error], cells))
            continue
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        result.rows += 1
        parsed, reasons = parser.parse(cells)
        if parsed is None:
            result.rejected.append(Reject(line, reasons, cells))
            continue
        parsed.line, parsed.raw = line, cells
        yield parsed


def _check_encoding(path: Path) -> None:
    """Refuse a file that is not UTF-8 before writing anything (not half-way through)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line = 1
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = line + chunk[: exc.start].count(b"\n")
                raise ImportRefused(
                    [f"{path}: line {bad} is not UTF-8 text; save the file as CSV UTF-8 and import it again"]
                ) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportRefused([f"{path}: the file ends in the middle of a UTF-8 character"]) from None


def _validate_all(db: Database, path: Path, parser: RowParser, source: str, chunk: int) -> Iterator[Reject]:
    """Every row --strict would refuse: bad in itself, or at odds with the stored ticket."""
    scratch = ImportResult()
    rows: list[ParsedRow] = []

    def stored_conflicts() -> Iterator[Reject]:
        with db.sessions() as session:
            conflicts = _stored_conflicts(session, source, rows, parser.updated_columns)
        for parsed in rows:
            if parsed.values["external_id"] in conflicts:
                yield Reject(parsed.line, [conflicts[parsed.values["external_id"]]], parsed.raw or [])

    for parsed in _parsed_rows(path, parser, scratch):
        yield from scratch.rejected
        scratch.rejected.clear()
        rows.append(parsed)
        if len(rows) >= chunk:
            yield from stored_conflicts()
            rows = []
    yield from scratch.rejected
    if rows:
        yield from stored_conflicts()


def _kept_times(updated: list[str]) -> list[str]:
    """The stored times a file cannot change (it has no column for them) that created_at must not pass."""
    return [c for c in ("first_reply_at", "solved_at") if c not in updated]


def _stored_conflicts(session: Session, source: str, rows: list[ParsedRow], updated: list[str]) -> dict[str, str]:
    """Rows whose created_at would come after a first reply or solve stored for their ticket.

    Only a file without those columns can do that (a file with them is
    checked row by row), so other files cost nothing here.
    """
    kept = _kept_times(updated)
    if not kept or not rows:
        return {}
    query = select(Ticket.external_id, *(getattr(Ticket, c) for c in kept)).where(
        Ticket.source == source, Ticket.external_id.in_([r.values["external_id"] for r in rows])
    )
    stored = {row[0]: row[1:] for row in session.execute(query)}
    conflicts: dict[str, str] = {}
    for parsed in rows:
        times = stored.get(parsed.values["external_id"])
        if times is None:
            continue
        created = parsed.values["created_at"]
        for column, when in zip(kept, times):
            if when is not None and created > when.timestamp():
                conflicts[parsed.values["external_id"]] = (
                    f"created_at {utc_text(created)} is after the stored {column} {utc_text(int(when.timestamp()))} "
                    f"of this ticket, and the file has no {column} column to change it"
                )
                break
    return conflicts


@contextmanager
def _batch_session(db: Database) -> Iterator[Session]:
    """One transaction for one batch.

    On SQLite, per-row foreign-key enforcement makes the upsert of a ticket
    several times slower once the table has its KPI indexes (measured: 7.0 s
    against 2.6 s for 200,000 rows). The ids a batch writes come from the
    resolver and are verified in bulk by _check_references inside the same
    transaction, so the batch turns per-row enforcement off for its own
    connection only, and back on before the connection returns to the pool.
    """
    if db.backend != "sqlite":
        with write_transaction(db.sessions) as session:
            yield session
        return
    with db.engine.connect() as conn:
        # Outside a transaction: SQLite ignores this pragma inside one.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        try:
            with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                # The write lock first: what the batch reads (stored tickets,
                # teams) cannot change before it writes.
                begin_write(session)
                yield session
        finally:
            conn.rollback()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def _check_references(session: Session, rows: list[tuple[Any, ...]], columns: list[str]) -> None:
    """Every team and agent id of the batch exists (one query per table, not per row)."""
    for column, model in (("team_id", Team), ("agent_id", Member)):
        if column not in columns:
            continue
        i = columns.index(column)
        wanted = {r[i] for r in rows if r[i] is not None}
        if not wanted:
            continue
        found = set(session.scalars(select(model.id).where(model.id.in_(wanted))))
        if missing := wanted - found:
            raise RuntimeError(f"import batch refers to {column} values that do not exist: {sorted(missing)[:5]}")


class _Counted:
    """What the inserted/updated counts need to count each ticket once.

    A ticket from before the import (id up to `baseline`) is counted as
    updated once, however many batches name it: one bit per such id (a
    million tickets cost 125 KB, not a set of a million strings). `ours`
    holds the id ranges this import's batches inserted (ids only grow), to
    tell a ticket this file inserted in an earlier batch (counted then) from
    one another writer, such as a webhook event, created meanwhile.
    """

    def __init__(self, baseline: int) -> None:
        self.baseline = baseline
        self._seen = bytearray(baseline // 8 + 1)
        self._seen_later: set[int] = set()
        self.ours: list[tuple[int, int]] = []

    def inserted_by_us(self, ticket_id: int) -> bool:
        at = bisect.bisect_right(self.ours, (ticket_id, math.inf)) - 1
        return at >= 0 and self.ours[at][0] <= ticket_id <= self.ours[at][1]

    def first_update(self, ticket_id: int) -> bool:
        """True the first time `ticket_id` is counted as updated."""
        if ticket_id > self.baseline:
            if ticket_id in self._seen_later:
                return False
            self._seen_later.add(ticket_id)
            return True
        byte, bit = divmod(ticket_id, 8)
        if self._seen[byte] & (1 << bit):
            return False
        self._seen[byte] |= 1 << bit
        return True

    def count(self, written: _Written, result: ImportResult) -> None:
        result.inserted += written.inserted
        for ticket_id in written.updated:
            if ticket_id > self.baseline and self.inserted_by_us(ticket_id):
                continue  # inserted by an earlier batch of this file: counted as inserted then
            if self.first_update(ticket_id):
                result.updated += 1
        self.ours.extend(written.new_ids)


# A deadlock or serialisation failure cancels the batch; running it again gets past it.
BATCH_ATTEMPTS = 3


def _write_batch(
    db: Database,
    resolver: OrgResolver,
    batch: dict[str, ParsedRow],
    parser: RowParser,
    source: str,
    counted: _Counted,
    result: ImportResult,
) -> None:
    with_team, with_agent = "team_id" in parser.columns, "agent_id" in parser.columns
    if with_team or with_agent:
        _create_names(db, resolver, batch.values(), with_team=with_team, with_agent=with_agent)
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with _batch_session(db) as session:
                rejects, written = _write_rows(session, resolver, list(batch.values()), parser, source)
        except Exception as exc:
            if attempt < BATCH_ATTEMPTS and is_conflict(exc):
                continue
            raise
        break
    result.rejected.extend(rejects)
    counted.count(written, result)


def _create_names(
    db: Database, resolver: OrgResolver, rows: Iterable[ParsedRow], *, with_team: bool, with_agent: bool
) -> None:
    """Create the batch's new teams and agents, committed before the batch itself.

    In a transaction of their own, in name order: two imports (or an import
    and webhook events) meeting the same new names never hold one another's
    uncommitted names while waiting for tickets, which on PostgreSQL would
    deadlock. An agent joins the team of their first ticket in the file.
    """
    # Each distinct name once (a batch has 10,000 rows and a few hundred names).
    first_team: dict[str, str | None] = {}
    for parsed in rows:
        if with_agent and parsed.agent_name:
            first_team.setdefault(parsed.agent_name, parsed.team_name if with_team else None)
    named = {p.team_name for p in rows if p.team_name} if with_team else set()
    teams = {name for name in named | {t for t in first_team.values() if t} if not resolver.knows_team(name)}
    agents = {name: team for name, team in first_team.items() if not resolver.knows_agent(name)}
    if not teams and not agents:
        return
    saved = resolver.snapshot()
    try:
        with write_transaction(db.sessions) as session:
            for name in sorted(teams, key=str.lower):
                resolver.team(session, name)
            for name in sorted(agents, key=str.lower):
                resolver.agent(session, name, resolver.team(session, agents[name]))
    except Exception:
        # Rolled back: forget the ids handed out, so none that does not exist is used.
        resolver.restore(saved)
        raise


def _write_rows(
    session: Session, resolver: OrgResolver, batch: list[ParsedRow], parser: RowParser, source: str
) -> tuple[list[Reject], _Written]:
    """Upsert the batch's rows in the caller's transaction; the rows refused at write time, and what was written."""
    columns = parser.columns
    full = ["source", "external_id", *[c for c in columns if c != "external_id"]]
    updated = [c for c in parser.updated_columns if c != "external_id"]
    kept = _kept_times(parser.updated_columns)
    sqlite = session.connection().dialect.name == "sqlite"
    # SQLite: the batch holds the write lock, so a check now holds at the write.
    # PostgreSQL: the upsert's guard skips such rows as it writes (see _upsert).
    conflicts = _stored_conflicts(session, source, batch, parser.updated_columns) if sqlite else {}
    rows = []
    for parsed in batch:
        values = parsed.values
        if values["external_id"] in conflicts:
            continue
        values["source"] = source
        # Every name is known by now (_create_names): these are lookups, not writes.
        team_id = resolver.team(session, parsed.team_name) if "team_id" in columns else None
        if "team_id" in columns:
            values["team_id"] = team_id
        if "agent_id" in columns:
            values["agent_id"] = resolver.agent(session, parsed.agent_name, team_id)
        rows.append(tuple(values.get(c) for c in full))
    written = _Written()
    if rows:
        _check_references(session, rows, full)
        written = _upsert(session, full, rows, updated, kept)
    if not sqlite:
        skipped = [p for p in batch if p.values["external_id"] in written.skipped]
        conflicts = _stored_conflicts(session, source, skipped, parser.updated_columns)
    rejects = [
        Reject(p.line, [conflicts.get(p.values["external_id"], STORED_CONFLICT)], p.raw or [])
        for p in batch
        if p.values["external_id"] in conflicts or p.values["external_id"] in written.skipped
    ]
    return rejects, written


STORED_CONFLICT = "created_at is after a first reply or solve stored for this ticket that the file has no column to change"


def _write_rejects(path: Path, header: list[str], rejects: list[Reject]) -> Path:
    out = path.with_name(path.stem + ".rejects.csv")
    return write_csv(out, [["row", "reason", *header], *([r.row, "; ".join(r.reasons), *r.values] for r in rejects)])
