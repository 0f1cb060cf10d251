"""The model reader (scanners/blurred.py) on defocused EAN-13s: exact prints against jittered ones.

    python bench/decode_defocused_prints.py [--codes 250] [--seed 5] [--json]

The model reader explains a defocused profile as the symbol's modules blurred. A
print whose bar edges sit off the module grid (a low-resolution printer rounding
each edge to its own dot) is not that model, and under heavy blur a different
valid code can explain it better. This bench measures how often, side by side:
the same random codes, sizes, blurs and noise, once drawn exactly (scanners.labels,
every edge on the grid) and once by python-barcode's own image writer, whose
edges fall up to a third of a module off. Each frame is 240 x 240, about 1.1-1.4
pixels per module, blurred over 1.3-2.2 modules: beyond what zxing-cpp and zbar
read, so only the model reader answers. Right, none and wrong count frames.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import barcode
import cv2
import numpy as np
from barcode.writer import ImageWriter

from scanners import blurred
from scanners import labels as L


def exact(code: str) -> bytes:
    return L.png(L.item_label(code, "bench"))


def jittered(code: str) -> bytes:
    mm = L.MODULE_PX * 25.4 / L.DPI
    buf = io.BytesIO()
    barcode.get("ean13", code[:-1], writer=ImageWriter(mode="L", dpi=L.DPI)).write(buf, options={
        "module_width": mm, "module_height": 12.0, "quiet_zone": 10 * mm, "write_text": False,
        "dpi": L.DPI, "font_size": 0, "margin_top": 0, "margin_bottom": 0})
    return buf.getvalue()


def defocused(png: bytes, module_px: float, blur_modules: float, seed: int) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    f = module_px / L.MODULE_PX
    small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)[:240, :240]
    frame = np.full((240, 240), 235, np.float32)
    h, w = small.shape
    frame[(240 - h) // 2:(240 - h) // 2 + h, (240 - w) // 2:(240 - w) // 2 + w] = small
    soft = cv2.GaussianBlur(frame, (0, 0), blur_modules * module_px)
    noisy = soft + np.random.default_rng(seed).normal(0, 3, soft.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def run(codes: int, seed: int) -> dict:
    cv2.setNumThreads(1)
    rng = np.random.default_rng(seed)
    out = {name: {"right": 0, "none": 0, "wrong": 0, "ms": []} for name in ("exact", "jittered")}
    for _ in range(codes):
        code = blurred._with_check(rng.integers(0, 10, 12))
        module_px = float(rng.choice([1.1, 1.2, 1.3, 1.4]))
        blur_modules = float(rng.uniform(1.3, 2.2))
        noise_seed = int(rng.integers(0, 1000))
        for name, draw in (("exact", exact), ("jittered", jittered)):
            frame = defocused(draw(code), module_px, blur_modules, noise_seed)
            t = time.perf_counter()
            found = blurred.read(frame)
            out[name]["ms"].append((time.perf_counter() - t) * 1000)
            out[name]["none" if not found else "right" if found[0][0] == code else "wrong"] += 1
    for r in out.values():
        r["median_ms"] = float(np.median(r.pop("ms")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codes", type=int, default=250)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out = run(a.codes, a.seed)
    if a.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{a.codes} defocused EAN-13 frames, seed {a.seed}\n")
    print("| print | right | none | wrong | median ms |\n|---|---:|---:|---:|---:|")
    for name, r in out.items():
        print(f"| {name} | {r['right']} | {r['none']} | {r['wrong']} | {r['median_ms']:.1f} |")


if __name__ == "__main__":
    main()
