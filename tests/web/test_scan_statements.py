"""What one scan asks of the database: a budget of SQL statements, so that the scan path stays lean.

Throughput is measured in bench/scans.py; these tests only stop a change from
quietly adding reads to every scan (a row read again because nothing held it,
a lazy load per line on the screen).
"""

from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db
from tests.builders import ean_for
from tests.web.test_floor_tasks import HX, operator, scan, site, task_from  # noqa: F401 - fixtures


@contextmanager
def statements(app):
    seen = []

    def note(conn, cursor, statement, params, context, executemany):
        seen.append(statement.split()[0].upper() + " " + " ".join(statement.split()[1:8]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_receiving_scan_runs_at_most_32_statements_from_request_to_screen(app, operator):  # noqa: F811 - the fixture
    tid = task_from(operator.post("/tasks/receive", data={"code": "PO-2026-0007"}, headers=HX))
    assert scan(operator, tid, ean_for(2)).status_code == 200  # the first scan loads what later ones reuse
    with statements(app) as seen:
        r = scan(operator, tid, ean_for(2))
    assert r.status_code == 200 and "+1 × Test item 2" in r.text
    # 38 before the scan path was trimmed; 31, then 30 (the task read once, under its lock), then 24
    # (the task read with what its lines name: no lazy load left on a receiving scan).
    assert len(seen) <= 24, "\n".join(seen)
    assert sum(s.startswith("INSERT") for s in seen) == 3  # the movement, its bin row, the scan log


def test_a_stock_lookup_by_scan_runs_at_most_12_statements(app, operator):  # noqa: F811 - the fixture
    with statements(app) as seen:
        r = operator.post("/lookup", data={"code": ean_for(1), "scan_id": "lookup-budget-01"}, headers=HX)
    assert r.status_code == 200
    # 18 before; 11 now.
    assert len(seen) <= 12, "\n".join(seen)
