"""GTIN check digits (GS1 mod-10), for EAN-8, UPC-A, EAN-13 and GTIN-14."""

from __future__ import annotations

LENGTHS = (8, 12, 13, 14)


def check_digit(body: str) -> str:
    """The check digit for the digits before it."""
    if not body.isdigit():
        raise ValueError("digits only")
    total = sum(int(ch) * (3 if i % 2 == 0 else 1) for i, ch in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid(code: str) -> bool:
    return problem(code) is None


def problem(code: str) -> str | None:
    if not code.isdigit() or not code.isascii():
        return "a GTIN has digits only"
    if len(code) not in LENGTHS:
        return f"a GTIN has 8, 12, 13 or 14 digits, not {len(code)}"
    if check_digit(code[:-1]) != code[-1]:
        return f"check digit should be {check_digit(code[:-1])}"
    return None


def with_check(body: str) -> str:
    return body + check_digit(body)


def to_gtin14(code: str) -> str:
    """Any valid GTIN, zero-padded to 14 digits: one key for UPC-A, EAN-13 and GTIN-14."""
    if problem(code):
        raise ValueError(problem(code))
    return code.zfill(14)


def case_gtin(unit_ean13: str, indicator: int = 1) -> str:
    """The GTIN-14 of a case of a unit: indicator digit, the unit's digits, a new check digit."""
    return with_check(str(indicator) + unit_ean13[:-1])
