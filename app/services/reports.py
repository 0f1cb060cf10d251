"""Read models of the supervisor's screens: the overview, the KPIs and their chart, the ledger and its CSV.

Plain queries over a session, returning what a template draws; the blueprints only render them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from ..domain import counting as count_rules
from ..domain import inputs
from ..domain import stock as d
from ..i18n import N_, _
from ..models import (
    Balance,
    Bin,
    BinStock,
    CountLine,
    CountSession,
    Item,
    Lot,
    Movement,
    Transfer,
    User,
    Warehouse,
)
from . import charts, counting, planning
from . import tasks as task_service
from .uow import UnitOfWork


def overview(s, warehouse: Warehouse) -> dict:
    """The supervisor's overview: buckets per warehouse, what expires soon, transfers with differences,
    the week's damage, open exceptions, variances awaiting approval and the count KPIs."""
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
    return dict(
        warehouse=warehouse, totals=totals, damaged=damaged, to_order=planning.need_ordering(s, warehouse),
        exceptions=task_service.open_exceptions(s, warehouse, limit=10),
        exception_count=task_service.count_open_exceptions(s, warehouse),
        variances=counting.awaiting_approval(s, warehouse),
        differing=differing, expiring=expiring,
        kpis=counting.warehouse_kpis(s, warehouse), chart=kpi_chart(counting.trend(s, warehouse)),
        today=date.today(),
    )


def kpi_page(s, warehouse: Warehouse) -> dict:
    """The KPI screen: the trend over the last 30 sessions, its chart and the last 200 final count lines."""
    points = counting.trend(s, warehouse, limit=30)
    lines = s.execute(
        select(CountLine).join(CountLine.count_bin).join(CountSession)
        .where(CountSession.warehouse_id == warehouse.id, CountLine.status.in_(count_rules.FINAL_STATES))
        .order_by(CountLine.id.desc()).limit(200)
    ).scalars().all()
    return dict(warehouse=warehouse, points=points, chart=kpi_chart(points),
                kpis=counting.warehouse_kpis(s, warehouse), lines=lines, kpi_line=counting.kpi_line)


def kpi_chart(points) -> dict:
    """The SVG line chart (services.charts) of the three KPIs per session, in percent."""
    series = [{"label": _(label), "css": css, "values": [getattr(k, key) for _cs, k in points]}
              for key, label, css in (("ira", N_("Record accuracy"), "ira"),
                                      ("type_rate", N_("SKU type difference rate"), "type"),
                                      ("qty_rate", N_("SKU quantity difference rate"), "qty"))]
    return charts.line_chart(series, [cs.number[-4:] for cs, _k in points], fmt="percent", top=1.0,
                             label_every=1)


LEDGER_PAGE = 100
LEDGER_COLUMNS = ("id", "created_at", "kind", "warehouse", "sku", "lot", "qty", "from_bin", "to_bin",
                  "I", "S", "O", "U", "L", "V", "T", "A", "doc", "reason", "user", "device")
# How the ledger screen heads those columns (the CSV keeps the names above; the bucket letters stay).
LEDGER_HEADINGS = {"id": N_("No."), "created_at": N_("When"), "kind": N_("Kind"), "warehouse": N_("Warehouse"),
                   "sku": "SKU", "lot": N_("Lot"), "qty": N_("Qty"), "from_bin": N_("From"), "to_bin": N_("To"),
                   "doc": N_("Document"), "reason": N_("Reason"), "user": N_("User"), "device": N_("Device")}


@dataclass
class LedgerFilter:
    """What the ledger screen (or its CSV) shows: the conditions, what was chosen, what was wrong."""

    warehouse: Warehouse
    where: list
    chosen: dict
    errors: list[str]
    bins: dict[int, str]

    @classmethod
    def read(cls, s, warehouse: Warehouse, args) -> LedgerFilter:
        where, chosen, errors = _ledger_filters(s, warehouse, args)
        bins = dict(s.execute(select(Bin.id, Bin.code).where(Bin.warehouse_id == warehouse.id)).all())
        return cls(warehouse, where, chosen, errors, bins)


def _ledger_filters(s, warehouse: Warehouse, args) -> tuple[list, dict, list[str]]:
    where = [Movement.warehouse_id == warehouse.id]
    chosen, errors = {}, []
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


def ledger_query(where):
    return (
        select(Movement, Item.sku, User.username)
        .join(Item, Item.id == Movement.item_id)
        .outerjoin(User, User.id == Movement.user_id)
        .where(*where)
        .order_by(Movement.id.desc())
    )


def ledger_row(m: Movement, sku: str, username: str | None, warehouse_code: str, bins: dict[int, str]) -> list:
    deltas = m.deltas().as_dict()
    return [
        m.id, m.created_at.isoformat(timespec="seconds"), m.kind, warehouse_code, sku, m.lot, m.qty,
        bins.get(m.from_bin_id, ""), bins.get(m.to_bin_id, ""), *(deltas[b] for b in d.BUCKETS),
        f"{m.doc_type} {m.doc_id}" if m.doc_type else "", m.reason or "", username or "", m.device or "",
    ]


def ledger_page(s, f: LedgerFilter, before: str = "") -> dict:
    """A page of the ledger, newest first, from movement id `before` down."""
    errors = list(f.errors)
    query = ledger_query(f.where)
    if before:
        try:
            query = query.where(Movement.id < d.parse_whole(before, "before", 1, 2**63 - 1))
        except d.InputError as e:
            errors.append(e.message)
    rows = s.execute(query.limit(LEDGER_PAGE + 1)).all() if not errors else []
    more = len(rows) > LEDGER_PAGE
    rows = [ledger_row(m, sku, u, f.warehouse.code, f.bins) for m, sku, u in rows[:LEDGER_PAGE]]
    return dict(rows=rows, columns=LEDGER_COLUMNS, ledger_headings=LEDGER_HEADINGS, chosen=f.chosen, errors=errors,
                kinds=[k.value for k in d.Kind], next_before=rows[-1][0] if more and rows else None)


def ledger_csv(engine, f: LedgerFilter):
    """The filtered ledger as CSV text, in chunks: read on a connection of its own, in batches, so an
    export of a million movements is never all in memory. Text cells are made safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LEDGER_COLUMNS)
    with UnitOfWork(engine, write=False) as uow:
        for m, sku, u in uow.session.execute(ledger_query(f.where).execution_options(yield_per=2000)):
            writer.writerow([inputs.safe_cell(v) for v in ledger_row(m, sku, u, f.warehouse.code, f.bins)])
            if out.tell() > 64_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
    yield out.getvalue()
