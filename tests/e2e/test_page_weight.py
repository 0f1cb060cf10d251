"""What a handheld downloads: a floor screen's first load stays small, everything comes from this
server (no CDN: many warehouses have no internet), and the next load takes its assets from the cache."""

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e import test_floor_tasks_browser as floor
from tests.e2e.test_floor_tasks_browser import sign_in, wedge

app = floor.app  # demo_db: tests/e2e/conftest.py

BUDGET = 150 * 1024

ENTRIES = """() => [
    ...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')
].map(e => ({name: e.name, transfer: e.transferSize, body: e.decodedBodySize, type: e.initiatorType || 'navigation'}))"""


def _screens(page, live_server):
    """The floor screens an operator opens most: the task list, a receiving task and the stock lookup."""
    sign_in(page, live_server)
    page.get_by_text("Receive", exact=True).tap()
    wedge(page, "PO-2026-0001", wait=False)
    expect(page.locator("#task-panel .step")).to_have_text("Scan an item")
    return [live_server + "/tasks/", page.url, live_server + "/lookup"]


def test_a_floor_screens_first_load_is_under_150_kb_all_from_this_server(app, live_server, page, browser,
                                                                          browser_context_args):
    screens = _screens(page, live_server)
    state = page.context.storage_state()
    for url in screens:
        # A new browser context: signed in, but with an empty cache, as on a handheld's first visit.
        cold = browser.new_context(**browser_context_args, storage_state=state)
        p = cold.new_page()
        p.goto(url)
        p.wait_for_load_state("load")
        entries = p.evaluate(ENTRIES)
        total = sum(e["transfer"] for e in entries)
        assert total <= BUDGET, (url, total, entries)
        assert {urlsplit(e["name"]).netloc for e in entries} == {urlsplit(live_server).netloc}, entries
        assert any(e["name"].endswith(".js") or ".js?" in e["name"] for e in entries)
        cold.close()


def test_the_next_floor_screen_takes_its_scripts_and_styles_from_the_cache(app, live_server, page):
    screens = _screens(page, live_server)
    for url in screens:
        page.goto(url)
        page.wait_for_load_state("load")
        assets = [e for e in page.evaluate(ENTRIES) if "/static/" in e["name"]]
        assert len(assets) >= 3, assets
        # transferSize 0 with a body: served from the browser's cache, not even revalidated.
        assert all(e["transfer"] == 0 and e["body"] > 0 for e in assets), assets
        assert all("?v=" in e["name"] for e in assets), assets
