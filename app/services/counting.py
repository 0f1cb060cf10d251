"""Cycle counts: sessions a supervisor creates, bins operators count by scan,
recounts by another operator, approval, count-adjust movements and KPIs.

Counting a bin: scan the bin (that claims it, and notes what the record
says is in it), scan what is in it (each scan counts what the barcode stands
for, or the quantity typed), tap "Bin counted". Each item's count is then
compared with the bin's quantity at that moment, which is its quantity when
the count started plus every movement since (app.domain.counting.expected_qty),
so a pick from the bin during its count is neither lost nor counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import object_session

from ..domain import counting as rules
from ..domain.stock import InputError
from ..i18n import N_, _, ngettext
from ..models import (
    Bin,
    BinStock,
    CountBin,
    CountLine,
    CountSession,
    Item,
    Lot,
    Task,
    User,
    Warehouse,
    utcnow,
)
from . import ledger_days, resolve, tasks
from .stock import MovementCommand, apply_in

DEFAULTS = {"threshold_qty": 2, "threshold_value": "25.00", "blind": True, "frequency": rules.DEFAULT_FREQUENCY}
ABC_DAYS = 90


def settings_for(warehouse: Warehouse) -> dict:
    saved = warehouse.count_settings or {}
    return {**DEFAULTS, **saved, "frequency": {**rules.DEFAULT_FREQUENCY, **(saved.get("frequency") or {})}}


def save_settings(session, warehouse: Warehouse, form) -> dict:
    limits = rules.Thresholds.parse(form.get("threshold_qty", ""), form.get("threshold_value", ""))
    frequency = rules.parse_frequency({c: form.get(f"frequency_{c}", "") for c in "ABC"})
    warehouse.count_settings = {
        "threshold_qty": limits.qty,
        "threshold_value": str(limits.value),
        "blind": bool(form.get("blind")),
        "frequency": frequency,
    }
    return warehouse.count_settings


def thresholds(cs: CountSession) -> rules.Thresholds:
    return rules.Thresholds(cs.threshold_qty, Decimal(cs.threshold_value or 0))


# --------------------------------------------------------------------------
# ABC classes and what is due
# --------------------------------------------------------------------------


def abc_classes(session, warehouse: Warehouse, today: date | None = None) -> dict[int, str]:
    """ABC class of every item stocked or demanded here, by the value of the last 90 days' demand.

    Demand is what orders reserved and transfers allocated: the units the
    warehouse was asked to send, whether or not it could.
    """
    today = today or date.today()
    demand = {item: asked for item, (asked,) in ledger_days.per_item(
        session, warehouse.id, today - timedelta(days=ABC_DAYS), ("asked",), today).items() if asked}
    stocked = set(
        session.execute(
            select(BinStock.item_id).join(Bin, Bin.id == BinStock.bin_id)
            .where(Bin.warehouse_id == warehouse.id, BinStock.qty > 0).distinct()
        ).scalars()
    )
    ids = stocked | set(demand)
    costs = dict(session.execute(select(Item.id, Item.unit_cost).where(Item.id.in_(ids))).all()) if ids else {}
    return rules.classify(rules.Usage(i, int(demand.get(i, 0)), costs.get(i)) for i in ids)


def last_counted(session, warehouse: Warehouse) -> dict[int, date]:
    rows = session.execute(
        select(CountLine.item_id, func.max(CountBin.counted_at))
        .join(CountBin, CountBin.id == CountLine.count_bin_id)
        .join(CountSession, CountSession.id == CountBin.session_id)
        .where(CountSession.warehouse_id == warehouse.id, CountBin.counted_at.is_not(None))
        .group_by(CountLine.item_id)
    ).all()
    return {item_id: (when.date() if isinstance(when, datetime) else when) for item_id, when in rows if when}


def due_items(session, warehouse: Warehouse, today: date | None = None) -> tuple[list[int], dict[int, str]]:
    today = today or date.today()
    classes = abc_classes(session, warehouse, today)
    return rules.due(classes, last_counted(session, warehouse), today, settings_for(warehouse)["frequency"]), classes


# --------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------


def _storage_bins_holding(session, warehouse: Warehouse, item_ids) -> list[Bin]:
    if not item_ids:
        return []
    return list(
        session.execute(
            select(Bin).where(
                Bin.warehouse_id == warehouse.id, Bin.type == "storage",
                Bin.id.in_(select(BinStock.bin_id).where(BinStock.item_id.in_(list(item_ids)), BinStock.qty > 0)),
            ).order_by(Bin.walk_order, Bin.code)
        ).scalars()
    )


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace(",", " ").replace(";", " ").split() if w.strip()][:500]


def bins_for(session, warehouse: Warehouse, mode: str, value: str, today: date | None = None) -> tuple[list[Bin], str]:
    """The bins a new session counts, and the scope in words."""
    value = (value or "").strip()[:4000]
    if mode == "bins":
        codes = _words(value)
        if not codes:
            raise InputError.of(N_("List the bins to count, e.g. A-01-1 A-01-2"))
        found = list(session.execute(
            select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.code.in_(codes)).order_by(Bin.walk_order, Bin.code)
        ).scalars())
        unknown = sorted(set(codes) - {b.code for b in found})
        if unknown:
            raise InputError.of(N_("No such bin here: %(bins)s"), bins=", ".join(unknown[:5]))
        return found, f"Bins {', '.join(codes[:6])}{' …' if len(codes) > 6 else ''}"
    if mode == "zone":
        zone = value.upper().rstrip("-")
        if not zone or len(zone) > 8:
            raise InputError.of(N_("Name the zone: the start of its bin codes, e.g. A or B-03"))
        found = list(session.execute(
            select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.type == "storage", Bin.code.startswith(zone + "-"))
            .order_by(Bin.walk_order, Bin.code)
        ).scalars())
        if not found:
            raise InputError.of(N_("No storage bins in zone %(zone)s"), zone=zone)
        return found, f"Zone {zone}"
    if mode == "items":
        skus = _words(value)
        if not skus:
            raise InputError.of(N_("List the SKUs to count"))
        items = list(session.execute(select(Item).where(Item.sku.in_(skus))).scalars())
        unknown = sorted(set(skus) - {i.sku for i in items})
        if unknown:
            raise InputError.of(N_("No such item: %(skus)s"), skus=", ".join(unknown[:5]))
        found = _storage_bins_holding(session, warehouse, {i.id for i in items})
        if not found:
            raise InputError.of(N_("None of those items is in a storage bin here"))
        return found, f"Items {', '.join(skus[:6])}{' …' if len(skus) > 6 else ''}"
    if mode == "due":
        items, classes = due_items(session, warehouse, today)
        found = _storage_bins_holding(session, warehouse, items)
        if not found:
            raise InputError.of(N_("Nothing is due for a count today"))
        n = {c: sum(1 for i in items if classes.get(i) == c) for c in "ABC"}
        limit = int(value) if value.isdigit() and 0 < int(value) <= 500 else 40
        # A items first, so a short session still counts what matters most.
        rank = {"A": 0, "B": 1, "C": 2}
        first = {}
        for i in items:
            for b in _storage_bins_holding(session, warehouse, [i]):
                first.setdefault(b.id, (rank[classes[i]], b))
        chosen = [b for _, b in sorted(first.values(), key=lambda x: (x[0], x[1].walk_order))][:limit]
        chosen.sort(key=lambda b: (b.walk_order, b.code))
        return chosen, f"Due today (A {n['A']}, B {n['B']}, C {n['C']} items)"
    if mode == "flagged":
        found = list(session.execute(
            select(Bin).where(Bin.warehouse_id == warehouse.id, Bin.count_requested_at.is_not(None))
            .order_by(Bin.walk_order, Bin.code)
        ).scalars())
        if not found:
            raise InputError.of(N_("No bin is waiting for a count"))
        return found, "Bins flagged by pickers"
    raise InputError.of(N_("Choose what to count: bins, a zone, items, what is due, or flagged bins"))


def create_session(session, warehouse: Warehouse, user: User, mode: str, value: str, *, blind=None,
                   threshold_qty=None, threshold_value=None) -> tuple[CountSession, list[str]]:
    chosen, scope = bins_for(session, warehouse, mode, value)
    busy = set(session.execute(
        select(CountBin.bin_id).join(CountSession)
        .where(CountSession.warehouse_id == warehouse.id, CountSession.status == "open", CountBin.status != "done")
    ).scalars())
    skipped = [b.code for b in chosen if b.id in busy]
    chosen = [b for b in chosen if b.id not in busy]
    if not chosen:
        raise InputError.of(N_("Every one of those bins is already in an open count (%(bins)s)"), bins=", ".join(skipped[:5]))
    conf = settings_for(warehouse)
    limits = rules.Thresholds.parse(
        conf["threshold_qty"] if threshold_qty in (None, "") else threshold_qty,
        conf["threshold_value"] if threshold_value in (None, "") else threshold_value,
    )
    cs = CountSession(warehouse_id=warehouse.id, scope=scope[:200], blind=conf["blind"] if blind is None else bool(blind),
                      threshold_qty=limits.qty, threshold_value=limits.value, created_by=user.id)
    session.add(cs)
    session.flush()
    for b in chosen:
        session.add(CountBin(session_id=cs.id, bin_id=b.id, walk_order=b.walk_order))
    session.flush()
    return cs, skipped


def open_sessions(session, warehouse: Warehouse) -> list[CountSession]:
    return list(session.execute(
        select(CountSession).where(CountSession.warehouse_id == warehouse.id, CountSession.status == "open")
        .order_by(CountSession.id)
    ).scalars())


def start_task(session, warehouse: Warehouse, user: User, cs: CountSession) -> Task:
    if cs is None or cs.warehouse_id != warehouse.id:
        raise tasks.TaskError(_("No such count here."))
    if cs.status != "open":
        raise tasks.TaskError(_("%(cs)s is closed.", cs=cs.number))
    mine = session.execute(
        select(Task).where(Task.kind == "count", Task.status == "open", Task.count_session_id == cs.id,
                           Task.created_by == user.id)
    ).scalars().first()
    return mine or tasks.create(session, "count", warehouse, user, count_session_id=cs.id, note=cs.number)


# --------------------------------------------------------------------------
# Counting by scan
# --------------------------------------------------------------------------


def _sellable_by_item(session, bin_id: int) -> dict[int, int]:
    return dict(session.execute(
        select(BinStock.item_id, func.sum(BinStock.qty))
        .where(BinStock.bin_id == bin_id, BinStock.condition == "sellable")
        .group_by(BinStock.item_id)
    ).all())


def held(session, bin_id: int, item_id: int) -> int:
    return int(session.execute(
        select(func.coalesce(func.sum(BinStock.qty), 0))
        .where(BinStock.bin_id == bin_id, BinStock.item_id == item_id, BinStock.condition == "sellable")
    ).scalar_one())


def current_bin(ctx) -> CountBin | None:
    cb_id = ctx.state().get("count_bin")
    return ctx.session.get(CountBin, cb_id) if cb_id else None


def on_scan(ctx: tasks.Ctx):
    inp, task = ctx.inp, ctx.task
    cs = task.count_session
    if cs.status != "open":
        raise tasks.TaskError(_("%(cs)s was closed by the supervisor.", cs=cs.number))
    cb = current_bin(ctx)
    if inp.action == "close":
        if cb is None:
            raise tasks.TaskError(_("Scan a bin first."))
        return _close_bin(ctx, cs, cb)
    if inp.action == "finish":
        if cb is not None:
            raise tasks.TaskError(_("Close bin %(bin)s first: tap Bin counted.", bin=cb.bin.code))
        tasks.close(ctx)
        return _("Counting finished. Thank you.")
    if inp.action:
        raise tasks.TaskError(_("Unknown action %(action)r", action=inp.action[:20]))
    scan = ctx.parse()
    found = resolve.find_bin(ctx.session, ctx.warehouse, scan)
    if found is not None:
        if cb is not None and cb.bin_id != found.id:
            raise tasks.TaskError(_("Finish bin %(bin)s first: tap Bin counted — that was %(found)s.", bin=cb.bin.code, found=found.code))
        if cb is not None:
            return _("Still counting %(found)s: scan what is in it", found=found.code)
        return _claim(ctx, cs, found)
    hit = resolve.require_item(ctx.session, scan, "bin", "item", warehouse=ctx.warehouse)
    if cb is None:
        raise tasks.TaskError(_("Scan the bin first — that was %(item)s.", item=hit.item.name))
    return _count(ctx, cb, hit)


def _claim(ctx, cs: CountSession, b: Bin) -> str:
    s, me = ctx.session, ctx.inp.user_id
    cb = s.execute(select(CountBin).where(CountBin.session_id == cs.id, CountBin.bin_id == b.id)).scalar_one_or_none()
    if cb is None:
        raise tasks.TaskError(_("Bin %(b)s is not in %(cs)s.", b=b.code, cs=cs.number))
    now = utcnow()
    # Claimed with a guarded update: two counters scanning one bin cannot both get it.
    if cb.status == "pending":
        won = s.execute(
            update(CountBin).where(CountBin.id == cb.id, CountBin.status == "pending")
            .values(status="counting", counter_id=me, started_at=now)
        ).rowcount
        s.refresh(cb)
        if won:
            for item_id, qty in _sellable_by_item(s, b.id).items():
                if qty:
                    s.add(CountLine(count_bin_id=cb.id, item_id=item_id, at_start=qty, counted=0, adjusted=0,
                                    unit_cost=s.get(Item, item_id).unit_cost))
            ctx.set_state(count_bin=cb.id)
            return _("Counting %(b)s: scan every item in it, then tap Bin counted", b=b.code)
    if cb.status == "recount":
        if cb.counter_id == me:
            raise tasks.TaskError(_("Bin %(b)s needs a recount by someone else: you counted it first.", b=b.code))
        won = s.execute(
            update(CountBin).where(CountBin.id == cb.id, CountBin.status == "recount")
            .values(status="recounting", recounter_id=me, recount_started_at=now)
        ).rowcount
        s.refresh(cb)
        if won:
            names = []
            for line in cb.lines:
                if line.status == "recount":
                    line.recount_at_start = held(s, b.id, line.item_id)
                    line.recounted = 0
                    names.append(line.item.name)
            ctx.set_state(count_bin=cb.id)
            if cs.blind:
                # Blind: the recounter counts the whole bin and learns neither which items differ nor how many.
                return _("Recount %(b)s: scan every item in it, then tap Bin counted", b=b.code)
            return _("Recount %(b)s: scan every %(items)s in it, then tap Bin counted", b=b.code,
                     items=", ".join(names))
    if cb.status == "counting" and cb.counter_id == me or cb.status == "recounting" and cb.recounter_id == me:
        ctx.set_state(count_bin=cb.id)
        return _("Back at %(b)s: go on counting", b=b.code)
    if cb.status in ("counting", "recounting"):
        who = cb.counter if cb.status == "counting" else cb.recounter
        raise tasks.TaskError(_("Bin %(b)s is being counted by %(username)s.", b=b.code, username=who.username))
    if cb.status == "recount":
        raise tasks.TaskError(_("Bin %(b)s needs a recount by someone else.", b=b.code))
    raise tasks.TaskError(_("Bin %(b)s is already counted.", b=b.code))


def _count(ctx, cb: CountBin, hit) -> str:
    s = ctx.session
    qty = ctx.units(hit)
    line = next((ln for ln in cb.lines if ln.item_id == hit.item.id), None)
    if cb.status == "recounting":
        if line is None or line.status != "recount":
            if cb.session.blind:
                # Not under recount, but a blind recount must not say which items are.
                return _("%(item)s: counted", item=hit.item.name)
            wanted = ", ".join(ln.item.name for ln in cb.lines if ln.status == "recount")
            raise tasks.TaskError(_("Only %(wanted)s needs a recount here — that was %(item)s.", wanted=wanted, item=hit.item.name))
        line.recounted = (line.recounted or 0) + qty
        return _("%(item)s: %(n)s counted", item=hit.item.name, n=line.recounted)
    if line is None:
        # Found stock the record does not have here: its record at the start was 0.
        line = CountLine(count_bin_id=cb.id, item_id=hit.item.id, at_start=0, counted=0, adjusted=0,
                         unit_cost=hit.item.unit_cost)
        s.add(line)
        cb.lines.append(line)
    if line.held_first is None:
        line.held_first = held(s, cb.bin_id, hit.item.id)
        line.counted = 0
    line.counted += qty
    if hit.lot:
        line.found_lot = hit.lot[:40]
    return _("%(item)s: %(n)s counted", item=hit.item.name, n=line.counted)


def _close_bin(ctx, cs: CountSession, cb: CountBin) -> str:
    s = ctx.session
    limits = thresholds(cs)
    now = utcnow()
    recounts, adjusted = [], 0
    if cb.status == "counting":
        for line in cb.lines:
            line.expected = held(s, cb.bin_id, line.item_id)
            line.moved_while_counting = line.held_first is not None and line.held_first != line.expected
            variance = line.counted - line.expected
            line.status = rules.settle(variance, line.unit_cost, limits, round_=1,
                                       moved_while_counting=line.moved_while_counting)
            if line.status == "accepted":
                adjusted += abs(post_adjustment(ctx, cs, cb, line, variance, "count within tolerance"))
            elif line.status == "recount":
                recounts.append(line.item.name)
        cb.counted_at = now
        cb.status = "recount" if recounts else "done"
    elif cb.status == "recounting":
        review = []
        for line in cb.lines:
            if line.status != "recount":
                continue
            line.recount_expected = held(s, cb.bin_id, line.item_id)
            line.status = rules.settle(line.recounted - line.recount_expected, line.unit_cost, limits, round_=2,
                                       moved_while_counting=False)
            if line.status == "review":
                review.append(line.item.name)
        cb.recounted_at = now
        cb.status = "done"
        s.flush()
        maybe_close(s, cs)
        ctx.set_state(count_bin=None)
        left = _next_bin(s, cs, ctx.inp.user_id)
        if cs.status == "closed":
            left = " " + _("%(number)s is complete.", number=cs.number)
        if review:
            return "warn", _("Recount of %(bin)s done: %(items)s still differs and goes to the supervisor.",
                             bin=cb.bin.code, items=", ".join(review)) + left
        return _("Recount of %(bin)s done: it matches.", bin=cb.bin.code) + left
    else:
        raise tasks.TaskError(_("Bin %(bin)s is not being counted.", bin=cb.bin.code))
    s.flush()
    maybe_close(s, cs)
    ctx.set_state(count_bin=None)
    left = _next_bin(s, cs, ctx.inp.user_id)
    if recounts:
        if cs.blind:
            # Blind: how many lines differ, never which items (nor one the counter did not scan).
            return "warn", ngettext("Bin %(bin)s counted. %(num)s line differs — another operator will recount.",
                                    "Bin %(bin)s counted. %(num)s lines differ — another operator will recount.",
                                    len(recounts), bin=cb.bin.code) + left
        return "warn", _("Bin %(bin)s counted. %(items)s differs: another operator will recount it.", bin=cb.bin.code,
                         items=", ".join(recounts)) + left
    extra = " " + _("%(n)s units adjusted within tolerance.", n=adjusted) if adjusted else ""
    if cs.status == "closed":
        return _("Bin %(bin)s counted.", bin=cb.bin.code) + extra + " " + _("%(number)s is complete.", number=cs.number)
    return _("Bin %(bin)s counted.", bin=cb.bin.code) + extra + left


def _next_bin(s, cs: CountSession, user_id: int) -> str:
    nxt = next_bin_for(s, cs, user_id)
    return " " + (_("Next: bin %(bin)s.", bin=nxt.bin.code) if nxt else _("No bins left for you in this count."))


def next_bin_for(s, cs: CountSession, user_id: int) -> CountBin | None:
    for cb in cs.bins:
        if cb.status == "pending" or cb.status == "recount" and cb.counter_id != user_id:
            return cb
    return None


def post_adjustment(ctx_or_session, cs: CountSession, cb: CountBin, line: CountLine, variance: int, why: str) -> int:
    """Count-adjust movements for a variance, lot by lot; returns the units adjusted."""
    if variance == 0:
        return 0
    session = getattr(ctx_or_session, "session", ctx_or_session)
    lots = session.execute(
        select(BinStock.lot, BinStock.qty, Lot.expiry)
        .outerjoin(Lot, (Lot.item_id == BinStock.item_id) & (Lot.number == BinStock.lot))
        .where(BinStock.bin_id == cb.bin_id, BinStock.item_id == line.item_id, BinStock.condition == "sellable",
               BinStock.qty > 0)
    ).all()
    try:
        parts = rules.split_adjustment([(lot, q, exp) for lot, q, exp in lots], variance, line.found_lot if variance > 0 else None)
    except InputError:
        raise tasks.TaskError(
            f"Bin {cb.bin.code} now holds fewer {line.item.sku} than the count found missing: count it again."
        ) from None
    reason = f"{cs.number} {why}"
    for lot, change in parts:
        kw = {"to_bin": cb.bin.code, "lot": lot, "adjust_by": change, "doc_type": "count", "doc_id": cs.id, "reason": reason}
        if hasattr(ctx_or_session, "move"):
            ctx_or_session.move("adjust", line.item, 0, **kw)
        else:
            apply_in(session, MovementCommand(warehouse=cs.warehouse.code, kind="adjust", sku=line.item.sku, qty=0,
                                              user_id=line.decided_by, **kw))
    line.adjusted += variance
    if cb.bin.count_requested_at is not None:
        cb.bin.count_requested_at = None
        cb.bin.count_reason = None
    return variance


# --------------------------------------------------------------------------
# Supervisor decisions
# --------------------------------------------------------------------------


def decide(session, line_id: int, user: User, approve: bool) -> CountLine:
    """Approve (post the count-adjust) or reject (keep the record) one variance, exactly once."""
    line = session.get(CountLine, line_id)
    if line is None:
        raise InputError.of(N_("No such count line"))
    won = session.execute(
        update(CountLine).where(CountLine.id == line_id, CountLine.status == "review")
        .values(status="approved" if approve else "rejected", decided_by=user.id, decided_at=utcnow())
    ).rowcount
    if not won:
        raise InputError(f"That variance was already {rules.LINE_STATES.get(line.status, line.status).lower()}")
    session.refresh(line)
    cb = line.count_bin
    cs = cb.session
    if approve:
        post_adjustment(session, cs, cb, line, line.variance, f"approved by {user.username}")
    maybe_close(session, cs)
    return line


def maybe_close(session, cs: CountSession) -> bool:
    if cs.status != "open":
        return False
    if all(cb.status == "done" for cb in cs.bins) and not any(
        ln.status in ("review", "recount") for cb in cs.bins for ln in cb.lines
    ):
        close_session(session, cs)
        return True
    return False


def close_session(session, cs: CountSession) -> None:
    """Close a session: bins nobody started are dropped; counts in progress must be finished first."""
    busy = [cb.bin.code for cb in cs.bins if cb.status in ("counting", "recounting")]
    if busy:
        raise InputError.of(N_("Bins still being counted: %(bins)s"), bins=", ".join(busy[:5]))
    waiting = sum(1 for cb in cs.bins for ln in cb.lines if ln.status == "review")
    if waiting:
        raise InputError.of(N_("%(n)s variance(s) wait for approval"), n=waiting)
    for cb in cs.bins:
        if cb.status == "recount":
            # No one recounted it: the first count stands as a variance to decide.
            for ln in cb.lines:
                if ln.status == "recount":
                    ln.status = "review"
            cb.status = "done"
    if any(ln.status == "review" for cb in cs.bins for ln in cb.lines):
        raise InputError.of(N_("Recounts were not done: their first counts now wait for approval"))
    cs.status = "closed"
    cs.closed_at = utcnow()
    for t in session.execute(select(Task).where(Task.count_session_id == cs.id, Task.status == "open")).scalars():
        t.status = "closed"
        t.closed_at = utcnow()


# --------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------


def kpi_line(line: CountLine) -> rules.CountedLine | None:
    """A settled line as the KPIs see it; a rejected variance keeps the record (counted = system)."""
    if line.status not in rules.FINAL_STATES or line.system is None:
        return None
    counted = line.system if line.status == "rejected" else line.final_count
    return rules.CountedLine(line.system, counted)


def session_lines(cs: CountSession) -> list[CountLine]:
    return [ln for cb in cs.bins for ln in cb.lines if ln.status in rules.FINAL_STATES]


def session_kpis(cs: CountSession) -> rules.Kpis:
    return rules.kpis([kpi_line(ln) for ln in session_lines(cs)], tolerance=cs.threshold_qty)


def trend(session, warehouse: Warehouse, limit: int = 20) -> list[tuple[CountSession, rules.Kpis]]:
    """KPIs of the warehouse's last sessions that settled any line, oldest first."""
    rows = list(session.execute(
        select(CountSession).where(CountSession.warehouse_id == warehouse.id).order_by(CountSession.id.desc()).limit(limit)
    ).scalars())
    out = [(cs, session_kpis(cs)) for cs in reversed(rows)]
    return [(cs, k) for cs, k in out if k.lines]


def warehouse_kpis(session, warehouse: Warehouse, days: int = 90) -> rules.Kpis:
    since = utcnow() - timedelta(days=days)
    lines = session.execute(
        select(CountLine, CountSession.threshold_qty).join(CountBin, CountBin.id == CountLine.count_bin_id)
        .join(CountSession, CountSession.id == CountBin.session_id)
        .where(CountSession.warehouse_id == warehouse.id, CountBin.counted_at >= since,
               CountLine.status.in_(rules.FINAL_STATES))
    ).all()
    counted = [kpi_line(ln) for ln, _ in lines]
    # One tolerance for the warehouse: the smallest a session used, so no line looks better than it was.
    tol = min((t for _, t in lines), default=0)
    return rules.kpis([c for c in counted if c], tolerance=tol)


def awaiting_approval(session, warehouse: Warehouse) -> list[CountLine]:
    return list(session.execute(
        select(CountLine).join(CountBin, CountBin.id == CountLine.count_bin_id)
        .join(CountSession, CountSession.id == CountBin.session_id)
        .where(CountSession.warehouse_id == warehouse.id, CountLine.status == "review").order_by(CountLine.id)
    ).scalars())


def bin_progress(cs: CountSession) -> dict:
    counts = defaultdict(int)
    for cb in cs.bins:
        counts[cb.status] += 1
    return {"bins": len(cs.bins), **counts}


# --------------------------------------------------------------------------
# The kind
# --------------------------------------------------------------------------


def step(task: Task) -> str:
    s = object_session(task)
    state = task.state or {}
    cb = s.get(CountBin, state["count_bin"]) if state.get("count_bin") else None
    if cb is not None:
        if cb.status == "recounting":
            return _("Recount %(bin)s: scan each item, then tap Bin counted", bin=cb.bin.code)
        return _("Count %(bin)s: scan each item, then tap Bin counted", bin=cb.bin.code)
    nxt = next_bin_for(s, task.count_session, task.created_by)
    return _("Scan bin %(bin)s", bin=nxt.bin.code) if nxt else _("No bins left: tap Finish")


def panel(s, task: Task) -> dict:
    cs = task.count_session
    return {
        "session": cs,
        "count_bin": s.get(CountBin, (task.state or {}).get("count_bin") or 0),
        "progress": bin_progress(cs),
        "next_bins": [cb for cb in cs.bins if cb.status == "pending"
                      or cb.status == "recount" and cb.counter_id != task.created_by][:8],
    }


def prepare(ctx: tasks.Ctx) -> None:
    """Before the write lock: the count session with its bins, and the bin being counted with its lines."""
    cs = ctx.task.count_session
    if cs is not None:
        list(cs.bins)
    cb = current_bin(ctx)
    if cb is not None:
        cb.bin, list(cb.lines)


COUNT = tasks.TaskKind("count", N_("Cycle count"), on_scan, step, panel=panel, prepare=prepare,
                       start=lambda s, warehouse: {"sessions": open_sessions(s, warehouse)})
