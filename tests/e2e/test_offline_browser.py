"""Scanning with no network, in Chromium on a handheld: scans wait in IndexedDB (through a reload), go
out in order when the network is back, are applied once each, and those that no longer fit are
listed for the operator instead of being lost behind later answers."""

import re
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Movement, ScanLog, Task, User
from app.services import orders as order_service
from app.services import picking
from app.services.uow import UnitOfWork
from tests.builders import make_token
from tests.e2e import test_floor_tasks_browser as floor
from tests.e2e.test_floor_tasks_browser import (
    feedback,
    ledger_is_ok,
    sign_in,
    unit_code,
    wedge,
)

app, api = floor.app, floor.api  # demo_db: tests/e2e/conftest.py

SCAN_URL = "**/tasks/*/scan"


def waiting(page):
    return page.locator("html")


def movements_of(scan_ids):
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(Movement).where(Movement.scan_id.in_(scan_ids))).scalar()


def start_receiving(page, live_server):
    sign_in(page, live_server)
    page.get_by_text("Receive", exact=True).tap()
    wedge(page, "PO-2026-0001", wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")


def test_scans_made_offline_survive_a_reload_and_are_applied_once_each_in_order(app, live_server, page, context, api):
    start_receiving(page, live_server)
    code = unit_code("HEX-0003")
    before = api("HEX-0003")["in"].get("DOCK-01", 0)
    logged = db.session.execute(select(func.count()).select_from(ScanLog)).scalar()

    context.set_offline(True)
    page.get_by_label("Quantity for the next scan").fill("2")
    page.keyboard.press("Enter")  # hands the keyboard back to the scanner
    wedge(page, code, wait=False)
    for _ in range(2):
        wedge(page, code, wait=False)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "3")
    expect(page.locator("[data-queue-state]")).to_have_text("Offline — 3 scans kept, sent when the connection is back")
    expect(page.locator("[data-queue-state]")).to_have_class("queue-state offline")

    # The Wi-Fi comes back but the server is still out of reach, and the operator reloads the page.
    page.route(SCAN_URL, lambda route: route.abort("connectionrefused"))
    context.set_offline(False)
    page.reload()
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "3")
    ids = page.evaluate("""() => new Promise(done => {
        const req = indexedDB.open('floor');
        req.onsuccess = () => {
            const all = req.result.transaction('scans').objectStore('scans').getAll();
            all.onsuccess = () => done(all.result.map(s => [s.id, s.text, s.extra.qty || '']));
        };
    })""")
    assert [(t, q) for _, t, q in ids] == [(code, "2"), (code, ""), (code, "")]  # in order, qty with its scan
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(ScanLog)).scalar() == logged  # nothing arrived

    page.unroute(SCAN_URL)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    assert feedback(page) == "ok"
    assert api("HEX-0003")["in"].get("DOCK-01", 0) == before + 4
    assert movements_of([i for i, _, _ in ids]) == 3
    assert page.locator("[data-scan-problems]").is_hidden()
    ledger_is_ok(app)


def test_a_scan_whose_answer_was_lost_is_sent_again_and_not_applied_twice(app, live_server, page, api):
    start_receiving(page, live_server)
    code = unit_code("HEX-0003")
    before = api("HEX-0003")["in"].get("DOCK-01", 0)
    lost = []

    def lose_the_first_answer(route):
        # The server gets the scan and applies it; the answer never reaches the handheld.
        if not lost:
            lost.append(route.request.headers.get("x-scan-id"))
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(SCAN_URL, lose_the_first_answer)
    wedge(page, code, wait=False)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    assert feedback(page) == "ok"
    assert lost and lost[0]
    assert api("HEX-0003")["in"].get("DOCK-01", 0) == before + 1
    assert movements_of(lost) == 1
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(ScanLog).where(ScanLog.scan_id == lost[0])).scalar() == 1
    ledger_is_ok(app)


@pytest.fixture
def one_line_pick(app):
    """A pick of 2 units of an item that sits in exactly one bin with at least 4 more."""
    from app.models import Bin, BinStock, Item

    db.session.rollback()
    rows = db.session.execute(
        select(Item.sku, Bin.code, BinStock.qty).join(BinStock, BinStock.item_id == Item.id).join(Bin)
        .where(Bin.type == "storage", BinStock.condition == "sellable", Bin.warehouse_id == 1, BinStock.qty >= 6)
        .order_by(Item.id)
    ).all()
    per_item = {}
    for sku, code, qty in rows:
        per_item.setdefault(sku, []).append((code, qty))
    sku, [(bin_code, qty)] = next((s, b) for s, b in per_item.items() if len(b) == 1)
    order, _ = order_service.place_order("shop", "OFFLINE-1", "MAIN", [order_service.OrderLineRequest(sku, 2)])
    return {"sku": sku, "bin": bin_code, "qty": qty, "order": order["id"]}


def test_offline_scans_that_no_longer_fit_are_listed_for_the_operator_until_seen(app, live_server, page, context,
                                                                                   one_line_pick):
    p = one_line_pick
    sign_in(page, live_server)
    page.goto(live_server + "/tasks/pick")
    page.locator(f"input[name=order][value='{p['order']}']").tap()
    page.get_by_role("button", name="Pick the chosen orders").tap()
    expect(page.locator("#task-panel .step")).to_have_text(f"Go to bin {p['bin']} and scan it")
    wedge(page, p["bin"])

    context.set_offline(True)
    code = unit_code(p["sku"])
    wedge(page, code, wait=False)
    wedge(page, code, wait=False)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "2")

    # Meanwhile someone moves the whole bin away (a rearrangement made from the office).
    db.session.rollback()
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    r = app.test_client().post("/api/v1/movements", headers={"Authorization": f"Bearer {make_token(admin)}"},
                               json={"warehouse": "MAIN", "kind": "move", "sku": p["sku"], "qty": p["qty"],
                                     "from_bin": p["bin"], "to_bin": "DOCK-02"})
    assert r.status_code == 201, r.get_json()

    context.set_offline(False)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    problems = page.locator("[data-scan-problems]")
    expect(problems).to_be_visible()
    expect(problems.locator("li")).to_have_count(2)
    expect(problems).to_contain_text("2 scans sent late did not go through")
    expect(problems.locator("li").first).to_contain_text(code)
    expect(page.locator("html")).to_have_attribute("data-problem-count", "2")

    # Nothing was picked: the server refused both, and said so.
    with UnitOfWork(write=False) as uow:
        t = uow.session.execute(select(Task).where(Task.kind == "pick").order_by(Task.id.desc())).scalars().first()
        assert picking.current_line(t).done == 0
        outcomes = uow.session.execute(select(ScanLog.outcome).where(ScanLog.task_id == t.id, ScanLog.text == code)).scalars().all()
        assert outcomes == ["error", "error"]

    # The operator deals with one, reloads; the other is still there until seen.
    problems.get_by_role("button", name="Seen").first.tap()
    expect(problems.locator("li")).to_have_count(1)
    page.reload()
    expect(page.locator("[data-scan-problems] li")).to_have_count(1)
    page.locator("[data-scan-problems]").get_by_role("button", name="Seen").tap()
    expect(page.locator("[data-scan-problems]")).to_be_hidden()
    ledger_is_ok(app)


def test_scans_waiting_when_the_session_ended_are_kept_until_the_operator_signs_in_again(app, live_server, page,
                                                                                          context, api):
    start_receiving(page, live_server)
    code = unit_code("HEX-0003")
    before = api("HEX-0003")["in"].get("DOCK-01", 0)
    task_url = page.url

    context.set_offline(True)
    wedge(page, code, wait=False)
    wedge(page, code, wait=False)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "2")
    # While the handheld is out of reach its session ends (signed out on another screen, say).
    context.clear_cookies()
    context.set_offline(False)

    state = page.locator("[data-queue-state]")
    expect(state).to_contain_text("Signed out — 2 scans kept", timeout=20_000)
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "2")
    # The sign-in page was not taken for the scans' answer: the task stays on screen, nothing booked.
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    assert api("HEX-0003")["in"].get("DOCK-01", 0) == before
    ids = page.evaluate("""() => new Promise(done => {
        const req = indexedDB.open('floor');
        req.onsuccess = () => {
            const all = req.result.transaction('scans').objectStore('scans').getAll();
            all.onsuccess = () => done(all.result.map(s => s.id));
        };
    })""")
    assert len(ids) == 2 and movements_of(ids) == 0

    sign_in_button = state.get_by_role("link", name="Sign in")
    box = sign_in_button.bounding_box()
    assert box["height"] >= 44  # a glove can hit it
    sign_in_button.tap()
    page.fill("input[name=username]", "picker")
    page.fill("input[name=password]", "picker")
    page.press("input[name=password]", "Enter")
    expect(page).to_have_url(task_url)  # back to the task, where the queue goes on
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    assert api("HEX-0003")["in"].get("DOCK-01", 0) == before + 2
    assert movements_of(ids) == 2
    assert page.locator("[data-scan-problems]").is_hidden()
    ledger_is_ok(app)


class _Server:
    """A server that can go away and come back on the same address, as a site's does in a Wi-Fi dead spot."""

    def __init__(self, app):
        self.app, self.server = app, None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def test_a_screen_reloaded_with_no_server_at_all_opens_from_the_handhelds_copy_and_keeps_scanning(app, page, api,
                                                                                                    shot):
    server = _Server(app)
    try:
        start_receiving(page, server.url)
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        page.reload()  # opened under the service worker: this copy is kept
        expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
        expect(page.locator("body")).not_to_have_attribute("data-offline-copy", re.compile(".*"))
        code = unit_code("HEX-0003")
        before = api("HEX-0003")["in"].get("DOCK-01", 0)

        server.stop()
        page.reload()
        # Not the browser's "No internet" page: the task, marked as a copy, with its scan field.
        expect(page.locator("body")).to_have_attribute("data-offline-copy", re.compile(r"^\d\d:\d\d$"))
        expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
        wedge(page, code, wait=False)
        wedge(page, code, wait=False)
        expect(waiting(page)).to_have_attribute("data-scans-waiting", "2")
        expect(page.locator("[data-queue-state]")).to_contain_text("Offline — 2 scans kept")
        # Neither the band nor the queue's notice pushes the step or the scan field off a handheld's
        # screen, or covers them.
        for what in ("#task-panel .step", "#scan"):
            box = page.locator(what).bounding_box()
            assert box["y"] + box["height"] <= 640, (what, box)
            on_top = page.evaluate("""(sel) => {
                const el = document.querySelector(sel), r = el.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                return el === hit || el.contains(hit);
            }""", what)
            assert on_top, f"{what} is covered"
        shot(page, "offline-copy", full_page=False)
        assert api("HEX-0003")["in"].get("DOCK-01", 0) == before

        # A screen never opened on this handheld says so, instead of the browser's error page.
        other = page.context.new_page()
        response = other.goto(server.url + "/tasks/putaway")
        assert response.status == 503
        expect(other.locator("h1")).to_have_text("No connection")
        other.close()

        server.start()
        expect(waiting(page)).to_have_attribute("data-scans-waiting", "0", timeout=30_000)
        assert api("HEX-0003")["in"].get("DOCK-01", 0) == before + 2
        assert page.locator("[data-scan-problems]").is_hidden()
        ledger_is_ok(app)
    finally:
        server.stop()


def test_signing_out_forgets_the_screens_kept_for_offline_use(app, page):
    server = _Server(app)
    try:
        start_receiving(page, server.url)
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
        page.reload()
        kept = "() => caches.open('floor-pages-v1').then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
        paths = page.evaluate(kept)
        assert any(p.startswith("/tasks/") for p in paths), paths
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("input[name=username]")).to_be_visible()
        page.wait_for_function(f"({kept})().then(k => k.length === 0)")

        # A session that ends on its own (cookies gone) forgets them too, at the next screen opened.
        start_receiving(page, server.url)
        task_url = page.url
        page.reload()
        page.wait_for_function(f"({kept})().then(k => k.length > 0)")
        page.context.clear_cookies()
        page.goto(task_url)
        expect(page.locator("input[name=username]")).to_be_visible()
        page.wait_for_function(f"({kept})().then(k => k.length === 0)")
    finally:
        server.stop()


def test_a_scan_refused_for_an_earlier_sign_in_waits_for_a_reload_and_is_then_booked_once(app, live_server, page,
                                                                                           context, api):
    app.config["WTF_CSRF_ENABLED"] = True  # as served: the test apps leave it off
    start_receiving(page, live_server)
    code = unit_code("HEX-0003")
    before = api("HEX-0003")["in"].get("DOCK-01", 0)
    # The operator signs out and in again in another tab: this tab's form token is the old sign-in's.
    other = context.new_page()
    other.goto(live_server + "/tasks/")
    other.get_by_role("button", name="Sign out").click()
    sign_in(other, live_server)
    other.close()

    wedge(page, code, wait=False)
    state = page.locator("[data-queue-state]")
    expect(state).to_contain_text("This screen is out of date — 1 scan kept")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "1")
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    assert api("HEX-0003")["in"].get("DOCK-01", 0) == before

    state.get_by_role("link", name="Reload").tap()
    expect(waiting(page)).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    assert api("HEX-0003")["in"].get("DOCK-01", 0) == before + 1
    assert page.locator("[data-scan-problems]").is_hidden()
    ledger_is_ok(app)


def test_an_answer_that_is_only_a_message_is_said_and_leaves_the_task_on_screen(app, live_server, page):
    start_receiving(page, live_server)
    # What the server's error pages answer a scan with (here a 404): a message, not a task panel.
    page.route(SCAN_URL, lambda route: route.fulfill(
        status=404, content_type="text/html",
        body='<p id="flash" class="flash error" role="alert">There is no such page.</p>'))
    wedge(page, unit_code("HEX-0003"), wait=False)
    expect(page.locator("#feedback")).to_have_text("There is no such page.")
    expect(page.locator("html")).to_have_attribute("data-last-feedback", "error")
    page.unroute(SCAN_URL)
    # The panel is still there, and the next scan is answered in it.
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    wedge(page, unit_code("HEX-0003"))
    assert feedback(page) == "ok"
