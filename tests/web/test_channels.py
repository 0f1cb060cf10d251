"""Sales channels on the admin's screen and through the API: rules, SKUs, tokens that see only their own."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Channel, OutboxEvent
from app.services import channels
from tests.builders import make_site, make_token, make_user, receive


@pytest.fixture
def admin(app, client):
    make_site()
    make_user("root", "pw-root", role="admin")
    assert client.post("/login", data={"username": "root", "password": "pw-root"}).status_code == 302
    return client


def _make(admin, **form):
    data = {"code": "shop-eu", "name": "Our shop", "kind": "shopify", "webhook_url": "http://127.0.0.1:9/hook",
            "warehouse": ["W1"], **form}
    return admin.post("/office/channels", data=data)


def test_an_admin_makes_a_channel_sees_its_secret_once_and_sets_what_it_publishes(admin):
    receive(qty=10)
    r = _make(admin)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="([0-9a-f]{48})" data-secret', r.text)
    assert secret and secret.group(1) == db.session.execute(select(Channel.secret)).scalar_one()
    page = admin.get("/office/channels/shop-eu")
    assert page.status_code == 200 and secret.group(1) not in page.text  # shown once
    assert 'data-sku="SKU-1"' in page.text and 'data-available="10"' in page.text

    r = admin.post("/office/channels/shop-eu", data={"action": "rule", "share_pct": "50", "buffer": "1"})
    assert r.status_code == 200 and 'data-available="4"' in r.text  # floor(50% of 10) - 1
    r = admin.post("/office/channels/shop-eu", data={"action": "rule", "sku": "SKU-1", "cap": "2"})
    assert 'data-available="2"' in r.text and 'data-rule="SKU-1"' in r.text
    r = admin.post("/office/channels/shop-eu", data={"action": "sku", "sku": "SKU-1", "channel_sku": "EU-ONE"})
    assert r.status_code == 200 and "EU-ONE" in r.text
    # Every change of what it publishes waits in the outbox, one row per item.
    waiting = db.session.execute(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))).scalars().all()
    assert [(e.topic, e.item.sku) for e in waiting] == [("availability", "SKU-1")]
    assert 'data-event="' in r.text and "shop-eu-" in r.text


@pytest.mark.parametrize("form", [
    {"code": ""}, {"code": "a b"}, {"code": "x" * 41}, {"kind": "marketplace"}, {"webhook_url": "ftp://x/y"},
    {"webhook_url": "javascript:alert(1)"}, {"warehouse": ["NOPE"]},
])
def test_a_bad_channel_form_says_what_is_wrong_and_makes_nothing(admin, form):
    r = _make(admin, **form)
    assert r.status_code == 422 and 'class="flash error"' in r.text
    assert db.session.execute(select(Channel)).first() is None


@pytest.mark.parametrize("form", [
    {"action": "rule", "share_pct": "150"}, {"action": "rule", "buffer": "-1"}, {"action": "rule", "cap": "1e9"},
    {"action": "rule", "sku": "NO-SUCH"}, {"action": "sku", "sku": "NO-SUCH", "channel_sku": "X"},
    {"action": "sku", "sku": "SKU-1", "channel_sku": "y" * 81}, {"action": "drop-rule", "rule": "999"},
    {"action": "drop-rule", "rule": "abc"}, {"action": "resend", "event": "99999999999999999999"},
    {"action": "launch"}, {},
])
def test_bad_channel_actions_are_refused_with_a_message(admin, form):
    _make(admin)
    r = admin.post("/office/channels/shop-eu", data=form)
    assert r.status_code == 422 and 'class="flash error"' in r.text, r.text[:500]


def test_channels_are_the_admins(app, client):
    make_site()
    make_user("boss", "pw-boss", role="supervisor")
    client.post("/login", data={"username": "boss", "password": "pw-boss"})
    assert client.get("/office/channels").status_code == 403
    assert client.get("/office/channels/none").status_code in (403, 404)


def test_a_channels_token_reads_only_its_own_availability_under_its_own_skus(app, client):
    make_site()
    receive(qty=10)
    user = make_user("integrator", role="supervisor")
    for code, share in (("shop", 100), ("amzn", 30)):
        ch, _ = channels.save(db.session, code, warehouses=["W1"])
        channels.set_rule(db.session, ch, share_pct=share)
    channels.map_sku(db.session, db.session.execute(select(Channel).where(Channel.code == "amzn")).scalar_one(),
                     "B00-ONE", "SKU-1")
    db.session.commit()
    amzn = {"Authorization": f"Bearer {make_token(user, channel='amzn')}"}
    boss = {"Authorization": f"Bearer {make_token(user)}"}
    r = client.get("/api/v1/availability", headers=amzn)
    assert r.status_code == 200
    assert r.json == {"channel": "amzn", "items": [{"sku": "B00-ONE", "item_sku": "SKU-1", "available": 3}]}
    assert client.get("/api/v1/availability?channel=shop", headers=amzn).status_code == 403
    r = client.get("/api/v1/availability?channel=shop", headers=boss)
    assert r.json["items"] == [{"sku": "SKU-1", "item_sku": "SKU-1", "available": 10}]
    assert client.get("/api/v1/availability", headers=boss).status_code == 422
    assert client.get("/api/v1/availability?channel=nope", headers=boss).status_code == 404
    # An order placed under the channel's SKU reserves the item.
    r = client.post("/api/v1/orders", headers=amzn, json={"external_id": "114-1", "warehouse": "W1",
                                                           "lines": [{"sku": "B00-ONE", "qty": 2}]})
    assert r.status_code == 201 and r.json["lines"][0]["sku"] == "SKU-1"
