"""Packing rules in plain Python: carton types, a weight from a scale or a keyboard, the SSCC of a
parcel, and how much of an order a parcel may still take. No Flask, no SQLAlchemy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .gtin import check_digit
from .stock import InputError


def N_(text: str) -> str:
    return text


@dataclass(frozen=True)
class Carton:
    code: str
    name: str


# The carton types a packing station offers; each prints as a barcode CT-<code> to scan.
CARTONS = {c.code: c for c in (
    Carton("ENV", N_("Padded envelope")),
    Carton("S", N_("Small box 20×15×10 cm")),
    Carton("M", N_("Medium box 30×20×15 cm")),
    Carton("L", N_("Large box 40×30×20 cm")),
    Carton("XL", N_("Extra large box 60×40×40 cm")),
)}
_CARTON = re.compile(r"CT-([A-Z]{1,3})")


def carton_of(text: str) -> Carton | None:
    """The carton type a scanned CT-<code> names, or None if the text is no carton code."""
    m = _CARTON.fullmatch(text.strip().upper())
    if m is None:
        return None
    carton = CARTONS.get(m.group(1))
    if carton is None:
        raise InputError.of(N_("%(code)s is no carton type here: %(known)s."), code=text.strip()[:12],
                            known=", ".join(f"CT-{c}" for c in CARTONS))
    return carton


# A scale that types like a keyboard sends "1.250 kg", "ST,GS,+0001.25kg", "1250 g" or "2.5 lb";
# a person types "1.25 kg" or "850 g". A plain number is not a weight (it is a quantity or a code).
_WEIGHT = re.compile(r"(?:[A-Z]{2},){0,3}\+?\s*([0-9]{1,7}(?:[.,][0-9]{1,4})?)\s*(KG|G|LB|OZ)", re.I)
_GRAMS = {"KG": 1000, "G": 1, "LB": 453.59237, "OZ": 28.349523125}
MAX_GRAMS = 1_000_000  # a tonne: more is no parcel


def weight_of(text: str) -> int | None:
    """Grams from a weight as a scale or a person writes it, or None if the text is no weight.
    A weight of nothing or beyond a tonne is refused."""
    m = _WEIGHT.fullmatch(text.strip())
    if m is None:
        return None
    grams = round(float(m.group(1).replace(",", ".")) * _GRAMS[m.group(2).upper()])
    if not 1 <= grams <= MAX_GRAMS:
        raise InputError.of(N_("A parcel weighs between 1 g and 1,000 kg — that was %(text)s."), text=text.strip()[:20])
    return grams


def sscc(company_prefix: str, serial: int, extension: int = 0) -> str:
    """The 18-digit SSCC: extension digit, GS1 company prefix, serial reference, check digit."""
    if not re.fullmatch(r"[0-9]{6,12}", company_prefix):
        raise ValueError("a GS1 company prefix has 6 to 12 digits")
    width = 16 - len(company_prefix)
    if not 0 <= serial < 10 ** width:
        raise ValueError(f"serial reference {serial} does not fit {width} digits")
    body = f"{extension}{company_prefix}{serial:0{width}d}"
    return body + check_digit(body)


def room_for(staged: int, packed: int) -> int:
    """Units of an order line a parcel may still take: what waits at staging less what is packed."""
    return max(0, staged - packed)


def weight_words(grams: int | None) -> str:
    if grams is None:
        return "—"
    return f"{grams / 1000:.3f} kg" if grams >= 1000 else f"{grams} g"
