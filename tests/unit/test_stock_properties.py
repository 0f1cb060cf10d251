"""Random sequences of movements through the domain alone."""

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.stock import (
    BUCKETS,
    Buckets,
    Condition,
    DomainError,
    Kind,
    Request,
    decide,
)

kinds = st.sampled_from(list(Kind))
steps = st.lists(st.tuples(kinds, st.integers(min_value=0, max_value=30), st.booleans()), max_size=60)


@settings(max_examples=400, deadline=None)
@given(steps)
def test_any_sequence_of_movements_keeps_the_identity_and_no_bucket_goes_negative(sequence):
    balance = Buckets()
    bin_sellable, bin_unsellable = 0, 0  # one bin is enough to exercise the bin rules
    for kind, qty, flag in sequence:
        condition = Condition.DAMAGED if kind in (Kind.RESTORE, Kind.SCRAP) else Condition.SELLABLE
        held = bin_unsellable if condition == Condition.DAMAGED else bin_sellable
        request = Request(kind, qty, condition=condition, damaged=flag, held=held)
        before = balance
        try:
            decision = decide(balance, request)
        except DomainError:
            assert balance == before  # a refusal changes nothing
            continue
        balance = balance + decision.deltas
        if decision.take:
            if decision.take.condition == Condition.SELLABLE:
                bin_sellable -= decision.take.qty
            else:
                bin_unsellable -= decision.take.qty
        if decision.put and kind not in (Kind.MOVE, Kind.PICK):
            if decision.put.condition == Condition.SELLABLE:
                bin_sellable += decision.put.qty
            else:
                bin_unsellable += decision.put.qty
        elif decision.put:
            bin_sellable += decision.put.qty  # same bin, in and out
        assert balance.identity_holds(), (kind, qty, balance)
        assert not balance.negative_buckets(), (kind, qty, balance)
        assert bin_sellable >= 0 and bin_unsellable >= 0
        # The single bin holds everything physical: I and U agree with it.
        assert balance.i == bin_sellable + bin_unsellable, (kind, balance, bin_sellable, bin_unsellable)
        assert balance.u == bin_unsellable


def test_the_bucket_names_are_the_eight_of_the_model():
    assert BUCKETS == ("i", "s", "o", "u", "l", "v", "t", "a")
