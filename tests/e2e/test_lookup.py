"""Sign in and look stock up by scan on a handheld, in a real Chromium."""

import pytest
from playwright.sync_api import expect

from tests.builders import ean_for, make_site, make_user, move, receive


@pytest.fixture
def site(app):
    make_site()
    receive(qty=10)
    move("damage", qty=1, from_bin="A-01", to_bin="QUAR")
    make_user("picker", "pick-pw")


def sign_in(page, url):
    page.goto(url + "/login")
    page.fill("input[name=username]", "picker")
    page.fill("input[name=password]", "pick-pw")
    page.press("input[name=password]", "Enter")
    expect(page.locator("h1")).to_have_text("Tasks")


def test_a_scan_of_an_item_shows_its_buckets_without_a_tap(site, live_server, page, shot):
    sign_in(page, live_server)
    page.click("text=Stock lookup")
    field = page.locator("#scan")
    expect(field).to_be_focused()  # the scanner can fire at once, no tap first
    # A keyboard-wedge scanner types the code and Enter, fast.
    page.keyboard.type(ean_for(1), delay=5)
    page.keyboard.press("Enter")
    result = page.locator("#lookup-result")
    expect(result).to_contain_text("Test item 1")
    expect(result.locator("td.big").first).to_have_text("9")
    expect(field).to_have_value("")
    expect(field).to_be_focused()
    page.wait_for_timeout(400)  # let the success flash fade for the picture
    shot(page, "lookup-item")


def test_an_unknown_scan_shows_the_error_in_large_text_and_keeps_the_field_ready(site, live_server, page):
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.keyboard.type("NO-SUCH-CODE", delay=5)
    page.keyboard.press("Enter")
    expect(page.locator("#lookup-result .flash.error")).to_contain_text("Nothing is known by")
    expect(page.locator("#scan")).to_be_focused()


def test_the_scan_field_takes_focus_back_after_a_stray_tap(site, live_server, page):
    sign_in(page, live_server)
    page.goto(live_server + "/lookup?code=QUAR")
    page.locator("h2").tap()
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type("A-01\n", delay=5)
    expect(page.locator("#lookup-result h2")).to_have_text("Bin A-01")
