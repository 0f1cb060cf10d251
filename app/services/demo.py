"""A realistic demo site: two warehouses, a few hundred bins, 300 items,
stock in every bucket, open orders and an open purchase order.

Everything goes through the same services as the floor, so the demo ledger
is as exact as a real one and check-ledger says ok.
"""

from __future__ import annotations

import os
import random
import secrets
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update

from ..domain import gtin
from ..models import (
    Barcode,
    Bin,
    BinStock,
    Item,
    Lot,
    Movement,
    Order,
    PurchaseOrder,
    PurchaseOrderLine,
    User,
    Warehouse,
)
from . import orders as order_service
from . import ledger_days, purchasing, replenishing, suppliers
from .stock import MovementCommand, apply_movement
from .uow import UnitOfWork

# The demo site's accounts. Their passwords are made at random for each site (a LAN must not
# find admin/admin); `flask demo` and `make run` print them once and keep them in instance/.
DEMO_USERS = [("admin", "admin"), ("super", "supervisor"), ("picker", "operator")]
ACCOUNTS_FILE = "demo-accounts.txt"


def new_password() -> str:
    """Easy to type on a handheld's keyboard: three groups of four lower-case letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no l/1, o/0 to misread
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def keep_accounts(folder, passwords: dict[str, str]) -> Path:
    """Write the demo accounts to instance/demo-accounts.txt, readable by this user only."""
    path = Path(folder) / ACCOUNTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    roles = dict(DEMO_USERS)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Demo accounts of this site (made at random by flask demo). Change them with\n"
                 "#   flask create-user --username NAME --role ROLE\n")
        for name, password in passwords.items():
            fh.write(f"{name:<8} {password:<16} {roles.get(name, '')}\n")
    path.chmod(0o600)
    return path

WAREHOUSES = [
    # code, name, aisles, bays per aisle, levels
    ("MAIN", "Main distribution centre", "ABCDEF", 10, 4),
    ("EAST", "East depot", "ABC", 10, 3),
]

# (family, variants, unit, lot tracked, shelf life in days)
FAMILIES = [
    ("Hex bolt", ["M6x20", "M6x30", "M8x25", "M8x40", "M10x50", "M12x60"], "box", False, 0),
    ("Wood screw", ["3.5x30", "4x40", "4x50", "5x60", "5x80", "6x100"], "box", False, 0),
    ("Cable tie", ["100mm black", "200mm black", "300mm black", "200mm white", "380mm UV"], "pack", False, 0),
    ("Duct tape", ["48mm silver", "48mm black", "72mm silver"], "roll", False, 0),
    ("Packing tape", ["48mm clear", "48mm brown", "48mm fragile print"], "roll", False, 0),
    ("Nitrile gloves", ["S", "M", "L", "XL"], "box", True, 1460),
    ("Work gloves", ["size 8", "size 9", "size 10", "size 11"], "pair", False, 0),
    ("AA battery", ["4-pack", "8-pack", "24-pack"], "pack", True, 3650),
    ("AAA battery", ["4-pack", "8-pack"], "pack", True, 3650),
    ("LED bulb E27", ["806 lm warm", "1055 lm warm", "1521 lm cool"], "each", False, 0),
    ("Shipping box", ["20x15x10", "30x20x15", "40x30x20", "60x40x40"], "bundle", False, 0),
    ("Stretch film", ["500mm 17mu", "500mm 23mu"], "roll", False, 0),
    ("Thermal label", ["100x150 roll", "57x32 roll", "102x76 roll"], "roll", False, 0),
    ("Silicone sealant", ["clear 300ml", "white 300ml", "grey 300ml"], "tube", True, 540),
    ("Wood glue", ["250g", "750g"], "bottle", True, 720),
    ("Hand cleaner", ["500ml", "4.5l"], "bottle", True, 900),
    ("Safety glasses", ["clear", "tinted"], "each", False, 0),
    ("Ear plugs", ["200 pairs"], "box", False, 0),
    ("Pallet label", ["A5 orange", "A4 white"], "pack", False, 0),
    ("Zip bag", ["100x150", "200x250", "300x400"], "pack", False, 0),
    ("Marker pen", ["black", "red", "blue"], "each", False, 0),
    ("Utility knife", ["18mm", "25mm"], "each", False, 0),
    ("Spare blades", ["18mm x10", "25mm x10"], "pack", False, 0),
    ("Disinfectant wipes", ["100 pcs"], "tub", True, 730),
    ("Wall plug", ["6mm", "8mm", "10mm"], "box", False, 0),
    ("Washer", ["M6", "M8", "M10", "M12"], "box", False, 0),
    ("Nut", ["M6", "M8", "M10", "M12"], "box", False, 0),
    ("Hinge", ["50mm", "75mm", "100mm"], "pair", False, 0),
    ("Extension cord", ["3m", "5m", "10m"], "each", False, 0),
    ("Coffee beans", ["1kg medium", "1kg dark"], "bag", True, 365),
]


def _bin_codes(aisles: str, bays: int, levels: int):
    """Storage bins in walking order: a snake through the aisles, up one, down the next."""
    order = 0
    for a, aisle in enumerate(aisles):
        bay_range = range(1, bays + 1) if a % 2 == 0 else range(bays, 0, -1)
        for bay in bay_range:
            for level in range(1, levels + 1):
                order += 10
                yield f"{aisle}-{bay:02d}-{level}", order


def _items(rng: random.Random) -> list[dict]:
    items = []
    n = 0
    while len(items) < 300:
        for family, variants, unit, lots, life in FAMILIES:
            for v in variants:
                if len(items) >= 300:
                    break
                n += 1
                ean = gtin.with_check(f"200{n:09d}")  # GS1 prefix 20-29: in-house numbers
                grade = ["", " Pro", " Eco", " XL pack"][len(items) // 110] if len(items) >= 110 else ""
                items.append(
                    {
                        "sku": f"{family.replace(' ', '')[:3].upper()}-{n:04d}",
                        "name": f"{family} {v}{grade}",
                        "unit": unit,
                        "ean": ean,
                        "case": gtin.case_gtin(ean),
                        "pack": rng.choice([6, 10, 12, 24]),
                        "lots": lots,
                        "life": life,
                        "serial": family == "Extension cord",  # each cord has its serial number
                        "cost": Decimal(rng.randint(50, 9000)) / 100,
                    }
                )
    return items


HISTORY_DAYS = 180  # days of trade the demo site is given (flask demo --history-days)
DAMAGE_WORDS = ("damage: Broken", "damage: Wet", "damage: Wrong item in bin")
RETURN_WORDS = ("return: Defective", "return: Not wanted", "return: Arrived damaged")


def load_demo(seed: int = 7, progress: Callable[[int], None] | None = None,
              passwords: dict[str, str] | None = None, history_days: int | None = None) -> dict:
    """The demo site, if the database has no warehouse yet. `passwords` (user name to password)
    defaults to new random ones; the result names them, to be shown once."""
    passwords = dict(passwords or {name: new_password() for name, _ in DEMO_USERS})
    rng = random.Random(seed)
    tick = progress or (lambda n: None)
    with UnitOfWork() as uow:
        s = uow.session
        if s.execute(select(Warehouse.id)).first() is not None:
            return {"loaded": False}
        made = {}
        for username, role in DEMO_USERS:
            if s.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
                u = User(username=username, role=role)
                u.set_password(passwords[username])
                s.add(u)
                made[username] = passwords[username]
        for code, name, aisles, bays, levels in WAREHOUSES:
            wh = Warehouse(code=code, name=name)
            s.add(wh)
            s.flush()
            specials = [("DOCK-01", "dock"), ("DOCK-02", "dock"), ("STAGE-01", "staging"), ("QUAR-01", "quarantine"), ("RET-01", "returns")]
            for i, (bcode, btype) in enumerate(specials):
                s.add(Bin(warehouse_id=wh.id, code=bcode, type=btype, walk_order=(i + 1) if btype == "dock" else 100000 + i))
            for bcode, order in _bin_codes(aisles, bays, levels):
                s.add(Bin(warehouse_id=wh.id, code=bcode, type="storage", walk_order=order))
        specs = _items(rng)
        for spec in specs:
            item = Item(sku=spec["sku"], name=spec["name"], unit=spec["unit"], unit_cost=spec["cost"],
                        serial_tracked=spec["serial"])
            s.add(item)
            s.flush()
            s.add(Barcode(item_id=item.id, code=spec["ean"], kind="unit", pack_qty=1))
            s.add(Barcode(item_id=item.id, code=spec["case"], kind="case", pack_qty=spec["pack"]))
        uow.commit()
    tick(1)

    with UnitOfWork(write=False) as uow:
        storage = {
            wh: [b.code for b in uow.session.execute(
                select(Bin).join(Warehouse).where(Warehouse.code == wh, Bin.type == "storage").order_by(Bin.walk_order)
            ).scalars()]
            for wh, *_ in WAREHOUSES
        }
        admin_id = uow.session.execute(select(User.id).where(User.username == "admin")).scalar_one()
    today = date.today()
    placed: dict[tuple[str, str], tuple[str, int]] = {}  # (wh, sku) -> (bin, qty) of a sellable bin

    def move(**kw):
        return apply_movement(MovementCommand(user_id=admin_id, device="demo", **kw))

    # Opening stock: received at the dock, put away to a storage bin.
    next_bin = {wh: 0 for wh in storage}
    used: set[tuple[str, str]] = set()  # bins given opening stock
    serial_no: dict[str, int] = defaultdict(lambda: 1)  # the next serial number of each serial-tracked item

    def empty_bin(wh: str) -> str:
        """A storage bin no opening stock went into (the extra lots and reserve stock below)."""
        code = next(b for b in storage[wh] if (wh, b) not in used)
        used.add((wh, code))
        return code
    for idx, spec in enumerate(specs):
        for wh in ("MAIN", "EAST"):
            if wh == "EAST" and idx % 2:
                continue
            if idx % 37 == 36:
                continue  # some items are out of stock: realistic, and a good test
            for _ in range(1 if wh == "EAST" else rng.choice([1, 1, 2])):
                bins = storage[wh]
                bin_code = bins[next_bin[wh] % len(bins)]
                next_bin[wh] += 3
                used.add((wh, bin_code))
                qty = rng.randint(4, 60) * (1 if spec["unit"] == "each" else 2)
                lot, expiry = "", None
                if spec["lots"]:
                    expiry = today + timedelta(days=rng.randint(30, spec["life"]))
                    lot = f"L{expiry:%y%m}{rng.randint(10, 99)}"
                serials = None
                if spec["serial"]:
                    first = serial_no[spec["sku"]]
                    serials = [f"SN{spec['sku'][-4:]}{n:05d}" for n in range(first, first + qty)]
                    serial_no[spec["sku"]] += qty
                move(warehouse=wh, kind="receive", sku=spec["sku"], qty=qty, lot=lot, expiry=expiry,
                     reason="opening stock", serials=serials)
                move(warehouse=wh, kind="move", sku=spec["sku"], qty=qty, from_bin="DOCK-01", to_bin=bin_code, lot=lot)
                placed[(wh, spec["sku"])] = (bin_code, qty, lot)
        tick(1)

    # Half a year of trade (its suppliers first: the plan orders from them).
    _suppliers(specs)
    days = HISTORY_DAYS if history_days is None else history_days
    traded = {sp["sku"] for sp in _sales_history(rng, today, admin_id, specs, placed, days)} if days else set()
    tick(1)

    # Expiry to try: a short-dated lot (picked first: FEFO), a lot whose date passed overnight (booked
    # expired on first touch, never reserved or picked), and coffee, which must have 90 days of shelf
    # life left at receipt (a shorter one is warned about).
    dated = [spec for spec in specs if spec["lots"] and ("MAIN", spec["sku"]) in placed]
    for spec, (lot, days) in zip(dated[:2], (("LSHORT1", 5), ("LPAST01", 1))):
        bin_code = empty_bin("MAIN")
        move(warehouse="MAIN", kind="receive", sku=spec["sku"], qty=6, lot=lot, expiry=today + timedelta(days=days),
             reason="opening stock")
        move(warehouse="MAIN", kind="move", sku=spec["sku"], qty=6, from_bin="DOCK-01", to_bin=bin_code, lot=lot)
    with UnitOfWork() as uow:
        s = uow.session
        s.execute(update(Lot).where(Lot.number == "LPAST01").values(expiry=today - timedelta(days=1)))
        s.execute(update(Item).where(Item.name.startswith("Coffee beans")).values(min_shelf_days=90))
        uow.commit()

    # Pick faces to try: six items get a reserve bin of 40 beside the bin they are picked from, which
    # becomes their pick face; two are at their minimum already (Replenish → Check every pick face
    # now), the others are raised by the pick that takes them to it.
    undated = [spec for spec in specs if not spec["lots"] and not spec["serial"] and ("MAIN", spec["sku"]) in placed][:6]
    faces = []
    for n, spec in enumerate(undated):
        face_bin, held, _lot = placed[("MAIN", spec["sku"])]
        reserve = empty_bin("MAIN")
        move(warehouse="MAIN", kind="receive", sku=spec["sku"], qty=40, reason="reserve stock")
        move(warehouse="MAIN", kind="move", sku=spec["sku"], qty=40, from_bin="DOCK-01", to_bin=reserve)
        low = held if n < 2 else max(held - 2, 0)
        faces.append((face_bin, spec["sku"], low, max(low + 10, held + 10)))
    with UnitOfWork() as uow:
        s = uow.session
        main = s.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
        for face_bin, sku, low, high in faces:
            replenishing.set_face(s, main, face_bin, sku, low, high)
        uow.commit()

    stocked = [k for k in placed if k[0] == "MAIN" and k[1] not in traded]  # the traded run low: left as they are
    rng.shuffle(stocked)
    # Damaged in place, and damaged moved to quarantine.
    for wh, sku in stocked[:12]:
        bin_code, qty, lot = placed[(wh, sku)]
        move(warehouse=wh, kind="damage", sku=sku, qty=min(2, qty), from_bin=bin_code, lot=lot,
             to_bin="QUAR-01" if len(sku) % 2 else None, reason="broken packaging")
    # Promotions held back, and supplier stock that may be sold.
    for wh, sku in stocked[12:20]:
        move(warehouse=wh, kind="lock", sku=sku, qty=3, reason="weekend promotion")
    for wh, sku in stocked[20:28]:
        move(warehouse=wh, kind="virtual", sku=sku, qty=50, reason="supplier dropship stock")
    # Customer returns awaiting inspection.
    for wh, sku in stocked[28:33]:
        move(warehouse=wh, kind="return_receive", sku=sku, qty=1, reason="customer return")
    # Transfers MAIN -> EAST: allocated, some of it already on the road.
    for n, (wh, sku) in enumerate(stocked[33:39]):
        bin_code, qty, lot = placed[(wh, sku)]
        q = min(4, qty - 2)
        if q <= 0:
            continue
        move(warehouse=wh, kind="transfer_allocate", sku=sku, qty=q, reason="rebalance EAST")
        if n % 2 == 0:
            move(warehouse=wh, kind="transfer_ship", sku=sku, qty=q, from_bin=bin_code, lot=lot, dest_warehouse="EAST")
    tick(1)

    # The sales channels, as records: what each may publish (they poll the API: no webhook in a demo).
    _channels()
    # Open orders from several channels.
    channels = ["shop", "amazon", "ebay", "shopify"]
    order_skus = [sku for wh, sku in stocked[40:160]]
    for n in range(40):
        lines = [order_service.OrderLineRequest(sku, rng.randint(1, 3)) for sku in rng.sample(order_skus, rng.randint(1, 4))]
        try:
            order_service.place_order(channels[n % 4], f"{channels[n % 4].upper()}-{10000 + n}", "MAIN", lines,
                                      user_id=admin_id, device="demo")
        except order_service.OrderShort:
            pass  # a channel asking for more than is there is part of real life
    tick(1)

    # An open purchase order for items running low.
    with UnitOfWork() as uow:
        s = uow.session
        main = s.execute(select(Warehouse).where(Warehouse.code == "MAIN")).scalar_one()
        po = PurchaseOrder(number="PO-2026-0001", warehouse_id=main.id, supplier="Nordic Supply AB", status="open",
                           expected_on=today + timedelta(days=2))
        s.add(po)
        s.flush()
        for n, spec in enumerate(specs[:8], 1):
            item = s.execute(select(Item).where(Item.sku == spec["sku"])).scalar_one()
            expiry = today + timedelta(days=spec["life"]) if spec["lots"] else None
            s.add(PurchaseOrderLine(purchase_order_id=po.id, line_no=n, item_id=item.id, expected=spec["pack"] * 4,
                                    lot=f"L{expiry:%y%m}01" if expiry else None, expiry=expiry))
        uow.commit()
    tick(1)
    _count_history(rng, today)
    tick(1)
    return {"loaded": True, "items": len(specs), "users": [u for u, _ in DEMO_USERS], "passwords": made}


DEMO_CHANNELS = (
    ("shop", "Own web shop", "own", ("MAIN", "EAST"), {}),
    ("amazon", "Amazon DE", "amazon", ("MAIN",), {"share_pct": 60, "buffer": 2}),
    ("ebay", "eBay", "ebay", ("MAIN",), {"cap": 20}),
    ("shopify", "Shopify store", "shopify", ("MAIN", "EAST"), {"buffer": 1}),
)


def _channels() -> None:
    from . import channels

    with UnitOfWork() as uow:
        for code, name, kind, warehouses, rule in DEMO_CHANNELS:
            channel, _secret = channels.save(uow.session, code, name, kind, "", warehouses)
            if rule:
                channels.set_rule(uow.session, channel, **rule)
        uow.commit()


def _suppliers(specs: list[dict]) -> None:
    """Suppliers to plan with (Office → Plan): every item bought from one, at its cost."""
    with UnitOfWork() as uow:
        s = uow.session
        nordic = suppliers.save(s, {"name": "Nordic Supply AB", "lead_days": "5", "lead_sd_days": "1", "moq": "10",
                                    "pack": "5", "currency": "EUR"})
        dated_supplier = suppliers.save(s, {"name": "Hansa Chemicals GmbH", "lead_days": "12", "lead_sd_days": "3",
                                            "moq": "24", "pack": "12", "currency": "EUR"})
        for spec in specs:
            chosen = dated_supplier if spec["lots"] else nordic
            suppliers.link(s, {"sku": spec["sku"], "supplier": str(chosen.id), "unit_cost": str(spec["cost"]),
                               "preferred": "1"})
        uow.commit()


def _sales_history(rng: random.Random, today: date, admin_id: int, specs: list[dict], placed: dict,
                   days: int = 180) -> list[dict]:
    """Half a year of trade at MAIN, made through the app's own services and dated back day by day, so
    the plan has demand to stand on (and proposes what runs low), stock has an age, the valuation a
    trend and the loss report its weeks. Returns the sellers' specs.

    The opening stock is dated 200 days back. Then, most days, an order from a channel for a few of
    the sellers, picked to staging and shipped; a seller whose bin runs low is bought again on a
    purchase order (at a cost within 8 % of its usual one) and put away, except the four fast ones
    in the last six weeks, which are left to run down to their reorder points; now and then a unit
    is damaged and scrapped, or comes back from a customer and is inspected.
    """
    def move(**kw):
        return apply_movement(MovementCommand(user_id=admin_id, device="demo", warehouse="MAIN", **kw))

    def last_ids():
        with UnitOfWork(write=False) as uow:
            s = uow.session
            return tuple(s.execute(select(func.coalesce(func.max(m.id), 0))).scalar_one()
                         for m in (Movement, Order, PurchaseOrder))

    def date_back(since: tuple, day: date) -> None:
        when = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
        with UnitOfWork() as uow:
            s = uow.session
            for model, after in zip((Movement, Order, PurchaseOrder), since):
                s.execute(update(model).where(model.id > after).values(created_at=when))
            if day < today - timedelta(days=days):
                s.execute(update(BinStock).values(since=when))
            ledger_days.forget(s)  # its days are summed again from the ledger as dated now
            uow.commit()

    date_back((0, 0, 0), today - timedelta(days=days + 20))
    sellers = [sp for sp in specs if not sp["lots"] and not sp["serial"] and ("MAIN", sp["sku"]) in placed][6:22]
    # One fast seller that EAST holds too and does not sell: the plan proposes moving it to MAIN.
    sellers.sort(key=lambda sp: ("EAST", sp["sku"]) not in placed)
    rate = {sp["sku"]: (2.5 if n < 4 else rng.choice((0.3, 0.5, 0.8, 1.0))) for n, sp in enumerate(sellers)}
    fast = {sp["sku"] for sp in sellers[:4]}
    held = {sp["sku"]: placed[("MAIN", sp["sku"])][1] for sp in sellers}
    bins = {sp["sku"]: placed[("MAIN", sp["sku"])][0] for sp in sellers}
    cost = {sp["sku"]: Decimal(str(sp["cost"])) for sp in sellers}
    channels = ("shop", "amazon", "ebay", "shopify")
    po_no = order_no = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        since = last_ids()
        # Orders come on about half the days (a small seller's shop), for about two days' demand each.
        wanted = [(sku, max(1, round(rng.expovariate(1 / (2 * rate[sku]))))) for sku in rate
                  if rng.random() < min(0.5, rate[sku])] if rng.random() < 0.55 else []
        lines = [(sku, min(q, held[sku])) for sku, q in wanted[:3] if held[sku] > 0]
        if lines:
            order_no += 1
            channel = channels[order_no % 4]
            try:
                order, _created = order_service.place_order(
                    channel, f"{channel.upper()}-H{order_no:05d}", "MAIN",
                    [order_service.OrderLineRequest(sku, q) for sku, q in lines], user_id=admin_id, device="demo")
            except order_service.OrderShort:
                lines = []
            for sku, q in lines:
                move(kind="pick", sku=sku, qty=q, from_bin=bins[sku], to_bin="STAGE-01", doc_type="order", doc_id=order["id"])
                move(kind="ship", sku=sku, qty=q, from_bin="STAGE-01", doc_type="order", doc_id=order["id"])
                held[sku] -= q
            if lines:
                with UnitOfWork() as uow:  # all of it shipped, as the shipping task would close it
                    uow.session.get(Order, order["id"]).status = "shipped"
                    uow.commit()
            if back % 29 == 0 and lines:
                sku, _q = lines[0]
                move(kind="return_receive", sku=sku, qty=1, to_bin="RET-01", doc_type="order", doc_id=order["id"],
                     reason=rng.choice(RETURN_WORDS))
                if rng.random() < 0.5:
                    move(kind="restore", sku=sku, qty=1, from_bin="RET-01", condition="returned",
                         reason="return inspected: restored")
                else:
                    move(kind="scrap", sku=sku, qty=1, from_bin="RET-01", condition="returned",
                         reason="return inspected: scrapped")
        if back % 11 == 0:
            sku = rng.choice([s for s in held if held[s] > 1] or [None])
            if sku:
                move(kind="damage", sku=sku, qty=1, from_bin=bins[sku], reason=rng.choice(DAMAGE_WORDS))
                move(kind="scrap", sku=sku, qty=1, from_bin=bins[sku], condition="damaged", reason="written off")
                held[sku] -= 1
        for sku in held:
            if held[sku] >= 6 * max(1, rate[sku]) or (sku in fast and back <= 40):
                continue
            po_no += 1
            qty = int(rate[sku] * rng.randint(20, 30)) + 10
            price = (cost[sku] * Decimal(rng.randint(92, 108)) / 100).quantize(Decimal("0.01"))
            number = f"PO-{day:%Y}-{5000 + po_no:04d}"
            purchasing.create_purchase_order(purchasing.PurchaseOrderRequest(
                number=number, warehouse="MAIN", supplier="Nordic Supply AB",
                lines=[purchasing.LineRequest(sku, qty, unit_cost=price)]))
            purchasing.receive_against(number, MovementCommand(warehouse="MAIN", kind="receive", sku=sku, qty=qty,
                                                               user_id=admin_id, device="demo"))
            move(kind="move", sku=sku, qty=qty, from_bin="DOCK-01", to_bin=bins[sku])
            held[sku] += qty
        date_back(since, day)
    for sp in sellers:
        bin_code, _qty, lot = placed[("MAIN", sp["sku"])]
        placed[("MAIN", sp["sku"])] = (bin_code, held[sp["sku"]], lot)
    return sellers


DEMO_STEPS = 300 + 6


def _count_history(rng: random.Random, today: date) -> None:
    """Five weekly cycle counts of MAIN, done through the floor task's own scans, so the KPIs have a trend.

    Each counts a few bins; some lines are found off by a unit or two, one per
    count is off by more and is recounted by a second operator and approved.
    """
    from scanners.parse import DEFAULT_RULES

    from ..models import CountBin, CountSession
    from . import counting, engine
    from . import tasks as task_service

    with UnitOfWork(write=False) as uow:
        s = uow.session
        main_id = s.execute(select(Warehouse.id).where(Warehouse.code == "MAIN")).scalar_one()
        users = dict(s.execute(select(User.username, User.id)).all())
        codes = list(s.execute(
            select(Bin.code).where(Bin.warehouse_id == main_id, Bin.type == "storage").order_by(Bin.walk_order)
        ).scalars())
    # Plain ids: a read-only unit of work ends in a rollback, which expires what it loaded.
    counter, checker, boss = users["picker"], users["admin"], users["super"]
    n = 0

    def scan(task_id, user, code="", action="", qty=""):
        nonlocal n
        n += 1
        inp = task_service.ScanInput(scan_id=f"demo-count-{n:05d}", code=code, action=action, qty=str(qty),
                                     user_id=user, device="demo")
        return engine.handle(task_id, inp, DEFAULT_RULES)

    for week in range(5, 0, -1):
        bins = codes[(week * 37) % len(codes):][:6]
        with UnitOfWork() as uow:
            cs, _ = counting.create_session(uow.session, uow.session.get(Warehouse, main_id), uow.session.get(User, boss),
                                            "bins", " ".join(bins), threshold_qty=2, threshold_value="50")
            task = counting.start_task(uow.session, cs.warehouse, uow.session.get(User, counter), cs)
            session_id, task_id = cs.id, task.id
            uow.commit()
        off_by_more = rng.randrange(len(bins))
        for b_n, code in enumerate(bins):
            scan(task_id, counter, code)
            with UnitOfWork(write=False) as uow:
                shelf = counting._sellable_by_item(uow.session, uow.session.execute(
                    select(Bin.id).where(Bin.warehouse_id == main_id, Bin.code == code)).scalar_one())
                barcodes = {i: uow.session.execute(select(Barcode.code).where(Barcode.item_id == i, Barcode.kind == "unit"))
                            .scalar_one() for i in shelf}
            for item_id, qty in shelf.items():
                found = qty
                if b_n == off_by_more:
                    found = max(0, qty - 3 - week % 3)
                elif rng.random() < 0.12 * week / 5 + 0.03:
                    found = max(0, qty + rng.choice([-1, 1]))
                if found:
                    scan(task_id, counter, barcodes[item_id], qty=found)
            scan(task_id, counter, action="close")
        scan(task_id, counter, action="finish")
        with UnitOfWork() as uow:
            cs = uow.session.get(CountSession, session_id)
            recount = [cb.id for cb in cs.bins if cb.status == "recount"]
            recount_task = counting.start_task(uow.session, cs.warehouse, uow.session.get(User, checker), cs).id if recount else None
            uow.commit()
        for cb_id in recount:
            with UnitOfWork(write=False) as uow:
                cb = uow.session.get(CountBin, cb_id)
                wanted = [(ln.item_id, ln.counted) for ln in cb.lines if ln.status == "recount"]
                code = cb.bin.code
                barcodes = {i: uow.session.execute(select(Barcode.code).where(Barcode.item_id == i, Barcode.kind == "unit"))
                            .scalar_one() for i, _ in wanted}
            scan(recount_task, checker, code)
            for item_id, counted in wanted:
                if counted:
                    scan(recount_task, checker, barcodes[item_id], qty=counted)
            scan(recount_task, checker, action="close")
        with UnitOfWork() as uow:
            s = uow.session
            cs = s.get(CountSession, session_id)
            for ln in counting.awaiting_approval(s, cs.warehouse):
                counting.decide(s, ln.id, s.get(User, boss), approve=True)
            # Back-dated, a week apart, so the trend reads like a real site's.
            when = datetime.combine(today - timedelta(days=7 * week), datetime.min.time()) + timedelta(hours=9)
            cs.created_at = when
            cs.closed_at = when + timedelta(hours=2)
            for cb in cs.bins:
                cb.started_at = cb.counted_at = when + timedelta(hours=1)
            for t in s.execute(select(task_service.Task).where(task_service.Task.count_session_id == cs.id)).scalars():
                t.status, t.closed_at = "closed", when + timedelta(hours=2)
            uow.commit()
