"""Losses and returns from the ledger (issue 21): damage, expiry and scrap by reason, zone, item and
week, in units and at cost; counts found missing or extra; returns by item, channel and reason with
what became of them and each item's return rate."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from app.extensions import db
from app.models import Bin, Item, Warehouse
from app.services import losses
from tests.builders import make_site, move, receive
from tests.web.test_floor_tasks import place
from tests.web.test_stock_control import Person


def test_losses_and_returns_are_added_up_by_reason_zone_item_week_and_channel(app):
    make_site()
    db.session.execute(update(Item).where(Item.sku == "SKU-1").values(unit_cost=Decimal("2.50")))
    db.session.execute(update(Bin).where(Bin.code == "A-01").values(zone="COLD"))
    db.session.commit()
    receive("SKU-1", 20, to_bin="A-01")
    move("damage", qty=3, from_bin="A-01", reason="damage: Broken")
    move("damage", qty=1, from_bin="A-01", reason="damage: Wet")
    move("scrap", qty=3, from_bin="A-01", condition="damaged")  # written off when damaged: not counted twice
    move("adjust", qty=14, to_bin="A-01")  # counted 14 where 16 were: 2 missing
    order = place("RET-1", [("SKU-1", 4)])
    from app.services.stock import MovementCommand, apply_movement

    for kind, extra in (("pick", {"from_bin": "A-01", "to_bin": "STAGE"}), ("ship", {"from_bin": "STAGE"})):
        apply_movement(MovementCommand(warehouse="W1", kind=kind, sku="SKU-1", qty=4, doc_type="order",
                                       doc_id=order["id"], **extra))
    apply_movement(MovementCommand(warehouse="W1", kind="return_receive", sku="SKU-1", qty=2, to_bin="RET",
                                   doc_type="order", doc_id=order["id"], reason="return: Defective"))
    move("restore", qty=1, from_bin="RET", condition="returned")
    move("scrap", qty=1, from_bin="RET", condition="returned", reason="return inspected: scrapped")
    db.session.rollback()
    report = losses.report(db.session, db.session.get(Warehouse, 1))
    assert {k: (t.units, t.value) for k, t in report.by_reason.items()} == {
        "Broken": (3, Decimal("7.50")), "Wet": (1, Decimal("2.50")), "scrapped returned": (1, Decimal("2.50"))}
    assert report.by_zone["COLD"].units == 4 and report.by_item["SKU-1"].units == 5
    assert report.total.value == Decimal("12.50") and sum(t.units for t in report.by_week.values()) == 5
    assert report.counted_missing["SKU-1"].units == 2 and report.counted_missing["SKU-1"].value == Decimal("5.00")
    assert {k: t.units for k, t in report.returns.items()} == {("SKU-1", "shop", "Defective"): 2}
    assert report.outcomes["SKU-1"] == {"restored": 1, "scrapped": 1}
    assert report.return_rate("SKU-1") == 0.5  # 2 back of 4 shipped
    sue = Person(app, "sue", role="supervisor")
    page = sue.do("get", "/office/losses").text
    assert 'data-loss-total="5"' in page and 'data-key="Broken"' in page and 'data-return="SKU-1"' in page
    assert ">50.0%<" in page
    csv_text = sue.do("get", "/office/losses.csv").text
    assert csv_text.splitlines()[0] == "day,week,kind,reason,zone,bin,sku,name,units,value"
    assert len(csv_text.splitlines()) == 1 + 3
    assert sue.do("get", "/office/losses?weeks=abc").status_code == 422
    assert Person(app, "ann").do("get", "/office/losses").status_code == 403


def test_stock_ages_by_its_receipts_and_a_slow_mover_is_named_with_what_to_do(app):
    from datetime import datetime, timedelta

    from app.models import Movement
    from app.services import planning

    make_site()
    receive("SKU-1", 10, to_bin="A-01")  # long ago, never asked for
    receive("SKU-2", 8, to_bin="A-02")  # sold today
    db.session.rollback()
    old = datetime.utcnow() - timedelta(days=200)
    db.session.execute(update(Movement).where(Movement.kind == "receive", Movement.qty == 10).values(created_at=old))
    db.session.commit()
    place("AGE-1", [("SKU-2", 1)])
    db.session.rollback()
    rows, totals = planning.ageing(db.session, db.session.get(Warehouse, 1))
    by_sku = {a.item.sku: a for a in rows}
    assert by_sku["SKU-1"].layers["over 180"] == 10 and by_sku["SKU-1"].slow
    assert by_sku["SKU-1"].action == "clearance" and by_sku["SKU-1"].days_since_demand is None
    assert by_sku["SKU-2"].layers["0–30"] == 8 and not by_sku["SKU-2"].slow
    assert totals["over 180"]["units"] == 10 and totals["0–30"]["units"] == 8
    page = Person(app, "sue", role="supervisor").do("get", "/office/ageing").text
    row = page[page.index('data-sku="SKU-1"'):]
    assert 'data-action="clearance"' in row[:row.index("</tr>")] and "never" in row[:row.index("</tr>")]


def test_the_loss_report_reads_the_loss_movements_by_their_own_index_not_the_whole_ledger(app):
    """At a million movements a year of losses is a few thousand rows: each statement of the report
    (and of its CSV) that reads movements must find them by `ix_movements_losses`, the partial index
    that holds only them, never by scanning the ledger or every movement of the period (SQLite's plan)."""
    from sqlalchemy import event, text

    make_site()
    receive("SKU-1", 20, to_bin="A-01")
    move("damage", qty=3, from_bin="A-01", reason="damage: Broken")
    db.session.rollback()
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "movements" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        wh = db.session.get(Warehouse, 1)
        losses.report(db.session, wh, 52)
        list(losses.csv_rows(db.session, wh, 52))
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    loss_reads = [(s, p) for s, p in seen if "from_condition" in s]
    assert loss_reads, "the report read no loss movement"
    for statement, params in loss_reads:
        plan = " | ".join(str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + statement), params)
                          ) if isinstance(params, dict) else " | ".join(
            str(r[-1]) for r in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
        assert "ix_movements_losses" in plan and "SCAN movements" not in plan, (statement, plan)
