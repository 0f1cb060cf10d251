"""Counting rules on small hand-made data: KPIs, ABC classes, due dates, thresholds, adjustments."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.counting import (
    CountedLine,
    Thresholds,
    Usage,
    classify,
    due,
    expected_qty,
    kpis,
    parse_frequency,
    passes_threshold,
    settle,
    split_adjustment,
)
from app.domain.stock import InputError

# ------------------------------------------------------------------ KPIs


def test_the_kpis_of_a_small_count_match_the_hand_computed_figures():
    # Four bin-item lines: system 10/5/20/0, counted 10/4/23/1.
    lines = [CountedLine(10, 10), CountedLine(5, 4), CountedLine(20, 23), CountedLine(0, 1)]
    k = kpis(lines)
    assert k.type_rate == 3 / 4  # three lines differ
    assert k.qty_rate == (0 + 1 + 3 + 1) / (10 + 5 + 20 + 0)  # 5 / 35
    assert k.ira == 1 / 4  # only the exact line is accurate with no tolerance
    assert (k.lines, k.differing, k.system_units, k.abs_difference) == (4, 3, 35, 5)


def test_record_accuracy_counts_lines_within_the_tolerance():
    lines = [CountedLine(10, 10), CountedLine(5, 4), CountedLine(20, 23), CountedLine(0, 1)]
    assert kpis(lines, tolerance=1).ira == 3 / 4
    assert kpis(lines, tolerance=3).ira == 1.0


def test_a_rate_with_nothing_under_it_is_none_not_zero():
    assert kpis([]).type_rate is None and kpis([]).ira is None
    only_found = kpis([CountedLine(0, 2)])
    assert only_found.qty_rate is None and only_found.type_rate == 1.0


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=40))
def test_rates_stay_between_zero_and_one_except_the_quantity_rate_which_can_exceed_it(pairs):
    k = kpis([CountedLine(s, c) for s, c in pairs])
    assert 0 <= k.type_rate <= 1 and 0 <= k.ira <= 1
    assert k.accurate + k.differing == k.lines  # with no tolerance, accurate means equal
    if k.qty_rate is not None:
        assert k.qty_rate >= 0


# ------------------------------------------------------------------ ABC


def test_abc_puts_the_items_making_80_percent_of_the_value_in_a():
    usage = [
        Usage(1, 100, Decimal(5)),  # 500: 50 %
        Usage(2, 60, Decimal(5)),  # 300: cumulative 80 %
        Usage(3, 100, Decimal(1)),  # 100: 90 %
        Usage(4, 50, Decimal(1)),  # 50: 95 %
        Usage(5, 50, Decimal(1)),  # 50: 100 %
        Usage(6, 0, Decimal(9)),  # never moved
    ]
    # The share *before* an item decides: 0 and 50 % -> A; 80 and 90 % -> B; 95 % -> C.
    assert classify(usage) == {1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "C"}


def test_abc_without_a_unit_cost_ranks_by_units():
    assert classify([Usage(1, 10), Usage(2, 90)]) == {2: "A", 1: "B"}


def test_abc_of_a_warehouse_where_nothing_moved_is_all_c():
    assert classify([Usage(1, 0), Usage(2, 0)]) == {1: "C", 2: "C"}


def test_abc_ties_are_broken_by_item_so_the_answer_is_stable():
    a = classify([Usage(2, 10), Usage(1, 10), Usage(3, 1)])
    b = classify([Usage(3, 1), Usage(1, 10), Usage(2, 10)])
    assert a == b == {1: "A", 2: "A", 3: "C"}  # 20 of 21 come before item 3: past 95 %


def test_items_are_due_by_their_class_frequency_or_when_never_counted():
    classes = {1: "A", 2: "B", 3: "C", 4: "A"}
    last = {1: date(2026, 10, 20), 2: date(2026, 10, 20), 3: date(2026, 1, 1)}
    today = date(2026, 11, 22)  # 33 days after 20 Oct
    assert due(classes, last, today) == [1, 3, 4]  # A every 30 days, B 90, C 180; 4 never counted
    assert due(classes, last, today, {"A": 60, "B": 30, "C": 365}) == [2, 4]


def test_count_frequencies_are_whole_days():
    assert parse_frequency({"A": "7", "B": "30", "C": "90"}) == {"A": 7, "B": 30, "C": 90}
    with pytest.raises(InputError):
        parse_frequency({"A": "0"})
    with pytest.raises(InputError):
        parse_frequency({"B": "weekly"})


# ------------------------------------------------------------------ variances


def test_the_expected_quantity_is_the_start_plus_the_movements_since():
    assert expected_qty(10, [-2, +12, -1]) == 19
    assert expected_qty(0, []) == 0


def test_a_variance_passes_the_threshold_by_units_or_by_value():
    limits = Thresholds(2, Decimal(50))
    assert not passes_threshold(2, Decimal(10), limits)  # 2 units, 20 in value
    assert passes_threshold(-3, Decimal(1), limits)  # 3 units
    assert passes_threshold(1, Decimal(60), limits)  # 60 in value
    assert not passes_threshold(0, Decimal(1000), limits)


def test_thresholds_are_parsed_and_checked():
    assert Thresholds.parse("3", "12.5") == Thresholds(3, Decimal("12.50"))
    for bad in (("-1", "0"), ("x", "0"), ("1", "NaN"), ("1", "-2")):
        with pytest.raises(InputError):
            Thresholds.parse(*bad)


def test_a_line_is_settled_by_round_threshold_and_movement():
    limits = Thresholds(2, Decimal(0))
    assert settle(0, None, limits, round_=1, moved_while_counting=False) == "match"
    assert settle(-1, None, limits, round_=1, moved_while_counting=False) == "accepted"
    assert settle(-3, None, limits, round_=1, moved_while_counting=False) == "recount"
    assert settle(0, None, limits, round_=1, moved_while_counting=True) == "recount"
    assert settle(-3, None, limits, round_=2, moved_while_counting=False) == "review"
    assert settle(-1, None, limits, round_=2, moved_while_counting=False) == "review"
    assert settle(0, None, limits, round_=2, moved_while_counting=False) == "match"


def test_a_shortage_is_taken_from_the_soonest_expiring_lot_first():
    lots = [("L2", 5, date(2027, 6, 1)), ("L1", 2, date(2027, 1, 1)), ("", 4, None)]
    assert split_adjustment(lots, -4) == [("L1", -2), ("L2", -2)]
    assert split_adjustment(lots, -9) == [("L1", -2), ("L2", -5), ("", -2)]
    with pytest.raises(InputError):
        split_adjustment(lots, -12)


def test_a_surplus_goes_to_the_lot_scanned_else_the_newest():
    lots = [("L2", 5, date(2027, 6, 1)), ("L1", 2, date(2027, 1, 1))]
    assert split_adjustment(lots, 3) == [("L2", 3)]
    assert split_adjustment(lots, 3, found_lot="L9") == [("L9", 3)]
    assert split_adjustment([], 2) == [("", 2)]
    assert split_adjustment(lots, 0) == []
