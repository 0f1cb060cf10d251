"""Barcodes out of a camera frame or a photo.

Two decoders read each prepared image: zxing-cpp (fast, reads DataMatrix,
rarely wrong) and zbar through pyzbar (a second opinion that finds some
damaged linear codes zxing-cpp gives up on). When the plain image yields
nothing, a short ladder of cheaper-to-dearer preparations is tried before
giving up. Retail codes are kept only when their check digit holds: on the
floor a misread books stock to the wrong item, which is worse than a retry.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import zxingcpp
from PIL import Image
from pyzbar import pyzbar

from . import blurred, gtin, locate

MAX_SIDE = 1280  # a phone photo is 4000 px wide; barcodes stay readable at this size
MAX_BYTES = 20 * 1024 * 1024  # an upload bigger than this is not a camera frame
MAX_PIXELS = 40_000_000  # refuse decompression bombs before they are decoded

# One name per symbology, whichever decoder read it.
_ZXING_NAMES = {
    "EAN13": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "Code128": "Code 128",
    "Code39": "Code 39",
    "Code39Std": "Code 39",
    "Code39Ext": "Code 39",
    "ITF": "ITF",
    "ITF14": "ITF",
    "QRCode": "QR",
    "QRCodeModel2": "QR",
    "DataMatrix": "DataMatrix",
}
_ZBAR_NAMES = {
    "EAN13": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "CODE128": "Code 128",
    "CODE39": "Code 39",
    "I25": "ITF",
    "QRCODE": "QR",
}
RETAIL = {"EAN-13", "EAN-8", "UPC-A", "UPC-E"}
# Codes whose error correction or mandatory checksum makes a wrong read very unlikely.
STRONG = {"QR", "DataMatrix", "Code 128"}
GS1_IDS = ("]C1", "]d2", "]Q3", "]e0", "]J1")  # AIM identifiers that mark GS1 data
SYMBOLOGIES = ("EAN-13", "EAN-8", "UPC-A", "UPC-E", "Code 128", "Code 39", "ITF", "QR", "DataMatrix")

_ZXING_FORMATS = zxingcpp.barcode_formats_from_str("EAN13,EAN8,UPCA,UPCE,Code128,Code39,ITF,QRCode,DataMatrix")
_ZBAR_SYMBOLS = [s for s in pyzbar.ZBarSymbol if s.name in _ZBAR_NAMES]


class ImageError(ValueError):
    """The bytes are not an image this module can read."""


@dataclass
class Result:
    symbology: str
    text: str  # what the symbol encodes, as printed under it (UPC-A 12 digits, UPC-E 8)
    position: tuple[tuple[int, int], ...] = field(default=())  # corners in the caller's image
    gtin: str | None = None  # GTIN-14 for retail codes, one key however the code was printed
    decoder: str = ""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["position"] = [list(p) for p in self.position]
        if d["gtin"] is None:
            del d["gtin"]
        return d


# What a handheld's camera or a phone sends. Each is known by its first bytes, whatever the
# file is called or the request says; anything else (Radiance HDR, TIFF, PSD, ...) is refused
# unread, because OpenCV would decode it with no size check of its own.
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


def sniff(data: bytes) -> str:
    """The image format named by the bytes themselves: JPEG, PNG or WEBP; else ImageError."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise ImageError("this is not a JPEG, PNG or WebP picture")


def measure(data: bytes) -> tuple[str, int, int]:
    """Format, width and height from the header alone, within the budget; else ImageError.

    Nothing is decoded here: a 60 kB PNG can declare 50,000 x 50,000 pixels,
    and it is refused before a byte of it is inflated.
    """
    if not data:
        raise ImageError("the file is empty")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the image is larger than {MAX_BYTES // (1024 * 1024)} MB")
    kind = sniff(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            with Image.open(io.BytesIO(data), formats=[kind]) as im:
                w, h = im.size
    except Image.DecompressionBombError:
        raise ImageError(f"the image has more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except Exception:  # noqa: BLE001 - a header Pillow cannot read is not a picture to decode
        raise ImageError(f"this {FORMATS[kind]} file is damaged or cut short") from None
    if w * h > MAX_PIXELS:
        raise ImageError(f"the image is {w:,} x {h:,} pixels; at most {MAX_PIXELS // 1_000_000} megapixels")
    return kind, w, h


def imdecode(data: bytes, color: bool = False, longest: int = 0) -> np.ndarray:
    """Bytes within the budget to an array (grayscale, or BGR with color=True).

    With `longest`, a large JPEG is decoded at 1/2, 1/4 or 1/8 of its size
    (libjpeg scales while it decodes, at a fraction of the time and memory)
    as long as its longer side stays at least `longest`.
    """
    kind, w, h = measure(data)
    if kind in ("PNG", "WEBP"):
        return _on_white(data, kind, color)
    flag = cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE
    if longest and kind == "JPEG":
        for factor, reduced in ((8, "REDUCED_{}_8"), (4, "REDUCED_{}_4"), (2, "REDUCED_{}_2")):
            if max(w, h) // factor >= longest:
                flag = getattr(cv2, "IMREAD_" + reduced.format("COLOR" if color else "GRAYSCALE"))
                break
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise ImageError(f"this {FORMATS[kind]} file is damaged or cut short")
    return image


def _on_white(data: bytes, kind: str, color: bool) -> np.ndarray:
    """A PNG or WebP, its transparency laid on white paper: read without it, transparent pixels are
    whatever colour they hold (black, most often), and dark bars vanish into a dark background."""
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise ImageError(f"this {FORMATS[kind]} file is damaged or cut short")
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        bgr = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = bgr.round().astype(np.uint8)
    if color:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    return grayscale(image)


def load(data: bytes) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG or WebP) to a grayscale array, or ImageError."""
    return imdecode(data)


def decode_bytes(data: bytes) -> list[Result]:
    return decode(load(data))


def decode_file(path: str | os.PathLike) -> list[Result]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from None
    return decode_bytes(data)


def grayscale(image: np.ndarray) -> np.ndarray:
    # zbar reads only the first channel of a colour array, so colour goes to gray first.
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ImageError("expected a grayscale, BGR or BGRA image")


def decode(image: np.ndarray) -> list[Result]:
    """Every barcode found in the image; an empty list when there is none."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ImageError("expected a non-empty image array")
    gray = grayscale(image)
    if gray.dtype != np.uint8:
        gray = cv2.normalize(gray, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    full = np.ascontiguousarray(gray)
    scale = 1.0
    if max(gray.shape) > MAX_SIDE:
        scale = MAX_SIDE / max(gray.shape)
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = np.ascontiguousarray(gray)
    found = _decode(gray, scale)
    if not found and scale < 1:
        # A code small in a large photo loses its bars to the shrinking: once, at full size.
        found = _read(full, 1.0)
    if any(r.symbology == "ITF" for r in found):
        region = locate.find(full)
        found = [r for r in found if r.symbology != "ITF" or _whole_itf(full, r, region)]
    return found


def _whole_itf(gray: np.ndarray, r: Result, region: locate.Region | None, share: float = 0.8) -> bool:
    """Whether an ITF read is the whole code, not a shorter valid ITF read out of a longer one's bars.

    ITF has no check digit. A scan line that enters or leaves a longer ITF among its bars (across
    tilted bars, through their ends) reads a part of it whose ends fall well inside the bars' region;
    one that lost a single digit pair at an end (to glare, a doubled image) still spans most of the
    bars, but two or more bars then lie in the 1.5-9 narrow modules beyond that end, where a whole
    code has paper, or the edge of its label: at most one dark run. (On the generated sets of seeds
    123, 2026, 7 and 99, every read short of a pair showed 2 or 3 bars at one end; every whole read
    0 or 1.)"""
    if region is None or len(r.position) < 2:
        return True
    upright = region.from_image(r.position)
    x0, x1 = upright[:, 0].min(), upright[:, 0].max()
    y0, y1 = upright[:, 1].min(), upright[:, 1].max()
    tall = region.y1 - region.y0
    elsewhere = x1 < region.x0 or x0 > region.x1 or y1 < region.y0 - tall or y0 > region.y1 + tall
    if not elsewhere and x1 - x0 < share * (region.x1 - region.x0):
        return False
    yc = float(np.clip(upright[:, 1].mean(), region.y0, region.y1))
    return not _bars_past_ends(gray, region, x0, x1, yc, len(r.text))


def _bars_past_ends(gray: np.ndarray, region: locate.Region, x0: float, x1: float, yc: float, digits: int) -> bool:
    """Whether two or more bars lie in an ITF's quiet zone at either end of [x0, x1] (upright), read
    along row yc; a window that leaves the image says nothing."""
    tall = region.y1 - region.y0
    module = (x1 - x0) / (8 * digits + 8.5)  # n digits of 3 narrow and 2 wide (2.5), start, stop
    step = max(module / 3, 0.5)
    xs = np.arange(x0 - 9 * module, x1 + 9 * module, step)
    X, Y = np.meshgrid(xs, yc + np.linspace(-0.15, 0.15, 5) * tall)
    at = region.to_image(np.stack([X.ravel(), Y.ravel()], 1)).astype(np.float32)
    # Only the pixels around the samples are made float (a large photo would be tens of megabytes).
    h, w = gray.shape
    cx0, cy0 = (max(0, int(np.floor(v)) - 2) for v in at.min(0))
    cx1, cy1 = min(w, int(np.ceil(at[:, 0].max())) + 3), min(h, int(np.ceil(at[:, 1].max())) + 3)
    if cx1 <= cx0 or cy1 <= cy0:
        return False
    crop = gray[cy0:cy1, cx0:cx1].astype(np.float32)
    p = cv2.remap(crop, (at[:, 0] - cx0).reshape(X.shape), (at[:, 1] - cy0).reshape(X.shape),
                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1).mean(0)
    inside = p[(xs >= x0) & (xs <= x1)]
    if inside.size < 8:
        return False
    lo, hi = np.percentile(inside, [5, 95])
    for a, b in ((x0 - 9 * module, x0 - 1.5 * module), (x1 + 1.5 * module, x1 + 9 * module)):
        win = p[(xs >= a) & (xs <= b)]
        if win.size == 0 or win.min() < 0:
            continue  # off the image
        dark = np.concatenate([[0], (win < (lo + hi) / 2).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(dark))
        runs = (edges[1::2] - edges[::2]) * step
        if np.count_nonzero(runs >= 0.5 * module) >= 2:
            return True
    return False


def _decode(gray: np.ndarray, scale: float) -> list[Result]:
    steps = _Steps(gray, scale)
    found = steps.reads(0)
    weak = [r for r in found if _needs_confirming(r)]
    if weak:
        found = _confirmed(found, weak, steps)
    if found:
        found = _by_confidence(found)
        return found + _another(steps, found, gray, scale)
    # The harder preparations can turn a blurred code into a different valid one; a weak code (no
    # mandatory check, or only mod-10) needs two separate reads (at two steps, or by both decoders at
    # one) and, where other codes were read on the same spot, two more than the best of them.
    votes: dict[tuple[str, str], list[Result]] = {}
    for r in steps.reads(0):
        votes.setdefault((r.symbology, r.text), []).append(r)  # overruled plain reads still compete
    # Bars blurred over a module or more: sharpening cannot bring back edges that are gone and a
    # cylinder's narrowing is lost in the blur, so the ladder's last two steps are left to the model
    # reader. The scaled and equalised steps stay: a short code (EAN-8, UPC-E) measures blurrier than
    # it is, and they still read one.
    defocused = steps.where.region is not None and steps.where.region.blur(gray) >= DEFOCUSED
    best = _vote(steps, len(steps) - 2 if defocused else len(steps), votes)
    if best is not None:
        return [best]
    # Defocused retail codes: no edges left to find, but the blurred profile still
    # fits one code far better than any other (see blurred.py).
    for code, corners in blurred.read(gray, steps.where.region):
        name, text = ("UPC-A", code[1:]) if code[0] == "0" else ("EAN-13", code)
        r = _result(name, text, corners, scale, "model")
        if r is not None:
            return [r]
    return []


def _another(steps: "_Steps", found: list[Result], gray: np.ndarray, scale: float) -> list[Result]:
    """The code on the strongest bars of the photo when the retail codes the plain image gave lie
    elsewhere (a Japanese book's ISBN beside the price code read first; a second item's code in the
    frame): read by the vote of the ladder's first two steps, as a code read nowhere else would be.
    Only after retail reads: the cost is finding the bars (3-10 ms) on each such photo."""
    if not all(r.symbology in RETAIL for r in found):
        return []  # a label's codes of other kinds are read together on the plain image
    region = steps.where.region
    if region is None:
        return []
    corners = region.to_image([[region.x0, region.y0], [region.x1, region.y0], [region.x1, region.y1],
                               [region.x0, region.y1]]) / scale
    bars = Result("", "", tuple((round(x), round(y)) for x, y in corners))
    if any(_overlap(r, bars) for r in found):
        return []
    # the two cheapest steps: a photo's strongest bars may be no code
    best = _vote(steps, min(3, len(steps)), {},
                 lambda r: _overlap(r, bars) and not any(r.text == f.text for f in found))
    return [best] if best is not None else []


def _vote(steps: "_Steps", until: int, votes: dict[tuple[str, str], list[Result]], counts=None) -> Result | None:
    """The ladder's vote over steps 1 to `until` (exclusive), on top of `votes`, over the reads
    `counts` accepts (all by default): a strong code at once, else _leader after each step."""
    for step in range(1, until):
        for r in steps.reads(step):
            if counts is not None and not counts(r):
                continue
            if r.symbology in STRONG:
                return r
            votes.setdefault((r.symbology, r.text), []).extend([r, r] if "+" in r.decoder else [r])
        best = _leader(votes)
        if best is not None:
            return best
    return None


def _needs_confirming(r: Result) -> bool:
    """A retail code read by zbar alone, or a UPC-E by one decoder alone: zbar misreads sharp photos
    with doubled-looking bars as another valid EAN-13, and a UPC-E's six digits carry their check only
    in the bars' parity, which one misjudged bar turns into another valid UPC-E for either decoder."""
    return r.symbology in RETAIL and (r.decoder == "zbar" or (r.symbology == "UPC-E" and "+" not in r.decoder))


class _Steps:
    """The ladder's preparations, each read once, when first asked for, whoever asks."""

    def __init__(self, gray: np.ndarray, scale: float):
        self.where = _Where(gray)
        self._steps = list(_ladder(gray, self.where))
        self._reads: dict[int, list[Result]] = {}
        self._scale = scale

    def __len__(self) -> int:
        return len(self._steps)

    def reads(self, step: int) -> list[Result]:
        if step not in self._reads:
            prepare, factor = self._steps[step]
            image = prepare()
            if callable(factor):
                found = _read(image, 1.0)
                for r in found:
                    r.position = tuple((round(x / self._scale), round(y / self._scale))
                                       for x, y in factor(r.position)) if r.position else ()
            else:
                found = _read(image, factor * self._scale)
            self._reads[step] = found
        return self._reads[step]


def _leader(votes: dict[tuple[str, str], list[Result]]) -> Result | None:
    """The code with two votes or more and at least two more than any other code read on its spot."""
    for (name, _text), seen in sorted(votes.items(), key=lambda kv: -len(kv[1])):
        if len(seen) < 2:
            return None
        rivals = [len(o) for key, o in votes.items() if key != (name, _text) and _spot_shared(seen, o)]
        if len(seen) - max(rivals, default=0) >= 2:
            return seen[0]
    return None


def _spot_shared(a: list[Result], b: list[Result]) -> bool:
    return any(_overlap(x, y) for x in a for y in b)


def _by_confidence(found: list[Result]) -> list[Result]:
    """Read by both decoders first, then by zxing-cpp (it rarely misreads), then by zbar alone."""
    return sorted(found, key=lambda r: (0 if "+" in r.decoder else 1 if r.decoder == "zxing-cpp" else 2))


def _confirmed(found: list[Result], weak: list[Result], steps: _Steps) -> list[Result]:
    """A retail code that zbar alone read on the plain image (zbar misreads sharp photos with doubled-
    looking bars as a different valid EAN-13; zxing-cpp rarely misreads) is kept once another
    preparation reads it again, and dropped if one reads a different code in its place or none does."""
    pending = {id(r): r for r in weak}
    for step in range(1, len(steps)):
        later = steps.reads(step)
        for key, r in list(pending.items()):
            if any(o.symbology in RETAIL and o.text != r.text and _overlap(o, r) for o in later):
                # another code read in its place, even beside it again: the vote below decides
                found = [x for x in found if x is not r]
                del pending[key]
            elif any(o.symbology == r.symbology and o.text == r.text for o in later):
                del pending[key]
        if not pending:
            break
    return [r for r in found if id(r) not in pending]


def _ladder(gray: np.ndarray, where: _Where):
    """Preparations in order of cost; each yields (make image, how its pixels map to `gray`'s): a scale
    factor, or a function from its points to `gray`'s for the steps that warp the code's region."""
    h, w = gray.shape
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    yield (lambda: gray), 1.0
    if max(h, w) < 640:
        # Small blurred photos: modules become wide enough for the edge finders. Binarising or
        # equalising at 1x adds nothing to these (the readers binarise themselves); sharpening does.
        yield (lambda: _up(gray, 2)), 2.0
        yield (lambda: clahe.apply(_up(gray, 2))), 2.0
        yield where.step(0, 2.5, clahe)
        yield (lambda: _sharpen(gray)), 1.0
    else:
        yield (lambda: clahe.apply(gray)), 1.0
        yield (lambda: _sharpen(gray)), 1.0
        yield (lambda: cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]), 1.0
        yield (lambda: cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5)), 1.0
        # The code's own region, turned upright at twice the size: thin bars a large photo blurs together.
        yield where.step(0, 2, clahe)
    # A label round a bottle or can: modules narrow toward its edges as the surface turns away.
    yield where.step(CYLINDER_ARC, 2)


DEFOCUSED = 0.9  # locate.Region.blur from which the ladder is cut short (sharp photos: 0.3-0.75)
CYLINDER_ARC = 45  # degrees either side of the middle the code is assumed to cover when unwrapped
_NOTHING = np.full((8, 8), 255, np.uint8)


class _Where:
    """The bars' region in the image (locate.find), found once, when a step first needs it, and the
    map from a region step's pixels back to the image's."""

    def __init__(self, gray: np.ndarray):
        self._gray = gray
        self._region: list = []

    @property
    def region(self) -> locate.Region | None:
        if not self._region:
            self._region.append(locate.find(self._gray))
        return self._region[0]

    def step(self, arc: float, k: float, clahe=None):
        """A ladder step on the region, _unwrapped(arc, k) and equalised by `clahe` if given:
        (make image, its map to the image); a blank image where no region is found."""
        holder: dict = {}

        def prepare():
            if self.region is None:
                return _NOTHING
            image, holder["map"] = _unwrapped(self._gray, self.region, arc, k)
            return clahe.apply(image) if clahe is not None else image

        return prepare, (lambda points: holder.get("map", np.asarray)(points))


def _unwrapped(gray: np.ndarray, region: locate.Region, arc: float, k: float):
    """The code's region upright and sampled k times per pixel; with `arc` (degrees), as if the label
    were flattened off a cylinder whose axis runs along the bars through the code's middle, the code
    covering `arc` either side of it. Returns the image and the map from its points back to `gray`'s."""
    half = (region.x1 - region.x0) / 2 * 1.1  # the region's extent trims the outermost bars
    middle = (region.x0 + region.x1) / 2
    radius = half / np.sin(np.radians(arc)) if arc else None
    length = (radius * np.radians(arc) if radius else half) + 0.15 * half  # and quiet zones
    tall = region.y1 - region.y0

    def across(u):  # flat position along the code -> x in the upright image
        u = np.asarray(u, dtype=np.float64)
        return middle + (radius * np.sin(np.clip(u / radius, -np.pi / 2, np.pi / 2)) if radius else u)

    u = np.arange(-length, length, 1 / k)
    v = np.arange(region.y0 - 0.15 * tall, region.y1 + 0.15 * tall, 1 / k)
    x, y = np.meshgrid(across(u), v)
    back = cv2.invertAffineTransform(region.rotation)
    mx = (back[0, 0] * x + back[0, 1] * y + back[0, 2]).astype(np.float32)
    my = (back[1, 0] * x + back[1, 1] * y + back[1, 2]).astype(np.float32)
    image = cv2.remap(gray, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)

    def to_image(points):
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        upright = np.stack([across(pts[:, 0] / k - length), pts[:, 1] / k + v[0]], 1)
        return region.to_image(upright)

    return image, to_image


def _up(gray: np.ndarray, factor: int) -> np.ndarray:
    return cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def _sharpen(gray: np.ndarray) -> np.ndarray:
    blur = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 1.8, blur, -0.8, 0)


def _read(img: np.ndarray, factor: float) -> list[Result]:
    results: list[Result] = []
    for b in zxingcpp.read_barcodes(img, formats=_ZXING_FORMATS, text_mode=zxingcpp.TextMode.Plain):
        name = _ZXING_NAMES.get(b.format.name)
        if name is None or not b.valid:
            continue
        text = b.text
        if name == "QR" and b.content_type == zxingcpp.ContentType.Binary:
            text = _qr_bytes(b.bytes, text)
        if b.symbology_identifier in GS1_IDS:
            # Keep the GS1 marker a keyboard-wedge scanner would send, so parse() sees the same text.
            text = b.symbology_identifier + text
        p = b.position
        corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        results.append(_result(name, text, [(c.x, c.y) for c in corners], factor, "zxing-cpp"))
    zxing_read = {r.text for r in results if r is not None}
    for s in pyzbar.decode(img, symbols=_ZBAR_SYMBOLS):
        name = _ZBAR_NAMES.get(s.type)
        if name is None:
            continue
        if name == "ITF" and s.quality < ITF_LINES and s.data.decode("latin-1") not in zxing_read:
            continue  # an ITF (no check digit) on one or two scan lines only: a ghost in noise or part of one
        try:
            text = s.data.decode("utf-8")
        except UnicodeDecodeError:
            text = s.data.decode("latin-1")
        results.append(_result(name, text, [(pt.x, pt.y) for pt in s.polygon], factor, "zbar"))
    return _merge([r for r in results if r is not None])


ITF_LINES = 3  # zbar's quality of a linear read is the number of scan lines that agreed on it


def _qr_bytes(data: bytes, text: str) -> str:
    """A QR code's byte segment with no character set named (no ECI): zxing-cpp gives it as Latin-1,
    but such codes are text in UTF-8 or, from Japanese systems, Shift-JIS (QR's own kanji charset) far
    more often. Decoded strictly as those, in that order; else as zxing-cpp read it."""
    for charset in ("utf-8", "shift_jis"):
        try:
            decoded = data.decode(charset)
        except UnicodeDecodeError:
            continue
        if decoded.isprintable():
            return decoded
    return text


def _result(name: str, text: str, points, factor: float, decoder: str) -> Result | None:
    code = None
    if name in RETAIL:
        # zxing-cpp reports a UPC-A as EAN-13 with a leading 0 and zbar the other way
        # round; the symbology follows the digits so both name the same code alike.
        if name == "EAN-13" and len(text) == 13 and text[0] == "0":
            name, text = "UPC-A", text[1:]
        elif name == "UPC-A" and len(text) == 13 and text[0] == "0":
            text = text[1:]
        elif name == "UPC-E" and len(text) == 13 and text[0] == "0":
            # zxing-cpp gives a UPC-E expanded, as an EAN-13; the printed eight digits are the code.
            text = gtin.upca_to_upce(text[1:]) or text
        code = gtin.normalise(text, name)
        if code is None:
            return None  # fails its check digit: a misread
    if name == "ITF" and text.isdigit() and len(text) == 14 and not gtin.is_valid(text):
        return None  # an ITF-14 carries a GTIN-14, and this one's check digit is wrong
    position = tuple((round(x / factor), round(y / factor)) for x, y in points)
    return Result(name, text, position, code, decoder)


# Where the two decoders read one spot differently, which is right is known for these: zxing-cpp reads
# Code 128's Latin-1 characters (zbar folds "ó" to "s"), expands Code 39's full-ASCII pairs ("+A" is
# "a"; zbar leaves them), honours a QR code's ECI character set (its unmarked bytes are read as
# UTF-8 or Shift-JIS, see _qr_bytes) and alone reads DataMatrix. For the rest (retail codes, ITF) a clash keeps neither: no read beats a wrong one.
ZXING_KNOWS = {"Code 128", "Code 39", "QR", "DataMatrix"}


def _merge(results: list[Result]) -> list[Result]:
    """One result per code. Where the two decoders read the same spot differently, the one known to be
    right for that symbology is kept (ZXING_KNOWS); for other symbologies, neither."""
    kept: dict[tuple[str, str], Result] = {}
    for r in results:
        # zbar cannot tell a GS1-128 from a plain Code 128, so it reads the data without the marker.
        key = (r.symbology, r.text[3:] if r.text.startswith(GS1_IDS) else r.text)
        if key in kept:
            kept[key].decoder = "zxing-cpp+zbar" if kept[key].decoder != r.decoder else kept[key].decoder
            continue
        kept[key] = r
    out = list(kept.values())
    dropped = set()
    for i, a in enumerate(out):
        for b in out[i + 1 :]:
            if a.symbology == b.symbology and a.decoder != b.decoder and _overlap(a, b):
                if a.symbology in ZXING_KNOWS:
                    dropped.add(id(b) if a.decoder.startswith("zxing-cpp") else id(a))
                else:
                    dropped.update((id(a), id(b)))
    return _parts_dropped([r for r in out if id(r) not in dropped])


MODULES = {"UPC-E": 51, "EAN-8": 67, "EAN-13": 95, "UPC-A": 95}  # a retail symbol's width in modules


def _parts_dropped(results: list[Result]) -> list[Result]:
    """A shorter retail code read on the spot of a longer one is part of it (half an EAN-13 has a UPC-E's
    shape); then the ITF rule below."""
    retail = [r for r in results if r.symbology in RETAIL]
    parts = {id(a) for a in retail for b in retail
             if MODULES[a.symbology] < MODULES[b.symbology] and _overlap(a, b, reach=0.1)}
    return _itf_parts_dropped([r for r in results if id(r) not in parts])


def _itf_parts_dropped(results: list[Result]) -> list[Result]:
    """ITF has no check digit, and a scan line that starts or ends among its bars reads a shorter valid
    ITF out of a longer one. Where two ITF reads share a spot, the one whose digits hold the other's is
    kept (the other is part of it); where neither holds the other, they contradict and neither is kept."""
    itf = [r for r in results if r.symbology == "ITF"]
    dropped = set()
    for i, a in enumerate(itf):
        for b in itf[i + 1 :]:
            if not _overlap(a, b, reach=0.25):
                continue
            if a.text in b.text:
                dropped.add(id(a))
            elif b.text in a.text:
                dropped.add(id(b))
            else:
                dropped.update((id(a), id(b)))
    return [r for r in results if id(r) not in dropped]


def _overlap(a: Result, b: Result, reach: float = 0.0) -> bool:
    """Whether two reads' boxes meet; with `reach`, each box grown by that share of its longer side
    (a linear code's read is often one scan line, and another read of the same symbol another line)."""
    if not a.position or not b.position:
        return False
    ax = [p[0] for p in a.position]
    ay = [p[1] for p in a.position]
    bx = [p[0] for p in b.position]
    by = [p[1] for p in b.position]
    ra = reach * max(max(ax) - min(ax), max(ay) - min(ay))
    rb = reach * max(max(bx) - min(bx), max(by) - min(by))
    gap = ra + rb
    return (min(ax) <= max(bx) + gap and min(bx) <= max(ax) + gap
            and min(ay) <= max(by) + gap and min(by) <= max(ay) + gap)
