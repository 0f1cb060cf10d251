"""Schemathesis against the API's own OpenAPI document: whatever it sends, no server error, and the
ledger still adds up. Then hypothesis at every scan endpoint of the floor screens."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import gtin
from tests.builders import ean_for, make_site, make_token, make_user, receive

schemathesis = pytest.importorskip("schemathesis")

HX = {"HX-Request": "true"}


def _ledger_ok(app):
    result = app.test_cli_runner().invoke(args=["check-ledger"])
    assert result.exit_code == 0 and result.output.strip().endswith("ok"), result.output


def test_schemathesis_finds_no_server_error_in_any_api_operation(app):
    from schemathesis.checks import not_a_server_error

    make_site()
    receive(qty=20)
    token = make_token(make_user("channel", "channel-pw", role="supervisor"))
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    tried = {}
    for operation in operations:

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(headers=auth)
            tried[operation.label] = tried.get(operation.label, 0) + 1
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    assert set(tried) == {op.label for op in operations}
    _ledger_ok(app)


@pytest.fixture
def floor(app, client):
    make_site()
    receive(qty=20)
    make_user("op", "op-pw")
    assert client.post("/login", data={"username": "op", "password": "op-pw"}).status_code == 302
    return client


CODES = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["A-01", "DOCK", "QUAR", ean_for(1), gtin.case_gtin(ean_for(2)), "PO-2026-0001", "SO-000001",
                     "CC-000001", "TR-000001", "LP00000001", "BADGE:op", "]C10104006381333931\x1d10L1", "]\x1d0", "]C130",
                     "]C1" + "01" + gtin.to_gtin14(ean_for(1)) + "17991399", "\x00", "%s%n", "<script>", "' OR 1=1 --"]),
)


def test_every_start_screen_and_the_lookup_answer_any_scan_without_a_server_error(app, floor):
    endpoints = ["/lookup", "/tasks/receive", "/tasks/pick", "/tasks/ship", "/tasks/return", "/tasks/count",
                 "/tasks/transfer-out", "/tasks/transfer-in", "/tasks/putaway", "/tasks/damage", "/tasks/inspect",
                 "/tasks/move", "/tasks/replenish", "/tasks/pack"]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(endpoints), CODES, st.one_of(st.just(""), st.text(max_size=70)),
           st.dictionaries(st.sampled_from(["po", "order", "session", "transfer", "blind", "qty"]),
                           st.text(max_size=12), max_size=3))
    def any_scan(path, code, scan_id, extra):
        r = floor.post(path, data={"code": code, "scan_id": scan_id, **extra}, headers=HX)
        assert r.status_code < 500, (path, code, r.text[:300])
        r = floor.get("/lookup", query_string={"code": code})
        assert r.status_code < 500, (code, r.text[:300])

    any_scan()
    _ledger_ok(app)


def test_the_scanner_probe_takes_any_keys_without_a_server_error(floor):
    key = st.fixed_dictionaries({"key": st.text(max_size=12), "code": st.text(max_size=12), "ctrl": st.booleans(),
                                 "t": st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5))})

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of(st.lists(key, max_size=40).map(json.dumps), st.text(max_size=200)))
    def probe(keys):
        r = floor.post("/scanner/probe", data={"keys": keys}, headers=HX)
        assert r.status_code < 500, (keys[:100], r.text[:300])

    probe()


def test_the_camera_endpoint_takes_any_bytes_without_a_server_error(floor):
    import io

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of(st.binary(max_size=4000), st.sampled_from([b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
                                                                 b"\xff\xd8\xff\xe0" + b"\x00" * 100, b"GIF89a"])))
    def decode(data):
        r = floor.post("/scan/decode", data={"image": (io.BytesIO(data), "frame.jpg")},
                       headers={"Accept": "application/json"}, content_type="multipart/form-data")
        assert r.status_code in (200, 422), r.text[:300]
        assert "results" in r.get_json() or "error" in r.get_json()

    decode()
