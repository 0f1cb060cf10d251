"""Shipping at the dock: scan the order (or its tote, or a parcel), check every line is picked, ship.

Shipping writes one ship movement per line in one transaction (I-q, O-q,
out of outbound staging). An order with lines still to pick ships only
partly, with a reason; the rest stays reserved and open. An order packed
into parcels (services.packing) ships by parcel: each parcel's label is
scanned at the dock, and the last one ships the order; a unit not packed, or
a parcel still open, holds it back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from scanners import ScanError
from scanners.parse import expect

from ..domain import tasks as rules
from ..domain import tracking
from ..i18n import N_, _
from ..models import Order, Task
from . import channels, tasks
from .parcels import find_parcel, parcels_of, staged_lots, to_load, unpacked


def find_order(session, warehouse, scan) -> Order:
    """The order a scan names: its number (SO-...), its tote, or the channel's reference typed in."""
    order = None
    if scan.kind == "order":
        order = session.get(Order, int(scan.code))
    elif scan.kind == "plate" and (parcel := find_parcel(session, scan.code)) is not None:
        order = parcel.order  # a parcel's SSCC label
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
    if inp.action == "carrier":  # the carrier named, for a number its barcode does not tell
        carrier = tracking.carrier_named(inp.value)
        ctx.set_state(carrier=carrier)
        return _("Now scan or type the %(carrier)s tracking number.", carrier=carrier)
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    carrier = ctx.state().get("carrier")
    try:
        scan = ctx.parse()
    except ScanError:
        if not carrier:
            raise
        scan = None  # a carrier's number that reads as a broken item barcode (12 digits)
    if carrier and (scan is None or scan.kind not in ("order", "plate")):
        return _label(ctx, tracking.typed(carrier, inp.code))
    if scan.kind == "unknown" and (found := tracking.read(scan.raw)) is not None:
        return _label(ctx, found)
    if scan.kind in ("order", "plate") or scan.kind == "unknown":
        found = find_order(ctx.session, ctx.warehouse, scan)
        if found.id != order.id:
            raise tasks.TaskError(_("This is the shipment of %(order)s — that was %(found)s.", order=order.number, found=found.number))
        parcel = find_parcel(ctx.session, scan.code) if scan.kind == "plate" else None
        if parcel is not None:
            return _load(ctx, parcel)
        # Scanning the order again at the dock is the confirmation.
        return ship(ctx, partial_reason=None)
    expect(scan, "order", "plate")


def _load(ctx, parcel):
    """A parcel's label scanned at the dock: it is loaded; the last of the order's parcels ships it."""
    if parcel.status == "shipped":
        raise tasks.TaskError(_("Parcel %(sscc)s has shipped already.", sscc=parcel.sscc))
    if parcel.status != "closed":
        raise tasks.TaskError(_("Parcel %(n)s of %(order)s is still open at packing: close it first.", n=parcel.seq,
                                order=parcel.order.number))
    loaded = sorted(set(ctx.state().get("loaded", [])) | {parcel.id})
    ctx.set_state(loaded=loaded, last_parcel=parcel.id)  # its carrier label, scanned next, goes on it
    if label := ctx.state().get("label"):  # the carrier label scanned before it
        _labelled(parcel, tracking.Tracking(label["carrier"], label["number"]))
        ctx.set_state(label=None)
    waiting = [p for p in to_load(ctx.session, ctx.task.order) if p.id not in loaded]
    if waiting:
        return _("Parcel %(n)s loaded: %(left)s more to scan (%(which)s).", n=parcel.seq, left=len(waiting),
                 which=", ".join(str(p.seq) for p in waiting))
    return ship(ctx, partial_reason=None)


def _label(ctx, found: tracking.Tracking) -> str:
    """A carrier's label: its tracking number goes on an order shipped without parcels, or on the parcel
    just loaded if that has none yet, or else on the parcel loaded next (so the last parcel's carrier
    label is scanned before the parcel, which ships the order). The channel is told when it ships."""
    order = ctx.task.order
    ctx.set_state(carrier=None)
    parcels = to_load(ctx.session, order)
    if not parcels:
        order.carrier, order.tracking = found.carrier, found.number
        return _("Tracking %(number)s (%(carrier)s) on %(order)s.", number=found.number, carrier=found.carrier,
                 order=order.number)
    last = next((p for p in parcels if p.id == ctx.state().get("last_parcel")), None)
    if last is not None and not last.tracking:
        return _labelled(last, found)
    ctx.set_state(label={"carrier": found.carrier, "number": found.number})
    return _("Tracking %(number)s (%(carrier)s): now scan its parcel.", number=found.number, carrier=found.carrier)


def _labelled(parcel, found: tracking.Tracking) -> str:
    parcel.carrier, parcel.tracking = found.carrier, found.number
    return _("Tracking %(number)s (%(carrier)s) on parcel %(n)s.", number=found.number, carrier=found.carrier,
             n=parcel.seq)


def ship(ctx, partial_reason: str | None):
    order = ctx.task.order
    lines = [ln for ln in order.lines if ln.staged > 0]
    missing = [ln for ln in order.lines if ln.to_pick > 0]
    if not lines:
        raise tasks.TaskError(_("Nothing of %(order)s is picked yet.", order=order.number))
    if missing and partial_reason is None:
        left = ", ".join(f"{ln.item.sku} {ln.to_pick}" for ln in missing)
        raise tasks.TaskError(_("Not everything is picked (%(left)s to pick). Choose a reason to ship part.", left=left))
    parcels = to_load(ctx.session, order)
    if parcels:
        left = unpacked(ctx.session, order)
        if left:
            raise tasks.TaskError(_("%(n)s units of %(order)s are in no parcel: pack them first.", n=left,
                                    order=order.number))
        still_open = [p for p in parcels if p.status != "closed"]
        if still_open:
            raise tasks.TaskError(_("Parcel %(n)s of %(order)s is still open at packing: close it first.",
                                    n=still_open[0].seq, order=order.number))
        loaded = set(ctx.state().get("loaded", []))
        waiting = [p for p in parcels if p.id not in loaded]
        if waiting:
            raise tasks.TaskError(_("Scan every parcel of %(order)s at the dock: %(which)s not yet.", order=order.number,
                                    which=", ".join(str(p.seq) for p in waiting)))
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
    for p in parcels:
        p.status = "shipped"
    if all(ln.to_pick == 0 and ln.staged == 0 and ln.backordered == 0 for ln in order.lines):
        order.status = "shipped"
        order.tote = None
    channels.order_changed(ctx.session, order, parcels)
    tasks.close(ctx, note=f"partial: {partial_reason}" if partial_reason else None)
    if partial_reason:
        return "warn", _("Shipped %(shipped)s units of %(order)s (partial: %(why)s); the rest stays open.",
                         shipped=shipped, order=order.number, why=_(partial_reason))
    if parcels:
        return _("Shipped %(order)s: %(shipped)s units in %(n)s parcels", order=order.number, shipped=shipped,
                 n=len(parcels))
    return _("Shipped %(order)s: %(shipped)s units", order=order.number, shipped=shipped)


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def start_screen(s, warehouse) -> dict:
    """Open orders with units staged, ready to ship."""
    orders = s.execute(select(Order).where(Order.warehouse_id == warehouse.id, Order.status == "open")
                       .order_by(Order.id)).scalars()
    return {"orders": [o for o in orders if any(ln.staged for ln in o.lines)]}


def step(task: Task) -> str:
    parcels = to_load(object_session(task), task.order)
    if parcels:
        loaded = set((task.state or {}).get("loaded", []))
        return _("Scan each parcel of %(order)s to load it: %(done)s of %(n)s", order=task.order.number,
                 done=sum(p.id in loaded for p in parcels), n=len(parcels))
    return _("Scan %(order)s again to ship it", order=task.order.number)


def panel(s, task: Task) -> dict:
    return {"reasons": rules.PARTIAL_SHIP_REASONS, "carriers": tracking.CARRIERS,
            "parcels": [p for p in parcels_of(s, task.order) if p.lines]}


SHIP = tasks.TaskKind("ship", N_("Shipping"), on_scan, step, panel=panel, start=start_screen,
                      qty_field=False)
