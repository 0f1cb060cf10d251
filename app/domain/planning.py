"""Planning rules in plain Python: demand from the ledger's reservations, safety stock and reorder
point, the projected position they are compared with, and how much to order. No Flask, no SQLAlchemy.

    safety stock   SS  = z · √(LT · σd² + d̄² · σLT²)
    reorder point  ROP = d̄ · LT + SS
    position       P   = S + open purchase-order quantity + A − backordered   (never on-hand)

with d̄, σd the mean and spread of daily demand (days without sellable stock left out: what did not
sell then says nothing of demand), LT, σLT the supplier's lead time in days and its spread, and z
the standard normal quantile of the service level of the item's ABC class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from .stock import InputError


def N_(text: str) -> str:
    return text


# Service level per ABC class (the classes cycle counting computes): the chance a cycle does not run out.
SERVICE_LEVELS = {"A": 0.98, "B": 0.95, "C": 0.90}


def z_for(level: float) -> float:
    """The standard normal quantile of a service level (0.95 → 1.645)."""
    if not 0.5 <= level < 1:
        raise InputError.of(N_("A service level is from 50 %% to under 100 %% — that was %(level)s."), level=level)
    return NormalDist().inv_cdf(level)


def parse_level(text) -> float:
    """A service level as a supervisor types it: "95", "95 %", "0.95"."""
    raw = str(text or "").strip().rstrip("%").strip().replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise InputError.of(N_("A service level is a percentage, as 95 — that was %(text)r."), text=str(text)[:20]) from None
    value = value / 100 if value > 1 else value
    z_for(value)
    return value


@dataclass(frozen=True)
class Demand:
    mean: float  # units a day
    sd: float
    days: int  # days the figures stand on
    left_out: int  # days without sellable stock, not counted


def daily_demand(per_day: dict[date, int], window: list[date], stocked_out: set[date] = frozenset()) -> Demand:
    """Mean and spread of daily demand over `window`, leaving out the days the item had no sellable stock.
    `per_day` is demand (reservations net of cancellations) by day; a day absent from it sold nothing."""
    days = [d for d in window if d not in stocked_out]
    values = [max(0, per_day.get(d, 0)) for d in days]
    n = len(values)
    mean = math.fsum(values) / n if n else 0.0
    # The sample standard deviation, in floats (statistics.stdev's exact fractions cost a plan of 300
    # items a tenth of a second).
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in values) / (n - 1)) if n > 1 else 0.0
    return Demand(mean, sd, len(days), len(window) - len(days))


def safety_stock(z: float, lead_days: float, lead_sd: float, demand_mean: float, demand_sd: float) -> float:
    return z * math.sqrt(lead_days * demand_sd ** 2 + demand_mean ** 2 * lead_sd ** 2)


def reorder_point(demand_mean: float, lead_days: float, safety: float) -> float:
    return demand_mean * lead_days + safety


def projected_position(sellable: int, on_order: int, in_transit: int, backordered: int) -> int:
    """What the item will have to sell: S (already net of every promise) plus what is ordered and what
    is on its way, less what customers wait for. Each unit once: O, L, T and U are not in S."""
    return sellable + on_order + in_transit - backordered


def economic_order_quantity(annual_demand: float, order_cost: float, holding_cost: float) -> float:
    """EOQ = √(2 · D · S / H): the order size that balances ordering against holding."""
    if annual_demand <= 0 or order_cost <= 0 or holding_cost <= 0:
        return 0.0
    return math.sqrt(2 * annual_demand * order_cost / holding_cost)


def order_quantity(position: float, rop: float, maximum: float | None = None, eoq: float = 0.0, moq: int = 1,
                   pack: int = 1) -> int:
    """Units to order: none above the reorder point; at or below it, up to the maximum (else the reorder
    point plus an economic order quantity), at least the supplier's minimum, in whole packs."""
    if position > rop:
        return 0
    target = maximum if maximum else rop + eoq
    need = max(0, math.ceil(target - position - 1e-9))
    if need == 0:
        need = 1  # at the reorder point with nothing to add: one pack keeps it from running out
    qty = max(need, moq or 1)
    pack = max(1, pack or 1)
    return math.ceil(qty / pack) * pack


def cover_days(sellable: int, demand_mean: float) -> float:
    """Days the sellable stock lasts at the mean demand (no demand: for ever)."""
    if sellable <= 0:
        return 0.0
    return math.inf if demand_mean <= 0 else sellable / demand_mean


def transfer_quantity(source_sellable: int, source_mean: float, source_rop: float, cover_limit: float,
                      dest_position: int, dest_rop: float) -> int:
    """Units to move from a warehouse holding more days of cover than `cover_limit` to one at or below
    its reorder point: what the destination needs to reach its reorder point, no more than the source
    holds beyond its limit of cover, and never taking the source down to its own reorder point."""
    if dest_position > dest_rop or cover_days(source_sellable, source_mean) <= cover_limit:
        return 0
    keep = max(source_mean * cover_limit, source_rop)
    spare = math.floor(source_sellable - keep)
    need = math.ceil(dest_rop - dest_position) or 1
    return max(0, min(spare, need))


AGE_BANDS = (("0–30", 0, 30), ("31–90", 31, 90), ("91–180", 91, 180), ("over 180", 181, None))


def band_of(age_days: int) -> str:
    return next(lb for lb, lo, hi in AGE_BANDS if age_days >= lo and (hi is None or age_days <= hi))


def band_starts(today: date) -> list[tuple[str, date]]:
    """The age bands with a first day, newest first, each with it. The oldest band is not among them:
    it holds whatever the newer ones do not, however old its receipts (layers_from_bands)."""
    return [(label, today - timedelta(days=hi)) for label, _lo, hi in AGE_BANDS if hi is not None]


def layers_from_bands(received: dict[str, int], on_hand: int) -> dict[str, int]:
    """On-hand units by age, first in first out: what is left is what came in last, so the units on
    hand are taken from the newest band's receipts back; units older than every receipt known are the
    oldest. `received` is the units received in each band."""
    out = {label: 0 for label, _lo, _hi in AGE_BANDS}
    left = max(0, on_hand)
    for label, _lo, _hi in AGE_BANDS:
        take = min(left, max(0, received.get(label, 0)))
        out[label] += take
        left -= take
    out[AGE_BANDS[-1][0]] += left
    return out


def age_layers(receipts: list[tuple[date, int]], on_hand: int, today: date) -> dict[str, int]:
    """The same from single receipts (day, units): each counted in the band of its age."""
    received: dict[str, int] = {}
    for day, qty in receipts:
        label = band_of((today - day).days)
        received[label] = received.get(label, 0) + max(0, qty)
    return layers_from_bands(received, on_hand)


SLOW_NO_DEMAND_DAYS = 60
SLOW_COVER_DAYS = 180


def slow_mover(on_hand: int, days_since_demand: int | None, cover: float) -> bool:
    """Stock nobody has asked for in 60 days, or more than 180 days of it at today's demand."""
    if on_hand <= 0:
        return False
    return days_since_demand is None or days_since_demand > SLOW_NO_DEMAND_DAYS or cover > SLOW_COVER_DAYS


def slow_action(sells_elsewhere: bool, has_supplier: bool) -> str:
    """What to do with a slow mover: move it to where it sells; else return it to its supplier; else
    clear it (a clearance lock released in batches)."""
    if sells_elsewhere:
        return "transfer"
    return "return to supplier" if has_supplier else "clearance"


@dataclass(frozen=True)
class Plan:
    """One item in one warehouse, with every input a supervisor needs to see why."""

    demand: Demand
    service_level: float
    z: float
    lead_days: float
    lead_sd: float
    safety: float
    rop: float
    sellable: int
    on_order: int
    in_transit: int
    backordered: int
    position: int
    propose: int


def plan(demand: Demand, service_level: float, lead_days: float, lead_sd: float, sellable: int, on_order: int,
         in_transit: int, backordered: int, moq: int = 1, pack: int = 1, maximum: float | None = None,
         eoq: float = 0.0) -> Plan:
    z = z_for(service_level)
    ss = safety_stock(z, lead_days, lead_sd, demand.mean, demand.sd)
    rop = reorder_point(demand.mean, lead_days, ss)
    pos = projected_position(sellable, on_order, in_transit, backordered)
    qty = order_quantity(pos, rop, maximum, eoq, moq, pack) if demand.mean > 0 or pos < 0 else 0
    return Plan(demand, service_level, z, lead_days, lead_sd, ss, rop, sellable, on_order, in_transit, backordered,
                pos, qty)
