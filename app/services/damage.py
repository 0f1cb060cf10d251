"""Damage tagging: scan the bin, scan the damaged item, with a reason.

Sellable units become unsellable (S-q, U+q), in place or moved to the
quarantine bin. Never refused for want of sellable stock: when the units
were reserved, the newest reservations are released, their orders flagged
short, and an exception tells the supervisor.
"""

from __future__ import annotations

from ..domain import tasks as rules
from ..models import Order, TaskLine
from . import tasks
from .stock import bin_of_type


def on_scan(ctx: tasks.Ctx):
    inp, state = ctx.inp, ctx.state()
    if inp.action == "reason":
        label = rules.reason(rules.DAMAGE_REASONS, inp.value)
        ctx.set_state(reason=inp.value)
        return f"Reason: {label}"
    if inp.action == "quarantine":
        on = not state.get("quarantine")
        ctx.set_state(quarantine=on or None)
        return "Damaged units go to quarantine" if on else "Damaged units stay in their bin"
    if inp.action == "close":
        tasks.close(ctx)
        return "Damage tagging finished."
    if inp.action:
        raise tasks.TaskError(f"Unknown action {inp.action[:20]!r}")
    scan = ctx.parse()
    found = tasks.find_bin(ctx.session, ctx.warehouse, scan)
    if found is not None:
        ctx.set_state(bin=found.code)
        return f"Bin {found.code}: scan the damaged item"
    hit = tasks.require_item(ctx.session, scan, "bin", "item")
    if not state.get("bin"):
        raise tasks.TaskError(f"Scan the bin first — that was {hit.item.name}.")
    return _tag(ctx, hit, state)


def _tag(ctx, hit, state):
    qty = rules.scan_units(hit.pack_qty, ctx.qty_entered(), hit.count)
    label = rules.DAMAGE_REASONS[state.get("reason", "broken")]
    to_bin = bin_of_type(ctx.session, ctx.warehouse, "quarantine").code if state.get("quarantine") else None
    result = ctx.move("damage", hit.item, qty, from_bin=state["bin"], to_bin=to_bin, lot=hit.lot,
                      reason=f"damage: {label}")
    task = ctx.task
    ctx.session.add(TaskLine(task_id=task.id, seq=len(task.lines) + 1, item_id=hit.item.id,
                             lot=result.movement["lot"] or "", expected=qty, damaged=qty, status="done"))
    where = f" → {to_bin}" if to_bin else " (stays in the bin)"
    message = f"Damaged {qty} × {hit.item.name} ({label}) in {state['bin']}{where}"
    if result.flagged_orders:
        numbers = ", ".join(ctx.session.get(Order, oid).number for oid in sorted(set(result.flagged_orders)))
        ctx.exception(
            "reservation_released",
            f"Damage of {qty} × {hit.item.sku} in {state['bin']} released reservations of {numbers}",
            item_id=hit.item.id, qty=qty, order_id=result.flagged_orders[0],
        )
        return "warn", f"{message}. Reserved stock: {numbers} now short."
    return message
