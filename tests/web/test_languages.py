"""Languages (issue 19): English, Simplified Chinese and Spanish; the handheld's Accept-Language by
default, the user's own choice over it, on every handheld they use."""

from __future__ import annotations

import itertools
import re

from tests.builders import make_site
from tests.web.test_stock_control import HX, Person

_ids = itertools.count(1)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_handhelds_language_is_the_default(app):
    make_site()
    ann = Person(app, "ann")
    zh = ann.do("get", "/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).text
    assert '<html lang="zh"' in zh and "收货" in zh and "上架" in zh and "切换用户" in zh
    es = ann.do("get", "/", headers={"Accept-Language": "es-ES,es;q=0.9"}).text
    assert '<html lang="es"' in es and "Recibir" in es and "Cambiar de usuario" in es
    en = ann.do("get", "/", headers={"Accept-Language": "fr-FR,de;q=0.8"}).text
    assert '<html lang="en"' in en and "Receive" in en  # a language we have no catalogue for: English


def test_a_users_choice_holds_over_the_handhelds_and_on_every_handheld(app):
    make_site()
    ann = Person(app, "ann")
    r = ann.do("post", "/language", data={"csrf_token": _token(ann.do("get", "/").text), "language": "zh",
                                          "next": "/"})
    assert r.status_code == 302
    assert "任务" in ann.do("get", "/", headers={"Accept-Language": "es"}).text
    second = Person.__new__(Person)
    second.app, second.client = app, app.test_client()
    second.do("post", "/login", data={"username": "ann", "password": "pw-ann"})
    assert "任务" in second.do("get", "/", headers={"Accept-Language": "en"}).text
    for bad in ("", "fr", "zh" * 100, "../en"):
        assert ann.do("post", "/language", data={"csrf_token": _token(ann.do("get", "/").text),
                                                 "language": bad}).status_code == 400


def test_a_floor_task_and_the_overview_render_in_chinese_and_spanish(app):
    make_site()
    ann, sue = Person(app, "ann"), Person(app, "sue", role="supervisor")
    tid = ann.start("/tasks/receive", blind="1")
    zh = ann.do("get", f"/tasks/{tid}", headers={"Accept-Language": "zh-CN"}).text
    assert "扫描商品" in zh and "收货" in zh and "无单收货" in zh and "完成收货" in zh
    es = ann.do("get", f"/tasks/{tid}", headers={"Accept-Language": "es"}).text
    assert "Escanee un artículo" in es and "Cerrar recepción" in es
    overview = sue.do("get", "/office/", headers={"Accept-Language": "es"})
    assert "Cubos por almacén" in overview.text and "Le necesita" in overview.text
    assert "各仓库存量桶" in sue.do("get", "/office/", headers={"Accept-Language": "zh"}).text


def test_english_stays_as_it_was(app):
    make_site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", blind="1")
    page = ann.do("get", f"/tasks/{tid}", headers={"Accept-Language": "en-US"}).text
    assert "Scan an item" in page and "Close receipt" in page
    r = ann.scan(tid, "", action="damaged")
    assert r.status_code == 200 and "Damaged: ON" in r.text and HX


def _scan(person, tid, code="", lang="en", **form):
    data = {"code": code, "scan_id": f"lang-{next(_ids):06d}", **form}
    return person.do("post", f"/tasks/{tid}/scan", data=data, headers={**HX, "Accept-Language": lang})


def test_the_answer_to_a_scan_is_in_the_operators_language(app):
    make_site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", blind="1")
    r = _scan(ann, tid, "NOT-A-THING-77", "zh-CN")
    assert "NOT-A-THING-77 不在商品目录中" in r.text and "再扫描一次或点按“确认”继续" in r.text
    r = _scan(ann, tid, "", "es", action="damaged")
    assert "Dañado: SÍ — las unidades van a cuarentena" in r.text
    # The ledger keeps its own words, whatever the operator's language.
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Movement
    from tests.builders import ean_for

    _scan(ann, tid, "", "es", action="damaged")
    assert _scan(ann, tid, ean_for(1), "zh").status_code == 200
    db.session.rollback()
    reason = db.session.execute(select(Movement.reason).order_by(Movement.id.desc()).limit(1)).scalar_one()
    assert reason.startswith("received on blind receipt")


def test_a_stock_rules_refusal_is_said_in_the_operators_language_and_stays_english_for_the_api(app):
    from app.domain.stock import BinShortage, NotEnoughStock
    from app.i18n import said

    short = NotEnoughStock("s", 3, 5)
    assert short.message == "Only 3 sellable, 5 requested"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert said(short) == "只有 3 件可售，需要 5 件"
        assert said(BinShortage("A-01", "SKU-1", 1, 2, "damaged")) == "库位 A-01 只有 1 件损坏的 SKU-1，需要 2 件"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert said(short) == "Solo 3 vendibles, se piden 5"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert said(short) == short.message


OFFICE_SCREENS = ("/office/", "/office/items", "/office/bins", "/office/counts", "/office/kpis", "/office/ledger",
                  "/office/locks", "/office/virtual", "/office/transfers", "/office/exceptions", "/office/orders",
                  "/office/purchase-orders", "/office/devices", "/office/access", "/office/warehouses", "/labels")


def test_every_office_screen_renders_in_chinese_and_spanish(app):
    """Each office screen in each language: its heading and buttons translated, nothing left over in
    English between the tags (the template test checks the source; this checks what is served)."""
    make_site()
    root = Person(app, "root", role="admin")
    english = {}
    for path in OFFICE_SCREENS:
        r = root.do("get", path, headers={"Accept-Language": "en"})
        assert r.status_code == 200, (path, r.status_code)
        english[path] = re.search(r"<h1>(.*?)</h1>", r.text, re.S).group(1)
    for lang, script in (("zh", re.compile(r"[\u4e00-\u9fff]")), ("es", None)):
        for path in OFFICE_SCREENS:
            r = root.do("get", path, headers={"Accept-Language": lang})
            assert r.status_code == 200, (lang, path, r.status_code)
            assert f'<html lang="{lang}"' in r.text
            heading = re.search(r"<h1>(.*?)</h1>", r.text, re.S).group(1)
            if not (lang == "es" and path == "/office/"):  # "Supervisor" is Spanish too
                assert heading != english[path], (lang, path, heading)
            if script:
                assert script.search(heading), (path, heading)


def test_numbers_and_dates_are_written_as_the_readers_locale_writes_them(app):
    from flask import render_template_string

    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert render_template_string("{{ 12345|qty }} {{ 0.125|pct }} {{ 1234.5|money }}") == "12.345 12,5% 1.234,50"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert render_template_string("{{ 12345|qty }} {{ 0.125|pct }}") == "12,345 12.5%"
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string("{{ 12345|qty }} {{ none|qty }} {{ none|pct }}") == "12,345 — —"


def test_an_office_refusal_and_a_bad_import_row_are_said_in_the_readers_language(app):
    make_site()
    root = Person(app, "root", role="admin")
    r = root.do("post", "/office/warehouses", data={"code": "A B", "name": "x"}, headers={"Accept-Language": "zh"})
    assert r.status_code == 422 and "仓库代码为 1 到 16 个大写字母" in r.text
    r = root.do("post", "/office/warehouses", data={"code": "A B", "name": "x"}, headers={"Accept-Language": "es"})
    assert r.status_code == 422 and "Un código de almacén tiene de 1 a 16" in r.text
    import io

    r = root.do("post", "/office/users/import", headers={"Accept-Language": "es"},
                data={"file": (io.BytesIO(b"username,role\nkim,boss\n"), "users.csv")}, content_type="multipart/form-data")
    assert r.status_code == 422 and "fila 2: Un rol es uno de" in r.text


def test_what_the_scan_parser_refuses_is_said_in_the_operators_language(app):
    from tests.builders import ean_for

    make_site()
    ann = Person(app, "ann")
    tid = ann.start("/tasks/receive", blind="1")
    bad = ean_for(1)[:-1] + str((int(ean_for(1)[-1]) + 1) % 10)
    r = _scan(ann, tid, bad, "zh-CN")
    assert f"{bad} 不是有效的商品条码：校验位应为 {ean_for(1)[-1]}" in r.text, r.text[-800:]
    r = _scan(ann, tid, bad, "es")
    assert f"{bad} no es un código de artículo válido" in r.text
    r = _scan(ann, tid, bad, "en")
    assert f"{bad} is not a valid item barcode: its check digit should be {ean_for(1)[-1]}" in r.text
    # A start screen's "scan this, not that" names both kinds in the reader's words.
    r = ann.do("post", "/tasks/receive", data={"code": "A-01-1", "scan_id": "lang-start-0001"},
               headers={**HX, "Accept-Language": "es"})
    assert "Escanee un pedido de compra — eso era una ubicación." in r.text, r.text[-800:]


def test_a_badge_refusal_on_the_sign_in_screen_is_in_the_handhelds_language(app):
    from tests.web.test_handhelds import Handheld, _token

    make_site()
    hh = Handheld(app)
    token = _token(hh.do("get", "/login", headers={"Accept-Language": "zh"}).text)
    r = hh.do("post", "/login/badge", data={"csrf_token": token, "badge": "BADGE-NOBODY", "pin": "1234"},
              headers={"Accept-Language": "zh"})
    assert "工卡未知或 PIN 错误。" in r.text
    r = hh.do("post", "/login/badge", data={"csrf_token": token, "badge": "A-01-1"}, headers={"Accept-Language": "es"})
    assert "A-01-1 no es una tarjeta." in r.text


def test_the_pick_and_count_answers_are_in_the_operators_language(app):
    from app.services import orders as order_service
    from tests.builders import ean_for, receive

    make_site()
    receive("SKU-1", 5, to_bin="A-01")
    order, _created = order_service.place_order("shop", "LANG-1", "W1", [order_service.OrderLineRequest("SKU-1", 2)])
    ann = Person(app, "ann")
    tid = ann.start("/tasks/pick", order=str(order["id"]))
    _scan(ann, tid, "A-01", "zh")
    r = _scan(ann, tid, ean_for(1), "zh")
    assert f"已为 {order['number']} 拣 1 × Test item 1" in r.text and "还剩 1" in r.text, r.text[-600:]
    r = _scan(ann, tid, ean_for(1), "es")
    assert f"Recogidas 1 × Test item 1 para {order['number']}" in r.text and "todas las líneas recogidas" in r.text


def test_a_forms_refusal_in_chinese_names_no_row(app):
    """A form has no rows: its refusal is said without the file's "row 1:" in any language."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Item

    make_site()
    sue = Person(app, "sue", role="supervisor")
    item_id = db.session.execute(select(Item.id).where(Item.sku == "SKU-1")).scalar_one()
    r = sue.do("post", f"/office/items/{item_id}", data={"action": "save", "name": "x", "unit_cost": "-1"},
               headers={"Accept-Language": "zh"})
    assert r.status_code == 422 and 'role="alert">unit_cost &#39;-1&#39; 不是像 12.50 这样的金额' in r.text
    assert "第 1 行" not in r.text and "row 1" not in r.text
