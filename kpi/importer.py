"""`csbot import tickets`: a CSV export into the tickets table.

Rows are upserted by (source, external_id), in batches of one transaction
each: a crash loses at most the batch in flight, and re-running the same file
finishes the job without duplicating anything. Several rows for one ticket
(an event log) leave the ticket in the last row's state, and a row that
changes nothing stored is not written. Each ticket is counted once, as
inserted, updated or unchanged.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kpi import import_indexes
from kpi.day_facts import refresh_database
from kpi.import_rejects import Reject, RejectsFile, rejects_path
from kpi.mapping import REQUIRED, Mapping, header_key
from kpi.resolver import OrgResolver
from kpi.sla import stamp_rows
from kpi.ticket_rows import ParsedRow, RowParser, utc_text
from kpi.tickets import Ticket
from store.busy import is_conflict
from store.database import Database
from store.engine import begin_write, write_transaction
from store.name_characters import unwanted_character
from store.org import Member, Team
from store.quoting import clip

# Rows per batch (one transaction). PostgreSQL pays a fixed cost per batch
# (a temporary table, a planned statement, a commit): a million rows took
# 62.6 s in batches of 10,000 and 51.4 s in batches of 25,000. SQLite holds
# its one write lock for a batch, so webhook events wait less behind smaller ones.
BATCH_ROWS = {"postgresql": 25_000, "sqlite": 10_000}
# Spreadsheet exports can hold very long cells (descriptions); allow them.
csv.field_size_limit(16 * 1024 * 1024)


class ImportRefused(Exception):
    """The file cannot be imported at all (missing columns, or --strict with bad rows).

    `problems` lists at most KEPT bad rows (and a line saying how many more);
    `total` counts them all, and `rejects_file` holds every one.
    """

    def __init__(self, problems: list[str], *, total: int | None = None, rejects_file: Path | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.total = len(problems) if total is None else total
        self.rejects_file = rejects_file


@dataclass
class ImportResult:
    """What an import did. `inserted`, `updated` and `unchanged` count tickets,
    each once however many rows name it; `merged` counts the rows that named a
    ticket several rows of the file named, `merged_tickets` those tickets."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    merged_tickets: int = 0
    rejected: list[Reject] = field(default_factory=list)  # the first KEPT rejected rows, by row
    rejected_count: int = 0  # every rejected row (all of them are in rejects_file)
    teams_created: list[str] = field(default_factory=list)
    agents_created: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejects_file: Path | None = None
    stale_rejects_removed: Path | None = None  # an earlier run's rejects file, removed: this run rejected nothing
    stale_rejects_kept: str | None = None  # why such a file could not be removed

    def summary(self) -> str:
        line = (
            f"{self.rows:,} rows: {self.inserted:,} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.rejected_count:,} rejected, "
        )
        if self.merged:
            tickets = "ticket" if self.merged_tickets == 1 else "tickets"
            line += f"{self.merged:,} rows merged into {self.merged_tickets:,} {tickets}, "
        line += (
            f"{len(self.teams_created)} teams created, "
            f"{len(self.agents_created)} agents created in {self.seconds:.1f} s"
        )
        if self.stale_rejects_removed is not None:
            line += f"; removed {self.stale_rejects_removed.name} left by an earlier run (no row was rejected this time)"
        elif self.stale_rejects_kept is not None:
            line += f"; {self.stale_rejects_kept}"
        return line

    def as_data(self) -> dict[str, Any]:
        """The counts as plain data (`csbot import tickets --json`)."""
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "merged_tickets": self.merged_tickets,
            "rejected": self.rejected_count,
            # The first few, as the summary shows them; every one is in rejects_file.
            "first_rejected": [{"row": r.row, "reasons": list(r.reasons)} for r in self.rejected],
            "teams_created": list(self.teams_created),
            "agents_created": list(self.agents_created),
            "seconds": round(self.seconds, 3),
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "stale_rejects_removed": str(self.stale_rejects_removed) if self.stale_rejects_removed else None,
        }


@dataclass
class _Written:
    """What one batch's upsert did: how many tickets it inserted and their ids
    as (first, last) ranges, the tickets that existed before it as (external
    id, ticket id, whether the row changed it), the external ids
    PostgreSQL's WHERE skipped (see _upsert), and the new tickets that
    several rows of the file made."""

    inserted: int = 0
    new_ids: list[tuple[int, int]] = field(default_factory=list)
    existing: list[tuple[str, int, bool]] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    new_merged: list[tuple[int, int]] = field(default_factory=list)  # (ticket id, rows) of new tickets several rows made
    refused_merged: list[int] = field(default_factory=list)  # rows of each ticket whose last of several rows was refused


def _stored(session: Session, source: str, external_ids: list[str], columns: list[str]) -> dict[str, tuple[Any, ...]]:
    """The stored `columns` of the tickets named, by external id, as the database holds them.

    Untyped columns on purpose: times stay epoch seconds, comparable with a
    parsed row's values as they are. Plain driver SQL: this runs for every
    batch with 10,000 ids, where building the statement through SQLAlchemy's
    expanding IN cost more than the lookup itself.
    """
    if not external_ids:
        return {}
    conn = session.connection()
    selected = ", ".join(["external_id", *columns])
    out: dict[str, tuple[Any, ...]] = {}
    if conn.dialect.name == "postgresql":
        query = f"SELECT {selected} FROM tickets WHERE source = %s AND external_id = ANY(%s)"
        for row in conn.exec_driver_sql(query, (source, list(external_ids))):
            out[row[0]] = tuple(row[1:])
        return out
    per = _sqlite_parameter_limit() - 1  # less the source
    for i in range(0, len(external_ids), per):
        chunk = external_ids[i : i + per]
        query = f"SELECT {selected} FROM tickets WHERE source = ? AND external_id IN ({', '.join('?' * len(chunk))})"
        for row in conn.exec_driver_sql(query, (source, *chunk)):
            out[row[0]] = tuple(row[1:])
    return out


def _upsert(
    session: Session, columns: list[str], rows: list[tuple[Any, ...]], updated: list[str], kept: list[str]
) -> _Written:
    """INSERT … ON CONFLICT (source, external_id) DO UPDATE for a batch, below the ORM.

    Values are already database-level, and this path is what keeps a
    million-row import inside a minute. An existing ticket gets only the
    `updated` columns (the file's own), and only when one of them differs
    from what is stored: a row that changes nothing is not written. The rest
    of the columns are for new tickets.
    SQLite: the stored values of the batch's tickets are read first and
    compared here, and the rows that change something run as one prepared
    statement, all under the batch's write lock, so what existed before and
    the ids added after are exact.
    PostgreSQL: COPY into a temporary table, then one INSERT … SELECT (per-row
    statements cost a parse and plan each there), in external-id order so two
    imports lock shared tickets in the same order and never deadlock. Other
    writers go on meanwhile, so the statement says what it did (RETURNING;
    xmax is 0 for a row it inserted). Its WHERE skips a ticket whose values
    are those of the row, and (a guard) one whose `kept` time (stored, not in
    the file) another writer has just moved before the new created_at,
    instead of failing the batch on the table's check; the caller tells the
    two apart.
    """
    conn = session.connection()
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in updated)
    conflict = f"ON CONFLICT (source, external_id) DO UPDATE SET {updates}"
    ids_at = columns.index("external_id")
    if conn.dialect.name != "postgresql":
        source = rows[0][columns.index("source")]
        stored = _stored(session, source, [row[ids_at] for row in rows], ["id", *updated])
        at = [columns.index(c) for c in updated]
        written = _Written()
        changing = []
        for row in rows:
            found = stored.get(row[ids_at])
            if found is None:
                changing.append(row)
                continue
            # SQLite hands back a boolean as 0 or 1, which compare equal to False and True.
            changed = found[1:] != tuple(row[i] for i in at)
            written.existing.append((row[ids_at], found[0], changed))
            if changed:
                changing.append(row)
        written.inserted = len(rows) - len(stored)
        if changing:
            marks = "(" + ", ".join("?" for _ in columns) + ")"
            before = conn.exec_driver_sql("SELECT max(id) FROM tickets").scalar() or 0
            # Many rows per statement, not one statement per row: with the
            # tickets triggers (kpi.day_facts) and CHECK constraints, SQLite
            # opens a statement journal per statement, which doubled the
            # import time when each row was its own statement.
            per = _rows_per_statement(len(columns))
            for i in range(0, len(changing), per):
                chunk = changing[i : i + per]
                values = ", ".join(marks for _ in chunk)
                conn.exec_driver_sql(
                    f"INSERT INTO tickets ({names}) VALUES {values} {conflict}", tuple(v for row in chunk for v in row)
                )
            after = conn.exec_driver_sql("SELECT max(id) FROM tickets").scalar() or 0
            written.new_ids = [(before + 1, after)] if after > before else []
        return written
    # Dropped at commit: the next batch (maybe of a file with other columns) makes its own.
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE import_batch ON COMMIT DROP AS SELECT {names} FROM tickets WITH NO DATA"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY import_batch ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    differs = f"({', '.join(f'tickets.{c}' for c in updated)}) IS DISTINCT FROM ({', '.join(f'excluded.{c}' for c in updated)})"
    guard = [f"(tickets.{c} IS NULL OR excluded.created_at <= tickets.{c})" for c in kept]
    result = conn.exec_driver_sql(
        f"INSERT INTO tickets ({names}) SELECT {names} FROM import_batch ORDER BY external_id "
        f"{conflict} WHERE {' AND '.join([differs, *guard])} RETURNING external_id, id, xmax = 0"
    )
    returned = result.all()
    written_ids = {row[0] for row in returned}
    return _Written(
        inserted=sum(1 for _, _, inserted in returned if inserted),
        existing=[(external_id, ticket_id, True) for external_id, ticket_id, inserted in returned if not inserted],
        skipped={row[ids_at] for row in rows if row[ids_at] not in written_ids},
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


# The separators a file may use, as messages name them. Spreadsheets where the
# decimal mark is a comma (much of Europe) save "CSV" with semicolons.
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}
# How much of the first line is read to tell the separator.
HEADER_SNIFF_CHARS = 1 << 20
UNCLOSED_QUOTE = "a quote opened on this line is never closed; the lines after it are read as rows of their own"


class _Lines:
    """The file's lines for the csv reader, keeping those of the record being read.

    A record that spans lines (a quoted cell with line breaks) can then be
    checked, and when a quote that was never closed swallowed the lines after
    it, those lines are handed out again to be read as rows of their own.
    """

    __slots__ = ("_file", "_again", "taken", "number", "ended")

    def __init__(self, fh: IO[str]) -> None:
        self._file = fh
        self._again: deque[str] = deque()
        self.taken: list[str] = []
        self.number = 0  # the line number of the last line handed out
        self.ended = False  # the reader asked past the last line (reset by the caller per record)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            text = self._again.popleft()
        else:
            text = self._file.readline()
            if not text:
                self.ended = True
                raise StopIteration
        self.taken.append(text)
        self.number += 1
        return text

    def read_again(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))
        self.number -= len(lines)


def _one_clean_record(lines: list[str], delimiter: str) -> bool:
    """True when `lines` are one well-formed record: every quote closed, and followed by a separator or the line's end.

    The reader itself is lenient (a stray quote inside a cell is kept as
    text); a cell with line breaks gets this stricter look, because a quote
    that was never closed also looks like one.
    """
    try:
        return sum(1 for _ in csv.reader(lines, delimiter=delimiter, strict=True)) == 1
    except csv.Error:
        return False


def _records(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[str], str | None]]:
    """(line where it starts, cells, why it cannot be read) for every record after the header.

    A record the csv module cannot read is reported, not raised: the reader
    resumes at the next line, so one bad record costs one row. A quote that
    is never closed is reported at the line where it opens, and the lines it
    swallowed are read again as rows. (Plain tuples: this runs a million
    times per large file.)
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            next(reader, None)
        except csv.Error:
            return
        taken = lines.taken
        while True:
            line = lines.number + 1
            taken.clear()
            lines.ended = False
            try:
                cells = next(reader)
                # A record that needed the end of the file to end is a quoted cell that never closed.
                unclosed = lines.ended or (len(taken) > 1 and not _one_clean_record(taken, delimiter))
            except StopIteration:
                return
            except csv.Error as exc:
                # Across lines, the error is a cell that ran past the reader's limit: an unclosed quote.
                unclosed = len(taken) > 1
                if not unclosed:
                    yield line, [], f"cannot read this row: {exc}"
                    continue
            if unclosed:
                opening, *after = taken
                lines.read_again(after)
                yield line, _cells_of_line(opening, delimiter), UNCLOSED_QUOTE
                continue
            yield line, cells, None


def _cells_of_line(text: str, delimiter: str) -> list[str]:
    """One line's cells as far as they can be read (for the rejects file)."""
    try:
        return next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter), [])
    except csv.Error:
        return [text.rstrip("\r\n")]


def _header(path: Path, delimiter: str) -> list[str] | None:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        lines = _Lines(fh)
        try:
            header = next(csv.reader(lines, delimiter=delimiter), None)
        except csv.Error as exc:
            raise ImportRefused([f"{path}: cannot read the header line: {exc}"]) from None
    if header is not None and (lines.ended or (len(lines.taken) > 1 and not _one_clean_record(lines.taken, delimiter))):
        # Read on, it would swallow the rows: refuse rather than import none of them.
        raise ImportRefused([f"{path}: a quote opened on the header line is never closed"])
    return header


def _first_line(path: Path) -> str:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return fh.readline(HEADER_SNIFF_CHARS).rstrip("\r\n")


def _finds_required(mapping: Mapping, names: list[str]) -> tuple[bool, int]:
    bound, _ = mapping.bind(names)
    return all(f in bound for f in REQUIRED), len(bound)


def _delimiter(path: Path, mapping: Mapping) -> str:
    """The separator that splits the header line into the columns the mapping needs.

    Commas, semicolons and tabs are read. Another character that would split
    the header into those columns refuses the file, naming it: such a file
    is rare enough that a wrong guess (a `-` inside column names) is likelier
    than a file really separated by it. With no fit at all, the separator
    giving the most columns, so the problems name the file's own columns.
    """
    first = _first_line(path)
    # (needed columns found, columns bound, columns, earlier in DELIMITERS): the highest fits best.
    fits: dict[str, tuple[bool, int, int, int]] = {}
    for order, delimiter in enumerate(DELIMITERS):
        names = _cells_of_line(first, delimiter)
        found, bound = _finds_required(mapping, names)
        if found and delimiter == ",":
            return ","  # the usual file, decided on the first try
        fits[delimiter] = (found, bound, len(names), -order)
    best = max(fits, key=lambda d: fits[d])
    if fits[best][0]:
        return best
    for char in sorted(set(first)):
        if char in DELIMITERS or char.isalnum() or char in "\"'_" or not char.isprintable():
            continue
        if _finds_required(mapping, first.split(char))[0]:
            raise ImportRefused(
                [
                    f"{path}: its columns are separated by {_delimiter_name(char)}, which csbot does not read; "
                    "save the file separated by commas (CSV), semicolons or tabs"
                ]
            )
    return max(fits, key=lambda d: fits[d][2:])


def _delimiter_name(char: str) -> str:
    return DELIMITERS.get(char) or ("spaces" if char == " " else repr(char))


def _column_label(i: int) -> str:
    """Column 3 is `3 (C)`: the number, and the letter a spreadsheet shows."""
    letters, n = "", i + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{i + 1} ({letters})"


def _repeated_columns(path: Path, header: list[str]) -> list[str]:
    """A problem for each column name the header gives more than once (as the mapping matches names)."""
    columns: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        key = header_key(name)
        if key:  # unnamed columns (a spreadsheet's trailing separators) are never read
            columns.setdefault(key, []).append(i)
    problems = []
    for at in columns.values():
        if len(at) > 1:
            where = ", ".join(f"{clip(header[i])} in column {_column_label(i)}" for i in at[:5])
            if len(at) > 5:
                where += f" … ({len(at):,} times)"
            problems.append(f"{path}: the header repeats a column name: {where}; rename or remove all but one, so it is clear which to read")
    return problems


def _header_as_read(header: list[str], delimiter: str) -> str:
    shown = ", ".join(clip(name) for name in header[:8]) + (f", … ({len(header)} columns)" if len(header) > 8 else "")
    return f"its header line, read with {DELIMITERS[delimiter]} between columns, is: {shown}"


def import_tickets(
    db: Database,
    path: Path,
    mapping: Mapping,
    *,
    source: str,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_rows: int | None = None,
) -> ImportResult:
    """Import `path`; raises ImportRefused when nothing may be written."""
    started = time.perf_counter()
    batch_rows = batch_rows or BATCH_ROWS.get(db.backend, 10_000)
    result = ImportResult()
    if not source.strip() or len(source) > SOURCE_MAX or "\0" in source:
        raise ImportRefused([f"source: {source[:40]!r} must be a name of 1 to {SOURCE_MAX} characters"])
    if (unwanted := unwanted_character(source)) is not None:
        raise ImportRefused([f"source: {source[:40]!r} holds {unwanted}; an id must be one line of visible text"])
    try:
        _check_encoding(path)
        delimiter = _delimiter(path, mapping)
        header = _header(path, delimiter)
    except OSError as exc:
        raise ImportRefused([f"{path}: cannot read it ({type(exc).__name__}: {exc})"]) from None
    if header is None:
        raise ImportRefused([f"{path}: the file is empty"])
    if repeated := _repeated_columns(path, header):
        raise ImportRefused(repeated)
    bound, problems = mapping.bind(header)
    if problems:
        raise ImportRefused([*(f"{path}: {p}" for p in problems), f"{path}: {_header_as_read(header, delimiter)}"])
    parser = RowParser(mapping, bound)

    if strict:
        _refuse_bad_rows(db, path, header, delimiter, parser, source, batch_rows)

    with db.sessions() as session:
        baseline = session.scalar(select(func.max(Ticket.id))) or 0
        resolver = OrgResolver(session)
    counted = _Counted(baseline)
    rejects = RejectsFile(path, header)
    if import_indexes.worth_deferring(db, _rows_estimate(path)):
        import_indexes.defer(db)
    try:
        with _BatchWriter(db, resolver, parser, source, counted, result, rejects) as writer:
            batch: dict[str, ParsedRow] = {}
            for parsed in _parsed_rows(path, delimiter, parser, result, rejects):
                if parsed is None:
                    if rejects.crowded:
                        # The open batch's rows come before the waiting rejects: write it now.
                        writer.drain(batch)
                        batch = {}
                    continue
                # Within a batch the last row of a ticket wins; across batches the later batch does.
                earlier = batch.pop(parsed.values["external_id"], None)
                if earlier is not None:
                    parsed.rows = earlier.rows + 1
                batch[parsed.values["external_id"]] = parsed
                if len(batch) >= batch_rows:
                    writer.submit(batch)
                    batch = {}
                    if progress:
                        progress(result.rows)
            writer.drain(batch)
        result.rejects_file = rejects.finish()
    except BaseException:
        rejects.discard()
        try:
            import_indexes.restore(db)
        except Exception:
            pass  # the import's own error is the one to report; the next import or `csbot serve` restores them
        raise
    # Set aside for the load, or left missing by an earlier import that was killed.
    import_indexes.restore(db)
    result.rejected, result.rejected_count = rejects.first, rejects.count
    result.teams_created = list(resolver.teams_created)
    result.agents_created = list(resolver.agents_created)
    if progress:
        progress(result.rows)
    if result.inserted or result.updated:
        # Count the days the import touched now, so the first /kpi after it
        # reads days, not every ticket (kpi.day_facts).
        refresh_database(db)
        # Fresh statistics after a bulk load keep the KPI queries on their
        # indexes; on PostgreSQL, VACUUM also sets the visibility map so the
        # backlog counts are index-only scans instead of a heap visit per row.
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM (ANALYZE) tickets" if db.backend == "postgresql" else "ANALYZE tickets")
    if not result.rejected_count:
        _remove_stale_rejects(path, result)
    result.seconds = time.perf_counter() - started
    return result


def _parsed_rows(
    path: Path, delimiter: str, parser: RowParser, result: ImportResult, rejects: RejectsFile
) -> Iterator[ParsedRow | None]:
    """The file's rows, counted in `result`: each good row parsed, None for a bad one (added to `rejects`)."""
    for line, cells, error in _records(path, delimiter):
        if error is not None:
            result.rows += 1
            rejects.add(Reject(line, [error], cells))
            yield None
            continue
        if not "".join(cells).strip():
            continue  # blank lines are not rows
        result.rows += 1
        parsed, reasons = parser.parse(cells)
        if parsed is None:
            rejects.add(Reject(line, reasons, cells))
            yield None
            continue
        parsed.line, parsed.raw = line, cells
        yield parsed


def _rows_estimate(path: Path) -> int:
    """About how many rows `path` holds: its size over the mean length of its first lines."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1 << 18)
    lines = head.count(b"\n")
    if size <= len(head) or not lines:
        return lines
    return int(size / (len(head) / lines))


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


def _refuse_bad_rows(
    db: Database, path: Path, header: list[str], delimiter: str, parser: RowParser, source: str, chunk: int
) -> None:
    """--strict: ImportRefused listing the first rows it would refuse, with every one in the rejects file."""
    rejects = RejectsFile(path, header)
    try:
        _validate_all(db, path, delimiter, parser, source, chunk, rejects)
        rejects_file = rejects.finish()
    except BaseException:
        rejects.discard()
        raise
    if rejects_file is None:
        return
    problems = [f"row {r.row}: {'; '.join(r.reasons)}" for r in rejects.first]
    if rejects.count > len(rejects.first):
        problems.append(f"… and {rejects.count - len(rejects.first):,} more rows; every refused row is in {rejects_file}")
    raise ImportRefused(problems, total=rejects.count, rejects_file=rejects_file)


def _validate_all(
    db: Database, path: Path, delimiter: str, parser: RowParser, source: str, chunk: int, rejects: RejectsFile
) -> None:
    """Add to `rejects` every row --strict would refuse: bad in itself, or at odds with the stored ticket."""
    scratch = ImportResult()
    rows: list[ParsedRow] = []

    def stored_conflicts() -> None:
        with db.sessions() as session:
            conflicts = _stored_conflicts(session, source, rows, parser.updated_columns)
        for parsed in rows:
            if parsed.values["external_id"] in conflicts:
                rejects.add(Reject(parsed.line, [conflicts[parsed.values["external_id"]]], parsed.raw or []))
        rows.clear()
        rejects.settle()

    for parsed in _parsed_rows(path, delimiter, parser, scratch, rejects):
        if parsed is None:
            if rejects.crowded:
                stored_conflicts()
            continue
        rows.append(parsed)
        if len(rows) >= chunk:
            stored_conflicts()
    stored_conflicts()


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


def _sqlite_parameter_limit() -> int:
    """SQLite's limit on bound parameters per statement."""
    import sqlite3

    return 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def _rows_per_statement(columns: int) -> int:
    """Rows per multi-row INSERT within SQLite's limit on bound parameters."""
    return max(1, min(1000, _sqlite_parameter_limit() // columns))


@contextmanager
def _batch_session(db: Database) -> Iterator[Session]:
    """One transaction for one batch.

    PostgreSQL: see the comment below. SQLite: per-row foreign-key enforcement makes the upsert of a ticket
    several times slower once the table has its KPI indexes (measured: 7.0 s
    against 2.6 s for 200,000 rows). The ids a batch writes come from the
    resolver and are verified in bulk by _check_references inside the same
    transaction, so the batch turns per-row enforcement off for its own
    connection only, and back on before the connection returns to the pool.
    """
    if db.backend != "sqlite":
        with write_transaction(db.sessions) as session:
            # A batch's commit does not wait for its WAL to reach the disk
            # (100 waits for a million rows). A server crash can then lose the
            # last batches committed, never part of one: the database stays
            # consistent and running the file again finishes the job.
            session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield session
        return
    with db.engine.connect() as conn:
        # Outside a transaction: SQLite ignores this pragma inside one.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # The statement journal of each multi-row INSERT (a copy of every page
        # it touches, for a rollback of that statement) in memory rather than
        # a temporary file (a few MB per statement; measured 3 s of a million rows).
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
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
            conn.exec_driver_sql("PRAGMA temp_store=DEFAULT")
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


_SEEN, _CHANGED, _MULTI = 1, 2, 4


class _Counted:
    """What the counts need to count each ticket once, however many batches name it.

    A ticket may come back in a later batch (an event log, an export sorted
    by time): a ticket its first batch left unchanged is updated if a later
    row changes it, and a ticket named by rows of two batches is merged.
    So each ticket id touched keeps a few marks (seen, changed, named by
    several rows), four bits, two ids to a byte: a million tickets cost
    500 KB, not a set of a million strings. `ours` holds the id ranges this
    import's batches inserted (ids only grow), to tell a ticket this file
    inserted in an earlier batch (counted then) from one another writer, such
    as a webhook event, created meanwhile.
    """

    def __init__(self, baseline: int) -> None:
        self.baseline = baseline
        self._marks = bytearray()
        self.ours: list[tuple[int, int]] = []

    def inserted_by_us(self, ticket_id: int) -> bool:
        at = bisect.bisect_right(self.ours, (ticket_id, math.inf)) - 1
        return at >= 0 and self.ours[at][0] <= ticket_id <= self.ours[at][1]

    def marks(self, ticket_id: int) -> int:
        byte = ticket_id >> 1
        return (self._marks[byte] >> ((ticket_id & 1) << 2)) & 15 if byte < len(self._marks) else 0

    def mark(self, ticket_id: int, marks: int) -> None:
        byte, shift = ticket_id >> 1, (ticket_id & 1) << 2
        if byte >= len(self._marks):
            self._marks.extend(bytes(max(byte + 1 - len(self._marks), len(self._marks) // 2)))
        self._marks[byte] = (self._marks[byte] & (0xF0 >> shift)) | (marks << shift)

    def count(self, written: _Written, batch: dict[str, ParsedRow], result: ImportResult) -> None:
        result.inserted += written.inserted
        self.ours.extend(written.new_ids)
        for ticket_id, rows in written.new_merged:
            self.mark(ticket_id, _MULTI)
            result.merged_tickets += 1
            result.merged += rows
        for rows in written.refused_merged:
            # The last row is a rejected row; the ones before it merged into it all the same.
            result.merged_tickets += 1
            result.merged += rows
        for external_id, ticket_id, changed in written.existing:
            rows = batch[external_id].rows
            marks = before = self.marks(ticket_id)
            ours = ticket_id > self.baseline and self.inserted_by_us(ticket_id)
            named_before = ours or marks & _SEEN
            if marks & _MULTI:
                result.merged += rows
            elif named_before or rows > 1:
                # Named by one row before (that row counts now), or by several rows of this batch.
                result.merged_tickets += 1
                result.merged += rows + (1 if named_before else 0)
                marks |= _MULTI
            if ours:
                pass  # counted as inserted by its first batch
            elif not marks & _SEEN:
                marks |= _SEEN | (_CHANGED if changed else 0)
                if changed:
                    result.updated += 1
                else:
                    result.unchanged += 1
            elif changed and not marks & _CHANGED:
                marks |= _CHANGED
                result.unchanged -= 1
                result.updated += 1
            if marks != before:
                self.mark(ticket_id, marks)


# A deadlock or serialisation failure cancels the batch; running it again gets past it.
BATCH_ATTEMPTS = 3


class _BatchWriter:
    """Writes batches on a thread of its own, one at a time and in file order, while the caller reads the next.

    Reading and checking rows is Python; writing them is mostly the
    database's work (PostgreSQL's server process, or SQLite's library, which
    lets go of the interpreter while it runs), so on two cores the two
    overlap. At most one batch is in flight: memory stays two batches
    whatever the file. What a batch did is counted, and its refused rows
    added, on the caller's thread when the next batch is handed over, so
    the counts, the rejects file and the resolver each have one user at a
    time. Leaving the `with` waits for the batch in flight, so an error in
    the caller (or a stop) never leaves a batch half-written.
    """

    def __init__(
        self,
        db: Database,
        resolver: OrgResolver,
        parser: RowParser,
        source: str,
        counted: _Counted,
        result: ImportResult,
        rejects: RejectsFile,
    ) -> None:
        self._args = (db, resolver, parser, source)
        self._counted, self._result, self._rejects = counted, result, rejects
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csbot-import")
        self._flight: tuple[Future[tuple[list[Reject], _Written]], dict[str, ParsedRow]] | None = None

    def __enter__(self) -> _BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)

    def submit(self, batch: dict[str, ParsedRow]) -> None:
        """Start writing `batch` once the one in flight is written and counted."""
        self._finish(before=min(p.line for p in batch.values()))
        self._flight = (self._pool.submit(_write_batch, *self._args, batch), batch)

    def drain(self, batch: dict[str, ParsedRow]) -> None:
        """Write `batch` (maybe empty) after the one in flight, and wait for both; every waiting reject is then settled."""
        if batch:
            self.submit(batch)
        self._finish(before=None)

    def _finish(self, *, before: int | None) -> None:
        """Count the batch in flight (raising its error) and settle the rejects before line `before`."""
        if self._flight is not None:
            future, batch = self._flight
            self._flight = None
            refused, written = future.result()
            for reject in refused:
                self._rejects.add(reject)
            self._counted.count(written, batch, self._result)
        # The rows of the batch about to be written come after every row written so far.
        self._rejects.settle(below=before)


def _write_batch(
    db: Database, resolver: OrgResolver, parser: RowParser, source: str, batch: dict[str, ParsedRow]
) -> tuple[list[Reject], _Written]:
    """Create the batch's new names, then upsert its rows (again after a deadlock); the rows refused, and what was written."""
    with_team, with_agent = "team_id" in parser.columns, "agent_id" in parser.columns
    if with_team or with_agent:
        _create_names(db, resolver, batch.values(), with_team=with_team, with_agent=with_agent)
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with _batch_session(db) as session:
                return _write_rows(session, resolver, batch, parser, source)
        except Exception as exc:
            if attempt < BATCH_ATTEMPTS and is_conflict(exc):
                continue
            raise
    raise AssertionError("unreachable")


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
    session: Session, resolver: OrgResolver, batch: dict[str, ParsedRow], parser: RowParser, source: str
) -> tuple[list[Reject], _Written]:
    """Upsert the batch's rows in the caller's transaction; the rows refused at write time, and what was written."""
    columns = parser.columns
    full = ["source", "external_id", *[c for c in columns if c != "external_id"]]
    updated = [c for c in parser.updated_columns if c != "external_id"]
    kept = _kept_times(parser.updated_columns)
    sqlite = session.connection().dialect.name == "sqlite"
    # SQLite: the batch holds the write lock, so a check now holds at the write.
    # PostgreSQL: the upsert's guard skips such rows as it writes (see _upsert).
    conflicts = _stored_conflicts(session, source, list(batch.values()), parser.updated_columns) if sqlite else {}
    rows = []
    for parsed in batch.values():
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
        rows.append(tuple(map(values.get, full)))
    written = _Written()
    if rows:
        # New tickets' SLA policy and due times; not the file's columns, so stored tickets keep theirs.
        full, rows = stamp_rows(session, full, rows)
        _check_references(session, rows, full)
        written = _upsert(session, full, rows, updated, kept)
    refused: dict[str, str] = conflicts
    if written.skipped:
        refused = _unwritten(session, source, batch, written, rows, full, updated, parser.updated_columns)
    several = [external_id for external_id, parsed in batch.items() if parsed.rows > 1]
    if several:
        known = {external_id for external_id, _, _ in written.existing} | refused.keys()
        new = [external_id for external_id in several if external_id not in known]
        ids = _stored(session, source, new, ["id"])
        written.new_merged = [(ids[external_id][0], batch[external_id].rows) for external_id in new if external_id in ids]
        written.refused_merged = [batch[external_id].rows for external_id in several if external_id in refused]
    rejects = [Reject(batch[external_id].line, [reason], batch[external_id].raw or []) for external_id, reason in refused.items()]
    return rejects, written


def _unwritten(
    session: Session,
    source: str,
    batch: dict[str, ParsedRow],
    written: _Written,
    rows: list[tuple[Any, ...]],
    full: list[str],
    updated: list[str],
    provided: list[str],
) -> dict[str, str]:
    """Sort the rows PostgreSQL's upsert skipped: the reason for each refused one; the rest are unchanged tickets.

    The upsert locked every ticket it met, written or not, so what this reads
    is what its WHERE saw.
    """
    skipped = [batch[external_id] for external_id in written.skipped]
    refused = _stored_conflicts(session, source, skipped, provided)
    others = [p.values["external_id"] for p in skipped if p.values["external_id"] not in refused]
    stored = _stored(session, source, others, ["id", *updated])
    ids_at, at = full.index("external_id"), [full.index(c) for c in updated]
    row_of = {row[ids_at]: row for row in rows}
    for external_id in others:
        found = stored.get(external_id)
        if found is not None and found[1:] == tuple(row_of[external_id][i] for i in at):
            written.existing.append((external_id, found[0], False))
        else:
            refused[external_id] = STORED_CONFLICT  # moved and moved back meanwhile: say so rather than guess
    return refused


STORED_CONFLICT = "created_at is after a first reply or solve stored for this ticket that the file has no column to change"


def _remove_stale_rejects(path: Path, result: ImportResult) -> None:
    """Remove the rejects file an earlier run of this file left: this run rejected nothing, so it is out of date."""
    stale = rejects_path(path)
    if not stale.is_file():
        return
    try:
        stale.unlink()
    except OSError as exc:
        result.stale_rejects_kept = f"could not remove {stale.name} left by an earlier run ({exc.strerror or exc}); it is out of date"
        return
    result.stale_rejects_removed = stale
