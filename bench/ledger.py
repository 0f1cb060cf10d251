"""The ledger at scale: a site with a million movements, then how long the screens and checks take.

    python bench/ledger.py [--movements 1000000] [--db sqlite|postgres] [--repeat 30] [--keep]

It loads the demo site into a new database, then writes movements until the
ledger holds --movements rows: a year of floor work on 250 items (receive at
the dock, put away, reserve, pick to staging, ship; now and then damage and
scrap). Every row's bucket deltas come from the stock rules themselves
(app.domain.stock.decide) against the balance it meets, so the result is a
ledger check-ledger must find exact; balances and bins are then written as
the replay leaves them. Rows are written in bulk, not through the scan path:
this measures reading a big ledger, not writing one (bench/scans.py does that).

Then, with the Flask app in this process (server time: from the request
entering the app to the response leaving it):
  lookup_scan   POST /lookup of an item barcode, as the handheld sends it
  lookup_get    GET /lookup?code=..., the same without the scan log
  ledger_page   the supervisor's ledger screen, first page and a page deep in the past
  ledger_sku    the ledger filtered to one item
  kpis          the KPI screen
  plan, plan_item, plan_csv, valuation (now, 90 days ago, a year's trend), ageing, losses (8 and
                52 weeks): the planning and analytics screens over the whole ledger
and check-ledger and `flask plan` as separate processes (wall time; check-ledger's peak memory).
Receipts are valued at a cost around their item's, everything else at the average it meets, as
the writer does (domain.valuation), so check-ledger checks the values too.
Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 20_000


def build(url: str, instance: Path, target: int, seed: int = 11) -> dict:
    os.environ["DATABASE_URL"] = url
    os.environ["WH_INSTANCE_PATH"] = str(instance)
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "ensure-demo"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from sqlalchemy import func, insert, select, update

    from app import create_app
    from app.domain import stock as d
    from app.domain import valuation as v
    from app.extensions import db
    from app.models import Balance, Bin, BinStock, Item, Movement, User, Warehouse

    app = create_app()
    rng = random.Random(seed)
    with app.app_context():
        s = db.session
        main = s.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
        have = s.execute(select(func.count()).select_from(Movement)).scalar()
        users = s.execute(select(User.id).where(User.role == "operator")).scalars().all() or [1]
        bins = {b.code: b.id for b in s.execute(select(Bin).where(Bin.warehouse_id == main.id)).scalars()}
        storage = [c for c in bins if re.fullmatch(r"[A-F]-\d\d-\d", c)]
        items = s.execute(select(Item.id).order_by(Item.id).limit(250)).scalars().all()
        balances, pools = {}, {}
        for row in s.execute(select(Balance).where(Balance.warehouse_id == main.id)).scalars():
            balances[row.item_id] = d.Buckets(row.i, row.s, row.o, row.u, row.l, row.v, row.t, row.a)
            pools[row.item_id] = v.Pool(row.i + row.a, row.value_e4)
        costs = {i: v.to_e4(c) or 10_000 for i, c in s.execute(select(Item.id, Item.unit_cost))}
        stock: dict[tuple[int, int, str, str], int] = {}
        for row in s.execute(select(BinStock).join(Bin).where(Bin.warehouse_id == main.id)).scalars():
            stock[(row.bin_id, row.item_id, row.lot, row.condition)] = row.qty
        home = {item: bins[storage[n % len(storage)]] for n, item in enumerate(items)}
        dock, stage, quar = bins["DOCK-01"], bins["STAGE-01"], bins["QUAR-01"]
        todo = max(0, target - have)
        start = datetime.now() - timedelta(days=365)
        step = timedelta(days=365) / max(1, todo)
        rows: list[dict] = []
        n = 0
        table = Movement.__table__

        def emit(kind: d.Kind, item: int, qty: int, frm=None, to=None, from_cond=None, to_cond=None):
            nonlocal n
            before = balances.get(item, d.ZERO)
            held = stock.get((frm, item, "", from_cond or "sellable"), 0) if frm else None
            cond = d.Condition(from_cond) if from_cond else d.Condition.SELLABLE
            req = d.Request(kind, qty, condition=cond, damaged=to_cond == "damaged", held=held)
            deltas = d.decide(before, req).deltas
            after = before + deltas
            balances[item] = after
            # Valued as the writer values it: a receipt at a cost around the item's, the rest at the average.
            pool = pools.get(item, v.Pool())
            cost = costs[item] * rng.randint(90, 110) // 100 if kind == d.Kind.RECEIVE else None
            dq = deltas.i + deltas.a
            value = v.flow(pool, dq, cost, receipt=kind == d.Kind.RECEIVE)
            # The unit cost the movement names, as the writer's (services.stock._valued): a receipt its
            # own, no unit moved the average it met, units out the average they went at.
            if kind == d.Kind.RECEIVE:
                named = cost
            else:
                named = pool.avg_e4 if not dq else (None if dq > 0 and pool.qty <= 0 else v.unit_cost_of(dq, value))
            pools[item] = pool + (dq, value)
            if frm:
                stock[(frm, item, "", from_cond or "sellable")] -= qty
            if to:
                key = (to, item, "", to_cond or "sellable")
                stock[key] = stock.get(key, 0) + qty
            when = start + step * n
            rows.append({
                "scan_id": f"bench{n:011d}", "kind": kind.value, "warehouse_id": main.id, "item_id": item, "lot": "",
                "qty": qty, "from_bin_id": frm, "from_condition": from_cond if frm else None, "to_bin_id": to,
                "to_condition": to_cond if to else None,
                **{f"d_{b}": getattr(deltas, b) for b in d.BUCKETS},
                "dest_warehouse_id": None, "dest_d_a": 0, "after": json.dumps(after.as_dict(upper=True)),
                "s_after": after.s, "user_id": users[n % len(users)], "device": "bench", "created_at": when,
                "value_e4": value, "unit_cost_e4": named,
            })
            n += 1
            if len(rows) >= BATCH:
                flush()

        def flush():
            if rows:
                with db.engine.begin() as conn:
                    conn.execute(insert(table), rows)
                rows.clear()

        t0 = time.monotonic()
        while n < todo:
            item = rng.choice(items)
            q = rng.randint(2, 12)
            emit(d.Kind.RECEIVE, item, q, to=dock, to_cond="sellable")
            emit(d.Kind.MOVE, item, q, frm=dock, to=home[item], from_cond="sellable", to_cond="sellable")
            out = rng.randint(1, q)
            emit(d.Kind.RESERVE, item, out)
            emit(d.Kind.PICK, item, out, frm=home[item], to=stage, from_cond="sellable", to_cond="sellable")
            emit(d.Kind.SHIP, item, out, frm=stage, from_cond="sellable")
            if rng.random() < 0.1 and stock.get((home[item], item, "", "sellable"), 0) > 0 and balances[item].s > 0:
                emit(d.Kind.DAMAGE, item, 1, frm=home[item], to=quar, from_cond="sellable", to_cond="damaged")
                emit(d.Kind.SCRAP, item, 1, frm=quar, from_cond="damaged")
        flush()
        wrote = time.monotonic() - t0
        # Balances and bins as the replay leaves them.
        with db.engine.begin() as conn:
            for item, b in balances.items():
                values = {**{k: getattr(b, k) for k in d.BUCKETS}, "value_e4": pools.get(item, v.Pool()).value}
                res = conn.execute(update(Balance).where(Balance.warehouse_id == main.id, Balance.item_id == item)
                                   .values(**values))
                if res.rowcount == 0:
                    conn.execute(insert(Balance).values(warehouse_id=main.id, item_id=item, **values))
            for (bin_id, item, lot, cond), qty in stock.items():
                res = conn.execute(update(BinStock).where(BinStock.bin_id == bin_id, BinStock.item_id == item,
                                                          BinStock.lot == lot, BinStock.condition == cond)
                                   .values(qty=qty))
                if res.rowcount == 0 and qty:
                    conn.execute(insert(BinStock).values(bin_id=bin_id, item_id=item, lot=lot, condition=cond, qty=qty))
            if db.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("ANALYZE")
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        db.session.rollback()  # a new snapshot: the rows were written on other connections
        total = db.session.execute(select(func.count()).select_from(Movement)).scalar()
        db.session.remove()
        db.engine.dispose()
    return {"movements": total, "written": n, "write_s": round(wrote, 1)}


def timed(client, method: str, path: str, repeat: int, make=dict) -> dict:
    """Time in the app per request; `make` gives each request's keyword arguments (a new scan id each)."""
    times, status = [], None
    for _ in range(repeat):
        kwargs = make()
        t0 = time.perf_counter()
        r = client.open(path, method=method, **kwargs)
        r.get_data()  # a streamed answer (a CSV) is timed to its last byte
        times.append((time.perf_counter() - t0) * 1000)
        status = r.status_code
        r.close()
        if status >= 400 and status != 404:
            raise SystemExit(f"{method} {path} gave {status}: {r.get_data(as_text=True)[:300]}")
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_ms": round(times[-1], 2), "status": status}


def measure(url: str, instance: Path, repeat: int) -> dict:
    import secrets

    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Barcode, Item, Movement

    app = create_app({"WTF_CSRF_ENABLED": False})
    out = {}
    with app.app_context():
        # The demo's passwords are made at random for each site: the bench signs in with its own.
        from app.models import User

        for name in ("picker", "super"):
            db.session.execute(select(User).where(User.username == name)).scalar_one().set_password(name)
        db.session.commit()
        ean = db.session.execute(select(Barcode.code).where(Barcode.kind == "unit").order_by(Barcode.id)).scalars().first()
        sku = db.session.execute(select(Item.sku).order_by(Item.id)).scalars().first()
        mid = db.session.execute(select(Movement.id).order_by(Movement.id.desc())).scalars().first() // 2
        db.session.remove()
    operator, boss = app.test_client(), app.test_client()
    assert operator.post("/login", data={"username": "picker", "password": "picker"}).status_code == 302
    assert boss.post("/login", data={"username": "super", "password": "super"}).status_code == 302
    for c in (operator, boss):  # first requests warm the templates and the connection pool
        c.get("/lookup?code=" + ean)
        c.get("/office/ledger")
    hx = {"HX-Request": "true"}
    out["lookup_scan"] = timed(operator, "POST", "/lookup", repeat,
                               lambda: {"data": {"code": ean, "scan_id": secrets.token_hex(16)}, "headers": hx})
    out["lookup_get"] = timed(operator, "GET", f"/lookup?code={ean}", repeat, lambda: {"headers": hx})
    out["ledger_page"] = timed(boss, "GET", "/office/ledger", repeat)
    out["ledger_page_deep"] = timed(boss, "GET", f"/office/ledger?before={mid}", repeat)
    out["ledger_sku"] = timed(boss, "GET", f"/office/ledger?sku={sku}", repeat)
    out["kpis"] = timed(boss, "GET", "/office/kpis", max(5, repeat // 3))
    # The planning and analytics screens (issue 21), each over the whole year of movements.
    few = max(5, repeat // 3)
    with app.app_context():
        item_id = db.session.execute(select(Item.id).order_by(Item.id)).scalars().first()
        db.session.remove()
    past = (date.today() - timedelta(days=90)).isoformat()
    for name, path in (("plan", "/office/plan"), ("plan_item", f"/office/plan/item/{item_id}"),
                       ("valuation", "/office/valuation"), ("valuation_past", f"/office/valuation?as_of={past}"),
                       ("valuation_year", "/office/valuation?days=365"), ("ageing", "/office/ageing"),
                       ("losses", "/office/losses"), ("losses_year", "/office/losses?weeks=52"),
                       ("plan_csv", "/office/plan.csv")):
        out[name] = timed(boss, "GET", path, few)
    with app.app_context():
        db.engine.dispose()
    t0 = time.monotonic()
    plan = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "plan"], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url, "WH_INSTANCE_PATH": str(instance)},
                          capture_output=True, text=True)
    out["flask_plan"] = {"seconds": round(time.monotonic() - t0, 1), "exit": plan.returncode,
                         "result": (plan.stdout.strip().splitlines() or [plan.stderr[-300:]])[-1][:200]}

    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    check = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "check-ledger"], cwd=ROOT,
                           env={**os.environ, "DATABASE_URL": url, "WH_INSTANCE_PATH": str(instance)},
                           capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["check_ledger"] = {"seconds": round(time.monotonic() - t0, 1),
                           "peak_rss_mb": round(max(peak, before) / 1024, 1),
                           "result": (check.stdout.strip().splitlines() or [check.stderr[-300:]])[-1]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--movements", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    if not 1000 <= args.movements <= 5_000_000:
        ap.error("--movements is 1,000 to 5,000,000")
    tmp = Path(tempfile.mkdtemp(prefix="wh-ledger-"))
    instance = tmp / "instance"
    instance.mkdir()
    pg = None
    try:
        if args.db == "postgres":
            from tests.pg import PostgresServer

            pg = PostgresServer().start()
            url = pg.create_database("ledger")
        else:
            url = f"sqlite:///{instance / 'warehouse.db'}"
        built = build(url, instance, args.movements)
        print(f"built: {built}", file=sys.stderr)
        result = {"db": args.db, **built, **measure(url, instance, args.repeat)}
        print(json.dumps(result))
        return 0 if result["check_ledger"]["result"].endswith("ok") else 1
    finally:
        if pg is not None:
            pg.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
