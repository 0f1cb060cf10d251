"""What a keyboard-wedge scanner sends, measured from the keys of one test scan."""

from __future__ import annotations

import math
import statistics

from .text import GS

TEST_LABEL = "]C1" + "0104006381333931" + "10TEST-LOT" + GS + "21SN0001"  # has a variable field, so a GS
TEST_DATA = TEST_LABEL[3:]  # what a scanner sends when it is set not to prefix the AIM identifier


def _ms(value) -> float:
    """A key's time stamp; anything that is not a finite number (a tampered report) counts as 0."""
    try:
        t = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return t if math.isfinite(t) else 0.0


def analyse(keys: list[dict], settings: dict) -> dict:
    """keys: [{"key": "0", "t": ms, "ctrl": bool}, ...] as the browser saw them for one scan.

    Reports the prefix and suffix around the test data, how the group separator
    arrived, what ended the scan, the gaps between keys, and where this differs
    from the site's settings.
    """
    text, terminator, gaps, gs_as = "", "pause", [], None
    last = None
    for k in keys[:600]:
        key, t = str(k.get("key", "")), _ms(k.get("t", 0))
        if last is not None:
            gaps.append(max(0.0, t - last))
        last = t
        if key in ("Enter", "Tab"):
            terminator = key
            break
        if key == "GroupSeparator" or (k.get("ctrl") and key in ("]", "BracketRight")):
            text += GS
            gs_as = "Ctrl+] (ASCII 29)"
        elif len(key) == 1:
            text += key
    found = {"text": text, "terminator": terminator, "keys": len(keys)}
    if gaps:
        found["gap_median_ms"] = round(statistics.median(gaps), 1)
        found["gap_max_ms"] = round(max(gaps), 1)
    data_at, gs_sub = _locate(text)
    problems = []
    if data_at is None:
        found["matches_test_label"] = False
        problems.append("This is not the test label, or the scanner changed its data. Scan the label shown here.")
        found["problems"] = problems
        return found
    start, end = data_at
    found["matches_test_label"] = True
    found["prefix"] = text[:start]
    found["suffix"] = text[end:]
    found["aim_identifier"] = found["prefix"].endswith("]C1")
    if gs_sub is None:
        found["gs"] = gs_as or "ASCII 29"
    elif gs_sub == "":
        found["gs"] = "dropped"
        problems.append("The scanner drops the GS1 group separator: lot and serial run together. "
                        "Set it to send GS (Ctrl+]) or a substitute character.")
    else:
        found["gs"] = f"sent as {gs_sub!r}"
    found["prefix"] = found["prefix"].removesuffix("]C1")
    if found["prefix"] != (settings.get("prefix") or ""):
        problems.append(f"The scanner sends the prefix {found['prefix']!r}; the site expects {settings.get('prefix') or ''!r}.")
    if found["suffix"] != (settings.get("suffix") or ""):
        problems.append(f"The scanner sends the suffix {found['suffix']!r}; the site expects {settings.get('suffix') or ''!r}.")
    if gs_sub and gs_sub != (settings.get("gs_substitute") or ""):
        problems.append(f"The scanner sends {gs_sub!r} for the group separator; the site expects "
                        f"{settings.get('gs_substitute') or 'ASCII 29'!r}.")
    if terminator == "pause" and gaps and max(gaps) > float(settings.get("pause_ms") or 80):
        problems.append("The scanner sends no Enter and pauses between keys longer than the site's pause setting.")
    found["problems"] = problems
    return found


def _locate(text: str) -> tuple[tuple[int, int] | None, str | None]:
    """Where the test data sits in what was typed, and what stood in for GS (None: GS itself)."""
    head, tail = TEST_DATA.split(GS)
    i = text.find(head)
    if i < 0:
        return None, None
    after = text[i + len(head) :]
    j = after.find(tail)
    if j < 0:
        return None, None
    sub = after[:j]
    end = i + len(head) + j + len(tail)
    if sub == GS:
        return (i, end), None
    if len(sub) > 4:
        return None, None
    return (i, end), sub
