"""What a scanned code names here: one answer for task screens, start screens and stock lookup.

A code that exactly matches a record (an item's barcode or SKU, a bin of
this warehouse) wins over a site pattern that merely fits it: a SKU such as
`HEX-0003` fits the default bin pattern, and is still the item. A code that
names nothing is quoted as it was scanned (`scan.raw`), never re-formatted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from scanners import Scan
from scanners.parse import KIND_WORDS, expect

from ..domain import gtin
from ..domain.stock import InputError
from ..i18n import N_
from ..models import Barcode, Bin, Item, Warehouse


class NotFound(InputError):
    """The code names nothing the step could use: it changes nothing and says so once."""

    code = "task_step"


@dataclass
class ItemHit:
    item: Item
    pack_qty: int
    lot: str | None = None
    expiry: object = None
    count: int | None = None
    serial: str | None = None  # GS1 (21)


def remembered(session, key: tuple, load):
    """`load()`, asked once per key in a session that keeps names (a scan's: services.engine sets
    session.info["names"]); anywhere else, every time. A scan asks before the write lock what
    its code names, and the answer serves it again under the lock."""
    names = session.info.get("names")
    if names is None:
        return load()
    if key not in names:
        names[key] = load()
    return names[key]


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
    return remembered(session, ("gtin", gtin14), lambda: session.execute(
        select(Barcode).options(joinedload(Barcode.item)).where(Barcode.code.in_(gtin_forms(gtin14)))
        .order_by(Barcode.id).limit(1)
    ).scalar_one_or_none())


def item_named(session, text: str) -> ItemHit | None:
    """The item a typed or sent code names (the API, imports, documents): its SKU, any of its barcodes
    as stored, or the same GTIN in another form (UPC-A 12 digits for an EAN-13 stored with its
    leading 0, a GTIN-14, an EAN-8). The floor's scans come through find_item, which knows the same forms."""
    text = (text or "").strip()
    if not text:
        return None
    item = session.execute(select(Item).where(Item.sku == text)).scalar_one_or_none()
    if item is not None:
        return ItemHit(item, 1)
    barcode = session.execute(select(Barcode).where(Barcode.code == text)).scalar_one_or_none()
    if barcode is None:
        key = gtin.normalise(text)
        barcode = find_barcode(session, key) if key else None
    return ItemHit(barcode.item, barcode.pack_qty) if barcode is not None else None


def _texts(scan: Scan) -> list[str]:
    """What to match exactly: the code as scanned, then what a pattern took from it (`BIN:A-01` -> `A-01`)."""
    return list(dict.fromkeys(t for t in (scan.raw, scan.code) if t))


def find_item(session, scan: Scan) -> ItemHit | None:
    """The item a scan names: a GTIN (unit or case), or any other code that is exactly a barcode or a SKU."""
    if scan.kind in ("item", "gs1"):
        barcode = find_barcode(session, scan.gtin)
        if barcode is None:
            return None
        return ItemHit(barcode.item, barcode.pack_qty, scan.lot, scan.expiry, scan.count, scan.serial)
    for text in _texts(scan):
        item, pack_qty = remembered(session, ("text", text), lambda t=text: _exactly(session, t))
        if item is not None:
            return ItemHit(item, pack_qty)
    return None


def _exactly(session, text: str):
    """(the item, its pack) that a barcode or SKU spelled exactly so names, or (None, None)."""
    barcode = session.execute(select(Barcode).where(Barcode.code == text)).scalar_one_or_none()
    if barcode is not None:
        return barcode.item, barcode.pack_qty
    item = session.execute(select(Item).where(Item.sku == text)).scalar_one_or_none()
    return (item, 1) if item is not None else (None, None)


def find_bin(session, warehouse: Warehouse, scan: Scan, in_use: bool = True) -> Bin | None:
    """The bin of this warehouse a scan names exactly (a GTIN never names a bin). A retired bin is
    refused (NotFound, saying so) unless `in_use` is False: a lookup still shows it."""
    if scan.kind in ("item", "gs1") or warehouse is None:
        return None
    texts = _texts(scan)

    def load():
        found = session.execute(select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.code.in_(texts))).scalars().all()
        return min(found, key=lambda b: texts.index(b.code)) if found else None

    b = remembered(session, ("bin", warehouse.id, *texts), load)
    if b is not None and b.retired_at is not None and in_use:
        raise NotFound.of(N_("Bin %(bin)s is retired: use another bin."), bin=b.code)
    return b


def require_item(session, scan: Scan, *wanted: str, warehouse: Warehouse | None = None) -> ItemHit:
    """The item a scan names, or NotFound saying once what the step wanted and what the code was."""
    hit = find_item(session, scan)
    if hit is not None:
        return hit
    wanted = wanted or ("item",)
    if scan.kind == "bin":
        if "bin" in wanted:
            if warehouse is not None:
                raise NotFound.of(N_("No bin %(bin)s in %(warehouse)s, and no item is called %(code)s."),
                                  bin=scan.code, warehouse=warehouse.code, code=scan.raw)
            raise NotFound.of(N_("No bin %(bin)s, and no item is called %(code)s."), bin=scan.code, code=scan.raw)
        if warehouse is None or find_bin(session, warehouse, scan) is None:
            raise NotFound.of(N_("Nothing is known by %(code)s. Scan %(wanted)s."), code=scan.raw,
                              wanted=tuple(KIND_WORDS[k] for k in wanted
                                           if k in KIND_WORDS and k not in ("unknown", "gs1")))
    expect(scan, *wanted)
    raise NotFound.of(N_("%(code)s is not in the catalogue."), code=scan.raw)


# --------------------------------------------------------------------------
# Ids sent in a URL, a form or a body: the warehouse wall
# --------------------------------------------------------------------------


def _warehouses_of(row) -> set[int]:
    """The warehouses a record belongs to: a transfer to both of its ends, a count line to its session's."""
    if hasattr(row, "source_id") and hasattr(row, "dest_id"):
        return {row.source_id, row.dest_id}
    if hasattr(row, "count_bin"):
        return {row.count_bin.session.warehouse_id}
    return {row.warehouse_id}


def owned(session, model, value, warehouse: Warehouse | None, what: str, *, lock: bool = False):
    """The record an id names, if it belongs to this warehouse (the session's, or the token's).

    One check for every id that arrives from outside. An id of another warehouse gets the same
    answer as one that does not exist, so ids cannot be probed across the wall; a malformed or
    out-of-range id is refused the same way (never a 500).
    """
    from ..domain.stock import parse_id

    try:
        row_id = parse_id(value, what)
    except InputError:
        raise NotFound.of(N_("No such %(what)s."), words=("what",), what=what) from None
    row = session.get(model, row_id, with_for_update=lock) if lock else session.get(model, row_id)
    if row is None or warehouse is None or warehouse.id not in _warehouses_of(row):
        if warehouse is not None:
            raise NotFound.of(N_("No such %(what)s in %(warehouse)s."), words=("what",), what=what,
                              warehouse=warehouse.code)
        raise NotFound.of(N_("No such %(what)s."), words=("what",), what=what)
    return row
