"""One use case, one transaction: leaving the block without commit() rolls back."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..db_setup import WRITE
from ..extensions import db


class UnitOfWork:
    """A session of its own for one stock write.

    It is separate from the request's session, so that whatever the page
    read before (the signed-in user, say) is not part of the write, and on
    SQLite it begins with BEGIN IMMEDIATE: the write lock comes first.
    """

    def __init__(self, engine=None, write: bool = True):
        self.engine = engine
        self.write = write
        self.session: Session | None = None
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine or db.engine, expire_on_commit=False, autoflush=False)
        if self.write:
            self.session.connection(execution_options=WRITE)
        return self

    def commit(self) -> None:
        self.session.commit()
        self.committed = True

    def rollback(self) -> None:
        self.session.rollback()

    def __exit__(self, *exc) -> None:
        if not self.committed:
            self.session.rollback()
        self.session.close()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name
