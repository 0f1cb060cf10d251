"""Many handhelds scanning at once, against a real server: scans/s, latency, server CPU per scan.

    python bench/scans.py [--handhelds 32] [--seconds 20] [--db sqlite|postgres] [--shape mix|receive|pick|count]
                          [--workers 4] [--hosts N]
                          [--threads N] [--warmup 3] [--pace SECONDS] [--keep]

By default it does what `make run` does on a fresh machine: a new database
(an SQLite file, or a throwaway PostgreSQL server with --db postgres) with the
demo site loaded, served by gunicorn with the same worker settings, on
127.0.0.1. It then adds, for each handheld, an operator account, a purchase
order to receive against, an order to pick and a bin to count, signs each
handheld in, opens its three tasks through the start screens, and lets every
handheld loop over floor work for --seconds:

    receive an item, pick an item, count an item, look up an item,
    receive an item, pick an item, count an item, look up a bin

Each step is the very request the handheld page sends (form POST with a new
scan id, the CSRF token and HX-Request: true; the answer is the HTML partial
the page swaps in). A handheld waits for each answer before its next scan, as
the page's ordered queue does. Any answer other than 200 is an error.

By default each handheld sends its next scan as soon as the answer is in: the
most the server can take. --pace 2 has each one scan every 2 seconds on
average (spread at random between half and one and a half times that), as an
operator on the floor does, to show the latency a site of that many handhelds
sees.

With --hosts N (PostgreSQL; as root, where network namespaces can be made) the site is served by N
app hosts of their own behind nginx (tests/hosts.py), each with --workers workers, and the handhelds
scan through nginx: the shape of a site of several hosts on one database, on this one machine.

Prints one JSON summary. Server CPU is the user+system time of gunicorn and
its workers (and PostgreSQL's processes with --db postgres) over the measured
seconds, divided by the scans answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

# The checkout whose app is measured: this one, or another's (WH_APP_ROOT, set by bench/side_by_side.py
# --against), so that two commits run the very same load, shapes included.
ROOT = Path(os.environ.get("WH_APP_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-pass"
GO_TO_BIN = re.compile(rb"data-step>Go to bin (\S+) and scan it")
CYCLE = ("receive", "pick", "count", "lookup_item", "receive", "pick", "count", "lookup_bin")
# --shape: the whole floor mix above, or one kind of scan only (to hold against bench/floor_minimum.py).
SHAPES = {"mix": CYCLE, "receive": ("receive",), "pick": ("pick",), "count": ("count",)}


# -------------------------------------------------------------------------------------------
# The site: demo data plus what each handheld works on
# -------------------------------------------------------------------------------------------


def prepare_site(database_url: str, instance: Path, handhelds: int) -> list[dict]:
    """Load the demo, then one operator, PO, order and count bin per handheld. Returns their plans."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["WH_INSTANCE_PATH"] = str(instance)
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import (
        Barcode,
        Bin,
        Item,
        PurchaseOrder,
        PurchaseOrderLine,
        User,
        Warehouse,
    )
    from app.services import counting, demo
    from app.services import orders as order_service
    from app.services.stock import MovementCommand, apply_movement
    from app.services.uow import UnitOfWork

    app = create_app()
    with app.app_context():
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "ensure-demo"], cwd=ROOT, check=True,
                       env={**os.environ}, stdout=subprocess.DEVNULL)
        with UnitOfWork() as uow:
            s = uow.session
            main = s.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
            # Items a plain scan receives: not those that want a serial, lot or expiry with each unit.
            items = s.execute(select(Item).where(Item.serial_tracked.is_(False), Item.lot_tracked.is_(False),
                                                 Item.expiry_tracked.is_(False)).order_by(Item.id)).scalars().all()
            if len(items) < handhelds + 1:
                raise SystemExit(f"the demo has {len(items)} items; at most {len(items) - 1} handhelds")
            from werkzeug.security import generate_password_hash

            # One hash for every bench account: hashing 128 passwords would take longer than the run.
            pw_hash = generate_password_hash(PASSWORD)
            for i in range(handhelds):
                s.add(User(username=f"hh{i:03d}", role="operator", password_hash=pw_hash))
                s.add(Bin(warehouse_id=main.id, code=f"BP-{i:03d}", type="storage", walk_order=50000 + i))
                s.add(Bin(warehouse_id=main.id, code=f"BC-{i:03d}", type="storage", walk_order=60000 + i))
            s.flush()
            plans = []
            for i in range(handhelds):
                item = items[i]
                ean = s.execute(select(Barcode.code).where(Barcode.item_id == item.id, Barcode.kind == "unit")
                                ).scalar_one()
                po = PurchaseOrder(number=f"PO-9{i // 1000:03d}-{i % 10000:04d}", warehouse_id=main.id,
                                   supplier="Bench supply", status="open")
                s.add(po)
                s.flush()
                s.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=1, item_id=item.id, expected=10_000_000))
                plans.append({"user": f"hh{i:03d}", "item_id": item.id, "sku": item.sku, "ean": ean, "po_id": po.id,
                              "pick_bin": f"BP-{i:03d}", "count_bin": f"BC-{i:03d}"})
            admin = s.execute(select(User).where(User.username == "admin")).scalar_one()
            admin_id = admin.id
            uow.commit()
        for p in plans:
            for kind, kw in (("receive", {}), ("move", {"from_bin": "DOCK-01", "to_bin": p["pick_bin"]})):
                apply_movement(MovementCommand(warehouse="MAIN", kind=kind, sku=p["sku"], qty=1_000_000,
                                               user_id=admin_id, device="bench", **kw))
            for kind, kw in (("receive", {}), ("move", {"from_bin": "DOCK-01", "to_bin": p["count_bin"]})):
                apply_movement(MovementCommand(warehouse="MAIN", kind=kind, sku=p["sku"], qty=50,
                                               user_id=admin_id, device="bench", **kw))
            order, _ = order_service.place_order(
                "bench", p["user"], "MAIN", [order_service.OrderLineRequest(p["sku"], 900_000)],
                user_id=admin_id, device="bench")
            p["order_id"] = order["id"]
        with UnitOfWork() as uow:
            s = uow.session
            main = s.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
            boss = s.execute(select(User).where(User.username == "super")).scalar_one()
            for p in plans:
                cs, _ = counting.create_session(s, main, boss, "bins", p["count_bin"], blind=True)
                s.flush()
                p["count_session"] = cs.id
            uow.commit()
        db.engine.dispose()
    del demo
    return plans


def _webhook_sink(database_url: str, instance: Path, channels: int):
    """A receiver on 127.0.0.1 that answers 200 to every delivery, and that many channels on MAIN using it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            server.count += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.daemon_threads = True
    server.count = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["WH_INSTANCE_PATH"] = str(instance)
    os.environ["DATABASE_URL"] = database_url
    from app import create_app
    from app.extensions import db
    from app.services import channels as channel_service
    from app.services.uow import UnitOfWork

    app = create_app()
    with app.app_context():
        with UnitOfWork() as uow:
            for n in range(channels):
                channel_service.save(uow.session, f"bench-{n}", kind="other",
                                     webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook", warehouses=["MAIN"])
            # Channels already in step with the site: only the run's own changes are sent.
            from sqlalchemy import update

            from app.models import OutboxEvent, utcnow

            uow.session.execute(update(OutboxEvent).values(delivered_at=utcnow()))
            uow.commit()
        db.engine.dispose()
    return server


# -------------------------------------------------------------------------------------------
# Servers
# -------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(database_url: str, instance: Path, workers: int, threads: int | None, port: int):
    """The server `make run` starts, with its log sent to a file rather than the terminal."""
    env = {**os.environ, "DATABASE_URL": database_url, "WH_INSTANCE_PATH": str(instance)}
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers),
           "--bind", f"127.0.0.1:{port}", "--access-logfile", str(instance / "access.log")]
    if threads:
        cmd += ["--threads", str(threads)]
    cmd.append("app:create_app()")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(instance / "server.log", "wb"), start_new_session=True)
    import urllib.request

    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {instance / 'server.log'}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer within 60 s")


def cpu_seconds(pids: set[int]) -> float:
    """User+system CPU of these processes and all their descendants, alive now."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    family = set(pids)
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in stats.items():
            if ppid in family and pid not in family:
                family.add(pid)
                changed = True
    for pid in family:
        if pid in stats:
            total += stats[pid][1] / tick
    return total


# -------------------------------------------------------------------------------------------
# The handhelds: a small HTTP/1.1 client on asyncio, one connection each
# -------------------------------------------------------------------------------------------


class Handheld:
    def __init__(self, host: str, port: int, plan: dict):
        self.host, self.port, self.plan = host, port, plan
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.reader = self.writer = None
        self.tasks: dict[str, str] = {}
        self.pick_bin: str | None = None

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, form: dict | None = None, htmx: bool = False):
        body = urllib.parse.urlencode(form or {}).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "User-Agent: bench-handheld",
                "Accept: text/html"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        if htmx:
            head.append("HX-Request: true")
            if self.csrf:
                head.append(f"X-CSRFToken: {self.csrf}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            try:
                self.writer.write(raw)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed a kept-alive connection between requests: a new one, once.
                self._close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self):
        line = await self.reader.readuntil(b"\r\n")
        status = int(line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookie = value.split(";", 1)[0]
                k, _, v = cookie.partition("=")
                if v and "Expires=Thu, 01 Jan 1970" not in value:
                    self.cookies[k] = v
                else:
                    self.cookies.pop(k, None)
            else:
                headers[name] = value
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                data += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            data = await self.reader.read()
        if headers.get("connection", "").lower() == "close":
            self._close()
        return status, headers, data

    def _close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def _take_csrf(self, html: bytes):
        m = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            rb'name="csrf-token" content="([^"]+)"', html)
        if m:
            self.csrf = m.group(1).decode()

    async def sign_in(self):
        status, _, html = await self.request("GET", "/login")
        self._take_csrf(html)
        status, headers, _ = await self.request("POST", "/login", {"csrf_token": self.csrf, "username": self.plan["user"],
                                                                    "password": PASSWORD})
        if status != 302:
            raise SystemExit(f"{self.plan['user']} could not sign in ({status})")
        status, _, html = await self.request("GET", "/tasks/")
        self._take_csrf(html)

    async def open_tasks(self):
        p = self.plan
        for kind, field, value in (("receive", "po", p["po_id"]), ("pick", "order", p["order_id"]),
                                   ("count", "session", p["count_session"])):
            status, headers, body = await self.request("POST", f"/tasks/{kind}", {
                "csrf_token": self.csrf, field: str(value), "scan_id": secrets.token_hex(16)}, htmx=True)
            where = headers.get("hx-redirect")
            if not where:
                raise SystemExit(f"{p['user']}: starting {kind} gave {status}: {body[:300]!r}")
            self.tasks[kind] = where
        # The count starts at its bin; the picker goes where the screen says, as an operator does.
        status, _, body = await self.scan(self.tasks["count"] + "/scan", p["count_bin"])
        if status != 200:
            raise SystemExit(f"{p['user']}: scanning bin {p['count_bin']} to count gave {status}: {body[:300]!r}")
        status, _, body = await self.request("GET", self.tasks["pick"], htmx=True)
        self.follow(body)

    def follow(self, panel: bytes) -> None:
        """Read the pick screen's step: a bin to go to comes before the next item."""
        m = GO_TO_BIN.search(panel)
        self.pick_bin = m.group(1).decode() if m else None

    async def scan(self, path: str, code: str, scan_id: str | None = None):
        return await self.request("POST", path, {"code": code, "scan_id": scan_id or secrets.token_hex(16),
                                                 "csrf_token": self.csrf}, htmx=True)

    def step(self, what: str) -> tuple[str, str]:
        p = self.plan
        if what == "lookup_item":
            return "/lookup", p["ean"]
        if what == "lookup_bin":
            return "/lookup", p["pick_bin"]
        if what == "pick" and self.pick_bin:
            return self.tasks[what] + "/scan", self.pick_bin
        return self.tasks[what] + "/scan", p["ean"]


async def run_load(host: str, port: int, plans: list[dict], seconds: float, warmup: float, cpu_pids: set[int],
                   pace: float = 0.0, cycle: tuple[str, ...] = CYCLE):
    hands = [Handheld(host, port, p) for p in plans]
    await asyncio.gather(*(h.sign_in() for h in hands))
    await asyncio.gather(*(h.open_tasks() for h in hands))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counts = {"scans": 0}
    phase = {"measuring": False}
    stop_at = time.monotonic() + warmup + seconds

    async def loop(h: Handheld, offset: int):
        n = offset
        rng = random.Random(offset)
        if pace:
            await asyncio.sleep(rng.uniform(0, pace))  # handhelds do not all scan on the same tick
        while time.monotonic() < stop_at:
            path, code = h.step(cycle[n % len(cycle)])
            n += 1
            t0 = time.perf_counter()
            try:
                status, _, body = await h.scan(path, code)
            except (OSError, asyncio.IncompleteReadError) as exc:
                status, body = 0, repr(exc).encode()
            took = time.perf_counter() - t0
            if path == h.tasks.get("pick"):
                h.follow(body)
            if pace:
                await asyncio.sleep(max(0.0, rng.uniform(0.5 * pace, 1.5 * pace) - took))
            if not phase["measuring"]:
                continue
            counts["scans"] += 1
            latencies.append(took)
            if status != 200:
                key = f"{status} {cycle[(n - 1) % len(cycle)]}"
                errors[key] = errors.get(key, 0) + 1
                if errors[key] == 1:
                    print(f"error {key}: {body[:400]!r}", file=sys.stderr)

    async def measure():
        await asyncio.sleep(warmup)
        phase["measuring"] = True
        cpu0, t0, own0 = cpu_seconds(cpu_pids), time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        phase["measuring"] = False
        counts["client_cpu"] = time.process_time() - own0
        return cpu_seconds(cpu_pids) - cpu0, time.monotonic() - t0

    runners = [asyncio.create_task(loop(h, i)) for i, h in enumerate(hands)]
    cpu, elapsed = await measure()
    await asyncio.gather(*runners)
    for h in hands:
        h._close()
    return latencies, errors, counts["scans"], cpu, elapsed, counts["client_cpu"]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--handhelds", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="mix",
                    help="mix: receive, pick, count and look up in turn (default); or one kind of scan only")
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: as make run)")
    ap.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker (default: as make run)")
    ap.add_argument("--pace", type=float, default=0.0,
                    help="seconds between one handheld's scans, on average (default 0: as fast as answers come)")
    ap.add_argument("--hosts", type=int, default=0,
                    help="N app hosts behind nginx (PostgreSQL only; default: one gunicorn on a port, as make run)")
    ap.add_argument("--channels", type=int, default=0,
                    help="N sales channels selling from MAIN with a webhook (a receiver in this process answering "
                         "200): every scan that changes S writes to the outbox and the workers deliver")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (database, server log)")
    args = ap.parse_args(argv)
    if not 1 <= args.handhelds <= 250:
        ap.error("--handhelds is 1 to 250")
    if not 1 <= args.seconds <= 600:
        ap.error("--seconds is 1 to 600: the bench is bounded")
    if not 0 <= args.pace <= 60:
        ap.error("--pace is 0 to 60 seconds")
    workers = args.workers or int(os.environ.get("WORKERS", "4"))
    if args.hosts and args.db != "postgres":
        ap.error("--hosts needs --db postgres: hosts share one database server")

    tmp = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    instance = tmp / "instance"
    instance.mkdir()
    pg = None
    try:
        if args.db == "postgres":
            from tests.pg import PostgresServer

            pg = PostgresServer().start()
            database_url = pg.create_database("bench")
        else:
            database_url = f"sqlite:///{instance / 'warehouse.db'}"
        t0 = time.monotonic()
        plans = prepare_site(database_url, instance, args.handhelds)
        receiver = _webhook_sink(database_url, instance, args.channels) if args.channels else None
        print(f"site ready in {time.monotonic() - t0:.1f} s; {args.handhelds} handhelds", file=sys.stderr)
        hosts, nginx = [], None
        if args.hosts:
            from tests.hosts import Host, Nginx, socket_url, why_not

            why = why_not()
            if why:
                raise SystemExit(f"--hosts: {why}")
            secret = os.urandom(32).hex()
            hosts = [Host(chr(97 + n), socket_url(pg, "bench"), secret, tmp, workers=workers,
                          env={"API_REQUESTS_PER_MINUTE": "1000000"}) for n in range(args.hosts)]
            for h in hosts:
                h.wait()
            nginx = Nginx(hosts, tmp)
            nginx.wait()
            port, cpu_pids = nginx.port, {h.pid for h in hosts} | {nginx.pid}
        else:
            port = free_port()
            server = start_gunicorn(database_url, instance, workers, args.threads, port)
            cpu_pids = {server.pid}
        if pg is not None:
            cpu_pids |= {int(open(os.path.join(pg.data, "postmaster.pid")).readline())}
        try:
            latencies, errors, scans, cpu, elapsed, client_cpu = asyncio.run(
                run_load("127.0.0.1", port, plans, args.seconds, args.warmup, cpu_pids, args.pace, SHAPES[args.shape]))
        finally:
            if nginx is not None:
                nginx.close()
            for h in hosts:
                h.close()
            if not hosts:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(30)
        check = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "check-ledger"], cwd=ROOT,
                               env={**os.environ, "DATABASE_URL": database_url, "WH_INSTANCE_PATH": str(instance)},
                               capture_output=True, text=True)
        summary = {
            "db": args.db,
            "shape": args.shape,
            "handhelds": args.handhelds,
            "hosts": args.hosts or 1,
            "workers": workers,
            "threads": args.threads or 1,
            "pace_s": args.pace,
            "seconds": round(elapsed, 2),
            "scans": scans,
            "scans_per_s": round(scans / elapsed, 1),
            "p50_ms": round(pct(latencies, 50) * 1000, 1),
            "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "p99_ms": round(pct(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
            "channels": args.channels,
            "webhooks_received": receiver.count if receiver is not None else 0,
            "errors": sum(errors.values()),
            "error_kinds": errors,
            "server_cpu_s": round(cpu, 2),
            "server_cpu_ms_per_scan": round(cpu / scans * 1000, 2) if scans else None,
            # The simulated handhelds share the machine's two cores with the server.
            "client_cpu_ms_per_scan": round(client_cpu / scans * 1000, 2) if scans else None,
            "check_ledger": check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr[-200:],
        }
        print(json.dumps(summary))
        return 0 if not errors else 1
    finally:
        if pg is not None:
            pg.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
