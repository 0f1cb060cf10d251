"""Floor screens: home, warehouse choice and stock lookup by scan."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_required
from sqlalchemy import select

from scanners import clean_scan

from .auth import current_warehouse
from .extensions import db
from .models import Warehouse
from .services import lookup as lookup_service

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
    return render_template("home/index.html", warehouse=current_warehouse())


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
    code = clean_scan(request.args.get("code", ""))
    result = lookup_service.lookup(db.session, code, warehouse) if code else None
    status = 404 if code and result is None else 200
    if isinstance(result, lookup_service.ItemView):
        kind = "item"
    elif isinstance(result, lookup_service.BinView):
        kind = "bin"
    else:
        kind = None
    return (
        render(
            "lookup/index.html",
            "lookup/partials/lookup-result.html",
            code=code,
            result=result,
            kind=kind,
            warehouse=warehouse,
        ),
        status,
    )
