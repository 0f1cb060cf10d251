"""Fixtures in the style of Flask's tutorial: app, client, runner, a fresh
database for every test. `db_url` runs a test on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools

import pytest

from app import create_app
from app.extensions import db
from tests.pg import PostgresServer

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    server = PostgresServer().start()
    yield server
    server.stop()


def _sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"t{next(_counter)}")


def _make_app(url: str, tmp_path, **extra):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "STOCK_CHANGES_SETTLE_SECONDS": 0,
            **extra,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(tmp_path):
    """A fresh SQLite database; most tests need nothing more."""
    app = _make_app(_sqlite_url(tmp_path), tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def any_app(db_url, tmp_path):
    """The same test on SQLite and on PostgreSQL."""
    app = _make_app(db_url, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
