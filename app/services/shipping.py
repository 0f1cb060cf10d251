"""Packing and shipping at the dock: scan the order (or its tote), check every line is picked, ship.

Shipping writes one ship movement per line in one transaction (I-q, O-q,
out of outbound staging). An order with lines still to pick ships only
partly, with a reason; the rest stays reserved and open.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from scanners.parse import expect

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import Movement, Order, Task
from . import tasks


def find_order(session, warehouse, scan) -> Order:
    """The order a scan names: its number (SO-...), its tote, or the channel's reference typed in."""
    order = None
    if scan.kind == "order":
        order = session.get(Order, int(scan.code))
    elif scan.kind == "plate":
        order = session.execute(
            select(Order).where(Order.tote == scan.code, Order.status == "open")
        ).scalars().first()
        if order is None:
            raise tasks.TaskError(_("Tote %(scan)s holds no open order.", scan=scan.code))
    else:
        # A channel's own reference, typed or scanned from its paperwork.
        order = session.execute(
            select(Order).where(Order.external_id == scan.raw).order_by(Order.id.desc())
        ).scalars().first()
        if order is None:
            expect(scan, "order", "plate")
    if order is None:
        raise tasks.TaskError(_("No order %(scan)s.", scan=scan.raw))
    if order.warehouse_id != warehouse.id:
        raise tasks.TaskError(_("%(order)s ships from %(warehouse)s, not %(warehouse2)s.", order=order.number, warehouse=order.warehouse.code, warehouse2=warehouse.code))
    return order


def start(session, warehouse, user, order: Order) -> Task:
    if order.warehouse_id != warehouse.id:
        raise tasks.TaskError(_("%(order)s ships from %(warehouse)s, not %(warehouse2)s.", order=order.number, warehouse=order.warehouse.code, warehouse2=warehouse.code))
    if order.status != "open":
        raise tasks.TaskError(_("%(order)s is %(status)s.", order=order.number, status=order.status))
    if not any(ln.staged > 0 for ln in order.lines):
        raise tasks.TaskError(_("Nothing of %(order)s is picked yet: pick it first, then ship it.", order=order.number))
    existing = session.execute(
        select(Task).where(Task.kind == "ship", Task.status == "open", Task.order_id == order.id)
    ).scalars().first()
    return existing or tasks.create(session, "ship", warehouse, user, order_id=order.id)


def on_scan(ctx: tasks.Ctx):
    inp, order = ctx.inp, ctx.task.order
    if inp.action == "ship":
        return ship(ctx, partial_reason=None)
    if inp.action == "partial":
        return ship(ctx, partial_reason=rules.reason(rules.PARTIAL_SHIP_REASONS, inp.value))
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    if scan.kind in ("order", "plate") or scan.kind == "unknown":
        found = find_order(ctx.session, ctx.warehouse, scan)
        if found.id != order.id:
            raise tasks.TaskError(_("This is the shipment of %(order)s — that was %(found)s.", order=order.number, found=found.number))
        # Scanning the order again at the dock is the confirmation.
        return ship(ctx, partial_reason=None)
    expect(scan, "order", "plate")


def ship(ctx, partial_reason: str | None):
    order = ctx.task.order
    lines = [ln for ln in order.lines if ln.staged > 0]
    missing = [ln for ln in order.lines if ln.to_pick > 0]
    if not lines:
        raise tasks.TaskError(_("Nothing of %(order)s is picked yet.", order=order.number))
    if missing and partial_reason is None:
        left = ", ".join(f"{ln.item.sku} {ln.to_pick}" for ln in missing)
        raise tasks.TaskError(_("Not everything is picked (%(left)s to pick). Choose a reason to ship part.", left=left))
    shipped = 0
    lots = staged_lots(ctx.session, order)
    for ln in sorted(lines, key=lambda x: x.item_id):
        for lot, qty in sorted(lots.get(ln.item_id, {}).items()):
            if qty <= 0:
                continue
            ctx.move("ship", ln.item, qty, lot=lot, doc_type="order", doc_id=order.id,
                     reason=f"shipped {order.number}" + (f" (partial: {partial_reason})" if partial_reason else ""))
            # ship_from_order lowered reserved and raised shipped on the order's lines.
            shipped += qty
    ctx.session.flush()
    ctx.session.refresh(order)
    for ln in order.lines:
        ctx.session.refresh(ln)
    if all(ln.to_pick == 0 and ln.staged == 0 and ln.backordered == 0 for ln in order.lines):
        order.status = "shipped"
        order.tote = None
    tasks.close(ctx, note=f"partial: {partial_reason}" if partial_reason else None)
    if partial_reason:
        return "warn", _("Shipped %(shipped)s units of %(order)s (partial: %(why)s); the rest stays open.",
                         shipped=shipped, order=order.number, why=_(partial_reason))
    return _("Shipped %(order)s: %(shipped)s units", order=order.number, shipped=shipped)


def staged_lots(session, order: Order) -> dict[int, dict[str, int]]:
    """What of this order waits at staging, per item and lot: its picks less its shipments."""
    rows = session.execute(
        select(Movement.item_id, Movement.lot, Movement.kind, func.sum(Movement.qty))
        .where(Movement.doc_type == "order", Movement.doc_id == order.id, Movement.kind.in_(("pick", "ship")))
        .group_by(Movement.item_id, Movement.lot, Movement.kind)
    ).all()
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item_id, lot, kind, qty in rows:
        out[item_id][lot] += qty if kind == "pick" else -qty
    return out


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def start_screen(s, warehouse) -> dict:
    """Open orders with units staged, ready to ship."""
    orders = s.execute(select(Order).where(Order.warehouse_id == warehouse.id, Order.status == "open")
                       .order_by(Order.id)).scalars()
    return {"orders": [o for o in orders if any(ln.staged for ln in o.lines)]}


SHIP = tasks.TaskKind("ship", N_("Shipping"), on_scan,
                      lambda task: _("Scan %(order)s again to ship it", order=task.order.number),
                      panel=lambda s, task: {"reasons": rules.PARTIAL_SHIP_REASONS}, start=start_screen,
                      qty_field=False)
