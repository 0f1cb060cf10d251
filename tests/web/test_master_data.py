"""Master data in the browser (issue 19): items and bins listed, searched, created, edited, imported from
CSV after a preview, exported; the same checks as the command line; a bad row names its row, changes nothing."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Barcode, Bin, Item, Movement
from tests.builders import ean_for, make_site
from tests.web.test_stock_control import HX, Person


def _count(model):
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def _gtin13(n: int) -> str:
    body = f"590{n:09d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def test_a_supervisor_creates_an_item_with_two_barcodes_and_a_bin_and_the_floor_finds_them_at_once(app):
    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    unit, case = _gtin13(1), _gtin13(2)
    r = sue.do("post", "/office/items", data={"sku": "NEW-1", "name": "Hex bolt M8", "unit": "each",
                                             "unit_cost": "0.35", "barcode": unit, "case_barcode": case,
                                             "case_qty": "50"})
    assert r.status_code == 302, r.text[:500]
    db.session.rollback()
    item = db.session.execute(select(Item).where(Item.sku == "NEW-1")).scalar_one()
    assert sorted((b.code, b.kind, b.pack_qty) for b in item.barcodes) == [(unit, "unit", 1), (case, "case", 50)]
    r = sue.do("post", "/office/bins", data={"code": "Z-99", "type": "storage", "walk_order": "990"})
    assert r.status_code == 302, r.text[:500]
    # A floor lookup finds both at once.
    assert "Hex bolt M8" in ann.do("post", "/lookup", data={"code": case, "scan_id": "md-look-0001"}, headers=HX).text
    assert "Z-99" in ann.do("post", "/lookup", data={"code": "Z-99", "scan_id": "md-look-0002"}, headers=HX).text
    # Listed and found by a search on its barcode.
    assert "NEW-1" in sue.do("get", f"/office/items?q={unit}").text


def test_an_item_form_refuses_what_an_import_refuses_and_changes_nothing(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    before = (_count(Item), _count(Barcode))
    taken = db.session.execute(select(Barcode.code)).scalars().first()
    cases = [
        {"sku": "", "name": "x"},
        {"sku": "N-2", "name": ""},
        {"sku": "N-2", "name": "x", "barcode": "4006381333932"[:-1] + "0"},  # a wrong check digit
        {"sku": "N-2", "name": "x", "barcode": taken},
        {"sku": "N-2", "name": "x", "case_barcode": _gtin13(5), "case_qty": "1"},
        {"sku": "N-2", "name": "x", "unit_cost": "-1"},
        {"sku": "N-2", "name": "x", "unit_cost": "1e400"},
        {"sku": "N-2", "name": "x", "unit_cost": "NaN"},
        {"sku": "N-2", "name": "x" * 201},
        {"sku": "N-2", "name": "a\x01b"},
        {"sku": "SKU-1", "name": "duplicate"},
    ]
    for fields in cases:
        r = sue.do("post", "/office/items", data=fields)
        assert r.status_code == 422, (fields, r.status_code)
        assert 'class="flash error"' in r.text
    assert (_count(Item), _count(Barcode)) == before


def test_editing_an_item_adds_and_removes_barcodes(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    item_id = db.session.execute(select(Item.id).where(Item.sku == "SKU-1")).scalar_one()
    r = sue.do("post", f"/office/items/{item_id}", data={"action": "save", "name": "Renamed", "unit": "box",
                                                         "unit_cost": "2.50"})
    assert r.status_code == 302
    r = sue.do("post", f"/office/items/{item_id}", data={"action": "add-barcode", "barcode": _gtin13(7),
                                                         "kind": "case", "case_qty": "12"})
    assert r.status_code == 302
    db.session.rollback()
    item = db.session.get(Item, item_id)
    assert (item.name, item.unit, str(item.unit_cost)) == ("Renamed", "box", "2.50")
    extra = next(b for b in item.barcodes if b.code == _gtin13(7))
    assert extra.pack_qty == 12
    r = sue.do("post", f"/office/items/{item_id}", data={"action": "remove-barcode", "barcode": str(extra.id)})
    assert r.status_code == 302
    db.session.rollback()
    assert _gtin13(7) not in [b.code for b in db.session.get(Item, item_id).barcodes]
    for bad in ("x", "999999", "-1", "1" * 40):
        r = sue.do("post", f"/office/items/{item_id}", data={"action": "remove-barcode", "barcode": bad})
        assert r.status_code == 422, bad
    assert sue.do("get", "/office/items/99999").status_code == 404
    assert sue.do("get", f"/office/items/{2**40}").status_code == 404


def _upload(person, path, text):
    return person.do("post", path, data={"file": (io.BytesIO(text.encode()), "items.csv")},
                     content_type="multipart/form-data")


def test_five_hundred_items_import_after_a_preview_and_a_bad_row_is_named_and_changes_nothing(app):
    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    rows = ["sku,name,unit,barcode"] + [f"IMP-{n:04d},Imported {n},each,{_gtin13(1000 + n)}" for n in range(500)]
    before = _count(Item)
    preview = _upload(sue, "/office/items/import", "\n".join(rows) + "\n")
    assert preview.status_code == 200 and "500 rows: 500 new" in preview.text and "Nothing has changed yet" in preview.text
    assert "new item IMP-0000: Imported 0" in preview.text
    assert _count(Item) == before  # the preview changed nothing
    text = re.search(r'<textarea name="text" hidden>(.*?)</textarea>', preview.text, re.S).group(1)
    import html

    done = sue.do("post", "/office/items/import", data={"confirm": "1", "text": html.unescape(text)})
    assert done.status_code == 302
    assert _count(Item) == before + 500
    r = ann.do("post", "/lookup", data={"code": _gtin13(1499), "scan_id": "md-look-0003"}, headers=HX)
    assert "Imported 499" in r.text
    # Again: nothing new, all already here.
    again = _upload(sue, "/office/items/import", "\n".join(rows) + "\n")
    assert "500 rows: 0 new, 500 already here" in again.text

    bad = rows[:3] + [f"IMP-9999,Bad,each,{ean_for(1)}"] + [f"IMP-9998,Bad,each,{_gtin13(3000)[:-1]}0"]
    r = _upload(sue, "/office/items/import", "\n".join(bad) + "\n")
    assert r.status_code == 422 and "Nothing was imported" in r.text
    assert "row 5:" in r.text and "already belongs to" in r.text
    r = sue.do("post", "/office/items/import", data={"confirm": "1", "text": "\n".join(bad)})
    assert r.status_code == 422
    assert _count(Item) == before + 500


def test_hostile_files_are_refused_with_a_message(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    before = _count(Item)
    for text in ("", "just,a,header\n", "\x00\x01\x02", "sku,name\nA," + "x" * 300 + "\n", "\ufeffsku\nA\n"):
        r = _upload(sue, "/office/items/import", text)
        assert r.status_code in (400, 422), (text[:20], r.status_code)
    r = sue.do("post", "/office/items/import", data={"file": (io.BytesIO(b"\xff\xfe\x00bad"), "x.csv")},
               content_type="multipart/form-data")
    assert r.status_code in (400, 422)
    r = sue.do("post", "/office/items/import", data={})
    assert r.status_code == 422 and "Choose a CSV file" in r.text
    assert _count(Item) == before


def test_items_and_bins_export_in_the_import_columns_and_reimport_as_no_change(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    items_csv = sue.do("get", "/office/items.csv")
    assert items_csv.status_code == 200 and items_csv.text.startswith("sku,name,unit,unit_cost,barcode")
    r = _upload(sue, "/office/items/import", items_csv.text)
    assert r.status_code == 200 and " 0 new" in r.text
    bins_csv = sue.do("get", "/office/bins.csv")
    assert bins_csv.status_code == 200 and bins_csv.text.startswith("warehouse,code,type,walk_order")
    r = _upload(sue, "/office/bins/import", bins_csv.text)
    assert r.status_code == 200 and " 0 new" in r.text


def test_bins_stay_within_the_warehouse_one_works_in(app):
    make_site()
    sue = Person(app, "sue", role="supervisor")
    before = _count(Bin)
    r = _upload(sue, "/office/bins/import", "warehouse,code,type\nW2,Q-01,storage\n")
    assert r.status_code == 422 and "is not W1" in r.text
    for fields in ({"code": "", "type": "storage"}, {"code": "A B", "type": "storage"},
                   {"code": "Q-1", "type": "attic"}, {"code": "Q-1", "walk_order": "-4"},
                   {"code": "A-01", "type": "storage"}):
        assert sue.do("post", "/office/bins", data=fields).status_code == 422, fields
    assert _count(Bin) == before
    other = db.session.execute(select(Bin.id).join(Bin.warehouse).where(Bin.warehouse.has(code="W2"))).scalars().first()
    assert sue.do("get", f"/office/bins/{other}").status_code == 404
    assert sue.do("post", f"/office/bins/{other}", data={"type": "dock"}).status_code == 404
    mine = db.session.execute(select(Bin.id).where(Bin.code == "A-01")).scalars().first()
    assert sue.do("post", f"/office/bins/{mine}", data={"type": "storage", "walk_order": "77"}).status_code == 302
    db.session.rollback()
    assert db.session.get(Bin, mine).walk_order == 77


def test_an_operator_opens_none_of_it(app):
    make_site()
    ann = Person(app, "ann")
    for path in ("/office/items", "/office/items.csv", "/office/bins", "/office/bins.csv"):
        assert ann.do("get", path).status_code == 403
    assert ann.do("post", "/office/items", data={"sku": "X", "name": "x"}).status_code == 403


# ------------------------------------------------------------------ retiring, warehouses


def test_an_item_with_stock_is_not_retired_and_a_retired_one_takes_no_receipt_or_order(app):
    from app.domain.stock import InputError
    from app.models import Item
    from app.services import orders as order_service
    from tests.builders import receive

    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    receive(qty=3, to_bin="A-01", sku="SKU-2")
    stocked = db.session.execute(select(Item.id).where(Item.sku == "SKU-2")).scalar_one()
    r = sue.do("post", f"/office/items/{stocked}", data={"action": "retire"})
    assert r.status_code == 422 and "still has stock (3 on hand)" in r.text
    empty = db.session.execute(select(Item.id).where(Item.sku == "SKU-3")).scalar_one()
    assert sue.do("post", f"/office/items/{empty}", data={"action": "retire"}).status_code == 302
    # The floor refuses a receipt of it; an order for it is refused; nothing is booked.
    tid = ann.start("/tasks/receive", blind="1")
    r = ann.scan(tid, ean_for(3))
    assert "SKU-3 is retired" in r.text
    db.session.rollback()
    before = _count(Movement)
    try:
        order_service.place_order("shop", "retired-1", "W1", [order_service.OrderLineRequest("SKU-3", 1)])
        raise AssertionError("an order for a retired item was placed")
    except InputError as e:
        assert "retired" in e.message
    assert _count(Movement) == before
    assert "retired" in sue.do("get", "/office/items?q=SKU-3").text
    assert sue.do("post", f"/office/items/{empty}", data={"action": "reactivate"}).status_code == 302
    assert "+1" in ann.scan(tid, ean_for(3)).text


def test_a_bin_is_retired_only_when_empty_and_never_the_last_dock(app):
    from tests.builders import receive

    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    receive(qty=2, to_bin="A-01")
    bins = dict(db.session.execute(select(Bin.code, Bin.id).join(Bin.warehouse).where(Bin.warehouse.has(code="W1"))).all())
    r = sue.do("post", f"/office/bins/{bins['A-01']}", data={"action": "retire"})
    assert r.status_code == 422 and "still holds 2 units" in r.text
    r = sue.do("post", f"/office/bins/{bins['DOCK']}", data={"action": "retire"})
    assert r.status_code == 422 and "the only dock bin" in r.text
    assert sue.do("post", f"/office/bins/{bins['A-02']}", data={"action": "retire"}).status_code == 302
    # Putting stock into it is refused, on the floor and through a movement.
    from app.domain.stock import InputError
    from app.services.stock import MovementCommand, apply_movement

    try:
        apply_movement(MovementCommand(warehouse="W1", kind="move", sku="SKU-1", qty=1, from_bin="A-01", to_bin="A-02"))
        raise AssertionError("moved into a retired bin")
    except InputError as e:
        assert "A-02 is retired" in e.message
    assert ann.do("post", "/lookup", data={"code": "A-02", "scan_id": "md-look-0009"}, headers=HX).status_code == 200
    tid = ann.start("/tasks/damage")
    assert "A-02 is retired" in ann.scan(tid, "A-02").text


def test_an_admin_adds_a_warehouse_ready_for_the_floor(app):
    make_site()
    root, sue = Person(app, "root", role="admin"), Person(app, "sue", role="supervisor")
    assert sue.do("get", "/office/warehouses").status_code == 403
    r = root.do("post", "/office/warehouses", data={"code": "la-02", "name": "Los Angeles 2"})
    assert r.status_code == 302
    db.session.rollback()
    from app.models import Warehouse

    wh = db.session.execute(select(Warehouse).where(Warehouse.code == "LA-02")).scalar_one()
    assert sorted(b.type for b in wh.bins) == ["dock", "quarantine", "returns", "staging"]
    for bad in ({"code": "", "name": "x"}, {"code": "A B", "name": "x"}, {"code": "X" * 17, "name": "x"},
                {"code": "OK", "name": ""}, {"code": "OK", "name": "a\x01"}):
        assert root.do("post", "/office/warehouses", data=bad).status_code == 422, bad
    assert root.do("post", "/office/warehouses", data={"code": "LA-02", "name": "LA two"}).status_code == 302
    db.session.rollback()
    assert db.session.get(Warehouse, wh.id).name == "LA two"


def test_a_lot_tracked_item_is_received_only_with_its_lot_and_zones_go_with_bins(app):
    from scanners import GS
    from tests.builders import ean_for

    make_site()
    sue, ann = Person(app, "sue", role="supervisor"), Person(app, "ann")
    item_id = db.session.execute(select(Item.id).where(Item.sku == "SKU-1")).scalar_one()
    r = sue.do("post", f"/office/items/{item_id}", data={"action": "save", "name": "Tracked", "unit": "each",
                                                         "lot_tracked": ["no", "yes"], "expiry_tracked": "no"})
    assert r.status_code == 302
    db.session.rollback()
    assert db.session.get(Item, item_id).lot_tracked is True
    tid = ann.start("/tasks/receive", blind="1")
    r = ann.scan(tid, ean_for(1))
    assert "is tracked by lot" in r.text
    gtin14 = "0" + ean_for(1)
    r = ann.scan(tid, f"]C101{gtin14}10L-77{GS}")
    assert "+1 × Tracked lot L-77" in r.text, r.text[-600:]
    assert "yes" in sue.do("get", "/office/items.csv").text.splitlines()[1]
    # A bin's zone: set, exported, found by a search.
    b = db.session.execute(select(Bin.id).where(Bin.code == "A-01")).scalars().first()
    assert sue.do("post", f"/office/bins/{b}", data={"type": "storage", "walk_order": "1", "zone": "COLD"}).status_code == 302
    assert "A-01" in sue.do("get", "/office/bins?q=COLD").text
    assert ",COLD" in sue.do("get", "/office/bins.csv").text
    r = _upload(sue, "/office/items/import", "sku,name,lot_tracked\nSKU-2,x,maybe\n")
    assert r.status_code == 422 and "lot_tracked is yes or no" in r.text


def _confirm(person, path, preview):
    import html

    text = re.search(r'<textarea name="text" hidden>(.*?)</textarea>', preview.text, re.S).group(1)
    return person.do("post", path, data={"confirm": "1", "text": html.unescape(text)})


def test_warehouses_import_after_a_preview_export_and_reimport_as_no_change(app):
    from app.models import Warehouse

    make_site()
    root = Person(app, "root", role="admin")
    before = _count(Warehouse)
    text = "code,name\nmx-01,Monterrey\nW1,Renamed main\n"
    preview = _upload(root, "/office/warehouses/import", text)
    assert preview.status_code == 200, preview.text[:400]
    assert "2 rows: 1 new, 1 already here" in preview.text and "new warehouse MX-01 Monterrey" in preview.text
    assert _count(Warehouse) == before
    assert _confirm(root, "/office/warehouses/import", preview).status_code == 302
    db.session.rollback()
    mx = db.session.execute(select(Warehouse).where(Warehouse.code == "MX-01")).scalar_one()
    assert sorted(b.type for b in mx.bins) == ["dock", "quarantine", "returns", "staging"]
    assert db.session.execute(select(Warehouse.name).where(Warehouse.code == "W1")).scalar() == "Renamed main"
    # A bad row names its row number, and nothing changes; the same code twice is refused.
    for bad, row in (("code,name\nOK-1,Fine\nA B,Bad\n", "row 3:"), ("code,name\nOK-1,x\nok-1,y\n", "row 3:"),
                     ("code,name\nOK-1,\n", "row 2:")):
        r = _upload(root, "/office/warehouses/import", bad)
        assert r.status_code == 422 and row in r.text and "Nothing was imported" in r.text, bad
    assert _count(Warehouse) == before + 1
    exported = root.do("get", "/office/warehouses.csv")
    assert exported.status_code == 200 and exported.text.startswith("code,name")
    again = _upload(root, "/office/warehouses/import", exported.text)
    assert again.status_code == 200 and " 0 new" in again.text
    assert Person(app, "sue", role="supervisor").do("get", "/office/warehouses.csv").status_code == 403


def test_users_import_after_a_preview_with_the_same_checks_as_the_access_screen(app):
    from app.models import User

    make_site()
    root, ann = Person(app, "root", role="admin"), Person(app, "ann")
    before = _count(User)
    text = ("username,role,badge,password,pin\n"
            "kim,operator,K-77,kim-secret,4321\n"
            "ann,supervisor,,,\n")
    preview = _upload(root, "/office/users/import", text)
    assert preview.status_code == 200, preview.text[:400]
    assert "new user kim (operator)" in preview.text and "ann: role operator → supervisor" in preview.text
    assert _count(User) == before
    assert _confirm(root, "/office/users/import", preview).status_code == 302
    db.session.rollback()
    kim = db.session.execute(select(User).where(User.username == "kim")).scalar_one()
    assert kim.badge == "K-77" and kim.check_password("kim-secret") and kim.role == "operator"
    assert db.session.execute(select(User.role).where(User.username == "ann")).scalar() == "supervisor"
    # The badge signs in with its PIN at once.
    from tests.web.test_handhelds import Handheld

    assert Handheld(app).badge("BADGE-K-77", "4321").status_code == 302
    # Bad rows: each named by its row; nothing changes.
    for bad, row, why in (
        ("username,role,password\nnew1,operator\n", "row 2:", "needs a password"),
        ("username,role,password\nok1,operator,pw-ok-1\nok2,boss,pw-ok-2\n", "row 3:", "A role is one of"),
        ("username,role,badge\nann,supervisor,K-77\n", "row 2:", "belongs to kim"),
        ("username,role\nroot,operator\n", "row 2:", "your own role"),
        ("username,role,active\nroot,admin,no\n", "row 2:", "deactivate yourself"),
        ("username,role,password\nzed,operator,pw-zed-1\nZED,operator,pw-zed-2\n", "row 3:", "also on row 2"),
        ("username,role,pin\nann,supervisor,12\n", "row 2:", "4 to 8 digits"),
    ):
        r = _upload(root, "/office/users/import", bad)
        assert r.status_code == 422 and row in r.text and why in r.text, (bad, r.text[-1500:])
    assert _count(User) == before + 1
    # Deactivating through the file signs the user out everywhere.
    assert ann.do("get", "/").status_code == 200
    preview = _upload(root, "/office/users/import", "username,role,active\nann,supervisor,no\n")
    assert "deactivated, signed out everywhere" in preview.text
    assert _confirm(root, "/office/users/import", preview).status_code == 302
    assert ann.do("get", "/").status_code in (302, 401)
    # The export has no secret in it, and comes back in as no change.
    exported = root.do("get", "/office/users.csv")
    assert exported.status_code == 200 and exported.text.splitlines()[0] == "username,role,badge,active"
    assert "kim-secret" not in exported.text and "4321" not in exported.text
    again = _upload(root, "/office/users/import", exported.text)
    assert again.status_code == 200 and " 0 new" in again.text
    assert Person(app, "sue", role="supervisor").do("get", "/office/users.csv").status_code == 403


def test_the_token_list_exports_without_a_secret(app):
    from tests.builders import make_token, make_user

    make_site()
    root = Person(app, "root", role="admin")
    secret = make_token(make_user("shop-bot", "pw-bot-1"), channel="amazon-de")
    r = root.do("get", "/office/tokens.csv")
    assert r.status_code == 200 and r.text.splitlines()[0] == "id,user,role,channel,name,status,created_at,expires_at,last_used_at"
    assert "shop-bot,operator,amazon-de,test,active" in r.text and secret not in r.text
