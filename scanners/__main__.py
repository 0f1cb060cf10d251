"""python -m scanners decode FILE...  — one JSON line per file: what barcodes it holds."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .decoder import ImageError, decode_file


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scanners", description="Barcode tools that need no server.")
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="decode the barcodes in image files; one JSON object per file per line")
    d.add_argument("files", nargs="+", metavar="FILE")
    d.add_argument("--position", action="store_true", help="include each code's corners in the image")
    args = ap.parse_args(argv)

    for name in args.files:
        t0 = time.perf_counter()
        line: dict = {"file": name}
        try:
            results = decode_file(name)
        except ImageError as exc:
            line["results"] = []
            line["error"] = str(exc)
        else:
            line["results"] = [_public(r.as_dict(), args.position) for r in results]
        line["ms"] = round((time.perf_counter() - t0) * 1000, 2)
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


def _public(result: dict, position: bool) -> dict:
    result.pop("decoder", None)
    if not position:
        result.pop("position", None)
    return result


if __name__ == "__main__":
    sys.exit(main())
