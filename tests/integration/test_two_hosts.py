"""Two app hosts on one PostgreSQL, behind nginx: nothing a site needs lives on one host.

Each host is a network namespace of its own (`ip netns`: nothing in it but its own loopback) with
its own instance folder, running the app under gunicorn as `make run` does. Its one door out is the
unix socket gunicorn listens on, which nginx (Debian's package, started here) balances handhelds
across; the database is reached by PostgreSQL's socket. So no request, cookie, photo or lock can
pass from one host to the other except through the database. The network never leaves 127.0.0.1.

Skipped, with the reason, where namespaces cannot be made (not root, no iproute2) or nginx is missing.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Movement, Order
from app.services.ledger import check_ledger
from tests.builders import ean_for, make_site, make_token, make_user, receive

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2)"
    if not shutil.which("nginx"):
        return "no nginx (make test installs Debian's nginx package)"
    probe = f"whprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"network namespaces are not allowed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Host:
    """One app host: a network namespace, an instance folder, gunicorn on a unix socket."""

    def __init__(self, name: str, db_url: str, secret: str, tmp: Path):
        self.name = name
        self.ns = f"wh{os.getpid()}{name}"
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up"], check=True)
        self.instance = tmp / f"host-{name}"
        self.instance.mkdir()
        self.sock = tmp / f"{name}.sock"
        self.log = tmp / f"{name}.log"
        env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": secret, "WH_INSTANCE_PATH": str(self.instance),
               "API_REQUESTS_PER_MINUTE": "100000"}  # the load below is eight handhelds on one token
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, str(Path(sys.executable).parent / "gunicorn"), "--workers", "2",
                 "--bind", f"unix:{self.sock}", "--log-level", "warning", "app:create_app()"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"host {self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(self.sock))
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"host {self.name} did not come up")

    def kill(self) -> None:
        """SIGKILL to the host's gunicorn and its workers at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


NGINX_CONF = """
daemon off;
user root;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_max_body_size 20m;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  upstream app {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_set_header Host $host;
      proxy_next_upstream error timeout;
      proxy_read_timeout 60s;
      add_header X-Served-By $upstream_addr always;
    }}
  }}
}}
"""


class Site:
    def __init__(self, hosts: list[Host], url: str, nginx: subprocess.Popen):
        self.hosts, self.url, self.nginx = hosts, url, nginx


@pytest.fixture
def site(pg_server, tmp_path):
    why = _why_not()
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
        socket_url = f"postgresql+psycopg://postgres@/{name}?host={pg_server.dir}&port={pg_server.port}"
        secret = secrets.token_hex(32)  # from the environment, the same on every host
        hosts = [Host(n, socket_url, secret, tmp_path) for n in ("a", "b")]
        nginx = None
        try:
            for h in hosts:
                h.wait()
            port = _free_port()
            conf = tmp_path / "nginx.conf"
            conf.write_text(NGINX_CONF.format(tmp=tmp_path, port=port, servers="\n".join(
                f"    server unix:{h.sock} max_fails=1 fail_timeout=10s;" for h in hosts)))
            nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
            _wait_for(f"http://127.0.0.1:{port}/login", nginx, tmp_path)
            yield Site(hosts, f"http://127.0.0.1:{port}", nginx), {"Authorization": f"Bearer {token}"}, app
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(10)
            for h in hosts:
                h.close()
            db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url, proc, tmp) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(tmp / 'nginx-error.log').read_text()[-2000:]}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("nginx did not answer")


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
