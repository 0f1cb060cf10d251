"""Putaway: scan what was received (an item or a pallet's plate), get a bin, scan the bin.

The stock comes from the receiving docks, the returns bins (restored
returns) and, for what a cancelled order had picked, staging; it goes where the item already is, else to the first empty
storage bin on the walk. Another storage bin is accepted with a warning.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, exists, select

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import Bin, BinStock, FloorException, Item, LicencePlate, TaskLine, utcnow
from . import resolve, tasks

SOURCE_TYPES = ("dock", "returns")


@dataclass
class Waiting:
    """Stock waiting in one bin to be put away: one (item, lot) there, and how much of it."""

    item: Item
    lot: str
    qty: int

    @property
    def item_id(self) -> int:
        return self.item.id


def waiting(session, warehouse, item_id: int | None = None, lot: str | None = None) -> list[tuple[Bin, Waiting]]:
    """Sellable stock waiting to be put away: in the docks and returns bins, and in staging what a
    cancelled order left there (each such lot is an open `cancelled_staged` exception until put away)."""
    q = (
        select(Bin, BinStock)
        .join(BinStock, BinStock.bin_id == Bin.id)
        .where(Bin.warehouse_id == warehouse.id, Bin.type.in_(SOURCE_TYPES), BinStock.condition == "sellable",
               BinStock.qty > 0)
        .order_by(Bin.walk_order, Bin.code, BinStock.item_id, BinStock.lot)
    )
    if item_id is not None:
        q = q.where(BinStock.item_id == item_id)
    if lot:
        q = q.where(BinStock.lot == lot)
    out = [(b, Waiting(bs.item, bs.lot, bs.qty)) for b, bs in session.execute(q)]
    for (b, item, lot_), qty in _left_in_staging(session, warehouse, item_id).items():
        if not lot or lot == lot_:
            out.append((b, Waiting(item, lot_, qty)))
    return out


def _cancelled_in_staging(session, warehouse, item_id=None):
    q = select(FloorException).where(
        FloorException.warehouse_id == warehouse.id, FloorException.kind == "cancelled_staged",
        FloorException.status == "open", FloorException.qty > 0,
    ).order_by(FloorException.id)
    if item_id is not None:
        q = q.where(FloorException.item_id == item_id)
    return session.execute(q).scalars().all()


def _left_in_staging(session, warehouse, item_id=None) -> dict:
    """(staging bin, item, lot) -> units a cancelled order left there, no more than the bin still holds."""
    left = defaultdict(int)
    for exc in _cancelled_in_staging(session, warehouse, item_id):
        left[(exc.bin_id, exc.item_id, exc.code or "")] += exc.qty
    out = {}
    for (bin_id, i_id, lot_), qty in left.items():
        held = session.execute(
            select(BinStock.qty).where(BinStock.bin_id == bin_id, BinStock.item_id == i_id, BinStock.lot == lot_,
                                       BinStock.condition == "sellable")
        ).scalar_one_or_none() or 0
        if min(qty, held) > 0:
            out[(session.get(Bin, bin_id), session.get(Item, i_id), lot_)] = min(qty, held)
    return out


def _settle_staged(ctx, item_id: int, lot: str, qty: int, target: Bin) -> None:
    """Units a cancelled order left in staging were put away: its exceptions count down and close."""
    for exc in _cancelled_in_staging(ctx.session, ctx.warehouse, item_id):
        if qty <= 0:
            break
        if (exc.code or "") != lot:
            continue
        take = min(qty, exc.qty)
        exc.qty -= take
        qty -= take
        if exc.qty == 0:
            exc.status = "resolved"
            exc.resolution = f"Put away in {target.code}"
            exc.resolved_by = ctx.inp.user_id
            exc.resolved_at = utcnow()


def suggestion(session, warehouse, item_id: int) -> Bin | None:
    holding = session.execute(
        select(Bin)
        .join(BinStock, BinStock.bin_id == Bin.id)
        .where(Bin.warehouse_id == warehouse.id, Bin.type == "storage", BinStock.item_id == item_id,
               BinStock.condition == "sellable", BinStock.qty > 0)
    ).scalars().all()
    occupied = exists().where(and_(BinStock.bin_id == Bin.id, BinStock.qty > 0))
    empty = session.execute(
        select(Bin)
        .where(Bin.warehouse_id == warehouse.id, Bin.type == "storage", ~occupied, Bin.count_requested_at.is_(None))
        .order_by(Bin.walk_order, Bin.code)
        .limit(1)
    ).scalars().all()
    choice = rules.suggest_bin(
        [rules.BinChoice(b.id, b.code, b.walk_order, True) for b in holding],
        [rules.BinChoice(b.id, b.code, b.walk_order, False) for b in empty],
    )
    return session.get(Bin, choice.bin_id) if choice else None


def on_scan(ctx: tasks.Ctx):
    inp, state = ctx.inp, ctx.state()
    if inp.action == "cancel":
        ctx.set_state(load=None)
        return _("Cleared. Scan the next item or pallet.")
    if inp.action == "close":
        tasks.close(ctx)
        return _("Putaway finished.")
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    load = state.get("load")
    target = resolve.find_bin(ctx.session, ctx.warehouse, scan)
    if target is not None or (scan.kind == "bin" and resolve.find_item(ctx.session, scan) is None):
        if not load:
            raise tasks.TaskError(_("Scan an item or a pallet first — that was a bin."))
        return _put(ctx, load, scan)
    if scan.kind == "plate":
        return _take_plate(ctx, scan.code)
    hit = resolve.require_item(ctx.session, scan, "item", "plate", "bin", warehouse=ctx.warehouse)
    return _take_item(ctx, hit)


def _take_item(ctx, hit) -> str:
    rows = waiting(ctx.session, ctx.warehouse, hit.item.id, hit.lot)
    if not rows:
        raise tasks.TaskError(_("No %(item)s is waiting at the dock, in returns or left by a cancelled order.", item=hit.item.name))
    available = sum(bs.qty for _, bs in rows)
    wanted = available
    if ctx.qty_entered():
        wanted = ctx.units(hit)
        if wanted > available:
            raise tasks.TaskError(_("Only %(available)s of %(item)s wait to be put away, not %(wanted)s.", available=available, item=hit.item.name, wanted=wanted))
    sources, left = [], wanted
    for b, bs in rows:
        take = min(left, bs.qty)
        if take:
            sources.append({"bin": b.code, "lot": bs.lot, "qty": take, "staged": b.type == "staging" or None})
            left -= take
    target = suggestion(ctx.session, ctx.warehouse, hit.item.id)
    ctx.set_state(load={"item_id": hit.item.id, "qty": wanted, "sources": sources,
                        "suggested": target.code if target else None, "plate": None})
    if target is None:
        return _("%(wanted)s × %(item)s: no empty bin. Scan the bin you put it in.", wanted=wanted, item=hit.item.name)
    return _("Take %(wanted)s × %(item)s to %(target)s, then scan the bin", wanted=wanted, item=hit.item.name, target=target.code)


def _take_plate(ctx, code: str) -> str:
    s = ctx.session
    plate = s.execute(select(LicencePlate).where(LicencePlate.code == code)).scalar_one_or_none()
    contents = [c for c in plate.contents if c.qty > 0] if plate else []
    if plate is None or not contents or plate.bin_id is None:
        raise tasks.TaskError(_("Pallet %(code)s holds nothing to put away.", code=code))
    source = s.get(Bin, plate.bin_id)
    first = contents[0]
    target = suggestion(s, ctx.warehouse, first.item_id)
    ctx.set_state(load={
        "item_id": first.item_id, "qty": sum(c.qty for c in contents), "plate": plate.code,
        "sources": [{"bin": source.code, "lot": c.lot, "qty": c.qty, "item_id": c.item_id} for c in contents],
        "suggested": target.code if target else None,
    })
    lines = ", ".join(f"{c.qty} × {c.item.sku}" for c in contents)
    return _("Pallet %(plate)s (%(lines)s) → %(target)s, then scan the bin", plate=plate.code, lines=lines,
             target=target.code if target else _("a free bin"))


def _put(ctx, load: dict, scan):
    s = ctx.session
    target = resolve.find_bin(s, ctx.warehouse, scan)
    if target is None:
        raise tasks.TaskError(_("No bin %(scan)s in %(warehouse)s.", scan=scan.raw, warehouse=ctx.warehouse.code))
    if target.type != "storage":
        raise tasks.TaskError(_("Put away into a storage bin — %(target)s is a %(type)s bin.", target=target.code, type=target.type))
    warning = ""
    if load.get("suggested") and target.code != load["suggested"]:
        warning = " " + _("(not the suggested %(bin)s)", bin=load["suggested"])
    moved = 0
    for src in load["sources"]:
        item = s.get(Item, src.get("item_id") or load["item_id"])
        if src["bin"] == target.code:
            continue
        ctx.move("move", item, src["qty"], from_bin=src["bin"], to_bin=target.code, lot=src["lot"],
                 reason="putaway")
        if src.get("staged"):
            _settle_staged(ctx, item.id, src["lot"] or "", src["qty"], target)
        task = ctx.task
        s.add(TaskLine(task_id=task.id, seq=len(task.lines) + 1 + moved, item_id=item.id, lot=src["lot"],
                       bin_id=target.id, expected=src["qty"], done=src["qty"], status="done"))
        moved += 1
    if load.get("plate"):
        plate = s.execute(select(LicencePlate).where(LicencePlate.code == load["plate"])).scalar_one()
        for c in plate.contents:
            c.qty = 0
        plate.bin_id = None
    ctx.set_state(load=None)
    what = (_("pallet %(plate)s", plate=load["plate"]) if load.get("plate")
            else f"{load['qty']} × {s.get(Item, load['item_id']).name}")
    message = _("Put %(what)s in %(bin)s", what=what, bin=target.code) + warning
    if warning:
        # The stock went where the operator put it; the warning says it was not the plan.
        return "warn", message
    return message


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def step(task) -> str:
    load = (task.state or {}).get("load")
    if load:
        return _("Scan bin %(bin)s", bin=load["suggested"]) if load.get("suggested") else _("Scan the bin you put it in")
    return _("Scan an item or a pallet")


def panel(s, task) -> dict:
    load = (task.state or {}).get("load")
    return {"load_item": s.get(Item, load["item_id"]) if load else None, "waiting": waiting(s, task.warehouse)}


PUTAWAY = tasks.TaskKind("putaway", N_("Putaway"), on_scan, step, panel=panel, own=True)
