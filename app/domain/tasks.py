"""Floor task rules in plain Python: which bin to pick from, how much a scan
adds, where to put stock away, when a receipt is over. No Flask, no SQLAlchemy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from .stock import InputError, is_expired, parse_qty

# --------------------------------------------------------------------------
# How many units one scan stands for
# --------------------------------------------------------------------------


def scan_units(pack_qty: int, entered=None, count: int | None = None) -> int:
    """Units one scan adds: the quantity typed for it, else the GS1 count, else one pack.

    A typed or labelled quantity counts whatever the barcode stands for, so
    "3" and a case of 12 is 36 units.
    """
    if entered not in (None, ""):
        return parse_qty(entered) * pack_qty
    if count:
        return parse_qty(count) * pack_qty
    return pack_qty


def over_receipt(expected: int, received: int, adding: int) -> int:
    """Units beyond the expected quantity that this scan would receive (0 if none)."""
    return max(0, received + adding - expected) - max(0, received - expected)


# --------------------------------------------------------------------------
# Pick allocation: FEFO, then walking order
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    ref: int  # the order line
    item_id: int
    qty: int


@dataclass(frozen=True)
class Slot:
    """Sellable units of one lot of an item in one storage bin, free to allocate."""

    bin_id: int
    bin_code: str
    walk: int
    item_id: int
    lot: str
    expiry: date | None
    qty: int
    flagged: bool = False  # the bin waits for a count: use it last
    since: datetime | None = None  # since when the bin holds it (None: from before that was recorded)
    face: bool = False  # the item's pick face: picked from before reserve bins


@dataclass(frozen=True)
class PickPlan:
    ref: int
    item_id: int
    bin_id: int
    bin_code: str
    walk: int
    lot: str
    qty: int


def _slot_order(slot: Slot):
    # Earliest expiry first (FEFO); no expiry after every dated lot; a bin
    # that a picker found short goes last; the item's pick face before its
    # reserve bins; then first in, first out (stock of unknown age counts as
    # the oldest); then the walk.
    return (slot.expiry is None, slot.expiry or date.max, slot.flagged, not slot.face, slot.since is not None,
            slot.since or datetime.min, slot.walk, slot.bin_code, slot.lot)


def allocate(needs: list[Need], slots: list[Slot], today: date | None = None) -> tuple[list[PickPlan], dict[int, int]]:
    """Pick lines for `needs` from `slots`, in walking order, and what could not be found per need.

    Needs are served in the order given (the oldest order first), each from
    the earliest-expiring lot, so that when stock is short the newest order
    is the one that waits. A lot expired by `today` is never allocated.
    """
    free: dict[int, list[list]] = defaultdict(list)
    for slot in sorted(slots, key=_slot_order):
        if slot.qty > 0 and not (today is not None and is_expired(slot.expiry, today)):
            free[slot.item_id].append([slot, slot.qty])
    plans: list[PickPlan] = []
    missing: dict[int, int] = {}
    for need in needs:
        left = need.qty
        for entry in free[need.item_id]:
            if left <= 0:
                break
            slot, available = entry
            take = min(left, available)
            if take <= 0:
                continue
            entry[1] -= take
            left -= take
            plans.append(PickPlan(need.ref, need.item_id, slot.bin_id, slot.bin_code, slot.walk, slot.lot, take))
        if left > 0:
            missing[need.ref] = left
    order = {need.ref: n for n, need in enumerate(needs)}
    plans.sort(key=lambda p: (p.walk, p.bin_code, p.item_id, p.lot, order[p.ref]))
    return plans, missing


# --------------------------------------------------------------------------
# Pick faces: refilled from reserve when a pick leaves them at or below their minimum
# --------------------------------------------------------------------------


def short_shelf_life(expiry: date | None, today: date, min_days: int | None) -> int | None:
    """Days of shelf life left when fewer than an item's minimum at receipt (None: enough, or no rule).
    An expired lot (fewer than 0 days) is domain.stock.is_expired's business."""
    if expiry is None or min_days is None:
        return None
    left = (expiry - today).days
    return left if 0 <= left < min_days else None


def replenish_need(on_hand: int, min_qty: int, max_qty: int) -> int:
    """Units to bring to a pick face holding `on_hand`: none while it holds more than its
    minimum; at or below it, enough to fill it to its maximum."""
    if on_hand > min_qty:
        return 0
    return max(0, max_qty - on_hand)


def face_levels(min_qty, max_qty) -> tuple[int, int]:
    """A pick face's minimum and maximum, checked: whole numbers, 0 ≤ min < max ≤ 1,000,000."""
    low = parse_qty(min_qty, allow_zero=True)
    high = parse_qty(max_qty)
    if high <= low:
        raise InputError.of(N_("The maximum must be more than the minimum (%(min)s)."), min=low)
    return low, high


# --------------------------------------------------------------------------
# Putaway: where the item already is, else the first empty bin on the walk
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BinChoice:
    bin_id: int
    code: str
    walk: int
    holds_item: bool


def suggest_bin(holding: list[BinChoice], empty: list[BinChoice]) -> BinChoice | None:
    """The bin to put an item away into: one that holds it already (first on the
    walk), so it stays in one place; else the first empty storage bin."""
    if holding:
        return min(holding, key=lambda b: (b.walk, b.code))
    if empty:
        return min(empty, key=lambda b: (b.walk, b.code))
    return None


# --------------------------------------------------------------------------
# Reasons an operator can give
# --------------------------------------------------------------------------

def N_(text: str) -> str:
    """Marks a label for the translation catalogue (pybabel -k N_); screens translate it where shown."""
    return text


RETURN_REASONS = {
    "not-wanted": N_("Not wanted"),
    "damaged": N_("Arrived damaged"),
    "wrong-item": N_("Wrong item sent"),
    "defective": N_("Defective"),
    "other": N_("Other"),
}
DAMAGE_REASONS = {
    "broken": N_("Broken"),
    "wet": N_("Wet"),
    "expired": N_("Expired"),
    "wrong-item": N_("Wrong item in bin"),
    "other": N_("Other"),
}
PARTIAL_SHIP_REASONS = {
    "stock-short": N_("Stock short: ship the rest later"),
    "customer": N_("Customer asked for what is ready"),
    "cut-off": N_("Carrier cut-off"),
}


def reason(choices: dict[str, str], key) -> str:
    if key not in choices:
        raise InputError(f"Choose a reason: {', '.join(choices.values())}")
    return choices[key]


# --------------------------------------------------------------------------
# Moving stock between bins: where stock of a condition may go
# --------------------------------------------------------------------------

# The bin type stock of each condition lives in: sellable stock in storage (and on the docks, where
# it waits to be put away), damaged and expired stock in quarantine (an expired lot may also wait in
# its bin, where it expired, until it is taken there), returned stock in the returns bins.
HOME_TYPES = {"sellable": ("storage", "dock"), "damaged": ("quarantine",), "expired": ("quarantine",),
              "returned": ("returns",)}


def move_refusal(source_type: str, target_type: str, condition: str, same_bin: bool = False):
    """Why stock of `condition` may not move from a bin of `source_type` to one of `target_type`, as
    (template, values), or None. Staged stock belongs to its order; sellable stock goes into storage
    (dock to dock repositions a pallet); damaged and returned stock stay in their own bin types."""
    if same_bin:
        return N_("It is already in %(target)s: scan another bin."), {}
    if source_type == "staging":
        return N_("Staged stock belongs to its order: ship it, or cancel the order and put it away."), {}
    if condition == "sellable":
        if target_type == "storage" or (target_type == "dock" and source_type == "dock"):
            return None
        return N_("Move into a storage bin — %(target)s is a %(type)s bin."), {"type": target_type}
    if target_type in HOME_TYPES.get(condition, ()):
        return None
    if condition == "damaged":
        return N_("Damaged stock moves only between quarantine bins — %(target)s is a %(type)s bin."), {"type": target_type}
    if condition == "expired":
        return N_("Expired stock goes to quarantine to be scrapped — %(target)s is a %(type)s bin."), {"type": target_type}
    return N_("Returned stock waits in a returns bin for inspection — %(target)s is a %(type)s bin."), {"type": target_type}
