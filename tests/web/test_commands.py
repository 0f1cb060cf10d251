"""Command barcodes (issue 20): CMD:CONFIRM, CMD:CLOSE, CMD:LEAVE, ... scanned on a task are the taps
they name, so a task is done with no tap at all; the card prints them and they decode back."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Item, PurchaseOrder, PurchaseOrderLine, ScanLog, Task, Warehouse
from app.services import commands
from tests.builders import ean_for, make_site, receive
from tests.web.test_floor_tasks import buckets, in_bin, ledger_ok
from tests.web.test_stock_control import Person


def _po():
    wh = db.session.execute(select(Warehouse).where(Warehouse.code == "W1")).scalar_one()
    po = PurchaseOrder(number="PO-2026-0031", warehouse_id=wh.id, supplier="Acme", status="open")
    db.session.add(po)
    db.session.flush()
    items = {i.sku: i for i in db.session.execute(select(Item)).scalars()}
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=1, item_id=items["SKU-1"].id, expected=3))
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=2, item_id=items["SKU-2"].id, expected=2,
                                     lot="L9", expiry=date(2027, 1, 31)))
    db.session.commit()


def _task(tid):
    db.session.rollback()
    return db.session.get(Task, tid)


def test_a_receipt_is_done_with_scans_only_warnings_and_a_short_close_confirmed_by_command(app):
    make_site()
    _po()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", code="PO-2026-0031", scan_id="cmd-start-0001")  # the PO scanned, no tap
    for _ in range(3):
        assert ann.scan(tid, ean_for(1)).status_code == 200
    r = ann.scan(tid, ean_for(1))  # one more than the PO: a warning
    assert "Over-receipt" in r.text
    r = ann.scan(tid, "CMD:CONFIRM")  # the Confirm button, scanned
    assert r.status_code == 200 and "+1 × Test item 1" in r.text, r.text[-800:]
    r = ann.scan(tid, "CMD:DAMAGED")
    assert "Damaged: ON" in r.text
    ann.scan(tid, ean_for(2))
    assert in_bin("SKU-2", "QUAR", "damaged") == 1
    r = ann.scan(tid, "CMD:CLOSE")  # one line short: Close asks for the deliberate confirm
    assert r.status_code == 200 and "Close 1 short" in r.text, r.text[-800:]
    assert _task(tid).status == "open"
    r = ann.scan(tid, "CMD:CONFIRM")
    assert _task(tid).status == "closed", r.text[-800:]
    assert buckets("SKU-1")["I"] == 4
    db.session.rollback()
    kinds = [k for (k,) in db.session.execute(select(ScanLog.kind).where(ScanLog.task_id == tid).order_by(ScanLog.id))]
    texts = [t for (t,) in db.session.execute(select(ScanLog.text).where(ScanLog.task_id == tid).order_by(ScanLog.id))]
    assert "CMD:CONFIRM" in texts and kinds[texts.index("CMD:CONFIRM")] == "tap"
    ledger_ok()


def test_leave_by_command_goes_to_the_tasks_list_and_the_task_stays_at_its_step(app):
    make_site()
    receive("SKU-1", 5, to_bin="DOCK")
    ann = Person(app, "ann")
    tid = ann.start("/tasks/putaway")
    ann.scan(tid, ean_for(1))
    r = ann.scan(tid, "CMD:LEAVE")
    assert r.status_code == 200 and r.headers.get("HX-Redirect", "").endswith("/tasks/")
    task = _task(tid)
    assert task.status == "open" and task.state.get("load")
    # Back (the "Not this one" button) by command clears what was taken; Done finishes putaway.
    assert "Cleared" in ann.scan(tid, "CMD:BACK").text
    assert "Putaway finished." in ann.scan(tid, "CMD:DONE").text
    assert _task(tid).status == "closed"


def test_a_damage_reason_and_a_count_finish_by_command(app):
    make_site()
    receive("SKU-1", 5, to_bin="A-01")
    ann = Person(app, "ann")
    tid = ann.start("/tasks/damage")
    ann.scan(tid, "CMD:REASON:WET")
    assert _task(tid).state.get("reason") == "wet"
    ann.scan(tid, "A-01")
    ann.scan(tid, ean_for(1))
    db.session.rollback()
    from app.models import Movement

    assert db.session.execute(select(Movement.reason).where(Movement.kind == "damage")).scalar_one() == "damage: Wet"
    assert commands.tap("DONE", "count") == ("finish", "")
    assert commands.tap("DONE", "putaway") == ("close", "")


def test_an_unknown_command_or_one_the_step_has_no_button_for_books_nothing(app):
    make_site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", blind="1")
    r = ann.scan(tid, "CMD:SELFDESTRUCT")
    assert r.status_code == 422 and "CMD:SELFDESTRUCT is no command barcode of this app" in r.text
    r = ann.scan(tid, "CMD:CONFIRM")
    assert r.status_code == 422 and "There is nothing to confirm." in r.text
    r = ann.scan(tid, "CMD:SHORT")
    assert r.status_code == 422 and "Unknown action" in r.text
    assert _task(tid).status == "open"
    ledger_ok()


def test_the_command_card_prints_every_command_and_each_decodes_back(app):
    from scanners import decoder

    make_site()
    ann = Person(app, "sue", role="supervisor")
    page = ann.do("get", "/labels/print?kind=commands&paper=a4&format=sheet")
    assert page.status_code == 200
    printed = re.findall(r'data-label-text="([^"]+)"', page.text)
    from app.domain.packing import CARTONS

    assert printed == [commands.code(c) for c in commands.COMMANDS] + [f"CT-{c}" for c in CARTONS]
    for src, text in re.findall(r'<img src="([^"]+)" alt="([^"]+)"', page.text)[:4] + re.findall(
            r'<img src="([^"]+)" alt="(CT-M)"', page.text):
        png = ann.do("get", src.replace("&amp;", "&"))
        assert png.status_code == 200
        assert [r.text for r in decoder.decode_bytes(png.data)] == [text]
    zpl = ann.do("get", "/labels/print?kind=commands&paper=a4&format=zpl")
    assert zpl.status_code == 200 and "CMD:CLOSE" in zpl.text
    es = ann.do("get", "/labels/print?kind=commands&paper=a4&format=sheet", headers={"Accept-Language": "es"})
    assert "Confirmar" in es.text and "Roto" in es.text
