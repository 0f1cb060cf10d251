"""The admin's Access screen (issue 17): sign a user out everywhere, deactivate, make and revoke tokens."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, User
from tests.builders import make_site
from tests.web.test_stock_control import Person


def _user_id(name):
    db.session.rollback()
    return db.session.execute(select(User.id).where(User.username == name)).scalar_one()


def test_only_an_admin_opens_the_access_screen(app):
    make_site()
    for role in ("operator", "supervisor"):
        assert Person(app, f"x-{role}", role=role).do("get", "/office/access").status_code == 403
    r = Person(app, "root", role="admin").do("get", "/office/access")
    assert r.status_code == 200 and "Sign out everywhere" in r.text and "x-operator" in r.text


def test_sign_out_everywhere_ends_every_handheld_of_that_user_at_once(app):
    make_site()
    admin = Person(app, "root", role="admin")
    ann = Person(app, "ann")
    second = Person.__new__(Person)  # ann on a second handheld
    second.app, second.client = app, app.test_client()
    second.do("post", "/login", data={"username": "ann", "password": "pw-ann"})
    assert ann.do("get", "/").status_code == 200 and second.do("get", "/").status_code == 200
    r = admin.do("post", "/office/access", data={"action": "sign-out", "user": _user_id("ann")})
    assert r.status_code == 200 and "ann is signed out on every handheld" in r.text
    for handheld in (ann, second):
        assert handheld.do("get", "/").status_code == 302
    assert admin.do("get", "/").status_code == 200  # the admin's own session is untouched


def test_a_deactivated_user_is_out_at_once_and_cannot_sign_in_again(app):
    make_site()
    admin = Person(app, "root", role="admin")
    ann = Person(app, "ann")
    r = admin.do("post", "/office/access", data={"action": "deactivate", "user": _user_id("ann")})
    assert "ann is deactivated and signed out everywhere" in r.text
    assert ann.do("get", "/").status_code == 302
    assert ann.do("post", "/login", data={"username": "ann", "password": "pw-ann"}).status_code == 401
    r = admin.do("post", "/office/access", data={"action": "deactivate", "user": _user_id("root")})
    assert r.status_code == 422 and "cannot deactivate yourself" in r.text
    admin.do("post", "/office/access", data={"action": "activate", "user": _user_id("ann")})
    assert ann.do("post", "/login", data={"username": "ann", "password": "pw-ann"}).status_code == 302


def test_a_token_made_on_the_screen_is_shown_once_works_and_is_revoked_there(app):
    make_site()
    admin = Person(app, "root", role="admin")
    Person(app, "ann")
    r = admin.do("post", "/office/access", data={"action": "make-token", "username": "ann", "channel": "amazon",
                                                 "days": "30", "name": "seller central"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    token = re.search(r'value="(wh_[^"]+)"', r.text)[1]
    client = app.test_client()
    assert client.get("/api/v1/warehouses", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = admin.do("get", "/office/access").text
    assert token not in listing and "amazon" in listing and "seller central" in listing
    token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    r = admin.do("post", "/office/access", data={"action": "revoke", "token": str(token_id)})
    assert f"Token {token_id} of ann is revoked" in r.text
    assert client.get("/api/v1/warehouses", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_bad_requests_on_the_access_screen_say_what_is_wrong_and_change_nothing(app):
    make_site()
    admin = Person(app, "root", role="admin")
    for data, says in (({"action": "make-token", "username": "nobody"}, "No user"),
                       ({"action": "make-token", "username": "root", "days": "9999"}, "730"),
                       ({"action": "make-token", "username": "root", "days": "-1"}, "days"),
                       ({"action": "sign-out", "user": "x"}, "user"),
                       ({"action": "revoke", "token": "99"}, "No token 99"),
                       ({"action": "nope"}, "Choose what to do")):
        r = admin.do("post", "/office/access", data=data)
        assert r.status_code == 422 and says in r.text, (data, r.text[-800:])
    db.session.rollback()
    assert db.session.execute(select(ApiToken)).first() is None


def test_an_admin_creates_a_user_with_a_badge_and_pin_who_then_signs_in_by_badge(app):
    make_site()
    admin = Person(app, "root", role="admin")
    r = admin.do("post", "/office/access", data={"action": "save-user", "username": "kim", "role": "operator",
                                                 "password": "kim-pw-123", "badge": "KIM07", "pin": "2468"})
    assert r.status_code == 200 and "kim is created" in r.text and "KIM07" in r.text
    hh = Person.__new__(Person)
    hh.app, hh.client = app, app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', hh.do("get", "/login").text).group(1)
    assert hh.do("post", "/login/badge", data={"csrf_token": token, "badge": "BADGE-KIM07", "pin": "2468"}
                 ).status_code == 302
    # A role change; the checks of create-user: nothing changes on a bad field.
    r = admin.do("post", "/office/access", data={"action": "save-user", "username": "kim", "role": "supervisor"})
    assert "kim is saved" in r.text
    for bad in ({"username": "", "role": "operator", "password": "pppp"},
                {"username": "new1", "role": "operator"},  # a new user needs a password
                {"username": "new2", "role": "emperor", "password": "pppp"},
                {"username": "new3", "role": "operator", "password": "pppp", "pin": "12"},
                {"username": "new4", "role": "operator", "password": "pppp", "badge": "KIM07"},
                {"username": "root", "role": "operator"}):  # not one's own role
        r = admin.do("post", "/office/access", data={"action": "save-user", **bad})
        assert r.status_code == 422, bad
    db.session.rollback()
    assert db.session.execute(select(User.role).where(User.username == "kim")).scalar_one() == "supervisor"
    assert db.session.execute(select(User.id).where(User.username.like("new%"))).first() is None
