"""The floor task rules on small hand-made data: allocation (FEFO, walk), scan quantities, putaway bins."""

from datetime import date

import pytest

from app.domain.stock import InputError, InvalidQuantity
from app.domain.tasks import (
    PARTIAL_SHIP_REASONS,
    BinChoice,
    Need,
    Slot,
    allocate,
    over_receipt,
    reason,
    scan_units,
    suggest_bin,
)


def slot(bin_code, walk, qty, item=1, lot="", expiry=None, flagged=False):
    return Slot(hash(bin_code) % 1000, bin_code, walk, item, lot, expiry, qty, flagged)


def test_a_unit_scan_is_one_a_case_its_pack_and_a_typed_quantity_counts_what_was_scanned():
    assert scan_units(1) == 1
    assert scan_units(12) == 12
    assert scan_units(1, "5") == 5
    assert scan_units(12, "3") == 36
    assert scan_units(1, None, count=24) == 24
    assert scan_units(6, None, count=4) == 24


@pytest.mark.parametrize("entered", ["0", "-2", "1.5", "x", "9" * 12])
def test_a_typed_quantity_that_is_not_a_whole_positive_number_is_refused(entered):
    with pytest.raises(InvalidQuantity):
        scan_units(1, entered)


def test_over_receipt_counts_only_the_units_beyond_the_expected():
    assert over_receipt(24, 20, 4) == 0
    assert over_receipt(24, 20, 6) == 2
    assert over_receipt(24, 26, 1) == 1  # already over: this scan adds one more
    assert over_receipt(0, 0, 3) == 3


def test_allocation_takes_the_earliest_expiry_first_whatever_the_walk():
    early, late = date(2027, 1, 1), date(2027, 6, 1)
    plans, missing = allocate(
        [Need(1, 1, 5)],
        [slot("A-01", 10, 10, lot="LATE", expiry=late), slot("C-09", 90, 3, lot="EARLY", expiry=early)],
    )
    assert [(p.bin_code, p.lot, p.qty) for p in plans] == [("A-01", "LATE", 2), ("C-09", "EARLY", 3)]
    assert missing == {}


def test_allocation_without_lots_follows_the_walk_and_leaves_flagged_bins_for_last():
    plans, _ = allocate(
        [Need(1, 1, 4)],
        [slot("B-01", 20, 4, flagged=True), slot("C-01", 30, 3), slot("A-01", 10, 0)],
    )
    # C-01 gives all it has before the flagged B-01 is touched; the list itself is in walking order.
    assert [(p.bin_code, p.qty) for p in plans] == [("B-01", 1), ("C-01", 3)]


def test_allocation_serves_the_oldest_order_first_and_reports_what_is_missing():
    plans, missing = allocate([Need(10, 1, 3), Need(20, 1, 3), Need(30, 2, 1)], [slot("A-01", 10, 4)])
    assert [(p.ref, p.qty) for p in plans] == [(10, 3), (20, 1)]
    assert missing == {20: 2, 30: 1}


def test_a_batch_pick_list_is_in_walking_order_across_orders():
    plans, _ = allocate(
        [Need(1, 1, 1), Need(2, 2, 1), Need(3, 1, 1)],
        [slot("C-01", 30, 1, item=1), slot("A-01", 10, 1, item=2), slot("B-01", 20, 5, item=1)],
    )
    # Both orders of item 1 come from B-01, the first bin on the walk that has it.
    assert [(p.bin_code, p.ref) for p in plans] == [("A-01", 2), ("B-01", 1), ("B-01", 3)]


def test_putaway_prefers_a_bin_holding_the_item_then_the_first_empty_bin():
    holding = [BinChoice(2, "C-01", 30, True), BinChoice(1, "B-01", 20, True)]
    empty = [BinChoice(3, "A-02", 5, False), BinChoice(4, "A-01", 4, False)]
    assert suggest_bin(holding, empty).code == "B-01"
    assert suggest_bin([], empty).code == "A-01"
    assert suggest_bin([], []) is None


def test_an_unknown_reason_is_refused_with_the_choices():
    assert reason(PARTIAL_SHIP_REASONS, "cut-off") == "Carrier cut-off"
    with pytest.raises(InputError, match="Choose a reason"):
        reason(PARTIAL_SHIP_REASONS, "because")


def test_an_expired_lot_is_never_allocated():
    today = date(2026, 12, 1)
    plans, missing = allocate(
        [Need(1, 1, 5)],
        [slot("A-01", 10, 10, lot="OLD", expiry=date(2026, 11, 30)),
         slot("B-01", 20, 3, lot="TODAY", expiry=today)],
        today=today,
    )
    assert [(p.bin_code, p.lot, p.qty) for p in plans] == [("B-01", "TODAY", 3)]
    assert missing == {1: 2}


def test_stock_without_expiry_is_picked_first_in_first_out_whatever_the_walk():
    from datetime import datetime

    old, new = datetime(2026, 10, 1, 8), datetime(2026, 11, 20, 8)
    plans, _ = allocate(
        [Need(1, 1, 4)],
        [Slot(1, "A-01", 10, 1, "", None, 5, since=new), Slot(2, "C-01", 30, 1, "", None, 3, since=old)],
    )
    assert [(p.bin_code, p.qty) for p in plans] == [("A-01", 1), ("C-01", 3)]  # C-01's older units first
    # Dated lots still go by their date first: first expired, first out.
    plans, _ = allocate(
        [Need(1, 1, 1)],
        [Slot(1, "A-01", 10, 1, "L2", date(2027, 3, 1), 5, since=old),
         Slot(2, "C-01", 30, 1, "L1", date(2027, 1, 1), 3, since=new)],
    )
    assert [p.lot for p in plans] == ["L1"]


def test_a_pick_face_is_picked_before_reserve_but_never_before_an_earlier_expiry():
    from datetime import datetime

    old = datetime(2026, 1, 1)
    plans, _ = allocate([Need(1, 1, 2)], [Slot(1, "R-01", 5, 1, "", None, 9, since=old),
                                           Slot(2, "F-01", 50, 1, "", None, 4, face=True)])
    assert [p.bin_code for p in plans] == ["F-01"]
    plans, _ = allocate([Need(1, 1, 2)], [Slot(1, "R-01", 5, 1, "L1", date(2027, 1, 1), 9),
                                           Slot(2, "F-01", 50, 1, "L2", date(2027, 6, 1), 4, face=True)])
    assert [p.bin_code for p in plans] == ["R-01"]


def test_a_pick_face_is_refilled_to_its_maximum_only_at_or_below_its_minimum():
    from app.domain.tasks import face_levels, replenish_need

    assert replenish_need(3, 2, 10) == 0
    assert replenish_need(2, 2, 10) == 8
    assert replenish_need(0, 0, 5) == 5
    assert face_levels("2", "10") == (2, 10)
    for low, high in (("5", "5"), ("x", "3"), ("-1", "4"), ("1", "0")):
        with pytest.raises(InputError):
            face_levels(low, high)
