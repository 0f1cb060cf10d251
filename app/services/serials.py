"""Serial numbers: one row a unit of a serial-tracked item, so a serial is in one place at a time.

The ledger writer (services.stock) calls `follow` for every movement of a serial-tracked item, in
the movement's transaction: a receipt brings each unit's serial (refused without it, or when the
serial is in stock already); a move or pick takes the serials named, else the bin's oldest; a
shipment takes the order's serials at staging; a scrap takes the bin's oldest. Each change is a
`serial_events` row: the serial's history. Packing puts a picked serial into a parcel by a
guarded update, so one serial never goes into two parcels.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from scanners import ScanError, clean_scan

from ..domain import stock as d
from ..i18n import N_, _
from ..models import Bin, Item, Serial, SerialEvent, utcnow
from .resolve import ItemHit

_PUTS_NEW = (d.Kind.RECEIVE, d.Kind.TRANSFER_RECEIVE, d.Kind.RETURN_RECEIVE)
_LEAVES = {d.Kind.SHIP: "shipped", d.Kind.SCRAP: "scrapped", d.Kind.TRANSFER_SHIP: "shipped"}
MAX_LEN = 40


def clean(text: str) -> str:
    """A serial as scanned or typed: trimmed; 1 to 40 printable characters."""
    value = (text or "").strip()
    if not value or len(value) > MAX_LEN or any(ord(c) < 33 for c in value):
        raise d.InputError.of(N_("A serial number is 1 to 40 printable characters — that was %(text)r."),
                              text=value[:40])
    return value


def find(session, item_id: int, serial: str) -> Serial | None:
    return session.execute(select(Serial).where(Serial.item_id == item_id, Serial.serial == serial)).scalar_one_or_none()


def named(session, text: str) -> list[Serial]:
    """The serials (of any item) a scanned text is."""
    return list(session.execute(select(Serial).where(Serial.serial == text.strip()[:MAX_LEN])).scalars())


def history(session, serial: Serial) -> list[SerialEvent]:
    return list(session.execute(select(SerialEvent).where(SerialEvent.serial_id == serial.id)
                                .order_by(SerialEvent.id)).scalars())


def _event(session, row: Serial, kind: str, movement_id: int | None, user_id: int | None, **kw) -> None:
    session.add(SerialEvent(serial_id=row.id, kind=kind, bin_id=row.bin_id, order_id=row.order_id,
                            movement_id=movement_id, user_id=user_id, **kw))


def _bin_code(session, bin_id) -> str:
    b = session.get(Bin, bin_id) if bin_id else None
    return b.code if b is not None else "—"


def follow(session, kind: d.Kind, qty: int, item, warehouse_id: int, from_bin_id: int | None, to_bin_id: int | None,
           given: list[str] | None, order_id: int | None, movement_id: int, user_id: int | None) -> None:
    """Keep the serials of a serial-tracked item where the movement put its units."""
    given = [clean(x) for x in given] if given else []
    if len(set(given)) != len(given):
        raise d.InputError.of(N_("The same serial twice in one movement."))
    if kind in _PUTS_NEW:
        _put_new(session, kind, qty, item, warehouse_id, to_bin_id, given, movement_id, user_id)
        return
    if kind == d.Kind.ADJUST or from_bin_id is None:
        return  # a count knows units, not serials: the serials stay as recorded
    rows = _taken(session, kind, qty, item, warehouse_id, from_bin_id, given, order_id)
    leaves = _LEAVES.get(kind)
    now = utcnow()
    for row in rows:
        if leaves:
            row.status, row.bin_id, row.parcel_id = leaves, None, None
            row.warehouse_id = None if leaves == "shipped" else row.warehouse_id
        else:
            row.bin_id = to_bin_id
            if kind == d.Kind.PICK:
                row.order_id = order_id
        row.updated_at = now
        _event(session, row, kind.value, movement_id, user_id)


def _put_new(session, kind, qty, item, warehouse_id, to_bin_id, given, movement_id, user_id) -> None:
    if not given:
        if kind == d.Kind.RECEIVE:
            raise d.InputError.of(N_("%(sku)s is serial-tracked: each unit comes with its serial number."), sku=item.sku)
        return  # a transfer or a return booked without them: the units come back unnamed
    if len(given) != qty:
        raise d.InputError.of(N_("%(sku)s is serial-tracked: %(n)s serials for %(qty)s units."), sku=item.sku,
                              n=len(given), qty=qty)
    for serial in given:
        row = find(session, item.id, serial)
        if row is not None and row.status in ("in_stock", "packed"):
            raise d.InputError.of(N_("Serial %(serial)s of %(sku)s is in stock already, in %(bin)s."), serial=serial,
                                  sku=item.sku, bin=_bin_code(session, row.bin_id))
        if row is not None and kind == d.Kind.RECEIVE:
            raise d.InputError.of(N_("Serial %(serial)s of %(sku)s was %(status)s: book it as a customer return."),
                                  words=("status",), serial=serial, sku=item.sku, status=row.status)
        if row is None:
            row = Serial(item_id=item.id, serial=serial)
            session.add(row)
        row.status, row.warehouse_id, row.bin_id, row.order_id, row.parcel_id = "in_stock", warehouse_id, to_bin_id, None, None
        row.updated_at = utcnow()
        session.flush()
        _event(session, row, kind.value, movement_id, user_id)


def _taken(session, kind, qty, item, warehouse_id, from_bin_id, given, order_id) -> list[Serial]:
    """The serials a movement takes out of `from_bin_id`: those named (a named serial recorded in
    another bin of the warehouse is taken all the same, and one of this bin's takes its place there,
    so each bin keeps as many serials as units), else the ones the order picked, else the oldest."""
    placed = ("in_stock", "packed")
    rows = []
    for serial in given:
        row = find(session, item.id, serial)
        if row is None or row.status not in placed or row.warehouse_id != warehouse_id:
            raise d.InputError.of(N_("Serial %(serial)s of %(sku)s is not in stock here."), serial=serial, sku=item.sku)
        if row.bin_id != from_bin_id:
            stand_in = session.execute(
                select(Serial).where(Serial.item_id == item.id, Serial.bin_id == from_bin_id,
                                     Serial.status == "in_stock", Serial.serial.not_in(given))
                .order_by(Serial.updated_at, Serial.id).limit(1)).scalar_one_or_none()
            if stand_in is not None:
                stand_in.bin_id = row.bin_id
        rows.append(row)
    if given:
        return rows
    q = select(Serial).where(Serial.item_id == item.id, Serial.bin_id == from_bin_id, Serial.status.in_(placed))
    if kind == d.Kind.SHIP and order_id is not None:
        q = q.order_by((Serial.order_id != order_id), Serial.updated_at, Serial.id)
    else:
        q = q.order_by(Serial.updated_at, Serial.id)
    return list(session.execute(q.limit(qty)).scalars())


def pack(session, serial: Serial, parcel_id: int, user_id: int | None) -> None:
    """Put a picked serial into a parcel: a guarded update, so a serial goes into one parcel only."""
    done = session.execute(
        update(Serial).where(Serial.id == serial.id, Serial.status == "in_stock", Serial.parcel_id.is_(None))
        .values(status="packed", parcel_id=parcel_id, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise d.InputError.of(N_("Serial %(serial)s is in a parcel already."), serial=serial.serial)
    session.refresh(serial)
    _event(session, serial, "pack", None, user_id, parcel_id=parcel_id)


# --------------------------------------------------------------------------
# On the floor: a serial-tracked unit's scan waits for its serial
# --------------------------------------------------------------------------


def ask(ctx, hit, **extra) -> str:
    """The unit was scanned without its serial (no GS1 (21)): the next scan is its serial. Nothing booked."""
    ctx.set_state(serial_for={"item": hit.item.id, "lot": hit.lot, "expiry": hit.expiry.isoformat() if hit.expiry else None,
                              **extra})
    return _("Now scan the serial number of %(item)s.", item=hit.item.name)


def answered(ctx):
    """(the unit's hit, its serial, what the kind kept) when this scan answers `ask`, else None."""
    pending = ctx.state().get("serial_for")
    if not pending or ctx.inp.action or not ctx.inp.code.strip():
        return None
    try:
        scan = ctx.parse()
        serial = scan.serial or clean_scan(ctx.inp.code)
    except ScanError:
        serial = clean_scan(ctx.inp.code)
    ctx.set_state(serial_for=None)
    item = ctx.session.get(Item, pending["item"])
    expiry = date.fromisoformat(pending["expiry"]) if pending.get("expiry") else None
    return ItemHit(item, 1, pending.get("lot"), expiry, None, clean(serial)), pending


def one_unit(ctx, hit, qty: int) -> None:
    """A serial-tracked item is scanned unit by unit: each scan is one serial."""
    if qty != 1:
        raise d.InputError(_("%(item)s has serial numbers: scan each unit, one at a time.", item=hit.item.name))
