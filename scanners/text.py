"""Scanned text as it arrives from a keyboard-wedge scanner or a person."""

GS = "\x1d"  # GS1 group separator: ends a variable-length field in a GS1 code
MAX_SCAN = 200  # no label on the floor carries more; longer input is noise


def clean_scan(text: str | None) -> str:
    """Drop what scanners and fingers add around a code.

    Scanners end a scan with CR, LF or Tab and people add spaces; other
    control characters are noise. The GS1 group separator is kept, because
    it is part of what a GS1 code says.
    """
    kept = "".join(ch for ch in (text or "") if ch.isprintable() or ch == GS)
    return kept.strip()[:MAX_SCAN]
