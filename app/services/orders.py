"""Orders from sales channels: all lines reserved at once, or none."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain import stock as d
from ..i18n import N_
from ..models import FloorException, Item, Order, OrderLine, Task, TaskLine, Warehouse, utcnow
from . import channels
from .expiry import expire_due
from .stock import (
    _clean,
    add_to_balance,
    book,
    get_item,
    get_warehouse,
    lock_balance,
    movement_row,
    write_movements,
)
from .uow import UnitOfWork

MAX_LINES = 500


class OrderShort(d.StockError):
    code = "not_enough_sellable"

    def __init__(self, short: list[dict]):
        self.short = short
        parts = ", ".join(f"{s['sku']}: {s['sellable']} sellable, {s['requested']} requested" for s in short)
        super().__init__(f"Not enough sellable stock; nothing was reserved ({parts})")


class OrderClosed(d.StockError):
    code = "order_closed"


@dataclass
class OrderLineRequest:
    sku: str
    qty: object


def order_dict(order: Order) -> dict:
    return {
        "id": order.id,
        "channel": order.channel,
        "external_id": order.external_id,
        "number": order.number,
        "warehouse": order.warehouse.code,
        "status": order.status,
        "short": order.short,
        "created_at": order.created_at.isoformat(timespec="seconds") + "Z",
        "lines": [
            {
                "line": ln.line_no,
                "sku": ln.item.sku,
                "qty": ln.qty,
                "reserved": ln.reserved,
                "picked": ln.picked,
                "shipped": ln.shipped,
                "short": ln.short,
                "backordered": ln.backordered,
            }
            for ln in order.lines
        ],
    }


def _find(session, channel: str, external_id: str) -> Order | None:
    return session.execute(
        select(Order).where(Order.channel == channel, Order.external_id == external_id)
    ).scalar_one_or_none()


def place_order(
    channel, external_id, warehouse, lines, user_id=None, device=None, uow: UnitOfWork | None = None,
    backorder: bool = False,
) -> tuple[dict, bool]:
    """Reserve every line (S -> O) or nothing. Returns (order, created).

    With `backorder`, a line that S cannot cover is reserved as far as S
    goes and the rest is backordered, visibly, until stock arrives
    (`reserve_backorders`). The same (channel, external_id) again returns
    the first order unchanged, so a channel that retries after a timeout
    never reserves twice.
    """
    channel = _clean(channel, "channel", 40)
    external_id = _clean(external_id, "external_id", 80)
    if not channel or not external_id:
        raise d.InputError.of(N_("channel and external_id are required"))
    if not isinstance(lines, list) or not lines:
        raise d.InputError.of(N_("An order needs at least one line"))
    if len(lines) > MAX_LINES:
        raise d.InputError(f"An order has at most {MAX_LINES} lines")
    wanted = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, OrderLineRequest):
            raise d.InputError(f"Line {n} must have a sku and a qty")
        try:
            wanted.append((line.sku, d.parse_qty(line.qty)))
        except d.InputError as e:
            raise type(e)(f"Line {n}: {e.message}") from None

    with uow or UnitOfWork() as uow:
        s = uow.session
        try:
            result, created = place_in(s, channel, external_id, warehouse, wanted, user_id, device, backorder)
            if created:
                uow.commit()
            return result, created
        except IntegrityError:
            uow.rollback()
            existing = _find(s, channel, external_id)
            if existing is not None:
                return order_dict(existing), False
            raise


def place_in(s, channel, external_id, warehouse, wanted, user_id=None, device=None, backorder=False):
    """Place one order in the caller's transaction (lines as (sku, qty), quantities parsed). (order, created)."""
    existing = _find(s, channel, external_id)
    if existing is not None:
        return order_dict(existing), False
    wh = get_warehouse(s, warehouse)
    resolved = []
    for n, (sku, qty) in enumerate(wanted, 1):
        try:
            resolved.append((get_item(s, channels.item_for_channel_sku(s, channel, sku), active=True), qty))
        except d.InputError as e:
            raise type(e)(f"Line {n}: {e.message}") from None
    per_item = defaultdict(int)
    for item, qty in resolved:
        per_item[item] += qty
    # An expired lot is never reserved: first touch books its expiry, so S no longer counts it.
    expire_due(s, wh, {item.id for item in per_item})
    # Locks in item order: two orders for the same items cannot deadlock.
    balances = {}
    for item in sorted(per_item, key=lambda i: i.id):
        balances[item] = lock_balance(s, wh.id, item.id)
    # Checked under the locks: a retry that waited sees the first send.
    existing = _find(s, channel, external_id)
    if existing is not None:
        return order_dict(existing), False
    short = [
        {"sku": item.sku, "requested": qty, "sellable": balances[item].s}
        for item, qty in per_item.items()
        if balances[item].s < qty
    ]
    if short and not backorder:
        raise OrderShort(short)

    order = Order(channel=channel, external_id=external_id, warehouse_id=wh.id, status="open")
    s.add(order)
    s.flush()
    for n, (item, qty) in enumerate(resolved, 1):
        reserve = min(qty, balances[item].s)
        s.add(OrderLine(order_id=order.id, line_no=n, item_id=item.id, qty=qty, reserved=reserve,
                        backordered=qty - reserve))
        if reserve:
            reserve_line(s, wh.id, item, reserve, balances, order.id, user_id, device)
    s.flush()
    s.refresh(order)
    channels.order_changed(s, order)
    return order_dict(order), True


def reserve_line(s, warehouse_id, item, qty, balances, order_id, user_id, device, reason=None) -> None:
    """S -> O for an order's line, under the balance lock the caller holds (balances[item] is updated)."""
    decision = d.decide(balances[item], d.Request(d.Kind.RESERVE, qty, sku=item.sku))
    balances[item] = book(s, decision, balances[item], warehouse_id=warehouse_id, item_id=item.id,
                          doc_type="order", doc_id=order_id, user_id=user_id, device=device, reason=reason)


def reserve_backorders(warehouse_id: int, user_id=None, device=None, uow: UnitOfWork | None = None) -> int:
    """Reserve backordered units from sellable stock, oldest order first. Returns the units reserved."""
    with uow or UnitOfWork() as uow:
        s = uow.session
        lines = s.execute(
            select(OrderLine)
            .join(Order)
            .where(Order.warehouse_id == warehouse_id, Order.status == "open", OrderLine.backordered > 0)
            .order_by(Order.created_at, Order.id, OrderLine.line_no)
        ).scalars().all()
        if lines:
            expire_due(s, s.get(Warehouse, warehouse_id), {ln.item_id for ln in lines})
        balances = {}
        for item in sorted({ln.item for ln in lines}, key=lambda i: i.id):
            balances[item] = lock_balance(s, warehouse_id, item.id)
        reserved, told = 0, set()
        for ln in lines:
            take = min(ln.backordered, balances[ln.item].s)
            if take <= 0:
                continue
            reserve_line(s, warehouse_id, ln.item, take, balances, ln.order_id, user_id, device)
            ln.backordered -= take
            ln.reserved += take
            reserved += take
            told.add(ln.order_id)
        channels.orders_changed(s, told)
        uow.commit()
        return reserved


def release_short(s, exception: FloorException, user_id: int | None, device: str = "office") -> int:
    """A short pick's units released from the order (O -> S): they wait as a backorder. The units released."""
    order = s.get(Order, exception.order_id)
    line = next((ln for ln in order.lines if ln.item_id == exception.item_id and ln.to_pick > 0), None)
    if line is None:
        return 0  # picked or released since: nothing is left to release
    qty = min(exception.qty, line.to_pick)
    balance = lock_balance(s, order.warehouse_id, exception.item_id)
    decision = d.decide(balance, d.Request(d.Kind.UNRESERVE, qty, sku=line.item.sku))
    book(s, decision, balance, warehouse_id=order.warehouse_id, item_id=exception.item_id, doc_type="order",
         doc_id=order.id, user_id=user_id, device=device)
    line.reserved -= qty
    line.backordered += qty
    channels.order_changed(s, order)
    return qty


def cancel_order(order_id, user_id=None, device=None, uow: UnitOfWork | None = None) -> dict:
    """Release what is still reserved (O -> S). Cancelling twice changes nothing."""
    with uow or UnitOfWork() as uow:
        s = uow.session
        order = s.get(Order, order_id, with_for_update=True)
        if order is None:
            raise OrderNotFound(f"No order {order_id}")
        if order.status == "cancelled":
            return order_dict(order)
        if order.status == "shipped":
            raise OrderClosed(f"Order {order.external_id} has shipped and cannot be cancelled")
        if any(ln.shipped for ln in order.lines):
            raise OrderClosed(f"Order {order.external_id} has partly shipped; return the rest instead")
        items = sorted({ln.item_id for ln in order.lines})
        balances = {item_id: lock_balance(s, order.warehouse_id, item_id) for item_id in items}
        for ln in order.lines:
            if ln.reserved:
                decision = d.decide(balances[ln.item_id], d.Request(d.Kind.UNRESERVE, ln.reserved, sku=ln.item.sku))
                balances[ln.item_id] = book(s, decision, balances[ln.item_id], warehouse_id=order.warehouse_id,
                                            item_id=ln.item_id, doc_type="order", doc_id=order.id, user_id=user_id,
                                            device=device)
                ln.reserved = 0
            ln.backordered = 0
        order.status = "cancelled"
        _end_floor_work(s, order, user_id)
        channels.order_changed(s, order)
        s.flush()
        result = order_dict(order)
        uow.commit()
        return result


def _end_floor_work(s, order: Order, user_id) -> None:
    """A cancelled order leaves the floor: its open pick lines end (the next scan on such a list says why),
    and what was already picked into staging is raised for putaway, lot by lot."""
    from .parcels import staged_lots
    from .stock import bin_of_type

    lines = s.execute(
        select(TaskLine).join(Task).join(OrderLine, OrderLine.id == TaskLine.order_line_id)
        .where(OrderLine.order_id == order.id, Task.kind == "pick", Task.status == "open", TaskLine.status == "open")
    ).scalars().all()
    for tl in lines:
        tl.status = "cancelled"
    for task in {tl.task for tl in lines}:
        notice = f"{order.number} was cancelled: its lines are off this pick list."
        if all(ln.status != "open" for ln in task.lines):
            task.status = "closed" if any(ln.done for ln in task.lines) else "cancelled"
            task.closed_at = utcnow()
            task.state = {**(task.state or {}), "ended": notice, "at_bin": None}
        else:
            task.state = {**(task.state or {}), "notice": notice, "at_bin": None}
    staging = None
    for item_id, by_lot in staged_lots(s, order).items():
        for lot, qty in by_lot.items():
            if qty <= 0:
                continue
            staging = staging or bin_of_type(s, order.warehouse, "staging")
            item = s.get(Item, item_id)
            s.add(FloorException(
                kind="cancelled_staged", warehouse_id=order.warehouse_id, order_id=order.id, item_id=item_id,
                bin_id=staging.id, qty=qty, code=lot or "", created_by=user_id,
                message=(f"{order.number} was cancelled with {qty} × {item.sku}{f' lot {lot}' if lot else ''} "
                         f"picked into {staging.code}: put it away")[:300],
            ))


class OrderNotFound(d.InputError):
    code = "not_found"


ORDER_COLUMNS = {"channel", "external_id", "warehouse", "sku", "qty"}


def check_csv(text: str) -> tuple[dict[tuple, dict], list[str]]:
    """Rows `channel,external_id,warehouse,sku,qty` grouped into orders, or the rows that are wrong.

    The whole file is read before anything is placed: one bad row, even the last, places nothing.
    """
    from .purchasing import read_csv

    rows = read_csv(text, ORDER_COLUMNS)
    if not rows:
        raise d.InputError.of(N_("The file has no rows"))
    return _check_rows(rows)


def check_channel_file(fmt: str, channel: str, warehouse: str, text: str) -> tuple[dict[tuple, dict], list[str], int]:
    """A channel's own order file (domain.order_files) checked as check_csv checks ours: the orders, or
    the rows that are wrong (by their line in the file), and how many rows were not orders to fulfil."""
    from ..domain import order_files

    read = order_files.read(fmt, text)
    if read.errors:
        return {}, read.errors[:50], read.skipped
    if not read.orders:
        raise d.InputError.of(N_("The file holds no order to fulfil"))
    rows = [(n, {"channel": channel, "external_id": order_id, "warehouse": warehouse, "sku": sku, "qty": str(qty)})
            for order_id, lines in read.orders.items() for n, sku, qty in lines]
    grouped, errors = _check_rows(rows)
    return grouped, errors, read.skipped


def _check_rows(rows: list[tuple[int, dict]]) -> tuple[dict[tuple, dict], list[str]]:
    grouped: dict[tuple, dict] = {}
    errors = []
    known_warehouses, known_items = set(), set()
    with UnitOfWork(write=False) as uow:
        s = uow.session
        for n, row in rows:
            key = (row["channel"], row["external_id"])
            if not row["channel"] or not row["external_id"]:
                errors.append(f"row {n}: channel and external_id are required")
                continue
            order = grouped.setdefault(key, {"warehouse": row["warehouse"], "lines": [], "row": n})
            try:
                _clean(row["channel"], "channel", 40)
                _clean(row["external_id"], "external_id", 80)
                if row["warehouse"] not in known_warehouses:
                    get_warehouse(s, row["warehouse"])
                    known_warehouses.add(row["warehouse"])
                row["sku"] = channels.item_for_channel_sku(s, row["channel"], row["sku"])  # the channel's own SKU
                if row["sku"] not in known_items:
                    get_item(s, row["sku"])
                    known_items.add(row["sku"])
                qty = d.parse_qty(row["qty"])
            except d.InputError as e:
                errors.append(f"row {n}: {e.message}")
                continue
            if order["warehouse"] != row["warehouse"]:
                errors.append(f"row {n}: {row['channel']} {row['external_id']} is for {order['warehouse']} "
                              f"on row {order['row']}, not {row['warehouse']}")
                continue
            if len(order["lines"]) >= MAX_LINES:
                errors.append(f"row {n}: an order has at most {MAX_LINES} lines")
                continue
            order["lines"].append((row["sku"], qty))
    return grouped, errors[:50]


IMPORT_CHUNK = 200  # orders per transaction: the write lock is never held long enough to stall a scan


def _place_many(s, chunk: list[tuple[tuple, dict]], user_id=None, device=None) -> tuple[int, int, int]:
    """Place checked orders in the caller's transaction, as place_in would one by one (backorders on):
    each balance is locked and read once for the chunk and the rows are inserted in batches.
    Returns (placed, already known, placed with backorders)."""
    refs = [ext for (_, ext), _ in chunk]
    known = set(s.execute(select(Order.channel, Order.external_id).where(Order.external_id.in_(refs))).all())
    new = [(key, order) for key, order in chunk if key not in known]
    if not new:
        return 0, len(chunk), 0
    warehouses = {code: get_warehouse(s, code) for code in {o["warehouse"] for _, o in new}}
    items = {sku: get_item(s, sku, active=True) for sku in {sku for _, o in new for sku, _ in o["lines"]}}
    pairs = sorted({(warehouses[o["warehouse"]].id, items[sku].id) for _, o in new for sku, _ in o["lines"]})
    for wh in sorted(warehouses.values(), key=lambda w: w.id):  # expired lots first: never reserved
        expire_due(s, wh, {item_id for wid, item_id in pairs if wid == wh.id})
    # Locks in (warehouse, item) order, as place_in: an import and an order cannot deadlock.
    balances = {pair: lock_balance(s, *pair) for pair in pairs}
    moved = dict.fromkeys(pairs, d.Buckets())
    movements: list[dict] = []
    rows = [Order(channel=c, external_id=e, warehouse_id=warehouses[o["warehouse"]].id, status="open")
            for (c, e), o in new]
    s.add_all(rows)
    s.flush()
    with_backorders = 0
    for row, (_, order) in zip(rows, new):
        short = False
        for n, (sku, qty) in enumerate(order["lines"], 1):
            item, pair = items[sku], (row.warehouse_id, items[sku].id)
            reserve = min(qty, balances[pair].s)
            s.add(OrderLine(order_id=row.id, line_no=n, item_id=item.id, qty=qty, reserved=reserve,
                            backordered=qty - reserve))
            short = short or reserve < qty
            if reserve:
                decision = d.decide(balances[pair], d.Request(d.Kind.RESERVE, reserve, sku=item.sku))
                balances[pair] = balances[pair] + decision.deltas
                moved[pair] = moved[pair] + decision.deltas
                movements.append(movement_row(decision, balances[pair], warehouse_id=row.warehouse_id,
                                              item_id=item.id, doc_type="order", doc_id=row.id, user_id=user_id,
                                              device=device))
        with_backorders += short
    s.flush()
    for row in rows:
        channels.order_changed(s, row)
    write_movements(s, movements)  # the batch's ledger rows at once; each balance below once, with their sum
    for pair, deltas in moved.items():
        add_to_balance(s, *pair, deltas)
    return len(new), len(chunk) - len(new), with_backorders


def place_checked(grouped: dict[tuple, dict], user_id=None, device=None, progress=None) -> dict:
    """Place checked orders, a chunk per transaction. Orders already known are skipped, so a job that
    stopped half-way and runs again places the rest and nothing twice: the file lands whole."""
    placed = existing = backordered = 0
    orders = list(grouped.items())
    for start in range(0, len(orders), IMPORT_CHUNK):
        with UnitOfWork() as uow:
            new, known, short = _place_many(uow.session, orders[start:start + IMPORT_CHUNK], user_id, device)
            uow.commit()
        placed, existing, backordered = placed + new, existing + known, backordered + short
        if progress:
            progress(min(start + IMPORT_CHUNK, len(orders)))
    return {"placed": placed, "existing": existing, "backordered": backordered, "errors": []}


def import_csv(text: str, user_id=None, device=None, progress=None) -> dict:
    """Check the whole file, then place its orders (short lines backordered); importing twice places once."""
    grouped, errors = check_csv(text)
    if errors:
        return {"placed": 0, "existing": 0, "backordered": 0, "errors": errors}
    return place_checked(grouped, user_id, device, progress)
