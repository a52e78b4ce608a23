"""Who holds a lease: this process, named so that a later incarnation of it can tell it is gone.

An outbox row claimed by a process that then died waits out its lease (2 or
10 minutes) before anyone else takes it. A claimant names host, process id
and the process's start (from /proc where there is one: the kernel's boot id
and the process's start tick, so a reused pid, as in a container where
csbot is always pid 1, does not look like the same process). A process on
the same host can then tell for certain that a claimant is gone, and take
its rows back at once. Claimants on other hosts are never judged: their
rows wait for the lease, as before.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Claimant:
    host: str
    pid: int
    started: str  # what tells this process apart from another one with the same pid

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"[:160]

    @classmethod
    def parse(cls, text: str | None) -> Claimant | None:
        """The claimant a `claimed_by` value names; None for anything else (rows claimed before claimants existed)."""
        parts = (text or "").rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])


def start_token(pid: int) -> str | None:
    """The start of process `pid` as the kernel tells it (boot id + start tick); None without /proc or without that process."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()[:8]
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counts from after the command name, which may itself hold spaces or parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{boot}-{fields[19]}"


@functools.cache
def this_process() -> Claimant:
    """This process as a claimant (computed once)."""
    pid = os.getpid()
    return Claimant(socket.gethostname()[:64], pid, start_token(pid) or uuid.uuid4().hex[:12])


def is_gone(claimant: Claimant, me: Claimant | None = None) -> bool:
    """True only when `claimant` is certainly not running: on this host, and its pid is free or another process's.

    `me` is the asking process (default: this one); a claimant on another
    host is never judged gone (its rows wait for their lease).
    """
    me = me or this_process()
    if claimant.host != me.host:
        return False
    if claimant == me:
        return False
    if claimant.pid == me.pid:
        return True  # same pid, another start: an earlier incarnation of this process
    token = start_token(claimant.pid)
    if token is not None:
        return token != claimant.started
    if (PROC / "self").exists():
        return True  # /proc is there and has no such process
    try:
        os.kill(claimant.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a process of another user holds that pid: it may be the claimant
    return False


def is_abandoned(claimed_by: str, me: Claimant | None = None) -> bool:
    """True when the `claimed_by` of a row names a claimant that is certainly gone (see is_gone)."""
    claimant = Claimant.parse(claimed_by)
    return claimant is not None and is_gone(claimant, me)
