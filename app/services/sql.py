"""Plain SQL for the statements every scan runs, inside the caller's session and transaction.

An ORM load costs about 100 µs of Python and a compiled Core statement about
70 µs; the same statement handed to the driver costs under 20 µs. A scan runs
a dozen of them, so the ledger's hot path (balances, bin rows, the movement
row, the scan log) is written here as SQL text. Statements use `?`
placeholders; on PostgreSQL they become `%s` once and are cached.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=512)
def _format_style(sql: str) -> str:
    return sql.replace("?", "%s")


def run(session, sql: str, params: tuple = ()):
    """Execute `sql` in the session's current transaction; returns the driver's result (rows by name)."""
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = _format_style(sql)
    return conn.exec_driver_sql(sql, params)


def one(session, sql: str, params: tuple = ()):
    """The first row, or None."""
    return run(session, sql, params).first()


def value(session, sql: str, params: tuple = ()):
    """The first column of the first row, or None."""
    row = run(session, sql, params).first()
    return None if row is None else row[0]


def is_postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def for_update(session) -> str:
    """The row-lock clause: PostgreSQL locks rows; SQLite's BEGIN IMMEDIATE already holds the write lock."""
    return " FOR UPDATE" if is_postgres(session) else ""


def stamp(session, when):
    """A datetime as the column stores it: SQLAlchemy's text form on SQLite, the value itself elsewhere."""
    if when is None or is_postgres(session):
        return when
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")


def day(session, when):
    if when is None or is_postgres(session):
        return when
    return when.isoformat()


def as_datetime(value):
    """A datetime read by plain SQL: SQLite hands back the stored text."""
    if isinstance(value, str):
        from datetime import datetime

        return datetime.fromisoformat(value)
    return value
