"""Pick faces and their replenishment: the floor task that refills a pick face from reserve stock.

A pick face is a storage bin pickers take an item from, with a minimum and a maximum (set on
Office → Pick faces). When a pick leaves it at or below its minimum, the same transaction raises a
replenishment task: lines from reserve bins (other storage bins that hold the item, earliest expiry
first, then first in, first out; never units an open pick list expects) for enough to fill the face
to its maximum. One face has one open replenishment at a time: the task is recorded on the face by
a guarded update, so two pickers emptying it at once raise one task.

On the floor, per line: scan the reserve bin, scan the item (each scan what its barcode stands for,
or the Qty typed; scans add up), then scan the pick face: one `move` movement, reserve to face.
Short closes a line with what was found; the task closes when every line is done or short.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import object_session

from ..domain import stock as d
from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import Bin, BinStock, FloorException, Item, PickFace, Task, TaskLine, Warehouse
from . import allocation, resolve, tasks, walk
from .stock import bin_held

# --------------------------------------------------------------------------
# Pick faces (the supervisor's settings)
# --------------------------------------------------------------------------


def on_hand(session, bin_id: int, item_id: int) -> int:
    """Sellable units of the item in the bin, every lot."""
    return session.execute(
        select(func.coalesce(func.sum(BinStock.qty), 0)).where(
            BinStock.bin_id == bin_id, BinStock.item_id == item_id, BinStock.condition == "sellable")
    ).scalar_one()


def faces(session, warehouse: Warehouse) -> list[dict]:
    """Every pick face of the warehouse with what it holds and its open replenishment, in walk order."""
    rows = session.execute(
        select(PickFace, Bin, Item).join(Bin, Bin.id == PickFace.bin_id).join(Item, Item.id == PickFace.item_id)
        .where(Bin.warehouse_id == warehouse.id).order_by(Bin.walk_order, Bin.code, Item.sku)
    ).all()
    out = []
    for face, b, item in rows:
        task = session.get(Task, face.replenish_task_id) if face.replenish_task_id else None
        held = on_hand(session, b.id, item.id)
        out.append({"face": face, "bin": b, "item": item, "on_hand": held,
                    "low": held <= face.min_qty, "task": task if task is not None and task.status == "open" else None})
    return out


def set_face(session, warehouse: Warehouse, bin_code: str, sku: str, min_qty, max_qty) -> PickFace:
    """Make a storage bin the pick face of an item (or change its levels)."""
    low, high = rules.face_levels(min_qty, max_qty)
    b = session.execute(select(Bin).where(Bin.warehouse_id == warehouse.id,
                                          Bin.code == (bin_code or "").strip()[:32])).scalar_one_or_none()
    if b is None:
        raise d.InputError.of(N_("No bin %(bin)s in %(warehouse)s."), bin=(bin_code or "").strip()[:32],
                              warehouse=warehouse.code)
    if b.type != "storage" or b.retired_at is not None:
        raise d.InputError.of(N_("A pick face is a storage bin in use — %(bin)s is not."), bin=b.code)
    hit = resolve.item_named(session, (sku or "").strip()[:80]) if (sku or "").strip() else None
    if hit is None:
        raise d.InputError.of(N_("No item %(sku)s."), sku=(sku or "").strip()[:40])
    face = session.execute(select(PickFace).where(PickFace.bin_id == b.id, PickFace.item_id == hit.item.id)
                           ).scalar_one_or_none()
    if face is None:
        face = PickFace(bin_id=b.id, item_id=hit.item.id, min_qty=low, max_qty=high)
        session.add(face)
    else:
        face.min_qty, face.max_qty = low, high
    session.flush()
    return face


def remove_face(session, warehouse: Warehouse, face_id) -> str:
    face = session.get(PickFace, d.parse_id(face_id, "pick face"))
    if face is None or face.bin.warehouse_id != warehouse.id:
        raise d.InputError.of(N_("No such pick face here."))
    words = f"{face.bin.code} {face.item.sku}"
    session.delete(face)
    return words


# --------------------------------------------------------------------------
# Raising a replenishment
# --------------------------------------------------------------------------


class _Taken(Exception):
    """Another transaction raised this face's replenishment first."""


def raise_for(session, warehouse: Warehouse, face: PickFace, user_id: int) -> Task | None:
    """A replenishment task for the face if it is at or below its minimum and has none open; in the
    caller's transaction. None when it needs none, has one, or reserve stock has nothing for it (then
    the supervisor sees a no-reserve exception, once while it lasts)."""
    if face.replenish_task_id is not None:
        open_ = session.execute(select(Task.status).where(Task.id == face.replenish_task_id)).scalar()
        if open_ == "open":
            return None
    need = rules.replenish_need(on_hand(session, face.bin_id, face.item_id), face.min_qty, face.max_qty)
    if need <= 0:
        return None
    other_faces = set(session.execute(select(PickFace.bin_id).where(PickFace.item_id == face.item_id)).scalars())
    reserve = [sl for sl in allocation.slots(session, warehouse, {face.item_id}) if sl.bin_id not in other_faces]
    plans, _missing = rules.allocate([rules.Need(face.id, face.item_id, need)], reserve, today=date.today())
    if not plans:
        _no_reserve(session, warehouse, face, user_id)
        return None
    try:
        with session.begin_nested():
            task = Task(kind=REPLENISH.name, warehouse_id=warehouse.id, created_by=user_id, updated_by=user_id,
                        state={"face": face.bin_id}, note=f"{face.bin.code} {face.item.sku}")
            session.add(task)
            session.flush()
            for n, plan in enumerate(plans, 1):
                session.add(TaskLine(task_id=task.id, seq=n, item_id=plan.item_id, lot=plan.lot, bin_id=plan.bin_id,
                                     expected=plan.qty))
            # The guard: one open replenishment a face, whoever raises it.
            claimed = session.execute(
                update(PickFace).where(PickFace.id == face.id, or_(
                    PickFace.replenish_task_id.is_(None),
                    PickFace.replenish_task_id.in_(select(Task.id).where(Task.status != "open"))))
                .values(replenish_task_id=task.id).execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                raise _Taken
    except _Taken:
        return None
    session.refresh(face)
    return task


def _no_reserve(session, warehouse, face: PickFace, user_id: int) -> None:
    already = session.execute(select(FloorException.id).where(
        FloorException.kind == "no_reserve", FloorException.status == "open", FloorException.bin_id == face.bin_id,
        FloorException.item_id == face.item_id)).first()
    if already is None:
        session.add(FloorException(
            kind="no_reserve", warehouse_id=warehouse.id, bin_id=face.bin_id, item_id=face.item_id, created_by=user_id,
            message=f"Pick face {face.bin.code} is low on {face.item.sku} and no reserve bin holds any to refill it"))


def after_pick(session, warehouse: Warehouse, bin_id: int, item_id: int, user_id: int) -> Task | None:
    """Called by a pick from a bin: raise the face's replenishment when the pick left it low."""
    face = session.execute(select(PickFace).where(PickFace.bin_id == bin_id, PickFace.item_id == item_id)
                           ).scalar_one_or_none()
    return raise_for(session, warehouse, face, user_id) if face is not None else None


def raise_all(session, warehouse: Warehouse, user) -> list[Task]:
    """Every pick face of the warehouse at or below its minimum gets its replenishment."""
    raised = []
    for row in faces(session, warehouse):
        if row["low"] and row["task"] is None:
            task = raise_for(session, warehouse, row["face"], user.id)
            if task is not None:
                raised.append(task)
    return raised


# --------------------------------------------------------------------------
# The floor task
# --------------------------------------------------------------------------


def _face_bin(session, task: Task) -> Bin:
    return session.get(Bin, (task.state or {})["face"])


def on_scan(ctx: tasks.Ctx):
    inp, task, s = ctx.inp, ctx.task, ctx.session
    face = _face_bin(s, task)
    load = ctx.state().get("load")
    line = walk.current_line(task)
    if inp.action == "cancel":
        ctx.set_state(load=None)
        return _("Put back: nothing booked. Scan the item again.")
    if inp.action == "close":
        if load:
            raise tasks.TaskError(_("Put what you hold into pick face %(face)s first, or tap Back.", face=face.code))
        if line is not None:
            ctx.look_twice("close", _("%(n)s lines are still open.", n=sum(ln.status == "open" for ln in task.lines)),
                           _("Close them short"))
            for ln in task.lines:
                if ln.status == "open":
                    ln.short, ln.status = ln.remaining, "short"
        return _finish(ctx, face)
    if inp.action == "short":
        if line is None:
            raise tasks.TaskError(_("Every line is done."))
        if load:
            raise tasks.TaskError(_("Put what you hold into pick face %(face)s first, or tap Back.", face=face.code))
        ctx.look_twice("short", _("Only %(done)s of %(expected)s × %(item)s in %(bin)s?", done=line.done,
                                  expected=line.expected, item=line.item.name, bin=line.bin.code),
                       _("Short: %(n)s not found", n=line.remaining))
        line.short, line.status = line.remaining, "short"
        return "warn", _("Short: %(done)s of %(expected)s found in %(bin)s.", done=line.done, expected=line.expected,
                         bin=line.bin.code) + _next(ctx, face)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    if line is None:
        raise tasks.TaskError(_("Every line is done."))
    scan = ctx.parse()
    found = resolve.find_bin(s, ctx.warehouse, scan)
    if load:
        if found is None or found.id != face.id:
            raise tasks.TaskError(_("Put %(qty)s × %(item)s into pick face %(face)s: scan it — that was %(found)s.",
                                    qty=load["qty"], item=line.item.name, face=face.code,
                                    found=found.code if found is not None else scan.raw[:40]))
        return _put(ctx, line, face, load["qty"])
    if found is not None and found.id == face.id:
        raise tasks.TaskError(_("Take the stock from %(bin)s first — %(face)s is the pick face it goes to.",
                                bin=line.bin.code, face=face.code))
    step = walk.walk(ctx, line, scan)
    if isinstance(step, (str, tuple)):
        return step
    qty = ctx.units(step)
    if qty > line.remaining:
        raise tasks.TaskError(_("Too many: %(remaining)s left on this line — that was %(what)s.",
                                remaining=line.remaining, what=qty))
    held = bin_held(s, line.bin_id, line.item_id, line.lot, "sellable")
    if qty > held:
        raise tasks.TaskError(_("Only %(held)s × %(item)s in %(bin)s, not %(wanted)s.", held=held,
                                item=line.item.name, bin=line.bin.code, wanted=qty))
    ctx.set_state(load={"qty": qty})
    return _("Take %(qty)s × %(item)s from %(bin)s, then scan pick face %(face)s.", qty=qty, item=line.item.name,
             bin=line.bin.code, face=face.code)


def _put(ctx, line: TaskLine, face: Bin, qty: int):
    if qty > line.remaining:  # another operator on this task booked part of the line meanwhile
        ctx.set_state(load=None)
        raise tasks.TaskError(_("Too many: %(remaining)s left on this line — that was %(what)s.",
                                remaining=line.remaining, what=qty))
    ctx.move("move", line.item, qty, from_bin=line.bin.code, to_bin=face.code, lot=line.lot or None,
             reason=f"replenish {face.code} {ctx.task.number}")
    line.done += qty
    ctx.set_state(load=None, at_bin=None)  # at the pick face now: the reserve bin is scanned again for more
    message = _("Refilled %(qty)s × %(item)s into %(face)s.", qty=qty, item=line.item.name, face=face.code)
    if line.remaining > 0:
        return message + " · " + _("%(n)s more", n=line.remaining)
    line.status = "done"
    return message + _next(ctx, face)


def _next(ctx, face: Bin) -> str:
    nxt = walk.current_line(ctx.task)
    if nxt is not None:
        return " " + _("Next: bin %(bin)s.", bin=nxt.bin.code)
    return " " + _finish(ctx, face)


def _finish(ctx, face: Bin) -> str:
    tasks.close(ctx)
    ctx.session.execute(update(PickFace).where(PickFace.replenish_task_id == ctx.task.id)
                        .values(replenish_task_id=None).execution_options(synchronize_session=False))
    return _("Pick face %(face)s refilled: %(n)s units.", face=face.code, n=sum(ln.done for ln in ctx.task.lines))


def step(task: Task) -> str:
    session = object_session(task)
    face, load, line = _face_bin(session, task), (task.state or {}).get("load"), walk.current_line(task)
    if line is None:
        return _("Done")
    if load:
        return _("Put %(qty)s × %(item)s into pick face %(face)s: scan it", qty=load["qty"], item=line.item.name,
                 face=face.code)
    return walk.walk_step(task)


def panel(s, task: Task) -> dict:
    face = _face_bin(s, task)
    line = walk.current_line(task)
    pick_face = s.execute(select(PickFace).where(PickFace.bin_id == face.id, PickFace.item_id == task.lines[0].item_id)
                          ).scalar_one_or_none() if task.lines else None
    return {"face": face, "line": line, "pick_face": pick_face,
            "face_holds": on_hand(s, face.id, task.lines[0].item_id) if task.lines else 0}


def _start(s, warehouse) -> dict:
    return {"faces": faces(s, warehouse)}


REPLENISH = tasks.TaskKind("replenish", N_("Replenish pick faces"), on_scan, step, panel=panel, start=_start)
