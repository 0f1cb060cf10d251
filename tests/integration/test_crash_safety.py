"""The server killed with SIGKILL at random moments while handhelds scan, six times over.

The load is bench/scans.py's: each handheld receives, picks, counts and looks
up, one scan at a time. A scan whose answer never came is sent again, with the
same scan id, once the server is back, as the handheld's queue does. In the
end every answered scan is in the database exactly once, a resent scan was
not applied twice, and check-ledger is ok. Run on SQLite (the default
`make run`) and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench import scans as bench

ROOT = Path(__file__).resolve().parents[2]
KILLS = 6
HANDHELDS = 6


async def _round(hands, port, proc, rng, answered, unanswered):
    """Scan until the server dies under us; returns once every handheld has seen it die."""
    for h in hands:
        h.port = port
        h._close()

    async def scan_loop(h, n):
        while True:
            what = bench.CYCLE[n % len(bench.CYCLE)]
            path, code = h.step(what)
            scan_id = secrets.token_hex(16)
            try:
                status, _, body = await h.scan(path, code, scan_id)
            except (OSError, asyncio.IncompleteReadError):
                unanswered.append((h, what, path, code, scan_id))
                return
            answered.append((what, scan_id, status, body[:200]))
            if path == h.tasks.get("pick"):
                h.follow(body)
            n += 1

    async def killer():
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        os.killpg(proc.pid, signal.SIGKILL)

    await asyncio.gather(killer(), *(scan_loop(h, rng.randrange(8)) for h in hands))


async def _resend(pending, answered):
    """The handheld queue's retry: the same scan, the same id, until an answer comes."""
    for h, what, path, code, scan_id in pending:
        status, _, body = await h.scan(path, code, scan_id)
        answered.append((what, scan_id, status, body[:200]))
        if path == h.tasks.get("pick"):
            h.follow(body)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_scans_survive_six_sigkills_of_the_server_exactly_once(db, tmp_path, request):
    instance = tmp_path / "instance"
    instance.mkdir()
    if db == "postgres":
        url = request.getfixturevalue("pg_server").create_database("crash")
    else:
        url = f"sqlite:///{instance / 'warehouse.db'}"
    env_before = {k: os.environ.get(k) for k in ("DATABASE_URL", "WH_INSTANCE_PATH")}
    try:
        plans = bench.prepare_site(url, instance, HANDHELDS)
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    rng = random.Random(20261122)
    answered: list = []
    resent: list = []

    async def run():
        port = bench.free_port()
        proc = bench.start_gunicorn(url, instance, 2, None, port)
        hands = [bench.Handheld("127.0.0.1", port, p) for p in plans]
        await asyncio.gather(*(h.sign_in() for h in hands))
        await asyncio.gather(*(h.open_tasks() for h in hands))
        for _ in range(KILLS):
            unanswered: list = []
            await _round(hands, port, proc, rng, answered, unanswered)
            proc.wait(10)
            port = bench.free_port()
            proc = bench.start_gunicorn(url, instance, 2, None, port)
            for h in hands:
                h.port = port
                h._close()
            resent.extend(unanswered)
            await _resend(unanswered, answered)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    # Its own thread: in a full run, Playwright's sync API keeps an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(run())).result()

    print(f"answered {len(answered)}, cut off and resent {len(resent)}")
    assert len(answered) > 100, "the server must have done real work between the kills"
    assert resent, "some scans must have been cut off by a kill"
    bad = [(what, status, body) for what, _, status, body in answered if status != 200]
    assert not bad, bad[:5]

    engine = create_engine(url)
    with engine.connect() as conn:
        moves = dict(conn.execute(text(
            "SELECT scan_id, count(*) FROM movements WHERE scan_id IS NOT NULL GROUP BY scan_id")).all())
        logged = dict(conn.execute(text("SELECT scan_id, count(*) FROM scan_log GROUP BY scan_id")).all())
    engine.dispose()
    ids = [scan_id for _, scan_id, _, _ in answered]
    assert len(ids) == len(set(ids)), "each scan was answered once"
    for what, scan_id, _, _ in answered:
        assert logged.get(scan_id) == 1, (what, scan_id)
        if what in ("receive", "pick"):
            # A receive or an item pick books one movement; a scan of the bin books none.
            assert moves.get(scan_id, 0) <= 1, (what, scan_id)
    receipts = [scan_id for what, scan_id, _, _ in answered if what == "receive"]
    assert all(moves.get(s) == 1 for s in receipts)
    for _, what, _, _, scan_id in resent:
        assert logged.get(scan_id) == 1, ("resent", what, scan_id)
        if what == "receive":
            assert moves.get(scan_id) == 1
    # Nothing but answered scans reached the ledger: no movement of this run without its answer.
    assert {s for s in moves if len(s) == 32 and not s.startswith("demo")} <= set(ids)

    check = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "check-ledger"], cwd=ROOT,
                           env={**os.environ, "DATABASE_URL": url, "WH_INSTANCE_PATH": str(instance)},
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.strip().endswith("ok"), check.stdout + check.stderr
