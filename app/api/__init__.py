"""JSON API v1 for sales channels and integrations.

Routes only translate: JSON in -> a service call -> JSON out. Domain errors
become the error shape {"error": {"code", "message"}} in one place
(`_domain_error`), with 409 for a stock rule and 422 for bad input.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import func, select

from ..domain import stock as d
from ..extensions import db
from ..models import (
    Balance,
    Item,
    Movement,
    Order,
    PurchaseOrder,
    User,
    Warehouse,
)
from ..services import access
from ..services import channels as channel_service
from ..services import orders as order_service
from ..services import purchasing
from ..services import stock as stock_service
from .openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Kinds a channel or integration may post directly; the rest belong to a
# document (orders reserve and ship, transfers allocate) or a floor task.
API_KINDS = {"receive", "move", "damage", "restore", "scrap", "lock", "unlock", "virtual", "adjust"}
SUPERVISOR_KINDS = {"lock", "unlock", "virtual", "adjust"}


def error(status: int, code: str, message: str, **extra):
    return jsonify({"error": {"code": code, "message": message}, **extra}), status


def token_required(view):
    @wraps(view)
    def inner(*args, **kwargs):
        from ..auth import SignedIn

        try:
            caller = access.authenticate(request.headers.get("Authorization", ""),
                                         current_app.config["API_REQUESTS_PER_MINUTE"])
        except access.TokenRefused as e:
            response, status = error(e.status, e.code, e.message)
            if e.retry_after:
                response.headers["Retry-After"] = str(e.retry_after)
            return response, status
        g.api_caller = caller
        g.api_user = SignedIn(caller.user_id, "", caller.role, True)
        return view(*args, **kwargs)

    return inner


CHANNEL_CAN = "A channel's token places, reads and cancels its own orders and reads stock"


def _no_channel_token(what: str):
    if g.api_caller.channel is not None:
        raise Forbidden(f"{CHANNEL_CAN}; {what} needs a token without a channel")


def _order_in_scope(order_id: int) -> Order:
    """The order, if this token may see it: a channel's token sees its channel's orders only
    (another channel's order is answered as if it did not exist), a supervisor's token any order."""
    order = db.session.get(Order, order_id)
    channel = g.api_caller.channel
    if channel is None and not g.api_user.has_role("supervisor"):
        raise Forbidden("Orders are read and cancelled with the channel's token, or a supervisor's")
    if order is None or (channel is not None and order.channel != channel):
        raise NotFoundError(f"No order {order_id}")
    return order


class Forbidden(d.InputError):
    code = "forbidden"


@bp.errorhandler(Forbidden)
def forbidden(e):
    return error(403, e.code, e.message)


def _domain_error(e: d.DomainError):
    if isinstance(e, order_service.OrderShort):
        return error(409, e.code, e.message, short=e.short)
    if isinstance(e, d.StockError):
        return error(409, e.code, e.message)
    return error(422, e.code, e.message)


@bp.errorhandler(d.DomainError)
def domain_error(e):
    db.session.rollback()
    return _domain_error(e)


def _body() -> dict:
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        from ..domain import inputs

        inputs.loads(request.get_data())  # says what is wrong with it (too deep, not JSON, 1e400)
    if not isinstance(data, dict):
        raise d.InputError("The body must be a JSON object (Content-Type: application/json)")
    return data


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise d.InputError(f"{name} must be a whole number")
    value = int(raw)
    if not lo <= value <= hi:
        raise d.InputError(f"{name} must be between {lo} and {hi}")
    return value


def _warehouse(code) -> Warehouse:
    try:
        return stock_service.get_warehouse(db.session, code)
    except stock_service.NotFound as e:
        raise NotFoundError(e.message) from None


class NotFoundError(d.InputError):
    code = "not_found"


@bp.errorhandler(NotFoundError)
def not_found(e):
    return error(404, e.code, e.message)


@bp.get("/openapi.json")
@token_required
def openapi():
    return jsonify(spec())


@bp.get("/warehouses")
@token_required
def warehouses():
    result = []
    for wh in db.session.execute(select(Warehouse).order_by(Warehouse.code)).scalars():
        result.append(
            {
                "code": wh.code,
                "name": wh.name,
                "bins": [{"code": b.code, "type": b.type, "walk_order": b.walk_order} for b in wh.bins],
            }
        )
    return jsonify({"warehouses": result})


@bp.get("/stock")
@token_required
def stock():
    wh = _warehouse(request.args.get("warehouse"))
    sku = request.args.get("sku")
    if sku:
        try:
            item = stock_service.get_item(db.session, sku)
        except stock_service.NotFound as e:
            raise NotFoundError(e.message) from None
        bal = db.session.execute(
            select(Balance).where(Balance.warehouse_id == wh.id, Balance.item_id == item.id)
        ).scalar_one_or_none()
        row = stock_service.stock_row(bal, wh.code, item.sku)
        if request.args.get("bins") == "1":
            row["bins"] = stock_service.bin_rows(db.session, wh.id, item.id)
        return jsonify(row)
    per_page = _int_arg("per_page", current_app.config["API_PAGE_SIZE"], 1, 1000)
    page = _int_arg("page", 1, 1, 10**9)
    base = select(Balance, Item.sku).join(Item).where(Balance.warehouse_id == wh.id)
    total = db.session.execute(
        select(func.count()).select_from(Balance).where(Balance.warehouse_id == wh.id)
    ).scalar_one()
    rows = db.session.execute(base.order_by(Item.sku).limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify(
        {
            "warehouse": wh.code,
            "page": page,
            "per_page": per_page,
            "total": total,
            "next_page": page + 1 if page * per_page < total else None,
            "items": [stock_service.stock_row(bal, wh.code, s) for bal, s in rows],
        }
    )


def _settle_seconds() -> float:
    configured = current_app.config.get("STOCK_CHANGES_SETTLE_SECONDS")
    if configured is not None:
        return float(configured)
    return 0.0 if db.engine.dialect.name == "sqlite" else 5.0


@bp.get("/stock/changes")
@token_required
def stock_changes():
    after = _int_arg("after", 0, 0, 2**62)
    limit = _int_arg("limit", 100, 1, 1000)
    q = (
        select(Movement.id, Warehouse.code, Item.sku, Movement.s_after)
        .join(Warehouse, Warehouse.id == Movement.warehouse_id)
        .join(Item, Item.id == Movement.item_id)
        .where(Movement.id > after, Movement.d_s != 0)
        .order_by(Movement.id)
        .limit(limit)
    )
    settle = _settle_seconds()
    if settle:
        cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=settle)
        q = q.where(Movement.created_at <= cutoff)
    changes = [{"cursor": mid, "warehouse": wh, "sku": sku, "S": s} for mid, wh, sku, s in db.session.execute(q)]
    return jsonify({"changes": changes, "next": changes[-1]["cursor"] if changes else after})


@bp.get("/availability")
@token_required
def channel_availability():
    """What a channel publishes per item: its own with a channel's token; any with a supervisor's (?channel=)."""
    asked = request.args.get("channel") or None
    own = g.api_caller.channel
    if own is not None and asked not in (None, own):
        raise Forbidden(f"This token reads the availability of channel {own!r} only")
    if own is None and not g.api_user.has_role("supervisor"):
        raise Forbidden("Availability is read with the channel's token, or a supervisor's")
    if (own or asked) is None:
        raise d.InputError("channel is required with a token that has none")
    try:
        channel = channel_service.get(db.session, own or asked)
    except channel_service.NoSuchChannel as e:
        raise NotFoundError(e.message) from None
    skus = [x for x in (request.args.get("sku") or "").split(",") if x.strip()][:1000] or None
    return jsonify({"channel": channel.code, "items": channel_service.availability(db.session, channel, skus)})


@bp.post("/orders")
@token_required
def create_order():
    body = _body()
    lines = body.get("lines")
    if not isinstance(lines, list):
        raise d.InputError("lines must be a list of {sku, qty}")
    parsed = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict):
            raise d.InputError(f"Line {n} must be an object with sku and qty")
        parsed.append(order_service.OrderLineRequest(line.get("sku"), line.get("qty")))
    channel = body.get("channel")
    if g.api_caller.channel is not None:
        if channel in (None, ""):
            channel = g.api_caller.channel
        elif channel != g.api_caller.channel:
            raise Forbidden(f"This token places orders for channel {g.api_caller.channel!r} only")
    elif not g.api_user.has_role("supervisor"):
        raise Forbidden("Orders are placed with the channel's token (flask create-token --channel NAME), "
                        "or a supervisor's")
    order, created = order_service.place_order(
        channel,
        body.get("external_id"),
        body.get("warehouse"),
        parsed,
        user_id=g.api_user.id,
        device=_device(),
        backorder=_flag(body, "backorder"),
    )
    return jsonify(order), 201 if created else 200


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise d.InputError(f"{name} must be true or false")
    return value


@bp.get("/orders/<int:order_id>")
@token_required
def get_order(order_id: int):
    order = _order_in_scope(order_id)
    return jsonify(order_service.order_dict(order))


@bp.post("/orders/<int:order_id>/cancel")
@token_required
def cancel_order(order_id: int):
    _order_in_scope(order_id)
    try:
        return jsonify(order_service.cancel_order(order_id, user_id=g.api_user.id, device=_device()))
    except order_service.OrderNotFound as e:
        raise NotFoundError(e.message) from None


def _device() -> str | None:
    return (request.headers.get("X-Device-Id") or "api")[:64]


def _parse_date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise d.InputError(f"{name} must be a date like 2027-03-31")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise d.InputError(f"{name} must be a date like 2027-03-31, not {value[:20]!r}") from None


def _opt_str(body: dict, name: str):
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise d.InputError(f"{name} must be text")
    return value


def _serials(body: dict):
    """`serials`: the units' serial numbers, for a serial-tracked item (a list of texts)."""
    value = body.get("serials")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 1000 or not all(isinstance(x, str) for x in value):
        raise d.InputError("serials must be a list of at most 1,000 serial numbers (text)")
    return value


@bp.post("/movements")
@token_required
def post_movement():
    _no_channel_token("posting a movement")
    body = _body()
    kind = body.get("kind")
    d.parse_kind(kind)  # an unknown kind says which kinds exist
    if kind not in API_KINDS:
        raise d.InputError(
            f"Kind {kind!r} is not posted directly: orders reserve and ship, transfers allocate; "
            f"use one of {', '.join(sorted(API_KINDS))}"
        )
    user: User = g.api_user
    if kind in SUPERVISOR_KINDS and not user.has_role("supervisor"):
        return error(403, "forbidden", f"A {kind} needs a supervisor's token")
    cmd = stock_service.MovementCommand(
        warehouse=body.get("warehouse"),
        kind=kind,
        sku=body.get("sku"),
        qty=body.get("qty"),
        scan_id=_opt_str(body, "scan_id"),
        from_bin=_opt_str(body, "from_bin"),
        to_bin=_opt_str(body, "to_bin"),
        lot=_opt_str(body, "lot"),
        expiry=_parse_date(body.get("expiry"), "expiry"),
        condition=_opt_str(body, "condition"),
        reason=_opt_str(body, "reason"),
        user_id=user.id,
        device=_device(),
        serials=_serials(body),
        unit_cost=body.get("unit_cost"),
    )
    if body.get("unit_cost") is not None and kind != "receive":
        raise d.InputError("unit_cost is what a received unit cost: only a receive names it")
    if kind == "receive" and (body.get("purchase_order") not in (None, "") or not user.has_role("supervisor")):
        # Stock from nothing is what a receipt without a document is: only a supervisor books one.
        try:
            result = purchasing.receive_against(body.get("purchase_order"), cmd,
                                                allow_over=user.has_role("supervisor"))
        except stock_service.NotFound as e:
            raise NotFoundError(e.message) from None
    else:
        result = stock_service.apply_movement(cmd)
    return (
        jsonify({"movement": result.movement, "balance": result.balance, "replayed": result.replayed}),
        200 if result.replayed else 201,
    )



@bp.post("/purchase-orders")
@token_required
def create_purchase_order():
    _no_channel_token("a purchase order")
    body = _body()
    lines = body.get("lines")
    if not isinstance(lines, list):
        raise d.InputError("lines must be a list of {sku, qty, lot, expiry}")
    parsed = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict):
            raise d.InputError(f"Line {n} must be an object with sku and qty")
        parsed.append(purchasing.LineRequest(line.get("sku"), line.get("qty"), line.get("lot"), line.get("expiry"),
                                             line.get("unit_cost")))
    req = purchasing.PurchaseOrderRequest(
        number=body.get("number"),
        warehouse=body.get("warehouse"),
        lines=parsed,
        kind=body.get("kind") or "po",
        supplier=body.get("supplier") or "",
        expected_on=body.get("expected_on"),
    )
    try:
        po, created = purchasing.create_purchase_order(req)
    except stock_service.NotFound as e:
        raise NotFoundError(e.message) from None
    return jsonify(po), 201 if created else 200


@bp.get("/purchase-orders/<number>")
@token_required
def get_purchase_order(number: str):
    _no_channel_token("a purchase order")
    po = db.session.execute(select(PurchaseOrder).where(PurchaseOrder.number == number[:40])).scalar_one_or_none()
    if po is None:
        raise NotFoundError(f"No purchase order {number[:40]!r}")
    return jsonify(purchasing.po_dict(po))
