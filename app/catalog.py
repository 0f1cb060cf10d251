"""Master data in the browser (supervisors): items with their barcodes and case packs, and the bins of
the warehouse one works in; each listed, searched, created and edited here, imported from CSV after a
preview of what will change, and exported as CSV in the import's own columns.

The checks are those of `flask import items|bins` (services.catalog): one home for the rules."""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from .auth import current_warehouse, role_required
from .domain import stock as d
from .extensions import db
from .i18n import N_, _, ngettext, said
from .models import Bin, Item, Warehouse
from .services import access, catalog, replenishing, resolve
from .services.uow import UnitOfWork
from .uploads import MAX_UPLOAD, csv_text

bp = Blueprint("catalog", __name__, url_prefix="/office")



def csv_download(rows, filename: str) -> Response:
    """Rows (the header first) streamed as a CSV file to download; each office export goes through it."""

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        for row in rows:
            writer.writerow(row)
            yield out.getvalue()
            out.seek(0)
            out.truncate()

    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _import_text() -> str:
    """The CSV to import: an uploaded file (first, for the preview) or the text the preview sent back."""
    if request.form.get("text") is not None:
        text = request.form["text"]
        if len(text) > MAX_UPLOAD:  # the text a preview sends back holds what an upload may
            raise d.InputError.of(N_("The file is larger than 2 MB; split it"))
        return text
    return csv_text()


def _import(kind: str, run, back: str):
    """Preview (nothing changes), then, confirmed, the import itself: checked whole again."""
    try:
        text = _import_text()
        confirmed = request.form.get("confirm") == "1"
        report = run(text, dry_run=not confirmed)
    except d.DomainError as e:
        return render_template("office/import-preview.html", kind=kind, report=None, errors=[said(e)],
                               text="", back=back), 422
    if confirmed and report.ok:
        flash(ngettext("Imported %(num)s row: %(new)s new, %(old)s updated.",
                       "Imported %(num)s rows: %(new)s new, %(old)s updated.", report.rows,
                       new=report.created, old=report.updated))
        return redirect(url_for(back))
    return render_template("office/import-preview.html", kind=kind, report=report, errors=report.errors[:50],
                           text=text, back=back), (200 if report.ok else 422)


# ------------------------------------------------------------ items


@bp.route("/items", methods=["GET", "POST"])
@role_required("supervisor")
def items():
    errors, status, form = [], 200, request.form
    if request.method == "POST":
        db.session.rollback()
        report = catalog.save_item(form, new=True)
        if report.ok:
            flash(_("Item %(sku)s created.", sku=form.get('sku', '').strip()))
            return redirect(url_for("catalog.items", q=form.get("sku", "").strip()))
        errors, status = report.errors, 422
    q = request.args.get("q", "")
    return render_template("office/items.html", items=catalog.items_page(db.session, q), q=q, errors=errors,
                           form=form), status


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@role_required("supervisor")
def item(item_id: int):
    row = db.session.get(Item, item_id) if item_id < 2**31 else None
    if row is None:
        return render_template("error.html", status=404, message=_("No such item."), level="error"), 404
    errors, status, form = [], 200, request.form
    if request.method == "POST":
        db.session.rollback()
        try:
            if form.get("action") in ("retire", "reactivate"):
                sku = catalog.retire_item(item_id, form["action"] == "retire")
                flash(_("%(sku)s is retired: it takes no new orders or receipts.", sku=sku) if form["action"] == "retire"
                      else _("%(sku)s is active again.", sku=sku))
                return redirect(url_for("catalog.item", item_id=item_id))
            if form.get("action") == "remove-barcode":
                code = catalog.remove_barcode(item_id, d.parse_id(form.get("barcode"), "barcode"))
                flash(_("Barcode %(code)s removed from %(sku)s.", code=code, sku=row.sku))
                return redirect(url_for("catalog.item", item_id=item_id))
            fields = {**form, "sku": row.sku,  # a checkbox sends "yes" after its hidden "no"
                      **{f: "yes" if "yes" in form.getlist(f) else "no" for f in ("lot_tracked", "expiry_tracked")}}
            if form.get("action") == "add-barcode":
                fields = {"sku": row.sku, "name": row.name, "unit": row.unit,
                          "barcode": form.get("barcode", "") if form.get("kind") != "case" else "",
                          "case_barcode": form.get("barcode", "") if form.get("kind") == "case" else "",
                          "case_qty": form.get("case_qty", "")}
            report = catalog.save_item(fields)
            if report.ok:
                flash(_("%(sku)s saved.", sku=row.sku) + (f" {'; '.join(report.changes)}." if report.changes else ""))
                return redirect(url_for("catalog.item", item_id=item_id))
            errors, status = report.errors, 422
        except d.DomainError as e:
            errors, status = [said(e)], 422
        db.session.rollback()
        row = db.session.get(Item, item_id)
    return render_template("office/item.html", item=row, errors=errors, form=form), status


@bp.route("/items/import", methods=["POST"])
@role_required("supervisor")
def items_import():
    return _import("items", catalog.import_items_text, "catalog.items")


@bp.route("/items.csv")
@role_required("supervisor")
def items_csv():
    return csv_download(catalog.items_csv(db.session), "items.csv")


# ------------------------------------------------------------ bins


@bp.route("/bins", methods=["GET", "POST"])
@role_required("supervisor")
def bins():
    warehouse = current_warehouse()
    if warehouse is None:
        return render_template("error.html", status=404, message=_("Choose a warehouse first."), level="error"), 404
    errors, status, form = [], 200, request.form
    if request.method == "POST":
        db.session.rollback()
        code = form.get("code", "").strip()
        report = catalog.save_bin(warehouse, form, new=True)
        if report.ok:
            flash(_("Bin %(bin)s created in %(warehouse)s.", bin=code, warehouse=warehouse.code))
            return redirect(url_for("catalog.bins", q=code))
        errors, status = report.errors, 422
    q = request.args.get("q", "")
    return render_template("office/bins.html", bins=catalog.bins_page(db.session, current_warehouse(), q), q=q,
                           errors=errors, form=form, warehouse=current_warehouse()), status


@bp.route("/pick-faces", methods=["GET", "POST"])
@role_required("supervisor")
def pick_faces():
    """The pick faces of this warehouse: a bin and item with a minimum and a maximum; set, changed, removed."""
    warehouse = current_warehouse()
    if warehouse is None:
        return render_template("error.html", status=404, message=_("Choose a warehouse first."), level="error"), 404
    errors, status, form = [], 200, request.form
    if request.method == "POST":
        db.session.rollback()
        try:
            with UnitOfWork() as uow:
                wh = uow.session.get(Warehouse, warehouse.id)
                if form.get("action") == "remove":
                    words = replenishing.remove_face(uow.session, wh, form.get("face", ""))
                    message = _("Pick face %(face)s removed.", face=words)
                else:
                    face = replenishing.set_face(uow.session, wh, form.get("bin", ""), form.get("sku", ""),
                                                 form.get("min_qty", ""), form.get("max_qty", ""))
                    message = _("Pick face %(bin)s for %(sku)s: refilled to %(max)s when at %(min)s or less.",
                                bin=face.bin.code, sku=face.item.sku, max=face.max_qty, min=face.min_qty)
                uow.commit()
            flash(message)
            return redirect(url_for("catalog.pick_faces"))
        except d.DomainError as e:
            errors, status = [said(e)], 422
    warehouse = current_warehouse()
    return render_template("office/pick-faces.html", faces=replenishing.faces(db.session, warehouse), errors=errors,
                           form=form, warehouse=warehouse), status


@bp.route("/bins/<int:bin_id>", methods=["GET", "POST"])
@role_required("supervisor")
def bin(bin_id: int):
    warehouse = current_warehouse()
    try:
        row = resolve.owned(db.session, Bin, bin_id, warehouse, "bin")
    except d.DomainError as e:
        return render_template("error.html", status=404, message=e.message, level="error"), 404
    errors, status = [], 200
    if request.method == "POST" and request.form.get("action") in ("retire", "reactivate"):
        db.session.rollback()
        try:
            code = catalog.retire_bin(warehouse, bin_id, request.form["action"] == "retire")
            flash(_("Bin %(bin)s is retired: nothing is put into it.", bin=code) if request.form["action"] == "retire"
                  else _("Bin %(bin)s is in use again.", bin=code))
            return redirect(url_for("catalog.bin", bin_id=bin_id))
        except d.DomainError as e:
            errors, status = [said(e)], 422
            db.session.rollback()
            row = db.session.get(Bin, bin_id)
    elif request.method == "POST":
        db.session.rollback()
        report = catalog.save_bin(warehouse, {**request.form, "code": row.code})
        if report.ok:
            flash(_("Bin %(bin)s saved.", bin=row.code))
            return redirect(url_for("catalog.bin", bin_id=bin_id))
        errors, status = report.errors, 422
        db.session.rollback()
        row = db.session.get(Bin, bin_id)
    return render_template("office/bin.html", bin=row, errors=errors, form=request.form), status


@bp.route("/bins/import", methods=["POST"])
@role_required("supervisor")
def bins_import():
    warehouse = current_warehouse()
    code = warehouse.code if warehouse is not None else ""

    def run(text, dry_run):
        return catalog.import_bins_text(text, dry_run, only_warehouse=code)

    return _import("bins", run, "catalog.bins")


@bp.route("/bins.csv")
@role_required("supervisor")
def bins_csv():
    warehouse = current_warehouse()
    if warehouse is None:
        return render_template("error.html", status=404, message=_("Choose a warehouse first."), level="error"), 404
    return csv_download(catalog.bins_csv(db.session, warehouse), f"bins-{warehouse.code}.csv")


# ------------------------------------------------------------ warehouses


@bp.route("/warehouses", methods=["GET", "POST"])
@role_required("admin")
def warehouses():
    errors, status, form = [], 200, request.form
    if request.method == "POST":
        db.session.rollback()
        try:
            code, created = catalog.save_warehouse(form.get("code", ""), form.get("name", ""))
            flash(_("Warehouse %(code)s created, with its dock, staging, quarantine and returns bins.", code=code) if created
                  else _("Warehouse %(code)s renamed.", code=code))
            return redirect(url_for("catalog.warehouses"))
        except d.DomainError as e:
            errors, status = [said(e)], 422
    return render_template("office/warehouses.html", warehouses=catalog.warehouses_page(db.session), errors=errors,
                           form=form), status


@bp.route("/warehouses/import", methods=["POST"])
@role_required("admin")
def warehouses_import():
    return _import("warehouses", catalog.import_warehouses_text, "catalog.warehouses")


@bp.route("/warehouses.csv")
@role_required("admin")
def warehouses_csv():
    return csv_download(catalog.warehouses_csv(db.session), "warehouses.csv")


# ------------------------------------------------------------ users (admin; listed on the Access screen)


@bp.route("/users/import", methods=["POST"])
@role_required("admin")
def users_import():
    def run(text, dry_run):
        return access.import_users_text(text, dry_run, by_user_id=current_user.id)

    return _import("users", run, "office.access_screen")


@bp.route("/users.csv")
@role_required("admin")
def users_csv():
    return csv_download(access.users_csv(db.session), "users.csv")


@bp.route("/tokens.csv")
@role_required("admin")
def tokens_csv():
    return csv_download(access.tokens_csv(db.session), "api-tokens.csv")
