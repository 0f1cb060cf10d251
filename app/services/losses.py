"""Losses and returns, read from the ledger (issue 21): what was damaged, expired or scrapped, by
reason, zone, item and week, in units and at cost; what counts found missing or extra; what came
back from customers, by item, channel and reason, and what became of it (restored or scrapped),
with each item's return rate (returned / shipped). Read only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select, text

from ..domain import inputs
from ..domain import valuation as v
from ..models import LOSS_ROWS, Bin, Item, Movement, Order, Warehouse
from ..i18n import _, money
from . import charts, ledger_days

LOSS_KINDS = ("damage", "expire", "scrap")
WEEKS = 8


@dataclass
class Tally:
    units: int = 0
    value: Decimal = Decimal(0)


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


def _period(warehouse_id: int, since: date) -> list:
    """The loss movements of the period, as ix_movements_losses holds them (models.LOSS_ROWS)."""
    return [Movement.warehouse_id == warehouse_id, Movement.created_at >= datetime.combine(since, datetime.min.time()),
            text(f"({LOSS_ROWS})")]


def _valued(units):
    """Sums of `units` and of their value (e4): the valued ones at the average the movement met
    (domain.valuation), and apart the units of movements that name no cost (at the item's cost)."""
    unvalued = Movement.unit_cost_e4.is_(None)
    return (func.sum(units), func.sum(case((unvalued, 0), else_=units * Movement.unit_cost_e4)),
            func.sum(case((unvalued, units), else_=0)))


def report(session, warehouse: Warehouse, weeks: int = WEEKS, today: date | None = None) -> Report:
    """The period's figures, summed in the database: by reason and item (with counts, returns and their
    outcomes), by day (for the weeks) and by bin (for the zones), each a few hundred rows at most."""
    today = today or date.today()
    since = today - timedelta(days=7 * weeks - 1)
    period = _period(warehouse.id, since)
    out = Report(since)
    order_doc = case(((Movement.kind == "return_receive") & (Movement.doc_type == "order"), Movement.doc_id))
    adjust_sign = case((Movement.kind == "adjust", Movement.d_i > 0))
    units = case((Movement.kind == "adjust", func.abs(Movement.d_i)), else_=Movement.qty)
    by_what = session.execute(
        select(Movement.kind, Movement.reason, Movement.from_condition, Movement.item_id, adjust_sign, order_doc,
               *_valued(units))
        .where(*period).group_by(Movement.kind, Movement.reason, Movement.from_condition, Movement.item_id,
                                 adjust_sign, order_doc)).all()
    # A loss (not a count, a return or a restore), by day and by the bin it was in.
    lost = [*period, Movement.kind.in_(LOSS_KINDS)]
    no_cost_item = case((Movement.unit_cost_e4.is_(None), Movement.item_id))
    day_of = func.date(Movement.created_at)
    by_day = session.execute(select(day_of, no_cost_item, *_valued(Movement.qty)).where(*lost)
                             .group_by(day_of, no_cost_item)).all()
    by_bin = session.execute(select(Movement.from_bin_id, no_cost_item, *_valued(Movement.qty)).where(*lost)
                             .group_by(Movement.from_bin_id, no_cost_item)).all()
    # What was shipped, for the return rates: from the ledger's sums per day (services.ledger_days).
    shipped = {item: units for item, (units,) in ledger_days.per_item(session, warehouse.id, since, ("shipped",),
                                                                        today).items() if units}
    ids = {r[3] for r in by_what} | {r[1] for r in by_day + by_bin if r[1]} | set(shipped)
    items = {i: (sku, cost) for i, sku, cost in session.execute(
        select(Item.id, Item.sku, Item.unit_cost).where(Item.id.in_(ids)))} if ids else {}
    zones = dict(session.execute(select(Bin.id, Bin.zone).where(Bin.warehouse_id == warehouse.id)).all())
    orders = {r[5] for r in by_what if r[5]}
    channels = dict(session.execute(select(Order.id, Order.channel).where(Order.id.in_(orders))).all()) if orders else {}

    def tally(table, key, n, value_e4, unvalued, item_id=None):
        t = table[key]
        t.units += int(n or 0)
        t.value += v.from_e4(int(value_e4 or 0)) or Decimal(0)
        if unvalued:
            t.value += Decimal(int(unvalued)) * Decimal(items.get(item_id, (None, 0))[1] or 0)

    for kind, reason, condition, item_id, found, doc, n, value_e4, unvalued in by_what:
        sku = items[item_id][0]
        if kind == "return_receive":
            tally(out.returns, (sku, channels.get(doc, "—") if doc else "—", _reason(kind, reason, None)), n,
                  value_e4, unvalued, item_id)
        elif kind == "restore":
            if condition == "returned":
                out.outcomes[sku]["restored"] += int(n)
        elif kind == "adjust":
            tally(out.counted_extra if found else out.counted_missing, sku, n, value_e4, unvalued, item_id)
        else:
            if kind == "scrap" and condition == "returned":
                out.outcomes[sku]["scrapped"] += int(n)
            tally(out.by_reason, _reason(kind, reason, condition), n, value_e4, unvalued, item_id)
            tally(out.by_item, sku, n, value_e4, unvalued, item_id)
    for day, item_id, n, value_e4, unvalued in by_day:
        tally(out.by_week, _week(ledger_days.as_date(day)), n, value_e4, unvalued, item_id)
    for bin_id, item_id, n, value_e4, unvalued in by_bin:
        tally(out.by_zone, zones.get(bin_id) or "—", n, value_e4, unvalued, item_id)
    for item_id, units in shipped.items():
        out.shipped[items[item_id][0]] += units
    return out


def _week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def reason_chart(report: Report) -> dict:
    """Losses by reason at cost, the dearest first, as bars (services.charts)."""
    return charts.bar_chart([{"label": _(reason), "value": float(t.value), "css": "loss",
                              "text": f"{money(t.value)} · {t.units}"}
                             for reason, t in sorted(report.by_reason.items(), key=lambda kv: -kv[1].value)])


CSV_COLUMNS = ("day", "week", "kind", "reason", "zone", "bin", "sku", "name", "units", "value")


def csv_rows(session, warehouse: Warehouse, weeks: int = WEEKS, today: date | None = None):
    """Every loss movement of the period (damage, expiry, scrap) as CSV rows, the header first, in the
    order they were booked, read in batches."""
    today = today or date.today()
    since = today - timedelta(days=7 * weeks - 1)
    yield list(CSV_COLUMNS)
    bins = {b: (code, zone) for b, code, zone in session.execute(
        select(Bin.id, Bin.code, Bin.zone).where(Bin.warehouse_id == warehouse.id))}
    items: dict[int, tuple] = {}
    rows = session.execute(
        select(Movement.kind, Movement.reason, Movement.from_condition, Movement.qty,
               func.date(Movement.created_at), Movement.item_id, Movement.unit_cost_e4, Movement.from_bin_id,
               Movement.to_bin_id)
        .where(*_period(warehouse.id, since), Movement.kind.in_(LOSS_KINDS))
        .order_by(Movement.created_at, Movement.id).execution_options(yield_per=2000))
    for batch in rows.partitions():
        need = {r.item_id for r in batch} - set(items)
        if need:
            items.update({i: (sku, name, cost) for i, sku, name, cost in session.execute(
                select(Item.id, Item.sku, Item.name, Item.unit_cost).where(Item.id.in_(need)))})
        for kind, reason, condition, qty, day, item_id, cost_e4, from_bin, to_bin in batch:
            sku, name, item_cost = items[item_id]
            cost = v.from_e4(cost_e4) if cost_e4 is not None else item_cost
            day = ledger_days.as_date(day)
            code = (bins.get(from_bin) or bins.get(to_bin) or ("", None))[0]
            zone = (bins.get(from_bin) or (None, None))[1] or "—"
            yield [inputs.safe_cell(x) for x in (
                day.isoformat(), _week(day), kind, _reason(kind, reason, condition), zone, code,
                sku, name, qty, Decimal(qty) * Decimal(cost or 0))]
