"""Floor screens: home, warehouse choice and stock lookup by scan."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from scanners import ScanError, clean_scan

from .auth import current_warehouse, device_label
from .db_setup import keep_loaded
from .extensions import db
from .i18n import _, said
from .models import Warehouse
from .services import lookup as lookup_service
from .services import scans

bp = Blueprint("floor", __name__)


def render(page: str, partial: str, **context):
    """The whole page, or only the partial when htmx asks for it.

    The page includes the very same partial, so each piece of screen has
    one template.
    """
    if request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted"):
        return render_template(partial, **context)
    return render_template(page, **context)


@bp.get("/")
@login_required
def home():
    from .services import tasks as task_service

    warehouse = current_warehouse()
    open_count = len(task_service.open_tasks(db.session, warehouse)) if warehouse else 0
    exception_count = task_service.count_open_exceptions(db.session, warehouse) if warehouse else 0
    return render_template(
        "home/index.html", warehouse=warehouse, open_count=open_count, exception_count=exception_count
    )


@bp.route("/warehouse", methods=["GET", "POST"])
@login_required
def choose_warehouse():
    warehouses = db.session.execute(select(Warehouse).order_by(Warehouse.code)).scalars().all()
    error = None
    if request.method == "POST":
        code = request.form.get("warehouse", "")
        chosen = next((w for w in warehouses if w.code == code), None)
        if chosen is not None:
            session["warehouse_id"] = chosen.id
            return redirect(url_for("floor.home"))
        error = f"Unknown warehouse {code[:40]!r}"
    status = 422 if error else 200
    return render_template(
        "home/warehouse.html", warehouses=warehouses, warehouse=current_warehouse(), error=error
    ), status


@bp.get("/lookup")
@login_required
def lookup():
    warehouse = current_warehouse()
    code = request.args.get("code", "")
    return _lookup(code, warehouse, log=None)


@bp.post("/lookup")
@login_required
def lookup_scan():
    """A scan from the handheld's queue (or a form without JavaScript): answered once per scan id."""
    keep_loaded(db.session())  # the answer reads the same few rows more than once
    warehouse = current_warehouse()
    settings = scans.settings_for(warehouse)
    scan_id, prior = scans.own(db.session, scans.scan_id_from(request.form.get("scan_id")), current_user.id, "lookup")
    code = prior.text if prior else scans.scanned_code(request.form, settings)
    return _lookup(code, warehouse, log=(scan_id, prior))


def _lookup(code: str, warehouse, log):
    result, kind, message, unknown = None, None, "", False
    if code.strip():
        try:
            result = lookup_service.lookup(db.session, code, warehouse, scans.rules_for(warehouse))
        except ScanError as exc:
            message = said(exc)
        else:
            kind = ("item" if isinstance(result, lookup_service.ItemView)
                    else "serial" if isinstance(result, lookup_service.SerialView) else "bin" if result else None)
            if result is None:
                unknown = True
                message = _("Nothing is known by “%(code)s”. Scan an item barcode, a SKU or a bin label.",
                            code=clean_scan(code))
    outcome = "ok" if result else "error"
    recent = []
    if log is not None:
        scan_id, prior = log
        logged = None
        if code.strip() and prior is None:
            logged = scans.record(
                db.session, scan_id=scan_id, user_id=current_user.id, warehouse_id=warehouse.id if warehouse else None,
                screen="lookup", text=clean_scan(code) or "?", kind=kind or "none", outcome=outcome, message=message,
                device=device_label()[:80],
            )[0]
        recent = scans.recent(db.session, current_user.id, "lookup", just_logged=logged)
    status = 200 if result or not code.strip() else 404 if unknown else 422
    return (
        render(
            "lookup/index.html",
            "lookup/partials/lookup-result.html",
            code=clean_scan(code),
            result=result,
            kind=kind,
            message=message,
            recent=recent,
            warehouse=warehouse,
            settings=scans.settings_for(warehouse),
        ),
        status,
    )
