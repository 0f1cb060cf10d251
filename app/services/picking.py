"""Picking: one order or a batch of orders in one walk, bin by bin.

Per line: scan the bin, scan the item (each scan picks what the barcode
stands for, or the quantity typed), and the line completes on its own. A
wrong bin or item is refused with the reason. A short pick keeps the rest
reserved, raises an exception for the supervisor and flags the bin for a
count. Picked stock goes to outbound staging and stays in O until shipped.

Cluster picking (a batch on a cart, one tote per order): first a tote is scanned for each order;
then each item scan is held until the tote it goes into is scanned, and only then booked. The
wrong tote is refused and books nothing; each tote ends as its order's staged stock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import (
    FloorException,
    LicencePlate,
    Order,
    OrderLine,
    Task,
    TaskLine,
)
from . import allocation, replenishing, serials, tasks
from .expiry import expire_due
from .stock import bin_held, bin_of_type
from .walk import current_line, report_short, walk, walk_step

MAX_ORDERS = 20


def pickable_orders(session, warehouse) -> list[Order]:
    """Open orders with reserved units still on the shelves and not on an open pick list, oldest first."""
    allocated = _allocated_by_line(session, warehouse)
    orders = session.execute(
        select(Order).where(Order.warehouse_id == warehouse.id, Order.status == "open").order_by(Order.created_at, Order.id)
    ).scalars()
    return [o for o in orders if any(ln.to_pick - allocated.get(ln.id, 0) > 0 for ln in o.lines)]


def _allocated_by_line(session, warehouse) -> dict[int, int]:
    out = defaultdict(int)
    for ln in allocation.open_pick_lines(session, warehouse):
        out[ln.order_line_id] += ln.remaining
    return out


def start(session, warehouse, user, order_ids: list[int], cluster: bool = False) -> tuple[Task, dict[int, int]]:
    """A pick list for these orders in walking order; also what could not be placed in any bin, per order line.
    With `cluster`, each order is picked into a tote of its own, confirmed by a scan at every put."""
    if not order_ids:
        raise tasks.TaskError(_("Choose at least one order to pick."))
    if len(order_ids) > MAX_ORDERS:
        raise tasks.TaskError(_("A batch holds at most %(max_orders)s orders.", max_orders=MAX_ORDERS))
    orders = session.execute(
        select(Order).where(Order.id.in_(order_ids)).order_by(Order.created_at, Order.id)
    ).scalars().all()
    if len(orders) != len(set(order_ids)):
        raise tasks.TaskError(_("One of those orders does not exist."))
    for o in orders:
        if o.warehouse_id != warehouse.id:
            raise tasks.TaskError(_("%(o)s is for warehouse %(warehouse)s.", o=o.number, warehouse=o.warehouse.code))
        if o.status != "open":
            raise tasks.TaskError(_("%(o)s is %(status)s.", o=o.number, status=o.status))
    # First touch: an expired lot leaves S (and, when S is short, the newest reservations) before
    # anything is allocated, so no line is planned from it.
    expire_due(session, warehouse, {ln.item_id for o in orders for ln in o.lines}, user_id=user.id)
    allocated = _allocated_by_line(session, warehouse)
    needs = [
        rules.Need(ln.id, ln.item_id, ln.to_pick - allocated.get(ln.id, 0))
        for o in orders
        for ln in o.lines
        if ln.to_pick - allocated.get(ln.id, 0) > 0
    ]
    if not needs:
        raise tasks.TaskError(_("Nothing left to pick on those orders."))
    plans, missing = rules.allocate(needs, allocation.slots(session, warehouse, {n.item_id for n in needs}), today=date.today())
    if not plans:
        raise tasks.TaskError(_("None of it is in a storage bin: see the exceptions, or count the bins."))
    task = tasks.create(session, "pick", warehouse, user, note=", ".join(o.number for o in orders))
    for n, plan in enumerate(plans, 1):
        session.add(TaskLine(task_id=task.id, seq=n, item_id=plan.item_id, lot=plan.lot, bin_id=plan.bin_id,
                             order_line_id=plan.ref, expected=plan.qty))
    unplaced = []
    for line_id, qty in missing.items():
        # Reserved, but in no storage bin (still at the dock, say): the list says so to the end, and the
        # supervisor gets an exception, so nothing reports the order picked while units are missing.
        ol = session.get(OrderLine, line_id)
        unplaced.append({"order": ol.order.number, "name": ol.item.name, "qty": qty})
        session.add(FloorException(
            kind="unplaced_pick", warehouse_id=warehouse.id, task_id=task.id, order_id=ol.order_id,
            item_id=ol.item_id, qty=qty, created_by=user.id,
            message=f"{ol.order.number}: {qty} × {ol.item.sku} reserved but in no storage bin: put it away, "
                    f"then pick again",
        ))
    state = {"unplaced": unplaced} if unplaced else {}
    if cluster:
        state["cluster"] = [o.id for o in orders]  # the cart's orders, in the order their totes are set up
    task.state = state
    session.flush()
    session.refresh(task)
    return task, missing


def on_scan(ctx: tasks.Ctx):
    inp, task = ctx.inp, ctx.task
    notice = ctx.state().get("notice")
    if notice and inp.action != "confirm":
        # An order on this list was cancelled since the last scan: this scan is not booked, and says why.
        ctx.set_state(notice=None)
        line = current_line(task)
        nxt = " " + _("Next: bin %(bin)s.", bin=line.bin.code) if line is not None else ""
        return "error", notice + " " + _("Nothing booked.") + nxt
    line = current_line(task)
    if line is None:
        raise tasks.TaskError(_("Every line is done."))
    if line.order_line.order.status != "open":
        raise tasks.TaskError(_("%(order)s is %(status)s: nothing booked.", order=line.order_line.order.number, status=line.order_line.order.status))
    held = ctx.state().get("put")
    if inp.action == "cancel" and ctx.state().get("serial_for"):
        ctx.set_state(serial_for=None)
        return _("Not picked: nothing booked. Scan the item again.")
    if inp.action == "cancel" and held:
        ctx.set_state(put=None)
        return _("Not put: nothing booked. Scan the item again.")
    if inp.action == "short":
        if held:
            raise tasks.TaskError(_("Put what you hold into its tote first, or tap Back."))
        return _short(ctx, line)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    answer = serials.answered(ctx)
    if answer is not None:  # the serial number of the unit scanned before, on this line
        hit, pending = answer
        if pending.get("line") != line.id:
            raise tasks.TaskError(_("Scan the item again: the list moved on."))
        return _book(ctx, line, 1, pending.get("pick_lot") or "", "", serials=[hit.serial])
    scan = ctx.parse()
    if ctx.state().get("cluster"):
        return _cluster_scan(ctx, line, scan, held)
    if scan.kind == "plate":
        return _tote(ctx, line, scan.code)
    step = walk(ctx, line, scan)
    return step if isinstance(step, (str, tuple)) else _pick(ctx, line, step)


# --------------------------------------------------------------------------
# Cluster picking: a tote per order, the tote confirmed at every put
# --------------------------------------------------------------------------


def cart(session, task: Task) -> list[Order]:
    """The cluster's orders, in the order their totes are set up."""
    ids = (task.state or {}).get("cluster") or []
    return [session.get(Order, oid) for oid in ids]


def _without_tote(session, task: Task) -> Order | None:
    return next((o for o in cart(session, task) if o.status == "open" and not o.tote), None)


def _cluster_scan(ctx, line: TaskLine, scan, held: dict | None):
    s = ctx.session
    waiting = _without_tote(s, ctx.task)
    if waiting is not None:
        if scan.kind != "plate":
            raise tasks.TaskError(_("Scan a tote for %(order)s first — that was %(found)s.", order=waiting.number,
                                    found=scan.raw[:40]))
        _tote_for(s, waiting, scan.code)
        nxt = _without_tote(s, ctx.task)
        then = (_("Now a tote for %(order)s.", order=nxt.number) if nxt is not None
                else _("Cart ready: go to bin %(bin)s.", bin=line.bin.code))
        return _("Tote %(code)s is for %(order)s.", code=scan.code, order=waiting.number) + " " + then
    order = line.order_line.order
    if held:
        if scan.kind != "plate":
            raise tasks.TaskError(_("Put %(qty)s × %(item)s into tote %(tote)s (%(order)s) first — that was %(found)s.",
                                    qty=held["qty"], item=line.item.name, tote=order.tote, order=order.number,
                                    found=scan.raw[:40]))
        if scan.code != order.tote:
            other = next((o for o in cart(s, ctx.task) if o.tote == scan.code), None)
            found = _("%(tote)s, the tote of %(order)s", tote=scan.code, order=other.number) if other else scan.code
            raise tasks.TaskError(_("Wrong tote: this goes into %(tote)s for %(order)s — that was %(found)s.",
                                    tote=order.tote, order=order.number, found=found))
        if held["qty"] > line.remaining:
            ctx.set_state(put=None)
            raise tasks.TaskError(_("Too many: %(remaining)s left on this line — that was %(what)s.",
                                    remaining=line.remaining, what=held["qty"]))
        ctx.set_state(put=None)
        return _book(ctx, line, held["qty"], held["lot"], held["warning"], into=order.tote)
    if scan.kind == "plate":
        raise tasks.TaskError(_("Scan the item first, then the tote it goes into."))
    step = walk(ctx, line, scan)
    if isinstance(step, (str, tuple)):
        return step
    qty, lot, warning = _take(ctx, line, step)
    if line.item.serial_tracked:
        raise tasks.TaskError(_("%(item)s has serial numbers: pick it on a list of its own, not on a cart.",
                                item=line.item.name))
    ctx.set_state(put={"line": line.id, "qty": qty, "lot": lot, "warning": warning})
    return _("Put %(qty)s × %(item)s into tote %(tote)s (%(order)s), then scan the tote.", qty=qty,
             item=line.item.name, tote=order.tote, order=order.number)


def _tote_for(session, order: Order, code: str) -> None:
    plate = session.execute(select(LicencePlate).where(LicencePlate.code == code)).scalar_one_or_none()
    if plate is None:
        raise tasks.TaskError(_("Tote %(code)s was never printed here.", code=code))
    other = session.execute(select(Order).where(Order.tote == code, Order.status == "open",
                                                Order.id != order.id)).scalars().first()
    if other is not None:
        raise tasks.TaskError(_("Tote %(code)s already holds %(other)s.", code=code, other=other.number))
    order.tote = code


def _pick(ctx, line: TaskLine, hit):
    qty, lot, warning = _take(ctx, line, hit)
    if line.item.serial_tracked:
        serials.one_unit(ctx, hit, qty)
        if not hit.serial:
            return serials.ask(ctx, hit, line=line.id, pick_lot=lot)
        return _book(ctx, line, qty, lot, warning, serials=[hit.serial])
    return _book(ctx, line, qty, lot, warning)


def _take(ctx, line: TaskLine, hit) -> tuple[int, str, str]:
    """What an item scan on the line takes: (units, lot, a warning about the lot), checked, not booked."""
    s = ctx.session
    qty = ctx.units(hit)
    if qty > line.remaining:
        what = _("a case of %(n)s", n=hit.pack_qty) if hit.pack_qty > 1 and not ctx.qty_entered() else f"{qty}"
        raise tasks.TaskError(_("Too many: %(remaining)s left on this line — that was %(what)s.", remaining=line.remaining, what=what))
    lot, warning = line.lot, ""
    if hit.lot and hit.lot != line.lot:
        held = bin_held(s, line.bin_id, line.item_id, hit.lot, "sellable")
        if held < qty:
            raise tasks.TaskError(_("Wrong lot: pick lot %(lot)s — bin %(bin)s holds no lot %(found)s.",
                                    lot=line.lot or _("(none)"), bin=line.bin.code, found=hit.lot))
        lot, warning = hit.lot, " " + _("(lot %(lot)s, not the suggested %(suggested)s)", lot=hit.lot,
                                         suggested=line.lot or _("no lot"))
    return qty, lot, warning


def _book(ctx, line: TaskLine, qty: int, lot: str, warning: str, into: str | None = None,
          serials: list[str] | None = None):
    """The pick itself: the units from the line's bin to staging for its order (into a tote, when given)."""
    s = ctx.session
    order_line = line.order_line
    staging = bin_of_type(s, ctx.warehouse, "staging")
    ctx.move("pick", line.item, qty, from_bin=line.bin.code, to_bin=staging.code, lot=lot or None, serials=serials,
             doc_type="order", doc_id=order_line.order_id, reason=f"pick {ctx.task.number}")
    line.done += qty
    order_line.picked += qty
    message = _("Picked %(qty)s × %(item)s for %(order)s", qty=qty, item=line.item.name,
                order=order_line.order.number) + warning
    if serials:
        message += " " + _("serial %(serial)s", serial=", ".join(serials))
    refill = replenishing.after_pick(s, ctx.warehouse, line.bin_id, line.item_id, ctx.inp.user_id)
    if refill is not None:
        message += " · " + _("Pick face %(bin)s is low: replenishment %(task)s raised.", bin=line.bin.code,
                             task=refill.number)
    if into:
        message += " " + _("(tote %(tote)s)", tote=into)
    if line.remaining == 0:
        line.status = "done"
        message += _advance(ctx, line)
        if ctx.task.status != "open" and unplaced_words(ctx.task):
            warning = warning or "unplaced"
    else:
        message += " · " + _("%(n)s more", n=line.remaining)
    return ("warn", message) if warning else message


def _advance(ctx, done: TaskLine) -> str:
    nxt = current_line(ctx.task)
    if nxt is None:
        tasks.close(ctx)
        ctx.set_state(at_bin=None)
        left = unplaced_words(ctx.task)
        if left:
            return " · " + _("this list is picked, but %(left)s: take what you have to the dock", left=left)
        return " · " + _("all lines picked: take them to the dock")
    if nxt.bin_id != done.bin_id:
        ctx.set_state(at_bin=None)
        return " · " + _("next: bin %(bin)s", bin=nxt.bin.code)
    return " · " + _("next: %(item)s here", item=nxt.item.name)


def unplaced_words(task: Task) -> str:
    """What the list could not hold, in words ("SO-000042 still needs 3 × Bolt (in no storage bin)"), or ""."""
    left = (task.state or {}).get("unplaced") or []
    return "; ".join(_("%(order)s still needs %(qty)s × %(item)s (in no storage bin)", order=u["order"], qty=u["qty"],
                       item=u["name"]) for u in left)


def _short(ctx, line: TaskLine):
    ctx.look_twice("short", _("Only %(done)s of %(expected)s × %(item)s here?", done=line.done,
                              expected=line.expected, item=line.item.name),
                   _("Short: %(n)s not found", n=line.remaining))
    order = line.order_line.order
    report_short(ctx, line, order.number, order_id=order.id)
    ctx.session.flush()
    message = _("Short: %(done)s of %(expected)s found. The rest stays reserved; bin %(bin)s will be counted.",
                done=line.done, expected=line.expected, bin=line.bin.code)
    return "warn", message + _advance(ctx, line)


def _tote(ctx, line: TaskLine, code: str) -> str:
    order = line.order_line.order
    _tote_for(ctx.session, order, code)
    return _("Tote %(code)s is for %(order)s", code=code, order=order.number)


def progress(task: Task) -> dict:
    lines = task.lines
    return {
        "lines": len(lines),
        "done": sum(1 for ln in lines if ln.status != "open"),
        "units": sum(ln.expected for ln in lines),
        "picked": sum(ln.done for ln in lines),
        "short": sum(ln.short for ln in lines),
        "orders": len({ln.order_line.order_id for ln in lines}),
    }


def staged_units(session, order: Order) -> int:
    return session.execute(
        select(func.coalesce(func.sum(OrderLine.picked - OrderLine.shipped), 0)).where(OrderLine.order_id == order.id)
    ).scalar_one()


# --------------------------------------------------------------------------
# The kind (the walk itself is services.walk, shared with transfers and replenishment)
# --------------------------------------------------------------------------


def _ended(task: Task) -> str | None:
    words = unplaced_words(task)
    return _("Picked, but %(left)s", left=words) if words and task.status == "closed" else None


def step(task: Task) -> str:
    state = task.state or {}
    if state.get("cluster") and task.status == "open":
        session = object_session(task)
        waiting = _without_tote(session, task)
        if waiting is not None:
            return _("Cart: scan a tote for %(order)s", order=waiting.number)
        line, held = current_line(task), state.get("put")
        if held and line is not None:
            return _("Put %(qty)s × %(item)s into tote %(tote)s", qty=held["qty"], item=line.item.name,
                     tote=line.order_line.order.tote)
    return walk_step(task) or _("Done")


PICK = tasks.TaskKind(
    "pick", N_("Picking"), on_scan, step,
    panel=lambda s, task: {"line": current_line(task), "progress": progress(task),
                           "cart": cart(s, task) if (task.state or {}).get("cluster") else []},
    start=lambda s, warehouse: {"orders": pickable_orders(s, warehouse)},
    ended=_ended,
)
