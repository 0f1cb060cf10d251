"""Planning screens (supervisors): the plan with its purchase proposals, and the suppliers behind it.
The figures are services.planning's; the rules domain.planning's; this blueprint only translates HTTP."""

from __future__ import annotations


from flask import Blueprint, flash, redirect, render_template, request, url_for

from flask_login import current_user

from .auth import current_warehouse, role_required
from .catalog import csv_download
from .domain import planning as plan_rules
from .domain import stock as d
from .extensions import db
from .i18n import N_, _, said
from .models import Warehouse
from .services import ledger_days, losses, planning, purchasing, suppliers, valuation
from .services.uow import UnitOfWork

bp = Blueprint("plan", __name__, url_prefix="/office")


@bp.before_request
def _sum_the_closed_days():
    """The screens read the ledger's sums per day (services.ledger_days): the days closed since the
    last request are summed first, once, in a transaction of their own."""
    if request.method == "GET":
        ledger_days.fill_all()


def _no_warehouse():
    return render_template("error.html", status=404, message=_("Choose a warehouse first."), level="error"), 404


@bp.get("/plan")
@role_required("supervisor")
def plan():
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    return _plan_page(warehouse)


def _plan_page(warehouse, errors=(), status=200):
    rows = planning.plan_rows(db.session, warehouse)
    moves = [t for t in planning.transfer_proposals(db.session, known={warehouse.id: rows})
             if warehouse.id in (t.source.id, t.dest.id)]
    return render_template("office/plan.html", warehouse=warehouse, rows=rows, settings=planning.settings(warehouse),
                           to_order=sum(1 for r in rows if r.plan.propose), moves=moves,
                           cover_limit=planning.COVER_LIMIT_DAYS, inf=float("inf"), errors=list(errors)), status


@bp.get("/plan/item/<int:item_id>")
@role_required("supervisor")
def plan_item(item_id: int):
    """One item's plan with its inputs, and a chart of its days: sellable stock and demand against the
    reorder point and the safety stock."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    row = next(iter(planning.plan_rows(db.session, warehouse, item_id=item_id)), None)
    if row is None:
        return render_template("error.html", status=404, message=_("That item has no plan here: nothing stocked, "
                                                                    "asked for or on order."), level="error"), 404
    conf = planning.settings(warehouse)
    chart = planning.item_chart(db.session, warehouse, row)
    return render_template("office/plan-item.html", warehouse=warehouse, row=row, chart=chart, window=conf["window"])


@bp.post("/plan/transfer")
@role_required("supervisor")
def plan_transfer():
    """A transfer proposal becomes a planned transfer (its units allocated at the source)."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    f = request.form
    try:
        number = planning.plan_transfer(d.parse_id(f.get("source"), "source"), f.get("dest", ""), f.get("sku", ""),
                                        f.get("qty", ""), current_user.id)
    except d.DomainError as e:
        db.session.rollback()
        return _plan_page(warehouse, [said(e)], 422)
    flash(_("Transfer %(number)s planned: pick and ship it from Transfer out.", number=number))
    return redirect(url_for("plan.plan"), 303)


@bp.post("/plan/order")
@role_required("supervisor")
def plan_order():
    """The chosen proposals, with their edited quantities, become purchase orders (one a supplier)."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    try:
        chosen = {d.parse_id(x, "item"): request.form.get(f"qty_{x}", "") for x in request.form.getlist("item")[:500]}
        if not chosen:
            raise d.InputError.of(N_("Tick the proposals to order."))
        made = planning.order(warehouse.id, chosen)
    except d.DomainError as e:
        db.session.rollback()
        return _plan_page(warehouse, [said(e)], 422)
    new = [po["number"] for po in made if po["created"]]
    flash(_("Purchase orders %(numbers)s created.", numbers=", ".join(new)) if new
          else _("Nothing new to order: those items are on order already."))
    return redirect(url_for("plan.plan"), 303)


@bp.post("/plan/settings")
@role_required("supervisor")
def plan_settings():
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    try:
        with UnitOfWork() as uow:
            planning.save_settings(uow.session, uow.session.get(Warehouse, warehouse.id), request.form)
            uow.commit()
    except d.DomainError as e:
        db.session.rollback()
        return _plan_page(warehouse, [said(e)], 422)
    flash(_("Service levels saved."))
    return redirect(url_for("plan.plan"), 303)


@bp.get("/plan.csv")
@role_required("supervisor")
def plan_csv():
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    return csv_download(planning.csv_rows(db.session, warehouse), f"plan-{warehouse.code}.csv")


@bp.route("/suppliers", methods=["GET", "POST"])
@role_required("supervisor")
def suppliers_screen():
    errors, status = [], 200
    if request.method == "POST":
        db.session.rollback()
        try:
            with UnitOfWork() as uow:
                if request.form.get("action") == "link":
                    row = suppliers.link(uow.session, request.form)
                    message = _("%(sku)s is bought from %(supplier)s.", sku=row.item.sku, supplier=row.supplier.name)
                else:
                    row = suppliers.save(uow.session, request.form, request.form.get("id") or None)
                    message = _("Supplier %(name)s saved.", name=row.name)
                uow.commit()
            flash(message)
            return redirect(url_for("plan.suppliers_screen"), 303)
        except d.DomainError as e:
            errors, status = [said(e)], 422
    return render_template("office/suppliers.html", suppliers=suppliers.all_suppliers(db.session),
                           links=suppliers.links(db.session), errors=errors, form=request.form), status


def _weeks():
    """The report's span in weeks from the query (1 to 104), or the page that says it is wrong."""
    try:
        return d.parse_whole(request.args.get("weeks", losses.WEEKS), "weeks", 1, 104)
    except d.InputError as e:
        return render_template("error.html", status=422, message=said(e), level="error"), 422


@bp.get("/losses")
@role_required("supervisor")
def losses_screen():
    """Losses and returns of the last weeks: by reason, zone, item and week, counts, returns and outcomes."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    weeks = _weeks()
    if not isinstance(weeks, int):
        return weeks
    report = losses.report(db.session, warehouse, weeks)
    chart = losses.reason_chart(report)
    return render_template("office/losses.html", warehouse=warehouse, weeks=weeks, report=report, chart=chart)


@bp.get("/losses.csv")
@role_required("supervisor")
def losses_csv():
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    weeks = _weeks()
    if not isinstance(weeks, int):
        return weeks
    return csv_download(losses.csv_rows(db.session, warehouse, weeks), f"losses-{warehouse.code}.csv")


@bp.get("/ageing")
@role_required("supervisor")
def ageing_screen():
    """Stock by age (first in, first out) and the slow movers, each with what to do about it."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    rows, totals = planning.ageing(db.session, warehouse)
    chart = planning.age_chart(totals)
    return render_template("office/ageing.html", warehouse=warehouse, rows=rows, totals=totals, chart=chart,
                           bands=[label for label, _lo, _hi in plan_rules.AGE_BANDS],
                           slow_days=plan_rules.SLOW_NO_DEMAND_DAYS, cover_days=plan_rules.SLOW_COVER_DAYS,
                           inf=float("inf"))


@bp.get("/valuation")
@role_required("supervisor")
def valuation_screen():
    """Stock value at moving-average cost, now or at the close of a past day; its trend, cost of goods
    shipped and turnover over the period."""
    warehouse = current_warehouse()
    if warehouse is None:
        return _no_warehouse()
    try:
        day = purchasing.parse_date(request.args.get("as_of") or None, "as_of")
        days = d.parse_whole(request.args.get("days", valuation.PERIOD_DAYS), "days", 7, 730)
    except d.InputError as e:
        return render_template("error.html", status=422, message=said(e), level="error"), 422
    shown = valuation.as_of(db.session, warehouse, day) if day else valuation.now(db.session, warehouse)
    if request.args.get("format") == "csv":
        return csv_download(valuation.csv_rows(shown), f"valuation-{warehouse.code}.csv")
    turn = valuation.turnover(db.session, warehouse, days)
    chart = valuation.trend_chart(turn)
    return render_template("office/valuation.html", warehouse=warehouse, shown=shown, turn=turn, chart=chart,
                           as_of=day, buckets=valuation.VALUED_BUCKETS)
