"""Floor safety: defects a first hour on the floor found (issue 16), each held by a test.

What a code names, cancelled orders on open pick lists, warehouse walls,
GET that writes, scan ids sent by someone else, blind counts.
"""

import itertools
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Balance,
    Bin,
    BinStock,
    CountSession,
    FloorException,
    Item,
    ScanLog,
    Task,
    Warehouse,
)
from app.services import counting
from app.services import orders as order_service
from app.services.ledger import check_ledger
from tests.builders import ean_for, make_site, make_user, receive
from tests.web.test_stock_control import Person

HX = {"HX-Request": "true"}
_ids = itertools.count(1)


def sign_in(client, role="operator", name=None, warehouse=None):
    name = name or role
    make_user(name, "pw-" + name, role=role)
    assert client.post("/login", data={"username": name, "password": "pw-" + name}).status_code == 302
    if warehouse:
        assert client.post("/warehouse", data={"warehouse": warehouse}).status_code == 302
    return client


def scan(client, task_id, code="", scan_id=None, **extra):
    data = {"code": code, "scan_id": scan_id or f"safety-{next(_ids):06d}", **extra}
    return client.post(f"/tasks/{task_id}/scan", data=data, headers=HX)


def task_from(response) -> int:
    assert "HX-Redirect" in response.headers, response.text
    return int(re.search(r"/tasks/(\d+)", response.headers["HX-Redirect"]).group(1))


def buckets(sku, wh="W1"):
    db.session.rollback()
    item = db.session.execute(select(Item).where(Item.sku == sku)).scalar_one()
    bal = db.session.execute(
        select(Balance).where(Balance.item_id == item.id, Balance.warehouse.has(code=wh))
    ).scalar_one_or_none()
    return bal.buckets().as_dict(upper=True) if bal else {}


def rows(model):
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def ledger_ok():
    db.session.rollback()
    assert check_ledger(db.session) == []


@pytest.fixture
def site(app):
    make_site(items=3)
    # A SKU shaped like a bin code, as real SKUs are (HEX-0003): an exact record wins over a pattern.
    db.session.add(Item(sku="HEX-0003", name="Hex bolt M8", unit="each"))
    db.session.commit()


@pytest.fixture
def operator(client, site):
    return sign_in(client, warehouse="W1")


# ------------------------------------------------------------------ what a code names


def test_lookup_by_a_sku_shaped_like_a_bin_shows_the_item(operator):
    r = operator.post("/lookup", data={"code": "HEX-0003", "scan_id": "lookup-sku-0001"}, headers=HX)
    assert r.status_code == 200, r.text
    assert "Hex bolt M8" in r.text
    r = operator.post("/lookup", data={"code": "SKU-2", "scan_id": "lookup-sku-0002"}, headers=HX)
    assert r.status_code == 200 and "Test item 2" in r.text


def test_a_sku_scanned_in_a_task_is_the_item(operator):
    tid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    r = scan(operator, tid, "SKU-2")
    assert 'data-feedback="ok"' in r.text, r.text
    assert buckets("SKU-2")["I"] == 1
    ledger_ok()


def test_an_unknown_bin_is_called_a_bin_not_a_catalogue_item(operator):
    tid = task_from(operator.post("/tasks/damage", headers=HX))
    r = scan(operator, tid, "Z-99")
    assert r.status_code == 422
    assert "not in the catalogue" not in r.text
    assert "No bin Z-99 in W1" in r.text


def test_a_code_that_names_nothing_is_quoted_as_it_was_scanned(operator):
    tid = task_from(operator.post("/tasks/damage", headers=HX))
    scan(operator, tid, "A-01")
    r = scan(operator, tid, "2000999999994")
    assert "2000999999994" in r.text and "02000999999994" not in r.text
    r = operator.post("/tasks/ship", data={"code": "SO-999999"}, headers=HX)
    assert r.status_code == 422
    assert "SO-999999" in r.text


# ------------------------------------------------------------------ cancelled orders


def _order(qty=3, sku="SKU-1", wh="W1", ext=None):
    placed, _ = order_service.place_order("web", ext or f"ext-{next(_ids)}", wh,
                                        [order_service.OrderLineRequest(sku, qty)])
    return placed


def _pick_one(client, order_number):
    tid = task_from(client.post("/tasks/pick", data={"code": order_number}, headers=HX))
    assert 'data-feedback="ok"' in scan(client, tid, "A-01").text
    r = scan(client, tid, ean_for(1))
    assert 'data-feedback="ok"' in r.text, r.text
    return tid


def test_a_cancelled_order_is_not_picked_and_its_staged_units_go_back_by_putaway(operator):
    receive("SKU-1", 12, to_bin="A-01")
    placed = _order(3)
    number = placed["number"]
    tid = _pick_one(operator, number)
    order_service.cancel_order(placed["id"])
    r = scan(operator, tid, ean_for(1))
    assert 'data-feedback="error"' in r.text, r.text
    assert "cancelled" in r.text
    db.session.rollback()
    assert db.session.execute(select(BinStock.qty).join(Bin).where(Bin.code == "STAGE")).scalar_one() == 1
    # The floor sees the unit in staging: an exception, and putaway takes it back to a storage bin.
    exc = db.session.execute(select(FloorException).where(FloorException.kind == "cancelled_staged")).scalar_one()
    assert number in exc.message
    put = task_from(operator.post("/tasks/putaway", headers=HX))
    r = scan(operator, put, ean_for(1))
    assert 'data-feedback="ok"' in r.text, r.text
    r = scan(operator, put, "A-01")
    assert 'data-feedback="ok"' in r.text, r.text
    db.session.rollback()
    assert (db.session.execute(select(func.coalesce(func.sum(BinStock.qty), 0)).join(Bin)
                               .where(Bin.code == "STAGE")).scalar_one() == 0)
    assert buckets("SKU-1")["S"] == 12
    ledger_ok()


def test_staged_units_of_open_orders_are_not_offered_to_putaway(operator):
    receive("SKU-1", 12, to_bin="A-01")
    placed = _order(3)
    _pick_one(operator, placed["number"])
    put = task_from(operator.post("/tasks/putaway", headers=HX))
    r = scan(operator, put, ean_for(1))
    assert 'data-feedback="error"' in r.text


def test_a_pick_that_cannot_place_every_unit_never_says_done(operator):
    receive("SKU-1", 9, to_bin="A-01")
    receive("SKU-1", 3, to_bin="DOCK")  # sellable, but not in a storage bin
    placed = _order(12)
    tid = task_from(operator.post("/tasks/pick", data={"code": placed["number"]}, headers=HX))
    scan(operator, tid, "A-01")
    r = scan(operator, tid, ean_for(1), qty="9")
    assert 'data-feedback="warn"' in r.text, r.text
    assert "still needs 3 × Test item 1" in r.text
    page = operator.get(f"/tasks/{tid}")
    step = re.search(r'<p class="step" data-step>(.*?)</p>', page.text).group(1)
    assert step != "Done" and "3" in step


def test_shipping_refuses_to_start_for_an_order_with_nothing_picked(operator):
    receive("SKU-1", 12, to_bin="A-01")
    placed = _order(3)
    r = operator.post("/tasks/ship", data={"code": placed["number"]}, headers=HX)
    assert r.status_code == 422 and "nothing" in r.text.lower() and "picked" in r.text
    assert rows(Task) == 0


# ------------------------------------------------------------------ warehouse walls


def test_another_warehouses_order_cannot_be_shipped_or_returned_by_id(client, site):
    receive("SKU-1", 12, to_bin="A-01", warehouse="W1")
    placed = _order(3, wh="W1")
    sign_in(client, warehouse="W2")
    r = client.post("/tasks/ship", data={"order_id": str(placed["id"])}, headers=HX)
    assert r.status_code in (404, 422) and "HX-Redirect" not in r.headers
    r = client.post("/tasks/return", data={"reference": placed["external_id"]}, headers=HX)
    assert r.status_code in (404, 422) and "HX-Redirect" not in r.headers
    assert rows(Task) == 0


def test_another_warehouses_exception_cannot_be_resolved(client, site):
    receive("SKU-1", 5, to_bin="A-01", warehouse="W2")
    wh2 = db.session.execute(select(Warehouse.id).where(Warehouse.code == "W2")).scalar_one()
    db.session.add(FloorException(kind="short_pick", warehouse_id=wh2, message="short in W2"))
    db.session.commit()
    exc_id = db.session.execute(select(FloorException.id)).scalar_one()
    sign_in(client, role="supervisor", warehouse="W1")
    r = client.post("/office/exceptions", data={"id": str(exc_id), "resolution": "done"})
    assert r.status_code in (404, 422)
    db.session.rollback()
    assert db.session.get(FloorException, exc_id).status == "open"


# ------------------------------------------------------------------ GET never writes


@pytest.mark.parametrize("path", ["/tasks/damage", "/tasks/inspect", "/tasks/putaway", "/tasks/move", "/tasks/replenish", "/tasks/pack"])
def test_opening_a_task_start_by_get_creates_nothing(operator, path):
    r = operator.get(path)
    assert r.status_code in (200, 405)
    assert rows(Task) == 0


# ------------------------------------------------------------------ scan ids


def test_a_scan_id_sent_by_another_user_is_not_answered_with_the_first_users_answer(app, site):
    ann, bob = Person(app, "ann"), Person(app, "bob")
    r = ann.do("post", "/lookup", data={"code": "SKU-1", "scan_id": "shared-scan-0001"}, headers=HX)
    assert "Test item 1" in r.text
    r = bob.do("post", "/lookup", data={"code": "SKU-2", "scan_id": "shared-scan-0001"}, headers=HX)
    assert "Test item 1" not in r.text
    assert "Test item 2" in r.text
    receive("SKU-1", 5, to_bin="A-01")
    t1 = ann.start("/tasks/damage")
    ann.scan(t1, "A-01", scan_id="shared-scan-0002")
    t2 = bob.start("/tasks/damage")
    r = bob.scan(t2, "B-01", scan_id="shared-scan-0002")
    assert "A-01" not in r.text
    assert "B-01" in r.text and 'data-feedback="ok"' in r.text, r.text
    # Bob's resend is his own first answer again, and is booked once.
    again = bob.scan(t2, "B-01", scan_id="shared-scan-0002")
    assert "B-01" in again.text
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(ScanLog)).scalar_one() == 4


# ------------------------------------------------------------------ blind counts


def test_a_blind_count_never_names_an_item_the_counter_did_not_scan(operator):
    receive("SKU-1", 5, to_bin="A-01")
    receive("SKU-2", 7, to_bin="A-01")
    db.session.rollback()
    wh = db.session.execute(select(Warehouse).where(Warehouse.code == "W1")).scalar_one()
    from app.models import User

    sup = make_user("sup", "pw-sup", role="supervisor")
    cs, _ = counting.create_session(db.session, wh, db.session.get(User, sup.id), "bins", "A-01", blind=True,
                                    threshold_qty=0)
    db.session.commit()
    assert isinstance(cs, CountSession) and cs.blind
    tid = task_from(operator.post("/tasks/count", data={"session": str(cs.id)}, headers=HX))
    scan(operator, tid, "A-01")
    scan(operator, tid, ean_for(1), qty="4")  # one short; SKU-2 is never scanned
    r = scan(operator, tid, action="close")
    assert "Test item 2" not in r.text and "SKU-2" not in r.text
    said = re.search(r'data-message="([^"]*)"', r.text).group(1)
    assert "Test item 1" not in said  # how many lines differ, not which
    assert "2 lines differ — another operator will recount" in said
    page = operator.get(f"/tasks/{tid}")
    assert "Test item 2" not in page.text


# ------------------------------------------------------------------ implausible quantities


def test_a_quantity_past_the_site_limit_books_only_on_the_tap_that_repeats_it(operator):
    tid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    r = scan(operator, tid, ean_for(1), qty="320000")
    assert 'data-feedback="warn"' in r.text and "320,000 units in one scan" in r.text
    assert "Book 320000" in r.text
    assert buckets("SKU-1") == {}
    # The same code scanned again is not a confirmation of such a number.
    r = scan(operator, tid, ean_for(1))
    assert buckets("SKU-1")["I"] == 1, r.text
    r = scan(operator, tid, ean_for(1), qty="2000")
    assert buckets("SKU-1")["I"] == 1
    r = scan(operator, tid, action="confirm")
    assert 'data-feedback="ok"' in r.text, r.text
    assert buckets("SKU-1")["I"] == 2001
    ledger_ok()


def test_receiving_far_past_the_po_line_needs_the_tap_that_repeats_the_number(operator):
    from app.models import PurchaseOrder, PurchaseOrderLine

    wh = db.session.execute(select(Warehouse.id).where(Warehouse.code == "W1")).scalar_one()
    po = PurchaseOrder(number="PO-2026-0042", warehouse_id=wh, supplier="Acme", status="open")
    db.session.add(po)
    db.session.flush()
    item = db.session.execute(select(Item).where(Item.sku == "SKU-1")).scalar_one()
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=1, item_id=item.id, expected=20))
    db.session.commit()
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0042"}, headers=HX))
    r = scan(operator, tid, ean_for(1), qty="200")
    assert "Book 200" in r.text and "180 more than PO-2026-0042 still expects" in r.text
    scan(operator, tid, ean_for(1), qty="200")  # a plain scan again: still not booked
    assert buckets("SKU-1") == {}


# ------------------------------------------------------------------ long scans


def test_a_scan_longer_than_any_label_is_refused_once_with_its_length(operator):
    tid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    r = scan(operator, tid, "A" * 3000)
    assert r.status_code == 422 and "3,000 characters" in r.text
    assert rows(ScanLog) == 1 and rows(FloorException) == 0
    r = operator.post("/lookup", data={"code": "A" * 3000, "scan_id": "long-scan-0001"}, headers=HX)
    assert r.status_code == 422 and "3,000 characters" in r.text


# ------------------------------------------------------------------ leaving and cancelling


def test_a_task_can_be_left_and_cancelled_where_nothing_was_booked(operator):
    tid = task_from(operator.post("/tasks/damage", headers=HX))
    page = operator.get(f"/tasks/{tid}")
    assert "data-leave" in page.text and 'value="abandon"' in page.text
    scan(operator, tid, "A-01")  # a step, not a booking
    r = scan(operator, tid, action="abandon")
    assert 'data-feedback="ok"' in r.text and "cancelled" in r.text
    db.session.rollback()
    assert db.session.get(Task, tid).status == "cancelled"


def test_a_task_that_booked_stock_cannot_be_cancelled_only_left(operator):
    tid = task_from(operator.post("/tasks/receive", data={"blind": "1"}, headers=HX))
    scan(operator, tid, ean_for(1))
    page = operator.get(f"/tasks/{tid}")
    assert "data-leave" in page.text and 'value="abandon"' not in page.text
    r = scan(operator, tid, action="abandon")
    assert r.status_code == 422 and "cannot be cancelled" in r.text
    db.session.rollback()
    assert db.session.get(Task, tid).status == "open"
    assert buckets("SKU-1")["I"] == 1


# ------------------------------------------------------------------ readable labels


def test_every_label_carries_its_text_under_the_bars_and_lookup_shows_the_barcodes(client, site):
    from scanners import gtin

    sign_in(client, role="supervisor", warehouse="W1")
    for kind, expected in (("bins", "A-01"), ("items", ean_for(1))):
        r = client.get("/labels/print", query_string={"kind": kind, "paper": "a4", "format": "sheet"})
        assert r.status_code == 200
        hri = re.findall(r'<div class="hri" data-hri>([^<]*)</div>', r.text)
        assert expected in hri, (kind, hri[:5])
        assert len(hri) == r.text.count('class="label"')
    assert gtin.case_gtin(ean_for(1)) in r.text  # the case's ITF-14 digits too
    r = client.post("/lookup", data={"code": "SKU-1", "scan_id": "hri-lookup-0001"}, headers=HX)
    assert f"<code data-barcode>{ean_for(1)}</code>" in r.text
    assert f"<code data-barcode>{gtin.case_gtin(ean_for(1))}</code>" in r.text


def test_a_flood_of_exceptions_is_paged_not_one_huge_page(client, site):
    wh = db.session.execute(select(Warehouse.id).where(Warehouse.code == "W1")).scalar_one()
    db.session.add_all([FloorException(kind="unknown_item", warehouse_id=wh, code="X" * 190,
                                       message=f"Unknown barcode {'X' * 190} received on blind receipt T{n}")
                        for n in range(1500)])
    db.session.commit()
    sign_in(client, role="supervisor", warehouse="W1")
    page = client.get("/office/exceptions")
    assert page.status_code == 200 and len(page.data) < 100_000, len(page.data)
    assert page.text.count('name="resolution"') == 50 and "(1500)" in page.text
    older = re.search(r'href="(/office/exceptions\?before=\d+)"', page.text).group(1)
    assert client.get(older).text.count('name="resolution"') == 50
    overview = client.get("/office/")
    assert len(overview.data) < 100_000 and "All 1500 open exceptions" in overview.text


# ------------------------------------------------------------------ affixes taken off once


def test_a_scanners_prefix_is_taken_off_once_whether_the_page_or_the_server_does_it(app):
    from app.models import Warehouse

    make_site()
    receive("SKU-1", 3, to_bin="A-01")
    wh = db.session.execute(select(Warehouse).where(Warehouse.code == "W1")).scalar_one()
    wh.scan_settings = {"prefix": "A"}
    db.session.commit()
    ann = Person(app, "ann")
    hx = {"HX-Request": "true"}
    # The page's queue took the prefix off already (A + A-01) and says so: the server must not again.
    r = ann.do("post", "/lookup", data={"code": "A-01", "clean": "1", "scan_id": "affix-0001"}, headers=hx)
    assert r.status_code == 200 and "Bin A-01" in r.text, r.text[-600:]
    # A form without JavaScript sends what the scanner typed: the server takes the prefix off, once.
    r = ann.do("post", "/lookup", data={"code": "AA-01", "scan_id": "affix-0002"}, headers=hx)
    assert r.status_code == 200 and "Bin A-01" in r.text, r.text[-600:]
    tid = ann.start("/tasks/putaway")
    r = ann.scan(tid, "A-01", clean="1")
    assert "A-01" in r.text and "Unknown" not in r.text and "-01 " not in r.text.replace("A-01", ""), r.text[-800:]
