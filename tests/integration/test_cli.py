"""The command line: set-up, demo, users, tokens, imports, check-ledger."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Balance, Bin, Item, Movement, PurchaseOrder, User
from tests.builders import make_site


@pytest.fixture
def app(tmp_path):
    """A database built by the migrations, as `make run` builds it."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/cli.db"})
    app.instance_path = str(tmp_path / "instance")  # demo-accounts.txt goes here, not into the checkout
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_the_demo_site_is_realistic_and_its_ledger_is_exact(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert db.session.execute(select(func.count(Item.id))).scalar_one() == 300
    assert db.session.execute(select(func.count(Bin.id))).scalar_one() >= 300
    sums = db.session.execute(select(func.sum(Balance.o), func.sum(Balance.u), func.sum(Balance.l),
                                     func.sum(Balance.v), func.sum(Balance.t), func.sum(Balance.a))).one()
    assert all(v > 0 for v in sums), sums  # stock in every bucket
    statuses = dict(db.session.execute(select(PurchaseOrder.number, PurchaseOrder.status)).all())
    assert statuses.pop("PO-2026-0001") == "open" and statuses and set(statuses.values()) == {"received"}
    # Expiry to try: a short-dated lot, and a lot past its date that the daily command books expired.
    from datetime import date, timedelta

    from app.models import BinStock, Lot

    lots = dict(db.session.execute(select(Lot.number, Lot.expiry).where(Lot.number.in_(("LSHORT1", "LPAST01")))).all())
    assert lots == {"LSHORT1": date.today() + timedelta(days=5), "LPAST01": date.today() - timedelta(days=1)}
    assert runner.invoke(args=["expire-lots"]).output.strip() == "6 unit(s) expired"
    db.session.rollback()
    assert db.session.execute(select(BinStock.qty).where(BinStock.lot == "LPAST01",
                                                         BinStock.condition == "expired")).scalar_one() == 6
    # A serial-tracked item to try: extension cords, each received with its serial.
    from app.models import Serial

    cords = db.session.execute(select(Item).where(Item.serial_tracked.is_(True))).scalars().all()
    assert cords and all(c.name.startswith("Extension cord") for c in cords)
    assert db.session.execute(select(func.count(Serial.id)).where(Serial.status == "in_stock")).scalar_one() > 0
    # Sales channels to try, each publishing by its rule (Amazon: 60 % of S less 2; eBay capped at 20).
    from app.models import Channel
    from app.services import channels

    shown = {c.code: channels.availability(db.session, c) for c in db.session.execute(select(Channel)).scalars()}
    assert set(shown) == {"shop", "amazon", "ebay", "shopify"}
    assert max(r["available"] for r in shown["ebay"]) == 20 and all(r["available"] >= 0 for r in shown["amazon"])
    # Suppliers to plan with, and a plan that proposes orders.
    from app.models import ItemSupplier

    assert db.session.execute(select(func.count(ItemSupplier.id))).scalar_one() == 300
    assert "item(s) need ordering" in runner.invoke(args=["plan"]).output
    # Pick faces to try: six, two of them (or more, after a damage tag) at their minimum already.
    from app.models import PickFace, Warehouse
    from app.services import replenishing

    assert db.session.execute(select(func.count(PickFace.id))).scalar_one() == 6
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    assert sum(f["low"] for f in replenishing.faces(db.session, main)) >= 2
    # Half a year of trade, made through the services: old stock, demand, purchases, losses, a plan.
    from datetime import datetime

    from app.services import losses, planning, valuation

    first = db.session.execute(select(func.min(Movement.created_at))).scalar_one()
    assert (datetime.now() - first).days >= 180
    shipped_days = db.session.execute(select(func.count(func.distinct(func.date(Movement.created_at))))
                                      .where(Movement.kind == "ship")).scalar_one()
    assert shipped_days >= 60
    assert any(r.plan.propose for r in planning.plan_rows(db.session, main))
    assert any(t.dest.code == "MAIN" for t in planning.transfer_proposals(db.session))
    aged, _totals = planning.ageing(db.session, main)
    assert any(a.slow for a in aged) and not all(a.slow for a in aged)
    report = losses.report(db.session, main, 26)
    assert len(report.by_week) >= 8 and report.total.value > 0
    assert valuation.turnover(db.session, main, 90).ratio > 0
    check = runner.invoke(args=["check-ledger"])
    assert check.exit_code == 0 and check.output.strip().endswith("ok")
    assert "already holds" in runner.invoke(args=["demo"]).output


def test_check_ledger_prints_each_difference_and_exits_1(runner):
    runner.invoke(args=["demo", "--history-days", "0"])  # the quicker demo: no half year of trade
    db.session.execute(Balance.__table__.update().where(Balance.id == 1).values(i=Balance.i + 1, s=Balance.s + 1))
    db.session.commit()
    result = runner.invoke(args=["check-ledger"])
    assert result.exit_code == 1 and "stored I=" in result.output and "1 difference" in result.output


def test_init_db_runs_the_migrations_on_an_empty_database(tmp_path):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db", "SECRET_KEY": "x", "TESTING": True})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from sqlalchemy import inspect

        assert {"movements", "balances", "bin_stock"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_users_are_created_with_a_hashed_password_and_tokens_are_shown_once(runner):
    result = runner.invoke(args=["create-user", "--username", "anna", "--role", "supervisor", "--password", "s3cret!"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.username == "anna")).scalar_one()
    assert user.password_hash != "s3cret!" and user.check_password("s3cret!") and user.role == "supervisor"
    token = runner.invoke(args=["create-token", "--user", "anna"]).output.strip()
    assert len(token) > 30
    assert runner.invoke(args=["create-token", "--user", "nobody"]).exit_code != 0


@pytest.fixture
def csv_file(tmp_path):
    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_an_items_file_with_bad_rows_names_each_row_and_changes_nothing(runner, csv_file):
    path = csv_file("items.csv", "sku,name,barcode\nOK-1,Good item,4006381333931\n,No sku,\nBAD-2,Bad code,4006381333932\n")
    result = runner.invoke(args=["import", "items", path])
    assert result.exit_code == 1
    assert "row 3: sku is empty" in result.output and "row 4: barcode 4006381333932: check digit should be 1" in result.output
    assert db.session.execute(select(func.count(Item.id))).scalar_one() == 0


def test_a_dry_run_reports_and_changes_nothing_and_a_real_run_imports(runner, csv_file):
    path = csv_file("items.csv", "sku,name,barcode,case_barcode,case_qty\nOK-1,Good item,4006381333931,14006381333938,12\n")
    dry = runner.invoke(args=["import", "items", "--dry-run", path])
    assert dry.exit_code == 0 and "would import 1 row" in dry.output
    assert db.session.execute(select(func.count(Item.id))).scalar_one() == 0
    real = runner.invoke(args=["import", "items", path])
    assert real.exit_code == 0 and "1 new" in real.output
    db.session.rollback()
    assert db.session.execute(select(func.count(Item.id))).scalar_one() == 1


def test_bins_and_stock_import_and_a_second_stock_import_books_nothing_twice(runner, csv_file, app):
    make_site(items=2)
    bins = csv_file("bins.csv", "warehouse,code,type,walk_order\nW1,C-01,storage,500\nW3,X-1,storage,1\n")
    bad = runner.invoke(args=["import", "bins", bins])
    assert bad.exit_code == 1 and "row 3: unknown warehouse W3" in bad.output
    bins = csv_file("bins2.csv", "warehouse,code,type,walk_order,warehouse_name\nW1,C-01,storage,500,\nW3,X-1,storage,1,Third\n")
    assert runner.invoke(args=["import", "bins", bins]).exit_code == 0
    stock = csv_file("stock.csv", "warehouse,bin,sku,qty,lot,expiry\nW1,C-01,SKU-1,5,L1,2027-01-31\nW3,X-1,SKU-2,2,,\n")
    assert runner.invoke(args=["import", "stock", stock]).exit_code == 0
    again = runner.invoke(args=["import", "stock", stock])
    assert again.exit_code == 0 and "0 new, 2 updated" in again.output
    db.session.rollback()
    assert db.session.execute(select(func.count(Movement.id))).scalar_one() == 2
    assert runner.invoke(args=["check-ledger"]).output.strip().endswith("ok")


def test_a_stock_file_with_bad_rows_books_nothing(runner, csv_file, app):
    make_site(items=1)
    stock = csv_file("s.csv", "warehouse,bin,sku,qty,expiry\nW1,A-01,SKU-1,5,\nW1,A-01,SKU-1,-2,\nW1,ZZ,SKU-9,1,31.12.2027\n")
    result = runner.invoke(args=["import", "stock", stock])
    assert result.exit_code == 1
    for msg in ("row 3: Quantity must be at least 1", "row 4: unknown bin 'ZZ'", "row 4: unknown sku 'SKU-9'", "row 4: expiry"):
        assert msg in result.output
    assert db.session.execute(select(func.count(Movement.id))).scalar_one() == 0


def test_a_file_missing_a_column_says_which(runner, csv_file):
    result = runner.invoke(args=["import", "stock", csv_file("s.csv", "warehouse,sku\nW1,SKU-1\n")])
    assert result.exit_code == 1 and "lacks the column(s) bin, qty" in result.output


def test_an_items_file_with_a_malformed_case_quantity_names_the_row_instead_of_a_traceback(runner, csv_file, app):
    items = csv_file("items.csv", "sku,name,barcode,case_barcode,case_qty\n"
                                  "NEW-1,New item,,14006381333931,--5\nNEW-2,Other,,,\n")
    result = runner.invoke(args=["import", "items", items])
    assert result.exit_code == 1, result.output
    assert "row 2: case_qty must be a whole number" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_demo_accounts_get_random_passwords_printed_once_and_kept_for_this_user_only(runner, app):
    import os
    import stat
    from pathlib import Path

    from app.services import demo as demo_service

    result = runner.invoke(args=["demo", "--history-days", "0"])
    assert result.exit_code == 0, result.output
    kept = Path(app.instance_path) / demo_service.ACCOUNTS_FILE
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    rows = {line.split()[0]: line.split()[1] for line in kept.read_text().splitlines() if not line.startswith("#")}
    assert set(rows) == {"admin", "super", "picker"}
    for name, password in rows.items():
        assert password in result.output and password != name and len(password) >= 14
        user = db.session.execute(select(User).where(User.username == name)).scalar_one()
        assert user.check_password(password) and not user.check_password(name)
    # Another site gets other passwords.
    assert demo_service.new_password() != demo_service.new_password()
    again = runner.invoke(args=["ensure-demo"])
    assert "demo-accounts.txt" in again.output and rows["admin"] not in again.output
