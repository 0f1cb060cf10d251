"""The planning formulas on small hand-computed examples, and the projected position's one rule."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.planning import (
    Demand,
    daily_demand,
    economic_order_quantity,
    order_quantity,
    parse_level,
    plan,
    projected_position,
    reorder_point,
    safety_stock,
    z_for,
)
from app.domain.stock import InputError


def test_z_is_the_normal_quantile_of_the_service_level():
    assert z_for(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert z_for(0.98) == pytest.approx(2.0537, abs=1e-4)
    assert parse_level("95 %") == parse_level("0.95") == 0.95
    for bad in ("x", "100", "40", "1.0"):
        with pytest.raises(InputError):
            parse_level(bad)


def test_safety_stock_and_reorder_point_by_hand():
    # z 1.645, lead time 9 ± 2 days, demand 10 ± 3 a day: √(9·9 + 100·4) = √481 = 21.93.
    ss = safety_stock(1.645, 9, 2, 10, 3)
    assert ss == pytest.approx(1.645 * 21.9317, abs=1e-3)
    assert reorder_point(10, 9, ss) == pytest.approx(90 + 36.078, abs=1e-2)
    assert safety_stock(1.645, 9, 0, 10, 0) == 0  # certain demand and lead time need none


def test_demand_leaves_out_the_days_without_stock():
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(5)]
    demand = daily_demand({days[0]: 4, days[1]: 6, days[3]: 2, days[4]: 9}, days, stocked_out={days[4]})
    assert (demand.mean, demand.days, demand.left_out) == (3, 4, 1)
    assert demand.sd == pytest.approx((20 / 3) ** 0.5)


def test_an_order_is_rounded_up_to_the_minimum_and_the_pack():
    assert order_quantity(130, 126.08) == 0  # above the reorder point
    assert order_quantity(100, 126.08, eoq=50, moq=60, pack=12) == 84  # 176.08 − 100 = 77 → 7 packs of 12
    assert order_quantity(100, 126.08, eoq=0, moq=60, pack=1) == 60  # 27 short, but the supplier's minimum is 60
    assert order_quantity(50, 80, maximum=200, pack=25) == 150
    assert economic_order_quantity(1000, 50, 2.5) == pytest.approx(200)


def test_a_plan_shows_its_inputs_and_proposes_nothing_for_an_item_nobody_buys():
    p = plan(Demand(10, 3, 90, 0), 0.95, 9, 2, sellable=40, on_order=30, in_transit=5, backordered=0, moq=60, pack=12)
    assert (p.position, round(p.rop, 1), p.propose) == (75, 126.1, 60)
    idle = plan(Demand(0, 0, 90, 0), 0.9, 5, 1, sellable=3, on_order=0, in_transit=0, backordered=0)
    assert idle.propose == 0
    waiting = plan(Demand(0, 0, 90, 0), 0.9, 5, 1, sellable=0, on_order=0, in_transit=0, backordered=4)
    assert waiting.propose == 4  # customers wait: order what they wait for


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500), st.integers(0, 500), st.integers(0, 500),
       st.integers(0, 500), st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_the_projected_position_never_counts_a_unit_twice(i, o, u, lock, v, t, a, on_order, backordered):
    s = i - o - u - lock + v - t
    if s < 0:
        return  # not a balance the stock rules allow
    position = projected_position(s, on_order, a, backordered)
    # Every unit counted is sellable on hand (or virtual), ordered or on its way — each once.
    assert position <= (i - u + v) + on_order + a - backordered
    assert position <= s + on_order + a


def test_a_transfer_moves_spare_cover_to_where_it_is_short():
    from app.domain.planning import cover_days, transfer_quantity

    assert cover_days(120, 2) == 60 and cover_days(5, 0) == float("inf") and cover_days(0, 3) == 0
    # Source: 300 at 2 a day is 150 days of cover, limit 60 keeps 120; the destination is 18 below its ROP.
    assert transfer_quantity(300, 2, 20, 60, dest_position=12, dest_rop=30) == 18
    assert transfer_quantity(130, 2, 20, 60, dest_position=0, dest_rop=30) == 10  # only 10 spare
    assert transfer_quantity(100, 2, 20, 60, dest_position=0, dest_rop=30) == 0  # 50 days: not over the limit
    assert transfer_quantity(300, 2, 20, 60, dest_position=40, dest_rop=30) == 0  # the destination is fine
    assert transfer_quantity(40, 0, 0, 60, dest_position=-3, dest_rop=0) == 3  # dead stock here, backorders there


def test_stock_ages_first_in_first_out_and_slow_movers_get_an_action():
    from app.domain.planning import age_layers, slow_action, slow_mover

    today = date(2026, 12, 1)
    receipts = [(today - timedelta(days=200), 10), (today - timedelta(days=100), 10), (today - timedelta(days=10), 5)]
    # 12 on hand: the newest 5 (10 days), then 7 of the 100-day receipt; the oldest receipt is gone.
    assert age_layers(receipts, 12, today) == {"0–30": 5, "31–90": 0, "91–180": 7, "over 180": 0}
    assert age_layers(receipts, 30, today) == {"0–30": 5, "31–90": 0, "91–180": 10, "over 180": 15}  # 5 of unknown age
    assert slow_mover(10, None, 0) and slow_mover(10, 61, 5) and slow_mover(10, 3, 200)
    assert not slow_mover(10, 3, 20) and not slow_mover(0, None, 0)
    assert slow_action(True, True) == "transfer" and slow_action(False, True) == "return to supplier"
    assert slow_action(False, False) == "clearance"


def test_the_age_bands_start_where_their_ages_begin_and_the_oldest_takes_the_rest():
    from app.domain.planning import band_starts, layers_from_bands

    today = date(2026, 12, 1)
    assert band_starts(today) == [("0–30", date(2026, 11, 1)), ("31–90", date(2026, 9, 2)),
                                  ("91–180", date(2026, 6, 4))]  # ages 30, 90 and 180 are in
    # 40 on hand: the 15 of the last 30 days, all 20 of the 91–180 band, and 5 older than any band named
    assert layers_from_bands({"0–30": 15, "91–180": 20}, 40) == {"0–30": 15, "31–90": 0, "91–180": 20, "over 180": 5}
    assert layers_from_bands({"0–30": 15}, 10) == {"0–30": 10, "31–90": 0, "91–180": 0, "over 180": 0}
    assert layers_from_bands({}, -3) == {"0–30": 0, "31–90": 0, "91–180": 0, "over 180": 0}


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 50)), max_size=40), st.integers(-5, 900))
def test_sums_per_age_band_age_the_stock_as_walking_every_receipt_back_does(receipts, on_hand):
    """The screen sums receipts per band in the database; first in, first out over each receipt in
    turn, newest first, must give the same layers."""
    from app.domain.planning import AGE_BANDS, age_layers

    today = date(2026, 12, 1)
    dated = [(today - timedelta(days=age), qty) for age, qty in receipts]
    walked = {label: 0 for label, _lo, _hi in AGE_BANDS}
    left = max(0, on_hand)
    for day, qty in sorted(dated, key=lambda r: r[0], reverse=True):
        take = min(left, qty)
        age = (today - day).days
        walked[next(lb for lb, lo, hi in AGE_BANDS if lo <= age and (hi is None or age <= hi))] += take
        left -= take
    walked[AGE_BANDS[-1][0]] += left
    assert age_layers(dated, on_hand, today) == walked
    assert sum(walked.values()) == max(0, on_hand)
