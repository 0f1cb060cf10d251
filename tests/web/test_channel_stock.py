"""A warehouse a channel runs (fulfilment by Amazon): no scans; its stock is set from the channel's inventory
report; a transfer to it ships with stock in transit and is received from the report; it counts in the
company's totals and in its channel's availability, and in no other channel's."""

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Channel, Transfer
from app.services import channels
from app.services.ledger import check_ledger
from tests.builders import ean_for, receive
from tests.web.test_floor_tasks import HX, buckets
from tests.web.test_stock_control import Person, people  # noqa: F401 - the fixture

REPORT_HEAD = ("sku\tfnsku\tasin\tproduct-name\tcondition\tyour-price\tmfn-listing-exists\tmfn-fulfillable-quantity\t"
               "afn-listing-exists\tafn-warehouse-quantity\tafn-fulfillable-quantity\tafn-unsellable-quantity\t"
               "afn-reserved-quantity\tafn-total-quantity\tper-unit-volume\tafn-inbound-working-quantity\t"
               "afn-inbound-shipped-quantity\tafn-inbound-receiving-quantity\n")


def report(*rows):
    """Amazon's Manage FBA Inventory report: (sku, fulfillable, unsellable, inbound shipped)."""
    lines = [f"{sku}\tX00{n}\tB00{n}\tItem {n}\tNew\t12.00\tNo\t\tYes\t{f + u}\t{f}\t{u}\t0\t{f + u + i}\t0.1\t0\t{i}\t0\n"
             for n, (sku, f, u, i) in enumerate(rows)]
    return REPORT_HEAD + "".join(lines)


@pytest.fixture
def fba(app, people):
    ann, bob, sue = people
    root = Person(app, "root", role="admin")
    with app.app_context():
        channels.save(db.session, "amzn", kind="amazon", warehouses=["W1"])
        channels.save(db.session, "shop", kind="shopify", warehouses=["W1"])
        db.session.commit()
    r = root.do("post", "/office/channels/amzn", data={"action": "save", "name": "Amazon DE", "kind": "amazon",
                                                       "warehouse": ["W1"], "runs": ["W2"], "active": "1"})
    assert r.status_code == 200 and "Channel amzn is saved." in r.text, r.text[-600:]
    return ann, sue, root


def _import(root, text):
    return root.do("post", "/office/channels/amzn", data={
        "action": "inventory", "warehouse": "W2", "file": (io.BytesIO(text.encode()), "fba.txt")},
        content_type="multipart/form-data")


def _published(code):
    db.session.rollback()
    ch = db.session.execute(select(Channel).where(Channel.code == code)).scalar_one()
    return {row["item_sku"]: row["available"] for row in channels.availability(db.session, ch)}


def test_stock_in_a_warehouse_the_channel_runs_comes_from_its_report_and_transfers(app, fba):
    ann, sue, root = fba
    receive("SKU-1", 20, to_bin="A-01")
    # Sent to the channel's warehouse: picked and shipped at W1 as any transfer, in transit to W2.
    assert sue.do("post", "/office/transfers", data={"dest": "W2", "lines": "SKU-1 8"}).status_code == 303
    tr = db.session.execute(select(Transfer)).scalars().one()
    tid = ann.start("/tasks/transfer-out", transfer=str(tr.id))
    ann.scan(tid, "A-01")
    ann.scan(tid, ean_for(1), qty="8")
    assert "shipped to W2" in ann.scan(tid, tr.number).text
    assert buckets("SKU-1", "W2")["A"] == 8
    assert _published("amzn") == {"SKU-1": 12} and _published("shop") == {"SKU-1": 12}
    # Nobody scans there: a receipt of the transfer at W2 is refused.
    ann.do("post", "/warehouse", data={"warehouse": "W2"})
    r = ann.do("post", "/tasks/transfer-in", data={"transfer": str(tr.id)}, headers=HX)
    assert "is run by a sales channel" in r.text
    # The report: 5 of the 8 received and available, 3 still inbound.
    r = _import(root, report(("SKU-1", 5, 0, 3)))
    assert r.status_code == 200 and "5 units received off transfers" in r.text, r.text[-600:]
    assert buckets("SKU-1", "W2") == {**buckets("SKU-1", "W2"), "A": 3, "I": 5, "S": 5}
    assert _published("amzn") == {"SKU-1": 17} and _published("shop") == {"SKU-1": 12}
    # The rest arrived; the channel sold 2 and 1 came back unsellable.
    r = _import(root, report(("SKU-1", 5, 1, 0)))
    assert "3 units received off transfers, 2 sold by the channel" in r.text, re.findall("flash[^<]*<", r.text)
    assert buckets("SKU-1", "W2") == {**buckets("SKU-1", "W2"), "A": 0, "I": 6, "S": 5, "U": 1, "O": 0}
    db.session.rollback()
    assert db.session.get(Transfer, tr.id).status == "received"
    # Importing the same report again changes nothing.
    r = _import(root, report(("SKU-1", 5, 1, 0)))
    assert "0 units received off transfers, 0 sold by the channel, 0 found" in r.text
    assert buckets("SKU-1", "W2")["I"] == 6
    # In the company's totals.
    assert 'data-warehouse="W2"' in sue.do("get", "/office/").text
    assert check_ledger(db.session) == []


@pytest.mark.parametrize("text, says", [
    ("sku\tquantity\nSKU-1\t3\n", "this one lacks fulfillable"),
    (REPORT_HEAD + "NO-SUCH\tX\tB\tn\tNew\t1\tNo\t\tYes\t1\t1\t0\t0\t1\t0\t0\t0\t0\n", "row 2: no item"),
    (report(("SKU-1", 1, 0, 0)).replace("\t1\t0\t0\t1\t0.1", "\t-1\t0\t0\t1\t0.1"), "row 2"),
    (report(("SKU-1", 1, 0, 0), ("SKU-1", 2, 0, 0)), "row 3: SKU-1 again"),
    ("", "empty"),
])
def test_a_bad_inventory_report_changes_nothing_and_says_why(app, fba, text, says):
    ann, sue, root = fba
    r = _import(root, text)
    assert r.status_code == 422 and says in r.text, r.text[-600:]
    assert buckets("SKU-1", "W2") == {}


def test_no_other_channel_sells_from_a_warehouse_one_runs(app, fba):
    ann, sue, root = fba
    r = root.do("post", "/office/channels/shop", data={"action": "save", "name": "Shop", "kind": "shopify",
                                                       "warehouse": ["W1", "W2"], "active": "1"})
    assert r.status_code == 422 and "W2 is run by another channel" in r.text
