"""The ledger summed per warehouse, item and day: the read model planning and analytics stand on.

A closed day's movements never change (the ledger is append-only), so its sums are worked out once,
by one INSERT … SELECT … GROUP BY in the database, and kept in `ledger_days`; `ledger_days_filled`
says up to which day. Today's are summed live from today's movements only. A screen over a year of a
million movements then reads some ten thousand small rows instead.

`rows()` is what the readers ask for: per item and day from a date on, today included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, delete, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError

from ..domain import stock as d
from ..models import Balance, LedgerDay, LedgerDaysFilled, Movement, Warehouse
from .uow import UnitOfWork

RECEIPTS = (d.Kind.RECEIVE.value, d.Kind.TRANSFER_RECEIVE.value, d.Kind.RETURN_RECEIVE.value)
TABLES = ("ledger_days", "ledger_days_filled")  # a read model: filled by reads, never business data
COLUMNS = ("asked", "reserved", "received", "shipped", "d_s", "units", "value_e4", "cogs_e4")


@dataclass(frozen=True)
class Day:
    item_id: int
    day: date
    asked: int
    reserved: int
    received: int
    shipped: int
    d_s: int
    units: int
    value_e4: int
    cogs_e4: int


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def sums(warehouse_id: int, first: date, last: date):
    """The select that sums the days from `first` to `last` (check-ledger compares the stored ones)."""
    return _sums(warehouse_id, _start(first), _start(last + timedelta(days=1)))


def _sums(warehouse_id: int, start: datetime, end: datetime | None, item_id: int | None = None):
    """One select of (warehouse, day, item, COLUMNS…) summing the movements in [start, end)."""
    day_of = func.date(Movement.created_at)
    kind = Movement.kind

    def when(m):
        cond = [m.created_at >= start] + ([m.created_at < end] if end is not None else [])
        return cond + ([m.item_id == item_id] if item_id is not None else [])

    here = select(
        literal(warehouse_id).label("w"), day_of.label("day"), Movement.item_id.label("item_id"),
        case((kind.in_(("reserve", "transfer_allocate")), Movement.qty), else_=0).label("asked"),
        case((kind == "reserve", Movement.qty), (kind == "unreserve", -Movement.qty), else_=0).label("reserved"),
        case((kind.in_(RECEIPTS), Movement.qty), else_=0).label("received"),
        case((kind == "ship", Movement.qty), else_=0).label("shipped"),
        Movement.d_s.label("d_s"), (Movement.d_i + Movement.d_a).label("units"), Movement.value_e4.label("value_e4"),
        case((kind == "ship", -Movement.value_e4), else_=0).label("cogs_e4"),
    ).where(Movement.warehouse_id == warehouse_id, *when(Movement))
    zero = literal(0)
    there = select(  # a transfer on its way here: its units and value arrive (in transit) at this warehouse
        literal(warehouse_id), day_of, Movement.item_id, zero, zero, zero, zero, zero, Movement.dest_d_a,
        -Movement.value_e4, zero,
    ).where(Movement.dest_warehouse_id == warehouse_id, *when(Movement))
    u = union_all(here, there).subquery()
    return select(u.c.w, u.c.day, u.c.item_id, *(func.sum(getattr(u.c, c)) for c in COLUMNS)).group_by(
        u.c.w, u.c.day, u.c.item_id)


def fill(warehouse_id: int, today: date | None = None) -> None:
    """Sum every closed day not summed yet, in a transaction of its own. Readers in a transaction begun
    before see what their snapshot holds (the days summed then, the rest live), so they are exact either
    way; a screen (services.ledger_days's callers: app.plan, `flask plan`) calls this first."""
    yesterday = (today or date.today()) - timedelta(days=1)
    with UnitOfWork() as uow:
        s = uow.session
        through = s.execute(select(LedgerDaysFilled.through)
                            .where(LedgerDaysFilled.warehouse_id == warehouse_id)).scalar()
        if through is not None and through >= yesterday:
            return
        if through is None:
            first = s.execute(select(func.min(Movement.created_at)).where(
                (Movement.warehouse_id == warehouse_id) | (Movement.dest_warehouse_id == warehouse_id))).scalar()
            begin = as_date(first) if first is not None else yesterday + timedelta(days=1)
        else:
            begin = through + timedelta(days=1)
        try:
            if begin <= yesterday:
                s.execute(LedgerDay.__table__.insert().from_select(
                    ["warehouse_id", "day", "item_id", *COLUMNS],
                    _sums(warehouse_id, _start(begin), _start(yesterday + timedelta(days=1)))))
            if through is None:
                s.add(LedgerDaysFilled(warehouse_id=warehouse_id, through=yesterday))
            else:
                s.execute(LedgerDaysFilled.__table__.update()
                          .where(LedgerDaysFilled.warehouse_id == warehouse_id, LedgerDaysFilled.through == through)
                          .values(through=yesterday))
            uow.commit()
        except IntegrityError:
            uow.rollback()  # another request summed these days meanwhile: theirs stand


def fill_all(today: date | None = None) -> None:
    with UnitOfWork(write=False) as uow:
        ids = list(uow.session.execute(select(Warehouse.id)).scalars())
    for warehouse_id in ids:
        fill(warehouse_id, today)


def forget(session) -> None:
    """Sum every day again from the ledger on the next fill (after movements were dated back)."""
    session.execute(delete(LedgerDay))
    session.execute(delete(LedgerDaysFilled))


def _through(session, warehouse_id: int) -> date | None:
    return session.execute(select(LedgerDaysFilled.through)
                           .where(LedgerDaysFilled.warehouse_id == warehouse_id)).scalar()


def _live(session, warehouse_id: int, since: date, through: date | None, item_id: int | None = None) -> list[Day]:
    """The days after the last one summed (all of them, if none is), summed from the movements now."""
    start = since if through is None else max(since, through + timedelta(days=1))
    return [Day(item, as_date(day), *(int(x or 0) for x in sums))
            for _w, day, item, *sums in session.execute(_sums(warehouse_id, _start(start), None, item_id))]


def rows(session, warehouse_id: int, since: date, item_id: int | None = None, today: date | None = None) -> list[Day]:
    """Per item and day, from `since` to today."""
    through = _through(session, warehouse_id)
    out = []
    if through is not None and through >= since:
        q = select(LedgerDay.item_id, LedgerDay.day, *(getattr(LedgerDay, c) for c in COLUMNS)).where(
            LedgerDay.warehouse_id == warehouse_id, LedgerDay.day >= since, LedgerDay.day <= through)
        if item_id is not None:
            q = q.where(LedgerDay.item_id == item_id)
        out = [Day(*r) for r in session.execute(q)]
    return out + _live(session, warehouse_id, since, through, item_id)


def per_item(session, warehouse_id: int, since: date, cols: tuple[str, ...], today: date | None = None,
             after: bool = False) -> dict[int, tuple]:
    """Per item, the sums of `cols` over the days from `since` (after it, with `after`) to today."""
    if after:
        since = since + timedelta(days=1)
    through = _through(session, warehouse_id)
    out: dict[int, list[int]] = {}
    if through is not None and through >= since:
        out = {item: [int(x or 0) for x in sums] for item, *sums in session.execute(
            select(LedgerDay.item_id, *(func.sum(getattr(LedgerDay, c)) for c in cols))
            .where(LedgerDay.warehouse_id == warehouse_id, LedgerDay.day >= since, LedgerDay.day <= through)
            .group_by(LedgerDay.item_id))}
    for r in _live(session, warehouse_id, since, through):
        acc = out.setdefault(r.item_id, [0] * len(cols))
        for n, c in enumerate(cols):
            acc[n] += getattr(r, c)
    return {k: tuple(v) for k, v in out.items()}


def per_day(session, warehouse_id: int, since: date, col: str, today: date | None = None) -> dict[date, int]:
    """Per day from `since` to today, the sum of `col` over every item."""
    through = _through(session, warehouse_id)
    out: dict[date, int] = {}
    if through is not None and through >= since:
        out = {as_date(day): int(x or 0) for day, x in session.execute(
            select(LedgerDay.day, func.sum(getattr(LedgerDay, col)))
            .where(LedgerDay.warehouse_id == warehouse_id, LedgerDay.day >= since, LedgerDay.day <= through)
            .group_by(LedgerDay.day))}
    for r in _live(session, warehouse_id, since, through):
        out[r.day] = out.get(r.day, 0) + getattr(r, col)
    return out


def as_date(value) -> date:
    """A day as the database gives it back (a date, a datetime, or SQLite's text)."""
    return value if isinstance(value, date) and not isinstance(value, datetime) else (
        value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10]))


def last_day(session, warehouse_id: int, col: str, today: date | None = None) -> dict[int, date]:
    """Per item, the last day on which `col` was positive (today's movements included)."""
    through = _through(session, warehouse_id)
    out = {}
    if through is not None:
        out = {item: as_date(day) for item, day in session.execute(
            select(LedgerDay.item_id, func.max(LedgerDay.day))
            .where(LedgerDay.warehouse_id == warehouse_id, getattr(LedgerDay, col) > 0, LedgerDay.day <= through)
            .group_by(LedgerDay.item_id))}
    for r in _live(session, warehouse_id, date.min if through is None else through, through):
        if getattr(r, col) > 0 and (r.item_id not in out or r.day > out[r.item_id]):
            out[r.item_id] = r.day
    return out


def newest_receipts(session, warehouse_id: int, on_hand: dict[int, int]) -> dict[int, list[tuple[date, int]]]:
    """Per item, its receipts by day, newest first, as far back as its units on hand reach (first in,
    first out: the older ones are gone). The database stops each item's walk back where it is covered."""
    through = _through(session, warehouse_id)
    out: dict[int, list[tuple[date, int]]] = {}
    live = sorted(((r.item_id, r.day, r.received) for r in _live(session, warehouse_id, date.min, through)
                   if r.received > 0 and r.item_id in on_hand), key=lambda x: x[1], reverse=True)
    left = dict(on_hand)
    for item, day, qty in live:  # the days not summed yet are the newest
        if left.get(item, 0) > 0:
            out.setdefault(item, []).append((day, qty))
            left[item] -= qty
    if through is None:
        return out
    ids = [i for i, n in left.items() if n > 0]
    if not ids:
        return out
    covered = func.sum(LedgerDay.received).over(partition_by=LedgerDay.item_id, order_by=LedgerDay.day.desc())
    layered = (select(LedgerDay.item_id, LedgerDay.day, LedgerDay.received, covered.label("covered"))
               .where(LedgerDay.warehouse_id == warehouse_id, LedgerDay.received > 0, LedgerDay.day <= through,
                      LedgerDay.item_id.in_(ids)).subquery())
    # Only the layers the units on hand reach (I, at least what is still left to place) come back.
    reached = (select(layered).join(Balance, (Balance.item_id == layered.c.item_id) & (Balance.warehouse_id == warehouse_id))
               .where(layered.c.covered - layered.c.received < Balance.i)
               .order_by(layered.c.item_id, layered.c.day.desc()))
    for item, day, qty, reach in session.execute(reached):
        if reach - qty < left[item]:
            out.setdefault(item, []).append((as_date(day), int(qty)))
    return out
