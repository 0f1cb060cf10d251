"""Damage tagging: scan the bin, scan the damaged item, with a reason.

Sellable units become unsellable (S-q, U+q), in place or moved to the
quarantine bin. Never refused for want of sellable stock: when the units
were reserved, the newest reservations are released, their orders flagged
short, and an exception tells the supervisor.
"""

from __future__ import annotations

import secrets

from ..domain import tasks as rules
from ..i18n import N_, _
from ..models import Order, Photo, Task, TaskLine
from . import resolve, tasks
from .stock import bin_of_type
from .uow import UnitOfWork


def on_scan(ctx: tasks.Ctx):
    inp, state = ctx.inp, ctx.state()
    if inp.action == "reason":
        label = rules.reason(rules.DAMAGE_REASONS, inp.value)
        ctx.set_state(reason=inp.value)
        return _("Reason: %(label)s", label=_(label))
    if inp.action == "quarantine":
        on = not state.get("quarantine")
        ctx.set_state(quarantine=on or None)
        return _("Damaged units go to quarantine") if on else _("Damaged units stay in their bin")
    if inp.action == "close":
        tasks.close(ctx)
        return _("Damage tagging finished.")
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    found = resolve.find_bin(ctx.session, ctx.warehouse, scan)
    if found is not None:
        ctx.set_state(bin=found.code)
        return _("Bin %(found)s: scan the damaged item", found=found.code)
    hit = resolve.require_item(ctx.session, scan, "bin", "item", warehouse=ctx.warehouse)
    if not state.get("bin"):
        raise tasks.TaskError(_("Scan the bin first — that was %(item)s.", item=hit.item.name))
    return _tag(ctx, hit, state)


def _tag(ctx, hit, state):
    qty = ctx.units(hit)
    label = rules.DAMAGE_REASONS[state.get("reason", "broken")]
    to_bin = bin_of_type(ctx.session, ctx.warehouse, "quarantine").code if state.get("quarantine") else None
    result = ctx.move("damage", hit.item, qty, from_bin=state["bin"], to_bin=to_bin, lot=hit.lot,
                      reason=f"damage: {label}")
    task = ctx.task
    ctx.session.add(TaskLine(task_id=task.id, seq=len(task.lines) + 1, item_id=hit.item.id,
                             lot=result.movement["lot"] or "", expected=qty, damaged=qty, status="done"))
    where = f" → {to_bin}" if to_bin else " " + _("(stays in the bin)")
    message = _("Damaged %(qty)s × %(item)s (%(reason)s) in %(bin)s", qty=qty, item=hit.item.name, reason=_(label),
                bin=state["bin"]) + where
    if result.flagged_orders:
        numbers = ", ".join(ctx.session.get(Order, oid).number for oid in sorted(set(result.flagged_orders)))
        ctx.exception(
            "reservation_released",
            f"Damage of {qty} × {hit.item.sku} in {state['bin']} released reservations of {numbers}",
            item_id=hit.item.id, qty=qty, order_id=result.flagged_orders[0],
        )
        return "warn", message + ". " + _("Reserved stock: %(orders)s now short.", orders=numbers)
    return message


# --------------------------------------------------------------------------
# A photo of the damage
# --------------------------------------------------------------------------

PHOTO_MAX_SIDE = 1280


def attach_photo(task_id: int, user_id: int, data: bytes) -> str:
    """Keep a photo of the task's last tagged damage: checked to be an image, shrunk, stored as JPEG in
    the database (models.Photo), in the transaction that names it on the line.

    The picture is decoded and shrunk before any transaction opens: a 36-megapixel photo takes a good
    part of a second to decode, and another handheld's scan must not wait that long for the database.
    """
    import cv2

    from scanners.decoder import ImageError, imdecode

    with UnitOfWork(write=False) as uow:  # read only: who may add it, and to which line
        line_id = _photo_line(uow.session, task_id, user_id)
    if not data:
        raise tasks.TaskError(_("Take or choose a photo first."))
    try:
        image = imdecode(data, color=True, longest=PHOTO_MAX_SIDE)
    except ImageError as e:
        raise tasks.TaskError(_("That photo cannot be used: %(why)s.", why=str(e))) from None
    h, w = image.shape[:2]
    scale = PHOTO_MAX_SIDE / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise tasks.TaskError(_("That photo could not be stored."))
    name = f"damage-{line_id}-{secrets.token_hex(4)}.jpg"
    with UnitOfWork() as uow:
        s = uow.session
        s.get(Task, task_id, with_for_update=True)
        if _photo_line(s, task_id, user_id) != line_id:
            raise tasks.TaskError(_("The damage tag changed while the photo was sent; add it again."))
        s.add(Photo(name=name, content_type="image/jpeg", data=jpeg.tobytes(), created_by=user_id))
        s.get(TaskLine, line_id).photo = name
        uow.commit()
    return name


def photo(session, name: str) -> Photo | None:
    return session.get(Photo, name)


def _photo_line(s, task_id: int, user_id: int) -> int:
    task = s.get(Task, task_id)
    if task is None or task.kind != "damage":
        raise tasks.TaskError(_("Photos belong to a damage tag."))
    if task.created_by != user_id:
        raise tasks.TaskError(_("Only whoever tagged the damage adds its photo."))
    line = task.lines[-1] if task.lines else None
    if line is None:
        raise tasks.TaskError(_("Tag the damaged item first, then add its photo."))
    return line.id


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def step(task: Task) -> str:
    state = task.state or {}
    return _("Bin %(bin)s: scan the damaged item", bin=state["bin"]) if state.get("bin") else _("Scan the bin")


DAMAGE = tasks.TaskKind("damage", N_("Damage tagging"), on_scan, step,
                        panel=lambda s, task: {"reasons": rules.DAMAGE_REASONS}, own=True)
