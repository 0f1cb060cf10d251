"""Floor safety in Chromium on 360x640 (issue 16): a trigger pulled in the Qty box, SKU lookup,
a blind count that names no unscanned item, and numbers that need a deliberate tap."""

import re
import time

from playwright.sync_api import expect

from tests.e2e.test_floor_tasks_browser import api, app, ledger_is_ok, sign_in, unit_code, wedge  # noqa: F401


def burst(page, code):
    """A trigger pull wherever the focus is: the code at scanner speed, then Enter."""
    page.keyboard.type(code, delay=4)
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=10_000)


def _slow_pause():
    """A site whose scanners may pause up to a second inside a burst (the set-up screen's longest):
    a long code typed by the test browser under load is then still one burst, as a scanner's is."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Warehouse

    db.session.rollback()
    for wh in db.session.execute(select(Warehouse)).scalars():
        wh.scan_settings = {**(wh.scan_settings or {}), "pause_ms": 1000}
    db.session.commit()


def _blind_receipt(page, url):
    sign_in(page, url)
    page.get_by_text("Receive", exact=True).tap()
    page.get_by_role("button", name="Blind receipt").tap()
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")


def test_a_burst_that_arrives_in_the_qty_box_is_a_scan_for_the_typed_quantity(app, live_server, page, api, shot):
    sku = "HEX-0004"
    before = api(sku)["in"].get("DOCK-01", 0)
    _blind_receipt(page, live_server)
    qty = page.locator("input[name=qty]")
    qty.tap()
    page.keyboard.type("3", delay=120)  # a person's thumb
    expect(qty).to_have_value("3")
    expect(qty).to_be_focused()
    page.wait_for_timeout(400)  # then the trigger, a moment later: longer than the site's pause (300 ms here)
    # The trigger is pulled with the cursor still in the Qty box: scanner-speed keys, then Enter.
    page.keyboard.type(unit_code(sku), delay=4)
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=10_000)
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("+3 ×")
    expect(qty).to_have_value("")  # it applied to that scan, and reset
    assert api(sku)["in"].get("DOCK-01", 0) == before + 3
    # The next trigger pull books one.
    burst(page, unit_code(sku))
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("+1 ×")
    assert api(sku)["in"].get("DOCK-01", 0) == before + 4
    # The box takes digits only.
    qty.tap()
    page.keyboard.type("4x", delay=120)
    expect(qty).to_have_value("4")
    ledger_is_ok(app)


def test_a_burst_into_the_qty_box_with_its_second_key_held_back_is_still_the_whole_code(app, live_server, page, api):
    """A busy handheld holds one key of a trigger pull back: the burst is still the scanner's, whole."""
    sku = "HEX-0004"
    before = api(sku)["in"].get("DOCK-01", 0)
    _blind_receipt(page, live_server)
    page.locator("input[name=qty]").tap()
    code = unit_code(sku)
    page.keyboard.type(code[0], delay=4)
    time.sleep(0.06)  # the second key comes 60 ms late
    page.keyboard.type(code[1:], delay=4)
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=10_000)
    expect(page.locator("#task-panel .flash.ok")).to_contain_text("+1 ×")
    assert api(sku)["in"].get("DOCK-01", 0) == before + 1


def test_a_huge_quantity_is_booked_only_by_the_tap_that_repeats_it(app, live_server, page, api):
    sku = "HEX-0004"
    before = api(sku)["in"].get("DOCK-01", 0)
    _blind_receipt(page, live_server)
    page.locator("input[name=qty]").fill("320000")
    burst(page, unit_code(sku))
    book = page.get_by_role("button", name="Book 320000")
    expect(book).to_be_visible()
    assert api(sku)["in"].get("DOCK-01", 0) == before
    box = book.bounding_box()
    assert box["height"] >= 44
    # The warning's banner covers neither the step nor the scan field.
    for what in ("#task-panel .step", "#scan"):
        assert page.evaluate("""(sel) => { const el = document.querySelector(sel); const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return el === hit || el.contains(hit); }""", what), f"{what} is covered"
    ledger_is_ok(app)


def test_a_sku_looked_up_shows_its_item(app, live_server, page):
    sign_in(page, live_server)
    page.click("text=Stock lookup")
    wedge(page, "HEX-0003")
    expect(page.locator("#lookup-result")).to_contain_text("HEX-0003")
    expect(page.locator("#lookup-result .title")).to_be_visible()
    expect(page.locator("#lookup-result")).not_to_contain_text("Nothing is known")


def test_a_burst_longer_than_any_label_is_one_scan_refused_once(app, live_server, page):
    _slow_pause()
    _blind_receipt(page, live_server)
    page.evaluate("""() => { window.saidCount = 0; const say = window.floorFeedback;
                     window.floorFeedback = (k, m) => { window.saidCount++; window.lastSaid = m; say(k, m); }; }""")
    page.keyboard.type("AB-" * 1000, delay=0)
    page.keyboard.press("Enter")
    page.wait_for_timeout(800)
    assert page.evaluate("window.saidCount") == 1
    assert "3,000 characters" in page.evaluate("window.lastSaid")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0")
    expect(page.locator("#scan-list")).to_have_count(0)  # nothing reached the server
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_long_codes_in_the_scan_list_never_widen_the_screen(app, live_server, page):
    _slow_pause()
    _blind_receipt(page, live_server)
    for n in range(3):
        burst(page, "X" * 190 + str(n))
    expect(page.locator("#scan-list li")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.evaluate("document.documentElement.scrollHeight") < 3000


ALIGNMENT = """() => {
  const off = [];
  for (const table of document.querySelectorAll("table")) {
    const heads = table.querySelectorAll("thead th");
    const row = table.querySelector("tbody tr");
    if (!heads.length || !row) continue;
    const cells = row.querySelectorAll("td, th");
    if (cells.length !== heads.length) continue;
    heads.forEach((th, i) => {
      const a = getComputedStyle(th).textAlign, b = getComputedStyle(cells[i]).textAlign;
      const norm = (x) => (x === "start" ? "left" : x === "end" ? "right" : x);
      if (norm(a) !== norm(b)) off.push(th.textContent.trim() + ": " + a + " over " + b);
    });
  }
  return off;
}"""


def test_supervisor_tables_align_each_heading_with_its_numbers(app, live_server, page):
    sign_in(page, live_server, user="super")
    for path in ("/office/", "/office/counts", "/office/kpis", "/office/ledger", "/office/orders", "/office/transfers",
                 "/office/purchase-orders", "/office/locks"):
        page.goto(live_server + path)
        assert page.evaluate(ALIGNMENT) == [], path


def test_office_screens_with_long_codes_stay_within_the_screen(app, live_server, page):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import FloorException, Warehouse

    main = db.session.execute(select(Warehouse.id).where(Warehouse.code == "MAIN")).scalar_one()
    db.session.add_all([FloorException(kind="unknown_item", warehouse_id=main, code="Z" * 190,
                                       message=f"Unknown barcode {'Z' * 190} received on blind receipt T9")
                        for _ in range(30)])
    db.session.commit()
    sign_in(page, live_server, user="super")
    for path in ("/office/", "/office/exceptions"):
        page.goto(live_server + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)


def test_a_blind_count_never_names_an_item_the_counter_did_not_scan(app, live_server, page):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Bin, BinStock, Item, User, Warehouse
    from app.services import counting
    from app.services.stock import MovementCommand, apply_movement

    db.session.rollback()
    main = db.session.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
    code, sku = db.session.execute(
        select(Bin.code, Item.sku).join(BinStock, BinStock.bin_id == Bin.id).join(Item, Item.id == BinStock.item_id)
        .where(Bin.warehouse_id == main.id, Bin.type == "storage", BinStock.qty >= 3)
        .group_by(Bin.code, Item.sku).having(func.count() == 1).order_by(Bin.code)
    ).first()
    hidden = db.session.execute(select(Item).where(Item.sku != sku).order_by(Item.sku)).scalars().first()
    hidden_name, hidden_sku = hidden.name, hidden.sku
    apply_movement(MovementCommand(warehouse="MAIN", kind="receive", sku=hidden_sku, qty=4, to_bin=code))
    db.session.rollback()
    boss = db.session.execute(select(User).where(User.username == "super")).scalar_one()
    cs, _ = counting.create_session(db.session, db.session.get(Warehouse, main.id), boss, "bins", code, blind=True,
                                    threshold_qty=0)
    db.session.commit()
    number = cs.number

    sign_in(page, live_server)
    page.get_by_text("Count", exact=True).tap()
    page.get_by_role("button", name=re.compile(number)).tap()
    expect(page.locator("#task-panel .step")).to_have_text(f"Scan bin {code}")
    burst(page, code)
    expect(page.locator("#task-panel .step")).to_contain_text(f"Count {code}")
    page.locator("input[name=qty]").fill("1")
    burst(page, unit_code(sku))  # one of the item the counter finds; the other item is never scanned
    page.get_by_role("button", name="Bin counted").tap()
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0")
    expect(page.locator("#task-panel .flash.warn")).to_contain_text("another operator will recount")
    for text in (page.locator("#task-panel").inner_text(), page.locator("#feedback").inner_text()):
        assert hidden_name not in text and hidden_sku not in text


def test_an_admin_sets_a_channels_rule_on_a_handheld_and_sees_what_it_publishes(app, live_server, page):
    sign_in(page, live_server, user="admin")
    page.goto(live_server + "/office/channels")
    assert page.evaluate(ALIGNMENT) == [], "/office/channels"
    page.click("a:has-text('ebay')")
    expect(page.locator("h1")).to_contain_text("ebay")
    published = page.locator("[data-availability] [data-available]")
    assert max(int(x) for x in published.evaluate_all("els => els.map(e => e.dataset.available)")) == 20  # its cap
    page.click("summary:has-text('Set a rule')")
    page.fill("input[name=cap]", "3")
    page.click("button[value=rule]")
    expect(page.locator(".flash.ok")).to_contain_text("The rule is saved")
    assert max(int(x) for x in published.evaluate_all("els => els.map(e => e.dataset.available)")) == 3
    assert page.evaluate(ALIGNMENT) == [], "/office/channels/ebay"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
