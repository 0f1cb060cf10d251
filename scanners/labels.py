"""Barcode labels: images for printable sheets and ZPL for Zebra thermal printers.

python-barcode encodes each symbol into its modules; the image is drawn here from
those modules at 300 dpi with a whole number of pixels per module, so every bar
edge falls on a pixel edge. (python-barcode's own image writer places bars at
millimetre positions turned into pixels, which moves edges a pixel either way:
a third of a module at this size.)
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache

import barcode
import numpy as np

from . import gtin

DPI = 300
MODULE_PX = 3  # 0.254 mm at 300 dpi: inside the GS1 range for retail and logistics codes
QUIET_MODULES = 11  # each side: the most the retail codes and Code 128 ask (EAN-13 11 on the left)
ITF_QUIET_NARROW = 10  # ITF-14: ten narrow bars each side (python-barcode draws a narrow bar 2 modules wide)
SYMBOLOGIES = {"code128", "ean13", "ean8", "upca", "itf", "gs1_128"}


class LabelError(ValueError):
    pass


@dataclass(frozen=True)
class Label:
    kind: str  # bin, item, case, plate, carton
    symbology: str  # a python-barcode name from SYMBOLOGIES
    data: str  # what the barcode encodes; for GS1-128 the element string without FNC1
    title: str  # large text under the code
    subtitle: str = ""

    @property
    def hri(self) -> str:
        """The human-readable text printed under the bars, to key in when a label will not scan:
        the digits as encoded, and for GS1-128 each element string with its AI in brackets."""
        if self.symbology != "gs1_128":
            return self.data
        from biip.gs1_messages import GS1Message

        try:
            return GS1Message.parse(self.data).as_hri()
        except Exception:  # a label we drew always parses; never let the text stop the sheet
            return self.data.replace("\x1d", " ")

    @property
    def scan_text(self) -> str:
        """What a scanner reads back from this label."""
        return "]C1" + self.data if self.symbology == "gs1_128" else self.data


def bin_label(code: str, warehouse: str = "") -> Label:
    return Label("bin", "code128", _code128_safe(code), code, warehouse)


def command_label(code: str, title: str, what: str = "") -> Label:
    """A command barcode (CMD:CLOSE): scanned on a task, it is the tap of that button."""
    return Label("command", "code128", _code128_safe(code), title, what)


def plate_label(code: str, warehouse: str = "") -> Label:
    return Label("plate", "code128", _code128_safe(code), code, warehouse)


def item_label(code: str, sku: str, name: str = "") -> Label:
    """A unit barcode: EAN-13, EAN-8 or UPC-A as the code is, Code 128 for an in-house code."""
    if code.isdigit() and gtin.is_valid(code) and len(code) in (8, 12, 13):
        symbology = {8: "ean8", 12: "upca", 13: "ean13"}[len(code)]
        return Label("item", symbology, code, sku, name)
    if code.isdigit() and gtin.is_valid(code) and len(code) == 14:
        return Label("case", "itf", code, sku, name)
    return Label("item", "code128", _code128_safe(code), sku, name)


def carton_label(gtin14: str, sku: str, lot: str | None = None, expiry=None, count: int | None = None) -> Label:
    """A GS1-128 carton label: GTIN, then expiry and count (fixed length), then lot (variable, last)."""
    if not gtin.is_valid(gtin14):
        raise LabelError(f"{gtin14} is not a valid GTIN")
    data = "01" + gtin14.zfill(14)
    if expiry is not None:
        data += "17" + expiry.strftime("%y%m%d")
    if count is not None:
        data += f"37{int(count)}" + ("\x1d" if lot else "")
    if lot:
        if not re.fullmatch(r"[!-~]{1,20}", lot):
            raise LabelError("a lot on a GS1 label has 1 to 20 printable characters")
        data += "10" + lot
    parts = [f"lot {lot}" if lot else "", f"exp {expiry.isoformat()}" if expiry else "", f"{count} units" if count else ""]
    return Label("carton", "gs1_128", data, sku, " · ".join(p for p in parts if p))


def _code128_safe(code: str) -> str:
    if not code or not all(" " <= ch <= "~" for ch in code):
        raise LabelError(f"{code!r} cannot be printed as Code 128: use letters, digits and - . / only")
    return code


def _symbol(label: Label):
    data = label.data
    if label.symbology in ("ean13", "ean8", "upca"):
        data = data[:-1]  # python-barcode adds the check digit itself
    elif label.symbology == "itf":
        pass
    elif label.symbology == "gs1_128":
        data = data.replace("\x1d", "\xf1")  # python-barcode's FNC1
    try:
        return barcode.get(label.symbology, data)
    except Exception as exc:  # python-barcode raises several unrelated types for bad data
        raise LabelError(f"cannot draw {label.data!r} as {label.symbology}: {exc}") from None


@lru_cache(maxsize=2048)
def png(label: Label, height_mm: float = 12.0) -> bytes:
    """The barcode alone (no text; the sheet prints that larger), as a 300 dpi grayscale PNG."""
    from PIL import Image

    symbol = _symbol(label)
    modules = np.frombuffer(symbol.build()[0].encode("ascii"), np.uint8) == ord("1")
    quiet = np.zeros(ITF_QUIET_NARROW * symbol.narrow if label.symbology == "itf" else QUIET_MODULES, bool)
    row = np.repeat(np.concatenate([quiet, modules, quiet]), MODULE_PX)
    height = round(height_mm * DPI / 25.4)
    image = np.tile(np.where(row, 0, 255).astype(np.uint8), (height, 1))
    buf = io.BytesIO()
    Image.fromarray(image, "L").save(buf, "PNG", dpi=(DPI, DPI))
    return buf.getvalue()


def png_size_mm(label: Label, height_mm: float = 12.0) -> tuple[float, float]:
    from PIL import Image

    with Image.open(io.BytesIO(png(label, height_mm))) as im:
        w, h = im.size
    return round(w * 25.4 / DPI, 2), round(h * 25.4 / DPI, 2)


# ZPL ---------------------------------------------------------------------------------------------

ZPL_DPMM = 8  # 203 dpi, the common Zebra desktop and industrial head


def zpl(labels: list[Label], width_mm: float = 100, height_mm: float = 50) -> str:
    """One ^XA...^XZ block per label for a 203 dpi Zebra printer."""
    w, h = round(width_mm * ZPL_DPMM), round(height_mm * ZPL_DPMM)
    out = []
    for label in labels:
        out.append(
            "\n".join(
                [
                    "^XA",
                    "^CI28",  # UTF-8 text
                    f"^PW{w}",
                    f"^LL{h}",
                    "^FO40,24^A0N,56,56^FH_^FD" + _zpl_text(label.title) + "^FS",
                    "^FO40,88^A0N,28,28^FH_^FD" + _zpl_text(label.subtitle) + "^FS",
                    "^FO40,132^BY3" + _zpl_barcode(label, h - 180) + "^FS",
                    "^XZ",
                ]
            )
        )
    return "\n".join(out) + "\n"


def _zpl_text(text: str) -> str:
    # ^FH_ makes _XX a hex escape, so the command characters ^ and ~ can be printed.
    return "".join(f"_{ord(ch):02X}" if ch in "^~_" else ch for ch in text)


def _zpl_barcode(label: Label, height: int) -> str:
    height = max(60, height)
    if label.symbology in ("ean13", "upca"):
        cmd = "^BEN" if label.symbology == "ean13" else "^BUN"
        return f"{cmd},{height},Y,N^FD{label.data[:-1]}"
    if label.symbology == "ean8":
        return f"^B8N,{height},Y,N^FD{label.data[:-1]}"
    if label.symbology == "itf":
        return f"^B2N,{height},Y,N,N^FD{label.data}"
    if label.symbology == "gs1_128":
        # >; starts subset C, >8 is FNC1: at the start it marks GS1, inside it ends a variable field.
        return f"^BCN,{height},Y,N,N^FD>;>8{label.data.replace(chr(29), '>8')}"
    return f"^BCN,{height},Y,N,N^FH_^FD{_zpl_text(label.data)}"


_ZPL_BARCODE = re.compile(r"\^(BE|BU|B8|B2|BC)N,\d+,[YN],[YN](?:,[YN])?(?:\^FH_)?\^FD(.*?)\^FS")


def zpl_symbols(text: str) -> list[Label]:
    """Read back what each label's barcode field will print: the symbology and data a Zebra encodes.

    Used to check generated ZPL without a printer: the result is drawn again and decoded.
    """
    labels = []
    for cmd, data in _ZPL_BARCODE.findall(text):
        if cmd in ("BE", "BU", "B8"):
            symbology = {"BE": "ean13", "BU": "upca", "B8": "ean8"}[cmd]
            labels.append(Label("zpl", symbology, gtin.with_check(data), ""))
        elif cmd == "B2":
            labels.append(Label("zpl", "itf", data, ""))
        elif data.startswith(">;>8"):
            labels.append(Label("zpl", "gs1_128", data[4:].replace(">8", "\x1d"), ""))
        else:
            labels.append(Label("zpl", "code128", re.sub(r"_([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data), ""))
    return labels
