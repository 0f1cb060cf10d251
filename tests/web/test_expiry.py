"""Expiry rules (issue 20): an expired lot is never reserved or picked. Its sellable units leave S for U
by an `expire` movement when the date passes (the daily command, and on first touch: an order, a
pick list, a pick scan); it is scrapped, never restored. Stock without expiry dates is picked first
in, first out by when it came into its bin."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from app.domain import stock as d
from app.extensions import db
from app.models import Bin, BinStock, Lot, Movement, OrderLine
from app.services.stock import MovementCommand, apply_movement
from scanners import gtin
from scanners import labels as L
from tests.builders import ean_for, make_site, receive
from tests.web.test_floor_tasks import buckets, in_bin, ledger_ok, place
from tests.web.test_stock_control import Person

YESTERDAY = date.today() - timedelta(days=1)


@pytest.fixture
def app(any_app):
    """Each test on SQLite and on PostgreSQL."""
    return any_app


def _lot_expires(number: str, when: date) -> None:
    """Time passes: the lot's date is now `when`."""
    db.session.rollback()
    db.session.execute(update(Lot).where(Lot.number == number).values(expiry=when))
    db.session.commit()


def _expire_movements() -> list[Movement]:
    db.session.rollback()
    return list(db.session.execute(select(Movement).where(Movement.kind == "expire")).scalars())


def _carton(lot: str) -> str:
    return L.carton_label(gtin.to_gtin14(ean_for(1)), "SKU-1", lot=lot, expiry=YESTERDAY).scan_text


def test_an_expired_lot_is_not_reserved_an_order_books_its_expiry_first(app):
    make_site()
    receive("SKU-1", 4, to_bin="A-01", lot="OLD", expiry=date.today() + timedelta(days=30))
    receive("SKU-1", 2, to_bin="A-02", lot="NEW", expiry=date.today() + timedelta(days=60))
    _lot_expires("OLD", YESTERDAY)
    assert buckets("SKU-1")["S"] == 6  # nothing has touched it yet
    order = place("E1", [("SKU-1", 5)], backorder=True)
    # The order reserved only the 2 good units: the 4 of lot OLD were booked expired first.
    assert [(ln["reserved"], ln["backordered"]) for ln in order["lines"]] == [(2, 3)]
    assert buckets("SKU-1") == {"I": 6, "S": 0, "O": 2, "U": 4, "L": 0, "V": 0, "T": 0, "A": 0}
    assert in_bin("SKU-1", "A-01", "expired") == 4 and in_bin("SKU-1", "A-01") == 0
    (m,) = _expire_movements()
    assert (m.qty, m.lot, m.from_condition, m.to_condition, m.reason) == (
        4, "OLD", "sellable", "expired", f"lot OLD expired {YESTERDAY.isoformat()}")
    ledger_ok()


def test_a_lot_expiring_under_reservations_releases_the_newest_and_the_pick_list_skips_it(app):
    make_site()
    ann = Person(app, "ann")
    receive("SKU-1", 3, to_bin="A-01", lot="OLD", expiry=date.today() + timedelta(days=30))
    receive("SKU-1", 1, to_bin="B-01", lot="NEW", expiry=date.today() + timedelta(days=90))
    first, second = place("F1", [("SKU-1", 2)]), place("F2", [("SKU-1", 2)])
    _lot_expires("OLD", YESTERDAY)
    ann.start("/tasks/pick", order=[str(first["id"]), str(second["id"])])
    db.session.rollback()
    # S was 0: the 3 expired units took back 3 reservations, the newest order's first.
    lines = {ln.order.external_id: (ln.reserved, ln.short) for ln in db.session.execute(select(OrderLine)).scalars()}
    assert lines == {"F2": (0, 2), "F1": (1, 1)}
    picks = db.session.execute(select(Bin.code, BinStock.lot).join(BinStock).where(BinStock.qty > 0,
                                                                                    BinStock.condition == "sellable"))
    assert list(picks) == [("B-01", "NEW")]
    from app.models import TaskLine

    assert [(ln.bin.code, ln.lot, ln.expected) for ln in db.session.execute(select(TaskLine)).scalars()] == [
        ("B-01", "NEW", 1)]
    ledger_ok()


def test_a_pick_scan_of_a_lot_that_expired_since_the_list_was_made_books_the_expiry_and_picks_nothing(app):
    make_site()
    ann = Person(app, "ann")
    receive("SKU-1", 3, to_bin="A-01", lot="OLD", expiry=date.today() + timedelta(days=30))
    order = place("P1", [("SKU-1", 2)])
    tid = ann.start("/tasks/pick", order=str(order["id"]))
    _lot_expires("OLD", YESTERDAY)  # overnight
    ann.scan(tid, "A-01")
    r = ann.scan(tid, _carton("OLD"))
    assert r.status_code == 200 and f"Lot OLD expired on {YESTERDAY.isoformat()}: not picked." in r.text, r.text[-900:]
    assert in_bin("SKU-1", "STAGE") == 0 and in_bin("SKU-1", "A-01", "expired") == 3
    assert buckets("SKU-1")["S"] == 0 and buckets("SKU-1")["U"] == 3
    r = ann.scan(tid, ean_for(1))  # a plain unit scan of the line's (expired) lot: refused as well
    assert "expired" in r.text and in_bin("SKU-1", "STAGE") == 0
    ledger_ok()


def test_the_daily_command_expires_every_lot_past_its_date_once(app):
    make_site()
    receive("SKU-1", 5, to_bin="A-01", lot="OLD", expiry=date.today() + timedelta(days=30))
    receive("SKU-1", 5, to_bin="A-02", lot="TODAY", expiry=date.today() + timedelta(days=30))
    receive("SKU-2", 2, to_bin="B-01", lot="X", expiry=date.today() + timedelta(days=30))
    _lot_expires("OLD", YESTERDAY)
    _lot_expires("X", YESTERDAY)
    _lot_expires("TODAY", date.today())  # still good today
    runner = app.test_cli_runner()
    out = runner.invoke(args=["expire-lots"])
    assert out.exit_code == 0 and "7 unit(s) expired" in out.output, out.output
    assert runner.invoke(args=["expire-lots"]).output.strip() == "0 unit(s) expired"
    assert buckets("SKU-1")["S"] == 5 and buckets("SKU-2")["U"] == 2
    ledger_ok()


def test_expired_stock_is_scrapped_never_restored_and_an_expired_lot_is_not_received_as_sellable(app):
    make_site()
    receive("SKU-1", 2, to_bin="A-01", lot="OLD", expiry=date.today() + timedelta(days=30))
    _lot_expires("OLD", YESTERDAY)
    from app.services.expiry import expire_everywhere

    assert expire_everywhere() == 2
    try:
        apply_movement(MovementCommand(warehouse="W1", kind="restore", sku="SKU-1", qty=1, from_bin="A-01",
                                       lot="OLD", condition="expired"))
        raise AssertionError("restored")
    except d.InputError as e:
        assert "expired lot cannot be sold again" in e.message
    apply_movement(MovementCommand(warehouse="W1", kind="scrap", sku="SKU-1", qty=2, from_bin="A-01", lot="OLD",
                                   condition="expired"))
    assert buckets("SKU-1")["I"] == 0
    try:
        receive("SKU-1", 1, to_bin="DOCK", lot="GONE", expiry=YESTERDAY)
        raise AssertionError("received")
    except d.InputError as e:
        assert "expired on" in e.message and "as damaged" in e.message
    receive("SKU-1", 1, to_bin="QUAR", lot="GONE", expiry=YESTERDAY, condition="damaged")
    ledger_ok()


def test_stock_without_expiry_is_picked_first_in_first_out_not_in_walk_order(app):
    make_site()
    ann = Person(app, "ann")
    receive("SKU-1", 3, to_bin="B-01")  # in first
    receive("SKU-1", 3, to_bin="A-01")  # later, but first on the walk
    order = place("FIFO", [("SKU-1", 3)])
    tid = ann.start("/tasks/pick", order=str(order["id"]))
    page = ann.do("get", f"/tasks/{tid}").text
    assert "Go to bin B-01 and scan it" in page, page[-900:]  # the walk alone would say A-01
    ann.scan(tid, "B-01")
    for _ in range(3):
        ann.scan(tid, ean_for(1))
    assert in_bin("SKU-1", "B-01") == 0 and in_bin("SKU-1", "A-01") == 3
    # An emptied row is as new as what comes into it next.
    receive("SKU-1", 2, to_bin="B-01")
    db.session.rollback()
    since = dict(db.session.execute(select(Bin.code, BinStock.since).join(BinStock).where(BinStock.qty > 0,
                                                                                          BinStock.condition == "sellable")).all())
    assert since["B-01"] > since["A-01"]
    ledger_ok()
