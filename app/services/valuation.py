"""Stock value, cost of goods shipped and turnover, read from the balances and the ledger (issue 21).

The writer (services.stock) keeps each balance's value at moving-average cost (domain.valuation) in the
same update as its buckets, and each movement's value beside its deltas. So:
- the value now is the balances' (per warehouse, item and bucket: the bucket's units at the average);
- the value on a past day is the value now less what the movements since then moved: only the
  ledger's rows after that day are read (by their date index), never the whole ledger;
- the cost of goods shipped is what the shipments moved out; turnover is that over the average of
  the daily closing values.
Read only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from ..domain import valuation as v
from ..models import Balance, Item, Warehouse
from ..i18n import _
from . import charts, ledger_days

VALUED_BUCKETS = ("s", "o", "u", "l", "t", "a")  # where I + A sits (I = S + O + U + L + T - V); V is no stock
PERIOD_DAYS = 90


@dataclass
class ItemValue:
    item: Item
    qty: int  # I + A
    value_e4: int
    buckets: dict  # bucket letter -> units

    @property
    def avg_e4(self) -> int | None:
        return v.Pool(self.qty, self.value_e4).avg_e4

    def bucket_value(self, b: str) -> int:
        """The bucket's units at the average (V, supply not yet here, is worth nothing)."""
        avg = self.avg_e4
        return self.buckets.get(b, 0) * avg if avg is not None else 0


@dataclass
class Valuation:
    warehouse: Warehouse
    as_of: date | None
    items: list[ItemValue] = field(default_factory=list)

    @property
    def total_e4(self) -> int:
        return sum(r.value_e4 for r in self.items)

    def by_bucket(self) -> dict[str, int]:
        out = dict.fromkeys(VALUED_BUCKETS, 0)
        for r in self.items:
            for b in VALUED_BUCKETS:
                out[b] += r.bucket_value(b)
        return out


def now(session, warehouse: Warehouse) -> Valuation:
    """Every item of the warehouse with units (I + A) or value, at moving-average cost, dearest first."""
    rows = session.execute(
        select(Balance, Item).join(Item, Item.id == Balance.item_id)
        .where(Balance.warehouse_id == warehouse.id, (Balance.i + Balance.a > 0) | (Balance.value_e4 != 0))
    ).all()
    items = [ItemValue(item, bal.i + bal.a, bal.value_e4, {b: getattr(bal, b) for b in (*VALUED_BUCKETS, "v")})
             for bal, item in rows]
    items.sort(key=lambda r: (-r.value_e4, r.item.sku))
    return Valuation(warehouse, None, items)


def _moved_since(session, warehouse_id: int, day: date) -> dict[int, tuple[int, int]]:
    """Per item: (units, value) that the movements after `day` moved at this warehouse, a transfer's
    arrival in transit included (services.ledger_days)."""
    return ledger_days.per_item(session, warehouse_id, day, ("units", "value_e4"), after=True)


def as_of(session, warehouse: Warehouse, day: date) -> Valuation:
    """The value at the close of `day`: today's less what the movements since moved (units and value)."""
    current = {r.item.id: r for r in now(session, warehouse).items}
    moved = _moved_since(session, warehouse.id, day)
    ids = set(current) | set(moved)
    missing = ids - set(current)
    items = {i.id: i for i in session.execute(select(Item).where(Item.id.in_(missing))).scalars()} if missing else {}
    out = []
    for item_id in ids:
        qty_now, value_now = (current[item_id].qty, current[item_id].value_e4) if item_id in current else (0, 0)
        dq, dv = moved.get(item_id, (0, 0))
        qty, value = qty_now - dq, value_now - dv
        if qty or value:
            item = current[item_id].item if item_id in current else items[item_id]
            out.append(ItemValue(item, qty, value, {}))
    out.sort(key=lambda r: (-r.value_e4, r.item.sku))
    return Valuation(warehouse, day, out)


def daily_values(session, warehouse: Warehouse, days: int, today: date | None = None) -> list[tuple[date, int]]:
    """The stock value at the close of each of the last `days` days, oldest first (today's is now)."""
    today = today or date.today()
    first = today - timedelta(days=days - 1)
    total = sum(r.value_e4 for r in now(session, warehouse).items)
    by_day = ledger_days.per_day(session, warehouse.id, first, "value_e4", today)
    # Walk back from now: the close of a day is the next day's close less that next day's movements.
    closes = []
    value = total
    for n in range(days):
        day = today - timedelta(days=n)
        closes.append((day, value))
        value -= by_day.get(day, 0)
    closes.reverse()
    return closes


def cogs(session, warehouse: Warehouse, since: date, today: date | None = None) -> int:
    """The cost of goods shipped (e4) from the day `since` to today: what the shipments moved out."""
    return sum(ledger_days.per_day(session, warehouse.id, since, "cogs_e4", today).values())


@dataclass
class Turnover:
    days: int
    cogs_e4: int
    average_e4: int
    ratio: object  # Decimal or None
    series: list  # (day, value e4)

    @property
    def annual(self):
        return None if self.ratio is None else (self.ratio * 365 / self.days).quantize(self.ratio)


def turnover(session, warehouse: Warehouse, days: int = PERIOD_DAYS, today: date | None = None) -> Turnover:
    today = today or date.today()
    series = daily_values(session, warehouse, days, today)
    shipped = cogs(session, warehouse, today - timedelta(days=days - 1), today)
    average = v.average_value([val for _day, val in series])
    return Turnover(days, shipped, average, v.turnover(shipped, average), series)


def csv_rows(valuation: Valuation):
    yield ["warehouse", "as_of", "sku", "name", "units", "avg_cost", "value"]
    stamp = valuation.as_of.isoformat() if valuation.as_of else "now"
    for r in valuation.items:
        avg = r.avg_e4
        yield [valuation.warehouse.code, stamp, r.item.sku, r.item.name, r.qty,
               f"{v.from_e4(avg):.4f}" if avg is not None else "", f"{v.from_e4(r.value_e4):.2f}"]


def trend_chart(turn) -> dict:
    """Stock value at each day's close over the period, as a line (services.charts)."""
    return charts.line_chart([{"label": _("Stock value"), "css": "ira",
                               "values": [float(value) / v.E4 for _day, value in turn.series]}],
                             [day.strftime("%d %b") for day, _value in turn.series])
