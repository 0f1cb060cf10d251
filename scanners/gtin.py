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


def upce_to_upca(upce: str) -> str:
    """Expand an 8-digit UPC-E (number system, six digits, check) to its 12-digit UPC-A."""
    if len(upce) != 8 or not upce.isdigit() or upce[0] not in "01":
        raise ValueError("a UPC-E has 8 digits and starts with 0 or 1")
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def upca_to_upce(upca: str) -> str | None:
    """The 8-digit UPC-E a 12-digit UPC-A is printed as when its zeros can be suppressed; else None."""
    if len(upca) != 12 or not upca.isdigit() or upca[0] not in "01":
        return None
    ns, m, check = upca[0], upca[1:11], upca[11]
    forms = [m[0:2] + m[7:10] + m[2]] if m[2] in "012" and m[3:7] == "0000" else []
    forms += [m[0:3] + m[8:10] + "3", m[0:4] + m[9] + "4", m[0:5] + m[9]]
    for six in forms:
        upce = ns + six + check
        if upce_to_upca(upce) == upca:
            return upce
    return None


def normalise(code: str, symbology: str | None = None) -> str | None:
    """One key per trade item: the GTIN-14 of an EAN-8, UPC-E, UPC-A, EAN-13 or GTIN-14.

    None when the digits are not a valid GTIN, so a misread never becomes a key.
    Eight digits are an EAN-8 unless the symbology says UPC-E.
    """
    if not code.isdigit() or not code.isascii():
        return None
    if symbology == "UPC-E":
        try:
            code = upce_to_upca(code)
        except ValueError:
            return None
    if not is_valid(code):
        return None
    return code.zfill(14)


def candidates(code: str) -> list[str]:
    """Every GTIN-14 a scanned string of digits could stand for, when the symbology is unknown.

    A keyboard-wedge scanner sends a UPC-E as its eight digits, the same length as an EAN-8.
    """
    keys = [normalise(code)]
    if len(code) == 8:
        keys.append(normalise(code, "UPC-E"))
    return list(dict.fromkeys(k for k in keys if k))
