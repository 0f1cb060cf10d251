"""Where free stock is: the sellable units in storage bins that a pick list, a transfer or a
pick face's replenishment may still be given (units open pick lists expect are not free again)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from ..domain import tasks as rules
from ..models import Bin, BinStock, Lot, PickFace, Task, TaskLine


def open_pick_lines(session, warehouse, bin_id: int | None = None):
    """The lines open pick lists (orders', transfers' and pick-face replenishments') still mean to take, in one bin if given."""
    q = (select(TaskLine).join(Task)
         .where(Task.kind.in_(("pick", "transfer_out", "replenish")), Task.status == "open", Task.warehouse_id == warehouse.id,
                TaskLine.status == "open"))
    if bin_id is not None:
        q = q.where(TaskLine.bin_id == bin_id)
    return session.execute(q).scalars().all()


def slots(session, warehouse, item_ids: set[int]) -> list[rules.Slot]:
    rows = session.execute(
        select(BinStock, Bin, Lot.expiry)
        .join(Bin, Bin.id == BinStock.bin_id)
        .outerjoin(Lot, (Lot.item_id == BinStock.item_id) & (Lot.number == BinStock.lot))
        .where(Bin.warehouse_id == warehouse.id, Bin.type == "storage", BinStock.condition == "sellable",
               BinStock.qty > 0, BinStock.item_id.in_(item_ids))
    ).all()
    faces = set(session.execute(select(PickFace.bin_id, PickFace.item_id).where(PickFace.item_id.in_(item_ids))).all())
    # Units already promised to open pick lists are not free again.
    promised = defaultdict(int)
    for ln in open_pick_lines(session, warehouse):
        promised[(ln.bin_id, ln.item_id, ln.lot)] += ln.remaining
    return [
        rules.Slot(b.id, b.code, b.walk_order, bs.item_id, bs.lot, expiry,
                   bs.qty - promised[(b.id, bs.item_id, bs.lot)], b.count_requested_at is not None, since=bs.since,
                   face=(b.id, bs.item_id) in faces)
        for bs, b, expiry in rows
    ]
