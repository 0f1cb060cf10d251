"""Putaway: scan what was received (an item or a pallet's plate), get a bin, scan the bin.

The stock comes from the receiving docks and the returns bins (restored
returns); it goes where the item already is, else to the first empty
storage bin on the walk. Another storage bin is accepted with a warning.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, select

from ..domain import tasks as rules
from ..models import Bin, BinStock, Item, LicencePlate, TaskLine
from . import tasks

SOURCE_TYPES = ("dock", "returns")


def waiting(session, warehouse, item_id: int | None = None, lot: str | None = None) -> list[tuple[Bin, BinStock]]:
    """Sellable stock in the docks and returns bins, waiting to be put away."""
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
    return [tuple(r) for r in session.execute(q)]


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
        return "Cleared. Scan the next item or pallet."
    if inp.action == "close":
        tasks.close(ctx)
        return "Putaway finished."
    if inp.action:
        raise tasks.TaskError(f"Unknown action {inp.action[:20]!r}")
    scan = ctx.parse()
    load = state.get("load")
    if scan.kind == "bin" or (scan.kind == "unknown" and tasks.find_bin(ctx.session, ctx.warehouse, scan)):
        if not load:
            raise tasks.TaskError("Scan an item or a pallet first — that was a bin.")
        return _put(ctx, load, scan)
    if scan.kind == "plate":
        return _take_plate(ctx, scan.code)
    hit = tasks.require_item(ctx.session, scan, "item", "plate", "bin")
    return _take_item(ctx, hit)


def _take_item(ctx, hit) -> str:
    rows = waiting(ctx.session, ctx.warehouse, hit.item.id, hit.lot)
    if not rows:
        raise tasks.TaskError(f"No {hit.item.name} is waiting at the dock or in returns.")
    available = sum(bs.qty for _, bs in rows)
    wanted = available
    if ctx.qty_entered():
        wanted = rules.scan_units(hit.pack_qty, ctx.qty_entered())
        if wanted > available:
            raise tasks.TaskError(f"Only {available} of {hit.item.name} wait to be put away, not {wanted}.")
    sources, left = [], wanted
    for b, bs in rows:
        take = min(left, bs.qty)
        if take:
            sources.append({"bin": b.code, "lot": bs.lot, "qty": take})
            left -= take
    target = suggestion(ctx.session, ctx.warehouse, hit.item.id)
    ctx.set_state(load={"item_id": hit.item.id, "qty": wanted, "sources": sources,
                        "suggested": target.code if target else None, "plate": None})
    if target is None:
        return f"{wanted} × {hit.item.name}: no empty bin. Scan the bin you put it in."
    return f"Take {wanted} × {hit.item.name} to {target.code}, then scan the bin"


def _take_plate(ctx, code: str) -> str:
    s = ctx.session
    plate = s.execute(select(LicencePlate).where(LicencePlate.code == code)).scalar_one_or_none()
    contents = [c for c in plate.contents if c.qty > 0] if plate else []
    if plate is None or not contents or plate.bin_id is None:
        raise tasks.TaskError(f"Pallet {code} holds nothing to put away.")
    source = s.get(Bin, plate.bin_id)
    first = contents[0]
    target = suggestion(s, ctx.warehouse, first.item_id)
    ctx.set_state(load={
        "item_id": first.item_id, "qty": sum(c.qty for c in contents), "plate": plate.code,
        "sources": [{"bin": source.code, "lot": c.lot, "qty": c.qty, "item_id": c.item_id} for c in contents],
        "suggested": target.code if target else None,
    })
    lines = ", ".join(f"{c.qty} × {c.item.sku}" for c in contents)
    return f"Pallet {plate.code} ({lines}) → {target.code if target else 'a free bin'}, then scan the bin"


def _put(ctx, load: dict, scan):
    s = ctx.session
    target = tasks.find_bin(s, ctx.warehouse, scan)
    if target is None:
        raise tasks.TaskError(f"No bin {scan.code} in {ctx.warehouse.code}.")
    if target.type != "storage":
        raise tasks.TaskError(f"Put away into a storage bin — {target.code} is a {target.type} bin.")
    warning = ""
    if load.get("suggested") and target.code != load["suggested"]:
        warning = f" (not the suggested {load['suggested']})"
    moved = 0
    for src in load["sources"]:
        item = s.get(Item, src.get("item_id") or load["item_id"])
        if src["bin"] == target.code:
            continue
        ctx.move("move", item, src["qty"], from_bin=src["bin"], to_bin=target.code, lot=src["lot"],
                 reason="putaway")
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
    what = f"pallet {load['plate']}" if load.get("plate") else f"{load['qty']} × {s.get(Item, load['item_id']).name}"
    message = f"Put {what} in {target.code}{warning}"
    if warning:
        # The stock went where the operator put it; the warning says it was not the plan.
        return "warn", message
    return message
