"""One use case, one transaction: leaving the block without commit() rolls back."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..db_setup import WRITE, keep_loaded, write_gate
from ..extensions import db


class UnitOfWork:
    """A session of its own for one stock write.

    It is separate from the request's session, so that whatever the page
    read before (the signed-in user, say) is not part of the write, and on
    SQLite it begins with BEGIN IMMEDIATE: the write lock comes first.
    """

    def __init__(self, engine=None, write: bool = True, keep: bool = False, read_first: bool = False):
        self.engine = engine
        self.write = write
        # Read first, then lock(): what the session reads before lock() is read in a transaction of
        # its own, with no write lock held; the caller re-checks it under the lock.
        self.read_first = read_first
        self.keep = keep  # hold what it loads (see db_setup.keep_loaded); not for sessions that stream
        self.session: Session | None = None
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        engine = self.engine or db.engine
        self.session = Session(engine, expire_on_commit=False, autoflush=False)
        if self.keep:
            keep_loaded(self.session)
        self._gate = None
        self.locked = False
        # PostgreSQL locks rows, not the database: reading first would only add a transaction.
        if self.write and (not self.read_first or engine.dialect.name != "sqlite"):
            self.lock()
        return self

    def lock(self) -> None:
        """Take the write lock (SQLite: the gate, then BEGIN IMMEDIATE). Whatever the session read
        before stays loaded (the read transaction ends without expiring it); a row that others may
        have changed since must be checked again under the lock."""
        if self.locked:
            return
        self.locked = True
        if self.session.in_transaction():
            self.session.commit()  # nothing pending: ends the read transaction, keeps what it loaded
        self._gate = write_gate(self.session.get_bind())
        if self._gate is not None:
            self._gate.acquire()
        try:
            self.session.connection(execution_options=WRITE)
        except BaseException:
            self._open_gate()
            raise

    def _open_gate(self) -> None:
        if self._gate is not None:
            gate, self._gate = self._gate, None
            gate.release()

    def commit(self) -> None:
        try:
            self.session.commit()
            self.committed = True
        finally:
            # Whatever runs after the commit (drawing the screen) reads; the next writer may go.
            self._open_gate()

    def rollback(self) -> None:
        try:
            self.session.rollback()
        finally:
            self._open_gate()

    def __exit__(self, *exc) -> None:
        try:
            if not self.committed:
                self.session.rollback()
            self.session.close()
        finally:
            self._open_gate()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name
