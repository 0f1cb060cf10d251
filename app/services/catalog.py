"""CSV imports of items, bins and opening stock.

Every file is checked whole first; a file with any bad row changes nothing
and each error names its row. Rows are streamed, never read into memory at
once. Stock rows become receive movements whose scan ids come from the
file's content, so importing the same file twice books it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from ..domain import gtin
from ..domain import inputs
from ..domain import stock as d
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

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(path: str, required: set[str]) -> Iterator[tuple[int, dict]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        text = fh.read()
    try:
        yield from inputs.csv_records(text, required)
    except d.InputError as e:
        raise d.InputError(f"{path}: {e.message}") from None


def _text(row, name, n, errors, limit, required=True):
    value = row.get(name, "")
    if required and not value:
        errors.append(f"row {n}: {name} is empty")
    elif len(value) > limit:
        errors.append(f"row {n}: {name} is longer than {limit} characters")
    elif any(ord(c) < 32 for c in value):
        errors.append(f"row {n}: {name} contains control characters")
    return value


# -------------------------------------------------------------------- items


def import_items(path: str, dry_run: bool = False, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Columns: sku, name, unit (optional), barcode, case_barcode, case_qty (optional)."""
    report = ImportReport()
    with UnitOfWork() as uow:
        s = uow.session
        seen_codes: dict[str, str] = {}
        seen_skus: set[str] = set()
        for n, row in _rows(path, {"sku", "name"}):
            report.rows += 1
            errs: list[str] = []
            sku = _text(row, "sku", n, errs, 40)
            name = _text(row, "name", n, errs, 200)
            _text(row, "unit", n, errs, 16, required=False)
            if sku in seen_skus:
                errs.append(f"row {n}: sku {sku} appears twice in the file")
            seen_skus.add(sku)
            for col in ("barcode", "case_barcode"):
                code = row.get(col, "")
                if not code:
                    continue
                problem = gtin.problem(code) if code.isdigit() else None
                if problem:
                    errs.append(f"row {n}: {col} {code}: {problem}")
                    continue
                owner = seen_codes.get(code) or s.execute(
                    select(Item.sku).join(Barcode).where(Barcode.code == code)
                ).scalar_one_or_none()
                if owner and owner != sku:
                    errs.append(f"row {n}: {col} {code} already belongs to {owner}")
                seen_codes[code] = sku
            if row.get("case_barcode"):
                try:
                    if d.parse_qty(row.get("case_qty") or None) < 2:
                        errs.append(f"row {n}: case_qty must be 2 or more")
                except d.InputError:
                    errs.append(f"row {n}: case_qty must be a whole number of units per case")
            report.errors.extend(errs)
            if errs or len(report.errors) >= MAX_ERRORS:
                continue
            item = s.execute(select(Item).where(Item.sku == sku)).scalar_one_or_none()
            if item is None:
                item = Item(sku=sku, name=name, unit=row.get("unit") or "each")
                s.add(item)
                report.created += 1
            else:
                item.name, item.unit = name, row.get("unit") or item.unit
                report.updated += 1
            s.flush()
            for col, kind in (("barcode", "unit"), ("case_barcode", "case")):
                code = row.get(col)
                if code and s.execute(select(Barcode).where(Barcode.code == code)).scalar_one_or_none() is None:
                    pack = d.parse_qty(row.get("case_qty") or 1) if kind == "case" else 1
                    s.add(Barcode(item_id=item.id, code=code, kind=kind, pack_qty=pack))
            s.flush()
            if progress:
                progress(1)
        if report.ok and not dry_run:
            uow.commit()
    return report


# --------------------------------------------------------------------- bins


def import_bins(path: str, dry_run: bool = False, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Columns: warehouse, code, type, walk_order (optional), warehouse_name (creates a new warehouse)."""
    report = ImportReport()
    with UnitOfWork() as uow:
        s = uow.session
        warehouses = {w.code: w for w in s.execute(select(Warehouse)).scalars()}
        seen = set()
        for n, row in _rows(path, {"warehouse", "code"}):
            report.rows += 1
            errs: list[str] = []
            wcode = _text(row, "warehouse", n, errs, 16)
            code = _text(row, "code", n, errs, 32)
            btype = row.get("type") or "storage"
            if btype not in BIN_TYPES:
                errs.append(f"row {n}: type {btype!r} is not one of {', '.join(BIN_TYPES)}")
            try:
                walk = d.parse_whole(row.get("walk_order") or "0", "walk_order", 0, 1_000_000_000)
            except d.InputError as e:
                walk = 0
                errs.append(f"row {n}: {e.message}")
            if wcode and wcode not in warehouses and not row.get("warehouse_name"):
                errs.append(f"row {n}: unknown warehouse {wcode}; add a warehouse_name column to create it")
            if (wcode, code) in seen:
                errs.append(f"row {n}: bin {code} appears twice for {wcode}")
            seen.add((wcode, code))
            report.errors.extend(errs)
            if errs or len(report.errors) >= MAX_ERRORS:
                continue
            wh = warehouses.get(wcode)
            if wh is None:
                wh = Warehouse(code=wcode, name=row["warehouse_name"][:120])
                s.add(wh)
                s.flush()
                warehouses[wcode] = wh
            b = s.execute(select(Bin).where(Bin.warehouse_id == wh.id, Bin.code == code)).scalar_one_or_none()
            if b is None:
                s.add(Bin(warehouse_id=wh.id, code=code, type=btype, walk_order=walk))
                report.created += 1
            else:
                b.type, b.walk_order = btype, walk
                report.updated += 1
            if progress:
                progress(1)
        s.flush()
        if report.ok and not dry_run:
            uow.commit()
    return report


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

    # Pass 1: check every row; nothing is written.
    with UnitOfWork(write=False) as uow:
        s = uow.session
        warehouses = {w.code: w for w in s.execute(select(Warehouse)).scalars()}
        bins = {(b.warehouse_id, b.code) for b in s.execute(select(Bin)).scalars()}
        for n, row in _rows(path, {"warehouse", "bin", "sku", "qty"}):
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
    for n, row in _rows(path, {"warehouse", "bin", "sku", "qty"}):
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
