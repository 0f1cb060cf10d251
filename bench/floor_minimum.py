"""The fastest a receiving scan can be on this stack: the ceiling that bench/scans.py is measured against.

    python bench/floor_minimum.py [--handhelds 32] [--seconds 10] [--shape least|receive]
                                  [--workers 4] [--threads N]

It serves a stripped-down scan endpoint under gunicorn with the same worker
settings as `make run`, and loads it with the handhelds of bench/scans.py (the
same HTTP client: one connection each, a form POST with a new scan id, the
CSRF token and HX-Request, waiting for each answer). Nothing of the app's
Python runs per scan except the scan parser. What is left is what a scan
cannot do without on the required stack:

  Flask, a Flask-Login session (one user read), Flask-WTF's CSRF check,
  `scanners.parse`, sqlite3 straight from the standard library (no ORM, no
  SQLAlchemy), one transaction, a Jinja screen.

Two shapes:

  least    the least a scan can be and still be one: the task and the
           barcode read, BEGIN IMMEDIATE, a replay check, one movement
           inserted, one balance and one receipt line updated, the scan
           logged, COMMIT, a small screen (about 1 KB).
  receive  a receiving scan as the app runs it: the same 32 statements
           against the app's own database (built as bench/scans.py builds
           it, so the tables, indexes and CHECK guards are the real ones),
           the same ledger rows (movement with its deltas and the buckets
           after it, balance, bin stock, PO line, task line, scan log), and
           the app's own task screen template drawn from plain rows.

The app's `check-ledger` runs at the end: the receive shape's writes must
keep the ledger exact, which shows it does the whole work of a scan.

Prints one JSON summary in the format of bench/scans.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# -------------------------------------------------------------------------------------------
# The server side: a Flask app with only what a scan cannot do without
# -------------------------------------------------------------------------------------------

_local = threading.local()


def _conn() -> sqlite3.Connection:
    c = getattr(_local, "conn", None)
    where = (os.getpid(), os.environ["FLOOR_DB"])
    if c is None or getattr(_local, "where", None) != where:
        # The same connection settings as the app's engine on SQLite.
        c = sqlite3.connect(where[1], isolation_level=None, timeout=30, check_same_thread=False)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=ON")
        c.row_factory = sqlite3.Row
        _local.conn, _local.where = c, where
    return c


def _now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


LEAST_SCREEN = """<section id="task-panel" class="task-panel" data-feedback="ok" data-message="{{ message }}">
<p class="step" data-step>Scan an item</p><p class="flash ok">{{ message }}</p>
<form method="post" action="/floor/{{ task_id }}/scan" class="actions" data-actions>
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<table class="lines"><thead><tr><th>Item</th><th>Exp</th><th>Rcv</th></tr></thead><tbody>
{% for ln in lines %}<tr><td>{{ ln.sku }} {{ ln.name }}</td><td>{{ ln.expected }}</td><td class="big">{{ ln.done }}</td></tr>
{% endfor %}</tbody></table>
<div class="bottom-actions"><button name="action" value="close" data-action class="wide">Close receipt</button></div>
</form></section>"""


def create_app():
    from flask import Blueprint, Flask, render_template, request
    from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
    from flask_wtf.csrf import CSRFProtect, generate_csrf

    from scanners import Rules, parse

    app = Flask(__name__, template_folder=str(ROOT / "templates"))
    app.config["SECRET_KEY"] = os.environ.get("FLOOR_SECRET", "floor-minimum-bench")
    CSRFProtect(app)
    # The app's screens are translated (Flask-Babel): the ceiling pays for the same gettext calls.
    from flask_babel import Babel

    Babel(app, locale_selector=lambda: "en")
    login = LoginManager(app)
    least_screen = app.jinja_env.from_string(LEAST_SCREEN)
    rules = Rules()

    class SignedIn(UserMixin):
        def __init__(self, row):
            self.id, self.username, self.role = row["id"], row["username"], row["role"]

    @login.user_loader
    def load_user(user_id):
        row = _conn().execute("SELECT id, username, role, active FROM users WHERE id = ?", (int(user_id),)).fetchone()
        return SignedIn(row) if row and row["active"] else None

    @app.get("/floor-login/<username>")
    def sign_in(username):
        row = _conn().execute("SELECT id, username, role, active FROM users WHERE username = ?", (username,)).fetchone()
        login_user(SignedIn(row))
        return generate_csrf()

    # The app's screen links to these; the bench only needs their URLs.
    tasks = Blueprint("tasks", __name__)
    tasks.add_url_rule("/floor/<int:task_id>/photo", "photo", lambda task_id: "")
    tasks.add_url_rule("/floor/", "index", lambda: "")

    @tasks.post("/floor/<int:task_id>/scan")
    @login_required
    def scan(task_id):
        code = request.form.get("code", "").strip()
        scan_id = request.form.get("scan_id", "")[:64]
        if not code or not scan_id:
            return "Nothing was scanned.", 422
        parsed = parse(code, rules)
        if app.config["SHAPE"] == "least":
            return _least(task_id, parsed, scan_id, code)
        return _receive(task_id, parsed, scan_id, code)

    def _least(task_id, parsed, scan_id, code):
        c = _conn()
        task = c.execute("SELECT id, warehouse_id, purchase_order_id FROM tasks WHERE id = ?", (task_id,)).fetchone()
        item_id = c.execute("SELECT item_id FROM barcodes WHERE code IN (?, ?)", (parsed.gtin, parsed.gtin[1:])
                            ).fetchone()[0]
        c.execute("BEGIN IMMEDIATE")
        try:
            if c.execute("SELECT 1 FROM scan_log WHERE scan_id = ?", (scan_id,)).fetchone():
                c.execute("ROLLBACK")
                return "", 200
            # The least ledger row: not the app's full movement (see the receive shape), so the
            # least shape's database is not one for check-ledger.
            c.execute("INSERT INTO movements (scan_id, kind, warehouse_id, item_id, lot, qty, to_bin_id, to_condition,"
                      " d_i, d_s, d_o, d_u, d_l, d_v, d_t, d_a, dest_d_a, after, s_after, created_at)"
                      " VALUES (?, 'receive', ?, ?, '', 1, NULL, 'sellable', 1, 1, 0, 0, 0, 0, 0, 0, 0, '{}', 0, ?)",
                      (scan_id, task["warehouse_id"], item_id, _now()))
            c.execute("UPDATE balances SET i = i + 1, s = s + 1 WHERE warehouse_id = ? AND item_id = ?",
                      (task["warehouse_id"], item_id))
            c.execute("UPDATE task_lines SET done = done + 1 WHERE task_id = ? AND item_id = ?", (task_id, item_id))
            c.execute("INSERT INTO scan_log (scan_id, user_id, warehouse_id, screen, text, kind, outcome, message,"
                      " device, received_at, task_id) VALUES (?, ?, ?, 'receive', ?, 'scan', 'ok', '+1', 'bench', ?, ?)",
                      (scan_id, current_user.id, task["warehouse_id"], code, _now(), task_id))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        lines = c.execute("SELECT i.sku, i.name, l.expected, l.done FROM task_lines l JOIN items i ON i.id = l.item_id"
                          " WHERE l.task_id = ? ORDER BY l.seq", (task_id,)).fetchall()
        return least_screen.render(task_id=task_id, lines=lines, message=f"+1 × {code}")

    def _receive(task_id, parsed, scan_id, code):
        """The statements of the app's receiving scan, in its order, straight to sqlite3."""
        c = _conn()
        user_id = current_user.id
        task = c.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        wh = c.execute("SELECT * FROM warehouses WHERE id = ?", (task["warehouse_id"],)).fetchone()
        c.execute("BEGIN IMMEDIATE")
        try:
            task = c.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
            prior = c.execute("SELECT outcome, message FROM scan_log WHERE scan_id = ?", (scan_id,)).fetchone()
            if prior is not None:
                c.execute("ROLLBACK")
                return prior["message"], 200
            c.execute("SAVEPOINT scan")
            barcode = c.execute("SELECT * FROM barcodes WHERE code IN (?, ?) ORDER BY id",
                                (parsed.gtin, parsed.gtin[1:])).fetchone()
            item = c.execute("SELECT * FROM items WHERE id = ?", (barcode["item_id"],)).fetchone()
            lines = c.execute("SELECT * FROM task_lines WHERE task_id = ? ORDER BY seq", (task_id,)).fetchall()
            po = c.execute("SELECT * FROM purchase_orders WHERE id = ?", (task["purchase_order_id"],)).fetchone()
            line = next(ln for ln in lines if ln["item_id"] == item["id"])
            po_line = c.execute("SELECT * FROM purchase_order_lines WHERE id = ?", (line["po_line_id"],)).fetchone()
            c.execute("SELECT * FROM warehouses WHERE id = ?", (wh["id"],)).fetchone()
            dock = c.execute("SELECT * FROM bins WHERE warehouse_id = ? AND type = 'dock' ORDER BY walk_order, code",
                             (wh["id"],)).fetchone()
            c.execute("SELECT id, code FROM warehouses WHERE code = ?", (wh["code"],)).fetchone()
            c.execute("SELECT id, sku FROM items WHERE sku = ?", (item["sku"],)).fetchone()
            c.execute("SELECT id, code FROM bins WHERE warehouse_id = ? AND code = ?", (wh["id"], dock["code"])).fetchone()
            bal = c.execute("SELECT i, s, o, u, l, v, t, a FROM balances WHERE warehouse_id = ? AND item_id = ?",
                            (wh["id"], item["id"])).fetchone()
            c.execute("SELECT id FROM movements WHERE scan_id = ?", (scan_id,)).fetchone()
            qty = barcode["pack_qty"]
            after = {b.upper(): bal[b] for b in "isoulvta"}
            after["I"] += qty
            after["S"] += qty
            row = {
                "scan_id": scan_id, "kind": "receive", "warehouse_id": wh["id"], "item_id": item["id"], "lot": "",
                "qty": qty, "from_bin_id": None, "from_condition": None, "to_bin_id": dock["id"],
                "to_condition": "sellable", "dest_warehouse_id": None, "dest_d_a": 0, "after": json.dumps(after),
                "s_after": after["S"], "doc_type": "po", "doc_id": po["id"], "reason": f"received on {po['number']}",
                "user_id": user_id, "device": "bench", "d_i": qty, "d_s": qty, "d_o": 0, "d_u": 0, "d_l": 0,
                "d_v": 0, "d_t": 0, "d_a": 0, "created_at": _now(),
            }
            c.execute(f"INSERT INTO movements ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) RETURNING id",
                      tuple(row.values())).fetchone()
            c.execute("UPDATE balances SET i = i + ?, s = s + ? WHERE warehouse_id = ? AND item_id = ?",
                      (qty, qty, wh["id"], item["id"]))
            c.execute("INSERT INTO bin_stock (bin_id, item_id, lot, condition, qty) VALUES (?, ?, '', 'sellable', ?)"
                      " ON CONFLICT (bin_id, item_id, lot, condition) DO UPDATE SET qty = bin_stock.qty + excluded.qty",
                      (dock["id"], item["id"], qty))
            c.execute("UPDATE purchase_order_lines SET received = ? WHERE id = ?", (po_line["received"] + qty, po_line["id"]))
            done = line["done"] + qty
            c.execute("UPDATE task_lines SET done = ? WHERE id = ?", (done, line["id"]))
            c.execute("RELEASE SAVEPOINT scan")
            message = f"+{qty} × {item['name']} → {dock['code']} · {done + line['damaged']} of {line['expected']}"
            now = _now()
            c.execute("INSERT INTO scan_log (scan_id, user_id, warehouse_id, screen, text, kind, outcome, message, device,"
                      " received_at, task_id) VALUES (?, ?, ?, 'receive', ?, 'scan', 'ok', ?, 'bench', ?, ?) RETURNING id",
                      (scan_id, user_id, wh["id"], code, message, now, task_id)).fetchone()
            c.execute("UPDATE tasks SET updated_at = ? WHERE id = ?", (now, task_id))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        scans = c.execute("SELECT id, scan_id, text, kind, outcome, message FROM scan_log WHERE task_id = ?"
                          " ORDER BY id DESC LIMIT 10", (task_id,)).fetchall()
        lines = c.execute("SELECT * FROM task_lines WHERE task_id = ? ORDER BY seq", (task_id,)).fetchall()
        creator = c.execute("SELECT id, username FROM users WHERE id = ?", (task["created_by"],)).fetchone()
        items = {r["id"]: r for r in c.execute(
            "SELECT * FROM items WHERE id IN (SELECT item_id FROM task_lines WHERE task_id = ?)", (task_id,))}
        # The app's own screen, drawn from plain rows.
        ns_lines = [SimpleNamespace(**dict(ln), item=SimpleNamespace(**dict(items[ln["item_id"]]))) for ln in lines]
        ns_task = SimpleNamespace(
            id=task_id, kind="receive", status="open", number=f"T{task_id}", lines=ns_lines,
            warehouse=SimpleNamespace(code=wh["code"]), creator=SimpleNamespace(**dict(creator)),
            updater=SimpleNamespace(id=user_id, username=current_user.username),
            purchase_order=SimpleNamespace(number=po["number"], kind=po["kind"], supplier=po["supplier"]),
        )
        summary = [{"sku": ln.item.sku, "name": ln.item.name, "lot": ln.lot, "expected": ln.expected,
                    "received": ln.done, "damaged": ln.damaged, "difference": ln.done + ln.damaged - ln.expected,
                    "listed": ln.po_line_id is not None} for ln in ns_lines]
        return render_template("tasks/partials/task-panel.html", task=ns_task, title="Receiving", step="Scan an item",
                               outcome=SimpleNamespace(outcome="ok", message=message), scans=scans,
                               state={"last": line["id"]}, summary=summary)

    app.register_blueprint(tasks)
    app.config["SHAPE"] = os.environ.get("FLOOR_SHAPE", "receive")
    return app


# -------------------------------------------------------------------------------------------
# The bench
# -------------------------------------------------------------------------------------------


def prepare(database_url: str, instance: Path, handhelds: int) -> list[dict]:
    """The site of bench/scans.py, and a receipt open for each handheld's purchase order."""
    from bench.scans import prepare_site

    plans = prepare_site(database_url, instance, handhelds)
    from sqlalchemy import select

    from app import create_app as create_real_app
    from app.extensions import db
    from app.models import PurchaseOrder, User, Warehouse
    from app.services import receiving
    from app.services.uow import UnitOfWork

    app = create_real_app()
    with app.app_context():
        with UnitOfWork() as uow:
            s = uow.session
            main = s.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
            for p in plans:
                user = s.execute(select(User).where(User.username == p["user"])).scalar_one()
                p["task"] = receiving.start(s, main, user, s.get(PurchaseOrder, p["po_id"])).id
            uow.commit()
        db.engine.dispose()
    return plans


async def run_load(port: int, plans: list[dict], seconds: float, warmup: float, server_pid: int):
    from bench.scans import Handheld, cpu_seconds

    hands = [Handheld("127.0.0.1", port, p) for p in plans]
    for h in hands:
        _, _, body = await h.request("GET", f"/floor-login/{h.plan['user']}")
        h.csrf = body.decode()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    phase = {"measuring": False}
    stop_at = time.monotonic() + warmup + seconds

    async def loop(h):
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                status, _, body = await h.scan(f"/floor/{h.plan['task']}/scan", h.plan["ean"])
            except (OSError, asyncio.IncompleteReadError) as exc:
                status, body = 0, repr(exc).encode()
            if phase["measuring"]:
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    if errors[str(status)] == 1:
                        print(f"error {status}: {body[:400]!r}", file=sys.stderr)

    runners = [asyncio.create_task(loop(h)) for h in hands]
    await asyncio.sleep(warmup)
    phase["measuring"] = True
    cpu0, t0, own0 = cpu_seconds({server_pid}), time.monotonic(), time.process_time()
    await asyncio.sleep(seconds)
    phase["measuring"] = False
    cpu, elapsed, own = cpu_seconds({server_pid}) - cpu0, time.monotonic() - t0, time.process_time() - own0
    await asyncio.gather(*runners)
    for h in hands:
        h._close()
    return latencies, errors, cpu, elapsed, own


def main(argv=None) -> int:
    from bench.scans import free_port, pct

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--handhelds", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--shape", choices=("least", "receive"), default="receive")
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: as make run)")
    ap.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker")
    args = ap.parse_args(argv)
    if not 1 <= args.handhelds <= 250:
        ap.error("--handhelds is 1 to 250")
    if not 1 <= args.seconds <= 600:
        ap.error("--seconds is 1 to 600: the bench is bounded")
    workers = args.workers or int(os.environ.get("WORKERS", "4"))

    tmp = Path(tempfile.mkdtemp(prefix="wh-floor-"))
    instance = tmp / "instance"
    instance.mkdir()
    db_path = instance / "warehouse.db"
    database_url = f"sqlite:///{db_path}"
    try:
        plans = prepare(database_url, instance, args.handhelds)
        port = free_port()
        env = {**os.environ, "FLOOR_DB": str(db_path), "FLOOR_SHAPE": args.shape,
               "FLOOR_SECRET": secrets.token_hex(16)}
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", "--access-logfile", str(instance / "access.log")]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        cmd.append("bench.floor_minimum:create_app()")
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(instance / "server.log", "wb"), start_new_session=True)
        try:
            import urllib.request

            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/floor/", timeout=1).read()
                    break
                except OSError:
                    if server.poll() is not None or time.time() > deadline:
                        raise SystemExit(f"the server did not start; see {instance / 'server.log'}") from None
                    time.sleep(0.1)
            latencies, errors, cpu, elapsed, client_cpu = asyncio.run(
                run_load(port, plans, args.seconds, args.warmup, server.pid))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        check = "not run: the least shape does not write the app's whole ledger rows"
        if args.shape == "receive":
            out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "check-ledger"], cwd=ROOT,
                                 env={**os.environ, "DATABASE_URL": database_url, "WH_INSTANCE_PATH": str(instance)},
                                 capture_output=True, text=True)
            check = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-200:]
        n = len(latencies)
        print(json.dumps({
            "shape": args.shape, "handhelds": args.handhelds, "workers": workers, "threads": args.threads or 1,
            "seconds": round(elapsed, 2), "scans": n, "scans_per_s": round(n / elapsed, 1),
            "p50_ms": round(pct(latencies, 50) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "p99_ms": round(pct(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
            "errors": sum(errors.values()), "error_kinds": errors,
            "server_cpu_ms_per_scan": round(cpu / n * 1000, 2) if n else None,
            "client_cpu_ms_per_scan": round(client_cpu / n * 1000, 2) if n else None,
            "check_ledger": check,
        }))
        return 0 if not errors else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
