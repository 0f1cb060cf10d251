"""The pick walk, shared by every task that takes stock from bins line by line (an order's pick
list, a transfer's, a pick face's replenishment): which line is next, what a scan on it means (the
bin first, then its item; an expired lot booked expired and not taken), the step it shows, and a
line closed short."""

from __future__ import annotations

from datetime import date

from ..domain import stock as d
from ..i18n import _
from ..models import Task, TaskLine, utcnow
from . import resolve, tasks
from .expiry import lot_expiry
from .expiry import reason as expiry_reason
from .stock import bin_held


def current_line(task: Task) -> TaskLine | None:
    return next((ln for ln in task.lines if ln.status == "open"), None)


def walk(ctx: tasks.Ctx, line: TaskLine, scan):
    """One scan on a pick walk (an order's pick list, or a transfer's): the bin first, then its item.

    Returns the words for a bin reached, or the item hit to take from it (checked to be the
    line's item, scanned at the line's bin); raises TaskError for the wrong bin or item.
    """
    found_bin = resolve.find_bin(ctx.session, ctx.warehouse, scan)
    if found_bin is not None:
        if found_bin.id != line.bin_id:
            raise tasks.TaskError(_("Wrong bin: go to %(bin)s — that was %(found)s.", bin=line.bin.code, found=found_bin.code))
        ctx.set_state(at_bin=found_bin.id)
        return _("Bin %(found)s: now scan %(item)s (%(remaining)s)", found=found_bin.code, item=line.item.name, remaining=line.remaining)
    hit = resolve.require_item(ctx.session, scan, "bin", "item", warehouse=ctx.warehouse)
    if ctx.state().get("at_bin") != line.bin_id:
        raise tasks.TaskError(_("Scan bin %(bin)s first — that was %(item)s.", bin=line.bin.code, item=hit.item.name))
    if hit.item.id != line.item_id:
        raise tasks.TaskError(_("Wrong item: pick %(item)s — that was %(item2)s.", item=line.item.name, item2=hit.item.name))
    lot = hit.lot or line.lot
    expiry = lot_expiry(ctx.session, line.item_id, lot)
    if d.is_expired(expiry, date.today()):
        # First touch: the lot's units in this bin are booked as expired, and none is picked.
        held = bin_held(ctx.session, line.bin_id, line.item_id, lot, "sellable")
        if held:
            ctx.move("expire", line.item, held, from_bin=line.bin.code, lot=lot,
                     reason=expiry_reason(lot, expiry))
        return "warn", _("Lot %(lot)s expired on %(date)s: not picked. It is booked as expired in %(bin)s: set it "
                         "aside, and tap Short if no other lot is here.", lot=lot, date=expiry.isoformat(),
                         bin=line.bin.code)
    return hit


def report_short(ctx: tasks.Ctx, line: TaskLine, doc: str, **refs) -> int:
    """Close a pick line short: the bin is asked to be counted and a supervisor sees a short_pick
    exception (for an order's pick and a transfer's alike). Returns the units not found."""
    missing = line.remaining
    line.short += missing
    line.status = "short"
    b = line.bin
    b.count_requested_at = utcnow()
    b.count_reason = f"Short pick {ctx.task.number}: {line.item.sku} {line.done} of {line.expected} found"[:200]
    ctx.exception(
        "short_pick",
        f"Short pick in {b.code}: {line.item.sku} for {doc}, {line.done} of {line.expected} found; "
        f"{missing} still {'reserved' if 'order_id' in refs else 'allocated'}",
        item_id=line.item_id, bin_id=b.id, qty=missing, **refs,
    )
    return missing


def walk_step(task: Task) -> str | None:
    """Where the walk goes next: the bin to scan, then the item; None when nothing is left to pick."""
    line = current_line(task)
    if line is None:
        return None
    if (task.state or {}).get("at_bin") != line.bin_id:
        return _("Go to bin %(bin)s and scan it", bin=line.bin.code)
    if line.remaining > 1:
        return _("Scan %(item)s × %(n)s", item=line.item.name, n=line.remaining)
    return _("Scan %(item)s", item=line.item.name)
