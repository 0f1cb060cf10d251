"""Supervisor screens for stock control: the overview, cycle counts and their
KPIs, promotion locks, virtual stock, transfers and the movement ledger.

Routes translate a form into a service call inside one unit of work, and a
domain error into the same page with the message (status 422).
"""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from .auth import current_warehouse, role_required
from .domain import counting as count_rules
from .domain import stock as d
from .extensions import db
from .i18n import N_, _, said
from .models import (
    CountLine,
    CountSession,
    PromoLock,
    Transfer,
    User,
    Warehouse,
)
from .services import counting, locks, reports, resolve, transfers
from .services.uow import UnitOfWork

bp = Blueprint("control", __name__, url_prefix="/office")

MAX_UPLOAD = 2 * 1024 * 1024


def _warehouse() -> Warehouse:
    warehouse = current_warehouse()
    if warehouse is None:
        abort(404)
    return warehouse


def _in_uow(fn):
    """Run fn(session, warehouse, user) in one transaction; a domain error comes back as its message."""
    warehouse = _warehouse()
    try:
        with UnitOfWork() as uow:
            s = uow.session
            result = fn(s, s.get(Warehouse, warehouse.id), s.get(User, current_user.id))
            uow.commit()
            return result, None
    except d.DomainError as e:
        return None, said(e)


# ------------------------------------------------------------ overview


@bp.get("/")
@role_required("supervisor")
def overview():
    warehouse = _warehouse()
    return render_template("office/overview.html", **reports.overview(db.session, warehouse))


# ------------------------------------------------------------ counts


@bp.route("/counts", methods=["GET", "POST"])
@role_required("supervisor")
def counts():
    warehouse = _warehouse()
    errors, status = [], 200
    if request.method == "POST":
        f = request.form
        if f.get("settings"):
            _done, error = _in_uow(lambda s, wh, user: counting.save_settings(s, wh, f))
            message = _("Count settings saved.")
        else:
            result, error = _in_uow(lambda s, wh, user: _new_session(s, wh, user, f))
            message = result
        if error is None:
            flash(message)
            return redirect(url_for("control.counts"), 303)
        errors, status = [error], 422
    s = db.session
    sessions = s.execute(
        select(CountSession).where(CountSession.warehouse_id == warehouse.id).order_by(CountSession.id.desc()).limit(50)
    ).scalars().all()
    due, classes = counting.due_items(s, warehouse)
    by_class = {c: sum(1 for v in classes.values() if v == c) for c in "ABC"}
    return render_template(
        "office/counts.html", warehouse=warehouse, sessions=sessions, errors=errors, form=request.form,
        settings=counting.settings_for(warehouse), by_class=by_class, due=len(due),
        kpis={cs.id: counting.session_kpis(cs) for cs in sessions},
    ), status


def _new_session(s, wh, user, f) -> str:
    cs, skipped = counting.create_session(
        s, wh, user, f.get("mode", ""), f.get("value", ""), blind=f.get("blind") == "1",
        threshold_qty=f.get("threshold_qty"), threshold_value=f.get("threshold_value"),
    )
    note = " " + _("%(n)s bin(s) left out: already in an open count.", n=len(skipped)) if skipped else ""
    return _("%(number)s created: %(n)s bin(s) to count.", number=cs.number, n=len(cs.bins)) + note


def _session_or_404(session_id: int) -> CountSession:
    cs = db.session.get(CountSession, session_id)
    if cs is None or cs.warehouse_id != _warehouse().id:
        abort(404)
    return cs


@bp.route("/counts/<int:session_id>", methods=["GET", "POST"])
@role_required("supervisor")
def count_session(session_id: int):
    cs = _session_or_404(session_id)
    errors, status = [], 200
    if request.method == "POST":
        f = request.form
        if f.get("close"):
            _done, error = _in_uow(lambda s, wh, user: counting.close_session(s, s.get(CountSession, cs.id)))
            message = _("%(number)s closed.", number=cs.number)
        else:
            line_id = f.get("line", "")
            decision = f.get("decision", "")
            if not line_id or decision not in ("approve", "reject"):
                error, message = "Choose a variance and approve or reject it", ""
            else:
                line, error = _in_uow(lambda s, wh, user: _decide(s, cs, line_id, user, decision == "approve"))
                message = line
        if error is None:
            flash(message)
            return redirect(url_for("control.count_session", session_id=cs.id), 303)
        errors, status = [error], 422
        db.session.rollback()
        cs = _session_or_404(session_id)
    return render_template(
        "office/count-session.html", warehouse=cs.warehouse, cs=cs, errors=errors, kpis=counting.session_kpis(cs),
        states=count_rules.LINE_STATES,
    ), status


def _decide(s, cs: CountSession, line_id, user: User, approve: bool) -> str:
    line = resolve.owned(s, CountLine, line_id, s.get(Warehouse, cs.warehouse_id), "variance")
    if line.count_bin.session_id != cs.id:
        raise d.InputError.of(N_("No such variance in this count"))
    line = counting.decide(s, line.id, user, approve)
    bin_code = line.count_bin.bin.code
    if approve:
        return _("Approved: %(sku)s in %(bin)s adjusted by %(n)s.", sku=line.item.sku, bin=bin_code, n=f"{line.variance:+d}")
    return _("Rejected: %(sku)s in %(bin)s keeps its record.", sku=line.item.sku, bin=bin_code)


@bp.get("/kpis")
@role_required("supervisor")
def kpis():
    return render_template("office/kpis.html", **reports.kpi_page(db.session, _warehouse()))


# ------------------------------------------------------------ locks and virtual stock


@bp.route("/locks", methods=["GET", "POST"])
@role_required("supervisor")
def promo_locks():
    warehouse = _warehouse()
    errors, status = [], 200
    if request.method == "POST":
        f = request.form
        if f.get("unlock"):
            lock_id = f["unlock"]
            _done, error = _in_uow(lambda s, wh, user: _unlock(s, wh, user, lock_id))
            message = _("Unlocked: the units are back on sale.")
        else:
            _done, error = _in_uow(lambda s, wh, user: locks.create_lock(
                s, wh, user, f.get("sku", "").strip(), f.get("qty", ""), f.get("name", ""), f.get("ends_on", "")).id)
            message = _("Locked for the promotion.")
        if error is None:
            flash(message)
            return redirect(url_for("control.promo_locks"), 303)
        errors, status = [error], 422
    locks.release_expired()
    db.session.rollback()
    return render_template("office/locks.html", warehouse=warehouse, rows=locks.active_locks(db.session, warehouse),
                           errors=errors, form=request.form, today=date.today()), status


def _unlock(s, wh, user, lock_id):
    lock = resolve.owned(s, PromoLock, lock_id, wh, "lock")
    return locks.release(s, lock.id, user.id)


@bp.route("/virtual", methods=["GET", "POST"])
@role_required("supervisor")
def virtual():
    warehouse = _warehouse()
    errors, status = [], 200
    if request.method == "POST":
        f = request.form
        if f.get("import"):
            upload = request.files.get("file")
            data = upload.read(MAX_UPLOAD + 1) if upload and upload.filename else b""
            if not data:
                errors = ["Choose a CSV file: sku,qty[,warehouse] per row"]
            elif len(data) > MAX_UPLOAD:
                errors = ["The file is larger than 2 MB; split it"]
            else:
                try:
                    done, errors = locks.import_virtual_csv(data.decode("utf-8-sig"), current_user.id, warehouse.code)
                except UnicodeDecodeError:
                    errors = ["The file is not UTF-8 text; save it as CSV UTF-8"]
                except d.InputError as e:
                    errors = [said(e)]
                if not errors:
                    flash(_("Virtual stock set for %(n)s item(s).", n=done))
        else:
            result, error = _in_uow(lambda s, wh, user: locks.set_virtual(
                s, wh.code, f.get("sku", "").strip(), f.get("qty", ""), user.id))
            if error:
                errors = [error]
            else:
                flash(_("Virtual stock of %(sku)s is now %(v)s; sellable %(s)s.", sku=result.movement['sku'],
                        v=result.balance['V'], s=result.balance['S']))
        if not errors:
            return redirect(url_for("control.virtual"), 303)
        status = 422
    rows = locks.virtual_rows(db.session, warehouse)
    return render_template("office/virtual.html", warehouse=warehouse, rows=rows, errors=errors, form=request.form), status


# ------------------------------------------------------------ transfers


@bp.route("/transfers", methods=["GET", "POST"])
@role_required("supervisor")
def transfer_list():
    warehouse = _warehouse()
    errors, status = [], 200
    if request.method == "POST":
        f = request.form

        def make(s, wh, user):
            lines = []
            for n, raw in enumerate(f.get("lines", "").splitlines(), 1):
                parts = raw.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise d.InputError(f"Row {n}: write the SKU and the quantity, e.g. HEX-0001 12")
                lines.append((parts[0], parts[1]))
            return transfers.plan(s, wh, f.get("dest", ""), user, lines, f.get("note", "")).number

        number, error = _in_uow(make)
        if error is None:
            flash(_("%(number)s planned: its units are allocated here.", number=number))
            return redirect(url_for("control.transfer_list"), 303)
        errors, status = [error], 422
    s = db.session
    rows = s.execute(
        select(Transfer).where((Transfer.source_id == warehouse.id) | (Transfer.dest_id == warehouse.id))
        .order_by(Transfer.id.desc()).limit(100)
    ).scalars().all()
    others = s.execute(select(Warehouse).where(Warehouse.id != warehouse.id).order_by(Warehouse.code)).scalars().all()
    return render_template("office/transfers.html", warehouse=warehouse, rows=rows, others=others, errors=errors,
                           form=request.form), status


# ------------------------------------------------------------ ledger

@bp.get("/ledger")
@role_required("supervisor")
def ledger():
    warehouse = _warehouse()
    ledger_filter = reports.LedgerFilter.read(db.session, warehouse, request.args)
    if request.args.get("format") == "csv":
        if ledger_filter.errors:
            return Response("; ".join(ledger_filter.errors) + "\n", 422, mimetype="text/plain")
        stamp = date.today().isoformat()
        return Response(stream_with_context(reports.ledger_csv(db.engine, ledger_filter)), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="ledger-{warehouse.code}-{stamp}.csv"'})
    page = reports.ledger_page(db.session, ledger_filter, request.args.get("before", ""))
    return render_template("office/ledger.html", warehouse=warehouse, **page), 422 if page["errors"] else 200


