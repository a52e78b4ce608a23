"""Charts and files csbot serves by link (Teams cards show an image by URL and offer a file by one), and the key that signs the links."""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCSeconds


class ChartImage(Base):
    """A chart (PNG) or a file (a CSV of figures) served at a signed link until `expires_at`."""

    __tablename__ = "chart_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)  # the content: a chart's PNG, or the file's bytes
    media_type: Mapped[str] = mapped_column(String(64), server_default="image/png", default="image/png")
    filename: Mapped[str | None] = mapped_column(String(120))  # a file's name, for the download
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    expires_at: Mapped[datetime] = mapped_column(UTCSeconds, index=True)


class AppKey(Base):
    """Secrets csbot makes for itself, shared by every replica through the database."""

    __tablename__ = "app_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


def read_app_key(session: Session, name: str) -> str | None:
    """The key called `name` if it has been made, without making it (a read, for anonymous routes)."""
    return session.scalar(select(AppKey.value).where(AppKey.name == name))


class KnownKey:
    """One app key, read from the database until found and then kept: a key is made once and never changes.

    Anonymous routes check a link's signature against it in memory, so a forged
    link costs no database work at all.
    """

    # Until the key is made, "no key" is believed this long: a flood of forged links to a
    # csbot that has never made one must not cost a read per request either.
    MISSING_FOR_S = 1.0

    def __init__(self, name: str) -> None:
        self.name = name
        self.value: str | None = None
        self._missing_at = float("-inf")

    @property
    def known_missing(self) -> bool:
        """True when the key was looked for less than MISSING_FOR_S ago and was not there."""
        return self.value is None and time.monotonic() - self._missing_at < self.MISSING_FOR_S

    def read(self, session: Session) -> str | None:
        if self.value is None:
            self.value = read_app_key(session, self.name)
            if self.value is None:
                self._missing_at = time.monotonic()
        return self.value


def app_key(session: Session, name: str) -> str:
    """The key called `name`, made (64 random hex digits) the first time any replica asks."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(AppKey).values(name=name, value=secrets.token_hex(32)).on_conflict_do_nothing(index_elements=["name"]))
    value = session.scalar(select(AppKey.value).where(AppKey.name == name))
    assert value is not None
    return value
