"""What the handheld feels: page weight, caching and a scan's round trip, in Chromium on loopback.

    python bench/browser.py [--scans 60] [--workers 4]

Serves the demo site as `make run` does (gunicorn, SQLite, a new database), then
in Debian's Chromium on a 360x640 touch viewport:
  weight      bytes transferred for the first load of each floor screen with an
              empty cache, and for the next load (assets from the cache)
  round trip  from the scanner's Enter key to the answer swapped into the screen,
              for --scans keyboard-wedge scans each on the stock lookup and on a
              receiving task (one stock movement per scan)
Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scans import free_port, start_gunicorn
from tests.e2e.conftest import LAUNCH_ARGS

HANDHELD = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ENTRIES = """() => [
    ...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')
].map(e => ({name: e.name, transfer: e.transferSize, body: e.decodedBodySize}))"""
WATCH = """target => {
    // Enter ends a scan; the answer is in when the target element is swapped for a new one.
    window.roundTrips = [];
    let started = 0;
    document.addEventListener('keydown', e => { if (e.key === 'Enter') started = performance.now(); }, true);
    const parent = document.querySelector(target).parentNode;
    new MutationObserver(() => {
        if (started) { window.roundTrips.push(performance.now() - started); started = 0; }
    }).observe(parent, {childList: true});
}"""


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))], 1)


def scan_round_trips(page, target: str, codes: list[str]) -> dict:
    page.evaluate(WATCH, target)
    for n, code in enumerate(codes):
        page.keyboard.type(code, delay=4)
        page.keyboard.press("Enter")
        page.wait_for_function("n => window.roundTrips.length >= n", arg=n + 1, timeout=10_000)
    times = page.evaluate("window.roundTrips")
    return {"scans": len(times), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "max_ms": round(max(times), 1),
            "mean_ms": round(statistics.fmean(times), 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scans", type=int, default=60)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "4")))
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="wh-browser-"))
    instance = tmp / "instance"
    instance.mkdir()
    url = f"sqlite:///{instance / 'warehouse.db'}"
    env = {**os.environ, "DATABASE_URL": url, "WH_INSTANCE_PATH": str(instance)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "ensure-demo"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update({"DATABASE_URL": url, "WH_INSTANCE_PATH": str(instance)})
    port = free_port()
    server = start_gunicorn(url, instance, args.workers, None, port)
    base = f"http://127.0.0.1:{port}"
    result: dict = {"server": f"gunicorn, {args.workers} workers, SQLite"}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
            context = browser.new_context(**HANDHELD)
            page = context.new_page()
            page.goto(base + "/login")
            page.fill("input[name=username]", "picker")
            page.fill("input[name=password]", "picker")
            page.click("button[type=submit]")
            page.goto(base + "/tasks/receive")
            page.keyboard.type("PO-2026-0001", delay=4)
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/tasks/\d+$"))
            task_url = page.url
            screens = {"task list": base + "/tasks/", "receiving task": task_url, "stock lookup": base + "/lookup"}

            weight = {}
            state = context.storage_state()
            for name, address in screens.items():
                cold = browser.new_context(**HANDHELD, storage_state=state)
                p = cold.new_page()
                p.goto(address)
                p.wait_for_load_state("load")
                first = sum(e["transfer"] for e in p.evaluate(ENTRIES))
                p.goto(address)
                p.wait_for_load_state("load")
                entries = p.evaluate(ENTRIES)
                weight[name] = {"first_load_kb": round(first / 1024, 1),
                                "next_load_kb": round(sum(e["transfer"] for e in entries) / 1024, 1),
                                "assets_from_cache": all(e["transfer"] == 0 for e in entries if "/static/" in e["name"])}
                cold.close()
            result["weight"] = weight

            from sqlalchemy import create_engine, text

            engine = create_engine(url)
            with engine.connect() as conn:
                eans = [r[0] for r in conn.execute(text(
                    "SELECT b.code FROM barcodes b JOIN purchase_order_lines l ON l.item_id = b.item_id "
                    "WHERE b.kind = 'unit' ORDER BY l.id"))]
                bins = [r[0] for r in conn.execute(text("SELECT code FROM bins WHERE type = 'storage' LIMIT 20"))]
            engine.dispose()
            page.goto(base + "/lookup")
            page.wait_for_load_state("load")
            lookups = [(eans + bins)[n % len(eans + bins)] for n in range(args.scans)]
            result["round_trip_lookup"] = scan_round_trips(page, "#lookup-result", lookups)
            page.goto(task_url)
            page.wait_for_load_state("load")
            result["round_trip_receiving"] = scan_round_trips(page, "#task-panel", [eans[0]] * args.scans)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
