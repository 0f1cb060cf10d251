"""Database engine behaviour that the stock rules rely on."""

import fcntl
import os
import sqlite3
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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


class WriteGate:
    """Stock writers on one SQLite file wait their turn here, before BEGIN IMMEDIATE.

    SQLite lets one writer in at a time and makes the others poll, sleeping
    1, 2, 5, 10 ms and longer between tries: under load a waiting scan
    sleeps on past the moment the lock came free. A blocking flock() on a
    file beside the database wakes the next writer as soon as the last one
    commits. The busy timeout still covers writers that do not pass here
    (the command line, a second program). The lock is a thread lock (threads
    of one process share a file descriptor, and flock does not tell them
    apart) plus the flock, taken anew in each process: a forked worker must
    not share its parent's lock. A process that dies loses its lock with it.
    """

    def __init__(self, path: str):
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd = None
        self._pid = None

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                if self._pid != os.getpid():
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(engine: Engine) -> WriteGate | None:
    """The gate of an SQLite file database; None for PostgreSQL (row locks) and in-memory databases."""
    url = engine.url
    if os.environ.get("WH_NO_GATE"):
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = os.path.abspath(url.database) + ".writer"
    with _gates_lock:
        gate = _gates.get(path)
        if gate is None:
            gate = _gates[path] = WriteGate(path)
        return gate


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session, instance):
    keep = session.info.get("keep_loaded")
    if keep is not None:
        keep.append(instance)


def keep_loaded(session) -> None:
    """Hold every row this session loads until it closes.

    The session's identity map holds rows weakly: a row the code read and let
    go (a task's bin, say) is read again by the next lookup. A scan's
    session is short and loads a few dozen rows, so keeping them is cheap;
    a session that streams a large result must not call this.
    """
    session.info.setdefault("keep_loaded", [])
