"""Stock control end to end in Chromium: a cycle count with a recount by a second operator, a pick in
the counted bin while its count is open, and supervisor approval; a promotion lock and unlock; a
transfer with one unit missing on receipt. Operators on handhelds (360x640, touch), the supervisor
on a desktop-sized screen; afterwards the buckets through the API, and check-ledger."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Bin, BinStock, Item, OrderLine, TaskLine, User
from app.services import picking
from tests.builders import make_token, make_user
from tests.e2e import test_floor_tasks_browser as floor
from tests.e2e.test_floor_tasks_browser import (
    feedback,
    ledger_is_ok,
    settle,
    sign_in,
    unit_code,
    wedge,
)

# The demo site, loaded once per run and copied per test, as for the floor tasks.
app = floor.app  # demo_db: tests/e2e/conftest.py

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def stock(app):
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    headers = {"Authorization": f"Bearer {make_token(admin)}"}
    client = app.test_client()

    def read(sku, warehouse="MAIN"):
        db.session.rollback()
        r = client.get(f"/api/v1/stock?warehouse={warehouse}&sku={sku}&bins=1", headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        body["in"] = {}
        for row in body["bins"]:
            if row["condition"] == "sellable":
                body["in"][row["bin"]] = body["in"].get(row["bin"], 0) + row["qty"]
        return body

    return read


@pytest.fixture
def second_handheld(browser, browser_context_args, live_server):
    make_user("bob", "bob", role="operator")
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    sign_in(page, live_server, "bob")
    yield page
    context.close()


@pytest.fixture
def supervisor(browser, live_server):
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    sign_in(page, live_server, "super")
    yield page
    context.close()


def with_qty(page, qty, code):
    """Type the quantity for the next scan, hand the keyboard back with Enter, then scan."""
    page.fill("input[name=qty]", str(qty))
    page.keyboard.press("Enter")
    wedge(page, code)


def contents(bin_code):
    """Sellable units per SKU in a bin, as the shelf holds them now."""
    db.session.rollback()
    rows = db.session.execute(
        select(Item.sku, func.sum(BinStock.qty)).join(Item, Item.id == BinStock.item_id).join(Bin, Bin.id == BinStock.bin_id)
        .where(Bin.code == bin_code, Bin.warehouse.has(code="MAIN"), BinStock.condition == "sellable", BinStock.qty > 0)
        .group_by(Item.sku)
    ).all()
    return {sku: int(q) for sku, q in rows}


def quiet_bin(exclude):
    """A storage bin with no reserved item, one of which (one lot, at least 6 units) the count finds 3 short;
    after the excluded bins on the walk, so that a count of them all starts with those."""
    db.session.rollback()
    reserved = set(db.session.execute(select(OrderLine.item_id).where(OrderLine.reserved > 0)).scalars())
    after = max(db.session.execute(select(Bin.walk_order).where(Bin.code.in_(exclude), Bin.warehouse.has(code="MAIN"))
                                   ).scalars(), default=-1)
    rows = db.session.execute(
        select(Bin.code, BinStock.item_id, func.count(), func.sum(BinStock.qty))
        .join(Bin, Bin.id == BinStock.bin_id)
        .where(Bin.type == "storage", Bin.warehouse.has(code="MAIN"), BinStock.qty > 0, Bin.walk_order > after)
        .group_by(Bin.code, BinStock.item_id).order_by(Bin.code)
    ).all()
    per_bin = {}
    for code, item_id, n, qty in rows:
        per_bin.setdefault(code, []).append((item_id, n, qty))
    for code, items in sorted(per_bin.items(), key=lambda kv: (len(kv[1]), kv[0])):
        if code in exclude or any(item_id in reserved for item_id, _, _ in items):
            continue
        for item_id, n, qty in items:
            if n == 1 and qty >= 6:
                return code, db.session.get(Item, item_id).sku
    raise AssertionError("the demo has no quiet bin")


def pct(x):
    return f"{x * 100:.1f}%"


def open_count(page, number):
    page.goto(page.url.split("/tasks")[0].split("/office")[0] + "/tasks/count")
    page.get_by_role("button", name=re.compile(number)).tap()
    expect(page.locator("#task-panel .step")).to_contain_text("Scan bin")


def test_a_count_session_with_a_pick_during_the_count_a_recount_and_approval(
    app, live_server, page, second_handheld, supervisor, stock, shot
):
    bob = second_handheld
    sign_in(page, live_server)  # the demo's picker: Ann, the first counter
    # Bob's pick list says which bin he will take from: that bin is counted while he picks.
    bob.goto(live_server + "/tasks/pick")
    order = picking.pickable_orders(db.session, _main())[0]
    bob.locator(f"input[name=order][value='{order.id}']").check()
    bob.get_by_role("button", name="Pick the chosen orders").tap()
    expect(bob.locator("#task-panel .big-bin")).to_be_visible()
    picked_bin = bob.locator("#task-panel .big-bin").inner_text().strip()
    db.session.rollback()
    line = db.session.execute(select(TaskLine).where(TaskLine.status == "open").order_by(TaskLine.id)).scalars().first()
    picked_sku, picked_qty = line.item.sku, line.expected
    quiet, quiet_sku = quiet_bin({picked_bin})
    quiet_shelf = contents(quiet)
    shelf_quiet = quiet_shelf[quiet_sku]

    # The supervisor counts both bins: blind, recount when a variance passes 2 units.
    supervisor.goto(live_server + "/office/counts")
    supervisor.get_by_label("Chosen bins").check()
    supervisor.locator("textarea[name=value]").fill(f"{picked_bin} {quiet}")
    supervisor.get_by_role("button", name="Create count").click()
    expect(supervisor.locator(".flash.info")).to_contain_text("2 bin(s) to count")
    number = re.search(r"CC-\d+", supervisor.locator(".flash.info").inner_text()).group(0)

    # Ann starts on the bin Bob is about to pick from.
    page.get_by_text("Count", exact=True).tap()
    page.get_by_role("button", name=re.compile(number)).tap()
    expect(page.locator("#task-panel .step")).to_have_text(f"Scan bin {picked_bin}")
    wedge(page, picked_bin)
    expect(page.locator("#task-panel .step")).to_contain_text(f"Count {picked_bin}")
    before_pick = contents(picked_bin)
    # Blind: nothing counted yet, so no line and none of the record's quantities on screen.
    expect(page.locator("#task-panel .counted")).to_have_count(0)
    assert not re.search(r"\bof \d", page.locator("#task-panel .current-line").inner_text())

    # Bob picks from the bin while its count is open.
    wedge(bob, picked_bin)
    with_qty(bob, picked_qty, unit_code(picked_sku))
    assert feedback(bob) == "ok"
    shelf = contents(picked_bin)
    assert shelf[picked_sku] == before_pick[picked_sku] - picked_qty

    # Ann counts what is on the shelf now, item by item, and closes the bin.
    for sku, qty in shelf.items():
        with_qty(page, qty, unit_code(sku))
        assert feedback(page) == "ok"
    page.get_by_role("button", name="Bin counted").tap()
    expect(page.locator("#task-panel .flash.ok")).to_contain_text(f"Bin {picked_bin} counted.")
    assert contents(picked_bin) == shelf  # the pick was neither lost nor counted twice

    # The quiet bin is 3 short: over the threshold, so it goes to a recount.
    expect(page.locator("#task-panel .step")).to_have_text(f"Scan bin {quiet}")
    wedge(page, quiet)
    for sku, qty in quiet_shelf.items():
        with_qty(page, qty - 3 if sku == quiet_sku else qty, unit_code(sku))
    expect(page.locator(f"#task-panel .counted [data-item='{quiet_sku}'] [data-counted]")).to_have_text(str(shelf_quiet - 3))
    settle(page)
    shot(page, "count-screen", full_page=False)
    page.get_by_role("button", name="Bin counted").tap()
    expect(page.locator("#task-panel .flash.warn")).to_contain_text("another operator will recount")
    assert contents(quiet)[quiet_sku] == shelf_quiet  # nothing adjusted yet

    # Bob recounts it and finds the same.
    open_count(bob, number)
    expect(bob.locator("#task-panel .step")).to_have_text(f"Scan bin {quiet}")
    wedge(bob, quiet)
    expect(bob.locator("#task-panel .step")).to_contain_text(f"Recount {quiet}")
    with_qty(bob, shelf_quiet - 3, unit_code(quiet_sku))
    bob.get_by_role("button", name="Bin counted").tap()
    expect(bob.locator("#task-panel .flash.warn")).to_contain_text("goes to the supervisor")

    # The supervisor approves the variance: a count-adjust of -3.
    supervisor.goto(live_server + "/office/counts")
    supervisor.get_by_role("link", name=number).click()
    expect(supervisor.locator(".variances li")).to_have_count(1)
    supervisor.get_by_role("button", name="Approve -3").click()
    expect(supervisor.locator(".flash.info")).to_contain_text(f"{quiet_sku} in {quiet} adjusted by -3")
    after = stock(quiet_sku)
    assert after["in"][quiet] == shelf_quiet - 3

    # KPIs by hand: every line matches but one, which is 3 under its record.
    lines = len(shelf) + len(quiet_shelf)
    system = sum(shelf.values()) + sum(quiet_shelf.values())
    expect(supervisor.locator('[data-kpi="type"]')).to_have_text(pct(1 / lines))
    expect(supervisor.locator('[data-kpi="qty"]')).to_have_text(pct(3 / system))
    expect(supervisor.locator('[data-kpi="ira"]')).to_have_text(pct((lines - 1) / lines))
    ledger_is_ok(app)

    supervisor.goto(live_server + "/office/kpis")
    expect(supervisor.locator("#kpi-chart svg polyline")).to_have_count(3)
    supervisor.locator("#kpi-chart").screenshot(path=str(_artifact("kpi-chart")))
    supervisor.goto(live_server + "/office/")
    expect(supervisor.locator('[data-warehouse="MAIN"]')).to_be_visible()
    supervisor.screenshot(path=str(_artifact("supervisor-overview")), full_page=True)


def test_a_promotion_lock_and_an_early_unlock(app, live_server, supervisor, stock):
    sku = next(s for s in ("HEX-0001", "HEX-0002", "HEX-0003") if stock(s)["S"] >= 3)
    before = stock(sku)
    supervisor.goto(live_server + "/office/locks")
    supervisor.get_by_label("Promotion").fill("Winter sale")
    supervisor.get_by_label("SKU").fill(sku)
    supervisor.get_by_label("Quantity").fill("3")
    supervisor.get_by_label("Unlock on").fill((date.today() + timedelta(days=10)).isoformat())
    supervisor.get_by_role("button", name="Lock", exact=True).click()
    expect(supervisor.locator(".flash.info")).to_contain_text("Locked")
    locked = stock(sku)
    assert (locked["S"], locked["L"]) == (before["S"] - 3, before["L"] + 3)
    supervisor.locator("tr", has_text="Winter sale").get_by_role("button", name="Unlock now").click()
    expect(supervisor.locator(".flash.info")).to_contain_text("back on sale")
    assert stock(sku) | {} == {**stock(sku), "S": before["S"], "L": before["L"]}
    ledger_is_ok(app)


def test_a_transfer_picked_shipped_and_received_with_one_unit_missing(
    app, live_server, page, second_handheld, supervisor, stock, shot
):
    bob = second_handheld
    sku = next(s for s in ("HEX-0001", "HEX-0002", "HEX-0003", "HEX-0004") if stock(s)["S"] >= 3)
    main_before, east_before = stock(sku), stock(sku, "EAST")
    supervisor.goto(live_server + "/office/transfers")
    supervisor.locator("select[name=dest]").select_option("EAST")
    supervisor.locator("textarea[name=lines]").fill(f"{sku} 3")
    supervisor.get_by_role("button", name="Plan transfer").click()
    expect(supervisor.locator(".flash.info")).to_contain_text("planned")
    number = re.search(r"TR-\d+", supervisor.locator(".flash.info").inner_text()).group(0)
    assert stock(sku)["T"] == main_before["T"] + 3

    sign_in(page, live_server)
    page.get_by_text("Transfer out", exact=True).tap()
    page.get_by_role("button", name=re.compile(number)).tap()
    expect(page.locator("#task-panel .step")).to_contain_text("Go to bin")
    while page.locator("#task-panel .current-line").count():
        wedge(page, page.locator("#task-panel .big-bin").inner_text().strip())
        db.session.rollback()
        line = db.session.execute(select(TaskLine).where(TaskLine.status == "open", TaskLine.transfer_line_id.is_not(None))
                                  .order_by(TaskLine.seq)).scalars().first()
        with_qty(page, line.remaining, unit_code(sku))
        assert feedback(page) == "ok"
    wedge(page, number)
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("shipped to EAST")
    shipped = stock(sku)
    assert (shipped["I"], shipped["T"]) == (main_before["I"] - 3, main_before["T"])
    assert stock(sku, "EAST")["A"] == east_before["A"] + 3

    # At EAST two of the three arrive.
    bob.goto(live_server + "/warehouse")
    bob.get_by_role("button", name=re.compile("EAST")).tap()
    bob.get_by_text("Transfer in", exact=True).tap()
    bob.get_by_role("button", name=re.compile(number)).tap()
    with_qty(bob, 2, unit_code(sku))
    assert feedback(bob) == "ok"
    bob.get_by_role("button", name="Close receipt").tap()
    expect(bob.locator("#task-panel .flash.warn")).to_contain_text(f"{sku} missing 1")
    east = stock(sku, "EAST")
    assert (east["A"], east["I"], east["S"]) == (east_before["A"], east_before["I"] + 2, east_before["S"] + 2)
    settle(bob)
    shot(bob, "task-transfer-in", full_page=False)
    supervisor.goto(live_server + "/office/transfers")
    expect(supervisor.locator(f"tr[data-transfer='{number}']")).to_contain_text("differences")
    ledger_is_ok(app)


def _main():
    from app.models import Warehouse

    return db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()


def _artifact(name):
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"



def test_the_plan_turns_a_proposal_into_a_purchase_order_that_is_received_on_the_floor(app, live_server, page,
                                                                                       supervisor, stock, shot):
    """The supervisor orders one proposal of the demo's plan; the operator receives that PO by scans."""
    from app.models import PurchaseOrder

    supervisor.goto(live_server + "/office/plan")
    expect(supervisor.locator("h1")).to_have_text("Plan of MAIN")
    proposed = [r.get_attribute("data-sku") for r in supervisor.locator("tr.missing").all()]
    db.session.rollback()
    plain = set(db.session.execute(select(Item.sku).where(Item.sku.in_(proposed), Item.serial_tracked.is_(False))).scalars())
    sku = next(x for x in proposed if x in plain)  # received by a plain scan and a quantity
    # Untick every proposal but that one, and order 12 of it.
    for row in supervisor.locator("tr.missing").all():
        if row.get_attribute("data-sku") != sku:
            row.locator("input[name=item]").uncheck()
    supervisor.locator(f"tr[data-sku='{sku}'] input[name^=qty_]").fill("12")
    shot(supervisor, "plan", full_page=False)
    supervisor.get_by_role("button", name="Order the ticked proposals").click()
    expect(supervisor.locator(".flash.info")).to_contain_text("Purchase orders PO-")
    db.session.rollback()
    po = db.session.execute(select(PurchaseOrder).order_by(PurchaseOrder.id.desc())).scalars().first()
    assert [(ln.item.sku, ln.expected) for ln in po.lines] == [(sku, 12)] and po.supplier
    number = po.number
    before = stock(sku)
    sign_in(page, live_server)
    page.goto(live_server + "/tasks/receive")
    wedge(page, number, wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    with_qty(page, 12, unit_code(sku))
    expect(page.locator("#task-panel .flash")).to_contain_text("12 of 12")
    after = stock(sku)
    assert after["I"] == before["I"] + 12
    ledger_is_ok(app)
    # The receipt is valued at its PO line's cost; the valuation and its chart show it.
    supervisor.goto(live_server + "/office/valuation")
    expect(supervisor.locator(f"tr[data-sku='{sku}']")).to_be_visible()
    expect(supervisor.locator("#value-chart svg polyline")).to_have_count(1)
    shot(supervisor, "valuation", full_page=False)
    supervisor.goto(live_server + "/office/losses")
    shot(supervisor, "losses", full_page=False)
