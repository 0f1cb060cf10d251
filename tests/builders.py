"""Test data builders, in one place: a small site, users, tokens, stock."""

from __future__ import annotations

import secrets
from datetime import timedelta

from app.domain import gtin
from app.extensions import db
from app.models import ApiToken, Barcode, Bin, Item, User, Warehouse, utcnow
from app.services.access import hash_token
from app.services.stock import MovementCommand, apply_movement

SPECIAL_BINS = [("DOCK", "dock"), ("STAGE", "staging"), ("QUAR", "quarantine"), ("RET", "returns")]


def make_site(codes=("W1", "W2"), storage=("A-01", "A-02", "B-01"), items=3) -> dict:
    """Warehouses with special and storage bins, and items SKU-1.. with unit and case barcodes."""
    for code in codes:
        wh = Warehouse(code=code, name=f"Warehouse {code}")
        db.session.add(wh)
        db.session.flush()
        for n, (bcode, btype) in enumerate(SPECIAL_BINS):
            db.session.add(Bin(warehouse_id=wh.id, code=bcode, type=btype, walk_order=1000 + n))
        for n, bcode in enumerate(storage):
            db.session.add(Bin(warehouse_id=wh.id, code=bcode, type="storage", walk_order=10 * (n + 1)))
    for n in range(1, items + 1):
        item = Item(sku=f"SKU-{n}", name=f"Test item {n}", unit="each")
        db.session.add(item)
        db.session.flush()
        ean = ean_for(n)
        db.session.add(Barcode(item_id=item.id, code=ean, kind="unit", pack_qty=1))
        db.session.add(Barcode(item_id=item.id, code=gtin.case_gtin(ean), kind="case", pack_qty=12))
    db.session.commit()
    return {"warehouses": list(codes), "items": [f"SKU-{n}" for n in range(1, items + 1)]}


def ean_for(n: int) -> str:
    return gtin.with_check(f"400{n:09d}")


def make_user(username="op", password="secret-pw", role="operator") -> User:
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_token(user: User, channel: str | None = None, days: int = 90) -> str:
    token = secrets.token_urlsafe(24)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name="test", channel=channel,
                            expires_at=utcnow() + timedelta(days=days)))
    db.session.commit()
    return token


def receive(sku="SKU-1", qty=10, warehouse="W1", to_bin="A-01", **kw):
    return apply_movement(MovementCommand(warehouse=warehouse, kind="receive", sku=sku, qty=qty, to_bin=to_bin, **kw))


def move(kind, sku="SKU-1", qty=1, warehouse="W1", **kw):
    return apply_movement(MovementCommand(warehouse=warehouse, kind=kind, sku=sku, qty=qty, **kw))
