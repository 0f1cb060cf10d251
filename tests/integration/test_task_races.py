"""Handhelds scanning into the same task at once, on SQLite and PostgreSQL: no scan lost, none doubled."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.extensions import db
from app.models import Movement, ScanLog, Task, TaskLine, User, Warehouse
from app.services import engine, picking
from app.services import orders as order_service
from app.services import tasks as task_service
from app.services.ledger import check_ledger
from app.services.uow import UnitOfWork
from scanners.parse import DEFAULT_RULES
from tests.builders import ean_for, make_site, make_user, receive


def _fire(app, n, send):
    start = threading.Barrier(n)

    def one(i):
        with app.app_context():
            start.wait()  # all at once, not one after another
            return send(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _pick_task(qty):
    make_site()
    user = make_user("op")
    receive(qty=qty, to_bin="A-01")
    order, _ = order_service.place_order("shop", "race", "W1", [order_service.OrderLineRequest("SKU-1", qty)])
    with UnitOfWork() as uow:
        task, _ = picking.start(uow.session, uow.session.get(Warehouse, 1), uow.session.get(User, user.id), [order["id"]])
        tid = task.id
        uow.commit()
    engine.handle(tid, task_service.ScanInput("bin-scan-0001", "A-01", user_id=user.id), DEFAULT_RULES)
    db.session.remove()
    return tid, user.id


def test_sixteen_scans_racing_for_a_line_of_ten_pick_exactly_ten(any_app):
    tid, uid = _pick_task(10)

    def pick(i):
        return engine.handle(tid, task_service.ScanInput(f"race-scan-{i:04d}", ean_for(1), user_id=uid),
                                   DEFAULT_RULES).outcome

    outcomes = _fire(any_app, 16, pick)
    assert outcomes.count("ok") == 10 and outcomes.count("error") == 6
    db.session.rollback()
    line = db.session.execute(select(TaskLine).where(TaskLine.task_id == tid)).scalar_one()
    assert (line.done, line.status) == (10, "done")
    assert db.session.get(Task, tid).status == "closed"
    assert db.session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "pick")).scalar() == 10
    assert db.session.execute(select(func.count()).select_from(ScanLog).where(ScanLog.task_id == tid)).scalar() == 17
    assert check_ledger(db.session) == []


def test_one_scan_resent_eight_times_at_once_picks_once(any_app):
    tid, uid = _pick_task(3)

    def resend(_):
        return engine.handle(tid, task_service.ScanInput("one-scan-0001", ean_for(1), user_id=uid),
                                   DEFAULT_RULES).outcome

    assert _fire(any_app, 8, resend) == ["ok"] * 8
    db.session.rollback()
    assert db.session.execute(select(TaskLine.done).where(TaskLine.task_id == tid)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(Movement).where(Movement.kind == "pick")).scalar() == 1
    assert check_ledger(db.session) == []


# ------------------------------------------------------------------ counts and locks


def _count_setup(n_users):
    from app.services import counting

    make_site()
    users = [make_user(f"c{i}") for i in range(n_users)]
    boss = make_user("boss", role="supervisor")
    receive(qty=10, to_bin="A-01")
    with UnitOfWork() as uow:
        s = uow.session
        cs, _ = counting.create_session(s, s.get(Warehouse, 1), s.get(User, boss.id), "bins", "A-01",
                                        threshold_qty=0, threshold_value="0")
        tasks = [counting.start_task(s, cs.warehouse, s.get(User, u.id), cs).id for u in users]
        sid = cs.id
        uow.commit()
    db.session.remove()
    return sid, tasks, [u.id for u in users], boss.id


def test_eight_counters_scanning_one_bin_at_once_leave_exactly_one_counting_it(any_app):
    from app.models import CountBin

    sid, tasks, uids, _ = _count_setup(8)

    def claim(i):
        return engine.handle(tasks[i], task_service.ScanInput(f"claim-{i:04d}", "A-01", user_id=uids[i]),
                                   DEFAULT_RULES).outcome

    outcomes = _fire(any_app, 8, claim)
    assert outcomes.count("ok") == 1 and outcomes.count("error") == 7
    db.session.rollback()
    cb = db.session.execute(select(CountBin).where(CountBin.session_id == sid)).scalar_one()
    assert cb.status == "counting" and cb.counter_id in uids
    assert len(cb.lines) == 1  # one snapshot of the bin, not one per claimant


def test_a_variance_approved_from_two_screens_at_once_adjusts_once(any_app):
    from app.models import CountLine
    from app.services import counting

    _, tasks, uids, boss = _count_setup(2)
    steps = [(0, "A-01", ""), (0, ean_for(1), "7"), (0, "", "close"), (1, "A-01", ""), (1, ean_for(1), "7"), (1, "", "close")]
    for n, (who, code, extra) in enumerate(steps):
        inp = task_service.ScanInput(f"step-{n:03d}", code, user_id=uids[who])
        if code == "":
            inp.action = extra
        elif extra:
            inp.qty = extra
        assert engine.handle(tasks[who], inp, DEFAULT_RULES).outcome in ("ok", "warn")
    db.session.rollback()
    line = db.session.execute(select(CountLine)).scalar_one()
    assert line.status == "review" and line.variance == -3

    def approve(i):
        try:
            with UnitOfWork() as uow:
                counting.decide(uow.session, line.id, uow.session.get(User, boss), approve=True)
                uow.commit()
            return "ok"
        except Exception as e:  # noqa: BLE001 - the loser's refusal, or PostgreSQL's serialisation error
            return type(e).__name__

    outcomes = _fire(any_app, 6, approve)
    assert outcomes.count("ok") == 1
    db.session.rollback()
    adjusts = db.session.execute(select(Movement).where(Movement.kind == "adjust")).scalars().all()
    assert [(m.qty, m.d_i) for m in adjusts] == [(3, -3)]
    assert check_ledger(db.session) == []


def test_eight_supervisors_printing_plates_at_once_all_get_their_own(any_app, tmp_path):
    """Licence-plate printing writes through the unit of work: no 'database is locked', no shared plate."""
    from app.models import LicencePlate

    make_site()
    make_user("boss", "boss-pw", role="supervisor")
    db.session.remove()
    clients = []
    for _ in range(8):
        client = any_app.test_client()
        with any_app.app_context():
            assert client.post("/login", data={"username": "boss", "password": "boss-pw"}).status_code == 302
        clients.append(client)

    def print_plates(i):
        r = clients[i].post("/labels/print", data={"kind": "plates", "count": "25", "paper": "a4", "format": "zpl"})
        return r.status_code

    assert _fire(any_app, 8, print_plates) == [200] * 8
    db.session.rollback()
    codes = db.session.execute(select(LicencePlate.code)).scalars().all()
    assert len(codes) == len(set(codes)) == 200 and all(c.startswith("LP") for c in codes)


# ------------------------------------------------------------------ two receipts on one purchase order


def test_two_handhelds_receiving_one_purchase_order_at_once_count_every_unit_on_its_line(any_app):
    from app.models import PurchaseOrder, PurchaseOrderLine
    from app.services import receiving

    make_site()
    users = [make_user(f"rc{n}") for n in range(2)]
    wh = db.session.get(Warehouse, 1)
    po = PurchaseOrder(number="PO-RACE-1", warehouse_id=wh.id, status="open")
    db.session.add(po)
    db.session.flush()
    from app.models import Item

    item_id = db.session.execute(select(Item.id).where(Item.sku == "SKU-1")).scalar_one()
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=1, item_id=item_id, expected=1000))
    db.session.commit()
    tids = []
    with UnitOfWork() as uow:
        s = uow.session
        for u in users:
            tids.append(receiving.start(s, s.get(Warehouse, 1), s.get(User, u.id),
                                        receiving.find_po(s, s.get(Warehouse, 1), "PO-RACE-1")).id)
        uow.commit()
    uids = [u.id for u in users]
    db.session.remove()

    def scan(i):
        who = i % 2
        return engine.handle(tids[who], task_service.ScanInput(f"po-race-{i:04d}", ean_for(1), user_id=uids[who]),
                             DEFAULT_RULES).outcome

    outcomes = _fire(any_app, 60, scan)
    assert outcomes.count("ok") == 60, outcomes
    db.session.rollback()
    received = db.session.execute(select(PurchaseOrderLine.received)).scalar_one()
    booked = db.session.execute(select(func.sum(Movement.qty)).where(Movement.kind == "receive")).scalar()
    assert booked == 60 and received == 60, (booked, received)
    assert check_ledger(db.session) == []


# ------------------------------------------------------------------ read before the lock


def test_a_scan_committed_between_another_scans_read_and_its_write_lock_is_counted_by_both(any_app, monkeypatch):
    """A scan reads its task and lines before it takes the write lock. When another handheld's scan
    on the same receipt commits in between, the first sees it under the lock (the task's version
    moved) and counts on from it: the line holds both units, not one written over the other."""
    from app.models import PurchaseOrder, PurchaseOrderLine
    from app.services import receiving

    make_site()
    uid = make_user("rc").id
    po = PurchaseOrder(number="PO-LATE-1", warehouse_id=1, status="open")
    db.session.add(po)
    db.session.flush()
    db.session.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=1, item_id=1, expected=10))
    db.session.commit()
    with UnitOfWork() as uow:
        s = uow.session
        wh = s.get(Warehouse, 1)
        tid = receiving.start(s, wh, s.get(User, uid), receiving.find_po(s, wh, "PO-LATE-1")).id
        uow.commit()
    db.session.remove()
    real_lock = UnitOfWork.lock
    cut_in = []

    def lock_after_another_scan(self):
        if not cut_in:
            cut_in.append("running")
            cut_in[0] = engine.handle(tid, task_service.ScanInput("cut-in-0001", ean_for(1), user_id=uid),
                                      DEFAULT_RULES).outcome
        return real_lock(self)

    monkeypatch.setattr(UnitOfWork, "lock", lock_after_another_scan)
    out = engine.handle(tid, task_service.ScanInput("late-scan-0001", ean_for(1), user_id=uid), DEFAULT_RULES)
    assert cut_in == ["ok"] and out.outcome == "ok", out
    db.session.rollback()
    assert db.session.execute(select(TaskLine.done).where(TaskLine.task_id == tid)).scalar_one() == 2
    assert db.session.execute(select(PurchaseOrderLine.received)).scalar_one() == 2
    assert check_ledger(db.session) == []


def test_a_task_line_changed_alone_moves_its_tasks_version(any_app):
    tid, _ = _pick_task(3)
    before = db.session.execute(select(Task.version).where(Task.id == tid)).scalar_one()
    with UnitOfWork() as uow:  # the task itself is not loaded in this session
        line = uow.session.execute(select(TaskLine).where(TaskLine.task_id == tid)).scalar_one()
        line.short += 1
        uow.commit()
    db.session.rollback()
    assert db.session.execute(select(Task.version).where(Task.id == tid)).scalar_one() == before + 1


# ------------------------------------------------------------------ moving stock


def test_six_operators_moving_four_each_out_of_a_bin_of_ten_move_eight(any_app):
    """Each has taken 4 of the bin's 10 on their own move task; they scan the target bin at once. The
    stock writer's guard lets exactly two moves through, the others are refused with the bin's words."""
    make_site()
    receive(qty=10, to_bin="A-01")
    users = [make_user(f"mover{i}") for i in range(6)]
    tids = []
    for i, user in enumerate(users):
        with UnitOfWork() as uow:
            wh, me = uow.session.get(Warehouse, 1), uow.session.get(User, user.id)
            tids.append(task_service.create(uow.session, "move", wh, me).id)
            uow.commit()
        for n, (code, qty) in enumerate((("A-01", ""), (ean_for(1), "4"))):
            out = engine.handle(tids[i], task_service.ScanInput(f"mv-{i}-{n}", code, qty=qty, user_id=user.id),
                                DEFAULT_RULES)
            assert out.outcome == "ok", out.message
    ids = [u.id for u in users]
    db.session.remove()

    def put(i):
        return engine.handle(tids[i], task_service.ScanInput(f"mv-{i}-put", "B-01", user_id=ids[i]),
                             DEFAULT_RULES)

    outcomes = _fire(any_app, 6, put)
    assert [o.outcome for o in outcomes].count("ok") == 2, [o.message for o in outcomes]
    refused = [o.message for o in outcomes if o.outcome == "error"]
    assert len(refused) == 4 and all("A-01" in m for m in refused), refused
    db.session.rollback()
    moved = db.session.execute(select(func.coalesce(func.sum(Movement.qty), 0)).where(Movement.kind == "move")).scalar()
    assert moved == 8
    assert check_ledger(db.session) == []


def _face(bin_code, sku, low, high):
    from app.models import Bin, Item, PickFace

    b = db.session.execute(select(Bin).where(Bin.code == bin_code, Bin.warehouse_id == 1)).scalar_one()
    item = db.session.execute(select(Item).where(Item.sku == sku)).scalar_one()
    db.session.add(PickFace(bin_id=b.id, item_id=item.id, min_qty=low, max_qty=high))
    db.session.commit()


def test_four_pickers_emptying_one_pick_face_at_once_raise_one_replenishment(any_app):
    from app.models import PickFace

    make_site()
    receive(qty=20, to_bin="B-01")
    receive(qty=4, to_bin="A-01")
    _face("A-01", "SKU-1", 3, 10)
    users = [make_user(f"picker{i}") for i in range(4)]
    tids = []
    for i, user in enumerate(users):
        order, _ = order_service.place_order("shop", f"face-{i}", "W1", [order_service.OrderLineRequest("SKU-1", 1)])
        with UnitOfWork() as uow:
            task, _ = picking.start(uow.session, uow.session.get(Warehouse, 1), uow.session.get(User, user.id),
                                    [order["id"]])
            tids.append(task.id)
            uow.commit()
        assert engine.handle(tids[i], task_service.ScanInput(f"face-bin-{i}", "A-01", user_id=user.id),
                             DEFAULT_RULES).outcome == "ok"
    ids = [u.id for u in users]
    db.session.remove()

    def pick(i):
        return engine.handle(tids[i], task_service.ScanInput(f"face-pick-{i}", ean_for(1), user_id=ids[i]),
                             DEFAULT_RULES)

    outcomes = _fire(any_app, 4, pick)
    assert [o.outcome for o in outcomes] == ["ok"] * 4, [o.message for o in outcomes]
    assert sum("replenishment" in o.message for o in outcomes) == 1
    db.session.rollback()
    (refill,) = db.session.execute(select(Task).where(Task.kind == "replenish")).scalars().all()
    assert db.session.execute(select(PickFace.replenish_task_id)).scalar_one() == refill.id
    assert [(ln.bin.code, ln.expected) for ln in refill.lines] == [("B-01", 7)]  # raised at 3 left, up to 10
    assert check_ledger(db.session) == []


def test_two_operators_on_one_replenishment_move_what_one_carries_and_the_other_is_told_why(any_app):
    from app.services import replenishing

    make_site()
    receive(qty=20, to_bin="B-01")
    _face("A-01", "SKU-1", 1, 5)
    ann, bob = make_user("ann"), make_user("bob")
    with UnitOfWork() as uow:
        (task,) = replenishing.raise_all(uow.session, uow.session.get(Warehouse, 1), uow.session.get(User, ann.id))
        tid = task.id
        uow.commit()
    ids = [ann.id, bob.id]
    assert engine.handle(tid, task_service.ScanInput("rp-bin", "B-01", user_id=ann.id), DEFAULT_RULES).outcome == "ok"
    db.session.remove()

    def send(code, qty=""):
        return lambda i: engine.handle(tid, task_service.ScanInput(f"rp-{code}-{i}", code, qty=qty, user_id=ids[i]),
                                       DEFAULT_RULES)

    took = _fire(any_app, 2, send(ean_for(1), "4"))
    assert sorted(o.outcome for o in took) == ["error", "ok"], [o.message for o in took]
    assert "Put 4 × Test item 1 into pick face A-01" in next(o.message for o in took if o.outcome == "error")
    put = _fire(any_app, 2, send("A-01"))
    assert sorted(o.outcome for o in put) == ["error", "ok"], [o.message for o in put]
    assert "Take the stock from B-01 first" in next(o.message for o in put if o.outcome == "error")
    db.session.rollback()
    line = db.session.execute(select(TaskLine).where(TaskLine.task_id == tid)).scalar_one()
    assert (line.done, line.expected) == (4, 5)
    moved = db.session.execute(select(func.coalesce(func.sum(Movement.qty), 0)).where(Movement.kind == "move")).scalar()
    assert moved == 4
    assert check_ledger(db.session) == []


def test_four_stations_packing_the_last_unit_of_an_order_at_once_pack_it_once(any_app):
    from app.models import Order, Parcel, ParcelLine
    from app.services import packing

    tid, uid = _pick_task(3)
    for n in range(3):
        assert engine.handle(tid, task_service.ScanInput(f"pk-pick-{n}", ean_for(1), user_id=uid),
                             DEFAULT_RULES).outcome == "ok"
    order = db.session.execute(select(Order)).scalar_one()
    with UnitOfWork() as uow:
        pack = packing.start(uow.session, uow.session.get(Warehouse, 1), uow.session.get(User, uid),
                             uow.session.get(Order, order.id))
        pid = pack.id
        uow.commit()
    assert engine.handle(pid, task_service.ScanInput("pk-two", ean_for(1), qty="2", user_id=uid),
                         DEFAULT_RULES).outcome == "ok"
    db.session.remove()

    def last(i):
        return engine.handle(pid, task_service.ScanInput(f"pk-last-{i}", ean_for(1), user_id=uid), DEFAULT_RULES)

    outcomes = _fire(any_app, 4, last)
    assert sorted(o.outcome for o in outcomes) == ["error", "error", "error", "ok"], [o.message for o in outcomes]
    assert all("One too many" in o.message for o in outcomes if o.outcome == "error")
    db.session.rollback()
    assert db.session.execute(select(func.sum(ParcelLine.qty))).scalar() == 3
    assert db.session.execute(select(func.count(Parcel.id))).scalar() == 1
    assert check_ledger(db.session) == []


def test_one_serial_scanned_into_two_parcels_at_once_goes_into_one(any_app):
    """Two stations on one order's packing, each with a parcel of its own open, scan the same serial's
    label at once: the serial's guarded update lets one parcel have it; the other is told so."""
    from sqlalchemy import update as sql_update

    from app.models import Item, Order, Parcel, Serial
    from app.services import packing
    from app.services.stock import MovementCommand, apply_movement
    from scanners import gtin

    make_site()
    db.session.execute(sql_update(Item).where(Item.sku == "SKU-1").values(serial_tracked=True))
    db.session.commit()
    apply_movement(MovementCommand(warehouse="W1", kind="receive", sku="SKU-1", qty=2, to_bin="A-01",
                                   serials=["SN-1", "SN-2"]))
    users = [make_user("packer0"), make_user("packer1")]
    order, _ = order_service.place_order("shop", "ser-race", "W1", [order_service.OrderLineRequest("SKU-1", 2)])
    with UnitOfWork() as uow:
        task, _ = picking.start(uow.session, uow.session.get(Warehouse, 1), uow.session.get(User, users[0].id),
                                [order["id"]])
        tid = task.id
        uow.commit()
    label = "]C101" + gtin.to_gtin14(ean_for(1)) + "21"
    for n, code in enumerate(("A-01", label + "SN-1", label + "SN-2")):
        out = engine.handle(tid, task_service.ScanInput(f"ser-pick-{n}", code, user_id=users[0].id), DEFAULT_RULES)
        assert out.outcome == "ok", out.message
    pack_ids = []
    for user in users:  # two packing tasks of the order, as two stations would have after a hand-over
        with UnitOfWork() as uow:
            t = task_service.create(uow.session, "pack", uow.session.get(Warehouse, 1), uow.session.get(User, user.id),
                                    order_id=order["id"])
            parcel = packing._new_parcel(uow.session, t, user.id)
            t.state = {"parcel": parcel.id}
            pack_ids.append(t.id)
            uow.commit()
    ids = [u.id for u in users]
    db.session.remove()

    def scan(i):
        return engine.handle(pack_ids[i], task_service.ScanInput(f"ser-pack-{i}", label + "SN-1", user_id=ids[i]),
                             DEFAULT_RULES)

    outcomes = _fire(any_app, 2, scan)
    assert sorted(o.outcome for o in outcomes) == ["error", "ok"], [o.message for o in outcomes]
    refused = next(o.message for o in outcomes if o.outcome == "error")
    assert "SN-1" in refused and ("in a parcel already" in refused or "packed" in refused), refused
    db.session.rollback()
    sn1 = db.session.execute(select(Serial).where(Serial.serial == "SN-1")).scalar_one()
    assert sn1.status == "packed" and sn1.parcel_id is not None
    assert sum(p.units for p in db.session.execute(select(Parcel)).scalars()) == 1
    assert db.session.execute(select(Order.status)).scalar_one() == "open"
    assert check_ledger(db.session) == []
