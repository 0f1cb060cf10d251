"""Supervisor screens for the documents behind the floor tasks: purchase orders, orders, exceptions."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .auth import current_warehouse, role_required
from .domain import channels as channel_rules
from .domain import order_files
from .domain import stock as d
from .extensions import db
from .floor import render
from .i18n import N_, _, said
from .models import Channel, FloorException, Job, Order, PurchaseOrder, Warehouse, utcnow
from .services import access, devices, jobs, outbox, purchasing, resolve
from .services import channel_stock
from .services import channels as channel_service
from .services import orders as order_service
from .services import tasks as task_service
from .services.uow import UnitOfWork
from .uploads import csv_text

bp = Blueprint("office", __name__, url_prefix="/office")

def _lines_from_text(text: str, with_lots: bool) -> list:
    """Lines typed one per row: `SKU QTY [LOT] [EXPIRY]`."""
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise d.InputError(f"Row {n}: write the SKU and the quantity, e.g. HB-M6X20 24")
        if with_lots:
            lines.append(purchasing.LineRequest(parts[0], parts[1], parts[2] if len(parts) > 2 else None,
                                                parts[3] if len(parts) > 3 else None))
        else:
            lines.append(order_service.OrderLineRequest(parts[0], parts[1]))
    return lines


# ------------------------------------------------------------ purchase orders


@bp.route("/purchase-orders", methods=["GET", "POST"])
@role_required("supervisor")
def purchase_orders():
    warehouse = current_warehouse()
    errors, status = [], 200
    if request.method == "POST":
        try:
            if request.form.get("import"):
                job_id = jobs.submit("purchase_orders_csv", csv_text(), current_user.id,
                                     warehouse.id if warehouse else None)
                return redirect(url_for("office.job", job_id=job_id), 303)
            else:
                req = purchasing.PurchaseOrderRequest(
                    number=request.form.get("number", ""), warehouse=warehouse.code if warehouse else None,
                    kind=request.form.get("kind", "po"), supplier=request.form.get("supplier", ""),
                    expected_on=request.form.get("expected_on") or None,
                    lines=_lines_from_text(request.form.get("lines", ""), with_lots=True),
                )
                po, created = purchasing.create_purchase_order(req)
                if not created:
                    errors = [f"{po['number']} exists already; nothing was changed."]
                else:
                    flash(_("%(number)s created with %(n)s line(s).", number=po['number'], n=len(po['lines'])))
        except d.InputError as e:
            errors = [said(e)]
        if not errors:
            return redirect(url_for("office.purchase_orders"), 303)
        status = 422
    pos = db.session.execute(
        select(PurchaseOrder).where(PurchaseOrder.warehouse_id == (warehouse.id if warehouse else -1))
        .order_by(PurchaseOrder.id.desc()).limit(100)
    ).scalars().all()
    return render_template("office/purchase-orders.html", warehouse=warehouse, pos=pos, errors=errors,
                           form=request.form), status


# ------------------------------------------------------------ orders


@bp.route("/orders", methods=["GET", "POST"])
@role_required("supervisor")
def orders():
    warehouse = current_warehouse()
    errors, status = [], 200
    if request.method == "POST":
        try:
            if request.form.get("channel_import"):
                channel = channel_service.get(db.session, request.form.get("channel"))
                fmt = request.form.get("format", "")
                if fmt not in order_files.FORMATS:
                    raise d.InputError.of(N_("Choose the file's format"))
                payload = json.dumps({"format": fmt, "channel": channel.code, "text": csv_text(any_text=True),
                                      "warehouse": warehouse.code if warehouse else ""})
                job_id = jobs.submit("channel_orders", payload, current_user.id, warehouse.id if warehouse else None)
                return redirect(url_for("office.job", job_id=job_id), 303)
            if request.form.get("import"):
                # A file of any size is a job: checked whole, placed off the request, progress on screen.
                job_id = jobs.submit("orders_csv", csv_text(), current_user.id, warehouse.id if warehouse else None)
                return redirect(url_for("office.job", job_id=job_id), 303)
            elif request.form.get("backorders"):
                units = order_service.reserve_backorders(warehouse.id, user_id=current_user.id, device="office")
                flash(_("Reserved %(n)s backordered unit(s).", n=units) if units else _("No stock for any backorder yet."))
            else:
                order, created = order_service.place_order(
                    request.form.get("channel", ""), request.form.get("external_id", ""),
                    warehouse.code if warehouse else None,
                    _lines_from_text(request.form.get("lines", ""), with_lots=False),
                    user_id=current_user.id, device="office", backorder=True,
                )
                if not created:
                    errors = [f"{order['channel']} {order['external_id']} exists already as {order['number']}."]
                else:
                    back = sum(ln["backordered"] for ln in order["lines"])
                    flash(_("%(number)s placed; %(n)s unit(s) backordered.", number=order['number'], n=back) if back
                          else _("%(number)s placed, all reserved.", number=order['number']))
        except d.InputError as e:
            errors = [said(e)]
        if not errors:
            return redirect(url_for("office.orders"), 303)
        status = 422
    rows = db.session.execute(
        select(Order).where(Order.warehouse_id == (warehouse.id if warehouse else -1))
        .order_by(Order.id.desc()).limit(200)
    ).scalars().all()
    return render_template("office/orders.html", warehouse=warehouse, orders=rows, errors=errors,
                           form=request.form, formats=order_files.FORMATS,
                           channels=db.session.execute(select(Channel).order_by(Channel.code)).scalars().all()), status


# ------------------------------------------------------------ jobs


@bp.get("/jobs/<int:job_id>")
@role_required("supervisor")
def job(job_id: int):
    """A job's progress; the page asks again every second (htmx) until the job has ended."""
    warehouse = current_warehouse()
    try:
        resolve.owned(db.session, Job, job_id, warehouse, "import")
    except d.DomainError:
        abort(404)
    return render("office/job.html", "office/partials/job-progress.html", warehouse=warehouse,
                  **jobs.view(db.session, job_id))


# ------------------------------------------------------------ exceptions


@bp.route("/exceptions", methods=["GET", "POST"])
@role_required("supervisor")
def exceptions():
    warehouse = current_warehouse()
    errors, status = [], 200
    if request.method == "POST":
        try:
            resolve_exception(warehouse, request.form.get("id", ""), request.form.get("resolution", ""))
            return redirect(url_for("office.exceptions"), 303)
        except d.DomainError as e:
            errors, status = [said(e)], 422
    before = None
    if request.args.get("before"):
        try:
            before = d.parse_id(request.args["before"], "before")
        except d.DomainError as e:
            errors, status = [said(e)], 422
    rows = task_service.open_exceptions(db.session, warehouse, limit=EXCEPTIONS_PAGE + 1, before=before) if warehouse else []
    more = len(rows) > EXCEPTIONS_PAGE
    rows = rows[:EXCEPTIONS_PAGE]
    total = task_service.count_open_exceptions(db.session, warehouse) if warehouse else 0
    return render_template("office/exceptions.html", warehouse=warehouse, rows=rows, errors=errors, total=total,
                           next_before=rows[-1].id if more else None, paged=before is not None), status


EXCEPTIONS_PAGE = 50


RESOLUTIONS = {
    "repick": "Pick again: the units stay reserved for the order",
    "backorder": "Release the reservation: the units wait as a backorder",
    "done": "Dealt with",
}


def resolve_exception(warehouse, exception_id: str, resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise d.InputError.of(N_("Choose how it was resolved"))
    with UnitOfWork() as uow:
        s = uow.session
        row = resolve.owned(s, FloorException, exception_id, warehouse, "exception", lock=True)
        if row.status != "open":
            raise d.InputError.of(N_("That exception is already resolved"))
        if resolution == "backorder":
            if row.kind != "short_pick" or row.order_id is None:
                raise d.InputError.of(N_("Only a short pick's reservation can be released"))
            order_service.release_short(s, row, current_user.id)
        row.status = "resolved"
        row.resolution = RESOLUTIONS[resolution]
        row.resolved_by = current_user.id
        row.resolved_at = utcnow()
        uow.commit()


# ------------------------------------------------------------ access (admin)


@bp.route("/access", methods=["GET", "POST"])
@role_required("admin")
def access_screen():
    """Who may come in: users (sign out everywhere, deactivate) and API tokens (make, revoke)."""
    errors, status, made, notice = [], 200, None, None
    form = request.form
    if request.method == "POST":
        db.session.rollback()
        try:
            action = form.get("action", "")
            if action == "sign-out":
                name = access.end_sessions(d.parse_id(form.get("user"), "user"))
                if name is None:
                    raise d.InputError.of(N_("No such user"))
                notice = _("%(name)s is signed out on every handheld.", name=name)
            elif action in ("deactivate", "activate"):
                name = access.set_active(d.parse_id(form.get("user"), "user"), action == "activate", current_user.id)
                notice = (_("%(name)s is deactivated and signed out everywhere.", name=name) if action == "deactivate"
                          else _("%(name)s is activated.", name=name))
            elif action == "save-user":
                name, created = access.save_user(form.get("username", ""), form.get("role", ""),
                                                 form.get("password") or None, form.get("badge") or None,
                                                 form.get("pin") or None, by_user_id=current_user.id)
                notice = _("%(name)s is created.", name=name) if created else _("%(name)s is saved.", name=name)
            elif action == "revoke":
                row = access.revoke(form.get("token", ""))
                notice = _("Token %(id)s of %(user)s is revoked: its next request is refused.", id=row['id'], user=row['user'])
            elif action == "make-token":
                days = d.parse_whole(form.get("days") or str(access.DEFAULT_DAYS), "Days valid", 1, access.MAX_DAYS)
                made, row = access.issue(form.get("username", ""), form.get("name", ""), form.get("channel"), days)
                notice = _("Token %(id)s made. Copy it now: it is not shown again.", id=row['id'])
            else:
                raise d.InputError.of(N_("Choose what to do"))
        except d.DomainError as e:
            errors, status = [said(e)], 422
    response = render_template("office/access.html", users=access.users(db.session), tokens=access.tokens(db.session),
                               errors=errors, made=made, notice=notice, form=form, default_days=access.DEFAULT_DAYS)
    if made:
        return response, status, {"Cache-Control": "no-store"}
    return response, status


# ------------------------------------------------------------ handhelds (supervisor)


@bp.route("/devices", methods=["GET", "POST"])
@role_required("supervisor")
def devices_screen():
    """Named handhelds: register one (a code to scan on it), retire a lost or broken one."""
    import base64

    from scanners import labels

    errors, status, notice, code, image = [], 200, None, None, None
    form = request.form
    if request.method == "POST":
        db.session.rollback()
        try:
            action = form.get("action", "")
            if action == "register":
                name, code = devices.register(form.get("name", ""), current_user.id)
                image = "data:image/png;base64," + base64.b64encode(
                    labels.png(labels.Label("device", "code128", code, name))).decode()
                notice = _("Scan this code on the sign-in screen of %(name)s within %(n)s minutes. It works once.",
                           name=name, n=devices.REGISTRATION_MINUTES)
            elif action == "retire":
                name = devices.retire(d.parse_id(form.get("device"), "handheld"), current_user.id)
                notice = _("%(name)s is retired: its scans are refused from now on.", name=name)
            else:
                raise d.InputError.of(N_("Choose what to do"))
        except d.DomainError as e:
            errors, status = [said(e)], 422
    response = render_template("office/devices.html", devices=devices.listing(db.session), errors=errors,
                               notice=notice, code=code, image=image, form=form)
    if code:
        return response, status, {"Cache-Control": "no-store"}
    return response, status


# ------------------------------------------------------------ sales channels (admin)


@bp.route("/channels", methods=["GET", "POST"])
@role_required("admin")
def channels_screen():
    """The sales channels: what each sells from, where its webhook is, how its deliveries stand."""
    errors, status, form = [], 200, request.form
    if request.method == "POST":
        db.session.rollback()
        try:
            with UnitOfWork() as uow:
                channel, secret = channel_service.save(
                    uow.session, form.get("code"), form.get("name", ""), form.get("kind", "own"),
                    form.get("webhook_url", ""), form.getlist("warehouse"))
                code = channel.code
                uow.commit()
            outbox.wake()
            if not secret:
                return redirect(url_for("office.channel_screen", code=code))
            return _channel_page(code, {}, [], 200, _("Channel %(code)s is made.", code=code), secret)
        except d.DomainError as e:
            errors, status = [said(e)], 422
    return render_template("office/channels.html", channels=channel_service.overview(db.session),
                           warehouses=db.session.execute(select(Warehouse).order_by(Warehouse.code)).scalars().all(),
                           kinds=channel_rules.KIND_NAMES, errors=errors, form=form), status


CHANNEL_ACTIONS = ("save", "rule", "drop-rule", "sku", "secret", "resend", "resync", "inventory")


@bp.route("/channels/<code>", methods=["GET", "POST"])
@role_required("admin")
def channel_screen(code: str):
    """One channel: its settings, what it publishes and by which rules, its SKUs, its delivery log."""
    errors, status, form, notice, secret = [], 200, request.form, None, None
    try:
        channel_service.get(db.session, code)
    except channel_service.NoSuchChannel:
        abort(404)
    if request.method == "POST":
        db.session.rollback()
        action = form.get("action", "")
        try:
            with UnitOfWork() as uow:
                s = uow.session
                channel = channel_service.get(s, code)
                if action == "save":
                    channel_stock.run(s, channel, form.getlist("runs"))
                    channel_service.save(s, channel.code, form.get("name", ""), form.get("kind", "own"),
                                         form.get("webhook_url", ""), form.getlist("warehouse"),
                                         active=form.get("active") == "1")
                    notice = _("Channel %(code)s is saved.", code=channel.code)
                elif action == "inventory":
                    done = channel_stock.import_report(s, channel, form.get("warehouse", ""), csv_text(any_text=True),
                                                       user_id=current_user.id)
                    notice = _("Inventory report imported: %(items)s items; %(transit)s units received off transfers, "
                               "%(sold)s sold by the channel, %(found)s found.", items=done["items"],
                               transit=done["from_transit"], sold=done["sold"], found=done["found"])
                elif action == "rule":
                    channel_service.set_rule(s, channel, form.get("sku") or None, form.get("share_pct"),
                                             form.get("buffer"), form.get("cap"))
                    notice = _("The rule is saved; the channel is told what it publishes now.")
                elif action == "drop-rule":
                    channel_service.drop_rule(s, channel, d.parse_id(form.get("rule"), "rule"))
                    notice = _("The rule is removed.")
                elif action == "sku":
                    channel_service.map_sku(s, channel, form.get("channel_sku"), form.get("sku"))
                    notice = _("The SKU mapping is saved.")
                elif action == "secret":
                    secret = channel_service.renew_secret(s, channel)
                    notice = _("A new webhook secret: the old one signs nothing from now on.")
                elif action == "resend":
                    outbox.resend(s, d.parse_id(form.get("event"), "delivery"))
                    notice = _("It is sent again, with the same idempotency key.")
                elif action == "resync":
                    channel_service.resync(s, channel)
                    notice = _("Every item's availability is sent again.")
                else:
                    raise d.InputError.of(N_("Choose what to do"))
                uow.commit()
            outbox.wake()
        except d.DomainError as e:
            errors, status = [said(e)], 422
    return _channel_page(code, form, errors, status, notice, secret)


def _channel_page(code, form, errors, status, notice, secret):
    """The channel's screen; a secret just made is shown once, on a page no cache keeps."""
    db.session.expire_all()
    channel = channel_service.get(db.session, code)
    response = render_template("office/channel.html", **channel_service.detail(db.session, channel),
                               log=outbox.log(db.session, channel), kinds=channel_rules.KIND_NAMES,
                               errors=errors, form=form, notice=notice, secret=secret)
    if secret:
        return response, status, {"Cache-Control": "no-store"}
    return response, status
