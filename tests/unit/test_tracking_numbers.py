"""Carriers' tracking numbers read from their labels' barcodes, or typed: domain.tracking, alone."""

import pytest

from app.domain import tracking as t
from app.domain.stock import InputError


@pytest.mark.parametrize("code, carrier, number", [
    ("1Z999AA10123456784", "UPS", "1Z999AA10123456784"),
    ("1z999aa1 0123456784", "UPS", "1Z999AA10123456784"),
    ("9400111899223100012345", "USPS", "9400111899223100012345"),
    ("420902109400111899223100012345", "USPS", "9400111899223100012345"),  # with the ZIP routing prefix
    ("92055901755477000271990", None, None),  # 23 digits: no carrier's
    ("961234567890123456789012", None, None),
    ("9612345678901234567890", "FedEx", "678901234567890"),
    ("123456789012345", "FedEx", "123456789012345"),
    ("1001901781000000000000000123456789012"[:34], "FedEx", "1001901781000000000000000123456789012"[:34][-12:]),
    ("JJD000390007700000001", "DHL", "JJD000390007700000001"),
    ("RR123456785GB", "Royal Mail", "RR123456785GB"),
    ("LX123456785CN", "China Post", "LX123456785CN"),
    ("RR123456785ZZ", "Post ZZ", "RR123456785ZZ"),
    ("RR123456784GB", None, None),  # the S10 check digit is wrong
    ("4006381333931", None, None),  # an item's EAN-13
    ("SO-000012", None, None),
    ("", None, None),
])
def test_a_carrier_label_is_read_or_is_not(code, carrier, number):
    found = t.read(code)
    assert (found.carrier, found.number) == (carrier, number) if carrier else found is None


def test_the_s10_check_digit():
    assert t.s10_check("12345678") == 5
    assert t.s10_check("00000000") == 5  # 11 - 0 -> 5
    assert t.s10_check("00000001") == 4


def test_a_typed_number_needs_its_carrier_and_must_not_be_another_carriers():
    assert t.typed("FedEx", "7946 1234 5678") == t.Tracking("FedEx", "794612345678")
    assert t.typed("Other", "1Z999AA10123456784") == t.Tracking("Other", "1Z999AA10123456784")
    for carrier, number in (("Nope", "794612345678"), ("", "794612345678"), ("FedEx", "12"), ("FedEx", "x" * 41),
                            ("FedEx", "79461234567<"), ("DHL", "1Z999AA10123456784")):
        with pytest.raises(InputError):
            t.typed(carrier, number)
