"""Moving-average cost (domain.valuation) on small hand-computed examples, and replayed at random."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import valuation as v


def test_receipts_average_their_costs_and_issues_go_out_at_the_average():
    pool = v.Pool()
    # 10 at 2.00, then 30 at 3.00: avg (20 + 90) / 40 = 2.75
    pool += (10, v.flow(pool, 10, v.to_e4("2.00"), receipt=True))
    pool += (30, v.flow(pool, 30, v.to_e4("3.00"), receipt=True))
    assert pool == v.Pool(40, v.to_e4("110.00")) and pool.avg_e4 == v.to_e4("2.75")
    # 4 shipped at 2.75 = 11.00, the average unchanged
    out = v.flow(pool, -4)
    assert out == -v.to_e4("11.00")
    pool += (-4, out)
    assert pool.avg_e4 == v.to_e4("2.75")
    # a count finds 2 more: at the average
    assert v.flow(pool, 2) == v.to_e4("5.50")


def test_a_share_is_rounded_half_to_even_and_the_last_unit_takes_what_is_left():
    pool = v.Pool(3, v.to_e4("10.00"))  # 3.3333… a unit
    first = v.flow(pool, -1)
    assert first == -33_333
    pool += (-1, first)
    second = v.flow(pool, -1)
    pool += (-1, second)
    last = v.flow(pool, -1)
    assert last == -pool.value and pool.value + last == 0  # nothing is left over, nothing is lost
    assert -(first + second + last) == v.to_e4("10.00")


def test_an_empty_pool_takes_units_at_the_cost_named_and_a_receipt_always_at_its_own():
    assert v.flow(v.Pool(), 5, v.to_e4("1.20")) == v.to_e4("6.00")  # a count gain into nothing
    assert v.flow(v.Pool(5, v.to_e4("5")), 5, v.to_e4("9")) == v.to_e4("5")  # not a receipt: at the average
    assert v.flow(v.Pool(5, v.to_e4("5")), 5, v.to_e4("9"), receipt=True) == v.to_e4("45")


def test_turnover_is_cost_of_goods_over_average_value():
    assert v.average_value([v.to_e4("100"), v.to_e4("300")]) == v.to_e4("200")
    assert v.turnover(v.to_e4("500"), v.to_e4("200")) == Decimal("2.50")
    assert v.turnover(v.to_e4("500"), 0) is None


def test_amounts_are_read_exactly_and_nonsense_is_refused():
    assert v.to_e4("12.34565") == 123_456  # half to even at the fifth decimal
    assert v.to_e4(None) is None and v.from_e4(125_000) == Decimal("12.5")
    for bad in ("abc", "1e", "NaN", "Infinity"):
        try:
            v.to_e4(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(0, 99_999)), max_size=60))
def test_the_pool_value_is_the_sum_of_its_flows_and_never_negative(steps):
    """Receipts at any cost and issues of any size: the value is exactly the sum of what moved, never
    below zero, and nothing is worth anything once the last unit is gone."""
    pool, moved = v.Pool(), 0
    for receipt, qty, cost in steps:
        dq = qty if receipt else -min(qty, pool.qty)
        if not dq:
            continue
        value = v.flow(pool, dq, cost, receipt=receipt)
        pool += (dq, value)
        moved += value
        assert pool.value == moved and pool.value >= 0
        if pool.qty == 0:
            assert pool.value == 0
        if pool.qty:
            assert min(c for r, _q, c in steps if r) <= pool.avg_e4 <= max(c for r, _q, c in steps if r) + 1
