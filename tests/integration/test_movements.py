"""Movements through the database, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, select

from app.domain.stock import BinShortage, InputError, NotEnoughStock
from app.extensions import db
from app.models import Balance, BinStock, Movement, Order
from app.services.ledger import check_ledger
from app.services.orders import OrderLineRequest, OrderShort, cancel_order, place_order
from app.services.stock import NotFound
from tests.builders import make_site, move, receive


@pytest.fixture
def site(any_app):
    return make_site()


def buckets(sku="SKU-1", warehouse="W1"):
    from app.models import Item, Warehouse

    db.session.rollback()  # a fresh snapshot: the services write in sessions of their own
    row = db.session.execute(
        select(Balance).join(Item).join(Warehouse).where(Item.sku == sku, Warehouse.code == warehouse)
    ).scalar_one_or_none()
    return row.buckets().as_dict(upper=True) if row else None


def bin_qty(bin_code, sku="SKU-1", condition="sellable", lot=""):
    from app.models import Bin, Item

    db.session.rollback()
    return (
        db.session.execute(
            select(func.coalesce(func.sum(BinStock.qty), 0))
            .join(Bin)
            .join(Item)
            .where(Bin.code == bin_code, Item.sku == sku, BinStock.condition == condition, BinStock.lot == lot)
        ).scalar_one()
    )


def movements():
    db.session.rollback()
    return db.session.execute(select(func.count(Movement.id))).scalar_one()


def test_a_receipt_lands_in_the_bin_and_in_on_hand_and_sellable(site):
    result = receive(qty=10)
    assert result.balance == {"I": 10, "S": 10, "O": 0, "U": 0, "L": 0, "V": 0, "T": 0, "A": 0}
    assert bin_qty("A-01") == 10
    assert check_ledger(db.session) == []


def test_a_receipt_without_a_bin_goes_to_the_receiving_dock(site):
    move("receive", qty=4)
    assert bin_qty("DOCK") == 4


def test_a_damaged_receipt_is_unsellable(site):
    receive(qty=3, condition="damaged", to_bin="QUAR")
    assert buckets()["U"] == 3 and buckets()["S"] == 0
    assert bin_qty("QUAR", condition="damaged") == 3


def test_putaway_moves_between_bins_without_touching_the_buckets(site):
    move("receive", qty=5)
    move("move", qty=5, from_bin="DOCK", to_bin="B-01")
    assert bin_qty("DOCK") == 0 and bin_qty("B-01") == 5
    assert buckets() == {"I": 5, "S": 5, "O": 0, "U": 0, "L": 0, "V": 0, "T": 0, "A": 0}


def test_a_move_of_more_than_the_bin_holds_is_refused_and_changes_nothing(site):
    receive(qty=2)
    before = (movements(), buckets(), bin_qty("A-01"))
    with pytest.raises(BinShortage, match="Bin A-01 holds 2 of SKU-1, 3 requested"):
        move("move", qty=3, from_bin="A-01", to_bin="B-01")
    assert (movements(), buckets(), bin_qty("A-01")) == before


def test_the_whole_life_of_an_order_keeps_buckets_and_bins_exact(site):
    receive(qty=10)
    order, created = place_order("shop", "A1", "W1", [OrderLineRequest("SKU-1", 4)])
    assert created and buckets()["S"] == 6 and buckets()["O"] == 4
    move("pick", qty=4, from_bin="A-01")
    assert bin_qty("STAGE") == 4 and buckets()["O"] == 4
    with pytest.raises(InputError, match="belongs to an order"):
        move("ship", qty=4)
    move("ship", qty=4, doc_type="order", doc_id=order["id"])
    assert buckets() == {"I": 6, "S": 6, "O": 0, "U": 0, "L": 0, "V": 0, "T": 0, "A": 0}
    assert bin_qty("STAGE") == 0
    assert check_ledger(db.session) == []


def test_damage_in_place_turns_sellable_into_unsellable_in_the_same_bin(site):
    receive(qty=5)
    move("damage", qty=2, from_bin="A-01")
    assert bin_qty("A-01") == 3 and bin_qty("A-01", condition="damaged") == 2
    assert buckets()["S"] == 3 and buckets()["U"] == 2


def test_damage_that_sellable_cannot_cover_takes_back_the_newest_reservations(site):
    receive(qty=5)
    place_order("shop", "OLD", "W1", [OrderLineRequest("SKU-1", 2)])
    place_order("shop", "NEW", "W1", [OrderLineRequest("SKU-1", 2)])
    result = move("damage", qty=3, from_bin="A-01", to_bin="QUAR")
    assert buckets() == {"I": 5, "S": 0, "O": 2, "U": 3, "L": 0, "V": 0, "T": 0, "A": 0}
    orders = {o.external_id: o for o in db.session.execute(select(Order)).scalars()}
    assert orders["NEW"].short and orders["NEW"].lines[0].reserved == 0 and orders["NEW"].lines[0].short == 2
    assert not orders["OLD"].short
    assert result.flagged_orders == [orders["NEW"].id]
    assert check_ledger(db.session) == []


def test_restore_and_scrap_act_only_on_unsellable_stock(site):
    receive(qty=5)
    move("damage", qty=3, from_bin="A-01", to_bin="QUAR")
    move("restore", qty=1, from_bin="QUAR", condition="damaged", to_bin="A-01")
    move("scrap", qty=2, from_bin="QUAR", condition="damaged")
    assert buckets() == {"I": 3, "S": 3, "O": 0, "U": 0, "L": 0, "V": 0, "T": 0, "A": 0}
    with pytest.raises(NotEnoughStock):
        move("scrap", qty=1, from_bin="QUAR", condition="damaged")


def test_locks_virtual_stock_and_a_transfer_move_the_right_buckets(site):
    receive(qty=10)
    move("lock", qty=3)
    move("virtual", qty=5)
    move("transfer_allocate", qty=4)
    move("transfer_ship", qty=4, from_bin="A-01", dest_warehouse="W2")
    assert buckets() == {"I": 6, "S": 8, "O": 0, "U": 0, "L": 3, "V": 5, "T": 0, "A": 0}
    assert buckets(warehouse="W2")["A"] == 4
    move("transfer_receive", qty=3, warehouse="W2", to_bin="A-02")
    move("transfer_receive", qty=1, warehouse="W2", to_bin="QUAR", condition="damaged")
    assert buckets(warehouse="W2") == {"I": 4, "S": 3, "O": 0, "U": 1, "L": 0, "V": 0, "T": 0, "A": 0}
    move("unlock", qty=3)
    move("virtual", qty=0)
    assert buckets()["S"] == 6
    assert check_ledger(db.session) == []


def test_a_count_adjusts_the_bin_to_what_was_counted(site):
    receive(qty=10)
    move("adjust", qty=7, to_bin="A-01")
    assert bin_qty("A-01") == 7 and buckets()["I"] == 7
    move("adjust", qty=9, to_bin="A-01")
    assert bin_qty("A-01") == 9 and buckets()["S"] == 9
    move("adjust", qty=9, to_bin="A-01")  # a matching count leaves a record and changes nothing
    assert bin_qty("A-01") == 9
    assert check_ledger(db.session) == []


def test_returns_await_inspection_as_unsellable_in_the_returns_bin(site):
    move("return_receive", qty=2)
    assert bin_qty("RET", condition="returned") == 2 and buckets()["U"] == 2


def test_lots_are_kept_apart_in_a_bin_and_a_take_must_say_which_when_there_are_several(site):
    receive(qty=3, lot="L1")
    receive(qty=4, lot="L2")
    with pytest.raises(InputError, match="in lots L1, L2: say which lot"):
        move("move", qty=1, from_bin="A-01", to_bin="B-01")
    move("move", qty=2, from_bin="A-01", to_bin="B-01", lot="L2")
    assert bin_qty("B-01", lot="L2") == 2 and bin_qty("A-01", lot="L2") == 2


def test_the_same_scan_id_applies_once_and_answers_with_the_first_result(site):
    first = receive(qty=5, scan_id="scan-1")
    again = receive(qty=5, scan_id="scan-1")
    assert again.replayed and again.movement == first.movement and again.balance == first.balance
    assert movements() == 1 and buckets()["I"] == 5


@pytest.mark.parametrize(
    "kw, error",
    [
        ({"warehouse": "NOPE"}, NotFound),
        ({"sku": "NOPE"}, NotFound),
        ({"to_bin": "Z-99"}, NotFound),
        ({"qty": 0}, InputError),
        ({"qty": -1}, InputError),
        ({"qty": 1.5}, InputError),
        ({"qty": 10**12}, InputError),
        ({"kind": "teleport"}, InputError),
        ({"lot": "x" * 41}, InputError),
        ({"reason": "bad\x00reason"}, InputError),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(site, kw, error):
    from app.services.stock import MovementCommand, apply_movement

    args = {"warehouse": "W1", "kind": "receive", "sku": "SKU-1", "qty": 1, "to_bin": "A-01", **kw}
    with pytest.raises(error) as e:
        apply_movement(MovementCommand(**args))
    assert e.value.message
    assert movements() == 0


def test_an_order_reserves_every_line_or_none(site):
    receive(sku="SKU-1", qty=5)
    receive(sku="SKU-2", qty=1)
    with pytest.raises(OrderShort) as e:
        place_order("shop", "X", "W1", [OrderLineRequest("SKU-1", 2), OrderLineRequest("SKU-2", 3)])
    assert e.value.short == [{"sku": "SKU-2", "requested": 3, "sellable": 1}]
    assert buckets("SKU-1")["S"] == 5 and buckets("SKU-2")["S"] == 1
    assert db.session.execute(select(func.count(Order.id))).scalar_one() == 0


def test_an_order_placed_twice_is_reserved_once(site):
    receive(qty=5)
    first, created = place_order("shop", "X", "W1", [OrderLineRequest("SKU-1", 2)])
    again, created_again = place_order("shop", "X", "W1", [OrderLineRequest("SKU-1", 2)])
    assert created and not created_again and again["id"] == first["id"]
    assert buckets()["O"] == 2


def test_cancelling_releases_what_is_reserved_once(site):
    receive(qty=5)
    order, _ = place_order("shop", "X", "W1", [OrderLineRequest("SKU-1", 2), OrderLineRequest("SKU-1", 1)])
    cancel_order(order["id"])
    cancel_order(order["id"])
    assert buckets()["S"] == 5 and buckets()["O"] == 0
    assert check_ledger(db.session) == []


def test_check_ledger_finds_a_balance_edited_behind_the_ledgers_back(site):
    receive(qty=5)
    row = db.session.execute(select(Balance)).scalar_one()
    row.i, row.s = 6, 6  # same identity, wrong truth
    db.session.commit()
    problems = check_ledger(db.session)
    assert any("W1/SKU-1: stored I=6" in p for p in problems)


def test_check_ledger_finds_a_bin_edited_behind_the_ledgers_back(site):
    receive(qty=5)
    db.session.execute(BinStock.__table__.update().values(qty=4))
    db.session.commit()
    problems = check_ledger(db.session)
    assert any("A-01 SKU-1" in p and "stored 4, ledger gives 5" in p for p in problems)
    assert any("the bins hold 4" in p for p in problems)


def test_the_database_itself_refuses_a_negative_bucket_or_a_broken_identity(site):
    from sqlalchemy.exc import IntegrityError

    receive(qty=5)
    for values in ({"s": Balance.s - 6, "i": Balance.i - 6}, {"s": Balance.s + 1}):
        with pytest.raises(IntegrityError):
            db.session.execute(Balance.__table__.update().values(**values))
            db.session.flush()
        db.session.rollback()
