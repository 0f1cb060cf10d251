"""Pick faces and their replenishment (issue 20): a supervisor sets a bin's minimum and maximum for an
item; a pick that leaves the face at or below its minimum raises one replenishment task, from reserve
bins up to the maximum; the operator walks it reserve bin → item → pick face; the wrong bin is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import FloorException, PickFace, Task, TaskLine
from tests.builders import ean_for, make_site, receive
from tests.web.test_floor_tasks import in_bin, ledger_ok, place
from tests.web.test_stock_control import Person


@pytest.fixture
def app(any_app):
    """Each test on SQLite and on PostgreSQL."""
    return any_app


def set_face(sue, bin_code, sku, low, high):
    return sue.do("post", "/office/pick-faces", data={"bin": bin_code, "sku": sku, "min_qty": str(low),
                                                       "max_qty": str(high)})


def _replenishments() -> list[Task]:
    db.session.rollback()
    return list(db.session.execute(select(Task).where(Task.kind == "replenish").order_by(Task.id)).scalars())


def test_a_supervisor_sets_pick_faces_and_bad_levels_are_refused_with_the_reason(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    assert set_face(sue, "A-01", "SKU-1", 2, 10).status_code == 302
    page = sue.do("get", "/office/pick-faces").text
    assert 'data-face="A-01"' in page and "SKU-1" in page
    for (bin_code, sku, low, high), words in {
        ("A-01", "SKU-1", 5, 5): "The maximum must be more than the minimum (5).",
        ("DOCK", "SKU-1", 1, 5): "A pick face is a storage bin in use — DOCK is not.",
        ("A-01", "NOPE", 1, 5): "No item NOPE.",
        ("Z-99", "SKU-1", 1, 5): "No bin Z-99 in W1.",
        ("A-01", "SKU-1", "x", 5): "Quantity",
    }.items():
        r = set_face(sue, bin_code, sku, low, high)
        assert r.status_code == 422 and words in r.text, (words, r.text[-600:])
    assert set_face(sue, "A-01", "SKU-1", 3, 12).status_code == 302  # changed, not doubled
    db.session.rollback()
    assert [(f.min_qty, f.max_qty) for f in db.session.execute(select(PickFace)).scalars()] == [(3, 12)]
    ann = Person(app, "ann")
    assert ann.do("get", "/office/pick-faces").status_code == 403


def test_a_pick_that_leaves_the_face_low_raises_one_replenishment_and_the_walk_refills_it(app):
    make_site()
    sue, ann, bob = Person(app, "sue", role="supervisor"), Person(app, "ann"), Person(app, "bob")
    receive("SKU-1", 20, to_bin="B-01")  # reserve, in first
    receive("SKU-1", 4, to_bin="A-01")  # the pick face
    set_face(sue, "A-01", "SKU-1", 2, 10)
    order = place("R1", [("SKU-1", 3)])
    tid = ann.start("/tasks/pick", order=str(order["id"]))
    assert "Go to bin A-01 and scan it" in ann.do("get", f"/tasks/{tid}").text  # the face before older reserve
    ann.scan(tid, "A-01")
    assert "replenishment" not in ann.scan(tid, ean_for(1)).text  # 3 left: above the minimum
    r = ann.scan(tid, ean_for(1))  # 2 left: at the minimum
    (task,) = _replenishments()
    assert f"Pick face A-01 is low: replenishment {task.number} raised." in r.text, r.text[-900:]
    assert [(ln.bin.code, ln.expected) for ln in task.lines] == [("B-01", 8)]  # up to 10
    r = ann.scan(tid, ean_for(1))  # 1 left: the face has its replenishment already
    assert r.text.count("raised.") == 1 and len(_replenishments()) == 1  # the earlier scan's answer, listed
    # Bob does it: the face first is refused, then reserve bin, item, a wrong bin, the face.
    page = bob.do("get", f"/tasks/{task.id}").text
    assert "Go to bin B-01 and scan it" in page
    r = bob.scan(task.id, "A-01")
    assert r.status_code == 422 and "Take the stock from B-01 first — A-01 is the pick face it goes to." in r.text
    bob.scan(task.id, "B-01")
    r = bob.scan(task.id, ean_for(1), qty="8")
    assert "Take 8 × Test item 1 from B-01, then scan pick face A-01." in r.text, r.text[-600:]
    assert in_bin("SKU-1", "B-01") == 20  # nothing booked while carried
    r = bob.scan(task.id, "A-02")
    assert r.status_code == 422 and "Put 8 × Test item 1 into pick face A-01: scan it — that was A-02." in r.text
    r = bob.scan(task.id, "A-01")
    assert "Refilled 8 × Test item 1 into A-01." in r.text and "Pick face A-01 refilled: 8 units." in r.text
    assert in_bin("SKU-1", "A-01") == 9 and in_bin("SKU-1", "B-01") == 12
    (task,) = _replenishments()
    assert task.status == "closed"
    assert db.session.execute(select(PickFace.replenish_task_id)).scalar_one() is None
    ledger_ok()


def test_checking_every_face_raises_what_is_low_and_a_face_without_reserve_is_an_exception_once(app):
    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    receive("SKU-1", 6, to_bin="B-01")
    set_face(sue, "A-01", "SKU-1", 1, 4)
    set_face(sue, "A-02", "SKU-2", 1, 4)  # no SKU-2 anywhere
    start = ann.do("get", "/tasks/replenish").text
    assert 'data-face="A-01"' in start and "low" in start
    tid = ann.start("/tasks/replenish")
    (task,) = _replenishments()
    assert tid == task.id and [(ln.bin.code, ln.expected) for ln in task.lines] == [("B-01", 4)]
    # Again: the open one is resumed, no second task, and the no-reserve exception is not repeated.
    assert ann.start("/tasks/replenish") == task.id
    assert len(_replenishments()) == 1
    assert [e.kind for e in db.session.execute(select(FloorException)).scalars()] == ["no_reserve"]
    # Short closes a line on a deliberate second tap; the task ends and the face is free again.
    ann.scan(task.id, "B-01")
    ann.scan(task.id, ean_for(1))
    ann.scan(task.id, "A-01")
    r = ann.tap(task.id, "short")
    assert "Short: 3 not found" in r.text
    ann.tap(task.id, "confirm")
    (task,) = _replenishments()
    assert task.status == "closed" and [ln.status for ln in task.lines] == ["short"]
    assert in_bin("SKU-1", "A-01") == 1
    db.session.rollback()
    assert all(f.replenish_task_id is None for f in db.session.execute(select(PickFace)).scalars())
    ledger_ok()


def test_nothing_to_refill_is_said_and_opens_nothing(app):
    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    receive("SKU-1", 9, to_bin="A-01")
    set_face(sue, "A-01", "SKU-1", 2, 10)
    r = ann.do("post", "/tasks/replenish", headers={"HX-Request": "true"})
    assert r.status_code == 422 and "Every pick face holds more than its minimum: nothing to refill." in r.text
    assert _replenishments() == [] and db.session.execute(select(TaskLine)).first() is None


def test_any_scan_or_tap_on_a_replenishment_is_answered_without_a_server_error_and_keeps_the_ledger(app):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    receive("SKU-1", 30, to_bin="B-01")
    set_face(sue, "A-01", "SKU-1", 5, 20)
    tid = ann.start("/tasks/replenish")
    codes = st.one_of(st.sampled_from(["A-01", "A-02", "B-01", "DOCK", "STAGE", ean_for(1), ean_for(2), "LP000001",
                                       "%s", "' OR 1=1 --", "\x00", "B-01\x1d"]), st.text(max_size=40))
    taps = st.sampled_from(["", "", "", "cancel", "x" * 30, "confirm", "short"])

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(codes, st.one_of(st.just(""), st.sampled_from(["1", "3", "0", "-2", "1e9", "99999999999", "٣"])), taps)
    def any_scan(code, qty, action):
        r = ann.scan(tid, code, qty=qty, action=action) if action else ann.scan(tid, code, qty=qty)
        assert r.status_code < 500, (code, qty, action, r.text[:300])

    any_scan()
    ledger_ok()
    assert in_bin("SKU-1", "A-01") + in_bin("SKU-1", "B-01") == 30
    (task,) = _replenishments()
    assert all(0 <= ln.done <= ln.expected for ln in task.lines)
