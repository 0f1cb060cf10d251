"""Stock writes: every accepted scan becomes one movement in one transaction.

Each function here loads what the rule needs under a lock (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's write lock, taken by BEGIN IMMEDIATE), asks
app.domain.stock to decide, and writes the movement row, the balances and
the bin rows with relative updates (s = s + :d) that the database's CHECK
constraints guard. It commits once, or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..domain import stock as d
from ..domain import tasks as task_rules
from ..domain import valuation as v
from ..i18n import N_
from ..models import (
    Balance,
    Bin,
    BinStock,
    Item,
    Lot,
    Movement,
    Order,
    OrderLine,
    Warehouse,
    utcnow,
)
from . import channels, serials, sql
from .resolve import remembered
from .uow import UnitOfWork

# --------------------------------------------------------------------------
# Lookups that turn what a client sent into rows, or a clear InputError.
# --------------------------------------------------------------------------


class NotFound(d.InputError):
    code = "not_found"


def get_warehouse(session, code) -> Warehouse:
    if not code or not isinstance(code, str):
        raise d.InputError("A warehouse code is required")
    wh = session.execute(select(Warehouse).where(Warehouse.code == code.strip())).scalar_one_or_none()
    if wh is None:
        raise NotFound(f"Unknown warehouse {code[:40]!r}")
    return wh


def get_item(session, sku, active: bool = False) -> Item:
    """An item by SKU, or by any of its barcodes; with `active`, one that takes new work (not retired)."""
    if not sku or not isinstance(sku, str):
        raise d.InputError("An item SKU is required")
    from .resolve import item_named

    hit = item_named(session, sku)
    if hit is None:
        raise NotFound(f"Unknown item {sku.strip()[:40]!r}")
    if active and hit.item.retired_at is not None:
        raise d.InputError(f"{hit.item.sku} is retired: it takes no new orders or receipts")
    return hit.item


def get_bin(session, warehouse: Warehouse, code) -> Bin:
    if not isinstance(code, str) or not code.strip():
        raise d.InputError("A bin code is required")
    b = session.execute(
        select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.code == code.strip())
    ).scalar_one_or_none()
    if b is None:
        raise NotFound(f"Unknown bin {code[:40]!r} in warehouse {warehouse.code}")
    return b


class Ref(NamedTuple):
    id: int
    code: str


class ItemRef(NamedTuple):
    id: int
    sku: str
    retired: bool = False
    serial_tracked: bool = False
    min_shelf_days: int | None = None
    short_shelf: str = "warn"
    unit_cost: object = None


def know(session, warehouse=None, item=None, bins=()) -> None:
    """Tell a scan's session (services.engine) the rows it already holds, so that a movement
    naming them by code (MovementCommand) does not look them up again."""
    names = session.info.get("names")
    if names is None:
        return
    if warehouse is not None:
        names.setdefault(("warehouse", warehouse.code), Ref(warehouse.id, warehouse.code))
    if item is not None:
        names.setdefault(("sku", item.sku), ItemRef(item.id, item.sku, item.retired_at is not None,
                                                    bool(item.serial_tracked), item.min_shelf_days, item.short_shelf,
                                                    item.unit_cost))
    for b in bins:
        names.setdefault(("bin code", b.warehouse_id, b.code), Ref(b.id, b.code))


def _warehouse_ref(session, code):
    """(id, code) of a warehouse by code: what a movement needs, without loading the row."""
    if not code or not isinstance(code, str):
        raise d.InputError("A warehouse code is required")
    code = code.strip()
    row = remembered(session, ("warehouse", code), lambda: sql.one(session, "SELECT id, code FROM warehouses WHERE code = ?", (code,)))
    if row is None:
        raise NotFound(f"Unknown warehouse {code[:40]!r}")
    return row


def _item_ref(session, sku):
    """(id, sku) of an item by SKU, or by any of its barcodes."""
    if not sku or not isinstance(sku, str):
        raise d.InputError("An item SKU is required")
    sku = sku.strip()
    # The floor always names the item by its SKU: one plain statement. Anything else (a barcode
    # from the API, in any GTIN form) is answered by the resolver.
    query = ("SELECT id, sku, retired_at IS NOT NULL AS retired, serial_tracked, min_shelf_days, short_shelf, unit_cost "
             "FROM items WHERE ")
    row = remembered(session, ("sku", sku), lambda: sql.one(session, query + "sku = ?", (sku,)))
    if row is None:
        item = get_item(session, sku)
        row = sql.one(session, query + "id = ?", (item.id,))
    return row


def _bin_ref(session, warehouse, code):
    if not isinstance(code, str) or not code.strip():
        raise d.InputError("A bin code is required")
    code = code.strip()
    row = remembered(session, ("bin code", warehouse.id, code), lambda: sql.one(
        session, "SELECT id, code FROM bins WHERE warehouse_id = ? AND code = ? AND retired_at IS NULL",
        (warehouse.id, code)))
    if row is None:
        if sql.one(session, "SELECT 1 FROM bins WHERE warehouse_id = ? AND code = ?", (warehouse.id, code)):
            raise d.InputError(f"Bin {code[:40]} is retired: use another bin")
        raise NotFound(f"Unknown bin {code[:40]!r} in warehouse {warehouse.code}")
    return row


def _bin_of_type_ref(session, warehouse, bin_type: str):
    row = remembered(session, ("bin type", warehouse.id, bin_type), lambda: sql.one(
        session, "SELECT id, code FROM bins WHERE warehouse_id = ? AND type = ? AND retired_at IS NULL "
        "ORDER BY walk_order, id",
        (warehouse.id, bin_type)))
    if row is None:
        raise NotFound(f"Warehouse {warehouse.code} has no {bin_type} bin")
    return row


def bin_of_type(session, warehouse: Warehouse, bin_type: str) -> Bin:
    b = remembered(session, ("bin of type", warehouse.id, bin_type), lambda: session.execute(
        select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.type == bin_type, Bin.retired_at.is_(None))
        .order_by(Bin.walk_order, Bin.id)
    ).scalars().first())
    if b is None:
        raise NotFound(f"Warehouse {warehouse.code} has no {bin_type} bin")
    return b


# --------------------------------------------------------------------------
# Locked reads and guarded writes
# --------------------------------------------------------------------------


def _insert(session, table):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


# The balance and bin reads and writes below are plain SQL (see sql.py): they run on
# every scan. Rows the session had loaded before are expired after a write, so a
# screen drawn afterwards reads the new numbers.

_BALANCE_COLUMNS = ", ".join(d.BUCKETS)


def _forget(session, *classes) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, classes):
            session.expire(obj)


def lock_balance(session, warehouse_id: int, item_id: int) -> d.Buckets:
    """The buckets of (warehouse, item), locked until commit; a new pair starts at zero."""
    return lock_pool(session, warehouse_id, item_id)[0]


def lock_pool(session, warehouse_id: int, item_id: int) -> tuple[d.Buckets, v.Pool]:
    """The buckets of (warehouse, item) and what its units are worth (I + A, value), locked until commit."""
    read = (f"SELECT {_BALANCE_COLUMNS}, value_e4 FROM balances WHERE warehouse_id = ? AND item_id = ?"
            + sql.for_update(session))
    row = sql.one(session, read, (warehouse_id, item_id))
    if row is None:
        sql.run(
            session,
            f"INSERT INTO balances (warehouse_id, item_id, {_BALANCE_COLUMNS}) VALUES (?, ?, 0, 0, 0, 0, 0, 0, 0, 0) "
            "ON CONFLICT (warehouse_id, item_id) DO NOTHING",
            (warehouse_id, item_id),
        )
        row = sql.one(session, read, (warehouse_id, item_id))
    buckets = d.Buckets(*row[:-1])
    return buckets, v.Pool(buckets.i + buckets.a, row[-1] or 0)


def add_to_balance(session, warehouse_id: int, item_id: int, deltas: d.Buckets, value_e4: int = 0) -> None:
    if not deltas and not value_e4:
        return
    # Relative update: the database adds, and its CHECKs refuse a negative.
    changed = [b for b in d.BUCKETS if getattr(deltas, b)]
    sets = [f"{b} = {b} + ?" for b in changed] + (["value_e4 = value_e4 + ?"] if value_e4 else [])
    sql.run(
        session,
        "UPDATE balances SET " + ", ".join(sets) + " WHERE warehouse_id = ? AND item_id = ?",
        (*(getattr(deltas, b) for b in changed), *([value_e4] if value_e4 else []), warehouse_id, item_id),
    )
    _forget(session, Balance)


def bin_held(session, bin_id: int, item_id: int, lot: str, condition: str) -> int:
    return sql.value(
        session,
        "SELECT qty FROM bin_stock WHERE bin_id = ? AND item_id = ? AND lot = ? AND condition = ?"
        + sql.for_update(session),
        (bin_id, item_id, lot, condition),
    ) or 0


def lots_in_bin(session, bin_id: int, item_id: int, condition: str) -> list[str]:
    """The lots of an item in a bin, soonest expiry first."""
    rows = sql.run(
        session,
        "SELECT bs.lot FROM bin_stock bs LEFT JOIN lots l ON l.item_id = bs.item_id AND l.number = bs.lot "
        "WHERE bs.bin_id = ? AND bs.item_id = ? AND bs.condition = ? AND bs.qty > 0 "
        "ORDER BY (l.expiry IS NULL), l.expiry, bs.lot",
        (bin_id, item_id, condition),
    )
    return [r[0] for r in rows]


def take_from_bin(session, bin_, item, lot: str, condition: str, qty: int) -> None:
    """`bin_` and `item`: rows or objects with .id and .code / .sku."""
    result = sql.run(
        session,
        "UPDATE bin_stock SET qty = qty - ? WHERE bin_id = ? AND item_id = ? AND lot = ? AND condition = ? AND qty >= ?",
        (qty, bin_.id, item.id, lot, condition, qty),
    )
    if result.rowcount != 1:  # the guard: never below zero, lock or no lock
        raise d.BinShortage(bin_.code, item.sku, bin_held(session, bin_.id, item.id, lot, condition), qty, condition)
    _forget(session, BinStock)


def put_into_bin(session, bin_, item, lot: str, condition: str, qty: int) -> None:
    # `since`: when units come into an empty row, that row's stock is as new as they are (first in,
    # first out for stock without expiry: domain.tasks.allocate).
    sql.run(
        session,
        "INSERT INTO bin_stock (bin_id, item_id, lot, condition, qty, since) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (bin_id, item_id, lot, condition) DO UPDATE SET qty = bin_stock.qty + excluded.qty, "
        "since = CASE WHEN bin_stock.qty = 0 THEN excluded.since ELSE bin_stock.since END",
        (bin_.id, item.id, lot, condition, qty, sql.stamp(session, utcnow())),
    )
    _forget(session, BinStock)


def ensure_lot(session, item, number: str, expiry: date | None) -> None:
    if not number:
        return
    found = sql.one(session, "SELECT id, expiry FROM lots WHERE item_id = ? AND number = ?", (item.id, number))
    if found is None:
        sql.run(
            session,
            "INSERT INTO lots (item_id, number, expiry) VALUES (?, ?, ?) ON CONFLICT (item_id, number) DO NOTHING",
            (item.id, number, sql.day(session, expiry)),
        )
    elif expiry and found.expiry is None:
        sql.run(session, "UPDATE lots SET expiry = ? WHERE id = ?", (sql.day(session, expiry), found.id))
        _forget(session, Lot)


def release_reservations(session, warehouse_id: int, item_id: int, qty: int) -> list[int]:
    """Take `qty` reserved units back from the newest orders; returns their ids.

    The newest orders lose out first: the oldest customers have waited
    longest and are the likeliest to be picked already.
    """
    lines = session.execute(
        select(OrderLine)
        .join(Order)
        .where(Order.warehouse_id == warehouse_id, OrderLine.item_id == item_id, OrderLine.reserved > 0)
        .order_by(Order.created_at.desc(), Order.id.desc(), OrderLine.id.desc())
        .with_for_update()
    ).scalars()
    flagged = []
    for line in lines:
        if qty <= 0:
            break
        take = min(qty, line.reserved)
        line.reserved -= take
        line.short += take
        line.order.short = True
        flagged.append(line.order_id)
        qty -= take
    if qty > 0:
        raise d.StockError("Reservations on record do not cover the reserved bucket; run check-ledger")
    return flagged


def ship_from_order(session, cmd, warehouse_id: int, item: Item, qty: int) -> None:
    """A shipment lowers O, so it must lower the reservation of its order's lines too."""
    if cmd.doc_type != "order" or not cmd.doc_id:
        raise d.InputError("A shipment belongs to an order: name the order it ships")
    lines = session.execute(
        select(OrderLine)
        .join(Order)
        .where(Order.id == cmd.doc_id, Order.warehouse_id == warehouse_id, OrderLine.item_id == item.id)
        .order_by(OrderLine.line_no)
        .with_for_update()
    ).scalars().all()
    reserved = sum(line.reserved for line in lines)
    if reserved < qty:
        raise d.NotEnoughStock("o", reserved, qty)
    for line in lines:
        take = min(qty, line.reserved)
        line.reserved -= take
        line.shipped += take
        qty -= take


# --------------------------------------------------------------------------
# One movement
# --------------------------------------------------------------------------


@dataclass
class MovementCommand:
    warehouse: str
    kind: str
    sku: str
    qty: object
    scan_id: str | None = None
    from_bin: str | None = None
    to_bin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    condition: str | None = None
    reason: str | None = None
    dest_warehouse: str | None = None
    user_id: int | None = None
    device: str | None = None
    doc_type: str | None = None
    doc_id: int | None = None
    # A count adjustment by a variance found earlier: the bin's quantity at
    # the time of posting plus this, read under the balance's lock.
    adjust_by: int | None = None
    # The serials of the units moved, for a serial-tracked item (services.serials).
    serials: list[str] | None = None
    # What a received unit cost (a PO line's price); without it, the item's standard cost.
    unit_cost: object = None


@dataclass
class MovementResult:
    movement: dict
    balance: dict
    replayed: bool = False
    flagged_orders: list[int] = field(default_factory=list)


def movement_dict(m: Movement, warehouse_code: str, sku: str, bins: dict[int, str]) -> dict:
    return {
        "id": m.id,
        "scan_id": m.scan_id,
        "kind": m.kind,
        "warehouse": warehouse_code,
        "sku": sku,
        "qty": m.qty,
        "lot": m.lot or None,
        "from_bin": bins.get(m.from_bin_id),
        "from_condition": m.from_condition,
        "to_bin": bins.get(m.to_bin_id),
        "to_condition": m.to_condition,
        "deltas": {b.upper(): n for b, n in m.deltas().as_dict().items() if n},
        "unit_cost": _money(m.unit_cost_e4),
        "value": _money(m.value_e4) if m.value_e4 else None,
        "reason": m.reason,
        "created_at": m.created_at.isoformat(timespec="seconds") + "Z" if m.created_at else None,
    }


def _money(e4: int | None) -> str | None:
    """An amount for the API: text, so no binary fraction creeps in (12.5 is "12.5000")."""
    return None if e4 is None else f"{v.from_e4(e4):.4f}"


def _replayed(session, scan_id: str) -> MovementResult | None:
    if sql.value(session, "SELECT id FROM movements WHERE scan_id = ?", (scan_id,)) is None:
        return None
    m = session.execute(select(Movement).where(Movement.scan_id == scan_id)).scalar_one()
    bins = {b.id: b.code for b in (m.from_bin, m.to_bin) if b is not None}
    return MovementResult(movement_dict(m, m.warehouse.code, m.item.sku, bins), m.after_buckets(), replayed=True)


def _clean(value, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise d.InputError(f"{name} must be text")
    value = value.strip()
    if len(value) > limit:
        raise d.InputError(f"{name} is too long (at most {limit} characters)")
    if any(ord(c) < 32 for c in value):
        raise d.InputError(f"{name} contains control characters")
    return value


# Where stock goes or comes from when the client names no bin.
_DEFAULT_TO = {
    d.Kind.RECEIVE: "dock",
    d.Kind.RETURN_RECEIVE: "returns",
    d.Kind.TRANSFER_RECEIVE: "dock",
    d.Kind.PICK: "staging",
}
_DEFAULT_FROM = {d.Kind.SHIP: "staging"}


def apply_in(session, cmd: MovementCommand) -> MovementResult:
    """One movement inside a transaction the caller owns and commits.

    A floor task uses this to write several movements (a shipment's lines)
    and its own rows in one transaction; apply_movement is the one-movement case.
    """
    kind = d.parse_kind(cmd.kind)
    qty = d.parse_qty(cmd.qty, allow_zero=kind == d.Kind.ADJUST or kind == d.Kind.VIRTUAL)
    condition = d.parse_condition(cmd.condition)
    scan_id = _clean(cmd.scan_id, "scan_id", 64) or None
    lot_given = _clean(cmd.lot, "lot", 40)
    reason = _clean(cmd.reason, "reason", 200)
    device = _clean(cmd.device, "device", 64)
    return _apply_in(session, cmd, kind, qty, condition, scan_id, lot_given, reason, device)


def apply_movement(cmd: MovementCommand, uow: UnitOfWork | None = None) -> MovementResult:
    scan_id = _clean(cmd.scan_id, "scan_id", 64) or None
    with uow or UnitOfWork() as uow:
        try:
            result = apply_in(uow.session, cmd)
            uow.commit()
            return result
        except IntegrityError:
            # Two sends of one scan raced past the check (PostgreSQL, READ
            # COMMITTED): the loser answers with the winner's result.
            uow.rollback()
            if scan_id:
                replay = _replayed(uow.session, scan_id)
                if replay:
                    return replay
            raise


def _apply_in(session, cmd, kind, qty, condition, scan_id, lot_given, reason, device) -> MovementResult:
    wh = _warehouse_ref(session, cmd.warehouse)
    item = _item_ref(session, cmd.sku)
    if item.retired and kind in (d.Kind.RECEIVE, d.Kind.TRANSFER_RECEIVE, d.Kind.VIRTUAL):  # a return still comes back
        raise d.InputError(f"{item.sku} is retired: it takes no new stock. Set the units aside for the supervisor.")
    need_from, need_to = d.BIN_ROLES[kind]
    from_bin = to_bin = None
    if kind == d.Kind.ADJUST:
        code = cmd.to_bin or cmd.from_bin
        if not code:
            raise d.InputError("A count adjustment needs the counted bin (to_bin)")
        from_bin = to_bin = _bin_ref(session, wh, code)
    else:
        if need_from:
            if cmd.from_bin:
                from_bin = _bin_ref(session, wh, cmd.from_bin)
            elif kind in _DEFAULT_FROM:
                from_bin = _bin_of_type_ref(session, wh, _DEFAULT_FROM[kind])
            else:
                raise d.InputError(f"A {kind.value} needs the bin to take the stock from (from_bin)")
        if need_to:
            if cmd.to_bin:
                to_bin = _bin_ref(session, wh, cmd.to_bin)
            elif kind in _DEFAULT_TO:
                to_bin = _bin_of_type_ref(session, wh, _DEFAULT_TO[kind])
            elif kind in (d.Kind.DAMAGE, d.Kind.RESTORE, d.Kind.EXPIRE):
                to_bin = from_bin  # in place
            else:
                raise d.InputError(f"A {kind.value} needs the bin to put the stock into (to_bin)")
    dest = None
    if kind == d.Kind.TRANSFER_SHIP:
        dest = _warehouse_ref(session, cmd.dest_warehouse)
        if dest.id == wh.id:
            raise d.InputError("A transfer goes to another warehouse")

    # Locks in a fixed order (warehouse id), so two transfers cannot deadlock.
    if dest is not None and dest.id < wh.id:
        lock_balance(session, dest.id, item.id)
    balance, pool = lock_pool(session, wh.id, item.id)
    if dest is not None and dest.id > wh.id:
        lock_balance(session, dest.id, item.id)

    # Checked under the lock, so a resend waiting on the first send sees it.
    if scan_id:
        replay = _replayed(session, scan_id)
        if replay:
            return replay

    take_condition = condition if kind in (d.Kind.MOVE, d.Kind.RESTORE, d.Kind.SCRAP) else d.Condition.SELLABLE
    lot = lot_given
    held = None
    if from_bin is not None:
        if lot is None:
            lots = lots_in_bin(session, from_bin.id, item.id, take_condition)
            if len(lots) > 1 and kind != d.Kind.ADJUST:
                raise d.InputError(
                    f"Bin {from_bin.code} holds {item.sku} in lots {', '.join(x or '(none)' for x in lots)}: say which lot"
                )
            lot = lots[0] if lots else ""
        held = bin_held(session, from_bin.id, item.id, lot, take_condition)
    lot = lot or ""
    if kind == d.Kind.ADJUST and cmd.adjust_by is not None:
        qty = held + int(cmd.adjust_by)
        if qty < 0:
            raise d.StockError(
                f"Bin {from_bin.code} now holds {held} of {item.sku}{f' lot {lot}' if lot else ''}: fewer than the "
                f"{-int(cmd.adjust_by)} the count found missing. Count the bin again."
            )

    request = d.Request(
        kind=kind,
        qty=qty,
        condition=take_condition,
        damaged=condition != d.Condition.SELLABLE and kind in (d.Kind.RECEIVE, d.Kind.TRANSFER_RECEIVE),
        held=held,
        bin_code=from_bin.code if from_bin else "",
        sku=item.sku,
    )
    decision = d.decide(balance, request)
    after = balance + decision.deltas

    if decision.put is not None and kind in (d.Kind.RECEIVE, d.Kind.TRANSFER_RECEIVE, d.Kind.RETURN_RECEIVE):
        if kind == d.Kind.RECEIVE and decision.put.condition == d.Condition.SELLABLE and d.is_expired(
                cmd.expiry, date.today()):
            raise d.InputError.of(N_("Lot %(lot)s expired on %(date)s: receive it as damaged, not as sellable stock."),
                                  lot=lot or "—", date=cmd.expiry.isoformat())
        left = task_rules.short_shelf_life(cmd.expiry, date.today(), item.min_shelf_days)
        if (kind == d.Kind.RECEIVE and decision.put.condition == d.Condition.SELLABLE and left is not None
                and item.short_shelf == "refuse"):  # the floor warns first where the item says warn
            raise d.InputError.of(N_("%(sku)s expires on %(date)s: %(left)s days of shelf life left, %(min)s required. "
                                     "Not received."), sku=item.sku, date=cmd.expiry.isoformat(), left=left,
                                  min=item.min_shelf_days)
        ensure_lot(session, item, lot, cmd.expiry)

    if kind == d.Kind.SHIP:
        ship_from_order(session, cmd, wh.id, item, decision.qty)

    flagged = []
    if decision.released.o:
        flagged = release_reservations(session, wh.id, item.id, decision.released.o)
        channels.orders_changed(session, flagged)  # their channels hear they are short

    value_e4, cost_e4 = _valued(kind, decision.deltas, pool, cmd.unit_cost, item.unit_cost)
    row = movement_row(
        decision, after, warehouse_id=wh.id, item_id=item.id, lot=lot, scan_id=scan_id,
        from_bin_id=from_bin.id if from_bin else None, to_bin_id=to_bin.id if to_bin else None,
        dest_warehouse_id=dest.id if dest else None, doc_type=cmd.doc_type, doc_id=cmd.doc_id, reason=reason,
        user_id=cmd.user_id, device=device, value_e4=value_e4, unit_cost_e4=cost_e4,
    )
    movement_id = write_movement(session, row)
    add_to_balance(session, wh.id, item.id, decision.deltas, value_e4)
    if dest is not None:  # the units' value travels with them, to the last ten-thousandth
        add_to_balance(session, dest.id, item.id, decision.dest_deltas, -value_e4)
    if decision.take:
        take_from_bin(session, from_bin, item, lot, decision.take.condition.value, decision.take.qty)
    if decision.put:
        put_into_bin(session, to_bin, item, lot, decision.put.condition.value, decision.put.qty)
    if item.serial_tracked:
        serials.follow(session, kind, decision.qty, item, wh.id, from_bin.id if decision.take else None,
               to_bin.id if decision.put else None, cmd.serials, cmd.doc_id if cmd.doc_type == "order" else None,
               movement_id, cmd.user_id)

    bins = {b.id: b.code for b in (from_bin, to_bin) if b is not None}
    m = Movement(id=movement_id, **row)  # not added to the session: the row is written above
    return MovementResult(movement_dict(m, wh.code, item.sku, bins), after.as_dict(upper=True), flagged_orders=flagged)


MAX_UNIT_COST_E4 = 100_000_000 * v.E4  # a hundred million a unit: beyond it, a typo


def _valued(kind: d.Kind, deltas: d.Buckets, pool: v.Pool, unit_cost, standard_cost) -> tuple[int, int | None]:
    """The value a movement moves (e4) and the unit cost it names: a receipt's own cost (its PO line's,
    else the item's standard cost); units into an empty pool at the standard cost; else the average."""
    dq = deltas.i + deltas.a
    if not dq:  # no unit comes or goes (damage, a lock, a reservation): it names the average it met
        return 0, pool.avg_e4
    receipt = kind == d.Kind.RECEIVE
    try:
        given = v.to_e4(unit_cost) if receipt else None
    except ValueError:
        raise d.InputError("unit_cost must be an amount of money, like 12.50") from None
    if given is not None and not 0 <= given <= MAX_UNIT_COST_E4:
        raise d.InputError(f"unit_cost must be between 0 and {MAX_UNIT_COST_E4 // v.E4:,}")
    cost = given if given is not None else (v.to_e4(standard_cost) or 0)
    value = v.flow(pool, dq, cost, receipt=receipt)
    named = cost if dq > 0 and (receipt or pool.qty <= 0) else v.unit_cost_of(dq, value)
    return value, named


# --------------------------------------------------------------------------
# The ledger writer: every movement row of the app is made and written here
# --------------------------------------------------------------------------

_MOVEMENT_COLUMNS = ("scan_id", "kind", "warehouse_id", "item_id", "lot", "qty", "from_bin_id", "from_condition",
                     "to_bin_id", "to_condition", "dest_warehouse_id", "dest_d_a", "after", "s_after", "doc_type",
                     "doc_id", "reason", "user_id", "device", *(f"d_{b}" for b in d.BUCKETS), "created_at",
                     "value_e4", "unit_cost_e4")


def movement_row(decision: d.Decision, after: d.Buckets, *, warehouse_id: int, item_id: int, lot: str = "",
                 scan_id: str | None = None, from_bin_id: int | None = None, to_bin_id: int | None = None,
                 dest_warehouse_id: int | None = None, doc_type: str | None = None, doc_id: int | None = None,
                 reason: str | None = None, user_id: int | None = None, device: str | None = None,
                 value_e4: int = 0, unit_cost_e4: int | None = None) -> dict:
    """The ledger row of a decision of the stock rules: its deltas, its bins and the buckets after it."""
    return {
        "scan_id": scan_id,
        "kind": decision.kind.value,
        "warehouse_id": warehouse_id,
        "item_id": item_id,
        "lot": lot or "",
        "qty": decision.qty,
        "from_bin_id": from_bin_id if decision.take else None,
        "from_condition": decision.take.condition.value if decision.take else None,
        "to_bin_id": to_bin_id if decision.put else None,
        "to_condition": decision.put.condition.value if decision.put else None,
        "dest_warehouse_id": dest_warehouse_id,
        "dest_d_a": decision.dest_deltas.a,
        "after": json.dumps(after.as_dict(upper=True)),
        "s_after": after.s,
        "doc_type": doc_type,
        "doc_id": doc_id,
        "reason": reason,
        "user_id": user_id,
        "device": device,
        **{f"d_{b}": n for b, n in decision.deltas.as_dict().items()},
        "created_at": utcnow(),
        "value_e4": value_e4,
        "unit_cost_e4": unit_cost_e4,
    }


def _movement_values(session, row: dict) -> tuple:
    return tuple(sql.stamp(session, row[c]) if c == "created_at" else row[c] for c in _MOVEMENT_COLUMNS)


def write_movement(session, row: dict) -> int:
    """Append one movement row in the caller's transaction; its id. What the caller added to the
    session before gets its ids and defaults first, as it would if the movement were an ORM row."""
    session.flush()
    return sql.value(
        session,
        f"INSERT INTO movements ({', '.join(_MOVEMENT_COLUMNS)}) VALUES ({', '.join('?' * len(_MOVEMENT_COLUMNS))}) "
        "RETURNING id",
        _movement_values(session, row),
    )


def write_movements(session, rows: list[dict]) -> None:
    """Append many movement rows at once (an import's reservations), in their order."""
    if not rows:
        return
    session.flush()
    conn = session.connection()
    text_ = f"INSERT INTO movements ({', '.join(_MOVEMENT_COLUMNS)}) VALUES ({', '.join('?' * len(_MOVEMENT_COLUMNS))})"
    if conn.dialect.paramstyle != "qmark":
        text_ = text_.replace("?", "%s")
    conn.exec_driver_sql(text_, [_movement_values(session, r) for r in rows])


def book(session, decision: d.Decision, balance: d.Buckets, *, warehouse_id: int, item_id: int, **fields) -> d.Buckets:
    """A decision that touches no bin (a reservation, its release): the movement row and the balance's
    deltas, in the caller's transaction, under the balance lock the caller holds. The buckets after it."""
    after = balance + decision.deltas
    write_movement(session, movement_row(decision, after, warehouse_id=warehouse_id, item_id=item_id, **fields))
    add_to_balance(session, warehouse_id, item_id, decision.deltas)
    return after


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------


def stock_row(balance: Balance | None, warehouse_code: str, sku: str) -> dict:
    buckets = balance.buckets() if balance is not None else d.ZERO
    return {"warehouse": warehouse_code, "sku": sku, **buckets.as_dict(upper=True)}


def bin_rows(session, warehouse_id: int, item_id: int) -> list[dict]:
    rows = session.execute(
        select(Bin.code, Bin.type, BinStock.lot, BinStock.condition, BinStock.qty)
        .join(Bin, Bin.id == BinStock.bin_id)
        .where(Bin.warehouse_id == warehouse_id, BinStock.item_id == item_id, BinStock.qty > 0)
        .order_by(Bin.walk_order, Bin.code, BinStock.lot, BinStock.condition)
    ).all()
    return [{"bin": c, "type": t, "lot": lot, "condition": cond, "qty": q} for c, t, lot, cond, q in rows]
