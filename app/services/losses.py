"""Losses and returns, read from the ledger (issue 21): what was damaged, expired or scrapped, by
reason, zone, item and week, in units and at cost; what counts found missing or extra; what came
back from customers, by item, channel and reason, and what became of it (restored or scrapped),
with each item's return rate (returned / shipped). Read only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..domain import inputs
from ..domain import valuation as v
from ..models import Bin, Item, Movement, Order, Warehouse

LOSS_KINDS = ("damage", "expire", "scrap")
WEEKS = 8


@dataclass
class Tally:
    units: int = 0
    value: Decimal = Decimal(0)

    def add(self, units: int, cost) -> None:
        self.units += units
        self.value += Decimal(units) * Decimal(cost or 0)


@dataclass
class Report:
    since: date
    by_reason: dict = field(default_factory=lambda: defaultdict(Tally))
    by_zone: dict = field(default_factory=lambda: defaultdict(Tally))
    by_item: dict = field(default_factory=lambda: defaultdict(Tally))
    by_week: dict = field(default_factory=lambda: defaultdict(Tally))
    counted_missing: dict = field(default_factory=lambda: defaultdict(Tally))
    counted_extra: dict = field(default_factory=lambda: defaultdict(Tally))
    returns: dict = field(default_factory=lambda: defaultdict(Tally))  # (sku, channel, reason)
    outcomes: dict = field(default_factory=lambda: defaultdict(lambda: {"restored": 0, "scrapped": 0}))
    shipped: dict = field(default_factory=lambda: defaultdict(int))
    rows: list = field(default_factory=list)  # every loss movement, for the CSV

    def return_rate(self, sku: str) -> float | None:
        back = sum(t.units for (s, _c, _r), t in self.returns.items() if s == sku)
        return back / self.shipped[sku] if self.shipped.get(sku) else None

    @property
    def total(self) -> Tally:
        t = Tally()
        for tally in self.by_reason.values():
            t.units += tally.units
            t.value += tally.value
        return t


def _reason(kind: str, reason: str | None, condition: str | None) -> str:
    if kind == "expire":
        return "expired"
    text = (reason or "").strip()
    for prefix in ("damage: ", "return inspected: ", "return: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if kind == "scrap" and condition:
        return f"scrapped {condition}"
    return text or kind


class _Costed:
    """A ledger row with its unit cost: the average cost the movement met (domain.valuation), or the
    item's cost where the row names none (written before valuation)."""

    def __init__(self, row):
        self._row = row
        self.unit_cost = v.from_e4(row.unit_cost_e4) if row.unit_cost_e4 is not None else row.item_cost

    def __getattr__(self, name):
        return getattr(self._row, name)


def report(session, warehouse: Warehouse, weeks: int = WEEKS, today: date | None = None) -> Report:
    today = today or date.today()
    since = today - timedelta(days=7 * weeks - 1)
    start = datetime.combine(since, datetime.min.time())
    from_bin, to_bin = aliased(Bin), aliased(Bin)
    rows = session.execute(
        select(Movement.kind, Movement.reason, Movement.from_condition, Movement.qty, Movement.d_i,
               Movement.created_at, Movement.doc_type, Movement.doc_id, Item.sku, Item.name,
               Item.unit_cost.label("item_cost"), Movement.unit_cost_e4,
               from_bin.zone.label("zone"), from_bin.code.label("from_code"), to_bin.code.label("to_code"))
        .join(Item, Item.id == Movement.item_id)
        .outerjoin(from_bin, from_bin.id == Movement.from_bin_id).outerjoin(to_bin, to_bin.id == Movement.to_bin_id)
        .where(Movement.warehouse_id == warehouse.id, Movement.created_at >= start,
               Movement.kind.in_(LOSS_KINDS + ("adjust", "return_receive", "restore")))
        .order_by(Movement.id)
    ).all()
    channels = dict(session.execute(
        select(Order.id, Order.channel).where(Order.id.in_({r.doc_id for r in rows if r.doc_type == "order" and r.doc_id}))
    ).all()) if rows else {}
    out = Report(since)
    # What was shipped, for the return rates: summed by the database (a fifth of a ledger is shipments).
    for sku, units in session.execute(
            select(Item.sku, func.sum(Movement.qty)).join(Item, Item.id == Movement.item_id)
            .where(Movement.warehouse_id == warehouse.id, Movement.created_at >= start, Movement.kind == "ship")
            .group_by(Item.sku)):
        out.shipped[sku] += int(units)
    for row in rows:
        r = _Costed(row)
        day = r.created_at.date() if isinstance(r.created_at, datetime) else date.fromisoformat(str(r.created_at)[:10])
        if r.kind == "return_receive":
            channel = channels.get(r.doc_id, "—") if r.doc_type == "order" else "—"
            out.returns[(r.sku, channel, _reason(r.kind, r.reason, None))].add(r.qty, r.unit_cost)
        elif r.kind == "restore" and r.from_condition == "returned":
            out.outcomes[r.sku]["restored"] += r.qty
        elif r.kind == "adjust":
            (out.counted_extra if (r.d_i or 0) > 0 else out.counted_missing)[r.sku].add(abs(r.d_i or 0), r.unit_cost)
        elif r.kind in LOSS_KINDS:
            if r.kind == "scrap" and r.from_condition == "returned":
                out.outcomes[r.sku]["scrapped"] += r.qty
            if r.kind == "scrap" and r.from_condition in ("damaged", "expired"):
                continue  # written off when it was damaged or expired: counted there, not twice
            reason = _reason(r.kind, r.reason, r.from_condition)
            zone = r.zone or "—"
            week = f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
            for table, key in ((out.by_reason, reason), (out.by_zone, zone), (out.by_item, r.sku),
                               (out.by_week, week)):
                table[key].add(r.qty, r.unit_cost)
            out.rows.append((day.isoformat(), week, r.kind, reason, zone, r.from_code or r.to_code or "", r.sku, r.name, r.qty,
                             Decimal(r.qty) * Decimal(r.unit_cost or 0)))
    return out


CSV_COLUMNS = ("day", "week", "kind", "reason", "zone", "bin", "sku", "name", "units", "value")


def csv_rows(report: Report):
    """Every loss movement of the report as CSV rows, the header first."""
    yield list(CSV_COLUMNS)
    for row in report.rows:
        yield [inputs.safe_cell(v) for v in row]
