"""Carriers' tracking numbers, read from the barcode on a parcel's label or typed: plain Python.

Recognised from the barcode alone (the formats are the carriers' published ones):

  UPS          1Z + 16 letters and digits
  USPS         20 or 22 digits starting 91 to 95 (IMpb), with or without the GS1 routing prefix
               420 + ZIP code that the label's barcode carries
  FedEx        15 digits (Ground), 22 digits starting 96 (Ground label: the last 15 are the number),
               34 digits (the label's barcode: the last 12 are the number)
  DHL Paket    JJD + 18 to 22 digits
  UPU S10      two letters, 8 digits and a check digit, the country's two letters (RR123456785GB):
               the postal services' registered and tracked items; the check digit is verified

Anything else is typed with its carrier named (a FedEx Express 12-digit number is a UPC-A barcode's
length, so it is never guessed from the barcode).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .stock import InputError
from .tasks import N_

CARRIERS = ("UPS", "USPS", "FedEx", "DHL", "Royal Mail", "China Post", "Deutsche Post", "La Poste", "PostNL",
            "Japan Post", "Hongkong Post", "Australia Post", "Canada Post", "Other")
POSTS = {"GB": "Royal Mail", "CN": "China Post", "US": "USPS", "DE": "Deutsche Post", "FR": "La Poste",
         "NL": "PostNL", "JP": "Japan Post", "HK": "Hongkong Post", "AU": "Australia Post", "CA": "Canada Post"}

UPS = re.compile(r"1Z[0-9A-Z]{16}")
USPS = re.compile(r"(?:420\d{5}(?:\d{4})?)?(9[1-5]\d{18}(?:\d{2})?)")
FEDEX_GROUND_96 = re.compile(r"96\d{20}")
DHL = re.compile(r"JJD\d{18,22}")
S10 = re.compile(r"([A-Z]{2})(\d{8})(\d)([A-Z]{2})")
TYPED = re.compile(r"[0-9A-Z]{6,40}")


@dataclass(frozen=True)
class Tracking:
    carrier: str
    number: str


def s10_check(digits: str) -> int:
    """The UPU S10 check digit of eight digits."""
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7)))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def read(code: str) -> Tracking | None:
    """The tracking number a carrier's barcode carries, or None when it is no carrier's."""
    raw = re.sub(r"\s+", "", code or "").upper()
    if UPS.fullmatch(raw):
        return Tracking("UPS", raw)
    if m := USPS.fullmatch(raw):
        return Tracking("USPS", m.group(1))
    if FEDEX_GROUND_96.fullmatch(raw):
        return Tracking("FedEx", raw[-15:])
    if raw.isdigit() and len(raw) == 34:
        return Tracking("FedEx", raw[-12:])
    if raw.isdigit() and len(raw) == 15:
        return Tracking("FedEx", raw)
    if DHL.fullmatch(raw):
        return Tracking("DHL", raw)
    if (m := S10.fullmatch(raw)) and s10_check(m.group(2)) == int(m.group(3)):
        return Tracking(POSTS.get(m.group(4), f"Post {m.group(4)}"), raw)
    return None


def carrier_named(name: str) -> str:
    carrier = (name or "").strip()
    if carrier not in CARRIERS:
        raise InputError.of(N_("Choose the carrier: %(carriers)s"), carriers=", ".join(CARRIERS))
    return carrier


def typed(carrier: str, number: str) -> Tracking:
    """A tracking number typed with its carrier named."""
    carrier = carrier_named(carrier)
    raw = re.sub(r"[\s-]+", "", number or "").upper()
    if not TYPED.fullmatch(raw):
        raise InputError.of(N_("A tracking number is 6 to 40 letters and digits."))
    found = read(raw)
    if found is not None and carrier != "Other" and found.carrier != carrier and not found.carrier.startswith("Post"):
        raise InputError.of(N_("%(number)s is a %(found)s number, not %(carrier)s."), number=raw, found=found.carrier,
                            carrier=carrier)
    return Tracking(carrier, found.number if found is not None else raw)
