"""Moving stock between bins: an item (with a quantity), a pallet, or everything a bin holds.

Scan the bin to take from, then an item (a typed quantity, else one pack a scan, scans adding up),
a pallet's plate, or the same bin again for all it holds; then scan the bin it goes to. Each put is
one `move` movement per (item, lot, condition): no bucket changes, the ledger shows from and to.
Where stock may go is domain.tasks.move_refusal (sellable into storage, damaged between quarantine
bins, returned between returns bins; never out of staging). Units on a pallet move with the pallet;
a move that takes units an open pick list expects in that bin asks to be confirmed.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import Bin, BinStock, Item, LicencePlate, PlateItem, TaskLine
from . import allocation, resolve, tasks

CONDITION_ORDER = ("sellable", "returned", "damaged", "expired")  # which stock an item scan takes, when a bin holds several


def _bin(s, warehouse, code: str) -> Bin | None:
    return s.execute(select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.code == code)).scalar_one_or_none()


def _stock(s, bin_id: int, item_id: int | None = None) -> list[BinStock]:
    q = select(BinStock).where(BinStock.bin_id == bin_id, BinStock.qty > 0)
    if item_id is not None:
        q = q.where(BinStock.item_id == item_id)
    return list(s.execute(q.order_by(BinStock.item_id, BinStock.lot, BinStock.condition)).scalars())


def _plates(s, bin_id: int) -> list[LicencePlate]:
    """The pallets standing in a bin with something on them."""
    return list(s.execute(
        select(LicencePlate).where(LicencePlate.bin_id == bin_id,
                                   select(PlateItem.id).where(PlateItem.plate_id == LicencePlate.id,
                                                              PlateItem.qty > 0).exists())
        .order_by(LicencePlate.code)).scalars())


def _on_plates(s, bin_id: int, item_id: int, lot: str) -> int:
    return s.execute(
        select(func.coalesce(func.sum(PlateItem.qty), 0)).join(LicencePlate, LicencePlate.id == PlateItem.plate_id)
        .where(LicencePlate.bin_id == bin_id, PlateItem.item_id == item_id, PlateItem.lot == lot)
    ).scalar_one()


def on_scan(ctx: tasks.Ctx):
    inp, state = ctx.inp, ctx.state()
    if inp.action == "cancel":
        if state.get("load"):
            ctx.set_state(load=None)
            return _("Put back. Scan an item, a pallet, or the bin again for all of it.")
        ctx.set_state(source=None)
        return _("Scan the bin to take stock from, or a pallet.")
    if inp.action == "close":
        tasks.close(ctx)
        return _("Moving finished.")
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    s, scan = ctx.session, ctx.parse()
    if scan.kind == "plate":
        return _take_plate(ctx, scan.code)
    target = resolve.find_bin(s, ctx.warehouse, scan)
    if target is not None:
        if state.get("load"):
            return _put(ctx, state["load"], target)
        if state.get("source") == target.code:
            return _take_bin(ctx, target)
        return _choose_source(ctx, target)
    hit = resolve.require_item(s, scan, "item", "plate", "bin", warehouse=ctx.warehouse)
    if not state.get("source"):
        raise tasks.TaskError(_("Scan the bin to take it from first — that was %(item)s.", item=hit.item.name))
    return _take_item(ctx, hit)


def _choose_source(ctx, b: Bin) -> str:
    if b.type == "staging":
        raise tasks.TaskError(_("Staged stock belongs to its order: ship it, or cancel the order and put it away."))
    if not _stock(ctx.session, b.id):
        raise tasks.TaskError(_("%(bin)s is empty: scan the bin to take stock from.", bin=b.code))
    ctx.set_state(source=b.code, load=None)
    return _("From %(bin)s: scan an item, a pallet, or %(bin)s again to move all it holds.", bin=b.code)


def _take_item(ctx, hit) -> str:
    s, state = ctx.session, ctx.state()
    source = _bin(s, ctx.warehouse, state["source"])
    rows = [r for r in _stock(s, source.id, hit.item.id) if not hit.lot or r.lot == hit.lot]
    if not rows:
        raise tasks.TaskError(_("%(bin)s holds no %(item)s.", bin=source.code, item=hit.item.name))
    lots = sorted({r.lot for r in rows})
    if len(lots) > 1:
        raise tasks.TaskError(_("%(bin)s holds %(item)s in lots %(lots)s: scan the carton's GS1 label to say which.",
                                bin=source.code, item=hit.item.name, lots=", ".join(lot or "—" for lot in lots)))
    row = min(rows, key=lambda r: CONDITION_ORDER.index(r.condition) if r.condition in CONDITION_ORDER else 9)
    load = state.get("load")
    qty = ctx.units(hit)
    if load:  # a second scan of the same item adds to what is taken
        held = load["rows"][0]
        if load["kind"] != "item" or (held["item_id"], held["lot"], held["condition"]) != (row.item_id, row.lot,
                                                                                           row.condition):
            raise tasks.TaskError(_("Put the %(what)s down first: scan the bin it goes to, or tap Not this one.",
                                    what=_describe(s, load)))
        qty += held["qty"]
    loose = row.qty - _on_plates(s, source.id, row.item_id, row.lot)
    if qty > row.qty:
        raise tasks.TaskError(_("Only %(held)s × %(item)s in %(bin)s, not %(wanted)s.", held=row.qty,
                                item=hit.item.name, bin=source.code, wanted=qty))
    if qty > loose:
        raise tasks.TaskError(_("%(n)s of them are on a pallet in %(bin)s: scan the pallet to move it whole.",
                                n=row.qty - loose, bin=source.code))
    _mind_the_picks(ctx, source, row.qty - qty, row.item_id, row.lot, hit.item.name)
    ctx.set_state(load={"kind": "item", "rows": [{"item_id": row.item_id, "lot": row.lot,
                                                   "condition": row.condition, "qty": qty}]})
    return _("Take %(qty)s × %(item)s from %(bin)s, then scan the bin it goes to.", qty=qty, item=hit.item.name,
             bin=source.code)


def _mind_the_picks(ctx, source: Bin, left: int, item_id: int | None = None, lot: str | None = None,
                    name: str = "") -> None:
    wanted = sum(ln.remaining for ln in allocation.open_pick_lines(ctx.session, ctx.warehouse, source.id)
                 if (item_id is None or ln.item_id == item_id) and (lot is None or ln.lot == lot))
    if wanted > left:
        ctx.warn_unless("picks", _("Open pick lists still expect %(n)s of %(what)s in %(bin)s; the move leaves "
                                   "%(left)s.", n=wanted, what=name or _("its stock"), bin=source.code, left=left))


def _take_plate(ctx, code: str) -> str:
    s, state = ctx.session, ctx.state()
    if state.get("load"):
        raise tasks.TaskError(_("Put the %(what)s down first: scan the bin it goes to, or tap Not this one.",
                                what=_describe(s, state["load"])))
    plate = s.execute(select(LicencePlate).where(LicencePlate.code == code,
                                                 LicencePlate.warehouse_id == ctx.warehouse.id)).scalar_one_or_none()
    contents = [c for c in plate.contents if c.qty > 0] if plate is not None else []
    if plate is None or plate.bin_id is None or not contents:
        raise tasks.TaskError(_("Pallet %(code)s holds nothing here.", code=code))
    where = s.get(Bin, plate.bin_id)
    if state.get("source") and state["source"] != where.code:
        raise tasks.TaskError(_("Pallet %(code)s stands in %(bin)s, not %(source)s.", code=code, bin=where.code,
                                source=state["source"]))
    ctx.set_state(source=where.code, load={
        "kind": "plate", "plate": plate.code,
        "rows": [{"item_id": c.item_id, "lot": c.lot, "condition": "sellable", "qty": c.qty} for c in contents]})
    return _("Pallet %(code)s from %(bin)s: scan the bin it goes to.", code=plate.code, bin=where.code)


def _take_bin(ctx, source: Bin) -> str:
    s = ctx.session
    rows = _stock(s, source.id)
    _mind_the_picks(ctx, source, 0)
    ctx.set_state(load={
        "kind": "bin", "plates": [p.code for p in _plates(s, source.id)],
        "rows": [{"item_id": r.item_id, "lot": r.lot, "condition": r.condition, "qty": r.qty} for r in rows]})
    return _("All of %(bin)s (%(n)s units): scan the bin it goes to.", bin=source.code, n=sum(r.qty for r in rows))


def _put(ctx, load: dict, target: Bin):
    s, state = ctx.session, ctx.state()
    source = _bin(s, ctx.warehouse, state["source"])
    for row in load["rows"]:
        refusal = rules.move_refusal(source.type, target.type, row["condition"], same_bin=target.id == source.id)
        if refusal is not None:
            template, values = refusal
            raise tasks.TaskError(_(template, target=target.code, **{k: _(v) for k, v in values.items()}))
    for n, row in enumerate(load["rows"]):
        item = s.get(Item, row["item_id"])
        ctx.move("move", item, row["qty"], from_bin=source.code, to_bin=target.code, lot=row["lot"] or None,
                 condition=None if row["condition"] == "sellable" else row["condition"],
                 reason=f"moved from {source.code}")  # the ledger's words
        task = ctx.task
        s.add(TaskLine(task_id=task.id, seq=len(task.lines) + 1 + n, item_id=item.id, lot=row["lot"],
                       bin_id=target.id, expected=row["qty"], done=row["qty"], status="done"))
    plates = [load["plate"]] if load["kind"] == "plate" else load.get("plates", [])
    for code in plates:
        plate = s.execute(select(LicencePlate).where(LicencePlate.code == code)).scalar_one()
        plate.bin_id = target.id
    what = _describe(s, load)
    # A whole bin moved leaves nothing to take from it; after an item or a pallet, more may follow.
    ctx.set_state(load=None, source=None if load["kind"] == "bin" else source.code)
    return _("Moved %(what)s from %(source)s to %(target)s.", what=what, source=source.code, target=target.code)


def _describe(s, load: dict) -> str:
    if load["kind"] == "plate":
        return _("pallet %(plate)s", plate=load["plate"])
    units = sum(r["qty"] for r in load["rows"])
    if load["kind"] == "bin":
        return _("everything (%(n)s units)", n=units)
    return f"{units} × {s.get(Item, load['rows'][0]['item_id']).name}"


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def step(task) -> str:
    state = task.state or {}
    if state.get("load"):
        return _("Scan the bin it goes to")
    if state.get("source"):
        return _("From %(bin)s: scan an item, a pallet, or the bin again for all of it", bin=state["source"])
    return _("Scan the bin to take stock from, or a pallet")


def panel(s, task) -> dict:
    state = task.state or {}
    load = state.get("load")
    source = _bin(s, task.warehouse, state["source"]) if state.get("source") else None
    return {
        "source": source,
        "in_source": _stock(s, source.id) if source is not None else [],
        "load_rows": [(s.get(Item, r["item_id"]), r) for r in load["rows"]] if load else [],
    }


MOVE = tasks.TaskKind("move", N_("Move stock"), on_scan, step, panel=panel, own=True)
