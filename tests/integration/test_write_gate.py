"""The write gate: stock writers on one SQLite file take turns on a file lock before BEGIN IMMEDIATE."""

import fcntl
import os
import threading
import time

import pytest

from app.db_setup import WriteGate, write_gate
from app.extensions import db
from app.services.uow import UnitOfWork


def _free(path) -> bool:
    """Whether another process could take the lock now (a fresh descriptor, never blocking)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_second_writer_thread_waits_until_the_first_lets_go(tmp_path):
    gate = WriteGate(str(tmp_path / "db.writer"))
    gate.acquire()
    got_in = threading.Event()

    def second():
        gate.acquire()
        got_in.set()
        gate.release()

    t = threading.Thread(target=second)
    t.start()
    assert not got_in.wait(0.3), "the second writer went in while the first held the gate"
    gate.release()
    assert got_in.wait(10)
    t.join()
    assert _free(gate.path)


def test_a_forked_worker_takes_the_lock_for_itself_rather_than_sharing_its_parents(tmp_path):
    gate = WriteGate(str(tmp_path / "db.writer"))
    gate.acquire()  # the parent's descriptor now exists and holds the lock
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker forked after the app was loaded
        try:
            os.close(read_end)
            # Only this thread is copied into the child; the parent's holding of the
            # thread lock must not count here, only the file lock may keep it out.
            gate._thread_lock = threading.RLock()
            gate._depth = 0
            gate.acquire()
            os.write(write_end, b"in")
            gate.release()
        finally:
            os._exit(0)
    os.close(write_end)
    os.set_blocking(read_end, False)
    time.sleep(0.3)
    with pytest.raises(BlockingIOError):
        os.read(read_end, 2)  # still waiting: the parent holds the lock
    gate.release()
    os.set_blocking(read_end, True)
    assert os.read(read_end, 2) == b"in"
    os.waitpid(pid, 0)


def test_a_unit_of_work_opens_the_gate_after_commit_and_after_a_failure(app):
    with app.app_context():
        gate = write_gate(db.engine)
        assert gate is not None
        with UnitOfWork() as uow:
            assert not _free(gate.path)
            uow.commit()
            assert _free(gate.path), "the gate stays shut after the commit"
        with pytest.raises(RuntimeError):
            with UnitOfWork():
                raise RuntimeError("a scan that failed half way")
        assert _free(gate.path)
        assert gate._depth == 0


def test_reads_and_postgresql_do_not_use_the_gate(app):
    from sqlalchemy import create_engine

    with app.app_context():
        with UnitOfWork(write=False):
            assert _free(write_gate(db.engine).path)
    assert write_gate(create_engine("postgresql+psycopg://u@localhost/x")) is None
    assert write_gate(create_engine("sqlite://")) is None
