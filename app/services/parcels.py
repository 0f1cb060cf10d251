"""What of an order waits at outbound staging, and what of it is packed: the read model that
packing and shipping share (services.packing, services.shipping)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from ..domain import packing as rules
from ..models import Movement, Order, Parcel, ParcelLine


def staged_lots(session, order: Order) -> dict[int, dict[str, int]]:
    """What of this order waits at staging, per item and lot: its picks less its shipments."""
    rows = session.execute(
        select(Movement.item_id, Movement.lot, Movement.kind, func.sum(Movement.qty))
        .where(Movement.doc_type == "order", Movement.doc_id == order.id, Movement.kind.in_(("pick", "ship")))
        .group_by(Movement.item_id, Movement.lot, Movement.kind)
    ).all()
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item_id, lot, kind, qty in rows:
        out[item_id][lot] += qty if kind == "pick" else -qty
    return out


def packed_lots(session, order: Order) -> dict[int, dict[str, int]]:
    """What of the order is in parcels not yet shipped, per item and lot."""
    rows = session.execute(
        select(ParcelLine.item_id, ParcelLine.lot, func.sum(ParcelLine.qty)).join(Parcel)
        .where(Parcel.order_id == order.id, Parcel.status != "shipped")
        .group_by(ParcelLine.item_id, ParcelLine.lot)).all()
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item_id, lot, qty in rows:
        out[item_id][lot] += qty
    return out


def unpacked(session, order: Order) -> int:
    """Units of the order waiting at staging that are in no parcel yet."""
    staged, packed = staged_lots(session, order), packed_lots(session, order)
    return sum(rules.room_for(q, packed[item][lot]) for item, lots in staged.items() for lot, q in lots.items())


def parcels_of(session, order: Order) -> list[Parcel]:
    """The order's parcels, in their order."""
    return list(session.execute(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.seq)).scalars())


def to_load(session, order: Order) -> list[Parcel]:
    """The order's parcels that hold something and are not shipped: what the dock must load."""
    return [p for p in parcels_of(session, order) if p.status != "shipped" and p.lines]


def find_parcel(session, code: str) -> Parcel | None:
    """The parcel an SSCC names."""
    return session.execute(select(Parcel).where(Parcel.sscc == code)).scalar_one_or_none()
