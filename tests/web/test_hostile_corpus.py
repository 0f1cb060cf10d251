"""A hostile corpus over the whole URL map: every route, every field the app reads, on both databases.

The field names are read from the app's own source and templates at test time, so a field added
later is attacked too. Each value goes into every field at once, as a form, as a query string, as a
JSON body (also nested in order lines) and as a CSV upload; URL ids are also sent far beyond what the
database stores. Whatever arrives: never a 5xx, no movement booked from it, and the ledger adds up.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import Movement
from app.services.ledger import check_ledger
from tests.builders import make_site, make_token, make_user, receive

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    "--5", "---1", "-0", "1e400", "99999999999999999999999", "0x10", "٣", "", " ", "x" * 10_000,
    "\x00", "a\x00b", "\x1b[2J\r\n\t", "\u202e\ufeff", "-1", "2147483648", "9223372036854775808", "NaN",
    "CC-" + "9" * 20, "TR-" + "9" * 20, "SO-" + "9" * 12, "<script>x</script>", "' OR 1=1 --", "%s%n%x",
    "\r\nSet-Cookie: x=1", "//evil.example", "../../etc/passwd",
]
HUGE_IDS = [2**31, 2**63, 10**25]
# What PostgreSQL treats otherwise than SQLite (integer ranges, NUL in text, enforced column lengths,
# numbers that are not numbers): the whole corpus runs on SQLite, these on both.
DIALECT_SENSITIVE = ["99999999999999999999999", "2147483648", "9223372036854775808", "-1", "1e400", "NaN",
                     "\x00", "a\x00b", "x" * 10_000, "٣", "CC-" + "9" * 20, "\u202e\ufeff"]


def _field_names() -> list[str]:
    names = set()
    for path in (ROOT / "templates").rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_]+)"', path.read_text()))
    for path in (ROOT / "app").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r'(?:form|args|files)\.get(?:list)?\("([a-z_]+)"', text))
        names |= set(re.findall(r'(?:body|data|payload|f|row)\.get\("([a-z_]+)"', text))
    names -= {"csrf_token"}
    assert len(names) > 40, names
    return sorted(names)


def _deep(depth: int) -> str:
    """JSON text nested `depth` arrays deep (too deep for json.dumps to write)."""
    return "[" * depth + "1" + "]" * depth


def _routes(app, ids=(1,)):
    """(endpoint, method, url, whole) for every route: `whole` for the first id (the whole corpus goes
    there); the ids past the database's range are each tried with a few values (what they test is the URL)."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.logout"):
            continue
        int_args = [n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        for n, value in enumerate(ids if int_args else (None,)):
            args = {a: (value if a in int_args else "x") for a in rule._converters}
            url = rule.build(args)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((rule.endpoint, method, url, n == 0))
    return out


def _movements() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(Movement)).scalar_one()


@pytest.fixture
def signed_in(any_app):
    app = any_app
    make_site()
    receive(qty=20)
    boss = make_user("boss", "boss-pw", role="admin")
    token = make_token(boss)
    client = app.test_client()
    assert client.post("/login", data={"username": "boss", "password": "boss-pw"}).status_code == 302
    # A task of each start, so /tasks/1 and its scan exist.
    client.post("/tasks/receive", data={"blind": "1"}, headers={"HX-Request": "true"})
    return app, client, {"Authorization": f"Bearer {token}"}


def test_the_hostile_corpus_gets_no_server_error_anywhere_and_books_nothing(signed_in):
    app, client, auth = signed_in
    fields = _field_names()
    before = _movements()
    failures = []

    def check(r, what):
        if r.status_code >= 500:
            failures.append((what, r.status_code, r.get_data(as_text=True)[:200]))

    corpus = HOSTILE if db.engine.dialect.name == "sqlite" else DIALECT_SENSITIVE
    for endpoint, method, url, whole in _routes(app, ids=(1, *HUGE_IDS)):
        headers = auth if url.startswith("/api/") else {"HX-Request": "true"}
        for value in corpus if whole else corpus[:4]:
            form = {name: value for name in fields}
            if method == "GET":
                check(client.get(url, query_string=form, headers=headers), (endpoint, url, "query", value[:20]))
                continue
            check(client.open(url, method=method, data=form, headers=headers), (endpoint, url, "form", value[:20]))
            body = {**form, "lines": [{"sku": value, "qty": value, "lot": value, "expiry": value}]}
            check(client.open(url, method=method, json=body, headers=headers), (endpoint, url, "json", value[:20]))
            csv_text = "sku,qty,channel,external_id,warehouse,number,supplier,case_qty,code,bin\n" + \
                ",".join([value.replace(",", " ").replace("\n", " ")] * 10) + "\n"
            upload = {**form, "file": (io.BytesIO(csv_text.encode()), "x.csv"),
                      "image": (io.BytesIO(value.encode()), "x.jpg"), "photo": (io.BytesIO(value.encode()), "x.jpg")}
            check(client.open(url, method=method, data=upload, headers=headers,
                              content_type="multipart/form-data"), (endpoint, url, "upload", value[:20]))
        if method != "GET" and whole:
            # Structure: JSON nested 2,000 deep, a top-level array, and a CSV field over any sane size.
            for raw in ('{"lines": ' + _deep(2000) + "}", _deep(2000), "[" * 5000, "{\"a\": 1e400}"):
                r = client.open(url, method=method, data=raw, headers={**headers, "Content-Type": "application/json"})
                check(r, (endpoint, url, "json-structure", raw[:20]))
            big = "sku,qty\n" + "A" * 200_000 + ",1\n"
            r = client.open(url, method=method, headers=headers, content_type="multipart/form-data",
                            data={"file": (io.BytesIO(big.encode()), "big.csv"), "import": "1", "kind": "orders",
                                  "keys": _deep(2000)})
            check(r, (endpoint, url, "csv-field", "200k"))
    assert not failures, f"{len(failures)} server errors, e.g. {failures[:8]}"
    assert _movements() == before, "a hostile request booked stock"
    db.session.rollback()
    assert check_ledger(db.session) == []


def test_a_redirect_target_with_cr_lf_is_refused_not_a_server_error(signed_in):
    app, client, _ = signed_in
    other = app.test_client()
    for target in ("/\r\nSet-Cookie: x=1", "https://evil.example/", "//evil.example", "/tasks/\x00"):
        r = other.post(f"/login?next={target}", data={"username": "boss", "password": "boss-pw"})
        assert r.status_code < 500, (target, r.status_code)
        location = r.headers.get("Location", "")
        assert "evil.example" not in location and "\r" not in location and "\n" not in location


def test_every_action_of_a_channels_screen_refuses_hostile_fields_without_a_server_error(signed_in):
    """The whole-map walk above sends one value to every field, `action` included, so it never reaches
    an action; here each of the channel screen's actions gets the corpus in all its other fields."""
    from app.office import CHANNEL_ACTIONS
    from app.services import channels

    app, client, _ = signed_in
    channels.save(db.session, "x", webhook_url="http://127.0.0.1:9/hook", warehouses=["W1"])
    db.session.commit()
    before = _movements()
    failures = []
    fields = _field_names()
    corpus = HOSTILE if db.engine.dialect.name == "sqlite" else DIALECT_SENSITIVE
    for action in CHANNEL_ACTIONS:
        for value in corpus:
            form = {name: value for name in fields}
            form["action"] = action
            report = "sku\tafn-fulfillable-quantity\n" + value.replace("\n", " ") + "\t" + value.replace("\n", " ") + "\n"
            form["file"] = (io.BytesIO(report.encode()), "r.txt")
            r = client.post("/office/channels/x", data=form, content_type="multipart/form-data")
            if r.status_code >= 500:
                failures.append((action, value[:20], r.get_data(as_text=True)[:200]))
    assert not failures, failures[:5]
    assert _movements() == before
    db.session.rollback()
    assert check_ledger(db.session) == []
