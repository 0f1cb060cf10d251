"""bench/floor_minimum.py is the ceiling the scan throughput is judged against.

Its receive shape is only a fair ceiling if it does a real scan's whole work:
the same ledger rows the app writes, kept exact, and the app's own screen.
"""

from __future__ import annotations

import os
import re
import secrets

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.services.ledger import check_ledger
from bench import floor_minimum

BALANCE = ("SELECT b.s FROM balances b JOIN warehouses w ON w.id = b.warehouse_id"
           " WHERE w.code = 'MAIN' AND b.item_id = :i")


@pytest.fixture
def floor_site(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{instance / 'warehouse.db'}"
    # prepare_site points the process's environment at its database; undo it after the test.
    for key in ("DATABASE_URL", "WH_INSTANCE_PATH"):
        monkeypatch.setenv(key, os.environ.get(key, ""))
    plans = floor_minimum.prepare(url, instance, 2)
    monkeypatch.setenv("FLOOR_DB", str(instance / "warehouse.db"))
    engine = create_engine(url)
    yield plans, engine
    engine.dispose()


def _signed_in(app, user):
    client = app.test_client()
    token = client.get(f"/floor-login/{user}").get_data(as_text=True)
    return client, token


@pytest.mark.parametrize("shape", ["receive", "least"])
def test_the_floor_minimum_books_every_scan_it_answers(floor_site, monkeypatch, shape):
    plans, engine = floor_site
    monkeypatch.setenv("FLOOR_SHAPE", shape)
    app = floor_minimum.create_app()
    plan = plans[0]
    client, token = _signed_in(app, plan["user"])
    with engine.connect() as c:
        before = c.execute(text(BALANCE), {"i": plan["item_id"]}).scalar_one()
    for _ in range(5):
        r = client.post(f"/floor/{plan['task']}/scan", data={"code": plan["ean"], "scan_id": secrets.token_hex(16),
                                                            "csrf_token": token}, headers={"HX-Request": "true"})
        assert r.status_code == 200
    with engine.connect() as c:
        after = c.execute(text(BALANCE), {"i": plan["item_id"]}).scalar_one()
        logged = c.execute(text("SELECT count(*) FROM scan_log WHERE task_id = :t"), {"t": plan["task"]}).scalar_one()
    assert after - before == 5
    assert logged == 5
    if shape == "receive":
        # The app's own task screen, with the receipt line's tally.
        assert 'id="task-panel"' in r.get_data(as_text=True)
        assert re.search(r'class="big">5</td>', r.get_data(as_text=True))
        with Session(engine) as s:
            assert check_ledger(s) == []


def test_the_floor_minimum_refuses_a_scan_without_its_csrf_token(floor_site, monkeypatch):
    plans, _ = floor_site
    monkeypatch.setenv("FLOOR_SHAPE", "receive")
    app = floor_minimum.create_app()
    client, _ = _signed_in(app, plans[0]["user"])
    r = client.post(f"/floor/{plans[0]['task']}/scan", data={"code": plans[0]["ean"], "scan_id": "x" * 32})
    assert r.status_code == 400
