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

from ..domain import inputs
from ..domain import valuation as v
from ..models import Bin, Item, Movement, Order, Warehouse
from . import ledger_days

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


def report(session, warehouse: Warehouse, weeks: int = WEEKS, today: date | None = None) -> Report:
    today = today or date.today()
    since = today - timedelta(days=7 * weeks - 1)
    start = datetime.combine(since, datetime.min.time())
    # Plain columns, the day as the database writes it; items and bins are looked up once each.
    rows = session.execute(
        select(Movement.kind, Movement.reason, Movement.from_condition, Movement.qty, Movement.d_i,
               func.date(Movement.created_at).label("day"), Movement.doc_type, Movement.doc_id, Movement.item_id,
               Movement.unit_cost_e4, Movement.from_bin_id, Movement.to_bin_id)
        .where(Movement.warehouse_id == warehouse.id, Movement.created_at >= start,
               Movement.kind.in_(LOSS_KINDS + ("adjust", "return_receive", "restore")),
               # a scrap of what was already written off as damaged or expired is counted there, not twice
               ~((Movement.kind == "scrap") & Movement.from_condition.in_(("damaged", "expired"))))
        .order_by(Movement.id)
    ).all()
    items = {i: (sku, name, cost) for i, sku, name, cost in session.execute(
        select(Item.id, Item.sku, Item.name, Item.unit_cost).where(Item.id.in_({r.item_id for r in rows})))} if rows else {}
    bins = {b: (code, zone) for b, code, zone in session.execute(
        select(Bin.id, Bin.code, Bin.zone).where(Bin.warehouse_id == warehouse.id))}
    channels = dict(session.execute(
        select(Order.id, Order.channel).where(Order.id.in_({r.doc_id for r in rows if r.doc_type == "order" and r.doc_id}))
    ).all()) if rows else {}
    out = Report(since)
    # What was shipped, for the return rates: from the ledger's sums per day (services.ledger_days).
    shipped = {item: units for item, (units,) in ledger_days.per_item(session, warehouse.id, since, ("shipped",),
                                                                        today).items() if units}
    if shipped:
        for item_id, sku in session.execute(select(Item.id, Item.sku).where(Item.id.in_(list(shipped)))):
            out.shipped[sku] += shipped[item_id]
    for r in rows:
        sku, name, item_cost = items[r.item_id]
        # At the average cost the movement met (domain.valuation); the item's where it names none.
        cost = v.from_e4(r.unit_cost_e4) if r.unit_cost_e4 is not None else item_cost
        if r.kind == "return_receive":
            channel = channels.get(r.doc_id, "—") if r.doc_type == "order" else "—"
            out.returns[(sku, channel, _reason(r.kind, r.reason, None))].add(r.qty, cost)
        elif r.kind == "restore":
            if r.from_condition == "returned":
                out.outcomes[sku]["restored"] += r.qty
        elif r.kind == "adjust":
            (out.counted_extra if (r.d_i or 0) > 0 else out.counted_missing)[sku].add(abs(r.d_i or 0), cost)
        else:
            if r.kind == "scrap" and r.from_condition == "returned":
                out.outcomes[sku]["scrapped"] += r.qty
            day = ledger_days.as_date(r.day)
            reason = _reason(r.kind, r.reason, r.from_condition)
            code = (bins.get(r.from_bin_id) or bins.get(r.to_bin_id) or ("", None))[0]
            zone = (bins.get(r.from_bin_id) or (None, None))[1] or "—"
            iso = day.isocalendar()
            week = f"{iso.year}-W{iso.week:02d}"
            for table, key in ((out.by_reason, reason), (out.by_zone, zone), (out.by_item, sku), (out.by_week, week)):
                table[key].add(r.qty, cost)
            out.rows.append((day.isoformat(), week, r.kind, reason, zone, code, sku, name, r.qty,
                             Decimal(r.qty) * Decimal(cost or 0)))
    return out


CSV_COLUMNS = ("day", "week", "kind", "reason", "zone", "bin", "sku", "name", "units", "value")


def csv_rows(report: Report):
    """Every loss movement of the report as CSV rows, the header first."""
    yield list(CSV_COLUMNS)
    for row in report.rows:
        yield [inputs.safe_cell(v) for v in row]
