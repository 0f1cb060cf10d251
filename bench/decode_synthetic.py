"""The decoder on photos it has never seen: generated ones, side by side with zxing-cpp and zbar alone.

    python bench/decode_synthetic.py [--images 400] [--seed 2026] [--json]

bench/decode.py measures the decoder on the 288 development photos, the set its
rules were worked out on. This bench makes a fresh set from a seed instead: a
random code of each of the nine symbologies, rendered, laid on a label on a
cluttered background and put through what a floor camera does to it, each with
its own chance and strength, drawn before anything is decoded:

  rotation and perspective, a label round a can (linear codes), defocus,
  camera shake (a doubled image), a glare spot, faded print, sensor noise,
  JPEG compression, and a small code in a large frame.

The same JPEG bytes go to scanners.decode_bytes, to zxing-cpp alone and to zbar
alone (pyzbar, grayscale), on one core. Found = the code's own text among the
results; wrong = any result that is not it (each image holds one code). Change
--seed for another set; the figures in the README name theirs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar

from scanners import decoder as dec
from scanners import gtin

LINEAR = ("EAN-13", "EAN-8", "UPC-A", "UPC-E", "Code 128", "Code 39", "ITF")
WRITER = {"EAN-13": "EAN13", "EAN-8": "EAN8", "UPC-A": "UPCA", "UPC-E": "UPCE", "Code 128": "Code128",
          "Code 39": "Code39", "ITF": "ITF", "QR": "QRCode", "DataMatrix": "DataMatrix"}
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def random_text(symbology: str, rng: np.random.Generator) -> str:
    digits = lambda n: "".join(str(d) for d in rng.integers(0, 10, n))  # noqa: E731
    if symbology == "EAN-13":
        return gtin.with_check(str(rng.integers(1, 10)) + digits(11))
    if symbology == "EAN-8":
        return gtin.with_check(str(rng.integers(1, 10)) + digits(6))
    if symbology == "UPC-A":
        return gtin.with_check("0" + digits(10))
    if symbology == "UPC-E":
        while True:  # six digits whose expansion is a UPC-A, and the check digit of that
            six = digits(6)
            upca = gtin.upce_to_upca("0" + six + "0")[:-1]
            upce = "0" + six + gtin.check_digit(upca)
            if gtin.upca_to_upce(gtin.upce_to_upca(upce)) == upce:
                return upce
    if symbology == "ITF":
        return gtin.with_check(digits(13))
    if symbology == "Code 39":
        return "".join(rng.choice(list(ALNUM + "-. "), int(rng.integers(5, 12)))).strip() or "A1"
    if symbology == "Code 128":
        return "-".join("".join(rng.choice(list(ALNUM), int(rng.integers(2, 5)))) for _ in range(3))
    if symbology == "QR":
        return "https://wh.example/i/" + "".join(rng.choice(list(ALNUM), int(rng.integers(6, 30))))
    return "(01)" + gtin.with_check("0" + digits(12)) + "(10)" + "".join(rng.choice(list(ALNUM), 6))


def render(symbology: str, text: str) -> np.ndarray:
    """The symbol at 4 px a module with its quiet zone, on a white label."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.__members__[WRITER[symbology]])
    image = np.array(zxingcpp.write_barcode_to_image(symbol, scale=4))
    quiet = 40 if symbology in LINEAR else 16
    return cv2.copyMakeBorder(image, quiet, quiet + 24, quiet, quiet, cv2.BORDER_CONSTANT, value=250)


def draw(symbology: str, rng: np.random.Generator) -> dict:
    """What happens to one photo, drawn up front."""
    two_d = symbology in ("QR", "DataMatrix")
    return {
        "rotation": float(rng.choice([0, 90, 180])) + float(rng.normal(0, 12)),
        "perspective": float(rng.uniform(0, 0.12)),
        "cylinder": float(rng.uniform(80, 150)) if rng.random() < 0.2 else 0.0,
        "module_px": float(rng.uniform(2.0, 4.0) if two_d else rng.uniform(1.3, 3.2)),
        "defocus": float(rng.uniform(0.2, 0.9)) if rng.random() < 0.35 else 0.0,  # Gaussian sigma, in modules
        "double": float(rng.uniform(0.4, 1.2)) if rng.random() < 0.1 else 0.0,  # shift, in modules
        "glare": bool(rng.random() < 0.2),
        "fade": float(rng.uniform(0.45, 0.8)) if rng.random() < 0.2 else 1.0,
        "noise": float(rng.uniform(1, 8)),
        "jpeg": int(rng.integers(40, 92)),
        "large_frame": bool(rng.random() < 0.1),
    }


def photograph(label: np.ndarray, symbology: str, d: dict, rng: np.random.Generator) -> np.ndarray:
    img = label.astype(np.float32)
    if d["cylinder"] and symbology in LINEAR:
        h, w = img.shape
        half = np.radians(d["cylinder"]) / 2
        radius = (w / 2) / half
        width = int(2 * radius * np.sin(half))
        x = np.arange(width) - width / 2
        flat = (radius * np.arcsin(np.clip(x / radius, -1, 1)) + w / 2).astype(np.float32)
        img = cv2.remap(img, np.tile(flat, (h, 1)), np.tile(np.arange(h, dtype=np.float32)[:, None], (1, width)),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        img *= (0.6 + 0.4 * np.sqrt(np.clip(1 - (x / radius) ** 2, 0, 1)))[None, :]
    if d["double"]:
        shift = d["double"] * 4
        img = 0.6 * img + 0.4 * cv2.warpAffine(img, np.float32([[1, 0, shift], [0, 1, 0]]), img.shape[::-1],
                                               borderMode=cv2.BORDER_REPLICATE)
    if d["fade"] < 1:
        img = 250 - (250 - img) * d["fade"]
    # onto a background, turned and in perspective
    h, w = img.shape
    side = int(max(h, w) * 1.6)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    background = 70 + 60 * (xx / side) + 30 * np.sin(yy / rng.uniform(15, 60)) + rng.normal(0, 6, (side, side))
    cx, cy = side / 2, side / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    a = np.radians(d["rotation"])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    dst = (src - [w / 2, h / 2]) @ rot.T + [cx, cy]
    dst += rng.uniform(-1, 1, (4, 2)) * d["perspective"] * max(w, h)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    mask = cv2.warpPerspective(np.ones_like(img), m, (side, side))
    warped = cv2.warpPerspective(img, m, (side, side))
    out = warped * mask + background * (1 - mask)
    if d["glare"]:
        gx, gy = rng.uniform(0.3, 0.7, 2) * side
        r = side * rng.uniform(0.05, 0.15)
        out += 160 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))
    # to the camera's pixels: 4 px a module becomes module_px
    f = d["module_px"] / 4
    out = cv2.resize(out, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    if d["defocus"]:
        out = cv2.GaussianBlur(out, (0, 0), d["defocus"] * d["module_px"])
    if d["large_frame"]:
        frame = np.full((2400, 3200), 120, np.float32) + rng.normal(0, 4, (2400, 3200))
        y, x = int(rng.integers(0, 2400 - out.shape[0])), int(rng.integers(0, 3200 - out.shape[1]))
        frame[y:y + out.shape[0], x:x + out.shape[1]] = out
        out = frame
    out += rng.normal(0, d["noise"], out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def key(symbology: str, text: str) -> str:
    """One form of a code whichever reader gave it (zxing-cpp gives UPC-A and UPC-E as 13 digits)."""
    if symbology in dec.RETAIL or (text.isdigit() and len(text) in (8, 12, 13)):
        if symbology == "UPC-E" and len(text) == 13:
            text = gtin.upca_to_upce(text[1:]) or text
        return gtin.normalise(text, "UPC-E" if symbology == "UPC-E" and len(text) == 8 else None) or text
    return text


ZX_FORMATS = dec._ZXING_FORMATS


def readers(jpeg: bytes):
    gray = dec.imdecode(jpeg)
    yield "ours", lambda: [(r.symbology, r.text) for r in dec.decode_bytes(jpeg)]
    yield "zxing-cpp", lambda: [(dec._ZXING_NAMES.get(b.format.name, b.format.name), b.text) for b in
                                zxingcpp.read_barcodes(gray, formats=ZX_FORMATS) if b.valid]
    yield "zbar", lambda: [(dec._ZBAR_NAMES.get(s.type, s.type), s.data.decode("utf-8", "replace"))
                           for s in pyzbar.decode(gray)]


def run(images: int, seed: int) -> dict:
    cv2.setNumThreads(1)
    rng = np.random.default_rng(seed)
    symbologies = list(WRITER)
    rows = []
    for i in range(images):
        symbology = symbologies[i % len(symbologies)]
        text = random_text(symbology, rng)
        d = draw(symbology, rng)
        photo = photograph(render(symbology, text), symbology, d, rng)
        ok, buf = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, d["jpeg"]])
        want = key(symbology, text)
        for name, read in readers(buf.tobytes()):
            t0 = time.perf_counter()
            got = read()
            ms = (time.perf_counter() - t0) * 1000
            keys = [key(s, t) for s, t in got]
            rows.append({"reader": name, "symbology": symbology, "found": want in keys,
                         "wrong": any(k != want for k in keys), "ms": ms,
                         "hard": bool(d["cylinder"] or d["double"] or d["defocus"] > 0.8 or d["fade"] < 0.6)})
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    out = {}
    for name in ("ours", "zxing-cpp", "zbar"):
        part = [r for r in rows if r["reader"] == name]
        ms = sorted(r["ms"] for r in part)
        out[name] = {
            "images": len(part),
            "found": sum(r["found"] for r in part),
            "wrong": sum(r["wrong"] for r in part),
            "wrong_without_right": sum(r["wrong"] and not r["found"] for r in part),
            "hard_found": sum(r["found"] for r in part if r["hard"]),
            "hard": sum(r["hard"] for r in part),
            "median_ms": statistics.median(ms),
            "p95_ms": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))],
            "by_symbology": {s: f"{sum(r['found'] for r in part if r['symbology'] == s)}/"
                                f"{sum(r['symbology'] == s for r in part)}" for s in WRITER},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    s = run(args.images, args.seed)
    if args.json:
        print(json.dumps(s, indent=2))
        return
    print(f"{args.images} generated photos, seed {args.seed}, one core\n")
    print("| reader | found | wrong (no right one) | hard cases found | median ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, v in s.items():
        print(f"| {name} | {v['found']} ({v['found'] / v['images']:.0%}) | {v['wrong']} ({v['wrong_without_right']}) "
              f"| {v['hard_found']}/{v['hard']} | {v['median_ms']:.1f} | {v['p95_ms']:.1f} |")
    print("\nper symbology (found/images): " + "; ".join(
        f"{name}: " + ", ".join(f"{k} {x}" for k, x in v["by_symbology"].items()) for name, v in s.items()))


if __name__ == "__main__":
    main()
