"""Transfers between warehouses: plan, pick and ship at the source, receive at the destination.

Planning allocates (S->T at the source). Operators pick the transfer like an
order, bin by bin into staging, then ship it: source I-q, T-q; destination
A+q. Whatever was not picked goes back to sale (T->S). At the destination
they receive it by scan (A-q, I+q, S+q, or U+q when damaged). Closing the
receipt records the differences: units shipped that never came are written
off the in-transit bucket (A-q), units beyond the shipment are received as
extra, and the supervisor sees every difference as an exception.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain import stock as d
from ..domain import tasks as task_rules
from ..i18n import N_, _
from ..models import Task, TaskLine, Transfer, TransferLine, User, Warehouse, utcnow
from . import allocation, replenishing, resolve, tasks, walk
from .expiry import expire_due
from .stock import MovementCommand, apply_in, bin_of_type, get_item, get_warehouse

MAX_LINES = 200


def plan(session, source: Warehouse, dest_code: str, user: User, lines: list[tuple[str, object]], note: str = "") -> Transfer:
    """A transfer with its units allocated at the source, all or nothing."""
    dest = get_warehouse(session, dest_code)
    if dest.id == source.id:
        raise d.InputError(_("A transfer goes to another warehouse"))
    if not lines:
        raise d.InputError(_("List at least one item and quantity"))
    if len(lines) > MAX_LINES:
        raise d.InputError(_("A transfer has at most %(max_lines)s lines", max_lines=MAX_LINES))
    tr = Transfer(source_id=source.id, dest_id=dest.id, created_by=user.id, note=(note or "").strip()[:200] or None)
    session.add(tr)
    session.flush()
    merged: dict[str, int] = {}
    for sku, qty in lines:
        item = get_item(session, sku)
        merged[item.sku] = merged.get(item.sku, 0) + d.parse_qty(qty)
    for n, (sku, qty) in enumerate(merged.items(), 1):
        item = get_item(session, sku)
        try:
            apply_in(session, MovementCommand(warehouse=source.code, kind="transfer_allocate", sku=sku, qty=qty,
                                              user_id=user.id, device="office", doc_type="transfer", doc_id=tr.id,
                                              reason=f"{tr.number} to {dest.code}"))
        except d.NotEnoughStock as e:
            raise d.InputError(f"{sku}: {e.message}") from None
        session.add(TransferLine(transfer_id=tr.id, line_no=n, item_id=item.id, qty=qty))
    session.flush()
    session.refresh(tr)
    return tr


def _open_task(session, tr: Transfer, kind: str) -> Task | None:
    return session.execute(
        select(Task).where(Task.transfer_id == tr.id, Task.kind == kind, Task.status == "open")
    ).scalars().first()


def to_pick(session, warehouse: Warehouse) -> list[Transfer]:
    return list(session.execute(
        select(Transfer).where(Transfer.source_id == warehouse.id, Transfer.status == "planned").order_by(Transfer.id)
    ).scalars())


def to_receive(session, warehouse: Warehouse) -> list[Transfer]:
    return list(session.execute(
        select(Transfer).where(Transfer.dest_id == warehouse.id, Transfer.status == "shipped").order_by(Transfer.id)
    ).scalars())


# --------------------------------------------------------------------------
# Pick and ship at the source
# --------------------------------------------------------------------------


def start_pick(session, warehouse: Warehouse, user: User, tr: Transfer) -> Task:
    if tr.source_id != warehouse.id:
        raise tasks.TaskError(_("%(tr)s ships from %(source)s, not from here.", tr=tr.number, source=tr.source.code))
    if tr.status != "planned":
        raise tasks.TaskError(_("%(tr)s is %(status)s already.", tr=tr.number, status=tr.status))
    existing = _open_task(session, tr, "transfer_out")
    if existing is not None:
        return existing
    expire_due(session, warehouse, {ln.item_id for ln in tr.lines}, user_id=user.id)  # never allocated: first touch
    needs = [task_rules.Need(ln.id, ln.item_id, ln.qty) for ln in tr.lines if ln.qty > 0]
    plans, _missing = task_rules.allocate(needs, allocation.slots(session, warehouse, {n.item_id for n in needs}), today=date.today())
    if not plans:
        raise tasks.TaskError(_("None of %(tr)s is in a storage bin: count the bins, or cancel it.", tr=tr.number))
    task = tasks.create(session, "transfer_out", warehouse, user, transfer_id=tr.id, note=f"{tr.number} → {tr.dest.code}")
    for n, p in enumerate(plans, 1):
        session.add(TaskLine(task_id=task.id, seq=n, item_id=p.item_id, lot=p.lot, bin_id=p.bin_id,
                             transfer_line_id=p.ref, expected=p.qty))
    session.flush()
    session.refresh(task)
    return task


def on_pick_scan(ctx: tasks.Ctx):
    inp, task = ctx.inp, ctx.task
    tr = task.transfer
    line = walk.current_line(task)
    if inp.action == "ship":
        return _ship(ctx, tr)
    if inp.action == "short":
        if line is None:
            raise tasks.TaskError(_("Every line is done."))
        ctx.look_twice("short", f"Only {line.done} of {line.expected} × {line.item.name} here?",
                       f"Short: {line.remaining} not found")
        walk.report_short(ctx, line, tr.number)
        return "warn", f"Short: {line.done} of {line.expected} found; bin {line.bin.code} will be counted." + _next(task, line)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    if scan.code.upper() == tr.number:
        return _ship(ctx, tr)
    if line is None:
        raise tasks.TaskError(_("Everything is picked: scan %(tr)s or tap Ship.", tr=tr.number))
    hit = walk.walk(ctx, line, scan)
    if isinstance(hit, (str, tuple)):
        return hit
    qty = ctx.units(hit)
    if qty > line.remaining:
        raise tasks.TaskError(_("Too many: %(remaining)s left on this line — that was %(qty)s.", remaining=line.remaining, qty=qty))
    staging = bin_of_type(ctx.session, ctx.warehouse, "staging")
    ctx.move("move", line.item, qty, from_bin=line.bin.code, to_bin=staging.code, lot=line.lot or None,
             doc_type="transfer", doc_id=tr.id, reason=f"pick {tr.number}")
    line.done += qty
    line.transfer_line.picked += qty
    message = f"Picked {qty} × {line.item.name} for {tr.number}"
    refill = replenishing.after_pick(ctx.session, ctx.warehouse, line.bin_id, line.item_id, ctx.inp.user_id)
    if refill is not None:
        message += " · " + _("Pick face %(bin)s is low: replenishment %(task)s raised.", bin=line.bin.code,
                             task=refill.number)
    if line.remaining == 0:
        line.status = "done"
        return message + _next(task, line)
    return message + f" · {line.remaining} more"


def _next(task: Task, done: TaskLine) -> str:
    nxt = walk.current_line(task)
    if nxt is None:
        return f" · all picked: scan {task.transfer.number} or tap Ship"
    return f" · next: bin {nxt.bin.code}" if nxt.bin_id != done.bin_id else f" · next: {nxt.item.name} here"


def _ship(ctx, tr: Transfer):
    task = ctx.task
    if walk.current_line(task) is not None:
        ctx.warn_unless("ship_partial", "Not everything is picked: the rest goes back to sale.")
    picked = [ln for ln in task.lines if ln.done > 0]
    if not picked:
        raise tasks.TaskError(_("Nothing is picked yet."))
    staging = bin_of_type(ctx.session, ctx.warehouse, "staging")
    for ln in picked:
        ctx.move("transfer_ship", ln.item, ln.done, from_bin=staging.code, lot=ln.lot or None,
                 dest_warehouse=tr.dest.code, doc_type="transfer", doc_id=tr.id, reason=f"ship {tr.number}")
        ln.transfer_line.shipped += ln.done
    released = 0
    for tl in tr.lines:
        left = tl.qty - tl.shipped
        if left > 0:
            ctx.move("transfer_release", tl.item, left, doc_type="transfer", doc_id=tr.id,
                     reason=f"{tr.number} shipped short")
            released += left
    for ln in task.lines:
        if ln.status == "open":
            ln.status = "short"
            ln.short += ln.remaining
    tr.status = "shipped"
    tr.shipped_at = utcnow()
    tasks.close(ctx)
    shipped = sum(tl.shipped for tl in tr.lines)
    message = f"{tr.number} shipped to {tr.dest.code}: {shipped} units in transit"
    if released:
        ctx.exception("transfer_difference", f"{tr.number} shipped {released} unit(s) short; they are back on sale at "
                      f"{tr.source.code}", qty=released)
        return "warn", message + f"; {released} not picked, back on sale."
    return message


# --------------------------------------------------------------------------
# Receive at the destination
# --------------------------------------------------------------------------


def start_receive(session, warehouse: Warehouse, user: User, tr: Transfer) -> Task:
    if tr.dest_id != warehouse.id:
        raise tasks.TaskError(_("%(tr)s goes to %(dest)s, not here.", tr=tr.number, dest=tr.dest.code))
    if tr.status != "shipped":
        raise tasks.TaskError(_("%(tr)s is received: nothing to receive.", tr=tr.number) if tr.status == "received"
                              else _("%(tr)s has not shipped yet.", tr=tr.number))
    existing = _open_task(session, tr, "transfer_in")
    return existing or tasks.create(session, "transfer_in", warehouse, user, transfer_id=tr.id,
                                    note=f"{tr.number} from {tr.source.code}")


def on_receive_scan(ctx: tasks.Ctx):
    inp, tr = ctx.inp, ctx.task.transfer
    if inp.action == "damaged":
        on = not ctx.state().get("damaged")
        ctx.set_state(damaged=on or None)
        return _("Next scans arrived damaged") if on else _("Next scans are in good condition")
    if inp.action == "close":
        return _close_receipt(ctx, tr)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    hit = resolve.require_item(ctx.session, scan, "item", warehouse=ctx.warehouse)
    qty = ctx.units(hit)
    damaged = bool(ctx.state().get("damaged"))
    line = next((ln for ln in tr.lines if ln.item_id == hit.item.id), None)
    room = (line.shipped - line.received - line.damaged) if line else 0
    within = min(qty, room)
    extra = qty - within
    if extra:
        what = f"{line.shipped} shipped" if line else f"not on {tr.number}"
        ctx.warn_unless("extra", f"Extra: {hit.item.name} is {what}; this would be {extra} more.")
    dock = bin_of_type(ctx.session, ctx.warehouse, "dock")
    condition = "damaged" if damaged else None
    if within:
        ctx.move("transfer_receive", hit.item, within, to_bin=dock.code, lot=hit.lot, expiry=hit.expiry,
                 condition=condition, doc_type="transfer", doc_id=tr.id, reason=f"receive {tr.number}")
        if damaged:
            line.damaged += within
        else:
            line.received += within
    if extra:
        ctx.move("receive", hit.item, extra, to_bin=dock.code, lot=hit.lot, expiry=hit.expiry, condition=condition,
                 doc_type="transfer", doc_id=tr.id, reason=f"{tr.number} extra")
        if line is None:
            line = TransferLine(transfer_id=tr.id, line_no=len(tr.lines) + 1, item_id=hit.item.id, qty=0, picked=0,
                                shipped=0, received=0, damaged=0, extra=0, missing=0)
            ctx.session.add(line)
            tr.lines.append(line)
        line.extra += extra
    state = " damaged" if damaged else ""
    return f"Received {qty} × {hit.item.name}{state}" + (f" ({extra} extra)" if extra else "")


def _close_receipt(ctx, tr: Transfer):
    diffs = []
    for ln in tr.lines:
        missing = ln.shipped - ln.received - ln.damaged
        if missing > 0:
            ctx.move("transit_loss", ln.item, missing, doc_type="transfer", doc_id=tr.id,
                     reason=f"{tr.number} missing on arrival")
            ln.missing += missing
            diffs.append(f"{ln.item.sku} missing {missing}")
        if ln.damaged:
            diffs.append(f"{ln.item.sku} damaged {ln.damaged}")
        if ln.extra:
            diffs.append(f"{ln.item.sku} extra {ln.extra}")
    tr.status = "received"
    tr.received_at = utcnow()
    tasks.close(ctx)
    received = sum(ln.received for ln in tr.lines)
    if diffs:
        ctx.exception("transfer_difference", f"{tr.number} from {tr.source.code}: " + "; ".join(diffs),
                      qty=sum(ln.missing + ln.damaged + ln.extra for ln in tr.lines))
        return "warn", f"{tr.number} received: {received} units. Differences: {'; '.join(diffs)}."
    return f"{tr.number} received in full: {received} units. Put them away from the dock."


def transfer_dict(tr: Transfer) -> dict:
    return {
        "number": tr.number,
        "from": tr.source.code,
        "to": tr.dest.code,
        "status": tr.status,
        "lines": [
            {"sku": ln.item.sku, "qty": ln.qty, "picked": ln.picked, "shipped": ln.shipped, "received": ln.received,
             "damaged": ln.damaged, "extra": ln.extra, "missing": ln.missing}
            for ln in tr.lines
        ],
    }


# --------------------------------------------------------------------------
# The kinds: pick and ship walks as picking does; receive as a receipt
# --------------------------------------------------------------------------


def _out_step(task: Task) -> str:
    return walk.walk_step(task) or _("Scan %(transfer)s or tap Ship to send it", transfer=task.transfer.number)


def _in_step(task: Task) -> str:
    damaged = (task.state or {}).get("damaged")
    return _("Damaged: scan the item, then Close") if damaged else _("Scan each item that arrived, then Close")


TRANSFER_OUT = tasks.TaskKind(
    "transfer_out", N_("Transfer: pick and ship"), on_pick_scan, _out_step,
    panel=lambda s, task: {"transfer": task.transfer, "line": walk.current_line(task)},
    start=lambda s, warehouse: {"transfers": to_pick(s, warehouse)},
)
TRANSFER_IN = tasks.TaskKind(
    "transfer_in", N_("Transfer: receive"), on_receive_scan, _in_step,
    panel=lambda s, task: {"transfer": task.transfer, "line": None},
    start=lambda s, warehouse: {"transfers": to_receive(s, warehouse)},
)
