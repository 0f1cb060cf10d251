"""Receiving, putaway, picking, shipping and returns through the task screens (Flask client)."""

import itertools
import re
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Balance,
    Bin,
    BinStock,
    FloorException,
    Item,
    Order,
    PurchaseOrder,
    PurchaseOrderLine,
    Task,
)
from app.services import orders as order_service
from app.services.ledger import check_ledger
from scanners import gtin
from scanners import labels as L
from tests.builders import ean_for, make_site, make_user, receive

HX = {"HX-Request": "true"}
_ids = itertools.count(1)


def sign_in(client, role="operator", name=None):
    name = name or role
    make_user(name, "pw-" + name, role=role)
    assert client.post("/login", data={"username": name, "password": "pw-" + name}).status_code == 302
    return client


def scan(client, task_id, code="", **extra):
    data = {"code": code, "scan_id": f"scan-{next(_ids):06d}", **extra}
    return client.post(f"/tasks/{task_id}/scan", data=data, headers=HX)


def tap(client, task_id, action):
    return scan(client, task_id, action=action)


def task_from(response) -> int:
    return int(re.search(r"/tasks/(\d+)", response.headers["HX-Redirect"]).group(1))


def buckets(sku, wh="W1"):
    db.session.rollback()
    item = db.session.execute(select(Item).where(Item.sku == sku)).scalar_one()
    bal = db.session.execute(select(Balance).where(Balance.item_id == item.id, Balance.warehouse.has(code=wh))).scalar_one_or_none()
    return bal.buckets().as_dict(upper=True) if bal else {}


def in_bin(sku, bin_code, condition="sellable"):
    db.session.rollback()
    return sum(
        bs.qty
        for bs in db.session.execute(
            select(BinStock).join(Bin).join(Item).where(Item.sku == sku, Bin.code == bin_code,
                                                        BinStock.condition == condition)
        ).scalars()
    )


def ledger_ok():
    db.session.rollback()
    assert check_ledger(db.session) == []


@pytest.fixture
def site(app):
    make_site()
    wh = db.session.execute(select(Bin.warehouse_id).where(Bin.code == "DOCK")).scalars().first()
    po = PurchaseOrder(number="PO-2026-0007", warehouse_id=wh, supplier="Acme", status="open")
    db.session.add(po)
    db.session.flush()
    items = {i.sku: i for i in db.session.execute(select(Item)).scalars()}
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=1, item_id=items["SKU-1"].id, expected=24,
                                     lot="L1", expiry=date(2027, 5, 31)))
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=2, item_id=items["SKU-2"].id, expected=12))
    db.session.commit()
    return po.id


@pytest.fixture
def operator(client, site):
    return sign_in(client)


# ------------------------------------------------------------------ receiving


def test_scanning_the_po_opens_its_receipt_and_resumes_it_the_second_time(operator):
    first = operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX)
    again = operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX)
    assert task_from(first) == task_from(again)
    page = operator.get(f"/tasks/{task_from(first)}")
    assert "PO-2026-0007" in page.text and "Scan an item" in page.text


def test_an_unknown_po_is_refused_with_the_reason_and_no_task(operator):
    response = operator.post("/tasks/receive", data={"code": "PO-2026-9999"}, headers=HX)
    assert response.status_code == 422
    assert "No purchase order PO-2026-9999" in response.text
    assert db.session.execute(select(Task)).first() is None


def test_a_gs1_carton_a_case_and_a_unit_each_receive_what_they_stand_for(operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    carton = L.carton_label(gtin.to_gtin14(ean_for(1)), "SKU-1", lot="L1", expiry=date(2027, 5, 31), count=12)
    r = scan(operator, tid, carton.scan_text)
    assert r.status_code == 200 and 'data-feedback="ok"' in r.text, r.text
    assert "+12 × Test item 1 lot L1" in r.text
    r = scan(operator, tid, gtin.case_gtin(ean_for(2)))  # a case of 12
    assert "+12 × Test item 2" in r.text
    r = scan(operator, tid, ean_for(1), qty="5")  # a typed quantity for a unit barcode
    assert "+5 × Test item 1" in r.text
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 17, "S": 17}
    assert in_bin("SKU-1", "DOCK") == 17
    ledger_ok()


def test_an_over_receipt_warns_changes_nothing_and_books_when_confirmed(operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    scan(operator, tid, gtin.case_gtin(ean_for(2)))
    r = scan(operator, tid, ean_for(2))
    assert 'data-feedback="warn"' in r.text and "Over-receipt: 12 expected, 13" in r.text
    assert buckets("SKU-2")["I"] == 12
    r = tap(operator, tid, "confirm")
    assert 'data-feedback="ok"' in r.text
    assert buckets("SKU-2")["I"] == 13
    ledger_ok()


def test_scanning_the_same_code_again_confirms_and_anything_else_drops_the_warned_scan(operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    r = scan(operator, tid, ean_for(3))  # not on the PO
    assert "is not on PO-2026-0007" in r.text
    scan(operator, tid, ean_for(1))  # something else: SKU-3 is not booked
    assert buckets("SKU-3") == {} or buckets("SKU-3")["I"] == 0
    scan(operator, tid, ean_for(3))
    r = scan(operator, tid, ean_for(3))
    assert 'data-feedback="ok"' in r.text
    assert buckets("SKU-3")["I"] == 1


def test_damaged_units_go_to_quarantine_as_unsellable(operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    assert "Damaged: ON" in tap(operator, tid, "damaged").text
    scan(operator, tid, ean_for(2))
    assert buckets("SKU-2")["U"] == 1 and buckets("SKU-2")["S"] == 0
    assert in_bin("SKU-2", "QUAR", "damaged") == 1
    ledger_ok()


def test_an_unknown_barcode_is_set_aside_for_the_supervisor_after_a_confirm(operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    unknown = gtin.with_check("999999999999")
    assert "not in the catalogue" in scan(operator, tid, unknown).text
    scan(operator, tid, unknown)
    row = db.session.execute(select(FloorException)).scalar_one()
    assert row.kind == "unknown_item" and row.code == unknown


def test_closing_a_receipt_shows_expected_against_received_and_marks_the_po(operator, site):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    scan(operator, tid, gtin.case_gtin(ean_for(2)))
    r = tap(operator, tid, "close")
    # Closing short takes a second, deliberate tap of a button that says so; a second Close does not.
    assert 'data-feedback="warn"' in r.text and "Close 24 short" in r.text
    r = tap(operator, tid, "close")
    assert "Close 24 short" in r.text
    db.session.rollback()
    assert db.session.get(PurchaseOrder, site).status == "open"
    r = tap(operator, tid, "confirm")
    assert "closed" in r.text and "Diff" in r.text and "-24" in r.text
    db.session.rollback()
    assert db.session.get(PurchaseOrder, site).status == "partial"
    assert db.session.execute(select(FloorException.kind)).scalars().all() == ["under_receipt"]


def test_a_resent_scan_is_applied_once(operator):
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    for _ in range(3):
        operator.post(f"/tasks/{tid}/scan", data={"code": ean_for(2), "scan_id": "same-scan-0001"}, headers=HX)
    assert buckets("SKU-2")["I"] == 1


def test_a_bin_scanned_while_receiving_is_refused_and_changes_nothing(operator):
    tid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    r = scan(operator, tid, "A-01")
    assert r.status_code == 422 and "Scan an item — that was a bin" in r.text


# ------------------------------------------------------------------ putaway


def test_putaway_suggests_where_the_item_is_and_warns_on_another_bin(operator):
    receive("SKU-1", 3, to_bin="A-02")
    receive("SKU-1", 5, to_bin="DOCK")
    receive("SKU-2", 4, to_bin="DOCK")
    tid = task_from(operator.post("/tasks/putaway", headers=HX))
    r = scan(operator, tid, ean_for(1))
    assert "Take 5 × Test item 1 to A-02" in r.text
    r = scan(operator, tid, "A-02")
    assert 'data-feedback="ok"' in r.text and in_bin("SKU-1", "A-02") == 8
    r = scan(operator, tid, ean_for(2))
    assert "to A-01" in r.text  # the first empty bin on the walk
    r = scan(operator, tid, "B-01")
    assert 'data-feedback="warn"' in r.text and "not the suggested A-01" in r.text
    assert in_bin("SKU-2", "B-01") == 4 and in_bin("SKU-2", "DOCK") == 0
    ledger_ok()


def test_putaway_of_a_pallet_moves_everything_on_it(operator, app):
    make_user("boss", "pw", role="supervisor")
    from app.models import LicencePlate

    db.session.add(LicencePlate(code="LP00000042", warehouse_id=1))
    db.session.commit()
    rid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    assert "Pallet LP00000042" in scan(operator, rid, "LP00000042").text
    scan(operator, rid, ean_for(1))
    scan(operator, rid, gtin.case_gtin(ean_for(2)))
    pid = task_from(operator.post("/tasks/putaway", headers=HX))
    assert "Pallet LP00000042 (1 × SKU-1, 12 × SKU-2)" in scan(operator, pid, "LP00000042").text
    scan(operator, pid, "B-01")
    assert in_bin("SKU-1", "B-01") == 1 and in_bin("SKU-2", "B-01") == 12
    ledger_ok()


# ------------------------------------------------------------------ orders, picking, shipping


def place(external_id, lines, backorder=False):
    order, _ = order_service.place_order(
        "shop", external_id, "W1", [order_service.OrderLineRequest(s, q) for s, q in lines], backorder=backorder
    )
    return order


def test_a_batch_pick_walks_the_bins_in_order_and_refuses_wrong_bins_and_items(operator):
    receive("SKU-1", 5, to_bin="B-01")
    receive("SKU-2", 5, to_bin="A-01")
    a = place("A1", [("SKU-1", 1)])
    b = place("B1", [("SKU-2", 2)])
    r = operator.post("/tasks/pick", data={"order": [str(a["id"]), str(b["id"])]}, headers=HX)
    tid = task_from(r)
    page = operator.get(f"/tasks/{tid}").text
    assert "Go to bin A-01 and scan it" in page
    r = scan(operator, tid, "B-01")
    assert r.status_code == 422 and "Wrong bin: go to A-01 — that was B-01" in r.text
    scan(operator, tid, "A-01")
    r = scan(operator, tid, ean_for(1))
    assert "Wrong item: pick Test item 2 — that was Test item 1" in r.text
    r = scan(operator, tid, gtin.case_gtin(ean_for(2)))
    assert "Too many: 2 left" in r.text
    scan(operator, tid, ean_for(2))
    r = scan(operator, tid, ean_for(2))
    assert "next: bin B-01" in r.text
    scan(operator, tid, "B-01")
    r = scan(operator, tid, ean_for(1))
    assert "all lines picked" in r.text
    assert in_bin("SKU-2", "STAGE") == 2 and in_bin("SKU-1", "STAGE") == 1
    assert buckets("SKU-2")["O"] == 2  # still reserved until shipped
    ledger_ok()


def test_a_short_pick_keeps_the_rest_reserved_raises_an_exception_and_flags_the_bin(operator):
    receive("SKU-1", 1, to_bin="A-01")
    receive("SKU-1", 0 + 2, to_bin="B-01")
    order = place("S1", [("SKU-1", 3)])
    tid = task_from(operator.post("/tasks/pick", data={"order": str(order["id"])}, headers=HX))
    scan(operator, tid, "A-01")
    scan(operator, tid, ean_for(1))  # A-01 done
    scan(operator, tid, "B-01")
    scan(operator, tid, ean_for(1))  # 1 of 2 found in B-01
    r = tap(operator, tid, "short")
    assert "Short: 1 not found" in r.text and buckets("SKU-1")["O"] == 3
    assert db.session.execute(select(FloorException)).first() is None
    r = tap(operator, tid, "confirm")
    assert 'data-feedback="warn"' in r.text and "1 of 2 found" in r.text
    assert buckets("SKU-1")["O"] == 3
    exc = db.session.execute(select(FloorException)).scalar_one()
    assert exc.kind == "short_pick" and exc.qty == 1
    flagged = db.session.execute(select(Bin.code).where(Bin.count_requested_at.is_not(None))).scalars().all()
    assert flagged == ["B-01"]
    ledger_ok()


def test_shipping_needs_every_line_picked_or_a_reason(operator):
    receive("SKU-1", 5, to_bin="A-01")
    receive("SKU-2", 5, to_bin="A-02")
    order = place("SH1", [("SKU-1", 1), ("SKU-2", 1)])
    pid = task_from(operator.post("/tasks/pick", data={"order": str(order["id"])}, headers=HX))
    scan(operator, pid, "A-01")
    scan(operator, pid, ean_for(1))
    sid = task_from(operator.post("/tasks/ship", data={"code": f"SO-{order['id']:06d}"}, headers=HX))
    r = scan(operator, sid, f"SO-{order['id']:06d}")
    assert r.status_code == 422 and "Not everything is picked" in r.text
    r = tap(operator, sid, "partial:stock-short")
    assert 'data-feedback="warn"' in r.text and "partial" in r.text
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 4, "O": 0}
    assert buckets("SKU-2")["O"] == 1
    db.session.rollback()
    assert db.session.get(Order, order["id"]).status == "open"
    ledger_ok()


def test_scanning_the_order_again_at_the_dock_ships_it(operator):
    receive("SKU-1", 5, to_bin="A-01")
    order = place("SH2", [("SKU-1", 2)])
    pid = task_from(operator.post("/tasks/pick", data={"code": f"SO-{order['id']:06d}"}, headers=HX))
    scan(operator, pid, "A-01")
    scan(operator, pid, ean_for(1), qty="2")
    sid = task_from(operator.post("/tasks/ship", data={"code": f"SO-{order['id']:06d}"}, headers=HX))
    r = scan(operator, sid, f"SO-{order['id']:06d}")
    assert f"Shipped SO-{order['id']:06d}: 2 units" in r.text
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 3, "S": 3, "O": 0}
    assert in_bin("SKU-1", "STAGE") == 0
    db.session.rollback()
    assert db.session.get(Order, order["id"]).status == "shipped"
    ledger_ok()


def test_an_order_placed_short_is_backordered_visibly_and_reserved_when_stock_arrives(client, site):
    sign_in(client, "supervisor")
    receive("SKU-1", 1, to_bin="A-01")
    r = client.post("/office/orders", data={"channel": "phone", "external_id": "P-1", "lines": "SKU-1 3"})
    assert r.status_code == 303
    page = client.get("/office/orders").text
    assert "2 backordered" in page
    receive("SKU-1", 5, to_bin="A-01")
    client.post("/office/orders", data={"backorders": "1"})
    db.session.rollback()
    line = db.session.execute(select(Order)).scalar_one().lines[0]
    assert (line.reserved, line.backordered) == (3, 0)
    ledger_ok()


# ------------------------------------------------------------------ returns


def shipped_order(operator, sku="SKU-1", qty=2):
    receive(sku, 5, to_bin="A-01")
    order = place(f"R-{sku}", [(sku, qty)])
    pid = task_from(operator.post("/tasks/pick", data={"order": str(order["id"])}, headers=HX))
    scan(operator, pid, "A-01")
    scan(operator, pid, ean_for(int(sku[-1])), qty=str(qty))
    sid = task_from(operator.post("/tasks/ship", data={"order_id": str(order["id"])}, headers=HX))
    tap(operator, sid, "ship")
    return order


def test_a_return_books_unsellable_and_inspection_restores_or_scraps(operator):
    order = shipped_order(operator)
    rid = task_from(operator.post("/tasks/return", data={"reference": "R-SKU-1"}, headers=HX))
    tap(operator, rid, "reason:damaged")
    r = scan(operator, rid, ean_for(1))
    assert "Returned 1 × Test item 1 (Arrived damaged)" in r.text
    scan(operator, rid, ean_for(1))
    r = scan(operator, rid, ean_for(1))
    assert 'data-feedback="warn"' in r.text and "Only 2 of Test item 1 were shipped" in r.text
    tap(operator, rid, "close")
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 5, "U": 2, "S": 3}
    iid = task_from(operator.post("/tasks/inspect", headers=HX))
    scan(operator, iid, ean_for(1))
    assert "Restored 1" in tap(operator, iid, "restore").text
    assert "Scrapped 1" in tap(operator, iid, "scrap").text
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 4, "U": 0, "S": 4}
    assert in_bin("SKU-1", "RET") == 1  # restored, waiting for putaway
    del order
    ledger_ok()


def test_an_order_that_never_shipped_cannot_be_returned(operator):
    receive("SKU-1", 5, to_bin="A-01")
    order = place("NS", [("SKU-1", 1)])
    r = operator.post("/tasks/return", data={"code": f"SO-{order['id']:06d}"}, headers=HX)
    assert r.status_code == 422 and "has not shipped anything" in r.text


# ------------------------------------------------------------------ resuming and screens


def test_a_task_left_on_one_handheld_resumes_on_another_at_the_same_step(app, site):
    first, second = app.test_client(), app.test_client()
    # Each request in its own app context, as in production: Flask-Login keeps the user in `g`.
    with app.app_context():
        sign_in(first, name="ann")
    with app.app_context():
        sign_in(second, name="bob")
    receive("SKU-1", 5, to_bin="A-01")
    order = place("RES", [("SKU-1", 1)])
    with app.app_context():
        tid = task_from(first.post("/tasks/pick", data={"order": str(order["id"])}, headers=HX))
    with app.app_context():
        scan(first, tid, "A-01")
    with app.app_context():
        page = second.get(f"/tasks/{tid}").text
    assert "Scan Test item 1" in page and "started by ann" in page
    with app.app_context():
        assert "all lines picked" in scan(second, tid, ean_for(1)).text
    with app.app_context():
        assert "last scan by bob" in first.get(f"/tasks/{tid}").text


def test_every_task_screen_shows_the_step_the_warehouse_and_who_is_signed_in(operator):
    for path in ("/tasks/receive", "/tasks/pick", "/tasks/ship", "/tasks/return", "/tasks/"):
        page = operator.get(path)
        assert page.status_code == 200, path
        assert "W1" in page.text and "operator" in page.text
    tid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    page = operator.get(f"/tasks/{tid}").text
    assert 'class="step"' in page and "This task's scans" in page


def test_an_operator_cannot_reach_the_supervisor_screens(operator):
    for path in ("/office/orders", "/office/purchase-orders", "/office/exceptions"):
        assert operator.get(path).status_code == 403


def test_a_task_of_another_warehouse_is_not_found(operator):
    from app.models import Warehouse

    w2 = db.session.execute(select(Warehouse).where(Warehouse.code == "W2")).scalar_one()
    task = Task(kind="putaway", warehouse_id=w2.id, created_by=1, state={})
    db.session.add(task)
    db.session.commit()
    assert operator.get(f"/tasks/{task.id}").status_code == 404


def test_any_scan_tap_or_quantity_on_any_task_is_answered_without_a_server_error(operator):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    receive("SKU-1", 5, to_bin="A-01")
    order = place("FUZZ", [("SKU-1", 2)])
    tasks = [
        task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX)),
        task_from(operator.post("/tasks/putaway", headers=HX)),
        task_from(operator.post("/tasks/pick", data={"order": str(order["id"])}, headers=HX)),
    ]
    # GS1 labels of real items with lots, dates, serials and counts, well and badly formed.
    gs1 = st.tuples(
        st.sampled_from([gtin.to_gtin14(ean_for(1)), gtin.to_gtin14(gtin.case_gtin(ean_for(2)))]),
        st.lists(st.tuples(st.sampled_from(["10", "17", "15", "21", "30", "37", "3103"]),
                           st.text(alphabet="0123456789ABL-", max_size=12)), max_size=4),
    ).map(lambda t: "]C101" + t[0] + "".join(ai + v + "\x1d" for ai, v in t[1]))
    codes = st.one_of(
        st.text(max_size=250),
        gs1,
        st.sampled_from(["A-01", "DOCK", ean_for(1), gtin.case_gtin(ean_for(2)), "PO-2026-0007", "LP00000001",
                         f"SO-{order['id']:06d}", "]C1" + "01" + gtin.to_gtin14(ean_for(1)) + "10" + "L\x1d17"]),
    )
    actions = st.sampled_from(["", "", "confirm", "cancel", "close", "short", "damaged", "ship", "partial:x",
                               "reason:nope", "restore", "no-plate", "x" * 30])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(tasks), codes, actions, st.one_of(st.just(""), st.text(max_size=8)))
    def any_input(task_id, code, action, qty):
        r = scan(operator, task_id, code, action=action, qty=qty)
        assert r.status_code in (200, 400, 404, 422), r.text[:300]

    any_input()
    ledger_ok()


# ------------------------------------------------------------------ damage tagging


def test_damage_tagging_books_unsellable_in_place_or_in_quarantine(operator):
    receive("SKU-1", 5, to_bin="A-01")
    tid = task_from(operator.post("/tasks/damage", headers=HX))
    r = scan(operator, tid, ean_for(1))
    assert r.status_code == 422 and "Scan the bin first" in r.text
    scan(operator, tid, "A-01")
    tap(operator, tid, "reason:wet")
    r = scan(operator, tid, ean_for(1))
    assert "Damaged 1 × Test item 1 (Wet) in A-01 (stays in the bin)" in r.text
    # The answer to the scan already lists the tag it made, and offers its photo.
    assert 'class="sku">SKU-1<' in r.text and "data-photo-input" in r.text
    tap(operator, tid, "quarantine")
    scan(operator, tid, ean_for(1), qty="2")
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 5, "S": 2, "U": 3}
    assert in_bin("SKU-1", "A-01", "damaged") == 1 and in_bin("SKU-1", "QUAR", "damaged") == 2
    ledger_ok()


def test_damage_of_reserved_units_is_never_refused_and_flags_the_newest_order_short(operator):
    receive("SKU-1", 2, to_bin="A-01")
    old = place("OLD", [("SKU-1", 1)])
    new = place("NEW", [("SKU-1", 1)])
    tid = task_from(operator.post("/tasks/damage", headers=HX))
    scan(operator, tid, "A-01")
    scan(operator, tid, ean_for(1))
    # S was 0: the unit was promised to an order, and the newest order gives it up.
    assert buckets("SKU-1") == {**buckets("SKU-1"), "I": 2, "S": 0, "O": 1, "U": 1}
    db.session.rollback()
    flagged = {o.external_id for o in db.session.execute(select(Order)).scalars() if o.short}
    assert flagged == {"NEW"}
    del old, new
    exc = db.session.execute(select(FloorException)).scalar_one()
    assert exc.kind == "reservation_released" and f"SO-{exc.order_id:06d}" in exc.message
    ledger_ok()


def test_the_carrier_label_scanned_at_the_dock_is_recorded_and_told_to_the_orders_channel(operator):
    import json

    from app.models import OutboxEvent
    from app.services import channels

    ch, _ = channels.save(db.session, "shop", webhook_url="http://127.0.0.1:9/hook", warehouses=["W1"])
    db.session.commit()
    receive("SKU-1", 5, to_bin="A-01")
    order = place("TR1", [("SKU-1", 1)])
    pid = task_from(operator.post("/tasks/pick", data={"code": f"SO-{order['id']:06d}"}, headers=HX))
    scan(operator, pid, "A-01")
    scan(operator, pid, ean_for(1))
    sid = task_from(operator.post("/tasks/ship", data={"code": f"SO-{order['id']:06d}"}, headers=HX))
    r = scan(operator, sid, "1Z999AA10123456784")
    assert r.status_code == 200 and f"Tracking 1Z999AA10123456784 (UPS) on SO-{order['id']:06d}." in r.text
    # A number its barcode does not tell: the carrier tapped first, then the number typed (12 digits).
    r = tap(operator, sid, "carrier:FedEx")
    assert "Now scan or type the FedEx tracking number." in r.text
    r = scan(operator, sid, "794612345678")
    assert "Tracking 794612345678 (FedEx)" in r.text and 'data-tracking' in r.text
    assert tap(operator, sid, "carrier:Pigeon").status_code == 422
    r = scan(operator, sid, f"SO-{order['id']:06d}")
    assert f"Shipped SO-{order['id']:06d}: 1 units" in r.text
    db.session.rollback()
    shipped = db.session.get(Order, order["id"])
    assert (shipped.status, shipped.carrier, shipped.tracking) == ("shipped", "FedEx", "794612345678")
    told = [json.loads(e.payload) for e in db.session.execute(
        select(OutboxEvent).where(OutboxEvent.topic == "order").order_by(OutboxEvent.id)).scalars()]
    assert [t["status"] for t in told] == ["reserved", "shipped"]
    assert told[-1]["parcels"] == [{"sscc": None, "carrier": "FedEx", "tracking": "794612345678"}]
    ledger_ok()
