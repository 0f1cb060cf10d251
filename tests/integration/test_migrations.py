"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db


def test_the_migrations_match_the_models(db_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == []


def test_the_channels_migration_upgrades_a_site_with_stock_in_place(tmp_path):
    """Adding warehouses.channel_id must not copy the warehouses table: on SQLite that drops the table
    every bin, balance and order refers to, and the upgrade fails on a site with data."""
    from sqlalchemy import text

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "SECRET_KEY": "x",
                      "TESTING": True})
    with app.app_context():
        upgrade(revision="d0f2a4b6c8e1")
        db.session.execute(text("INSERT INTO warehouses (id, code, name, scan_settings, count_settings, plan_settings)"
                                " VALUES (1, 'W1', 'Main', '{}', '{}', '{}')"))
        db.session.execute(text("INSERT INTO bins (warehouse_id, code, type, walk_order) VALUES (1, 'A-01', 'storage', 1)"))
        db.session.execute(text("INSERT INTO orders (channel, external_id, warehouse_id, status, short, created_at)"
                                " VALUES ('shop', 'o-1', 1, 'open', 0, '2026-12-01 10:00:00')"))
        db.session.commit()
        upgrade()
        assert db.session.execute(text("SELECT count(*) FROM bins")).scalar() == 1
        assert db.session.execute(text("SELECT channel_id FROM warehouses")).all() == [(None,)]
        assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
        db.engine.dispose()
