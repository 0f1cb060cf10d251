"""What a scanned code is, and what stock it stands for (read only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from scanners import DEFAULT_RULES, Rules, Scan, parse
from scanners.parse import expect

from ..domain.stock import ZERO
from ..models import Balance, Barcode, Bin, BinStock, Item, Lot, Order, Parcel, Serial, Warehouse
from . import resolve, serials


@dataclass
class ItemView:
    item: Item
    pack_qty: int  # what the scanned barcode stands for
    balances: list[tuple[Warehouse, dict]]
    bins: list[dict]
    lot: str | None = None  # the lot a GS1 label named
    barcodes: list[dict] = field(default_factory=list)  # every code of the item, as text to key in


@dataclass
class BinView:
    bin: Bin
    contents: list[dict] = field(default_factory=list)


@dataclass
class SerialView:
    """Where one serial is, and its history."""

    serial: Serial
    item: Item
    where: str  # "MAIN A-01-1", or "—" once shipped
    order: str | None
    parcel: str | None
    events: list[dict] = field(default_factory=list)


def lookup(session, code: str, warehouse: Warehouse | None, rules: Rules = DEFAULT_RULES):
    """What a code stands for: an ItemView, a BinView or None. Raises ScanError for a code
    that cannot be right (a bad check digit) or that is neither an item nor a bin."""
    scan = parse(code, rules)
    found = lookup_scan(session, scan, warehouse)
    if found is None:
        expect(scan, "item", "gs1", "bin", "unknown")
    return found


def lookup_scan(session, scan: Scan, warehouse: Warehouse | None) -> ItemView | BinView | None:
    """The same answer a task screen gives (services.resolve): an exact barcode or SKU is the item,
    even where it fits the bin pattern; else a bin, this warehouse's first, then any other's."""
    hit = resolve.find_item(session, scan)
    if hit is not None:
        serial = serials.find(session, hit.item.id, hit.serial) if hit.serial else None
        if serial is not None:  # a GS1 label with the unit's serial (21)
            return serial_view(session, serial)
        return item_view(session, hit.item, hit.pack_qty, lot=hit.lot)
    if scan.kind in ("item", "gs1"):
        return None
    here = resolve.find_bin(session, warehouse, scan, in_use=False)
    found = bin_view(session, here) if here is not None else find_bin(session, scan.code, warehouse)
    if found is None:
        named = serials.named(session, scan.raw)
        if len(named) == 1:  # a serial number on its own (the same serial on two items is asked by GS1 label)
            return serial_view(session, named[0])
    return found


def serial_view(session, serial: Serial) -> SerialView:
    def where(bin_id) -> str:
        b = session.get(Bin, bin_id) if bin_id else None
        return f"{b.warehouse.code} {b.code}" if b is not None else "—"

    order = session.get(Order, serial.order_id) if serial.order_id else None
    parcel = session.get(Parcel, serial.parcel_id) if serial.parcel_id else None
    events = [{"kind": e.kind, "where": where(e.bin_id), "at": e.at,
               "order": session.get(Order, e.order_id).number if e.order_id else None}
              for e in serials.history(session, serial)]
    return SerialView(serial, serial.item, where(serial.bin_id), order.number if order else None,
                      parcel.sscc if parcel else None, events)


def find_bin(session, code: str, warehouse: Warehouse | None) -> BinView | None:
    bins = session.execute(select(Bin).where(Bin.code == code)).scalars().all()
    if not bins:
        return None
    # The same code can name a bin in each warehouse: prefer the one here.
    here = [b for b in bins if warehouse is not None and b.warehouse_id == warehouse.id]
    return bin_view(session, (here or bins)[0])


def item_view(session, item: Item, pack_qty: int = 1, lot: str | None = None) -> ItemView:
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
    codes = session.execute(
        select(Barcode.code, Barcode.kind, Barcode.pack_qty).where(Barcode.item_id == item.id)
        .order_by(Barcode.pack_qty, Barcode.code)
    ).all()
    return ItemView(
        item=item,
        pack_qty=pack_qty,
        lot=lot,
        barcodes=[{"code": c, "kind": k, "pack_qty": p} for c, k, p in codes],
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
