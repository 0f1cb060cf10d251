"""Packing rules on plain data: carton codes, weights from a keyboard scale, the SSCC."""

import pytest

from app.domain.packing import carton_of, room_for, sscc, weight_of, weight_words
from app.domain.stock import InputError


def test_the_sscc_is_the_gs1_example_with_its_check_digit():
    assert sscc("0614141", 123456789, extension=1) == "106141411234567897"  # GS1 General Specifications
    assert len(sscc("0614141", 1)) == 18
    with pytest.raises(ValueError):
        sscc("0614141", 10 ** 9)


@pytest.mark.parametrize("text, grams", [
    ("1.25 kg", 1250), ("1,25kg", 1250), ("850 g", 850), ("ST,GS,+0001.250kg", 1250), ("2.5 lb", 1134),
    ("12 oz", 340), ("  0.001 KG ", 1),
])
def test_a_weight_is_read_as_a_scale_or_a_person_writes_it(text, grams):
    assert weight_of(text) == grams


@pytest.mark.parametrize("text", ["1250", "SKU-1", "kg", "1.2.3 kg", "", "4000000000013"])
def test_what_is_no_weight_is_not_taken_for_one(text):
    assert weight_of(text) is None


@pytest.mark.parametrize("text", ["0 g", "0.0001 kg", "1001 kg"])
def test_a_weight_of_nothing_or_beyond_a_tonne_is_refused(text):
    with pytest.raises(InputError, match="between 1 g and 1,000 kg"):
        weight_of(text)


def test_carton_codes_and_what_a_parcel_may_still_take():
    assert carton_of("ct-m").code == "M" and carton_of("SKU-1") is None
    with pytest.raises(InputError, match="CT-Q is no carton type here"):
        carton_of("CT-Q")
    assert room_for(5, 3) == 2 and room_for(2, 3) == 0
    assert weight_words(850) == "850 g" and weight_words(1250) == "1.250 kg" and weight_words(None) == "—"
