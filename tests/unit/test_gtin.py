from app.domain import gtin


def test_a_known_ean13_has_a_valid_check_digit():
    assert gtin.is_valid("4006381333931")
    assert not gtin.is_valid("4006381333932")


def test_the_problem_with_a_bad_code_is_said():
    assert gtin.problem("4006381333932") == "check digit should be 1"
    assert "digits only" in gtin.problem("40063813339X1")
    assert "not 5" in gtin.problem("12345")


def test_upc_a_and_ean13_of_the_same_product_share_one_gtin14():
    assert gtin.to_gtin14("036000291452") == gtin.to_gtin14("0036000291452") == "00036000291452"


def test_a_case_gtin_keeps_the_unit_digits_behind_an_indicator_and_is_valid():
    case = gtin.case_gtin("4006381333931")
    assert case.startswith("1400638133393") and gtin.is_valid(case)
