"""Suppliers and what each sells: a supervisor's master data, checked here (one home for the rules)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update

from ..domain import stock as d
from ..i18n import N_
from ..models import ItemSupplier, Supplier
from .resolve import item_named


def _number(value, what: str, low: float, high: float) -> Decimal:
    try:
        n = Decimal(str(value or "0").strip().replace(",", "."))
    except InvalidOperation:
        raise d.InputError.of(N_("%(what)s is a number, not %(value)r."), what=what, value=str(value)[:20]) from None
    if not n.is_finite() or not low <= n <= high:
        raise d.InputError.of(N_("%(what)s is from %(low)s to %(high)s."), what=what, low=low, high=high)
    return n


def save(session, form, supplier_id=None) -> Supplier:
    """A supplier from a form: name, lead time in days and its spread, minimum order, pack, currency."""
    name = (form.get("name") or "").strip()
    if not name or len(name) > 120:
        raise d.InputError.of(N_("Name the supplier (at most 120 characters)."))
    currency = (form.get("currency") or "EUR").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise d.InputError.of(N_("A currency is its three-letter code, as EUR or USD."))
    values = {
        "name": name, "currency": currency,
        "lead_days": d.parse_whole(form.get("lead_days") or "7", "lead_days", 0, 365, error=d.InputError),
        "lead_sd_days": _number(form.get("lead_sd_days"), "lead_sd_days", 0, 365),
        "moq": d.parse_whole(form.get("moq") or "1", "moq", 1, d.MAX_QTY, error=d.InputError),
        "pack": d.parse_whole(form.get("pack") or "1", "pack", 1, d.MAX_QTY, error=d.InputError),
    }
    other = session.execute(select(Supplier).where(Supplier.name == name)).scalar_one_or_none()
    row = session.get(Supplier, d.parse_id(supplier_id, "supplier")) if supplier_id else None
    if other is not None and (row is None or other.id != row.id):
        raise d.InputError.of(N_("%(name)s is a supplier already."), name=name)
    if row is None:
        row = Supplier(**values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.flush()
    return row


def link(session, form) -> ItemSupplier:
    """An item sold by a supplier, at a cost; `preferred` makes it the one proposals order from."""
    supplier = session.get(Supplier, d.parse_id(form.get("supplier"), "supplier"))
    if supplier is None:
        raise d.InputError.of(N_("Choose a supplier."))
    hit = item_named(session, (form.get("sku") or "").strip()[:80]) if (form.get("sku") or "").strip() else None
    if hit is None:
        raise d.InputError.of(N_("No item %(sku)s."), sku=(form.get("sku") or "").strip()[:40])
    cost = _number(form.get("unit_cost"), "unit_cost", 0, 10_000_000) if (form.get("unit_cost") or "").strip() else None
    row = session.execute(select(ItemSupplier).where(ItemSupplier.item_id == hit.item.id,
                                                     ItemSupplier.supplier_id == supplier.id)).scalar_one_or_none()
    if row is None:
        row = ItemSupplier(item_id=hit.item.id, supplier_id=supplier.id)
        session.add(row)
    row.unit_cost = cost
    preferred = form.get("preferred") in ("1", "yes", "on")
    if preferred:
        session.execute(update(ItemSupplier).where(ItemSupplier.item_id == hit.item.id)
                        .values(preferred=False).execution_options(synchronize_session=False))
    row.preferred = preferred or not session.execute(
        select(ItemSupplier.id).where(ItemSupplier.item_id == hit.item.id, ItemSupplier.preferred.is_(True),
                                      ItemSupplier.supplier_id != supplier.id)).first()
    session.flush()
    return row


def all_suppliers(session) -> list[Supplier]:
    return list(session.execute(select(Supplier).order_by(Supplier.name)).scalars())


def links(session) -> list[ItemSupplier]:
    return list(session.execute(select(ItemSupplier).order_by(ItemSupplier.item_id, ItemSupplier.preferred.desc())
                                ).scalars())
