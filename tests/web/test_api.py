"""JSON API v1 through the Flask client."""

import jsonschema
import pytest

from app.api.openapi import spec
from tests.builders import ean_for, make_site, make_token, make_user, receive


@pytest.fixture
def api(app, client):
    make_site()
    receive(qty=10)
    token = make_token(make_user("channel", role="supervisor"))
    op_token = make_token(make_user("op1", role="operator"))

    class Api:
        def __init__(self, token):
            self.headers = {"Authorization": f"Bearer {token}"}

        def get(self, path, **kw):
            return client.get(path, headers=self.headers, **kw)

        def post(self, path, **kw):
            return client.post(path, headers=self.headers, **kw)

    a = Api(token)
    a.operator = Api(op_token)
    return a


def schema(name):
    doc = spec()
    return {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}


def conforms(response, name):
    jsonschema.validate(response.get_json(), schema(name))


def test_without_a_token_the_api_answers_401_in_the_error_shape(client, app):
    r = client.get("/api/v1/warehouses")
    assert r.status_code == 401
    conforms(r, "Error")
    r = client.get("/api/v1/warehouses", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.get_json()["error"]["message"] == "Unknown or revoked token"


def test_warehouses_are_listed_with_their_bins(api):
    r = api.get("/api/v1/warehouses")
    conforms(r, "Warehouses")
    w1 = r.get_json()["warehouses"][0]
    assert w1["code"] == "W1" and {"code": "DOCK", "type": "dock", "walk_order": 1000} in w1["bins"]


def test_stock_of_one_item_shows_all_eight_buckets(api):
    r = api.get("/api/v1/stock?warehouse=W1&sku=SKU-1")
    conforms(r, "Stock")
    assert r.get_json() == {"warehouse": "W1", "sku": "SKU-1", "I": 10, "S": 10, "O": 0, "U": 0, "L": 0, "V": 0, "T": 0, "A": 0}


def test_stock_can_be_asked_by_barcode(api):
    assert api.get(f"/api/v1/stock?warehouse=W1&sku={ean_for(1)}").get_json()["S"] == 10


def test_stock_of_a_whole_warehouse_comes_in_pages(api):
    receive(sku="SKU-2", qty=1)
    receive(sku="SKU-3", qty=1)
    first = api.get("/api/v1/stock?warehouse=W1&per_page=2")
    conforms(first, "StockPage")
    body = first.get_json()
    assert [i["sku"] for i in body["items"]] == ["SKU-1", "SKU-2"] and body["total"] == 3 and body["next_page"] == 2
    second = api.get("/api/v1/stock?warehouse=W1&per_page=2&page=2").get_json()
    assert [i["sku"] for i in second["items"]] == ["SKU-3"] and second["next_page"] is None


@pytest.mark.parametrize(
    "query, status",
    [("warehouse=NOPE", 404), ("warehouse=W1&sku=NOPE", 404), ("", 422), ("warehouse=W1&per_page=0", 422),
     ("warehouse=W1&page=x", 422)],
)
def test_bad_stock_queries_get_a_clear_error(api, query, status):
    r = api.get(f"/api/v1/stock?{query}")
    assert r.status_code == status
    conforms(r, "Error")


def test_the_change_feed_gives_sellable_changes_after_a_cursor(api):
    first = api.get("/api/v1/stock/changes").get_json()
    conforms_body = first
    assert conforms_body["changes"][-1] == {"cursor": first["next"], "warehouse": "W1", "sku": "SKU-1", "S": 10}
    api.post("/api/v1/orders", json={"channel": "c", "external_id": "1", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 3}]})
    receive(sku="SKU-2", qty=1, to_bin="A-01")
    r = api.get(f"/api/v1/stock/changes?after={first['next']}&limit=1")
    conforms(r, "Changes")
    assert [(c["sku"], c["S"]) for c in r.get_json()["changes"]] == [("SKU-1", 7)]
    rest = api.get(f"/api/v1/stock/changes?after={r.get_json()['next']}").get_json()
    assert [(c["sku"], c["S"]) for c in rest["changes"]] == [("SKU-2", 1)]
    assert api.get(f"/api/v1/stock/changes?after={rest['next']}").get_json() == {"changes": [], "next": rest["next"]}


def test_an_order_is_reserved_whole_and_a_resend_returns_it_unchanged(api):
    body = {"channel": "shop", "external_id": "S-1", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 4}]}
    r = api.post("/api/v1/orders", json=body)
    assert r.status_code == 201
    conforms(r, "Order")
    again = api.post("/api/v1/orders", json=body)
    assert again.status_code == 200 and again.get_json()["id"] == r.get_json()["id"]
    assert api.get("/api/v1/stock?warehouse=W1&sku=SKU-1").get_json()["O"] == 4
    assert api.get(f"/api/v1/orders/{r.get_json()['id']}").get_json()["lines"][0]["reserved"] == 4


def test_a_short_order_is_409_listing_the_short_lines_and_reserves_nothing(api):
    body = {"channel": "shop", "external_id": "S-2", "warehouse": "W1",
            "lines": [{"sku": "SKU-1", "qty": 4}, {"sku": "SKU-2", "qty": 1}]}
    r = api.post("/api/v1/orders", json=body)
    assert r.status_code == 409
    conforms(r, "Error")
    assert r.get_json()["short"] == [{"sku": "SKU-2", "requested": 1, "sellable": 0}]
    assert api.get("/api/v1/stock?warehouse=W1&sku=SKU-1").get_json()["S"] == 10


def test_cancelling_an_order_releases_its_reservation(api):
    body = {"channel": "shop", "external_id": "S-3", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 4}]}
    order_id = api.post("/api/v1/orders", json=body).get_json()["id"]
    r = api.post(f"/api/v1/orders/{order_id}/cancel")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert api.get("/api/v1/stock?warehouse=W1&sku=SKU-1").get_json()["S"] == 10
    assert api.post("/api/v1/orders/99999/cancel").status_code == 404


def test_a_movement_is_201_with_the_new_balance_and_its_resend_is_200_with_the_same(api):
    body = {"scan_id": "s-1", "warehouse": "W1", "kind": "damage", "sku": "SKU-1", "qty": 2, "from_bin": "A-01",
            "to_bin": "QUAR", "reason": "forklift"}
    r = api.post("/api/v1/movements", json=body)
    assert r.status_code == 201, r.get_json()
    conforms(r, "MovementOut")
    assert r.get_json()["balance"]["U"] == 2 and r.get_json()["movement"]["deltas"] == {"S": -2, "U": 2}
    again = api.post("/api/v1/movements", json=body)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert again.get_json()["movement"] == r.get_json()["movement"] and again.get_json()["balance"] == r.get_json()["balance"]


def test_a_refused_movement_is_409_and_changes_nothing(api):
    r = api.post("/api/v1/movements", json={"warehouse": "W1", "kind": "lock", "sku": "SKU-1", "qty": 11})
    assert r.status_code == 409 and r.get_json()["error"] == {"code": "not_enough_sellable", "message": "Only 10 sellable, 11 requested"}
    assert api.get("/api/v1/stock?warehouse=W1&sku=SKU-1").get_json()["L"] == 0


def test_an_operator_token_cannot_lock_set_virtual_or_adjust(api):
    for kind in ("lock", "virtual", "adjust", "unlock"):
        r = api.operator.post("/api/v1/movements", json={"warehouse": "W1", "kind": kind, "sku": "SKU-1", "qty": 1, "to_bin": "A-01"})
        assert r.status_code == 403, kind


@pytest.mark.parametrize(
    "body",
    [
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 0},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": -5},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1.5},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 10**15},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": "many"},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1"},
        {"warehouse": "W1", "kind": "teleport", "sku": "SKU-1", "qty": 1},
        {"warehouse": "W1", "kind": "reserve", "sku": "SKU-1", "qty": 1},
        {"warehouse": "W1", "kind": "receive", "sku": "NOPE", "qty": 1},
        {"warehouse": "NOPE", "kind": "receive", "sku": "SKU-1", "qty": 1},
        {"warehouse": "W1", "kind": "move", "sku": "SKU-1", "qty": 1, "from_bin": "A-01", "to_bin": "ZZ"},
        {"warehouse": "W1", "kind": "move", "sku": "SKU-1", "qty": 1},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "expiry": "31/12/2027"},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "lot": 12},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "condition": "wet"},
        {"warehouse": ["W1"], "kind": "receive", "sku": {"a": 1}, "qty": 1},
        {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "scan_id": "x" * 65},
    ],
)
def test_bad_movement_input_is_422_with_a_message_and_changes_nothing(api, body):
    r = api.post("/api/v1/movements", json=body)
    assert r.status_code == 422, r.get_json()
    conforms(r, "Error")
    assert r.get_json()["error"]["message"]
    assert api.get("/api/v1/stock?warehouse=W1&sku=SKU-1").get_json()["I"] == 10


@pytest.mark.parametrize("data", [b"{not json", b"[]", b"null", b"\xff\xfe", b""])
def test_a_body_that_is_not_a_json_object_is_422(api, data):
    for path in ("/api/v1/movements", "/api/v1/orders"):
        r = api.post(path, data=data, content_type="application/json")
        assert r.status_code == 422, (path, data)


@pytest.mark.parametrize(
    "lines",
    [None, [], "SKU-1", [{"sku": "SKU-1"}], [{"sku": "SKU-1", "qty": 0}], [{"sku": "NOPE", "qty": 1}], [1, 2],
     [{"sku": "SKU-1", "qty": 1}] * 501],
)
def test_bad_order_lines_are_422(api, lines):
    r = api.post("/api/v1/orders", json={"channel": "c", "external_id": "x", "warehouse": "W1", "lines": lines})
    assert r.status_code == 422, r.get_json()


def test_every_api_route_is_in_the_openapi_document_and_every_documented_path_exists(api, app):
    documented = set(api.get("/api/v1/openapi.json").get_json()["paths"])
    routes = {
        str(rule).replace("<int:order_id>", "{order_id}").replace("<number>", "{number}")
        for rule in app.url_map.iter_rules()
        if str(rule).startswith("/api/v1/")
    }
    assert routes == documented


PO = {
    "number": "PO-2026-0100",
    "kind": "asn",
    "warehouse": "W1",
    "supplier": "Acme",
    "expected_on": "2026-12-01",
    "lines": [{"sku": "SKU-1", "qty": 24, "lot": "L9", "expiry": "2027-06-30"}, {"sku": ean_for(2), "qty": 12}],
}


def test_a_purchase_order_posted_once_or_twice_is_stored_once_and_readable(api):
    first = api.post("/api/v1/purchase-orders", json=PO)
    assert first.status_code == 201
    conforms(first, "PurchaseOrder")
    body = first.get_json()
    assert body["kind"] == "asn" and body["status"] == "open"
    assert [(ln["sku"], ln["qty"], ln["received"]) for ln in body["lines"]] == [("SKU-1", 24, 0), ("SKU-2", 12, 0)]
    again = api.post("/api/v1/purchase-orders", json={**PO, "lines": [{"sku": "SKU-3", "qty": 1}]})
    assert again.status_code == 200 and again.get_json() == body
    got = api.get("/api/v1/purchase-orders/PO-2026-0100")
    conforms(got, "PurchaseOrder")
    assert got.get_json() == body


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"lines": []}, 422, "at least one line"),
        ({"lines": [{"sku": "SKU-1", "qty": 0}]}, 422, "Line 1: Quantity must be at least 1"),
        ({"lines": [{"sku": "NOPE", "qty": 1}]}, 404, "Line 1: Unknown item"),
        ({"warehouse": "W9"}, 404, "Unknown warehouse"),
        ({"kind": ["po"]}, 422, "kind must be po or asn"),
        ({"number": 7}, 422, "needs a number"),
        ({"expected_on": "tomorrow"}, 422, "expected_on must be a date"),
        ({"lines": [{"sku": "SKU-1", "qty": 1, "expiry": "31/12/2027"}]}, 422, "Line 1: expiry must be a date"),
    ],
)
def test_a_bad_purchase_order_is_refused_with_the_reason_and_stores_nothing(api, change, status, words):
    r = api.post("/api/v1/purchase-orders", json={**PO, **change})
    assert r.status_code == status, r.get_json()
    conforms(r, "Error")
    assert words in r.get_json()["error"]["message"]
    assert api.get("/api/v1/purchase-orders/PO-2026-0100").status_code == 404


def test_stock_of_one_item_lists_its_bins_when_asked(api):
    r = api.get("/api/v1/stock?warehouse=W1&sku=SKU-1&bins=1")
    conforms(r, "Stock")
    assert r.get_json()["bins"] == [{"bin": "A-01", "type": "storage", "lot": "", "condition": "sellable", "qty": 10}]


def test_an_order_with_backorder_true_reserves_what_is_there_and_backorders_the_rest(api):
    body = {"channel": "shop", "external_id": "B-1", "warehouse": "W1", "lines": [{"sku": "SKU-1", "qty": 15}],
            "backorder": True}
    r = api.post("/api/v1/orders", json=body)
    assert r.status_code == 201
    conforms(r, "Order")
    line = r.get_json()["lines"][0]
    assert (line["reserved"], line["backordered"]) == (10, 5)
    assert api.get("/api/v1/stock?warehouse=W1&sku=SKU-1").get_json()["S"] == 0
    r = api.post("/api/v1/orders", json={**body, "external_id": "B-2", "backorder": "yes"})
    assert r.status_code == 422 and "backorder must be true or false" in r.get_json()["error"]["message"]


def test_the_api_knows_an_item_by_its_gtin_in_any_form_as_the_floor_does(api):
    from app.domain import gtin
    from app.extensions import db
    from app.models import Barcode, Item

    item = db.session.query(Item).filter_by(sku="SKU-2").one()
    upc = gtin.with_check("03600029145")  # a UPC-A, stored as the EAN-13 a scanner reads it as
    db.session.add(Barcode(item_id=item.id, code="0" + upc, kind="unit", pack_qty=1))
    db.session.commit()
    receive("SKU-2", 5)
    # The same GTIN sent as UPC-A (12 digits) and as GTIN-14 names the item, as a scan of it would.
    r = api.get(f"/api/v1/stock?warehouse=W1&sku={upc}")
    assert r.status_code == 200 and r.get_json()["sku"] == "SKU-2", r.text
    assert api.get(f"/api/v1/stock?warehouse=W1&sku={gtin.to_gtin14(ean_for(1))}").get_json()["sku"] == "SKU-1"
    r = api.post("/api/v1/orders", json={"channel": "web", "external_id": "G-1", "warehouse": "W1",
                                         "lines": [{"sku": "00" + upc, "qty": 2}]})
    assert r.status_code == 201 and r.get_json()["lines"][0]["sku"] == "SKU-2", r.text
    # A wrong check digit is no GTIN: not found, never a near match.
    bad = upc[:-1] + str((int(upc[-1]) + 1) % 10)
    assert api.get(f"/api/v1/stock?warehouse=W1&sku={bad}").status_code == 404
