"""Sales channels, in plain Python: what a channel may publish, and how its webhook is retried and signed.

A channel (an own shop, Amazon, eBay, Shopify, ...) sells from some warehouses. What it publishes
for an item is a share of the sellable stock S of those warehouses, less a buffer held back, capped:

    published = min(cap, max(0, floor(share% x S / 100) - buffer))

It is a ceiling on what the channel shows, never a reservation: orders still reserve against S
(services.orders), so no rule can make an order succeed that S cannot cover, and a published
quantity is never negative.

Changes reach the channel's webhook one at a time, in order, each signed and carrying an
idempotency key; a refused or failed delivery is tried again after a backoff that doubles up to a
cap, with jitter so that a hundred channels coming back do not all retry in the same second.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from .stock import InputError, parse_whole

KINDS = ("own", "amazon", "ebay", "shopify", "aliexpress", "other")
KIND_NAMES = {"own": "Own shop", "amazon": "Amazon", "ebay": "eBay", "shopify": "Shopify",
              "aliexpress": "AliExpress", "other": "Other"}

MAX_BUFFER = 1_000_000
CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class Rule:
    """How much of S a channel shows: a share in percent, a buffer withheld, an optional cap."""

    share_pct: int = 100
    buffer: int = 0
    cap: int | None = None


ALL_OF_IT = Rule()


def published(rule: Rule, sellable: int) -> int:
    """What the channel may show for an item of which `sellable` units are sellable."""
    shown = max(0, (rule.share_pct * max(0, sellable)) // 100 - rule.buffer)
    return shown if rule.cap is None else min(shown, rule.cap)


def _whole(value, name: str, lo: int, hi: int, blank=None):
    """A form's whole number (stock.parse_whole, the one reading of one), a blank taking `blank`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return blank
    return parse_whole(value, name, lo, hi)


def rule_of(share_pct=None, buffer=None, cap=None) -> Rule:
    """A rule from what a form or a request gave (blanks take the defaults: all of S, no buffer, no cap)."""
    return Rule(_whole(share_pct, "share", 0, 100, blank=100), _whole(buffer, "buffer", 0, MAX_BUFFER, blank=0),
                _whole(cap, "cap", 0, MAX_BUFFER, blank=None))


def clean_code(value) -> str:
    """A channel's code: what its orders and tokens carry (lower case letters, digits, - _ .)."""
    code = str(value or "").strip().lower()
    if not code or len(code) > 40 or not set(code) <= CODE_CHARS:
        raise InputError("A channel code is 1 to 40 letters, digits, '-', '_' or '.'")
    return code


def clean_webhook(value) -> str:
    """A webhook URL: http or https with a host, or blank for a channel that only polls."""
    url = str(value or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InputError("A webhook URL is http:// or https:// with a host, at most 500 characters")
    return url


# --------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------

FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 600  # ten minutes: a channel back from an hour's outage waits at most this long


def backoff(attempts: int, rnd: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed delivery: 5 s, 10 s, 20 s, ... up to ten minutes,
    each drawn from the upper half of that (the "equal jitter" of AWS's architecture blog)."""
    ceiling = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, min(attempts - 1, 20)))
    return ceiling / 2 + (rnd or random).random() * ceiling / 2


SIGNATURE_HEADER = "X-Warehouse-Signature"
KEY_HEADER = "Idempotency-Key"
TOPIC_HEADER = "X-Warehouse-Event"


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the exact body with the channel's secret, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver checks (constant time)."""
    return hmac.compare_digest(signature(secret, body), header or "")
