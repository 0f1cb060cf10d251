"""Promotion locks (S->L until an end date) and virtual supplier stock (V)."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select, update

from ..domain import inputs
from ..domain import stock as d
from ..i18n import N_
from ..models import Balance, PromoLock, User, Warehouse, utcnow
from .stock import MovementCommand, apply_in, get_item
from .uow import UnitOfWork


def _date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise d.InputError.of(N_("Give the end date as YYYY-MM-DD")) from None


def create_lock(session, warehouse: Warehouse, user: User, sku: str, qty, name: str, ends_on, today: date | None = None) -> PromoLock:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise d.InputError.of(N_("Name the promotion (at most 80 characters)"))
    end = _date(ends_on)
    if end <= (today or date.today()):
        raise d.InputError.of(N_("The end date must be after today"))
    item = get_item(session, sku)
    qty = d.parse_qty(qty)
    lock = PromoLock(warehouse_id=warehouse.id, item_id=item.id, name=name, qty=qty, ends_on=end, created_by=user.id)
    session.add(lock)
    session.flush()
    apply_in(session, MovementCommand(warehouse=warehouse.code, kind="lock", sku=item.sku, qty=qty, user_id=user.id,
                                      device="office", doc_type="lock", doc_id=lock.id, reason=f"lock: {name}"))
    return lock


def release(session, lock_id: int, user_id: int | None, ended: bool = False) -> PromoLock:
    """Unlock a promotion's units, exactly once (a guarded update, in the movement's transaction)."""
    lock = session.get(PromoLock, lock_id)
    if lock is None:
        raise d.InputError.of(N_("No such lock"))
    won = session.execute(
        update(PromoLock).where(PromoLock.id == lock_id, PromoLock.status == "active")
        .values(status="ended" if ended else "released", released_by=user_id, released_at=utcnow())
    ).rowcount
    if not won:
        raise d.InputError.of(N_("The lock %(name)r is already %(status)s"), name=lock.name, status=lock.status)
    session.refresh(lock)
    apply_in(session, MovementCommand(warehouse=lock.warehouse.code, kind="unlock", sku=lock.item.sku, qty=lock.qty,
                                      user_id=user_id, device="office" if user_id else "schedule", doc_type="lock",
                                      doc_id=lock.id, reason=f"{'end' if ended else 'unlock early'}: {lock.name}"))
    return lock


def release_expired(today: date | None = None) -> int:
    """Unlock every lock whose end date has come; returns how many. Safe to run from several processes."""
    today = today or date.today()
    with UnitOfWork(write=False) as uow:
        due = list(uow.session.execute(
            select(PromoLock.id).where(PromoLock.status == "active", PromoLock.ends_on <= today)
        ).scalars())
    done = 0
    for lock_id in due:
        with UnitOfWork() as uow:
            try:
                release(uow.session, lock_id, None, ended=True)
                uow.commit()
                done += 1
            except d.InputError:
                uow.rollback()  # another process ended it first
    return done


_last_check = {"at": 0.0}
CHECK_EVERY_S = 300


def release_expired_now_and_then(clock=time.monotonic) -> int:
    """Called on requests: at most every five minutes per process, end the locks whose date has come.

    So a lock ends on its date even where no one set up the daily cron job.
    """
    now = clock()
    if now - _last_check["at"] < CHECK_EVERY_S:
        return 0
    _last_check["at"] = now
    return release_expired()


def active_locks(session, warehouse: Warehouse) -> list[PromoLock]:
    return list(session.execute(
        select(PromoLock).where(PromoLock.warehouse_id == warehouse.id).order_by(
            (PromoLock.status != "active"), PromoLock.ends_on, PromoLock.id.desc()).limit(200)
    ).scalars())


# --------------------------------------------------------------------------
# Virtual stock
# --------------------------------------------------------------------------


def set_virtual(session, warehouse_code: str, sku: str, qty, user_id: int | None, device: str = "office"):
    return apply_in(session, MovementCommand(warehouse=warehouse_code, kind="virtual", sku=sku, qty=qty,
                                             user_id=user_id, device=device, reason="supplier availability"))


def import_virtual_csv(text: str, user_id: int | None, default_warehouse: str | None = None) -> tuple[int, list[str]]:
    """Rows `sku,qty[,warehouse]`; every row is applied, or none (the errors say which rows failed)."""
    rows = inputs.csv_rows(text)
    if rows and rows[0] and rows[0][0].strip().lower() == "sku":
        rows = rows[1:]
    errors, done = [], 0
    if len(rows) > 10_000:
        return 0, ["At most 10,000 rows per file"]
    with UnitOfWork() as uow:
        for n, row in enumerate(rows, 1):
            if not any(c.strip() for c in row):
                continue
            if len(row) < 2:
                errors.append(f"Row {n}: write sku,qty[,warehouse]")
                continue
            wh = row[2].strip() if len(row) > 2 and row[2].strip() else default_warehouse
            try:
                with uow.session.begin_nested():
                    set_virtual(uow.session, wh, row[0].strip(), row[1].strip(), user_id, device="csv")
                done += 1
            except d.DomainError as e:
                errors.append(f"Row {n}: {e.message}")
        if errors:
            return 0, errors
        uow.commit()
    return done, []


def virtual_rows(session, warehouse: Warehouse) -> list[Balance]:
    return list(session.execute(
        select(Balance).where(Balance.warehouse_id == warehouse.id, Balance.v > 0).order_by(Balance.item_id)
    ).scalars())


