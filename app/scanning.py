"""Scanning screens and endpoints: camera frames to codes, the scanner set-up, labels."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import scanners
from scanners import Rules, labels
from scanners.wedge import TEST_LABEL, analyse

from .headers import CSP
from .auth import current_warehouse, role_required
from .domain import inputs
from .domain import stock as d
from .extensions import db
from .floor import render
from .models import Barcode, Bin, Item, LicencePlate, Warehouse
from .i18n import _
from .services import commands, scans
from .services.uow import UnitOfWork

bp = Blueprint("scan", __name__)


def _error(status: int, message: str, code: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.post("/scan/decode")
@login_required
def decode():
    """A camera frame or photo in, the barcodes in it out (JSON). Changes nothing."""
    upload = request.files.get("image")
    if upload is None:
        return _error(422, "Send the picture as the form field 'image'.", "no_image")
    from scanners.decoder import MAX_BYTES

    data = upload.read(MAX_BYTES + 1)
    t0 = time.perf_counter()
    try:
        results = scanners.decode_bytes(data)
    except scanners.ImageError as exc:
        return _error(422, f"That picture cannot be used: {exc}.", "bad_image")
    ms = round((time.perf_counter() - t0) * 1000, 1)
    return jsonify({"results": [_public(r) for r in results], "ms": ms})


def _public(result) -> dict:
    """A result as the handheld sees it. `sure` is false for a code read from a defocused picture by
    the model reader, the one step that can still answer wrongly: the handheld books it only when a
    second frame or photo reads the same code."""
    d = result.as_dict()
    d["sure"] = d.pop("decoder", None) != "model"
    return d


# Scanner set-up --------------------------------------------------------------------------------

SETTING_FIELDS = ("prefix", "suffix", "gs_substitute", "pause_ms", "max_scan_qty", "max_scan_len", "bin_pattern", "plate_pattern", "order_pattern",
                  "po_pattern", "badge_pattern")


NUMBER_SETTINGS = {
    "pause_ms": (20, 1000, "A pause between 20 and 1000 ms."),
    "max_scan_qty": (1, 1_000_000, "Between 1 and 1,000,000 units."),
    "max_scan_len": (20, 200, "Between 20 and 200 characters."),
}


@bp.get("/scanner")
@login_required
def setup():
    warehouse = current_warehouse()
    return render_template("scanner/index.html", warehouse=warehouse, settings=scans.settings_for(warehouse),
                           report=None, test_label=labels.Label("test", "gs1_128", TEST_LABEL[3:], "Scanner test"),
                           errors={})


@bp.post("/scanner/probe")
@login_required
def probe():
    """The keys one test scan produced, measured against the site's settings."""
    warehouse = current_warehouse()
    settings = scans.settings_for(warehouse)
    try:
        keys = inputs.loads(request.form.get("keys", "[]"), limit=3)
        if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
            raise ValueError
    except (ValueError, inputs.InputError):
        keys = None
    if not keys:
        report = {"problems": ["No keys arrived. Tap the test area, then scan the test label."], "text": ""}
    else:
        report = analyse(keys, settings)
    return render("scanner/index.html", "scanner/partials/scanner-report.html", warehouse=warehouse,
                  settings=settings, report=report, errors={})


@bp.post("/scanner/settings")
@role_required("supervisor")
def save_settings():
    warehouse = current_warehouse()
    if warehouse is None:
        return render_template("error.html", status=409, message=_("Choose a warehouse first."), level="error"), 409
    settings = scans.settings_for(warehouse)
    errors = {}
    new = dict(settings)
    for name in SETTING_FIELDS:
        if name not in request.form:
            continue
        value = request.form.get(name, "")
        if name in NUMBER_SETTINGS:
            low, high, message = NUMBER_SETTINGS[name]
            try:
                new[name] = d.parse_whole(value, name, low, high)
            except d.InputError:
                errors[name] = message
            continue
        else:
            value = value.strip() if name.endswith("_pattern") else value
            if len(value) > 200:
                errors[name] = "At most 200 characters."
                continue
            new[name] = value
    try:
        Rules.from_settings(new)
    except ValueError as exc:
        kind = str(exc).split()[1]
        errors[f"{kind}_pattern"] = str(exc)
    if not errors:
        warehouse.scan_settings = {k: v for k, v in new.items() if v != scans.SETTING_DEFAULTS[k]}
        db.session.commit()
    status = 422 if errors else 200
    return render("scanner/index.html", "scanner/partials/scanner-settings.html", warehouse=warehouse,
                  settings=new if errors else scans.settings_for(warehouse), errors=errors, saved=not errors,
                  report=None, test_label=labels.Label("test", "gs1_128", TEST_LABEL[3:], "Scanner test")), status


# Labels ------------------------------------------------------------------------------------------

PAPER = {"a4": "A4", "letter": "Letter"}
LABEL_KINDS = ("bins", "items", "plates", "commands")
MAX_LABELS = 500


@bp.get("/labels/barcode.png")
@login_required
def barcode_png():
    """One barcode image; the sheet's <img> tags point here so the browser caches each code."""
    label = _label_from_args(request.args)
    if isinstance(label, str):
        return _error(422, label, "bad_label")
    resp = Response(labels.png(label), mimetype="image/png")
    resp.cache_control.max_age = 86400
    resp.cache_control.private = True
    return resp


def _label_from_args(args) -> labels.Label | str:
    symbology, data = args.get("s", ""), args.get("d", "")
    if symbology not in labels.SYMBOLOGIES or not data or len(data) > 80:
        return "Unknown symbology or data."
    try:
        label = labels.Label("any", symbology, data, "")
        labels.png(label)
    except labels.LabelError as exc:
        return str(exc)
    return label


@bp.get("/labels")
@role_required("supervisor")
def labels_form():
    warehouse = current_warehouse()
    return render_template("labels/index.html", warehouse=warehouse, error=None, args={})


@bp.route("/labels/print", methods=["GET", "POST"])
@role_required("supervisor")
def labels_print():
    """A sheet to print (A4 or Letter) or ZPL for a Zebra printer. Plates are numbered when printed (POST)."""
    warehouse = current_warehouse()
    args = request.form if request.method == "POST" else request.args
    kind, paper, fmt = args.get("kind", "bins"), args.get("paper", "a4"), args.get("format", "sheet")
    if warehouse is None:
        return render_template("labels/index.html", warehouse=None, error=_("Choose a warehouse first."), args=args), 409
    if kind not in LABEL_KINDS or paper not in PAPER or fmt not in ("sheet", "zpl"):
        return render_template("labels/index.html", warehouse=warehouse, error=_("Choose what to print."), args=args), 422
    if kind == "plates" and request.method != "POST":
        return render_template("labels/index.html", warehouse=warehouse,
                               error=_("Licence plates are numbered when printed: use the Print button."),
                               args=args), 405
    try:
        chosen = _labels_for(kind, args, warehouse)
    except ValueError as exc:
        return render_template("labels/index.html", warehouse=warehouse, error=str(exc), args=args), 422
    if not chosen:
        return render_template("labels/index.html", warehouse=warehouse,
                               error=_("Nothing matches: no labels to print."), args=args), 404
    if fmt == "zpl":
        resp = Response(labels.zpl(chosen), mimetype="text/plain")
        resp.headers["Content-Disposition"] = f'attachment; filename="{kind}-{warehouse.code}.zpl"'
        return resp
    cells = [
        {"label": lb, "src": url_for("scan.barcode_png", s=lb.symbology, d=lb.data), "size": labels.png_size_mm(lb)}
        for lb in chosen
    ]
    resp = make_response(render_template("labels/sheet.html", cells=cells, paper=paper, paper_name=PAPER[paper],
                                         kind=kind, warehouse=warehouse))
    # Label sizes are millimetres computed per label, so this page alone allows style attributes; scripts stay files.
    resp.headers["Content-Security-Policy"] = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return resp


def _labels_for(kind: str, args, warehouse: Warehouse) -> list[labels.Label]:
    if kind == "bins":
        prefix = (args.get("prefix") or "").strip().upper()
        q = select(Bin).where(Bin.warehouse_id == warehouse.id).order_by(Bin.walk_order, Bin.code)
        if prefix:
            q = q.where(Bin.code.startswith(prefix, autoescape=True))
        return [labels.bin_label(b.code, warehouse.code) for b in db.session.execute(q.limit(MAX_LABELS)).scalars()]
    if kind == "commands":
        from .domain.packing import CARTONS

        return ([labels.command_label(commands.code(c), _(c.title), _(c.what)) for c in commands.COMMANDS]
                + [labels.command_label(f"CT-{c.code}", _(c.name), _("Packing: the parcel's carton"))
                   for c in CARTONS.values()])
    if kind == "items":
        match = (args.get("prefix") or "").strip()
        q = select(Item, Barcode).join(Barcode, Barcode.item_id == Item.id).order_by(Item.sku, Barcode.pack_qty)
        if match:
            q = q.where(Item.sku.startswith(match, autoescape=True) | (Barcode.code == match))
        return [labels.item_label(bc.code, it.sku, it.name + (f" · case of {bc.pack_qty}" if bc.pack_qty > 1 else ""))
                for it, bc in db.session.execute(q.limit(MAX_LABELS)).all()]
    count = args.get("count", "")
    try:
        count = d.parse_whole(count, "count", 1, 200)
    except d.InputError:
        raise ValueError(_("Print 1 to 200 licence plates at a time.")) from None
    # Through the unit of work, as every write: it takes the write lock first, so eight supervisors
    # printing at once queue for it instead of failing with "database is locked".
    with UnitOfWork() as uow:
        plates = [LicencePlate(code=f"tmp-{i}-{time.time_ns()}", warehouse_id=warehouse.id, created_by=current_user.id)
                  for i in range(count)]
        uow.session.add_all(plates)
        uow.session.flush()
        # The number is the row id, so two supervisors printing at once never share a plate.
        for plate in plates:
            plate.code = f"LP{plate.id:08d}"
        codes = [p.code for p in plates]
        uow.commit()
    return [labels.plate_label(code, warehouse.code) for code in codes]

