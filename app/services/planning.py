"""Planning from the ledger: each item's demand, safety stock and reorder point in a warehouse, its
projected position, and purchase proposals a supervisor turns into purchase orders in one step.

The rules are domain.planning; this module reads what they need: reservations net of cancellations
per day (the ledger's reserve and unreserve movements), the days the item had no sellable stock
(the ledger's S after each movement), the buckets, open purchase-order quantities, backorders, the
ABC classes cycle counting computes, and the item's preferred supplier's terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from ..domain import inputs
from ..domain import planning as rules
from ..domain import valuation
from ..domain import stock as d
from ..i18n import N_, _, money
from ..models import (
    Balance,
    Item,
    ItemSupplier,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    Transfer,
    TransferLine,
    User,
    Warehouse,
)
from . import charts, ledger_days, transfers
from .counting import abc_classes
from .purchasing import LineRequest, PurchaseOrderRequest, create_purchase_order
from .uow import UnitOfWork

WINDOW_DAYS = 90
DEFAULT_LEAD_DAYS = 7


def settings(warehouse: Warehouse) -> dict:
    """The warehouse's service level per ABC class and its demand window, defaults filled in."""
    saved = warehouse.plan_settings or {}
    levels = {c: float(saved.get("levels", {}).get(c, v)) for c, v in rules.SERVICE_LEVELS.items()}
    return {"levels": levels, "window": int(saved.get("window", WINDOW_DAYS))}


def save_settings(session, warehouse: Warehouse, form) -> dict:
    levels = {c: rules.parse_level(form.get(f"level_{c}", "")) for c in rules.SERVICE_LEVELS}
    window = d.parse_whole(form.get("window", WINDOW_DAYS), "window", 14, 730,
                           error=d.InputError) if form.get("window") else WINDOW_DAYS
    warehouse.plan_settings = {"levels": levels, "window": window}
    return settings(warehouse)


@dataclass
class Row:
    item: Item
    abc: str
    supplier: Supplier | None
    unit_cost: object
    plan: rules.Plan


def _days(since: date, today: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((today - since).days + 1)]


def _sellable_by_day(s_now: int, changes: dict[date, int], window: list[date]):
    """(day, S at its start, S at its end) over the window: S at the window's start is today's S less
    the window's changes, and each day's end follows from it."""
    s_end = s_now - sum(changes.values())
    for day in window:
        s_start, s_end = s_end, s_end + changes.get(day, 0)
        yield day, s_start, s_end


def demand_by_day(session, warehouse_id: int, since: date, item_id: int | None = None,
                  today: date | None = None) -> tuple[dict, dict]:
    """(item → day → net reserved units, item → days with no sellable stock left at their end and no demand).

    From the ledger's sums per item and day (services.ledger_days), never its rows."""
    u = ledger_days.days(session, warehouse_id, since, item_id)
    demand: dict[int, dict[date, int]] = defaultdict(dict)
    moved: dict[int, dict[date, int]] = defaultdict(dict)
    for item, day, reserved, d_s in session.execute(select(u.c.item_id, u.c.day, u.c.reserved, u.c.d_s)
                                                    .where((u.c.reserved != 0) | (u.c.d_s != 0))):
        day = ledger_days.as_date(day)
        if reserved:
            demand[item][day] = demand[item].get(day, 0) + int(reserved)
        if d_s:
            moved[item][day] = moved[item].get(day, 0) + int(d_s)
    bal_where = [Balance.warehouse_id == warehouse_id] + ([Balance.item_id == item_id] if item_id is not None else [])
    s_now = dict(session.execute(select(Balance.item_id, Balance.s).where(*bal_where)).all())
    window = _days(since, today or date.today())
    out: dict[int, set] = {}
    for item in set(moved) | set(s_now):
        changes, asked, now = moved.get(item, {}), demand.get(item, {}), s_now.get(item, 0) or 0
        if not changes and now > 0:
            out[item] = set()  # stocked all through the window
            continue
        out[item] = {day for day, s_start, s_end in _sellable_by_day(now, changes, window)
                     if s_start <= 0 and s_end <= 0 and asked.get(day, 0) <= 0}
    return demand, out


def demands(session, warehouse: Warehouse, today: date | None = None,
            item_id: int | None = None) -> dict[int, rules.Demand]:
    """Each item's daily demand here over the warehouse's window (domain.planning.daily_demand)."""
    today = today or date.today()
    since = today - timedelta(days=settings(warehouse)["window"] - 1)
    window = _days(since, today)
    demand, empty = demand_by_day(session, warehouse.id, since, item_id, today)
    return {item: rules.daily_demand(demand.get(item, {}), window, empty.get(item, set()))
            for item in set(demand) | set(empty)}


def item_history(session, warehouse_id: int, item_id: int, since: date, today: date | None = None) -> list[tuple]:
    """One item's days from `since`: (day, net units reserved that day, sellable S at the day's end)."""
    by_day = {r.day: (r.reserved, r.d_s) for r in ledger_days.rows(session, warehouse_id, since, item_id, today)}
    s_now = session.execute(select(Balance.s).where(Balance.warehouse_id == warehouse_id,
                                                    Balance.item_id == item_id)).scalar() or 0
    changes = {day: ds for day, (_u, ds) in by_day.items()}
    return [(day, by_day.get(day, (0, 0))[0], s_end)
            for day, _start, s_end in _sellable_by_day(s_now, changes, _days(since, today or date.today()))]


def item_chart(session, warehouse: Warehouse, row: Row) -> dict:
    """An item's days over the demand window (services.charts): sellable stock at each day's end and
    that day's demand, against its reorder point and safety stock."""
    since = date.today() - timedelta(days=settings(warehouse)["window"] - 1)
    days = item_history(session, warehouse.id, row.item.id, since)
    return charts.line_chart(
        [{"label": _("Sellable at the day's end"), "css": "ira", "values": [s for _d, _q, s in days]},
         {"label": _("Demand that day"), "css": "demand", "values": [q for _d, q, _s in days]}],
        [day.strftime("%d %b") for day, _q, _s in days],
        refs=[{"label": _("Reorder point"), "css": "rop", "value": row.plan.rop},
              {"label": _("Safety stock"), "css": "ss", "value": row.plan.safety}])


def _on_order(session, warehouse_id: int) -> dict[int, int]:
    return dict(session.execute(
        select(PurchaseOrderLine.item_id, func.sum(PurchaseOrderLine.expected - PurchaseOrderLine.received))
        .join(PurchaseOrder).where(PurchaseOrder.warehouse_id == warehouse_id,
                                   PurchaseOrder.status.in_(("open", "partial")),
                                   PurchaseOrderLine.expected > PurchaseOrderLine.received)
        .group_by(PurchaseOrderLine.item_id)).all())


def _coming_by_transfer(session, warehouse_id: int) -> dict[int, int]:
    """Units planned to come here from another warehouse, not shipped yet (once shipped they are in A)."""
    return dict(session.execute(
        select(TransferLine.item_id, func.sum(TransferLine.qty - TransferLine.shipped)).join(Transfer)
        .where(Transfer.dest_id == warehouse_id, Transfer.status == "planned", TransferLine.qty > TransferLine.shipped)
        .group_by(TransferLine.item_id)).all())


def _backordered(session, warehouse_id: int) -> dict[int, int]:
    return dict(session.execute(
        select(OrderLine.item_id, func.sum(OrderLine.backordered)).join(Order)
        .where(Order.warehouse_id == warehouse_id, Order.status == "open", OrderLine.backordered > 0)
        .group_by(OrderLine.item_id)).all())


def _suppliers(session) -> dict[int, tuple[Supplier, object]]:
    """Each item's supplier to order from (the preferred, else the first linked) and its cost."""
    chosen: dict[int, tuple[Supplier, object]] = {}
    rows = session.execute(select(ItemSupplier, Supplier).join(Supplier)
                           .order_by(ItemSupplier.item_id, ItemSupplier.preferred.desc(), ItemSupplier.id)).all()
    for link, supplier in rows:
        chosen.setdefault(link.item_id, (supplier, link.unit_cost))
    return chosen


def plan_rows(session, warehouse: Warehouse, today: date | None = None, item_id: int | None = None) -> list[Row]:
    """Every item stocked, demanded or on order here, with its plan; those to order first. With
    `item_id`, that item's row alone (its ABC class still among all the warehouse's items)."""
    today = today or date.today()
    conf = settings(warehouse)
    demand = demands(session, warehouse, today, item_id)
    only = [Balance.item_id == item_id] if item_id is not None else []
    balances = {b.item_id: b for b in session.execute(select(Balance).where(Balance.warehouse_id == warehouse.id,
                                                                           *only)).scalars()}
    on_order, backordered = _on_order(session, warehouse.id), _backordered(session, warehouse.id)
    for item_id, qty in _coming_by_transfer(session, warehouse.id).items():  # ordered from a warehouse of ours
        on_order[item_id] = on_order.get(item_id, 0) + qty
    classes = abc_classes(session, warehouse, today)
    suppliers = _suppliers(session)
    ids = set(balances) | set(demand) | set(on_order) | set(backordered)
    if item_id is not None:
        ids &= {item_id}
    items = {i.id: i for i in session.execute(select(Item).where(Item.id.in_(ids), Item.retired_at.is_(None))).scalars()} if ids else {}
    rows = []
    for item_id, item in items.items():
        bal = balances.get(item_id)
        supplier, cost = suppliers.get(item_id, (None, item.unit_cost))
        abc = classes.get(item_id, "C")
        p = rules.plan(
            demand.get(item_id) or rules.Demand(0.0, 0.0, conf["window"], 0),
            conf["levels"][abc],
            supplier.lead_days if supplier else DEFAULT_LEAD_DAYS,
            float(supplier.lead_sd_days) if supplier else 0.0,
            sellable=bal.s if bal else 0, on_order=int(on_order.get(item_id, 0)), in_transit=bal.a if bal else 0,
            backordered=int(backordered.get(item_id, 0)),
            moq=supplier.moq if supplier else 1, pack=supplier.pack if supplier else 1,
        )
        rows.append(Row(item, abc, supplier, cost, p))
    rows.sort(key=lambda r: (r.plan.propose == 0, r.plan.position - r.plan.rop, r.item.sku))
    return rows


def proposals(session, warehouse: Warehouse, today: date | None = None) -> list[Row]:
    return [r for r in plan_rows(session, warehouse, today) if r.plan.propose > 0]


def order(warehouse_id: int, chosen: dict[int, int], today: date | None = None) -> list[dict]:
    """Turn proposals into purchase orders, one a supplier: `chosen` is item id → quantity (edited by
    the supervisor). Idempotent: an item the plan no longer proposes (it is on order now) is skipped,
    so sending the same choice twice orders nothing twice."""
    today = today or date.today()
    with UnitOfWork(write=False) as uow:
        s = uow.session
        warehouse = s.get(Warehouse, warehouse_id)
        code = warehouse.code
        live = {r.item.id: r for r in proposals(s, warehouse, today)}
        # Plain values: the documents are written after this read ends.
        by_supplier: dict[int, dict] = {}
        for item_id, qty in chosen.items():
            row = live.get(item_id)
            if row is None:
                continue
            sup = row.supplier
            entry = by_supplier.setdefault(sup.id if sup else 0, {
                "name": sup.name if sup else "", "lead": sup.lead_days if sup else DEFAULT_LEAD_DAYS, "lines": []})
            entry["lines"].append((row.item.sku, d.parse_qty(qty), row.unit_cost))
    made = []
    for sid, entry in by_supplier.items():
        # Numbered as the scanners' PO pattern expects (PO-2026-0042): the year's next number.
        prefix = f"PO-{today:%Y}-"
        with UnitOfWork(write=False) as uow:
            taken = [n for n in uow.session.execute(select(PurchaseOrder.number)
                                                    .where(PurchaseOrder.number.startswith(prefix))).scalars()
                     if n[len(prefix):].isdigit()]
        seq = max((int(n[len(prefix):]) for n in taken), default=0)
        for _attempt in range(5):  # another supervisor took the number meanwhile: the next one
            seq += 1
            req = PurchaseOrderRequest(number=f"{prefix}{seq:04d}", warehouse=code, supplier=entry["name"],
                                       lines=[LineRequest(sku, qty, unit_cost=cost) for sku, qty, cost in entry["lines"]],
                                       expected_on=today + timedelta(days=entry["lead"]))
            po, created = create_purchase_order(req)
            if created:
                break
        if created and sid:
            with UnitOfWork() as uow:
                uow.session.get(PurchaseOrder, po["id"]).supplier_id = sid
                uow.commit()
        made.append({**po, "created": created})
    return made


COVER_LIMIT_DAYS = 60


@dataclass
class TransferProposal:
    item: Item
    source: Warehouse
    dest: Warehouse
    qty: int
    source_plan: rules.Plan
    dest_plan: rules.Plan
    source_cover: float


def transfer_proposals(session, today: date | None = None, cover_limit: float = COVER_LIMIT_DAYS,
                       known: dict[int, list[Row]] | None = None) -> list[TransferProposal]:
    """Where a warehouse holds more days of cover than the limit and another of ours is at or below its
    reorder point for the same item: move the spare there (before buying more). `known`: the plan rows
    of a warehouse the caller has already (so a screen works each warehouse's plan out once)."""
    warehouses = list(session.execute(select(Warehouse).order_by(Warehouse.code)).scalars())
    known = known or {}
    plans = {w.id: {r.item.id: r for r in (known[w.id] if w.id in known else plan_rows(session, w, today))}
             for w in warehouses}
    out = []
    for dest in warehouses:
        for item_id, need in plans[dest.id].items():
            if need.plan.position > need.plan.rop:
                continue
            best = None
            for source in warehouses:
                have = plans[source.id].get(item_id) if source.id != dest.id else None
                if have is None:
                    continue
                qty = rules.transfer_quantity(have.plan.sellable, have.plan.demand.mean, have.plan.rop, cover_limit,
                                              need.plan.position, need.plan.rop)
                if qty > 0 and (best is None or qty > best.qty):
                    best = TransferProposal(need.item, source, dest, qty, have.plan, need.plan,
                                            rules.cover_days(have.plan.sellable, have.plan.demand.mean))
            if best is not None:
                out.append(best)
    return out


def plan_transfer(source_id: int, dest_code: str, sku: str, qty, user_id: int) -> str:
    """One transfer proposal turned into a planned transfer (its units allocated at the source); its number."""
    with UnitOfWork() as uow:
        s = uow.session
        tr = transfers.plan(s, s.get(Warehouse, source_id), dest_code, s.get(User, user_id), [(sku, qty)],
                               note="proposed by the plan")
        number = tr.number
        uow.commit()
    return number


PLAN_COLUMNS = ("sku", "name", "abc", "supplier", "demand_per_day", "demand_sd", "days", "days_left_out",
                "service_level", "z", "lead_days", "lead_sd_days", "safety_stock", "reorder_point", "sellable",
                "on_order", "in_transit", "backordered", "position", "propose")


def csv_rows(session, warehouse: Warehouse):
    """The plan as CSV rows, the header first: every figure with its inputs."""
    yield list(PLAN_COLUMNS)
    for r in plan_rows(session, warehouse):
        p = r.plan
        yield [inputs.safe_cell(v) for v in (
            r.item.sku, r.item.name, r.abc, r.supplier.name if r.supplier else "", f"{p.demand.mean:.3f}",
            f"{p.demand.sd:.3f}", p.demand.days, p.demand.left_out, p.service_level, f"{p.z:.3f}", p.lead_days,
            p.lead_sd, f"{p.safety:.1f}", f"{p.rop:.1f}", p.sellable, p.on_order, p.in_transit, p.backordered,
            p.position, p.propose)]


def need_ordering(session, warehouse: Warehouse) -> int:
    """How many items are at or below their reorder point here (the overview says so)."""
    return len(proposals(session, warehouse))


__all__ = ["N_", "Row", "need_ordering", "order", "plan_rows", "proposals", "save_settings", "settings"]


# --------------------------------------------------------------------------
# Ageing and slow movers
# --------------------------------------------------------------------------


@dataclass
class Aged:
    item: Item
    on_hand: int
    layers: dict
    days_since_demand: int | None
    cover: float
    slow: bool
    action: str | None
    value: object


def ageing(session, warehouse: Warehouse, today: date | None = None) -> tuple[list[Aged], dict]:
    """Every item on hand here by age (first in, first out over its receipts), whether it moves slowly
    and what to do with it; and the warehouse's units and value per age band."""
    today = today or date.today()
    balances = {b.item_id: b for b in session.execute(
        select(Balance).where(Balance.warehouse_id == warehouse.id, Balance.i > 0)).scalars()}
    if not balances:
        return [], {label: {"units": 0, "value": 0} for label, _lo, _hi in rules.AGE_BANDS}
    # The units received in each age band, summed in the database (services.ledger_days).
    received = ledger_days.received_by_band(session, warehouse.id, rules.band_starts(today))
    last_demand = ledger_days.last_day(session, warehouse.id, "reserved", today)
    means = {item: dem.mean for item, dem in demands(session, warehouse, today).items()}
    selling_elsewhere = set()
    for other in session.execute(select(Warehouse).where(Warehouse.id != warehouse.id)).scalars():
        selling_elsewhere |= {item for item, dem in demands(session, other, today).items() if dem.mean > 0}
    has_supplier = set(session.execute(select(ItemSupplier.item_id)).scalars())
    items = {i.id: i for i in session.execute(select(Item).where(Item.id.in_(list(balances)))).scalars()}
    totals = {label: {"units": 0, "value": 0} for label, _lo, _hi in rules.AGE_BANDS}
    out = []
    for item_id, bal in balances.items():
        item = items[item_id]
        layers = rules.layers_from_bands(received.get(item_id, {}), bal.i)
        seen = last_demand.get(item_id)
        since = (today - seen).days if seen else None
        mean = means.get(item_id, 0.0)
        cover = rules.cover_days(bal.s, mean)
        slow = rules.slow_mover(bal.i, since, cover)
        # At moving-average cost (domain.valuation); the item's standard cost where nothing is valued yet.
        avg = valuation.Pool(bal.i + bal.a, bal.value_e4).avg_e4 if bal.value_e4 else None
        cost = valuation.from_e4(avg) if avg is not None else (item.unit_cost or 0)
        for label, units in layers.items():
            totals[label]["units"] += units
            totals[label]["value"] += units * cost
        out.append(Aged(item, bal.i, layers, since, cover, slow,
                        rules.slow_action(item_id in selling_elsewhere, item_id in has_supplier) if slow else None,
                        bal.i * cost))
    out.sort(key=lambda a: (not a.slow, -(a.layers[rules.AGE_BANDS[-1][0]]), a.item.sku))
    return out, totals


def age_chart(totals: dict) -> dict:
    """The warehouse's stock value per age band, as bars (services.charts)."""
    return charts.bar_chart([{"label": _(b), "value": float(totals[b]["value"]), "css": "age",
                              "text": f"{money(totals[b]['value'])} · {totals[b]['units']}"}
                             for b, _lo, _hi in rules.AGE_BANDS])
