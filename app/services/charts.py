"""Server-drawn charts: the coordinates of an SVG line or bar chart, for templates/partials/chart.html.

Plain numbers in, plain coordinates out (no JavaScript, nothing from a CDN): the office screens draw
the count KPIs, an item's demand with its reorder point and safety stock, stock value over time,
stock age and losses by reason with these two.
"""

from __future__ import annotations

import math

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36


def _nice_top(top: float) -> float:
    """A round number at or above `top` for the axis (1, 2, 2.5, 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= top:
            return step * power
    return 10 * power


def _label(value: float, fmt: str) -> str:
    if fmt == "percent":
        return f"{value * 100:.0f}%"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def line_chart(series: list[dict], x_labels: list[str], refs: list[dict] = (), fmt: str = "number",
               top: float | None = None, label_every: int | None = None) -> dict:
    """Lines over shared x steps. A series: {"label", "css", "values"} (None: no point there);
    a reference line: {"label", "css", "value"} drawn across (a reorder point, say)."""
    n = len(x_labels)
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    seen = [x for s in series for x in s["values"] if x is not None] + [r["value"] for r in refs]
    y_top = top if top is not None else _nice_top(max(seen, default=0))

    def x(i):
        return LEFT + (w * i / (n - 1) if n > 1 else w / 2)

    def y(val):
        return TOP + h - h * max(0.0, min(1.0, val / y_top))

    lines = []
    for s in series:
        pts = [(x(i), y(val), val, x_labels[i]) for i, val in enumerate(s["values"]) if val is not None]
        lines.append({"label": s["label"], "css": s["css"], "points": pts if n <= 60 else [],
                      "path": " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in pts)})
    every = label_every or max(1, math.ceil(n / 8))
    return {
        "kind": "line", "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "bottom": TOP + h,
        "series": lines,
        "refs": [{**r, "y": y(r["value"]), "text": f"{r['label']} {_label(r['value'], fmt)}"} for r in refs],
        "grid": [{"y": y(y_top * k / 4), "label": _label(y_top * k / 4, fmt)} for k in range(5)],
        # Every `every`-th step labelled, and the last one unless it would crowd the one before it.
        "labels": [{"x": x(i), "label": lab} for i, lab in enumerate(x_labels)
                   if i % every == 0 or (i == n - 1 and i % every >= every / 2)],
        "fmt": fmt, "empty": n == 0 or not seen,
    }


def bar_chart(bars: list[dict], fmt: str = "number") -> dict:
    """Horizontal bars, one a row: {"label", "value", "css", "text"} (text: the figure written beside it)."""
    row_h, gap = 26, 8
    label_w = 150
    height = TOP + len(bars) * (row_h + gap) + 4
    w = WIDTH - label_w - 90
    top = max((b["value"] for b in bars), default=0) or 1
    rows = []
    for i, b in enumerate(bars):
        y = TOP + i * (row_h + gap)
        rows.append({**b, "x": label_w, "y": y, "h": row_h, "w": max(0.0, w * b["value"] / top) if b["value"] else 0.0,
                     "text_x": label_w + max(0.0, w * b["value"] / top) + 6, "label_y": y + row_h * 0.68})
    return {"kind": "bar", "width": WIDTH, "height": height, "bars": rows, "label_w": label_w,
            "empty": not any(b["value"] for b in bars)}
