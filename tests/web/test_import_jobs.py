"""Imports as jobs (issue 16): a 20,000-row orders file lands whole through the supervisor's screen,
with a progress bar, on both databases; the same file with a bad row near the end places nothing
and names the row."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Job, Order
from app.services import jobs
from app.services.ledger import check_ledger
from tests.builders import make_site, make_user, receive

ROWS = 20_000


def _orders_file(rows: int, bad_row: int | None = None) -> bytes:
    lines = ["channel,external_id,warehouse,sku,qty"]
    for n in range(rows):
        sku = "SKU-404" if bad_row is not None and n + 2 == bad_row else f"SKU-{1 + n % 3}"
        lines.append(f"shop,big-{n:06d},W1,{sku},1")
    return ("\n".join(lines) + "\n").encode()


def _signed_in(app):
    make_site()
    receive("SKU-1", 50)
    make_user("boss", "boss-pw", role="supervisor")
    client = app.test_client()
    assert client.post("/login", data={"username": "boss", "password": "boss-pw"}).status_code == 302
    return client


def _upload(client, data: bytes):
    r = client.post("/office/orders", data={"import": "1", "file": (io.BytesIO(data), "orders.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return int(re.search(r"/office/jobs/(\d+)", r.headers["Location"]).group(1))


def _orders() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(Order)).scalar_one()


def test_a_20000_row_orders_file_imports_whole_as_a_job_with_a_progress_bar(any_app):
    client = _signed_in(any_app)
    data = _orders_file(ROWS)
    assert len(data) < 2 * 1024 * 1024
    job_id = _upload(client, data)
    page = client.get(f"/office/jobs/{job_id}")
    assert page.status_code == 200
    assert "<progress" in page.text and 'hx-trigger="every 1s"' in page.text  # asks again while it runs
    assert _orders() == 0  # nothing placed in the request
    assert jobs.work_once()
    db.session.rollback()  # the request session is shared with the test here; each request reads anew in production
    page = client.get(f"/office/jobs/{job_id}", headers={"HX-Request": "true"})
    assert 'data-job-status="done"' in page.text and "every 1s" not in page.text
    assert f"Done: {ROWS} placed" in page.text
    assert _orders() == ROWS
    job = db.session.get(Job, job_id)
    assert job.done == job.total == ROWS
    # The same file again places nothing twice.
    again = _upload(client, data)
    assert jobs.work_once()
    assert f"{ROWS} already known" in client.get(f"/office/jobs/{again}").text
    assert _orders() == ROWS
    assert check_ledger(db.session) == []


def test_a_bad_row_near_the_end_imports_nothing_and_names_the_row(any_app):
    client = _signed_in(any_app)
    job_id = _upload(client, _orders_file(ROWS, bad_row=ROWS - 3))
    assert jobs.work_once()
    page = client.get(f"/office/jobs/{job_id}")
    assert 'data-job-status="failed"' in page.text
    assert f"row {ROWS - 3}:" in page.text and "SKU-404" in page.text
    assert _orders() == 0


def test_a_job_whose_worker_died_is_taken_up_again_and_finishes_without_doubles(app):
    from datetime import timedelta

    from app.models import utcnow

    client = _signed_in(app)
    job_id = _upload(client, _orders_file(300))
    assert jobs.claim() == job_id  # a worker claims it ... and dies before finishing
    from app.services import orders

    grouped, _ = orders.check_csv(_orders_file(300).decode())
    first = dict(list(grouped.items())[:100])
    orders.place_checked(first)  # it got one chunk in
    db.session.rollback()
    job = db.session.get(Job, job_id)
    job.heartbeat_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert jobs.claim() == job_id  # stale: queued again, and claimed once
    jobs.run(job_id)
    assert "200 placed" in client.get(f"/office/jobs/{job_id}").text
    assert _orders() == 300
    assert jobs.claim() is None
