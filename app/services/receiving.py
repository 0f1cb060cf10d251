"""Receiving against a purchase order or advance ship notice, or blind.

Each item scan books a receive movement into the receiving dock (I+q, S+q),
or into the quarantine bin as unsellable when the damaged toggle is on
(I+q, U+q). Over-receipts and items the PO does not list warn and wait for
a confirmation; a scan of a pallet's licence plate puts what follows on it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from scanners import ScanError
from scanners.parse import expect

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import FloorException, LicencePlate, PurchaseOrder, Task, TaskLine
from . import resolve, serials, tasks
from .stock import bin_of_type


def start(session, warehouse, user, po: PurchaseOrder | None) -> Task:
    """A receipt for `po` (its open lines, what is still to come), or a blind one."""
    if po is not None:
        existing = session.execute(
            select(Task).where(Task.kind == "receive", Task.status == "open", Task.purchase_order_id == po.id)
        ).scalars().first()
        if existing is not None:
            return existing  # resumed, on this handheld or another
    task = tasks.create(session, "receive", warehouse, user, purchase_order_id=po.id if po else None)
    if po is not None:
        for n, line in enumerate(po.lines, 1):
            session.add(
                TaskLine(task_id=task.id, seq=n, item_id=line.item_id, lot=line.lot or "", po_line_id=line.id,
                         expected=max(0, line.expected - line.received))
            )
    session.flush()
    return task


def find_po(session, warehouse, number: str) -> PurchaseOrder:
    po = session.execute(select(PurchaseOrder).where(PurchaseOrder.number == number)).scalar_one_or_none()
    if po is None:
        raise tasks.TaskError(_("No purchase order %(number)s. Check the paperwork, or start a blind receipt.", number=number))
    if po.warehouse_id != warehouse.id:
        raise tasks.TaskError(_("%(po)s is for warehouse %(there)s, not %(here)s.", po=po.number, there=po.warehouse.code, here=warehouse.code))
    if po.status in ("received", "closed"):
        raise tasks.TaskError(_("%(po)s is fully received and closed.", po=po.number))
    return po


def on_scan(ctx: tasks.Ctx) -> str:
    inp, state = ctx.inp, ctx.state()
    if inp.action == "damaged":
        on = not state.get("damaged")
        ctx.set_state(damaged=on or None)
        return _("Damaged: ON — units go to quarantine") if on else _("Damaged: off — units go to the dock")
    if inp.action == "no-plate":
        ctx.set_state(plate=None)
        return _("No pallet: units are received loose")
    if inp.action == "close":
        return close(ctx)
    if inp.action == "cancel" and state.get("serial_for"):
        ctx.set_state(serial_for=None)
        return _("Not received: nothing booked. Scan the item again.")
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    answer = serials.answered(ctx)
    if answer is not None:  # the serial number of the unit scanned before
        return _receive(ctx, answer[0])

    scan = ctx.parse()
    if scan.kind == "plate":
        return _on_plate(ctx, scan)
    if scan.kind == "po":
        po = ctx.task.purchase_order
        if po is not None and scan.code == po.number:
            return _("This is the receipt for %(po)s. Scan its items.", po=po.number)
        raise tasks.TaskError(_("Close this receipt before starting %(code)s.", code=scan.code))
    hit = resolve.find_item(ctx.session, scan)
    if hit is None:
        if scan.kind in ("item", "gs1", "unknown"):
            return _unknown(ctx, scan)
        expect(scan, "item")
    return _receive(ctx, hit)


def _unknown(ctx, scan) -> str:
    code = scan.raw
    ctx.warn_unless("unknown", _("%(code)s is not in the catalogue. Set the unit aside for the supervisor.", code=code))
    ctx.exception("unknown_item", f"Unknown barcode {code} received on {_doc(ctx.task)}", code=code[:200], qty=1)
    return _("Set aside: %(code)s reported to the supervisor. Nothing booked.", code=code)


def _on_plate(ctx, scan) -> str:
    s = ctx.session
    plate = s.execute(select(LicencePlate).where(LicencePlate.code == scan.code)).scalar_one_or_none()
    if plate is None:
        if not scan.sscc:
            raise tasks.TaskError(_("Licence plate %(plate)s was never printed here. Use a plate from the label sheets.",
                                     plate=scan.code))
        # A supplier's own pallet label (SSCC) becomes a plate the first time it is seen.
        plate = LicencePlate(code=scan.code, warehouse_id=ctx.task.warehouse_id, created_by=ctx.inp.user_id)
        s.add(plate)
        s.flush()
    if plate.bin_id is not None and any(c.qty for c in plate.contents) and ctx.state().get("plate") != plate.code:
        raise tasks.TaskError(_("Pallet %(plate)s still holds stock in %(bin)s. Put it away first.", plate=plate.code,
                                     bin=plate_bin(s, plate)))
    ctx.set_state(plate=plate.code)
    return _("Pallet %(plate)s: what you scan now goes on it", plate=plate.code)


def plate_bin(session, plate) -> str:
    from ..models import Bin

    b = session.get(Bin, plate.bin_id) if plate.bin_id else None
    return b.code if b else "no bin"


def _line_for(task: Task, item_id: int, lot: str | None) -> TaskLine | None:
    lines = [ln for ln in task.lines if ln.item_id == item_id]
    for ln in lines:
        if lot and ln.lot == lot:
            return ln
    for ln in lines:
        if not ln.lot or not lot:
            return ln
    return lines[0] if lines else None


def _receive(ctx, hit) -> str:
    s, task, state = ctx.session, ctx.task, ctx.state()
    qty = ctx.units(hit)
    if hit.item.serial_tracked:
        serials.one_unit(ctx, hit, qty)
        if not hit.serial:
            return serials.ask(ctx, hit)
    line = _line_for(task, hit.item.id, hit.lot)
    po = task.purchase_order
    if line is None:
        if po is not None:
            ctx.warn_unless("unlisted", _("%(item)s is not on %(po)s.", item=hit.item.name, po=po.number))
        line = TaskLine(task_id=task.id, seq=len(task.lines) + 1, item_id=hit.item.id, lot=hit.lot or "", expected=0)
        s.add(line)
        task.lines.append(line)
    elif po is not None:
        received = line.done + line.damaged
        over = rules.over_receipt(line.expected, received, qty)
        tolerance = max(line.expected // 10, hit.pack_qty)  # beyond this, a slip of the thumb, not a spare unit
        if over > tolerance:
            ctx.plausible(qty, most=qty - 1, why=" " + _("is %(over)s more than %(po)s still expects", over=f"{over:,}",
                                                                po=po.number))
        if over and "unlisted" not in ctx.forced:
            ctx.warn_unless(
                "over", _("Over-receipt: %(expected)s expected, %(with_scan)s with this scan (%(over)s over).",
                          expected=line.expected, with_scan=received + qty, over=over)
            )
    lot = hit.lot or line.lot or ""
    expiry = hit.expiry or (line.po_line.expiry if line.po_line is not None and lot == (line.po_line.lot or "") else None)
    if hit.item.lot_tracked and not lot:
        raise tasks.TaskError(_("%(item)s is tracked by lot: scan the carton's GS1 label with its lot, or receive it "
                                "against a PO line that names the lot.", item=hit.item.name))
    if hit.item.expiry_tracked and not expiry:
        raise tasks.TaskError(_("%(item)s is tracked by expiry: scan the carton's GS1 label with its expiry date, "
                                "or receive it against a PO line that gives it.", item=hit.item.name))
    damaged = bool(state.get("damaged"))
    _mind_the_shelf_life(ctx, hit.item, expiry, damaged)
    plate = None
    if state.get("plate") and not damaged:
        plate = s.execute(select(LicencePlate).where(LicencePlate.code == state["plate"])).scalar_one_or_none()
    to_bin = bin_of_type(s, ctx.warehouse, "quarantine" if damaged else "dock")
    ctx.move(
        "receive", hit.item, qty, lot=lot or None, expiry=expiry, to_bin=to_bin,
        condition="damaged" if damaged else None, doc_type="po" if po else None, doc_id=po.id if po else None,
        reason=f"received on {_doc(task, said=False)}" + (" damaged" if damaged else ""),  # the ledger's words
        serials=[hit.serial] if hit.serial and hit.item.serial_tracked else None,
        unit_cost=line.po_line.unit_cost if line.po_line is not None else None,
    )
    if damaged:
        line.damaged += qty
    else:
        line.done += qty
    if line.po_line is not None:
        line.po_line.received += qty
    if plate is not None:
        _put_on_plate(s, plate, hit.item.id, lot, qty, to_bin.id)
    ctx.set_state(last=line.id)
    what = f"{qty} × {hit.item.name}" + (" " + _("lot %(lot)s", lot=lot) if lot else "")
    if hit.serial and hit.item.serial_tracked:
        what += " " + _("serial %(serial)s", serial=hit.serial)
    if damaged:
        where = _("quarantine %(bin)s (damaged)", bin=to_bin.code)
    else:
        where = _("pallet %(plate)s", plate=plate.code) if plate else to_bin.code
    tally = " · " + _("%(n)s of %(expected)s", n=line.done + line.damaged, expected=line.expected) if po is not None else ""
    return f"+{what} → {where}{tally}"  # figures, codes and names: the same in every language


def _mind_the_shelf_life(ctx, item, expiry, damaged: bool) -> None:
    """An expired lot is received only as damaged (into quarantine); one with less shelf life left than
    the item asks for (min_shelf_days) is warned about, or refused where the supervisor set it so."""
    if expiry is None or damaged:
        return
    left = (expiry - date.today()).days
    if left < 0:
        raise tasks.TaskError(_("%(item)s expired on %(when)s: receive it as damaged (it goes to quarantine), or set "
                                "it aside for the supervisor.", item=item.name, when=expiry.isoformat()))
    if rules.short_shelf_life(expiry, date.today(), item.min_shelf_days) is None:
        return
    message = _("%(item)s expires on %(when)s: %(left)s days of shelf life left, %(min)s required.", item=item.name,
                when=expiry.isoformat(), left=left, min=item.min_shelf_days)
    if item.short_shelf == "refuse":
        raise tasks.TaskError(message + " " + _("Not received: set it aside for the supervisor."))
    ctx.warn_unless("short_shelf", message)


def prepare(ctx) -> None:
    """Before the write lock: the receipt's document and the bin it books into."""
    _ = ctx.task.purchase_order
    bin_of_type(ctx.session, ctx.warehouse, "quarantine" if ctx.state().get("damaged") else "dock")


def _put_on_plate(session, plate, item_id, lot, qty, bin_id) -> None:
    from ..models import PlateItem

    plate.bin_id = bin_id
    row = next((c for c in plate.contents if c.item_id == item_id and c.lot == lot), None)
    if row is None:
        session.add(PlateItem(plate_id=plate.id, item_id=item_id, lot=lot, qty=qty))
    else:
        row.qty += qty


def close(ctx) -> str:
    task, po = ctx.task, ctx.task.purchase_order
    if not any(ln.done or ln.damaged for ln in task.lines):
        open_alerts = ctx.session.execute(
            select(FloorException.id).where(FloorException.task_id == task.id)
        ).first()
        if open_alerts is None and po is not None:
            raise tasks.TaskError(_("Nothing has been received yet. Scan the items, or leave the receipt open."))
    if po is not None:
        short = sum(max(0, pl.expected - pl.received) for pl in po.lines)
        if short:
            ctx.look_twice("close_short", _("%(po)s is %(n)s units short.", po=po.number, n=f"{short:,}"),
                           _("Close %(n)s short", n=f"{short:,}"))
        complete = all(pl.received >= pl.expected for pl in po.lines)
        po.status = "received" if complete else "partial"
        for ln in task.lines:
            if ln.po_line is not None and ln.done + ln.damaged < ln.expected:
                ctx.exception(
                    "under_receipt",
                    f"{po.number}: {ln.item.sku} {ln.done + ln.damaged} of {ln.expected} received",
                    item_id=ln.item_id, qty=ln.expected - ln.done - ln.damaged,
                )
    tasks.close(ctx)
    return _("Receipt %(doc)s closed. Put the stock away from the dock.", doc=_doc(task))


def _doc(task: Task, said: bool = True) -> str:
    """The receipt's name: said to the operator in their language, or written to the ledger as it is."""
    if task.purchase_order:
        return task.purchase_order.number
    return _("blind receipt %(task)s", task=task.number) if said else f"blind receipt {task.number}"


def summary(task: Task) -> list[dict]:
    """Expected against received, per line, for the screen and the closed receipt."""
    rows = []
    for ln in task.lines:
        got = ln.done + ln.damaged
        rows.append(
            {
                "sku": ln.item.sku,
                "name": ln.item.name,
                "lot": ln.lot,
                "expected": ln.expected,
                "received": ln.done,
                "damaged": ln.damaged,
                "difference": got - ln.expected,
                "listed": ln.po_line_id is not None,
            }
        )
    return rows


__all__ = ["ScanError", "close", "find_po", "on_scan", "start", "summary"]


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def step(task: Task) -> str:
    state = task.state or {}
    if state.get("serial_for"):
        return _("Scan the serial number")
    if state.get("plate"):
        if state.get("damaged"):
            return _("Damaged: scan the item onto pallet %(plate)s", plate=state["plate"])
        return _("Scan an item onto pallet %(plate)s", plate=state["plate"])
    return _("Damaged: scan the item") if state.get("damaged") else _("Scan an item")


def start_screen(s, warehouse) -> dict:
    """The purchase orders open for receiving, soonest expected first."""
    return {"purchase_orders": s.execute(
        select(PurchaseOrder)
        .where(PurchaseOrder.warehouse_id == warehouse.id, PurchaseOrder.status.in_(("open", "partial")))
        .order_by(PurchaseOrder.expected_on, PurchaseOrder.number)
    ).scalars().all()}


RECEIVE = tasks.TaskKind("receive", N_("Receiving"), on_scan, step, panel=lambda s, task: {"summary": summary(task)},
                         start=start_screen, prepare=prepare)
