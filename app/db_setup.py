"""Database engine behaviour that the stock rules rely on."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITE = {"stock_write": True}


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record):
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # Take over transaction control from the sqlite3 module so that writes
    # can begin with BEGIN IMMEDIATE (see _begin below).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the floor read stock while a scan writes; the busy timeout
    # makes a second writer wait for the first instead of failing with
    # "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@event.listens_for(Engine, "begin")
def _begin(conn):
    if conn.dialect.name != "sqlite":
        return
    # A stock write takes SQLite's write lock before it reads the balance,
    # so two handhelds can never both read "1 left" and both take it.
    if conn.get_execution_options().get("stock_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
