"""Floor tasks: what every kind of task is made of, and the tools its scans use.

A kind (receiving.RECEIVE, picking.PICK, ...) is a TaskKind; its `on_scan` gets a Ctx
(the task, the scan, the site's rules) and answers with a message, or raises TaskError
to refuse the scan or Warn to ask for a confirmation. The engine (services.engine)
runs each scan in one transaction; the registry (services.kinds) lists the kinds.
Nothing here imports a kind, so the kinds import this module freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select

from scanners import Rules, Scan, clean_scan, parse

from ..domain import stock as d
from ..domain import tasks as task_rules
from ..i18n import _
from ..models import (
    Bin,
    FloorException,
    Item,
    Task,
    User,
    Warehouse,
    utcnow,
)
from . import scans, sql
from .stock import MovementCommand, apply_in, know


class TaskError(d.InputError):
    """The scan does not fit the step: it changes nothing and says what was expected."""

    code = "task_step"


class Warn(Exception):
    """The scan needs a second look: nothing was changed; the operator confirms or goes on."""

    def __init__(self, message: str, allow: str, book: int | None = None, label: str | None = None):
        super().__init__(message)
        self.message = message
        self.allow = allow  # what a confirmation lets through next time
        self.book = book  # a quantity only a tap that repeats it may confirm (never a re-scan)
        # A step that needs a second, deliberate look: only the confirm button, which says what it
        # does ("Close with 131 short"), lets it through; the same tap or scan again does not.
        self.label = label or (f"Book {book}" if book is not None else None)


@dataclass
class ScanInput:
    scan_id: str
    code: str = ""
    action: str = ""
    value: str = ""
    qty: str = ""
    user_id: int | None = None
    device: str = ""


@dataclass
class Outcome:
    outcome: str  # ok, warn, error
    message: str
    replayed: bool = False
    leave: bool = False  # the operator left the task (a Leave command): the screen goes to the tasks list


@dataclass
class Ctx:
    """What a task kind's handler works with, inside the scan's transaction."""

    session: object
    task: Task
    inp: ScanInput
    rules: Rules
    movements: list = field(default_factory=list)
    forced: set = field(default_factory=set)  # warnings the operator has confirmed for this scan

    def warn_unless(self, allow: str, message: str) -> None:
        if allow not in self.forced:
            raise Warn(message + " " + _("Scan it again or tap Confirm to go ahead."), allow)

    def look_twice(self, allow: str, message: str, label: str) -> None:
        """A tap with consequences (closing short, a short pick) acts only on a second, deliberate tap
        of a button that names what it does, placed at the top, away from the first."""
        if allow not in self.forced:
            raise Warn(message + " " + _("Tap %(label)s to go ahead, or Back.", label=label), allow, label=label)

    @property
    def warehouse(self) -> Warehouse:
        return self.task.warehouse

    def state(self) -> dict:
        return dict(self.task.state or {})

    def set_state(self, **changes) -> None:
        # A new dict: SQLAlchemy does not see changes made inside a JSON value.
        state = {**(self.task.state or {}), **changes}
        self.task.state = {k: v for k, v in state.items() if v is not None}

    def move(self, kind: str, item: Item, qty: int, **kw):
        """One stock movement of this scan; the first carries the scan id, later ones a numbered copy."""
        n = len(self.movements)
        scan_id = self.inp.scan_id if n == 0 else f"{self.inp.scan_id[:58]}.{n}"
        bins = [b for b in (kw.get("from_bin"), kw.get("to_bin")) if isinstance(b, Bin)]
        for end in ("from_bin", "to_bin"):
            if isinstance(kw.get(end), Bin):
                kw[end] = kw[end].code
        know(self.session, warehouse=self.warehouse, item=item, bins=bins)
        cmd = MovementCommand(
            warehouse=self.warehouse.code,
            kind=kind,
            sku=item.sku,
            qty=qty,
            scan_id=scan_id,
            user_id=self.inp.user_id,
            device=self.inp.device[:64] or None,
            **kw,
        )
        result = apply_in(self.session, cmd)
        self.movements.append(result)
        return result

    def exception(self, kind: str, message: str, **kw) -> FloorException:
        row = FloorException(
            kind=kind, warehouse_id=self.task.warehouse_id, task_id=self.task.id, message=message[:300],
            created_by=self.inp.user_id, **kw,
        )
        self.session.add(row)
        return row

    def parse(self) -> Scan:
        return parse(self.inp.code, self.rules)

    def qty_entered(self):
        return self.inp.qty.strip() or None

    def units(self, hit, pack_qty: int | None = None) -> int:
        """Units this scan stands for (typed quantity × pack, else the label's count, else one pack),
        held back for a deliberate confirm when more than the site allows in one scan."""
        qty = task_rules.scan_units(hit.pack_qty if pack_qty is None else pack_qty, self.qty_entered(),
                                    hit.count if pack_qty is None else None)
        self.plausible(qty)
        return qty

    def plausible(self, qty: int, most: int | None = None, why: str = "") -> None:
        """A quantity beyond what the context makes likely books only on a tap that repeats it
        (“Book 320000”), never on a plain scan of the same code."""
        limit = most if most is not None else self.max_scan_qty
        if qty > limit:
            allow = f"qty:{qty}"
            if allow not in self.forced:
                why = why or " " + _("is more than %(limit)s", limit=f"{limit:,}")
                raise Warn(_("%(qty)s units in one scan%(why)s. Nothing booked: tap Book %(book)s if that is right, "
                             "or scan again.", qty=f"{qty:,}", why=why, book=qty), allow, book=qty,
                           label=_("Book %(n)s", n=qty))

    @property
    def max_scan_qty(self) -> int:
        return int(scans.settings_for(self.warehouse).get("max_scan_qty") or 1000)


# --------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskKind:
    """One kind of floor task: everything about it the engine and the screens ask for.

    Each kind declares one in its own module (receiving.RECEIVE, picking.PICK, ...); the
    registry (services.kinds) lists them; the engine (services.engine) runs a scan through
    `on_scan` and draws the screen from `step` and `panel`. The templates are
    tasks/partials/<name>.html (the panel) and tasks/start-<name>.html (its start screen;
    tasks/start-own.html for `own` kinds).
    """

    name: str
    title: str
    on_scan: Callable[[Ctx], str | tuple[str, str]]
    step: Callable[[Task], str]  # what to do next, while the task is open and nothing waits to be confirmed
    panel: Callable[[object, Task], dict] = field(default=lambda s, task: {})  # data its panel template reads
    start: Callable[[object, Warehouse], dict] = field(default=lambda s, wh: {})  # data its start screen reads
    own: bool = False  # one open task per operator, resumed where it was left, started by a button
    qty_field: bool = True  # the screen offers a Qty box beside the scan field
    ended: Callable[[Task], str | None] = field(default=lambda task: None)  # a closed task's line, if not "Done"
    # Reads the scan will need that are safe to make before the write lock (master data: a bin
    # by type, say); the task, its lines and what the code names are read for every kind.
    prepare: Callable[[Ctx], None] = field(default=lambda ctx: None)


def create(session, kind: str, warehouse: Warehouse, user: User, **fields) -> Task:
    if warehouse.channel_id is not None:  # a warehouse a channel runs: its stock comes from the channel's report
        raise TaskError(_("%(warehouse)s is run by a sales channel: its stock is set from the channel's inventory "
                          "report, not scanned here.", warehouse=warehouse.code))
    task = Task(kind=kind, warehouse_id=warehouse.id, created_by=user.id, updated_by=user.id, state={}, **fields)
    session.add(task)
    session.flush()
    return task


def booked_anything(session, task: Task) -> bool:
    """Whether a scan of this task wrote a movement (each scan's first movement carries its scan id)."""
    return sql.one(
        session,
        "SELECT 1 FROM movements m JOIN scan_log s ON s.scan_id = m.scan_id WHERE s.task_id = ? LIMIT 1",
        (task.id,),
    ) is not None


def abandon(ctx: Ctx) -> str:
    """Cancel a task on which nothing was booked; one with bookings is closed by its own Close or Finish."""
    if booked_anything(ctx.session, ctx.task):
        raise TaskError(_("Task %(task)s has booked stock, so it cannot be cancelled: finish it, "
                          "or tap Leave and let someone else take it up.", task=ctx.task.number))
    ctx.task.status = "cancelled"
    ctx.task.closed_at = utcnow()
    ctx.set_state(confirm=None, ended=_("Cancelled: nothing was booked."))
    return _("Task %(task)s cancelled. Nothing was booked.", task=ctx.task.number)


def close(ctx: Ctx, note: str | None = None) -> None:
    ctx.task.status = "closed"
    ctx.task.closed_at = utcnow()
    if note:
        ctx.task.note = note[:300]
    ctx.set_state(confirm=None)


def open_tasks(session, warehouse: Warehouse, kind: str | None = None) -> list[Task]:
    q = select(Task).where(Task.warehouse_id == warehouse.id, Task.status == "open")
    if kind:
        q = q.where(Task.kind == kind)
    return list(session.execute(q.order_by(Task.updated_at.desc())).scalars())


def scans_of(session, task: Task, limit: int = 10) -> list:
    """The task's last scans, newest first: rows with scan_id, text, outcome and message."""
    return sql.run(
        session,
        "SELECT id, scan_id, text, kind, outcome, message FROM scan_log WHERE task_id = ? ORDER BY id DESC LIMIT ?",
        (task.id, limit),
    ).all()


def open_exceptions(session, warehouse: Warehouse, limit: int | None = None, before: int | None = None):
    """Open exceptions, newest first; a page of `limit` older than id `before` where asked."""
    q = (select(FloorException)
         .where(and_(FloorException.warehouse_id == warehouse.id, FloorException.status == "open"))
         .order_by(FloorException.id.desc()))
    if before is not None:
        q = q.where(FloorException.id < before)
    if limit is not None:
        q = q.limit(limit)
    return list(session.execute(q).scalars())


def count_open_exceptions(session, warehouse: Warehouse) -> int:
    return session.execute(
        select(func.count()).select_from(FloorException)
        .where(FloorException.warehouse_id == warehouse.id, FloorException.status == "open")
    ).scalar_one()


def take_confirmation(ctx: Ctx) -> None:
    """A tap on Confirm, or the same code scanned again, repeats the warned scan with its warnings accepted.

    Anything else drops the warned scan and is taken on its own.
    """
    pending = ctx.state().get("confirm")
    if not pending:
        if ctx.inp.action == "confirm":
            raise TaskError(_("There is nothing to confirm."))
        return
    ctx.set_state(confirm=None)
    # A quantity held back as implausible is booked only by the tap that repeats it, never by a scan.
    deliberate = bool(pending.get("book") or pending.get("label"))
    same_scan = ctx.inp.code and clean_scan(ctx.inp.code) == pending.get("text") and not deliberate
    same_tap = ctx.inp.action and ctx.inp.action == pending.get("action") and not deliberate
    if ctx.inp.action == "confirm" or same_scan or same_tap:
        ctx.inp.code = pending.get("text", "")
        ctx.inp.qty = pending.get("qty", "") if ctx.inp.action == "confirm" or not ctx.inp.qty else ctx.inp.qty
        # A warned tap (Ship with lines left) is repeated as that tap.
        ctx.inp.action = pending.get("action") or ""
        ctx.inp.value = pending.get("value") or ""
        ctx.forced = set(pending.get("allow", []))
    elif ctx.inp.action == "cancel":
        ctx.inp.action = "dropped"
