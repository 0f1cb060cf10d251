"""Many handhelds and channels at once, through real gunicorn workers."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Movement, Order
from app.services.ledger import check_ledger
from tests.builders import make_site, make_token, make_user, receive
from tests.server import Gunicorn


@pytest.fixture
def served(any_app, db_url, tmp_path):
    make_site()
    receive(qty=10)
    token = make_token(make_user("channel", role="supervisor"))
    db.session.remove()
    with Gunicorn(db_url, tmp_path / "instance", workers=4) as server:
        yield server, {"Authorization": f"Bearer {token}"}


def _fire(n, send):
    start = threading.Barrier(n)

    def one(i):
        start.wait()  # all at once, not one after another
        return send(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def stock(server, headers):
    return requests.get(f"{server.url}/api/v1/stock?warehouse=W1&sku=SKU-1", headers=headers, timeout=30).json()


def test_64_channels_racing_for_the_last_10_units_sell_exactly_10(served):
    server, headers = served

    def order(i):
        body = {"channel": "race", "external_id": f"o{i}", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 1}]}
        return requests.post(f"{server.url}/api/v1/orders", json=body, headers=headers, timeout=60)

    responses = _fire(64, order)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 10, codes
    assert codes.count(409) == 54, codes
    for r in responses:
        if r.status_code == 409:
            assert r.json()["short"] == [{"sku": "SKU-1", "requested": 1, "sellable": 0}]
    balance = stock(server, headers)
    assert (balance["S"], balance["O"], balance["I"]) == (0, 10, 10)
    db.session.rollback()
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 10
    assert check_ledger(db.session) == []


def test_one_scan_resent_50_times_at_once_is_one_movement(served):
    server, headers = served
    body = {"scan_id": "dup-1", "warehouse": "W1", "kind": "move", "sku": "SKU-1", "qty": 3,
            "from_bin": "A-01", "to_bin": "B-01"}

    responses = _fire(50, lambda i: requests.post(f"{server.url}/api/v1/movements", json=body, headers=headers, timeout=60))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(200) == 49, codes
    first = next(r.json() for r in responses if r.status_code == 201)
    assert all(r.json()["movement"] == first["movement"] for r in responses)
    db.session.rollback()
    assert db.session.execute(select(func.count(Movement.id)).where(Movement.scan_id == "dup-1")).scalar_one() == 1
    assert check_ledger(db.session) == []


def test_an_order_resent_by_a_channel_at_once_is_reserved_once(served):
    server, headers = served
    body = {"channel": "shop", "external_id": "same", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 2}]}
    responses = _fire(20, lambda i: requests.post(f"{server.url}/api/v1/orders", json=body, headers=headers, timeout=60))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(200) == 19, codes
    assert len({r.json()["id"] for r in responses}) == 1
    assert stock(server, headers)["O"] == 2


def test_64_orders_from_three_channels_race_for_the_last_10_each_token_sees_only_its_own(any_app, db_url, tmp_path):
    """Three channels, each with its token and its webhook, sell the same 10 units: exactly 10 orders
    succeed, no channel ever publishes less than nothing, and a channel reads and cancels only its own."""
    import time

    from app.services import channels
    from app.services.uow import UnitOfWork
    from tests.webhook_receiver import Receiver

    make_site()
    receive(qty=10)
    receiver = Receiver({})
    codes = ("shop", "amzn", "ebay")
    with UnitOfWork() as uow:
        for code, share in zip(codes, (100, 60, 100)):
            ch, secret = channels.save(uow.session, code, kind="other", webhook_url=receiver.url, warehouses=["W1"])
            channels.set_rule(uow.session, ch, share_pct=share, buffer=1 if code == "ebay" else 0)
            receiver.secrets[code] = secret
        uow.commit()
    user = make_user("channels", role="operator")
    tokens = {code: {"Authorization": f"Bearer {make_token(user, channel=code)}"} for code in codes}
    db.session.remove()
    try:
        with Gunicorn(db_url, tmp_path / "instance", workers=4) as server:
            def order(i):
                code = codes[i % 3]
                body = {"external_id": f"{code}-{i}", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 1}]}
                return code, requests.post(f"{server.url}/api/v1/orders", json=body, headers=tokens[code], timeout=60)

            results = _fire(64, order)
            won = [(code, r.json()) for code, r in results if r.status_code == 201]
            assert len(won) == 10 and sorted(r.status_code for _, r in results).count(409) == 54
            for code in codes:
                avail = requests.get(f"{server.url}/api/v1/availability", headers=tokens[code], timeout=30).json()
                assert avail["items"] == [{"sku": "SKU-1", "item_sku": "SKU-1", "available": 0}]
            # Each token sees its own orders and no other channel's.
            for code, order_ in won:
                for other in codes:
                    r = requests.get(f"{server.url}/api/v1/orders/{order_['id']}", headers=tokens[other], timeout=30)
                    assert r.status_code == (200 if other == code else 404)
                    r = requests.post(f"{server.url}/api/v1/orders/{order_['id']}/cancel", headers=tokens[other],
                                      timeout=30)
                    assert r.status_code == (200 if other == code else 404)
            deadline = time.time() + 60
            while time.time() < deadline:
                got = receiver.accepted()
                orders_told = {b["order"]["external_id"] for b in got if b["event"] == "order"
                               and b["order"]["status"] == "cancelled"}
                if len(orders_told) == 10 and all(
                        any(b["event"] == "availability" and b["channel"] == c and b["available"] > 0
                            for b in got[-30:]) for c in codes):
                    break
                time.sleep(0.2)
        got = receiver.accepted()
        assert all(r["signed"] for r in receiver.requests)
        assert all(b["available"] >= 0 for b in got if b["event"] == "availability")
        told = {(b["channel"], b["order"]["external_id"]) for b in got if b["event"] == "order"}
        assert told == {(code, o["external_id"]) for code, o in won}  # each channel heard of its own orders only
        last = {}
        for b in got:
            if b["event"] == "availability":
                last[b["channel"]] = b["available"]
        assert last == {"shop": 10, "amzn": 6, "ebay": 9}  # all cancelled: 10 sellable again, by each rule
        db.session.rollback()
        assert check_ledger(db.session) == []
    finally:
        receiver.stop()
