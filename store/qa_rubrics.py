"""QA rubric versions: each change of the org file's `qa:` section is a new version.

A review keeps the version it was scored with, so changing the rubric
changes only the reviews made after. A file without `qa:` retires the
latest version (QA reviews stop until a rubric is applied again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCSeconds


class QaRubricVersion(Base):
    __tablename__ = "qa_rubrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    pass_mark: Mapped[str] = mapped_column(String(16))  # decimal text, as written
    hide_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCSeconds)
    retired_at: Mapped[datetime | None] = mapped_column(UTCSeconds)


def latest(session: Session) -> QaRubricVersion | None:
    return session.scalar(select(QaRubricVersion).order_by(QaRubricVersion.version.desc()).limit(1))


def current(session: Session) -> QaRubricVersion | None:
    """The rubric new reviews are scored with, or None when QA is not set up (or was retired)."""
    row = latest(session)
    return row if row is not None and row.retired_at is None else None
