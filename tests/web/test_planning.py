"""Planning from the ledger (issue 21): suppliers with their terms, demand from reservations, safety
stock and reorder point against the projected position, proposals turned into purchase orders in one
step (twice orders nothing twice), each figure shown with its inputs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Item, ItemSupplier, Movement, PurchaseOrder, Supplier
from tests.builders import make_site, receive
from tests.web.test_floor_tasks import place
from tests.web.test_stock_control import Person


@pytest.fixture
def sue(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    r = sue.do("post", "/office/suppliers", data={"name": "Acme", "lead_days": "5", "lead_sd_days": "1",
                                                  "moq": "10", "pack": "5", "currency": "eur"})
    assert r.status_code == 303, r.text[-600:]
    db.session.rollback()
    supplier = db.session.execute(select(Supplier)).scalar_one()
    r = sue.do("post", "/office/suppliers", data={"action": "link", "sku": "SKU-1", "supplier": str(supplier.id),
                                                  "unit_cost": "2.50", "preferred": "1"})
    assert r.status_code == 303, r.text[-600:]
    db.session.rollback()
    return sue


def sold_over_days(days: int, per_day: int, sku="SKU-1"):
    """`days` days of demand: an order a day, its reservation dated that day (as if the days had passed)."""
    receive(sku, days * per_day + 2, to_bin="A-01")
    first = datetime.combine(date.today() - timedelta(days=days - 1), datetime.min.time()) + timedelta(hours=1)
    orders = [place(f"D{n}", [(sku, per_day)]) for n in range(days)]
    db.session.rollback()
    db.session.execute(update(Movement).where(Movement.kind == "receive").values(created_at=first - timedelta(minutes=30)))
    for n, order in enumerate(orders):  # the last one today
        db.session.execute(update(Movement).where(Movement.doc_type == "order", Movement.doc_id == order["id"])
                           .values(created_at=first + timedelta(days=n)))
    db.session.commit()


def test_a_supplier_and_its_item_are_kept_and_bad_terms_refused(sue):
    db.session.rollback()
    supplier = db.session.execute(select(Supplier)).scalar_one()
    assert (supplier.lead_days, float(supplier.lead_sd_days), supplier.moq, supplier.pack, supplier.currency) == (
        5, 1.0, 10, 5, "EUR")
    link = db.session.execute(select(ItemSupplier)).scalar_one()
    assert (link.item.sku, float(link.unit_cost), link.preferred) == ("SKU-1", 2.5, True)
    for data, words in (({"name": ""}, "Name the supplier"), ({"name": "Acme"}, "Acme is a supplier already."),
                        ({"name": "B", "lead_days": "400"}, "lead_days"), ({"name": "B", "currency": "euro"},
                                                                           "three-letter code"),
                        ({"name": "B", "lead_sd_days": "x"}, "is a number")):
        r = sue.do("post", "/office/suppliers", data=data)
        assert r.status_code == 422 and words in r.text, (data, r.text[-500:])


def test_an_item_selling_down_is_proposed_with_every_input_and_ordered_once(app, sue):
    sold_over_days(20, 2)
    page = sue.do("get", "/office/plan").text
    row = page[page.index('data-sku="SKU-1"'):]
    row = row[:row.index("</tr>")]
    # 2 a day (the days before the first receipt, without stock, left out), lead time 5 ± 1:
    # SS = z·√(5·0² + 2²·1²) = 2z, ROP = 2·5 + SS; the only item sold is class A (98 %).
    from app.domain.planning import z_for

    rop = 10 + 2 * z_for(0.98)
    assert "2.00 ± 0.00" in row and "20 days" in row and "5 ± 1" in row and "98.0 %" in row, row
    assert f"{rop:.1f}" in row and "<td>A</td>" in row, row
    assert "Acme" in row and 'name="qty_' in row
    assert 'data-to-order="1"' in page
    item = db.session.execute(select(Item).where(Item.sku == "SKU-1")).scalar_one()
    value = row.split(f'name="qty_{item.id}" value="')[1].split('"')[0]
    assert value == "15"  # position 2: 12.1 short → 13 → at least 10 → 3 packs of 5
    r = sue.do("post", "/office/plan/order", data={"item": [str(item.id)], f"qty_{item.id}": "15"})
    assert r.status_code == 303
    db.session.rollback()
    po = db.session.execute(select(PurchaseOrder)).scalar_one()
    from scanners import parse

    assert parse(po.number).kind == "po", po.number  # a number the receiving screen's scanner reads as a PO
    assert (po.supplier, po.supplier_id, [(ln.item.sku, ln.expected) for ln in po.lines]) == (
        "Acme", db.session.execute(select(Supplier.id)).scalar_one(), [("SKU-1", 15)])
    # Sent again (a double tap, a second supervisor): the item is on order now, nothing is ordered twice.
    sue.do("post", "/office/plan/order", data={"item": [str(item.id)], f"qty_{item.id}": "15"})
    db.session.rollback()
    assert len(db.session.execute(select(PurchaseOrder)).scalars().all()) == 1
    csv_text = sue.do("get", "/office/plan.csv").text
    assert csv_text.splitlines()[0].startswith("sku,name,abc,supplier,demand_per_day")
    assert any(line.startswith("SKU-1,") and ",15," in line for line in csv_text.splitlines())  # on order 15


def test_bad_planning_input_is_said_and_changes_nothing(app, sue):
    sold_over_days(5, 1)
    item = db.session.execute(select(Item).where(Item.sku == "SKU-1")).scalar_one()
    for data, words in (({"item": [str(item.id)], f"qty_{item.id}": "lots"}, "Quantity"),
                        ({}, "Tick the proposals to order."), ({"item": ["x"]}, "item")):
        r = sue.do("post", "/office/plan/order", data=data)
        assert r.status_code == 422 and words in r.text, (data, r.text[-500:])
    r = sue.do("post", "/office/plan/settings", data={"level_A": "150", "level_B": "95", "level_C": "90"})
    assert r.status_code == 422 and "service level" in r.text
    assert db.session.execute(select(PurchaseOrder)).first() is None
    r = sue.do("post", "/office/plan/settings", data={"level_A": "99", "level_B": "95", "level_C": "85",
                                                     "window": "60"})
    assert r.status_code == 303
    page = sue.do("get", "/office/plan").text
    assert "99.0 %" in page and 'name="level_C" maxlength="6" inputmode="decimal" value="85.0"' in page


def test_the_daily_command_lists_the_proposals_and_orders_them(app, sue):
    sold_over_days(10, 3)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["plan"])
    assert out.exit_code == 0 and "W1\tSKU-1\tAcme" in out.output and "1 item(s) need ordering" in out.output, out.output
    out = runner.invoke(args=["plan", "--order"])
    assert "created" in out.output
    assert "0 item(s) need ordering" in runner.invoke(args=["plan"]).output


def test_spare_cover_in_one_warehouse_is_proposed_as_a_transfer_and_planned_in_one_step(app, sue):
    from app.models import Transfer

    sold_over_days(10, 2)  # W1 sells 2 a day and runs low
    receive("SKU-1", 200, warehouse="W2", to_bin="A-01")  # W2 holds 200 and sells none
    page = sue.do("get", "/office/plan").text
    assert 'data-transfer-proposal="SKU-1"' in page, page[-1500:]
    proposal = page[page.index('data-transfer-proposal="SKU-1"'):]
    assert "W2 → W1" in proposal and "∞ days of cover" in proposal
    qty = proposal.split('name="qty" value="')[1].split('"')[0]
    source = proposal.split('name="source" value="')[1].split('"')[0]
    r = sue.do("post", "/office/plan/transfer", data={"source": source, "dest": "W1", "sku": "SKU-1", "qty": qty})
    assert r.status_code == 303, r.text[-500:]
    db.session.rollback()
    tr = db.session.execute(select(Transfer)).scalar_one()
    assert (tr.source.code, tr.dest.code, [(ln.item.sku, ln.qty) for ln in tr.lines]) == ("W2", "W1", [("SKU-1", int(qty))])
    # Planned, it counts as coming: W1 is proposed neither the transfer again nor a purchase of those units.
    page = sue.do("get", "/office/plan").text
    assert 'data-transfer-proposal="SKU-1"' not in page
    r = sue.do("post", "/office/plan/transfer", data={"source": source, "dest": "W1", "sku": "SKU-1", "qty": "999999"})
    assert r.status_code == 422  # more than W2 can allocate: said, nothing planned
    db.session.rollback()
    assert len(db.session.execute(select(Transfer)).scalars().all()) == 1


def test_an_items_plan_page_draws_its_days_against_its_reorder_point_and_the_po_carries_its_cost(app, sue):
    sold_over_days(20, 2)
    db.session.rollback()
    item = db.session.execute(select(Item).where(Item.sku == "SKU-1")).scalar_one()
    page = sue.do("get", f"/office/plan/item/{item.id}").text
    assert 'id="demand-chart"' in page and page.count("<polyline") == 2 and page.count('class="ref ') == 2
    assert "ROP = d̄·LT + SS" in page and 'data-mean>2.00<' in page
    assert sue.do("get", "/office/plan/item/999999").status_code == 404
    assert sue.do("get", "/office/plan").text.count(f"/office/plan/item/{item.id}") == 1
    sue.do("post", "/office/plan/order", data={"item": [str(item.id)], f"qty_{item.id}": "15"})
    db.session.rollback()
    line = db.session.execute(select(PurchaseOrder)).scalar_one().lines[0]
    assert float(line.unit_cost) == 2.5  # the supplier's cost: what the receipt will be valued at
