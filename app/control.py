"""Supervisor screens for stock control: the overview, cycle counts and their
KPIs, promotion locks, virtual stock, transfers and the movement ledger.

Routes translate a form into a service call inside one unit of work, and a
domain error into the same page with the message (status 422).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

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
from sqlalchemy import func, select

from .auth import current_warehouse, role_required
from .domain import counting as count_rules
from .domain import inputs
from .domain import stock as d
from .extensions import db
from .models import (
    Balance,
    Bin,
    BinStock,
    CountLine,
    CountSession,
    Item,
    Lot,
    Movement,
    PromoLock,
    Transfer,
    User,
    Warehouse,
)
from .services import counting, locks, resolve, transfers
from .services import tasks as task_service
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
        return None, e.message


# ------------------------------------------------------------ overview


@bp.get("/")
@role_required("supervisor")
def overview():
    warehouse = _warehouse()
    s = db.session
    totals = {}
    for wh in s.execute(select(Warehouse).order_by(Warehouse.code)).scalars():
        # Labelled b_*: a result row has a .t attribute of its own (its tuple).
        row = s.execute(select(*(func.sum(getattr(Balance, b)).label(f"b_{b}") for b in d.BUCKETS))
                        .where(Balance.warehouse_id == wh.id)).one()
        totals[wh] = d.Buckets(*(int(getattr(row, f"b_{b}") or 0) for b in d.BUCKETS))
    soon = date.today() + timedelta(days=30)
    expiring = s.execute(
        select(Item.sku, Item.name, BinStock.lot, Lot.expiry, Bin.code, BinStock.qty)
        .join(Item, Item.id == BinStock.item_id).join(Bin, Bin.id == BinStock.bin_id)
        .join(Lot, (Lot.item_id == BinStock.item_id) & (Lot.number == BinStock.lot))
        .where(Bin.warehouse_id == warehouse.id, BinStock.qty > 0, Lot.expiry.is_not(None), Lot.expiry <= soon)
        .order_by(Lot.expiry, Bin.code).limit(50)
    ).all()
    differing = [t for t in s.execute(
        select(Transfer).where((Transfer.source_id == warehouse.id) | (Transfer.dest_id == warehouse.id))
        .where(Transfer.status == "received").order_by(Transfer.id.desc()).limit(50)
    ).scalars() if t.has_differences]
    week_ago = datetime.combine(date.today() - timedelta(days=7), datetime.min.time())
    damaged = s.execute(
        select(Movement, Item.sku).join(Item, Item.id == Movement.item_id)
        .where(Movement.warehouse_id == warehouse.id, Movement.kind == "damage", Movement.created_at >= week_ago)
        .order_by(Movement.id.desc()).limit(20)
    ).all()
    return render_template(
        "office/overview.html", warehouse=warehouse, totals=totals, damaged=damaged,
        exceptions=task_service.open_exceptions(s, warehouse, limit=10),
        exception_count=task_service.count_open_exceptions(s, warehouse),
        variances=counting.awaiting_approval(s, warehouse),
        differing=differing, expiring=expiring,
        kpis=counting.warehouse_kpis(s, warehouse), chart=kpi_chart(counting.trend(s, warehouse)),
        today=date.today(),
    )


# ------------------------------------------------------------ counts


@bp.route("/counts", methods=["GET", "POST"])
@role_required("supervisor")
def counts():
    warehouse = _warehouse()
    errors, status = [], 200
    if request.method == "POST":
        f = request.form
        if f.get("settings"):
            _, error = _in_uow(lambda s, wh, user: counting.save_settings(s, wh, f))
            message = "Count settings saved."
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
    note = f" {len(skipped)} bin(s) left out: already in an open count." if skipped else ""
    return f"{cs.number} created: {len(cs.bins)} bin(s) to count.{note}"


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
            _, error = _in_uow(lambda s, wh, user: counting.close_session(s, s.get(CountSession, cs.id)))
            message = f"{cs.number} closed."
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
        raise d.InputError("No such variance in this count")
    line = counting.decide(s, line.id, user, approve)
    bin_code = line.count_bin.bin.code
    if approve:
        return f"Approved: {line.item.sku} in {bin_code} adjusted by {line.variance:+d}."
    return f"Rejected: {line.item.sku} in {bin_code} keeps its record."


@bp.get("/kpis")
@role_required("supervisor")
def kpis():
    warehouse = _warehouse()
    s = db.session
    points = counting.trend(s, warehouse, limit=30)
    lines = s.execute(
        select(CountLine).join(CountLine.count_bin).join(CountSession)
        .where(CountSession.warehouse_id == warehouse.id, CountLine.status.in_(count_rules.FINAL_STATES))
        .order_by(CountLine.id.desc()).limit(200)
    ).scalars().all()
    return render_template("office/kpis.html", warehouse=warehouse, points=points, chart=kpi_chart(points),
                           kpis=counting.warehouse_kpis(s, warehouse), lines=lines, kpi_line=counting.kpi_line)


def kpi_chart(points, width: int = 640, height: int = 240) -> dict:
    """Coordinates of an SVG line chart of the three KPIs per session (percent, 0 to 100)."""
    left, right, top, bottom = 44, 12, 12, 36
    w, h = width - left - right, height - top - bottom
    n = len(points)

    def x(i):
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v):
        return top + h - h * max(0.0, min(1.0, v))

    series = []
    for key, label, css in (("ira", "Record accuracy", "ira"), ("type_rate", "SKU type difference rate", "type"),
                            ("qty_rate", "SKU quantity difference rate", "qty")):
        pts = [(x(i), y(getattr(k, key)), getattr(k, key), cs.number) for i, (cs, k) in enumerate(points)
               if getattr(k, key) is not None]
        series.append({"label": label, "css": css, "points": pts,
                       "path": " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in pts)})
    grid = [{"y": y(v / 100), "label": f"{v}%"} for v in (0, 25, 50, 75, 100)]
    labels = [{"x": x(i), "label": cs.number[-4:]} for i, (cs, _) in enumerate(points)]
    return {"width": width, "height": height, "series": series, "grid": grid, "labels": labels,
            "left": left, "right": width - right, "bottom": top + h, "empty": n == 0}


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
            _, error = _in_uow(lambda s, wh, user: _unlock(s, wh, user, lock_id))
            message = "Unlocked: the units are back on sale."
        else:
            _, error = _in_uow(lambda s, wh, user: locks.create_lock(
                s, wh, user, f.get("sku", "").strip(), f.get("qty", ""), f.get("name", ""), f.get("ends_on", "")).id)
            message = "Locked for the promotion."
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
                    errors = [e.message]
                if not errors:
                    flash(f"Virtual stock set for {done} item(s).")
        else:
            result, error = _in_uow(lambda s, wh, user: locks.set_virtual(
                s, wh.code, f.get("sku", "").strip(), f.get("qty", ""), user.id))
            if error:
                errors = [error]
            else:
                flash(f"Virtual stock of {result.movement['sku']} is now {result.balance['V']}; "
                      f"sellable {result.balance['S']}.")
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
            flash(f"{number} planned: its units are allocated here.")
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

LEDGER_PAGE = 100
LEDGER_COLUMNS = ("id", "created_at", "kind", "warehouse", "sku", "lot", "qty", "from_bin", "to_bin",
                  "I", "S", "O", "U", "L", "V", "T", "A", "doc", "reason", "user", "device")


def _ledger_filters(warehouse: Warehouse) -> tuple[list, dict, list[str]]:
    args = request.args
    where = [Movement.warehouse_id == warehouse.id]
    chosen, errors = {}, []
    s = db.session
    if sku := args.get("sku", "").strip()[:40]:
        chosen["sku"] = sku
        item_id = s.execute(select(Item.id).where(Item.sku == sku)).scalar_one_or_none()
        if item_id is None:
            errors.append(f"No item {sku}")
        where.append(Movement.item_id == (item_id or -1))
    if bin_code := args.get("bin", "").strip()[:32]:
        chosen["bin"] = bin_code
        bin_id = s.execute(select(Bin.id).where(Bin.warehouse_id == warehouse.id, Bin.code == bin_code)).scalar_one_or_none()
        if bin_id is None:
            errors.append(f"No bin {bin_code} here")
        where.append((Movement.from_bin_id == (bin_id or -1)) | (Movement.to_bin_id == (bin_id or -1)))
    if username := args.get("user", "").strip()[:64]:
        chosen["user"] = username
        user_id = s.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
        if user_id is None:
            errors.append(f"No user {username}")
        where.append(Movement.user_id == (user_id or -1))
    if device := args.get("device", "").strip()[:64]:
        chosen["device"] = device
        where.append(Movement.device.contains(device, autoescape=True))
    if kind := args.get("kind", "").strip():
        try:
            where.append(Movement.kind == d.parse_kind(kind).value)
            chosen["kind"] = kind
        except d.DomainError as e:
            errors.append(e.message)
    for name, op in (("from", "ge"), ("to", "lt")):
        raw = args.get(name, "").strip()
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(f"Dates are YYYY-MM-DD ({name} was {raw[:12]!r})")
            continue
        chosen[name] = raw
        moment = datetime.combine(day if op == "ge" else day + timedelta(days=1), datetime.min.time())
        where.append(Movement.created_at >= moment if op == "ge" else Movement.created_at < moment)
    return where, chosen, errors


def _ledger_query(where):
    return (
        select(Movement, Item.sku, User.username)
        .join(Item, Item.id == Movement.item_id)
        .outerjoin(User, User.id == Movement.user_id)
        .where(*where)
        .order_by(Movement.id.desc())
    )


def _ledger_row(m: Movement, sku: str, username: str | None, warehouse_code: str, bins: dict[int, str]) -> list:
    deltas = m.deltas().as_dict()
    return [
        m.id, m.created_at.isoformat(timespec="seconds"), m.kind, warehouse_code, sku, m.lot, m.qty,
        bins.get(m.from_bin_id, ""), bins.get(m.to_bin_id, ""), *(deltas[b] for b in d.BUCKETS),
        f"{m.doc_type} {m.doc_id}" if m.doc_type else "", m.reason or "", username or "", m.device or "",
    ]


@bp.get("/ledger")
@role_required("supervisor")
def ledger():
    warehouse = _warehouse()
    where, chosen, errors = _ledger_filters(warehouse)
    bins = dict(db.session.execute(select(Bin.id, Bin.code).where(Bin.warehouse_id == warehouse.id)).all())
    if request.args.get("format") == "csv":
        if errors:
            return Response("; ".join(errors) + "\n", 422, mimetype="text/plain")
        return _ledger_csv(where, warehouse.code, bins)
    before = request.args.get("before", "")
    query = _ledger_query(where)
    if before:
        try:
            query = query.where(Movement.id < d.parse_whole(before, "before", 1, 2**63 - 1))
        except d.InputError as e:
            errors = [*errors, e.message]
    rows = db.session.execute(query.limit(LEDGER_PAGE + 1)).all() if not errors else []
    more = len(rows) > LEDGER_PAGE
    rows = [_ledger_row(m, sku, u, warehouse.code, bins) for m, sku, u in rows[:LEDGER_PAGE]]
    return render_template(
        "office/ledger.html", warehouse=warehouse, rows=rows, columns=LEDGER_COLUMNS, chosen=chosen, errors=errors,
        kinds=[k.value for k in d.Kind], next_before=rows[-1][0] if more and rows else None,
    ), 422 if errors else 200


def _ledger_csv(where, warehouse_code: str, bins: dict[int, str]) -> Response:
    engine = db.engine

    def generate():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(LEDGER_COLUMNS)
        # Its own connection, streamed in batches: an export of a million movements is never all in memory.
        with UnitOfWork(engine, write=False) as uow:
            for m, sku, u in uow.session.execute(_ledger_query(where).execution_options(yield_per=2000)):
                writer.writerow([inputs.safe_cell(v) for v in _ledger_row(m, sku, u, warehouse_code, bins)])
                if out.tell() > 64_000:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    stamp = date.today().isoformat()
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="ledger-{warehouse_code}-{stamp}.csv"'})
