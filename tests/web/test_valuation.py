"""Stock valuation at moving-average cost (issue 21): receipts at their PO line's cost, transfers that
carry cost along, issues at the average, the value on a past day from the ledger, cost of goods
shipped and turnover; check-ledger checks every movement's value and every balance's."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.domain import valuation as v
from app.extensions import db
from app.models import Balance, Item, LedgerDay, Movement, Warehouse
from app.services import purchasing, valuation
from app.services.ledger import check_ledger
from app.services.stock import MovementCommand, apply_movement
from tests.builders import make_site, make_token, make_user, move, receive
from tests.web.test_floor_tasks import ledger_ok, place
from tests.web.test_stock_control import Person


def _value(code="W1", sku="SKU-1"):
    db.session.rollback()
    wh = db.session.execute(select(Warehouse).where(Warehouse.code == code)).scalar_one()
    item = db.session.execute(select(Item).where(Item.sku == sku)).scalar_one()
    bal = db.session.execute(select(Balance).where(Balance.warehouse_id == wh.id, Balance.item_id == item.id)).scalar_one()
    return v.from_e4(bal.value_e4), bal.i + bal.a


def _po(number, qty, cost, sku="SKU-1"):
    purchasing.create_purchase_order(purchasing.PurchaseOrderRequest(
        number=number, warehouse="W1", lines=[purchasing.LineRequest(sku, qty, unit_cost=cost)]))


def test_receipts_at_their_po_cost_then_a_shipment_a_scrap_and_a_transfer_at_the_average(app):
    make_site()
    db.session.execute(update(Item).where(Item.sku == "SKU-1").values(unit_cost=Decimal("9.99")))
    db.session.commit()
    _po("PO-2026-0101", 10, "2.00")
    _po("PO-2026-0102", 30, "3.00")
    for number, qty in (("PO-2026-0101", 10), ("PO-2026-0102", 30)):
        purchasing.receive_against(number, MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=qty,
                                                           to_bin="A-01"))
    assert _value() == (Decimal("110"), 40)  # avg 2.75
    order = place("VAL-1", [("SKU-1", 4)])
    for kind, extra in (("pick", {"from_bin": "A-01", "to_bin": "STAGE"}), ("ship", {"from_bin": "STAGE"})):
        apply_movement(MovementCommand(warehouse="W1", kind=kind, sku="SKU-1", qty=4, doc_type="order",
                                       doc_id=order["id"], **extra))
    assert _value() == (Decimal("99"), 36)  # 4 out at 2.75
    move("damage", qty=2, from_bin="A-01")
    move("scrap", qty=2, from_bin="A-01", condition="damaged")
    assert _value() == (Decimal("93.5"), 34)
    # A transfer: its units leave at 2.75 and arrive, in transit and then received, at 2.75.
    move("transfer_allocate", qty=10)
    move("transfer_ship", qty=10, from_bin="A-01", dest_warehouse="W2")
    assert _value() == (Decimal("66"), 24) and _value("W2") == (Decimal("27.5"), 10)
    move("transfer_receive", qty=10, warehouse="W2", to_bin="DOCK")
    assert _value("W2") == (Decimal("27.5"), 10)
    # A receipt with no PO line cost comes in at the item's cost; one naming its own, at that.
    receive("SKU-1", 10, warehouse="W2", unit_cost="4.50")
    assert _value("W2") == (Decimal("72.5"), 20)
    receive("SKU-1", 1)
    assert _value() == (Decimal("75.99"), 25)
    ledger_ok()
    db.session.rollback()
    w1 = db.session.get(Warehouse, 1)
    assert valuation.now(db.session, w1).total_e4 == v.to_e4("75.99")
    assert valuation.cogs(db.session, w1, date.today() - timedelta(days=1)) == v.to_e4("11")
    ship = db.session.execute(select(Movement).where(Movement.kind == "ship")).scalar_one()
    assert ship.unit_cost_e4 == v.to_e4("2.75") and ship.value_e4 == -v.to_e4("11")


def test_the_value_on_a_past_day_is_replayed_from_the_ledger(app):
    make_site()
    receive("SKU-1", 10, unit_cost="1.00")
    receive("SKU-1", 10, unit_cost="2.00")
    db.session.rollback()
    # The second receipt is moved to three days ago, the first to five: as if made then.
    first, second = db.session.execute(select(Movement).order_by(Movement.id)).scalars().all()
    first.created_at -= timedelta(days=5)
    second.created_at -= timedelta(days=3)
    db.session.commit()
    move("adjust", qty=16, to_bin="A-01")  # today: 4 found missing, at 1.50
    wh = db.session.get(Warehouse, 1)
    today = date.today()
    assert valuation.as_of(db.session, wh, today - timedelta(days=6)).total_e4 == 0
    assert valuation.as_of(db.session, wh, today - timedelta(days=4)).total_e4 == v.to_e4("10")
    assert valuation.as_of(db.session, wh, today - timedelta(days=1)).total_e4 == v.to_e4("30")
    assert valuation.now(db.session, wh).total_e4 == v.to_e4("24")
    closes = dict(valuation.daily_values(db.session, wh, 7))
    assert closes[today - timedelta(days=5)] == v.to_e4("10") and closes[today - timedelta(days=3)] == v.to_e4("30")
    assert closes[today] == v.to_e4("24")
    ledger_ok()


def test_check_ledger_finds_a_wrong_value_on_a_movement_and_on_a_balance(app):
    make_site()
    receive("SKU-1", 10, unit_cost="1.00")
    db.session.rollback()
    db.session.execute(update(Movement).values(value_e4=Movement.value_e4 + 1))
    db.session.commit()
    problems = check_ledger(db.session)
    assert any("stored value 10.0001 but moving-average cost gives 10" in p for p in problems), problems
    assert any("balance" in p and "stored value 10" in p and "ledger gives 10.0001" in p for p in problems), problems


def test_the_valuation_screen_its_past_day_its_csv_and_its_refusals(app):
    make_site()
    receive("SKU-1", 10, unit_cost="1.25")
    receive("SKU-2", 4, unit_cost="10")
    sue = Person(app, "sue", role="supervisor")
    page = sue.do("get", "/office/valuation").text
    assert f'data-total-value="{v.to_e4("52.5")}"' in page and 'id="value-chart"' in page and "<svg" in page
    assert page.index('data-sku="SKU-2"') < page.index('data-sku="SKU-1"')  # dearest first
    assert 'data-bucket-value="s">52.50<' in page
    past = sue.do("get", f"/office/valuation?as_of={(date.today() - timedelta(days=1)).isoformat()}").text
    assert 'data-total-value="0"' in past
    csv_text = sue.do("get", "/office/valuation?format=csv").text
    assert csv_text.splitlines()[0] == "warehouse,as_of,sku,name,units,avg_cost,value"
    assert "W1,now,SKU-2,Test item 2,4,10.0000,40.00" in csv_text
    for bad in ("as_of=yesterday", "days=0", "days=99999", "as_of=2026-13-45", "days=%00"):
        assert sue.do("get", f"/office/valuation?{bad}").status_code in (400, 422), bad
    assert Person(app, "ann").do("get", "/office/valuation").status_code == 403


def test_the_api_takes_a_unit_cost_on_a_receipt_and_a_po_line_and_refuses_nonsense(app, client):
    make_site()
    auth = {"Authorization": f"Bearer {make_token(make_user('chan', role='supervisor'))}"}
    r = client.post("/api/v1/purchase-orders", headers=auth, json={
        "number": "PO-2026-0300", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 5, "unit_cost": "3.20"}]})
    assert r.status_code == 201 and r.get_json()["lines"][0]["unit_cost"] == "3.2000"
    r = client.post("/api/v1/movements", headers=auth, json={
        "warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 5, "purchase_order": "PO-2026-0300"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["movement"]["unit_cost"] == "3.2000" and r.get_json()["movement"]["value"] == "16.0000"
    r = client.post("/api/v1/movements", headers=auth, json={
        "warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "unit_cost": 7})
    assert r.status_code == 201 and r.get_json()["movement"]["unit_cost"] == "7.0000"
    before = _value()
    for bad in ("abc", "-1", "1e30", "NaN", "Infinity", True, [], {"a": 1}, "1.00001"):
        r = client.post("/api/v1/purchase-orders", headers=auth, json={
            "number": "PO-2026-0301", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 1, "unit_cost": bad}]})
        assert r.status_code == 422 and "unit_cost" in r.get_json()["error"]["message"], (bad, r.get_json())
        if bad != "1.00001":
            r = client.post("/api/v1/movements", headers=auth, json={
                "warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "unit_cost": bad})
            assert r.status_code == 422 and "unit_cost" in r.get_json()["error"]["message"], (bad, r.get_json())
    r = client.post("/api/v1/movements", headers=auth, json={
        "warehouse": "W1", "kind": "adjust", "sku": "SKU-1", "qty": 1, "to_bin": "DOCK", "unit_cost": "1"})
    assert r.status_code == 422 and "only a receive" in r.get_json()["error"]["message"]
    assert _value() == before
    ledger_ok()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["receive", "adjust", "scrap", "transfer"]), st.integers(1, 9),
                          st.integers(0, 500)), min_size=1, max_size=12))
def test_any_sequence_of_movements_replays_to_the_stored_values(app, steps):
    """Receipts at random costs, counts up and down, damage and scrap, transfers out and in: every
    movement's value and every balance's replay exactly (check-ledger), in both warehouses."""
    db.session.rollback()
    for model in (Movement, Balance):
        db.session.query(model).delete()
    from app.models import BinStock

    db.session.query(BinStock).delete()
    db.session.commit()
    if db.session.execute(select(Warehouse)).first() is None:
        make_site()
    for kind, qty, cents in steps:
        db.session.rollback()
        held = db.session.execute(select(Balance.s).where(Balance.warehouse_id == 1, Balance.item_id == 1)).scalar() or 0
        if kind == "receive":
            receive("SKU-1", qty, unit_cost=Decimal(cents) / 100)
        elif kind == "adjust":
            move("adjust", qty=max(0, held - 1 + qty % 3), to_bin="A-01")
        elif kind == "scrap" and held:
            n = min(qty, held)
            move("damage", qty=n, from_bin="A-01")
            move("scrap", qty=n, from_bin="A-01", condition="damaged")
        elif kind == "transfer" and held:
            n = min(qty, held)
            move("transfer_allocate", qty=n)
            move("transfer_ship", qty=n, from_bin="A-01", dest_warehouse="W2")
            move("transfer_receive", qty=n, warehouse="W2", to_bin="DOCK")
    db.session.rollback()
    assert check_ledger(db.session) == []


def test_losses_are_valued_at_the_average_cost_they_met(app):
    from app.services import losses

    make_site()
    db.session.execute(update(Item).where(Item.sku == "SKU-1").values(unit_cost=Decimal("9.99")))
    db.session.commit()
    receive("SKU-1", 10, unit_cost="2.00")
    receive("SKU-1", 10, unit_cost="4.00")
    move("damage", qty=2, from_bin="A-01", reason="damage: Broken")  # at 3.00, not at the item's 9.99
    move("adjust", qty=17, to_bin="A-01")  # one found missing, at 3.00
    db.session.rollback()
    report = losses.report(db.session, db.session.get(Warehouse, 1))
    assert report.by_reason["Broken"].value == Decimal("6.00")
    assert report.counted_missing["SKU-1"].value == Decimal("3.00")
    ledger_ok()


def test_the_sums_per_day_read_as_the_ledger_does_before_and_after_they_are_filled(any_app):
    """services.ledger_days: a screen reads the same figures whether the closed days are summed yet
    or not (then from the movements), and today's movements count at once."""
    from app.services import ledger_days, planning

    make_site()
    receive("SKU-1", 30, unit_cost="2.00")
    for n in range(3):
        place(f"LD-{n}", [("SKU-1", 2 + n)])
    db.session.rollback()
    for n, m in enumerate(db.session.execute(select(Movement).order_by(Movement.id)).scalars()):
        m.created_at -= timedelta(days=10 - 3 * n)  # the receipt 10 days ago, the orders 7, 4 and 1 day ago
    db.session.commit()
    wh = db.session.get(Warehouse, 1)
    today = date.today()

    def figures():
        db.session.rollback()
        demand, empty = planning.demand_by_day(db.session, 1, today - timedelta(days=12))
        aged = {a.item.sku: (a.layers, a.days_since_demand) for a in planning.ageing(db.session, wh)[0]}
        return (dict(demand[1]), sorted(empty[1]), valuation.as_of(db.session, wh, today - timedelta(days=8)).total_e4,
                dict(valuation.daily_values(db.session, wh, 12)), planning.item_history(db.session, 1, 1, today - timedelta(days=12)),
                aged)

    live = figures()
    assert live[0] == {today - timedelta(days=7): 2, today - timedelta(days=4): 3, today - timedelta(days=1): 4}
    assert live[1] == [today - timedelta(days=d) for d in (12, 11)]  # before the first receipt: no stock, left out
    assert live[2] == v.to_e4("60")
    assert live[5]["SKU-1"] == ({"0–30": 30, "31–90": 0, "91–180": 0, "over 180": 0}, 1)
    receive("SKU-1", 5, unit_cost="2.00")  # today's receipt: the newest layer, read live
    receive("SKU-2", 3)
    db.session.rollback()
    old = db.session.execute(select(Movement).where(Movement.item_id == 2)).scalar_one()
    old.created_at -= timedelta(days=200)  # SKU-2's stock is old
    db.session.commit()
    live = figures()
    assert live[5]["SKU-2"][0]["over 180"] == 3
    ledger_days.fill_all()
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(LedgerDay)).scalar_one() == 5
    assert figures() == live
    place("LD-today", [("SKU-1", 5)])  # today's: read live, on top of the days summed
    assert dict(figures()[0])[today] == 5
    ledger_ok()
    db.session.execute(update(LedgerDay).where(LedgerDay.reserved == 3).values(reserved=4))
    db.session.commit()
    problems = check_ledger(db.session)
    assert len(problems) == 1 and problems[0].startswith("ledger days W1/SKU-1 ") and "ledger gives" in problems[0]
