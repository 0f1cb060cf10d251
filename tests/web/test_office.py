"""Supervisor screens: purchase orders and orders by form and CSV, backorders, exceptions."""

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import FloorException, Order, PurchaseOrder
from app.services.ledger import check_ledger
from tests.builders import make_site, make_user, receive


@pytest.fixture
def supervisor(app, client):
    make_site()
    make_user("boss", "pw-boss", role="supervisor")
    assert client.post("/login", data={"username": "boss", "password": "pw-boss"}).status_code == 302
    return client


def upload(client, path, text):
    """An import: the file becomes a job (303 to its progress page); the job is run, its page returned."""
    from app.services import jobs

    r = client.post(path, data={"import": "1", "file": (io.BytesIO(text.encode()), "f.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303 and "/office/jobs/" in r.headers["Location"], r.text[:300]
    assert jobs.work_once()
    db.session.rollback()
    return client.get(r.headers["Location"])


def test_a_purchase_order_typed_on_the_screen_is_created_with_lots_and_expiry(supervisor):
    r = supervisor.post("/office/purchase-orders", data={
        "number": "PO-2026-0200", "kind": "asn", "supplier": "Acme", "expected_on": "2026-12-01",
        "lines": "SKU-1 24 L5 2027-05-31\nSKU-2 6\n",
    })
    assert r.status_code == 303
    po = db.session.execute(select(PurchaseOrder)).scalar_one()
    assert (po.kind, po.supplier, [(ln.item.sku, ln.expected, ln.lot) for ln in po.lines]) == (
        "asn", "Acme", [("SKU-1", 24, "L5"), ("SKU-2", 6, None)])
    assert "PO-2026-0200" in supervisor.get("/office/purchase-orders").text


def test_a_purchase_order_csv_with_one_bad_row_imports_nothing_and_names_the_row(supervisor):
    r = upload(supervisor, "/office/purchase-orders",
               "number,warehouse,sku,qty\nPO-2026-0300,W1,SKU-1,5\nPO-2026-0301,W1,SKU-2,lots\n")
    assert 'data-job-status="failed"' in r.text and "PO-2026-0301: Line 1: Quantity must be a whole number" in r.text
    assert db.session.execute(select(PurchaseOrder)).first() is None
    r = upload(supervisor, "/office/purchase-orders",
               "number,warehouse,sku,qty,lot\nPO-2026-0300,W1,SKU-1,5,L1\nPO-2026-0300,W1,SKU-2,7,\n")
    assert 'data-job-status="done"' in r.text
    po = db.session.execute(select(PurchaseOrder)).scalar_one()
    assert [(ln.item.sku, ln.expected) for ln in po.lines] == [("SKU-1", 5), ("SKU-2", 7)]


def test_a_csv_without_the_needed_columns_says_which_are_missing(supervisor):
    r = upload(supervisor, "/office/purchase-orders", "po,sku\nX,SKU-1\n")
    assert 'data-job-status="failed"' in r.text and "lacks the column(s) number, qty, warehouse" in r.text


def test_orders_imported_by_csv_are_reserved_or_backordered_and_a_second_import_changes_nothing(supervisor):
    receive("SKU-1", 3)
    text = "channel,external_id,warehouse,sku,qty\nshop,A-1,W1,SKU-1,2\nshop,A-2,W1,SKU-1,2\n"
    assert "Done: 2 placed, 1 with backorders" in upload(supervisor, "/office/orders", text).text
    assert "Done: 0 placed; 2 already known" in upload(supervisor, "/office/orders", text).text
    orders = db.session.execute(select(Order).order_by(Order.id)).scalars().all()
    assert [(o.lines[0].reserved, o.lines[0].backordered) for o in orders] == [(2, 0), (1, 1)]
    assert "1 backordered" in supervisor.get("/office/orders").text
    assert check_ledger(db.session) == []


def test_releasing_a_short_pick_turns_the_missing_units_into_a_backorder(supervisor):
    from app.services import orders as order_service

    receive("SKU-1", 2)
    order, _ = order_service.place_order("shop", "S-1", "W1", [order_service.OrderLineRequest("SKU-1", 2)])
    db.session.add(FloorException(kind="short_pick", warehouse_id=1, order_id=order["id"], item_id=1, qty=1,
                                  message="Short pick in A-01"))
    db.session.commit()
    page = supervisor.get("/office/exceptions").text
    assert "Short pick in A-01" in page and "Release to backorder" in page
    assert supervisor.post("/office/exceptions", data={"id": "1", "resolution": "backorder"}).status_code == 303
    db.session.rollback()
    line = db.session.get(Order, order["id"]).lines[0]
    assert (line.reserved, line.backordered) == (1, 1)
    assert "Nothing open" in supervisor.get("/office/exceptions").text
    r = supervisor.post("/office/exceptions", data={"id": "1", "resolution": "backorder"})
    assert r.status_code == 422 and "already resolved" in r.text
    assert check_ledger(db.session) == []
