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


def test_a_upc_e_expands_to_the_upc_a_it_abbreviates():
    assert gtin.upce_to_upca("04252614") == "042100005264"
    assert gtin.upce_to_upca("05096893") == "050968000093"


def test_upc_e_upc_a_and_ean13_of_one_product_normalise_to_one_gtin14():
    assert gtin.normalise("04252614", "UPC-E") == gtin.normalise("042100005264") == "00042100005264"
    assert gtin.normalise("0042100005264") == "00042100005264"


def test_a_code_with_a_wrong_check_digit_has_no_gtin():
    assert gtin.normalise("4006381333932") is None
    assert gtin.normalise("04252615", "UPC-E") is None


def test_eight_digits_without_a_symbology_could_be_ean8_or_upc_e():
    assert gtin.candidates("05096893") == ["00000005096893", "00050968000093"]
    assert gtin.candidates("96385074") == ["00000096385074"]
