"""The OpenAPI 3.1 document of API v1, kept beside the routes.

tests/web/test_openapi.py checks that every /api/v1 route is documented and
that real responses validate against these schemas.
"""

from __future__ import annotations

from ..domain.stock import BUCKETS, MAX_QTY, Kind

BUCKET_PROPS = {b.upper(): {"type": "integer", "minimum": 0} for b in BUCKETS}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
        "short": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "requested", "sellable"],
                "properties": {
                    "sku": {"type": "string"},
                    "requested": {"type": "integer"},
                    "sellable": {"type": "integer"},
                },
            },
        },
    },
}

STOCK = {
    "type": "object",
    "required": ["warehouse", "sku", *BUCKET_PROPS],
    "properties": {
        "warehouse": {"type": "string"},
        "sku": {"type": "string"},
        **BUCKET_PROPS,
        "bins": {
            "type": "array",
            "description": "With bins=1 and a sku: where the units are, per bin, lot and condition",
            "items": {
                "type": "object",
                "required": ["bin", "type", "lot", "condition", "qty"],
                "properties": {
                    "bin": {"type": "string"},
                    "type": {"type": "string"},
                    "lot": {"type": "string"},
                    "condition": {"enum": ["sellable", "damaged", "returned", "expired"]},
                    "qty": {"type": "integer", "minimum": 1},
                },
            },
        },
    },
}

STOCK_PAGE = {
    "type": "object",
    "required": ["warehouse", "page", "per_page", "total", "items"],
    "properties": {
        "warehouse": {"type": "string"},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
        "next_page": {"type": ["integer", "null"]},
        "items": {"type": "array", "items": STOCK},
    },
}

ORDER = {
    "type": "object",
    "required": ["id", "channel", "external_id", "warehouse", "status", "lines"],
    "properties": {
        "id": {"type": "integer"},
        "channel": {"type": "string"},
        "external_id": {"type": "string"},
        "number": {"type": "string", "description": "What the packing slip's barcode says, e.g. SO-000042"},
        "warehouse": {"type": "string"},
        "status": {"enum": ["open", "cancelled", "shipped"]},
        "short": {"type": "boolean"},
        "created_at": {"type": "string"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["line", "sku", "qty", "reserved"],
                "properties": {
                    "line": {"type": "integer"},
                    "sku": {"type": "string"},
                    "qty": {"type": "integer"},
                    "reserved": {"type": "integer"},
                    "picked": {"type": "integer"},
                    "shipped": {"type": "integer"},
                    "short": {"type": "integer"},
                    "backordered": {"type": "integer", "description": "Units waiting for stock (backorder: true)"},
                },
            },
        },
    },
}

QTY = {"type": "integer", "minimum": 1, "maximum": MAX_QTY}
TEXT = {"type": "string", "maxLength": 64}

ORDER_IN = {
    "type": "object",
    "required": ["channel", "external_id", "warehouse", "lines"],
    "properties": {
        "channel": {"type": "string", "minLength": 1, "maxLength": 40},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 80},
        "warehouse": {"type": "string"},
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 500,
            "items": {"type": "object", "required": ["sku", "qty"], "properties": {"sku": {"type": "string"}, "qty": QTY}},
        },
        "backorder": {
            "type": "boolean",
            "default": False,
            "description": "true: reserve what S covers and backorder the rest, instead of refusing the order",
        },
    },
}

AVAILABILITY = {
    "type": "object",
    "required": ["channel", "items"],
    "properties": {
        "channel": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "item_sku", "available"],
                "properties": {
                    "sku": {"type": "string", "description": "the channel's SKU for the item (its own if unmapped)"},
                    "item_sku": {"type": "string"},
                    "available": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
}

API_KIND_NAMES = ["receive", "move", "damage", "restore", "scrap", "lock", "unlock", "virtual", "adjust"]
assert set(API_KIND_NAMES) <= {k.value for k in Kind}

MOVEMENT_IN = {
    "type": "object",
    "required": ["warehouse", "kind", "sku", "qty"],
    "description": (
        "One stock movement. `qty` is the number of units, except for `virtual` (the new level of "
        "virtual supply, 0 allowed) and `adjust` (the quantity counted in `to_bin`, 0 allowed). "
        "`receive` defaults to the warehouse's dock bin; `damage` and `restore` happen in place unless "
        "`to_bin` names another bin. A resent `scan_id` returns the first result with status 200. "
        "A `receive` names its `purchase_order` (or ASN) and counts on its line, no more than the line still "
        "expects; only a supervisor's token receives without one, or beyond it."
    ),
    "properties": {
        "scan_id": {"type": "string", "maxLength": 64},
        "warehouse": {"type": "string"},
        "kind": {"enum": API_KIND_NAMES},
        "sku": {"type": "string", "description": "SKU or any of the item's barcodes"},
        "qty": {"type": "integer", "minimum": 0, "maximum": MAX_QTY},
        "from_bin": TEXT,
        "to_bin": TEXT,
        "lot": {"type": "string", "maxLength": 40},
        "expiry": {"type": "string", "format": "date"},
        "condition": {"enum": ["sellable", "damaged", "returned", "expired"]},
        "reason": {"type": "string", "maxLength": 200},
        "serials": {"type": "array", "maxItems": 1000, "items": {"type": "string", "minLength": 1, "maxLength": 40},
                    "description": "A serial-tracked item's units, one serial each (required to receive it)"},
        "purchase_order": {"type": "string", "maxLength": 40,
                           "description": "receive: the purchase order or ASN number the units arrive on"},
        "unit_cost": {"type": ["string", "number"], "description": (
            "receive: what one unit cost (moving-average valuation); default the PO line's, else the item's")},
    },
}

MOVEMENT_OUT = {
    "type": "object",
    "required": ["movement", "balance", "replayed"],
    "properties": {
        "movement": {
            "type": "object",
            "required": ["id", "kind", "warehouse", "sku", "qty", "deltas"],
            "properties": {
                "id": {"type": "integer"},
                "scan_id": {"type": ["string", "null"]},
                "kind": {"type": "string"},
                "warehouse": {"type": "string"},
                "sku": {"type": "string"},
                "qty": {"type": "integer"},
                "lot": {"type": ["string", "null"]},
                "from_bin": {"type": ["string", "null"]},
                "to_bin": {"type": ["string", "null"]},
                "deltas": {"type": "object", "additionalProperties": {"type": "integer"}},
                "unit_cost": {"type": ["string", "null"], "description": "the unit cost it moved at, 4 decimals"},
                "value": {"type": ["string", "null"], "description": "the stock value it moved at this warehouse"},
            },
        },
        "balance": {"type": "object", "required": list(BUCKET_PROPS), "properties": BUCKET_PROPS},
        "replayed": {"type": "boolean"},
    },
}

WAREHOUSES = {
    "type": "object",
    "required": ["warehouses"],
    "properties": {
        "warehouses": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "name", "bins"],
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "bins": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["code", "type", "walk_order"],
                            "properties": {
                                "code": {"type": "string"},
                                "type": {"enum": ["storage", "dock", "staging", "quarantine", "returns"]},
                                "walk_order": {"type": "integer"},
                            },
                        },
                    },
                },
            },
        }
    },
}

CHANGES = {
    "type": "object",
    "required": ["changes", "next"],
    "properties": {
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cursor", "warehouse", "sku", "S"],
                "properties": {
                    "cursor": {"type": "integer"},
                    "warehouse": {"type": "string"},
                    "sku": {"type": "string"},
                    "S": {"type": "integer", "minimum": 0},
                },
            },
        },
        "next": {"type": "integer"},
    },
}


PO_LINE_IN = {
    "type": "object",
    "required": ["sku", "qty"],
    "properties": {
        "sku": {"type": "string", "description": "SKU or any of the item's barcodes"},
        "qty": {"type": "integer", "minimum": 1, "maximum": MAX_QTY, "description": "Units expected"},
        "lot": {"type": ["string", "null"], "maxLength": 40},
        "expiry": {"type": ["string", "null"], "format": "date"},
        "unit_cost": {"type": ["string", "number", "null"],
                      "description": "What one unit costs (0 to 100,000,000, 4 decimals): its receipt's cost"},
    },
}

PURCHASE_ORDER_IN = {
    "type": "object",
    "required": ["number", "warehouse", "lines"],
    "properties": {
        "number": {"type": "string", "maxLength": 40, "description": "Unique; sending it again changes nothing"},
        "kind": {"enum": ["po", "asn"], "default": "po", "description": "Purchase order or advance ship notice"},
        "warehouse": {"type": "string"},
        "supplier": {"type": "string", "maxLength": 120},
        "expected_on": {"type": ["string", "null"], "format": "date"},
        "lines": {"type": "array", "minItems": 1, "maxItems": 500, "items": PO_LINE_IN},
    },
}

PURCHASE_ORDER = {
    "type": "object",
    "required": ["id", "number", "kind", "warehouse", "supplier", "status", "lines"],
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string"},
        "kind": {"enum": ["po", "asn"]},
        "warehouse": {"type": "string"},
        "supplier": {"type": "string"},
        "status": {"enum": ["open", "partial", "received", "closed"]},
        "expected_on": {"type": ["string", "null"], "format": "date"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["line", "sku", "qty", "received"],
                "properties": {
                    "line": {"type": "integer"},
                    "sku": {"type": "string"},
                    "qty": {"type": "integer"},
                    "received": {"type": "integer"},
                    "lot": {"type": ["string", "null"]},
                    "expiry": {"type": ["string", "null"], "format": "date"},
                    "unit_cost": {"type": ["string", "null"]},
                },
            },
        },
    },
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict:
    return _json({"$ref": "#/components/schemas/Error"}, description)


COMMON = {
    "401": _err("Missing, unknown, revoked or expired token (code token_expired)"),
    "403": _err("Not this token's to do: a channel's token places, reads and cancels its own channel's orders "
                "and reads stock; orders need a channel's or a supervisor's token"),
    "429": _err("More requests in a minute than this token may send; see the Retry-After header"),
}


def _q(name: str, required: bool = False, schema: dict | None = None, description: str = "") -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema or {"type": "string"},
        "description": description,
    }


def spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Warehouse floor scanning API",
            "version": "1",
            "description": "Stock buckets per warehouse and item, orders from sales channels, and stock movements. "
            "Buckets: I on hand, S sellable, O reserved by orders, U unsellable, L locked, V virtual, "
            "T allocated to transfers, A in transit. Always S = I - O - U - L + V - T. "
            "Tokens (flask create-token, or the admin's Access screen) belong to a user and, for a sales "
            "channel, to that channel; they expire (90 days unless said), can be revoked, and each may send "
            "API_REQUESTS_PER_MINUTE requests a minute (600 unless set).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "Stock": STOCK,
                "StockPage": STOCK_PAGE,
                "Order": ORDER,
                "OrderIn": ORDER_IN,
                "MovementIn": MOVEMENT_IN,
                "MovementOut": MOVEMENT_OUT,
                "Warehouses": WAREHOUSES,
                "Changes": CHANGES,
                "Availability": AVAILABILITY,
                "PurchaseOrderIn": PURCHASE_ORDER_IN,
                "PurchaseOrder": PURCHASE_ORDER,
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}, **COMMON},
                }
            },
            "/api/v1/warehouses": {
                "get": {
                    "summary": "Warehouses with their codes and bins",
                    "operationId": "listWarehouses",
                    "responses": {"200": _json({"$ref": "#/components/schemas/Warehouses"}, "Warehouses"), **COMMON},
                }
            },
            "/api/v1/stock": {
                "get": {
                    "summary": "Buckets of one item, or of all items of a warehouse (paginated)",
                    "operationId": "getStock",
                    "parameters": [
                        _q("warehouse", True, description="Warehouse code"),
                        _q("sku", description="SKU or barcode; without it, all items of the warehouse"),
                        _q("bins", description="1: with a sku, list the bins holding it", schema={"enum": ["0", "1"]}),
                        _q("page", schema={"type": "integer", "minimum": 1}),
                        _q("per_page", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                    ],
                    "responses": {
                        "200": _json(
                            {"oneOf": [{"$ref": "#/components/schemas/Stock"}, {"$ref": "#/components/schemas/StockPage"}]},
                            "The buckets",
                        ),
                        "404": _err("Unknown warehouse or item"),
                        "422": _err("Bad query"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/stock/changes": {
                "get": {
                    "summary": "Sellable-stock changes since a cursor",
                    "description": "Poll with after=<next> to keep listings in sync. Each change carries S right "
                    "after it. On PostgreSQL, changes show once they are a few seconds old, so that none "
                    "committing late is skipped.",
                    "operationId": "getStockChanges",
                    "parameters": [
                        _q("after", schema={"type": "integer", "minimum": 0}),
                        _q("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Changes"}, "Changes"),
                        "422": _err("Bad query"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/availability": {
                "get": {
                    "summary": "What a sales channel publishes per item",
                    "description": "min(cap, max(0, floor(share% x S / 100) - buffer)) per item over the channel's "
                    "warehouses, by the channel's rule for the item or for all items. A channel's token reads its "
                    "own channel; a supervisor's names one. `sku` is the channel's SKU where it has its own. The "
                    "same figures are pushed to the channel's webhook as they change (see the README).",
                    "operationId": "getAvailability",
                    "parameters": [
                        _q("channel", description="Channel code (a channel's token: its own, or left out)"),
                        _q("sku", description="Comma-separated item SKUs; without it, every item stocked"),
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Availability"}, "Published quantities"),
                        "404": _err("Unknown channel"),
                        "422": _err("Bad query"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/orders": {
                "post": {
                    "summary": "Place an order: every line reserved (S -> O), or none",
                    "operationId": "createOrder",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderIn"}}},
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Order"}, "Placed and reserved"),
                        "200": _json({"$ref": "#/components/schemas/Order"}, "Already placed (same channel, external_id)"),
                        "409": _err("Not enough sellable stock; `short` lists the lines"),
                        "422": _err("Bad input"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/orders/{order_id}": {
                "get": {
                    "summary": "One order",
                    "operationId": "getOrder",
                    "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Order"}, "The order"),
                        "404": _err("No such order"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/orders/{order_id}/cancel": {
                "post": {
                    "summary": "Cancel an order and release what is still reserved",
                    "operationId": "cancelOrder",
                    "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Order"}, "Cancelled"),
                        "404": _err("No such order"),
                        "409": _err("Already shipped"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/purchase-orders": {
                "post": {
                    "summary": "Announce a purchase order or an advance ship notice for receiving",
                    "operationId": "createPurchaseOrder",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PurchaseOrderIn"}}},
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/PurchaseOrder"}, "Created"),
                        "200": _json({"$ref": "#/components/schemas/PurchaseOrder"}, "Already known (same number)"),
                        "404": _err("Unknown warehouse or item; nothing stored"),
                        "422": _err("Bad input; nothing stored"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/purchase-orders/{number}": {
                "get": {
                    "summary": "One purchase order with what has been received",
                    "operationId": "getPurchaseOrder",
                    "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/PurchaseOrder"}, "The purchase order"),
                        "404": _err("No such purchase order"),
                        **COMMON,
                    },
                }
            },
            "/api/v1/movements": {
                "post": {
                    "summary": "Post one stock movement",
                    "operationId": "postMovement",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MovementIn"}}},
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/MovementOut"}, "Applied"),
                        "200": _json({"$ref": "#/components/schemas/MovementOut"}, "Already applied (same scan_id)"),
                        "403": _err("lock, unlock, virtual and adjust need a supervisor's token; "
                                    "a channel's token posts no movements"),
                        "409": _err("Refused by a stock rule; nothing changed"),
                        "422": _err("Bad input; nothing changed"),
                        **COMMON,
                    },
                }
            },
        },
    }
