"""Shelf life at receipt (issue 20, expiry rules): an item's minimum remaining shelf life is warned
about or refused, as the supervisor sets on the item (form and CSV); an expired lot is received only
as damaged, into quarantine."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Item
from scanners import gtin
from scanners import labels as L
from tests.builders import ean_for, make_site
from tests.web.test_floor_tasks import in_bin, ledger_ok
from tests.web.test_stock_control import Person


def _carton(days: int, lot: str = "L1") -> str:
    return L.carton_label(gtin.to_gtin14(ean_for(1)), "SKU-1", lot=lot, expiry=date.today() + timedelta(days=days)).scan_text


def _item():
    db.session.rollback()
    return db.session.execute(select(Item).where(Item.sku == "SKU-1")).scalar_one()


def _set_shelf(sue, days, policy):
    item = _item()
    r = sue.do("post", f"/office/items/{item.id}", data={"action": "save", "name": item.name, "unit": item.unit,
                                                        "min_shelf_days": str(days), "short_shelf": policy})
    assert r.status_code == 302, r.text[-800:]


def test_a_short_shelf_life_is_warned_about_or_refused_as_the_item_says(app):
    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    _set_shelf(sue, 30, "warn")
    assert (_item().min_shelf_days, _item().short_shelf) == (30, "warn")
    tid = ann.start("/tasks/receive", blind="1")
    assert ann.scan(tid, _carton(90)).status_code == 200  # plenty left: received
    r = ann.scan(tid, _carton(10, "L2"))
    assert "10 days of shelf life left, 30 required." in r.text and "Confirm" in r.text
    assert in_bin("SKU-1", "DOCK") == 1
    assert ann.scan(tid, "", action="confirm").status_code == 200
    assert in_bin("SKU-1", "DOCK") == 2
    _set_shelf(sue, 30, "refuse")
    r = ann.scan(tid, _carton(10, "L3"))
    assert r.status_code == 422 and "Not received: set it aside for the supervisor." in r.text
    assert in_bin("SKU-1", "DOCK") == 2
    ledger_ok()


def test_an_expired_lot_is_received_only_as_damaged(app):
    make_site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", blind="1")
    r = ann.scan(tid, _carton(-1))
    assert r.status_code == 422 and "expired on" in r.text and "receive it as damaged" in r.text
    assert in_bin("SKU-1", "DOCK") == 0
    ann.scan(tid, "", action="damaged")
    assert ann.scan(tid, _carton(-1)).status_code == 200
    assert in_bin("SKU-1", "QUAR", "damaged") == 1
    ledger_ok()


def test_shelf_life_goes_in_and_out_with_the_items_file_and_a_bad_value_is_named(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")

    def upload(text):
        return sue.do("post", "/office/items/import", data={"file": (io.BytesIO(text.encode()), "items.csv")},
                      content_type="multipart/form-data")

    r = upload("sku,name,min_shelf_days,short_shelf\nSKU-1,Test item 1,45,refuse\n")
    assert r.status_code == 200 and "minimum shelf days None → 45" in r.text, r.text[-800:]
    import html
    import re

    text = html.unescape(re.search(r'<textarea name="text" hidden>(.*?)</textarea>', r.text, re.S).group(1))
    assert sue.do("post", "/office/items/import", data={"confirm": "1", "text": text}).status_code == 302
    assert (_item().min_shelf_days, _item().short_shelf) == (45, "refuse")
    exported = sue.do("get", "/office/items.csv").text
    assert exported.splitlines()[0].endswith(",min_shelf_days,short_shelf,serial_tracked")
    assert any(line.startswith("SKU-1,") and line.endswith(",45,refuse,no") for line in exported.splitlines())
    # A file without the columns keeps what the item had; a bad value names its row.
    assert " 0 new" in upload("sku,name\nSKU-1,Test item 1\n").text
    for bad in ("sku,name,min_shelf_days\nSKU-1,x,-3\n", "sku,name,min_shelf_days\nSKU-1,x,lots\n",
                "sku,name,short_shelf\nSKU-1,x,maybe\n"):
        r = upload(bad)
        assert r.status_code == 422 and "row 2:" in r.text, bad
    assert (_item().min_shelf_days, _item().short_shelf) == (45, "refuse")


def test_a_receipt_through_the_api_is_refused_a_short_shelf_life_where_the_item_says_refuse(app, client):
    from sqlalchemy import update

    from app.domain.stock import InputError
    from app.services.stock import MovementCommand, apply_movement

    make_site()
    db.session.execute(update(Item).where(Item.sku == "SKU-1").values(min_shelf_days=30, short_shelf="refuse"))
    db.session.commit()
    soon = date.today() + timedelta(days=10)
    try:
        apply_movement(MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=2, to_bin="DOCK", lot="L9",
                                       expiry=soon))
        raise AssertionError("received")
    except InputError as e:
        assert "10 days of shelf life left, 30 required. Not received." in e.message
    assert in_bin("SKU-1", "DOCK") == 0
    # Where the item says warn, a machine cannot confirm: the API books it, as a person would after Confirm.
    db.session.execute(update(Item).where(Item.sku == "SKU-1").values(short_shelf="warn"))
    db.session.commit()
    apply_movement(MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=2, to_bin="DOCK", lot="L9",
                                   expiry=soon))
    assert in_bin("SKU-1", "DOCK") == 2
    ledger_ok()
