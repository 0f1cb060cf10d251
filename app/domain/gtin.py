"""GTIN arithmetic for the stock side; it lives in `scanners`, which needs no Flask either."""

from scanners.gtin import (  # noqa: F401
    LENGTHS,
    candidates,
    case_gtin,
    check_digit,
    is_valid,
    normalise,
    problem,
    to_gtin14,
    upce_to_upca,
    with_check,
)
