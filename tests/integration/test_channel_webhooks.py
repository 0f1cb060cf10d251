"""Pushed changes, never lost: every availability and order change reaches the channel's webhook.

A receiver on 127.0.0.1 (tests/webhook_receiver.py) fails, times out, answers slowly and restarts;
the delivery clock is set by the test, so an hour-long outage takes no hour. In the end, per
channel: every key it took in is one change, in order; the last availability of each item is what
the channel publishes now; each order's last state is its state now; every signature verifies.
Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OutboxEvent, utcnow
from app.services import channels, outbox
from app.services import orders as order_service
from app.services.ledger import check_ledger
from app.services.uow import UnitOfWork
from tests.builders import make_site, move, receive
from tests.webhook_receiver import Receiver


class Clock:
    def __init__(self):
        self.t = utcnow()

    def __call__(self):
        return self.t

    def advance(self, **kw):
        self.t += timedelta(**kw)


@pytest.fixture
def clock():
    c = Clock()
    outbox.set_clock(c)
    yield c
    outbox.set_clock(None)


def _channels(receiver: Receiver, specs) -> dict[str, str]:
    """Channels with the receiver as webhook; their secrets (the receiver checks signatures with them)."""
    made = {}
    with UnitOfWork() as uow:
        for code, warehouses, rule in specs:
            ch, secret = channels.save(uow.session, code, kind="shopify", webhook_url=receiver.url,
                                       warehouses=warehouses)
            if rule:
                channels.set_rule(uow.session, ch, **rule)
            made[code] = secret
        uow.commit()
    receiver.secrets.update(made)
    return made


def _publishes_now() -> dict[tuple[str, str], int]:
    with UnitOfWork(write=False) as uow:
        s = uow.session
        return {(ch.code, row["sku"]): row["available"]
                for ch in s.execute(select(channels.Channel)).scalars() for row in channels.availability(s, ch)}


def _orders_now() -> dict[tuple[str, str], str]:
    with UnitOfWork(write=False) as uow:
        return {(o.channel, o.external_id): channels.order_status(o)
                for o in uow.session.execute(select(Order)).scalars()}


def _check(receiver: Receiver) -> None:
    """What the receiver took in tells each channel exactly what holds now, in order, signed."""
    assert all(r["signed"] for r in receiver.requests), [r for r in receiver.requests if not r["signed"]][:3]
    got = receiver.accepted()
    per_channel: dict[str, list[int]] = {}
    last_availability, last_order = {}, {}
    for body in got:
        per_channel.setdefault(body["channel"], []).append(body["sequence"])
        if body["event"] == "availability":
            last_availability[(body["channel"], body["sku"])] = body["available"]
        else:
            last_order[(body["channel"], body["order"]["external_id"])] = body["order"]["status"]
    for code, seqs in per_channel.items():
        assert seqs == sorted(seqs), f"{code} heard its changes out of order: {seqs}"
    assert last_availability == {k: v for k, v in _publishes_now().items()}
    assert last_order == _orders_now()
    with UnitOfWork(write=False) as uow:
        s = uow.session
        assert s.execute(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
                         ).scalar_one() == 0
        # Every row the receiver has not heard of by its own key was delivered inside another one.
        keys = {r["key"] for r in receiver.requests}
        for row in s.execute(select(OutboxEvent)).scalars():
            assert outbox.key(row.id, row.channel.code) in keys or row.coalesced_into is not None
        assert check_ledger(s) == []


def _drain(clock: Clock, minutes: int = 30) -> None:
    for _ in range(minutes * 6):
        outbox.deliver_due()
        with UnitOfWork(write=False) as uow:
            left = uow.session.execute(select(func.count()).select_from(OutboxEvent)
                                       .where(OutboxEvent.delivered_at.is_(None))).scalar_one()
        if not left:
            return
        clock.advance(seconds=10)


def test_a_channel_down_for_an_hour_hears_every_change_once_in_order(any_app, clock, monkeypatch):
    monkeypatch.setattr(outbox, "TIMEOUT_SECONDS", 0.3)
    make_site(items=3)
    receiver = Receiver({})
    try:
        _channels(receiver, [("shop", ["W1"], None), ("amzn", ["W1", "W2"], {"share_pct": 50, "buffer": 1}),
                             ("ebay", ["W2"], {"cap": 4})])
        receive(qty=10)
        receive(sku="SKU-2", qty=6, warehouse="W2")
        order_service.place_order("shop", "A-1", "W1", [order_service.OrderLineRequest("SKU-1", 3)])
        _drain(clock)
        assert receiver.accepted(), "nothing was delivered while the receiver was up"
        _check(receiver)

        # An hour down: refused connections, then 503s; the floor goes on, and so does the outbox.
        receiver.stop()
        for minute in range(60):
            if minute == 30:
                receiver.start()
                receiver.mode = "fail"
            if minute % 7 == 0:
                receive(sku="SKU-3", qty=1 + minute % 3)
                move("damage", sku="SKU-1", qty=1, from_bin="A-01")
            if minute == 20:
                order_service.place_order("amzn", "B-1", "W2", [order_service.OrderLineRequest("SKU-2", 2)])
            if minute == 40:
                order_service.cancel_order(db.session.execute(select(Order.id).where(
                    Order.external_id == "A-1")).scalar_one())
            outbox.deliver_due()
            clock.advance(minutes=1)
        with UnitOfWork(write=False) as uow:
            waiting = uow.session.execute(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))).scalars().all()
            assert waiting and max(r.attempts for r in waiting) >= 5  # it kept trying, backing off
            # Coalesced: an hour of changes to an item waits as one row per channel (and the one being tried).
            per_item = {}
            for r in waiting:
                if r.topic == "availability":
                    per_item[(r.channel_id, r.item_id)] = per_item.get((r.channel_id, r.item_id), 0) + 1
            assert max(per_item.values()) <= 2

        # Back, but slow and at times too slow: a request that timed out is sent again with its key.
        clock.advance(minutes=11)  # past the longest backoff: every row is due
        receiver.mode = "timeout"
        outbox.deliver_due()
        receiver.mode, receiver.delay = "ok", 0.05
        clock.advance(minutes=11)
        _drain(clock)
        keys = [r["key"] for r in receiver.requests if r["status"] < 300]
        assert len(keys) > len(set(keys)), "the request that timed out was not sent again under its key"
        _check(receiver)
    finally:
        receiver.stop()


def test_a_change_rolled_back_is_never_told(any_app, clock):
    make_site(items=1)
    receiver = Receiver({})
    try:
        _channels(receiver, [("shop", ["W1"], None)])
        receive(qty=5)
        _drain(clock)
        before = len(receiver.accepted())
        with pytest.raises(order_service.OrderShort):
            order_service.place_order("shop", "X", "W1", [order_service.OrderLineRequest("SKU-1", 99)])
        _drain(clock)
        assert len(receiver.accepted()) == before
        _check(receiver)
        # A month on, the delivered rows are forgotten; one still waiting is kept.
        receiver.stop()
        receive(qty=1)
        clock.advance(days=31)
        assert outbox.purge() > 0
        with UnitOfWork(write=False) as uow:
            left = uow.session.execute(select(OutboxEvent)).scalars().all()
            assert left and all(r.delivered_at is None for r in left)
        receiver.start()
    finally:
        receiver.stop()


def _undelivered() -> tuple[int, int]:
    with UnitOfWork(write=False) as uow:
        s = uow.session
        waiting = s.execute(select(func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.delivered_at.is_(None))).scalar_one()
        claimed = s.execute(select(func.count()).select_from(OutboxEvent)
                            .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.claimed_at.is_not(None))).scalar_one()
    return waiting, claimed


def test_the_server_killed_mid_delivery_loses_no_change_and_repeats_none_unkeyed(any_app, db_url, tmp_path):
    import time

    import requests

    from tests.builders import make_token, make_user
    from tests.server import Gunicorn

    make_site(items=3)
    token = make_token(make_user("integrator", role="supervisor"))
    headers = {"Authorization": f"Bearer {token}"}
    receiver = Receiver({})
    receiver.delay = 0.15  # slow: deliveries are in flight when the server dies
    env = {"OUTBOX_CLAIM_STALE_SECONDS": "1", "OUTBOX_TIMEOUT_SECONDS": "5"}
    try:
        _channels(receiver, [("shop", ["W1"], None), ("amzn", ["W1"], {"share_pct": 50}), ("ebay", ["W1"], {"cap": 5})])
        db.session.remove()

        def changes(server, n, tag):
            for i in range(n):
                sku = f"SKU-{1 + i % 3}"
                r = requests.post(f"{server.url}/api/v1/movements", headers=headers, timeout=30, json={
                    "warehouse": "W1", "kind": "receive", "sku": sku, "qty": 1 + i % 4, "to_bin": "A-01"})
                assert r.status_code == 201, r.text
                if i % 3 == 0:
                    channel = ("shop", "amzn", "ebay")[i % 3]
                    r = requests.post(f"{server.url}/api/v1/orders", headers=headers, timeout=30, json={
                        "channel": channel, "external_id": f"{tag}-{i}", "warehouse": "W1",
                        "lines": [{"sku": sku, "qty": 1}]})
                    assert r.status_code == 201, r.text

        kills = 0
        for round_ in range(3):
            server = Gunicorn(db_url, tmp_path / "instance", workers=2, env=env)
            with server:
                changes(server, 12, f"r{round_}")
                deadline = time.time() + 20
                while time.time() < deadline and _undelivered()[1] == 0:
                    time.sleep(0.02)
                waiting, claimed = _undelivered()
                if waiting and claimed:
                    server.kill()  # SIGKILL with a delivery claimed and unanswered
                    kills += 1
        assert kills >= 2, "the server was never killed in the middle of a delivery"
        with Gunicorn(db_url, tmp_path / "instance", workers=2, env=env):
            deadline = time.time() + 90
            while time.time() < deadline and _undelivered()[0]:
                time.sleep(0.2)
        _check(receiver)
    finally:
        receiver.stop()
