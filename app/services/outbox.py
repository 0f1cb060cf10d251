"""Delivering the outbox: every change a channel is told of reaches its webhook, once by key, in order.

Rows are written in the transaction of the change that made them (models.OutboxEvent), so what
committed is told and what rolled back is not. A worker thread in each server process delivers:

- per channel, only the oldest undelivered row (the head) is sent; the next waits for it, so a
  channel hears of its items' and orders' changes in the order they happened;
- a worker claims the head with a guarded update before sending, so two processes never send the
  same channel at once; a claim older than CLAIM_STALE (its worker was killed) is taken over and
  the same body sent again under the same idempotency key, for the receiver to drop;
- the body is fixed when the row is first claimed and kept (`sent_payload`): a resend is the same
  request. An availability row's quantity is read then, under the balance rows' locks, and the
  item's other fresh rows of that channel are delivered with it (`coalesced_into`);
- a 2xx answer delivers the row; anything else (an error status, a refused connection, a timeout)
  schedules it again after domain.channels.backoff, doubling up to ten minutes, with jitter.

Each request is signed (HMAC-SHA256 of the body with the channel's secret) and carries the row's
idempotency key. The clock is `now()`, which tests set, so an hour's outage takes no hour.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import timedelta

import requests
from sqlalchemy import delete, func, select, update

from ..domain import channels as rules
from ..models import Channel, ChannelSku, Item, OutboxEvent, utcnow
from . import sql
from .channels import rules_of
from .uow import UnitOfWork
from .workers import Worker

CLAIM_STALE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
IDLE_SECONDS = 2.0

_clock = {"now": utcnow}
_me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_rnd = random.Random()


def now():
    return _clock["now"]()


def set_clock(fn) -> None:
    """Tests: the delivery clock (None: the wall clock again)."""
    _clock["now"] = fn or utcnow


def key(event_id: int, channel_code: str) -> str:
    return f"{channel_code}-{event_id}"


def _heads(t) -> list[tuple[int, int]]:
    """Each channel's oldest undelivered row, where it is due and no live worker has it."""
    heads = (select(func.min(OutboxEvent.id)).where(OutboxEvent.delivered_at.is_(None))
             .group_by(OutboxEvent.channel_id))
    with UnitOfWork(write=False) as uow:
        return uow.session.execute(
            select(OutboxEvent.channel_id, OutboxEvent.id)
            .where(OutboxEvent.id.in_(heads), OutboxEvent.next_attempt_at <= t,
                   OutboxEvent.claimed_at.is_(None) | (OutboxEvent.claimed_at < t - CLAIM_STALE))
            .order_by(OutboxEvent.channel_id)
        ).all()


def _claim(event_id: int, t) -> dict | None:
    """Take the head row for sending; its request (url, headers, body), or None if another has it.

    What the body needs is read first, outside SQLite's write lock (the row, its channel, the rules
    and names); under the lock only the claim, S and the writes: a delivery holds up the floor's
    scans for as short a time as it can."""
    with UnitOfWork(read_first=True) as uow:
        s = uow.session
        row = s.get(OutboxEvent, event_id)
        if row is None or row.delivered_at is not None:
            return None
        channel = s.get(Channel, row.channel_id)
        names = _names(s, row) if row.topic == "availability" else None
        uow.lock()
        # An availability row's quantity is read under the balances' locks, taken before the row is
        # touched: a movement of the item (which holds its balance's lock while its trigger writes to
        # the outbox) has committed, or waits for this, and never waits on a row this holds.
        sellable = _locked_sellable(s, row) if names is not None else None
        won = s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id, OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= t,
                   (OutboxEvent.claimed_at.is_(None)) | (OutboxEvent.claimed_at < t - CLAIM_STALE))
            .values(claimed_at=t, claimed_by=_me)
        ).rowcount
        if not won:
            return None
        # Under the lock: a body another worker fixed before it was killed is sent as it was.
        body, attempts = sql.one(s, "SELECT sent_payload, attempts FROM outbox WHERE id = ?", (event_id,))
        if body is None:
            body = _body(s, row, channel, t, sellable, names)
            sql.run(s, "UPDATE outbox SET sent_payload = ? WHERE id = ?", (body, event_id))
        request = {"id": event_id, "url": channel.webhook_url, "secret": channel.secret, "body": body.encode(),
                   "key": key(row.id, channel.code), "topic": row.topic, "active": channel.active,
                   "attempts": attempts}
        uow.commit()
        return request


def _names(s, row: OutboxEvent) -> tuple:
    """What an availability body says besides the quantity: the channel's rules and the item's SKUs."""
    default, per_item = rules_of(s, row.channel_id)
    item_sku = s.execute(select(Item.sku).where(Item.id == row.item_id)).scalar_one()
    mapped = s.execute(select(ChannelSku.sku).where(ChannelSku.channel_id == row.channel_id,
                                                    ChannelSku.item_id == row.item_id)).scalar_one_or_none()
    return per_item.get(row.item_id, default), item_sku, mapped or item_sku


def _locked_sellable(s, row: OutboxEvent) -> int:
    """S of the item over the channel's warehouses, its balance rows locked (shared) until commit."""
    lock = " ORDER BY b.warehouse_id FOR SHARE OF b" if sql.is_postgres(s) else ""
    return sum(r[0] for r in sql.run(
        s, "SELECT b.s FROM balances b JOIN channel_warehouses cw ON cw.warehouse_id = b.warehouse_id "
           "WHERE cw.channel_id = ? AND b.item_id = ?" + lock, (row.channel_id, row.item_id)).all())


def _body(s, row: OutboxEvent, channel: Channel, t, sellable: int | None, names: tuple | None) -> str:
    body = {"event": row.topic, "id": key(row.id, channel.code), "sequence": row.id, "channel": channel.code,
            "at": t.isoformat(timespec="seconds") + "Z"}
    if row.topic == "order":
        body["order"] = json.loads(row.payload)
        return json.dumps(body, separators=(",", ":"))
    # The item's other fresh rows for this channel are told by this one: their changes are in S.
    s.execute(update(OutboxEvent).where(
        OutboxEvent.channel_id == row.channel_id, OutboxEvent.item_id == row.item_id, OutboxEvent.id != row.id,
        OutboxEvent.topic == "availability", OutboxEvent.attempts == 0, OutboxEvent.claimed_at.is_(None),
        OutboxEvent.delivered_at.is_(None)).values(delivered_at=t, coalesced_into=row.id))
    rule, item_sku, sku = names
    body.update(sku=sku, item_sku=item_sku, available=rules.published(rule, sellable))
    return json.dumps(body, separators=(",", ":"))


def _send(request: dict) -> tuple[int | None, str | None]:
    """POST it; (status, error): status None when the receiver could not be reached."""
    headers = {"Content-Type": "application/json", rules.KEY_HEADER: request["key"],
               rules.TOPIC_HEADER: request["topic"],
               rules.SIGNATURE_HEADER: rules.signature(request["secret"], request["body"])}
    try:
        r = requests.post(request["url"], data=request["body"], headers=headers, timeout=TIMEOUT_SECONDS,
                          allow_redirects=False)
    except requests.RequestException as e:
        return None, f"{type(e).__name__}: {str(e)[:200]}"
    if 200 <= r.status_code < 300:
        return r.status_code, None
    return r.status_code, f"HTTP {r.status_code}: {r.text[:200]}"


def _record(request: dict, status: int | None, error: str | None, t) -> None:
    """The answer, in one guarded statement: a row another worker took over meanwhile (this one was
    too slow) is left for that one to record."""
    with UnitOfWork() as uow:
        mine = (OutboxEvent.id == request["id"], OutboxEvent.delivered_at.is_(None), OutboxEvent.claimed_by == _me)
        if error is None:
            values = {"last_status": status, "last_error": None, "delivered_at": t}
        else:
            tries = (request["attempts"] or 0) + 1
            values = {"last_status": status, "last_error": error[:300], "attempts": tries, "claimed_at": None,
                      "claimed_by": None, "next_attempt_at": t + timedelta(seconds=rules.backoff(tries, _rnd))}
        uow.session.execute(update(OutboxEvent).where(*mine).values(**values))
        uow.commit()


def deliver_due(t=None, limit: int = 500) -> int:
    """One pass: send each channel's head row that is due, and go on down a channel's queue while its
    receiver answers. Returns the rows sent successfully."""
    sent = 0
    progress = True
    while progress and sent < limit:
        progress = False
        t_now = t or now()
        for _channel_id, event_id in _heads(t_now):
            request = _claim(event_id, t_now)
            if request is None:
                continue
            status, error = _send(request) if request["active"] else (None, "The channel is switched off")
            _record(request, status, error, t or now())
            if error is None:
                sent += 1
                progress = True
    return sent


KEEP_DELIVERED = timedelta(days=30)


def purge(t=None) -> int:
    """Forget deliveries older than KEEP_DELIVERED (the log shows a month); what waits is never touched."""
    cutoff = (t or now()) - KEEP_DELIVERED
    with UnitOfWork() as uow:
        gone = uow.session.execute(delete(OutboxEvent).where(OutboxEvent.delivered_at < cutoff)).rowcount
        uow.commit()
    return gone


def resend(session, event_id: int) -> OutboxEvent:
    """Send a delivered row again (the same body and key: a receiver that has it drops it)."""
    row = session.get(OutboxEvent, event_id)
    if row is None:
        from ..domain.stock import InputError

        raise InputError("No such delivery")
    if row.coalesced_into is not None:
        row = session.get(OutboxEvent, row.coalesced_into)
    row.delivered_at = None
    row.claimed_at = row.claimed_by = None
    row.attempts = max(row.attempts, 1)  # out of the fresh rows: the trigger's rows do not merge into it
    row.next_attempt_at = utcnow()
    return row


def log(session, channel: Channel, limit: int = 200) -> list[dict]:
    """The channel's deliveries, newest first, for its screen."""
    rows = session.execute(select(OutboxEvent, Item.sku).outerjoin(Item, Item.id == OutboxEvent.item_id)
                           .where(OutboxEvent.channel_id == channel.id)
                           .order_by(OutboxEvent.id.desc()).limit(limit)).all()
    shown = []
    for e, sku in rows:
        order = json.loads(e.payload) if e.topic == "order" and e.payload else {}
        shown.append({
            "id": e.id, "key": key(e.id, channel.code), "topic": e.topic, "sku": sku,
            "external_id": order.get("external_id"), "status": order.get("status"), "created_at": e.created_at,
            "delivered_at": e.delivered_at, "attempts": e.attempts, "next_attempt_at": e.next_attempt_at,
            "with_key": key(e.coalesced_into, channel.code) if e.coalesced_into else None,
            "last": e.last_error or (e.last_status or "—"),
        })
    return shown


# The worker ------------------------------------------------------------------------------------

_purged = {"at": None}


def _work() -> None:
    deliver_due()
    if _purged["at"] is None or now() - _purged["at"] > timedelta(hours=1):
        purge()
        _purged["at"] = now()


_worker = Worker("outbox-worker", IDLE_SECONDS, _work)
wake = _worker.wake


def start_worker(app) -> None:
    """This process's delivery worker, with the site's settings."""
    def configure():
        global _me, CLAIM_STALE, TIMEOUT_SECONDS
        _me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # a forked process is a worker of its own
        CLAIM_STALE = timedelta(seconds=app.config.get("OUTBOX_CLAIM_STALE_SECONDS", 60))
        TIMEOUT_SECONDS = app.config.get("OUTBOX_TIMEOUT_SECONDS", TIMEOUT_SECONDS)

    _worker.start(app, on_start=configure)
