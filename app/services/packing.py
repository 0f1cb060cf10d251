"""Packing: at a packing station, an order's picked units go into parcels, each checked, weighed and
labelled; shipping then works by parcel.

Scan the order or its tote to start. Then each item scan puts what its barcode stands for (or the
Qty typed) into the open parcel: an item not on the order, or one more than was picked, is refused.
Scan a carton code (CT-M) or tap a carton; scan or type the weight ("1.25 kg", or a USB scale that
types like a keyboard); Close parcel. An order may have several parcels: closing one with units
still unpacked opens the next. Each parcel has an SSCC (GS1 `(00)`): its packing slip (HTML, to
print) and its ZPL label carry it with the order number. At the dock every parcel of a packed
order is scanned, and the last one ships the order (services.shipping).

Packing moves no stock: the units wait at outbound staging, in O, until shipped. Rules on plain
data are domain.packing.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from scanners import labels

from ..domain import packing as rules
from ..i18n import N_, _
from ..models import Order, Parcel, ParcelLine, Task, utcnow
from . import resolve, serials, tasks
from .parcels import find_parcel, packed_lots, parcels_of, staged_lots, unpacked
from .shipping import find_order


def _new_parcel(session, task: Task, user_id: int) -> Parcel:
    order = task.order
    seq = (session.execute(select(func.max(Parcel.seq)).where(Parcel.order_id == order.id)).scalar() or 0) + 1
    parcel = Parcel(order_id=order.id, seq=seq, task_id=task.id, created_by=user_id, status="open")
    session.add(parcel)
    session.flush()
    # The serial reference is the row's id: two stations never share an SSCC (and the column is unique).
    parcel.sscc = rules.sscc(current_app.config["GS1_COMPANY_PREFIX"], parcel.id)
    return parcel


def start(session, warehouse, user, order: Order) -> Task:
    if order.warehouse_id != warehouse.id:
        raise tasks.TaskError(_("%(order)s ships from %(warehouse)s, not %(warehouse2)s.", order=order.number,
                                warehouse=order.warehouse.code, warehouse2=warehouse.code))
    if order.status != "open":
        raise tasks.TaskError(_("%(order)s is %(status)s.", order=order.number, status=order.status))
    existing = session.execute(select(Task).where(Task.kind == PACK.name, Task.status == "open",
                                                  Task.order_id == order.id)).scalars().first()
    if existing is not None:
        return existing
    if unpacked(session, order) == 0:
        if not any(ln.staged > 0 for ln in order.lines):
            raise tasks.TaskError(_("Nothing of %(order)s is picked yet: pick it first, then pack it.",
                                    order=order.number))
        raise tasks.TaskError(_("Everything picked of %(order)s is packed: ship it.", order=order.number))
    task = tasks.create(session, PACK.name, warehouse, user, order_id=order.id)
    parcel = _new_parcel(session, task, user.id)
    task.state = {"parcel": parcel.id}
    return task


def open_parcel(session, task: Task) -> Parcel | None:
    pid = (task.state or {}).get("parcel")
    return session.get(Parcel, pid) if pid else None


def on_scan(ctx: tasks.Ctx):
    inp, task, s = ctx.inp, ctx.task, ctx.session
    parcel = open_parcel(s, task)
    if parcel is None or parcel.status != "open":
        raise tasks.TaskError(_("Every parcel of %(order)s is closed.", order=task.order.number))
    if inp.action == "carton":
        return _carton(parcel, rules.CARTONS.get(inp.value))
    if inp.action == "weight":
        grams = rules.weight_of(inp.value or "")
        if grams is None:
            raise tasks.TaskError(_("Type the weight with its unit, as 1.25 kg or 850 g."))
        return _weigh(parcel, grams)
    if inp.action == "cancel" and ctx.state().get("serial_for"):
        ctx.set_state(serial_for=None)
        return _("Not packed: nothing booked. Scan the item again.")
    if inp.action in ("close", "close_parcel"):
        return _close(ctx, parcel)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    answer = serials.answered(ctx)
    if answer is not None:  # the serial number of the unit scanned before
        return _pack(ctx, parcel, answer[0])
    text = inp.code.strip()
    grams = rules.weight_of(text)
    if grams is not None:  # a USB scale types the weight and Enter, as a scanner does
        return _weigh(parcel, grams)
    carton = rules.carton_of(text)
    if carton is not None:
        return _carton(parcel, carton)
    scan = ctx.parse()
    if scan.kind in ("order", "plate"):
        own = find_parcel(s, scan.code) if scan.kind == "plate" else None
        found = own.order if own is not None else find_order(s, ctx.warehouse, scan)
        if found.id != task.order_id:
            raise tasks.TaskError(_("This packing is for %(order)s — that was %(found)s.", order=task.order.number,
                                    found=found.number))
        return _("Packing %(order)s: scan its items into parcel %(n)s.", order=task.order.number, n=parcel.seq)
    hit = resolve.require_item(s, scan, "item", "order", warehouse=ctx.warehouse)
    return _pack(ctx, parcel, hit)


def _pack(ctx, parcel: Parcel, hit):
    s, order = ctx.session, ctx.task.order
    qty = ctx.units(hit)
    serial = None
    if hit.item.serial_tracked:
        serials.one_unit(ctx, hit, qty)
        if not hit.serial:
            return serials.ask(ctx, hit)
        serial = serials.find(s, hit.item.id, hit.serial)
        if serial is None or serial.order_id != order.id or serial.status not in ("in_stock", "packed"):
            raise tasks.TaskError(_("Serial %(serial)s of %(item)s was not picked for %(order)s.", serial=hit.serial,
                                    item=hit.item.name, order=order.number))
    staged = staged_lots(s, order).get(hit.item.id, {})
    if not any(q > 0 for q in staged.values()):
        raise tasks.TaskError(_("%(item)s is not on %(order)s: set it aside.", item=hit.item.name, order=order.number))
    packed = packed_lots(s, order).get(hit.item.id, {})
    lots = [lot for lot in sorted(staged) if (not hit.lot or lot == hit.lot)]
    room = {lot: rules.room_for(staged[lot], packed.get(lot, 0)) for lot in lots}
    lot = next((x for x in lots if room[x] >= qty), None)
    if lot is None:
        left = sum(room.values())
        if left == 0:
            raise tasks.TaskError(_("One too many: all %(n)s × %(item)s of %(order)s are packed.",
                                    n=sum(staged.values()), item=hit.item.name, order=order.number))
        raise tasks.TaskError(_("Too many: %(left)s × %(item)s left to pack — that was %(qty)s.", left=left,
                                item=hit.item.name, qty=qty))
    line = next((ln for ln in parcel.lines if ln.item_id == hit.item.id and ln.lot == lot), None)
    if line is None:
        line = ParcelLine(parcel_id=parcel.id, item_id=hit.item.id, lot=lot, qty=0)
        s.add(line)
        parcel.lines.append(line)
    line.qty += qty
    if serial is not None:
        serials.pack(s, serial, parcel.id, ctx.inp.user_id)
    left = unpacked(s, order) - qty
    message = _("Packed %(qty)s × %(item)s into parcel %(n)s.", qty=qty, item=hit.item.name, n=parcel.seq)
    if serial is not None:
        message += " " + _("serial %(serial)s", serial=serial.serial)
    if left > 0:
        return message + " · " + _("%(n)s more to pack", n=left)
    return message + " " + _("All packed: choose the carton, weigh it, Close parcel.")


def _carton(parcel: Parcel, carton) -> str:
    if carton is None:
        raise tasks.TaskError(_("Choose a carton type."))
    parcel.carton = carton.code
    return _("Parcel %(n)s: %(carton)s.", n=parcel.seq, carton=_(carton.name))


def _weigh(parcel: Parcel, grams: int) -> str:
    parcel.weight_g = grams
    return _("Parcel %(n)s weighs %(weight)s.", n=parcel.seq, weight=rules.weight_words(grams))


def _close(ctx, parcel: Parcel):
    s, task = ctx.session, ctx.task
    if not parcel.lines:
        raise tasks.TaskError(_("Parcel %(n)s is empty: scan what goes into it first.", n=parcel.seq))
    if not parcel.carton:
        raise tasks.TaskError(_("Choose the carton of parcel %(n)s first.", n=parcel.seq))
    if not parcel.weight_g:
        raise tasks.TaskError(_("Weigh parcel %(n)s first: scan the scale, or type the weight.", n=parcel.seq))
    parcel.status, parcel.closed_at = "closed", utcnow()
    s.flush()
    left = unpacked(s, task.order)
    message = _("Parcel %(n)s closed: %(units)s units, %(weight)s, SSCC %(sscc)s.", n=parcel.seq, units=parcel.units,
                weight=rules.weight_words(parcel.weight_g), sscc=parcel.sscc)
    if left > 0:
        nxt = _new_parcel(s, task, ctx.inp.user_id)
        ctx.set_state(parcel=nxt.id)
        return message + " " + _("Parcel %(n)s is open for the %(left)s units left.", n=nxt.seq, left=left)
    tasks.close(ctx)
    count = len(parcels_of(s, task.order))
    return message + " " + _("%(order)s is packed in %(n)s parcels: print the labels, then ship it.",
                             order=task.order.number, n=count)


weight_words = rules.weight_words


def label(parcel: Parcel, of: int) -> labels.Label:
    """The parcel's shipping label: its SSCC as GS1-128 (00), the order number and the parcel's place."""
    return labels.Label("parcel", "gs1_128", "00" + parcel.sscc, parcel.order.number,
                        f"parcel {parcel.seq} of {of} · {rules.weight_words(parcel.weight_g)}")


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def step(task: Task) -> str:
    parcel = open_parcel(object_session(task), task)
    if parcel is None or parcel.status != "open":
        return _("Done")
    if not parcel.lines or unpacked(object_session(task), task.order) > 0:
        return _("Parcel %(n)s: scan the items of %(order)s", n=parcel.seq, order=task.order.number)
    if not parcel.carton:
        return _("Parcel %(n)s: scan or tap its carton", n=parcel.seq)
    if not parcel.weight_g:
        return _("Parcel %(n)s: weigh it (scale, or type 1.25 kg)", n=parcel.seq)
    return _("Parcel %(n)s: tap Close parcel", n=parcel.seq)


def panel(s, task: Task) -> dict:
    order = task.order
    staged, packed = staged_lots(s, order), packed_lots(s, order)
    rows = [{"line": ln, "staged": sum(staged.get(ln.item_id, {}).values()),
             "packed": sum(packed.get(ln.item_id, {}).values())} for ln in order.lines if ln.picked > ln.shipped]
    return {"parcel": open_parcel(s, task), "parcels": parcels_of(s, order), "rows": rows,
            "cartons": list(rules.CARTONS.values()), "weight_words": rules.weight_words}


def start_screen(s, warehouse) -> dict:
    orders = s.execute(select(Order).where(Order.warehouse_id == warehouse.id, Order.status == "open")
                       .order_by(Order.id)).scalars()
    return {"orders": [o for o in orders if any(ln.staged for ln in o.lines) and unpacked(s, o) > 0]}


PACK = tasks.TaskKind("pack", N_("Packing"), on_scan, step, panel=panel, start=start_screen)
