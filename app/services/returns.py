"""Customer returns and their inspection.

A return is booked against its order: each scanned item goes to the returns
bin as unsellable, awaiting inspection (I+q, U+q). Inspection restores a unit
to sellable in place (U-q, S+q; putaway then takes it from the returns bin)
or scraps it (I-q, U-q).
"""

from __future__ import annotations

from sqlalchemy import select

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import Bin, BinStock, Item, Order, Task, TaskLine
from . import resolve, tasks
from .stock import bin_of_type


def start_return(session, warehouse, user, order: Order) -> Task:
    if not any(ln.shipped for ln in order.lines):
        raise tasks.TaskError(_("%(order)s has not shipped anything, so nothing can come back.", order=order.number))
    existing = session.execute(
        select(Task).where(Task.kind == "return", Task.status == "open", Task.order_id == order.id)
    ).scalars().first()
    if existing is not None:
        return existing
    task = tasks.create(session, "return", warehouse, user, order_id=order.id)
    task.state = {"reason": "not-wanted"}
    for n, ln in enumerate(order.lines, 1):
        session.add(TaskLine(task_id=task.id, seq=n, item_id=ln.item_id, order_line_id=ln.id, expected=ln.shipped))
    session.flush()
    return task


def on_return_scan(ctx: tasks.Ctx):
    inp, task = ctx.inp, ctx.task
    if inp.action == "reason":
        label = rules.reason(rules.RETURN_REASONS, inp.value)
        ctx.set_state(reason=inp.value)
        return _("Reason: %(label)s", label=_(label))
    if inp.action == "close":
        if not any(ln.done for ln in task.lines):
            raise tasks.TaskError(_("Nothing has been scanned back yet."))
        tasks.close(ctx)
        return _("Return of %(order)s closed. Inspect it next.", order=task.order.number)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    hit = resolve.require_item(ctx.session, scan, "item", warehouse=ctx.warehouse)
    qty = ctx.units(hit)
    line = next((ln for ln in task.lines if ln.item_id == hit.item.id), None)
    if line is None:
        ctx.warn_unless("unlisted", _("%(item)s was not on %(order)s.", item=hit.item.name, order=task.order.number))
        line = TaskLine(task_id=task.id, seq=len(task.lines) + 1, item_id=hit.item.id, expected=0)
        ctx.session.add(line)
        task.lines.append(line)
    elif line.done + qty > line.expected:
        ctx.warn_unless("over", _("Only %(n)s of %(item)s were shipped on %(order)s.", n=line.expected,
                                  item=hit.item.name, order=task.order.number))
    label = rules.RETURN_REASONS[ctx.state().get("reason", "not-wanted")]
    returns_bin = bin_of_type(ctx.session, ctx.warehouse, "returns")
    ctx.move("return_receive", hit.item, qty, to_bin=returns_bin.code, lot=hit.lot, doc_type="order",
             doc_id=task.order_id, reason=f"return: {label}")
    line.done += qty
    return _("Returned %(qty)s × %(item)s (%(label)s) → %(returns_bin)s, awaiting inspection", qty=qty, item=hit.item.name, label=label, returns_bin=returns_bin.code)


def awaiting_inspection(session, warehouse, item_id: int | None = None) -> list[tuple[Bin, BinStock]]:
    q = (
        select(Bin, BinStock)
        .join(BinStock, BinStock.bin_id == Bin.id)
        .where(Bin.warehouse_id == warehouse.id, Bin.type == "returns", BinStock.condition == "returned", BinStock.qty > 0)
        .order_by(Bin.code, BinStock.item_id, BinStock.lot)
    )
    if item_id is not None:
        q = q.where(BinStock.item_id == item_id)
    return [tuple(r) for r in session.execute(q)]


def on_inspect_scan(ctx: tasks.Ctx):
    inp = ctx.inp
    if inp.action in ("restore", "scrap"):
        return _decide(ctx, inp.action)
    if inp.action == "close":
        tasks.close(ctx)
        return _("Inspection finished.")
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    hit = resolve.require_item(ctx.session, scan, "item", warehouse=ctx.warehouse)
    rows = awaiting_inspection(ctx.session, ctx.warehouse, hit.item.id)
    if not rows:
        raise tasks.TaskError(_("No returned %(item)s awaits inspection.", item=hit.item.name))
    b, bs = rows[0]
    ctx.set_state(current={"item_id": hit.item.id, "bin": b.code, "lot": bs.lot})
    waiting = sum(r.qty for _, r in rows)
    return _("%(item)s: %(n)s returned. Restore to sellable, or scrap?", item=hit.item.name, n=waiting)


def _decide(ctx, action: str):
    current = ctx.state().get("current")
    if not current:
        raise tasks.TaskError(_("Scan the returned item first."))
    item = ctx.session.get(Item, current["item_id"])
    qty = ctx.units(None, pack_qty=1)
    ctx.move(action, item, qty, from_bin=current["bin"], lot=current["lot"], condition="returned",
             reason="return inspected: " + ("restored" if action == "restore" else "scrapped"))
    ctx.session.flush()
    left = sum(bs.qty for _, bs in awaiting_inspection(ctx.session, ctx.warehouse, item.id))
    task = ctx.task
    ctx.session.add(TaskLine(task_id=task.id, seq=len(task.lines) + 1, item_id=item.id, lot=current["lot"] or "",
                             expected=qty, done=qty if action == "restore" else 0,
                             damaged=qty if action == "scrap" else 0, status="done"))
    if not left:
        ctx.set_state(current=None)
    more = " · " + _("%(n)s more", n=left) if left else ""
    if action == "restore":
        return _("Restored %(qty)s × %(item)s to sellable: put it away from %(bin)s", qty=qty, item=item.name,
                 bin=current["bin"]) + more
    return _("Scrapped %(qty)s × %(item)s", qty=qty, item=item.name) + more


# --------------------------------------------------------------------------
# The kinds
# --------------------------------------------------------------------------


def _inspect_panel(s, task) -> dict:
    current = (task.state or {}).get("current")
    return {"current_item": s.get(Item, current["item_id"]) if current else None,
            "awaiting": awaiting_inspection(s, task.warehouse)}


RETURN = tasks.TaskKind("return", N_("Returns"), on_return_scan, lambda task: _("Scan each returned item"),
                        panel=lambda s, task: {"reasons": rules.RETURN_REASONS})
INSPECT = tasks.TaskKind(
    "inspect", N_("Return inspection"), on_inspect_scan,
    lambda task: _("Restore or scrap") if (task.state or {}).get("current") else _("Scan a returned item"),
    panel=_inspect_panel, own=True,
)
