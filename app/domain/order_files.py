"""Order files as the sales channels export them, read into orders: plain Python.

    Shopify   Orders > Export (CSV): a row per line item, `Name` (#1001) repeated on each; `Lineitem
              sku`, `Lineitem quantity`. Cancelled (`Cancelled at`), fulfilled (`Fulfillment Status`)
              and not-shipped (`Lineitem requires shipping` false) rows are left out.
    Amazon    the order reports (tab-separated): the unshipped/new orders report (`order-id`, `sku`,
              `quantity-purchased`) or the all-orders report (`amazon-order-id`, `sku`, `quantity`,
              `order-status`, `fulfillment-channel`); cancelled, shipped and Amazon-fulfilled rows are
              left out.
    eBay      Seller Hub's orders report (CSV): `Order Number` (or `Sales Record Number` where that is
              blank), `Custom Label` (the seller's SKU; else `Item Number`), `Quantity`; a multi-item
              order's summary row (no item) and rows already shipped (`Shipped On Date`) are left out,
              as are the lines eBay writes before the header and after the rows.

Column names are matched without regard to case or surrounding space. The result is the orders by
the channel's own order id with (row, SKU as the channel calls it, quantity) lines, or the rows that
are wrong: the caller places nothing from a file with a wrong row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .inputs import csv_rows
from .stock import InputError, parse_qty
from .tasks import N_

FORMATS = {"shopify": N_("Shopify orders export (CSV)"), "amazon": N_("Amazon order report (tab-separated)"),
           "ebay": N_("eBay orders report (CSV)")}


@dataclass
class Read:
    orders: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0  # rows the channel's file holds that are not orders to fulfil here


def _table(text: str, delimiter: str, must: tuple[str, ...]) -> tuple[int, list[str], list[list[str]]]:
    """The header's line number, its names (lower case), and the rows under it. eBay writes a line or
    two before its header: the header is the first row holding the columns this format must have."""
    rows = csv_rows(text, delimiter)
    for i, row in enumerate(rows[:10]):
        names = [(c or "").strip().lstrip("\ufeff").lower() for c in row]
        if must[0] in names:
            return i + 1, names, rows[i + 1:]
    raise InputError(f"This is not that channel's file: no header row names {must[0]!r}")


def _cell(names, row, *wanted) -> str:
    for w in wanted:
        if w in names:
            i = names.index(w)
            return (row[i] if i < len(row) else "").strip()
    return ""


def _add(read: Read, n: int, order_id: str, sku: str, qty: str) -> None:
    if not order_id:
        read.errors.append(f"row {n}: no order id")
        return
    if not sku:
        read.errors.append(f"row {n}: {order_id} has a line with no SKU")
        return
    if len(order_id) > 80 or len(sku) > 80:
        read.errors.append(f"row {n}: an order id or SKU longer than 80 characters")
        return
    try:
        units = parse_qty(qty)
    except InputError as e:
        read.errors.append(f"row {n}: {order_id} {sku}: {e.message}")
        return
    read.orders.setdefault(order_id, []).append((n, sku, units))


def shopify(text: str) -> Read:
    first, names, rows = _table(text, ",", ("name", "lineitem quantity", "lineitem sku"))
    for col in ("lineitem quantity", "lineitem sku"):
        if col not in names:
            raise InputError(f"A Shopify orders export has the column {col!r}; this file does not")
    read, cancelled, done = Read(), set(), set()
    for n, row in enumerate(rows, start=first + 1):
        if not any(c.strip() for c in row):
            continue
        name = _cell(names, row, "name")
        if _cell(names, row, "cancelled at"):
            cancelled.add(name)
        if _cell(names, row, "fulfillment status").lower() == "fulfilled":
            done.add(name)
        if _cell(names, row, "lineitem requires shipping").lower() == "false" or name in cancelled | done:
            read.skipped += 1
            continue
        _add(read, n, name, _cell(names, row, "lineitem sku"), _cell(names, row, "lineitem quantity"))
    for name in cancelled | done:  # its first row says so; the rows after it carry only the name
        if read.orders.pop(name, None):
            read.skipped += 1
    return read


def amazon(text: str) -> Read:
    first, names, rows = _table(text, "\t", ("sku",))
    order_col = "order-id" if "order-id" in names else "amazon-order-id"
    qty_col = "quantity-purchased" if "quantity-purchased" in names else "quantity"
    for col in (order_col, qty_col):
        if col not in names:
            raise InputError(f"An Amazon order report has the column {col!r}; this file does not")
    read = Read()
    for n, row in enumerate(rows, start=first + 1):
        if not any(c.strip() for c in row):
            continue
        status = _cell(names, row, "order-status", "item-status").lower()
        if status in ("cancelled", "canceled", "shipped") or _cell(names, row, "fulfillment-channel") == "Amazon":
            read.skipped += 1
            continue
        _add(read, n, _cell(names, row, order_col), _cell(names, row, "sku"), _cell(names, row, qty_col))
    return read


def ebay(text: str) -> Read:
    first, names, rows = _table(text, ",", ("order number", "quantity"))
    for col in ("quantity",):
        if col not in names:
            raise InputError(f"An eBay orders report has the column {col!r}; this file does not")
    read = Read()
    for n, row in enumerate(rows, start=first + 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if "record(s) downloaded" in cells[0] or cells[0].lower().startswith("seller id"):
            continue  # eBay's footer
        sku = _cell(names, row, "custom label") or _cell(names, row, "item number")
        if not sku and not _cell(names, row, "item title"):
            continue  # a multi-item order's summary row: its items follow
        if _cell(names, row, "shipped on date"):
            read.skipped += 1
            continue
        order_id = _cell(names, row, "order number") or _cell(names, row, "sales record number")
        _add(read, n, order_id, sku, _cell(names, row, "quantity"))
    return read


READERS = {"shopify": shopify, "amazon": amazon, "ebay": ebay}


def read(fmt: str, text: str) -> Read:
    if fmt not in READERS:
        raise InputError(f"Choose the file's format: {', '.join(READERS)}")
    return READERS[fmt](text)
