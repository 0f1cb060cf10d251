"""Floor task screens: receiving, putaway, picking, shipping, returns and inspection.

Routes only translate: a scan or a tap becomes a ScanInput for
services.tasks.handle, and the task is drawn from the database as that
scan's transaction left it, so any handheld that opens the task sees the
same step.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from scanners import ScanError, clean_scan, labels, parse

from .auth import current_warehouse, device_label
from .domain import stock as d
from .extensions import db
from .floor import render
from .i18n import N_, _, said
from .models import (
    CountSession,
    Order,
    Parcel,
    PurchaseOrder,
    Task,
    Transfer,
    User,
    Warehouse,
)
from .services import (
    counting,
    damage,
    engine,
    packing,
    parcels,
    picking,
    receiving,
    replenishing,
    resolve,
    returns,
    scans,
    shipping,
    transfers,
)
from .services import tasks as task_service
from .services.kinds import KINDS, OWN_TASKS
from .services.uow import UnitOfWork

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

def _input() -> task_service.ScanInput:
    settings = scans.settings_for(current_warehouse())
    action, _sep, value = request.form.get("action", "").partition(":")
    return task_service.ScanInput(
        scan_id=scans.scan_id_from(request.form.get("scan_id")),
        # Not cut to a label's length: a scan longer than any label is refused whole by the parser.
        code=scans.scanned_code(request.form, settings),
        action=action[:20],
        value=(value or request.form.get("value", ""))[:40],
        qty=request.form.get("qty", "")[:12],
        user_id=current_user.id,
        device=device_label(),
    )


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _go(url: str):
    """To the task screen: the scan queue follows HX-Redirect, a plain form follows a 303."""
    if _is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def _task_or_404(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    warehouse = current_warehouse()
    if task is None or warehouse is None or task.warehouse_id != warehouse.id:
        abort(404)
    return task


def _panel(task: Task, outcome=None, status: int = 200):
    context = engine.screen(task, outcome)
    return render("tasks/task.html", "tasks/partials/task-panel.html", **context), status


# --------------------------------------------------------------------------
# A task
# --------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    warehouse = current_warehouse()
    open_ = task_service.open_tasks(db.session, warehouse) if warehouse else []
    return render_template("tasks/index.html", warehouse=warehouse, open_tasks=open_,
                           titles={name: k.title for name, k in KINDS.items()})


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):
    return _panel(_task_or_404(task_id))


@bp.post("/<int:task_id>/scan")
@login_required
def scan(task_id: int):
    warehouse = current_warehouse()
    if warehouse is None:
        abort(404)
    inp = _input()
    if not inp.code.strip() and not inp.action:
        return _panel(_task_or_404(task_id), task_service.Outcome("error", "Nothing was scanned."), 422)

    def answer(task_now: Task, outcome: task_service.Outcome):
        if outcome.leave:  # left by a command barcode: on to the tasks list, the task open at its step
            return "", 200, {"HX-Redirect": url_for("tasks.index")}
        # Drawn in the scan's own session, right after its commit: what it wrote, no re-read.
        return _panel(task_now, outcome, 422 if outcome.outcome == "error" else 200)

    try:
        # The task is read once, under its lock, by the engine (which also checks its warehouse).
        return engine.handle(task_id, inp, scans.rules_for(warehouse), then=answer, warehouse_id=warehouse.id)
    except engine.NoSuchTask:
        abort(404)
    except d.DomainError as e:
        db.session.rollback()
        return _panel(_task_or_404(task_id), task_service.Outcome("error", e.message), 422)


# --------------------------------------------------------------------------
# Starting tasks
# --------------------------------------------------------------------------


def _start_screen(kind: str, message: str = "", status: int = 200, **extra):
    warehouse = current_warehouse()
    s = db.session
    context = {
        "kind": kind,
        "title": KINDS[kind].title,
        "warehouse": warehouse,
        "message": message,
        "open_tasks": task_service.open_tasks(s, warehouse, kind) if warehouse else [],
        "settings": scans.settings_for(warehouse),
        **extra,
    }
    if warehouse is not None:
        context.update(KINDS[kind].start(s, warehouse))
    page = "tasks/start-own.html" if kind in OWN_TASKS else f"tasks/start-{kind}.html"
    return render(page, "tasks/partials/start-result.html", **context), status


def _start_failed(kind: str, message: str):
    return _start_screen(kind, message, 422)


def _parse_start(kind: str):
    settings = scans.settings_for(current_warehouse())
    try:
        return parse(scans.scanned_code(request.form, settings), scans.rules_for(current_warehouse()))
    except ScanError:
        raise  # _starting says it


def _record_start(kind: str, outcome: str, message: str):
    code = request.form.get("code", "")
    if not code:
        return
    db.session.rollback()  # the task was written in another connection: read after it
    warehouse = current_warehouse()
    scans.record(
        db.session, scan_id=scans.scan_id_from(request.form.get("scan_id")), user_id=current_user.id,
        warehouse_id=warehouse.id if warehouse else None, screen=f"{kind}-start", text=clean_scan(code)[:200] or "?",
        kind="scan", outcome=outcome, message=message, device=device_label(),
    )


def _starting(kind: str, make):
    """Run `make(session, warehouse, user)` in one transaction and go to the task it returns."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _start_failed(kind, _("Choose a warehouse first."))
    try:
        with UnitOfWork() as uow:
            s = uow.session
            user = s.get(User, current_user.id)
            wh = s.get(Warehouse, warehouse.id)
            task = make(s, wh, user)
            task_id = task.id
            uow.commit()
    except d.DomainError as e:
        _record_start(kind, "error", e.message)
        return _start_failed(kind, said(e))
    except ScanError as e:
        # A code that cannot be what it looks like.
        _record_start(kind, "error", e.message)
        return _start_failed(kind, said(e))
    _record_start(kind, "ok", f"task T{task_id}")
    return _go(url_for("tasks.show", task_id=task_id))


@bp.get("/receive")
@login_required
def receive_start():
    return _start_screen("receive")


@bp.post("/receive")
@login_required
def receive_begin():
    if request.form.get("blind"):
        return _starting("receive", lambda s, wh, user: receiving.start(s, wh, user, None))
    po_id = request.form.get("po", "")

    def make(s, wh, user):
        if po_id:
            po = resolve.owned(s, PurchaseOrder, po_id, wh, "purchase order")
            return receiving.start(s, wh, user, receiving.find_po(s, wh, po.number))
        scan_ = _parse_start("receive")
        if scan_.kind != "po":
            raise task_service.TaskError.of(N_("Scan %(wanted)s — that was %(found)s."), words=("wanted", "found"),
                                              wanted=N_("a purchase order"), found=scan_.words)
        return receiving.start(s, wh, user, receiving.find_po(s, wh, scan_.code))

    return _starting("receive", make)


def _own_task(kind: str):
    def make(s, wh, user):
        mine = [t for t in task_service.open_tasks(s, wh, kind) if t.created_by == user.id]
        return mine[0] if mine else task_service.create(s, kind, wh, user)

    return _starting(kind, make)


@bp.get("/putaway")
@login_required
def putaway_start():
    return _start_screen("putaway")


@bp.post("/putaway")
@login_required
def putaway_begin():
    return _own_task("putaway")


@bp.get("/move")
@login_required
def move_start():
    return _start_screen("move")


@bp.post("/move")
@login_required
def move_begin():
    return _own_task("move")


@bp.get("/replenish")
@login_required
def replenish_start():
    return _start_screen("replenish")


@bp.post("/replenish")
@login_required
def replenish_begin():
    """Check every pick face now: a replenishment for each one at or below its minimum; on to the first."""

    def make(s, wh, user):
        raised = replenishing.raise_all(s, wh, user)
        if not raised:
            waiting = task_service.open_tasks(s, wh, "replenish")
            if waiting:
                return waiting[-1]
            raise task_service.TaskError.of(N_("Every pick face holds more than its minimum: nothing to refill."))
        return raised[0]

    return _starting("replenish", make)


@bp.get("/damage")
@login_required
def damage_start():
    return _start_screen("damage")


@bp.post("/damage")
@login_required
def damage_begin():
    return _own_task("damage")


@bp.get("/inspect")
@login_required
def inspect_start():
    return _start_screen("inspect")


@bp.post("/inspect")
@login_required
def inspect_begin():
    return _own_task("inspect")


@bp.get("/pick")
@login_required
def pick_start():
    return _start_screen("pick")


@bp.post("/pick")
@login_required
def pick_begin():
    ids = request.form.getlist("order")[: picking.MAX_ORDERS + 1]

    def make(s, wh, user):
        chosen = [resolve.owned(s, Order, x, wh, "order").id for x in ids]
        if not chosen:
            scan_ = _parse_start("pick")
            chosen = [shipping.find_order(s, wh, scan_).id]
        task, _missing = picking.start(s, wh, user, chosen, cluster=request.form.get("cluster") == "1")
        return task

    return _starting("pick", make)


@bp.get("/ship")
@login_required
def ship_start():
    return _start_screen("ship")


@bp.post("/ship")
@login_required
def ship_begin():
    order_id = request.form.get("order_id", "")

    def make(s, wh, user):
        if order_id:
            order = resolve.owned(s, Order, order_id, wh, "order")
        else:
            order = shipping.find_order(s, wh, _parse_start("ship"))
        return shipping.start(s, wh, user, order)

    return _starting("ship", make)


@bp.get("/pack")
@login_required
def pack_start():
    return _start_screen("pack")


@bp.post("/pack")
@login_required
def pack_begin():
    order_id = request.form.get("order_id", "")

    def make(s, wh, user):
        if order_id:
            order = resolve.owned(s, Order, order_id, wh, "order")
        else:
            order = shipping.find_order(s, wh, _parse_start("pack"))
        return packing.start(s, wh, user, order)

    return _starting("pack", make)


def _parcel_or_404(parcel_id: int) -> Parcel:
    parcel = db.session.get(Parcel, parcel_id)
    warehouse = current_warehouse()
    if parcel is None or warehouse is None or parcel.order.warehouse_id != warehouse.id:
        abort(404)
    return parcel


@bp.get("/parcels/<int:parcel_id>/slip")
@login_required
def parcel_slip(parcel_id: int):
    """The packing slip of a parcel, to print and put in it: the order, what is in the parcel, its SSCC."""
    parcel = _parcel_or_404(parcel_id)
    of = len(parcels.parcels_of(db.session, parcel.order))
    label = packing.label(parcel, of)
    return render_template("tasks/parcel-slip.html", parcel=parcel, of=of, label=label,
                           weight=packing.weight_words(parcel.weight_g),
                           barcode=url_for("scan.barcode_png", s=label.symbology, d=label.data))


@bp.get("/parcels/<int:parcel_id>/label.zpl")
@login_required
def parcel_label(parcel_id: int):
    """The parcel's shipping label for a Zebra printer (ZPL): its SSCC as GS1-128 (00) and the order."""
    parcel = _parcel_or_404(parcel_id)
    of = len(parcels.parcels_of(db.session, parcel.order))
    resp = Response(labels.zpl([packing.label(parcel, of)]), mimetype="text/plain")
    resp.headers["Content-Disposition"] = f'attachment; filename="parcel-{parcel.sscc}.zpl"'
    return resp


@bp.get("/return")
@login_required
def return_start():
    return _start_screen("return")


@bp.post("/return")
@login_required
def return_begin():
    reference = request.form.get("reference", "").strip()

    def make(s, wh, user):
        if reference:
            order = s.execute(
                select(Order).where(Order.external_id == reference[:80], Order.warehouse_id == wh.id)
                .order_by(Order.id.desc())
            ).scalars().first()
            if order is None:
                raise task_service.TaskError.of(N_("No order with the reference %(ref)r."), ref=reference[:40])
        else:
            order = shipping.find_order(s, wh, _parse_start("return"))
        return returns.start_return(s, wh, user, order)

    return _starting("return", make)


@bp.get("/count")
@login_required
def count_start():
    return _start_screen("count")


@bp.post("/count")
@login_required
def count_begin():
    session_id = request.form.get("session", "")

    def make(s, wh, user):
        if session_id:
            cs = resolve.owned(s, CountSession, session_id, wh, "count session")
        else:
            scan_ = _parse_start("count")
            number = scan_.code.upper()
            if not (number.startswith("CC-") and number[3:].isdigit()):
                raise task_service.TaskError.of(N_("Scan %(wanted)s — that was %(found)s."), words=("wanted", "found"),
                                                  wanted=N_("a count session (CC-…)"), found=scan_.words)
            cs = resolve.owned(s, CountSession, number[3:], wh, f"count session {scan_.raw}")
        return counting.start_task(s, wh, user, cs)

    return _starting("count", make)


@bp.get("/transfer-out")
@login_required
def transfer_out_start():
    return _start_screen("transfer_out")


@bp.post("/transfer-out")
@login_required
def transfer_out_begin():
    return _starting("transfer_out", lambda s, wh, user: transfers.start_pick(s, wh, user, _transfer_chosen(s)))


@bp.get("/transfer-in")
@login_required
def transfer_in_start():
    return _start_screen("transfer_in")


@bp.post("/transfer-in")
@login_required
def transfer_in_begin():
    return _starting("transfer_in", lambda s, wh, user: transfers.start_receive(s, wh, user, _transfer_chosen(s)))


def _transfer_chosen(s) -> Transfer:
    warehouse = s.get(Warehouse, current_warehouse().id)
    chosen = request.form.get("transfer", "")
    if chosen:
        return resolve.owned(s, Transfer, chosen, warehouse, "transfer")
    scan_ = _parse_start("transfer")
    number = scan_.code.upper()
    if not (number.startswith("TR-") and number[3:].isdigit()):
        raise task_service.TaskError.of(N_("Scan %(wanted)s — that was %(found)s."), words=("wanted", "found"),
                                          wanted=N_("a transfer (TR-…)"), found=scan_.words)
    return resolve.owned(s, Transfer, number[3:], warehouse, f"transfer {scan_.raw}")


@bp.post("/<int:task_id>/photo")
@login_required
def photo(task_id: int):
    """A damage photo from the camera (or a file): a plain form post, so it works without JavaScript."""
    task = _task_or_404(task_id)
    upload = request.files.get("photo")
    data = upload.read(damage_photo_limit() + 1) if upload else b""
    try:
        if len(data) > damage_photo_limit():
            raise task_service.TaskError.of(N_("That photo is larger than 12 MB."))
        damage.attach_photo(task.id, current_user.id, data)
    except d.DomainError as e:
        db.session.rollback()
        return _panel(db.session.get(Task, task_id), task_service.Outcome("error", e.message), 422)
    flash(_("Photo added to the damage tag."))
    return redirect(url_for("tasks.show", task_id=task_id), 303)


def damage_photo_limit() -> int:
    return 12 * 1024 * 1024


@bp.get("/photos/<name>")
@login_required
def photo_file(name: str):
    if not name.startswith("damage-") or not name.endswith(".jpg") or "/" in name or ".." in name:
        abort(404)
    found = damage.photo(db.session, name)
    if found is None:  # taken before photos were kept in the database: still a file on this host
        from pathlib import Path

        return send_from_directory(Path(current_app.instance_path) / "photos", name, mimetype="image/jpeg",
                                   max_age=86400)
    response = make_response(found.data)
    response.mimetype = found.content_type
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
