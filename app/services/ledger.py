"""check-ledger: replay every movement from empty and compare with what is stored.

The ledger is streamed in id order, never loaded whole; only the running
balances per (warehouse, item) and per bin row are kept in memory. For each
movement the replay also asks the domain what that movement should have
done to the balance it met, so a row written by a wrong rule shows up here
even when the sums happen to agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date

from sqlalchemy import func, select

from ..domain import stock as d
from ..domain import valuation as v
from ..models import (
    Balance,
    Bin,
    BinStock,
    Item,
    LedgerDay,
    LedgerDaysFilled,
    Movement,
    Order,
    OrderLine,
    Warehouse,
)
from . import ledger_days

BATCH = 5000


def _stream(session, stmt) -> Iterator:
    return session.execute(stmt.execution_options(yield_per=BATCH))


def _expected(kind: d.Kind, before: d.Buckets, row) -> d.Buckets | None:
    """The deltas the domain gives this movement, met with this balance."""
    qty = row.qty
    held = qty
    damaged = row.to_condition not in (None, d.Condition.SELLABLE.value)
    condition = d.Condition(row.from_condition) if row.from_condition else d.Condition.SELLABLE
    if kind == d.Kind.ADJUST:
        # A shrinking count takes from the bin; a growing one puts into it.
        held, qty = (qty, 0) if row.from_bin_id else (0, qty)
    req = d.Request(kind, qty, condition=condition, damaged=damaged, held=held)
    try:
        return d.decide(before, req).deltas
    except d.DomainError:
        return None


def check_ledger(session, progress: Callable[[int], None] | None = None) -> list[str]:
    """Every difference found, as a sentence; an empty list means the ledger is exact."""
    problems: list[str] = []
    balances: dict[tuple[int, int], d.Buckets] = defaultdict(lambda: d.ZERO)
    bins: dict[tuple[int, int, str, str], int] = defaultdict(int)
    stmt = select(
        Movement.id,
        Movement.kind,
        Movement.warehouse_id,
        Movement.item_id,
        Movement.lot,
        Movement.qty,
        Movement.from_bin_id,
        Movement.from_condition,
        Movement.to_bin_id,
        Movement.to_condition,
        Movement.dest_warehouse_id,
        Movement.dest_d_a,
        Movement.s_after,
        Movement.value_e4,
        Movement.unit_cost_e4,
        *(getattr(Movement, f"d_{b}") for b in d.BUCKETS),
    ).order_by(Movement.id)
    pools: dict[tuple[int, int], v.Pool] = defaultdict(v.Pool)
    done = 0
    for row in _stream(session, stmt):
        key = (row.warehouse_id, row.item_id)
        before = balances[key]
        deltas = d.Buckets(*(getattr(row, f"d_{b}") for b in d.BUCKETS))
        try:
            kind = d.Kind(row.kind)
        except ValueError:
            problems.append(f"movement {row.id}: unknown kind {row.kind!r}")
            kind = None
        if kind is not None:
            expected = _expected(kind, before, row)
            if expected is None:
                problems.append(f"movement {row.id} ({row.kind}): the rules refuse it against the balance it met")
            elif expected != deltas:
                problems.append(
                    f"movement {row.id} ({row.kind}): stored deltas {deltas.as_dict()} but the rules give "
                    f"{expected.as_dict()}"
                )
        after = before + deltas
        balances[key] = after
        if not after.is_valid():
            problems.append(f"movement {row.id}: leaves warehouse {row.warehouse_id} item {row.item_id} at {after}")
        if after.s != row.s_after:
            problems.append(f"movement {row.id}: records S after as {row.s_after}, replay gives {after.s}")
        # Its value, as the valuation rules give it from the units it met and the cost it names.
        dq = deltas.i + deltas.a
        value = v.flow(pools[key], dq, row.unit_cost_e4, receipt=row.kind == d.Kind.RECEIVE.value)
        if value != row.value_e4:
            problems.append(f"movement {row.id} ({row.kind}): stored value {v.from_e4(row.value_e4)} but moving-average "
                            f"cost gives {v.from_e4(value)}")
        pools[key] = pools[key] + (dq, row.value_e4)
        if row.dest_warehouse_id is not None:
            dest_key = (row.dest_warehouse_id, row.item_id)
            balances[dest_key] = balances[dest_key] + d.Buckets(a=row.dest_d_a)
            pools[dest_key] = pools[dest_key] + (row.dest_d_a, -row.value_e4)
        if row.from_bin_id is not None:
            bkey = (row.from_bin_id, row.item_id, row.lot or "", row.from_condition)
            bins[bkey] -= row.qty
            if bins[bkey] < 0:
                problems.append(f"movement {row.id}: takes bin {row.from_bin_id} below zero")
        if row.to_bin_id is not None:
            bins[(row.to_bin_id, row.item_id, row.lot or "", row.to_condition)] += row.qty
        done += 1
        if progress and done % BATCH == 0:
            progress(BATCH)
    if progress:
        progress(done % BATCH)

    names = _names(session)

    # Stored balances against the replay.
    seen = set()
    # Labelled b_*: a result row has a .t attribute of its own (its tuple).
    stmt = select(Balance.warehouse_id, Balance.item_id, Balance.value_e4,
                  *(getattr(Balance, b).label(f"b_{b}") for b in d.BUCKETS))
    for bal in _stream(session, stmt):
        key = (bal.warehouse_id, bal.item_id)
        seen.add(key)
        if bal.value_e4 != pools.get(key, v.Pool()).value:
            problems.append(f"balance {names.where(key)}: stored value {v.from_e4(bal.value_e4)}, ledger gives "
                            f"{v.from_e4(pools.get(key, v.Pool()).value)}")
        stored = d.Buckets(*(getattr(bal, f"b_{b}") for b in d.BUCKETS))
        if stored != balances.get(key, d.ZERO):
            problems.append(
                f"balance {names.where(key)}: stored {_fmt(stored)}, ledger gives {_fmt(balances.get(key, d.ZERO))}"
            )
    for key, replayed in balances.items():
        if key not in seen and replayed:
            problems.append(f"balance {names.where(key)}: missing, ledger gives {_fmt(replayed)}")

    # Stored bin quantities against the replay, and I and U against the bins.
    seen_bins = set()
    on_hand: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    stmt = select(BinStock.bin_id, BinStock.item_id, BinStock.lot, BinStock.condition, BinStock.qty, Bin.warehouse_id).join(Bin)
    for row in _stream(session, stmt):
        key = (row.bin_id, row.item_id, row.lot, row.condition)
        seen_bins.add(key)
        if row.qty != bins.get(key, 0):
            problems.append(
                f"bin {names.bin(row.bin_id)} {names.sku(row.item_id)} lot {row.lot or '-'} {row.condition}: "
                f"stored {row.qty}, ledger gives {bins.get(key, 0)}"
            )
        totals = on_hand[(row.warehouse_id, row.item_id)]
        totals[0] += row.qty
        if row.condition != d.Condition.SELLABLE.value:
            totals[1] += row.qty
    for key, qty in bins.items():
        if key not in seen_bins and qty:
            problems.append(f"bin {names.bin(key[0])} {names.sku(key[1])}: missing, ledger gives {qty}")
    for key, replayed in balances.items():
        i_bins, u_bins = on_hand.get(key, (0, 0))
        if replayed.i != i_bins or replayed.u != u_bins:
            problems.append(
                f"balance {names.where(key)}: I={replayed.i} U={replayed.u} but the bins hold {i_bins}, "
                f"{u_bins} of it unsellable"
            )

    # The ledger's sums per day (services.ledger_days), where summed, against the ledger.
    for wid, through in session.execute(select(LedgerDaysFilled.warehouse_id, LedgerDaysFilled.through)).all():
        cols = [getattr(LedgerDay, c) for c in ledger_days.COLUMNS]
        stored = {(day, item): tuple(sums) for day, item, *sums in session.execute(
            select(LedgerDay.day, LedgerDay.item_id, *cols).where(LedgerDay.warehouse_id == wid))}
        fresh = {(ledger_days.as_date(day), item): tuple(int(x or 0) for x in sums)
                 for _w, day, item, *sums in session.execute(ledger_days.sums(wid, date.min, through))}
        for key in sorted(set(stored) | set(fresh)):
            if stored.get(key) != fresh.get(key):
                problems.append(f"ledger days {names.where((wid, key[1]))} {key[0]}: stored {stored.get(key)}, "
                                f"ledger gives {fresh.get(key)}")

    # O is the sum of what open order lines still hold reserved.
    reserved = {
        (w, i): int(total)
        for w, i, total in session.execute(
            select(Order.warehouse_id, OrderLine.item_id, func.sum(OrderLine.reserved))
            .join(Order)
            .group_by(Order.warehouse_id, OrderLine.item_id)
        )
    }
    for key in set(reserved) | {k for k, b in balances.items() if b.o}:
        if reserved.get(key, 0) != balances.get(key, d.ZERO).o:
            problems.append(
                f"balance {names.where(key)}: O={balances.get(key, d.ZERO).o} but order lines reserve "
                f"{reserved.get(key, 0)}"
            )
    return problems


def _fmt(b: d.Buckets) -> str:
    return " ".join(f"{k}={v}" for k, v in b.as_dict(upper=True).items())


class _Names:
    def __init__(self, warehouses, items, bins):
        self.warehouses, self.items, self.bins = warehouses, items, bins

    def where(self, key):
        return f"{self.warehouses.get(key[0], key[0])}/{self.sku(key[1])}"

    def sku(self, item_id):
        return self.items.get(item_id, item_id)

    def bin(self, bin_id):
        return self.bins.get(bin_id, bin_id)


def _names(session) -> _Names:
    # Names only for readable messages; looked up lazily would cost a query
    # per difference, and there are few warehouses and bins next to movements.
    return _Names(
        dict(session.execute(select(Warehouse.id, Warehouse.code)).all()),
        _LazySku(session),
        dict(session.execute(select(Bin.id, Bin.code)).all()),
    )


class _LazySku(dict):
    def __init__(self, session):
        super().__init__()
        self.session = session

    def get(self, item_id, default=None):
        if item_id not in self:
            self[item_id] = self.session.execute(select(Item.sku).where(Item.id == item_id)).scalar_one_or_none() or default
        return self[item_id]
