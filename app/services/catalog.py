"""CSV imports of items, bins and opening stock.

Every file is checked whole first; a file with any bad row changes nothing
and each error names its row. Rows are streamed, never read into memory at
once. Stock rows become receive movements whose scan ids come from the
file's content, so importing the same file twice books it once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select

from ..domain import gtin, inputs
from ..domain import stock as d
from ..i18n import N_, _, said
from ..models import BIN_TYPES, Barcode, Bin, Item, Warehouse
from .stock import MovementCommand, apply_movement
from .uow import UnitOfWork

MAX_ERRORS = 200


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # what the file does, row by row (the preview)

    @property
    def ok(self) -> bool:
        return not self.errors

    def change(self, text: str) -> None:
        if len(self.changes) < MAX_CHANGES:
            self.changes.append(text)


MAX_CHANGES = 500


def _read(path: str) -> str:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return fh.read()


def file_records(text: str, required: set[str], where: str = "") -> Iterator[tuple[int, dict]]:
    try:
        yield from inputs.csv_records(text, required)
    except d.InputError as e:
        raise d.InputError(f"{where}: {e.message}" if where else e.message) from None


def _text(row, name, n, errors, limit, required=True):
    value = row.get(name, "")
    if required and not value:
        errors.append(_("row %(n)s: %(column)s is empty", n=n, column=name))
    elif len(value) > limit:
        errors.append(_("row %(n)s: %(column)s is longer than %(limit)s characters", n=n, column=name, limit=limit))
    elif any(ord(c) < 32 for c in value):
        errors.append(_("row %(n)s: %(column)s contains control characters", n=n, column=name))
    return value


# -------------------------------------------------------------------- items

ITEM_COLUMNS = ("sku", "name", "unit", "unit_cost", "barcode", "case_barcode", "case_qty", "lot_tracked",
                "expiry_tracked", "min_shelf_days", "short_shelf", "serial_tracked")
# Columns a row may leave out: an item keeps what it had (a file of the first nine columns changes no flag).
OPTIONAL_ITEM_COLUMNS = ("lot_tracked", "expiry_tracked", "min_shelf_days", "short_shelf", "serial_tracked")
_YES, _NO = {"1", "yes", "y", "true", "on"}, {"", "0", "no", "n", "false", "off"}


def import_items(path: str, dry_run: bool = False, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Columns: sku, name, unit (optional), unit_cost (optional), barcode, case_barcode, case_qty (optional)."""
    return import_items_text(_read(path), dry_run, progress, where=path)


def import_items_text(text: str, dry_run: bool = False, progress: Callable[[int], None] | None = None,
                      where: str = "") -> ImportReport:
    """The items of a CSV text (a file from the command line or the browser), checked whole: any bad row
    and nothing changes. With dry_run, what it would do (report.changes), and nothing changes."""
    report = ImportReport()
    with UnitOfWork() as uow:
        s = uow.session
        seen_codes: dict[str, str] = {}
        seen_skus: set[str] = set()
        for n, row in file_records(text, {"sku", "name"}, where):
            report.rows += 1
            errs = _check_item(s, n, row, seen_codes, seen_skus)
            report.errors.extend(errs)
            if errs or len(report.errors) >= MAX_ERRORS:
                continue
            _apply_item(s, row, report)
            if progress:
                progress(1)
        if report.ok and not dry_run:
            uow.commit()
    return report


def _check_item(s, n, row, seen_codes, seen_skus) -> list[str]:
    errs: list[str] = []
    sku = _text(row, "sku", n, errs, 40)
    _text(row, "name", n, errs, 200)
    _text(row, "unit", n, errs, 16, required=False)
    if sku in seen_skus:
        errs.append(_("row %(n)s: sku %(sku)s appears twice in the file", n=n, sku=sku))
    seen_skus.add(sku)
    if row.get("unit_cost"):
        try:
            cost = Decimal(row["unit_cost"])
            if not cost.is_finite() or cost < 0 or cost >= 10**10 or cost != cost.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            errs.append(_("row %(n)s: unit_cost %(value)r is not an amount like 12.50", n=n,
                          value=row["unit_cost"][:20]))
    for col in ("barcode", "case_barcode"):
        code = row.get(col, "")
        if not code:
            continue
        if len(code) > 64 or any(ord(c) < 33 for c in code):
            errs.append(_("row %(n)s: %(column)s must be up to 64 characters without spaces or control characters",
                          n=n, column=col))
            continue
        problem = gtin.problem(code) if code.isdigit() else None
        if problem:
            errs.append(_("row %(n)s: %(column)s %(code)s: %(why)s", n=n, column=col, code=code, why=problem))
            continue
        owner = seen_codes.get(code) or s.execute(
            select(Item.sku).join(Barcode).where(Barcode.code == code)
        ).scalar_one_or_none()
        if owner and owner != sku:
            errs.append(_("row %(n)s: %(column)s %(code)s already belongs to %(owner)s", n=n, column=col, code=code,
                          owner=owner))
        seen_codes[code] = sku
    for col in ("lot_tracked", "expiry_tracked", "serial_tracked"):
        if row.get(col, "").lower() not in _YES | _NO:
            errs.append(_("row %(n)s: %(column)s is yes or no, not %(value)r", n=n, column=col, value=row[col][:20]))
    if row.get("min_shelf_days"):
        try:
            d.parse_whole(row["min_shelf_days"], "min_shelf_days", 0, 3650)
        except d.InputError:
            errs.append(_("row %(n)s: min_shelf_days is a number of days from 0 to 3650, not %(value)r", n=n,
                          value=row["min_shelf_days"][:20]))
    if row.get("short_shelf", "").lower() not in ("", "warn", "refuse"):
        errs.append(_("row %(n)s: short_shelf is warn or refuse, not %(value)r", n=n, value=row["short_shelf"][:20]))
    if row.get("case_barcode"):
        try:
            if d.parse_qty(row.get("case_qty") or None) < 2:
                errs.append(_("row %(n)s: case_qty must be 2 or more", n=n))
        except d.InputError:
            errs.append(_("row %(n)s: case_qty must be a whole number of units per case", n=n))
    return errs


def _apply_item(s, row, report: ImportReport) -> Item:
    sku, name = row["sku"], row["name"]
    item = s.execute(select(Item).where(Item.sku == sku)).scalar_one_or_none()
    cost = Decimal(row["unit_cost"]) if row.get("unit_cost") else None
    flags = {col: row.get(col, "").lower() in _YES for col in ("lot_tracked", "expiry_tracked", "serial_tracked") if col in row}
    shelf = {}
    if "min_shelf_days" in row:
        shelf["min_shelf_days"] = int(row["min_shelf_days"]) if row["min_shelf_days"] else None
    if row.get("short_shelf"):
        shelf["short_shelf"] = row["short_shelf"].lower()
    if item is None:
        item = Item(sku=sku, name=name, unit=row.get("unit") or "each", unit_cost=cost,
                    lot_tracked=flags.get("lot_tracked", False), expiry_tracked=flags.get("expiry_tracked", False),
                    serial_tracked=flags.get("serial_tracked", False),
                    min_shelf_days=shelf.get("min_shelf_days"), short_shelf=shelf.get("short_shelf", "warn"))
        s.add(item)
        report.created += 1
        report.change(f"new item {sku}: {name}" + "".join(f", {k.replace('_', ' ')}" for k, v in flags.items() if v))
    else:
        was = (item.name, item.unit, item.unit_cost, item.lot_tracked, item.expiry_tracked, item.min_shelf_days,
               item.short_shelf, item.serial_tracked)
        item.name, item.unit = name, row.get("unit") or item.unit
        if cost is not None:
            item.unit_cost = cost
        for col, value in {**flags, **shelf}.items():  # a file without the column leaves it as it is
            setattr(item, col, value)
        report.updated += 1
        now = (item.name, item.unit, item.unit_cost, item.lot_tracked, item.expiry_tracked, item.min_shelf_days,
               item.short_shelf, item.serial_tracked)
        if now != was:
            report.change(f"{sku}: " + ", ".join(f"{k} {a} → {b}" for k, a, b in zip(
                ("name", "unit", "unit cost", "lot tracked", "expiry tracked", "minimum shelf days", "short shelf",
                 "serial tracked"),
                was, now, strict=True) if a != b))
    s.flush()
    for col, kind in (("barcode", "unit"), ("case_barcode", "case")):
        code = row.get(col)
        if code and s.execute(select(Barcode).where(Barcode.code == code)).scalar_one_or_none() is None:
            pack = d.parse_qty(row.get("case_qty") or 1) if kind == "case" else 1
            s.add(Barcode(item_id=item.id, code=code, kind=kind, pack_qty=pack))
            report.change(f"{sku}: new {'case barcode' if kind == 'case' else 'barcode'} {code}"
                          + (f" ({pack} a case)" if kind == "case" else ""))
    s.flush()
    return item


def save_item(fields: dict, new: bool = False) -> ImportReport:
    """One item from a form (the office's Items screen): the same checks as a file's row; with `new`,
    a SKU already in use is refused rather than edited."""
    row = {k: (fields.get(k) or "").strip() for k in ITEM_COLUMNS if k in fields or k not in OPTIONAL_ITEM_COLUMNS}
    report = ImportReport(rows=1)
    prefix = _("row %(n)s: %(why)s", n=1, why="")  # a form has no rows: its errors are said without one
    with UnitOfWork() as uow:
        s = uow.session
        report.errors = [e.removeprefix(prefix).removeprefix("row 1: ") for e in _check_item(s, 1, row, {}, set())]
        if report.ok and new and s.execute(select(Item.id).where(Item.sku == row["sku"])).first():
            report.errors = [f"{row['sku']} is already an item: edit it below."]
        if report.ok:
            _apply_item(s, row, report)
            uow.commit()
    return report


def remove_barcode(item_id: int, barcode_id: int) -> str:
    """A barcode off an item (a label that is no longer printed): the code, now free."""
    with UnitOfWork() as uow:
        b = uow.session.get(Barcode, barcode_id)
        if b is None or b.item_id != item_id:
            raise d.InputError.of(N_("No such barcode on this item."))
        if len(b.item.barcodes) == 1 and b.kind == "unit":
            raise d.InputError.of(N_("%(code)s is the only barcode of %(sku)s: add another before removing it."),
                                  code=b.code, sku=b.item.sku)
        code = b.code
        uow.session.delete(b)
        uow.commit()
        return code


def items_page(session, q: str = "", limit: int = 100) -> list[Item]:
    stmt = select(Item).order_by(Item.sku).limit(limit)
    q = (q or "").strip()[:64]
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Item.sku.ilike(like), Item.name.ilike(like),
                              Item.id.in_(select(Barcode.item_id).where(Barcode.code.ilike(like)))))
    return list(session.execute(stmt).scalars())


def items_csv(session) -> Iterator[list]:
    """Every item as a row of the import's columns (a case row per further case barcode)."""
    yield list(ITEM_COLUMNS)
    for item in session.execute(select(Item).order_by(Item.sku)).scalars():
        units = [b for b in item.barcodes if b.kind != "case"]
        cases = [b for b in item.barcodes if b.kind == "case"]
        # Every row of an item carries its flags and shelf life, so that a row read alone keeps them.
        flags = ["yes" if item.lot_tracked else "no", "yes" if item.expiry_tracked else "no",
                 item.min_shelf_days if item.min_shelf_days is not None else "", item.short_shelf or "warn",
                 "yes" if item.serial_tracked else "no"]
        first = [item.sku, item.name, item.unit, item.unit_cost if item.unit_cost is not None else "",
                 units[0].code if units else "", cases[0].code if cases else "", cases[0].pack_qty if cases else "",
                 *flags]
        yield [inputs.safe_cell(v) for v in first]
        for extra in units[1:]:
            yield [inputs.safe_cell(v) for v in (item.sku, item.name, item.unit, "", extra.code, "", "", *flags)]
        for extra in cases[1:]:
            yield [inputs.safe_cell(v) for v in (item.sku, item.name, item.unit, "", "", extra.code, extra.pack_qty,
                                                 *flags)]


# --------------------------------------------------------------------- bins

BIN_COLUMNS = ("warehouse", "code", "type", "walk_order", "zone")


def import_bins(path: str, dry_run: bool = False, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Columns: warehouse, code, type, walk_order (optional), warehouse_name (creates a new warehouse)."""
    return import_bins_text(_read(path), dry_run, progress, where=path)


def import_bins_text(text: str, dry_run: bool = False, progress: Callable[[int], None] | None = None,
                     where: str = "", only_warehouse: str | None = None) -> ImportReport:
    """The bins of a CSV text, checked whole; with `only_warehouse` (the browser's, a supervisor of
    one warehouse), a row of another warehouse is an error and no warehouse is created."""
    report = ImportReport()
    with UnitOfWork() as uow:
        s = uow.session
        warehouses = {w.code: w for w in s.execute(select(Warehouse)).scalars()}
        seen = set()
        for n, row in file_records(text, {"warehouse", "code"}, where):
            report.rows += 1
            errs, (wcode, code, btype, walk, zone) = _check_bin(n, row, warehouses, seen, only_warehouse)
            report.errors.extend(errs)
            if errs or len(report.errors) >= MAX_ERRORS:
                continue
            wh = warehouses.get(wcode)
            if wh is None:
                wh = Warehouse(code=wcode, name=row["warehouse_name"][:120])
                s.add(wh)
                s.flush()
                warehouses[wcode] = wh
                report.change(f"new warehouse {wcode}: {wh.name}")
            _apply_bin(s, wh, code, btype, walk, zone, report)
            if progress:
                progress(1)
        s.flush()
        if report.ok and not dry_run:
            uow.commit()
    return report


def _check_bin(n, row, warehouses, seen, only_warehouse=None) -> tuple[list[str], tuple]:
    """A bin row's errors, and its (warehouse, code, type, walk order, zone; None: not given)."""
    errs: list[str] = []
    wcode = _text(row, "warehouse", n, errs, 16)
    code = _text(row, "code", n, errs, 32)
    if code and any(ord(c) < 33 for c in code):
        errs.append(_("row %(n)s: code must have no spaces", n=n))
    btype = row.get("type") or "storage"
    if btype not in BIN_TYPES:
        errs.append(_("row %(n)s: type %(value)r is not one of %(types)s", n=n, value=btype[:20],
                      types=", ".join(BIN_TYPES)))
    try:
        walk = d.parse_whole(row.get("walk_order") or "0", "walk_order", 0, 1_000_000_000)
    except d.InputError as e:
        walk = 0
        errs.append(_("row %(n)s: %(why)s", n=n, why=said(e)))
    zone = _text(row, "zone", n, errs, 16, required=False) if "zone" in row else None
    if only_warehouse is not None and wcode and wcode != only_warehouse:
        errs.append(_("row %(n)s: warehouse %(code)s is not %(here)s, the one you work in", n=n, code=wcode,
                      here=only_warehouse))
    elif wcode and wcode not in warehouses and not row.get("warehouse_name"):
        errs.append(_("row %(n)s: unknown warehouse %(code)s; add a warehouse_name column to create it", n=n,
                      code=wcode))
    if (wcode, code) in seen:
        errs.append(_("row %(n)s: bin %(bin)s appears twice for %(code)s", n=n, bin=code, code=wcode))
    seen.add((wcode, code))
    return errs, (wcode, code, btype, walk, zone)


def _apply_bin(s, wh, code, btype, walk, zone, report: ImportReport) -> None:
    b = s.execute(select(Bin).where(Bin.warehouse_id == wh.id, Bin.code == code)).scalar_one_or_none()
    if b is None:
        s.add(Bin(warehouse_id=wh.id, code=code, type=btype, walk_order=walk, zone=zone or ""))
        report.created += 1
        report.change(f"new bin {code} in {wh.code}: {btype}, walk order {walk}" + (f", zone {zone}" if zone else ""))
    else:
        was = (b.type, b.walk_order, b.zone)
        b.type, b.walk_order = btype, walk
        if zone is not None:  # a file without the column leaves the zone as it is
            b.zone = zone
        report.updated += 1
        if was != (b.type, b.walk_order, b.zone):
            report.change(f"bin {code}: " + ", ".join(f"{k} {a} → {c}" for k, a, c in zip(
                ("type", "walk order", "zone"), was, (b.type, b.walk_order, b.zone), strict=True) if a != c))


def save_bin(warehouse: Warehouse, fields: dict, new: bool = False) -> ImportReport:
    """One bin of `warehouse` from a form (the office's Bins screen): the same checks as a file's row;
    with `new`, a code already in use is refused rather than edited."""
    row = {k: (fields.get(k) or "").strip() for k in BIN_COLUMNS}
    row["warehouse"] = warehouse.code
    report = ImportReport(rows=1)
    with UnitOfWork() as uow:
        s = uow.session
        wh = s.get(Warehouse, warehouse.id)
        errs, (_w, code, btype, walk, zone) = _check_bin(1, row, {wh.code: wh}, set(), wh.code)
        report.errors = [e.removeprefix("row 1: ") for e in errs]
        if report.ok and new and s.execute(select(Bin.id).where(Bin.warehouse_id == wh.id, Bin.code == code)).first():
            report.errors = [f"{code} is already a bin of {wh.code}: edit it below."]
        if report.ok:
            _apply_bin(s, wh, code, btype, walk, zone, report)
            uow.commit()
    return report


def bins_page(session, warehouse: Warehouse, q: str = "", limit: int = 200) -> list[Bin]:
    stmt = select(Bin).where(Bin.warehouse_id == warehouse.id).order_by(Bin.walk_order, Bin.code).limit(limit)
    q = (q or "").strip()[:32]
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Bin.code.ilike(like), Bin.zone.ilike(like)))
    return list(session.execute(stmt).scalars())


def bins_csv(session, warehouse: Warehouse) -> Iterator[list]:
    yield list(BIN_COLUMNS)
    for b in session.execute(select(Bin).where(Bin.warehouse_id == warehouse.id)
                             .order_by(Bin.walk_order, Bin.code)).scalars():
        yield [inputs.safe_cell(v) for v in (warehouse.code, b.code, b.type, b.walk_order, b.zone)]


# -------------------------------------------------------------------- stock


def import_stock(
    path: str, dry_run: bool = False, progress: Callable[[int], None] | None = None, user_id: int | None = None
) -> ImportReport:
    """Columns: warehouse, bin, sku, qty, lot, expiry (YYYY-MM-DD), condition (optional)."""
    report = ImportReport()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    file_id = digest.hexdigest()[:16]

    text = _read(path)
    # Pass 1: check every row; nothing is written.
    with UnitOfWork(write=False) as uow:
        s = uow.session
        warehouses = {w.code: w for w in s.execute(select(Warehouse)).scalars()}
        bins = {(b.warehouse_id, b.code) for b in s.execute(select(Bin)).scalars()}
        for n, row in file_records(text, {"warehouse", "bin", "sku", "qty"}, path):
            report.rows += 1
            errs: list[str] = []
            wh = warehouses.get(row.get("warehouse"))
            if wh is None:
                errs.append(f"row {n}: unknown warehouse {row.get('warehouse')!r}")
            elif (wh.id, row.get("bin")) not in bins:
                errs.append(f"row {n}: unknown bin {row.get('bin')!r} in {wh.code}")
            if s.execute(select(Item.id).where(Item.sku == row.get("sku"))).first() is None:
                errs.append(f"row {n}: unknown sku {row.get('sku')!r}")
            try:
                d.parse_qty(row.get("qty"))
            except d.InputError as e:
                errs.append(f"row {n}: {e.message}")
            _text(row, "lot", n, errs, 40, required=False)
            if row.get("expiry"):
                try:
                    date.fromisoformat(row["expiry"])
                except ValueError:
                    errs.append(f"row {n}: expiry {row['expiry']!r} is not a date like 2027-03-31")
            try:
                d.parse_condition(row.get("condition") or None)
            except d.InputError as e:
                errs.append(f"row {n}: {e.message}")
            report.errors.extend(errs)
            if len(report.errors) >= MAX_ERRORS:
                break
    if not report.ok or dry_run:
        return report

    # Pass 2: one receive movement per row, each its own transaction.
    for n, row in file_records(text, {"warehouse", "bin", "sku", "qty"}, path):
        result = apply_movement(
            MovementCommand(
                warehouse=row["warehouse"],
                kind="receive",
                sku=row["sku"],
                qty=row["qty"],
                to_bin=row["bin"],
                lot=row.get("lot") or "",
                expiry=date.fromisoformat(row["expiry"]) if row.get("expiry") else None,
                condition=row.get("condition") or None,
                scan_id=f"import:{file_id}:{n}",
                reason="stock import",
                user_id=user_id,
                device="import",
            )
        )
        if result.replayed:
            report.updated += 1
        else:
            report.created += 1
        if progress:
            progress(1)
    return report


# -------------------------------------------------------------------- retiring


def retire_item(item_id: int, retire: bool = True) -> str:
    """An item no longer sold: only once no stock of it is anywhere (on hand, promised, locked, on its
    way); from then on it takes no receipt and no new order (a customer's return still comes back).
    `retire=False` brings it back. Its SKU."""
    from sqlalchemy import func

    from ..models import Balance, utcnow

    with UnitOfWork() as uow:
        s = uow.session
        item = s.get(Item, item_id, with_for_update=True)
        if item is None:
            raise d.InputError.of(N_("No such item."))
        if retire:
            held = s.execute(select(func.sum(Balance.i), func.sum(Balance.o), func.sum(Balance.l),
                                    func.sum(Balance.v), func.sum(Balance.t), func.sum(Balance.a))
                             .where(Balance.item_id == item_id)).one()
            names = ("on hand", "ordered", "locked", "virtual", "to transfer", "in transit")
            left = [f"{n} {name}" for n, name in zip(held, names, strict=True) if n]
            if left:
                raise d.InputError.of(N_("%(sku)s still has stock (%(where)s): ship, move or scrap it first."),
                                      sku=item.sku, where=", ".join(left))
            item.retired_at = item.retired_at or utcnow()
        else:
            item.retired_at = None
        uow.commit()
        return item.sku


def retire_bin(warehouse: Warehouse, bin_id: int, retire: bool = True) -> str:
    """A bin out of use: only when it is empty, and never the last of a kind the floor needs (the dock,
    staging, quarantine, returns). Nothing is put into it after. Its code."""
    from sqlalchemy import func

    from ..models import BinStock, utcnow

    with UnitOfWork() as uow:
        s = uow.session
        b = s.get(Bin, bin_id, with_for_update=True)
        if b is None or b.warehouse_id != warehouse.id:
            raise d.InputError.of(N_("No such bin in %(warehouse)s."), warehouse=warehouse.code)
        if retire:
            held = s.execute(select(func.coalesce(func.sum(BinStock.qty), 0)).where(BinStock.bin_id == b.id)).scalar()
            if held:
                raise d.InputError.of(N_("Bin %(bin)s still holds %(n)s units: move them out first."),
                                      bin=b.code, n=held)
            if b.type != "storage":
                others = s.execute(select(func.count()).select_from(Bin).where(
                    Bin.warehouse_id == warehouse.id, Bin.type == b.type, Bin.retired_at.is_(None), Bin.id != b.id)).scalar()
                if not others:
                    raise d.InputError.of(N_("Bin %(bin)s is the only %(type)s bin of %(warehouse)s: add another first."),
                                          bin=b.code, type=b.type, warehouse=warehouse.code)
            b.retired_at = b.retired_at or utcnow()
        else:
            b.retired_at = None
        uow.commit()
        return b.code


# -------------------------------------------------------------------- warehouses

WAREHOUSE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,15}")


def _warehouse_fields(code: str, name: str) -> tuple[str, str]:
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not WAREHOUSE_CODE.fullmatch(code):
        raise d.InputError.of(N_("A warehouse code has 1 to 16 capital letters, digits, dashes or underscores"))
    if not name or len(name) > 120 or any(ord(c) < 32 for c in name):
        raise d.InputError.of(N_("A warehouse name has 1 to 120 characters"))
    return code, name


def _apply_warehouse(s, code: str, name: str) -> tuple[bool, str | None]:
    """(created, the name it had)."""
    wh = s.execute(select(Warehouse).where(Warehouse.code == code)).scalar_one_or_none()
    if wh is not None:
        old, wh.name = wh.name, name
        return False, old
    wh = Warehouse(code=code, name=name)
    s.add(wh)
    s.flush()
    for n, btype in enumerate(("dock", "staging", "quarantine", "returns")):
        s.add(Bin(warehouse_id=wh.id, code=f"{btype.upper()}-01", type=btype, walk_order=n))
    return True, None


def save_warehouse(code: str, name: str) -> tuple[str, bool]:
    """A new warehouse (with the dock, staging, quarantine and returns bins every floor task needs), or
    a new name for one. (its code, created)."""
    code, name = _warehouse_fields(code, name)
    with UnitOfWork() as uow:
        created, _old = _apply_warehouse(uow.session, code, name)
        uow.commit()
        return code, created


WAREHOUSE_COLUMNS = ("code", "name")


def import_warehouses_text(text: str, dry_run: bool = False) -> ImportReport:
    """Warehouses from a CSV text (code, name): new ones get their dock, staging, quarantine and returns
    bins; a known code is renamed. Checked whole; with dry_run nothing changes."""
    report = ImportReport()
    with UnitOfWork() as uow:
        s = uow.session
        seen: dict[str, int] = {}
        for n, row in file_records(text, {"code", "name"}):
            report.rows += 1
            try:
                code, name = _warehouse_fields(row.get("code", ""), row.get("name", ""))
            except d.InputError as e:
                report.errors.append(_("row %(n)s: %(why)s", n=n, why=said(e)))
                continue
            if code in seen:
                report.errors.append(_("row %(n)s: warehouse %(code)s is also on row %(row)s", n=n, code=code,
                                       row=seen[code]))
                continue
            seen[code] = n
            if len(report.errors) >= MAX_ERRORS:
                continue
            created, old = _apply_warehouse(s, code, name)
            if created:
                report.created += 1
                report.change(f"new warehouse {code} {name}, with DOCK-01, STAGING-01, QUARANTINE-01 and RETURNS-01")
            else:
                report.updated += 1
                if old != name:
                    report.change(f"{code}: renamed {old} → {name}")
        if report.ok and not dry_run:
            uow.commit()
    return report


def warehouses_csv(session) -> Iterator[list]:
    yield list(WAREHOUSE_COLUMNS)
    for w in session.execute(select(Warehouse).order_by(Warehouse.code)).scalars():
        yield [inputs.safe_cell(v) for v in (w.code, w.name)]


def warehouses_page(session) -> list[tuple[Warehouse, int]]:
    from sqlalchemy import func

    rows = session.execute(select(Warehouse, func.count(Bin.id)).outerjoin(Bin, Bin.warehouse_id == Warehouse.id)
                           .group_by(Warehouse.id).order_by(Warehouse.code)).all()
    return [(w, n) for w, n in rows]
