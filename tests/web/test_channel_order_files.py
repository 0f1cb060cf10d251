"""Orders in the channels' own formats: Shopify's orders export, Amazon's order report (tab-separated),
eBay's orders report; the channel's SKUs mapped, importing twice places once, a bad row places nothing."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain import order_files
from app.domain.stock import InputError
from app.extensions import db
from app.models import Order, OrderLine
from app.services import channels, jobs
from app.services.ledger import check_ledger
from tests.builders import make_site, make_user, receive

FILES = Path(__file__).resolve().parents[1] / "fixtures" / "channel_orders"


@pytest.fixture
def boss(app, client):
    make_site()
    for sku in ("SKU-1", "SKU-2"):
        receive(sku, 20)
    for code, kind, maps in (("shop", "shopify", {"SHOP-TOWEL": "SKU-2"}), ("amzn", "amazon", {"B00-ONE": "SKU-1"}),
                             ("ebay", "ebay", {"325987654321": "SKU-2"})):
        ch, _ = channels.save(db.session, code, kind=kind, warehouses=["W1"])
        for theirs, ours in maps.items():
            channels.map_sku(db.session, ch, theirs, ours)
    db.session.commit()
    make_user("boss", "pw-boss", role="supervisor")
    assert client.post("/login", data={"username": "boss", "password": "pw-boss"}).status_code == 302
    return client


def _import(client, channel, fmt, name, text=None):
    import io

    data = (FILES / name).read_bytes() if text is None else text.encode()
    r = client.post("/office/orders", data={"channel_import": "1", "channel": channel, "format": fmt,
                                            "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert r.status_code == 303, r.text[:500]
    assert jobs.work_once()
    db.session.rollback()
    return client.get(r.headers["Location"]).text


def _orders(channel):
    return {o.external_id: sorted((ln.item.sku, ln.qty) for ln in o.lines)
            for o in db.session.execute(select(Order).where(Order.channel == channel)).scalars()}


@pytest.mark.parametrize("channel, fmt, name, expected, skipped", [
    ("shop", "shopify", "shopify_orders_export.csv",
     {"#1001": [("SKU-1", 2), ("SKU-2", 1)], "#1002": [("SKU-1", 1)]}, 3),
    ("amzn", "amazon", "amazon_unshipped_orders.txt",
     {"028-1234567-1234567": [("SKU-1", 2), ("SKU-2", 1)], "302-7654321-7654321": [("SKU-1", 1)]}, 0),
    ("ebay", "ebay", "ebay_orders_report.csv",
     {"12-11111-22222": [("SKU-1", 2)], "12-33333-44444": [("SKU-1", 1), ("SKU-2", 2)]}, 1),
])
def test_a_channels_own_order_file_imports_once(boss, channel, fmt, name, expected, skipped):
    page = _import(boss, channel, fmt, name)
    assert "Done: 2 placed; 0 already known." in page, page[-800:]
    assert (f'data-skipped="{skipped}"' in page) == bool(skipped)
    assert _orders(channel) == expected
    page = _import(boss, channel, fmt, name)  # the same file again
    assert "Done: 0 placed; 2 already known." in page
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 2
    assert db.session.execute(select(func.sum(OrderLine.reserved))).scalar_one() == sum(
        q for lines in expected.values() for _, q in lines)
    assert check_ledger(db.session) == []


@pytest.mark.parametrize("fmt, name, spoil, says", [
    ("shopify", "shopify_orders_export.csv", ("#1002,grace", "#1002,grace"), None),
    ("shopify", "shopify_orders_export.csv", (",1,Tea towel", ",x,Tea towel"), "row 3: #1001 SHOP-TOWEL"),
    ("shopify", "shopify_orders_export.csv", ("SHOP-TOWEL", "NO-SUCH-SKU"), "row 3"),
    ("amazon", "amazon_unshipped_orders.txt", ("\tSKU-2\t", "\t\t"), "row 3: 028-1234567-1234567 has a line with no SKU"),
    ("amazon", "amazon_unshipped_orders.txt", ("Emaille-Becher\t1\t", "Emaille-Becher\t-1\t"), "row 4"),
    ("ebay", "ebay_orders_report.csv", ("Enamel mug,SKU-1,No,2,", "Enamel mug,SKU-1,No,1e9,"), "row 3"),
])
def test_a_file_with_a_bad_row_places_nothing_and_names_the_row(boss, fmt, name, spoil, says):
    channel = {"shopify": "shop", "amazon": "amzn", "ebay": "ebay"}[fmt]
    text = (FILES / name).read_text()
    assert spoil[0] in text
    page = _import(boss, channel, fmt, name, text.replace(spoil[0], spoil[1], 1))
    if says is None:  # unchanged: the control case
        assert "Done: 2 placed" in page
        return
    assert "Nothing was imported." in page and says in page, page[-800:]
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 0


@pytest.mark.parametrize("fmt, text", [
    ("shopify", "Order,Qty\n1,2\n"), ("amazon", "order-id,sku,quantity-purchased\n1,A,1\n"),
    ("ebay", "Name,Email\nx,y\n"), ("shopify", ""), ("amazon", "\x00"), ("nope", "a,b\n"),
])
def test_a_file_that_is_not_the_channels_is_said_so(fmt, text):
    with pytest.raises(InputError):
        order_files.read(fmt, text)


def test_the_import_form_refuses_an_unknown_channel_or_format(boss):
    import io

    for data in ({"channel": "nope", "format": "shopify"}, {"channel": "shop", "format": "csv"}):
        r = boss.post("/office/orders", data={"channel_import": "1", **data, "file": (io.BytesIO(b"x"), "f.csv")},
                      content_type="multipart/form-data")
        assert r.status_code == 422 and 'class="flash error"' in r.text


def test_the_purchase_order_screen_does_not_take_a_channels_order_file(boss):
    """Its import button is the orders screen's only: posted to purchase orders, nothing is placed."""
    import io

    data = (FILES / "shopify_orders_export.csv").read_bytes()
    boss.post("/office/purchase-orders", data={"channel_import": "1", "channel": "shop", "format": "shopify",
                                               "file": (io.BytesIO(data), "f.csv")}, content_type="multipart/form-data")
    jobs.work_once()
    db.session.rollback()
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 0
