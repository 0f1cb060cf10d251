"""Cycle counting in plain Python: what a bin should hold, when a variance
needs a recount, the accuracy KPIs and the ABC classification.

No Flask, no SQLAlchemy: the services feed these functions rows they read
under the right locks, and the unit tests feed them small hand-made data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .stock import InputError

# --------------------------------------------------------------------------
# What a bin should hold while it is counted
# --------------------------------------------------------------------------


def expected_qty(at_start: int, moved_since: Iterable[int]) -> int:
    """The system quantity a count is compared with.

    Stock can move in a bin while it is counted (a picker takes two, a
    putaway adds a case). The count is of what is on the shelf when the bin
    is closed, so it is compared with the quantity when the bin's count
    started plus every movement in the bin since: a pick is then neither
    counted as missing (lost) nor taken off twice (double-counted).
    """
    return at_start + sum(moved_since)


# --------------------------------------------------------------------------
# Variance thresholds
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """A variance passes the threshold when it is larger than either limit.

    qty: units (absolute); value: money (absolute, at the item's unit cost).
    A variance within both is accepted without a recount.
    """

    qty: int = 0
    value: Decimal = Decimal(0)

    @classmethod
    def parse(cls, qty, value) -> Thresholds:
        try:
            q = int(str(qty).strip() or 0)
            v = Decimal(str(value).strip() or "0")
        except (ValueError, ArithmeticError):
            raise InputError("Thresholds are a whole number of units and an amount of money") from None
        if not v.is_finite() or q < 0 or v < 0 or q > 1_000_000 or v > 10_000_000:
            raise InputError("Thresholds are zero or more (at most 1,000,000 units)")
        return cls(q, v.quantize(Decimal("0.01")))


def passes_threshold(variance: int, unit_cost: Decimal | None, limits: Thresholds) -> bool:
    if variance == 0:
        return False
    if abs(variance) > limits.qty:
        return True
    return abs(variance) * (unit_cost or Decimal(0)) > limits.value


# How a counted line is settled. Each line ends as one of the final states.
LINE_STATES = {
    "counting": "Being counted",
    "match": "Matches",
    "accepted": "Within tolerance: adjusted",
    "recount": "Waiting for a recount",
    "review": "Waiting for approval",
    "approved": "Approved: adjusted",
    "rejected": "Rejected: record kept",
}
FINAL_STATES = ("match", "accepted", "approved", "rejected")


def settle(variance: int, unit_cost: Decimal | None, limits: Thresholds, *, round_: int, moved_while_counting: bool) -> str:
    """Where a counted line goes next.

    A first count over the threshold, or one whose item moved in the bin
    after the counter had started on it (so the count may include units
    since taken, or miss units since added), goes to a recount by another
    operator. A recount that still differs goes to the supervisor.
    """
    if round_ == 1 and (moved_while_counting or passes_threshold(variance, unit_cost, limits)):
        return "recount"
    if variance == 0:
        return "match"
    if round_ == 1:
        return "accepted"
    return "review"


def split_adjustment(lots: list[tuple[str, int, date | None]], variance: int, found_lot: str | None = None) -> list[tuple[str, int]]:
    """Spread a count variance of one item over the lots the bin holds.

    `lots` is (lot, held, expiry). A surplus goes to the lot the counter
    scanned, else the lot that expires last (the newest stock); a shortage
    is taken from the soonest-expiring lot first, the one pickers take
    first and so the likeliest to have left unrecorded. Returns (lot, change).
    """
    if variance == 0:
        return []
    if variance > 0:
        if found_lot is not None:
            return [(found_lot, variance)]
        if not lots:
            return [("", variance)]
        newest = max(lots, key=lambda x: (x[2] is None, x[2] or date.min, x[0]))
        return [(newest[0], variance)]
    need = -variance
    out = []
    for lot, held, _expiry in sorted(lots, key=lambda x: (x[2] is None, x[2] or date.max, x[0])):
        take = min(need, held)
        if take > 0:
            out.append((lot, -take))
            need -= take
    if need > 0:
        raise InputError(f"The bin holds {-variance - need} fewer than the count would take")
    return out


# --------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CountedLine:
    system: int  # the record: expected quantity at the count
    counted: int  # what is accepted as on the shelf


@dataclass(frozen=True)
class Kpis:
    lines: int
    differing: int
    system_units: int
    abs_difference: int
    accurate: int
    type_rate: float | None = None  # SKU type difference rate
    qty_rate: float | None = None  # SKU quantity difference rate
    ira: float | None = None  # inventory record accuracy

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "differing_lines": self.differing,
            "system_units": self.system_units,
            "abs_difference": self.abs_difference,
            "accurate_lines": self.accurate,
            "sku_type_difference_rate": self.type_rate,
            "sku_quantity_difference_rate": self.qty_rate,
            "inventory_record_accuracy": self.ira,
        }


def kpis(lines: Iterable[CountedLine], tolerance: int = 0) -> Kpis:
    """The two counting KPIs of ../shared/seeds/000_*.txt, and record accuracy.

    - SKU type difference rate: counted bin-item lines whose count differs
      from the system, over all counted lines.
    - SKU quantity difference rate: Σ|counted − system| / Σ system.
    - Inventory record accuracy: lines whose count is within `tolerance`
      units of the record, over all counted lines.
    A rate with nothing under it (no lines, no system units) is None, not 0.
    """
    lines = list(lines)
    n = len(lines)
    differing = sum(1 for x in lines if x.counted != x.system)
    system = sum(x.system for x in lines)
    diff = sum(abs(x.counted - x.system) for x in lines)
    accurate = sum(1 for x in lines if abs(x.counted - x.system) <= tolerance)
    return Kpis(
        n, differing, system, diff, accurate,
        type_rate=differing / n if n else None,
        qty_rate=diff / system if system else None,
        ira=accurate / n if n else None,
    )


# --------------------------------------------------------------------------
# ABC classification and what is due for a count
# --------------------------------------------------------------------------

DEFAULT_FREQUENCY = {"A": 30, "B": 90, "C": 180}  # days between counts
DEFAULT_SHARES = (Decimal("0.80"), Decimal("0.95"))  # cumulative value share that ends A, then B


@dataclass(frozen=True)
class Usage:
    item_id: int
    units: int  # units that left the warehouse in the window (picked, shipped, ...)
    unit_cost: Decimal | None = None

    @property
    def value(self) -> Decimal:
        return self.units * (self.unit_cost if self.unit_cost is not None else Decimal(1))


def classify(usage: Iterable[Usage], shares: tuple[Decimal, Decimal] = DEFAULT_SHARES) -> dict[int, str]:
    """ABC classes by the value that moved: the items that make the first 80 %
    of it are A, the next 15 % B, the rest (and anything that did not move) C.

    An item is A when the cumulative share *before* it is under the A cut, so
    the single item that crosses 80 % is still A. Ties are broken by item id,
    so the answer does not depend on the order rows came in.
    """
    rows = sorted(usage, key=lambda u: (-u.value, u.item_id))
    total = sum((u.value for u in rows), Decimal(0))
    a_cut, b_cut = shares
    classes: dict[int, str] = {}
    running = Decimal(0)
    for u in rows:
        if total <= 0 or u.value <= 0:
            classes[u.item_id] = "C"
            continue
        before = running / total
        classes[u.item_id] = "A" if before < a_cut else "B" if before < b_cut else "C"
        running += u.value
    return classes


def due(classes: dict[int, str], last_counted: dict[int, date], today: date, frequency: dict[str, int] | None = None) -> list[int]:
    """Items whose class says they are due a count today (or were never counted)."""
    frequency = frequency or DEFAULT_FREQUENCY
    out = []
    for item_id, cls in sorted(classes.items()):
        last = last_counted.get(item_id)
        if last is None or last + timedelta(days=int(frequency.get(cls, 180))) <= today:
            out.append(item_id)
    return out


def parse_frequency(values: dict) -> dict[str, int]:
    out = {}
    for cls in "ABC":
        raw = str(values.get(cls, DEFAULT_FREQUENCY[cls])).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 3650:
            raise InputError(f"Count frequency for class {cls} is a number of days from 1 to 3650")
        out[cls] = int(raw)
    return out


@dataclass
class Trend:
    """KPI points over time for a chart: (label, value) per series."""

    labels: list[str] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
