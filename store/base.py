"""Declarative base and column types shared by every table."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCSeconds(TypeDecorator[datetime]):
    """An aware UTC datetime stored as whole seconds since the Unix epoch.

    Integers make durations (`first_reply_at - created_at`) exact integer
    arithmetic on SQLite and PostgreSQL alike, and keep indexes small; the
    Python side always sees timezone-aware UTC datetimes.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return int(value.timestamp() // 1)

    def process_result_value(self, value: int | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(value, tz=timezone.utc)


def to_epoch(value: datetime) -> int:
    """The integer a UTCSeconds column stores for `value` (for raw SQL bounds)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; attach a time zone first")
    return int(value.timestamp() // 1)
