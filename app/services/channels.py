"""Sales channels as records: which warehouses each sells from, what it may publish, its SKUs, its orders' changes.

The rules of what a channel publishes are in domain.channels; this module reads S for them, keeps
the records, and writes the outbox rows an order's change makes (an availability change is written
by the movements table's trigger, see models.OUTBOX_TRIGGER). services.outbox delivers them.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict

from sqlalchemy import delete, func, select

from ..domain import channels as rules
from ..domain.stock import InputError
from ..models import (
    Balance,
    Channel,
    ChannelRule,
    ChannelSku,
    ChannelWarehouse,
    Item,
    Order,
    OutboxEvent,
    Parcel,
    Warehouse,
    utcnow,
)
from . import sql


class NoSuchChannel(InputError):
    code = "not_found"


def new_secret() -> str:
    return secrets.token_hex(24)


def get(session, code) -> Channel:
    channel = session.execute(select(Channel).where(Channel.code == str(code or "").strip().lower())).scalar_one_or_none()
    if channel is None:
        raise NoSuchChannel(f"No channel {str(code)[:40]!r}")
    return channel


def _warehouses(session, codes) -> list[Warehouse]:
    found = []
    for code in codes or ():
        code = str(code).strip()
        if not code:
            continue
        wh = session.execute(select(Warehouse).where(Warehouse.code == code)).scalar_one_or_none()
        if wh is None:
            raise InputError(f"No warehouse {code[:20]!r}")
        found.append(wh)
    return found


def save(session, code, name="", kind="own", webhook_url="", warehouses=(), active=True) -> tuple[Channel, str | None]:
    """Make a channel, or change one (found by its code). Returns it and, when it was made, its secret
    (shown once). Whatever it publishes is sent again, as what it covers may have changed."""
    code = rules.clean_code(code)
    if kind not in rules.KINDS:
        raise InputError(f"A channel's kind is one of {', '.join(rules.KINDS)}")
    url = rules.clean_webhook(webhook_url)
    chosen = _warehouses(session, warehouses)
    channel = session.execute(select(Channel).where(Channel.code == code)).scalar_one_or_none()
    for wh in chosen:
        if wh.channel_id is not None and (channel is None or wh.channel_id != channel.id):
            raise InputError(f"{wh.code} is run by another channel: only that one sells from it")
    if channel is not None:  # a warehouse it runs it sells from
        chosen += [wh for wh in channel.runs if wh not in chosen]
    secret = None
    if channel is None:
        secret = new_secret()
        channel = Channel(code=code, secret=secret)
        session.add(channel)
    channel.name = (str(name or "").strip() or code)[:80]
    channel.kind, channel.webhook_url, channel.active = kind, url, bool(active)
    channel.warehouses = chosen
    session.flush()
    resync(session, channel)
    return channel, secret


def renew_secret(session, channel: Channel) -> str:
    channel.secret = new_secret()
    return channel.secret


def set_rule(session, channel: Channel, sku=None, share_pct=None, buffer=None, cap=None) -> ChannelRule:
    """The channel's rule for one item (by SKU), or for every item without one (no SKU)."""
    rule = rules.rule_of(share_pct, buffer, cap)
    item = _item(session, sku) if sku not in (None, "") else None
    row = session.execute(select(ChannelRule).where(
        ChannelRule.channel_id == channel.id,
        ChannelRule.item_id == item.id if item is not None else ChannelRule.item_id.is_(None))).scalar_one_or_none()
    if row is None:
        row = ChannelRule(channel_id=channel.id, item_id=item.id if item is not None else None)
        session.add(row)
    row.share_pct, row.buffer, row.cap = rule.share_pct, rule.buffer, rule.cap
    session.flush()
    resync(session, channel, [item.id] if item is not None else None)
    return row


def drop_rule(session, channel: Channel, rule_id: int) -> None:
    row = session.get(ChannelRule, rule_id)
    if row is None or row.channel_id != channel.id:
        raise InputError("No such rule on this channel")
    item_id = row.item_id
    session.delete(row)
    session.flush()
    resync(session, channel, [item_id] if item_id is not None else None)


def _item(session, sku) -> Item:
    item = session.execute(select(Item).where(Item.sku == str(sku).strip())).scalar_one_or_none()
    if item is None:
        raise InputError(f"No item {str(sku)[:40]!r}")
    return item


def map_sku(session, channel: Channel, channel_sku, sku) -> ChannelSku:
    """The channel calls the item `sku` by `channel_sku` (blank: by the item's own SKU again)."""
    item = _item(session, sku)
    channel_sku = str(channel_sku or "").strip()
    if len(channel_sku) > 80:
        raise InputError("A channel's SKU has at most 80 characters")
    session.execute(delete(ChannelSku).where(ChannelSku.channel_id == channel.id, ChannelSku.item_id == item.id))
    row = None
    if channel_sku and channel_sku != item.sku:
        taken = session.execute(select(ChannelSku).where(ChannelSku.channel_id == channel.id,
                                                         ChannelSku.sku == channel_sku)).scalar_one_or_none()
        if taken is not None:
            raise InputError(f"{channel.code} already calls {taken.item.sku} {channel_sku!r}")
        row = ChannelSku(channel_id=channel.id, sku=channel_sku, item_id=item.id)
        session.add(row)
    session.flush()
    resync(session, channel, [item.id])
    return row


def item_for_channel_sku(session, channel_code: str, sku: str) -> str:
    """The item SKU that a channel's SKU names (the SKU itself when the channel has no mapping for it)."""
    found = session.execute(
        select(Item.sku).join(ChannelSku, ChannelSku.item_id == Item.id).join(Channel, Channel.id == ChannelSku.channel_id)
        .where(Channel.code == channel_code, ChannelSku.sku == sku)
    ).scalar_one_or_none()
    return found or sku


# --------------------------------------------------------------------------
# What a channel publishes
# --------------------------------------------------------------------------


def rules_of(session, channel_id: int) -> tuple[rules.Rule, dict[int, rules.Rule]]:
    """The channel's rule for every item, and its rules per item."""
    default, per_item = rules.ALL_OF_IT, {}
    for r in session.execute(select(ChannelRule).where(ChannelRule.channel_id == channel_id)).scalars():
        rule = rules.Rule(r.share_pct, r.buffer, r.cap)
        if r.item_id is None:
            default = rule
        else:
            per_item[r.item_id] = rule
    return default, per_item


def availability(session, channel: Channel, skus=None) -> list[dict]:
    """What the channel publishes for each item stocked in its warehouses (or for the items `skus` name)."""
    default, per_item = rules_of(session, channel.id)
    q = (select(Item.id, Item.sku, func.coalesce(func.sum(Balance.s), 0))
         .select_from(Item)
         .join(Balance, Balance.item_id == Item.id)
         .join(ChannelWarehouse, (ChannelWarehouse.warehouse_id == Balance.warehouse_id)
               & (ChannelWarehouse.channel_id == channel.id))
         .group_by(Item.id, Item.sku).order_by(Item.sku))
    if skus:
        q = q.where(Item.sku.in_(list(skus)))
    mapped = dict(session.execute(select(ChannelSku.item_id, ChannelSku.sku)
                                  .where(ChannelSku.channel_id == channel.id)).all())
    return [{"sku": mapped.get(item_id, sku), "item_sku": sku,
             "available": rules.published(per_item.get(item_id, default), int(s))}
            for item_id, sku, s in session.execute(q)]


def resync(session, channel: Channel, item_ids=None) -> None:
    """Tell the channel again what it publishes for these items (all it stocks when None): its rules,
    SKUs or warehouses changed. One fresh outbox row per item (where none is waiting already)."""
    if not channel.active or not channel.webhook_url:
        return
    if item_ids is None:
        item_ids = session.execute(
            select(Balance.item_id).join(ChannelWarehouse, ChannelWarehouse.warehouse_id == Balance.warehouse_id)
            .where(ChannelWarehouse.channel_id == channel.id).distinct()
        ).scalars().all()
    now = sql.stamp(session, utcnow())
    for item_id in sorted(set(item_ids)):
        sql.run(session, "INSERT INTO outbox (channel_id, topic, item_id, created_at, next_attempt_at, attempts) "
                "VALUES (?, 'availability', ?, ?, ?, 0) ON CONFLICT DO NOTHING", (channel.id, item_id, now, now))


# --------------------------------------------------------------------------
# What an order's channel is told
# --------------------------------------------------------------------------

ORDER_STATUSES = ("reserved", "backordered", "short", "shipped", "cancelled")


def order_status(order: Order) -> str:
    """The order's state in the channel's words."""
    if order.status in ("shipped", "cancelled"):
        return order.status
    if order.short or any(ln.short for ln in order.lines):
        return "short"
    if any(ln.backordered for ln in order.lines):
        return "backordered"
    return "reserved"


def order_changed(session, order: Order, parcels: list[Parcel] | None = None) -> None:
    """The order's channel (if it is a channel with a webhook) will be told the order's state now,
    in the caller's transaction: what committed is what is told."""
    channel = session.execute(select(Channel).where(Channel.code == order.channel, Channel.active,
                                                    Channel.webhook_url != "")).scalar_one_or_none()
    if channel is None:
        return
    session.flush()
    if parcels is None:
        parcels = session.execute(select(Parcel).where(Parcel.order_id == order.id).order_by(Parcel.seq)).scalars().all()
    mapped = dict(session.execute(select(ChannelSku.item_id, ChannelSku.sku)
                                  .where(ChannelSku.channel_id == channel.id)).all())
    payload = {
        "external_id": order.external_id,
        "number": order.number,
        "warehouse": order.warehouse.code,
        "status": order_status(order),
        "lines": [{"line": ln.line_no, "sku": mapped.get(ln.item_id, ln.item.sku), "qty": ln.qty,
                   "reserved": ln.reserved, "backordered": ln.backordered, "short": ln.short,
                   "shipped": ln.shipped} for ln in order.lines],
        "parcels": [{"sscc": p.sscc, "carrier": p.carrier, "tracking": p.tracking} for p in parcels
                    if p.tracking or p.status == "shipped"],
    }
    if not parcels and order.tracking:  # shipped without packing: the order's own label
        payload["parcels"] = [{"sscc": None, "carrier": order.carrier, "tracking": order.tracking}]
    now = utcnow()
    session.add(OutboxEvent(channel_id=channel.id, topic="order", order_id=order.id, payload=json.dumps(payload),
                            created_at=now, next_attempt_at=now))


def orders_changed(session, order_ids) -> None:
    for order_id in sorted(set(order_ids)):
        order = session.get(Order, order_id)
        if order is not None:
            order_changed(session, order)


# --------------------------------------------------------------------------
# Read model: the channels screen
# --------------------------------------------------------------------------


def overview(session) -> list[dict]:
    channels = session.execute(select(Channel).order_by(Channel.code)).scalars().all()
    waiting = defaultdict(int, session.execute(
        select(OutboxEvent.channel_id, func.count()).where(OutboxEvent.delivered_at.is_(None))
        .group_by(OutboxEvent.channel_id)).all())
    failing = defaultdict(int, session.execute(
        select(OutboxEvent.channel_id, func.count()).where(OutboxEvent.delivered_at.is_(None),
                                                           OutboxEvent.attempts > 0)
        .group_by(OutboxEvent.channel_id)).all())
    return [{"channel": c, "kind": rules.KIND_NAMES[c.kind], "waiting": waiting[c.id], "failing": failing[c.id]}
            for c in channels]


def detail(session, channel: Channel) -> dict:
    default, _ = rules_of(session, channel.id)
    item_rules = session.execute(select(ChannelRule).join(Item, Item.id == ChannelRule.item_id)
                                 .where(ChannelRule.channel_id == channel.id).order_by(Item.sku)).scalars().all()
    skus = session.execute(select(ChannelSku).where(ChannelSku.channel_id == channel.id)
                           .order_by(ChannelSku.sku)).scalars().all()
    return {"channel": channel, "default": default, "item_rules": item_rules, "skus": skus,
            "availability": availability(session, channel),
            "warehouses": session.execute(select(Warehouse).order_by(Warehouse.code)).scalars().all()}
