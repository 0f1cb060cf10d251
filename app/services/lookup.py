"""What a scanned code is, and what stock it stands for (read only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from scanners import DEFAULT_RULES, Rules, Scan, parse
from scanners.parse import expect

from ..domain.stock import ZERO
from ..models import Balance, Barcode, Bin, BinStock, Item, Lot, Warehouse


@dataclass
class ItemView:
    item: Item
    pack_qty: int  # what the scanned barcode stands for
    balances: list[tuple[Warehouse, dict]]
    bins: list[dict]
    lot: str | None = None  # the lot a GS1 label named


@dataclass
class BinView:
    bin: Bin
    contents: list[dict] = field(default_factory=list)


def lookup(session, code: str, warehouse: Warehouse | None, rules: Rules = DEFAULT_RULES):
    """What a code stands for: an ItemView, a BinView or None. Raises ScanError for a code
    that cannot be right (a bad check digit) or that is neither an item nor a bin."""
    scan = parse(code, rules)
    expect(scan, "item", "gs1", "bin", "unknown")
    return lookup_scan(session, scan, warehouse)


def lookup_scan(session, scan: Scan, warehouse: Warehouse | None) -> ItemView | BinView | None:
    if scan.kind in ("item", "gs1"):
        barcode = find_barcode(session, scan.gtin)
        if barcode is not None:
            return item_view(session, barcode.item, barcode.pack_qty, lot=scan.lot)
        return None
    if scan.kind == "bin":
        return find_bin(session, scan.code, warehouse)
    # An in-house code: a barcode stored as printed, a SKU typed by hand, or a bin outside the pattern.
    code = scan.code
    barcode = session.execute(select(Barcode).where(Barcode.code == code)).scalar_one_or_none()
    if barcode is not None:
        return item_view(session, barcode.item, barcode.pack_qty)
    item = session.execute(select(Item).where(Item.sku == code)).scalar_one_or_none()
    if item is not None:
        return item_view(session, item)
    return find_bin(session, code, warehouse)


def gtin_forms(gtin14: str) -> list[str]:
    """The ways one GTIN-14 can be stored: as GTIN-14, EAN-13, UPC-A or EAN-8."""
    forms = [gtin14]
    for n in (13, 12, 8):
        if gtin14[: 14 - n] == "0" * (14 - n):
            forms.append(gtin14[14 - n :])
    return forms


def find_barcode(session, gtin14: str | None) -> Barcode | None:
    if not gtin14:
        return None
    return session.execute(
        select(Barcode).where(Barcode.code.in_(gtin_forms(gtin14))).order_by(Barcode.id).limit(1)
    ).scalar_one_or_none()


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
    return ItemView(
        item=item,
        pack_qty=pack_qty,
        lot=lot,
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
