"""Issue 17 (part): CSV exports cannot carry a formula into a spreadsheet, and the secret key is private."""

from __future__ import annotations

import csv
import io
import os
import stat

from app.config import secret_key
from tests.builders import make_site, make_user, receive

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_no_text_cell_of_the_ledger_export_begins_with_a_formula_character(app, client):
    make_site()
    for n, text in enumerate(HOSTILE):
        receive("SKU-1", 1, reason=text, device=text, lot=f"L{n}")
    receive("SKU-2", 5)
    make_user("boss", "boss-pw", role="supervisor")
    client.post("/login", data={"username": "boss", "password": "boss-pw"})
    r = client.get("/office/ledger?format=csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    text_columns = [i for i, name in enumerate(header) if name in ("reason", "device", "lot", "user", "from_bin", "to_bin", "doc")]
    assert text_columns
    for row in body:
        for i in text_columns:
            assert not row[i].startswith(("=", "+", "-", "@", "\t", "\r")), (header[i], row[i])
    reasons = {row[header.index("reason")] for row in body}
    assert "'" + HOSTILE[0] in reasons  # kept, only made inert
    # Numbers stay numbers: a movement's deltas are written as they are.
    assert all(row[header.index("qty")].lstrip("-").isdigit() for row in body)


def test_the_secret_key_file_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    secret_key(str(tmp_path))
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    # A key written world-readable by an earlier version is closed on the next start.
    os.chmod(tmp_path / "secret_key", 0o644)
    secret_key(str(tmp_path))
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
