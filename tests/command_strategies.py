"""Hypothesis strategies for what a stranger or a careless user can type into a chat command.

Three families: arbitrary text (the hostile path), commands built from the real
grammar and then mutated (typos, dropped and swapped words), and KPI windows,
both every valid form and the near-misses people actually type. Also the
moments ("now", `--at`) a window is resolved at, biased towards the edges:
DST changes, the first and last days csbot supports, and far outside them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import strategies as st

UTC = timezone.utc

# Characters that have broken or fooled text handling somewhere, by kind, so
# each kind is drawn often: NUL and other controls, lone surrogates (valid in
# JSON, not encodable as UTF-8), bidi overrides and marks, odd spaces,
# typographic quotes, other scripts' digits, case-mapping oddities, emoji parts
# and noncharacters.
TRICKY_CHARS = {
    "controls": "\x00\x01\x1b\x7f\x85\t\n\r\x0b\x0c",
    "surrogates": "\ud800\udfff\ud83d\udc00",
    "bidi": "\u200e\u200f\u202a\u202e\u2066\u2069\u200b\ufeff",
    "spaces": "\u00a0\u2007\u202f\u3000\u2028\u2029",
    "quotes": '"\'\u201c\u201d\u201e\u2018\u2019\\`',
    "digits": "\uff17\u0663\u0967\u00b2\u2460\u00bd",
    "case": "\u0130\u00df\ufb01\u212a\u03a3",
    "emoji": "\U0001f600\u200d\U0001f1ea\ufe0f",
    "nonchars": "\ufffe\uffff\U0010ffff\ufffd",
}

# Whole words with a meaning somewhere in the grammar, or in Slack and Teams markup.
TRICKY_WORDS = (
    "--", "---", "--=", "--share", "--share=yes", "--sort", "--sort=", "--sort=csat", "--SORT", "-h", "--help",
    "help", "?", "@", "@@alice", "@alice", "<@U0123ABCD|alice>", "<@U0123ABCD>", "<@UNKNOWN>", "<!channel>",
    "<at>csbot</at>", "\"", '""', '"unclosed', "'", "..", "/", "//kpi", "/kpi", "kpi", "/csbot",
    "team", "teams", "agent", "me", "org", "null", "None", "NaN", "Infinity", "-1", "0", "1e309",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\U0001f1ea\U0001f1fa", "\u202eevil\u202c", "\u200fRTL\u200e",
)

_any_char = st.one_of(st.characters(), *(st.sampled_from(chars) for chars in TRICKY_CHARS.values()))


def _chars(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    # A list joined, not st.text(_any_char): text() merges the alphabet into one
    # set of code points, and the few tricky ones would almost never be drawn.
    return st.lists(_any_char, min_size=min_size, max_size=max_size).map("".join)


_word = st.one_of(
    _chars(min_size=1),
    _chars(min_size=1),
    st.sampled_from(TRICKY_WORDS),
    st.integers(min_value=100, max_value=1500).map(lambda n: "w" * n),  # a very long word
)


@st.composite
def any_text(draw: st.DrawFn) -> str:
    """Anything at all, often shaped like words; sometimes longer than the command limit."""
    choice = draw(st.integers(0, 19))
    if choice == 0:
        return "x" * draw(st.integers(3990, 4010))  # either side of the command length limit
    if choice <= 2:
        return draw(_chars(max_size=60))
    words = draw(st.lists(_word, max_size=8))
    separators = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000", ""])
    return "".join(w + draw(separators) for w in words)


# ---- KPI windows ---------------------------------------------------------

KEYWORD_WINDOWS = ("today", "yesterday", "week", "last-week", "month", "last-month")
FIRST_SUPPORTED = date(1970, 1, 1)
LAST_SUPPORTED = date(2099, 12, 31)
_supported_days = st.dates(min_value=FIRST_SUPPORTED, max_value=LAST_SUPPORTED)


@st.composite
def _valid_range(draw: st.DrawFn) -> str:
    first = draw(_supported_days)
    last = min(first + timedelta(days=draw(st.integers(0, 729))), LAST_SUPPORTED)
    return f"{first.isoformat()}..{last.isoformat()}"


# Windows as people say them (kpi.windows.canonical), each with a canonical form.
NATURAL_WINDOWS = (
    "last week", "this week", "last month", "this month", "Last Week", "since monday", "since friday", "since last week",
    "since yesterday", "since today", "since november", "monday", "sunday", "last friday", "last monday", "november",
    "nov", "dec", "january", "past 7 days", "last 30 days", "last 2 weeks", "this-week", "this-month", "tue",
)  # fmt: skip


@st.composite
def _natural_dated(draw: st.DrawFn) -> str:
    """Natural phrases with dates in them: `since D`, `D to D`, `from D to D`, `between D and D`, `nov 2025`, `2025-11`."""
    first = draw(_supported_days)
    last = min(first + timedelta(days=draw(st.integers(0, 400))), LAST_SUPPORTED)
    month = draw(st.sampled_from(("jan", "february", "mar", "sept", "november", "dec")))
    return draw(
        st.sampled_from(
            (f"since {first}", f"{first} to {last}", f"{first} - {last}", f"{first} \u2013 {last}", f"from {first} to {last}",
             f"between {first} and {last}", f"{first} until {last}", f"{month} {first.year}", f"{first:%Y-%m}", f"since {first:%Y-%m}")
        )
    )  # fmt: skip


def valid_windows() -> st.SearchStrategy[str]:
    """Every form the README lists, with values inside what csbot accepts."""
    return st.one_of(
        st.sampled_from(KEYWORD_WINDOWS),
        st.sampled_from(KEYWORD_WINDOWS).map(str.upper),
        st.integers(1, 730).map(lambda n: f"{n}d"),
        _supported_days.map(date.isoformat),
        _valid_range(),
        st.sampled_from(NATURAL_WINDOWS),
        _natural_dated(),
    )


# Digits of other scripts a keyboard or an input method may produce.
_DIGIT_SCRIPTS = (
    str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19"),  # full width
    str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"),  # Arabic-Indic
    str.maketrans("0123456789", "\u0966\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f"),  # Devanagari
)

NEAR_MISS_WINDOWS = (
    "0d", "-5d", "00d", "731d", "9999d", "99999999999999999999d", "1e3d", "7 d", "7days", "7D", "d", "7", "+7d",
    "2026-02-30", "2026-13-01", "2026-00-10", "2026-02-29", "2024-02-29", "9999-12-31", "0001-01-01", "0000-01-01",
    "1969-12-31", "2100-01-01", "2099-12-31", "1970-01-01", "2026-3-1", "26-03-01", "2026/03/01", "2026-03-01T00:00",
    "2026-03-10..2026-03-01", "1900-01-01..2100-01-01", "0001-01-01..0001-01-03", "9999-12-25..9999-12-31",
    "1969-12-01..1970-01-31", "2099-12-01..2100-01-31", "2026-03-01..", "..2026-03-01", "2026-03-01...2026-03-02",
    "2026-03-01..2026-03-01", "2024-02-28..2026-02-28", "2024-03-01..2026-02-28",
    "last-year", "last-weeks", "lastweek", "last weak", "since", "since 7d", "since forever", "next week", "novmber",
    "tomorrow", "week-1", "month-", "2026-13", "1969-12", "2100-01", "from 2026-03-01 to", "between 2026-03-01 2026-03-05",
)


@st.composite
def _date_like(draw: st.DrawFn) -> str:
    """YYYY-MM-DD shapes with any numbers in them, real dates or not."""
    y, m, d = draw(st.integers(0, 99999)), draw(st.integers(0, 99)), draw(st.integers(0, 99))
    return f"{y:04d}-{m:02d}-{d:02d}"


def near_miss_windows() -> st.SearchStrategy[str]:
    """What people type when they mean a window and get it slightly (or badly) wrong."""
    return st.one_of(
        st.sampled_from(NEAR_MISS_WINDOWS),
        st.integers(min_value=-(10**25), max_value=10**25).map(lambda n: f"{n}d"),
        _date_like(),
        st.tuples(_date_like(), _date_like()).map(lambda p: f"{p[0]}..{p[1]}"),
        st.tuples(_supported_days, _supported_days).map(lambda p: f"{max(p).isoformat()}..{min(p).isoformat()}"),
        st.tuples(valid_windows(), st.sampled_from(_DIGIT_SCRIPTS)).map(lambda p: p[0].translate(p[1])),
    )


def windows() -> st.SearchStrategy[str]:
    return st.one_of(valid_windows(), near_miss_windows())


# ---- Moments a window is resolved at ("now", `--at`) ---------------------

DST_ZONES = (
    "Europe/Berlin", "America/New_York", "America/Sao_Paulo", "Australia/Lord_Howe", "Europe/Dublin",
    "Africa/Casablanca", "Antarctica/Troll", "America/St_Johns", "Pacific/Chatham", "America/Santiago",
)
# Zones whose calendar once skipped a whole day (they crossed the date line).
DAY_SKIPPING_ZONES = ("Pacific/Apia", "Pacific/Fakaofo", "Pacific/Kwajalein", "Pacific/Kiritimati")


@cache
def all_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


@cache
def offset_changes(zone: str, years: tuple[int, ...] = (1970, 1971, 1993, 2011, 2026, 2099)) -> tuple[datetime, ...]:
    """UTC instants (to the second) at which `zone`'s offset from UTC changes in `years`."""
    tz = ZoneInfo(zone)

    def offset(t: datetime) -> timedelta | None:
        return t.astimezone(tz).utcoffset()

    found = []
    for year in years:
        day = datetime(year, 1, 1, tzinfo=UTC)
        while day.year == year:
            nxt = day + timedelta(days=1)
            if offset(day) != offset(nxt):
                lo, hi = day, nxt  # the change is in (lo, hi]: bisect to the second
                while hi - lo > timedelta(seconds=1):
                    mid = lo + (hi - lo) / 2
                    lo, hi = (lo, mid) if offset(mid) != offset(lo) else (mid, hi)
                found.append(hi.replace(microsecond=0))
            day = nxt
    return tuple(found)


_edge_days = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
_fixed_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """An aware "now": ordinary, near a DST change, near 1970 or 2100, or anywhere datetime allows."""
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)))
    if choice == 1:
        zone = draw(st.sampled_from(DST_ZONES + DAY_SKIPPING_ZONES))
        changes = offset_changes(zone)
        if changes:
            around = draw(st.sampled_from(changes))
            return around + timedelta(seconds=draw(st.integers(-9 * 86400, 9 * 86400)))
    if choice == 2:
        around = draw(st.sampled_from(_edge_days))
        return around + timedelta(seconds=draw(st.integers(-3 * 86400, 3 * 86400)))
    if choice == 3:
        # Any instant datetime can hold, seen from any offset (what a forged `at` can say).
        return draw(st.datetimes(timezones=_fixed_offsets))
    return draw(st.datetimes(min_value=datetime(1969, 1, 1), max_value=datetime(2101, 1, 1), timezones=st.just(UTC)))


# ---- Commands built from the real grammar --------------------------------

TEAM_REFS = (
    "support-emea", "support-amer", "SUPPORT-EMEA", '"Support EMEA"', "Support EMEA", '"support americas"',
    "\u201cSupport EMEA\u201d", "suport-emea", '"Support', "nosuch", '""', "support-emea support-amer",
)
MEMBER_REFS = (
    "alice", "@alice", "@ALICE", "<@U0123ABCD|alice>", "<@U0123ABCD>", "<@U0123ABCF>", "<@UNKNOWN>", "carol",
    "@dana", "root", "bob", "alice@example.com", '"Alice Smith"', "Alice Smith", "@alcie", "@", '""',
    "<@U0123ABCD|Alice Smith>", '<@U0123ABCD|a\\"b>', "<@U0123ABCD|a\\\\b>", "'alice'", "alice\\",
)
KPI_FLAGS = (
    "--share", "--SHARE", "--sort csat", "--sort=backlog", "--sort team", "--sort TEAM", "--sort first_reply_median_s",
    "--sort happiness", "--sort", "--shar", "--share=yes", "--sort=", "--", "-h",
)
KPI_KINDS = ("team", "agent", "me", "teams", "org", "TEAM", "Me", "tem", "kpi", "help", "")
CSBOT_WORDS = ("help", "HELP", "--help", "?", "whoami", "teams", "kpi", "/kpi", "csbot", "nosuch", "please", "-h")


def _slot(known: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A grammar slot: usually a meaningful value, sometimes anything at all."""
    return st.one_of(st.sampled_from(known), st.sampled_from(known), _word)


@st.composite
def kpi_command(draw: st.DrawFn) -> str:
    words = [draw(st.sampled_from(["/kpi", "kpi", "/KPI", "/Kpi"]))]
    kind = draw(st.sampled_from(KPI_KINDS))
    if kind:
        words.append(kind)
    if kind.lower() in ("team", "tem", "") and draw(st.booleans()):
        words.append(draw(_slot(TEAM_REFS)))
    if kind.lower() in ("agent", "me") and draw(st.booleans()):
        words.append(draw(_slot(MEMBER_REFS)))
    if draw(st.booleans()):
        words.append(draw(windows()))
    words += draw(st.lists(_slot(KPI_FLAGS), max_size=3))
    return " ".join(words)


@st.composite
def csbot_command(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["/csbot", "csbot", "/CSBOT", "/csbto"]))
    return " ".join([head, *draw(st.lists(_slot(CSBOT_WORDS), max_size=3))])


@st.composite
def mutated(draw: st.DrawFn, commands: st.SearchStrategy[str]) -> str:
    """A command with the slips people make: dropped, doubled, swapped, re-cased or foreign words."""
    words = draw(commands).split(" ")
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["drop", "double", "swap", "case", "insert", "quote"]))
        i = draw(st.integers(0, max(0, len(words) - 1)))
        if op == "drop" and words:
            words.pop(i)
        elif op == "double" and words:
            words.insert(i, words[i])
        elif op == "swap" and len(words) > 1:
            j = draw(st.integers(0, len(words) - 1))
            words[i], words[j] = words[j], words[i]
        elif op == "case" and words:
            words[i] = words[i].swapcase()
        elif op == "insert":
            words.insert(i, draw(_word))
        elif op == "quote" and words:
            words[i] = draw(st.sampled_from(['"', "\u201c", "'"])) + words[i]
    return " ".join(words)


def commands() -> st.SearchStrategy[str]:
    """Grammatical commands, their mutations, and prefixes of the grammar followed by anything."""
    grammatical = st.one_of(kpi_command(), csbot_command())
    prefix = st.sampled_from(["/kpi ", "/kpi team ", "/kpi agent ", "/kpi me ", "/kpi teams --sort ", "/csbot help ", "kpi "])
    return st.one_of(
        grammatical,
        mutated(grammatical),
        st.tuples(prefix, any_text()).map("".join),
    )
