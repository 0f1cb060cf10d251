"""Long work off the request: a table of jobs and the worker that runs them.

A screen submits a job (an import with its file) and shows its progress; a
worker thread in each server process claims queued jobs with a guarded
update, so each job runs in exactly one worker, and beats a heartbeat while
it runs. A job whose worker died (its heartbeat went stale) is queued again;
the jobs themselves are idempotent (an import skips what it already placed),
so running one again finishes it and does nothing twice.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from ..domain.stock import InputError
from ..models import Job, utcnow
from .uow import UnitOfWork
from .workers import Worker

STALE = timedelta(seconds=120)
IDLE_SECONDS = 1.0


def _orders_csv(job: Job, progress) -> dict:
    from . import orders

    grouped, errors = orders.check_csv(job.payload)
    if errors:
        return {"errors": errors}
    progress(0, total=len(grouped))
    return orders.place_checked(grouped, user_id=job.created_by, device="import", progress=progress)


def _purchase_orders_csv(job: Job, progress) -> dict:
    from . import purchasing

    result = purchasing.import_csv(job.payload)
    return {"placed": len(result.created), "existing": len(result.existing), "errors": result.errors}


def _channel_orders(job: Job, progress) -> dict:
    """A channel's own order file (Shopify, Amazon, eBay): payload {format, channel, warehouse, text}."""
    from . import orders

    spec = json.loads(job.payload)
    grouped, errors, skipped = orders.check_channel_file(spec["format"], spec["channel"], spec["warehouse"],
                                                         spec["text"])
    if errors:
        return {"errors": errors}
    progress(0, total=len(grouped))
    result = orders.place_checked(grouped, user_id=job.created_by, device="import", progress=progress)
    return {**result, "skipped": skipped}


KINDS = {"orders_csv": _orders_csv, "purchase_orders_csv": _purchase_orders_csv, "channel_orders": _channel_orders}


def submit(kind: str, payload: str, user_id: int | None, warehouse_id: int | None) -> int:
    if kind not in KINDS:
        raise InputError(f"No such job kind {kind!r}")
    with UnitOfWork() as uow:
        job = Job(kind=kind, payload=payload, created_by=user_id, warehouse_id=warehouse_id, status="queued")
        uow.session.add(job)
        uow.session.flush()
        job_id = job.id
        uow.commit()
    wake()
    return job_id


def claim() -> int | None:
    """The id of a queued (or abandoned) job this worker now owns, or None."""
    now = utcnow()
    # Asked first without the write lock: an idle worker never holds up a scan.
    with UnitOfWork(write=False) as uow:
        waiting = uow.session.execute(
            select(Job.id).where((Job.status == "queued") | ((Job.status == "running") & (Job.heartbeat_at < now - STALE)))
            .limit(1)
        ).scalar()
    if waiting is None:
        return None
    with UnitOfWork() as uow:
        s = uow.session
        s.execute(update(Job).where(Job.status == "running", Job.heartbeat_at < now - STALE)
                  .values(status="queued"))
        job_id = s.execute(select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(1)).scalar()
        if job_id is None:
            uow.commit()
            return None
        won = s.execute(update(Job).where(Job.id == job_id, Job.status == "queued")
                        .values(status="running", started_at=now, heartbeat_at=now)).rowcount
        uow.commit()
    return job_id if won else None


def _beat(job_id: int, done: int, total: int | None = None) -> None:
    values = {"done": done, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    with UnitOfWork() as uow:
        uow.session.execute(update(Job).where(Job.id == job_id).values(**values))
        uow.commit()


def run(job_id: int) -> None:
    """Run one claimed job to its end: done with what it did, or failed with why (never lost)."""
    with UnitOfWork(write=False) as uow:
        job = uow.session.get(Job, job_id)
        uow.session.expunge(job)

    def progress(done: int, total: int | None = None) -> None:
        _beat(job_id, done, total)

    try:
        result = KINDS[job.kind](job, progress)
        status = "failed" if result.get("errors") else "done"
    except InputError as exc:
        result, status = {"errors": [exc.message]}, "failed"
    except Exception as exc:  # a broken job must not stop the worker; it says what broke
        result, status = {"errors": [f"The job stopped: {type(exc).__name__}. Nothing after the last "
                                     f"finished chunk was placed; run the import again to finish it."]}, "failed"
    with UnitOfWork() as uow:
        uow.session.execute(update(Job).where(Job.id == job_id).values(
            status=status, result=json.dumps(result), finished_at=utcnow(), heartbeat_at=utcnow()))
        uow.commit()


def work_once() -> bool:
    """Claim and run one job; False when there was none."""
    job_id = claim()
    if job_id is None:
        return False
    run(job_id)
    return True


def view(session, job_id: int) -> dict:
    job = session.get(Job, job_id)
    result = json.loads(job.result) if job.result else {}
    return {"job": job, "result": result, "percent": int(100 * job.done / job.total) if job.total else 0}


# The worker ------------------------------------------------------------------------------------


def _work() -> None:
    while work_once():
        pass


_worker = Worker("job-worker", IDLE_SECONDS * 5, _work)
wake = _worker.wake


def start_worker(app) -> None:
    """This process's job worker (started on its first request or at gunicorn's worker boot)."""
    _worker.start(app)
