"""Purchase orders and advance ship notices: from the API, a CSV file or the supervisor's screen.

A document is checked whole; one bad line refuses it all and says which.
Sending the same number again returns the first document unchanged, so a
supplier system that retries never doubles what is expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain import inputs
from ..domain import stock as d
from ..i18n import N_
from ..models import PurchaseOrder, PurchaseOrderLine
from .stock import NotFound, _clean, get_item, get_warehouse
from .uow import UnitOfWork

MAX_LINES = 500
KINDS = ("po", "asn")


@dataclass
class LineRequest:
    sku: object
    qty: object
    lot: object = None
    expiry: object = None
    unit_cost: object = None  # what the supplier charges a unit: the receipt's cost (valuation)


@dataclass
class PurchaseOrderRequest:
    number: object
    warehouse: object
    lines: list
    kind: object = "po"
    supplier: object = ""
    expected_on: object = None


def parse_date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise d.InputError(f"{name} must be a date like 2027-03-31")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise d.InputError(f"{name} must be a date like 2027-03-31, not {value[:20]!r}") from None


def _unit_cost(value) -> Decimal | None:
    """A PO line's unit cost: an amount from 0 to a hundred million, at most 4 decimals; or none."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise d.InputError("unit_cost must be an amount, like 12.50")
    try:
        cost = Decimal(str(value).strip())
    except InvalidOperation:
        raise d.InputError(f"unit_cost must be an amount, like 12.50, not {str(value)[:20]!r}") from None
    if not cost.is_finite() or not 0 <= cost <= 100_000_000 or cost != cost.quantize(Decimal("0.0001")):
        raise d.InputError("unit_cost must be between 0 and 100,000,000, with at most 4 decimals")
    return cost


def po_dict(po: PurchaseOrder) -> dict:
    return {
        "id": po.id,
        "number": po.number,
        "kind": po.kind,
        "warehouse": po.warehouse.code,
        "supplier": po.supplier,
        "status": po.status,
        "expected_on": po.expected_on.isoformat() if po.expected_on else None,
        "lines": [
            {
                "line": ln.line_no,
                "sku": ln.item.sku,
                "qty": ln.expected,
                "received": ln.received,
                "lot": ln.lot,
                "expiry": ln.expiry.isoformat() if ln.expiry else None,
                "unit_cost": f"{ln.unit_cost:.4f}" if ln.unit_cost is not None else None,
            }
            for ln in po.lines
        ],
    }


def _checked(req: PurchaseOrderRequest):
    number = _clean(req.number if isinstance(req.number, str) else None, "number", 40)
    if not number:
        raise d.InputError.of(N_("A purchase order needs a number, e.g. PO-2026-0042"))
    kind = req.kind or "po"
    if not isinstance(kind, str) or kind not in KINDS:
        raise d.InputError.of(N_("kind must be po or asn"))
    supplier = _clean(req.supplier or "", "supplier", 120) or ""
    expected_on = parse_date(req.expected_on, "expected_on")
    if not isinstance(req.lines, list) or not req.lines:
        raise d.InputError.of(N_("A purchase order needs at least one line"))
    if len(req.lines) > MAX_LINES:
        raise d.InputError(f"A purchase order has at most {MAX_LINES} lines")
    lines = []
    for n, line in enumerate(req.lines, 1):
        try:
            if not isinstance(line, LineRequest):
                raise d.InputError.of(N_("must have a sku and a qty"))
            qty = d.parse_qty(line.qty)
            lot = _clean(line.lot if line.lot not in ("",) else None, "lot", 40)
            expiry = parse_date(line.expiry, "expiry")
            if not isinstance(line.sku, str) or not line.sku.strip():
                raise d.InputError.of(N_("sku is required"))
            cost = _unit_cost(line.unit_cost)
        except d.InputError as e:
            raise type(e)(f"Line {n}: {e.message}") from None
        lines.append((line.sku.strip(), qty, lot or None, expiry, cost))
    return number, kind, supplier, expected_on, lines


def create_purchase_order(req: PurchaseOrderRequest, uow: UnitOfWork | None = None) -> tuple[dict, bool]:
    """The document, and whether it is new. Nothing is stored when any line is wrong."""
    number, kind, supplier, expected_on, lines = _checked(req)
    with uow or UnitOfWork() as uow:
        s = uow.session
        existing = s.execute(select(PurchaseOrder).where(PurchaseOrder.number == number)).scalar_one_or_none()
        if existing is not None:
            return po_dict(existing), False
        wh = get_warehouse(s, req.warehouse)
        po = PurchaseOrder(number=number, kind=kind, warehouse_id=wh.id, supplier=supplier, status="open",
                           expected_on=expected_on)
        s.add(po)
        s.flush()
        for n, (sku, qty, lot, expiry, cost) in enumerate(lines, 1):
            try:
                item = get_item(s, sku)
            except NotFound as e:
                raise NotFound(f"Line {n}: {e.message}") from None
            s.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=n, item_id=item.id, expected=qty, lot=lot,
                                    expiry=expiry, unit_cost=cost))
        s.flush()
        s.refresh(po)
        result = po_dict(po)
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            existing = s.execute(select(PurchaseOrder).where(PurchaseOrder.number == number)).scalar_one_or_none()
            if existing is None:
                raise
            return po_dict(existing), False
        return result, True


@dataclass
class CsvResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


PO_COLUMNS = {"number", "warehouse", "sku", "qty"}


def read_csv(text: str, required: set[str]) -> list[tuple[int, dict]]:
    return inputs.csv_records(text, required)


def import_csv(text: str) -> CsvResult:
    """Rows `number,warehouse,sku,qty[,kind,supplier,expected_on,lot,expiry]`, one per line, grouped by number.

    Every document is checked before any is stored: a file with an error stores nothing.
    """
    result = CsvResult()
    rows = read_csv(text, PO_COLUMNS)
    if not rows:
        raise d.InputError.of(N_("The file has no rows"))
    docs: dict[str, PurchaseOrderRequest] = {}
    for n, row in rows:
        number = row.get("number", "")
        doc = docs.setdefault(number, PurchaseOrderRequest(
            number=number, warehouse=row.get("warehouse"), lines=[], kind=row.get("kind") or "po",
            supplier=row.get("supplier", ""), expected_on=row.get("expected_on") or None,
        ))
        doc.lines.append(LineRequest(row.get("sku"), row.get("qty"), row.get("lot") or None, row.get("expiry") or None,
                                     row.get("unit_cost") or None))
    for number, doc in docs.items():
        try:
            _checked(doc)
        except d.InputError as e:
            result.errors.append(f"{number or '(no number)'}: {e.message}")
    if result.errors:
        return result
    # Stored one by one, in one transaction: all of the file or none of it.
    with UnitOfWork() as uow:
        for number, doc in docs.items():
            try:
                _, created = create_purchase_order(doc, uow=_Shared(uow))
            except d.InputError as e:
                result.errors.append(f"{number}: {e.message}")
                continue
            (result.created if created else result.existing).append(number)
        if result.errors:
            result.created.clear()
            return result
        uow.commit()
    return result


class _Shared:
    """The caller's unit of work, lent to a service that would otherwise commit on its own."""

    def __init__(self, uow: UnitOfWork):
        self.uow = uow
        self.session = uow.session

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def commit(self):
        self.session.flush()

    def rollback(self):
        raise RuntimeError("rollback inside a shared unit of work")


# --------------------------------------------------------------------------
# Receiving against a document, from an integration
# --------------------------------------------------------------------------


def receive_against(number, cmd, allow_over: bool = False):
    """A receipt booked on a purchase order's (or ASN's) line: the line's received count goes up in
    the same transaction as the movement, and no more is received than the line still expects
    (unless `allow_over`, a supervisor's token). A resent scan_id answers with the first receipt.
    """
    from . import stock as stock_service

    number = _clean(number, "purchase_order", 40)
    if not number:
        raise d.InputError.of(N_("A receipt names its purchase order or ASN (purchase_order), or needs a supervisor's token"))
    with UnitOfWork() as uow:
        s = uow.session
        po = s.execute(select(PurchaseOrder).where(PurchaseOrder.number == number)
                       .with_for_update()).scalar_one_or_none()
        wh = get_warehouse(s, cmd.warehouse)
        if po is None or po.warehouse_id != wh.id:
            raise NotFound(f"No purchase order or ASN {number!r} for {wh.code}")
        scan_id = _clean(cmd.scan_id, "scan_id", 64)
        if scan_id:
            replay = stock_service._replayed(s, scan_id)
            if replay:
                return replay
        if po.status in ("received", "closed"):
            raise d.StockError(f"{po.number} is fully received and closed")
        item = get_item(s, cmd.sku)
        qty = d.parse_qty(cmd.qty)
        lot = _clean(cmd.lot, "lot", 40) or None
        lines = [ln for ln in po.lines if ln.item_id == item.id and (lot is None or ln.lot in (None, lot))]
        if not lines:
            raise d.InputError(f"{item.sku}{f' lot {lot}' if lot else ''} is not on {po.number}")
        line = min(lines, key=lambda ln: (ln.received >= ln.expected, ln.line_no))
        left = max(0, line.expected - line.received)
        if qty > left and not allow_over:
            raise d.StockError(f"{po.number} line {line.line_no} expects {left:,} more {item.sku}, not {qty:,}: "
                               "a supervisor's token receives beyond it")
        cmd.kind, cmd.doc_type, cmd.doc_id = "receive", "po", po.id
        cmd.lot = cmd.lot if cmd.lot is not None else line.lot
        cmd.expiry = cmd.expiry or line.expiry
        if cmd.unit_cost is None:
            cmd.unit_cost = line.unit_cost
        cmd.reason = cmd.reason or f"received on {po.number}"
        result = stock_service.apply_in(s, cmd)
        line.received += qty
        po.status = "received" if all(ln.received >= ln.expected for ln in po.lines) else "partial"
        uow.commit()
        return result
