"""Tables. Invariants the stock rules promise are also constraints here,
so that no bug in Python can store a negative bucket or a broken identity."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    UniqueConstraint,
    delete,
    event,
    false,
    inspect,
    text,
    update,
)
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.util import identity_key
from werkzeug.security import check_password_hash, generate_password_hash

from .domain.stock import BUCKETS
from .extensions import db

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


ROLES = ("operator", "supervisor", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False)
    password_hash = db.Column(db.String(256), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="operator")
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    badge = db.Column(db.String(40), unique=True)  # the code on the operator's badge (BADGE-<badge>)
    pin_hash = db.Column(db.String(256))  # the short PIN that goes with the badge
    language = db.Column(db.String(8))  # en, zh, es (app.i18n); none: the handheld's Accept-Language
    __table_args__ = (CheckConstraint("role IN ('operator','supervisor','admin')", name="role"),)

    def end_sessions(self) -> None:
        """End every sign-in of this user, on every handheld and server process, at once."""
        session = object_session(self)
        if session is not None and self.id is not None:
            session.execute(delete(UserSession).where(UserSession.user_id == self.id))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def set_pin(self, pin: str | None) -> None:
        self.pin_hash = generate_password_hash(pin) if pin else None

    def check_pin(self, pin: str) -> bool:
        return bool(self.pin_hash) and check_password_hash(self.pin_hash, pin)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class UserSession(db.Model):
    """One sign-in: a random secret made at sign-in is in its session and remember cookies (with the
    user's id), so each sign-in gets cookies of its own, and deleting the row ends that sign-in on every
    server process. The row keeps the secret's SHA-256 only: a copy of the database opens no session."""

    __tablename__ = "user_sessions"
    id = db.Column(db.String(64), primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    ip = db.Column(db.String(45), nullable=False, default="")
    device = db.Column(db.String(120), nullable=False, default="")
    device_id = db.Column(db.Integer, db.ForeignKey("devices.id"))  # the named handheld it was made on


class Device(db.Model):
    """A named handheld (TC52-07), registered once by a supervisor: a registration code, shown on
    the office screen, is scanned on the handheld's sign-in screen, which then keeps a secret of its
    own in a long-lived cookie. Only the hashes of the code and the secret are kept here."""

    __tablename__ = "devices"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(40), unique=True, nullable=False)
    secret_hash = db.Column(db.String(64), unique=True)
    code_hash = db.Column(db.String(64), unique=True)
    code_expires_at = db.Column(db.DateTime)
    registered_by = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    claimed_at = db.Column(db.DateTime)
    last_seen_at = db.Column(db.DateTime)
    retired_at = db.Column(db.DateTime)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    # Only a hash is stored: a leaked database does not leak working tokens.
    token_hash = db.Column(db.String(64), unique=True, nullable=False)
    name = db.Column(db.String(64), nullable=False, default="")
    # A sales channel's token places, reads and cancels only that channel's orders (and reads stock);
    # a token without one acts with its user's role.
    channel = db.Column(db.String(40))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False)
    last_used_at = db.Column(db.DateTime)
    revoked = db.Column(db.Boolean, nullable=False, default=False)
    revoked_at = db.Column(db.DateTime)
    # Requests in the current minute (window_start, minutes since the epoch): the rate limit's count,
    # kept on the row so that every server process counts the same requests.
    window_start = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    window_hits = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    user = db.relationship(User)


class Warehouse(db.Model):
    __tablename__ = "warehouses"
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(16), unique=True, nullable=False)
    name = db.Column(db.String(120), nullable=False)
    # What this site's scanners send and what its own codes look like (see scanners.parse).
    scan_settings = db.Column(db.JSON, nullable=False, default=dict, server_default="{}")
    # Variance thresholds, blind counting and count frequency per ABC class.
    count_settings = db.Column(db.JSON, nullable=False, default=dict, server_default="{}")
    # Planning: the service level per ABC class and the demand window (services.planning).
    plan_settings = db.Column(db.JSON, nullable=False, default=dict, server_default="{}")
    # Run by a sales channel (fulfilment by Amazon, say): its stock is not scanned but set from the
    # channel's inventory report (services.channel_stock), and only that channel sells from it.
    channel_id = db.Column(db.Integer, db.ForeignKey("channels.id", use_alter=True, name="fk_warehouses_channel"))
    bins = db.relationship("Bin", back_populates="warehouse", order_by="Bin.walk_order")


BIN_TYPES = ("storage", "dock", "staging", "quarantine", "returns")


class Bin(db.Model):
    __tablename__ = "bins"
    id = db.Column(db.Integer, primary_key=True)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    code = db.Column(db.String(32), nullable=False)
    type = db.Column(db.String(16), nullable=False, default="storage")
    # Pickers walk bins in this order; a bigger number is further along.
    walk_order = db.Column(db.Integer, nullable=False, default=0)
    # Set when a picker found less than the system said: the bin wants a count.
    count_requested_at = db.Column(db.DateTime)
    count_reason = db.Column(db.String(200))
    retired_at = db.Column(db.DateTime)  # empty and out of use: nothing is put into it, scans of it are refused
    zone = db.Column(db.String(16), nullable=False, default="", server_default="")  # e.g. a cold room, mezzanine
    warehouse = db.relationship(Warehouse, back_populates="bins")
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint("type IN ('storage','dock','staging','quarantine','returns')", name="type"),
        Index("ix_bins_walk", "warehouse_id", "walk_order"),
    )


BARCODE_KINDS = ("unit", "case", "gtin")


class Item(db.Model):
    __tablename__ = "items"
    id = db.Column(db.Integer, primary_key=True)
    sku = db.Column(db.String(40), unique=True, nullable=False)
    name = db.Column(db.String(200), nullable=False)
    unit = db.Column(db.String(16), nullable=False, default="each")
    # What one unit is worth, for count variance thresholds by value and ABC classes.
    unit_cost = db.Column(db.Numeric(12, 2))
    retired_at = db.Column(db.DateTime)  # no stock left and no longer sold: takes no receipt and no new order
    # Tracked by lot / by expiry: a receipt must say which (from a GS1 label, a PO line or the operator).
    lot_tracked = db.Column(db.Boolean, nullable=False, default=False, server_default=false())
    expiry_tracked = db.Column(db.Boolean, nullable=False, default=False, server_default=false())
    # Each unit has its serial number: received, picked, packed and shipped by it (services.serials).
    serial_tracked = db.Column(db.Boolean, nullable=False, default=False, server_default=false())
    # The shelf life a receipt must still have (days to its expiry); a shorter one is warned about
    # (the operator confirms) or refused, as short_shelf says. None: any expiry is received.
    min_shelf_days = db.Column(db.Integer)
    short_shelf = db.Column(db.String(8), nullable=False, default="warn", server_default="warn")
    barcodes = db.relationship("Barcode", back_populates="item", order_by="Barcode.pack_qty")
    __table_args__ = (
        CheckConstraint("short_shelf IN ('warn', 'refuse')", name="short_shelf"),
        CheckConstraint("min_shelf_days IS NULL OR (min_shelf_days >= 0 AND min_shelf_days <= 3650)",
                        name="min_shelf_days"),
    )


class Barcode(db.Model):
    __tablename__ = "barcodes"
    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    code = db.Column(db.String(64), unique=True, nullable=False)
    kind = db.Column(db.String(8), nullable=False, default="unit")
    # A case barcode stands for this many units.
    pack_qty = db.Column(db.Integer, nullable=False, default=1)
    item = db.relationship(Item, back_populates="barcodes")
    __table_args__ = (
        CheckConstraint("pack_qty >= 1", name="pack_qty"),
        CheckConstraint("kind IN ('unit','case','gtin')", name="kind"),
    )


class Lot(db.Model):
    __tablename__ = "lots"
    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    number = db.Column(db.String(40), nullable=False)
    expiry = db.Column(db.Date)
    __table_args__ = (UniqueConstraint("item_id", "number"),)


class BinStock(db.Model):
    """Physical stock: quantity per (bin, item, lot, condition). No lot is ''."""

    __tablename__ = "bin_stock"
    id = db.Column(db.Integer, primary_key=True)
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    lot = db.Column(db.String(40), nullable=False, default="")
    condition = db.Column(db.String(16), nullable=False, default="sellable")
    qty = db.Column(db.Integer, nullable=False, default=0)
    # Since when the bin holds this stock: set when units come into an empty row. Stock without
    # an expiry date is picked first in, first out by it (domain.tasks.allocate).
    since = db.Column(db.DateTime, nullable=True)
    bin = db.relationship(Bin)
    item = db.relationship(Item)
    __table_args__ = (
        UniqueConstraint("bin_id", "item_id", "lot", "condition"),
        CheckConstraint("qty >= 0", name="qty"),
        CheckConstraint("condition IN ('sellable','damaged','returned','expired')", name="condition"),
    )


class PickFace(db.Model):
    """A storage bin that pickers take an item from, refilled from reserve stock: when a pick leaves
    it at or below `min_qty`, a replenishment task brings it back up to `max_qty`."""

    __tablename__ = "pick_faces"
    id = db.Column(db.Integer, primary_key=True)
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    min_qty = db.Column(db.Integer, nullable=False)
    max_qty = db.Column(db.Integer, nullable=False)
    # The open replenishment task for this face: set by a guarded update, so two pickers emptying
    # the face at once raise one task, never two.
    replenish_task_id = db.Column(db.Integer, db.ForeignKey("tasks.id"))
    bin = db.relationship(Bin)
    item = db.relationship(Item)
    __table_args__ = (
        UniqueConstraint("bin_id", "item_id"),
        CheckConstraint("min_qty >= 0 AND max_qty > min_qty AND max_qty <= 1000000", name="levels"),
    )


_IDENTITY = "s = i - o - u - l + v - t"


class Balance(db.Model):
    """The buckets of one item in one warehouse."""

    __tablename__ = "balances"
    id = db.Column(db.Integer, primary_key=True)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    i = db.Column(db.Integer, nullable=False, default=0)
    s = db.Column(db.Integer, nullable=False, default=0)
    o = db.Column(db.Integer, nullable=False, default=0)
    u = db.Column(db.Integer, nullable=False, default=0)
    l = db.Column(db.Integer, nullable=False, default=0)
    v = db.Column(db.Integer, nullable=False, default=0)
    t = db.Column(db.Integer, nullable=False, default=0)
    a = db.Column(db.Integer, nullable=False, default=0)
    # What I + A are worth at moving-average cost, in ten-thousandths (domain.valuation): the sum of
    # the movements' value_e4 here, kept in the same guarded update as the buckets.
    value_e4 = db.Column(db.BigInteger, nullable=False, default=0, server_default="0")
    warehouse = db.relationship(Warehouse)
    item = db.relationship(Item)
    __table_args__ = (
        UniqueConstraint("warehouse_id", "item_id"),
        CheckConstraint(_IDENTITY, name="identity"),
        *(CheckConstraint(f"{b} >= 0", name=f"{b}_not_negative") for b in BUCKETS),
    )

    def buckets(self):
        from .domain.stock import Buckets

        return Buckets(*(getattr(self, b) for b in BUCKETS))


# The movements the loss report reads (services.losses): damage, expiry, count adjustments, returns
# and what became of them, and scraps, except a scrap of what was written off as damaged or expired
# already (counted there, not twice). ix_movements_losses holds only these rows; a query names this
# same text to be answered by it.
LOSS_ROWS = ("movements.kind IN ('damage', 'expire', 'adjust', 'return_receive', 'restore') "
             "OR (movements.kind = 'scrap' AND movements.from_condition NOT IN ('damaged', 'expired'))")
# Every column the report and its CSV read, so they are answered from the index alone.
LOSS_COLUMNS = ("warehouse_id", "created_at", "kind", "item_id", "qty", "unit_cost_e4", "from_bin_id", "to_bin_id", "from_condition", "reason", "d_i", "doc_type", "doc_id")


class Movement(db.Model):
    """The ledger: one immutable row per stock change. Corrections are new rows."""

    __tablename__ = "movements"
    id = db.Column(BigId, primary_key=True, autoincrement=True)
    # The handheld's id for the scan: a resent scan finds its first result.
    scan_id = db.Column(db.String(64), unique=True)
    kind = db.Column(db.String(24), nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    lot = db.Column(db.String(40), nullable=False, default="")
    qty = db.Column(db.Integer, nullable=False)
    from_bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"))
    from_condition = db.Column(db.String(16))
    to_bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"))
    to_condition = db.Column(db.String(16))
    d_i = db.Column(db.Integer, nullable=False, default=0)
    d_s = db.Column(db.Integer, nullable=False, default=0)
    d_o = db.Column(db.Integer, nullable=False, default=0)
    d_u = db.Column(db.Integer, nullable=False, default=0)
    d_l = db.Column(db.Integer, nullable=False, default=0)
    d_v = db.Column(db.Integer, nullable=False, default=0)
    d_t = db.Column(db.Integer, nullable=False, default=0)
    d_a = db.Column(db.Integer, nullable=False, default=0)
    # Only a transfer shipment touches a second warehouse: A there grows.
    dest_warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"))
    dest_d_a = db.Column(db.Integer, nullable=False, default=0)
    # The value this movement moved at the warehouse (e4, domain.valuation; a transfer shipment's
    # destination gains exactly -value_e4), and the unit cost it came in at (a receipt's cost, or the
    # standard cost of units into an empty pool) or, going out, the average it met.
    value_e4 = db.Column(db.BigInteger, nullable=False, default=0, server_default="0")
    unit_cost_e4 = db.Column(db.BigInteger)
    # The buckets right after this movement, as returned to the client, so
    # that a resent scan gets its original answer.
    after = db.Column(db.Text, nullable=False, default="{}")
    s_after = db.Column(db.Integer, nullable=False, default=0)
    doc_type = db.Column(db.String(16))
    doc_id = db.Column(db.Integer)
    reason = db.Column(db.String(200))
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    device = db.Column(db.String(64))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)

    warehouse = db.relationship(Warehouse, foreign_keys=[warehouse_id])
    item = db.relationship(Item)
    from_bin = db.relationship(Bin, foreign_keys=[from_bin_id])
    to_bin = db.relationship(Bin, foreign_keys=[to_bin_id])
    user = db.relationship(User)
    __table_args__ = (
        CheckConstraint("qty >= 0", name="qty"),
        CheckConstraint(
            "d_s = d_i - d_o - d_u - d_l + d_v - d_t", name="identity"
        ),  # a movement can never break S = I - O - U - L + V - T
        Index("ix_movements_stock", "warehouse_id", "item_id", "id"),
        Index("ix_movements_dest", "dest_warehouse_id", "created_at", sqlite_where=text("dest_warehouse_id IS NOT NULL"),
              postgresql_where=text("dest_warehouse_id IS NOT NULL")),
        Index("ix_movements_losses", *LOSS_COLUMNS, sqlite_where=text(LOSS_ROWS),
              postgresql_where=text(LOSS_ROWS)),
    )

    def deltas(self):
        from .domain.stock import Buckets

        return Buckets(*(getattr(self, f"d_{b}") for b in BUCKETS))

    def after_buckets(self) -> dict:
        return json.loads(self.after or "{}")


class LedgerDay(db.Model):
    """A read model of the ledger: per warehouse, item and closed day, what its movements add up to
    (services.ledger_days fills it, days after the last one filled, by one aggregate). Planning and
    analytics read these instead of a year of movements; the ledger stays the truth."""

    __tablename__ = "ledger_days"
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), primary_key=True)
    day = db.Column(db.Date, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), primary_key=True)
    asked = db.Column(db.Integer, nullable=False, default=0)  # reserved and allocated to transfers
    reserved = db.Column(db.Integer, nullable=False, default=0)  # reserved less unreserved
    received = db.Column(db.Integer, nullable=False, default=0)  # receipts, transfer and return receipts
    shipped = db.Column(db.Integer, nullable=False, default=0)
    d_s = db.Column(db.Integer, nullable=False, default=0)  # the change of S
    units = db.Column(db.Integer, nullable=False, default=0)  # the change of I + A (arrivals in transit too)
    value_e4 = db.Column(db.BigInteger, nullable=False, default=0)  # the change of value (domain.valuation)
    cogs_e4 = db.Column(db.BigInteger, nullable=False, default=0)  # the cost of what was shipped
    # Per item through its days, with what stock age reads (the last day asked for, the receipts), so
    # those sums per item are read from the index in item order.
    __table_args__ = (Index("ix_ledger_days_item", "warehouse_id", "item_id", "day", "reserved", "received"),)


class LedgerDaysFilled(db.Model):
    """Up to which day ledger_days holds a warehouse's movements."""

    __tablename__ = "ledger_days_filled"
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), primary_key=True)
    through = db.Column(db.Date, nullable=False)


ORDER_STATUSES = ("open", "cancelled", "shipped")


class Order(db.Model):
    __tablename__ = "orders"
    id = db.Column(db.Integer, primary_key=True)
    channel = db.Column(db.String(40), nullable=False)
    external_id = db.Column(db.String(80), nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="open")
    # Set when damage or a count took back some of this order's reservation.
    short = db.Column(db.Boolean, nullable=False, default=False)
    # The tote (a licence plate) its picked units travel in, if the picker scanned one.
    tote = db.Column(db.String(40))
    # The carrier's label of an order shipped without parcels (a packed order's are on its parcels).
    carrier = db.Column(db.String(40))
    tracking = db.Column(db.String(60))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    warehouse = db.relationship(Warehouse)
    lines = db.relationship("OrderLine", back_populates="order", order_by="OrderLine.line_no")
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    @property
    def number(self) -> str:
        """What the packing slip's barcode says (the site's order pattern, SO-digits)."""
        return f"SO-{self.id:06d}"


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"), nullable=False, index=True)
    line_no = db.Column(db.Integer, nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    qty = db.Column(db.Integer, nullable=False)
    # Units of this line counted in O: reserved, not yet shipped.
    reserved = db.Column(db.Integer, nullable=False, default=0)
    picked = db.Column(db.Integer, nullable=False, default=0)
    shipped = db.Column(db.Integer, nullable=False, default=0)
    # Units whose reservation damage or a count released.
    short = db.Column(db.Integer, nullable=False, default=0)
    # Units not reserved at intake because S was short: waiting for stock.
    backordered = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    order = db.relationship(Order, back_populates="lines")
    item = db.relationship(Item)
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("reserved >= 0 AND picked >= 0 AND shipped >= 0 AND short >= 0", name="not_negative"),
        CheckConstraint("backordered >= 0", name="backordered"),
    )

    @property
    def staged(self) -> int:
        """Picked and waiting at outbound staging."""
        return self.picked - self.shipped

    @property
    def to_pick(self) -> int:
        """Reserved units still on the shelves."""
        return self.reserved - self.staged


# --------------------------------------------------------------------------
# Sales channels: what each may publish, and the changes pushed to it (services.channels, outbox)
# --------------------------------------------------------------------------

CHANNEL_KINDS = ("own", "amazon", "ebay", "shopify", "aliexpress", "other")


class Channel(db.Model):
    """A sales channel. Its code is what its orders' and tokens' `channel` says."""

    __tablename__ = "channels"
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(40), unique=True, nullable=False)
    name = db.Column(db.String(80), nullable=False, default="")
    kind = db.Column(db.String(12), nullable=False, default="own")
    webhook_url = db.Column(db.String(500), nullable=False, default="", server_default="")
    # The key the webhook's signature is made with (shown to the admin once, when made or renewed).
    secret = db.Column(db.String(64), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    warehouses = db.relationship(Warehouse, secondary="channel_warehouses", order_by="Warehouse.code")
    runs = db.relationship(Warehouse, primaryjoin="Warehouse.channel_id == Channel.id", viewonly=True,
                           order_by="Warehouse.code")
    __table_args__ = (CheckConstraint(f"kind IN ({', '.join(repr(k) for k in CHANNEL_KINDS)})", name="kind"),)


class ChannelWarehouse(db.Model):
    """A warehouse a channel sells from: its S counts in what the channel publishes."""

    __tablename__ = "channel_warehouses"
    channel_id = db.Column(db.Integer, db.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), primary_key=True, index=True)


class ChannelRule(db.Model):
    """How much of S the channel publishes: for one item, or (item_id NULL) for every other item."""

    __tablename__ = "channel_rules"
    id = db.Column(db.Integer, primary_key=True)
    channel_id = db.Column(db.Integer, db.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"))
    share_pct = db.Column(db.Integer, nullable=False, default=100)
    buffer = db.Column(db.Integer, nullable=False, default=0)
    cap = db.Column(db.Integer)
    item = db.relationship(Item)
    __table_args__ = (
        UniqueConstraint("channel_id", "item_id"),
        Index("uq_channel_rules_default", "channel_id", unique=True, sqlite_where=text("item_id IS NULL"),
              postgresql_where=text("item_id IS NULL")),
        CheckConstraint("share_pct >= 0 AND share_pct <= 100", name="share"),
        CheckConstraint("buffer >= 0 AND (cap IS NULL OR cap >= 0)", name="buffer_cap"),
    )


class ChannelSku(db.Model):
    """The channel's own SKU for an item, where it differs from the item's."""

    __tablename__ = "channel_skus"
    id = db.Column(db.Integer, primary_key=True)
    channel_id = db.Column(db.Integer, db.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False)
    sku = db.Column(db.String(80), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    item = db.relationship(Item)
    __table_args__ = (UniqueConstraint("channel_id", "sku"), UniqueConstraint("channel_id", "item_id"))


OUTBOX_TOPICS = ("availability", "order")
# An availability row not yet tried or taken by a worker: a further change of the item is already in it.
OUTBOX_FRESH = "topic = 'availability' AND attempts = 0 AND claimed_at IS NULL AND delivered_at IS NULL"


class OutboxEvent(db.Model):
    """A change a channel is told of, written in the transaction that made it and delivered after.

    An availability row says "item X changed for channel C": it is written by the movements table's
    trigger (OUTBOX_TRIGGER) for every movement that changes S, at most one fresh row per (channel,
    item), and the quantity is read when it is sent, so an hour of scans is one delivery per item.
    An order row carries its payload as it was when the order changed. Rows are delivered per channel
    in id order; `claimed_at` marks the one a worker is sending.
    """

    __tablename__ = "outbox"
    id = db.Column(BigId, primary_key=True)
    channel_id = db.Column(db.Integer, db.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False)
    topic = db.Column(db.String(16), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"))
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"))
    payload = db.Column(db.Text)  # JSON, for an order's change; an availability row's is made when sent
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    claimed_at = db.Column(db.DateTime)
    claimed_by = db.Column(db.String(40))
    last_status = db.Column(db.Integer)  # the receiver's HTTP status, or NULL when it could not be reached
    last_error = db.Column(db.String(300))
    sent_payload = db.Column(db.Text)  # what was last sent (an availability row's quantity at that moment)
    delivered_at = db.Column(db.DateTime)
    coalesced_into = db.Column(BigInteger().with_variant(Integer, "sqlite"))  # delivered as part of that row
    channel = db.relationship(Channel)
    item = db.relationship(Item)
    __table_args__ = (
        CheckConstraint(f"topic IN ({', '.join(repr(t) for t in OUTBOX_TOPICS)})", name="topic"),
        CheckConstraint("(topic = 'availability') = (item_id IS NOT NULL)", name="availability_item"),
        # The head of each channel's queue, found without reading what was delivered.
        Index("ix_outbox_undelivered", "channel_id", "id", sqlite_where=text("delivered_at IS NULL"),
              postgresql_where=text("delivered_at IS NULL")),
        # One fresh availability row per (channel, item): the trigger's ON CONFLICT DO NOTHING.
        Index("uq_outbox_fresh_availability", "channel_id", "item_id", unique=True,
              sqlite_where=text(OUTBOX_FRESH), postgresql_where=text(OUTBOX_FRESH)),
        Index("ix_outbox_log", "channel_id", "created_at"),
    )


# Every movement that changes S tells each channel selling from its warehouse (with a webhook) that
# the item changed, in the movement's own transaction, whichever code wrote the row: the database
# does it, so no writer can forget. At most one fresh row per (channel, item) (ON CONFLICT DO NOTHING).
_FEED = ("INSERT INTO outbox (channel_id, topic, item_id, created_at, next_attempt_at, attempts) "
         "SELECT cw.channel_id, 'availability', NEW.item_id, NEW.created_at, NEW.created_at, 0 "
         "FROM channel_warehouses cw JOIN channels c ON c.id = cw.channel_id "
         "WHERE cw.warehouse_id = NEW.warehouse_id AND c.active AND c.webhook_url <> '' "
         "ON CONFLICT DO NOTHING;")
OUTBOX_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS movements_feed_channels AFTER INSERT ON movements WHEN NEW.d_s <> 0 "
        f"BEGIN {_FEED} END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION movements_feed_channels() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_FEED} RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS movements_feed_channels ON movements",
        "CREATE TRIGGER movements_feed_channels AFTER INSERT ON movements FOR EACH ROW WHEN (NEW.d_s <> 0) "
        "EXECUTE FUNCTION movements_feed_channels()",
    ],
}


@event.listens_for(db.metadata, "after_create")
def _create_outbox_trigger(_target, connection, **_kw) -> None:
    """create_all() (tests, a new site) gets the trigger the migration makes; run again on a database
    that has it (create_all runs this even when every table was there), it changes nothing."""
    for statement in OUTBOX_TRIGGER.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


class Supplier(db.Model):
    """Who an item is bought from: how long it takes to come (and how much that varies), the least it
    sells, in what packs, in which currency."""

    __tablename__ = "suppliers"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), unique=True, nullable=False)
    lead_days = db.Column(db.Integer, nullable=False, default=7)
    lead_sd_days = db.Column(db.Numeric(6, 2), nullable=False, default=0)
    moq = db.Column(db.Integer, nullable=False, default=1)  # minimum order quantity, units
    pack = db.Column(db.Integer, nullable=False, default=1)  # orders come in multiples of this
    currency = db.Column(db.String(3), nullable=False, default="EUR")
    __table_args__ = (
        CheckConstraint("lead_days >= 0 AND lead_days <= 365 AND lead_sd_days >= 0 AND moq >= 1 AND pack >= 1",
                        name="terms"),
    )


class ItemSupplier(db.Model):
    """An item bought from a supplier, at its cost; the preferred one is the one proposals order from."""

    __tablename__ = "item_suppliers"
    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False, index=True)
    supplier_id = db.Column(db.Integer, db.ForeignKey("suppliers.id"), nullable=False)
    unit_cost = db.Column(db.Numeric(12, 2))
    preferred = db.Column(db.Boolean, nullable=False, default=False)
    item = db.relationship(Item)
    supplier = db.relationship(Supplier)
    __table_args__ = (UniqueConstraint("item_id", "supplier_id"),)


class PurchaseOrder(db.Model):
    __tablename__ = "purchase_orders"
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(40), unique=True, nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    supplier = db.Column(db.String(120), nullable=False, default="")
    supplier_id = db.Column(db.Integer, db.ForeignKey("suppliers.id"))  # the supplier's record, when it has one
    # A purchase order, or an advance ship notice (the supplier's word for what is on the truck).
    kind = db.Column(db.String(8), nullable=False, default="po", server_default="po")
    status = db.Column(db.String(16), nullable=False, default="open")
    expected_on = db.Column(db.Date)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    warehouse = db.relationship(Warehouse)
    lines = db.relationship("PurchaseOrderLine", back_populates="purchase_order", order_by="PurchaseOrderLine.line_no")


class PurchaseOrderLine(db.Model):
    __tablename__ = "purchase_order_lines"
    id = db.Column(db.Integer, primary_key=True)
    purchase_order_id = db.Column(db.Integer, db.ForeignKey("purchase_orders.id"), nullable=False, index=True)
    line_no = db.Column(db.Integer, nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    expected = db.Column(db.Integer, nullable=False)
    received = db.Column(db.Integer, nullable=False, default=0)
    unit_cost = db.Column(db.Numeric(12, 4))  # what the supplier charges a unit: the receipt's cost
    lot = db.Column(db.String(40))
    expiry = db.Column(db.Date)
    purchase_order = db.relationship(PurchaseOrder, back_populates="lines")
    item = db.relationship(Item)
    __table_args__ = (CheckConstraint("expected > 0 AND received >= 0", name="qty"),)


class LicencePlate(db.Model):
    """A numbered label for a pallet or tote; the number is given out once, when it is printed."""

    __tablename__ = "licence_plates"
    id = db.Column(db.Integer, primary_key=True, autoincrement=True)
    code = db.Column(db.String(40), unique=True, nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    # Where the pallet stands while it holds received stock; emptied by putaway.
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"))
    contents = db.relationship("PlateItem", back_populates="plate", order_by="PlateItem.id")


class PlateItem(db.Model):
    """What a received pallet holds until it is put away (the units are in the plate's bin)."""

    __tablename__ = "plate_items"
    id = db.Column(db.Integer, primary_key=True)
    plate_id = db.Column(db.Integer, db.ForeignKey("licence_plates.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    lot = db.Column(db.String(40), nullable=False, default="")
    qty = db.Column(db.Integer, nullable=False, default=0)
    plate = db.relationship(LicencePlate, back_populates="contents")
    item = db.relationship(Item)
    __table_args__ = (UniqueConstraint("plate_id", "item_id", "lot"), CheckConstraint("qty >= 0", name="qty"))


class ScanLog(db.Model):
    """Every scan a handheld sent, once: the client's scan id makes a resent scan a no-op.

    Kept for the operator's running list and for the supervisor to see what
    reached the server, in what order, and what the answer was.
    """

    __tablename__ = "scan_log"
    id = db.Column(BigId, primary_key=True, autoincrement=True)
    scan_id = db.Column(db.String(64), unique=True, nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"))
    screen = db.Column(db.String(40), nullable=False)
    text = db.Column(db.String(200), nullable=False)
    kind = db.Column(db.String(16), nullable=False)
    outcome = db.Column(db.String(8), nullable=False)  # ok, warn, error
    message = db.Column(db.String(300), nullable=False, default="")
    device = db.Column(db.String(80), nullable=False, default="")
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    task_id = db.Column(db.Integer, db.ForeignKey("tasks.id"))
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'warn', 'error')", name="outcome"),
        Index("ix_scan_log_user_screen", "user_id", "screen", "id"),
        Index("ix_scan_log_task", "task_id", "id"),
    )


TASK_KINDS = ("receive", "putaway", "pick", "ship", "return", "inspect", "damage", "count", "transfer_out", "transfer_in",
              "move", "replenish", "pack")


class Task(db.Model):
    """One floor task (a receipt, a pick walk, a shipment, ...), kept on the server.

    Its step lives here, not in the handheld, so the task can be left on one
    device and picked up on another.
    """

    __tablename__ = "tasks"
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(16), nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="open")
    purchase_order_id = db.Column(db.Integer, db.ForeignKey("purchase_orders.id"))
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"))
    count_session_id = db.Column(db.Integer, db.ForeignKey("count_sessions.id"))
    transfer_id = db.Column(db.Integer, db.ForeignKey("transfers.id"))
    state = db.Column(db.JSON, nullable=False, default=dict)
    note = db.Column(db.String(300))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    updated_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    closed_at = db.Column(db.DateTime)
    # One more at every write to the task or any of its lines, from anywhere (see _bump_task_versions):
    # a scan that read the task before taking the write lock checks it under the lock.
    version = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    warehouse = db.relationship(Warehouse)
    purchase_order = db.relationship(PurchaseOrder)
    order = db.relationship(Order)
    count_session = db.relationship("CountSession")
    transfer = db.relationship("Transfer")
    creator = db.relationship(User, foreign_keys=[created_by])
    updater = db.relationship(User, foreign_keys=[updated_by])
    lines = db.relationship("TaskLine", back_populates="task", order_by="TaskLine.seq")
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in TASK_KINDS)})", name="kind"),
        CheckConstraint("status IN ('open','closed','cancelled')", name="status"),
        Index("ix_tasks_open", "warehouse_id", "status", "kind"),
    )

    @property
    def number(self) -> str:
        return f"T{self.id}"


SERIAL_STATUSES = ("in_stock", "packed", "shipped", "scrapped")


class Serial(db.Model):
    """One unit of a serial-tracked item. One row a serial, so a serial is in one place at a time: a
    bin of a warehouse while in stock (packed: in a parcel as well), nowhere once shipped or scrapped."""

    __tablename__ = "serials"
    id = db.Column(db.Integer, primary_key=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    serial = db.Column(db.String(40), nullable=False)
    status = db.Column(db.String(10), nullable=False, default="in_stock")
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"))
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"), index=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"))  # picked for it
    parcel_id = db.Column(db.Integer, db.ForeignKey("parcels.id"))  # packed into it
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    item = db.relationship(Item)
    bin = db.relationship(Bin)
    __table_args__ = (
        UniqueConstraint("item_id", "serial"),
        CheckConstraint(f"status IN ({', '.join(repr(x) for x in SERIAL_STATUSES)})", name="status"),
        CheckConstraint("(status IN ('in_stock', 'packed')) = (bin_id IS NOT NULL)", name="placed"),
        CheckConstraint("(status = 'packed') = (parcel_id IS NOT NULL)", name="packed"),
    )


class SerialEvent(db.Model):
    """A serial's history: each movement or packing that moved it, in order."""

    __tablename__ = "serial_events"
    id = db.Column(db.Integer, primary_key=True)
    serial_id = db.Column(db.Integer, db.ForeignKey("serials.id"), nullable=False, index=True)
    kind = db.Column(db.String(20), nullable=False)  # a movement kind, or "pack"
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"))  # where it went (none: it left)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"))
    parcel_id = db.Column(db.Integer, db.ForeignKey("parcels.id"))
    movement_id = db.Column(db.Integer, db.ForeignKey("movements.id"))
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    bin = db.relationship(Bin)


PARCEL_STATUSES = ("open", "closed", "shipped")


class Parcel(db.Model):
    """One carton of an order, packed at a packing station: what went in, its carton type and weight,
    and its SSCC (the GS1 serial shipping container code on its label). An order may have several."""

    __tablename__ = "parcels"
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"), nullable=False, index=True)
    seq = db.Column(db.Integer, nullable=False)  # parcel 1, 2, ... of its order
    sscc = db.Column(db.String(18), unique=True)  # set when the row has its id
    carton = db.Column(db.String(8))
    weight_g = db.Column(db.Integer)
    status = db.Column(db.String(8), nullable=False, default="open")
    task_id = db.Column(db.Integer, db.ForeignKey("tasks.id"))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    closed_at = db.Column(db.DateTime)
    # The carrier's label on it: scanned (or typed) at packing or at the dock, told to the channel.
    carrier = db.Column(db.String(40))
    tracking = db.Column(db.String(60))
    order = db.relationship(Order)
    lines = db.relationship("ParcelLine", back_populates="parcel", order_by="ParcelLine.id")
    __table_args__ = (
        UniqueConstraint("order_id", "seq"),
        CheckConstraint(f"status IN ({', '.join(repr(x) for x in PARCEL_STATUSES)})", name="status"),
        CheckConstraint("weight_g IS NULL OR (weight_g > 0 AND weight_g <= 1000000)", name="weight"),
    )

    @property
    def units(self) -> int:
        return sum(ln.qty for ln in self.lines)


class ParcelLine(db.Model):
    __tablename__ = "parcel_lines"
    id = db.Column(db.Integer, primary_key=True)
    parcel_id = db.Column(db.Integer, db.ForeignKey("parcels.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    lot = db.Column(db.String(40), nullable=False, default="")
    qty = db.Column(db.Integer, nullable=False, default=0)
    parcel = db.relationship(Parcel, back_populates="lines")
    item = db.relationship(Item)
    __table_args__ = (
        UniqueConstraint("parcel_id", "item_id", "lot"),
        CheckConstraint("qty > 0", name="qty"),
    )


class Photo(db.Model):
    """A picture taken on the floor (a damage tag's), shrunk to JPEG and kept in the database, so any app
    host serves what another took: nothing of a site lives on one host's disk."""

    __tablename__ = "photos"
    name = db.Column(db.String(80), primary_key=True)
    content_type = db.Column(db.String(40), nullable=False, default="image/jpeg")
    data = db.Column(db.LargeBinary, nullable=False)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class TaskLine(db.Model):
    """A line of a task: a PO line being received, an order line to pick from a bin, an item returned."""

    __tablename__ = "task_lines"
    id = db.Column(db.Integer, primary_key=True)
    task_id = db.Column(db.Integer, db.ForeignKey("tasks.id"), nullable=False, index=True)
    seq = db.Column(db.Integer, nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    lot = db.Column(db.String(40), nullable=False, default="")
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"))
    order_line_id = db.Column(db.Integer, db.ForeignKey("order_lines.id"), index=True)
    po_line_id = db.Column(db.Integer, db.ForeignKey("purchase_order_lines.id"))
    transfer_line_id = db.Column(db.Integer, db.ForeignKey("transfer_lines.id"))
    photo = db.Column(db.String(80))  # a damage photo's name (models.Photo; before, a file under instance/photos)
    expected = db.Column(db.Integer, nullable=False, default=0)
    done = db.Column(db.Integer, nullable=False, default=0)
    damaged = db.Column(db.Integer, nullable=False, default=0)
    short = db.Column(db.Integer, nullable=False, default=0)
    status = db.Column(db.String(10), nullable=False, default="open")  # cancelled: its order was cancelled
    task = db.relationship(Task, back_populates="lines")
    item = db.relationship(Item)
    bin = db.relationship(Bin)
    order_line = db.relationship(OrderLine)
    po_line = db.relationship(PurchaseOrderLine)
    transfer_line = db.relationship("TransferLine")
    __table_args__ = (
        CheckConstraint("expected >= 0 AND done >= 0 AND damaged >= 0 AND short >= 0", name="not_negative"),
        CheckConstraint("status IN ('open','done','short','cancelled')", name="status"),
    )

    @property
    def remaining(self) -> int:
        return max(0, self.expected - self.done - self.short)


class FloorException(db.Model):
    """Something the floor could not settle that a supervisor must: a short pick, an unknown item, ..."""

    __tablename__ = "exceptions"
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(24), nullable=False)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    task_id = db.Column(db.Integer, db.ForeignKey("tasks.id"))
    order_id = db.Column(db.Integer, db.ForeignKey("orders.id"))
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"))
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"))
    qty = db.Column(db.Integer, nullable=False, default=0)
    code = db.Column(db.String(200))
    message = db.Column(db.String(300), nullable=False)
    status = db.Column(db.String(8), nullable=False, default="open")
    resolution = db.Column(db.String(200))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    resolved_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    resolved_at = db.Column(db.DateTime)
    warehouse = db.relationship(Warehouse)
    task = db.relationship(Task)
    order = db.relationship(Order)
    item = db.relationship(Item)
    bin = db.relationship(Bin)
    __table_args__ = (
        CheckConstraint("status IN ('open','resolved')", name="status"),
        Index("ix_exceptions_open", "warehouse_id", "status"),
    )


# --------------------------------------------------------------------------
# Cycle counts
# --------------------------------------------------------------------------


class CountSession(db.Model):
    """A cycle count a supervisor starts for chosen bins, a zone, items, or what is due."""

    __tablename__ = "count_sessions"
    id = db.Column(db.Integer, primary_key=True)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    scope = db.Column(db.String(200), nullable=False, default="")
    blind = db.Column(db.Boolean, nullable=False, default=True)
    # Frozen at creation, so a changed site setting does not change a running count.
    threshold_qty = db.Column(db.Integer, nullable=False, default=0)
    threshold_value = db.Column(db.Numeric(12, 2), nullable=False, default=0)
    status = db.Column(db.String(8), nullable=False, default="open")
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    closed_at = db.Column(db.DateTime)
    warehouse = db.relationship(Warehouse)
    creator = db.relationship(User)
    bins = db.relationship("CountBin", back_populates="session", order_by="CountBin.walk_order")
    __table_args__ = (
        CheckConstraint("status IN ('open','closed')", name="status"),
        CheckConstraint("threshold_qty >= 0 AND threshold_value >= 0", name="thresholds"),
    )

    @property
    def number(self) -> str:
        return f"CC-{self.id:06d}"


COUNT_BIN_STATES = ("pending", "counting", "recount", "recounting", "done")


class CountBin(db.Model):
    """One bin of a count session; claimed by one counter at a time."""

    __tablename__ = "count_bins"
    id = db.Column(db.Integer, primary_key=True)
    session_id = db.Column(db.Integer, db.ForeignKey("count_sessions.id"), nullable=False, index=True)
    bin_id = db.Column(db.Integer, db.ForeignKey("bins.id"), nullable=False)
    walk_order = db.Column(db.Integer, nullable=False, default=0)
    status = db.Column(db.String(12), nullable=False, default="pending")
    counter_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    recounter_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    started_at = db.Column(db.DateTime)
    counted_at = db.Column(db.DateTime)
    recount_started_at = db.Column(db.DateTime)
    recounted_at = db.Column(db.DateTime)
    session = db.relationship(CountSession, back_populates="bins")
    bin = db.relationship(Bin)
    counter = db.relationship(User, foreign_keys=[counter_id])
    recounter = db.relationship(User, foreign_keys=[recounter_id])
    lines = db.relationship("CountLine", back_populates="count_bin", order_by="CountLine.id")
    __table_args__ = (
        UniqueConstraint("session_id", "bin_id"),
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in COUNT_BIN_STATES)})", name="status"),
        CheckConstraint("recounter_id IS NULL OR recounter_id <> counter_id", name="recount_by_another"),
    )


COUNT_LINE_STATES = ("counting", "match", "accepted", "recount", "review", "approved", "rejected")


class CountLine(db.Model):
    """One item in one counted bin: the record, the count, the recount, and how it was settled.

    at_start is the bin's quantity when its count started; expected is that
    plus every movement in the bin until the bin was closed (the bin's
    quantity then). held_first is the bin's quantity at the counter's first
    scan of the item: if the bin changed after it, the count is ambiguous.
    """

    __tablename__ = "count_lines"
    id = db.Column(db.Integer, primary_key=True)
    count_bin_id = db.Column(db.Integer, db.ForeignKey("count_bins.id"), nullable=False, index=True)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    unit_cost = db.Column(db.Numeric(12, 2))
    at_start = db.Column(db.Integer, nullable=False, default=0)
    held_first = db.Column(db.Integer)
    counted = db.Column(db.Integer, nullable=False, default=0)
    expected = db.Column(db.Integer)
    moved_while_counting = db.Column(db.Boolean, nullable=False, default=False)
    recount_at_start = db.Column(db.Integer)
    recounted = db.Column(db.Integer)
    recount_expected = db.Column(db.Integer)
    found_lot = db.Column(db.String(40))
    status = db.Column(db.String(10), nullable=False, default="counting")
    adjusted = db.Column(db.Integer, nullable=False, default=0)  # units posted by count-adjust movements
    decided_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    decided_at = db.Column(db.DateTime)
    count_bin = db.relationship(CountBin, back_populates="lines")
    item = db.relationship(Item)
    decider = db.relationship(User)
    __table_args__ = (
        UniqueConstraint("count_bin_id", "item_id"),
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in COUNT_LINE_STATES)})", name="status"),
        CheckConstraint("counted >= 0 AND (recounted IS NULL OR recounted >= 0)", name="counts"),
    )

    @property
    def system(self) -> int | None:
        """The record this line's final count is compared with."""
        return self.recount_expected if self.recounted is not None else self.expected

    @property
    def final_count(self) -> int:
        return self.recounted if self.recounted is not None else self.counted

    @property
    def variance(self) -> int | None:
        return None if self.system is None else self.final_count - self.system


# --------------------------------------------------------------------------
# Promotion locks and transfers
# --------------------------------------------------------------------------


class PromoLock(db.Model):
    """Units held back from sale for a promotion (S -> L) until an end date."""

    __tablename__ = "promo_locks"
    id = db.Column(db.Integer, primary_key=True)
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    name = db.Column(db.String(80), nullable=False)
    qty = db.Column(db.Integer, nullable=False)
    ends_on = db.Column(db.Date, nullable=False)
    status = db.Column(db.String(8), nullable=False, default="active")
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    released_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    released_at = db.Column(db.DateTime)
    warehouse = db.relationship(Warehouse)
    item = db.relationship(Item)
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty"),
        CheckConstraint("status IN ('active','ended','released')", name="status"),
        Index("ix_promo_locks_active", "status", "ends_on"),
    )


TRANSFER_STATES = ("planned", "shipped", "received")


class Transfer(db.Model):
    """Stock sent from one warehouse to another: allocated, picked and shipped, received."""

    __tablename__ = "transfers"
    id = db.Column(db.Integer, primary_key=True)
    source_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    dest_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"), nullable=False)
    status = db.Column(db.String(10), nullable=False, default="planned")
    note = db.Column(db.String(200))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    shipped_at = db.Column(db.DateTime)
    received_at = db.Column(db.DateTime)
    source = db.relationship(Warehouse, foreign_keys=[source_id])
    dest = db.relationship(Warehouse, foreign_keys=[dest_id])
    lines = db.relationship("TransferLine", back_populates="transfer", order_by="TransferLine.line_no")
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in TRANSFER_STATES)})", name="status"),
        CheckConstraint("source_id <> dest_id", name="two_warehouses"),
    )

    @property
    def number(self) -> str:
        return f"TR-{self.id:06d}"

    @property
    def has_differences(self) -> bool:
        return any(ln.missing or ln.extra or ln.damaged for ln in self.lines)


class TransferLine(db.Model):
    __tablename__ = "transfer_lines"
    id = db.Column(db.Integer, primary_key=True)
    transfer_id = db.Column(db.Integer, db.ForeignKey("transfers.id"), nullable=False, index=True)
    line_no = db.Column(db.Integer, nullable=False)
    item_id = db.Column(db.Integer, db.ForeignKey("items.id"), nullable=False)
    qty = db.Column(db.Integer, nullable=False)  # allocated at the source (0: arrived, never sent)
    picked = db.Column(db.Integer, nullable=False, default=0)
    shipped = db.Column(db.Integer, nullable=False, default=0)
    received = db.Column(db.Integer, nullable=False, default=0)  # sellable, against the shipment
    damaged = db.Column(db.Integer, nullable=False, default=0)  # arrived damaged, against the shipment
    extra = db.Column(db.Integer, nullable=False, default=0)  # arrived beyond what was shipped
    missing = db.Column(db.Integer, nullable=False, default=0)  # shipped, never arrived
    transfer = db.relationship(Transfer, back_populates="lines")
    item = db.relationship(Item)
    __table_args__ = (
        CheckConstraint("qty >= 0", name="qty"),
        CheckConstraint(
            "picked >= 0 AND shipped >= 0 AND received >= 0 AND damaged >= 0 AND extra >= 0 AND missing >= 0",
            name="not_negative",
        ),
        CheckConstraint("received + damaged + missing <= shipped", name="not_more_than_shipped"),
    )


class SignInFailure(db.Model):
    """A wrong password, kept for a while so guessing can be slowed down across all server processes."""

    __tablename__ = "sign_in_failures"
    id = db.Column(BigId, primary_key=True, autoincrement=True)
    username = db.Column(db.String(64), nullable=False, index=True)
    ip = db.Column(db.String(45), nullable=False, index=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)


# --------------------------------------------------------------------------
# Jobs: long work off the request (CSV imports), worked by the job worker
# --------------------------------------------------------------------------

JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """One piece of long work (an import), claimed by exactly one worker through a guarded update."""

    __tablename__ = "jobs"
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(24), nullable=False)
    status = db.Column(db.String(8), nullable=False, default="queued")
    warehouse_id = db.Column(db.Integer, db.ForeignKey("warehouses.id"))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)  # a running job whose worker stopped beating is queued again
    finished_at = db.Column(db.DateTime)
    total = db.Column(db.Integer, nullable=False, default=0)
    done = db.Column(db.Integer, nullable=False, default=0)
    payload = db.Column(db.Text, nullable=False, default="")
    result = db.Column(db.Text)  # JSON: what the job did, or the errors that stopped it
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in JOB_STATES)})", name="status"),
        CheckConstraint("total >= 0 AND done >= 0", name="progress"),
        Index("ix_jobs_status", "status", "id"),
    )


@event.listens_for(Session, "before_flush")
def _bump_task_versions(session, _ctx, _instances) -> None:
    """A task's version goes up with every flush that changes the task or one of its lines, in any
    session: a scan that read the task and its lines before the write lock (services.engine) knows,
    under the lock, whether what it read still holds."""
    touched: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, TaskLine) and obj.task_id is not None:
            if obj in session.new or obj in session.deleted or session.is_modified(obj, include_collections=False):
                touched.add(obj.task_id)
        elif isinstance(obj, Task) and obj.id is not None and session.is_modified(obj, include_collections=False):
            touched.add(obj.id)
    for task_id in touched:
        task = session.identity_map.get(identity_key(Task, task_id))
        if task is None:
            session.execute(update(Task).where(Task.id == task_id).values(version=Task.version + 1))
        elif "version" not in inspect(task).committed_state:  # not set by hand in this flush
            task.version = (task.version or 0) + 1
