"""The app's receiving scan beside its own ceiling, in the same minutes: one command, one ratio.

    python bench/side_by_side.py [--handhelds 32] [--seconds 10] [--rounds 2] [--db sqlite|postgres]
                                 [--against DIR]

Runs, in turn and `--rounds` times (ceiling, app, ceiling, app, ...), so that the
VM's drift falls on both alike:

  ceiling  bench/floor_minimum.py --shape receive: the same receiving scan written
           straight against the app's own database, no ORM (see its docstring)
  app      bench/scans.py --shape receive: the app itself under gunicorn

and prints each run's figures and the ratio app / ceiling of scans per second,
with server CPU per scan. With --against DIR (a checkout of another commit,
e.g. `git worktree add /tmp/old 9c6501f`), that checkout's app runs as a third
column in the same rounds under this checkout's load generator (the same
shapes), for "× an earlier main" comparisons; with --shape pick or count, the
app is held against that other checkout only (the ceiling has the receive shape).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> dict:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--handhelds", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--shape", choices=("receive", "pick", "count"), default="receive")
    ap.add_argument("--against", type=Path, help="another checkout whose bench/scans.py runs in the same rounds")
    args = ap.parse_args(argv)
    python = sys.executable
    common = ["--handhelds", str(args.handhelds), "--seconds", str(args.seconds)]
    columns: dict[str, list[dict]] = {}
    plan = []
    if args.shape == "receive" and args.db == "sqlite":
        plan.append(("ceiling", ROOT, [python, "bench/floor_minimum.py", "--shape", "receive", *common]))
    plan.append(("app", ROOT, [python, "bench/scans.py", "--shape", args.shape, "--db", args.db, *common]))
    if args.against:
        # This checkout's load generator against the other checkout's app: the same load, shape for shape.
        older = [python, str(ROOT / "bench" / "scans.py"), "--shape", args.shape, "--db", args.db, *common]
        plan.append(("against", args.against.resolve(), older))
    for r in range(args.rounds):
        for name, cwd, cmd in plan:
            env = {**os.environ, "WH_APP_ROOT": str(cwd)} if name == "against" else None
            result = run(cmd, cwd, env)
            columns.setdefault(name, []).append(result)
            print(f"round {r + 1} {name:<8} {result['scans_per_s']:>7.1f} scans/s  p99 {result['p99_ms']:>6.1f} ms  "
                  f"cpu {result['server_cpu_ms_per_scan'] or 0:>5.2f} ms/scan  "
                  f"errors {result['errors']}",
                  file=sys.stderr)

    def median(name, key):
        return statistics.median(r[key] for r in columns[name]) if name in columns else None

    summary = {name: {"scans_per_s": median(name, "scans_per_s"), "p99_ms": median(name, "p99_ms"),
                      "server_cpu_ms_per_scan": median(name, "server_cpu_ms_per_scan"),
                      "errors": sum(r["errors"] for r in columns[name])} for name in columns}
    if "ceiling" in summary:
        summary["app_over_ceiling"] = round(summary["app"]["scans_per_s"] / summary["ceiling"]["scans_per_s"], 2)
    if "against" in summary:
        summary["app_over_against"] = round(summary["app"]["scans_per_s"] / summary["against"]["scans_per_s"], 2)
    summary.update({"shape": args.shape, "db": args.db, "handhelds": args.handhelds, "seconds": args.seconds,
                    "rounds": args.rounds})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
