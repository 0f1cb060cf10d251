from scanners import GS, clean_scan


def test_the_enter_or_tab_a_scanner_sends_after_a_code_is_dropped():
    assert clean_scan("4006381333931\r\n") == "4006381333931"
    assert clean_scan("\tA-01-1\t") == "A-01-1"


def test_the_gs1_group_separator_is_kept_and_other_control_characters_are_not():
    assert clean_scan(f"]C10104006381333931{GS}10LOT7\x00\x1b") == f"]C10104006381333931{GS}10LOT7"


def test_absurdly_long_input_is_cut_to_what_a_label_can_carry():
    assert len(clean_scan("9" * 4000)) == 200


def test_nothing_scanned_is_an_empty_code():
    assert clean_scan(None) == "" and clean_scan("   ") == ""
