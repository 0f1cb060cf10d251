"""Cluster picking (issue 20): a batch on a cart, one tote per order; each item scan waits for the
scan of its order's tote and only then is booked; the wrong tote is refused and books nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Barcode, LicencePlate, Movement, Order, Task, Warehouse
from app.services import orders as order_service
from app.services.picking import current_line
from tests.builders import ean_for, make_site, receive
from tests.web.test_floor_tasks import ledger_ok
from tests.web.test_stock_control import Person

TOTES = ["LP00000501", "LP00000502", "LP00000503", "LP00000504"]


def _site():
    make_site()
    receive("SKU-1", 10, to_bin="A-01")
    receive("SKU-2", 10, to_bin="A-02")
    wants = [[("SKU-1", 1)], [("SKU-1", 2)], [("SKU-2", 1)], [("SKU-1", 1), ("SKU-2", 1)]]
    orders = [order_service.place_order("shop", f"CL-{n}", "W1", [order_service.OrderLineRequest(s, q) for s, q in w])[0]
              for n, w in enumerate(wants)]
    db.session.rollback()
    wh = db.session.execute(select(Warehouse).where(Warehouse.code == "W1")).scalar_one()
    db.session.add_all(LicencePlate(code=code, warehouse_id=wh.id) for code in TOTES)
    db.session.commit()
    return orders


def _movements():
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "pick")).scalar_one()


def _here(tid):
    db.session.rollback()
    task = db.session.get(Task, tid)
    line = current_line(task)
    if line is None:
        return task, None, None, None
    code = db.session.execute(select(Barcode.code).where(Barcode.item_id == line.item_id,
                                                          Barcode.kind == "unit")).scalar_one()
    return task, line, code, line.order_line.order


def test_four_orders_into_four_totes_with_the_wrong_tote_refused(app):
    orders = _site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/pick", order=[str(o["id"]) for o in orders], cluster="1")
    page = ann.do("get", f"/tasks/{tid}").text
    assert f"Cart: scan a tote for {orders[0]['number']}" in page
    r = ann.scan(tid, ean_for(1))
    assert r.status_code == 422 and f"Scan a tote for {orders[0]['number']} first" in r.text
    for n, tote in enumerate(TOTES):
        if n == 1:  # a tote already on the cart is refused for the next order
            r = ann.scan(tid, TOTES[0])
            assert r.status_code == 422 and f"Tote {TOTES[0]} already holds {orders[0]['number']}" in r.text
        r = ann.scan(tid, tote)
        assert r.status_code == 200 and f"Tote {tote} is for {orders[n]['number']}." in r.text, r.text[-600:]
    assert "Cart ready: go to bin" in r.text
    wrong_done = False
    while True:
        task, line, code, order = _here(tid)
        if line is None:
            break
        ann.scan(tid, line.bin.code)
        r = ann.scan(tid, code)
        assert f"into tote {order.tote} ({order.number}), then scan the tote." in r.text, r.text[-600:]
        before = _movements()
        if not wrong_done:
            other = next(t for t in TOTES if t != order.tote)
            r = ann.scan(tid, other)
            assert r.status_code == 422 and f"Wrong tote: this goes into {order.tote} for {order.number}" in r.text
            assert _movements() == before  # nothing booked on the wrong tote
            # Another item while one is held is refused too.
            r = ann.scan(tid, code)
            assert r.status_code == 422 and "first — that was" in r.text
            wrong_done = True
        r = ann.scan(tid, order.tote)
        assert r.status_code == 200 and f"(tote {order.tote})" in r.text, r.text[-600:]
        assert _movements() == before + 1
    assert task.status == "closed"
    db.session.rollback()
    for o, tote in zip(orders, TOTES):
        row = db.session.get(Order, o["id"])
        assert row.tote == tote and all(ln.picked == ln.qty for ln in row.lines)
    # Each tote is its order's staged stock: shipping finds the order by its tote.
    ship = ann.start("/tasks/ship", code=TOTES[3], scan_id="cl-ship-0001")
    assert ship
    ledger_ok()


def test_back_drops_the_held_put_and_a_plain_batch_still_needs_no_tote(app):
    orders = _site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/pick", order=[str(o["id"]) for o in orders[:2]], cluster="1")
    ann.scan(tid, TOTES[0])
    ann.scan(tid, TOTES[1])
    task, line, code, order = _here(tid)
    ann.scan(tid, line.bin.code)
    ann.scan(tid, code)
    r = ann.scan(tid, "", action="cancel")
    assert "Not put: nothing booked." in r.text and _movements() == 0
    r = ann.scan(tid, order.tote)
    assert r.status_code == 422 and "Scan the item first, then the tote it goes into." in r.text
    # Without the cluster box, a batch picks as before: no tote asked for.
    bob = Person(app, "bob")
    plain = bob.start("/tasks/pick", order=[str(o["id"]) for o in orders[2:]])
    task, line, code, order = _here(plain)
    bob.scan(plain, line.bin.code)
    r = bob.scan(plain, code)
    assert r.status_code == 200 and "Picked 1 ×" in r.text and _movements() == 1
