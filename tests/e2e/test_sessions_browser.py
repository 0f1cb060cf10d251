"""Sessions that end (issue 17), in a real Chromium: a kept remember cookie opens nothing after sign-out
or a password change."""

from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.models import User
from tests.builders import make_site, make_user


def _sign_in(page, url, password="pick-pw"):
    page.goto(url + "/login")
    page.fill("input[name=username]", "picker")
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    expect(page.locator("h1")).to_have_text("Tasks")


def _kept_remember_cookie(context) -> dict:
    (cookie,) = [c for c in context.cookies() if c["name"] == "remember_token"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    return cookie


def _opens_with(browser, url, cookie) -> str:
    """What a second browser holding only that cookie (the session cookie gone) sees at the home screen."""
    other = browser.new_context(viewport={"width": 360, "height": 640})
    try:
        other.add_cookies([cookie])
        page = other.new_page()
        page.goto(url + "/")
        return page.locator("h1").inner_text()
    finally:
        other.close()


def test_a_remember_cookie_kept_from_before_sign_out_opens_nothing(app, live_server, browser, page):
    make_site()
    make_user("picker", "pick-pw")
    _sign_in(page, live_server)
    cookie = _kept_remember_cookie(page.context)
    assert _opens_with(browser, live_server, cookie) == "Tasks"  # the cookie alone signs in, as it should
    page.click("button:has-text('Sign out')")
    expect(page.locator("h1")).to_have_text("Sign in")
    assert _opens_with(browser, live_server, cookie) == "Sign in"


def test_a_remember_cookie_kept_from_before_a_password_change_opens_nothing(app, live_server, browser, page):
    make_site()
    make_user("picker", "pick-pw")
    _sign_in(page, live_server)
    cookie = _kept_remember_cookie(page.context)
    user = db.session.query(User).filter_by(username="picker").one()
    user.set_password("new-pw-2026")
    db.session.commit()
    assert _opens_with(browser, live_server, cookie) == "Sign in"
    page.goto(live_server + "/")
    expect(page.locator("h1")).to_have_text("Sign in")  # this handheld's own session ended too
    _sign_in(page, live_server, "new-pw-2026")
