"""Orders from sales channels: all lines reserved at once, or none."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain import stock as d
from ..models import FloorException, Item, Movement, Order, OrderLine, Task, TaskLine, utcnow
from .stock import _clean, add_to_balance, get_item, get_warehouse, lock_balance
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
        raise d.InputError("channel and external_id are required")
    if not isinstance(lines, list) or not lines:
        raise d.InputError("An order needs at least one line")
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
            existing = _find(s, channel, external_id)
            if existing is not None:
                return order_dict(existing), False
            wh = get_warehouse(s, warehouse)
            resolved = []
            for n, (sku, qty) in enumerate(wanted, 1):
                try:
                    resolved.append((get_item(s, sku), qty))
                except d.InputError as e:
                    raise type(e)(f"Line {n}: {e.message}") from None
            per_item = defaultdict(int)
            for item, qty in resolved:
                per_item[item] += qty
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
                    _reserve(s, wh.id, item, reserve, balances, order.id, user_id, device)
            s.flush()
            s.refresh(order)
            result = order_dict(order)
            uow.commit()
            return result, True
        except IntegrityError:
            uow.rollback()
            existing = _find(s, channel, external_id)
            if existing is not None:
                return order_dict(existing), False
            raise


def _reserve(s, warehouse_id, item, qty, balances, order_id, user_id, device) -> None:
    decision = d.decide(balances[item], d.Request(d.Kind.RESERVE, qty, sku=item.sku))
    balances[item] = balances[item] + decision.deltas
    s.add(_movement(decision, warehouse_id, item.id, balances[item], order_id, user_id, device))
    add_to_balance(s, warehouse_id, item.id, decision.deltas)


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
        balances = {}
        for item in sorted({ln.item for ln in lines}, key=lambda i: i.id):
            balances[item] = lock_balance(s, warehouse_id, item.id)
        reserved = 0
        for ln in lines:
            take = min(ln.backordered, balances[ln.item].s)
            if take <= 0:
                continue
            _reserve(s, warehouse_id, ln.item, take, balances, ln.order_id, user_id, device)
            ln.backordered -= take
            ln.reserved += take
            reserved += take
        uow.commit()
        return reserved


def _movement(decision, warehouse_id, item_id, after, order_id, user_id, device) -> Movement:
    return Movement(
        kind=decision.kind.value,
        warehouse_id=warehouse_id,
        item_id=item_id,
        qty=decision.qty,
        after=json.dumps(after.as_dict(upper=True)),
        s_after=after.s,
        doc_type="order",
        doc_id=order_id,
        user_id=user_id,
        device=device,
        **{f"d_{b}": v for b, v in decision.deltas.as_dict().items()},
    )


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
                balances[ln.item_id] = balances[ln.item_id] + decision.deltas
                s.add(
                    _movement(
                        decision, order.warehouse_id, ln.item_id, balances[ln.item_id], order.id, user_id, device
                    )
                )
                add_to_balance(s, order.warehouse_id, ln.item_id, decision.deltas)
                ln.reserved = 0
            ln.backordered = 0
        order.status = "cancelled"
        _end_floor_work(s, order, user_id)
        s.flush()
        result = order_dict(order)
        uow.commit()
        return result


def _end_floor_work(s, order: Order, user_id) -> None:
    """A cancelled order leaves the floor: its open pick lines end (the next scan on such a list says why),
    and what was already picked into staging is raised for putaway, lot by lot."""
    from .shipping import staged_lots
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


def import_csv(text: str, user_id=None, device=None) -> dict:
    """Rows `channel,external_id,warehouse,sku,qty`, grouped into orders; short lines are backordered.

    The whole file is checked before any order is placed. Orders already
    known (same channel and reference) are left as they are, so importing
    a file twice places each order once.
    """
    from .purchasing import read_csv
    from .uow import UnitOfWork as _UoW

    rows = read_csv(text, ORDER_COLUMNS)
    if not rows:
        raise d.InputError("The file has no rows")
    grouped: dict[tuple, dict] = {}
    errors = []
    with _UoW(write=False) as uow:
        s = uow.session
        for n, row in rows:
            key = (row["channel"], row["external_id"])
            if not row["channel"] or not row["external_id"]:
                errors.append(f"row {n}: channel and external_id are required")
                continue
            order = grouped.setdefault(key, {"warehouse": row["warehouse"], "lines": []})
            try:
                get_warehouse(s, row["warehouse"])
                get_item(s, row["sku"])
                d.parse_qty(row["qty"])
            except d.InputError as e:
                errors.append(f"row {n}: {e.message}")
                continue
            order["lines"].append(OrderLineRequest(row["sku"], row["qty"]))
    if errors:
        return {"placed": [], "existing": [], "errors": errors[:50]}
    placed, existing = [], []
    for (channel, external_id), order in grouped.items():
        result, created = place_order(channel, external_id, order["warehouse"], order["lines"], user_id=user_id,
                                      device=device, backorder=True)
        (placed if created else existing).append(result)
    return {"placed": placed, "existing": existing, "errors": []}
