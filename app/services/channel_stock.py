"""Warehouses a channel runs (fulfilment by Amazon, say): their stock is set from the channel's report.

No one scans in such a warehouse. Its stock sits in one bin (CHANNEL_BIN) and changes when the
channel's inventory report is imported (domain.inventory_files), item by item, through the one
ledger writer, in one transaction for the whole report:

1. Units a transfer sent that the report no longer shows as inbound (or, where the report does not
   say, that account for its growth) are received off the transfer: A -> I, S.
2. Fulfillable units the report shows beyond that are found stock (an adjustment up); fewer are
   units the channel sold and shipped itself: lines of one order of the channel's for the report,
   reserved and shipped (S -> O -> out), so they count as demand and not as losses.
3. Sellable units the report has as unsellable were damaged there; unsellable units beyond that
   (returns that came back damaged) are received as damaged, fewer are scrapped.

The warehouse counts in the company's totals like any other, and in its channel's availability
(the channel sells from it); no other channel may sell from it.
"""

from __future__ import annotations

from sqlalchemy import select

from ..domain import inventory_files
from ..domain.stock import InputError
from ..models import Bin, Channel, Item, Order, OrderLine, Transfer, TransferLine, Warehouse, utcnow
from .channels import item_for_channel_sku
from .orders import reserve_line
from .stock import MovementCommand, apply_in, bin_held, get_warehouse, lock_balance

CHANNEL_BIN = "CHANNEL"


def run(session, channel: Channel, codes) -> list[Warehouse]:
    """The warehouses this channel runs (and so sells from): these, and no longer any other."""
    chosen = []
    for code in codes or ():
        if not str(code).strip():
            continue
        wh = get_warehouse(session, str(code).strip())
        if wh.channel_id not in (None, channel.id):
            raise InputError(f"{wh.code} is run by another channel")
        chosen.append(wh)
    for wh in session.execute(select(Warehouse).where(Warehouse.channel_id == channel.id)).scalars():
        if wh not in chosen:
            wh.channel_id = None
    for wh in chosen:
        wh.channel_id = channel.id
        if wh not in channel.warehouses:
            channel.warehouses.append(wh)
        _bin(session, wh)
    session.flush()
    return chosen


def _sales_order(session, channel: Channel, wh: Warehouse) -> Order:
    """The order the channel's own sales since its last report are booked on (reserved, then shipped):
    they are demand, and every unit that left O left on an order."""
    order = Order(channel=channel.code, external_id=f"{channel.code}-report-{utcnow():%Y%m%d%H%M%S%f}",
                  warehouse_id=wh.id, status="open")
    session.add(order)
    session.flush()
    return order


def _bin(session, wh: Warehouse) -> Bin:
    found = session.execute(select(Bin).where(Bin.warehouse_id == wh.id, Bin.code == CHANNEL_BIN)).scalar_one_or_none()
    if found is None:
        found = Bin(warehouse_id=wh.id, code=CHANNEL_BIN, type="storage", walk_order=1)
        session.add(found)
        session.flush()
    return found


def import_report(session, channel: Channel, warehouse_code: str, text: str, user_id=None) -> dict:
    """Set the warehouse's stock from the channel's inventory report: all of it, or nothing."""
    wh = get_warehouse(session, warehouse_code)
    if wh.channel_id != channel.id:
        raise InputError(f"{wh.code} is not run by {channel.code}: its stock is scanned")
    report = inventory_files.read(text)
    errors = list(report.errors)
    items = {}
    for n, theirs, *_ in report.rows:
        sku = item_for_channel_sku(session, channel.code, theirs)
        item = session.execute(select(Item).where(Item.sku == sku)).scalar_one_or_none()
        if item is None:
            errors.append(f"row {n}: no item {theirs!r} (map the channel's SKU to one)")
        else:
            items[n] = item
    if errors:
        raise InputError("The report was not imported: " + "; ".join(errors[:10]))
    if not report.rows:
        raise InputError("The report lists no item")
    bin_ = _bin(session, wh)
    done = {"items": 0, "from_transit": 0, "found": 0, "sold": 0, "unsellable": 0}

    def move(kind, item, qty, **kw):
        apply_in(session, MovementCommand(warehouse=wh.code, kind=kind, sku=item.sku, qty=qty, user_id=user_id,
                                          device="report", reason=kw.pop("reason", f"{channel.code} inventory report"),
                                          **kw))

    sales = None  # what the channel sold and shipped itself since the last report: one order of its own
    for n, _theirs, fulfillable, unsellable, inbound in report.rows:
        item = items[n]
        done["items"] += 1
        sellable_now = bin_held(session, bin_.id, item.id, "", "sellable")
        damaged_now = bin_held(session, bin_.id, item.id, "", "damaged")
        lines = session.execute(
            select(TransferLine).join(Transfer)
            .where(Transfer.dest_id == wh.id, Transfer.status == "shipped", TransferLine.item_id == item.id)
            .order_by(Transfer.id, TransferLine.line_no)).scalars().all()
        outstanding = sum(ln.shipped - ln.received - ln.damaged - ln.missing for ln in lines)
        if inbound is not None:
            arrived = max(0, outstanding - inbound)
        else:
            arrived = min(outstanding, max(0, fulfillable + unsellable - sellable_now - damaged_now))
        left = arrived
        for ln in lines:
            take = min(left, ln.shipped - ln.received - ln.damaged - ln.missing)
            if take > 0:
                move("transfer_receive", item, take, to_bin=bin_.code, doc_type="transfer", doc_id=ln.transfer_id,
                     reason=f"receive {ln.transfer.number} ({channel.code} inventory report)")
                ln.received += take
                left -= take
        done["from_transit"] += arrived
        sellable_now += arrived
        sold = 0
        if fulfillable > sellable_now:
            move("adjust", item, fulfillable, to_bin=bin_.code)
            done["found"] += fulfillable - sellable_now
        elif fulfillable < sellable_now:
            # Of the sellable units gone, those the report now has as unsellable were damaged there;
            # the rest the channel sold.
            spoilt = max(0, min(unsellable - damaged_now, sellable_now - fulfillable))
            if spoilt:
                move("damage", item, spoilt, from_bin=bin_.code, reason=f"{channel.code} inventory report: unsellable")
                damaged_now += spoilt
            sold = sellable_now - fulfillable - spoilt
        if sold:
            if sales is None:
                sales = _sales_order(session, channel, wh)
            sales.lines.append(OrderLine(order_id=sales.id, line_no=len(sales.lines) + 1, item_id=item.id, qty=sold,
                                         reserved=sold))
            session.flush()
            reserve_line(session, wh.id, item, sold, {item: lock_balance(session, wh.id, item.id)}, sales.id, user_id,
                         "report", reason=f"sold and shipped by {channel.code}")
            move("ship", item, sold, from_bin=bin_.code, doc_type="order", doc_id=sales.id,
                 reason=f"sold and shipped by {channel.code}")
            done["sold"] += sold
        if unsellable > damaged_now:
            move("receive", item, unsellable - damaged_now, to_bin=bin_.code, condition="damaged",
                 reason=f"{channel.code} inventory report: unsellable")
        elif unsellable < damaged_now:
            move("scrap", item, damaged_now - unsellable, from_bin=bin_.code, condition="damaged",
                 reason=f"{channel.code} inventory report: unsellable gone")
        done["unsellable"] += unsellable
    if sales is not None:
        sales.status = "shipped"
    for tr in session.execute(select(Transfer).where(Transfer.dest_id == wh.id, Transfer.status == "shipped")).scalars():
        if all(ln.shipped <= ln.received + ln.damaged + ln.missing for ln in tr.lines):
            tr.status, tr.received_at = "received", utcnow()
    session.flush()
    return done
