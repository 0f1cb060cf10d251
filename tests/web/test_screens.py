"""Sign-in, home and stock lookup by scan, through the Flask client."""

import pytest

from app.domain import gtin
from tests.builders import ean_for, make_site, make_user, move, receive


@pytest.fixture
def signed_in(app, client):
    make_site()
    receive(qty=10, lot="L7")
    move("damage", qty=2, from_bin="A-01", lot="L7", to_bin="QUAR")
    make_user("picker", "pick-pw")
    r = client.post("/login", data={"username": "picker", "password": "pick-pw"})
    assert r.status_code == 302
    return client


def test_every_screen_asks_for_sign_in_first(client, app):
    for path in ("/", "/lookup", "/warehouse"):
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_wrong_password_is_refused_with_a_message(client, app):
    make_user("picker", "pick-pw")
    r = client.post("/login", data={"username": "picker", "password": "nope"})
    assert r.status_code == 401 and b"Wrong user name or password" in r.data


def test_sign_in_does_not_follow_a_next_link_to_another_site(client, app):
    make_user("picker", "pick-pw")
    r = client.post("/login?next=https://evil.example/", data={"username": "picker", "password": "pick-pw"})
    assert r.headers["Location"] == "/"


def test_the_home_screen_shows_who_and_which_warehouse(signed_in):
    page = signed_in.get("/").get_data(as_text=True)
    assert "picker" in page and ">W1<" in page and "Stock lookup" in page


def test_scanning_an_item_barcode_shows_its_buckets_and_bins(signed_in):
    page = signed_in.get(f"/lookup?code={ean_for(1)}").get_data(as_text=True)
    assert "Test item 1" in page and "A-01" in page and "lot L7" in page and "damaged" in page
    assert '<td class="big">8</td>' in page  # S in W1: 10 received, 2 damaged


def test_a_case_barcode_says_how_many_units_it_stands_for(signed_in):
    page = signed_in.get(f"/lookup?code={gtin.case_gtin(ean_for(1))}").get_data(as_text=True)
    assert "case of 12" in page


def test_scanning_a_bin_shows_what_is_in_it(signed_in):
    page = signed_in.get("/lookup?code=QUAR").get_data(as_text=True)
    assert "Bin QUAR" in page and "SKU-1" in page and "damaged" in page


def test_an_unknown_code_says_what_to_scan_instead(signed_in):
    r = signed_in.get("/lookup?code=NOTHING-HERE")
    assert r.status_code == 404 and "Nothing is known by “NOTHING-HERE”" in r.get_data(as_text=True)


def test_htmx_gets_only_the_result_fragment_and_the_full_page_includes_it(signed_in):
    fragment = signed_in.get("/lookup?code=A-01", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="lookup-result"') and "<html" not in fragment
    page = signed_in.get("/lookup?code=A-01").get_data(as_text=True)
    assert fragment.strip() in page and 'id="scan"' in page


@pytest.mark.parametrize("code", ["x" * 4000, "\x00\x01\x1b[31m", "%", "<script>alert(1)</script>", "' OR 1=1 --"])
def test_hostile_scans_get_a_clear_answer_never_a_server_error(signed_in, code):
    r = signed_in.get("/lookup", query_string={"code": code})
    assert r.status_code in (200, 400, 404, 422)
    assert "class=\"flash error\"" in r.get_data(as_text=True)
    assert "<script>alert" not in r.get_data(as_text=True)


def test_the_warehouse_can_be_switched_and_stays_for_the_session(signed_in):
    r = signed_in.post("/warehouse", data={"warehouse": "W2"})
    assert r.status_code == 302
    assert ">W2<" in signed_in.get("/").get_data(as_text=True)
    assert signed_in.post("/warehouse", data={"warehouse": "NOPE"}).status_code == 422


def test_forms_need_a_csrf_token(tmp_path):
    from app import create_app
    from app.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db", "SECRET_KEY": "x"})
    with app.app_context():
        db.create_all()
        make_user("picker", "pick-pw")
        r = app.test_client().post("/login", data={"username": "picker", "password": "pick-pw"})
        assert r.status_code == 400 and b"form expired" in r.data
        # Marked, so a handheld's scan queue keeps the scan and asks for a reload instead.
        assert r.headers["X-Floor-Error"] == "csrf"
        db.session.remove()
        db.engine.dispose()
