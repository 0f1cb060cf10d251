"""Two app hosts on one PostgreSQL, behind nginx: nothing a site needs lives on one host.

The hosts are network namespaces of their own with their own instance folders, reached only through
their gunicorn's unix socket, which nginx balances handhelds across (tests/hosts.py). So no request,
cookie, photo or lock can pass from one host to the other except through the database.

Skipped, with the reason, where namespaces cannot be made (not root, no iproute2) or nginx is missing.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Movement, Order
from app.services.ledger import check_ledger
from tests.builders import ean_for, make_site, make_token, make_user, receive
from tests.hosts import Host, Nginx, socket_url, why_not

pytestmark = pytest.mark.postgres


class Site:
    def __init__(self, hosts: list[Host], nginx: Nginx):
        self.hosts, self.nginx, self.url = hosts, nginx, nginx.url


@pytest.fixture
def site(pg_server, tmp_path):
    why = why_not()
    if why:
        pytest.skip(f"two-host test skipped: {why}")
    name = f"twohosts{secrets.token_hex(3)}"
    tcp_url = pg_server.create_database(name)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": tcp_url,
                      "WTF_CSRF_ENABLED": False})
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        db.create_all()
        make_site()
        receive(qty=10)
        boss = make_user("boss", "boss-pw", role="supervisor")
        make_user("ann", "ann-pw")
        token = make_token(boss)
        db.session.remove()
        secret = secrets.token_hex(32)  # from the environment, the same on every host
        # The load below is eight handhelds on one token: past the API's rate limit.
        hosts = [Host(n, socket_url(pg_server, name), secret, tmp_path, env={"API_REQUESTS_PER_MINUTE": "100000"})
                 for n in ("a", "b")]
        nginx = None
        try:
            for h in hosts:
                h.wait()
            nginx = Nginx(hosts, tmp_path)
            nginx.wait()
            yield Site(hosts, nginx), {"Authorization": f"Bearer {token}"}, app
        finally:
            if nginx is not None:
                nginx.close()
            for h in hosts:
                h.close()
            db.engine.dispose()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _served_by(responses) -> set[str]:
    return {r.headers.get("X-Served-By", "") for r in responses}


def _fire(n, send):
    start = threading.Barrier(n)

    def one(i):
        start.wait()
        return send(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_two_hosts_sell_the_last_10_units_exactly_once_and_a_resent_scan_once(site):
    s, auth, app = site

    def order(i):
        body = {"channel": "race", "external_id": f"o{i}", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 1}]}
        return requests.post(f"{s.url}/api/v1/orders", json=body, headers=auth, timeout=60)

    answers = _fire(64, order)
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 10 and codes.count(409) == 54, codes
    assert len(_served_by(answers)) == 2, "nginx did not send the orders to both hosts"

    body = {"scan_id": "dup-two-hosts", "warehouse": "W1", "kind": "move", "sku": "SKU-1", "qty": 3,
            "from_bin": "A-01", "to_bin": "B-01"}
    answers = _fire(50, lambda i: requests.post(f"{s.url}/api/v1/movements", json=body, headers=auth, timeout=60))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 1 and codes.count(200) == 49, codes
    assert len(_served_by(answers)) == 2
    with app.app_context():
        assert db.session.execute(select(func.count(Order.id))).scalar_one() == 10
        assert db.session.execute(select(func.count(Movement.id)).where(Movement.scan_id == "dup-two-hosts")
                                  ).scalar_one() == 1
        assert check_ledger(db.session) == []


def test_a_sign_in_and_a_photo_taken_on_one_host_are_good_on_the_other(site):
    import cv2
    import numpy as np

    s, auth, app = site
    ann = requests.Session()
    # The CSRF token comes from one host's page and is checked by whichever host takes the form.
    logins = [ann.get(f"{s.url}/login", timeout=30) for _ in range(2)]
    r = ann.post(f"{s.url}/login", data={"username": "ann", "password": "ann-pw", "csrf_token": _csrf(logins[0].text)},
                 allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[-300:]
    pages = [ann.get(f"{s.url}/tasks/", allow_redirects=False, timeout=30) for _ in range(6)]
    assert all(p.status_code == 200 for p in pages), [p.status_code for p in pages]
    assert len(_served_by(pages)) == 2, "the sign-in was not tried on both hosts"
    hx = {"HX-Request": "true", "X-CSRFToken": _csrf(pages[-1].text)}
    r = ann.post(f"{s.url}/tasks/damage", headers=hx, timeout=30)
    task = int(re.search(r"/tasks/(\d+)", r.headers["HX-Redirect"]).group(1))
    for code in ("A-01", ean_for(1)):
        r = ann.post(f"{s.url}/tasks/{task}/scan", data={"code": code, "scan_id": secrets.token_hex(8)}, headers=hx,
                     timeout=30)
        assert r.status_code == 200, r.text[-500:]
    _, png = cv2.imencode(".png", np.full((600, 800, 3), 90, np.uint8))
    r = ann.post(f"{s.url}/tasks/{task}/photo", files={"photo": ("d.png", png.tobytes(), "image/png")},
                 data={"csrf_token": hx["X-CSRFToken"]}, allow_redirects=False, timeout=60)
    assert r.status_code == 303, r.text[-500:]
    page = ann.get(f"{s.url}/tasks/{task}", timeout=30).text
    photo = re.search(r"/tasks/photos/(damage-[0-9a-f-]+\.jpg)", page).group(0)
    shown = [ann.get(f"{s.url}{photo}", timeout=30) for _ in range(6)]
    assert all(p.status_code == 200 and p.headers["Content-Type"] == "image/jpeg" for p in shown)
    assert len({p.content for p in shown}) == 1 and len(_served_by(shown)) == 2
    for h in s.hosts:
        assert not (h.instance / "photos").exists(), f"host {h.name} kept the photo on its disk"


def test_one_host_killed_under_load_loses_no_answered_scan_and_books_none_twice(site):
    s, auth, app = site
    stop = threading.Event()
    answered, sent, errors, cut = {}, [], [], []
    lock = threading.Lock()

    def handheld(n):
        while not stop.is_set():
            scan_id = f"h{n}-{secrets.token_hex(6)}"
            with lock:
                sent.append(scan_id)
            body = {"scan_id": scan_id, "warehouse": "W1", "kind": "receive", "sku": f"SKU-{1 + n % 3}", "qty": 1,
                    "to_bin": "A-01"}
            for _attempt in range(40):  # a scan whose answer never came is sent again, same id, as the queue does
                try:
                    r = requests.post(f"{s.url}/api/v1/movements", json=body, headers=auth, timeout=30)
                except requests.RequestException:
                    r = None
                if r is not None and r.status_code in (200, 201):
                    with lock:
                        answered[scan_id] = r.json()["movement"]["id"]
                    break
                if r is not None and r.status_code not in (502, 503, 504):
                    errors.append((r.status_code, r.text[:200]))
                    break
                cut.append(scan_id)  # cut off with the host: sent again
                time.sleep(0.1)

    threads = [threading.Thread(target=handheld, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    s.hosts[0].kill()  # host a dies with scans in flight; nginx sends the rest, and the resends, to b
    time.sleep(2.5)
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    assert cut, "no scan was in flight on the host when it was killed"
    assert len(answered) == len(sent) > 20, (len(answered), len(sent))
    with app.app_context():
        per_scan = dict(db.session.execute(select(Movement.scan_id, func.count(Movement.id))
                                           .where(Movement.scan_id.in_(sent)).group_by(Movement.scan_id)).all())
        assert set(per_scan) == set(sent) and set(per_scan.values()) == {1}
        assert check_ledger(db.session) == []


def test_sixteen_handhelds_on_two_hosts_racing_for_a_line_of_ten_pick_exactly_ten(site):
    from app.models import TaskLine, User, Warehouse
    from app.services import picking
    from app.services import orders as order_service
    from app.services.uow import UnitOfWork

    s, auth, app = site
    with app.app_context():
        order, _ = order_service.place_order("shop", "race-pick", "W1", [order_service.OrderLineRequest("SKU-1", 10)])
        ann_id = db.session.execute(select(User.id).where(User.username == "ann")).scalar_one()
        with UnitOfWork() as uow:
            task, _ = picking.start(uow.session, uow.session.get(Warehouse, 1), uow.session.get(User, ann_id),
                                    [order["id"]])
            tid = task.id
            uow.commit()
    first = requests.Session()
    page = first.get(f"{s.url}/login", timeout=30).text
    first.post(f"{s.url}/login", data={"username": "ann", "password": "ann-pw", "csrf_token": _csrf(page)},
               timeout=30)
    hx = {"HX-Request": "true", "X-CSRFToken": _csrf(first.get(f"{s.url}/tasks/", timeout=30).text)}
    r = first.post(f"{s.url}/tasks/{tid}/scan", data={"code": "A-01", "scan_id": "bin-two-hosts"}, headers=hx,
                   timeout=30)
    assert r.status_code == 200, r.text[-400:]

    def pick(i):
        handheld = requests.Session()
        handheld.cookies.update(first.cookies)
        return handheld.post(f"{s.url}/tasks/{tid}/scan", data={"code": ean_for(1), "scan_id": f"two-hosts-{i:03d}"},
                             headers=hx, timeout=60)

    answers = _fire(16, pick)
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 10 and codes.count(422) == 6, codes
    assert len(_served_by(answers)) == 2
    with app.app_context():
        line = db.session.execute(select(TaskLine).where(TaskLine.task_id == tid)).scalar_one()
        assert line.done == 10
        assert db.session.execute(select(func.count(Movement.id)).where(Movement.kind == "pick")).scalar_one() == 10
        assert check_ledger(db.session) == []
