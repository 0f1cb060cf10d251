"""What a scan means: GS1 codes through biip, item barcodes, and a site's own codes."""

from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanners import GS, Rules, ScanError, parse


def test_a_gs1_128_carton_label_gives_gtin_lot_expiry_and_count_in_one_scan():
    scan = parse("]C10114006381333938172703313712" + GS + "10L-2026/7")
    assert scan.kind == "gs1"
    assert (scan.gtin, scan.lot, scan.expiry, scan.count) == ("14006381333938", "L-2026/7", date(2027, 3, 31), 12)


@pytest.mark.parametrize("prefix", ["]C1", "]d2", "]Q3", ""])
def test_gs1_element_strings_read_the_same_from_128_datamatrix_qr_or_with_no_prefix(prefix):
    scan = parse(prefix + "0109501101020917" + "17190508" + "10ABCD1234" + GS + "21SN9")
    assert (scan.gtin, scan.lot, scan.expiry, scan.serial) == ("09501101020917", "ABCD1234", date(2019, 5, 8), "SN9")


def test_a_gs1_digital_link_url_is_read_like_the_element_string():
    scan = parse("https://id.gs1.org/01/09520123456788/10/ABC123?17=250101")
    assert (scan.kind, scan.gtin, scan.lot, scan.expiry) == ("gs1", "09520123456788", "ABC123", date(2025, 1, 1))


def test_human_readable_gs1_with_brackets_is_accepted_when_typed():
    scan = parse("(01)09501101020917(17)190508(10)ABCD")
    assert (scan.gtin, scan.lot) == ("09501101020917", "ABCD")


def test_an_sscc_alone_is_a_licence_plate():
    scan = parse("]C100106141411234567897")
    assert (scan.kind, scan.code) == ("plate", "106141411234567897")
    assert parse("106141411234567897").kind == "plate"


def test_an_item_barcode_becomes_its_gtin14():
    scan = parse("4006381333931")
    assert (scan.kind, scan.gtin) == ("item", "04006381333931")
    assert parse("036000291452").gtin == parse("0036000291452").gtin


@pytest.mark.parametrize(
    "text, words",
    [
        ("A-01-1", "a bin"),
        ("DOCK-01", "a bin"),
        ("BIN:QUAR-01", "a bin"),
        ("LP00000042", "a licence plate"),
        ("SO-123", "an order"),
        ("PO-2026-0001", "a purchase order"),
        ("BADGE:picker", "an operator badge"),
        ("hello", "an unknown code"),
    ],
)
def test_site_codes_are_told_apart_by_their_patterns(text, words):
    assert parse(text).words == words


def test_a_site_can_set_its_own_patterns():
    rules = Rules.from_settings({"bin_pattern": r"(?P<code>[0-9]{2}\.[0-9]{3})", "order_pattern": r"#(?P<code>\d+)"})
    assert (parse("12.345", rules).kind, parse("12.345", rules).code) == ("bin", "12.345")
    assert (parse("#77", rules).kind, parse("#77", rules).code) == ("order", "77")
    assert parse("A-01-1", rules).kind == "unknown"


def test_a_broken_site_pattern_is_refused_with_a_message():
    with pytest.raises(ValueError, match="bin pattern is not valid"):
        Rules.from_settings({"bin_pattern": "(unclosed"})


@pytest.mark.parametrize(
    "text, message",
    [
        ("4006381333932", "check digit should be 1"),
        ("]C10109501101020918", r"bad check digit in \(01\)"),
        ("]C1010950110102091717191350", r"malformed date in \(17\)"),
        ("", "Nothing was scanned"),
        ("\x00\x07\x1b", "Nothing was scanned"),
        ("x" * 4000, "4,000 characters"),
        ("]C1991234", "names neither an item"),
        ("]\x1d0", "no scanner symbology follows it"),
        ("]C130", r"count that is not a number: \(30\) empty"),
    ],
)
def test_bad_scans_are_refused_with_a_message_the_operator_can_act_on(text, message):
    with pytest.raises(ScanError, match=message):
        parse(text)


# Plain random text seldom looks like a GS1 code; these start like one and then go wrong.
GS1_LIKE = st.tuples(
    st.sampled_from(["]C1", "]e0", "]d2", "]Q3", "]", "(01)", "(00)", "https://id.example/01/", ""]),
    st.text(alphabet="0123456789()\x1d ABC/", max_size=60),
).map("".join)


@given(st.one_of(st.text(max_size=300), GS1_LIKE))
@settings(max_examples=500)
@example("]\x1d0")  # a symbology identifier with a control character where its letter goes
@example("]C130")  # a count (30) with no digits
def test_any_text_either_parses_or_is_refused_with_a_scan_error(text):
    try:
        scan = parse(text)
    except ScanError as exc:
        assert str(exc)
    else:
        assert scan.kind and scan.raw


def test_a_site_pattern_that_would_backtrack_catastrophically_matches_in_linear_time():
    """Issue 17: `(a|a)*b` saved as the bin pattern once hung a worker for 30 s on 40 × `a`."""
    import time

    from scanners.parse import Rules, parse

    rules = Rules.from_settings({"bin_pattern": "(a|a)*b"})
    started = time.perf_counter()
    for text in ("a" * 40, "a" * 200):
        assert parse(text, rules).kind == "unknown"
    assert time.perf_counter() - started < 1.0


def test_a_pattern_with_a_back_reference_is_refused_with_the_reason():
    import pytest

    from scanners.parse import Rules

    with pytest.raises(ValueError, match="linear time"):
        Rules.from_settings({"bin_pattern": r"(?P<code>A)\1"})
