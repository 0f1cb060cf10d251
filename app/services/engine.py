"""The task engine: one scan or tap on any floor task, applied once, logged once, in one transaction.

It takes the task's lock, answers a resent scan from its log, checks the task is open, takes a
confirmation, runs the kind's `on_scan` (services.kinds) inside a savepoint, logs the scan and
commits. It also draws what every task screen shows: the step line and the panel's data, each
kind adding its own.
"""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, object_session, selectinload

from scanners import Rules, ScanError, clean_scan
from scanners.parse import command_name

from ..domain import stock as d
from ..i18n import N_, _, said
from ..models import OrderLine, ScanLog, Task, TaskLine, utcnow
from . import commands, resolve, scans, tasks
from .kinds import KINDS
from .uow import UnitOfWork


def handle(task_id: int, inp: tasks.ScanInput, rules: Rules, then=None, warehouse_id: int | None = None):
    """One scan or tap on a task: applied once, logged once, in one transaction.

    Returns the Outcome, or, given `then`, what then(task, outcome) returns: it
    runs after the commit in the same session, so a screen drawn there shows
    the task exactly as this scan left it, from objects already loaded. With
    `warehouse_id`, a task of another warehouse is NoSuchTask, as a missing one is.
    """
    with UnitOfWork(keep=True, read_first=True) as uow:
        s = uow.session
        s.info["names"] = {}  # what a code names, asked once a scan (services.resolve)
        added: set[type] = set()
        event.listen(s, "pending_to_persistent", lambda _s, obj: added.add(type(obj)))
        # Before the write lock (SQLite): the task, a resend's answer, and what the scan names.
        read_first = not uow.locked  # SQLite: one writer at a time, so read before taking its turn
        task = s.get(Task, task_id, options=TASK_WITH, with_for_update=None if read_first else {"of": Task})
        if task is None or (warehouse_id is not None and task.warehouse_id != warehouse_id):
            raise NoSuchTask(task_id)
        prior = scans.own(s, inp.scan_id, inp.user_id, task.kind, task.id)[1]
        if prior is not None:
            outcome = tasks.Outcome(prior.outcome, prior.message, replayed=True)
        else:
            if read_first:
                _prepare(tasks.Ctx(s, task, inp, rules))
                uow.lock()
                _recheck(s, task)
            outcome = _apply(uow, task, inp, rules)
        if then is None:
            return outcome
        if added:
            _expire_relations(s)
        return then(task, outcome)


# The task with what its scan and screen read, in two statements (the task joined to its warehouse,
# creator and document; then its lines joined to what they name: item, bin, PO line, order line and
# its order), instead of a lazy load for each, and before the write lock rather than under it.
TASK_WITH = (
    joinedload(Task.warehouse), joinedload(Task.creator), joinedload(Task.purchase_order), joinedload(Task.order),
    selectinload(Task.lines).options(joinedload(TaskLine.item), joinedload(TaskLine.po_line), joinedload(TaskLine.bin),
                                     joinedload(TaskLine.order_line).joinedload(OrderLine.order)),
)


def _prepare(ctx: tasks.Ctx) -> None:
    """Read, before the write lock, what the scan will ask for: the task's lines, its warehouse and
    what the code names (kept for the scan in session.info), and what the kind reads besides."""
    task = ctx.task
    list(task.lines)
    try:
        if ctx.inp.code and command_name(ctx.inp.code) is None:
            scan = ctx.parse()
            resolve.find_item(ctx.session, scan)
            resolve.find_bin(ctx.session, task.warehouse, scan)
        KINDS[task.kind].prepare(ctx)
    except (d.DomainError, ScanError):
        pass  # said again, to the operator, when the scan runs under the lock


def _recheck(session, task: Task) -> None:
    """Under the write lock: if the task or a line of it changed since it was read (another
    handheld's scan, an order cancelled), read it all again."""
    version = session.execute(select(Task.version).where(Task.id == task.id).with_for_update()).scalar_one()
    if version != task.version:
        session.expire_all()


class NoSuchTask(LookupError):
    """No task of that id (in this warehouse): the route answers 404."""


def _expire_relations(session) -> None:
    """Let relations load again after a scan that added rows through the ORM (a new task line,
    say): a collection loaded before, to which the row was added by key, would miss it. A scan
    that only changed rows (most of them) keeps what it loaded, and the screen reads nothing again."""
    for obj in list(session.identity_map.values()):
        state = inspect(obj)
        loaded = [rel.key for rel in state.mapper.relationships if rel.key not in state.unloaded]
        if loaded:
            session.expire(obj, loaded)


def _apply(uow: UnitOfWork, task: Task, inp: tasks.ScanInput, rules: Rules) -> tasks.Outcome:
    s = uow.session
    # Checked under the task's lock: a resend waiting on the first send sees it. An id that another
    # user or task used is kept under one of this user's and task's own, never answered from theirs.
    inp.scan_id, prior = scans.own(s, inp.scan_id, inp.user_id, task.kind, task.id)
    if prior is not None:
        return tasks.Outcome(prior.outcome, prior.message, replayed=True)
    ctx = tasks.Ctx(s, task, inp, rules)
    text = clean_scan(inp.code) if inp.code else f"[{inp.action}]"
    kind = "tap" if inp.action and not inp.code else "scan"
    command = command_name(inp.code) if not inp.action else None
    touched = leave = False
    try:
        with s.begin_nested():
            if command is not None:  # a command barcode is the tap it names, from here on
                tap = commands.tap(command, task.kind)
                if tap is None:
                    raise tasks.TaskError.of(N_("%(code)s is no command barcode of this app: print them from Labels."),
                                             code=text)
                inp.action, inp.value = tap
                inp.code, kind = "", "tap"
            if task.status != "open":
                why = (task.state or {}).get("ended")
                if why:
                    raise tasks.TaskError.of(N_("Task %(number)s is %(status)s: %(why)s Start a new one from Tasks."),
                                             words=("status",), number=task.number, status=task.status, why=why)
                raise tasks.TaskError.of(N_("Task %(number)s is %(status)s; start a new one from Tasks."),
                                         words=("status",), number=task.number, status=task.status)
            tasks.take_confirmation(ctx)
            if ctx.inp.action == "dropped":
                message = _("Not booked. Scan the next one.")
            elif ctx.inp.action == "leave":
                message, leave = _("Left: %(task)s stays open at its step for anyone.", task=task.number), True
            elif ctx.inp.action == "abandon":
                message = tasks.abandon(ctx)
            else:
                message = KINDS[task.kind].on_scan(ctx)
            # A handler says "ok" by returning its message, or ("warn", message) when it
            # did what was asked but the operator should notice.
            outcome = tasks.Outcome("ok", message) if isinstance(message, str) else tasks.Outcome(*message)
            outcome.leave = leave
            touched = _touch(task, inp)  # in the savepoint's flush: the task is written once
    except tasks.Warn as w:
        s.expire_all()
        code = clean_scan(inp.code)
        ctx.set_state(confirm={"text": code, "qty": inp.qty, "action": inp.action or None, "value": inp.value or None,
                               "allow": sorted(ctx.forced | {w.allow}), "book": w.book,
                               "label": w.label})
        outcome = tasks.Outcome("warn", w.message)
    except (d.DomainError, ScanError) as e:
        s.expire_all()
        outcome = tasks.Outcome("error", said(e))
    if not touched:  # refused, or waiting for a confirmation: the savepoint was rolled back
        _touch(task, inp)
    now = task.updated_at
    try:
        scans.log(s, scan_id=inp.scan_id, user_id=inp.user_id, warehouse_id=task.warehouse_id, screen=task.kind,
                  task_id=task.id, text=text[:200] or "?", kind=kind, outcome=outcome.outcome,
                  message=outcome.message[:300], device=inp.device[:80], received_at=now)
        uow.commit()
    except IntegrityError:
        uow.rollback()
        prior = s.execute(select(ScanLog.outcome, ScanLog.message).where(ScanLog.scan_id == inp.scan_id)).first()
        if prior is None:
            raise
        return tasks.Outcome(prior.outcome, prior.message, replayed=True)
    return outcome


def _touch(task: Task, inp: tasks.ScanInput) -> bool:
    task.updated_by = inp.user_id
    task.updated_at = utcnow()
    return True


# --------------------------------------------------------------------------
# What a task's screen shows (read model: the route only renders it)
# --------------------------------------------------------------------------


def step_for(task: Task) -> str:
    """The one line the operator reads: what to do, and what to scan next."""
    state = task.state or {}
    if task.status != "open":
        if state.get("ended"):
            return state["ended"]
        ended = KINDS[task.kind].ended(task)
        if ended:
            return ended
        return _("Done") if task.status == "closed" else _("Cancelled")
    if state.get("confirm"):
        if state["confirm"].get("book"):
            return _("Book %(n)s? Tap to book it, or scan the next one", n=state["confirm"]["book"])
        if state["confirm"].get("label"):
            return _("%(label)s? Tap it to go ahead, or Back", label=state["confirm"]["label"])
        return _("Confirm or scan the next one")
    return KINDS[task.kind].step(task)


def screen(task: Task, outcome: tasks.Outcome | None = None) -> dict:
    """Everything the task screen draws: the common parts, then what the kind adds."""
    s = object_session(task)
    context = {
        "task": task,
        "title": KINDS[task.kind].title,
        "qty_field": KINDS[task.kind].qty_field,
        "step": step_for(task),
        "outcome": outcome,
        "scans": tasks.scans_of(s, task),
        "state": task.state or {},
        "warehouse": task.warehouse,
        "settings": scans.settings_for(task.warehouse),
        # Lines done means stock was booked; only otherwise is the ledger asked.
        "booked": task.status == "open" and (any(ln.done or ln.damaged for ln in task.lines)
                                             or tasks.booked_anything(s, task)),
    }
    context.update(KINDS[task.kind].panel(s, task))
    return context
