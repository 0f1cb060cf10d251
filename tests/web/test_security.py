"""Who may reach what, sign-in guessing, cookies and the content security policy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app import create_app
from app.extensions import db
from app.models import ScanLog, SignInFailure, User
from tests.builders import make_site, make_token, make_user

# What a floor operator uses. Every other endpoint is for supervisors (or admins) and must say 403.
OPERATOR_ENDPOINTS = {
    "floor.home", "floor.lookup", "floor.lookup_scan", "floor.choose_warehouse",
    "auth.login", "auth.logout", "auth.badge_login", "auth.switch_user", "auth.theme", "auth.language",
    "scan.decode", "scan.setup", "scan.probe", "scan.barcode_png",
    "tasks.index", "tasks.show", "tasks.scan", "tasks.photo", "tasks.photo_file",
    "tasks.receive_start", "tasks.receive_begin", "tasks.putaway_start", "tasks.damage_start", "tasks.inspect_start",
    "tasks.putaway_begin", "tasks.damage_begin", "tasks.inspect_begin", "tasks.move_start", "tasks.move_begin",
    "tasks.pick_start", "tasks.pick_begin", "tasks.ship_start", "tasks.ship_begin", "tasks.return_start",
    "tasks.return_begin", "tasks.count_start", "tasks.count_begin", "tasks.transfer_out_start",
    "tasks.transfer_out_begin", "tasks.transfer_in_start", "tasks.transfer_in_begin",
    "tasks.replenish_start", "tasks.replenish_begin", "tasks.pack_start", "tasks.pack_begin", "tasks.parcel_slip",
    "tasks.parcel_label",
    "static",
}
# All that answers without a session or a token: the sign-in screen and its badge scan (which also
# takes a handheld's registration code: the code itself is the credential, good once for 15 minutes).
OPEN_ENDPOINTS = {"auth.login", "auth.badge_login", "static"}


def _routes(app):
    """Every (endpoint, method, url) in the URL map, with made-up values for its arguments."""
    out = []
    for rule in app.url_map.iter_rules():
        args = {}
        for name, conv in rule._converters.items():
            args[name] = 1 if isinstance(conv, IntegerConverter) else "x"
        if rule.endpoint == "static":
            args["filename"] = "css/app.css"
        url = rule.build(args)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    assert len(out) > 50, "the walk must see the whole URL map"
    return out


def _call(client, method, url, **kw):
    return client.open(url, method=method, data={} if method == "POST" else None, **kw)


def test_nothing_but_sign_in_and_static_files_answers_without_a_session_or_token(app, client):
    make_site()
    for endpoint, method, url in _routes(app):
        r = _call(client, method, url)
        if endpoint in OPEN_ENDPOINTS:
            assert r.status_code < 400 or endpoint in ("auth.login", "auth.badge_login"), (endpoint, method, r.status_code)
            continue
        if url.startswith("/api/"):
            assert r.status_code == 401, (endpoint, method, r.status_code)
            assert r.get_json()["error"]["code"] == "unauthorized"
        else:
            assert r.status_code == 302 and "/login" in r.headers["Location"], (endpoint, method, r.status_code)
            # What a handheld's scan queue or htmx sends is told it is signed out, not redirected:
            # a followed redirect would hand the sign-in page back as the scan's answer.
            r = _call(client, method, url, headers={"HX-Request": "true"})
            assert r.status_code == 401, (endpoint, method, r.status_code)
            assert "signed out" in r.get_data(as_text=True), (endpoint, method)


def test_a_scan_sent_after_the_session_ended_is_refused_with_401_and_changes_nothing(app, client):
    make_site()
    r = client.post("/lookup", data={"code": "HEX-0001", "scan_id": "a" * 32}, headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert "Sign in again" in r.get_data(as_text=True)
    assert "Location" not in r.headers and "HX-Redirect" not in r.headers
    assert db.session.execute(select(func.count()).select_from(ScanLog)).scalar() == 0
    r = client.post("/scan/decode", data={}, headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "signed_out"
    # A page without htmx (a form without JavaScript) still goes to the sign-in screen, and back.
    r = client.get("/tasks/7")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")
    assert "%2Ftasks%2F7" in r.headers["Location"]


def test_an_operator_reaches_no_supervisor_or_admin_screen_or_action(app, client):
    make_site()
    make_user("op", "op-pw", role="operator")
    assert client.post("/login", data={"username": "op", "password": "op-pw"}).status_code == 302
    walked = 0
    for endpoint, method, url in _routes(app):
        if endpoint in OPERATOR_ENDPOINTS or url.startswith("/api/"):
            continue
        r = _call(client, method, url)
        assert r.status_code == 403, (endpoint, method, url, r.status_code)
        walked += 1
    assert walked >= 20  # office, control, labels and scanner settings


def test_operator_screens_do_not_send_an_operator_away_for_his_role(app, client):
    make_site()
    make_user("op", "op-pw", role="operator")
    client.post("/login", data={"username": "op", "password": "op-pw"})
    for endpoint, method, url in _routes(app):
        if endpoint in OPERATOR_ENDPOINTS and method == "GET" and "<" not in url and endpoint != "auth.login":
            r = _call(client, method, url)
            assert r.status_code != 403, (endpoint, url)


ADMIN_ENDPOINTS = {"office.access_screen", "catalog.warehouses", "catalog.warehouses_csv", "catalog.warehouses_import",
                   "catalog.users_csv", "catalog.users_import", "catalog.tokens_csv",
                   # A channel's webhook secret and what it may publish are an admin's.
                   "office.channels_screen", "office.channel_screen"}


def test_a_supervisor_reaches_the_office_screens(app, client):
    make_site()
    make_user("boss", "boss-pw", role="supervisor")
    client.post("/login", data={"username": "boss", "password": "boss-pw"})
    for endpoint, method, url in _routes(app):
        if endpoint not in OPERATOR_ENDPOINTS | ADMIN_ENDPOINTS and not url.startswith("/api/") and method == "GET":
            assert _call(client, method, url).status_code != 403, (endpoint, url)
    # Who may come in (users' sessions, API tokens) is an admin's screen only.
    for endpoint, method, url in _routes(app):
        if endpoint in ADMIN_ENDPOINTS:
            assert _call(client, method, url).status_code == 403, (endpoint, method)


def test_an_operators_api_token_cannot_lock_adjust_or_add_virtual_stock(app, client):
    make_site()
    token = make_token(make_user("op", "op-pw", role="operator"))
    for kind in ("lock", "adjust", "virtual"):
        r = client.post("/api/v1/movements", headers={"Authorization": f"Bearer {token}"},
                        json={"warehouse": "W1", "kind": kind, "sku": "SKU-1", "qty": 1, "to_bin": "A-01"})
        assert r.status_code == 403, (kind, r.status_code)


# Sign-in guessing -------------------------------------------------------------------------------


def _sign_in(client, user, password):
    return client.post("/login", data={"username": user, "password": password})


def test_five_wrong_passwords_make_that_user_wait_even_with_the_right_one(app, client):
    make_user("picker", "pick-pw")
    make_user("other", "other-pw")
    for _ in range(5):
        assert _sign_in(client, "picker", "guess").status_code == 401
    r = _sign_in(client, "picker", "pick-pw")
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert b"Too many wrong passwords" in r.data
    # Another user on the same handheld is not held up by it.
    assert _sign_in(client, "other", "other-pw").status_code == 302


def _age_failures(by: timedelta) -> None:
    """Make the recorded failures older (in Python: SQLite's column arithmetic would turn them into numbers)."""
    db.session.rollback()
    for row in db.session.execute(select(SignInFailure)).scalars():
        row.at -= by
    db.session.commit()


def test_the_wait_ends_when_the_failures_are_older_than_the_window(app, client):
    make_user("picker", "pick-pw")
    for _ in range(5):
        _sign_in(client, "picker", "guess")
    assert _sign_in(client, "picker", "pick-pw").status_code == 429
    _age_failures(timedelta(minutes=16))
    assert _sign_in(client, "picker", "pick-pw").status_code == 302


def test_one_address_trying_many_user_names_is_slowed_down_too(app, client):
    make_user("picker", "pick-pw")
    for n in range(30):
        _sign_in(client, f"nobody{n}", "guess")
    assert _sign_in(client, "picker", "pick-pw").status_code == 429


def test_a_good_sign_in_clears_earlier_wrong_passwords(app, client):
    make_user("picker", "pick-pw")
    for _ in range(4):
        _sign_in(client, "picker", "guess")
    assert _sign_in(client, "picker", "pick-pw").status_code == 302
    assert db.session.execute(select(SignInFailure).where(SignInFailure.username == "picker")).first() is None


def test_passwords_are_stored_only_as_salted_hashes(app):
    make_user("a", "same-password")
    make_user("b", "same-password")
    hashes = db.session.execute(select(User.password_hash)).scalars().all()
    assert all("same-password" not in h for h in hashes)
    assert hashes[0] != hashes[1]  # salted
    assert all(h.startswith(("scrypt:", "pbkdf2:")) for h in hashes)


# Cookies and headers ------------------------------------------------------------------------------


def _cookie_flags(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_session_cookies_are_http_only_and_same_site(app, client):
    make_user("picker", "pick-pw")
    cookies = _cookie_flags(_sign_in(client, "picker", "pick-pw"))
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name]  # plain HTTP on the LAN would lose it


def test_signing_out_ends_the_session_and_the_remember_me_cookie_too(app, client):
    make_user("picker", "pick-pw")
    _sign_in(client, "picker", "pick-pw")
    assert client.get("/tasks/").status_code == 200
    r = client.post("/logout")
    assert r.status_code == 302
    gone = _cookie_flags(r)["remember_token"]
    assert "Expires=Thu, 01 Jan 1970" in gone or "Max-Age=0" in gone, gone
    # Neither the session nor a remembered sign-in lets the next person in.
    assert client.get("/tasks/").status_code == 302
    assert client.get("/login").status_code == 200


def test_under_https_the_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("HTTPS", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.db'}"})
    with app.app_context():
        db.create_all()
        make_user("picker", "pick-pw")
        r = app.test_client().post("/login", data={"username": "picker", "password": "pick-pw"},
                                   base_url="https://localhost")
        cookies = _cookie_flags(r)
        assert all("Secure" in cookies[n] for n in ("session", "remember_token"))
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
        db.engine.dispose()


def test_plain_http_on_the_lan_sends_no_hsts(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_every_screen_has_a_policy_that_runs_no_inline_script_and_contains_none(app, client, role):
    make_site()
    make_user("u", "u-pw", role=role)
    client.post("/login", data={"username": "u", "password": "u-pw"})
    seen = 0
    for endpoint, method, url in _routes(app):
        if method != "GET" or url.startswith("/api/") or endpoint == "static":
            continue
        r = client.get(url)
        if r.status_code >= 400 or r.mimetype != "text/html":
            continue
        csp = r.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert script_src.strip() == "'self'", (url, csp)
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert not INLINE_SCRIPT.search(r.get_data(as_text=True)), url
        seen += 1
    assert seen >= (5 if role == "operator" else 15)


def test_the_sign_in_page_itself_carries_the_policy(client):
    r = client.get("/login")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert not INLINE_SCRIPT.search(r.get_data(as_text=True))


def _row_counts() -> dict[str, int]:
    db.session.rollback()
    from app.services import ledger_days

    # The ledger's sums per day are a read model a screen fills (a cache of closed days), not data.
    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables if t.name not in ledger_days.TABLES}


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_no_get_in_the_url_map_writes_a_row(app, client, role):
    """GET never changes data: a link on another site (or a prefetch) cannot start a task or book anything."""
    make_site()
    make_user("u", "u-pw", role=role)
    client.post("/login", data={"username": "u", "password": "u-pw"})
    before = _row_counts()
    walked = 0
    for endpoint, method, url in _routes(app):
        if method != "GET" or endpoint in ("auth.logout",):
            continue
        for headers in ({}, {"HX-Request": "true", "Origin": "http://evil.example", "Referer": "http://evil.example/"}):
            client.get(url, headers=headers)
        walked += 1
        after = _row_counts()
        assert after == before, (endpoint, url, {k: (before[k], after[k]) for k in after if after[k] != before[k]})
    assert walked > 30


# The warehouse wall -------------------------------------------------------------------------------


def _foreign_site():
    """Records of W2 (and a transfer W2 -> W3) that a W1 session must neither see nor change."""
    from datetime import date, timedelta

    from app.models import FloorException, Task, Warehouse
    from app.services import counting, locks, orders, purchasing, transfers
    from app.services.uow import UnitOfWork
    from tests.builders import receive

    make_site(codes=("W1", "W2", "W3"))
    receive("SKU-1", 30, warehouse="W2", to_bin="A-01")
    other_id = make_user("w2-boss", "w2-pw", role="supervisor").id
    db.session.rollback()  # no read snapshot left open while the units of work below write
    order, _ = orders.place_order("shop", "w2-order", "W2", [orders.OrderLineRequest("SKU-1", 2)])
    po, _ = purchasing.create_purchase_order(purchasing.PurchaseOrderRequest(
        "PO-2026-0777", "W2", [purchasing.LineRequest("SKU-2", 5)]))
    with UnitOfWork() as uow:
        s = uow.session
        w2 = s.execute(select(Warehouse).where(Warehouse.code == "W2")).scalar_one()
        boss = s.get(User, other_id)
        cs, _ = counting.create_session(s, w2, boss, "bins", "A-01", blind=True)
        lock = locks.create_lock(s, w2, boss, "SKU-1", 3, "W2 sale", date.today() + timedelta(days=9))
        tr = transfers.plan(s, w2, "W3", boss, [("SKU-1", 2)])
        task = Task(kind="damage", warehouse_id=w2.id, created_by=boss.id, updated_by=boss.id, state={})
        s.add(task)
        s.flush()
        exc = FloorException(kind="short_pick", warehouse_id=w2.id, order_id=order["id"], item_id=1, qty=1,
                             message="W2 short")
        s.add(exc)
        s.flush()
        ids = {"order": order["id"], "po": po["id"], "session": cs.id, "lock": lock.id, "transfer": tr.id,
               "task": task.id, "exception": exc.id, "number": po["number"], "cs_number": cs.number,
               "tr_number": tr.number, "order_number": order["number"], "external_id": "w2-order"}
        uow.commit()
    db.session.rollback()
    return ids


def _w2_state(ids) -> dict:
    from app.models import CountSession, FloorException, Order, PromoLock, PurchaseOrder, Task, Transfer

    db.session.rollback()
    foreign = {"order_id": ids["order"], "purchase_order_id": ids["po"], "count_session_id": ids["session"],
               "transfer_id": ids["transfer"]}
    tasks = db.session.execute(select(Task)).scalars().all()
    return {
        "order": (db.session.get(Order, ids["order"]).status, db.session.get(Order, ids["order"]).lines[0].reserved),
        "po": db.session.get(PurchaseOrder, ids["po"]).status,
        "session": db.session.get(CountSession, ids["session"]).status,
        "lock": db.session.get(PromoLock, ids["lock"]).status,
        "transfer": db.session.get(Transfer, ids["transfer"]).status,
        "task": (db.session.get(Task, ids["task"]).status, db.session.get(Task, ids["task"]).updated_at),
        "exception": db.session.get(FloorException, ids["exception"]).status,
        "tasks_on_w2_records": [t.id for t in tasks if t.id != ids["task"]
                                and any(getattr(t, col) == val for col, val in foreign.items())],
    }


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_every_route_replayed_with_another_warehouses_ids_changes_nothing_there(app, client, role):
    ids = _foreign_site()
    make_user("u", "u-pw", role=role)
    client.post("/login", data={"username": "u", "password": "u-pw"})
    client.post("/warehouse", data={"warehouse": "W1"})
    before = _w2_state(ids)
    form = {
        "id": ids["exception"], "order_id": ids["order"], "order": ids["order"], "po": ids["po"],
        "session": ids["session"], "transfer": ids["transfer"], "unlock": ids["lock"], "line": 1,
        "reference": ids["external_id"], "resolution": "backorder", "decision": "approve", "close": "1",
        "action": "close",
    }
    codes = ["", ids["order_number"], ids["number"], ids["cs_number"], ids["tr_number"]]
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.logout", "auth.switch_user", "auth.login", "floor.choose_warehouse"):
            continue
        int_args = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        values = [ids["task"], ids["session"], ids["order"], ids["transfer"]] if int_args else [None]
        for value in values:
            url = rule.build({n: (value if n in int_args else "x") for n in rule._converters})[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    r = client.get(url)
                    if int_args and rule.endpoint in ("tasks.show", "control.count_session"):
                        assert r.status_code in (403, 404), (url, r.status_code)  # 403: not for this role
                    continue
                for code in codes:
                    client.open(url, method=method, data={**form, "code": code, "scan_id": f"wall-{walked:08d}"},
                                headers={"HX-Request": "true"})
                    walked += 1
    assert walked > 100
    assert _w2_state(ids) == before


# Sessions that end -------------------------------------------------------------------------------


def _kept(client) -> dict:
    return {name: client.get_cookie(name).value for name in ("session", "remember_token") if client.get_cookie(name)}


def _replay(app, cookies: dict, only: str | None = None):
    other = app.test_client()
    for name, value in cookies.items():
        if only is None or name == only:
            other.set_cookie(name, value)
    with app.app_context():  # a request of its own, as in production (no user cached from before)
        return other.get("/tasks/")


def test_cookies_kept_from_before_a_sign_out_let_nobody_in(app, client):
    make_user("picker", "pick-pw")
    _sign_in(client, "picker", "pick-pw")
    kept = _kept(client)
    assert set(kept) == {"session", "remember_token"}
    assert _replay(app, kept).status_code == 200
    client.post("/logout")
    for only in ("session", "remember_token", None):
        assert _replay(app, kept, only).status_code == 302, only


def test_a_password_change_and_sign_out_everywhere_end_every_session_of_that_user(app, client):
    make_user("picker", "pick-pw")
    _sign_in(client, "picker", "pick-pw")
    kept = _kept(client)
    r = app.test_cli_runner().invoke(args=["create-user", "--username", "picker", "--password", "new-pw-1"])
    assert r.exit_code == 0, r.output
    assert _replay(app, kept, "session").status_code == 302
    assert _replay(app, kept, "remember_token").status_code == 302
    fresh = app.test_client()
    with app.app_context():
        _sign_in(fresh, "picker", "new-pw-1")
    kept = _kept(fresh)
    assert _replay(app, kept).status_code == 200
    r = app.test_cli_runner().invoke(args=["sign-out-everywhere", "picker"])
    assert r.exit_code == 0 and "signed out everywhere" in r.output
    assert _replay(app, kept).status_code == 302


def test_each_sign_in_gets_a_remember_cookie_of_its_own_and_a_sign_in_lasts_14_days_at_most(app):
    from app.models import UserSession

    make_user("picker", "pick-pw")
    first, second = app.test_client(), app.test_client()
    with app.app_context():
        _sign_in(first, "picker", "pick-pw")
    with app.app_context():
        _sign_in(second, "picker", "pick-pw")
    a, b = _kept(first), _kept(second)
    assert a["remember_token"] != b["remember_token"]  # rotated at each sign-in
    assert _replay(app, a, "remember_token").status_code == 200  # the other handheld stays signed in
    assert _replay(app, b, "remember_token").status_code == 200
    # Only a hash of the sign-in's secret is stored: the cookie's value is nowhere in the database.
    stored = db.session.execute(select(UserSession.id)).scalars().all()
    assert len(stored) == 2 and not any(sid in a["remember_token"] for sid in stored)
    for row in db.session.execute(select(UserSession)).scalars():
        row.created_at -= timedelta(days=15)
    db.session.commit()
    assert _replay(app, a, "remember_token").status_code == 302
    assert _replay(app, b).status_code == 302


def test_a_stranger_at_another_address_cannot_lock_a_user_out_of_their_own_handheld(app):
    make_user("picker", "pick-pw")
    stranger, handheld = app.test_client(), app.test_client()
    for _ in range(8):
        r = stranger.post("/login", data={"username": "picker", "password": "guess"},
                          environ_base={"REMOTE_ADDR": "10.0.0.66"})
    assert r.status_code == 429  # the stranger waits
    r = handheld.post("/login", data={"username": "picker", "password": "pick-pw"},
                      environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert r.status_code == 302  # the picker, at their own handheld, does not


def test_across_many_addresses_a_user_name_gets_a_slower_backoff(app):
    make_user("picker", "pick-pw")
    for n in range(20):
        app.test_client().post("/login", data={"username": "picker", "password": "guess"},
                               environ_base={"REMOTE_ADDR": f"10.0.1.{n}"})
    r = app.test_client().post("/login", data={"username": "picker", "password": "pick-pw"},
                               environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 30
    _age_failures(timedelta(seconds=31))
    r = app.test_client().post("/login", data={"username": "picker", "password": "pick-pw"},
                               environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert r.status_code == 302


def test_forty_simultaneous_wrong_guesses_check_no_more_passwords_than_the_limit(any_app, monkeypatch):
    import threading

    app = any_app
    make_user("picker", "pick-pw")
    checked = []
    real = User.check_password

    def counted(self, password):
        checked.append(password)
        return real(self, password)

    monkeypatch.setattr(User, "check_password", counted)
    start = threading.Barrier(40)
    codes = []

    def guess(n):
        with app.app_context():
            client = app.test_client()
            start.wait()
            codes.append(client.post("/login", data={"username": "picker", "password": f"guess-{n}"}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    limit = app.config["SIGN_IN_MAX_FAILURES_PER_USER"]
    assert len(checked) <= limit, len(checked)
    assert sorted(codes) == [401] * len(checked) + [429] * (40 - len(checked))
