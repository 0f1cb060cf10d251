"""The stock rules of the warehouse, in plain Python.

Read this module top to bottom to know what every movement does. It knows
nothing of Flask, HTTP or the database: the service layer loads the current
balance of one (warehouse, item) under a lock, asks `decide()` what a
movement does to it, and writes the answer. The same rules serve the JSON
API, the floor screens and the command line.

Buckets per (warehouse, item), letters as in ../shared/seeds/002_*.txt:

    I  physical on hand (all bins, any condition)
    S  sellable: what sales channels may still sell
    O  occupied by orders (reserved, not shipped)
    U  unsellable: damaged, or returned and not yet inspected
    L  locked: held back from sale (promotions)
    V  virtual: supplier stock that may be sold before it arrives
    T  allocated to an outbound transfer
    A  in transit to this warehouse ("in the air")

Always: S = I - O - U - L + V - T, every bucket >= 0, every bin >= 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

BUCKETS = ("i", "s", "o", "u", "l", "v", "t", "a")

# A quantity larger than this is a typo or an attack, never a real scan:
# no handheld books a million units at once.
MAX_QTY = 1_000_000


class Kind(str, Enum):
    RECEIVE = "receive"
    MOVE = "move"  # putaway is a move from the dock to a storage bin
    RESERVE = "reserve"
    UNRESERVE = "unreserve"
    PICK = "pick"
    SHIP = "ship"
    DAMAGE = "damage"
    RESTORE = "restore"
    SCRAP = "scrap"
    LOCK = "lock"
    UNLOCK = "unlock"
    VIRTUAL = "virtual"
    TRANSFER_ALLOCATE = "transfer_allocate"
    TRANSFER_SHIP = "transfer_ship"
    TRANSFER_RECEIVE = "transfer_receive"
    ADJUST = "adjust"  # a count found a different quantity in a bin
    RETURN_RECEIVE = "return_receive"
    TRANSFER_RELEASE = "transfer_release"  # allocated to a transfer that will not ship it: back to sale
    TRANSIT_LOSS = "transit_loss"  # shipped units that never arrived, written off at the destination
    EXPIRE = "expire"  # a lot past its expiry date: sellable no more


class Condition(str, Enum):
    SELLABLE = "sellable"
    DAMAGED = "damaged"
    RETURNED = "returned"  # back from a customer, awaiting inspection
    EXPIRED = "expired"  # a lot past its date: never reserved, picked or sold; scrapped


# Everything that is not sellable counts in U.
UNSELLABLE = (Condition.DAMAGED, Condition.RETURNED, Condition.EXPIRED)


def is_expired(expiry: date | None, today: date) -> bool:
    """A lot is expired the day after its expiry date: on the date itself it may still be sold."""
    return expiry is not None and expiry < today


class BinType(str, Enum):
    STORAGE = "storage"
    DOCK = "dock"  # receiving dock
    STAGING = "staging"  # outbound staging
    QUARANTINE = "quarantine"  # damaged goods
    RETURNS = "returns"


# --------------------------------------------------------------------------
# Errors. A StockError is a refusal by a stock rule (HTTP 409); an InputError
# is a request that cannot mean anything (HTTP 422). Both change nothing.
# --------------------------------------------------------------------------


def N_(text: str) -> str:
    """Marks a message for the translation catalogue (pybabel -k N_): it is said in the operator's
    language where it is shown (app.i18n.said), from `template` and its values."""
    return text


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, template: str | None = None, **values):
        super().__init__(message)
        self.message = message  # English: what the API and the logs say
        self.template, self.values = template, values  # the same, to be translated for a screen

    words: tuple = ()  # the values that are words of the catalogue, translated where the refusal is shown

    @classmethod
    def of(cls, template: str, words: tuple = (), **values):
        """The refusal from its template (marked N_ for the catalogue) and values: English for the API and
        logs, the reader's language on a screen (i18n.said)."""
        shown = {k: " or ".join(v) if isinstance(v, tuple) else v for k, v in values.items()}  # alternatives
        error = cls(template % shown if values else template, template, **values)
        error.words = words
        return error


class InputError(DomainError):
    code = "invalid_input"


class InvalidQuantity(InputError):
    code = "invalid_quantity"


class UnknownKind(InputError):
    code = "unknown_kind"


class StockError(DomainError):
    code = "stock_rule"


_SHORT_MESSAGES = {
    "s": N_("Only %(held)s sellable, %(wanted)s requested"),
    "o": N_("Only %(held)s reserved, %(wanted)s requested"),
    "u": N_("Only %(held)s unsellable, %(wanted)s requested"),
    "l": N_("Only %(held)s locked, %(wanted)s requested"),
    "t": N_("Only %(held)s allocated to transfers, %(wanted)s requested"),
    "a": N_("Only %(held)s in transit, %(wanted)s received"),
    "i": N_("Only %(held)s on hand, %(wanted)s requested"),
}


class NotEnoughStock(StockError):
    code = "not_enough_stock"

    def __init__(self, bucket: str, held: int, wanted: int):
        self.bucket, self.held, self.wanted = bucket, held, wanted
        if bucket == "s":
            self.code = "not_enough_sellable"
        template = _SHORT_MESSAGES[bucket]
        super().__init__(template % {"held": held, "wanted": wanted}, template, held=held, wanted=wanted)


class BinShortage(StockError):
    code = "bin_short"

    def __init__(self, bin_code: str, sku: str, held: int, wanted: int, condition: str = "sellable"):
        self.held, self.wanted = held, wanted
        condition = getattr(condition, "value", condition)  # an Enum prints as Condition.X
        if condition == Condition.SELLABLE.value:
            template = N_("Bin %(bin)s holds %(held)s of %(sku)s, %(wanted)s requested")
        else:
            template = N_("Bin %(bin)s holds %(held)s of %(condition)s %(sku)s, %(wanted)s requested")
        values = {"bin": bin_code, "held": held, "sku": sku, "wanted": wanted, "condition": condition}
        super().__init__(template % values, template, **values)


class VirtualWouldOversell(StockError):
    code = "virtual_would_oversell"


# --------------------------------------------------------------------------
# Quantities
# --------------------------------------------------------------------------


# The largest id the database stores (an INTEGER column, 32 bits on PostgreSQL).
MAX_ID = 2**31 - 1
_WHOLE = re.compile(r"[+-]?[0-9]{1,30}")


def parse_whole(value, what: str, low: int, high: int, error=None) -> int:
    """The one reading of a whole number from a form, a JSON body, a CSV cell, a scan or the command line.

    ASCII digits with at most one sign, or a JSON integer (or a float with no fraction); anything else
    (`--5`, `0x10`, `1e400`, `٣`, empty, a 10 KB string) is an InputError that names the field and
    changes nothing. The range is checked, so nothing reaches the database that it cannot store.
    """
    error = error or InputError
    if isinstance(value, bool) or value is None:
        raise error(f"{what} is required and must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not _WHOLE.fullmatch(text):
            shown = value[:20] + ("…" if len(value) > 20 else "")
            raise error(f"{what} must be a whole number, not {shown!r}")
        value = int(text)
    elif isinstance(value, float):
        if not value.is_integer():
            raise error(f"{what} must be a whole number, not {value}")
        value = int(value)
    elif not isinstance(value, int):
        raise error(f"{what} must be a whole number")
    if not low <= value <= high:
        if value < low:
            raise error(f"{what} must be {'zero or more' if low == 0 else f'at least {low:,}'}, not {value}")
        raise error(f"{what} {value} is too large (at most {high:,})")
    return value


def parse_id(value, what: str = "id") -> int:
    """A record's id as sent in a URL, a form or a body: 1 to MAX_ID, else InputError (never a 500)."""
    return parse_whole(value, what, 1, MAX_ID)


def parse_qty(value, *, allow_zero: bool = False) -> int:
    """A whole, positive (or, for counts, zero) number of units, or InvalidQuantity."""
    return parse_whole(value, "Quantity", 0 if allow_zero else 1, MAX_QTY, error=InvalidQuantity)


# --------------------------------------------------------------------------
# Buckets
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Buckets:
    i: int = 0
    s: int = 0
    o: int = 0
    u: int = 0
    l: int = 0
    v: int = 0
    t: int = 0
    a: int = 0

    def __add__(self, other: Buckets) -> Buckets:
        return Buckets(*(getattr(self, b) + getattr(other, b) for b in BUCKETS))

    def __neg__(self) -> Buckets:
        return Buckets(*(-getattr(self, b) for b in BUCKETS))

    def __bool__(self) -> bool:
        return any(getattr(self, b) for b in BUCKETS)

    def as_dict(self, upper: bool = False) -> dict[str, int]:
        return {(b.upper() if upper else b): getattr(self, b) for b in BUCKETS}

    @classmethod
    def of(cls, mapping) -> Buckets:
        return cls(**{b: int(mapping[b]) for b in BUCKETS})

    def identity_holds(self) -> bool:
        """S = I - O - U - L + V - T; for deltas the same must hold of the changes."""
        return self.s == self.i - self.o - self.u - self.l + self.v - self.t

    def negative_buckets(self) -> list[str]:
        return [b for b in BUCKETS if getattr(self, b) < 0]

    def is_valid(self) -> bool:
        return self.identity_holds() and not self.negative_buckets()


ZERO = Buckets()


# --------------------------------------------------------------------------
# What a movement does
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BinLeg:
    """A bin-side effect: `qty` units of the item in `condition` leave or enter a bin."""

    condition: Condition
    qty: int


@dataclass(frozen=True)
class Decision:
    kind: Kind
    qty: int
    deltas: Buckets  # on the movement's own warehouse
    take: BinLeg | None = None  # from the from-bin
    put: BinLeg | None = None  # into the to-bin
    dest_deltas: Buckets = ZERO  # on the destination warehouse (transfer ship)
    # Claims given up so that physical loss never leaves S below zero:
    # order reservations (O), locks (L) and transfer allocations (T).
    released: Buckets = ZERO


@dataclass(frozen=True)
class Request:
    """What the floor or a channel asks for, in domain terms.

    `held` is what the from-bin holds of the item (lot, condition) now; the
    service reads it under the same lock as the balance. `bin_code` and
    `sku` only make refusals readable.
    """

    kind: Kind
    qty: int
    condition: Condition = Condition.SELLABLE
    damaged: bool = False
    held: int | None = None
    bin_code: str = ""
    sku: str = ""


def _need(balance: Buckets, bucket: str, qty: int) -> None:
    held = getattr(balance, bucket)
    if held < qty:
        raise NotEnoughStock(bucket, held, qty)


def _need_bin(req: Request, qty: int, condition: Condition = Condition.SELLABLE) -> None:
    if req.held is None:
        raise InputError("A bin to take the stock from is required")
    if req.held < qty:
        raise BinShortage(req.bin_code or "?", req.sku or "the item", req.held, qty, condition)


def release_claims(balance: Buckets, lost: int) -> Buckets:
    """Claims to give up when `lost` sellable units physically disappear.

    Physical truth wins: damage and negative counts are never refused. When
    S cannot absorb the loss, the newest order reservations go first, then
    locks, then transfer allocations, until S stays at zero or above.
    """
    shortfall = lost - balance.s
    released = {}
    for bucket in ("o", "l", "t"):
        if shortfall <= 0:
            break
        take = min(shortfall, getattr(balance, bucket))
        if take:
            released[bucket] = take
            shortfall -= take
    # Cannot happen while the bins agree with I and U: the sellable units in
    # the bin are part of I - U, which S plus all claims cover.
    if shortfall > 0:
        raise StockError(f"Cannot remove {lost}: the balance does not cover the units in the bin")
    return Buckets(**released)


def _receive(b: Buckets, r: Request) -> Decision:
    q = r.qty
    if r.damaged:
        return Decision(r.kind, q, Buckets(i=q, u=q), put=BinLeg(Condition.DAMAGED, q))
    return Decision(r.kind, q, Buckets(i=q, s=q), put=BinLeg(Condition.SELLABLE, q))


def _move(b: Buckets, r: Request) -> Decision:
    _need_bin(r, r.qty, r.condition)
    return Decision(r.kind, r.qty, ZERO, take=BinLeg(r.condition, r.qty), put=BinLeg(r.condition, r.qty))


def _reserve(b: Buckets, r: Request) -> Decision:
    _need(b, "s", r.qty)
    return Decision(r.kind, r.qty, Buckets(s=-r.qty, o=r.qty))


def _unreserve(b: Buckets, r: Request) -> Decision:
    _need(b, "o", r.qty)
    return Decision(r.kind, r.qty, Buckets(o=-r.qty, s=r.qty))


def _pick(b: Buckets, r: Request) -> Decision:
    # Picked stock is still reserved: it only moves to outbound staging.
    _need_bin(r, r.qty)
    leg = BinLeg(Condition.SELLABLE, r.qty)
    return Decision(r.kind, r.qty, ZERO, take=leg, put=leg)


def _ship(b: Buckets, r: Request) -> Decision:
    _need(b, "o", r.qty)
    _need_bin(r, r.qty)
    return Decision(r.kind, r.qty, Buckets(i=-r.qty, o=-r.qty), take=BinLeg(Condition.SELLABLE, r.qty))


def _lose_sellable(b: Buckets, q: int) -> tuple[Buckets, Buckets]:
    """Deltas for q sellable units becoming unavailable, releasing claims if S is short."""
    released = release_claims(b, q)
    freed = Buckets(o=-released.o, l=-released.l, t=-released.t)
    # Releasing a claim adds to S what the loss then takes away again.
    return freed + Buckets(s=-(q - released.o - released.l - released.t)), released


def _unsellable(b: Buckets, r: Request, becomes: Condition) -> Decision:
    """Sellable units that become unsellable (`becomes`): S to U, never refused for want of S."""
    _need_bin(r, r.qty)
    lose, released = _lose_sellable(b, r.qty)
    return Decision(
        r.kind,
        r.qty,
        lose + Buckets(u=r.qty),
        take=BinLeg(Condition.SELLABLE, r.qty),
        put=BinLeg(becomes, r.qty),
        released=released,
    )


def _damage(b: Buckets, r: Request) -> Decision:
    return _unsellable(b, r, Condition.DAMAGED)


def _expire(b: Buckets, r: Request) -> Decision:
    # As a damage tag: the units stay in their bin (the service puts them there), sellable no more.
    return _unsellable(b, r, Condition.EXPIRED)


def _restore(b: Buckets, r: Request) -> Decision:
    if r.condition == Condition.SELLABLE:
        raise InputError("Only damaged or returned stock can be restored")
    if r.condition == Condition.EXPIRED:
        raise InputError("An expired lot cannot be sold again: scrap it")
    _need(b, "u", r.qty)
    _need_bin(r, r.qty, r.condition)
    return Decision(
        r.kind, r.qty, Buckets(u=-r.qty, s=r.qty), take=BinLeg(r.condition, r.qty), put=BinLeg(Condition.SELLABLE, r.qty)
    )


def _scrap(b: Buckets, r: Request) -> Decision:
    if r.condition == Condition.SELLABLE:
        raise InputError("Only damaged or returned stock can be scrapped; tag it damaged first")
    _need(b, "u", r.qty)
    _need_bin(r, r.qty, r.condition)
    return Decision(r.kind, r.qty, Buckets(i=-r.qty, u=-r.qty), take=BinLeg(r.condition, r.qty))


def _lock(b: Buckets, r: Request) -> Decision:
    _need(b, "s", r.qty)
    return Decision(r.kind, r.qty, Buckets(s=-r.qty, l=r.qty))


def _unlock(b: Buckets, r: Request) -> Decision:
    _need(b, "l", r.qty)
    return Decision(r.kind, r.qty, Buckets(l=-r.qty, s=r.qty))


def _virtual(b: Buckets, r: Request) -> Decision:
    # qty is the new level of virtual supply, not a change.
    change = r.qty - b.v
    if b.s + change < 0:
        raise VirtualWouldOversell(
            f"Cannot set virtual stock to {r.qty}: {-(b.s + change)} of the {b.v} virtual units are already "
            f"sold or locked (sellable is {b.s})"
        )
    return Decision(r.kind, r.qty, Buckets(v=change, s=change))


def _transfer_allocate(b: Buckets, r: Request) -> Decision:
    _need(b, "s", r.qty)
    return Decision(r.kind, r.qty, Buckets(s=-r.qty, t=r.qty))


def _transfer_ship(b: Buckets, r: Request) -> Decision:
    _need(b, "t", r.qty)
    _need_bin(r, r.qty)
    return Decision(
        r.kind,
        r.qty,
        Buckets(i=-r.qty, t=-r.qty),
        take=BinLeg(Condition.SELLABLE, r.qty),
        dest_deltas=Buckets(a=r.qty),
    )


def _transfer_receive(b: Buckets, r: Request) -> Decision:
    _need(b, "a", r.qty)
    if r.damaged:
        return Decision(r.kind, r.qty, Buckets(a=-r.qty, i=r.qty, u=r.qty), put=BinLeg(Condition.DAMAGED, r.qty))
    return Decision(r.kind, r.qty, Buckets(a=-r.qty, i=r.qty, s=r.qty), put=BinLeg(Condition.SELLABLE, r.qty))


def _adjust(b: Buckets, r: Request) -> Decision:
    # r.qty is what was counted; the bin's current quantity is r.held.
    if r.held is None:
        raise InputError("A counted bin is required")
    d = r.qty - r.held
    if d >= 0:
        return Decision(r.kind, d, Buckets(i=d, s=d), put=BinLeg(Condition.SELLABLE, d) if d else None)
    lose, released = _lose_sellable(b, -d)
    return Decision(r.kind, -d, lose + Buckets(i=d), take=BinLeg(Condition.SELLABLE, -d), released=released)


def _return_receive(b: Buckets, r: Request) -> Decision:
    return Decision(r.kind, r.qty, Buckets(i=r.qty, u=r.qty), put=BinLeg(Condition.RETURNED, r.qty))


def _transfer_release(b: Buckets, r: Request) -> Decision:
    _need(b, "t", r.qty)
    return Decision(r.kind, r.qty, Buckets(t=-r.qty, s=r.qty))


def _transit_loss(b: Buckets, r: Request) -> Decision:
    _need(b, "a", r.qty)
    return Decision(r.kind, r.qty, Buckets(a=-r.qty))


RULES = {
    Kind.RECEIVE: _receive,
    Kind.MOVE: _move,
    Kind.RESERVE: _reserve,
    Kind.UNRESERVE: _unreserve,
    Kind.PICK: _pick,
    Kind.SHIP: _ship,
    Kind.DAMAGE: _damage,
    Kind.RESTORE: _restore,
    Kind.SCRAP: _scrap,
    Kind.LOCK: _lock,
    Kind.UNLOCK: _unlock,
    Kind.VIRTUAL: _virtual,
    Kind.TRANSFER_ALLOCATE: _transfer_allocate,
    Kind.TRANSFER_SHIP: _transfer_ship,
    Kind.TRANSFER_RECEIVE: _transfer_receive,
    Kind.ADJUST: _adjust,
    Kind.RETURN_RECEIVE: _return_receive,
    Kind.TRANSFER_RELEASE: _transfer_release,
    Kind.TRANSIT_LOSS: _transit_loss,
    Kind.EXPIRE: _expire,
}

# Which bins a movement needs: (from-bin, to-bin). A bin in the same place
# for both (pick from A to staging) is the service's business, not the rule's.
BIN_ROLES: dict[Kind, tuple[bool, bool]] = {
    Kind.RECEIVE: (False, True),
    Kind.MOVE: (True, True),
    Kind.RESERVE: (False, False),
    Kind.UNRESERVE: (False, False),
    Kind.PICK: (True, True),
    Kind.SHIP: (True, False),
    Kind.DAMAGE: (True, True),
    Kind.RESTORE: (True, True),
    Kind.SCRAP: (True, False),
    Kind.LOCK: (False, False),
    Kind.UNLOCK: (False, False),
    Kind.VIRTUAL: (False, False),
    Kind.TRANSFER_ALLOCATE: (False, False),
    Kind.TRANSFER_SHIP: (True, False),
    Kind.TRANSFER_RECEIVE: (False, True),
    Kind.ADJUST: (True, True),  # one bin: the counted one
    Kind.RETURN_RECEIVE: (False, True),
    Kind.TRANSFER_RELEASE: (False, False),
    Kind.TRANSIT_LOSS: (False, False),
    Kind.EXPIRE: (True, True),  # in place: the same bin
}


def parse_kind(value) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise UnknownKind(f"Unknown movement kind {str(value)[:40]!r}; known kinds: {known}") from None


def parse_condition(value) -> Condition:
    if value in (None, ""):
        return Condition.SELLABLE
    try:
        return Condition(value)
    except ValueError:
        raise InputError(f"Unknown condition {str(value)[:40]!r}; use sellable, damaged, returned or expired") from None


def decide(balance: Buckets, request: Request) -> Decision:
    """What `request` does to `balance`, or the StockError that refuses it.

    The answer always keeps the identity and every bucket at zero or above;
    that is checked here as well, so that a wrong rule fails loudly instead
    of corrupting stock.
    """
    rule = RULES[request.kind]
    decision = rule(balance, request)
    after = balance + decision.deltas
    if not decision.deltas.identity_holds() or not after.is_valid():
        raise AssertionError(f"rule {request.kind} broke the stock identity: {balance} -> {after}")
    if decision.dest_deltas and not decision.dest_deltas.identity_holds():
        raise AssertionError(f"rule {request.kind} broke the identity at the destination")
    return decision


__all__ = [
    "BIN_ROLES",
    "BUCKETS",
    "MAX_QTY",
    "RULES",
    "UNSELLABLE",
    "ZERO",
    "BinLeg",
    "BinShortage",
    "BinType",
    "Buckets",
    "Condition",
    "Decision",
    "DomainError",
    "InputError",
    "InvalidQuantity",
    "Kind",
    "NotEnoughStock",
    "Request",
    "StockError",
    "UnknownKind",
    "VirtualWouldOversell",
    "decide",
    "is_expired",
    "parse_condition",
    "parse_kind",
    "parse_qty",
    "release_claims",
]
