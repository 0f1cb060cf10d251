"""Reading what arrives from outside within bounds: JSON bodies and CSV files.

Plain Python like the stock rules. Whatever a body or a file holds, the answer is the data or an
InputError that says what is wrong (and for a CSV file, on which row): never a RecursionError or a
csv.Error escaping as a server error.
"""

from __future__ import annotations

import csv
import io
import json

from .stock import N_, InputError

MAX_JSON_DEPTH = 32  # far more than any body the API takes (an order's lines are 3 deep)
MAX_CSV_FIELD = 10_000  # characters in one CSV cell
MAX_CSV_ROWS = 100_000


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text (strings are skipped, escapes honoured)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, limit: int = MAX_JSON_DEPTH):
    """json.loads, refusing a text nested deeper than `limit` and numbers JSON cannot hold (1e400)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError.of(N_("The body is not UTF-8 text")) from None
    brackets = text.count("[") + text.count("{")
    if brackets > limit and json_depth(text) > limit:
        raise InputError(f"The JSON is nested more than {limit} levels deep")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise InputError(f"The JSON is nested more than {limit} levels deep") from None
    except ValueError as exc:
        raise InputError(f"The body is not valid JSON: {str(exc)[:80]}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large")
    return value


def csv_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """The rows of a CSV text (or, with delimiter "\\t", a tab-separated one), or an InputError naming the
    row that cannot be read."""
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(f"Row {line}: holds a NUL character; save the file again as plain CSV")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if any(len(cell) > MAX_CSV_FIELD for cell in row):
                raise InputError(f"Row {reader.line_num}: a cell is longer than {MAX_CSV_FIELD:,} characters")
            rows.append(row)
            if len(rows) > MAX_CSV_ROWS:
                raise InputError(f"The file has more than {MAX_CSV_ROWS:,} rows")
    except csv.Error as exc:
        raise InputError(f"Row {reader.line_num}: this is not CSV the app can read ({exc})") from None
    return rows


def csv_records(text: str, required: set[str]) -> list[tuple[int, dict]]:
    """(row number, {column: value}) for each row under the header, every required column present."""
    rows = csv_rows(text)
    header = [(h or "").strip().lstrip("\ufeff") for h in (rows[0] if rows else [])]
    missing = required - set(header)
    if missing:
        raise InputError(f"The file lacks the column(s) {', '.join(sorted(missing))}; "
                         f"the first line must name: {', '.join(sorted(required))}")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        out.append((n, {name: (row[i] if i < len(row) else "").strip() for i, name in enumerate(header) if name}))
    return out


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A cell for a CSV the app writes: text that a spreadsheet would run as a formula (OWASP's CSV
    injection rule: starting with = + - @ tab or CR) is prefixed with a quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
