"""Serial numbers (issue 20): a serial-tracked item is received serial by serial (scanned after the unit,
or in its GS1 label's (21)), its serials follow its units through moves, the picker scans which one
leaves, packing puts it in a parcel, shipping ends it; one serial is in one place at a time (a row a
serial, unique per item), and a lookup by scan shows where it is and its history."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Item, Serial
from app.services.stock import MovementCommand, apply_movement
from scanners import gtin
from tests.builders import ean_for, make_site
from tests.web.test_floor_tasks import in_bin, ledger_ok, place
from tests.web.test_stock_control import Person


@pytest.fixture
def app(any_app):
    """Each test on SQLite and on PostgreSQL."""
    return any_app


def gs1(serial: str, n: int = 1) -> str:
    return "]C101" + gtin.to_gtin14(ean_for(n)) + "21" + serial


def serial_tracked(sku="SKU-1"):
    db.session.rollback()
    db.session.execute(update(Item).where(Item.sku == sku).values(serial_tracked=True))
    db.session.commit()


def where(serial):
    db.session.rollback()
    row = db.session.execute(select(Serial).where(Serial.serial == serial)).scalar_one()
    return row.status, row.bin.code if row.bin else None


def test_a_serial_is_received_picked_packed_shipped_and_looked_up_with_its_history(app):
    make_site()
    serial_tracked()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", blind="1")
    r = ann.scan(tid, ean_for(1))
    assert "Now scan the serial number of Test item 1." in r.text and in_bin("SKU-1", "DOCK") == 0
    assert "Scan the serial number" in ann.do("get", f"/tasks/{tid}").text
    r = ann.scan(tid, "SN-001")
    assert "+1 × Test item 1 serial SN-001 → DOCK" in r.text, r.text[-600:]
    assert ann.scan(tid, gs1("SN-002")).status_code == 200  # the unit's GS1 label carries it: one scan
    r = ann.scan(tid, gs1("SN-001"))
    assert r.status_code == 422 and "Serial SN-001 of SKU-1 is in stock already, in DOCK." in r.text
    r = ann.scan(tid, ean_for(1), qty="2")
    assert r.status_code == 422 and "Test item 1 has serial numbers: scan each unit, one at a time." in r.text
    assert in_bin("SKU-1", "DOCK") == 2
    # A move takes the bin's oldest serials with its units.
    apply_movement(MovementCommand(warehouse="W1", kind="move", sku="SKU-1", qty=2, from_bin="DOCK", to_bin="A-01"))
    assert where("SN-001") == where("SN-002") == ("in_stock", "A-01")
    # Picking: the picker says which unit leaves.
    order = place("SER-1", [("SKU-1", 1)])
    pick = ann.start("/tasks/pick", order=str(order["id"]))
    ann.scan(pick, "A-01")
    assert "Now scan the serial number of Test item 1." in ann.scan(pick, ean_for(1)).text
    r = ann.scan(pick, "SN-404")
    assert r.status_code == 422 and "Serial SN-404 of SKU-1 is not in stock here." in r.text
    ann.scan(pick, ean_for(1))
    r = ann.scan(pick, "SN-002")
    assert "Picked 1 × Test item 1 for" in r.text and "serial SN-002" in r.text, r.text[-600:]
    assert where("SN-002") == ("in_stock", "STAGE") and where("SN-001") == ("in_stock", "A-01")
    # Packing: only a serial picked for the order goes in, once.
    pack = ann.start("/tasks/pack", order_id=str(order["id"]))
    r = ann.scan(pack, gs1("SN-001"))
    assert r.status_code == 422 and f"Serial SN-001 of Test item 1 was not picked for {order['number']}." in r.text
    r = ann.scan(pack, gs1("SN-002"))
    assert "Packed 1 × Test item 1 into parcel 1. serial SN-002" in r.text, r.text[-600:]
    assert where("SN-002") == ("packed", "STAGE")
    ann.scan(pack, "CT-S")
    ann.scan(pack, "300 g")
    ann.tap(pack, "close_parcel")
    from app.models import Parcel

    db.session.rollback()
    parcel = db.session.execute(select(Parcel)).scalar_one()
    ship = ann.start("/tasks/ship", order_id=str(order["id"]))
    r = ann.scan(ship, "]C100" + parcel.sscc)
    assert "Shipped" in r.text, r.text[-600:]
    assert where("SN-002") == ("shipped", None)
    # Looked up by scan: where it is (nowhere now) and its history.
    page = ann.do("get", "/lookup?code=SN-002").text
    assert "Serial SN-002" in page and "shipped" in page
    history = page[page.index("data-serial-history"):]
    for kind in ("receive", "move", "pick", "pack", "ship"):
        assert f"<b>{kind}</b>" in history, (kind, history[:900])
    assert "W1 A-01" in ann.do("get", "/lookup?code=" + gs1("SN-001")).text
    ledger_ok()


def test_a_serial_is_one_row_a_database_constraint_keeps_it_in_one_place(app):
    make_site()
    item = db.session.execute(select(Item).where(Item.sku == "SKU-1")).scalar_one()
    db.session.add(Serial(item_id=item.id, serial="SN-9", status="shipped"))
    db.session.commit()
    db.session.add(Serial(item_id=item.id, serial="SN-9", status="shipped"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Serial(item_id=item.id, serial="SN-10", status="in_stock"))  # in stock, but in no bin
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_an_api_receipt_of_a_serial_item_names_each_serial(app, client):
    make_site()
    serial_tracked()
    from app.domain.stock import InputError

    with pytest.raises(InputError, match="SKU-1 is serial-tracked: each unit comes with its serial number."):
        apply_movement(MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=2, to_bin="DOCK"))
    with pytest.raises(InputError, match="2 serials for 3 units"):
        apply_movement(MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=3, to_bin="DOCK",
                                       serials=["A", "B"]))
    apply_movement(MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=2, to_bin="DOCK",
                                   serials=["A", "B"]))
    assert where("A") == where("B") == ("in_stock", "DOCK")
    ledger_ok()
