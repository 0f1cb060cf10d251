"""Shared handhelds (issue 19): badge sign-in with a PIN, switching user with scans waiting, and named
handhelds that a supervisor registers and retires."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, Movement, ScanLog, User, UserSession
from tests.builders import ean_for, make_site, make_user
from tests.web.test_stock_control import Person


def _badge_user(name="ana", badge="ANA01", pin="4821", role="operator"):
    user = make_user(name, "pw-" + name, role=role)
    user.badge = badge
    user.set_pin(pin)
    db.session.commit()
    return user.id


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


class Handheld:
    """One browser, signed in or not; each request in its own app context."""

    def __init__(self, app):
        self.app, self.client = app, app.test_client()

    def do(self, method, path, **kw):
        with self.app.app_context():
            return getattr(self.client, method)(path, **kw)

    def badge(self, text, pin=""):
        token = _token(self.do("get", "/login").text)
        return self.do("post", "/login/badge", data={"csrf_token": token, "badge": text, "pin": pin})


@pytest.fixture
def site(app):
    make_site()
    _badge_user()
    return app


def test_a_badge_scan_then_its_pin_signs_in(site):
    hh = Handheld(site)
    first = hh.badge("BADGE-ANA01")
    assert first.status_code == 200 and "Badge BADGE-ANA01: enter your PIN" in first.text
    assert hh.do("get", "/").status_code == 302  # not signed in by the badge alone
    r = hh.badge("BADGE-ANA01", "4821")
    assert r.status_code == 302 and hh.do("get", "/").status_code == 200


def test_a_wrong_pin_an_unknown_badge_and_a_code_that_is_no_badge_sign_nobody_in(site):
    hh = Handheld(site)
    assert hh.badge("BADGE-ANA01", "0000").status_code == 401
    assert hh.badge("BADGE-NOBODY", "4821").status_code == 401
    r = hh.badge("A-01", "4821")
    assert r.status_code == 400 and "is not a badge" in r.text
    assert hh.do("get", "/").status_code == 302


def test_guessing_pins_is_slowed_like_guessing_passwords(site):
    hh = Handheld(site)
    codes = [hh.badge("BADGE-ANA01", f"{n:04d}").status_code for n in range(7)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert hh.badge("BADGE-ANA01", "4821").status_code == 429  # even the right PIN waits now


def test_without_a_site_pin_the_badge_alone_signs_in(site):
    site.config["BADGE_PIN_REQUIRED"] = False
    hh = Handheld(site)
    assert hh.badge("BADGE-ANA01").status_code == 302 and hh.do("get", "/").status_code == 200


def test_the_sign_in_screen_refuses_a_stale_form_and_hostile_text(site):
    hh = Handheld(site)
    assert hh.do("post", "/login/badge", data={"badge": "BADGE-ANA01", "pin": "4821"}).status_code == 400
    for text in ("x" * 5000, "BADGE-" + "9" * 300, "<script>", "BADGE-ANA01\x00", "DEVICE-AAAAAAAAAA"):
        r = hh.badge(text, "4821")
        assert r.status_code in (400, 401), (text[:20], r.status_code)
    assert hh.do("get", "/").status_code == 302


def test_switch_user_ends_only_this_sign_in(site):
    hh, other = Handheld(site), Handheld(site)
    hh.badge("BADGE-ANA01", "4821")
    other.badge("BADGE-ANA01", "4821")  # ana on a second handheld
    token = _token(hh.do("get", "/").text)
    r = hh.do("post", "/switch-user", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert hh.do("get", "/").status_code == 302
    assert other.do("get", "/").status_code == 200  # her other handheld goes on


def test_a_scan_made_by_someone_else_is_refused_and_books_nothing(app):
    make_site()
    ann, bob = Person(app, "ann"), Person(app, "bob")
    tid = ann.start("/tasks/receive", blind="1")
    ann_id = db.session.execute(select(User.id).where(User.username == "ann")).scalar_one()
    bob_id = db.session.execute(select(User.id).where(User.username == "bob")).scalar_one()
    # The handheld changed hands: bob is signed in, ann's scan was waiting in the queue.
    r = bob.scan(tid, ean_for(1), scan_id="queued-by-ann-01", scanned_by=str(ann_id))
    assert r.status_code == 409 and r.headers["X-Floor-Error"] == "other-user"
    assert "kept for them" in r.text
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(ScanLog)
                              .where(ScanLog.scan_id == "queued-by-ann-01")).scalar() == 0
    # Sent again once ann is signed in, it books once, under her.
    assert ann.scan(tid, ean_for(1), scan_id="queued-by-ann-01", scanned_by=str(ann_id)).status_code == 200
    assert bob.scan(tid, ean_for(1), scan_id="queued-by-bob-01", scanned_by=str(bob_id)).status_code == 200
    db.session.rollback()
    users = dict(db.session.execute(select(Movement.scan_id, Movement.user_id)
                                    .where(Movement.scan_id.like("queued-by-%"))).all())
    assert users == {"queued-by-ann-01": ann_id, "queued-by-bob-01": bob_id}


# ------------------------------------------------------------------ named handhelds


def _register(supervisor, name="TC52-07"):
    r = supervisor.do("post", "/office/devices", data={"action": "register", "name": name})
    assert r.status_code == 200, r.text[:400]
    return re.search(r"data-registration-code>(DEVICE-[A-Z2-7]{10})<", r.text).group(1)


def test_a_registered_handheld_books_under_its_name_and_a_retired_one_is_refused(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    ann = Person(app, "ann")
    code = _register(sue)
    token = _token(ann.do("get", "/").text)
    r = ann.do("post", "/login/badge", data={"csrf_token": token, "badge": code})
    assert r.status_code == 302
    tid = ann.start("/tasks/receive", blind="1")
    assert ann.scan(tid, ean_for(1), scan_id="named-scan-0001").status_code == 200
    db.session.rollback()
    assert db.session.execute(select(Movement.device).where(Movement.scan_id == "named-scan-0001")).scalar_one() \
        == "TC52-07"
    assert db.session.execute(select(ScanLog.device).where(ScanLog.scan_id == "named-scan-0001")).scalar_one() \
        == "TC52-07"
    # The code works once.
    other = Handheld(app)
    assert other.badge(code).status_code == 400
    db.session.rollback()
    device_id = db.session.execute(select(Device.id)).scalar_one()
    r = sue.do("post", "/office/devices", data={"action": "retire", "device": str(device_id)})
    assert "TC52-07 is retired" in r.text
    r = ann.scan(tid, ean_for(1), scan_id="named-scan-0002")
    assert r.status_code == 403 and "TC52-07, is retired" in r.text
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Movement)
                              .where(Movement.scan_id == "named-scan-0002")).scalar() == 0


def test_signing_in_on_a_retired_handheld_is_refused(app):
    make_site()
    _badge_user()
    sue = Person(app, "sue", role="supervisor")
    hh = Handheld(app)
    assert hh.badge(_register(sue, "TC52-09")).status_code == 302
    db.session.rollback()
    sue.do("post", "/office/devices", data={"action": "retire", "device": str(db.session.execute(
        select(Device.id)).scalar_one())})
    r = hh.badge("BADGE-ANA01", "4821")
    assert r.status_code == 403 and "TC52-09, is retired" in r.text
    assert hh.do("get", "/").status_code == 302
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(UserSession)).scalar() == 1  # sue's only


def test_only_a_supervisor_registers_handhelds_and_names_are_checked(app):
    make_site()
    ann, sue = Person(app, "ann"), Person(app, "sue", role="supervisor")
    assert ann.do("get", "/office/devices").status_code == 403
    for bad in ("", " ", "x" * 41, "<b>", "a\u202eb"):
        r = sue.do("post", "/office/devices", data={"action": "register", "name": bad})
        assert r.status_code == 422, bad
    _register(sue, "TC52-01")
    token = _token(sue.do("get", "/").text)
    hh = Handheld(app)
    code = _register(sue, "TC52-02")
    assert hh.badge(code).status_code == 302
    r = sue.do("post", "/office/devices", data={"action": "register", "name": "TC52-02"})
    assert r.status_code == 422 and "already a registered handheld" in r.text
    assert sue.do("post", "/office/devices", data={"action": "retire", "device": "999"}).status_code == 422
    assert sue.do("post", "/office/devices", data={"action": "retire", "device": "x" * 30}).status_code == 422
    assert token


# ------------------------------------------------------------------ light screens


def test_a_handheld_keeps_its_light_or_dark_screen_for_whoever_signs_in_next(app):
    make_site()
    ann = Person(app, "ann")
    assert 'data-theme="dark"' in ann.do("get", "/").text
    token = _token(ann.do("get", "/").text)
    r = ann.do("post", "/theme", data={"csrf_token": token, "theme": "light", "next": "/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/")
    assert 'data-theme="light"' in ann.do("get", "/").text and "Dark screen" in ann.do("get", "/").text
    ann.do("post", "/switch-user", data={"csrf_token": token})
    assert 'data-theme="light"' in ann.do("get", "/login").text  # the handheld's, not the person's
    for bad in ("", "neon", "x" * 500):
        ann.do("post", "/login", data={"username": "ann", "password": "pw-ann"})
        token = _token(ann.do("get", "/").text)
        assert ann.do("post", "/theme", data={"csrf_token": token, "theme": bad}).status_code == 400
    r = ann.do("post", "/theme", data={"csrf_token": token, "theme": "dark", "next": "https://evil.example/"})
    assert r.status_code == 302 and "evil" not in r.headers["Location"]
