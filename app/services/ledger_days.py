"""The ledger summed per warehouse, item and day: the read model planning and analytics stand on.

A closed day's movements never change (the ledger is append-only), so its sums are worked out once,
by one INSERT … SELECT … GROUP BY in the database, and kept in `ledger_days`; `ledger_days_filled`
says up to which day. Today's are summed live from today's movements only. A screen over a year of a
million movements then reads some ten thousand small rows instead.

`days()` is what every reader selects from: per item and day from a date on, today included, stored
and live in one statement; `rows`, `per_item`, `per_day`, `last_day` and `received_by_band` are the
shapes the screens ask for, each summed in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, String, and_, bindparam, case, delete, func, literal, select, type_coerce, union_all
from sqlalchemy.exc import IntegrityError

from ..domain import stock as d
from ..models import LedgerDay, LedgerDaysFilled, Movement, Warehouse
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
    return select(u.c.w, u.c.day, u.c.item_id, *(func.sum(getattr(u.c, c)).label(c) for c in COLUMNS)).group_by(
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


def _split(session, warehouse_id: int, since: date) -> tuple[date | None, date]:
    """(the last stored day to read, None if no stored day is from `since` on; the first day to sum live)."""
    through = _through(session, warehouse_id)
    if through is None or through < since:
        return None, since
    return through, through + timedelta(days=1)


def days(session, warehouse_id: int, since: date = date.min, item_id: int | None = None):
    """The one source every reader selects from: a subquery of (item_id, day, COLUMNS…) per item and day
    from `since` to today, the days summed so far read from `ledger_days` and the rest (today's, or
    every day where none is summed) summed live from their movements, in the same statement."""
    through, live_from = _split(session, warehouse_id, since)
    live = _sums(warehouse_id, _start(live_from), None, item_id)
    if through is None:
        return live.subquery()
    # The day as the database keeps it (as_date reads it): parsing every row's date costs more than the rest.
    stored = select(LedgerDay.warehouse_id.label("w"), type_coerce(LedgerDay.day, String).label("day"),
                    LedgerDay.item_id.label("item_id"),
                    *(getattr(LedgerDay, c).label(c) for c in COLUMNS)).where(
        LedgerDay.warehouse_id == warehouse_id, LedgerDay.day >= since, LedgerDay.day <= through,
        *([LedgerDay.item_id == item_id] if item_id is not None else []))
    return union_all(stored, live).subquery()


def rows(session, warehouse_id: int, since: date, item_id: int | None = None, today: date | None = None) -> list[Day]:
    """Per item and day, from `since` to today."""
    u = days(session, warehouse_id, since, item_id)
    return [Day(item, as_date(day), *(int(x or 0) for x in sums))
            for item, day, *sums in session.execute(select(u.c.item_id, u.c.day, *(u.c[c] for c in COLUMNS)))]


def summed(session, warehouse_id: int, since: date, keys: tuple[str, ...], measures: dict, where=None):
    """Rows of (*keys, *measures) over the days from `since` to today, in one statement: each measure
    (name → (func.sum or func.max, column name or a function of the columns)) is taken over the stored
    days (by their indexes) and over the live ones apart, then over both, so the last step meets a
    row per key and part, never a row per day. `where` (a function of the columns) picks the days."""
    through, live_from = _split(session, warehouse_id, since)

    def part(c, *cond):
        exprs = [fn(make(c) if callable(make) else c[make]).label(name) for name, (fn, make) in measures.items()]
        q = select(*(c[k].label(k) for k in keys), *exprs).where(*cond)
        if where is not None:
            q = q.where(where(c))
        return q.group_by(*(c[k] for k in keys))

    parts = [part(_sums(warehouse_id, _start(live_from), None).subquery().c)]
    if through is not None:
        t = LedgerDay.__table__.c
        parts.insert(0, part(t, t.warehouse_id == warehouse_id, t.day >= since, t.day <= through))
    u = union_all(*parts).subquery()
    return session.execute(select(*(u.c[k] for k in keys), *(fn(u.c[name]) for name, (fn, _m) in measures.items()))
                           .group_by(*(u.c[k] for k in keys))).all()


def per_item(session, warehouse_id: int, since: date, cols: tuple[str, ...], today: date | None = None,
             after: bool = False) -> dict[int, tuple]:
    """Per item, the sums of `cols` over the days from `since` (after it, with `after`) to today."""
    first = since + timedelta(days=1) if after else since
    return {item: tuple(int(x or 0) for x in sums)
            for item, *sums in summed(session, warehouse_id, first, ("item_id",), {c: (func.sum, c) for c in cols})}


def per_day(session, warehouse_id: int, since: date, col: str, today: date | None = None) -> dict[date, int]:
    """Per day from `since` to today, the sum of `col` over every item."""
    return {as_date(day): int(x or 0) for day, x in summed(session, warehouse_id, since, ("day",), {col: (func.sum, col)})}


def as_date(value) -> date:
    """A day as the database gives it back (a date, a datetime, or SQLite's text)."""
    return value if isinstance(value, date) and not isinstance(value, datetime) else (
        value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10]))


def last_day(session, warehouse_id: int, col: str, today: date | None = None) -> dict[int, date]:
    """Per item, the last day on which `col` was positive (today's movements included)."""
    return {item: as_date(day) for item, day in summed(session, warehouse_id, date.min, ("item_id",),
                                                         {"day": (func.max, "day")}, where=lambda c: c[col] > 0)}


def received_by_band(session, warehouse_id: int, bands: list[tuple[str, date]]) -> dict[int, dict[str, int]]:
    """Per item, the units received in each band of days: `bands` is (label, first day), newest band
    first, each running to the day before the previous band's first. One sum per item and band,
    however many receipts the band holds."""
    def in_band(n: int, first: date):
        def units(c):
            cond = c.day >= bindparam(None, first, type_=Date)
            if n:
                cond = and_(cond, c.day < bindparam(None, bands[n - 1][1], type_=Date))
            return case((cond, c.received), else_=0)
        return units

    measures = {f"band{n}": (func.sum, in_band(n, first)) for n, (_label, first) in enumerate(bands)}
    rows = summed(session, warehouse_id, min(first for _l, first in bands), ("item_id",), measures,
                  where=lambda c: c.received > 0)
    return {item: {label: int(x or 0) for (label, _f), x in zip(bands, sums)} for item, *sums in rows}
