"""A shared handheld in Chromium (360x640, touch): badge and PIN sign-in, handing the handheld over with
scans still queued (each booked once, under the person who scanned it), and a retired handheld."""

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Movement, User
from app.services import devices
from tests.e2e import test_floor_tasks_browser as floor
from tests.e2e.test_floor_tasks_browser import ledger_is_ok, unit_code, wedge

app, api = floor.app, floor.api  # demo_db: tests/e2e/conftest.py

SCAN_URL = "**/tasks/*/scan"
BADGES = {"picker": ("PICK01", "1234"), "super": ("SUPER01", "5678")}


def _badges():
    for name, (badge, pin) in BADGES.items():
        user = db.session.execute(select(User).where(User.username == name)).scalar_one()
        user.badge = badge
        user.set_pin(pin)
    db.session.commit()


def badge_sign_in(page, url, name):
    badge, pin = BADGES[name]
    page.goto(url + "/login")
    field = page.get_by_label("Scan your badge")
    expect(field).to_be_focused()
    page.keyboard.type(f"BADGE-{badge}", delay=4)  # the wedge types into the focused field
    page.keyboard.press("Enter")
    expect(page.locator(".step")).to_have_text(f"Badge BADGE-{badge}: enter your PIN")
    pin_field = page.get_by_label("PIN")
    expect(pin_field).to_be_focused()
    box = pin_field.bounding_box()
    assert box["height"] >= 44  # a glove can hit it
    page.keyboard.type(pin)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Tasks")


def start_receiving(page):
    page.get_by_text("Receive", exact=True).tap()
    wedge(page, "PO-2026-0001", wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    return page.url


def user_of(scan_id):
    db.session.rollback()
    rows = db.session.execute(select(User.username).join(Movement, Movement.user_id == User.id)
                              .where(Movement.scan_id == scan_id)).scalars().all()
    return rows


def queued(page):
    return page.evaluate("""() => new Promise(done => {
        const req = indexedDB.open('floor');
        req.onsuccess = () => {
            const all = req.result.transaction('scans').objectStore('scans').getAll();
            all.onsuccess = () => done(all.result.map(s => [s.id, s.user]));
        };
    })""")


def test_a_badge_scan_and_its_pin_sign_in(app, live_server, page):
    _badges()
    badge_sign_in(page, live_server, "picker")
    expect(page.locator(".who")).to_have_text("picker")


def test_handing_over_with_scans_queued_books_each_once_under_whoever_scanned_it(app, live_server, page, context):
    _badges()
    code = unit_code("HEX-0003")
    badge_sign_in(page, live_server, "picker")
    task_url = start_receiving(page)

    # The server is out of reach (a Wi-Fi dead spot): picker's scan waits in the queue.
    page.route(SCAN_URL, lambda route: route.abort("connectionrefused"))
    wedge(page, code, wait=False)
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "1")
    [(picker_scan, picker_id)] = queued(page)

    # Picker hands the handheld to super, who scans one more at the same receipt.
    page.goto(live_server + "/")
    page.locator("[data-switch-user]").tap()
    expect(page.locator("h1")).to_have_text("Sign in")
    badge_sign_in(page, live_server, "super")
    page.goto(task_url)
    expect(page.locator("html")).to_have_attribute("data-scans-kept-for-others", "1")
    expect(page.locator("[data-queue-others]")).to_contain_text("1 scan by someone else kept on this handheld")
    wedge(page, code, wait=False)
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "1")
    super_scan = next(i for i, who in queued(page) if i != picker_scan)

    # Back in reach: super's scan goes, under super; picker's stays, kept for picker.
    page.unroute(SCAN_URL)
    page.locator("#scan").focus()
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=15_000)
    expect(page.locator("html")).to_have_attribute("data-scans-kept-for-others", "1")
    assert user_of(super_scan) == ["super"] and user_of(picker_scan) == []

    # Picker signs in again on this handheld: the scan goes out, once, under picker.
    page.goto(live_server + "/")
    page.locator("[data-switch-user]").tap()
    expect(page.locator("h1")).to_have_text("Sign in")
    badge_sign_in(page, live_server, "picker")
    page.goto(task_url)
    expect(page.locator("html")).to_have_attribute("data-scans-kept-for-others", "0", timeout=15_000)
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=15_000)
    assert user_of(picker_scan) == ["picker"] and user_of(super_scan) == ["super"]
    assert picker_id and queued(page) == []
    ledger_is_ok(app)


def test_a_retired_handhelds_scan_is_refused_on_screen(app, live_server, page):
    _badges()
    supervisor = db.session.execute(select(User).where(User.username == "super")).scalar_one()
    name, code = devices.register("TC52-07", supervisor.id)
    page.goto(live_server + "/login")
    page.keyboard.type(code, delay=4)  # the registration code, scanned on the sign-in screen
    page.keyboard.press("Enter")
    expect(page.locator(".flash.info")).to_contain_text("This handheld is now TC52-07")
    expect(page.locator("[data-device-name]")).to_have_text("Handheld TC52-07")
    badge_sign_in(page, live_server, "picker")
    start_receiving(page)
    wedge(page, unit_code("HEX-0003"))
    db.session.rollback()
    assert db.session.execute(select(Movement.device).order_by(Movement.id.desc()).limit(1)).scalar_one() == "TC52-07"

    from app.models import Device

    devices.retire(db.session.execute(select(Device.id).where(Device.name == name)).scalar_one(), supervisor.id)
    wedge(page, unit_code("HEX-0003"))
    expect(page.locator("#task-panel, #feedback, .flash").filter(
        has_text=re.compile("TC52-07, is retired")).first).to_be_visible()
    db.session.rollback()
    booked = db.session.execute(select(func.count()).select_from(Movement).where(Movement.device == "TC52-07")).scalar()
    assert booked == 1  # the scan before the retirement only
    ledger_is_ok(app)


def test_the_floor_and_the_overview_in_chinese_and_spanish(app, live_server, browser, browser_context_args, shot):
    """A handheld set to Chinese or Spanish: the receiving task and the supervisor overview, drawn whole."""
    from tests.e2e.test_floor_tasks_browser import sign_in

    for locale, step, heading in (("zh-CN", "扫描商品", "各仓库存量桶"), ("es-ES", "Escanee un artículo", "Cubos por almacén")):
        context = browser.new_context(**{**browser_context_args, "locale": locale})
        page = context.new_page()
        sign_in(page, live_server, user="super")  # the heading "Tasks" is checked in the user's language below
        start_receiving_in(page, step)
        shot(page, f"task-receiving-{locale[:2]}")
        # The scan queue speaks the page's language too.
        context.set_offline(True)
        wedge(page, unit_code("HEX-0003"), wait=False)
        offline = {"zh-CN": "离线 — 已保存 1 次扫描，连接恢复后发送",
                   "es-ES": "Sin conexión — guardados: 1 escaneo (se envían al volver la conexión)"}[locale]
        expect(page.locator("[data-queue-state]")).to_have_text(offline)
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=15_000)
        page.goto(live_server + "/office/")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        shot(page, f"supervisor-overview-{locale[:2]}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow
        context.close()


def start_receiving_in(page, step):
    page.locator("a.task").first.tap()  # Receive, the first task on the Tasks screen in any language
    wedge(page, "PO-2026-0001", wait=False)
    expect(page.locator("#task-panel .step")).to_have_text(step)
