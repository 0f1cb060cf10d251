"""Stock valuation at moving-average cost: plain functions over whole numbers, like the stock rules.

Money is kept in ten-thousandths of the currency unit (`_e4`), as whole numbers in the database and
here, so that a value summed by SQLite or PostgreSQL, replayed by check-ledger or computed by a
screen is the same number to the last digit (no binary fractions drift).

Per warehouse and item the valued units are the physical ones and those in transit to it: Q = I + A.
- A receipt of q at unit cost c adds q·c: avg' = (avg·Q + c·q) / (Q + q).
- A transfer takes its units out of the source at the source's average and brings exactly that value
  into the destination (in transit, then received: A→I changes neither Q nor value).
- Everything else that changes Q (a shipment, scrap, count adjustment, a return) moves units at the
  average they meet: out of the pool, a share of its value; into it, at its average, or, into an
  empty pool that has no average, at the cost the movement names (the item's standard cost).
The average itself is never stored: it is value / Q, so the value is exactly the sum of its movements'.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

E4 = 10_000


def to_e4(amount) -> int | None:
    """A money amount (Decimal, number or text) in ten-thousandths, rounded half to even; None stays None."""
    if amount is None or amount == "":
        return None
    try:
        return int((Decimal(str(amount)) * E4).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError) as e:
        raise ValueError(f"{amount!r} is not an amount of money") from e


def from_e4(e4: int | None) -> Decimal | None:
    return None if e4 is None else Decimal(e4) / E4


def _share(value: int, part: int, whole: int) -> int:
    """value · part / whole in whole ten-thousandths, rounded half to even."""
    q, r = divmod(value * part, whole)
    if 2 * r > whole or (2 * r == whole and q % 2):
        q += 1
    return q


@dataclass(frozen=True)
class Pool:
    """The valued units of one item at one warehouse (I + A) and what they are worth (e4)."""

    qty: int = 0
    value: int = 0

    @property
    def avg_e4(self) -> int | None:
        return _share(self.value, 1, self.qty) if self.qty > 0 else None

    def __add__(self, other: tuple[int, int]) -> Pool:
        dq, dv = other
        return Pool(self.qty + dq, self.value + dv)


def flow(pool: Pool, dq: int, cost_e4: int | None = None, *, receipt: bool = False) -> int:
    """The value (e4) that `dq` units moving in (+) or out (−) of the pool carry.

    A receipt comes in at its own cost; any other inflow at the pool's average, or at `cost_e4`
    when the pool is empty. An outflow takes its share of the pool's value; the last unit out
    takes all that is left, so an empty pool is worth exactly nothing.
    """
    if dq == 0:
        return 0
    if dq > 0:
        if receipt or pool.qty <= 0:
            return dq * (cost_e4 or 0)
        return _share(pool.value, dq, pool.qty)
    out = -dq
    if pool.qty <= 0:
        return 0
    if out >= pool.qty:
        return -pool.value
    return -_share(pool.value, out, pool.qty)


def unit_cost_of(dq: int, value_e4: int) -> int | None:
    """The cost per unit a movement carried (for the ledger's reader), rounded."""
    return _share(abs(value_e4), 1, abs(dq)) if dq else None


def turnover(cogs_e4: int, average_value_e4: int) -> Decimal | None:
    """Cost of goods shipped over a period / the average stock value over it (None: no stock)."""
    if average_value_e4 <= 0:
        return None
    return (Decimal(cogs_e4) / Decimal(average_value_e4)).quantize(Decimal("0.01"))


def average_value(points: list[int]) -> int:
    """The mean of a value sampled at even steps (daily closing values), in e4."""
    return _share(sum(points), 1, len(points)) if points else 0
