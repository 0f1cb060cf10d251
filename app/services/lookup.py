"""What a scanned code is, and what stock it stands for (read only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from scanners import clean_scan

from ..domain.stock import ZERO
from ..models import Balance, Barcode, Bin, BinStock, Item, Lot, Warehouse


@dataclass
class ItemView:
    item: Item
    pack_qty: int  # what the scanned barcode stands for
    balances: list[tuple[Warehouse, dict]]
    bins: list[dict]


@dataclass
class BinView:
    bin: Bin
    contents: list[dict] = field(default_factory=list)


def lookup(session, code: str, warehouse: Warehouse | None) -> ItemView | BinView | None:
    code = clean_scan(code)
    if not code:
        return None
    barcode = session.execute(select(Barcode).where(Barcode.code == code)).scalar_one_or_none()
    item = barcode.item if barcode else session.execute(select(Item).where(Item.sku == code)).scalar_one_or_none()
    if item is not None:
        return item_view(session, item, barcode.pack_qty if barcode else 1)
    bins = session.execute(select(Bin).where(Bin.code == code)).scalars().all()
    if bins:
        # The same code can name a bin in each warehouse: prefer the one here.
        here = [b for b in bins if warehouse is not None and b.warehouse_id == warehouse.id]
        return bin_view(session, (here or bins)[0])
    return None


def item_view(session, item: Item, pack_qty: int = 1) -> ItemView:
    warehouses = session.execute(select(Warehouse).order_by(Warehouse.code)).scalars().all()
    balances = {
        b.warehouse_id: b for b in session.execute(select(Balance).where(Balance.item_id == item.id)).scalars()
    }
    rows = session.execute(
        select(BinStock, Bin, Warehouse.code, Lot.expiry)
        .join(Bin, Bin.id == BinStock.bin_id)
        .join(Warehouse, Warehouse.id == Bin.warehouse_id)
        .outerjoin(Lot, (Lot.item_id == BinStock.item_id) & (Lot.number == BinStock.lot))
        .where(BinStock.item_id == item.id, BinStock.qty > 0)
        .order_by(Warehouse.code, Bin.walk_order, Bin.code, BinStock.lot)
    ).all()
    return ItemView(
        item=item,
        pack_qty=pack_qty,
        balances=[
            (wh, (balances[wh.id].buckets() if wh.id in balances else ZERO).as_dict(upper=True)) for wh in warehouses
        ],
        bins=[
            {
                "warehouse": whc,
                "bin": b.code,
                "type": b.type,
                "lot": bs.lot,
                "expiry": expiry,
                "condition": bs.condition,
                "qty": bs.qty,
            }
            for bs, b, whc, expiry in rows
        ],
    )


def bin_view(session, bin_: Bin) -> BinView:
    rows = session.execute(
        select(BinStock, Item, Lot.expiry)
        .join(Item, Item.id == BinStock.item_id)
        .outerjoin(Lot, (Lot.item_id == BinStock.item_id) & (Lot.number == BinStock.lot))
        .where(BinStock.bin_id == bin_.id, BinStock.qty > 0)
        .order_by(Item.sku, BinStock.lot)
    ).all()
    return BinView(
        bin=bin_,
        contents=[
            {"sku": it.sku, "name": it.name, "lot": bs.lot, "expiry": exp, "condition": bs.condition, "qty": bs.qty}
            for bs, it, exp in rows
        ],
    )
