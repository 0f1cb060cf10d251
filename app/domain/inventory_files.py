"""A channel's inventory report, read: what a warehouse the channel runs (fulfilment by Amazon, say) holds.

    Amazon    the Manage FBA Inventory report (tab-separated): `sku`, `afn-fulfillable-quantity`,
              `afn-unsellable-quantity`, and the inbound columns (`afn-inbound-working-quantity`,
              `afn-inbound-shipped-quantity`, `afn-inbound-receiving-quantity`): units on their way in
              that the channel has not yet made available.
    CSV       any other channel: `sku,fulfillable` with `unsellable` and `inbound` if it has them.

Each row: (row number, the channel's SKU, fulfillable, unsellable, inbound or None when the report
does not say). A report with a wrong row is refused whole, the row named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .inputs import csv_rows
from .stock import InputError, parse_qty

AMAZON_INBOUND = ("afn-inbound-working-quantity", "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity")


@dataclass
class Report:
    rows: list[tuple[int, str, int, int, int | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _whole(value: str, n: int, name: str, errors: list[str]) -> int | None:
    try:
        return parse_qty(value or "0", allow_zero=True)
    except InputError as e:
        errors.append(f"row {n}: {name}: {e.message}")
        return None


def read(text: str) -> Report:
    first_line = (text or "").lstrip("\ufeff").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line else ","
    rows = csv_rows(text, delimiter)
    if not rows:
        raise InputError("The report is empty")
    names = [(c or "").strip().lstrip("\ufeff").lower() for c in rows[0]]
    amazon = "afn-fulfillable-quantity" in names
    fulfillable = "afn-fulfillable-quantity" if amazon else "fulfillable"
    unsellable = "afn-unsellable-quantity" if amazon else "unsellable"
    inbound = [c for c in (AMAZON_INBOUND if amazon else ("inbound",)) if c in names]
    for col in ("sku", fulfillable):
        if col not in names:
            raise InputError(f"An inventory report names the columns sku and {fulfillable}; this one lacks {col}")
    report, seen = Report(), {}
    for n, row in enumerate(rows[1:], start=2):
        cell = {name: (row[i] if i < len(row) else "").strip() for i, name in enumerate(names)}
        if not any(cell.values()):
            continue
        sku = cell["sku"]
        if not sku or len(sku) > 80:
            report.errors.append(f"row {n}: no SKU, or one longer than 80 characters")
            continue
        if sku in seen:
            report.errors.append(f"row {n}: {sku} again (first on row {seen[sku]})")
            continue
        seen[sku] = n
        f = _whole(cell.get(fulfillable, ""), n, fulfillable, report.errors)
        u = _whole(cell.get(unsellable, ""), n, unsellable, report.errors)
        parts = [_whole(cell.get(c, ""), n, c, report.errors) for c in inbound]
        if f is None or u is None or None in parts:
            continue
        report.rows.append((n, sku, f, u, sum(parts) if inbound else None))
    return report
