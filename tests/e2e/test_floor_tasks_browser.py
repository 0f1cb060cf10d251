"""Each floor task end to end on a handheld (360x640, touch) in Chromium, by keyboard-wedge scans of
the demo site's barcodes; afterwards the buckets and bins through GET /api/v1/stock, and check-ledger."""

import re
import shutil
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Barcode, Item, Order, Task, TaskLine, User, Warehouse
from app.services import picking
from app.services import orders as order_service
from app.services import engine
from app.services import tasks as task_service
from scanners import GS, gtin
from scanners import labels as L
from scanners.parse import DEFAULT_RULES
from tests.builders import make_token
from tests.conftest import _make_app


@pytest.fixture
def app(demo_db, tmp_path):
    target = tmp_path / "floor.db"
    shutil.copy(demo_db, target)
    app = _make_app(f"sqlite:///{target}", tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def api(app):
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    headers = {"Authorization": f"Bearer {make_token(admin)}"}
    client = app.test_client()

    def stock(sku):
        db.session.rollback()
        r = client.get(f"/api/v1/stock?warehouse=MAIN&sku={sku}&bins=1", headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        body["in"] = {}
        for row in body["bins"]:
            key = row["bin"] if row["condition"] == "sellable" else f"{row['bin']}:{row['condition']}"
            body["in"][key] = body["in"].get(key, 0) + row["qty"]
        return body

    return stock


def ledger_is_ok(app):
    db.session.rollback()
    result = app.test_cli_runner().invoke(args=["check-ledger"])
    assert result.exit_code == 0 and result.output.strip().endswith("ok"), result.output


def sign_in(page, url, user="picker"):
    page.goto(url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", user)
    page.press("input[name=password]", "Enter")
    expect(page.locator("h1")).to_have_text(re.compile("^(Tasks|任务|Tareas)$"))


def wedge(page, code, wait=True):
    """A keyboard-wedge scan: the code at scanner speed, Ctrl+] for a GS1 group separator, then Enter."""
    # The page is ready for the scanner once scan.js has set up its queue and the field has focus.
    expect(page.locator("html[data-scans-waiting]")).to_have_count(1)
    expect(page.locator("#scan")).to_be_focused()
    parts = code.split(GS)
    for n, part in enumerate(parts):
        if n:
            page.keyboard.press("Control+BracketRight")
        page.keyboard.type(part, delay=4)
    page.keyboard.press("Enter")
    if wait:
        expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=10_000)


def feedback(page):
    return page.locator("#task-panel").get_attribute("data-feedback")


def unit_code(sku):
    db.session.rollback()
    return db.session.execute(
        select(Barcode.code).join(Item).where(Item.sku == sku, Barcode.kind == "unit")
    ).scalar_one()


def case(sku):
    db.session.rollback()
    return db.session.execute(
        select(Barcode.code, Barcode.pack_qty).join(Item).where(Item.sku == sku, Barcode.kind == "case")
    ).one()


def settle(page):
    # The picture shows the screen as the operator reads it after the feedback banner has gone.
    expect(page.locator("#feedback")).to_be_hidden(timeout=6000)
    page.wait_for_timeout(300)


# ------------------------------------------------------------------ receiving


def test_receiving_a_po_with_a_gs1_carton_a_case_and_an_over_receipt(app, live_server, page, api, shot):
    before = {sku: api(sku) for sku in ("HEX-0001", "HEX-0002", "HEX-0004")}
    sign_in(page, live_server)
    page.get_by_text("Receive", exact=True).tap()
    expect(page.locator(".step")).to_have_text("Scan the purchase order or ASN")
    wedge(page, "PO-2026-0001", wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")

    expiry = date.today() + timedelta(days=400)
    carton = L.carton_label(gtin.to_gtin14(unit_code("HEX-0001")), "HEX-0001", lot="L2611A", expiry=expiry, count=24)
    wedge(page, carton.scan_text)
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("+24 × Hex bolt M6x20 lot L2611A → DOCK-01 · 24 of 48")

    code, pack = case("HEX-0002")
    wedge(page, code)
    expect(page.locator("#task-panel .flash.ok")).to_contain_text(f"+{pack} × Hex bolt M6x30")

    code4, pack4 = case("HEX-0004")  # 24 expected: four cases of 6, then one unit too many
    for _ in range(24 // pack4):
        wedge(page, code4)
    wedge(page, unit_code("HEX-0004"))
    assert feedback(page) == "warn"
    expect(page.locator("#task-panel .flash.warn")).to_contain_text("Over-receipt: 24 expected, 25")
    assert api("HEX-0004")["I"] == before["HEX-0004"]["I"] + 24  # nothing booked yet
    shot(page, "task-receiving-step", full_page=False)
    wedge(page, unit_code("HEX-0004"))  # the same scan again confirms
    assert feedback(page) == "ok"

    page.get_by_role("button", name="Close receipt").tap()
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0")
    second = page.get_by_role("button", name=re.compile(r"^Close [0-9,]+ short$"))
    if second.count():
        # Closing short takes a second tap, on a button at the top, away from where the thumb was.
        first_y = page.get_by_role("button", name="Close receipt").bounding_box()["y"]
        assert abs(second.bounding_box()["y"] - first_y) > 150
        second.tap()
    expect(page.locator("#task-panel .step")).to_have_text("Done")
    expect(page.locator("table.lines")).to_contain_text("Diff")
    after = {sku: api(sku) for sku in before}
    assert after["HEX-0001"]["I"] - before["HEX-0001"]["I"] == 24
    assert after["HEX-0001"]["S"] - before["HEX-0001"]["S"] == 24
    assert {b["lot"] for b in after["HEX-0001"]["bins"] if b["bin"] == "DOCK-01"} >= {"L2611A"}
    assert after["HEX-0002"]["in"]["DOCK-01"] - before["HEX-0002"]["in"].get("DOCK-01", 0) == pack
    assert after["HEX-0004"]["S"] - before["HEX-0004"]["S"] == 25
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-receiving", full_page=False)


# ------------------------------------------------------------------ putaway


def received_at_dock(app, skus_qty):
    from app.services.stock import MovementCommand, apply_movement

    for sku, qty in skus_qty:
        apply_movement(MovementCommand(warehouse="MAIN", kind="receive", sku=sku, qty=qty, to_bin="DOCK-01"))


def test_putaway_to_the_suggested_bin_and_to_another_with_a_warning(app, live_server, page, api, shot):
    received_at_dock(app, [("HEX-0003", 12), ("CAB-0014", 5)])
    where = api("HEX-0003")["in"]
    home = min((b for b in api("HEX-0003")["bins"] if b["type"] == "storage"), key=lambda b: b["bin"], default=None)
    sign_in(page, live_server)
    page.get_by_text("Put away", exact=True).tap()
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item or a pallet")
    wedge(page, unit_code("HEX-0003"))
    suggested = page.locator(".big-bin").inner_text()
    assert home is None or suggested in where
    wedge(page, suggested)
    assert feedback(page) == "ok"
    wedge(page, unit_code("CAB-0014"))
    other = "F-10-4" if page.locator(".big-bin").inner_text() != "F-10-4" else "F-10-3"
    wedge(page, other)
    assert feedback(page) == "warn"
    expect(page.locator("#task-panel .flash.warn")).to_contain_text("not the suggested")
    hex3, cab = api("HEX-0003"), api("CAB-0014")
    assert hex3["in"][suggested] == where.get(suggested, 0) + 12 and "DOCK-01" not in hex3["in"]
    assert cab["in"][other] >= 5 and "DOCK-01" not in cab["in"]
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-putaway", full_page=False)


# ------------------------------------------------------------------ picking


def oldest_orders(n):
    db.session.rollback()
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    return picking.pickable_orders(db.session, main)[:n]


def current(task_id):
    db.session.rollback()
    return picking.current_line(db.session.get(Task, task_id))


def task_id_of(page) -> int:
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def test_a_batch_pick_of_three_orders_with_a_wrong_bin_and_a_short_pick(app, live_server, page, api, shot):
    orders = oldest_orders(3)
    ids, numbers = [o.id for o in orders], [o.number for o in orders]
    skus = sorted({ln.item.sku for o in orders for ln in o.lines})
    before = {sku: api(sku) for sku in skus}
    sign_in(page, live_server)
    page.get_by_text("Pick", exact=True).tap()
    for oid in ids:
        page.locator(f"input[name=order][value='{oid}']").tap()
    page.get_by_role("button", name="Pick the chosen orders").tap()
    expect(page.locator("#task-panel")).to_be_visible()
    tid = task_id_of(page)

    wrong_bin_done = short_done = False
    picked, shorted = {}, {}
    while (line := current(tid)) is not None:
        if page.locator(".big-bin.reached").count():
            expect(page.locator("#task-panel .step")).to_contain_text(f"Scan {line.item.name}")
        else:
            expect(page.locator("#task-panel .step")).to_have_text(f"Go to bin {line.bin.code} and scan it")
        if not wrong_bin_done:
            wedge(page, "A-01-1" if line.bin.code != "A-01-1" else "A-01-2")
            assert feedback(page) == "error"
            expect(page.locator("#task-panel .flash.error")).to_contain_text(f"Wrong bin: go to {line.bin.code}")
            wrong_bin_done = True
        if not page.locator(".big-bin.reached").count():
            wedge(page, line.bin.code)
        if line.seq == 2:
            settle(page)
            shot(page, "task-picking-step", full_page=False)
        if not short_done and line.expected >= 2:
            wedge(page, unit_code(line.item.sku))  # one found of two or more
            page.get_by_role("button", name="Short: not all here").tap()
            expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0")
            # Nothing happens on the first tap: a second, deliberate one names the shortfall.
            page.get_by_role("button", name=f"Short: {line.expected - 1} not found").tap()
            expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0")
            assert feedback(page) == "warn"
            shorted[line.item.sku] = line.expected - 1
            picked[line.item.sku] = picked.get(line.item.sku, 0) + 1
            short_done = True
            continue
        for _ in range(line.expected):  # repeated scans count up
            wedge(page, unit_code(line.item.sku))
            assert feedback(page) in ("ok", "warn"), page.locator("#task-panel .flash").inner_text()
        picked[line.item.sku] = picked.get(line.item.sku, 0) + line.expected
    expect(page.locator("#task-panel .step")).to_have_text("Done")
    assert wrong_bin_done and short_done, "the demo's oldest orders must have a line of two or more"

    for sku in skus:
        now, was = api(sku), before[sku]
        assert {k: now[k] for k in "ISOU"} == {k: was[k] for k in "ISOU"}  # picking moves no bucket
        assert now["in"].get("STAGE-01", 0) - was["in"].get("STAGE-01", 0) == picked.get(sku, 0)
    db.session.rollback()
    for number in numbers:
        order = db.session.get(Order, int(number[3:]))
        assert sum(ln.reserved for ln in order.lines) == sum(ln.qty for ln in order.lines)  # the short stays reserved
    exceptions = task_service.open_exceptions(db.session, db.session.get(Warehouse, 1))
    assert [(x.kind, x.item.sku, x.qty) for x in exceptions if x.kind == "short_pick"] == [
        ("short_pick", sku, q) for sku, q in shorted.items()
    ]
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-picking", full_page=False)


def test_a_picked_line_of_one_takes_two_scans_and_no_tap(app, live_server, page):
    main = "MAIN"
    # Three single-unit orders of items that are in stock in one bin.
    skus = []
    db.session.rollback()
    for item in db.session.execute(select(Item).order_by(Item.id)).scalars():
        bal = next((b for b in api_balance(item)), None)
        if bal and bal >= 3:
            skus.append(item.sku)
        if len(skus) == 3:
            break
    ids = []
    for n, sku in enumerate(skus):
        order, _ = order_service.place_order("shop", f"ONE-{n}", main, [order_service.OrderLineRequest(sku, 1)])
        ids.append(order["id"])
    sign_in(page, live_server)
    page.goto(live_server + "/tasks/pick")
    for oid in ids:
        page.locator(f"input[name=order][value='{oid}']").tap()
    page.get_by_role("button", name="Pick the chosen orders").tap()
    expect(page.locator("#task-panel")).to_be_visible()
    tid = task_id_of(page)
    # Count what the operator does from here: scanner keys ending in Enter, and taps.
    page.evaluate("""() => {
        window.inputs = {scans: 0, taps: 0};
        document.addEventListener('keydown', e => { if (e.key === 'Enter') window.inputs.scans++; }, true);
        for (const type of ['pointerdown', 'touchstart']) document.addEventListener(type, () => window.inputs.taps++, true);
    }""")
    per_line = []
    while (line := current(tid)) is not None:
        assert line.expected == 1
        start = page.evaluate("() => ({...window.inputs})")
        if page.locator(".big-bin.reached").count() == 0:
            wedge(page, line.bin.code)
        wedge(page, unit_code(line.item.sku))
        end = page.evaluate("() => ({...window.inputs})")
        per_line.append((end["scans"] - start["scans"], end["taps"] - start["taps"]))
        db.session.rollback()
        assert db.session.get(TaskLine, line.id).status == "done"
    assert len(per_line) == 3
    assert all(scans <= 2 and taps == 0 for scans, taps in per_line), per_line


def api_balance(item):
    from app.models import Bin, BinStock

    rows = db.session.execute(
        select(BinStock.qty).join(Bin).where(BinStock.item_id == item.id, Bin.type == "storage",
                                             BinStock.condition == "sellable", Bin.warehouse_id == 1)
    ).scalars().all()
    return [max(rows)] if rows else []


# ------------------------------------------------------------------ shipping and returns


def pick_by_service(order_id):
    """An order picked through the same task service the screens use."""
    db.session.rollback()
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    from app.services.uow import UnitOfWork

    with UnitOfWork() as uow:
        task, _ = picking.start(uow.session, uow.session.get(Warehouse, main.id), uow.session.get(User, admin.id), [order_id])
        tid = task.id
        uow.commit()
    n = 0
    while (line := current(tid)) is not None:
        for code in [line.bin.code] + [unit_code(line.item.sku)] * line.expected:
            n += 1
            out = engine.handle(tid, task_service.ScanInput(f"setup-{tid}-{n:04d}", code, user_id=admin.id),
                                      DEFAULT_RULES)
            assert out.outcome != "error", out.message
    return tid


def test_shipping_an_order_scanned_at_the_dock(app, live_server, page, api, shot):
    order = oldest_orders(1)[0]
    order_id, number, skus = order.id, order.number, [(ln.item.sku, ln.qty) for ln in order.lines]
    pick_by_service(order_id)
    before = {sku: api(sku) for sku, _ in skus}
    sign_in(page, live_server)
    page.get_by_text("Ship", exact=True).tap()
    expect(page.locator(".step")).to_have_text("Scan the order or its tote")
    wedge(page, number, wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(f"Scan {number} again to ship it")
    wedge(page, number)
    assert feedback(page) == "ok"
    expect(page.locator("#task-panel .flash.ok")).to_contain_text(f"Shipped {number}")
    for sku, qty in skus:
        now, was = api(sku), before[sku]
        assert now["I"] == was["I"] - qty and now["O"] == was["O"] - qty and now["S"] == was["S"]
        assert now["in"].get("STAGE-01", 0) == was["in"]["STAGE-01"] - qty
    db.session.rollback()
    assert db.session.get(Order, order_id).status == "shipped"
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-shipping", full_page=False)


def test_a_return_with_restore_and_scrap(app, live_server, page, api, shot):
    order = next(o for o in oldest_orders(10) if any(ln.qty >= 2 for ln in o.lines))
    line = next(ln for ln in order.lines if ln.qty >= 2)
    sku, number, order_id, warehouse_id = line.item.sku, order.number, order.id, order.warehouse_id
    pick_by_service(order_id)
    from app.services.uow import UnitOfWork

    with UnitOfWork() as uow:
        admin = uow.session.execute(select(User).where(User.username == "admin")).scalar_one()
        from app.services import shipping

        sid = shipping.start(uow.session, uow.session.get(Warehouse, warehouse_id), admin,
                             uow.session.get(Order, order_id)).id
        uow.commit()
    assert engine.handle(sid, task_service.ScanInput("setup-ship-0001", action="ship", user_id=1),
                            DEFAULT_RULES).outcome == "ok"
    before = api(sku)

    sign_in(page, live_server)
    page.get_by_text("Returns", exact=True).tap()
    expect(page.locator(".step")).to_have_text("Scan the order's packing slip")
    wedge(page, number, wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan each returned item")
    page.get_by_role("button", name="Arrived damaged").tap()
    expect(page.locator("button[aria-pressed=true]")).to_have_text("Arrived damaged")
    wedge(page, unit_code(sku))
    wedge(page, unit_code(sku))
    assert feedback(page) == "ok"
    page.get_by_role("button", name="Close return").tap()
    expect(page.locator("#task-panel .step")).to_have_text("Done")
    returned = api(sku)
    assert returned["I"] == before["I"] + 2 and returned["U"] == before["U"] + 2 and returned["S"] == before["S"]
    assert returned["in"]["RET-01:returned"] == before["in"].get("RET-01:returned", 0) + 2

    page.goto(live_server + "/")
    page.get_by_text("Inspect returns", exact=True).tap()
    expect(page.locator("#task-panel .step")).to_have_text("Scan a returned item")
    wedge(page, unit_code(sku))
    page.get_by_role("button", name="Restore to sellable").tap()
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("Restored 1")
    page.get_by_role("button", name="Scrap").tap()
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("Scrapped 1")
    after = api(sku)
    assert after["I"] == before["I"] + 1 and after["U"] == before["U"] and after["S"] == before["S"] + 1
    assert after["in"]["RET-01"] == before["in"].get("RET-01", 0) + 1  # sellable again, waiting for putaway
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-returns", full_page=False)


# ------------------------------------------------------------------ damage tagging


def test_damage_tagging_that_breaks_a_reservation(app, live_server, page, api, shot):
    # An item whose sellable stock is all promised: damage must still be booked.
    order = oldest_orders(1)[0]
    sku = order.lines[0].item.sku
    where = next(b for b in api(sku)["bins"] if b["type"] == "storage" and b["condition"] == "sellable")
    before = api(sku)
    if before["S"]:
        order_service.place_order("shop", "TAKE-ALL", "MAIN", [order_service.OrderLineRequest(sku, before["S"])])
        before = api(sku)
    assert before["S"] == 0 and before["O"] >= 1
    sign_in(page, live_server)
    page.get_by_text("Tag damage", exact=True).tap()
    expect(page.locator("#task-panel .step")).to_have_text("Scan the bin")
    wedge(page, where["bin"])
    page.get_by_role("button", name="Wet").tap()
    expect(page.locator("button[aria-pressed=true]").first).to_have_text("Wet")
    page.get_by_role("button", name="Move to quarantine: off").tap()
    expect(page.get_by_role("button", name="Move to quarantine: ON")).to_be_visible()
    wedge(page, unit_code(sku))
    assert feedback(page) == "warn"
    expect(page.locator("#task-panel .flash.warn")).to_contain_text("now short")
    after = api(sku)
    assert (after["I"], after["S"], after["O"], after["U"]) == (before["I"], 0, before["O"] - 1, before["U"] + 1)
    assert after["in"].get("QUAR-01:damaged", 0) == before["in"].get("QUAR-01:damaged", 0) + 1
    ledger_is_ok(app)
    # A photo of it, as the camera's file picker hands it over.
    import cv2
    import numpy as np

    _, jpeg = cv2.imencode(".jpg", np.full((480, 640, 3), (40, 90, 200), np.uint8))
    page.set_input_files("input[data-photo-input]", files=[{"name": "damage.jpg", "mimeType": "image/jpeg",
                                                            "buffer": jpeg.tobytes()}])
    page.get_by_role("button", name="Add photo").tap()
    expect(page.locator("#task-panel img.thumb")).to_have_count(1)
    settle(page)
    shot(page, "task-damage", full_page=False)


# ------------------------------------------------------------------ moving stock


def test_moving_an_item_and_then_a_whole_bin_with_a_wrong_bin_refused(app, live_server, page, api, shot):
    stock = api("HEX-0001")
    source = max((b for b in stock["bins"] if b["type"] == "storage" and b["condition"] == "sellable"),
                 key=lambda b: b["qty"])
    held, before = source["qty"], {k: stock[k] for k in ("I", "S", "O")}
    target = "F-10-4" if source["bin"] != "F-10-4" else "F-10-3"
    sign_in(page, live_server)
    page.get_by_text("Move stock", exact=True).tap()
    expect(page.locator("#task-panel .step")).to_have_text("Scan the bin to take stock from, or a pallet")
    wedge(page, source["bin"])
    expect(page.locator(".big-bin")).to_have_text(source["bin"])
    page.locator("input[name=qty]").fill("2")
    page.keyboard.press("Enter")
    wedge(page, unit_code("HEX-0001"))
    expect(page.locator("#task-panel .step")).to_have_text("Scan the bin it goes to")
    wedge(page, "STAGE-01")
    assert feedback(page) == "error"
    expect(page.locator("#task-panel .flash.error")).to_contain_text("Move into a storage bin — STAGE-01 is a staging bin.")
    wedge(page, target)
    assert feedback(page) == "ok"
    after = api("HEX-0001")
    assert after["in"][source["bin"]] == held - 2 and after["in"][target] >= 2
    assert {k: after[k] for k in ("I", "S", "O")} == before  # a move changes no bucket
    # Then everything left in the source bin, in two scans of it and one of the target.
    left = {sku: api(sku)["in"].get(source["bin"], 0) for sku in ("HEX-0001",)}
    wedge(page, source["bin"])
    expect(page.locator("#task-panel .step")).to_have_text("Scan the bin it goes to")
    wedge(page, target)
    assert feedback(page) == "ok"
    final = api("HEX-0001")
    assert source["bin"] not in final["in"] and final["in"][target] == after["in"][target] + left["HEX-0001"]
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-move", full_page=False)


# ------------------------------------------------------------------ command barcodes


def test_a_receipt_and_its_putaway_done_with_command_barcodes_and_no_tap(app, live_server, page, api, shot):
    """From the start screens on, nothing is tapped: the PO, items and pallet are scanned, and every
    button the task needs (Confirm, Close, the short close's second look, Leave) is a command barcode."""
    before = api("HEX-0004")
    sign_in(page, live_server)
    taps = []
    page.on("request", lambda req: taps.append(req.post_data or "") if req.method == "POST" else None)
    page.goto(live_server + "/tasks/receive")
    wedge(page, "PO-2026-0001", wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    code4, pack4 = case("HEX-0004")
    for _ in range(24 // pack4 + 1):  # one case more than the PO line: a warning
        wedge(page, code4)
    assert feedback(page) == "warn"
    wedge(page, "CMD:CONFIRM")
    assert feedback(page) == "ok"
    wedge(page, "CMD:CLOSE")  # the other lines are short: the deliberate second look
    expect(page.locator("#task-panel form.confirm button.primary")).to_have_text(re.compile(r"^Close [0-9,]+ short$"))
    wedge(page, "CMD:CONFIRM")
    expect(page.locator("#task-panel .step")).to_have_text("Done")
    assert api("HEX-0004")["I"] == before["I"] + 24 + pack4
    # Putaway, started from its start screen's button would be a tap: resumed by URL instead, then all scans.
    page.goto(live_server + "/tasks/putaway")
    expect(page.locator("form button.primary")).to_be_visible()
    taps_before = len(taps)
    page.locator("form button.primary").press("Enter")  # the start screen's button, from the keyboard
    wedge(page, unit_code("HEX-0004"))
    suggested = page.locator(".big-bin").inner_text()
    wedge(page, "CMD:LEAVE", wait=False)
    expect(page).to_have_url(re.compile(r"/tasks/$"))
    assert all("action=" not in body for body in taps[taps_before:]), "a button was tapped"
    assert all("action=" not in body for body in taps), taps
    ledger_is_ok(app)
    assert suggested


# ------------------------------------------------------------------ cluster picking


def test_a_cluster_pick_of_four_orders_into_four_totes_with_a_wrong_tote_refused(app, live_server, page, api, shot):
    from app.models import LicencePlate

    orders = oldest_orders(4)
    ids, numbers = [o.id for o in orders], [o.number for o in orders]
    skus = sorted({ln.item.sku for o in orders for ln in o.lines})
    before = {sku: api(sku) for sku in skus}
    totes = [f"LP{9000 + n:08d}" for n in range(4)]
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    db.session.add_all(LicencePlate(code=code, warehouse_id=main.id) for code in totes)
    db.session.commit()
    sign_in(page, live_server)
    page.get_by_text("Pick", exact=True).tap()
    for oid in ids:
        page.locator(f"input[name=order][value='{oid}']").tap()
    page.locator("input[name=cluster]").tap()
    page.get_by_role("button", name="Pick the chosen orders").tap()
    expect(page.locator("#task-panel")).to_be_visible()
    tid = task_id_of(page)
    for number, tote in zip(numbers, totes):
        expect(page.locator("#task-panel .step")).to_have_text(f"Cart: scan a tote for {number}")
        wedge(page, tote)
        assert feedback(page) == "ok"
    for number, tote in zip(numbers, totes):
        expect(page.locator(f".cart li[data-order='{number}']")).to_contain_text(tote)
    wrong_done = False
    tote_of = dict(zip(numbers, totes))
    while (line := current(tid)) is not None:
        if not page.locator(".big-bin.reached").count():
            wedge(page, line.bin.code)
        wedge(page, unit_code(line.item.sku))
        number = line.order_line.order.number
        expect(page.locator("#task-panel .step")).to_have_text(
            re.compile(rf"^Put \d+ × .* into tote {tote_of[number]}$"))
        if not wrong_done:
            wedge(page, next(t for t in totes if t != tote_of[number]))
            assert feedback(page) == "error"
            expect(page.locator("#task-panel .flash.error")).to_contain_text(
                f"Wrong tote: this goes into {tote_of[number]} for {number}")
            settle(page)
            shot(page, "task-cluster-pick", full_page=False)
            wrong_done = True
        wedge(page, tote_of[number])
        assert feedback(page) in ("ok", "warn"), page.locator("#task-panel .flash").inner_text()
    expect(page.locator("#task-panel .step")).to_have_text("Done")
    db.session.rollback()
    for number, tote in zip(numbers, totes):
        order = db.session.get(Order, int(number[3:]))
        assert order.tote == tote and all(ln.picked == ln.qty for ln in order.lines)
    for sku in skus:
        now, was = api(sku), before[sku]
        assert {k: now[k] for k in "ISOU"} == {k: was[k] for k in "ISOU"}
    ledger_is_ok(app)


# ------------------------------------------------------------------ pick faces


def test_a_replenishment_raised_by_a_pick_and_done_with_the_face_first_refused(app, live_server, page, api, shot):
    """A demo pick face two units above its minimum: a pick of two from it raises its replenishment;
    the operator opens it from Replenish and walks it reserve bin → item → pick face."""
    from app.models import Bin, PickFace
    from app.services import replenishing

    db.session.rollback()
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    row = next(f for f in replenishing.faces(db.session, main) if f["on_hand"] - f["face"].min_qty == 2)
    sku, face = row["item"].sku, row["bin"].code
    order, _ = order_service.place_order("shop", "FACE-1", "MAIN", [order_service.OrderLineRequest(sku, 2)])
    before = api(sku)
    sign_in(page, live_server)
    page.get_by_text("Pick", exact=True).tap()
    wedge(page, order["number"], wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(f"Go to bin {face} and scan it")  # the face first
    wedge(page, face)
    wedge(page, unit_code(sku))
    wedge(page, unit_code(sku))
    expect(page.locator("#task-panel .flash")).to_contain_text(f"Pick face {face} is low: replenishment T")
    db.session.rollback()
    refill = db.session.execute(select(Task).where(Task.kind == "replenish")).scalar_one()
    lines = [(ln.bin.code, ln.expected) for ln in refill.lines]
    page.goto(live_server + "/")
    page.get_by_text("Replenish", exact=True).tap()
    page.locator("a.task", has_text=refill.number).tap()
    expect(page.locator("#task-panel .step")).to_have_text(f"Go to bin {lines[0][0]} and scan it")
    wedge(page, face)
    assert feedback(page) == "error"
    expect(page.locator("#task-panel .flash.error")).to_contain_text(
        f"Take the stock from {lines[0][0]} first — {face} is the pick face it goes to.")
    for reserve, qty in lines:
        wedge(page, reserve)
        page.locator("input[name=qty]").fill(str(qty))
        page.keyboard.press("Enter")
        wedge(page, unit_code(sku))
        expect(page.locator("#task-panel .step")).to_have_text(re.compile(rf"^Put {qty} × .* into pick face {face}: scan it$"))
        wedge(page, face)
        assert feedback(page) == "ok"
    expect(page.locator("#task-panel .step")).to_have_text("Done")
    after = api(sku)
    assert after["in"][face] == before["in"][face] - 2 + sum(q for _, q in lines)
    assert after["I"] == before["I"] and after["S"] == before["S"]  # a refill changes no bucket
    db.session.rollback()
    assert db.session.execute(select(PickFace.replenish_task_id).join(Bin).where(Bin.code == face)).scalar() is None
    ledger_is_ok(app)
    settle(page)
    shot(page, "task-replenish", full_page=False)


# ------------------------------------------------------------------ expiry


def test_an_expired_lot_is_neither_reserved_nor_picked_and_lookup_shows_it_expired(app, live_server, page, api, shot):
    """The demo's lot LPAST01 passed its date overnight: an order for its item reserves other lots, the
    pick list sends the picker elsewhere, and a lookup of its bin shows the units as expired."""
    from app.models import Lot

    db.session.rollback()
    lot = db.session.execute(select(Lot).where(Lot.number == "LPAST01")).scalar_one()
    sku = db.session.get(Item, lot.item_id).sku
    expired_bin = next(r["bin"] for r in api(sku)["bins"] if r["lot"] == "LPAST01")
    order, _ = order_service.place_order("shop", "EXP-1", "MAIN", [order_service.OrderLineRequest(sku, 2)])
    stock = api(sku)
    assert stock["in"][f"{expired_bin}:expired"] == 6 and expired_bin not in stock["in"]
    sign_in(page, live_server)
    page.goto(live_server + "/tasks/pick")
    wedge(page, order["number"], wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(re.compile(r"^Go to bin \S+ and scan it$"))
    tid = task_id_of(page)
    db.session.rollback()
    planned = [(ln.bin.code, ln.lot) for ln in db.session.get(Task, tid).lines]
    assert planned and all(b != expired_bin and lot_ != "LPAST01" for b, lot_ in planned), planned
    page.goto(live_server + "/lookup")
    wedge(page, expired_bin, wait=False)
    row = page.locator("li", has_text="LPAST01")
    expect(row.locator(".tag")).to_have_text("expired")
    ledger_is_ok(app)
    settle(page)
    shot(page, "lookup-expired", full_page=False)


# ------------------------------------------------------------------ packing


def test_two_parcels_packed_for_one_order_with_a_wrong_item_refused_and_the_label_decoded(app, live_server, page, api,
                                                                                          shot):
    from app.models import Parcel
    from scanners import decode_bytes

    db.session.rollback()
    candidates = [(item.sku, (api_balance(item) or [0])[0]) for item in
                  db.session.execute(select(Item).order_by(Item.id.desc())).scalars()]
    skus = [sku for sku, held in candidates if held >= 4 and api(sku)["S"] >= 4][:3]
    order, _ = order_service.place_order("shop", "PACK-1", "MAIN", [order_service.OrderLineRequest(skus[0], 2),
                                                                     order_service.OrderLineRequest(skus[1], 1)])
    pick_by_service(order["id"])
    sign_in(page, live_server)
    page.get_by_text("Pack", exact=True).tap()
    wedge(page, order["number"], wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(f"Parcel 1: scan the items of {order['number']}")
    wedge(page, unit_code(skus[2]))  # not on the order
    assert feedback(page) == "error"
    expect(page.locator("#task-panel .flash.error")).to_contain_text(f"is not on {order['number']}: set it aside.")
    wedge(page, unit_code(skus[0]))
    wedge(page, unit_code(skus[0]))
    page.get_by_role("button", name="Medium box 30×20×15 cm").tap()
    wedge(page, "1.25 kg")  # the scale types it
    page.get_by_role("button", name="Close parcel").tap()
    expect(page.locator("#task-panel .step")).to_have_text(f"Parcel 2: scan the items of {order['number']}")
    wedge(page, unit_code(skus[1]))
    wedge(page, "CT-S")
    wedge(page, "400 g")
    page.get_by_role("button", name="Close parcel").tap()
    expect(page.locator("#task-panel .flash")).to_contain_text(f"{order['number']} is packed in 2 parcels")
    db.session.rollback()
    parcels = db.session.execute(select(Parcel).order_by(Parcel.seq)).scalars().all()
    assert [(p.units, p.carton, p.weight_g, p.status) for p in parcels] == [(2, "M", 1250, "closed"),
                                                                             (1, "S", 400, "closed")]
    zpl = page.request.get(live_server + f"/tasks/parcels/{parcels[1].id}/label.zpl").text()
    assert order["number"] in zpl
    (symbol,) = L.zpl_symbols(zpl)
    assert [r.text for r in decode_bytes(L.png(symbol))] == ["]C100" + parcels[1].sscc]
    settle(page)
    shot(page, "task-pack", full_page=False)
    ledger_is_ok(app)


# ------------------------------------------------------------------ serial numbers


def test_a_serial_received_picked_packed_shipped_and_looked_up(app, live_server, page, api, shot):
    """The demo's extension cords have serial numbers: one received by its serial, one picked by its
    serial for an order, packed, shipped by its parcel's label, and looked up with its history."""
    from app.models import Bin, Parcel, Serial

    db.session.rollback()
    cord = db.session.execute(
        select(Item).join(Serial, Serial.item_id == Item.id).join(Bin, Bin.id == Serial.bin_id)
        .where(Item.serial_tracked.is_(True), Serial.status == "in_stock", Bin.type == "storage", Bin.warehouse_id == 1)
        .order_by(Item.id)).scalars().first()
    assert api(cord.sku)["S"] >= 1
    sign_in(page, live_server)
    # Received: the unit, then its serial.
    page.goto(live_server + "/tasks/receive")
    page.get_by_role("button", name="Blind receipt (no paperwork)").tap()
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    wedge(page, unit_code(cord.sku))
    expect(page.locator("#task-panel .step")).to_have_text("Scan the serial number")
    wedge(page, "SNE2E00001")
    assert feedback(page) == "ok"
    expect(page.locator("#task-panel .flash")).to_contain_text("serial SNE2E00001")
    # Picked: the picker scans which unit leaves.
    order, _ = order_service.place_order("shop", "SER-E2E", "MAIN", [order_service.OrderLineRequest(cord.sku, 1)])
    page.goto(live_server + "/tasks/pick")
    wedge(page, order["number"], wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(re.compile(r"^Go to bin (\S+) and scan it$"))
    line = current(task_id_of(page))
    db.session.rollback()
    serial = db.session.execute(select(Serial.serial).where(Serial.bin_id == line.bin_id, Serial.item_id == cord.id,
                                                            Serial.status == "in_stock").order_by(Serial.id.desc())
                                ).scalars().first()
    wedge(page, line.bin.code)
    wedge(page, unit_code(cord.sku))
    expect(page.locator("#task-panel .flash")).to_contain_text("Now scan the serial number of")
    wedge(page, serial)
    expect(page.locator("#task-panel .flash")).to_contain_text(f"serial {serial}")
    # Packed, then shipped by the parcel's label.
    page.goto(live_server + "/tasks/pack")
    wedge(page, order["number"], wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(re.compile("^Parcel 1: scan the items of"))
    wedge(page, unit_code(cord.sku))
    wedge(page, serial)
    expect(page.locator("#task-panel .flash")).to_contain_text(f"serial {serial}")
    wedge(page, "CT-M")
    wedge(page, "1.8 kg")
    page.get_by_role("button", name="Close parcel").tap()
    expect(page.locator("#task-panel .flash")).to_contain_text("is packed in 1 parcels")
    db.session.rollback()
    sscc = db.session.execute(select(Parcel.sscc)).scalar_one()
    page.goto(live_server + "/tasks/ship")
    wedge(page, "]C100" + sscc, wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(re.compile("^Scan each parcel of .* to load it: 0 of 1$"))
    wedge(page, "]C100" + sscc)
    expect(page.locator("#task-panel .flash")).to_contain_text("units in 1 parcels")
    # Looked up: nowhere now, and the way it went.
    page.goto(live_server + "/lookup")
    wedge(page, serial, wait=False)
    expect(page.locator("[data-serial-status]")).to_contain_text("shipped")
    history = page.locator("[data-serial-history] li b").all_inner_texts()
    assert history[-3:] == ["pick", "pack", "ship"], history
    db.session.rollback()
    assert db.session.execute(select(Serial.status).where(Serial.serial == "SNE2E00001")).scalar_one() == "in_stock"
    assert db.session.execute(select(Bin.code).join(Serial, Serial.bin_id == Bin.id)
                              .where(Serial.serial == "SNE2E00001")).scalar_one() == "DOCK-01"
    ledger_is_ok(app)
    settle(page)
    shot(page, "lookup-serial", full_page=False)


def test_moving_a_pallet_moves_everything_on_it(app, live_server, page, api, shot):
    """A pallet received at the dock (through the receiving task's own scans) is moved whole, by its
    plate and the target bin: two scans."""
    from app.models import Bin, LicencePlate
    from app.services.uow import UnitOfWork

    db.session.rollback()
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    plate = LicencePlate(code="LP00077001", warehouse_id=main.id, created_by=admin.id)  # as printed from Labels
    db.session.add(plate)
    db.session.commit()
    with UnitOfWork() as uow:
        from app.services import receiving

        tid = receiving.start(uow.session, uow.session.get(Warehouse, main.id), uow.session.get(User, admin.id), None).id
        uow.commit()
    for n, code in enumerate(["LP00077001"] + [unit_code("HEX-0005")] * 3 + [unit_code("HEX-0006")] * 2):
        out = engine.handle(tid, task_service.ScanInput(f"pallet-{n}", code, user_id=admin.id), DEFAULT_RULES)
        assert out.outcome == "ok", out.message
    before = {sku: api(sku)["in"] for sku in ("HEX-0005", "HEX-0006")}
    target = "F-10-2"
    sign_in(page, live_server)
    page.get_by_text("Move stock", exact=True).tap()
    wedge(page, "LP00077001")
    expect(page.locator("#task-panel .step")).to_have_text("Scan the bin it goes to")
    wedge(page, target)
    assert feedback(page) == "ok"
    expect(page.locator("#task-panel .flash")).to_contain_text(f"Moved pallet LP00077001 from DOCK-01 to {target}.")
    for sku, moved in (("HEX-0005", 3), ("HEX-0006", 2)):
        after = api(sku)["in"]
        assert after.get(target, 0) == before[sku].get(target, 0) + moved
        assert after.get("DOCK-01", 0) == before[sku]["DOCK-01"] - moved
    db.session.rollback()
    assert db.session.execute(select(Bin.code).join(LicencePlate, LicencePlate.bin_id == Bin.id)
                              .where(LicencePlate.code == "LP00077001")).scalar_one() == target
    ledger_is_ok(app)
