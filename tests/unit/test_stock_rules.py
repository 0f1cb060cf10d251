"""The movement table of DESIGN.md section 3, rule by rule."""

import pytest

from app.domain.stock import (
    BinShortage,
    Buckets,
    Condition,
    InputError,
    InvalidQuantity,
    Kind,
    NotEnoughStock,
    Request,
    UnknownKind,
    VirtualWouldOversell,
    decide,
    parse_kind,
    parse_qty,
)

STOCKED = Buckets(i=20, s=10, o=4, u=2, l=3, v=0, t=1, a=5)


def deltas(kind, qty, balance=STOCKED, **kw):
    kw.setdefault("held", 100)
    return decide(balance, Request(kind, qty, **kw)).deltas


@pytest.mark.parametrize(
    "kind, qty, extra, expected",
    [
        (Kind.RECEIVE, 5, {}, Buckets(i=5, s=5)),
        (Kind.RECEIVE, 5, {"damaged": True}, Buckets(i=5, u=5)),
        (Kind.MOVE, 5, {}, Buckets()),
        (Kind.RESERVE, 5, {}, Buckets(s=-5, o=5)),
        (Kind.UNRESERVE, 4, {}, Buckets(o=-4, s=4)),
        (Kind.PICK, 3, {}, Buckets()),
        (Kind.SHIP, 4, {}, Buckets(i=-4, o=-4)),
        (Kind.DAMAGE, 3, {}, Buckets(s=-3, u=3)),
        (Kind.RESTORE, 2, {"condition": Condition.DAMAGED}, Buckets(u=-2, s=2)),
        (Kind.SCRAP, 2, {"condition": Condition.DAMAGED}, Buckets(i=-2, u=-2)),
        (Kind.LOCK, 4, {}, Buckets(s=-4, l=4)),
        (Kind.UNLOCK, 3, {}, Buckets(l=-3, s=3)),
        (Kind.VIRTUAL, 7, {}, Buckets(v=7, s=7)),
        (Kind.TRANSFER_ALLOCATE, 6, {}, Buckets(s=-6, t=6)),
        (Kind.TRANSFER_SHIP, 1, {}, Buckets(i=-1, t=-1)),
        (Kind.TRANSFER_RECEIVE, 5, {}, Buckets(a=-5, i=5, s=5)),
        (Kind.TRANSFER_RECEIVE, 5, {"damaged": True}, Buckets(a=-5, i=5, u=5)),
        (Kind.RETURN_RECEIVE, 2, {}, Buckets(i=2, u=2)),
    ],
)
def test_each_movement_changes_the_buckets_as_the_design_table_says(kind, qty, extra, expected):
    assert deltas(kind, qty, **extra) == expected


def test_the_stocked_balance_used_here_keeps_the_identity():
    assert STOCKED.identity_holds()


def test_a_transfer_shipment_puts_the_units_in_transit_at_the_destination():
    decision = decide(STOCKED, Request(Kind.TRANSFER_SHIP, 1, held=5))
    assert decision.dest_deltas == Buckets(a=1)
    assert decision.take.qty == 1 and decision.put is None


def test_a_count_adjustment_adds_the_difference_between_counted_and_expected():
    up = decide(STOCKED, Request(Kind.ADJUST, 9, held=6))
    assert up.deltas == Buckets(i=3, s=3) and up.put.qty == 3 and up.take is None
    down = decide(STOCKED, Request(Kind.ADJUST, 4, held=6))
    assert down.deltas == Buckets(i=-2, s=-2) and down.take.qty == 2


def test_a_count_that_matches_changes_nothing():
    same = decide(STOCKED, Request(Kind.ADJUST, 6, held=6))
    assert same.qty == 0 and not same.deltas and same.take is None and same.put is None


def test_reserving_more_than_is_sellable_is_refused_with_a_clear_message():
    with pytest.raises(NotEnoughStock) as e:
        decide(Buckets(i=3, s=3), Request(Kind.RESERVE, 5))
    assert e.value.message == "Only 3 sellable, 5 requested"
    assert e.value.code == "not_enough_sellable"


@pytest.mark.parametrize(
    "kind, bucket",
    [
        (Kind.RESERVE, "s"),
        (Kind.LOCK, "s"),
        (Kind.TRANSFER_ALLOCATE, "s"),
        (Kind.UNRESERVE, "o"),
        (Kind.SHIP, "o"),
        (Kind.UNLOCK, "l"),
        (Kind.TRANSFER_SHIP, "t"),
        (Kind.TRANSFER_RECEIVE, "a"),
    ],
)
def test_every_claim_is_refused_when_its_bucket_is_short(kind, bucket):
    with pytest.raises(NotEnoughStock) as e:
        decide(Buckets(), Request(kind, 1, held=10))
    assert e.value.bucket == bucket


@pytest.mark.parametrize("kind", [Kind.RESTORE, Kind.SCRAP])
def test_restore_and_scrap_are_refused_when_unsellable_is_short(kind):
    with pytest.raises(NotEnoughStock, match="Only 2 unsellable, 3 requested"):
        decide(STOCKED, Request(kind, 3, condition=Condition.DAMAGED, held=10))


def test_sellable_stock_cannot_be_scrapped_without_being_tagged_first():
    with pytest.raises(InputError, match="tag it damaged first"):
        decide(STOCKED, Request(Kind.SCRAP, 1, condition=Condition.SELLABLE, held=10))


@pytest.mark.parametrize("kind", [Kind.MOVE, Kind.PICK, Kind.DAMAGE, Kind.SHIP])
def test_taking_more_than_a_bin_holds_is_refused_naming_the_bin(kind):
    with pytest.raises(BinShortage, match="Bin A-01 holds 2 of SKU-1, 3 requested"):
        decide(STOCKED, Request(kind, 3, held=2, bin_code="A-01", sku="SKU-1"))


def test_damage_is_never_refused_and_releases_the_newest_claims_when_sellable_is_short():
    balance = Buckets(i=10, s=2, o=5, l=3)
    decision = decide(balance, Request(Kind.DAMAGE, 6, held=10))
    assert decision.released == Buckets(o=4)
    assert balance + decision.deltas == Buckets(i=10, s=0, o=1, u=6, l=3)


def test_damage_releases_locks_and_then_transfer_allocations_after_reservations():
    balance = Buckets(i=10, s=0, o=2, l=3, t=5)
    decision = decide(balance, Request(Kind.DAMAGE, 7, held=10))
    assert decision.released == Buckets(o=2, l=3, t=2)
    assert balance + decision.deltas == Buckets(i=10, s=0, o=0, u=7, l=0, t=3)


def test_a_count_below_expected_releases_reservations_like_damage():
    balance = Buckets(i=5, s=0, o=5)
    decision = decide(balance, Request(Kind.ADJUST, 2, held=5))
    assert decision.released == Buckets(o=3)
    assert balance + decision.deltas == Buckets(i=2, s=0, o=2)


def test_virtual_stock_is_set_to_a_level_not_added():
    balance = Buckets(i=5, s=15, v=10)
    assert deltas(Kind.VIRTUAL, 4, balance) == Buckets(v=-6, s=-6)


def test_virtual_stock_cannot_be_cut_below_what_is_already_sold_against_it():
    balance = Buckets(i=0, s=3, o=7, v=10)
    with pytest.raises(VirtualWouldOversell, match="sellable is 3"):
        decide(balance, Request(Kind.VIRTUAL, 2))


@pytest.mark.parametrize(
    "value, message",
    [
        (0, "at least 1"),
        (-3, "at least 1"),
        (2.5, "whole number"),
        ("2.5", "whole number"),
        ("ten", "whole number"),
        (None, "required"),
        (True, "required"),
        (10**9, "too large"),
        ([1], "whole number"),
    ],
)
def test_quantities_that_are_not_whole_positive_and_sane_are_refused(value, message):
    with pytest.raises(InvalidQuantity, match=message):
        parse_qty(value)


def test_quantities_given_as_text_or_integral_floats_are_read():
    assert parse_qty("12") == 12 and parse_qty(3.0) == 3 and parse_qty(" 7 ") == 7
    assert parse_qty(0, allow_zero=True) == 0


def test_an_unknown_movement_kind_lists_the_known_ones():
    with pytest.raises(UnknownKind, match="known kinds: receive, move"):
        parse_kind("teleport")


def test_an_expired_lot_leaves_sellable_for_unsellable_in_its_bin_and_releases_claims_as_damage_does():
    balance = Buckets(i=10, s=2, o=5, l=3)
    decision = decide(balance, Request(Kind.EXPIRE, 6, held=10, bin_code="A-01", sku="SKU-1"))
    assert decision.released == Buckets(o=4)
    assert (decision.take.condition, decision.put.condition) == (Condition.SELLABLE, Condition.EXPIRED)
    assert balance + decision.deltas == Buckets(i=10, s=0, o=1, u=6, l=3)
    with pytest.raises(BinShortage):
        decide(balance, Request(Kind.EXPIRE, 11, held=10, bin_code="A-01", sku="SKU-1"))


def test_expired_stock_is_scrapped_never_restored_to_sale():
    balance = Buckets(i=4, s=0, u=4)
    with pytest.raises(InputError, match="expired lot cannot be sold again"):
        decide(balance, Request(Kind.RESTORE, 1, condition=Condition.EXPIRED, held=4))
    scrapped = decide(balance, Request(Kind.SCRAP, 4, condition=Condition.EXPIRED, held=4))
    assert balance + scrapped.deltas == Buckets()


def test_a_lot_is_expired_the_day_after_its_date():
    from datetime import date

    from app.domain.stock import is_expired

    assert not is_expired(date(2026, 12, 1), date(2026, 12, 1))
    assert is_expired(date(2026, 11, 30), date(2026, 12, 1))
    assert not is_expired(None, date(2026, 12, 1))
