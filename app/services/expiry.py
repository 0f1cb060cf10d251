"""Expired lots: sellable no more, never reserved or picked.

A lot is expired the day after its date (domain.stock.is_expired). Its sellable units then leave S
for U by an `expire` movement, in their bin, through the ledger writer like every movement (and,
as a damage tag, releasing the newest claims when S cannot absorb them). That happens

- on first touch: before an order reserves the item (services.orders), before a pick list is
  allocated (services.picking), and when a picker scans the lot (picking.walk);
- daily: `flask --app app expire-lots` for a cron job, and on requests at most every five minutes
  per process (as promotion locks end), so it happens where no one set up the cron job.
"""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select

from ..domain import stock as d
from ..models import Bin, BinStock, Item, Lot, Warehouse
from .stock import MovementCommand, apply_in, lock_balance
from .uow import UnitOfWork

DEVICE = "expiry"


def due(session, warehouse_id: int | None = None, item_ids=None, today: date | None = None,
        bin_id: int | None = None, lot: str | None = None) -> list:
    """Sellable stock of lots past their date: rows (warehouse_id, item_id, bin_id, bin code, sku, lot, expiry, qty)."""
    today = today or date.today()
    q = (select(Bin.warehouse_id, BinStock.item_id, BinStock.bin_id, Bin.code, Item.sku, BinStock.lot, Lot.expiry,
                BinStock.qty)
         .join(Bin, Bin.id == BinStock.bin_id)
         .join(Item, Item.id == BinStock.item_id)
         .join(Lot, (Lot.item_id == BinStock.item_id) & (Lot.number == BinStock.lot))
         .where(BinStock.condition == d.Condition.SELLABLE.value, BinStock.qty > 0, BinStock.lot != "",
                Lot.expiry < today)
         .order_by(Bin.warehouse_id, BinStock.item_id, Bin.walk_order, Bin.code, BinStock.lot))
    if warehouse_id is not None:
        q = q.where(Bin.warehouse_id == warehouse_id)
    if item_ids is not None:
        q = q.where(BinStock.item_id.in_(sorted(item_ids)))
    if bin_id is not None:
        q = q.where(BinStock.bin_id == bin_id)
    if lot is not None:
        q = q.where(BinStock.lot == lot)
    return session.execute(q).all()


def reason(lot: str, expiry: date) -> str:
    """What the ledger says of an expire movement."""
    return f"lot {lot} expired {expiry.isoformat()}"


def lot_expiry(session, item_id: int, lot: str) -> date | None:
    if not lot:
        return None
    return session.execute(select(Lot.expiry).where(Lot.item_id == item_id, Lot.number == lot)).scalar()


def expire_due(session, warehouse: Warehouse, item_ids=None, today: date | None = None, user_id: int | None = None,
               device: str = DEVICE, bin_id: int | None = None, lot: str | None = None, scan_id=None) -> list[dict]:
    """Book an `expire` movement for each expired lot in `warehouse` (of these items, in this bin, of
    this lot, when given), in the caller's transaction. The balances are locked first (in item order,
    as every writer locks them), so the quantities are read under the lock. Returns the movements."""
    today = today or date.today()
    found = due(session, warehouse.id, item_ids, today, bin_id, lot)
    if not found:
        return []
    for item_id in sorted({r.item_id for r in found}):
        lock_balance(session, warehouse.id, item_id)
    booked = []
    for n, r in enumerate(due(session, warehouse.id, item_ids, today, bin_id, lot)):
        result = apply_in(session, MovementCommand(
            warehouse=warehouse.code, kind=d.Kind.EXPIRE.value, sku=r.sku, qty=r.qty, from_bin=r.code, lot=r.lot,
            reason=reason(r.lot, r.expiry), user_id=user_id, device=device,
            scan_id=None if scan_id is None else f"{scan_id[:58]}.x{n}"))
        booked.append(result.movement)
    return booked


def expire_everywhere(today: date | None = None) -> int:
    """Every expired lot in every warehouse, one (warehouse, item) a transaction; units expired.
    Safe to run from several processes at once: the second finds nothing left to expire."""
    today = today or date.today()
    with UnitOfWork(write=False) as uow:
        pairs = sorted({(r.warehouse_id, r.item_id) for r in due(uow.session, today=today)})
    units = 0
    for warehouse_id, item_id in pairs:
        with UnitOfWork() as uow:
            warehouse = uow.session.get(Warehouse, warehouse_id)
            try:
                booked = expire_due(uow.session, warehouse, {item_id}, today)
                uow.commit()
            except d.BinShortage:
                uow.rollback()  # another process took it first
                continue
            units += sum(m["qty"] for m in booked)
    return units


_last = {"at": 0.0}
CHECK_EVERY_S = 300


def expire_now_and_then(clock=time.monotonic) -> int:
    """Called on requests: at most every five minutes per process, expire what has passed its date."""
    now = clock()
    if now - _last["at"] < CHECK_EVERY_S:
        return 0
    _last["at"] = now
    return expire_everywhere()
